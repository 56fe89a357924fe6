"""Linear gain plus a true-peak lookahead limiter, streaming.

The gain is one number for the whole programme (the loudness range is preserved); the limiter only
touches the moments whose true peak would pass the ceiling. It works on blocks of 32 samples:

* each block's required gain ``r = min(1, ceiling / (gain × true peak of the block))``;
* attack: the gain ramps down linearly over ``attack_s`` *before* a peak (lookahead), so the peak
  itself is already attenuated: ``a_k = min over d in 0..A of (r_{k+d} + d / A)``;
* release: the gain reduction then decays exponentially with ``release_s``;
* inside a block the gain moves linearly between the block edges, where it is the lower of the two
  neighbouring blocks' gains — so every sample's gain is at most its block's ``r``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from podcast_tools.audio.meter import TRUE_PEAK_CONTEXT, block_true_peaks

BLOCK = 32
#: How far above its sample peak a block's true peak is taken to be able to reach (+6 dB).
ISP_ALLOWANCE = 2.0


@dataclass
class LimiterStats:
    """What the limiter did, for the report."""

    blocks: int = 0
    limited_blocks: int = 0
    min_gain: float = 1.0
    input_peak: float = 0.0  # true peak before gain and limiting
    output_peak_bound: float = 0.0  # upper bound of the true peak after gain and limiting

    @property
    def max_reduction_db(self) -> float:
        return -20.0 * math.log10(self.min_gain) if self.min_gain > 0 else math.inf

    @property
    def limited_fraction(self) -> float:
        return self.limited_blocks / self.blocks if self.blocks else 0.0


@dataclass
class TruePeakLimiter:
    """Apply `gain` and keep true peaks at or under `ceiling` (both linear)."""

    gain: float
    ceiling: float
    sample_rate: int
    channels: int
    attack_s: float = 0.002
    release_s: float = 0.04
    #: When set, the mean square gain is kept per frame of this many samples (see frame_gain_squares).
    frame_len: int | None = None
    #: How many such frames to expect (sizes the record once; it grows if the guess is short).
    frame_count: int = 0
    stats: LimiterStats = field(default_factory=LimiterStats)

    def __post_init__(self) -> None:
        self._attack_blocks = max(1, math.ceil(self.attack_s * self.sample_rate / BLOCK))
        self._release_c = BLOCK / (self.release_s * self.sample_rate)  # −ln(decay per block)
        # Samples not yet in a block, after TRUE_PEAK_CONTEXT samples of history.
        self._pending = np.zeros((TRUE_PEAK_CONTEXT, self.channels), dtype=np.float32)
        self._history_is_padding = True
        self._block_samples: list[np.ndarray] = []  # whole blocks not yet output
        self._block_peaks: list[np.ndarray] = []
        self._required = np.zeros(0)  # r of blocks whose final gain is not known yet
        self._final_gains = np.zeros(0)  # final gains of blocks not yet output
        self._gain_before = 1.0  # final gain of the last block output
        self._depth = 0.0  # release state: 1 − gain of the last finalised block
        self._padding = 0
        self._emitted_blocks = 0
        self._frame_sums = np.zeros(self.frame_count + 1, dtype=np.float32)
        self._frame_counts = np.zeros(self.frame_count + 1, dtype=np.uint16)

    def frame_gain_squares(self) -> np.ndarray:
        """Mean squared gain (the linear gain included) per frame of `frame_len` samples."""
        used = int(np.flatnonzero(self._frame_counts)[-1]) + 1 if self._frame_counts.any() else 0
        sums, counts = self._frame_sums[:used], self._frame_counts[:used]
        with np.errstate(invalid="ignore", divide="ignore"):
            squares = np.where(counts > 0, sums / np.maximum(counts, 1), np.float32(1.0))
        return squares.astype(np.float32) * np.float32(self.gain**2)

    def _record_frames(self, left: np.ndarray, right: np.ndarray) -> None:
        if self.frame_len is None or left.size == 0:
            return
        # mean of the squared linear ramp from left to right over each block
        block_squares = (left * left + left * right + right * right) / 3.0
        centres = (self._emitted_blocks + np.arange(left.size)) * BLOCK + BLOCK // 2
        frames = centres // self.frame_len
        first = int(frames[0])
        sums = np.bincount(frames - first, weights=block_squares).astype(np.float32)
        counts = np.bincount(frames - first).astype(np.uint16)
        end = first + sums.size
        if end > self._frame_sums.size:  # longer than announced: grow by doubling
            grow = max(end, 2 * self._frame_sums.size) - self._frame_sums.size
            self._frame_sums = np.concatenate([self._frame_sums, np.zeros(grow, np.float32)])
            self._frame_counts = np.concatenate([self._frame_counts, np.zeros(grow, np.uint16)])
        self._frame_sums[first:end] += sums
        self._frame_counts[first:end] += counts

    def process(self, pcm: np.ndarray) -> np.ndarray:
        """Feed programme samples; return the limited samples that are ready (with a short delay)."""
        if pcm.shape[0]:
            self._pending = np.concatenate([self._pending, pcm.astype(np.float32, copy=False)])
            self._make_blocks()
        return self._emit(final=False)

    def flush(self) -> np.ndarray:
        """Return the rest of the samples."""
        waiting = self._pending.shape[0] - TRUE_PEAK_CONTEXT
        if waiting > 0:
            self._padding = (-waiting) % BLOCK
            silence = np.zeros((self._padding + TRUE_PEAK_CONTEXT, self.channels), dtype=np.float32)
            self._pending = np.concatenate([self._pending, silence])
            self._make_blocks()
        out = self._emit(final=True)
        return out[: out.shape[0] - self._padding] if self._padding else out

    def _make_blocks(self) -> None:
        """Measure every whole block that has its right-hand context."""
        context = TRUE_PEAK_CONTEXT
        count = (self._pending.shape[0] - 2 * context) // BLOCK
        if count <= 0:
            return
        span = self._pending[: count * BLOCK + 2 * context]
        body = span[context : context + count * BLOCK]
        sample_peaks = np.abs(body).reshape(count, -1).max(axis=1)
        # Only blocks whose sample peak comes within ISP_ALLOWANCE of the ceiling can need
        # limiting, so only those are oversampled (inter-sample peaks of programme material stay
        # far under 6 dB above the sample peak).
        candidates = sample_peaks * (self.gain * ISP_ALLOWANCE) > self.ceiling
        block_peaks = block_true_peaks(span, BLOCK, candidates, sample_peaks)
        self.stats.input_peak = max(self.stats.input_peak, float(block_peaks.max()))
        with np.errstate(divide="ignore"):
            required = np.minimum(1.0, self.ceiling / (self.gain * block_peaks.astype(np.float64)))
        self._required = np.concatenate([self._required, required])
        self._block_samples.append(body)
        self._block_peaks.append(block_peaks)
        self._pending = self._pending[count * BLOCK :]

    def _finalise(self, final: bool) -> None:
        """Turn required gains into final gains for every block whose lookahead is known."""
        required = self._required
        count = required.size if final else required.size - self._attack_blocks
        if count <= 0:
            return
        lookahead = required[count : count + self._attack_blocks]
        gains, self._depth = smooth_gains(
            required[:count], lookahead, self._attack_blocks, self._release_c, self._depth
        )
        self._final_gains = np.concatenate([self._final_gains, gains])
        self._required = required[count:]

    def _emit(self, final: bool) -> np.ndarray:
        self._finalise(final)
        gains = self._final_gains
        count = gains.size if final else gains.size - 1  # a block needs its right neighbour's gain
        if count <= 0:
            return np.zeros((0, self.channels), dtype=np.float32)
        right_neighbour = np.concatenate([gains[1:], gains[-1:]])[:count]
        left = np.minimum(np.concatenate([[self._gain_before], gains[: count - 1]]), gains[:count])
        right = np.minimum(gains[:count], right_neighbour)
        samples = (
            np.concatenate(self._block_samples)
            if len(self._block_samples) > 1
            else self._block_samples[0]
        )
        peaks = (
            np.concatenate(self._block_peaks)
            if len(self._block_peaks) > 1
            else self._block_peaks[0]
        )
        ready = samples[: count * BLOCK]
        if left.min() >= 1.0 and right.min() >= 1.0:  # nothing to limit here: plain gain
            out = ready * np.float32(self.gain)
        else:
            ramp = np.arange(BLOCK, dtype=np.float32) / BLOCK
            left32 = (left * self.gain).astype(np.float32)
            right32 = (right * self.gain).astype(np.float32)
            per_sample = (left32[:, None] + (right32 - left32)[:, None] * ramp[None, :]).reshape(-1)
            out = np.empty_like(ready)
            for channel in range(self.channels):  # column by column beats broadcasting (n, C)
                np.multiply(ready[:, channel], per_sample, out=out[:, channel])
        self._block_samples = [samples[count * BLOCK :]] if samples.shape[0] > count * BLOCK else []
        self._block_peaks = [peaks[count:]] if peaks.shape[0] > count else []

        self._record_frames(left, right)
        self._emitted_blocks += count
        used = gains[:count]
        self.stats.blocks += count
        self.stats.limited_blocks += int(np.count_nonzero(used < 1.0 - 1e-9))
        self.stats.min_gain = min(self.stats.min_gain, float(used.min()))
        bound = float((np.maximum(left, right) * peaks[:count]).max()) * self.gain
        self.stats.output_peak_bound = max(self.stats.output_peak_bound, bound)
        self._gain_before = float(gains[count - 1])
        self._final_gains = gains[count:]
        return out


def smooth_gains(
    required: np.ndarray,
    lookahead: np.ndarray,
    attack_blocks: int,
    release_c: float,
    depth: float = 0.0,
) -> tuple[np.ndarray, float]:
    """Limiter gains per block from the gains each block requires.

    Attack: a linear ramp over `attack_blocks` before each reduction (`lookahead` holds the
    required gains of the blocks that follow). Release: the reduction decays by e^−`release_c`
    per block. Returns the gains (never above `required`) and the release state to carry on.
    """
    count = required.size
    padded = np.concatenate([required, lookahead, np.ones(attack_blocks - lookahead.size)])
    attacked = required.astype(np.float64, copy=True)
    for d in range(1, attack_blocks + 1):
        np.minimum(attacked, padded[d : d + count] + d / attack_blocks, out=attacked)
    np.minimum(attacked, 1.0, out=attacked)
    # Release: depth_k = max(1 − a_k, depth_{k−1}·e^−c), solved with a running max in logs.
    index = np.arange(count)
    with np.errstate(divide="ignore"):
        logs = np.log(1.0 - attacked) + index * release_c
        start = math.log(depth) - release_c if depth > 0 else -math.inf
    running = np.maximum.accumulate(np.concatenate([[start], logs]))[1:]
    depths = np.exp(running - index * release_c)
    depths[depths < 1e-6] = 0.0  # a reduction decayed below 0.00001 dB is over: gain exactly 1
    return 1.0 - depths, float(depths[-1])
