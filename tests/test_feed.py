"""Feeds: parsed by real podcast-client parsers, checked by XPath and the namespace's XSD."""

from __future__ import annotations

import copy
import hashlib
import io
import json
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import podcastparser
import pytest
from lxml import etree
from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.errors import ContentError
from podcast_tools.feed import EpisodeMedia, FeedInputs, build_feed, check_feed
from podcast_tools.media_checks import load_checked_network
from podcast_tools.transcript import parse_vtt, write_json, write_srt
from tests.conftest import edit, find_problem, problems_of

NS = {
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "podcast": "https://podcastindex.org/namespace/1.0",
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
}
XSD_DIR = Path(__file__).resolve().parents[2] / "shared" / "podcast-namespace"
NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
BASE = "https://media.itsmweekly.example/"
#: The podcast:* elements the 2021 XSD declares and our feeds write (valueRecipient is checked
#: inside value); the newer ones (alternateEnclosure, trailer, license, txt, updateFrequency…)
#: are checked against the namespace's docs in tests/test_feed_reach.py.
XSD_COVERED = {
    "transcript", "locked", "funding", "chapters", "person", "season", "episode",
    "soundbite", "location", "value",
}  # fmt: skip


def media_for(network) -> FeedInputs:
    """Facts as publishing would give them, one per episode (sizes and times made up)."""
    inputs = FeedInputs(artwork_urls={s: f"{BASE}{s}/art/cover-abc.png" for s in network.shows})
    for index, episode in enumerate(sorted(network.episodes, key=lambda e: e.guid), 1):
        inputs.episodes[episode.guid] = EpisodeMedia(
            url=f"{BASE}{episode.show}/episodes/{episode.slug}-{index:012d}.mp3",
            bytes=100_000 + index,
            duration_s=60.0 * index + 0.4,
            html=f"<p>Notes for <strong>{episode.title}</strong> &amp; more ]]&gt; end</p>",
            summary=f"Summary of {episode.title}",
            chapters_url=f"{BASE}{episode.show}/episodes/{episode.slug}-chapters-{index:012d}.json",
            transcript_url=f"{BASE}{episode.show}/episodes/{episode.slug}-transcript-{index:012d}.vtt",
            transcript_type="text/vtt",
        )
    return inputs


def parse_xml(xml: bytes):
    return etree.fromstring(xml)


@pytest.fixture
def network(sample: Path):
    return load_checked_network(sample)


def test_every_client_parser_reads_every_episode(network):
    inputs = media_for(network)
    for show_id in network.shows:
        feed = build_feed(network, show_id, inputs, now=NOW)
        expected = network.episodes_of(show_id)
        parsed = podcastparser.parse(f"{BASE}{show_id}/feed.xml", io.BytesIO(feed.xml))
        by_guid = {item["guid"]: item for item in parsed["episodes"]}
        assert set(by_guid) == {e.guid for e in expected}
        other = feedparser.parse(feed.xml)
        assert not other.bozo, other.bozo_exception
        other_by_guid = {entry.id: entry for entry in other.entries}
        tree = parse_xml(feed.xml)
        for episode in expected:
            media = inputs.episodes[episode.guid]
            item = by_guid[episode.guid]
            assert item["title"] == episode.title
            assert item["enclosures"][0]["url"] == media.url
            assert item["enclosures"][0]["file_size"] == media.bytes
            assert item["enclosures"][0]["mime_type"] == "audio/mpeg"
            assert item["total_time"] == round(media.duration_s)
            assert item["published"] == int(episode.date.timestamp())
            entry = other_by_guid[episode.guid]
            assert entry.title == episode.title
            assert (
                entry.enclosures[0].href == media.url
                and int(entry.enclosures[0].length) == media.bytes
            )
            assert parsedate_to_datetime(entry.published) == episode.date
            node = tree.xpath(f"//item[guid='{episode.guid}']")[0]
            assert node.find("guid").get("isPermaLink") == "false"
            assert node.xpath("podcast:chapters/@url", namespaces=NS) == [media.chapters_url]
            assert node.xpath("podcast:chapters/@type", namespaces=NS) == [
                "application/json+chapters"
            ]
            assert node.xpath("podcast:transcript/@url", namespaces=NS) == [media.transcript_url]
            assert node.xpath("itunes:duration/text()", namespaces=NS) == [
                str(round(media.duration_s))
            ]
            assert node.xpath("itunes:episodeType/text()", namespaces=NS) == [episode.type]
            number = episode.numbers_in(show_id)[0]  # a cross-post is unnumbered elsewhere
            numbers = [str(number)] if number else []
            assert node.xpath("itunes:episode/text()", namespaces=NS) == numbers
            assert node.xpath("podcast:episode/text()", namespaces=NS) == numbers
            assert "Notes for" in node.xpath("content:encoded/text()", namespaces=NS)[0]


def test_channel_tags(network):
    feed = build_feed(network, "itsmwp", media_for(network), now=NOW)
    channel = parse_xml(feed.xml).find("channel")
    text = lambda path: channel.xpath(path, namespaces=NS)  # noqa: E731
    assert text("title/text()") == ["IT Service Management Weekly Podcast"]
    assert text("language/text()") == ["en"]
    assert text("itunes:explicit/text()") == ["false"]  # Apple's true/false, not feedgen's yes/no
    assert text("itunes:type/text()") == ["episodic"]
    assert text("itunes:author/text()") == ["IT Service Management Weekly"]
    assert text("itunes:owner/itunes:email/text()") == ["producers@itsmweekly.example"]
    assert text("itunes:image/@href") == [f"{BASE}itsmwp/art/cover-abc.png"]
    assert text("itunes:category/@text") == ["Business"]
    assert text("itunes:category/itunes:category/@text") == ["Management"]
    assert text("atom:link[@rel='self']/@href") == [f"{BASE}itsmwp/feed.xml"]
    assert text("podcast:guid/text()") == ["be037f49-f9a9-505e-a9e1-a2813013e622"]
    assert text("podcast:locked/text()") == ["yes"]
    assert text("podcast:locked/@owner") == ["producers@itsmweekly.example"]
    assert text("podcast:medium/text()") == ["podcast"]
    assert sorted(text("podcast:podroll/podcast:remoteItem/@feedGuid")) == sorted(
        [network.shows["itsmwp-anz"].podcast_guid, network.shows["itsmwp-row"].podcast_guid]
    )
    assert (
        text("itunes:new-feed-url") == []
        and text("itunes:block") == []
        and text("itunes:complete") == []
    )
    newest = max(e.date for e in network.episodes_of("itsmwp"))
    assert parsedate_to_datetime(text("lastBuildDate/text()")[0]) == newest


def test_optional_channel_tags(sample: Path):
    toml = sample / "episodes/network.toml"
    edit(
        toml,
        'link = "https://itsmweekly.example/row/"',
        'link = "https://itsmweekly.example/row/"\n'
        'new_feed_url = "https://feeds.example.com/row.xml"\nblock = true\ncomplete = true\nexplicit = true\n'
        'funding = [{ url = "https://example.com/donate", text = "Buy us a coffee" }]\n'
        'persons = [{ name = "Robin Row", role = "host", href = "https://example.com/robin" }]',
    )
    network = load_checked_network(sample)
    channel = parse_xml(build_feed(network, "itsmwp-row", media_for(network), now=NOW).xml).find(
        "channel"
    )
    text = lambda path: channel.xpath(path, namespaces=NS)  # noqa: E731
    assert text("itunes:new-feed-url/text()") == ["https://feeds.example.com/row.xml"]
    assert text("itunes:block/text()") == ["yes"] and text("itunes:complete/text()") == ["yes"]
    assert text("itunes:explicit/text()") == ["true"]
    assert text("podcast:funding/@url") == ["https://example.com/donate"]
    assert text("podcast:funding/text()") == ["Buy us a coffee"]
    assert text("podcast:person/text()") == ["Robin Row"]
    items = channel.findall("item")
    assert all(item.xpath("itunes:explicit/text()", namespaces=NS) == ["true"] for item in items)


@pytest.mark.skipif(
    not (XSD_DIR / "podcast-wrapper.xsd").is_file(), reason="the namespace XSD lives in ../shared/"
)
def test_podcast_elements_validate_against_the_namespace_xsd(sample: Path):
    toml = sample / "episodes/network.toml"
    edit(
        toml,
        'link = "https://itsmweekly.example/row/"',
        'link = "https://itsmweekly.example/row/"\n'
        'funding = [{ url = "https://example.com/donate", text = "Support" }]\n'
        'persons = [{ name = "Robin Row", href = "https://example.com/robin" }]',
    )
    network = load_checked_network(sample)
    schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "podcast-wrapper.xsd")))
    covered = XSD_COVERED
    checked = set()
    for show_id in network.shows:
        tree = parse_xml(build_feed(network, show_id, media_for(network), now=NOW).xml)
        wrapper = etree.Element(f"{{{NS['podcast']}}}test-wrapper", nsmap={None: NS["podcast"]})
        for element in tree.iter(f"{{{NS['podcast']}}}*"):
            name = etree.QName(element).localname
            if name in covered:
                wrapper.append(copy.deepcopy(element))
                checked.add(name)
        assert schema.validate(wrapper), schema.error_log
    assert checked == covered


@pytest.mark.skipif(
    not (XSD_DIR / "podcast-wrapper.xsd").is_file(), reason="the namespace XSD lives in ../shared/"
)
@pytest.mark.parametrize("name", ["itsmwp", "itsmwp-anz", "itsmwp-row"])
def test_golden_feeds_validate_against_the_namespace_xsd(name):
    schema = etree.XMLSchema(etree.parse(str(XSD_DIR / "podcast-wrapper.xsd")))
    tree = etree.parse(str(Path(__file__).resolve().parent / "golden" / "feeds" / f"{name}.xml"))
    wrapper = etree.Element(f"{{{NS['podcast']}}}test-wrapper", nsmap={None: NS["podcast"]})
    for element in tree.iter(f"{{{NS['podcast']}}}*"):
        if etree.QName(element).localname in XSD_COVERED:
            wrapper.append(copy.deepcopy(element))
    assert len(wrapper) and schema.validate(wrapper), schema.error_log


def test_same_inputs_same_bytes(network):
    inputs = media_for(network)
    first = build_feed(network, "itsmwp-anz", inputs, now=NOW).xml
    second = build_feed(
        network,
        "itsmwp-anz",
        media_for(load_checked_network(network.root)),
        now=NOW + timedelta(days=3),
    ).xml
    assert first == second


def test_scheduled_episodes_wait_for_their_time(sample: Path):
    episode = sample / "episodes/itsmwp/003-service-desk-metrics.md"
    edit(episode, "date: 2026-10-21T09:00:00+01:00", "date: 2026-12-01T09:00:00+01:00")
    network = load_checked_network(sample)
    inputs = media_for(network)
    scheduled_guid = "04bab1e0-bca4-48be-9c8b-6e3eff69f280"
    now = build_feed(network, "itsmwp", inputs, now=NOW)
    assert scheduled_guid not in now.included and scheduled_guid in now.scheduled
    assert scheduled_guid.encode() not in now.xml
    later = build_feed(network, "itsmwp", inputs, now=datetime(2026, 12, 2, tzinfo=timezone.utc))
    assert scheduled_guid in later.included
    preview = build_feed(network, "itsmwp", inputs, now=NOW, include_scheduled=True)
    assert scheduled_guid in preview.included


def test_spin_off_inheritance_and_cross_posting(network):
    inputs = media_for(network)
    anz = parse_xml(build_feed(network, "itsmwp-anz", inputs, now=NOW).xml).find("channel")
    main = parse_xml(build_feed(network, "itsmwp", inputs, now=NOW).xml).find("channel")
    assert anz.findtext("language") == "en-au"  # its own
    assert anz.xpath("itunes:author/text()", namespaces=NS) == [
        "IT Service Management Weekly"
    ]  # inherited
    assert anz.xpath("itunes:owner/itunes:email/text()", namespaces=NS) == [
        "anz@itsmweekly.example"
    ]
    assert anz.xpath("itunes:category/itunes:category/@text", namespaces=NS) == ["Management"]
    cross = "96437e99-b727-4e6c-99f1-172d9e7e5d4a"
    in_anz = anz.xpath(f"item[guid='{cross}']/enclosure/@url")
    in_main = main.xpath(f"item[guid='{cross}']/enclosure/@url")
    assert in_anz == in_main and len(in_anz) == 1


def test_hostile_text_round_trips_safely(sample: Path):
    episode = sample / "episodes/itsmwp/001-incident-vs-problem.md"
    edit(
        episode,
        "title: Incident vs. Problem Management",
        "title: '<b>Incidents</b> & ]]> \"problems\"'",
    )
    network = load_checked_network(sample)
    inputs = media_for(network)
    guid = "ac4558b4-65d3-4301-a7a3-5754683e9fdf"
    old = inputs.episodes[guid]
    inputs.episodes[guid] = EpisodeMedia(
        **{**old.__dict__, "html": "<p>bell\x07 and ]]&gt; and <em>ok</em></p>"}
    )
    xml = build_feed(network, "itsmwp", inputs, now=NOW).xml
    assert b"\x07" not in xml
    parsed = podcastparser.parse(f"{BASE}itsmwp/feed.xml", io.BytesIO(xml))
    titles = [e["title"] for e in parsed["episodes"]]
    assert '<b>Incidents</b> & ]]> "problems"' in titles
    assert feedparser.parse(xml).bozo == 0


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda m: {"bytes": 0}, "audio", "no bytes"),
        (lambda m: {"mime": "audio/x-m4a"}, "audio", "does not match"),
        (lambda m: {"url": "ftp://example.com/a.mp3"}, "audio", "not absolute http(s)"),
        (lambda m: {"html": "<p>" + "x" * 4100 + "</p>"}, "notes", "feeds allow 4000"),
    ],
)
def test_rules_are_checked_before_anything_is_built(network, change, field, words):
    inputs = media_for(network)
    guid = "ac4558b4-65d3-4301-a7a3-5754683e9fdf"
    inputs.episodes[guid] = EpisodeMedia(
        **{**inputs.episodes[guid].__dict__, **change(inputs.episodes[guid])}
    )
    with pytest.raises(ContentError) as caught:
        build_feed(network, "itsmwp", inputs, now=NOW)
    problem = next(p for p in caught.value.problems if p.field == field)
    assert problem.file == "episodes/itsmwp/001-incident-vs-problem.md" and words in problem.message


SERIAL = (
    'title = "IT Service Management Weekly Podcast"',
    'title = "IT Service Management Weekly Podcast"\ntype = "serial"',
)
# itsmwp-anz extends itsmwp (and would inherit serial); it stays episodic: the cross-posted 002
# has no number of its own there
ANZ_EPISODIC = ('language = "en-au"', 'language = "en-au"\ntype = "episodic"')
SDM = "episodes/itsmwp/003-service-desk-metrics.md"


def test_serial_show_needs_episode_numbers_when_validating(sample: Path):
    edit(sample / "episodes/network.toml", *SERIAL)
    edit(sample / "episodes/network.toml", *ANZ_EPISODIC)
    edit(sample / SDM, "number: 3\n", "")
    # a content rule: validation reports it, so nothing is processed or uploaded first
    problem = find_problem(problems_of(sample), SDM, "number")
    assert '"itsmwp" is a serial show' in problem.message


def test_serial_show_needs_episode_numbers(sample: Path):
    """The feed builder's own rule: a feed is built from every published episode of the show
    (publishing passes the manifest's), also those this checkout does not have, which
    validation never saw under the serial setting."""
    edit(sample / SDM, "number: 3\n", "")
    episodic = load_checked_network(sample)  # valid: an episodic show needs no numbers
    published = episodic.episodes_of("itsmwp")
    assert [e.number for e in published] == [1, 2, None]
    edit(sample / "episodes/network.toml", *SERIAL)
    edit(sample / "episodes/network.toml", *ANZ_EPISODIC)
    (sample / SDM).unlink()  # another checkout, without 003
    serial = load_checked_network(sample)  # valid: every episode it has is numbered
    assert serial.shows["itsmwp"].type == "serial"
    inputs = media_for(episodic)
    assert build_feed(serial, "itsmwp", inputs, now=NOW, candidates=published[:2]).included
    with pytest.raises(ContentError) as caught:
        build_feed(serial, "itsmwp", inputs, now=NOW, candidates=published)
    [problem] = caught.value.problems
    assert (problem.file, problem.field) == (SDM, "number")
    assert '"itsmwp" is a serial show' in problem.message


def tree_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_serial_rule_stops_a_publish_before_anything_is_uploaded(sample: Path, tmp_path: Path):
    """The same rule where publishing meets it: the manifest holds 003 unnumbered (published
    while the show was episodic); a checkout without 003 makes the show serial. Its publish is
    refused in one line naming 003's file and field — before it masters or uploads anything,
    not after (exit 1 means nothing uploaded)."""
    import shutil

    runner = CliRunner()
    store = tmp_path / "store"
    edit(sample / SDM, "number: 3\n", "")
    first = runner.invoke(
        app, ["--root", str(sample), "publish", "--storage", f"file://{store}", str(sample / SDM)]
    )
    assert first.exit_code == 0, first.output
    other = Path(shutil.copytree(sample, tmp_path / "other"))
    edit(other / "episodes/network.toml", *SERIAL)
    edit(other / "episodes/network.toml", *ANZ_EPISODIC)
    (other / SDM).unlink()
    load_checked_network(other)  # valid: every episode it has is numbered
    before = {"store": tree_of(store), "state": tree_of(tmp_path / "store.state")}
    incident = other / "episodes/itsmwp/001-incident-vs-problem.md"  # new: would be uploaded
    for extra in ([str(incident)], ["--dry-run", str(incident)]):
        result = runner.invoke(
            app, ["--root", str(other), "publish", "--storage", f"file://{store}", *extra]
        )
        assert result.exit_code == 1, result.output
        errors = [line for line in result.stderr.splitlines() if not line.startswith("note:")]
        assert errors == [
            f'{SDM}: number: is needed: "itsmwp" is a serial show (Apple requires episode numbers)'
        ], result.stderr
        assert {"store": tree_of(store), "state": tree_of(tmp_path / "store.state")} == before
    assert not (other / "build/itsmwp/001-incident-vs-problem.mp3").exists()  # not mastered


def test_guids_unique_within_a_feed(network):
    inputs = media_for(network)
    episode = network.episodes_of("itsmwp")[0]
    problems = check_feed(network, network.shows["itsmwp"], [episode, episode], inputs)
    assert any(p.field == "guid" and "also used" in p.message for p in problems)


def test_bad_artwork_url_is_an_error(network):
    inputs = media_for(network)
    inputs.artwork_urls["itsmwp"] = "cover.png"
    with pytest.raises(ContentError) as caught:
        build_feed(network, "itsmwp", inputs, now=NOW)
    assert caught.value.problems[0].field == "shows.itsmwp.artwork"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.slow
def test_feed_command_from_local_build(sample: Path, tmp_path: Path):
    """The local preview names every file where `publish` puts it: content-addressed keys
    `{show}/episodes/{slug}-{kind}-{sha256[:12]}{suffix}` under base_url, derived here from the
    files themselves, and the very URLs a real publish to a folder writes."""
    from PIL import Image

    runner = CliRunner()
    slug = "002-change-advisory-boards"
    episode = sample / f"episodes/itsmwp/{slug}.md"
    Image.new("RGB", (1400, 1400), (200, 40, 90)).save(sample / "episodes/itsmwp/art/cab.png")
    (sample / f"episodes/itsmwp/{slug}.vtt").write_text(
        "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\nDo we still need a CAB?\n", encoding="utf-8"
    )
    edit(episode, "season: 1\n", f"season: 1\nimage: art/cab.png\ntranscript: {slug}.vtt\n")
    assert runner.invoke(app, ["--root", str(sample), "process", str(episode)]).exit_code == 0
    result = runner.invoke(app, ["--root", str(sample), "feed", "itsmwp", "itsmwp-anz"])
    assert result.exit_code == 0, result.output
    assert "not processed yet" in result.stdout
    feeds = sample / "build/feeds"
    assert not (feeds / "itsmwp-row").exists()  # only the shows asked for

    built = sample / "build/itsmwp"
    mp3 = (built / f"{slug}.mp3").read_bytes()
    chapters = (built / f"{slug}.chapters.json").read_bytes()
    assert json.loads(chapters)["chapters"][0]["title"] == "Introduction"
    vtt = (sample / f"episodes/itsmwp/{slug}.vtt").read_bytes()
    png = (sample / "episodes/itsmwp/art/cab.png").read_bytes()
    cover = (sample / "episodes/art/cover.png").read_bytes()
    anz_cover = (sample / "episodes/itsmwp-anz/art/cover.jpg").read_bytes()
    folder = f"{BASE}itsmwp/episodes/{slug}"
    transcript_forms = [
        vtt,
        write_srt(parse_vtt(vtt)).encode(),
        write_json(parse_vtt(vtt)).encode(),
    ]
    expected_item = {
        "enclosure": [f"{folder}-{sha(mp3)[:12]}.mp3", str(len(mp3)), "audio/mpeg"],
        "chapters": [f"{folder}-chapters-{sha(chapters)[:12]}.json"],
        "transcript": [  # the hand-made WebVTT, then the SRT and JSON made from its cues
            (f"{folder}-transcript-{sha(form)[:12]}{suffix}", mime, rel, "en")
            for form, (suffix, mime, rel) in zip(
                transcript_forms,
                (
                    (".vtt", "text/vtt", "captions"),
                    (".srt", "application/x-subrip", "captions"),
                    (".json", "application/json", None),
                ),
            )
        ],
        "image": [f"{folder}-image-{sha(png)[:12]}.png"],
    }
    expected_art = {
        "itsmwp": f"{BASE}itsmwp/art/cover-{sha(cover)[:12]}.png",
        "itsmwp-anz": f"{BASE}itsmwp-anz/art/cover-{sha(anz_cover)[:12]}.jpg",
    }

    def facts(xml: bytes, show: str) -> dict:
        tree = parse_xml(xml)
        assert tree.xpath("//item/guid/text()") == ["96437e99-b727-4e6c-99f1-172d9e7e5d4a"]
        item = tree.xpath("//item")[0]
        assert tree.xpath("channel/itunes:image/@href", namespaces=NS) == [expected_art[show]]
        return {
            "enclosure": [item.find("enclosure").get(a) for a in ("url", "length", "type")],
            "chapters": item.xpath("podcast:chapters/@url", namespaces=NS),
            "transcript": [
                tuple(tag.get(name) for name in ("url", "type", "rel", "language"))
                for tag in item.xpath("podcast:transcript", namespaces=NS)
            ],
            "image": item.xpath("itunes:image/@href", namespaces=NS),
        }

    previews = {show: (feeds / show / "feed.xml").read_bytes() for show in ("itsmwp", "itsmwp-anz")}
    for show, xml in previews.items():  # the cross-post names the home show's files
        assert facts(xml, show) == expected_item, show

    store = tmp_path / "store"
    published = runner.invoke(
        app, ["--root", str(sample), "publish", "--storage", f"file://{store}", str(episode)]
    )
    assert published.exit_code == 0, published.output
    for show, preview in previews.items():
        xml = (store / show / "feed.xml").read_bytes()
        assert facts(xml, show) == expected_item, show
        assert xml == preview, show  # the preview says byte for byte what publishing writes
    for url, data in (
        (expected_item["enclosure"][0], mp3),
        (expected_item["chapters"][0], chapters),
        *zip((form[0] for form in expected_item["transcript"]), transcript_forms),
        (expected_item["image"][0], png),
        (expected_art["itsmwp"], cover),
    ):
        assert (store / url.removeprefix(BASE)).read_bytes() == data, url


@pytest.mark.slow
def test_feed_command_writes_nothing_when_a_rule_fails(sample: Path):
    """Notes that render past Apple's 4000 bytes pass loading and processing; the feed builder
    refuses them, and then no feed at all is written (not the other shows', not the
    publisher feed)."""
    runner = CliRunner()
    episode = sample / "episodes/itsmwp/002-change-advisory-boards.md"
    paragraphs = "".join(f"\nParagraph {i}: {'change control ' * 20}\n" for i in range(15))
    episode.write_text(episode.read_text(encoding="utf-8") + paragraphs, encoding="utf-8")
    load_checked_network(sample)  # valid for the loader
    result = runner.invoke(app, ["--root", str(sample), "process", str(episode)])
    assert result.exit_code == 0, result.output
    assert len((sample / "build/itsmwp/002-change-advisory-boards.html").read_bytes()) > 4000
    for shows in ([], ["itsmwp-row", "itsmwp"]):  # all, and the failing show named last
        result = runner.invoke(app, ["--root", str(sample), "feed", *shows])
        assert result.exit_code == 1, result.output
        [line] = result.stderr.splitlines()
        assert line.startswith("episodes/itsmwp/002-change-advisory-boards.md: notes: "), line
        assert "4000" in line, line
        assert not (sample / "build/feeds").exists()
