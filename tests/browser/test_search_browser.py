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


#: Said only in the audio of episode 1 (its machine transcript): in no title, notes or file.
SPOKEN = "pineapple"
SENTENCES = [
    "Welcome back to the show about incidents and problems.",
    "Today we start with the basics of root cause analysis.",
    "Our guest once solved an outage caused by a pineapple on the keyboard.",
    "That story still makes the whole service desk laugh.",
    "Restore the service first, and then find the cause.",
]


def test_a_word_said_only_in_the_audio_opens_its_episode_where_it_is_heard(
    page, processed_network: Path, tmp_path: Path
):
    """Episode 1 gets a new master (espeak-ng) and is processed again: its machine transcript
    (the sample turns them on) is indexed; a word only said in it is found, and its hit opens
    the episode where the word is heard — the sentence's start in the master, after the head
    trim and the intro."""
    import json

    from tests.conftest import podcast
    from tests.interview import need_espeak, spoken_master

    need_espeak()
    root = copy_network(processed_network, tmp_path / "network")
    episode = root / "episodes" / "itsmwp" / "001-incident-vs-problem.md"
    starts = spoken_master(root / "episodes" / "itsmwp" / "001-spoken.wav", SENTENCES, 0.8)
    text = episode.read_text(encoding="utf-8")
    episode.write_text(text.replace("audio: 001-incident-vs-problem.flac", "audio: 001-spoken.wav"))
    for file in (root / "episodes").rglob("*.md"):
        assert SPOKEN not in file.read_text(encoding="utf-8").lower(), file
    podcast(root, "process", str(episode), ok=True, process=True, timeout=600)
    report = json.loads((root / "build" / "itsmwp" / "001-incident-vs-problem.json").read_text())
    edits = report["edits"]
    heard = edits["intro_s"] - edits["crossfade_in_s"] + starts[2] - edits["kept"][0]["start_s"]

    with serving(root, check_every=3600) as server:
        page.goto(server.url)
        box = page.get_by_label(SEARCH_BOX)
        box.fill(SPOKEN)
        box.press("Enter")
        page.locator("[data-search-status]").filter(has_text="1 episode").wait_for(timeout=15_000)
        results = page.locator("[data-search-results] > li")
        assert "Incident vs. Problem Management" in results.first.inner_text()
        hit = results.first.locator("a", has_text="At ")
        href = hit.first.get_attribute("href")
        assert "001-incident-vs-problem.html#t=" in href, href
        cue_start = float(href.rsplit("#t=", 1)[1])
        assert abs(cue_start - heard) <= 0.5, (cue_start, heard)  # the cue: where it is heard
        hit.first.click()
        page.wait_for_function(
            f"() => {{ const p = document.querySelector('{PLAYER}');"
            f" return p.readyState >= 1 && Math.abs(p.currentTime - {heard}) <= 1; }}",
            timeout=15_000,
        )
