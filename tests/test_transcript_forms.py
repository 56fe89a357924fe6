"""Every transcript in three forms: what the record, the manifest entry, the feed and the website
make of a hand-made transcript (its file as it is, the two other forms made from its cues), a
plain-text one (alone), a machine-made one (three derived artifacts), an entry written before
there were forms, and a site built without Pagefind."""

from __future__ import annotations

import gzip
import hashlib
import json

import pytest
from lxml import etree

from podcast_tools import site as site_module
from podcast_tools.artifacts import Artifact
from podcast_tools.feed import build_feed
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.previews import artwork_keys
from podcast_tools.publish.manifest import VERSION, schema_problem
from podcast_tools.record import EpisodeRecord, build_record, feed_inputs
from podcast_tools.transcript import (
    Cue,
    parse_json,
    parse_srt,
    parse_vtt,
    write_json,
    write_srt,
    write_vtt,
)
from tests.test_site import BASE, NOW, SRT, build, make_network, parse_html, records_of

PODCAST = "{https://podcastindex.org/namespace/1.0}"
VTT_TYPE, SRT_TYPE, JSON_TYPE = "text/vtt", "application/x-subrip", "application/json"


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    return load_checked_network(make_network(tmp_path_factory.mktemp("forms") / "network"))


@pytest.fixture(scope="module")
def records(network):
    return records_of(network)


def record_of(records, slug: str) -> EpisodeRecord:
    return next(r for r in records.values() if r.slug == slug)


def asset_bytes(record: EpisodeRecord, key: str) -> bytes:
    [asset] = [a for a in record.assets if a.key == key]
    return asset.data if asset.data is not None else asset.path.read_bytes()


def test_a_hand_made_srt_is_published_as_it_is_and_as_webvtt_and_json(records):
    record = record_of(records, "002-change-advisory-boards")
    assert [form["type"] for form in record.transcripts] == [VTT_TYPE, SRT_TYPE, JSON_TYPE]
    assert record.transcript == record.transcripts[0]  # the website reads the WebVTT one
    assert not record.machine_transcript
    vtt, srt, json_form = (asset_bytes(record, form["key"]) for form in record.transcripts)
    assert srt == SRT.encode()  # the producer's file, byte for byte
    cues = parse_srt(SRT)
    assert parse_vtt(vtt) == cues and vtt.decode() == write_vtt(cues)
    assert parse_json(json_form) == cues  # each cue ends a sentence: read back as it went
    for form in record.transcripts:  # content-addressed, as the episode's other files
        digest = hashlib.sha256(asset_bytes(record, form["key"])).hexdigest()[:12]
        assert form["key"].startswith("itsmwp/episodes/002-change-advisory-boards-transcript-")
        assert digest in form["key"]
    assert {form["key"] for form in record.transcripts} <= set(record.keys())


def test_a_plain_text_transcript_stays_alone(records):
    record = record_of(records, "001-outsourcing-the-service-desk")
    assert [form["type"] for form in record.transcripts] == ["text/plain"]
    assert len([a for a in record.assets if a.field == "transcript"]) == 1


def test_a_json_transcript_keeps_its_speakers_in_webvtt(records):
    record = record_of(records, "001-major-incidents")
    assert [form["type"] for form in record.transcripts] == [VTT_TYPE, SRT_TYPE, JSON_TYPE]
    vtt = asset_bytes(record, record.transcript["key"]).decode()
    assert "<v Kiri>G'day everyone." in vtt and "<v Sione>Sixty people" in vtt


def test_the_entry_keeps_the_forms_and_an_older_entry_reads_as_one(records):
    record = record_of(records, "002-change-advisory-boards")
    entry = record.entry()
    assert schema_problem({"version": VERSION, "episodes": {record.guid: entry}}) is None
    assert EpisodeRecord.from_entry(record.guid, entry) == record

    older = {k: v for k, v in entry.items() if k not in ("transcripts", "machine_transcript")}
    assert schema_problem({"version": VERSION, "episodes": {record.guid: older}}) is None
    read = EpisodeRecord.from_entry(record.guid, older)
    assert read.transcripts == (record.transcript,) and not read.machine_transcript
    [form] = read.media(BASE).transcript_files
    assert (form.type, form.rel) == (VTT_TYPE, "captions")


def feed_transcripts(network, records, show_id: str, guid: str) -> list[dict]:
    inputs = feed_inputs(BASE, records, artwork_keys(network))
    xml = build_feed(network, show_id, inputs, now=NOW).xml
    item = next(i for i in etree.fromstring(xml).iter("item") if i.findtext("guid") == guid)
    return [dict(tag.attrib) for tag in item.iter(f"{PODCAST}transcript")]


def test_the_feed_names_each_form_webvtt_first_with_rel_and_language(network, records):
    record = record_of(records, "001-major-incidents")  # itsmwp-anz: en-au
    tags = feed_transcripts(network, records, "itsmwp-anz", record.guid)
    assert [(t["type"], t.get("rel"), t["language"]) for t in tags] == [
        (VTT_TYPE, "captions", "en-au"),
        (SRT_TYPE, "captions", "en-au"),
        (JSON_TYPE, None, "en-au"),
    ]
    assert [t["url"] for t in tags] == [BASE + form["key"] for form in record.transcripts]


SAID = (Cue(0.5, 3.0, "Welcome to the service desk hour.", "Speaker 1"),)


def machine_record(network, records, cues=SAID, slug: str = "003-service-desk-metrics"):
    """The episode's record with a machine transcript of `cues` in three forms (known from the
    manifest: published by an earlier run), and the bytes of each by key."""
    episode = next(e for e in network.episodes if e.slug == slug)
    base = record_of(records, slug)
    made = {
        "transcript": (VTT_TYPE, ".vtt", write_vtt(cues).encode()),
        "transcript-srt": (SRT_TYPE, ".srt", write_srt(cues).encode()),
        "transcript-json": (JSON_TYPE, ".json", write_json(cues).encode()),
    }
    artifacts = tuple(
        Artifact(kind, mime, suffix, hashlib.sha256(data).hexdigest(), len(data), "fp")
        for kind, (mime, suffix, data) in reversed(made.items())  # any order in the report
    )
    record = build_record(
        network, episode, base.audio, base.chapter_times, "golden", artifacts=artifacts
    )
    data = {a.key(episode.show, slug): made[a.kind][2] for a in artifacts}
    return record, data


def test_a_machine_transcript_is_its_three_artifacts_and_the_page_says_so(network, records):
    record, data = machine_record(network, records)
    assert record.machine_transcript
    assert [form["type"] for form in record.transcripts] == [VTT_TYPE, SRT_TYPE, JSON_TYPE]
    assert record.transcript["key"].startswith("itsmwp/episodes/003-service-desk-metrics-trans")
    assert EpisodeRecord.from_entry(record.guid, record.entry()) == record
    forms = ("transcripts", "machine_transcript")
    older = {k: v for k, v in record.entry().items() if k not in forms}
    assert EpisodeRecord.from_entry(record.guid, older).machine_transcript  # from its artifacts

    everything = {**records, record.guid: record}
    tags = feed_transcripts(network, everything, "itsmwp", record.guid)
    assert [(t["type"], t.get("rel")) for t in tags] == [
        (VTT_TYPE, "captions"),
        (SRT_TYPE, "captions"),
        (JSON_TYPE, None),
    ]
    pages = build(network, everything, read=data.get)
    [page] = [p for p in pages if p.key == "itsmwp/003-service-desk-metrics.html"]
    doc = parse_html(page.data)
    [note] = doc.xpath('//section[@class="transcript"]//*[contains(@class, "machine-made")]')
    assert "Machine-generated transcript" in "".join(note.itertext())
    assert doc.xpath('//ol[@class="cues"]/li')  # its cues, seekable, as a hand-made one's
    [other] = [p for p in pages if p.key == "itsmwp/001-incident-vs-problem.html"]
    hand_made = parse_html(other.data)
    assert not hand_made.xpath('//*[contains(@class, "machine-made")]')


def test_without_pagefind_the_site_has_no_index_and_no_search_box(network, records, monkeypatch):
    with_search = build(network, records)
    assert any(p.key == "pagefind/pagefind.js" for p in with_search)
    index = parse_html(next(p for p in with_search if p.key == "index.html").data)
    assert index.xpath("//section[@data-search]//input[@type='search']")

    monkeypatch.setattr(site_module, "search_available", lambda: False)
    without = build(network, records)
    assert not any(p.key.startswith("pagefind/") for p in without)
    for page in without:
        if page.type.startswith("text/html"):
            assert b"data-search" not in page.data, page.key
    pages = {p.key for p in with_search if not p.key.startswith("pagefind/")}
    assert pages == {p.key for p in without}  # everything else is there


def test_the_index_holds_each_episode_and_its_cues_at_their_times(network, records):
    pages = build(network, records)
    fragments = [
        json.loads(gzip.decompress(p.data).removeprefix(b"pagefind_dcd"))
        for p in pages
        if p.key.startswith("pagefind/fragment/")
    ]
    by_url = {f["url"]: f for f in fragments}
    assert len(by_url) == 7  # every episode on the site (not the scheduled one, not the draft)
    page = by_url[BASE + "itsmwp/001-incident-vs-problem.html"]
    assert page["meta"]["title"] == "Incident vs. Problem Management"
    assert [a["id"] for a in page["anchors"]] == ["t=0.5", "t=15.27"]
    assert "Root cause belongs to problem management." in page["content"]
    assert page["meta"]["show"] == network.shows["itsmwp"].title


def test_an_empty_machine_transcript_shows_nothing_and_is_no_fault(network, records):
    """No speech recognised: the transcript holds no cues; the page has no transcript section
    (a hand-made one without cues is a fault the build names)."""
    record, data = machine_record(network, records, cues=())
    pages = build(network, {**records, record.guid: record}, read=data.get)
    [page] = [p for p in pages if p.key == "itsmwp/003-service-desk-metrics.html"]
    assert not parse_html(page.data).xpath('//section[@class="transcript"]')


def test_a_machine_transcript_is_named_in_the_language_it_was_recognised_in(network, records):
    """`transcripts.language` is what the machine transcript speaks (the show's own language
    otherwise); a hand-made one stays in the show's language."""
    shows = dict(network.shows)
    home = shows["itsmwp"]
    shows["itsmwp"] = home.model_copy(
        update={"transcripts": home.transcripts.model_copy(update={"language": "de"})}
    )
    german = type(network)(**{**network.__dict__, "shows": shows})
    record, _ = machine_record(german, records)
    everything = {**records, record.guid: record}
    tags = feed_transcripts(german, everything, "itsmwp", record.guid)
    assert [t["language"] for t in tags] == ["de", "de", "de"]
    hand_made = record_of(records, "002-change-advisory-boards")
    tags = feed_transcripts(german, everything, "itsmwp", hand_made.guid)
    assert {t["language"] for t in tags} == {home.language}
