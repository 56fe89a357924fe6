"""`podcast import`: a show moved in from another host (README "Moving in"; docs/moving-in.md).

Six hosts' real-world feed shapes (tests/fixtures/import/) are served with their enclosures from
127.0.0.1 (tests/import_hosts.py); every test imports into a network made by `podcast init`."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.importer.markdown import html_to_markdown
from podcast_tools.notes import html_to_text, markdown_to_html, sanitise
from podcast_tools.scaffold import init_network
from tests.import_hosts import (
    HOSTS,
    PODCAST,
    HostServer,
    serve_fixture,
    tagged,
    tone_mp3,
)
from tests.import_hosts import ITUNES as ITUNES_NS

runner = CliRunner()


@pytest.fixture
def server():
    running = HostServer()
    yield running
    running.close()


@pytest.fixture(scope="session")
def audio(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("import-audio")


@pytest.fixture(scope="session")
def made_by_init(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("init") / "net"
    init_network(root)
    return root


@pytest.fixture
def network(tmp_path: Path, made_by_init: Path) -> Path:
    """A network as `podcast init` makes it, free to change."""
    root = tmp_path / "net"
    shutil.copytree(made_by_init, root)
    return root


def run_import(root: Path, *args: str):
    return runner.invoke(app, ["--root", str(root), "import", *args])


def tree_hash(root: Path) -> str:
    """Every file under episodes/ and its bytes (what a failed import must leave as it was)."""
    digest = hashlib.sha256()
    for path in sorted((root / "episodes").rglob("*")):
        digest.update(path.relative_to(root).as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def episodes_of(root: Path, show: str) -> dict[str, tuple[dict, str]]:
    """guid → (front matter, notes) of each episode file of `show`."""
    found = {}
    for path in sorted((root / "episodes" / show).glob("*.md")):
        head, body = path.read_text(encoding="utf-8").removeprefix("---\n").split("\n---\n", 1)
        front = yaml.safe_load(head)
        found[front["guid"]] = (front, body.strip())
    return found


#: What each host fixture imports as: guid → (title, date, number, season) exactly.
EXPECTED = {
    "libsyn": {
        "6a7e1d0c-8b73-4d8e-9c1f-3f8f3b2c2a11": ("Shift-left, for real this time", "2022-06-14T09:00:00+00:00", 12, 2),
        "c41b9f5e-0e2a-4c55-b7d4-9a0d2e7e5b42": ("Major incidents & the 2 a.m. phone call", "2022-05-31T09:00:00+00:00", 11, 2),
    },
    "anchor": {
        "7c0b6d3a-2f41-4b9e-8d5c-61f0a9e4b3d2": ("The printer is on fire (again)", "2023-02-06T10:00:00+00:00", None, None),
        "0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b": ("Passwords, passphrases, pass", "2023-01-30T10:00:00+00:00", None, None),
    },
    "buzzsprout": {
        "Buzzsprout-13456789": ("Emergency changes are not a lifestyle", "2023-09-07T06:00:00-04:00", 7, 1),
        "Buzzsprout-12000001": ("Trailer", "2023-05-01T08:00:00-04:00", None, None),
    },
    "podbean": {
        "nightshiftnoc.podbean.com/bgp-kaffee-und-ein-leck-4f2a9c1b7d8e3f60a5b4c3d2e1f0a9b8": ("BGP, Kaffee und ein Leck", "2024-03-02T23:30:00+00:00", None, None),
        "nightshiftnoc.podbean.com/pilotfolge-0a1b2c3d4e5f60718293a4b5c6d7e8f9": ("Pilotfolge", "1970-01-01T00:00:00+00:00", None, None),
    },
    "castopod": {
        "https://pods.fediverse.example/@opsstories/episodes/part-2-the-rollback": ("Part 2: The rollback that rolled forward", "2024-04-10T07:00:00+00:00", 2, 1),
        "https://pods.fediverse.example/@opsstories/episodes/part-1-friday-1658": ("Part 1: Friday, 16:58", "2024-04-03T07:00:00+00:00", 1, 1),
    },
    "powerpress": {
        "https://helpdeskhour.org/?p=1482": ("Hour 48: \u201cHave you tried turning it off?\u201d", "2021-05-21T14:00:11+00:00", None, None),
        # no guid: the enclosure URL as written in the feed (rewritten to the local server)
        "ENCLOSURE:hour-47.mp3": ("Hour 47: Printers, again", "2021-05-07T14:00:00+00:00", None, None),
    },
    "ssp": {
        "https://assetregister.radio/?post_type=podcast&p=311": ("Licences \u2013 the true-up", "2023-11-15T12:00:00+00:00", 9, None),
        "https://assetregister.radio/?post_type=podcast&p=305": ("Bonus: listener spreadsheets", "2023-11-01T12:00:00+00:00", None, None),
    },
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("host", HOSTS)
def test_each_host_imports_with_guids_and_fields_kept(host, server, audio, network):
    url = serve_fixture(server, host, audio)
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    imported = episodes_of(network, "moved")
    expected = {
        (
            next(g for g in imported if g.endswith(key[10:]))
            if key.startswith("ENCLOSURE:")
            else key
        ): value
        for key, value in EXPECTED[host].items()
    }
    assert set(imported) == set(expected)
    for guid, (title, date, number, season) in expected.items():
        front, notes = imported[guid]
        assert (front["title"], front["date"], front.get("number"), front.get("season")) == (
            title, date, number, season,
        )  # fmt: skip
        assert front["mastered"] is True
        master = network / "episodes" / "moved" / front["audio"]
        served = server.host.files[server.host.final_path(_enclosure_of(server, host, guid))]
        assert master.read_bytes() == served  # the very bytes the host served
        assert notes, "every item has notes"
        assert "<" not in notes.replace("<https", "")  # Markdown, not HTML
    toml = (network / "episodes" / "network.toml").read_text(encoding="utf-8")
    assert "[shows.moved]" in toml
    for fragment in ALSO[host]:
        where, _, text = fragment.partition(" ")
        if where in ("toml", "output"):
            shown = toml if where == "toml" else result.output
        else:
            [front] = [f for guid, (f, _) in imported.items() if guid.endswith(where)]
            shown = yaml.safe_dump(front, sort_keys=False)
        assert text in shown, (fragment, shown)
    assert not list((network / "build" / ".cache" / "import").glob("stage-*"))


#: What else each import shows: in network.toml, in the command's output, in an episode's front
#: matter (named by how its guid ends).
ALSO = {
    "libsyn": [
        # chapters from the MP3's CHAP frames (no podcast:chapters in the feed)
        "b2c2a11 chapters:\n- start: 0.0\n  title: Welcome\n  url: https://example.org/chapter\n"
        "- start: 1.0\n  title: Main part",
        "b2c2a11 image: 002-shift-left-for-real-this-time.jpg",
        "e7e5b42 explicit: true",
        'toml category = "Technology"',  # the first of its categories (a show has one)
        'toml owner = { name = "Mia Carter", email = "hosts@servicedeskchats.net" }',
        "toml locked = false",
    ],
    "anchor": ["toml explicit = false", 'toml author = "Sam Okafor"'],
    "buzzsprout": [
        "output podcast:locked: yes: the feed asks other hosts not to import it",
        'toml podcast_guid = "5f0c8b1e-9d4a-5e2b-8f7c-3a6d1e0b9c24"',
        "toml locked = true",
        "13456789 transcript: 002-emergency-changes-are-not-a-lifestyle.vtt",
        "13456789 chapters:\n- start: 0.0\n  title: Cold open",
        "12000001 type: trailer",
        'toml text = "Support the show"',
    ],
    "podbean": [
        'output "Thu, 01 Jan 1970 00:00:00 +0000" is no real date',
        'toml language = "de"',
    ],
    "castopod": [
        'toml podcast_guid = "0f6b7d1c-2a3e-5c4d-9b8a-7e6f5d4c3b2a"',
        'toml type = "serial"',
        "the-rollback transcript: 002-part-2-the-rollback-that-rolled-forward.srt",
        "the-rollback persons:",
        "friday-1658 image: 001-part-1-friday-16-58.png",
        'toml role = "sound designer"',
    ],
    "ssp": [
        'toml language = "en-AU"',
        "p=305 type: bonus",
        'toml podcast_guid = "2b5c1f7e-7d0a-5b8e-a1c3-9e4f6d2b8a70"',
    ],
    "powerpress": [
        'output item 2 "Station news: new studio": no enclosure (no audio): skipped',
        'output item 3 "Hour 47: Printers, again": no guid; its enclosure URL is kept',
        'toml category = ["Education", "How To"]',
    ],
}


def _enclosure_of(server, host: str, guid: str) -> str:
    from lxml import etree

    feed = etree.fromstring(server.host.files[f"/feeds/{host}.xml"])
    for item in feed.iter("item"):
        enclosure = item.find("enclosure")
        item_guid = item.findtext("guid")
        if enclosure is not None and (item_guid or "").strip() in (guid, ""):
            if item_guid or enclosure.get("url") == guid:
                return enclosure.get("url")
    raise AssertionError(guid)


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def test_dry_run_lists_what_it_would_write_and_writes_nothing(server, audio, network):
    url = serve_fixture(server, "buzzsprout", audio)
    before = tree_hash(network)
    result = run_import(network, url, "--show", "cab", "--dry-run")
    assert result.exit_code == 0, result.output
    assert tree_hash(network) == before
    assert not (network / "build").exists()
    assert "[shows.cab]" in result.output and 'podcast_guid = "5f0c8b1e-' in result.output
    assert "001-trailer.md  2023-05-01T08:00:00-04:00" in result.output
    assert 'guid "Buzzsprout-13456789"' in result.output
    assert "0:28:32)" in result.output  # its itunes:duration, 1712 seconds
    assert "would add 2 episode(s)" in result.output
    assert [r for r, _ in server.host.requests if r.endswith(".mp3")] == []  # nothing downloaded


@pytest.mark.slow
def test_a_second_run_adds_only_the_new_item_and_leaves_the_settings(server, audio, network):
    url = serve_fixture(server, "libsyn", audio)
    assert run_import(network, url, "--show", "sdc").exit_code == 0
    toml = (network / "episodes" / "network.toml").read_bytes()
    first = {p.name: p.read_bytes() for p in (network / "episodes" / "sdc").iterdir()}
    again = run_import(network, url, "--show", "sdc")
    assert again.exit_code == 0 and "nothing to import" in again.output
    xml = (Path(__file__).parent / "fixtures/import/libsyn.xml").read_text(encoding="utf-8")
    newer = xml.replace(
        "<item>",
        """<item><title>Episode 13: tooling</title><pubDate>Tue, 28 Jun 2022 09:00:00 +0000</pubDate>
      <guid isPermaLink="false"><![CDATA[13131313-aaaa-bbbb-cccc-131313131313]]></guid>
      <description><![CDATA[<p>New.</p>]]></description>
      <enclosure length="1" type="audio/mpeg" url="https://traffic.libsyn.com/secure/servicedeskchats/SDC013.mp3?dest-id=1234567"/>
      <itunes:episode>13</itunes:episode></item><item>""",
        1,
    ).replace("<title>Service Desk Chats</title>", "<title>Renamed at the old host</title>")
    serve_fixture(server, "libsyn", audio, xml=newer)
    third = run_import(network, url, "--show", "sdc")
    assert third.exit_code == 0, third.output
    assert (network / "episodes" / "network.toml").read_bytes() == toml  # settings left
    now = {p.name: p.read_bytes() for p in (network / "episodes" / "sdc").iterdir()}
    assert {k: v for k, v in now.items() if k in first} == first
    # named after the highest number the show uses (12, from the front matter), as `new` does
    assert sorted(set(now) - set(first)) == [
        "013-episode-13-tooling.md",
        "013-episode-13-tooling.mp3",
    ]
    assert set(episodes_of(network, "sdc")) == {
        "6a7e1d0c-8b73-4d8e-9c1f-3f8f3b2c2a11",
        "c41b9f5e-0e2a-4c55-b7d4-9a0d2e7e5b42",
        "13131313-aaaa-bbbb-cccc-131313131313",
    }


ONE_ITEM = """<?xml version="1.0"?><rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel><title>T</title><description>D</description><language>en</language>
<atom:link xmlns:atom="http://www.w3.org/2005/Atom" href="https://old.host/feed" rel="self"/>
{items}</channel></rss>"""
ITEM = """<item><title>{title}</title><guid>{guid}</guid><pubDate>Mon, 06 Feb 2023 10:00:00 GMT</pubDate>
<enclosure url="https://old.host/{name}.mp3" length="1" type="audio/mpeg"/></item>"""


def _bad_feed(server, audio, items: str) -> str:
    return serve_fixture(server, "bad", audio, xml=ONE_ITEM.format(items=items))


@pytest.mark.parametrize(
    "case",
    [
        "feed 404",
        "not a feed",
        "no items",
        "duplicate guids",
        "404",
        pytest.param("cut off", marks=pytest.mark.slow),  # four tries, backing off
        "slug clash",
        "xxe",
        "laughs",
    ],  # fmt: skip
)
def test_bad_input_is_one_line_and_leaves_the_network_as_it_was(case, server, audio, network):
    good = ITEM.format(title="One", guid="g-1", name="one")
    if case == "feed 404":
        url = server.host.base + "/no/such/feed.xml"
    elif case == "not a feed":
        server.host.files["/page.html"] = b"<!DOCTYPE html><html><body><p>Log in</p></body></html>"
        url = server.host.base + "/page.html"
    elif case == "no items":
        url = _bad_feed(server, audio, "")
    elif case == "duplicate guids":
        url = _bad_feed(server, audio, good + ITEM.format(title="Two", guid="g-1", name="two"))
    elif case in ("404", "cut off"):
        url = _bad_feed(server, audio, good)
        if case == "404":
            del server.host.files["/old.host/one.mp3"]
        else:
            server.host.cuts["/old.host/one.mp3"] = 99
    elif case == "slug clash":
        url = _bad_feed(server, audio, good)
        (network / "episodes" / "moved").mkdir()
        (network / "episodes" / "moved" / "001-one.mp3").write_bytes(b"someone else's")
    else:
        secret = network / "secret.txt"
        secret.write_text("TOP-SECRET")
        doctype = (
            f'<!DOCTYPE rss [<!ENTITY x SYSTEM "file://{secret}">]>'
            if case == "xxe"
            else '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
            + "".join(
                f'<!ENTITY {n} "{("&" + p + ";") * 10}">' for p, n in zip("abcdefgh", "bcdefghi")
            )
            + "]>"
        )
        entity = "&x;" if case == "xxe" else "&i;"
        url = _bad_feed(server, audio, good)
        text = server.host.files["/feeds/bad.xml"].decode()
        text = text.replace("<rss", doctype + "<rss", 1).replace(
            "<title>One", f"<title>One{entity}"
        )
        server.host.files["/feeds/bad.xml"] = text.encode()
    before = tree_hash(network)
    result = run_import(network, url, "--show", "moved")
    if case == "xxe":  # read safely: the entity is not expanded, the item imports
        assert result.exit_code == 0, result.output
        [episode] = (network / "episodes/moved").glob("*.md")
        assert "TOP-SECRET" not in episode.read_text()
        assert "aaaaaaaaaa" not in episode.read_text()
        return
    assert tree_hash(network) == before
    assert result.exit_code != 0
    lines = [line for line in _lines(result.output) if not line.startswith("downloading ")]
    expected = {
        "feed 404": "cannot fetch the feed: HTTP 404 Not Found",
        "not a feed": "is not an RSS feed",
        "no items": "is a feed with no items",
        "duplicate guids": '"g-1" is also the guid of item 1',
        "404": "HTTP 404",
        "cut off": "cut off at",
        "slug clash": "episodes/moved/001-one.mp3: exists already",
        "laughs": "is not an RSS feed that can be read",  # libxml2 refuses the entity bomb
    }[case]
    assert len(lines) == 1 and expected in lines[0], result.output
    assert not list((network / "build" / ".cache" / "import").glob("stage-*"))


@pytest.mark.parametrize("ranges", [True, False], ids=["range", "no-range"])
def test_a_body_cut_off_is_continued_or_restarted_in_the_same_run(ranges, server, audio, network):
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    server.host.ranges = ranges
    server.host.cuts["/old.host/one.mp3"] = 1
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    assert (network / "episodes/moved/001-one.mp3").read_bytes() == server.host.files[
        "/old.host/one.mp3"
    ]
    asked = [r for p, r in server.host.requests if p == "/old.host/one.mp3"]
    assert asked[0] is None and asked[1] is not None and asked[1].startswith("bytes=")
    assert int(asked[1][6:-1]) > 0  # from where the cut left it


def test_an_interrupted_import_is_resumed_by_the_next_run(server, audio, network):
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    server.host.cuts["/old.host/one.mp3"] = 99
    from podcast_tools.importer import download

    before = tree_hash(network)
    tries, download.ATTEMPTS = download.ATTEMPTS, 1  # one try: the run fails at once
    try:
        failed = run_import(network, url, "--show", "moved")
    finally:
        download.ATTEMPTS = tries
    assert failed.exit_code == 3 and "run the import again to continue" in failed.output
    assert tree_hash(network) == before
    [part] = (network / "build/.cache/import").glob("*.part")
    kept = part.stat().st_size
    assert 0 < kept < len(server.host.files["/old.host/one.mp3"])
    server.host.cuts.clear()
    server.host.requests.clear()
    again = run_import(network, url, "--show", "moved")
    assert again.exit_code == 0, again.output
    assert server.host.requests[-1] == ("/old.host/one.mp3", f"bytes={kept}-")
    assert (network / "episodes/moved/001-one.mp3").read_bytes() == server.host.files[
        "/old.host/one.mp3"
    ]
    assert list((network / "build/.cache/import").iterdir()) == []


@pytest.mark.parametrize("host", HOSTS)
def test_notes_in_markdown_render_as_the_host_s_html_did(host):
    """Every item's notes: the same text and the same links once the notes renderer (markdown-it
    and the nh3 sanitiser) renders the Markdown, as the sanitised original HTML has."""
    from lxml import etree

    from podcast_tools.importer.feed import parse_feed

    fixture = Path(__file__).parent / "fixtures/import" / f"{host}.xml"
    feed = parse_feed(fixture.read_bytes(), str(fixture))
    for item in feed.items:
        markdown = html_to_markdown(item.notes_html)
        rendered = markdown_to_html(markdown)
        original = sanitise(item.notes_html) if "<" in item.notes_html else item.notes_html
        words = lambda html: " ".join(html_to_text(html).split())  # noqa: E731
        links = lambda html: sorted(  # noqa: E731
            a.get("href") for a in etree.HTML(f"<div>{html}</div>").iter("a")
        )
        assert words(rendered) == words(original), (item.title, markdown)
        assert links(rendered) == links(original), (item.title, markdown)
        assert "<script" not in rendered and "_gaq" not in markdown


def _frames(data: bytes) -> bytes:
    """An MP3's audio frames: the ID3v2 tag (its size from its header) and an ID3v1 tag cut."""
    if data[:3] == b"ID3":
        data = data[10 + sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10])) :]
    return data[:-128] if data[-128:-125] == b"TAG" else data


@pytest.mark.slow
@pytest.mark.parametrize("host", HOSTS)
def test_an_imported_show_publishes_with_its_guids_and_audio_frames_unchanged(
    host, server, audio, network, tmp_path
):
    """Done when (issue 24): imported from each host, published to a folder store: every guid of
    the feed as the old host wrote it, every enclosure's audio frames the bytes it served."""
    from lxml import etree

    from podcast_tools.media_checks import load_checked_network
    from podcast_tools.publish.run import Publisher
    from podcast_tools.publish.storage import open_storage

    url = serve_fixture(server, host, audio)
    assert run_import(network, url, "--show", "moved").exit_code == 0
    imported = episodes_of(network, "moved")
    loaded = load_checked_network(network)
    store = tmp_path / "store"
    publisher = Publisher(loaded, open_storage(f"file://{store}", network), say=lambda line: None)
    publisher.run(list(loaded.episodes_of("moved")))

    feed = etree.parse(str(store / "moved" / "feed.xml"))
    items = {item.findtext("guid"): item for item in feed.iter("item")}
    assert set(items) == set(imported)
    base = loaded.settings.base_url
    for guid, (front, _) in imported.items():
        published = store / items[guid].find("enclosure").get("url").removeprefix(base)
        master = network / "episodes" / "moved" / front["audio"]
        assert _frames(published.read_bytes()) == _frames(master.read_bytes())
        assert published.read_bytes() != master.read_bytes()  # re-tagged: our tags, not theirs


def test_a_channel_setting_the_model_refuses_is_left_out_in_one_line(server, audio, network):
    """A language spelt "English", a relative link: left out (the show inherits them), each
    named in one line, and the rest of the table still written."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    text = server.host.files["/feeds/bad.xml"].decode()
    text = text.replace(
        "<language>en</language>",
        "<language>English</language><link>/about</link>"
        "<itunes:new-feed-url>https://new.host/feed</itunes:new-feed-url>",
    )
    server.host.files["/feeds/bad.xml"] = text.encode()
    result = run_import(network, url, "--show", "moved", "--dry-run")
    assert result.exit_code == 0, result.output
    assert 'language: "English" cannot be used ("English" is not a language code' in result.output
    assert 'link: "/about" cannot be used' in result.output
    assert "the feed says the show moved to https://new.host/feed" in result.output
    assert 'title = "T"' in result.output and "language =" not in result.output


def test_a_length_other_than_the_feed_said_is_one_line_and_kept(server, audio, network):
    """The server's Content-Length is met (else the body was cut off); an enclosure length that
    differs (hosts that insert ads per request report another) is said, not refused."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    text = server.host.files["/feeds/bad.xml"].decode()
    size = len(server.host.files["/old.host/one.mp3"])
    server.host.files["/feeds/bad.xml"] = text.replace(
        f'length="{size}"', 'length="5000000"'
    ).encode()
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    assert f"{size:,} bytes downloaded, the feed said 5,000,000" in result.output
    assert (network / "episodes/moved/001-one.mp3").stat().st_size == size


def test_a_feed_cannot_copy_a_local_file_into_the_network(server, audio, network):
    """Issue 24 review: only http(s) is fetched. A file:// transcript, image or chapters link is
    left out in one line each (the secret is not copied); a file:// enclosure is refused."""
    secret = network.parent / "secret.txt"
    secret.write_text("AWS_SECRET=hunter2\n")
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    text = server.host.files["/feeds/bad.xml"].decode()
    text = text.replace(
        'type="audio/mpeg"/>',
        'type="audio/mpeg"/>'
        f'<podcast:transcript xmlns:podcast="{PODCAST}" url="file://{secret}" type="text/plain"/>'
        f'<podcast:chapters xmlns:podcast="{PODCAST}" url="file://{secret}" type="application/json"/>'
        f'<itunes:image href="file://{secret}"/>',
    )
    server.host.files["/feeds/bad.xml"] = text.encode()
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    for field_name in ("transcript", "chapters", "image"):
        assert f"item 1 \"One\": {field_name}: 'file://{secret}': only http and https" in (
            result.output
        )
    for path in (network / "episodes").rglob("*"):
        assert not path.is_file() or b"hunter2" not in path.read_bytes(), path
    front, _ = episodes_of(network, "moved")["g-1"]
    assert "transcript" not in front and "image" not in front and "chapters" not in front

    other = network.parent / "other"
    shutil.copytree(network.parent / "net", other)
    server.host.files["/feeds/bad.xml"] = ONE_ITEM.format(
        items=f'<item><title>Two</title><guid>g-2</guid><enclosure url="file://{secret}" '
        'length="1" type="audio/mpeg"/></item>'
    ).encode()
    before = tree_hash(other)
    result = run_import(other, url, "--show", "moved2")
    assert result.exit_code != 0
    assert _lines(result.output) == [
        f"{url}: item 1 \"Two\": enclosure: 'file://{secret}': only http and https URLs are "
        "downloaded"
    ], result.output
    assert tree_hash(other) == before


@pytest.mark.parametrize("target", ["file:///etc/hostname", "ftp://127.0.0.1:1/x"])
def test_a_redirect_to_other_than_http_is_refused(target, server, audio, network):
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    server.host.redirects["/old.host/one.mp3"] = target
    before = tree_hash(network)
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code != 0
    lines = [line for line in _lines(result.output) if not line.startswith("downloading ")]
    assert len(lines) == 1 and "enclosure" in lines[0], result.output
    assert f"redirected to '{target}': only http and https are fetched" in lines[0]
    assert tree_hash(network) == before
    server.host.redirects["/feeds/bad.xml"] = target  # the feed's own URL likewise
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code != 0
    assert "only http and https are fetched" in result.output, result.output


def test_a_feed_with_html_entities_keeps_every_escaped_character(server, audio, network):
    """Issue 24 review: an undeclared &nbsp; (and a stray "&") made the feed be read by a
    recovering parser that dropped every &amp; &lt; &gt;: guid `id &lt;1&gt; &amp; x` became
    `id 1  x`. The entities are rewritten and the feed parsed strictly: the guid is kept exactly."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    text = server.host.files["/feeds/bad.xml"].decode()
    text = text.replace("<title>One", "<title>Q&A &amp; &lt;more&gt;&nbsp;&eacute;t&eacute;")
    text = text.replace("<guid>g-1", "<guid>id &lt;1&gt; &amp; x").replace(
        "</item>",
        "<description>&lt;p&gt;Tom &amp;amp; Jerry&lt;/p&gt;&hellip; &copy;</description></item>",
    )
    server.host.files["/feeds/bad.xml"] = text.encode()
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    [(guid, (front, notes))] = episodes_of(network, "moved").items()
    assert guid == "id <1> & x"
    assert front["title"] == "Q&A & <more>\u00a0été"
    assert "Tom & Jerry" in notes and "…" in notes and "©" in notes, notes


def test_entities_are_rewritten_outside_cdata_only():
    from podcast_tools.importer.feed import entities_fixed

    assert entities_fixed(b"<a>&nbsp;&amp;&#38;&#x26;& &bogus; &lt;</a>") == (
        b"<a>&#160;&amp;&#38;&#x26;&amp; &amp;bogus; &lt;</a>"
    )
    assert entities_fixed(b"<a><![CDATA[a & b&nbsp;]]><!-- & --></a>") == (
        b"<a><![CDATA[a & b&nbsp;]]><!-- & --></a>"
    )
    assert entities_fixed(b'<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>') == (
        b'<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>'
    )


def _encoded(folder: Path, suffix: str, codec: list[str]) -> bytes:
    from podcast_tools import ffmpeg

    path = folder / f"tone{suffix}"
    if not path.exists():
        ffmpeg.run(
            ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-ac", "1",
             *codec, "-y", ffmpeg.input_url(path)],
            about=path,
        )  # fmt: skip
    return path.read_bytes()


@pytest.mark.parametrize(
    ("kind", "codec", "saved"),
    [
        ("audio/x-m4a", ["-c:a", "aac", "-f", "ipod"], ".m4a"),
        ("audio/ogg", ["-c:a", "libopus", "-f", "ogg"], ".opus"),
        ("video/mp4", ["-c:a", "aac", "-f", "mp4"], ".mp4"),
    ],
)
def test_audio_other_than_mp3_is_imported_without_mastered(
    kind, codec, saved, server, audio, network
):
    """Issue 24 review: an M4A or Opus enclosure was written `mastered: true`, which the loader
    refuses (mastered needs an MP3). Decided by the bytes: imported without `mastered` (it is
    mastered like a recording) in one line, saved with its own suffix — an MP4 never as .mp3 —
    and the network validates."""
    from podcast_tools.media_checks import load_checked_network

    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    body = _encoded(audio, saved, codec)
    server.host.files["/old.host/one.mp3"] = body  # the URL's suffix says .mp3: the bytes decide
    text = server.host.files["/feeds/bad.xml"].decode()
    text = re.sub(r'length="\d+" type="audio/mpeg"', f'length="{len(body)}" type="{kind}"', text)
    server.host.files["/feeds/bad.xml"] = text.encode()
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    label = saved[1:].upper()
    assert f'item 1 "One": enclosure: is {label}, not an MP3: imported without `mastered`' in (
        result.output
    )
    front, _ = episodes_of(network, "moved")["g-1"]
    assert front["audio"] == f"001-one{saved}" and "mastered" not in front
    assert (network / "episodes/moved" / front["audio"]).read_bytes() == body
    assert not (network / "episodes/moved/001-one.mp3").exists()
    load_checked_network(network)  # what `podcast validate` loads: no error


def test_a_junk_mp3_is_refused_in_one_line(server, audio, network):
    """An "MP3" that passes the first bytes' check (an ID3 tag) but has no audio frame after it
    would import `mastered: true` and fail `podcast validate`: refused, the network unchanged."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    junk = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 2000
    size = len(server.host.files["/old.host/one.mp3"])
    server.host.files["/old.host/one.mp3"] = junk
    text = server.host.files["/feeds/bad.xml"].decode()
    server.host.files["/feeds/bad.xml"] = text.replace(
        f'length="{size}"', f'length="{len(junk)}"'
    ).encode()
    before = tree_hash(network)
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code != 0
    lines = [line for line in _lines(result.output) if not line.startswith("download")]
    assert len(lines) == 1, result.output
    assert 'item 1 "One": enclosure: ' in lines[0] and "no MPEG Layer III audio frame" in lines[0]
    assert tree_hash(network) == before


CHAPTERS_ITEM = (
    f'<podcast:chapters xmlns:podcast="{PODCAST}" url="{{base}}/old.host/one.json" '
    'type="application/json+chapters"/>'
)


@pytest.mark.parametrize("case", ["long title", "wide artwork", "equal chapters", "late chapters"])
def test_what_validate_would_refuse_is_repaired_or_left_out_in_one_line(
    case, server, audio, network
):
    """Issue 24 review: the import never checked what it wrote against the models, so a
    successful import could leave a network `podcast validate` refuses. Now an optional field
    is left out (a title over 255 characters cut) in one line, and the network loads."""
    from PIL import Image

    from podcast_tools.media_checks import load_checked_network

    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    text = server.host.files["/feeds/bad.xml"].decode()
    if case == "long title":
        text = text.replace("<title>One", "<title>" + "x" * 300)
        expected = "title: is 300 characters; cut to the 255"
    elif case == "wide artwork":
        buffer = io.BytesIO()
        Image.new("RGB", (600, 400), (1, 2, 3)).save(buffer, format="PNG")
        server.host.files["/old.host/art.png"] = buffer.getvalue()
        text = text.replace(
            "<language>", f'<itunes:image href="{server.host.base}/old.host/art.png"/><language>'
        )
        expected = "channel: image: 600×400 px; Apple needs"
    else:
        starts = (0, 0) if case == "equal chapters" else (0, 30)
        server.host.files["/old.host/one.json"] = json.dumps(
            {"version": "1.2.0", "chapters": [{"startTime": s, "title": f"at {s}"} for s in starts]}
        ).encode()
        text = text.replace("</item>", CHAPTERS_ITEM.format(base=server.host.base) + "</item>")
        expected = (
            "starts at 0 s, not after the chapter before it; left out"
            if case == "equal chapters"
            else "chapters: 1 start at or after the end"
        )
    server.host.files["/feeds/bad.xml"] = text.encode()
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    assert expected in result.output, result.output
    load_checked_network(network)  # what `podcast validate` loads: no error
    [(front, _)] = episodes_of(network, "moved").values()
    if case == "long title":
        assert front["title"] == "x" * 255
    elif case == "equal chapters":
        assert front["chapters"] == [{"start": 0.0, "title": "at 0"}]
    elif case == "late chapters":
        assert front["chapters"] == [{"start": 0.0, "title": "at 0"}]


def test_a_title_validate_would_refuse_refuses_the_import_in_one_line(server, audio, network):
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    text = server.host.files["/feeds/bad.xml"].decode()
    server.host.files["/feeds/bad.xml"] = text.replace("<title>One", "<title>One\u202eeno").encode()
    before = tree_hash(network)
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code != 0
    lines = [line for line in _lines(result.output) if not line.startswith("download")]
    assert len(lines) == 1 and ": title: " in lines[0], result.output
    assert tree_hash(network) == before


def test_a_dead_link_to_an_optional_file_is_one_line_not_a_failed_import(server, audio, network):
    """Issue 24 review: a 404 for an episode image, chapters, a transcript or the channel's
    artwork aborted the whole import after all audio was downloaded. Only audio is fatal: each
    of those is one line, the field left out."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    base = server.host.base
    text = server.host.files["/feeds/bad.xml"].decode()
    text = text.replace(
        "</item>",
        CHAPTERS_ITEM.format(base=base)
        + f'<podcast:transcript xmlns:podcast="{PODCAST}" url="{base}/gone/one.vtt" '
        'type="text/vtt"/>'
        f'<itunes:image href="{base}/gone/one.jpg"/></item>',
    ).replace("<language>", f'<itunes:image href="{base}/gone/art.jpg"/><language>')
    server.host.files["/feeds/bad.xml"] = text.encode()  # none of the four is served: 404
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    for field_name, path in [
        ("chapters", "/old.host/one.json"),
        ("transcript", "/gone/one.vtt"),
        ("image", "/gone/one.jpg"),
    ]:
        assert f'item 1 "One": {field_name}: {base}{path}: HTTP 404 Not Found; left out' in (
            result.output
        ), result.output
    assert f"{url}: channel: image: {base}/gone/art.jpg: HTTP 404 Not Found; left out" in (
        result.output
    )
    front, _ = episodes_of(network, "moved")["g-1"]
    assert not {"chapters", "transcript", "image"} & set(front)
    assert (network / "episodes/moved" / front["audio"]).is_file()


def test_a_full_disk_is_one_line_naming_the_file_not_a_cut_connection(server, audio, network):
    """Issue 24 review: ENOSPC from writing the .part was taken for a cut connection and retried.
    The disk is really full for this file: its .part is /dev/full (every write: ENOSPC)."""
    from podcast_tools.importer.download import Download

    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    key = Download(f"{server.host.base}/old.host/one.mp3", "", "").key
    cache = network / "build" / ".cache" / "import"
    cache.mkdir(parents=True)
    (cache / f"{key}.part").symlink_to("/dev/full")
    before = tree_hash(network)
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code != 0
    lines = [line for line in _lines(result.output) if not line.startswith("download")]
    assert lines == [f"cannot write {cache / key}.part: No space left on device"], result.output
    assert [path for path, _ in server.host.requests].count("/old.host/one.mp3") == 1
    assert tree_hash(network) == before


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "no-length"])
def test_a_file_over_its_size_limit_is_not_downloaded_whole(length, server, audio, network):
    """Issue 24 review: no size limit — a server streaming forever filled the disk, a huge
    chapters file was read into memory. Chapters are at most 10 MB: said by the server or found
    while streaming, the download stops and the chapters are left out in one line."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    base = server.host.base
    server.host.files["/old.host/one.json"] = b" " * (11 * 1024 * 1024)
    if not length:
        server.host.no_length.add("/old.host/one.json")
    text = server.host.files["/feeds/bad.xml"].decode()
    text = text.replace("</item>", CHAPTERS_ITEM.format(base=base) + "</item>")
    server.host.files["/feeds/bad.xml"] = text.encode()
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    said = "the server says 11,534,336 bytes" if length else "more than 10,485,760 bytes came"
    assert (
        f'item 1 "One": chapters: {base}/old.host/one.json: {said}; the most taken for it is '
        "10 MB; left out"
    ) in result.output, result.output
    assert not list((network / "build/.cache/import").glob("*.part"))


def test_a_file_past_its_deadline_stops(server, audio, network, monkeypatch):
    """Each file has an overall deadline (a drip of bytes never trips the socket's timeout):
    here the transcript's is set to nothing, so it is past it at its first chunk."""
    from podcast_tools.importer import download

    monkeypatch.setitem(download.DEADLINES, "transcript", 0.0)
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    base = server.host.base
    server.host.files["/old.host/one.vtt"] = b"WEBVTT\n\n"
    text = server.host.files["/feeds/bad.xml"].decode()
    text = text.replace(
        "</item>",
        f'<podcast:transcript xmlns:podcast="{PODCAST}" url="{base}/old.host/one.vtt" '
        'type="text/vtt"/></item>',
    )
    server.host.files["/feeds/bad.xml"] = text.encode()
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    assert f'item 1 "One": transcript: {base}/old.host/one.vtt: took over 0 s' in result.output
    front, _ = episodes_of(network, "moved")["g-1"]
    assert "transcript" not in front


@pytest.mark.parametrize("ranges", [True, False], ids=["range", "no-range"])
def test_a_body_cut_off_without_content_length_is_continued(ranges, server, audio, network):
    """Issue 24 review: a body without Content-Length ends without an error when the connection
    is cut; it was imported cut off. Well below the feed's length, it is continued (Range) or
    fetched again, and the episode's audio is the server's whole file."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    server.host.ranges = ranges
    server.host.no_length.add("/old.host/one.mp3")
    server.host.cuts["/old.host/one.mp3"] = 1
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    whole = server.host.files["/old.host/one.mp3"]
    assert (network / "episodes/moved/001-one.mp3").read_bytes() == whole
    asked = [r for p, r in server.host.requests if p == "/old.host/one.mp3"]
    assert asked == [None, f"bytes={len(whole) // 2}-"]


def test_a_feed_length_too_large_without_content_length_is_met_by_two_whole_bodies(
    server, audio, network
):
    """The feed's length may simply be wrong: two whole bodies from byte 0 of the same size (a
    server without Range support) are what the server holds — kept, with the length's line."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    server.host.ranges = False
    server.host.no_length.add("/old.host/one.mp3")
    size = len(server.host.files["/old.host/one.mp3"])
    text = server.host.files["/feeds/bad.xml"].decode()
    server.host.files["/feeds/bad.xml"] = text.replace(
        f'length="{size}"', f'length="{size * 3}"'
    ).encode()
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    assert f"{size:,} bytes downloaded, the feed said {size * 3:,}" in result.output


def test_a_resumed_download_of_a_changed_file_is_not_spliced(server, audio, network):
    """Issue 24 review: a host with dynamic ad insertion serves other bytes per request; a
    resume by Range alone spliced the first half of one file to the rest of another. The .part
    keeps the ETag; the resume sends If-Range, and the changed file comes whole."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    first = server.host.files["/old.host/one.mp3"]
    other = tagged(tone_mp3(audio, 880), "with another ad")
    server.host.changes["/old.host/one.mp3"] = other
    server.host.cuts["/old.host/one.mp3"] = 1
    text = server.host.files["/feeds/bad.xml"].decode()
    server.host.files["/feeds/bad.xml"] = text.replace(
        f'length="{len(first)}"', f'length="{len(other)}"'
    ).encode()
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    assert (network / "episodes/moved/001-one.mp3").read_bytes() == other
    asked = [r for p, r in server.host.requests if p == "/old.host/one.mp3"]
    assert asked == [None, f"bytes={len(first) // 2}-"]  # asked for the rest, got all of it
    assert not list((network / "build/.cache/import").glob("*.validator"))


def test_a_show_id_with_a_newline_is_one_line_not_a_traceback(server, audio, network):
    """Issue 24 review: `--show $'x\\n'` passed ID_PATTERN (its "$" matches before a final
    newline) and ended in a traceback appending network.toml."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    before = tree_hash(network)
    result = run_import(network, url, "--show", "x\n")
    assert result.exit_code != 0 and result.exception.__class__ is SystemExit, result.output
    assert _lines(result.output) == [
        '--show "x\\n": a show id uses lowercase letters, digits and "-" (e.g. "my-show")'
    ], result.output
    assert tree_hash(network) == before


def test_a_network_toml_the_table_cannot_be_appended_to_is_one_line(server, audio, network):
    """Shows written as an inline table (`shows = {...}`) cannot take a `[shows.<id>]` after
    them: one line naming network.toml, nothing changed — not a traceback."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    toml = network / "episodes" / "network.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text("shows = {}\n" + text[: text.index("[shows.")], encoding="utf-8")
    before = tree_hash(network)
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code != 0 and result.exception.__class__ is SystemExit, result.output
    lines = [line for line in _lines(result.output) if not line.startswith("download")]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("episodes/network.toml: the show's table cannot be appended")
    assert lines[0].endswith("nothing changed")
    assert tree_hash(network) == before


def test_a_warning_shows_feed_text_on_one_line_and_cut(server, audio, network):
    """Issue 24 review: warnings printed feed text raw — a title with line breaks and C1
    controls broke the one-line rule, a huge title printed whole. Each warning is one line,
    control characters shown as escapes, a long title cut."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    text = server.host.files["/feeds/bad.xml"].decode()
    title = "Line one&#10;line two \u0085 " + "x" * 5000
    text = text.replace("<title>One", f"<title>{title}").replace(
        "</item>",
        f'<itunes:image xmlns:itunes="{ITUNES_NS}" href="file:///etc/passwd"/></item>',
    )
    server.host.files["/feeds/bad.xml"] = text.encode()
    result = run_import(network, url, "--show", "moved", "--dry-run")
    assert result.exit_code == 0, result.output
    [line] = [line for line in _lines(result.output) if "image: " in line]
    assert "Line one\\nline two \\x85 xxx" in line and "(5020 characters)" in line, line
    assert len(line) < 400


@pytest.mark.parametrize("title", ["# 1", "---", "*not* <b>bold</b>"])
def test_an_item_without_notes_has_its_title_as_text(title, server, audio, network):
    """Issue 24 review: with no notes, the raw title became the Markdown body — `# 1` a
    heading, `---` a rule. It is escaped: the notes render as the title's text."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    text = server.host.files["/feeds/bad.xml"].decode()
    escaped = title.replace("<", "&lt;").replace(">", "&gt;")
    server.host.files["/feeds/bad.xml"] = text.replace("<title>One", f"<title>{escaped}").encode()
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    [(front, notes)] = episodes_of(network, "moved").values()
    assert front["title"] == title
    assert html_to_text(markdown_to_html(notes)).strip() == title


def test_a_failed_move_removes_the_folders_it_made(server, audio, network, monkeypatch):
    """Issue 24 review: a failure while moving into place removed the moved files but left the
    folders the move had made (episodes/<show>/). The last step, writing network.toml, fails
    here (a fault no server can produce: injected) — the network is as it was, folders too."""
    from podcast_tools.importer import write

    def refuse(path, text):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(write, "write_text_atomic", refuse)
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    before = tree_hash(network)
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code != 0 and result.exception.__class__ is SystemExit, result.output
    assert "No space left on device" in result.output
    assert not (network / "episodes" / "moved").exists()
    assert tree_hash(network) == before


def test_ctrl_c_right_after_a_file_is_moved_in_undoes_it(server, audio, network, monkeypatch):
    """Ctrl-C between moving a file into place and recording it left that file in the network.
    Injected (no server can time it): the first move into episodes/ happens, then Ctrl-C."""
    import os

    real_replace = os.replace

    def replace_then_interrupt(source, target):
        real_replace(source, target)
        if "stage-" in str(source):
            raise KeyboardInterrupt

    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    before = tree_hash(network)
    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    result = run_import(network, url, "--show", "moved")
    monkeypatch.undo()
    assert result.exit_code != 0
    assert tree_hash(network) == before


def test_a_transcript_name_clash_is_refused_before_any_download(server, audio, network):
    """Issue 24 review: a clash with an image or transcript file the import would write was
    found only after every download. It is refused with the other clashes, before any."""
    url = _bad_feed(server, audio, ITEM.format(title="One", guid="g-1", name="one"))
    base = server.host.base
    server.host.files["/old.host/one.vtt"] = b"WEBVTT\n\n"
    text = server.host.files["/feeds/bad.xml"].decode()
    server.host.files["/feeds/bad.xml"] = text.replace(
        "</item>",
        f'<podcast:transcript xmlns:podcast="{PODCAST}" url="{base}/old.host/one.vtt" '
        'type="text/vtt"/></item>',
    ).encode()
    (network / "episodes" / "moved").mkdir()
    (network / "episodes" / "moved" / "001-one.vtt").write_text("someone else's")
    before = tree_hash(network)
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code != 0
    assert _lines(result.output) == [
        'episodes/moved/001-one.vtt: exists already; item "One" (guid "g-1") would be written '
        "there: move that file away or rename it"
    ], result.output
    assert not [p for p, _ in server.host.requests if p.startswith("/old.host/")]
    assert tree_hash(network) == before
