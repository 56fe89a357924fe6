"""Reach: the measurement prefix (enclosure_prefix), every audio file as a
podcast:alternateEnclosure, and the Podcasting 2.0 tags of payments, rights, place and schedule
(value, license, location, soundbite, trailer, txt, updateFrequency) — their validation (one line
naming file and field), their feed output checked against the namespace's docs, and the website's
player. The XSD checks of the tags the 2021 XSD knows live in tests/test_feed.py."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from dataclasses import replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import html5lib
import pytest
from lxml import etree

from podcast_tools.errors import ContentError
from podcast_tools.feed import build_feed
from podcast_tools.layout import measured_url, public_url, unmeasured_url
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.previews import artwork_keys, local_objects
from podcast_tools.record import AudioFile, EpisodeRecord, feed_candidates, feed_inputs
from podcast_tools.site import build_site
from tests.conftest import edit, find_problem, problems_of
from tests.golden.regenerate import golden_records

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
}
NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
BASE = "https://media.itsmweekly.example/"
TOML = "episodes/network.toml"
EP1 = "episodes/itsmwp/001-incident-vs-problem.md"
TRAILER = "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"
OP3 = "https://op3.dev/e/"
PODTRAC = "https://dts.podtrac.com/redirect.mp3/"
NODE = "02" + "ab" * 32


def feeds_of(network, records: dict[str, EpisodeRecord] | None = None) -> dict[str, etree._Element]:
    """Every show's feed (parsed), from records as publishing stores them (golden media facts)."""
    records = records if records is not None else golden_records(network)
    inputs = feed_inputs(network.settings.base_url, records, artwork_keys(network))
    return {
        show_id: etree.fromstring(
            build_feed(
                network,
                show_id,
                inputs,
                now=NOW,
                candidates=feed_candidates(network, records, show_id),
            ).xml
        )
        for show_id in network.shows
    }


def item(feed, guid: str):
    [found] = feed.xpath(f"channel/item[guid='{guid}']")
    return found


def guid_of(root: Path, relative: str) -> str:
    text = (root / relative).read_text(encoding="utf-8")
    return next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("guid:"))


# --- the prefix rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "url", "measured"),
    [
        (OP3, "https://media.example/s/ep-1.mp3", "https://op3.dev/e/media.example/s/ep-1.mp3"),
        (
            PODTRAC,
            "https://media.example/s/ep-1.mp3",
            "https://dts.podtrac.com/redirect.mp3/media.example/s/ep-1.mp3",
        ),
        (OP3, "http://media.example/a.mp3", "https://op3.dev/e/http://media.example/a.mp3"),
        (None, "https://media.example/a.mp3", "https://media.example/a.mp3"),
    ],
)
def test_the_prefix_rule_and_its_inverse(prefix, url, measured):
    assert measured_url(prefix, url) == measured
    assert unmeasured_url(prefix, measured) == url


# --- validation: one line naming file and field ---------------------------------------------------

RECIPIENT = f'{{ name = "Producers", address = "{NODE}", split = 90 }}'

TOML_CASES = [
    pytest.param(
        'description = "Every show',
        'enclosure_prefix = "http://op3.dev/e/"\ndescription = "Every show',
        "network.enclosure_prefix",
        "not an absolute https URL prefix",
        id="network-prefix-not-https",
    ),
    pytest.param(
        'title = "IT Service Management Weekly Podcast"',
        'title = "IT Service Management Weekly Podcast"\nenclosure_prefix = "op3.dev/e/"',
        "shows.itsmwp.enclosure_prefix",
        "not an absolute https URL prefix",
        id="show-prefix-relative",
    ),
    pytest.param(
        "split = 95",
        "split = 0",
        "defaults.value.recipients[1].split",
        "greater than 0",
        id="split-zero",
    ),
    pytest.param(
        "split = 95",
        'split = "95"',
        "defaults.value.recipients[1].split",
        "valid integer",
        id="split-text",
    ),
    pytest.param(
        'address = "0256a309b3e7f6128284b6564aa31daaa6a017597cc65b6b6ca00cbaefb2cdb3fe"',
        'address = "0256a309"',
        "defaults.value.recipients[1]",
        "not a Lightning node public key (66 hex characters",
        id="node-address-short",
    ),
    pytest.param(
        'license = "CC-BY-4.0"',
        'license = "my own licence"',
        "defaults.license.name",
        "not a license identifier",
        id="license-spaces",
    ),
    pytest.param(
        'geo = "geo:51.5072,-0.1276"',
        'geo = "51.5072,-0.1276"',
        "shows.itsmwp.location.geo",
        "not a geo URI",
        id="geo-without-scheme",
    ),
    pytest.param(
        'geo = "geo:51.5072,-0.1276"',
        'geo = "geo:151.5,-0.1276"',
        "shows.itsmwp.location.geo",
        "latitude -90…90",
        id="geo-latitude-out-of-range",
    ),
    pytest.param(
        'osm = "R65606"',
        'osm = "relation 65606"',
        "shows.itsmwp.location.osm",
        "not an OpenStreetMap id",
        id="osm",
    ),
    pytest.param(
        'rrule = "FREQ=WEEKLY;BYDAY=TU"',
        'rrule = "every tuesday"',
        "defaults.update_frequency.rrule",
        "not an RFC 5545 recurrence rule",
        id="rrule",
    ),
    pytest.param(
        'rrule = "FREQ=WEEKLY;BYDAY=TU"',
        'rrule = "FREQ=WEEKLY;COUNT=10"',
        "defaults.update_frequency",
        "dtstart is required when the rrule has a COUNT",
        id="rrule-count-without-dtstart",
    ),
    pytest.param(
        'text = "itsmwp-3c9e61d0b2a4"',
        f'text = "{"x" * 4001}"',
        "shows.itsmwp.txt[1].text",
        "at most 4000",
        id="txt-too-long",
    ),
]


@pytest.mark.parametrize(("old", "new", "field", "words"), TOML_CASES)
def test_network_toml_reach_settings_are_checked(sample: Path, old, new, field, words):
    edit(sample / TOML, old, new)
    problem = find_problem(problems_of(sample), TOML, field)
    assert words in problem.message and "\n" not in str(problem), str(problem)


def test_txt_belongs_to_one_show(sample: Path):
    edit(sample / TOML, "[defaults]", '[defaults]\ntxt = [{ text = "shared" }]')
    problem = find_problem(problems_of(sample), TOML, "defaults.txt")
    assert "belongs to one show" in problem.message


FRONT_CASES = [
    pytest.param(
        "    duration: 15\n    title: An incident",
        "    duration: 0\n    title: An incident",
        "soundbites[1].duration",
        "more than 0 seconds",
        id="soundbite-duration-zero",
    ),
    pytest.param(
        "  - start: 3\n",
        "  - start: soon\n",
        "soundbites[1].start",
        "is not a time",
        id="soundbite-start",
    ),
    pytest.param(
        "    title: An incident is not a problem",
        f"    title: {'x' * 129}",
        "soundbites[1].title",
        "at most 128",
        id="soundbite-title-too-long",
    ),
    pytest.param(
        "      split: 20\n",
        "      split: -20\n",
        "value.recipients[2].split",
        "greater than 0",
        id="item-split-negative",
    ),
    pytest.param(
        "  recipients:\n",
        "  method: amp\n  recipients:\n",
        "value.method",
        "keysend",
        id="item-value-method",
    ),
    pytest.param(
        "soundbites:",
        'location: { name: Office, geo: "geo:abc" }\nsoundbites:',
        "location.geo",
        "not a geo URI",
        id="item-geo",
    ),
]


@pytest.mark.parametrize(("old", "new", "field", "words"), FRONT_CASES)
def test_front_matter_reach_tags_are_checked(sample: Path, old, new, field, words):
    edit(sample / EP1, old, new)
    problem = find_problem(problems_of(sample), EP1, field)
    assert words in problem.message and "\n" not in str(problem), str(problem)


def test_a_soundbite_past_the_published_audio_is_a_problem_of_the_feed(sample: Path):
    edit(sample / EP1, "  - start: 3\n", "  - start: 3000\n")
    network = load_checked_network(sample)  # the start alone is a valid time
    with pytest.raises(ContentError) as caught:
        feeds_of(network)
    problem = find_problem(caught.value.problems, EP1, "soundbites[1]")
    assert "past the published audio's end" in problem.message


# --- enclosure_prefix: inherited like a show setting, applied to audio only -------------------------


def test_prefix_is_inherited_from_network_and_a_show_overrides_it(sample: Path):
    edit(
        sample / TOML,
        'description = "Every show',
        f'enclosure_prefix = "{OP3}"\ndescription = "Every show',
    )
    edit(
        sample / TOML,
        'title = "IT Service Management Weekly: Rest of World"',
        f'title = "IT Service Management Weekly: Rest of World"\nenclosure_prefix = "{PODTRAC}"',
    )
    edit(
        sample / TOML,
        'title = "IT Service Management Weekly: Australia & New Zealand"',
        'title = "IT Service Management Weekly: Australia & New Zealand"\nenclosure_prefix = false',
    )
    network = load_checked_network(sample)
    prefixes = {show_id: show.enclosure_prefix for show_id, show in network.shows.items()}
    assert prefixes == {"itsmwp": OP3, "itsmwp-anz": None, "itsmwp-row": PODTRAC}
    assert network.origins["itsmwp"]["enclosure_prefix"] == "[network]"
    assert network.origins["itsmwp-row"]["enclosure_prefix"] == "own"


def test_prefix_applies_to_enclosure_alternates_and_trailer_only(sample: Path):
    edit(
        sample / TOML,
        'description = "Every show',
        f'enclosure_prefix = "{OP3}"\ndescription = "Every show',
    )
    network = load_checked_network(sample)
    records = golden_records(network)
    feeds = feeds_of(network, records)
    for show_id, feed in feeds.items():
        for node in feed.xpath("channel/item"):
            record = records[node.findtext("guid")]
            plain = [public_url(BASE, audio.key) for audio in record.audio]
            assert node.find("enclosure").get("url") == measured_url(OP3, plain[0])
            sources = node.xpath("podcast:alternateEnclosure/podcast:source/@uri", namespaces=NS)
            assert sources == [measured_url(OP3, url) for url in plain]
        # chapters, transcripts, images, feeds: never through the measurement service
        measured = [
            value
            for element in feed.iter()
            for value in (*element.attrib.values(), element.text or "")
            if OP3 in value
        ]
        allowed = {"enclosure", "source", "trailer"}
        assert measured and all(
            etree.QName(element).localname in allowed
            for element in feed.iter()
            for value in element.attrib.values()
            if OP3 in value
        ), (show_id, measured)
    [trailer] = feeds["itsmwp-row"].xpath("channel/podcast:trailer", namespaces=NS)
    assert trailer.get("url").startswith(OP3 + "media.itsmweekly.example/itsmwp-row/episodes/")


def test_site_player_and_download_go_through_the_prefix_and_nothing_else(sample: Path):
    edit(
        sample / TOML,
        'description = "Every show',
        f'enclosure_prefix = "{PODTRAC}"\ndescription = "Every show',
    )
    network = load_checked_network(sample)
    records = golden_records(network)
    pages = {p.key: p for p in build_site(network, records, artwork_keys(network), now=NOW)}
    record = next(r for r in records.values() if r.slug == "001-major-incidents")
    doc = html5lib.parse(
        pages["itsmwp-anz/001-major-incidents.html"].data,
        treebuilder="lxml",
        namespaceHTMLElements=False,
    )
    sources = doc.xpath("//audio/source")
    by_size = sorted(record.audio, key=lambda a: a.bytes)
    assert [(s.get("src"), s.get("type")) for s in sources] == [
        (measured_url(PODTRAC, public_url(BASE, a.key)), a.type) for a in by_size
    ]
    # the show's Opus at 48 kbps, its AAC at 96, the MP3 at 128: smallest first
    assert [s.get("type") for s in sources] == ["audio/ogg", "audio/x-m4a", "audio/mpeg"]
    # a download link for every format, the enclosure first: each a listen
    downloads = [measured_url(PODTRAC, public_url(BASE, a.key)) for a in record.audio]
    assert doc.xpath("//a[@download]/@href") == downloads
    enclosure = downloads[0]
    assert doc.xpath("//audio/p/a/@href") == [enclosure]  # the fallback without a player
    other = [
        value
        for element in doc.iter()
        if not isinstance(element.tag, str) or element.tag not in ("source", "a")
        for value in (*element.attrib.values(), element.text or "")
        if PODTRAC in value
    ]
    assert other == []  # no meta, no JSON-LD: link previews and crawlers are not listens
    assert [h for h in doc.xpath("//a[not(@download)]/@href") if PODTRAC in h] == [enclosure]
    plain = public_url(BASE, record.enclosure.key)
    [data] = doc.xpath('//script[@type="application/ld+json"]/text()')
    assert json.loads(data)["associatedMedia"]["contentUrl"] == plain
    assert doc.xpath('//meta[@property="og:audio"]/@content') == [plain]


def test_preview_serves_audio_itself_never_through_the_prefix(processed_network: Path, tmp_path):
    """`podcast preview` names every URL under 127.0.0.1: a measurement service could not fetch
    the audio there (and must not count a producer's own plays), so the prefix is left out."""
    root = tmp_path / "network"
    shutil.copytree(processed_network, root, symlinks=True)
    edit(
        root / TOML,
        'description = "Every show',
        f'enclosure_prefix = "{OP3}"\ndescription = "Every show',
    )
    network = load_checked_network(root)
    base = "http://127.0.0.1:8765/"
    objects = local_objects(network, root / "build", base_url=base)
    texts = [obj.data for obj in objects.values() if obj.data is not None]
    assert texts and not [data for data in texts if b"op3.dev" in data]
    feed = etree.fromstring(objects["itsmwp/feed.xml"].data)
    enclosures = feed.xpath("channel/item/enclosure/@url")
    assert enclosures and all(url.startswith(base) for url in enclosures)
    # publishing's own base URL keeps the prefix: the preview holds what publish uploads
    published = local_objects(network, root / "build", base_url=network.settings.base_url)
    assert b"https://op3.dev/e/media.itsmweekly.example/" in published["itsmwp/feed.xml"].data


# --- podcast:alternateEnclosure ---------------------------------------------------------------------


def test_every_audio_file_is_an_alternate_enclosure_with_source_and_integrity(sample: Path):
    network = load_checked_network(sample)
    records = golden_records(network)
    counts = set()
    for feed in feeds_of(network, records).values():
        for node in feed.xpath("channel/item"):
            record = records[node.findtext("guid")]
            alternates = node.xpath("podcast:alternateEnclosure", namespaces=NS)
            formats = network.shows[record.show].formats  # the home show's: mp3 (+ m4a, opus)
            assert len(alternates) == len(record.audio) == len(formats)
            counts.add(len(alternates))
            for index, (element, audio) in enumerate(zip(alternates, record.audio)):
                assert element.get("type") == audio.type
                assert element.get("length") == str(audio.bytes)
                assert element.get("bitrate") == str(audio.bitrate)  # the stream's, recorded
                assert element.get("title") == audio.label
                assert element.get("default") == ("true" if index == 0 else None)
                children = [etree.QName(child).localname for child in element]
                assert children == ["source", "integrity"]  # sources first (source.md)
                digest = hashlib.sha256(b"").digest()  # the form: sha256-<base64 of 32 bytes>
                sri = element[1]
                assert sri.get("type") == "sri"
                raw = base64.b64decode(sri.get("value").removeprefix("sha256-"))
                assert len(raw) == len(digest) and raw.hex() == audio.sha256
            # the default alternate is the enclosure's own file
            assert alternates[0][0].get("uri") == node.find("enclosure").get("url")
    assert counts == {1, 3}  # MP3-only shows and the three-format spin-off


def test_integrity_is_left_out_for_a_file_recorded_without_sha256(sample: Path):
    network = load_checked_network(sample)
    records = golden_records(network)
    guid = guid_of(sample, EP1)
    old = records[guid]
    legacy = AudioFile.from_dict(
        {k: v for k, v in old.enclosure.as_dict().items() if k != "sha256"}
    )
    records[guid] = replace(old, audio=(legacy,))
    node = item(feeds_of(network, records)["itsmwp"], guid)
    [alternate] = node.xpath("podcast:alternateEnclosure", namespaces=NS)
    assert [etree.QName(c).localname for c in alternate] == ["source"]


def test_no_bitrate_is_declared_for_a_file_recorded_without_one(sample: Path):
    # a manifest written before the stream's rate was measured: no guess from the file's bytes
    # (they count the tags and cover art)
    network = load_checked_network(sample)
    records = golden_records(network)
    guid = guid_of(sample, EP1)
    old = records[guid]
    legacy = AudioFile.from_dict(
        {k: v for k, v in old.enclosure.as_dict().items() if k != "bitrate"}
    )
    assert old.enclosure.bitrate and legacy.bitrate is None
    records[guid] = replace(old, audio=(legacy,))
    node = item(feeds_of(network, records)["itsmwp"], guid)
    [alternate] = node.xpath("podcast:alternateEnclosure", namespaces=NS)
    assert alternate.get("bitrate") is None and alternate.get("length") == str(legacy.bytes)


# --- the tags from network.toml and front matter ----------------------------------------------------


def test_channel_and_item_tags_say_what_the_content_says(sample: Path):
    network = load_checked_network(sample)
    feeds = feeds_of(network)
    main = feeds["itsmwp"].find("channel")

    def one(parent, path):
        [found] = parent.xpath(path, namespaces=NS)
        return found

    value = one(main, "podcast:value")
    assert (value.get("type"), value.get("method"), value.get("suggested")) == (
        "lightning",
        "keysend",
        "0.00000005000",
    )
    recipients = [(r.get("name"), r.get("split"), r.get("fee")) for r in value]
    assert recipients == [("ITSM Weekly Producers", "95", None), ("Hosting", "5", "true")]
    assert one(main, "podcast:license").text == "CC-BY-4.0"
    location = one(main, "podcast:location")
    assert (location.text, location.get("geo"), location.get("osm")) == (
        "London",
        "geo:51.5072,-0.1276",
        "R65606",
    )
    assert [(t.get("purpose"), t.text) for t in main.xpath("podcast:txt", namespaces=NS)] == [
        ("verify", "itsmwp-3c9e61d0b2a4")
    ]
    frequency = one(main, "podcast:updateFrequency")
    assert (frequency.text, frequency.get("rrule")) == (
        "Weekly, on Tuesdays",
        "FREQ=WEEKLY;BYDAY=TU",
    )
    # a spin-off inherits value and license, sets its own place and schedule, never the txt
    anz = feeds["itsmwp-anz"].find("channel")
    anz_location = one(anz, "podcast:location")
    assert (anz_location.text, anz_location.get("geo")) == ("Sydney", "geo:-33.8688,151.2093")
    assert anz_location.get("osm") is None  # not London's: a place is inherited whole or not at all
    assert one(anz, "podcast:updateFrequency").get("rrule") == "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR"
    assert anz.xpath("podcast:txt", namespaces=NS) == []
    assert len(one(anz, "podcast:value")) == 2

    # item level: the episode's value overrides the show's; soundbites; license; location
    episode = item(feeds["itsmwp"], guid_of(sample, EP1))
    splits = [(r.get("name"), r.get("split")) for r in one(episode, "podcast:value")]
    assert splits == [("ITSM Weekly Producers", "75"), ("Sam Guest", "20"), ("Hosting", "5")]
    bite = one(episode, "podcast:soundbite")
    assert (bite.get("startTime"), bite.get("duration"), bite.text) == (
        "3.0",
        "15.0",
        "An incident is not a problem",
    )
    row = item(
        feeds["itsmwp-row"], guid_of(sample, "episodes/itsmwp-row/002-knowledge-management.md")
    )
    assert one(row, "podcast:license").text == "CC-BY-SA-4.0"
    nz = item(
        feeds["itsmwp-anz"], guid_of(sample, "episodes/itsmwp-anz/002-itil4-in-nz-government.md")
    )
    assert one(nz, "podcast:location").text == "Wellington"


def test_a_trailer_episode_is_the_channels_trailer(sample: Path):
    edit(sample / TRAILER, "number: 1\n", "number: 1\nseason: 2\n")
    network = load_checked_network(sample)
    records = golden_records(network)
    guid = guid_of(sample, TRAILER)
    feed = feeds_of(network, records)["itsmwp-row"]
    [trailer] = feed.xpath("channel/podcast:trailer", namespaces=NS)
    record = records[guid]
    assert trailer.text == "Should You Outsource the Service Desk?"
    assert trailer.get("url") == public_url(BASE, record.enclosure.key)
    assert trailer.get("length") == str(record.enclosure.bytes)
    assert trailer.get("type") == "audio/mpeg" and trailer.get("season") == "2"
    episode = next(e for e in network.episodes if e.guid == guid)
    assert parsedate_to_datetime(trailer.get("pubdate")) == episode.date  # RFC 2822
    assert feed.xpath("channel/podcast:trailer", namespaces=NS)[0].getparent().tag == "channel"
    for show_id in ("itsmwp", "itsmwp-anz"):  # no trailer there
        assert not feeds_of(network, records)[show_id].xpath(
            "channel/podcast:trailer", namespaces=NS
        )


def test_feeds_from_manifest_records_carry_the_item_tags(sample: Path):
    """FEED_FIELDS: a record read back from the manifest's JSON gives the same feed bytes."""
    network = load_checked_network(sample)
    records = golden_records(network)
    stored = {
        guid: EpisodeRecord.from_entry(guid, json.loads(json.dumps(record.entry())))
        for guid, record in records.items()
    }
    for show_id in network.shows:
        built = [
            build_feed(
                network,
                show_id,
                feed_inputs(BASE, these, artwork_keys(network)),
                now=NOW,
                candidates=feed_candidates(network, these, show_id),
            ).xml
            for these in (records, stored)
        ]
        assert built[0] == built[1], show_id
    entry = records[guid_of(sample, EP1)].entry()["meta"]
    assert entry["soundbites"] == [
        {"start": 3.0, "duration": 15.0, "title": "An incident is not a problem"}
    ]
    assert entry["value"]["suggested"] == "0.00000005000"
    # an entry written before these fields existed still builds (no tags)
    old = records[guid_of(sample, EP1)].entry()
    for name in ("soundbites", "value", "license", "location"):
        del old["meta"][name]
    episode = EpisodeRecord.from_entry("x", old).episode(sample)
    assert (episode.soundbites, episode.value, episode.license, episode.location) == (
        [],
        None,
        None,
        None,
    )
