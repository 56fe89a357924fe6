"""`podcast transcribe` with the real tiny.en model on a two-voice espeak-ng master in a copy of
the sample network: the draft VTT and JSON beside the episode at the times heard (intro and head
trim), the front matter's one line, an edited draft kept, --force, no speech, no extra."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from podcast_tools import ffmpeg
from podcast_tools.audio import recognition
from podcast_tools.audio.plan import EditPlan, Segment
from podcast_tools.pipeline.drafts import map_words, set_transcript
from podcast_tools.transcript import Word, parse_json, parse_vtt
from tests.conftest import edit, podcast

pytest.importorskip("faster_whisper")
pytestmark = pytest.mark.slow

EPISODE = "episodes/itsmwp-row/002-knowledge-management.md"


@pytest.fixture
def network(sample: Path, clip, model_cache) -> Path:
    """The sample network, one episode's master replaced by the two-voice clip."""
    path, _ = clip
    shutil.copyfile(path, sample / "episodes/itsmwp-row/clip.wav")
    edit(sample / EPISODE, "audio: 002-knowledge-management.flac", "audio: clip.wav")
    return sample


def test_a_draft_is_written_at_the_times_heard_and_named_in_the_front_matter(network, clip):
    episode = network / EPISODE
    edit(episode, "intro: false  ", "# intro: false  ")  # with the show's intro: times move on
    edit(episode, "chapters:\n", "trim:\n  start: 0.4\nchapters:\n")  # and a head trim
    before = episode.read_text(encoding="utf-8")
    ran = podcast(network, "transcribe", EPISODE, "--model", "tiny.en", ok=True)
    vtt, document = episode.with_suffix(".vtt"), episode.with_suffix(".json")
    assert "002-knowledge-management.vtt" in ran.stdout and "machine draft" in ran.stdout
    # the front matter: one line added before its end, every other byte as it was
    head, rest = before.split("\n---\n", 1)
    assert episode.read_text(encoding="utf-8") == (
        f"{head}\ntranscript: 002-knowledge-management.vtt\n---\n{rest}"
    )
    text = vtt.read_text(encoding="utf-8")
    assert "NOTE machine draft (podcast transcribe): model tiny.en:" in text
    cues = parse_vtt(text)
    assert [c.speaker for c in cues][:1] == ["Speaker 1"] and cues[-1].speaker == "Speaker 2"
    words = json.loads(document.read_text(encoding="utf-8"))["segments"]
    assert len(words) >= 25 and parse_json(document.read_bytes())
    assert words[0]["startTime"] == cues[0].start_s
    # times as heard: as `process` places the master (its report's intro, crossfade, trim)
    report = json.loads(podcast(network, "process", EPISODE, "--json", ok=True).stdout)
    edits = report["edits"]
    _, starts = clip
    heard = [
        edits["intro_s"] - edits["crossfade_in_s"] + s - edits["head_trimmed_s"] for s in starts
    ]
    thank = next(c for c in cues if c.text.startswith("Thank"))
    assert edits["intro_s"] > 1 and edits["head_trimmed_s"] > 0
    assert [cues[0].start_s, thank.start_s] == pytest.approx(heard, abs=0.3)
    assert podcast(network, "validate", ok=True).exit_code == 0


def test_a_draft_not_edited_is_redone_from_the_cache_an_edited_one_is_kept(network):
    episode = network / EPISODE
    podcast(network, "transcribe", EPISODE, "--model", "tiny.en", ok=True)
    vtt = episode.with_suffix(".vtt")
    drafted = vtt.read_text(encoding="utf-8")
    runs = recognition.recognitions_run()
    podcast(network, "transcribe", EPISODE, "--model", "tiny.en", ok=True)
    assert recognition.recognitions_run() == runs  # the words came from build/.cache
    assert vtt.read_text(encoding="utf-8") == drafted
    edit(vtt, "Thank you", "Thanks")  # the producer corrects a cue
    corrected = vtt.read_text(encoding="utf-8")
    refused = podcast(network, "transcribe", EPISODE, "--model", "tiny.en")
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        f"{EPISODE}: transcript: episodes/itsmwp-row/002-knowledge-management.vtt was edited "
        "since it was drafted: it is kept; run with --force to transcribe again and replace it"
    )
    assert vtt.read_text(encoding="utf-8") == corrected
    podcast(network, "transcribe", EPISODE, "--model", "tiny.en", "--force", ok=True)
    assert vtt.read_text(encoding="utf-8") == drafted


def test_a_transcript_of_the_producers_own_is_kept(network):
    episode = network / EPISODE
    own = episode.parent / "by-hand.srt"
    own.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n", encoding="utf-8")
    set_transcript(episode, "by-hand.srt")
    before = episode.read_bytes()
    refused = podcast(network, "transcribe", EPISODE, "--model", "tiny.en")
    assert refused.exit_code == 1
    assert "episodes/itsmwp-row/by-hand.srt is not a draft: it is kept" in refused.stderr
    assert episode.read_bytes() == before and not episode.with_suffix(".vtt").exists()


def test_a_master_without_speech_writes_nothing_and_warns(network):
    quiet = network / "episodes/itsmwp-row/room.wav"
    ffmpeg.run(["-f", "lavfi", "-i", "anoisesrc=d=12:c=pink:a=0.003", str(quiet)], about=quiet)
    episode = network / EPISODE
    edit(episode, "audio: clip.wav", "audio: room.wav")
    before = episode.read_bytes()
    ran = podcast(network, "transcribe", EPISODE, "--model", "tiny.en", ok=True)
    assert "warning: " in ran.stderr and "no speech" in ran.stderr
    assert episode.read_bytes() == before and not episode.with_suffix(".vtt").exists()


def test_an_english_only_model_and_another_language_is_one_line(network):
    ran = podcast(network, "transcribe", EPISODE, "--model", "tiny.en", "--language", "de")
    assert ran.exit_code == 1
    assert ran.stderr.strip().startswith('--language: "de": the tiny.en model transcribes')
    assert len(ran.stderr.strip().splitlines()) == 1


def test_without_the_extra_one_line_says_what_to_install(network, monkeypatch):
    monkeypatch.setattr(recognition, "_PACKAGES", ("podcast_tools_no_such_package",))
    ran = podcast(network, "transcribe", EPISODE)
    assert ran.exit_code == 1
    assert ran.stderr.strip() == (
        'speech recognition needs the optional extra: pip install "podcast_tools[transcribe]"'
    )
    assert podcast(network, "validate", ok=True).exit_code == 0


def test_words_are_mapped_through_trim_cuts_and_intro():
    rate = 1000
    plan = EditPlan(
        sample_rate=rate,
        master_frames=20 * rate,
        segments=(Segment(2 * rate, 8 * rate), Segment(10 * rate, 18 * rate)),
        cuts=(Segment(8 * rate, 10 * rate),),
        intro_frames=5 * rate,
        intro_overlap=rate,
    )
    words = [
        Word(1.0, 1.5, "trimmed"),
        Word(2.5, 3.0, "first"),
        Word(8.5, 9.0, "cut"),
        Word(10.5, 11.0, "after"),
        Word(18.5, 19.0, "tail"),
    ]
    assert map_words(plan, words) == [Word(4.5, 5.0, "first"), Word(10.5, 11.0, "after")]
