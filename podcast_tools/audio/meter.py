"""Streaming loudness (ITU-R BS.1770-4, EBU Tech 3341/3342) and true-peak measurement.

The numeric core takes arrays and sample rates, never paths. PCM is ``float32`` shaped
``(frames, channels)`` with full scale at ±1.0.

The meter keeps one number per 10 ms frame (the channel-weighted sum of squared K-weighted samples),
so memory grows by 8 bytes per 10 ms whatever the channel count, and any loudness of any span (the
whole programme, the part kept after trimming, an estimate after gain) is computed from those frames
without decoding again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import signal

#: BS.1770-4 §2.8: absolute gate for gating blocks.
ABSOLUTE_GATE_LUFS = -70.0
#: BS.1770-4: relative gate, below the ungated loudness.
RELATIVE_GATE_LU = -10.0
#: EBU Tech 3342: relative gate for the loudness range.
LRA_RELATIVE_GATE_LU = -20.0
FRAMES_PER_100MS = 10  # meter frames are 10 ms
OVERSAMPLING = 4  # BS.1770-4 Annex 2: true peak by 4× oversampling
_TP_HALF_TAPS = 8  # interpolator reaches 8 input samples each side


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """The K-weighting pre-filter (high shelf) and RLB high-pass as second-order sections.

    BS.1770-4 gives the coefficients at 48 kHz; for other rates the same analog prototypes are
    mapped with the bilinear transform (f0, gain and Q as fitted to the 48 kHz filters).
    """
    # Stage 1: high shelf, +4 dB above ~1.7 kHz (head acoustics).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf_b = [(vh + vb * k / q + k * k) / a0, 2.0 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0]
    shelf_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    # Stage 2: RLB weighting, a high-pass at ~38 Hz.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1.0 + k / q + k * k
    rlb_b = [1.0, -2.0, 1.0]
    rlb_a = [1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf_b + shelf_a, rlb_b + rlb_a])


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770-4 Table 3 weights, channels in ITU order L R C LFE Ls Rs (LFE is not measured)."""
    if channels == 6:
        return np.array([1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    return np.ones(channels)


def frame_length(sample_rate: int) -> int:
    """Samples in one 10 ms meter frame."""
    return round(sample_rate / 100)


class LoudnessMeter:
    """Feed PCM chunks in order; read per-10 ms frame energies and loudness figures."""

    def __init__(self, sample_rate: int, channels: int, *, track_peaks: bool = False):
        self.sample_rate = sample_rate
        self.track_peaks = track_peaks
        self.channels = channels
        self.frame_len = frame_length(sample_rate)
        self._sos = k_weighting_sos(sample_rate).astype(np.float32)
        self._state = np.zeros((self._sos.shape[0], channels, 2), dtype=np.float32)
        self._weights = channel_weights(channels).astype(np.float32)
        self._partial = np.zeros(0, dtype=np.float64)
        self._frames: list[np.ndarray] = []
        self._partial_peak = np.zeros(0, dtype=np.float32)
        self._peaks: list[np.ndarray] = []
        self.samples = 0

    def feed(self, pcm: np.ndarray) -> None:
        """Add `pcm` (frames × channels, float32) to the measurement."""
        if pcm.shape[0] == 0:
            return
        planar = np.ascontiguousarray(pcm.T, dtype=np.float32)
        if self.track_peaks:
            self._feed_peaks(planar)
        weighted, self._state = signal.sosfilt(self._sos, planar, axis=-1, zi=self._state)
        squared = np.einsum("c,cn,cn->n", self._weights, weighted, weighted, dtype=np.float64)
        if self._partial.size:
            squared = np.concatenate([self._partial, squared])
        whole = squared.size // self.frame_len * self.frame_len
        if whole:
            self._frames.append(squared[:whole].reshape(-1, self.frame_len).sum(axis=1))
        self._partial = squared[whole:]
        self.samples += pcm.shape[0]

    def _feed_peaks(self, planar: np.ndarray) -> None:
        magnitude = np.abs(planar[0])
        for channel in planar[1:]:
            np.maximum(magnitude, np.abs(channel), out=magnitude)
        if self._partial_peak.size:
            magnitude = np.concatenate([self._partial_peak, magnitude])
        whole = magnitude.size // self.frame_len * self.frame_len
        if whole:
            self._peaks.append(magnitude[:whole].reshape(-1, self.frame_len).max(axis=1))
        self._partial_peak = magnitude[whole:]

    def frame_peaks(self) -> np.ndarray:
        """Per 10 ms: the largest sample magnitude across channels (with ``track_peaks``)."""
        if len(self._peaks) > 1:
            self._peaks = [np.concatenate(self._peaks)]
        return self._peaks[0] if self._peaks else np.zeros(0, dtype=np.float32)

    def frame_energies(self) -> np.ndarray:
        """Per 10 ms: the channel-weighted sum of squared K-weighted samples (a trailing partial
        frame is left out, as BS.1770 leaves out an incomplete gating block)."""
        if len(self._frames) > 1:
            self._frames = [np.concatenate(self._frames)]
        return self._frames[0] if self._frames else np.zeros(0)

    def integrated_lufs(self) -> float:
        return integrated_loudness(self.frame_energies(), self.frame_len)

    def loudness_range_lu(self) -> float:
        return loudness_range(self.frame_energies(), self.frame_len)


def _block_mean_squares(frame_energy: np.ndarray, frame_len: int, block_frames: int) -> np.ndarray:
    """Mean square of sliding blocks of `block_frames` 10 ms frames, hop 100 ms."""
    groups = frame_energy.size // FRAMES_PER_100MS
    if groups * FRAMES_PER_100MS < block_frames:
        return np.zeros(0)
    per_100ms = frame_energy[: groups * FRAMES_PER_100MS].reshape(groups, -1).sum(axis=1)
    per_block = block_frames // FRAMES_PER_100MS
    cumulative = np.concatenate([[0.0], np.cumsum(per_100ms)])
    sums = cumulative[per_block:] - cumulative[:-per_block]
    return sums / (block_frames * frame_len)


def _lufs(mean_square: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(mean_square)


def integrated_loudness(frame_energy: np.ndarray, frame_len: int) -> float:
    """Gated integrated loudness in LUFS (BS.1770-4 §2.8: 400 ms blocks, 75 % overlap, absolute
    gate −70 LUFS, relative gate −10 LU). −inf when nothing passes the gates."""
    blocks = _block_mean_squares(frame_energy, frame_len, 40)
    if blocks.size == 0:
        return -math.inf
    loud = blocks[_lufs(blocks) > ABSOLUTE_GATE_LUFS]
    if loud.size == 0:
        return -math.inf
    relative_gate = _lufs(loud.mean()) + RELATIVE_GATE_LU
    gated = loud[_lufs(loud) > relative_gate]
    return float(_lufs(gated.mean()))


def loudness_range(frame_energy: np.ndarray, frame_len: int) -> float:
    """Loudness range in LU (EBU Tech 3342: 3 s short-term blocks every 100 ms, absolute gate
    −70 LUFS, relative gate −20 LU, 10th to 95th percentile)."""
    blocks = _block_mean_squares(frame_energy, frame_len, 300)
    if blocks.size == 0:
        return 0.0
    levels = _lufs(blocks)
    levels = levels[levels > ABSOLUTE_GATE_LUFS]
    if levels.size == 0:
        return 0.0
    relative_gate = _lufs(blocks[_lufs(blocks) > ABSOLUTE_GATE_LUFS].mean()) + LRA_RELATIVE_GATE_LU
    levels = np.sort(levels[levels > relative_gate])
    if levels.size == 0:
        return 0.0
    low, high = np.percentile(levels, [10, 95])
    return float(high - low)


def short_window_lufs(frame_energy: np.ndarray, frame_len: int, window_frames: int) -> np.ndarray:
    """Loudness of a window of `window_frames` 10 ms frames centred on each frame."""
    kernel = np.ones(window_frames) / (window_frames * frame_len)
    return _lufs(np.convolve(frame_energy, kernel, mode="same"))


def _interpolator() -> np.ndarray:
    """A 4× interpolation filter: Kaiser-windowed sinc, 65 taps (8 input samples each side)."""
    taps = 2 * _TP_HALF_TAPS * OVERSAMPLING + 1
    return signal.firwin(taps, 1.0 / OVERSAMPLING, window=("kaiser", 7.0)).astype(np.float32) * OVERSAMPLING


class TruePeakDetector:
    """Per-sample true-peak magnitude (BS.1770-4 Annex 2, 4× oversampling), streaming.

    ``feed`` returns, for each input sample, the largest magnitude of the signal between that
    sample and the next across all channels. Results lag the input by 8 samples (the interpolator's
    reach); ``flush`` returns the last 8.
    """

    def __init__(self, channels: int):
        self._filter = _interpolator()
        self._carry = np.zeros((_TP_HALF_TAPS, channels), dtype=np.float32)
        self.peak = 0.0

    def feed(self, pcm: np.ndarray) -> np.ndarray:
        extended = np.concatenate([self._carry, pcm.astype(np.float32, copy=False)])
        self._carry = extended[-2 * _TP_HALF_TAPS :] if extended.shape[0] >= 2 * _TP_HALF_TAPS else extended
        return self._peaks(extended)

    def flush(self) -> np.ndarray:
        tail = np.zeros((_TP_HALF_TAPS, self._carry.shape[1]), dtype=np.float32)
        return self._peaks(np.concatenate([self._carry, tail]))

    def _peaks(self, extended: np.ndarray) -> np.ndarray:
        count = extended.shape[0] - 2 * _TP_HALF_TAPS
        if count <= 0:
            return np.zeros(0, dtype=np.float32)
        delay = _TP_HALF_TAPS * OVERSAMPLING  # the filter's group delay, in oversampled samples
        start = OVERSAMPLING * _TP_HALF_TAPS + delay
        peaks = np.zeros(count, dtype=np.float32)
        for channel in range(extended.shape[1]):
            upsampled = signal.upfirdn(self._filter, extended[:, channel], up=OVERSAMPLING)
            window = np.abs(upsampled[start : start + OVERSAMPLING * count])
            # the largest of each sample's 4 oversampled points (strided maxima beat a reduce)
            np.maximum(peaks, np.maximum(window[0::4], window[1::4]), out=peaks)
            np.maximum(peaks, np.maximum(window[2::4], window[3::4]), out=peaks)
        if count:
            self.peak = max(self.peak, float(peaks.max()))
        return peaks


def true_peak(pcm: np.ndarray) -> float:
    """The true peak (linear, 4× oversampled) of a whole array."""
    detector = TruePeakDetector(pcm.shape[1])
    detector.feed(pcm)
    detector.flush()
    return detector.peak


def db(linear: float) -> float:
    """Linear amplitude → dB (−inf for 0)."""
    return 20.0 * math.log10(linear) if linear > 0 else -math.inf


@dataclass(frozen=True)
class LoudnessFigures:
    """What a loudness report says about one signal."""

    integrated_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float

    def as_dict(self) -> dict[str, float | None]:
        return {
            "integrated_lufs": _finite(self.integrated_lufs),
            "true_peak_dbtp": _finite(self.true_peak_dbtp),
            "loudness_range_lu": _finite(self.loudness_range_lu),
        }


def _finite(value: float) -> float | None:
    return round(value, 2) if math.isfinite(value) else None
