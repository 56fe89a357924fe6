"""The speech leveler (podcast_tools.audio.leveler): the real webrtcvad on generated speech
(espeak-ng voices, tests/interview.py), real ffmpeg, through `master()` as a show runs it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pydantic
import pytest

from benchmarks.leveler import leveling_metrics
from podcast_tools import ffmpeg
from podcast_tools.audio import leveler
from podcast_tools.audio.leveler import Leveler, LevelerSettings, level_speech, leveling_for
from podcast_tools.audio.master import MasteringSettings, master
from podcast_tools.audio.meter import integrated_loudness
from podcast_tools.audio.pcm import pcm_chunks
from podcast_tools.audio.speech import (
    SpeechAnalysis,
    analyse_speech,
    speech_regions,
    speech_stretches,
)
from podcast_tools.audio.stages import STAGES, StageContext, stage_specs
from podcast_tools.content.models import STAGE_SETTINGS
from podcast_tools.layout import file_hash
from tests.audio_tools import ffmpeg_loudness
from tests.interview import have_espeak, make_interview, pink_noise, write_wav

needs_espeak = pytest.mark.skipif(not have_espeak(), reason="espeak-ng is not installed")
LEVELED = MasteringSettings(stages=(("leveler", LevelerSettings()),))


@pytest.fixture(scope="module")
def interview(tmp_path_factory):
    if not have_espeak():
        pytest.skip("espeak-ng is not installed")
    return make_interview(tmp_path_factory.mktemp("interview") / "interview.wav", turns=3)


@pytest.fixture(scope="module")
def mastered(interview, tmp_path_factory):
    """The interview mastered without and with the leveler: {name: (mp3, report)}."""
    folder = tmp_path_factory.mktemp("mastered")
    done = {}
    for name, settings in (("plain", MasteringSettings()), ("leveled", LEVELED)):
        out = folder / f"{name}.mp3"
        done[name] = (out, master(interview.path, out, settings))
    return done


def _run_stage(path: Path, settings: LevelerSettings, *, chunk_frames: int = 1 << 16):
    """The stage's output over the whole master, as the chain runs it (44.1 kHz stereo)."""
    stage = Leveler(settings, StageContext(path, 44100, 2))
    stage.prepare()
    out = [
        stage.process(block)
        for block in pcm_chunks(path, sample_rate=44100, channels=2, chunk_frames=chunk_frames)
    ]
    out.append(stage.flush())
    return np.concatenate(out), stage


# --- settings and registration ------------------------------------------------------------------


def test_the_leveler_is_a_registered_stage_with_bounded_settings():
    assert STAGES["leveler"] is Leveler and STAGE_SETTINGS["leveler"] is LevelerSettings
    assert (Leveler.name, Leveler.version) == ("leveler", "1")
    defaults = LevelerSettings()
    assert (defaults.max_boost_db, defaults.max_cut_db) == (12.0, 12.0)
    assert [name for name, _ in stage_specs({"leveler": defaults})] == ["leveler"]
    for field in ("max_boost_db", "max_cut_db", "max_speed_db_per_s"):
        assert LevelerSettings.model_fields[field].description
        with pytest.raises(pydantic.ValidationError, match=field):
            LevelerSettings(**{field: 30.0})
        with pytest.raises(pydantic.ValidationError, match=field):
            LevelerSettings(**{field: -1.0})


# --- the pure parts -----------------------------------------------------------------------------


def test_speech_regions_merge_short_gaps_and_leave_out_clicks():
    speech = np.zeros(400, dtype=bool)
    speech[10:60] = True  # a phrase ...
    speech[80:120] = True  # ... and the next, 0.2 s later: one region
    speech[200:205] = True  # a click, alone
    speech[300:390] = True
    assert speech_regions(speech) == [(10, 120), (300, 390)]
    assert speech_regions(np.zeros(50, dtype=bool)) == []


def test_speech_stretches_report_loudness_as_recorded_and_the_gain_each_got():
    speech = np.zeros(600, dtype=bool)
    speech[0:200] = speech[300:600] = True
    loudness = np.full(600, -40.0, dtype=np.float32)
    loudness[0:200], loudness[300:600] = -20.0, -30.0
    gain = np.zeros(600, dtype=np.float32)
    gain[300:600] = 10.0
    stretches = speech_stretches(speech, loudness, gain)
    assert stretches == [
        {"start_s": 0.0, "end_s": 2.0, "before_lufs": -20.0, "gain_db": 0.0},
        {"start_s": 3.0, "end_s": 6.0, "before_lufs": -30.0, "gain_db": 10.0},
    ]
    # short ones are left out; without a gain, none is reported
    assert speech_stretches(speech, loudness, min_s=2.5) == [
        {"start_s": 3.0, "end_s": 6.0, "before_lufs": -30.0}
    ]


def _synthetic(levels_db: list[tuple[float, float]], pause_s: float = 1.0) -> SpeechAnalysis:
    """Speech-like frame records: (seconds, LUFS) stretches with syllables (±6 dB every
    100 ms), pauses of room tone at −60 LUFS between them."""
    loudness, voiced = [], []
    for seconds, level in levels_db:
        frames = round(seconds * 100)
        syllables = level + 6.0 * np.sign(np.sin(np.arange(frames) * np.pi / 10 + 0.1))
        loudness += [syllables, np.full(round(pause_s * 100), -60.0)]
        voiced += [np.ones(frames, bool), np.zeros(round(pause_s * 100), bool)]
    return SpeechAnalysis(
        np.concatenate(loudness).astype(np.float32), np.concatenate(voiced).astype(bool)
    )


def test_the_gain_evens_out_speakers_within_its_bounds_and_speed():
    analysis = _synthetic([(6, -20.0), (6, -32.0), (6, -20.0), (6, -32.0)])
    settings = LevelerSettings()
    result = level_speech(analysis, settings)
    gain = result.gain_db.astype(np.float64)
    assert gain.size == analysis.frames
    host, guest = gain[100:600], gain[800:1300]
    assert np.median(guest) - np.median(host) == pytest.approx(12.0, abs=0.5)
    assert gain.max() <= settings.max_boost_db and gain.min() >= -settings.max_cut_db
    # inside a stretch of speech the gain moves at most max_speed_db_per_s
    step = settings.max_speed_db_per_s * 0.01 + 1e-6
    for start in (0, 700, 1400, 2100):
        assert np.abs(np.diff(gain[start + 5 : start + 590])).max() <= step
    # tighter bounds: the guest is raised by at most 3 dB, the host cut by at most 3
    tight = level_speech(analysis, LevelerSettings(max_boost_db=3, max_cut_db=3)).gain_db
    assert tight.max() <= 3.0 + 1e-6 and tight.min() >= -3.0 - 1e-6
    assert result.findings["speech_found"] is True
    json.dumps(result.findings)


def test_pauses_are_never_raised_above_the_speech_around_them():
    analysis = _synthetic([(6, -20.0), (6, -32.0), (6, -20.0)], pause_s=3.0)
    gain = level_speech(analysis, LevelerSettings()).gain_db
    host_gain, guest_gain = float(np.median(gain[100:500])), float(np.median(gain[1000:1400]))
    # the pause after the guest eases down to the host's gain (the loudest speech's) ...
    after_guest = gain[1500 + 60 : 1800 - 60]
    assert after_guest.max() <= guest_gain + 1e-3
    assert np.median(after_guest) == pytest.approx(host_gain, abs=0.3)
    # ... and the pause before the guest stays at the host's until a short ramp to the onset
    before_guest = gain[600:900]
    assert before_guest[:-45].max() <= host_gain + 0.3
    assert before_guest.max() <= guest_gain + 1e-3


def test_steady_music_is_not_speech_and_keeps_its_own_dynamics():
    """A music bed between two stretches of speech: webrtcvad takes it for voice, but it does not
    swing the way speech does — its gain is the pauses' (held), its swells stay as they were."""
    speech = _synthetic([(6, -20.0)], pause_s=0.0)
    music_frames = 800
    swell = -25.0 + 3.0 * np.sin(np.arange(music_frames) * 2 * np.pi / 400)
    jitter = np.random.default_rng(5).uniform(-1.0, 1.0, music_frames)
    guest = _synthetic([(6, -32.0)], pause_s=1.0)
    analysis = SpeechAnalysis(
        np.concatenate([speech.loudness, swell + jitter, guest.loudness]).astype(np.float32),
        np.concatenate([speech.voiced, np.ones(music_frames, bool), guest.voiced]),
    )
    result = level_speech(analysis, LevelerSettings())
    # (the speech's second of neighbourhood reaches half a second into the music)
    on_music = result.gain_db[600 + 100 : 600 + music_frames - 100]
    assert on_music.max() - on_music.min() < 0.01
    assert on_music.max() <= result.gain_db[300] + 1e-3  # not above the speech before it
    spans = [(s["start_s"], s["end_s"]) for s in result.findings["stretches"]]
    assert spans == [pytest.approx((0.0, 6.0), abs=0.6), pytest.approx((14.0, 20.0), abs=0.6)]


# --- the real thing -----------------------------------------------------------------------------


@needs_espeak
@pytest.mark.slow
def test_the_analysis_measures_loudness_as_the_meter_does(interview):
    analysis = analyse_speech(interview.path, 44100, 2)
    assert analysis.frames == pytest.approx(interview.mix.size / interview.rate * 100, abs=2)
    energy = 10 ** ((analysis.loudness.astype(np.float64) + 0.691) / 10) * 160
    ours = integrated_loudness(energy.astype(np.float32), 160)
    assert ours == pytest.approx(ffmpeg_loudness(interview.path)["I"], abs=0.5)


@needs_espeak
@pytest.mark.slow
def test_the_leveler_evens_out_host_and_guest_through_mastering(interview, mastered):
    plain = leveling_metrics(mastered["plain"][0], interview)
    leveled = leveling_metrics(mastered["leveled"][0], interview)
    assert plain["gap"] > 8.0  # the guest recorded 12 dB down
    assert abs(leveled["gap"]) <= 1.5
    # the room tone, relative to the speech, is not lifted
    assert leveled["room"] <= plain["room"] + 2.0
    # the gain moves inside speech no faster than without the leveler + 6 dB/s
    assert leveled["rate95"] <= plain["rate95"] + 6.0
    settings = mastered["leveled"][1].settings
    assert leveled["I"] == pytest.approx(settings.target_lufs, abs=0.3)
    assert leveled["TP"] <= settings.true_peak_dbtp


@needs_espeak
@pytest.mark.slow
def test_the_findings_name_each_stretch_of_speech_and_the_gain_curve(interview):
    leveler._MEMO.clear()
    out, stage = _run_stage(interview.path, LevelerSettings())
    found = stage.findings()
    json.dumps(found)
    assert found["speech_found"] is True
    assert found["speech_s"] == pytest.approx(
        (interview.host | interview.guest).sum() / interview.rate, rel=0.25
    )
    duration = interview.mix.size / interview.rate
    assert found["curve_step_s"] == 0.5
    assert len(found["gain_db"]) == pytest.approx(duration / 0.5, abs=1)
    stretches = found["stretches"]
    assert len(stretches) == len(interview.turns)
    for stretch, (who, start, end) in zip(stretches, interview.turns):
        assert stretch["start_s"] == pytest.approx(start, abs=0.15)
        assert stretch["end_s"] == pytest.approx(end, abs=0.25)
    hosts = [s for s, (who, *_) in zip(stretches, interview.turns) if who == "host"]
    guests = [s for s, (who, *_) in zip(stretches, interview.turns) if who == "guest"]
    gap = np.mean([s["before_lufs"] for s in hosts]) - np.mean([s["before_lufs"] for s in guests])
    assert gap == pytest.approx(12.0, abs=1.0)
    after = [s["before_lufs"] + s["gain_db"] for s in stretches]
    assert max(after) - min(after) <= 1.0
    assert out.shape == (interview.mix.size, 2) and out.dtype == np.float32


@needs_espeak
@pytest.mark.slow
def test_the_stage_is_deterministic_and_blind_to_block_sizes(interview):
    leveler._MEMO.clear()
    first, _ = _run_stage(interview.path, LevelerSettings())
    leveler._MEMO.clear()  # analysed again from scratch
    again, _ = _run_stage(interview.path, LevelerSettings())
    odd_blocks, _ = _run_stage(interview.path, LevelerSettings(), chunk_frames=4999)
    assert np.array_equal(first, again)
    assert np.array_equal(first, odd_blocks)


@needs_espeak
@pytest.mark.slow
def test_both_passes_share_one_analysis(interview, monkeypatch):
    leveler._MEMO.clear()
    calls = []
    real = leveler.analyse_speech
    monkeypatch.setattr(leveler, "analyse_speech", lambda *a: calls.append(a) or real(*a))
    first = leveling_for(interview.path, LevelerSettings(), 44100, 2)
    assert leveling_for(interview.path, LevelerSettings(), 44100, 2) is first
    assert len(calls) == 1
    leveling_for(interview.path, LevelerSettings(max_boost_db=6), 44100, 2)  # other settings
    assert len(calls) == 2
    os.utime(interview.path, ns=(1, 1))  # the file changed
    leveling_for(interview.path, LevelerSettings(), 44100, 2)
    assert len(calls) == 3 and len(leveler._MEMO) == 2


@needs_espeak
@pytest.mark.slow
def test_an_mp3_master_into_a_48_khz_mono_chain_is_heard_alike(interview, tmp_path):
    mp3 = tmp_path / "interview.mp3"
    ffmpeg.run(
        ["-i", ffmpeg.input_url(interview.path), "-c:a", "libmp3lame", "-b:a", "128k"]
        + ["-y", ffmpeg.input_url(mp3)],
        about=mp3,
    )
    wav = level_speech(analyse_speech(interview.path, 44100, 2), LevelerSettings()).findings
    mono = level_speech(analyse_speech(mp3, 48000, 1), LevelerSettings()).findings
    assert mono["speech_s"] == pytest.approx(wav["speech_s"], rel=0.05)
    assert len(mono["stretches"]) == len(wav["stretches"]) == len(interview.turns)
    # ffmpeg's downmix keeps a centred mix's loudness (an MP3 of it, within a fraction of a dB)
    assert mono["programme_speech_lufs"] == pytest.approx(wav["programme_speech_lufs"], abs=1.0)
    for a, b in zip(mono["stretches"], wav["stretches"]):
        assert a["gain_db"] == pytest.approx(b["gain_db"], abs=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pink noise", "tone", "chord"])
def test_a_master_without_speech_is_mastered_as_without_the_leveler(tmp_path, kind):
    rate = 44100
    t = np.arange(12 * rate) / rate
    signal = {
        "pink noise": 0.05 * pink_noise(t.size, np.random.default_rng(3)),
        "tone": 0.1 * np.sin(2 * np.pi * 440 * t),
        "chord": 0.05 * sum(np.sin(2 * np.pi * f * t) for f in (220, 277.2, 329.6, 440)),
    }[kind]
    source = write_wav(tmp_path / "master.wav", signal * np.minimum(1, t))
    leveler._MEMO.clear()
    master(source, tmp_path / "plain.mp3", MasteringSettings())
    master(source, tmp_path / "leveled.mp3", LEVELED)
    assert file_hash(tmp_path / "plain.mp3") == file_hash(tmp_path / "leveled.mp3")
    found = leveling_for(source, LevelerSettings(), 44100, 2).findings
    assert found["speech_found"] is False
    assert found["gain_db"] == [] and found["stretches"] == []
    json.dumps(found)
