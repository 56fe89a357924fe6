"""What apps read from the feeds (issue 25): each item links to its episode's page on the website
(item 5), the feeds' lastBuildDate moves when — and only when — a feed's bytes change (item 2),
and podcast:alternateEnclosure declares the audio's bitrate, not the cover art's (item 3)."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import feedparser
import podcastparser
import pytest
from lxml import etree
from PIL import Image

from podcast_tools import ffmpeg
from podcast_tools.feed import build_feed
from podcast_tools.feed.build import build_moment, build_publisher_feed, dated
from podcast_tools.formats import FORMATS
from podcast_tools.layout import episode_page_url, page_show
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.builds import retag_files
from podcast_tools.pipeline.previews import artwork_keys
from podcast_tools.publish.manifest import Manifest
from podcast_tools.record import (
    EpisodeRecord,
    ProcessedAudio,
    audio_files,
    build_record,
    feed_candidates,
    feed_inputs,
)
from podcast_tools.site import build_site
from tests.audio_tools import synth
from tests.catalogue import make_catalogue
from tests.conftest import edit, podcast, podcast_json
from tests.golden.regenerate import NOW, golden_records
from tests.test_feed import BASE, NS

CROSS_POSTED = "episodes/itsmwp/002-change-advisory-boards.md"


def _feeds_and_pages(network) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Every show's feed and every page of the website, built from the same records."""
    records = golden_records(network)
    inputs = feed_inputs(network.settings.base_url, records, artwork_keys(network))
    feeds = {
        show_id: build_feed(
            network, show_id, inputs, now=NOW, candidates=feed_candidates(network, records, show_id)
        ).xml
        for show_id in network.shows
    }
    pages = build_site(network, records, artwork_keys(network), now=NOW)
    return feeds, {network.settings.base_url + page.key: page.data for page in pages}


def test_each_item_links_to_its_episodes_page_on_the_website(sample: Path):
    network = load_checked_network(sample)
    feeds, pages = _feeds_and_pages(network)
    cross = next(e for e in network.episodes if network.display(e.path) == CROSS_POSTED)
    for show_id, xml in feeds.items():
        parsed = podcastparser.parse(network.feed_url(show_id), io.BytesIO(xml))
        other = {entry.id: entry for entry in feedparser.parse(xml).entries}
        assert parsed["episodes"], show_id
        for item in parsed["episodes"]:
            episode = next(e for e in network.episodes if e.guid == item["guid"])
            # the page is in its home show's folder, also in a feed it is cross-posted to
            expected = f"{BASE}{episode.show}/{episode.slug}.html"
            assert item["link"] == expected, (show_id, episode.slug)
            assert other[episode.guid].link == expected, (show_id, episode.slug)
            assert expected in pages, f"{expected}: the site writes no such page"
            canonical = re.search(rb'<link rel="canonical" href="([^"]+)">', pages[expected])
            assert canonical and canonical.group(1).decode() == expected
    anz = etree.fromstring(feeds["itsmwp-anz"])
    assert anz.xpath(f"//item[guid='{cross.guid}']/link/text()") == [
        f"{BASE}itsmwp/{cross.slug}.html"
    ]


def test_the_page_of_an_episode_whose_home_show_is_gone_is_in_the_next_shows_folder(sample: Path):
    # the site keeps such an episode in the first show it is posted to that the network still
    # has; the feed's link names that page
    network = load_checked_network(sample)
    cross = next(e for e in network.episodes if network.display(e.path) == CROSS_POSTED)
    assert page_show(cross.all_shows, network.shows) == "itsmwp"
    moved = cross.model_copy(update={"show": "gone"})
    assert moved.all_shows[0] == "gone" and "itsmwp-anz" in moved.all_shows
    assert page_show(moved.all_shows, network.shows) == "itsmwp-anz"
    assert page_show(["gone"], network.shows) is None
    records = golden_records(network)
    record = replace(records[cross.guid], show="gone", shows=("gone", "itsmwp-anz"))
    records[cross.guid] = record
    inputs = feed_inputs(network.settings.base_url, records, artwork_keys(network))
    xml = build_feed(
        network,
        "itsmwp-anz",
        inputs,
        now=NOW,
        candidates=feed_candidates(network, records, "itsmwp-anz"),
    ).xml
    link = etree.fromstring(xml).xpath(f"//item[guid='{cross.guid}']/link/text()")
    assert link == [episode_page_url(BASE, "itsmwp-anz", cross.slug)]
    pages = build_site(network, records, artwork_keys(network), now=NOW)
    assert f"itsmwp-anz/{cross.slug}.html" in {page.key for page in pages}


def test_an_item_link_follows_the_base_url(sample: Path):
    edit(
        sample / "episodes/network.toml",
        'base_url = "https://media.itsmweekly.example/"',
        'base_url = "https://cdn.example.org/pod/"',
    )
    network = load_checked_network(sample)
    feeds, pages = _feeds_and_pages(network)
    links = etree.fromstring(feeds["itsmwp-row"]).xpath("//item/link/text()")
    assert links and all(
        link.startswith("https://cdn.example.org/pod/itsmwp-row/") for link in links
    )


# -- item 3: podcast:alternateEnclosure's bitrate is the audio stream's --------------------------

ANZ_EPISODE = "episodes/itsmwp-anz/001-major-incidents.md"
SECONDS = 12.0
#: How far each encoder's average lands from the bitrate it was given: MP3 is CBR (exact), AAC
#: keeps its average; libopus's VBR lands some 7–10 % under its target on these signals.
TOLERANCE = {"mp3": 0.0, "m4a": 0.03, "opus": 0.12}


def _encode(tmp_path: Path, network, show_id: str) -> dict[str, Path]:
    """A stereo signal of tone and noise, encoded as the show's formats at the show's bitrates."""
    source = tmp_path / "source.wav"
    expression = (
        "0.2*sin(2*PI*(200+50*sin(2*PI*2*t))*t)+0.2*sin(2*PI*1250*t)*sin(2*PI*4*t)"
        "+0.3*(random(0)-0.5)"
    )
    synth(source, f"{expression}|{expression}", seconds=SECONDS, rate=44100)
    show = network.shows[show_id]
    encoded = {}
    for name in show.formats:
        out = tmp_path / f"encoded{FORMATS[name].suffix}"
        args = FORMATS[name].encoder_args(show.bitrate_of(name))
        ffmpeg.run(["-i", ffmpeg.input_url(source), *args, "-y", ffmpeg.input_url(out)], about=out)
        encoded[name] = out
    return encoded


def _cover(path: Path, seed: int) -> Path:
    """Artwork of some hundreds of kB (noise compresses badly), as producers' covers are."""
    noise = Image.effect_noise((1400, 1400), 64 + seed).convert("RGB")
    noise.paste((seed * 40 % 256, 90, 160), (0, 0, 700, 1400))
    noise.save(path, quality=92)
    return path


def _ogg_audio_bits_per_second(path: Path) -> float:
    """The Ogg Opus file's audio pages × 8 over its length: the pages after the one that ends
    the second packet (OpusHead, then OpusTags — which holds the cover), as RFC 7845 lays them
    out; RFC 3533 page headers read here, by hand."""
    data = path.read_bytes()
    offset, audio_bytes, last_granule, packets = 0, 0, 0, 0
    pre_skip = None
    while offset < len(data):
        assert data[offset : offset + 4] == b"OggS", offset
        granule = int.from_bytes(data[offset + 6 : offset + 14], "little", signed=True)
        count = data[offset + 26]
        lacing = data[offset + 27 : offset + 27 + count]
        body = offset + 27 + count
        if pre_skip is None:  # the first page holds OpusHead: its pre-skip at byte 10
            pre_skip = int.from_bytes(data[body + 10 : body + 12], "little")
        size = 27 + count + sum(lacing)
        if packets >= 2:
            audio_bytes += size
            last_granule = max(last_granule, granule)
        packets += sum(1 for value in lacing if value < 255)  # a packet ends at each
        offset += size
    return audio_bytes * 8 / ((last_granule - pre_skip) / 48_000)


def test_alternate_enclosures_declare_the_audio_streams_bitrate_not_the_cover_arts(
    sample: Path, tmp_path: Path
):
    network = load_checked_network(sample)
    episode = next(e for e in network.episodes if network.display(e.path) == ANZ_EPISODE)
    show = network.shows[episode.show]
    assert show.formats == ["mp3", "m4a", "opus"]
    encoded = _encode(tmp_path, network, episode.show)

    declared = {}
    for round_, seed in enumerate((1, 2)):  # a re-tag with another cover
        art = _cover(sample / "episodes" / episode.show / f"cover-{seed}.jpg", seed)
        moved = episode.model_copy(update={"image": art.name})
        files, _ = retag_files(network, moved, encoded, tmp_path / f"tagged-{round_}", SECONDS, ())
        audio = audio_files(moved, ProcessedAudio(files, SECONDS, (), "fingerprint"))
        sizes = {a.format: a.bytes for a in audio}
        assert all(size > encoded[name].stat().st_size + 100_000 for name, size in sizes.items())
        declared[seed] = {a.format: a.bitrate for a in audio}
        for a in audio:
            nominal = show.bitrate_of(a.format) * 1000
            assert abs(a.bitrate - nominal) <= TOLERANCE[a.format] * nominal + 1, (
                a.format,
                a.bitrate,
            )
            # what was declared before: the file's bytes, cover and all, over its duration
            assert a.bytes * 8 / SECONDS > 1.05 * a.bitrate, a.format
        opus = next(path for name, path, _, _ in files if name == "opus")
        assert (
            abs(declared[seed]["opus"] - _ogg_audio_bits_per_second(opus))
            <= 0.002 * declared[seed]["opus"]
        )

        # the feed says the recorded rate, also after the record's trip through the manifest
        record = build_record(network, moved, audio, (), "fingerprint")
        stored = Manifest(episodes={episode.guid: record.entry()}).to_bytes()  # schema-checked
        again = EpisodeRecord.from_entry(
            episode.guid, Manifest.from_bytes(stored, None).episodes[episode.guid]
        )
        inputs = feed_inputs(
            network.settings.base_url, {episode.guid: again}, artwork_keys(network)
        )
        xml = build_feed(network, episode.show, inputs, now=NOW, candidates=[moved]).xml
        node = etree.fromstring(xml).xpath(f"//item[guid='{episode.guid}']")[0]
        got = [
            (e.get("type"), e.get("bitrate"))
            for e in node.xpath("podcast:alternateEnclosure", namespaces=NS)
        ]
        assert got == [(a.type, str(a.bitrate)) for a in audio]
    assert declared[1] == declared[2]  # another cover: the same audio, the same bitrate


# -- item 2: lastBuildDate moves when a feed's bytes change, and never otherwise -----------------

T1 = datetime(2026, 11, 25, 9, tzinfo=timezone.utc)


def _last_build_date(xml: bytes) -> datetime:
    return parsedate_to_datetime(etree.fromstring(xml).findtext("channel/lastBuildDate"))


def test_dated_keeps_the_stored_date_while_nothing_else_changes(sample: Path):
    network = load_checked_network(sample)
    records = golden_records(network)
    inputs = feed_inputs(network.settings.base_url, records, artwork_keys(network))
    candidates = feed_candidates(network, records, "itsmwp")

    def build(built_at, inputs=inputs):
        return build_feed(
            network, "itsmwp", inputs, now=NOW, candidates=candidates, built_at=built_at
        )

    first = dated(build, None, T1)  # nothing stored: the run's time
    assert _last_build_date(first.xml) == T1
    later = T1 + timedelta(days=2)
    assert dated(build, first.xml, later).xml == first.xml  # the same: kept, byte for byte
    guid = candidates[0].guid
    retagged = replace(  # a re-tag: the enclosure's key (its hash) and length change
        inputs.episodes[guid], url=inputs.episodes[guid].url.replace(".mp3", "0.mp3"), bytes=1
    )
    changed_inputs = replace(inputs, episodes={**inputs.episodes, guid: retagged})
    builds = []

    def build_changed(when):
        builds.append(when)
        return build(when, changed_inputs)

    changed = dated(build_changed, first.xml, later)
    assert _last_build_date(changed.xml) == later
    # built once, with the stored date, then re-dated: the very bytes of a build at `later`
    assert builds == [T1] and changed == build(later, changed_inputs)
    in_sydney = later.astimezone(timezone(timedelta(hours=11)))
    assert dated(build_changed, first.xml, in_sydney) == build(in_sydney, changed_inputs)
    # a clock a little behind the stored date (another machine's), or at it, never dates a
    # change earlier nor keeps the old date on new bytes: a second after it (RFC 822 dates
    # count seconds); more than a day behind, the stored date is the wrong one (the test below)
    for clock in (T1 - timedelta(hours=20), T1):
        behind = dated(lambda when: build(when, changed_inputs), first.xml, clock)
        assert _last_build_date(behind.xml) == T1 + timedelta(seconds=1)
        assert behind.xml == build(T1 + timedelta(seconds=1), changed_inputs).xml
    publisher = dated(
        lambda when: build_publisher_feed(network, inputs.artwork_urls, built_at=when), None, T1
    )
    assert _last_build_date(publisher.xml) == T1
    fewer = dated(
        lambda when: build_publisher_feed(network, inputs.artwork_urls, ["itsmwp"], built_at=when),
        publisher.xml,
        later,
    )
    assert fewer == build_publisher_feed(network, inputs.artwork_urls, ["itsmwp"], built_at=later)


@pytest.mark.parametrize(
    "stored_date",
    [
        b"Thu, 01 Jan 1970 00:00:00 +0000",  # what 818d235 published as publisher.xml
        b"Fri, 02 Jan 1970 00:00:00 +0000",  # at or before 1970-01-02: counts as none
        b"Thu, 01 Jan 1970 02:00:00 +0200",
        b"sometime soon",  # unreadable: none
    ],
)
def test_a_stored_feed_dated_1970_or_unreadable_gets_the_runs_time(sample: Path, stored_date):
    network = load_checked_network(sample)
    inputs = feed_inputs(network.settings.base_url, {}, artwork_keys(network))

    def build(when):
        return build_publisher_feed(network, inputs.artwork_urls, built_at=when)

    epoch = build(datetime(1970, 1, 1, tzinfo=timezone.utc)).xml
    assert b"<lastBuildDate>Thu, 01 Jan 1970 00:00:00 +0000</lastBuildDate>" in epoch
    stored = epoch.replace(b"Thu, 01 Jan 1970 00:00:00 +0000", stored_date)
    feed = dated(build, stored, T1)
    assert _last_build_date(feed.xml) == T1 and feed.xml == build(T1).xml
    assert dated(build, feed.xml, T1 + timedelta(days=1)).xml == feed.xml  # and then kept


@pytest.mark.parametrize(
    "stored_date",
    [
        b"Tue, 01 Jan 2036 00:00:00 +0000",  # a machine whose clock was ten years ahead
        b"Fri, 31 Dec 9999 23:59:59 +0000",  # the last second there is: no second after it
    ],
)
def test_a_stored_date_far_ahead_of_the_clock_is_not_followed(sample: Path, stored_date):
    """A change to a feed stored with a date more than a day ahead of the run's time gets the
    run's time (a second after a wrong clock's date would keep it ahead for good, and after
    the year 9999's last second there is none); an unchanged one keeps its bytes."""
    network = load_checked_network(sample)
    inputs = feed_inputs(network.settings.base_url, {}, artwork_keys(network))

    def build(when, shows=None):
        return build_publisher_feed(network, inputs.artwork_urls, shows, built_at=when)

    stored = build(T1).xml.replace(format_datetime(T1).encode(), stored_date)
    assert stored != build(T1).xml
    assert dated(build, stored, T1).xml == stored  # nothing changed: kept
    changed = dated(lambda when: build(when, ["itsmwp"]), stored, T1)
    assert _last_build_date(changed.xml) == T1 and changed.xml == build(T1, ["itsmwp"]).xml


def test_build_moment_is_source_date_epoch_when_set(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(T1.timestamp())))
    assert build_moment(T1 + timedelta(hours=5)) == T1
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    assert build_moment(T1 + timedelta(hours=5)) == T1 + timedelta(hours=5)
    before = datetime.now(timezone.utc)
    assert before <= build_moment() <= datetime.now(timezone.utc)


def _published(root: Path, monkeypatch, when: datetime) -> dict:
    """`podcast publish` of the catalogue with the feeds' clock at `when`: its summary, and the
    bytes of the show's feed and the publisher feed."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(when.timestamp())))
    summary = podcast_json(root, "publish")
    store = root / "public"
    return {
        "summary": summary,
        "feed": (store / "archive/feed.xml").read_bytes(),
        "publisher": (store / "publisher.xml").read_bytes(),
    }


@pytest.mark.slow
def test_last_build_date_moves_whenever_the_feed_changes_and_never_otherwise(
    tmp_path: Path, monkeypatch
):
    root = tmp_path / "network"
    episodes = make_catalogue(root, count=2, seconds=4)
    first = _published(root, monkeypatch, T1)
    assert _last_build_date(first["feed"]) == T1
    assert _last_build_date(first["publisher"]) == T1  # was 1970
    assert sorted(first["summary"]["feeds_written"]) == ["archive/feed.xml", "publisher.xml"]

    again = _published(root, monkeypatch, T1 + timedelta(hours=1))  # nothing changed
    assert (again["feed"], again["publisher"]) == (first["feed"], first["publisher"])
    assert again["summary"]["feeds_written"] == []

    # a re-tag: the episode's title is in its ID3 tags, so its MP3's key and length change
    edit(episodes[0], "title: Part 1", "title: Part One")
    retagged = _published(root, monkeypatch, T1 + timedelta(hours=2))
    assert retagged["summary"]["episodes_retagged"]
    assert _enclosures(retagged["feed"]) != _enclosures(first["feed"])
    assert _last_build_date(retagged["feed"]) == T1 + timedelta(hours=2)
    assert retagged["publisher"] == first["publisher"]  # its bytes did not change: nor its date

    # the show's title: the publisher feed names it (remoteItem title), so it moves too
    toml = root / "episodes/network.toml"
    edit(toml, 'title = "The Archive"', 'title = "The Whole Archive"')
    renamed = _published(root, monkeypatch, T1 + timedelta(hours=3))
    assert _last_build_date(renamed["publisher"]) == T1 + timedelta(hours=3)
    assert _last_build_date(renamed["feed"]) == T1 + timedelta(hours=3)

    # `podcast feed` keeps the date of the feed it wrote before while nothing changes
    out = tmp_path / "preview"
    for hours in (4, 5):
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int((T1 + timedelta(hours=hours)).timestamp())))
        podcast(root, "feed", "--out", str(out), ok=True)
        if hours == 4:
            written = (out / "archive/feed.xml").read_bytes()
    assert (out / "archive/feed.xml").read_bytes() == written
    assert _last_build_date(written) == T1 + timedelta(hours=4)
    assert _last_build_date((out / "publisher.xml").read_bytes()) == T1 + timedelta(hours=4)


def _enclosures(xml: bytes) -> list[tuple[str, str]]:
    return [(e.get("url"), e.get("length")) for e in etree.fromstring(xml).iter("enclosure")]
