"""Show notes: golden renders (input episode → expected HTML), the sanitiser, chapters JSON."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from podcast_tools.media_checks import load_checked_network
from podcast_tools.notes import (
    ChapterNote,
    html_to_text,
    markdown_to_html,
    render_notes,
    write_notes,
)

GOLDEN = Path(__file__).parent / "golden" / "notes"
CASES = sorted(p.stem for p in GOLDEN.glob("*.md"))


def golden_network(sample: Path, case: str):
    folder = sample / "episodes" / "itsmwp" / "golden"
    folder.mkdir(exist_ok=True)
    shutil.copy(GOLDEN / f"{case}.md", sample / "episodes" / "itsmwp" / f"zz-{case}.md")
    text = (sample / "episodes" / "itsmwp" / f"zz-{case}.md").read_text()
    (sample / "episodes" / "itsmwp" / f"zz-{case}.md").write_text(text.replace("../001", "001"))
    network = load_checked_network(sample)
    episode = next(e for e in network.episodes if e.slug == f"zz-{case}")
    chapters = [ChapterNote(c.start, c.title, c.url) for c in episode.chapters]
    return network, episode, chapters


@pytest.mark.parametrize("case", CASES)
def test_golden_html(sample: Path, case: str):
    """Each tests/golden/notes/<case>.md renders to exactly <case>.html (regenerate on purpose only)."""
    network, episode, chapters = golden_network(sample, case)
    rendered = render_notes(network, episode, chapters)
    expected = (GOLDEN / f"{case}.html").read_text(encoding="utf-8")
    assert rendered.html == expected


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        '<p onclick="x()">p</p>',
        "<style>body{}</style>",
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        "<svg onload=alert(1)>",
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    ],
)
def test_sanitiser_removes_active_content(hostile: str):
    cleaned = markdown_to_html(f"before\n\n{hostile}\n\nafter").lower()
    for danger in ("<script", "<style", "<img", "<svg", "onerror=", "onclick=", "onload="):
        assert danger not in cleaned
    # links survive only with safe schemes (a refused Markdown link stays as harmless text)
    assert all(
        href.startswith(("http:", "https:", "mailto:"))
        for href in re.findall(r'href="([^"]*)"', cleaned)
    )
    assert "before" in cleaned and "after" in cleaned


def test_control_characters_and_cdata_end_are_neutralised():
    cleaned = markdown_to_html("bell\x07 esc\x1b nul\x00 end ]]> done")
    assert not any(ch in cleaned for ch in "\x07\x1b\x00")
    assert "]]>" not in cleaned and "]]&gt;" in cleaned


def test_text_form_is_plain():
    html = markdown_to_html("One **two** [three](https://e.com).\n\n- four\n- five & six")
    assert html_to_text(html) == "One two three.\nfour\nfive & six"


def test_templates_fall_back_from_show_to_parent_to_network_to_builtin(sample: Path):
    network = load_checked_network(sample)
    anz = next(e for e in network.episodes if e.show == "itsmwp-anz")
    main = next(e for e in network.episodes if e.show == "itsmwp")
    # itsmwp-anz has its own summary template (templates/itsmwp-anz/episode.txt.j2)
    assert "More from Australia & New Zealand" in render_notes(network, anz, []).text
    assert "More from Australia" not in render_notes(network, main, []).text
    # a spin-off of the ANZ show inherits its template
    toml = sample / "episodes/network.toml"
    from podcast_tools.content import feed_url, podcast_guid_for

    guid = podcast_guid_for(feed_url("https://media.itsmweekly.example/", "itsmwp-nz"))
    toml.write_text(
        toml.read_text()
        + f'\n[shows.itsmwp-nz]\nextends = "itsmwp-anz"\ntitle = "NZ"\ndescription = "NZ"\npodcast_guid = "{guid}"\n'
    )
    (sample / "episodes/itsmwp-nz").mkdir()
    episode_text = (sample / "episodes/itsmwp-anz/001-major-incidents.md").read_text()
    episode_text = episode_text.replace(
        "59cdfa7b-3bed-4b48-8190-903387edc90c", "33333333-3333-4333-8333-333333333333"
    )
    episode_text = episode_text.replace(
        "audio: 001-major-incidents.m4a", "audio: ../itsmwp-anz/001-major-incidents.m4a"
    )
    (sample / "episodes/itsmwp-nz/001-kia-ora.md").write_text(episode_text)
    network = load_checked_network(sample)
    nz = next(e for e in network.episodes if e.show == "itsmwp-nz")
    assert "More from Australia & New Zealand" in render_notes(network, nz, []).text
    # and the network's own template overrides the built-in one
    (sample / "templates/episode.html.j2").write_text(
        "<p>Network template: {{ episode.title }}</p>\n"
    )
    assert (
        render_notes(network, nz, []).html == "<p>Network template: Major Incidents Down Under</p>"
    )


def test_autoescape_in_html_templates(sample: Path):
    network, episode, chapters = golden_network(sample, "basic")
    html = render_notes(network, episode, chapters).html
    assert "The &lt;main&gt; part" in html  # a chapter title is text, never markup
    assert "<main>" not in html


def test_write_notes_files_and_chapters_json(sample: Path, tmp_path: Path):
    network, episode, chapters = golden_network(sample, "basic")
    transcript = sample / "episodes/itsmwp/zz-basic.vtt"
    transcript.write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n")
    text = (
        (sample / "episodes/itsmwp/zz-basic.md")
        .read_text()
        .replace("number: 9", "number: 9\ntranscript: zz-basic.vtt")
    )
    (sample / "episodes/itsmwp/zz-basic.md").write_text(text)
    network = load_checked_network(sample)
    episode = next(e for e in network.episodes if e.slug == "zz-basic")
    files = write_notes(network, episode, chapters, tmp_path)
    document = json.loads(files.chapters.read_text())
    assert document["version"] == "1.2.0"
    assert [c["startTime"] for c in document["chapters"]] == [0.0, 15.27]
    assert document["chapters"][1]["url"] == "https://example.com/main?a=1&b=2"
    assert files.transcript.read_text().startswith("WEBVTT")
    assert files.html.read_text().startswith("<p>Plain <strong>bold</strong>")
    assert "Plain bold, emphasis, code and a link." in files.text.read_text()


def test_web_page_never_carries_raw_html(sample: Path):
    network, episode, chapters = golden_network(sample, "basic")
    assert "The &lt;main&gt; part" in render_notes(network, episode, chapters).page
    network, episode, chapters = golden_network(sample, "hostile")
    page = render_notes(network, episode, chapters).page.lower()
    assert "<script" not in page and "onclick" not in page and 'href="javascript' not in page
