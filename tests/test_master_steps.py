"""The three steps of mastering, each run alone on short masters made by ffmpeg's synthetic sources:
analyse (pass 1), plan_master, render (pass 2)."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import threading
import weakref
from pathlib import Path

import pytest

from podcast_tools.audio import master as master_module
from podcast_tools.audio.master import (
    Analysis,
    EditDecisions,
    MasteringSettings,
    MasterPlan,
    analyse,
    master,
    plan_master,
    render,
)
from podcast_tools.audio.plan import PlanError
from podcast_tools.audio.synth import speech_like_master
from podcast_tools.errors import AudioInputError
from tests.audio_tools import decode, ffmpeg_loudness, synth

SETTINGS = MasteringSettings()  # 44.1 kHz stereo, −16 LUFS, −1 dBTP
SECONDS, SILENCE_S = 20, 3  # speech from 3 s to 17 s, near-silence around it


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    """20 s of speech-like stereo at about −24 LUFS, 3 s of near-silence at each end."""
    folder = tmp_path_factory.mktemp("speech")
    return speech_like_master(folder / "master.wav", SECONDS, silence_s=SILENCE_S)


@pytest.fixture(scope="module")
def speech_analysis(speech: Path) -> Analysis:
    """One analysis for the module; tests hand plan_master a copy (it takes the frames out)."""
    return analyse(speech, SETTINGS)


def fresh(analysis: Analysis) -> Analysis:
    return dataclasses.replace(analysis)


def frame_names(excinfo: pytest.ExceptionInfo) -> set[str]:
    return {entry.name for entry in excinfo.traceback}


# analyse


def test_analyse_measures_duration_loudness_and_peaks(tmp_path: Path):
    # A 1 kHz sine at 0.1 in both channels: 20·log10(0.1) = −20 LUFS (BS.1770 reads a full-scale
    # 1 kHz sine in one channel as −3.01 LUFS), 10 ms frames of energy, sample peaks of 0.1.
    source = synth(
        tmp_path / "sine.wav", "0.1*sin(2*PI*1000*t)|0.1*sin(2*PI*1000*t)", seconds=5, rate=44100
    )
    seen: list[tuple[str, float, float]] = []
    analysis = analyse(
        source, SETTINGS, lambda stage, done, total: seen.append((stage, done, total))
    )
    assert analysis.master_frames == 5 * 44100
    assert analysis.duration_s == pytest.approx(5.0)
    lufs = analysis.source_figures.integrated_lufs
    assert math.isfinite(lufs)
    assert lufs == pytest.approx(-20.0, abs=0.1)
    assert lufs == pytest.approx(ffmpeg_loudness(source)["I"], abs=0.2)
    assert analysis.energy is not None and analysis.energy.size == 500  # one per 10 ms
    assert analysis.frame_peaks is not None and analysis.frame_peaks.size == 500
    assert float(analysis.frame_peaks.max()) == pytest.approx(0.1, abs=1e-3)
    assert analysis.excerpts  # something for the codec-loss probe
    assert {stage for stage, _, _ in seen} == {"analyse"}
    assert seen[-1][1] == pytest.approx(5.0) and seen[-1][2] == pytest.approx(5.0)


def test_analyse_rejects_a_silent_master(tmp_path: Path):
    source = synth(tmp_path / "silent.wav", "0|0", seconds=3, rate=44100)
    with pytest.raises(AudioInputError, match="silent"):
        analyse(source, SETTINGS)


def test_analyse_rejects_a_master_shorter_than_a_second(tmp_path: Path):
    source = synth(tmp_path / "short.wav", "0.1*sin(2*PI*440*t)", seconds=0.5, rate=44100)
    with pytest.raises(AudioInputError, match="only 0.50 s"):
        analyse(source, SETTINGS)


def test_master_names_the_analyse_step_in_its_traceback(tmp_path: Path):
    source = synth(tmp_path / "silent.wav", "0|0", seconds=3, rate=44100)
    with pytest.raises(AudioInputError) as caught:
        master(source, tmp_path / "out.mp3", SETTINGS)
    assert "analyse" in frame_names(caught)
    assert not (tmp_path / "out.mp3").exists()


# plan_master


def test_plan_master_trims_cuts_and_places_chapters(speech_analysis: Analysis):
    edits = EditDecisions(cuts_s=((8.0, 10.0),), chapters=((5.0, "One"), (12.0, "Two")))
    steps = plan_master(fresh(speech_analysis), SETTINGS, edits)
    assert isinstance(steps, MasterPlan)
    head = steps.plan.head_trimmed_s
    assert head == pytest.approx(SILENCE_S - SETTINGS.silence_pad_s, abs=0.15)
    assert [c.title for c in steps.chapters] == ["One", "Two"]
    assert steps.chapters[0].output_s == pytest.approx(5.0 - head, abs=0.01)
    assert steps.chapters[1].output_s == pytest.approx(12.0 - head - 2.0, abs=0.01)
    # the programme's frames cover the output, and the gain brings it to the target
    assert steps.programme_energy.size == -(-steps.plan.total_frames // steps.frame_len)
    assert steps.programme_peaks.size == steps.programme_energy.size
    assert math.isfinite(steps.before_lufs)
    assert steps.gain_db == pytest.approx(SETTINGS.target_lufs - steps.before_lufs, abs=1.5)
    assert -1.0 <= steps.codec_loss_lu <= 1.0
    assert steps.ceiling == pytest.approx(10 ** ((-1.0 - 0.7) / 20))


def test_plan_master_rejects_a_chapter_inside_a_cut(speech_analysis: Analysis):
    edits = EditDecisions(cuts_s=((8.0, 10.0),), chapters=((9.0, "Gone"),))
    with pytest.raises(PlanError) as caught:
        plan_master(fresh(speech_analysis), SETTINGS, edits)
    assert caught.value.field == "chapters[1].start"


def test_plan_master_refuses_more_gain_than_max_gain_db(speech_analysis: Analysis):
    # The speech is about −24 LUFS: −16 takes about +8 dB, more than the 4 dB allowed here.
    settings = dataclasses.replace(SETTINGS, max_gain_db=4.0)
    with pytest.raises(PlanError, match="max_gain_db") as caught:
        plan_master(fresh(speech_analysis), settings)
    assert caught.value.field == "audio"
    # the same analysis plans fine with room for the gain; trimming silence barely moves the
    # loudness (the gates see a little less near-silence)
    steps = plan_master(fresh(speech_analysis), SETTINGS)
    assert steps.gain_db > 4.0
    assert steps.before_lufs == pytest.approx(
        speech_analysis.source_figures.integrated_lufs, abs=0.4
    )


def test_plan_master_matches_a_jingle_to_the_speech(tmp_path: Path, speech_analysis: Analysis):
    intro = synth(
        tmp_path / "intro.wav", "0.5*sin(2*PI*440*t)|0.5*sin(2*PI*440*t)", seconds=2, rate=44100
    )
    settings = dataclasses.replace(SETTINGS, crossfade_s=0.0)  # no fade: the clip as it is
    steps = plan_master(fresh(speech_analysis), settings, EditDecisions(intro=intro))
    assert steps.intro_s == pytest.approx(2.0, abs=0.01)
    assert steps.plan.intro_frames == 2 * 44100
    # the jingle (about −6.7 LUFS) is brought down to the speech's level (about −24 LUFS)
    clip_lufs = ffmpeg_loudness(intro)["I"]
    speech_lufs = speech_analysis.source_figures.integrated_lufs
    assert steps.intro_gain_db == pytest.approx(speech_lufs - clip_lufs, abs=0.4)
    assert steps.intro_gain_db < -10


def test_plan_master_lets_the_master_frames_go(speech: Path, monkeypatch):
    analysis = analyse(speech, SETTINGS)
    energy, peaks = weakref.ref(analysis.energy), weakref.ref(analysis.frame_peaks)
    alive_during_probe: list[bool] = []
    real_probe = master_module.codec_loudness_loss

    def probe(*args, **kwargs):  # runs after the programme's frames are derived
        alive_during_probe.append(energy() is not None or peaks() is not None)
        return real_probe(*args, **kwargs)

    monkeypatch.setattr(master_module, "codec_loudness_loss", probe)
    steps = plan_master(analysis, SETTINGS)
    assert alive_during_probe == [False]  # dropped once the programme's frames were derived
    # neither the analysis nor the plan keeps the master's whole-length arrays alive
    assert analysis.energy is None and analysis.frame_peaks is None
    assert energy() is None and peaks() is None
    assert steps.programme_energy.size > 0
    with pytest.raises(RuntimeError, match="already taken"):
        plan_master(analysis, SETTINGS)


def test_master_names_the_plan_step_in_its_traceback(tmp_path: Path, speech: Path):
    settings = dataclasses.replace(SETTINGS, max_gain_db=4.0)
    with pytest.raises(PlanError) as caught:
        master(speech, tmp_path / "out.mp3", settings)
    assert "plan_master" in frame_names(caught)


# render


def test_render_writes_an_mp3_at_the_target_loudness(tmp_path: Path, speech: Path):
    steps = plan_master(analyse(speech, SETTINGS), SETTINGS)
    out = tmp_path / "rendered.mp3"
    seen: list[tuple[str, float, float]] = []
    rendering = render(
        speech, steps, SETTINGS, out, lambda stage, done, total: seen.append((stage, done, total))
    )
    assert rendering.frames == steps.plan.total_frames
    assert rendering.after.integrated_lufs == pytest.approx(
        SETTINGS.target_lufs + steps.codec_loss_lu, abs=0.3
    )
    assert rendering.after.true_peak_dbtp <= SETTINGS.true_peak_dbtp
    measured = ffmpeg_loudness(out)
    assert measured["I"] == pytest.approx(SETTINGS.target_lufs, abs=0.3)
    assert measured["TP"] <= SETTINGS.true_peak_dbtp
    decoded_s = decode(out).shape[0] / 44100
    assert decoded_s == pytest.approx(steps.plan.total_frames / 44100, abs=0.1)
    assert {stage for stage, _, _ in seen} == {"render"}


def _ffmpeg_children() -> dict[str, int]:
    """This process's ffmpeg children, decoder or encoder (by their output) → niceness (Linux
    /proc: the 19th field of /proc/<pid>/stat)."""
    found: dict[str, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, IndexError):
            continue  # ended meanwhile
        if int(fields[1]) == os.getpid() and b"ffmpeg" in command[0]:  # fields[1]: ppid
            found["decoder" if b"pipe:1" in command else "encoder"] = int(fields[16])
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread niceness is Linux's")
def test_render_decoder_runs_at_the_render_threads_lower_priority(tmp_path: Path):
    """The render yields the CPU to the encoder (the bottleneck): its thread runs at
    RENDER_NICENESS, and so must the decoder it starts; the encoder keeps the caller's."""
    source = speech_like_master(tmp_path / "master.mp3", 12, silence_s=1, codec_args=())
    steps = plan_master(analyse(source, SETTINGS), SETTINGS)  # an MP3: decoded by ffmpeg
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen: list[dict[str, int]] = []
    render(
        source, steps, SETTINGS, tmp_path / "out.mp3", lambda *_: seen.append(_ffmpeg_children())
    )
    both = [children for children in seen if len(children) == 2]
    assert both, f"never saw the decoder and the encoder running: {seen}"
    expected = {"decoder": max(caller, master_module.RENDER_NICENESS), "encoder": caller}
    assert all(children == expected for children in both), both


def test_render_notices_a_master_that_shrank_since_the_analysis(tmp_path: Path):
    source = speech_like_master(tmp_path / "master.wav", 10, silence_s=1)
    steps = plan_master(analyse(source, SETTINGS), SETTINGS)
    speech_like_master(source, 5, silence_s=1)  # replaced by a shorter file after planning
    with pytest.raises(AudioInputError, match="shorter than its first reading") as caught:
        render(source, steps, SETTINGS, tmp_path / "out.mp3")
    assert "render" in frame_names(caught)
