"""The listeners' website and the producer's mastering report in a real browser (chromium, see
conftest.py), against the real `podcast preview` serving a processed copy of the sample network:

- every page, found by following the links from `/` (the shows' further pages of episodes too),
  loads without a console error or a failed request, and the feed its head names for RSS
  autodiscovery is one the browser fetches;
- on an episode's page the player plays; its chapters (at the record's times) and the transcript's
  cues seek it, also when clicked before the audio has loaded, and so does `#t=` in the address;
  without JavaScript the player, the notes and the transcript are all still there;
- axe-core finds no serious or critical violation on the network's, a show's and an episode's
  page, light and dark, at a desktop's and a phone's width;
- the mastering report, opened from disk, draws its plots.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from urllib.parse import urldefrag, urlsplit

import pytest

from podcast_tools import site as site_module
from podcast_tools.layout import public_url
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.previews import local_records, local_site
from podcast_tools.record import EpisodeRecord
from podcast_tools.report import GIDS, sound_warnings
from tests.browser.conftest import describe
from tests.conftest import edit
from tests.preview_network import CROSS_POSTED, TRANSCRIPT_CUES, copy_network, serving

EPISODE = "itsmwp/002-change-advisory-boards.html"  # chapters, a transcript, its own image
EPISODE_GUID = "96437e99-b727-4e6c-99f1-172d9e7e5d4a"
REPORT = "build/itsmwp/002-change-advisory-boards.report.html"
PLAYER = "audio[data-player]"
CHAPTERS = "[data-chapters] a[data-start]"
CUES = ".transcript .cues a[data-start]"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
#: How far from a chapter's or cue's start the player may be once it has seeked there (s).
SEEK_TOLERANCE = 0.3

FEED = """async href => {
    const answer = await fetch(href);
    const doc = new DOMParser().parseFromString(await answer.text(), "application/xml");
    const title = doc.querySelector("rss > channel > title");
    return {
        status: answer.status,
        root: doc.documentElement.nodeName,
        broken: doc.querySelector("parsererror") !== null,
        title: title && title.textContent,
    };
}"""
#: Records every position the player has seeked to, in window.seeks.
RECORD_SEEKS = """player => {
    window.seeks = [];
    player.addEventListener("seeked", () => window.seeks.push(player.currentTime));
}"""


def page_key(url: str) -> str:
    """The key a page is served under: /itsmwp/ is itsmwp/index.html."""
    path = urlsplit(url).path.lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path


def site_keys(root: Path, base_url: str) -> set[str]:
    """The keys of every page of the site the preview builds for the network at `root`."""
    pages = local_site(load_checked_network(root), root / "build", base_url=base_url)
    return {page.key for page in pages if page.type.startswith("text/html")}


def crawl(page, start: str) -> dict[str, list[tuple[str, str]]]:
    """Load `start` and every page reachable from it by same-origin links to pages (addresses
    ending in / or .html; not feeds, audio, transcripts); returns each page's key → the
    (href, title) of its RSS autodiscovery links."""
    origin = urlsplit(start)[:2]
    found: dict[str, list[tuple[str, str]]] = {}
    waiting = [start]
    while waiting:
        url = waiting.pop(0)
        if page_key(url) in found:
            continue
        answer = page.goto(url)
        assert answer is not None and answer.status == 200, url
        assert answer.headers["content-type"] == "text/html; charset=utf-8", url
        # lazy images start after the load event: let them finish (and be checked) before the
        # next page, or chromium aborts them in flight and that reads as a failed request
        page.wait_for_load_state("networkidle")
        found[page_key(url)] = page.eval_on_selector_all(
            'head link[rel="alternate"][type="application/rss+xml"]',
            "links => links.map(link => [link.href, link.title])",
        )
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            target = urldefrag(href).url
            parts = urlsplit(target)
            if parts[:2] == origin and (parts.path.endswith("/") or parts.path.endswith(".html")):
                waiting.append(target)
    return found


def check_autodiscovery(page, found: dict[str, list[tuple[str, str]]], origin: str) -> None:
    """Every page names at least one feed; each is an RSS document the browser fetches from the
    preview, whose channel has the title the link gives it."""
    fetched: dict[str, dict] = {}
    for key, feeds in found.items():
        assert feeds, f"{key} names no feed for autodiscovery"
        for href, title in feeds:
            assert href.startswith(origin), (key, href)
            if href not in fetched:
                fetched[href] = page.evaluate(FEED, href)
            assert fetched[href] == {
                "status": 200,
                "root": "rss",
                "broken": False,
                "title": title,
            }, (key, href)


def test_every_page_loads_and_autodiscovers_its_feed(page, preview_server):
    found = crawl(page, preview_server.url)
    expected = site_keys(preview_server.root, preview_server.url)
    assert set(found) == expected  # every page of the site is linked from another
    assert {"index.html", "itsmwp/index.html", "itsmwp-anz/index.html", EPISODE} <= expected
    check_autodiscovery(page, found, preview_server.url)
    assert {href for href, _ in found["itsmwp/index.html"]} == {
        f"{preview_server.url}itsmwp/feed.xml"
    }


def test_a_shows_further_pages_of_episodes_are_linked_and_load(
    page, processed_network: Path, monkeypatch
):
    """One episode a page, so the sample's main show has two pages of episodes: the preview (in
    a thread here, to set the page size) links them both ways, and they load like the rest."""
    monkeypatch.setattr(site_module, "PAGE_SIZE", 1)
    with serving(processed_network, check_every=3600) as server:
        found = crawl(page, server.url)
        expected = site_keys(processed_network, server.url)
        assert "itsmwp/page/2/index.html" in expected
        assert set(found) == expected
        check_autodiscovery(page, found, server.url)
        page.goto(f"{server.url}itsmwp/page/2/")
        assert page.locator('.pages a[rel="prev"]').get_attribute("href") == (
            f"{server.url}itsmwp/index.html"
        )
        assert page.locator('.pages [aria-current="page"]').inner_text() == "2"


# --- the episode's page ------------------------------------------------------------------------


def episode_record(preview_server) -> EpisodeRecord:
    root = preview_server.root
    return local_records(load_checked_network(root), root / "build")[EPISODE_GUID]


def starts(page, selector: str) -> list[float]:
    return [
        float(start)
        for start in page.eval_on_selector_all(selector, "links => links.map(a => a.dataset.start)")
    ]


def marked(page) -> list[int]:
    """The indexes of the chapters marked as playing (aria-current)."""
    flags = page.eval_on_selector_all(CHAPTERS, "links => links.map(a => a.ariaCurrent)")
    return [index for index, flag in enumerate(flags) if flag == "true"]


def chapter_at(chapter_starts: list[float], seconds: float) -> int:
    return max(i for i, start in enumerate(chapter_starts) if start <= seconds + 0.25)


def player_state(page) -> dict:
    return page.eval_on_selector(
        PLAYER,
        "p => ({time: p.currentTime, paused: p.paused, ready: p.readyState,"
        " network: p.networkState, error: p.error && p.error.message})",
    )


def click_and_seek(page, link) -> float:
    """Click the link and return where the player seeked to."""
    before = page.evaluate("() => window.seeks.length")
    link.click()
    page.wait_for_function(f"() => window.seeks.length > {before}", timeout=15_000)
    return page.evaluate("() => window.seeks[window.seeks.length - 1]")


#: A plain-text transcript that holds markup and a script: published as text/plain, shown as text.
SCRIPTED = "Alex: Welcome.\n<script>window.ran = true; alert(document.domain)</script>\n"


def test_a_transcript_with_a_script_is_shown_as_text_and_never_runs(
    page, processed_network: Path, tmp_path: Path
):
    root = copy_network(processed_network, tmp_path / "network")
    (root / "episodes/itsmwp/002.txt").write_text(SCRIPTED, encoding="utf-8")
    edit(root / CROSS_POSTED, "transcript: 002-change-advisory-boards.vtt", "transcript: 002.txt")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    with serving(root, check_every=3600) as server:
        page.goto(f"{server.url}{EPISODE}")
        link = page.locator(".transcript a", has_text="Read the transcript (plain text)")
        answer = page.goto(link.get_attribute("href"))
        assert answer is not None and answer.status == 200
        assert answer.headers["content-type"] == "text/plain; charset=utf-8"
        assert page.evaluate("document.contentType") == "text/plain"
        assert "<script>window.ran = true;" in page.inner_text("body")
        assert page.evaluate("window.ran === undefined")
    assert dialogs == []


def test_the_player_plays_and_chapters_and_cues_seek_it(page, preview_server):
    record = episode_record(preview_server)
    page.goto(preview_server.url + EPISODE)
    chapter_starts = starts(page, CHAPTERS)
    assert len(chapter_starts) == 3
    assert chapter_starts == pytest.approx(list(record.chapter_times), abs=0.0005)
    assert marked(page) == []  # nothing plays yet

    page.eval_on_selector(PLAYER, RECORD_SEEKS)
    page.eval_on_selector(PLAYER, "player => player.play()")
    page.wait_for_function(
        f"() => document.querySelector('{PLAYER}').currentTime > 0.5", timeout=15_000
    )
    then = player_state(page)["time"]
    page.wait_for_function(
        f"() => document.querySelector('{PLAYER}').currentTime > {then + 0.5}", timeout=15_000
    )
    assert marked(page) == [0]

    chapters = page.locator(CHAPTERS)
    for index in (2, 0, 1):  # backwards and forwards
        link = chapters.nth(index)
        seeked = click_and_seek(page, link)
        assert seeked == pytest.approx(chapter_starts[index], abs=SEEK_TOLERANCE), index
        assert marked(page) == [index]
        assert page.evaluate("() => location.hash") == f"#t={link.get_attribute('data-start')}"
        assert player_state(page)["paused"] is False  # a chapter plays from its start

    cue_starts = starts(page, CUES)
    assert cue_starts == pytest.approx([start for start, _, _ in TRANSCRIPT_CUES], abs=0.0005)
    cues = page.locator(CUES)
    assert not cues.first.is_visible()
    page.locator(".transcript summary").click()  # the transcript is folded at first
    assert page.locator(".transcript .cues li").all_inner_texts() == [
        f"{link} {speaker}: {text}"
        for link, (_, speaker, text) in zip(cues.all_inner_texts(), TRANSCRIPT_CUES, strict=True)
    ]
    for index in (3, 0, 2, 1):  # the last one plays on to the end: not last
        seeked = click_and_seek(page, cues.nth(index))
        assert seeked == pytest.approx(cue_starts[index], abs=SEEK_TOLERANCE), index
        assert marked(page) == [chapter_at(chapter_starts, cue_starts[index])]
    state = player_state(page)
    assert state["paused"] is False and state["error"] is None


def test_a_chapter_clicked_before_the_audio_has_loaded_plays_from_its_start(page, preview_server):
    """The audio's first bytes are held back (the request waits, then goes to the preview
    unchanged) until a chapter has been clicked: the player has no metadata yet, so the script
    must wait for it — without throwing away the download under way to ask again."""
    held: list = []
    page.route("**/*.mp3", lambda route: held.append(route))
    page.goto(preview_server.url + EPISODE)
    state = player_state(page)
    assert (state["ready"], state["network"]) == (0, 2)  # HAVE_NOTHING, NETWORK_LOADING
    page.eval_on_selector(PLAYER, RECORD_SEEKS)
    chapter = page.locator(CHAPTERS).nth(1)
    chapter.click()
    page.wait_for_timeout(500)
    assert player_state(page)["ready"] == 0
    assert len(held) == 1, "clicking a chapter started the download again"
    held[0].continue_()
    page.unroute("**/*.mp3")  # (any request held since goes on too)
    page.wait_for_function("() => window.seeks.length > 0", timeout=15_000)
    [seeked] = page.evaluate("() => window.seeks")
    start = float(chapter.get_attribute("data-start"))
    assert seeked == pytest.approx(start, abs=SEEK_TOLERANCE)
    page.wait_for_function(
        f"() => document.querySelector('{PLAYER}').currentTime > {start + 0.3}", timeout=15_000
    )
    assert marked(page) == [1]


def test_a_time_in_the_address_seeks_on_arrival_without_playing(page, preview_server):
    record = episode_record(preview_server)
    start = record.chapter_times[2]
    page.goto(f"{preview_server.url}{EPISODE}#t={start}")
    page.wait_for_function(
        f"() => {{ const p = document.querySelector('{PLAYER}');"
        f" return p.readyState >= 1 && Math.abs(p.currentTime - {start}) <= {SEEK_TOLERANCE}; }}",
        timeout=15_000,
    )
    assert player_state(page)["paused"] is True
    assert marked(page) == [2]


def test_without_javascript_the_player_notes_and_transcript_are_all_there(new_page, preview_server):
    record = episode_record(preview_server)
    page = new_page(java_script_enabled=False)
    page.goto(preview_server.url + EPISODE)
    player = page.locator(PLAYER)
    assert player.is_visible() and player.get_attribute("controls") is not None
    assert page.eval_on_selector_all(f"{PLAYER} source", "s => s.map(source => source.src)") == [
        public_url(preview_server.url, audio.key) for audio in record.audio
    ]
    # the browser's own player reads the audio: no script needed
    page.wait_for_function(f"() => document.querySelector('{PLAYER}').readyState >= 1")
    duration = page.eval_on_selector(PLAYER, "p => p.duration")
    assert duration == pytest.approx(record.enclosure.duration_s, abs=0.2)

    notes = page.locator("section.notes")
    assert notes.is_visible()
    text = notes.inner_text()
    assert "Do change advisory boards still earn their place" in text
    assert "Standard changes can be pre-approved." in text
    chapters = page.locator(CHAPTERS)
    assert [chapters.nth(i).is_visible() for i in range(chapters.count())] == [True] * 3
    assert "CABs in a world of continuous delivery" in chapters.nth(1).inner_text()

    cues = page.locator(".transcript .cues li")
    assert not cues.first.is_visible()
    page.locator(".transcript summary").click()  # <details> opens without a script
    assert [cues.nth(i).is_visible() for i in range(cues.count())] == [True] * 4
    assert [text for _, _, text in TRANSCRIPT_CUES][2] in cues.nth(2).inner_text()
    download = page.locator(".transcript a", has_text="Download the transcript")
    assert download.get_attribute("href") == record_transcript_url(record, preview_server.url)
    assert page.eval_on_selector_all("[aria-current='true']", "found => found.length") == 0


def record_transcript_url(record: EpisodeRecord, base_url: str) -> str:
    assert record.transcript is not None
    return public_url(base_url, record.transcript["key"])


# --- accessibility and layout ----------------------------------------------------------------


LAYOUT = """() => {
    const box = selector => document.querySelector(selector).getBoundingClientRect();
    const main = document.querySelector("main");
    return {
        window: document.documentElement.clientWidth,
        page: document.documentElement.scrollWidth,
        header: box(".site-header").width,
        footer: box(".site-footer").width,
        main_text: box("main").left + parseFloat(getComputedStyle(main).paddingLeft),
        footer_text: box(".site-footer > *").left,
    };
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_violations(new_page, preview_server, axe, scheme, viewport):
    """On the network's, a show's and an episode's page, in the colour scheme and window; and
    each page fits the window."""
    page = new_page(color_scheme=scheme, viewport=viewport)
    for path in ("", "itsmwp/", EPISODE):
        page.goto(preview_server.url + path)
        assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches") is (
            scheme == "dark"
        )
        layout = page.evaluate(LAYOUT)
        assert layout["page"] <= layout["window"] == viewport["width"], path  # no sideways scroll
        # the header's and footer's bands span the window; their text lines up with the page's
        assert layout["header"] == layout["footer"] == layout["window"], (path, layout)
        assert abs(layout["footer_text"] - layout["main_text"]) <= 1, (path, layout)
        violations = axe(page)
        assert violations == [], f"/{path}:\n{describe(violations)}"
    # the episode's page as a listener leaves it: the transcript open, a chapter playing
    page.locator(".transcript summary").click()
    page.locator(CHAPTERS).nth(1).click()
    page.wait_for_function(f"() => document.querySelector('{CHAPTERS}[aria-current]')")
    violations = axe(page)
    assert violations == [], f"/{EPISODE}, playing:\n{describe(violations)}"


# --- the mastering report ----------------------------------------------------------------------

BOXES = """ids => Object.fromEntries(ids.map(id => {
    const found = document.querySelectorAll(`#plots svg [id="${id}"]`);
    if (found.length !== 1) return [id, {count: found.length}];
    const box = found[0].getBoundingClientRect();
    const path = found[0].querySelector("path");
    return [id, {count: 1, left: box.left, right: box.right, top: box.top, bottom: box.bottom,
                 width: box.width, height: box.height,
                 vertices: path ? (path.getAttribute("d").match(/[ML]/g) || []).length : 0}];
}))"""


def test_the_mastering_report_draws_its_plots(page, preview_server):
    """Opened from disk (file://): no console error, nothing fetched but the page, and the inline
    SVG is drawn with its curves, lines and chapter marks where they belong."""
    path = preview_server.root / REPORT
    processed = json.loads(path.with_name("002-change-advisory-boards.json").read_text("utf-8"))
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    answer = page.goto(path.as_uri())
    assert answer is not None and answer.ok
    assert asked == [path.as_uri()]  # inline CSS and SVG: nothing else fetched
    # on target; what a producer would hear is warned of as the figures say (the sample's
    # generated masters: a second speaker 9 dB down, a floor about 30 dB under the speech)
    heard = [w.key for w in sound_warnings(processed, [])]
    assert page.locator("#verdict").get_attribute("data-verdict") == ("warn" if heard else "pass")
    shown = page.locator("#warnings li").evaluate_all("items => items.map(i => i.dataset.warning)")
    assert shown == heard

    svg = page.locator("#plots svg[role='img']")
    assert svg.count() == 1
    figure = svg.bounding_box()
    assert figure is not None and figure["width"] > 600 and figure["height"] > 300
    chapter_ids = [f"chapter-{n}" for n in range(1, len(processed["chapters"]) + 1)]
    plotted = [gid for key, gid in GIDS.items() if not key.startswith("leveler")]  # it is off
    boxes = page.evaluate(BOXES, [*plotted, *chapter_ids])
    for gid, box in boxes.items():
        assert box["count"] == 1, gid
        inside = (
            figure["x"] - 1 <= box["left"] <= box["right"] <= figure["x"] + figure["width"] + 1
            and figure["y"] - 1 <= box["top"] <= box["bottom"] <= figure["y"] + figure["height"] + 1
        )
        assert inside, (gid, box, figure)
    axes = boxes[GIDS["loudness_axes"]]
    for gid in ("loudness_axes", "reduction_axes", "timeline_axes"):
        assert boxes[GIDS[gid]]["width"] > 500 and boxes[GIDS[gid]]["height"] > 50, gid
    for gid in ("master", "result", "reduction"):  # the plotted series: many points each
        curve = boxes[GIDS[gid]]
        assert curve["width"] > 0.5 * axes["width"] and curve["height"] > 1, gid
        assert curve["vertices"] > 50, gid
    for gid in ("target", "ceiling"):  # horizontal lines across the loudness plot
        line = boxes[GIDS[gid]]
        assert line["width"] > 0.9 * axes["width"] and axes["top"] <= line["top"], gid
    for gid in ("master", "result", "target", "ceiling"):
        assert (
            axes["top"] <= boxes[GIDS[gid]]["top"] <= boxes[GIDS[gid]]["bottom"] <= axes["bottom"]
        )
    # the result is louder than the master before gain (higher up), near the target; the true-peak
    # ceiling is above them all
    master, result = boxes[GIDS["master"]], boxes[GIDS["result"]]
    target, ceiling = boxes[GIDS["target"]], boxes[GIDS["ceiling"]]
    assert result["bottom"] < master["top"]
    assert result["top"] <= target["top"] <= result["bottom"]
    assert ceiling["bottom"] < result["top"]
    # one mark per chapter, in order along the time axis
    lefts = [boxes[gid]["left"] for gid in chapter_ids]
    assert lefts == sorted(lefts) and len(set(lefts)) == len(lefts)


def test_the_mastering_report_fits_a_phone(new_page, preview_server):
    """At 390 px the report scrolls only its wide tables, never the page sideways; the plot
    scales down with the window."""
    page = new_page(viewport={"width": 390, "height": 844})
    page.goto((preview_server.root / REPORT).as_uri())
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the report is {width} px wide on a 390 px phone"
    figure = page.locator("#plots svg[role='img']").bounding_box()
    assert figure is not None and 0 < figure["width"] <= 390


# --- issue 25's page items: chapters once and aligned, icon, nav, downloads, dates ---------------

CHAPTER_IMAGE_EPISODE = "itsmwp/001-incident-vs-problem.html"  # a chapter image, a chapter link
ANZ_PAGE = "itsmwp-anz/001-major-incidents.html"  # en-au; MP3, M4A and Opus
CHAPTER_LAYOUT = """() => {
    const rects = element => [...element.getClientRects()].map(r => ({top: r.top, left: r.left}));
    const listed = [...document.querySelectorAll("main li")]
        .filter(li => !li.closest(".transcript"))
        .map(li => li.innerText);
    return {
        titles: [...document.querySelectorAll("[data-chapters] a[data-start]")]
            .map(a => a.innerText.split(" ").slice(1).join(" ")),
        listed: listed,
        notes: document.querySelector("section.notes").innerText,
        times: [...document.querySelectorAll("[data-chapters] .time")]
            .map(t => t.getBoundingClientRect().left),
        links: [...document.querySelectorAll("[data-chapters] .more")].map(more => ({
            more: rects(more),
            title: rects(more.parentElement.querySelector("a[data-start]")),
        })),
    };
}"""


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_chapters_are_listed_once_in_one_column_and_link_on_the_titles_line(
    new_page, preview_server, viewport
):
    page = new_page(viewport=viewport)
    for path in (EPISODE, CHAPTER_IMAGE_EPISODE):
        page.goto(preview_server.url + path)
        page.wait_for_load_state("networkidle")
        layout = page.evaluate(CHAPTER_LAYOUT)
        assert len(layout["titles"]) == 3, path
        for title in layout["titles"]:  # once: the list that seeks the player
            assert len([text for text in layout["listed"] if title in text]) == 1, (path, title)
        assert "In this episode" not in layout["notes"], path
        # the times in one column, with or without a chapter image beside them
        assert max(layout["times"]) - min(layout["times"]) <= 0.5, (path, layout["times"])
    assert page.locator("[data-chapters] img").count() == 1  # (001: the second chapter's)
    [link] = layout["links"]
    # "(link)" is whole on one line (its hidden words for screen readers aside), and that line
    # is the one where the title ends
    assert len({round(rect["top"]) for rect in link["more"]}) == 1, link
    assert round(link["more"][0]["top"]) == round(link["title"][-1]["top"]), link


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_site_icon_loads_and_favicon_ico_is_there(new_page, preview_server, viewport):
    """Every page names its icon, which chromium fetches (no 404 and no console error: the
    watched page fails the test on either); /favicon.ico answers clients that ask unasked."""
    page = new_page(viewport=viewport)
    for path in ("", "itsmwp/", EPISODE):
        with page.expect_response(lambda answer: "/assets/icon-" in answer.url) as answered:
            page.goto(preview_server.url + path)
        answer = answered.value
        assert answer.url == page.eval_on_selector('link[rel="icon"]', "link => link.href")
        assert (answer.status, answer.headers["content-type"]) == (200, "image/png"), path
        page.wait_for_load_state("networkidle")
    favicon = page.request.get(preview_server.url + "favicon.ico")
    assert (favicon.status, favicon.headers["content-type"]) == (200, "image/x-icon")
    assert favicon.body().startswith(b"\x00\x00\x01\x00")  # an ICO's header


def test_the_network_nav_is_compact_on_a_phone(new_page, preview_server):
    page = new_page(viewport=PHONE)
    keys = site_keys(preview_server.root, preview_server.url)
    shows = [  # the shows with a page, in the network's order
        public_url(preview_server.url, f"{show}/index.html")
        for show in load_checked_network(preview_server.root).shows
        if f"{show}/index.html" in keys
    ]
    for path in ("", "itsmwp/", EPISODE, ANZ_PAGE):
        page.goto(preview_server.url + path)
        header = page.locator(".site-header").bounding_box()
        assert header is not None and header["height"] <= 60, (path, header)
        # every show is still a link in it (the row scrolls sideways)
        assert (
            page.eval_on_selector_all(".site-header li a", "links => links.map(a => a.href)")
            == shows
        )
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], path  # the page itself never scrolls sideways
        if path:  # the current show's link is in view, though the row is wider than the phone
            page.wait_for_load_state("load")  # (site.js scrolls the row)
            box = page.locator(".site-header [aria-current]").bounding_box()
            assert box is not None and 0 <= box["x"] <= width / 2, (path, box)  # its start
    assert page.evaluate(
        "(row => row.scrollWidth > row.clientWidth)(document.querySelector('.site-header ul'))"
    )


#: The focused element's outline box (its border box grown by outline width and offset) and the
#: visible box of the row that clips it (the nav's scrolling ul, its client area), in px.
FOCUS_RING = """() => {
    const link = document.activeElement, row = link.closest("ul");
    const style = getComputedStyle(link), box = link.getBoundingClientRect();
    const grow = parseFloat(style.outlineWidth) + parseFloat(style.outlineOffset);
    const rowBox = row.getBoundingClientRect();
    return {
        ring: [box.left - grow, box.top - grow, box.right + grow, box.bottom + grow],
        visible: [rowBox.left + row.clientLeft, rowBox.top + row.clientTop,
                  rowBox.left + row.clientLeft + row.clientWidth,
                  rowBox.top + row.clientTop + row.clientHeight],
        outline: style.outlineStyle, text: link.textContent,
    };
}"""


def test_a_focused_nav_link_shows_its_whole_focus_ring_on_a_phone(new_page, preview_server):
    """Review of issue 25 item 10: the phone's nav row scrolls sideways (overflow-x: auto), and
    so clipped the :focus-visible outline of its links — above and below, and at its edges.
    Each link reached with Tab shows its whole ring inside the row; the nav stays short."""
    page = new_page(viewport=PHONE)
    page.goto(preview_server.url + EPISODE)
    page.wait_for_load_state("load")
    header = page.locator(".site-header").bounding_box()
    assert header is not None and header["height"] <= 60, header
    links = page.locator(".site-header li a").count()
    assert links > 1
    seen = []
    for _ in range(links + 6):  # the skip link and the brand come first
        page.keyboard.press("Tab")
        if not page.evaluate("!!document.activeElement.closest('.site-header li')"):
            if seen:
                break
            continue
        found = page.evaluate(FOCUS_RING)
        assert found["outline"] != "none", found
        left, top, right, bottom = found["ring"]
        v_left, v_top, v_right, v_bottom = found["visible"]
        assert v_left - 0.5 <= left and right <= v_right + 0.5, found
        assert v_top - 0.5 <= top and bottom <= v_bottom + 0.5, found
        seen.append(found["text"])
    assert len(seen) == links, seen
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_format_is_offered_and_dates_and_lengths_read_as_people_read_them(
    new_page, preview_server, viewport
):
    root = preview_server.root
    records = local_records(load_checked_network(root), root / "build")
    page = new_page(viewport=viewport)
    for path, slug, date in (
        (ANZ_PAGE, "001-major-incidents", "9 October 2026"),  # en-au
        (EPISODE, "002-change-advisory-boards", "October 14, 2026"),  # en
    ):
        record = next(r for r in records.values() if r.slug == slug)
        page.goto(preview_server.url + path)
        links = page.locator(".downloads a[download]")
        assert links.evaluate_all("links => links.map(a => a.href)") == [
            public_url(preview_server.url, audio.key) for audio in record.audio
        ]
        for index, audio in enumerate(record.audio):
            label = links.nth(index).inner_text()  # (with words for screen readers: "of <title>")
            assert label.startswith(audio.label), label
            assert label.endswith(f"({site_module.file_size(audio.bytes)})"), label
            assert page.request.head(links.nth(index).get_attribute("href")).status == 200
        when, length = page.locator(".episode-head .meta time").all()
        assert when.inner_text() == date
        assert datetime.fromisoformat(when.get_attribute("datetime")) == datetime.fromisoformat(
            record.meta["date"]
        )
        # the length as the player counts it: whole seconds of the audio it plays
        page.wait_for_function(f"() => document.querySelector('{PLAYER}').readyState >= 1")
        seconds = int(page.eval_on_selector(PLAYER, "p => Math.floor(p.duration)"))
        assert seconds < 60 and length.inner_text() == f"0:{seconds:02d}"
        assert length.get_attribute("datetime") == f"PT{seconds}S"
    assert [a.label for a in record.audio] == ["MP3"]  # the main show publishes MP3 only
