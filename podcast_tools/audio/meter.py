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
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from podcast_tools.audio.sosfilt import sosfilt

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
    shelf_b = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
    ]
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


class _Growing:
    """A float32 array that grows by doubling: a few large allocations instead of thousands of
    small ones, so a long master does not fragment the heap (memory stays flat)."""

    def __init__(self) -> None:
        self._data = np.zeros(4096, dtype=np.float32)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        end = self.size + values.size
        if end > self._data.size:
            grown = np.zeros(max(end, 2 * self._data.size), dtype=np.float32)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : end] = values
        self.size = end

    def values(self) -> np.ndarray:
        return self._data[: self.size]


class _ChannelWeighting:
    """K-weighting and 10 ms sums of squares for one channel, on a worker thread of its own.

    scipy's ``sosfilt`` lets go of the GIL, so the channels filter in parallel while the caller
    reads the next chunk; jobs of one channel run in order, carrying the filter state.
    """

    def __init__(self, sos: np.ndarray, frame_len: int):
        # Second-order sections in float32: within 0.001 dB of float64 (a single 4th-order
        # section in float32 is not: its 38 Hz poles sit too close to the unit circle).
        self._sos = sos.astype(np.float32)
        self._state = np.zeros((sos.shape[0], 2), dtype=np.float32)
        self._frame_len = frame_len
        self._partial = np.zeros(0, dtype=np.float32)
        self.frames = _Growing()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="k-weighting")
        self._pending: deque[Future] = deque()

    def submit(self, samples: np.ndarray) -> None:
        while len(self._pending) >= 4:  # bounded: memory stays flat if the filter falls behind
            self._pending.popleft().result()
        self._pending.append(self._worker.submit(self._feed, samples))

    def _feed(self, samples: np.ndarray) -> None:
        samples, self._state = sosfilt(self._sos, samples, self._state)
        if self._partial.size:
            samples = np.concatenate([self._partial, samples])
        whole = samples.size // self._frame_len * self._frame_len
        if whole:
            framed = samples[:whole].reshape(-1, self._frame_len)
            # summed in float64, kept in float32: 4 bytes per 10 ms keeps memory flat
            self.frames.extend(np.einsum("ij,ij->i", framed, framed, dtype=np.float64))
        self._partial = samples[whole:]

    def finish(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        self._worker.shutdown(wait=True)


class LoudnessMeter:
    """Feed PCM chunks in order; read per-10 ms frame energies and loudness figures."""

    def __init__(self, sample_rate: int, channels: int, *, track_peaks: bool = False):
        self.sample_rate = sample_rate
        self.channels = channels
        self.track_peaks = track_peaks
        self.frame_len = frame_length(sample_rate)
        sos = k_weighting_sos(sample_rate)
        self._weighting = [_ChannelWeighting(sos, self.frame_len) for _ in range(channels)]
        self._weights = channel_weights(channels)
        self._energies: np.ndarray | None = None
        self._partial_peak = np.zeros(0, dtype=np.float32)
        self._peaks = _Growing()
        self.samples = 0

    def feed(self, pcm: np.ndarray) -> None:
        """Add `pcm` (frames × channels, float32) to the measurement."""
        if pcm.shape[0] == 0:
            return
        planar = np.ascontiguousarray(pcm.T, dtype=np.float32)
        for channel, weighting in zip(planar, self._weighting):
            weighting.submit(channel)
        if self.track_peaks:
            self._feed_peaks(planar)
        self._energies = None
        self.samples += pcm.shape[0]

    def _feed_peaks(self, planar: np.ndarray) -> None:
        magnitude = np.abs(planar[0])
        for channel in planar[1:]:
            np.maximum(magnitude, np.abs(channel), out=magnitude)
        if self._partial_peak.size:
            magnitude = np.concatenate([self._partial_peak, magnitude])
        whole = magnitude.size // self.frame_len * self.frame_len
        if whole:
            self._peaks.extend(magnitude[:whole].reshape(-1, self.frame_len).max(axis=1))
        self._partial_peak = magnitude[whole:]

    def frame_peaks(self) -> np.ndarray:
        """Per 10 ms: the largest sample magnitude across channels (with ``track_peaks``)."""
        return self._peaks.values()

    def frame_energies(self) -> np.ndarray:
        """Per 10 ms: the channel-weighted sum of squared K-weighted samples, float32 (a trailing
        partial frame is left out, as BS.1770 leaves out an incomplete gating block)."""
        if self._energies is None:
            total: np.ndarray | None = None
            for weight, weighting in zip(self._weights, self._weighting):
                weighting.finish()
                channel = weighting.frames.values()
                if total is None:
                    total = channel * np.float32(weight)
                else:
                    total += channel * np.float32(weight)
                weighting.frames = _Growing()  # the weighted total is all that is kept
            self._energies = total if total is not None else np.zeros(0, np.float32)
        return self._energies

    def close(self) -> None:
        """Stop the worker threads (also done when the meter is garbage collected)."""
        for weighting in self._weighting:
            weighting.close()

    def __enter__(self) -> LoudnessMeter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrated_lufs(self) -> float:
        return integrated_loudness(self.frame_energies(), self.frame_len)

    def loudness_range_lu(self) -> float:
        return loudness_range(self.frame_energies(), self.frame_len)


def per_100ms(frame_energy: np.ndarray) -> np.ndarray:
    """Sum 10 ms frame energies into 100 ms groups (float64; a trailing partial group is dropped)."""
    groups = frame_energy.size // FRAMES_PER_100MS
    return (
        frame_energy[: groups * FRAMES_PER_100MS].reshape(groups, -1).sum(axis=1, dtype=np.float64)
    )


def _block_mean_squares(
    frame_energy: np.ndarray, frame_len: int, block_frames: int, *, grouped: bool = False
) -> np.ndarray:
    """Mean square of sliding blocks of `block_frames` 10 ms frames, hop 100 ms. With `grouped`,
    `frame_energy` already holds 100 ms sums (see per_100ms)."""
    energy_100ms = frame_energy if grouped else per_100ms(frame_energy)
    if energy_100ms.size * FRAMES_PER_100MS < block_frames:
        return np.zeros(0)
    per_block = block_frames // FRAMES_PER_100MS
    cumulative = np.concatenate([[0.0], np.cumsum(energy_100ms)])
    sums = cumulative[per_block:] - cumulative[:-per_block]
    return sums / (block_frames * frame_len)


def _lufs(mean_square: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(mean_square)


def integrated_loudness(
    frame_energy: np.ndarray, frame_len: int, *, grouped: bool = False
) -> float:
    """Gated integrated loudness in LUFS (BS.1770-4 §2.8: 400 ms blocks, 75 % overlap, absolute
    gate −70 LUFS, relative gate −10 LU). −inf when nothing passes the gates. With `grouped`,
    `frame_energy` holds 100 ms sums instead of 10 ms frames."""
    blocks = _block_mean_squares(frame_energy, frame_len, 40, grouped=grouped)
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


#: EBU Tech 3341: short-term loudness is measured over 3 s (300 meter frames of 10 ms).
SHORT_TERM_FRAMES = 300


def short_term_series(
    frame_energy: np.ndarray,
    frame_len: int,
    hop_groups: int,
    points: int,
    span: tuple[int, int] | None = None,
) -> np.ndarray:
    """Short-term loudness (EBU Tech 3341: a 3 s window) at `points` instants, one every
    `hop_groups` × 100 ms from 0, each window centred on its instant — for plots, float32 LUFS.

    Works on 100 ms sums of the 10 ms frames (a running sum over them), so it costs one small
    array whatever the length. `span` (first, end) in 100 ms groups limits the signal to where it
    exists: windows are cut to it and instants outside it (or with an empty window: a signal of
    less than 100 ms) are NaN. Silence is −inf.
    """
    groups = per_100ms(frame_energy)
    lo, hi = (0, groups.size) if span is None else (max(0, span[0]), min(groups.size, span[1]))
    cumulative = np.concatenate([[0.0], np.cumsum(groups)])
    half = SHORT_TERM_FRAMES // FRAMES_PER_100MS // 2
    centres = np.arange(points, dtype=np.int64) * hop_groups
    start = np.clip(centres - half, lo, max(lo, hi))
    end = np.clip(centres + half, lo, max(lo, hi))
    width = end - start
    mean_square = (cumulative[end] - cumulative[start]) / (
        np.maximum(width, 1) * FRAMES_PER_100MS * frame_len
    )
    levels = _lufs(mean_square)
    inside = (centres >= lo) & (centres <= hi) & (width > 0)
    return np.where(inside, levels, np.nan).astype(np.float32)


def short_window_lufs(frame_energy: np.ndarray, frame_len: int, window_frames: int) -> np.ndarray:
    """Loudness of a window of `window_frames` 10 ms frames centred on each frame."""
    kernel = np.full(window_frames, 1.0 / (window_frames * frame_len), dtype=np.float32)
    return _lufs(np.convolve(frame_energy.astype(np.float32, copy=False), kernel, mode="same"))


def _interpolator() -> np.ndarray:
    """A 4× interpolation filter: Kaiser-windowed sinc (β 7), 65 taps (8 input samples each
    side), cut off at the input's Nyquist frequency, unity gain at DC before the × 4 that
    restores the level of the zero-stuffed signal (what ``scipy.signal.firwin`` designs)."""
    taps = 2 * _TP_HALF_TAPS * OVERSAMPLING + 1
    cutoff = 1.0 / OVERSAMPLING  # of the output's Nyquist frequency
    offsets = np.arange(taps) - (taps - 1) / 2
    response = cutoff * np.sinc(cutoff * offsets) * np.kaiser(taps, 7.0)
    return (response / response.sum()).astype(np.float32) * OVERSAMPLING


_INTERPOLATOR = _interpolator()
#: The interpolator's three in-between phases as a (16 taps × 3) matrix.
_PHASES = np.stack([_INTERPOLATOR[phase::OVERSAMPLING][::-1] for phase in (1, 2, 3)], axis=1).copy()


#: Samples of context the interpolator needs on each side of a block.
TRUE_PEAK_CONTEXT = _TP_HALF_TAPS


def block_true_peaks(
    context: np.ndarray,
    block: int,
    only: np.ndarray | None = None,
    sample_peaks: np.ndarray | None = None,
) -> np.ndarray:
    """True peak (BS.1770-4 Annex 2: 4× oversampling) of consecutive blocks of samples.

    `context` is ``(8 + n × block + 8, channels)``: the blocks with 8 samples of context on each
    side. Returns each block's largest magnitude over all channels, on its samples and at the
    three points the interpolator places between each sample and the next (a matrix product of
    sliding 16-sample windows with the filter's three phases). With `only` (a boolean mask of
    blocks) the other blocks get their sample peak: callers that care only about loud blocks skip
    most of the work. `sample_peaks`, when the caller has them, saves computing them again.
    """
    half = TRUE_PEAK_CONTEXT
    count = (context.shape[0] - 2 * half) // block
    channels = context.shape[1]
    if sample_peaks is None:
        inner = context[half : half + count * block]
        sample_peaks = np.abs(inner).reshape(count, block * channels).max(axis=1)
    peaks = sample_peaks[:count].astype(np.float32, copy=True)
    chosen = np.arange(count) if only is None else np.flatnonzero(only[:count])
    if chosen.size == 0:
        return peaks
    planar = np.ascontiguousarray(context[: count * block + 2 * half].T)
    spans = np.lib.stride_tricks.sliding_window_view(planar, block + 2 * half, axis=1)[
        :, chosen * block
    ]
    # a window starting at s covers samples s … s+15 and gives the points between s+7 and s+8
    windows = np.lib.stride_tricks.sliding_window_view(spans, 2 * half, axis=2)[:, :, 1 : 1 + block]
    between = np.abs(windows @ _PHASES).reshape(channels, chosen.size, block * 3).max(axis=(0, 2))
    peaks[chosen] = np.maximum(peaks[chosen], between)
    return peaks


def true_peak(pcm: np.ndarray) -> float:
    """The true peak (linear, 4× oversampled) of a whole array."""
    if pcm.shape[0] == 0:
        return 0.0
    half = TRUE_PEAK_CONTEXT
    block = 4096
    padded_len = -(-pcm.shape[0] // block) * block
    context = np.zeros((padded_len + 2 * half, pcm.shape[1]), dtype=np.float32)
    context[half : half + pcm.shape[0]] = pcm
    return float(block_true_peaks(context, block).max())


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
