"""Our streaming BS.1770-4 meter against EBU Tech 3341-style signals and two references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from podcast_tools.audio.meter import LoudnessMeter, db, true_peak
from podcast_tools.audio.synth import speech_like_master
from tests.audio_tools import decode, ffmpeg_loudness, synth


def measure(pcm: np.ndarray, rate: int, chunk: int = 10007) -> LoudnessMeter:
    meter = LoudnessMeter(rate, pcm.shape[1])
    for start in range(0, pcm.shape[0], chunk):  # odd chunk size: state must carry across chunks
        meter.feed(pcm[start : start + chunk])
    return meter


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("level_dbfs", [-23.0, -33.0])
def test_sine_1khz_reads_its_level(tmp_path: Path, rate: int, level_dbfs: float):
    amplitude = 10 ** (level_dbfs / 20)
    wav = synth(
        tmp_path / "sine.wav",
        f"{amplitude}*sin(2*PI*1000*t)|{amplitude}*sin(2*PI*1000*t)",
        seconds=20,
        rate=rate,
        codec=("-c:a", "pcm_f32le"),
    )
    meter = measure(decode(wav, rate=rate), rate)
    assert meter.integrated_lufs() == pytest.approx(level_dbfs, abs=0.1)


def test_signal_mostly_below_the_gate(tmp_path: Path):
    # EBU Tech 3341 case 3 style: -36 / -23 / -36 dBFS for 10 / 60 / 10 s reads -23.0
    a36, a23 = 10 ** (-36 / 20), 10 ** (-23 / 20)
    level = f"if(between(t,10,70),{a23},{a36})"
    wav = synth(
        tmp_path / "gated.wav",
        f"{level}*sin(2*PI*1000*t)|{level}*sin(2*PI*1000*t)",
        seconds=80,
        codec=("-c:a", "pcm_f32le"),
    )
    assert measure(decode(wav, rate=48000), 48000).integrated_lufs() == pytest.approx(
        -23.0, abs=0.1
    )


def test_silence_has_no_loudness(tmp_path: Path):
    wav = synth(tmp_path / "quiet.wav", "0.00001*sin(2*PI*1000*t)", seconds=5)
    assert measure(decode(wav, rate=48000, channels=1), 48000).integrated_lufs() == -np.inf


@pytest.mark.parametrize("channels", [1, 2])
def test_speech_like_agrees_with_ffmpeg_and_pyloudnorm(tmp_path: Path, channels: int):
    wav = speech_like_master(tmp_path / "speech.wav", 30, channels=channels, silence_s=2)
    pcm = decode(wav, rate=44100, channels=channels)
    ours = measure(pcm, 44100)
    reference = ffmpeg_loudness(wav)
    by_pyloudnorm = pyloudnorm.Meter(44100).integrated_loudness(pcm.astype(np.float64))
    assert ours.integrated_lufs() == pytest.approx(reference["I"], abs=0.1)
    assert ours.integrated_lufs() == pytest.approx(by_pyloudnorm, abs=0.1)
    assert ours.loudness_range_lu() == pytest.approx(reference["LRA"], abs=0.5)


def test_true_peak_finds_the_inter_sample_peak(tmp_path: Path):
    # A sine at fs/4 with a 45° phase: every sample sits 3 dB under the waveform's peak.
    rate, amplitude = 48000, 0.5
    envelope = "min(1,min(t,2-t)*20)"  # fade in and out: no edges to ring
    wav = synth(
        tmp_path / "isp.wav",
        f"{amplitude}*{envelope}*sin(2*PI*{rate / 4}*t+PI/4)",
        seconds=2,
        rate=rate,
        codec=("-c:a", "pcm_f32le"),
    )
    pcm = decode(wav, rate=rate, channels=1)
    assert db(float(np.abs(pcm).max())) == pytest.approx(db(amplitude) - 3.01, abs=0.1)
    assert db(true_peak(pcm)) == pytest.approx(db(amplitude), abs=0.2)
    assert db(true_peak(pcm)) == pytest.approx(ffmpeg_loudness(wav)["TP"], abs=0.2)


def test_the_filter_loop_without_scipy_signal_equals_sosfilt(monkeypatch):
    """The meter loads SciPy's compiled filter loop alone (not `scipy.signal`, ~75 MB); it
    filters exactly as `scipy.signal.sosfilt`, and falls back to it when the loop is not found."""
    import subprocess
    import sys

    from scipy import signal

    from podcast_tools.audio import sosfilt as sosfilt_module
    from podcast_tools.audio.meter import k_weighting_sos

    sos = k_weighting_sos(44100).astype(np.float32)
    x = np.random.default_rng(7).standard_normal(50_000).astype(np.float32)
    state = np.random.default_rng(8).standard_normal((sos.shape[0], 2)).astype(np.float32)
    expected, expected_state = signal.sosfilt(sos, x, zi=state)
    got, got_state = sosfilt_module.sosfilt(sos, x, state)
    assert np.array_equal(got, expected) and np.array_equal(got_state, expected_state)
    assert got.dtype == np.float32 and got_state.dtype == np.float32
    monkeypatch.setattr(sosfilt_module, "_compiled_loop", lambda: None)
    fallback, fallback_state = sosfilt_module.sosfilt(sos, x, state)
    assert np.array_equal(fallback, expected) and np.array_equal(fallback_state, expected_state)
    probe = (
        "import sys, numpy as np\n"
        "from podcast_tools.audio.meter import LoudnessMeter\n"
        "with LoudnessMeter(44100, 2) as m:\n"
        "    m.feed(np.full((44100 * 3, 2), 0.1, np.float32))\n"
        "    assert m.integrated_lufs() < 0\n"
        "assert 'scipy.signal' not in sys.modules and 'scipy.stats' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)
