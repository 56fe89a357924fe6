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
from podcast_tools.pipeline.drafts import edits_of, set_transcript
from podcast_tools.pipeline.transcripts import heard_words
from podcast_tools.transcript import Word, parse_json, parse_vtt
from tests.conftest import edit, podcast

EPISODE = "episodes/itsmwp-row/002-knowledge-management.md"


@pytest.fixture
def network(sample: Path, clip, model_cache) -> Path:
    """The sample network, one episode's master replaced by the two-voice clip."""
    pytest.importorskip("faster_whisper")
    path, _ = clip
    shutil.copyfile(path, sample / "episodes/itsmwp-row/clip.wav")
    edit(sample / EPISODE, "audio: 002-knowledge-management.flac", "audio: clip.wav")
    return sample


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_ctrl_c_leaves_no_draft_and_no_cache_entry(network, tiny, tmp_path, monkeypatch):
    from podcast_tools.media_checks import load_checked_network
    from podcast_tools.pipeline.drafts import transcribe_episode

    cache = tmp_path / "words"  # this test's own cache of recognised words
    monkeypatch.setenv("PODCAST_TRANSCRIPT_CACHE", str(cache))

    loaded = load_checked_network(network)
    episode = loaded.episode_at(network / EPISODE)
    before = episode.path.read_bytes()

    def interrupt(label: str, done_s: float, total_s: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        transcribe_episode(loaded, episode, tiny, None, progress=interrupt)
    assert episode.path.read_bytes() == before
    assert not episode.path.with_suffix(".vtt").exists()
    assert not episode.path.with_suffix(".json").exists()
    assert not cache.exists() or list(cache.iterdir()) == []
    assert [p.name for p in episode.path.parent.iterdir() if p.name.startswith(".")] == []


@pytest.mark.slow
def test_the_show_s_model_and_language_are_the_defaults(network):
    toml = network / "episodes/network.toml"
    edit(
        toml, 'transcripts = { auto = true, model = "base" }', 'transcripts = { model = "tiny.en" }'
    )
    ran = podcast(network, "transcribe", EPISODE, ok=True)
    assert "; tiny.en, en): a machine draft" in ran.stdout
    edit(
        toml,
        'transcripts = { model = "tiny.en" }',
        'transcripts = { model = "tiny.en", language = "fr" }',
    )
    ran = podcast(network, "transcribe", EPISODE)
    assert ran.exit_code == 1
    assert (
        'episodes/network.toml: shows.itsmwp-row.transcripts.language: "fr": the tiny.en'
        in ran.stderr
    )


@pytest.mark.slow
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
    # a JSON file of the producer's where the draft's would go is kept too
    edit(episode, "transcript: by-hand.srt\n", "")
    episode.with_suffix(".json").write_text("{}", encoding="utf-8")
    refused = podcast(network, "transcribe", EPISODE, "--model", "tiny.en")
    assert "002-knowledge-management.json is not a draft's: it is kept" in refused.stderr
    assert episode.with_suffix(".json").read_text(encoding="utf-8") == "{}"


@pytest.mark.slow
def test_a_master_without_speech_writes_nothing_and_warns(network):
    quiet = network / "episodes/itsmwp-row/room.wav"
    ffmpeg.run(["-f", "lavfi", "-i", "anoisesrc=d=12:c=pink:a=0.003", str(quiet)], about=quiet)
    episode = network / EPISODE
    edit(episode, "audio: clip.wav", "audio: room.wav")
    before = episode.read_bytes()
    ran = podcast(network, "transcribe", EPISODE, "--model", "tiny.en", ok=True)
    assert "warning: " in ran.stderr and "no speech" in ran.stderr
    assert episode.read_bytes() == before and not episode.with_suffix(".vtt").exists()


@pytest.mark.slow
def test_an_english_only_model_and_another_language_is_one_line(network):
    ran = podcast(network, "transcribe", EPISODE, "--model", "tiny.en", "--language", "de")
    assert ran.exit_code == 1
    [line] = [x for x in ran.stderr.strip().splitlines() if not x.startswith("transcribing ")]
    assert line.startswith('--language: "de": the tiny.en model transcribes English only')


@pytest.mark.slow
def test_one_failed_episode_does_not_stop_the_others(network):
    # the Rest-of-World show speaks German: tiny.en cannot do it; the other episode is done
    edit(
        network / "episodes/network.toml",
        'title = "IT Service Management Weekly: Rest of World"',
        'title = "IT Service Management Weekly: Rest of World"\nlanguage = "de"',
    )
    other = "episodes/itsmwp/003-service-desk-metrics.md"
    shutil.copyfile(network / "episodes/itsmwp-row/clip.wav", network / "episodes/itsmwp/clip.wav")
    edit(network / other, "audio: 003-service-desk-metrics.opus", "audio: clip.wav")
    ran = podcast(network, "transcribe", EPISODE, other, "--model", "tiny.en")
    assert ran.exit_code == 1
    assert 'episodes/network.toml: shows.itsmwp-row.language: "de": the tiny.en model' in ran.stderr
    assert (network / other).with_suffix(".vtt").is_file()
    assert "003-service-desk-metrics.vtt" in ran.stdout
    assert not (network / EPISODE).with_suffix(".vtt").exists()


@pytest.mark.slow
def test_without_the_extra_one_line_says_what_to_install(network, monkeypatch):
    monkeypatch.setattr(recognition, "_PACKAGES", ("podcast_tools_no_such_package",))
    ran = podcast(network, "transcribe", EPISODE)
    assert ran.exit_code == 1
    assert ran.stderr.strip() == (
        'speech recognition needs the optional extra: pip install "podcast_tools[transcribe]"'
    )
    # the other commands work without it (where no show turns machine transcripts on)
    edit(
        network / "episodes/network.toml",
        "transcripts = { auto = true",
        "transcripts = { auto = false",
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
    assert heard_words(words, edits_of(plan)) == [
        Word(4.5, 5.0, "first"),
        Word(10.5, 11.0, "after"),
    ]


# --- validate: the transcripts episodes name -------------------------------------------------------

CUES = [(1.0, 2.0, "One."), (2.5, 4.0, "Two."), (4.5, 6.0, "Three.")]


def _with_transcript(sample: Path, cues, suffix: str = ".vtt") -> Path:
    from podcast_tools.transcript import Cue, write_json, write_srt, write_vtt

    writer = {".vtt": write_vtt, ".srt": write_srt, ".json": write_json}[suffix]
    episode = sample / EPISODE
    transcript = episode.with_suffix(suffix)
    transcript.write_text(writer([Cue(a, b, t) for a, b, t in cues]), encoding="utf-8")
    set_transcript(episode, transcript.name)
    return transcript


@pytest.mark.parametrize("suffix", [".vtt", ".srt", ".json"])
def test_validate_accepts_a_transcript_in_order_within_the_audio(sample, suffix):
    _with_transcript(sample, CUES, suffix)
    podcast(sample, "validate", ok=True)


@pytest.mark.parametrize(
    ("cues", "says"),
    [
        (
            [(1.0, 2.0, "One."), (0.5, 0.9, "Zero."), (3.0, 4.0, "Two.")],
            (
                "cue 2 (0:00:00.500) starts before the cue before it (0:00:01.000): cues go in "
                "time order"
            ),
        ),
        (
            [(1.0, 2.0, "One."), (1.5, 3.0, "Two.")],
            (
                "cue 2 (0:00:01.500) starts before the cue before it ends (0:00:02.000): cues "
                "must not overlap"
            ),
        ),
        ([(1.0, 2.0, "One."), (400.0, 401.0, "Late.")], "cue 2 (0:06:40.000) ends at 0:06:41.000"),
    ],
)
@pytest.mark.parametrize("suffix", [".vtt", ".srt"])
def test_validate_names_the_cue_out_of_order_overlapping_or_past_the_audio(
    sample, cues, says, suffix
):
    _with_transcript(sample, cues, suffix)
    ran = podcast(sample, "validate")
    assert ran.exit_code == 1
    [line] = ran.stderr.strip().splitlines()
    name = f"episodes/itsmwp-row/002-knowledge-management{suffix}"
    assert line.startswith(f"{EPISODE}: transcript: {name}: {says}")


def test_validate_allows_ten_milliseconds_of_overlap_and_the_jingles(sample):
    # the master of this episode is 18.08 s; with intro: false only the show's 3 s outro is
    # added to it
    episode = sample / EPISODE
    _with_transcript(sample, [(1.0, 2.0, "One."), (1.995, 20.5, "Two.")])
    podcast(sample, "validate", ok=True)
    _with_transcript(sample, [(1.0, 2.0, "One."), (2.5, 23.5, "Two.")])
    assert "after the end of the audio" in podcast(sample, "validate").stderr
    edit(episode, "intro: false  ", "# intro: false  ")  # the show's 3 s intro comes first
    podcast(sample, "validate", ok=True)


def test_validate_names_a_transcript_that_does_not_parse(sample):
    transcript = _with_transcript(sample, CUES)
    transcript.write_text("WEBVTT\n\n00:01.000 --> 00:00.500\nBackwards\n", encoding="utf-8")
    ran = podcast(sample, "validate")
    assert ran.exit_code == 1
    assert ran.stderr.strip() == (
        f"{EPISODE}: transcript: episodes/itsmwp-row/002-knowledge-management.vtt: line 3: "
        '"00:01.000 --> 00:00.500": the cue ends before it starts'
    )
