"""`podcast preview`: the network from build/ served on 127.0.0.1 under publishing's keys, with
every URL pointing at the preview — fetched here over real HTTP (urllib, http.client), nowhere
but 127.0.0.1."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from podcast_tools import preview as previewing
from podcast_tools.cli import app
from podcast_tools.layout import PUBLISHER_FEED_KEY, feed_key
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.previews import LocalObject, local_objects, local_records, with_base_url
from podcast_tools.preview import UNSATISFIABLE, PreviewServer, byte_range
from tests.conftest import edit
from tests.preview_network import (
    CHAPTER_IMAGE,
    CROSS_POSTED,
    SCHEDULED_GUID,
    copy_network,
    run_preview,
    serving,
)

SAMPLE_BASE = "https://media.itsmweekly.example/"


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirects)


def fetch(url: str, *, method: str = "GET", headers: dict[str, str] | None = None):
    """(status, headers, body) of one request with urllib; errors are answers too."""
    assert urlsplit(url).hostname == "127.0.0.1"
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.headers, error.read()


def raw(server: PreviewServer, target: str, *, method: str = "GET", headers=None):
    """One request with the request target sent exactly as given (no client normalising)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def server(processed_network: Path):
    with serving(processed_network, check_every=3600) as server:
        yield server


@pytest.fixture(scope="module")
def network(processed_network: Path):
    return load_checked_network(processed_network)


def mp3_of(root: Path, episode_file: str) -> Path:
    episode = Path(episode_file)
    return root / "build" / episode.parent.name / f"{episode.stem}.mp3"


def key_of(server: PreviewServer, url: str) -> str:
    assert url.startswith(server.url), f"{url} is not under the preview's base {server.url}"
    return url.removeprefix(server.url)


# --- what is served ----------------------------------------------------------------------------


def test_the_preview_holds_what_publish_uploads_byte_for_byte(
    processed_network: Path, tmp_path: Path
):
    """With network.toml's own base URL, local_objects is exactly what `podcast publish` writes
    to storage: the same keys, the same bytes (feeds included) — so the preview's keys are
    publishing's, and publishing's bytes are untouched by the preview."""
    root = copy_network(processed_network, tmp_path / "network")
    store = tmp_path / "public"
    done = CliRunner().invoke(
        app,
        [
            "--root",
            str(root),
            "publish",
            str(root / CHAPTER_IMAGE),
            str(root / CROSS_POSTED),
            "--storage",
            f"file://{store}",
            "--json",
        ],
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["episodes_processed"]  # reused from build/, not mastered
    published = {p.relative_to(store).as_posix(): p for p in store.rglob("*") if p.is_file()}

    network = load_checked_network(root)
    objects = local_objects(network, root / "build", base_url=network.settings.base_url)
    assert set(objects) == set(published)
    for key, obj in objects.items():
        local = obj.data if obj.data is not None else obj.path.read_bytes()
        assert local == published[key].read_bytes(), key


def test_every_url_points_at_the_preview_and_only_chapters_json_and_the_index_change_keys(
    processed_network: Path, server: PreviewServer
):
    network = load_checked_network(processed_network)
    build = processed_network / "build"
    public = local_objects(network, build, base_url=network.settings.base_url)
    local = server.catalogue.last
    moved = set(public) ^ set(local)
    # the chapters JSON names the chapter images' URLs: its content-addressed key follows them;
    # so do the search index's files that hold the pages' URLs (named by their content)
    hashed = r"-chapters-[0-9a-f]{12}\.json$|^pagefind/(fragment/|index/|pagefind\..*\.pf_meta$)"
    assert moved and all(re.search(hashed, key) for key in moved), moved
    assert any(key.endswith(".json") for key in moved)
    assert len(set(local) - set(public)) == len(set(public) - set(local)) >= 1
    for key in set(public) & set(local):
        assert public[key].path == local[key].path and public[key].type == local[key].type, key
    for key, obj in local.items():
        if obj.data is not None:
            data = obj.data
            if key.startswith(("pagefind/fragment/", "pagefind/index/")):
                data = gzip.decompress(data)  # Pagefind's files are gzip
            assert SAMPLE_BASE.encode() not in data, f"{key} names the public base URL"
    assert server.url.startswith("http://127.0.0.1:") and server.server_address[0] == "127.0.0.1"


def test_local_objects_cover_audio_assets_artwork_feeds(network, processed_network: Path):
    build = processed_network / "build"
    base = "http://127.0.0.1:9/"
    objects = local_objects(network, build, base_url=base)
    records = local_records(with_base_url(network, base), build)
    scheduled = records[SCHEDULED_GUID]
    for guid, record in records.items():
        keys = [audio.key for audio in record.audio]
        if guid == SCHEDULED_GUID:
            assert not set(keys) & set(objects), "a scheduled episode is served before its date"
            continue
        path = build / record.show / f"{record.slug}.mp3"
        assert objects[keys[0]] == LocalObject(path=path, data=None, type="audio/mpeg")
        for asset in record.assets:  # chapter images, chapters JSON, transcript, episode image
            assert objects[asset.key] == LocalObject.of(asset), asset.key
    kinds = {a.field.split("[")[0] for r in records.values() for a in r.assets}
    assert kinds >= {"chapters", "transcript", "image"}
    fed = {show for guid, r in records.items() if guid != SCHEDULED_GUID for show in r.shows}
    assert fed and fed != set(network.shows)  # some shows have nothing processed yet
    for show_id in network.shows:  # as publish: no feed for a show with no episode in it
        if show_id in fed:
            assert objects[feed_key(show_id)].type == "application/rss+xml; charset=utf-8"
        else:
            assert feed_key(show_id) not in objects
        assert any(k.startswith(f"{show_id}/art/cover-") for k in objects)
    assert PUBLISHER_FEED_KEY in objects

    later = local_objects(network, build, base_url=base, include_scheduled=True)
    assert scheduled.audio[0].key in later
    assert scheduled.guid.encode() in later[feed_key("itsmwp")].data
    assert scheduled.guid.encode() not in objects[feed_key("itsmwp")].data


def test_the_website_pages_are_served_under_the_preview_base(network, processed_network: Path):
    """local_objects holds the website's pages (podcast_tools.site), built from the same records
    with every URL under the preview's base, and no page for a scheduled episode."""
    from podcast_tools.layout import SITE_INDEX_KEY, episode_page_key, show_page_key

    base = "http://127.0.0.1:9/"
    objects = local_objects(network, processed_network / "build", base_url=base)
    index = objects[SITE_INDEX_KEY]
    assert index.type.startswith("text/html") and index.data.startswith(b"<!DOCTYPE html>")
    with_pages = {
        show for e in network.episodes if episode_page_key(e.show, e.slug) in objects
        for show in e.all_shows
    }
    for show_id in network.shows:  # a show with nothing processed has no page, as when published
        assert (show_page_key(show_id) in objects) is (show_id in with_pages)
    processed = [e for e in network.episodes if episode_page_key(e.show, e.slug) in objects]
    assert processed and all(e.guid != SCHEDULED_GUID for e in processed)
    page = objects[episode_page_key(processed[0].show, processed[0].slug)].data.decode()
    assert f'href="{base}' in page and "https://media.itsmweekly.example/" not in page


# --- HTTP: feeds, media, ranges, HEAD, 404, traversal ------------------------------------------


def test_feeds_parse_and_every_url_in_them_is_served(server: PreviewServer, network):
    served = 0
    for show_id in network.shows:
        status, headers, body = fetch(server.url + feed_key(show_id))
        if status == 404:  # a show with nothing processed has no feed yet
            continue
        served += 1
        assert status == 200 and headers["Content-Type"] == "application/rss+xml; charset=utf-8"
        feed = feedparser.parse(body)
        assert not feed.bozo, feed.bozo_exception
        assert feed.feed.title == network.shows[show_id].title
        for entry in feed.entries:
            [enclosure] = entry.enclosures
            status, headers, audio = fetch(enclosure.href)
            assert status == 200 and len(audio) == int(enclosure.length)
            assert headers["Content-Type"] == enclosure.type == "audio/mpeg"
            assert headers["Content-Length"] == enclosure.length
            record_key = key_of(server, enclosure.href)
            assert audio == server.catalogue.last[record_key].path.read_bytes()
            for tag in ("podcast_chapters", "podcast_transcript"):
                if tag in entry:
                    assert fetch(entry[tag]["url"])[0] == 200, entry[tag]
        assert fetch(feed.feed.image.href)[0] == 200
    # the chapters JSON names its images under the preview's base, and they are there
    chapters = [k for k in server.catalogue.last if re.search(r"-chapters-\w+\.json$", k)]
    images = [
        c["img"]
        for key in chapters
        for c in json.loads(fetch(server.url + key)[2])["chapters"]
        if "img" in c
    ]
    assert images and all(fetch(url)[0] == 200 for url in images)
    publisher = fetch(server.url + PUBLISHER_FEED_KEY)[2]
    remote = re.findall(rb'feedUrl="([^"]+)"', publisher)
    assert served and len(remote) == served  # the publisher feed names the shows' feeds there are
    assert all(fetch(url.decode())[0] == 200 for url in remote)


def test_media_are_the_build_files(server: PreviewServer, processed_network: Path):
    for episode in (CHAPTER_IMAGE, CROSS_POSTED):
        mp3 = mp3_of(processed_network, episode)
        [key] = [k for k, o in server.catalogue.last.items() if o.path == mp3]
        status, headers, body = fetch(server.url + key)
        assert status == 200 and body == mp3.read_bytes()
        assert headers["Accept-Ranges"] == "bytes" and headers["ETag"].startswith('"')
        assert headers["Content-Length"] == str(mp3.stat().st_size)


def audio_url(server: PreviewServer, processed_network: Path) -> tuple[str, bytes]:
    mp3 = mp3_of(processed_network, CHAPTER_IMAGE)
    [key] = [k for k, o in server.catalogue.last.items() if o.path == mp3]
    return server.url + key, mp3.read_bytes()


@pytest.mark.parametrize(
    "header, first, last",
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-", 100, None),
        ("bytes=-500", -500, None),
        ("bytes=1000-1000", 1000, 1000),
        ("BYTES = 5-6", None, None),  # not the "bytes" unit as written: ignored
        ("bytes=0-1,5-6", None, None),  # several ranges: answered whole
        ("bytes=9-2", None, None),  # invalid: ignored
        ("items=0-1", None, None),
        ("bytes=abc", None, None),
    ],
)
def test_range_requests(server, processed_network, header, first, last):
    url, data = audio_url(server, processed_network)
    size = len(data)
    whole_etag = fetch(url)[1]["ETag"]
    status, headers, body = fetch(url, headers={"Range": header})
    assert headers["Accept-Ranges"] == "bytes" and headers["ETag"] == whole_etag
    if first is None:
        assert status == 200 and body == data and "Content-Range" not in headers
        assert headers["Content-Length"] == str(size)
        return
    start = first if first >= 0 else size + first
    end = size - 1 if last is None else last
    assert status == 206
    assert body == data[start : end + 1]
    assert headers["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert headers["Content-Length"] == str(end - start + 1)
    assert headers["Content-Type"] == "audio/mpeg"


def test_a_range_past_the_end_is_cut_to_the_end_and_a_suffix_longer_than_the_file_is_all(
    server, processed_network
):
    url, data = audio_url(server, processed_network)
    size = len(data)
    status, headers, body = fetch(url, headers={"Range": f"bytes={size - 10}-{size + 5000}"})
    assert (status, body, headers["Content-Range"]) == (
        206,
        data[-10:],
        f"bytes {size - 10}-{size - 1}/{size}",
    )
    status, headers, body = fetch(url, headers={"Range": f"bytes=-{size * 3}"})
    assert (status, body, headers["Content-Range"]) == (206, data, f"bytes 0-{size - 1}/{size}")


@pytest.mark.parametrize(
    "header", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0", "bytes=99999999999999999999999-"]
)
def test_unsatisfiable_ranges_get_416(server, processed_network, header):
    url, data = audio_url(server, processed_network)
    status, headers, body = fetch(url, headers={"Range": header.format(size=len(data))})
    assert status == 416 and body == b""
    assert headers["Content-Range"] == f"bytes */{len(data)}"
    assert headers["Content-Length"] == "0"


def test_ranges_of_a_feed_and_if_range(server):
    url = server.url + feed_key("itsmwp")
    status, headers, whole = fetch(url)
    etag = headers["ETag"]
    status, headers, body = fetch(url, headers={"Range": "bytes=-100"})
    assert status == 206 and body == whole[-100:]
    assert headers["Content-Range"] == f"bytes {len(whole) - 100}-{len(whole) - 1}/{len(whole)}"
    # If-Range: the range only when the client's copy is this version
    assert fetch(url, headers={"Range": "bytes=0-4", "If-Range": etag})[2] == whole[:5]
    status, _, body = fetch(url, headers={"Range": "bytes=0-4", "If-Range": '"old"'})
    assert (status, body) == (200, whole)
    # If-None-Match: not modified
    status, headers, body = fetch(url, headers={"If-None-Match": etag})
    assert (status, body, headers["ETag"]) == (304, b"", etag)


def test_head_answers_get_headers_without_a_body(server, processed_network):
    url, data = audio_url(server, processed_network)
    for extra in ({}, {"Range": "bytes=10-19"}):
        status, headers, body = raw(server, urlsplit(url).path, method="HEAD", headers=extra)
        got = fetch(url, headers=extra)
        assert body == b"" and status == got[0] in (200, 206)
        for name in ("Content-Type", "Content-Length", "ETag", "Accept-Ranges", "Content-Range"):
            assert headers[name] == got[1][name], name


def test_unknown_keys_get_a_small_html_404(server):
    for method in ("GET", "HEAD"):
        status, headers, body = fetch(server.url + "itsmwp/episodes/nothing.mp3", method=method)
        assert status == 404 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert int(headers["Content-Length"]) < 1024
        if method == "HEAD":
            assert body == b""
        else:
            assert b"Not found" in body and len(body) == int(headers["Content-Length"])
    assert raw(server, "/feed.xml", method="POST")[0] == 501  # GET and HEAD only


# --- CORS: a web player on another origin --------------------------------------------------------

ORIGIN = "http://127.0.0.1:9"  # a page of another origin (the port differs from the preview's)


def test_every_answer_lets_a_page_of_any_origin_read_it(server, processed_network):
    """Issue 25 item 8: a web player on another site fetches the feed, chapters and audio
    ranges; the browser reads an answer only with Access-Control-Allow-Origin, and a player's
    script reads the size and range it got only when they are exposed."""
    url, data = audio_url(server, processed_network)
    answers = {
        "feed": fetch(server.url + feed_key("itsmwp"), headers={"Origin": ORIGIN}),
        "range": fetch(url, headers={"Origin": ORIGIN, "Range": "bytes=0-1"}),
        "head": fetch(url, method="HEAD", headers={"Origin": ORIGIN}),
        "404": fetch(server.url + "no/such.json", headers={"Origin": ORIGIN}),
    }
    assert [answer[0] for answer in answers.values()] == [200, 206, 200, 404]
    for name, (_, headers, _) in answers.items():
        assert headers["Access-Control-Allow-Origin"] == ORIGIN, name  # (echoed: local only)
        assert headers["Vary"] == "Origin", name
        exposed = {h.strip().lower() for h in headers["Access-Control-Expose-Headers"].split(",")}
        assert {"content-range", "content-length", "accept-ranges", "etag"} <= exposed, name
    assert answers["range"][2] == data[:2]


@pytest.mark.parametrize(
    "origin",
    ["https://evil.invalid", "http://127.0.0.1.evil.invalid", "null", "http://localhost:1, x"],
)
def test_a_page_of_another_site_may_not_read_the_preview(server, processed_network, origin):
    """Review of issue 25 item 8: with Access-Control-Allow-Origin: * any website the producer
    visits could read the unpublished and scheduled episodes from 127.0.0.1. Only pages of this
    machine get CORS headers; others none, and a preflight of theirs allows nothing."""
    url, _ = audio_url(server, processed_network)
    for method in ("GET", "HEAD"):
        status, headers, _ = fetch(
            server.url + feed_key("itsmwp"), method=method, headers={"Origin": origin}
        )
        assert status == 200 and headers["Vary"] == "Origin"
        assert not [name for name in headers if name.lower().startswith("access-control-")]
    status, headers, _ = raw(
        server,
        urlsplit(url).path,
        method="OPTIONS",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    assert status == 204
    assert not [name for name in headers if name.lower().startswith("access-control-")]
    for local in ("http://localhost:5173", "https://[::1]:8443", "http://127.0.0.1"):
        _, headers, _ = fetch(server.url + feed_key("itsmwp"), headers={"Origin": local})
        assert headers["Access-Control-Allow-Origin"] == local


def test_a_preflight_allows_get_head_and_the_headers_of_seeking_and_revalidating(
    server, processed_network
):
    url, _ = audio_url(server, processed_network)
    target = urlsplit(url).path
    status, headers, body = raw(
        server,
        target,
        method="OPTIONS",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match,range",
        },
    )
    assert (status, body) == (204, b"")
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    methods = {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")}
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert methods == {"GET", "HEAD"}
    assert {"range", "if-none-match", "if-range"} <= allowed
    assert int(headers["Access-Control-Max-Age"]) > 0
    # a preflight of another host name is refused as every request is (DNS rebinding)
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        connection.putrequest("OPTIONS", target, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"attacker.example:{server.server_address[1]}")
        connection.endheaders()
        assert connection.getresponse().status == 421
    finally:
        connection.close()


@pytest.mark.parametrize(
    "target",
    [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/..%2f..%2f..%2fetc/passwd",
        "/itsmwp/../../../../etc/passwd",
        "//etc/passwd",
        "/episodes/network.toml",  # a file of the network, but no object key
        "/build/itsmwp/001-incident-vs-problem.mp3",
        "/itsmwp/episodes/../../episodes/network.toml",
        "/itsmwp/feed.xml%00",
        "/%ff%fe",
        "/\\..\\..\\etc\\passwd",
    ],
)
def test_paths_outside_the_keys_reach_nothing(server, processed_network, target):
    status, headers, body = raw(server, target)
    assert status == 404, (target, status)
    assert b"root:" not in body and b"[network]" not in body
    # the absolute path of a real file is no key either
    assert raw(server, "/" + str(processed_network / "episodes" / "network.toml"))[0] == 404


@contextmanager
def serving_pages(pages: dict[str, LocalObject], **options):
    """The preview's HTTP server (PreviewServer(0, **options)) serving `pages` as they are, in a
    thread of this process."""

    class Fixed:
        last = pages

        def objects(self):
            return pages

    server = PreviewServer(0, **options)
    server.catalogue = Fixed()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_a_slash_serves_index_html_and_a_folder_without_it_redirects():
    pages = {
        "index.html": LocalObject(None, b"<h1>home</h1>", "text/html; charset=utf-8"),
        "itsmwp/index.html": LocalObject(None, b"<h1>show</h1>", "text/html; charset=utf-8"),
        "itsmwp/feed.xml": LocalObject(None, b"<rss/>", "application/rss+xml"),
    }
    with serving_pages(pages) as server:
        assert raw(server, "/")[2] == b"<h1>home</h1>"
        assert raw(server, "/?utm=1")[2] == b"<h1>home</h1>"
        assert raw(server, "/itsmwp/")[2] == b"<h1>show</h1>"
        status, headers, body = raw(server, "/itsmwp")
        assert (status, headers["Location"], body) == (301, "/itsmwp/", b"")
        assert raw(server, "/itsmwp?x=1")[1]["Location"] == "/itsmwp/?x=1"
        assert raw(server, "/itsmwp/feed.xml")[2] == b"<rss/>"
        assert raw(server, "/itsmwp-anz")[0] == 404
        assert raw(server, "/itsmwp/feed.xml/")[0] == 404


def test_the_slash_is_the_websites_index_and_its_links_are_served(server, network):
    status, headers, body = fetch(server.url)
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert body == server.catalogue.last["index.html"].data
    links = set(re.findall(rb'href="(' + re.escape(server.url.encode()) + rb'[^"#]*)"', body))
    assert len(links) >= len(network.shows)
    for link in links:
        assert fetch(link.decode())[0] == 200, link


# --- changes, the command ----------------------------------------------------------------------


def test_changed_files_are_picked_up_and_a_broken_change_keeps_the_last_good_preview(
    processed_network: Path, tmp_path: Path
):
    root = copy_network(processed_network, tmp_path / "network")
    said: list[str] = []
    with serving(root, check_every=0, say=said.append) as server:
        url = server.url + feed_key("itsmwp")
        assert b"Do We Still Need a Change Advisory Board?" in fetch(url)[2]
        edit(root / CROSS_POSTED, "title: Do We Still", "title: Must We Still")
        assert b"Must We Still Need a Change Advisory Board?" in fetch(url)[2]
        assert said == [f"rebuilt: {len(server.catalogue.last)} objects"]

        edit(root / CROSS_POSTED, "number: 2\n", "number: two\n")  # breaks a rule
        assert b"Must We Still" in fetch(url)[2]  # the last good preview
        assert fetch(url)[0] == 200
        assert len(said) == 2 and said[1].startswith(
            "not rebuilt, still serving the last good preview: episodes/itsmwp/002-change-"
            "advisory-boards.md: number"
        ), said
        edit(root / CROSS_POSTED, "number: two\n", "number: 2\n")
        edit(root / CROSS_POSTED, "title: Must We Still", "title: Should We Still")
        assert b"Should We Still" in fetch(url)[2]
        assert said[-1].startswith("rebuilt: ")

        # a removed build disappears from the preview
        mp3 = mp3_of(root, CHAPTER_IMAGE)
        [key] = [k for k, o in server.catalogue.last.items() if o.path == mp3]
        (mp3.with_suffix(".json")).unlink()
        assert fetch(server.url + key)[0] == 404


def test_a_file_replaced_while_the_preview_reads_it_is_read_again(
    processed_network: Path, tmp_path: Path, monkeypatch
):
    root = copy_network(processed_network, tmp_path / "network")
    said: list[str] = []
    with serving(root, check_every=0, say=said.append) as server:
        url = server.url + feed_key("itsmwp")
        build = previewing.Catalogue._build
        calls = []

        def replaced_meanwhile(catalogue):
            calls.append(catalogue)
            if len(calls) == 1:
                raise FileNotFoundError(2, "No such file or directory", "art/002-cover.png")
            return build(catalogue)

        monkeypatch.setattr(previewing.Catalogue, "_build", replaced_meanwhile)
        edit(root / CROSS_POSTED, "title: Do We Still", "title: Must We Still")
        assert b"Do We Still" in fetch(url)[2]  # the attempt that failed
        assert b"Must We Still" in fetch(url)[2]  # tried again, with no further change
        assert said == [
            "not rebuilt yet ([Errno 2] No such file or directory: 'art/002-cover.png'); "
            "trying again",
            f"rebuilt: {len(server.catalogue.last)} objects",
        ]


def test_changes_are_looked_for_at_most_every_check_every_seconds(processed_network, tmp_path):
    root = copy_network(processed_network, tmp_path / "network")
    with serving(root, check_every=3600) as server:
        url = server.url + feed_key("itsmwp")
        edit(root / CROSS_POSTED, "title: Do We Still", "title: Must We Still")
        assert b"Do We Still" in fetch(url)[2]  # not looked yet


def test_podcast_preview_serves_until_ctrl_c_and_then_says_one_line(processed_network: Path):
    running = run_preview(processed_network)
    try:
        assert running.url.startswith("http://127.0.0.1:")
        status, _, body = fetch(running.url + feed_key("itsmwp"))
        assert status == 200 and running.url.encode() in body
        # a client that hangs up hard (a reset, as players do) is no error to print
        port = int(urlsplit(running.url).port)
        for request in (b"", b"GET /itsmwp/feed.xml HTTP/1.1\r\nHost: x\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", port)) as hangs_up:
                hangs_up.sendall(request)
                hangs_up.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assert fetch(running.url + feed_key("itsmwp"))[0] == 200
    finally:
        code, lines, err = running.stop()
    assert code == 0, err
    assert err == ""
    assert lines[-2:] == [f"serving {running.url} — Ctrl-C stops", "preview stopped"]
    assert f"feed: {running.url}itsmwp/feed.xml" in lines


def test_a_taken_port_is_one_line_and_exit_2(processed_network: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = CliRunner().invoke(
            app, ["--root", str(processed_network), "preview", "--port", str(port)]
        )
    assert done.exit_code == 2
    assert done.output.startswith(f"cannot listen on 127.0.0.1:{port}: ")
    assert done.output.rstrip().endswith("choose another --port (0 takes a free port)")
    assert len(done.output.strip().splitlines()) == 1


def test_open_opens_the_preview_in_the_browser(processed_network: Path, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    monkeypatch.setattr(previewing, "run", lambda server: server.server_close())
    done = CliRunner().invoke(
        app, ["--root", str(processed_network), "preview", "--port", "0", "--open"]
    )
    assert done.exit_code == 0, done.output
    [url] = opened
    assert f"serving {url} — Ctrl-C stops\npreview stopped\n" in done.stdout


def test_a_network_that_breaks_a_rule_does_not_start(processed_network, tmp_path):
    root = copy_network(processed_network, tmp_path / "network")
    edit(root / CROSS_POSTED, "number: 2\n", "number: two\n")
    done = CliRunner().invoke(app, ["--root", str(root), "preview", "--port", "0"])
    assert done.exit_code == 1
    assert done.output.startswith("episodes/itsmwp/002-change-advisory-boards.md: number")


# --- the Range parser, fuzzed ------------------------------------------------------------------


def test_byte_range_examples():
    assert byte_range(None, 10) is None
    assert byte_range("bytes=0-0", 10) == (0, 0)
    assert byte_range("bytes=-3", 10) == (7, 9)
    assert byte_range("bytes= 2-4 ", 10) == (2, 4)
    assert byte_range("Bytes=2-4", 10) == (2, 4)
    assert byte_range("bytes=10-", 10) is UNSATISFIABLE
    assert byte_range("bytes=0-", 0) is UNSATISFIABLE
    assert byte_range("bytes=-1", 0) is UNSATISFIABLE
    assert byte_range("bytes=-", 10) is None
    assert byte_range("bytes=1_0-", 100) is None  # int() would read 10
    assert byte_range("bytes=١-٢", 100) is None  # so would it Arabic-Indic digits
    assert byte_range("bytes=" + "9" * 5000 + "-", 100) is UNSATISFIABLE


#: positions near the start, anywhere in a feed or an MP3 of the sample, and past them
positions = st.one_of(st.integers(0, 100), st.integers(0, 20_000), st.integers(0, 2_000_000))

range_headers = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda unit, parts: unit + "=" + ",".join(parts),
        st.sampled_from(["bytes", "BYTES", "bytes ", "items", ""]),
        st.lists(
            st.builds(
                lambda a, b, sp: f"{sp}{a}-{b}{sp}",
                st.one_of(st.just(""), positions.map(str), st.text("0123456789x_", max_size=25)),
                st.one_of(st.just(""), positions.map(str), st.text("0123456789-", max_size=25)),
                st.sampled_from(["", " ", "\t"]),
            ),
            min_size=1,
            max_size=3,
        ),
    ),
)


@given(header=range_headers, size=st.integers(0, 5000))
def test_byte_range_always_gives_a_range_inside_the_object_or_none_or_416(header, size):
    got = byte_range(header, size)
    assert got is None or got is UNSATISFIABLE or (0 <= got[0] <= got[1] < size), got


@given(
    size=st.integers(0, 3000),
    first=st.one_of(st.none(), st.integers(0, 3500)),
    last=st.one_of(st.none(), st.integers(0, 3500)),
)
def test_byte_range_of_one_well_formed_spec_is_rfc_9110s(size, first, last):
    header = f"bytes={'' if first is None else first}-{'' if last is None else last}"
    got = byte_range(header, size)
    if first is None and last is None:
        assert got is None  # "bytes=-" is no range
    elif first is None:  # the last `last` bytes
        assert got == (UNSATISFIABLE if last == 0 or size == 0 else (max(0, size - last), size - 1))
    elif last is not None and last < first:
        assert got is None  # invalid: ignored
    elif first >= size:
        assert got is UNSATISFIABLE
    else:
        assert got == (first, size - 1 if last is None else min(last, size - 1))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=range_headers.filter(lambda h: h.isprintable() and h.isascii()),
    which=st.sampled_from(["audio", "feed"]),
)
def test_any_range_header_gets_200_206_or_416_with_consistent_headers(
    server, processed_network, header, which
):
    if which == "audio":
        url, data = audio_url(server, processed_network)
    else:
        url = server.url + feed_key("itsmwp-anz")
        data = fetch(url)[2]
    size = len(data)
    status, headers, body = raw(server, urlsplit(url).path, headers={"Range": header})
    assert status in (200, 206, 416), (header, status)
    assert headers["Accept-Ranges"] == "bytes"
    if status == 200:
        assert body == data and headers["Content-Length"] == str(size)
        assert "Content-Range" not in headers
    elif status == 206:
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", headers["Content-Range"])
        first, last, total = map(int, match.groups())
        assert total == size and 0 <= first <= last < size
        assert body == data[first : last + 1]
        assert headers["Content-Length"] == str(last - first + 1)
    else:
        assert headers["Content-Range"] == f"bytes */{size}" and body == b""


# --- hostile: links out of build/, other hosts, idle connections, If-None-Match (issue 20) ------

SECRET = b"SECRET-OUTSIDE-THE-NETWORK-FOLDER 20c3\n"


def _outside_secret(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_bytes(SECRET * 50)
    return secret


def _swap_for_link(path: Path, target: Path) -> None:
    path.unlink()
    path.symlink_to(target)


def test_a_media_file_that_is_a_link_out_of_build_is_never_served(
    processed_network: Path, tmp_path: Path
):
    """`ln -s SECRET build/itsmwp/001-….mp3`, before the preview starts and (with no rebuild in
    between) swapped while it runs: the MP3's address answers 404 with none of it, one line is
    said, and the other episodes are still served. A link that stays inside build/ is served."""
    root = copy_network(processed_network, tmp_path / "network")
    secret = _outside_secret(tmp_path)
    mp3 = mp3_of(root, CHAPTER_IMAGE)
    other = mp3_of(root, CROSS_POSTED)
    inside = root / "build" / "itsmwp" / "kept-copy.mp3"
    inside.write_bytes(mp3.read_bytes())
    _swap_for_link(mp3, secret)
    said: list[str] = []
    with serving(root, check_every=3600, say=said.append) as server:
        [key] = [k for k, o in server.catalogue.last.items() if o.path == mp3]
        [other_key] = [k for k, o in server.catalogue.last.items() if o.path == other]
        for method in ("GET", "HEAD"):
            status, _, body = fetch(server.url + key, method=method)
            assert status == 404 and SECRET not in body, (method, status)
        status, _, body = fetch(server.url + key, headers={"Range": "bytes=0-99"})
        assert status == 404 and SECRET not in body
        assert len(said) == 3 and all(key in line and "outside" in line for line in said), said
        assert fetch(server.url + other_key)[2] == other.read_bytes()

        # a link to a file inside build/ is no escape: served, as publish uploads it
        _swap_for_link(mp3, inside)
        status, _, body = fetch(server.url + key)
        assert (status, body) == (200, inside.read_bytes())

        # swapped while the preview runs, with no rebuild: looked at again on each request
        _swap_for_link(other, secret)
        status, _, body = fetch(server.url + other_key)
        assert status == 404 and SECRET not in body
        assert other_key in said[-1]


def test_a_build_folder_that_is_a_link_out_of_build_is_never_served(
    processed_network: Path, tmp_path: Path
):
    """build/itsmwp swapped for a link to a copy of it outside the network folder: the report and
    the MP3 are where the preview looks, but the MP3 is outside build/ — 404, never its bytes."""
    root = copy_network(processed_network, tmp_path / "network")
    show = root / "build" / "itsmwp"
    elsewhere = tmp_path / "elsewhere" / "itsmwp"
    elsewhere.parent.mkdir()
    show.rename(elsewhere)
    mp3 = mp3_of(root, CHAPTER_IMAGE)
    (elsewhere / mp3.name).write_bytes(SECRET * 50)
    show.symlink_to(elsewhere, target_is_directory=True)
    said: list[str] = []
    with serving(root, check_every=3600, say=said.append) as server:
        [key] = [k for k, o in server.catalogue.last.items() if o.path == mp3]
        status, _, body = fetch(server.url + key)
        assert status == 404 and SECRET not in body
        assert len(said) == 1 and key in said[0], said


def test_a_network_file_swapped_for_a_link_out_of_the_network_is_never_served(
    processed_network: Path, tmp_path: Path
):
    """The episode image (a file of episodes/, served as publish uploads it) swapped for a link
    to a file outside the network folder while the preview runs: 404."""
    root = copy_network(processed_network, tmp_path / "network")
    secret = _outside_secret(tmp_path)
    image = root / "episodes" / "itsmwp" / "art" / "002-cover.png"
    with serving(root, check_every=3600) as server:
        [key] = [k for k, o in server.catalogue.last.items() if o.path == image]
        assert fetch(server.url + key)[0] == 200
        _swap_for_link(image, secret)
        status, _, body = fetch(server.url + key)
        assert status == 404 and SECRET not in body


def test_a_media_file_swapped_for_a_fifo_is_answered_at_once(
    processed_network: Path, tmp_path: Path
):
    """Only regular files are served: a FIFO (opened, it would wait for a writer forever) is 404."""
    root = copy_network(processed_network, tmp_path / "network")
    mp3 = mp3_of(root, CHAPTER_IMAGE)
    with serving(root, check_every=3600) as server:
        [key] = [k for k, o in server.catalogue.last.items() if o.path == mp3]
        mp3.unlink()
        os.mkfifo(mp3)
        assert fetch(server.url + key)[0] == 404


def with_host(server: PreviewServer, target: str, hosts: list[str]):
    """(status, body) of a GET sending exactly `hosts` as its Host header(s) (none: no Host)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        connection.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        for host in hosts:
            connection.putheader("Host", host)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_only_the_previews_own_host_names_are_answered(server: PreviewServer):
    """DNS rebinding: a page of attacker.example whose name then resolves to 127.0.0.1 sends
    `Host: attacker.example:PORT` — refused (421) with nothing of the feed; the loopback names
    of the preview's own port are answered."""
    port = server.server_address[1]
    feed = "/" + feed_key("itsmwp")
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}"):
        status, body = with_host(server, feed, [host])
        assert status == 200 and body.startswith(b"<?xml"), host
    for hosts in (
        ["attacker.example"],
        [f"attacker.example:{port}"],
        [f"127.0.0.1.attacker.example:{port}"],
        [f"localhost.attacker.example:{port}"],
        [f"127.0.0.1:{port + 1 if port < 65535 else 1}"],
        ["127.0.0.1"],
        [f"127.0.0.1:{port}@attacker.example"],
        [""],
        [],
        [f"127.0.0.1:{port}", "attacker.example"],
    ):
        status, body = with_host(server, feed, hosts)
        assert status in (400, 421) and b"<rss" not in body, (hosts, status)
    # a request target in absolute form names its host itself (RFC 9112 §3.2.2)
    status, body = with_host(server, f"http://attacker.example{feed}", [f"127.0.0.1:{port}"])
    assert status in (400, 421) and b"<rss" not in body
    status, body = with_host(server, f"http://127.0.0.1:{port}{feed}", [f"127.0.0.1:{port}"])
    assert status == 200 and b"<rss" in body


def _thread_count_settles(at_most: int, *, within: float, drip: list[socket.socket]) -> int:
    """Wait (up to `within` s) for this process's thread count to fall to `at_most`, sending one
    byte on each `drip` socket every half second meanwhile; the last count seen."""
    deadline = time.monotonic() + within
    while True:
        count = threading.active_count()
        if count <= at_most or time.monotonic() > deadline:
            return count
        for sock in drip:
            try:
                sock.send(b"X")
            except OSError:
                pass  # the preview closed it
        time.sleep(0.5)


def test_idle_and_half_sent_connections_are_closed_and_their_threads_end(
    processed_network: Path,
):
    """100 connections to the real preview that send nothing, half a request, or a request a byte
    at a time (each byte in time for a per-read timeout): each holds a thread of the server while
    it is open; within seconds the preview closes them all and the thread count falls back,
    while a normal request is answered meanwhile."""
    with serving(processed_network, check_every=3600) as server:
        url = server.url + feed_key("itsmwp")
        assert fetch(url)[0] == 200
        time.sleep(0.2)
        before = threading.active_count()
        port = server.server_address[1]
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(100)]
        try:
            for sock in idle[30:60]:
                sock.sendall(b"GET /itsmwp/feed.xml HTTP/1.1\r\nHost: 127.0.0.1:")
            drip = idle[60:70]
            for sock in drip:
                sock.sendall(b"GET /itsmwp/feed.xml HTTP/1.1\r\nX-Slow: ")
            for _ in range(20):  # until every connection has its thread
                if threading.active_count() >= before + 100:
                    break
                time.sleep(0.1)
            held = threading.active_count()
            assert held >= before + 100, (before, held)
            assert fetch(url)[0] == 200  # answered meanwhile
            after = _thread_count_settles(before, within=20, drip=drip)
            assert after <= before, f"{after - before} threads still held by idle connections"
            assert fetch(url)[0] == 200
        finally:
            for sock in idle:
                sock.close()


@pytest.mark.parametrize(
    "header, modified",
    [
        ("*", False),  # RFC 9110 §13.1.2: "*" matches any current representation
        (" * ", False),
        ("{etag}", False),
        ("W/{etag}", False),  # If-None-Match compares weakly
        ('W/"x", {etag}', False),
        ('"x",W/{etag} , "y"', False),
        ('"a,b", {etag}', False),  # a comma inside an entity-tag is no separator
        (', ,{etag},', False),  # empty list elements are allowed
        ('"x", "y"', True),
        ('W/"x"', True),
        ('"a,{bare}"', True),  # one tag that merely contains ours
        ("w/{etag}", True),  # "W/" is case-sensitive: no valid list, ignored
        ("{bare}", True),  # no quotes: not an entity-tag
        ("*, {etag}", True),  # "*" only on its own
    ],
)
def test_if_none_match(server, processed_network, header, modified):
    """304 when the header names the current representation (or is "*"), with or without a
    Range (If-None-Match is evaluated before Range, RFC 9110 §13.2.2); else the object."""
    url, data = audio_url(server, processed_network)
    etag = fetch(url, method="HEAD")[1]["ETag"]
    value = header.format(etag=etag, bare=etag.strip('"'))
    for extra in ({}, {"Range": "bytes=0-9"}):
        status, headers, body = raw(
            server, urlsplit(url).path, headers={"If-None-Match": value, **extra}
        )
        if modified:
            assert status == (206 if extra else 200) and body == data[: 10 if extra else None]
        else:
            assert (status, body, headers["ETag"]) == (304, b"", etag), (value, extra)


def test_if_none_match_star_on_nothing_is_404(server):
    status, _, _ = fetch(server.url + "itsmwp/episodes/nothing.mp3", headers={"If-None-Match": "*"})
    assert status == 404


@pytest.mark.slow
def test_connections_past_the_cap_are_answered_503_and_hold_no_thread():
    """With at most 8 connections open, a ninth and more are answered 503 at once and closed (no
    thread each); once the idle ones are closed (the idle timeout), requests are answered again."""
    pages = {"index.html": LocalObject(None, b"<h1>home</h1>", "text/html; charset=utf-8")}
    with serving_pages(pages, idle_timeout=1.0, max_connections=8) as server, ExitStack() as held:
        port = server.server_address[1]
        before = threading.active_count()
        for _ in range(8):
            held.enter_context(socket.create_connection(("127.0.0.1", port)))
        for _ in range(20):
            if threading.active_count() >= before + 8:
                break
            time.sleep(0.05)
        assert threading.active_count() == before + 8
        for _ in range(10):
            extra = held.enter_context(socket.create_connection(("127.0.0.1", port), timeout=5))
            answer = b""
            while chunk := extra.recv(1024):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 503 "), answer
            assert threading.active_count() == before + 8
        assert _thread_count_settles(before, within=5, drip=[]) <= before
        status, _, body = raw(server, "/")
        assert (status, body) == (200, b"<h1>home</h1>")
