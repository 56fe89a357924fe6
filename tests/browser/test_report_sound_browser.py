"""The producer's report of a generated interview, in a real browser (chromium): what a producer
hears — the warnings in the banner, the leveler's gain curve under the loudness plot, the speech
figures, and the before/after excerpts, which play."""

from __future__ import annotations

import pytest

from podcast_tools.audio.leveler import LevelerSettings
from podcast_tools.audio.master import MasteringSettings, master
from podcast_tools.report import GIDS, speech_excerpts, write_report_page
from tests.interview import make_interview, need_espeak

pytestmark = pytest.mark.slow

DURATIONS = """() => Promise.all([...document.querySelectorAll('#excerpts audio')].map(audio =>
    new Promise(done => {
        if (audio.readyState >= 1) return done([audio.dataset.when, audio.duration]);
        audio.addEventListener('loadedmetadata', () => done([audio.dataset.when, audio.duration]));
        audio.addEventListener('error', () => done([audio.dataset.when, -1]));
        audio.load();
    })))"""

PLAYS = """async () => {
    const audio = document.querySelector('#excerpts audio[data-when="after"]');
    audio.muted = true;
    await audio.play();
    await new Promise(done => setTimeout(done, 600));
    const at = audio.currentTime;
    audio.pause();
    return at;
}"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """(without the leveler, with it): the report pages of one interview, guest 12 dB down."""
    need_espeak()
    folder = tmp_path_factory.mktemp("sound-report")
    interview = make_interview(folder / "interview.wav", turns=3)
    made = []
    for name, stages in (("plain", ()), ("levelled", (("leveler", LevelerSettings()),))):
        report = master(interview.path, folder / f"{name}.mp3", MasteringSettings(stages=stages))
        made.append(
            write_report_page(
                report,
                folder / f"{name}.report.html",
                title=f"Interview ({name})",
                excerpts=speech_excerpts(report),
            )
        )
    return made


def test_the_banner_warns_of_the_speakers_gap_and_the_excerpts_play(page, pages):
    plain, _ = pages
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(plain.as_uri())
    assert [url for url in asked if not url.startswith("data:")] == [plain.as_uri()]
    assert page.locator("#verdict").get_attribute("data-verdict") == "warn"
    banner = page.locator("#verdict").inner_text()
    assert "Meets the show" not in banner and "stretches of speech differ" in banner
    warning = page.locator('#warnings li[data-warning="speech-spread"]')
    assert warning.is_visible() and "mastering.leveler = true" in warning.inner_text()
    assert page.locator("#speech-figures").is_visible()
    durations = page.evaluate(DURATIONS)
    assert [when for when, _ in durations] == ["before", "after", "before", "after"]
    assert all(9.5 <= seconds <= 10.5 for _, seconds in durations), durations
    assert page.evaluate(PLAYS) > 0.2  # the clip really plays
    assert page.locator("#plots svg [id='leveler-gain-axes']").count() == 0


def test_the_leveler_draws_its_gain_under_the_loudness(page, pages):
    _, levelled = pages
    page.goto(levelled.as_uri())
    assert page.locator('#warnings li[data-warning="speech-spread"]').count() == 0
    boxes = page.evaluate(
        """ids => ids.map(id => {
            const found = document.querySelector(`#plots svg [id="${id}"]`);
            if (!found) return null;
            const box = found.getBoundingClientRect();
            return {top: box.top, bottom: box.bottom, width: box.width, height: box.height};
        })""",
        [GIDS["loudness_axes"], GIDS["leveler_axes"], GIDS["leveler"], GIDS["reduction_axes"]],
    )
    loudness, axes, curve, reduction = boxes
    assert None not in boxes, boxes
    assert loudness["bottom"] <= axes["top"] and axes["bottom"] <= reduction["top"]
    assert curve["width"] > 0.5 * axes["width"] and curve["height"] > 2  # it moves
