"""The website's search in a real browser (chromium, see conftest.py), against `podcast preview`
serving a processed copy of the sample network whose episode 002 has a hand-made WebVTT
transcript: a word said only in that transcript — in no title and no notes — is typed into the
search box of the network's page; the hit, clicked, opens the episode's page with its player at
the cue where the word is said. The search box is labelled, reachable with the keyboard, and
axe-core finds nothing serious with its results shown.

The transcript is hand-made here; a machine-made one takes the same path (its cues go into the
index the same way, `podcast_tools.site._SiteBuilder.search_index`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from podcast_tools.site import clock
from tests.browser.conftest import describe
from tests.preview_network import TRANSCRIPT_CUES, copy_network, serving, webvtt

EPISODE = "itsmwp/002-change-advisory-boards.html"
TRANSCRIPT = "episodes/itsmwp/002-change-advisory-boards.vtt"
PLAYER = "audio[data-player]"
#: Said in the third cue only: no title, notes or other transcript of the network holds it.
WORD = "quokkanaut"
CUE = 2
SEARCH_BOX = "Search every episode's title, notes and transcript"


def network_with_the_word(processed_network: Path, root: Path) -> tuple[Path, float]:
    """A copy of the processed network whose episode 002 says WORD in its transcript's cue CUE;
    and that cue's start."""
    root = copy_network(processed_network, root)
    cues = list(TRANSCRIPT_CUES)
    start, speaker, text = cues[CUE]
    cues[CUE] = (start, speaker, f"{text} Ask the {WORD} on duty.")
    (root / TRANSCRIPT).write_text(webvtt(tuple(cues)), encoding="utf-8")
    for episode in (root / "episodes").rglob("*.md"):
        assert WORD not in episode.read_text(encoding="utf-8").lower(), episode
    return root, start


def test_a_word_said_only_in_a_transcript_opens_its_episode_at_that_time(
    page, processed_network: Path, tmp_path: Path, axe
):
    root, start = network_with_the_word(processed_network, tmp_path / "network")
    with serving(root, check_every=3600) as server:
        page.goto(server.url)
        box = page.get_by_label(SEARCH_BOX)
        assert box.is_visible()  # the script found the index and showed the box
        page.keyboard.press("Tab")  # the skip link, then the site's links, then the search box
        for _ in range(12):
            if page.evaluate("() => document.activeElement.id") == "search-terms":
                break
            page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "search-terms"
        page.keyboard.type(WORD.upper())  # any case
        page.keyboard.press("Enter")

        status = page.locator("[data-search-status]")
        status.filter(has_text="1 episode").wait_for(timeout=15_000)
        results = page.locator("[data-search-results] > li")
        assert results.count() == 1
        assert "Do We Still Need a Change Advisory Board?" in results.first.inner_text()
        assert WORD in results.first.locator("mark").first.inner_text().lower()
        violations = axe(page)
        assert violations == [], describe(violations)

        hit = results.first.locator("a", has_text=f"At {clock(start)}")
        assert hit.get_attribute("href") == f"{server.url}{EPISODE}#t={start:g}"
        hit.click()
        page.wait_for_url(f"{server.url}{EPISODE}#t={start:g}")
        page.wait_for_function(
            f"() => {{ const p = document.querySelector('{PLAYER}');"
            f" return p.readyState >= 1 && Math.abs(p.currentTime - {start}) <= 1; }}",
            timeout=15_000,
        )
        assert page.eval_on_selector(PLAYER, "p => p.currentTime") == pytest.approx(start, abs=1)


def test_every_show_page_has_the_search_box_and_a_title_word_is_found(
    page, processed_network: Path, tmp_path: Path
):
    """The box is on each show's page too, and searches every show; a word of a title finds its
    episode's page itself (no time)."""
    root, _ = network_with_the_word(processed_network, tmp_path / "network")
    with serving(root, check_every=3600) as server:
        page.goto(f"{server.url}itsmwp-anz/")
        box = page.get_by_label(SEARCH_BOX)
        box.fill(WORD)
        page.locator("[data-search-status]").filter(has_text="1 episode").wait_for(timeout=15_000)
        box.fill("advisory")
        results = page.locator("[data-search-results] > li")
        page.locator("[data-search-status]").filter(has_text="advisory").wait_for(timeout=15_000)
        titles = results.locator("p:first-child a").all_inner_texts()
        assert "Do We Still Need a Change Advisory Board?" in titles, titles
        first = results.first.locator("p:first-child a")
        assert first.get_attribute("href").endswith(".html")  # the page, no time


def test_without_javascript_there_is_no_search_box(new_page, processed_network: Path, tmp_path):
    root, _ = network_with_the_word(processed_network, tmp_path / "network")
    page = new_page(java_script_enabled=False)
    with serving(root, check_every=3600) as server:
        page.goto(server.url)
        assert not page.get_by_label(SEARCH_BOX).is_visible()  # no control that does nothing
