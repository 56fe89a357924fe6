"""The true-peak limiter: peaks held at the ceiling, everything else untouched, any chunking."""

from __future__ import annotations

import numpy as np
import pytest

from podcast_tools.audio.limiter import TruePeakLimiter
from podcast_tools.audio.meter import db, true_peak

RATE = 44100


def programme() -> np.ndarray:
    rng = np.random.default_rng(7)
    quiet = (rng.standard_normal((RATE * 8, 2)) * 0.02).astype(np.float32)
    quiet[RATE : RATE + 400] *= 30  # a loud click
    quiet[3 * RATE : 4 * RATE] *= 12  # a loud second
    return quiet


def run(limiter: TruePeakLimiter, pcm: np.ndarray, chunk: int) -> np.ndarray:
    parts = [limiter.process(pcm[i : i + chunk]) for i in range(0, pcm.shape[0], chunk)]
    return np.concatenate([*parts, limiter.flush()])


@pytest.mark.parametrize("chunk", [997, 65536])
def test_peaks_held_at_ceiling_rest_untouched(chunk: int):
    pcm = programme()
    ceiling = 10 ** (-1.5 / 20)
    limiter = TruePeakLimiter(gain=2.0, ceiling=ceiling, sample_rate=RATE, channels=2)
    out = run(limiter, pcm, chunk)
    assert out.shape == pcm.shape
    assert db(true_peak(out)) <= -1.5 + 0.01
    assert db(true_peak(pcm * 2.0)) > 0  # it had real work to do
    calm = slice(int(6.5 * RATE), 8 * RATE - 4000)  # long after the loud parts: pure gain
    np.testing.assert_allclose(out[calm], pcm[calm] * 2.0, rtol=1e-6)
    assert limiter.stats.max_reduction_db > 6
    assert 0 < limiter.stats.limited_fraction < 0.5


def test_chunking_does_not_change_the_output():
    pcm = programme()
    outputs = [
        run(TruePeakLimiter(gain=2.0, ceiling=0.8, sample_rate=RATE, channels=2), pcm, chunk)
        for chunk in (1000, 4096, 50000)
    ]
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-6)
    np.testing.assert_allclose(outputs[0], outputs[2], atol=1e-6)


def test_gain_curve_is_smooth_around_a_peak():
    pcm = np.full((RATE, 1), 0.1, dtype=np.float32)
    pcm[RATE // 2] = 0.9  # one sample spike
    out = run(TruePeakLimiter(gain=1.0, ceiling=0.5, sample_rate=RATE, channels=1), pcm, 4096)
    gain = out[:, 0] / pcm[:, 0]
    assert gain.min() == pytest.approx(0.5 / 0.9, rel=0.05)  # reduced at the spike itself
    assert np.abs(np.diff(gain)).max() < 0.05  # no steps: attack and release ramps
    assert gain[RATE // 2 - 200] == pytest.approx(1.0)  # nothing long before
