"""The preview in a real browser (chromium): a feed and an MP3 load without an error, and an
<audio> element plays the preview's MP3 and seeks in it — through HTTP ranges, as browsers ask."""

from __future__ import annotations

import urllib.request

import feedparser

from tests.browser.conftest import LONG_GUID, LONG_SECONDS, describe

CROSS_POSTED_GUID = "96437e99-b727-4e6c-99f1-172d9e7e5d4a"

PLAYER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>player</title></head>
<body><main><h1>player</h1><audio id="player" controls preload="auto" src="{src}"></audio></main>
</body></html>"""


def enclosure(preview_server, guid: str) -> str:
    """The enclosure URL of an episode, as the preview's itsmwp feed gives it."""
    with urllib.request.urlopen(f"{preview_server.url}itsmwp/feed.xml", timeout=10) as answer:
        feed = feedparser.parse(answer.read())
    [url] = [e.enclosures[0].href for e in feed.entries if e.id == guid]
    assert url.startswith(preview_server.url)
    return url


def test_the_browser_loads_a_feed_and_an_mp3_from_the_preview(page, preview_server):
    feed = page.goto(f"{preview_server.url}itsmwp/feed.xml")
    assert feed.status == 200
    assert feed.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert "Do We Still Need a Change Advisory Board?" in page.content()

    mp3 = enclosure(preview_server, CROSS_POSTED_GUID)
    answer = page.goto(mp3)
    assert answer.status == 200 and answer.headers["content-type"] == "audio/mpeg"
    # chromium shows an MP3 in its own media player: it loads its metadata (a duration)
    page.wait_for_function(
        "() => { const m = document.querySelector('video, audio');"
        " return m && m.readyState >= 1 && m.duration > 1; }",
        timeout=15_000,
    )


def test_an_audio_element_plays_the_preview_mp3_and_seeks(page, preview_server):
    """The five-minute episode (4.8 MB) over a line of 256 kB/s (chromium's own throttling):
    chromium starts playing once it has about 1 MB, so the rest is still arriving when the
    player seeks near the end; chromium drops that download and asks for the bytes from the new
    position with a Range — as a listener's browser does on a real connection."""
    mp3 = enclosure(preview_server, LONG_GUID)
    head = urllib.request.Request(mp3, method="HEAD")
    with urllib.request.urlopen(head, timeout=10) as answer:
        size = int(answer.headers["Content-Length"])
    asked: list[str | None] = []
    answered: list[tuple[int, str | None]] = []
    page.on("request", lambda r: asked.append(r.headers.get("range")) if r.url == mp3 else None)
    page.on(
        "response",
        lambda r: (
            answered.append((r.status, r.headers.get("content-range"))) if r.url == mp3 else None
        ),
    )
    devtools = page.context.new_cdp_session(page)
    devtools.send("Network.enable")
    devtools.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": 256_000, "uploadThroughput": -1},
    )
    # (the load event would wait for the media to arrive)
    page.set_content(PLAYER.format(src=mp3), wait_until="domcontentloaded")
    page.evaluate("() => document.getElementById('player').play()")
    page.wait_for_function(
        "() => document.getElementById('player').currentTime > 0.3", timeout=20_000
    )
    duration = page.evaluate("() => document.getElementById('player').duration")
    assert abs(duration - LONG_SECONDS) < 5
    seekable = page.evaluate("() => document.getElementById('player').seekable.end(0)")
    assert seekable == duration  # chromium can seek it all only where ranges are answered

    target = round(duration - 4, 1)
    seeked = page.evaluate(
        """target => new Promise((resolve, reject) => {
            const player = document.getElementById('player');
            player.addEventListener('seeked', () => resolve(player.currentTime), {once: true});
            player.addEventListener('error', () => reject(player.error.message), {once: true});
            player.currentTime = target;
        })""",
        target,
    )
    assert abs(seeked - target) < 0.5
    page.wait_for_function(  # and it plays on from there
        f"() => document.getElementById('player').currentTime > {target + 0.3}", timeout=20_000
    )
    assert page.evaluate("() => document.getElementById('player').error") is None
    # the browser asked for the bytes from somewhere in the middle, and got exactly those
    later = [
        (status, content_range)
        for status, content_range in answered
        if content_range and not content_range.startswith("bytes 0-")
    ]
    assert later, (asked, answered)
    for status, content_range in later:
        first, rest = content_range.removeprefix("bytes ").split("-")
        last, total = rest.split("/")
        assert status == 206 and int(total) == size and int(first) <= int(last) == size - 1


def test_the_preview_pages_have_no_serious_accessibility_violations(page, preview_server, axe):
    page.goto(preview_server.url)
    # "/" is the website's index page (the preview lists its files there only without one)
    assert page.title() == "IT Service Management Weekly"
    violations = axe(page)
    assert violations == [], describe(violations)
    page.goto(preview_server.url + "no/such/page")  # the 404 page (an HTTP error by design)
    violations = axe(page)
    page.problems.clear()
    assert violations == [], describe(violations)


def test_axe_finds_a_serious_violation(page, axe):
    """The helper reports what it should: an image without alternative text is critical."""
    page.set_content('<!doctype html><html lang="en"><title>t</title><img src="data:,">')
    assert [v["id"] for v in axe(page)] == ["image-alt"]
