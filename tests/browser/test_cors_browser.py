"""A web player on another origin (issue 25 item 8): a page served from another port of
127.0.0.1 fetches the preview's feed, an episode's chapters JSON, its transcript and a byte range
of its audio with fetch() — which chromium allows only when the answers carry the CORS headers a
public bucket sends (else: "TypeError: Failed to fetch")."""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.etree import ElementTree

import pytest

PODCAST_NS = "{https://podcastindex.org/namespace/1.0}"
CROSS_POSTED_GUID = "96437e99-b727-4e6c-99f1-172d9e7e5d4a"  # has chapters and a transcript

PLAYER = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>a web player</title></head>
<body><main><h1>a web player on another site</h1></main></body></html>"""

#: What a web player does: read the feed, then the episode's chapters and transcript, and ask
#: for the first bytes of its audio as a seek does (a Range the browser must be allowed to send,
#: and a Content-Range its script must be allowed to read) — and ask for the feed again with
#: If-None-Match (as a revalidation does), which takes a preflight (OPTIONS) first.
FETCH_ALL = """async ([feed, chapters, transcript, audio]) => {
    const feedAnswer = await fetch(feed);
    const etag = feedAnswer.headers.get('ETag');
    const feedText = await feedAnswer.text();
    const again = await fetch(feed, {headers: {'If-None-Match': '"another-version"'}});
    const againText = await again.text();
    const chaptersJson = await (await fetch(chapters)).json();
    const transcriptAnswer = await fetch(transcript);
    const transcriptText = await transcriptAnswer.text();
    const ranged = await fetch(audio, {headers: {'Range': 'bytes=0-1'}});
    const bytes = new Uint8Array(await ranged.arrayBuffer());
    return {
        feedStatus: feedAnswer.status, feedStart: feedText.slice(0, 5), etag: etag,
        againStatus: again.status, againSame: againText === feedText,
        chapterTitles: chaptersJson.chapters.map(c => c.title),
        transcriptStatus: transcriptAnswer.status,
        transcriptType: transcriptAnswer.headers.get('Content-Type'),
        transcriptStart: transcriptText.slice(0, 6),
        rangeStatus: ranged.status, contentRange: ranged.headers.get('Content-Range'),
        rangeBytes: bytes.length,
    };
}"""


class _PlayerPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PLAYER)))
        self.end_headers()
        self.wfile.write(PLAYER)

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


@pytest.fixture
def other_origin() -> Iterator[str]:
    """A page on another port of 127.0.0.1: another origin than the preview's."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PlayerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/player.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def episode_urls(preview_server, guid: str) -> list[str]:
    """The feed's, and the episode's chapters, transcript and enclosure URLs in the preview."""
    feed = f"{preview_server.url}itsmwp/feed.xml"
    with urllib.request.urlopen(feed, timeout=10) as answer:
        channel = ElementTree.fromstring(answer.read()).find("channel")
    [item] = [i for i in channel.findall("item") if i.findtext("guid") == guid]
    chapters = item.find(f"{PODCAST_NS}chapters").get("url")
    transcript = item.find(f"{PODCAST_NS}transcript").get("url")
    audio = item.find("enclosure").get("url")
    urls = [feed, chapters, transcript, audio]
    assert all(url.startswith(preview_server.url) for url in urls), urls
    return urls


def test_a_player_on_another_origin_fetches_feed_chapters_transcript_and_a_range(
    page, preview_server, other_origin
):
    page.goto(other_origin)
    assert not other_origin.startswith(preview_server.url)  # another port: another origin
    got = page.evaluate(FETCH_ALL, episode_urls(preview_server, CROSS_POSTED_GUID))
    assert got["feedStatus"] == 200 and got["feedStart"] == "<?xml"
    assert got["etag"]  # exposed to the script
    assert got["againStatus"] == 200 and got["againSame"]  # the preflight allowed If-None-Match
    assert got["chapterTitles"] and all(got["chapterTitles"])
    assert got["transcriptStatus"] == 200 and got["transcriptStart"] == "WEBVTT"
    assert got["rangeStatus"] == 206 and got["rangeBytes"] == 2
    assert got["contentRange"].startswith("bytes 0-1/")
