"""Speech in a master: where it is and how loud — one definition for the leveler and the report.

A master is reduced to two records per 10 ms (`SpeechAnalysis`): the loudness (the meter's
K-weighting, on the mono mix taken down to 8 kHz: webrtcvad's own band) and webrtcvad's voice
decision (the `webrtcvad-wheels` package: a model compiled in, nothing to download; mode 2, 30 ms
frames). A frame is **speech** when the VAD says so, it stands above the noise floor and its second
of neighbourhood swings the way syllables make speech swing — the steady noise, hum, held tones
and music beds that webrtcvad also takes for voice do not (`speech_mask`). Speech frames less than
`MERGE_S` apart form a *region*; regions are the report's *stretches*.

`SpeechTracker` makes the records from blocks as they stream (memory: a few bytes per 10 ms); the
leveler reads the master with it before the render (`analyse_speech`), the render keeps a
`SpeechMap` of what it decodes and what the stage chain puts out, and `speech_profile` turns that
map into the report's `speech` section.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import webrtcvad

from podcast_tools.audio.meter import LoudnessMeter, frame_length
from podcast_tools.audio.pcm import pcm_chunks
from podcast_tools.audio.sosfilt import sosfilt

#: The analysis: sample rate (webrtcvad works on 8 kHz inside; reading the master directly and
#: taking it down here costs half the CPU of ffmpeg's resampler to 16 kHz), meter frame (s),
#: webrtcvad mode (0–3) and frame (ms).
ANALYSIS_RATE = 8000
FRAME_S = 0.01
VAD_MODE = 2  # mode 3 misses quiet voices (a guest at −62 dBFS: 19 % of its frames; mode 2: 83 %)
VAD_FRAME_MS = 30
#: A frame of speech is at least this far above the noise floor (the 10th percentile) ...
FLOOR_MARGIN_DB = 6.0
#: ... and its second of neighbourhood swings by at least this much (std of 10 ms loudness):
#: speech ≥ 8 dB clean (≥ 2.4 under noise 10 dB down), pink noise 0.7, a chord 1.5, a tone 0.1.
MODULATION_DB = 2.0
MODULATION_S = 1.0
#: The absolute gate (as BS.1770's): quieter frames are never speech.
ABSOLUTE_GATE_LUFS = -70.0
#: Speech less than this far apart is one region (the gain runs on through the gap).
MERGE_S = 0.4
#: Regions with less speech than this are left out (a click, a cough).
MIN_REGION_SPEECH_S = 0.2
#: Long arrays are worked on this many frames at a time (10 minutes).
_SEGMENT_FRAMES = 60_000
#: Less speech than this in the whole master: no speech found.
MIN_SPEECH_S = 1.0
#: Stretches (for the report): regions at least this long.
MIN_STRETCH_S = 1.0


@dataclass(frozen=True)
class SpeechAnalysis:
    """The master as the leveler sees it, per 10 ms frame: loudness (LUFS of the frame as the
    chain's input measures, K-weighted) and webrtcvad's decision."""

    loudness: np.ndarray  # float32 LUFS per frame (-inf: digital silence)
    voiced: np.ndarray  # bool per frame

    @property
    def frames(self) -> int:
        return int(self.loudness.size)


def _lowpass_sos(cutoff: float, rate: int) -> np.ndarray:
    """A 4th-order Butterworth low-pass as two biquads (the bilinear transform; the cookbook's
    formulas), float32 sections as `sosfilt` takes them."""
    sections = []
    for q in (0.5411961001461969, 1.3065629648763766):  # the two poles pairs' Q
        w = 2.0 * math.pi * cutoff / rate
        alpha = math.sin(w) / (2.0 * q)
        cos = math.cos(w)
        a0 = 1.0 + alpha
        b = [(1.0 - cos) / 2.0 / a0, (1.0 - cos) / a0, (1.0 - cos) / 2.0 / a0]
        sections.append(b + [1.0, -2.0 * cos / a0, (1.0 - alpha) / a0])
    return np.array(sections, dtype=np.float32)


class _Decimator:
    """Mono float32 at `rate` → ANALYSIS_RATE, streamed: low-passed (4th-order Butterworth
    below the new Nyquist frequency), then sampled at the new rate by linear interpolation
    (the low-passed signal is oversampled: the interpolation costs nothing audible to a VAD
    or a loudness estimate). The sampling instants repeat every `period` input samples
    (441 at 44.1 kHz: 80 outputs), so each period is one row and the interpolation two
    column gathers."""

    def __init__(self, rate: int) -> None:
        # At 32 kHz and more, pairs of samples are averaged first (a zero at the old Nyquist
        # frequency, −0.3 dB at 4 kHz): the low-pass then runs on half as many samples.
        self.pairs = rate % 2 == 0 and rate >= 4 * ANALYSIS_RATE
        self.odd = np.zeros(0, dtype=np.float32)  # a sample waiting for its pair
        rate = rate // 2 if self.pairs else rate
        common = math.gcd(rate, ANALYSIS_RATE)
        self.period, outputs = rate // common, ANALYSIS_RATE // common
        at = np.arange(outputs) * (rate / ANALYSIS_RATE)
        self.left = np.floor(at).astype(np.int64)
        self.weight = (at - self.left).astype(np.float32)
        self.sos = _lowpass_sos(0.45 * min(rate, ANALYSIS_RATE), rate)
        self.state = np.zeros((self.sos.shape[0], 2), dtype=np.float32)
        self.rest = np.zeros(0, dtype=np.float32)  # filtered samples of an unfinished period

    def feed(self, mono: np.ndarray) -> np.ndarray:
        if self.pairs:
            if self.odd.size:
                mono = np.concatenate([self.odd, mono])
            whole = mono.size // 2 * 2
            self.odd = mono[whole:].copy()
            mono = mono[0:whole:2] + mono[1:whole:2]
            mono *= np.float32(0.5)
        filtered, self.state = sosfilt(self.sos, mono, self.state)
        if self.rest.size:
            filtered = np.concatenate([self.rest, filtered])
        # a period's last output may lean on the next period's first sample: keep one back
        rows = max(0, (filtered.size - 1) // self.period)
        whole = rows * self.period
        if rows == 0:
            self.rest = filtered
            return np.zeros(0, dtype=np.float32)
        table = np.lib.stride_tricks.sliding_window_view(filtered[: whole + 1], self.period + 1)
        table = table[:: self.period][:rows]
        self.rest = filtered[whole:]
        left = table[:, self.left]
        right = table[:, self.left + 1]
        return (left + (right - left) * self.weight).ravel()


class SpeechTracker:
    """Streams blocks of the master — (frames, channels) float32 at `sample_rate` — into the
    per-10 ms records of a `SpeechAnalysis`: mono, taken down to 8 kHz, the K-weighted loudness
    of that mono mix as the master's meter reads a centred (mono-compatible) mix of `channels`
    (the 4 kHz band of speech carries its loudness to within a few tenths of a dB; a wide
    stereo mix reads up to 3 dB low) and, with `vad`, webrtcvad's decision on it. `close()`
    when done (the meter's thread)."""

    def __init__(
        self, sample_rate: int, channels: int, *, vad: bool = True, full_band: bool = False
    ) -> None:
        self.channels = channels
        # `full_band`: the loudness of the mono mix at the master's own rate (the report's noise
        # floor: hiss lies above the 4 kHz band the voice detector hears; white noise reads
        # 9 dB low there); the 8 kHz stream then feeds the voice detector only
        self.meter_rate = sample_rate if full_band else ANALYSIS_RATE
        self.full_band = full_band
        self.decimator = _Decimator(sample_rate) if vad or not full_band else None
        self.meter = LoudnessMeter(self.meter_rate, 1)
        self.vad = webrtcvad.Vad(VAD_MODE) if vad else None
        self.decisions = bytearray()
        self.pending = np.zeros(0, dtype=np.int16)

    def feed(self, chunk: np.ndarray) -> None:
        mono = chunk[:, 0].copy()
        for channel in range(1, chunk.shape[1]):  # (a column at a time: far faster than mean)
            mono += chunk[:, channel]
        if chunk.shape[1] > 1:
            mono *= np.float32(1.0 / chunk.shape[1])
        if self.full_band:
            self.meter.feed(mono[:, None])
        if self.decimator is None:
            return
        low = self.decimator.feed(mono)
        if not self.full_band:
            self.meter.feed(low[:, None])
        if self.vad is None:
            return
        pcm = np.clip(np.rint(low * 32767.0), -32768, 32767).astype(np.int16)
        if self.pending.size:
            pcm = np.concatenate([self.pending, pcm])
        vad_len = ANALYSIS_RATE * VAD_FRAME_MS // 1000
        whole = pcm.size // vad_len * vad_len
        data = pcm[:whole].tobytes()
        step = vad_len * 2
        self.decisions.extend(
            self.vad.is_speech(data[at : at + step], ANALYSIS_RATE)
            for at in range(0, len(data), step)
        )
        self.pending = pcm[whole:]

    def analysis(self) -> SpeechAnalysis:
        """The records so far (no voice decision is all False without `vad`)."""
        energy = self.meter.frame_energies()
        frames = energy.size
        voiced = np.repeat(np.frombuffer(bytes(self.decisions), dtype=np.bool_), VAD_FRAME_MS // 10)
        if voiced.size < frames:  # the last partial VAD frame: not voiced
            voiced = np.concatenate([voiced, np.zeros(frames - voiced.size, dtype=np.bool_)])
        with np.errstate(divide="ignore"):
            loudness = (
                -0.691
                + 10.0 * np.log10(energy / frame_length(self.meter_rate))
                + 10.0 * math.log10(self.channels)
            ).astype(np.float32)
        return SpeechAnalysis(loudness, voiced[:frames])

    def close(self) -> None:
        self.meter.close()


def analyse_speech(source: Path, sample_rate: int, channels: int) -> SpeechAnalysis:
    """Read `source` as the chain does (`sample_rate`, `channels`: a WAV of that kind is read
    directly, anything else decoded by ffmpeg) into a `SpeechAnalysis` (`SpeechTracker`)."""
    tracker = SpeechTracker(sample_rate, channels)
    try:
        for chunk in pcm_chunks(source, sample_rate=sample_rate, channels=channels):
            tracker.feed(chunk)
        return tracker.analysis()
    finally:
        tracker.close()


def box_means(values: np.ndarray, width: int) -> np.ndarray:
    """The mean of `values` over a window of `width` frames centred on each frame, cut at the
    ends: float64 running sums, int32 bounds (memory stays a few arrays of the input's size)."""
    size = values.size
    index = np.arange(size, dtype=np.int32)
    hi = np.minimum(index + (width - width // 2), size)
    lo = np.maximum(index - width // 2, 0, out=index)
    cumulative = np.empty(size + 1, dtype=np.float64)
    cumulative[0] = 0.0
    np.cumsum(values, dtype=np.float64, out=cumulative[1:])
    means = cumulative[hi]
    means -= cumulative[lo]
    del cumulative
    means /= hi - lo
    return means


def speech_mask(analysis: SpeechAnalysis) -> np.ndarray:
    """Which 10 ms frames are speech: voiced (webrtcvad), above the noise floor and the absolute
    gate, and in a second that swings the way speech does (see MODULATION_DB)."""
    loudness = analysis.loudness
    frames = analysis.frames
    if frames == 0:
        return np.zeros(0, dtype=np.bool_)
    audible = np.isfinite(loudness) & (loudness > ABSOLUTE_GATE_LUFS)
    if not audible.any():
        return np.zeros(frames, dtype=np.bool_)
    floor = float(np.percentile(loudness[audible], 10))
    level = np.where(audible, loudness, np.float32(ABSOLUTE_GATE_LUFS))
    width = max(1, round(MODULATION_S / FRAME_S))
    swings = np.zeros(frames, dtype=np.bool_)
    for first in range(0, frames, _SEGMENT_FRAMES):  # a segment at a time: memory stays small
        end = min(frames, first + _SEGMENT_FRAMES)
        lo, hi = max(0, first - width), min(frames, end + width)  # each window whole inside
        part = level[lo:hi]
        mean = box_means(part, width)
        variance = box_means(np.square(part, dtype=np.float64), width)
        variance -= np.square(mean, out=mean)
        swings[first:end] = variance[first - lo : end - lo] >= MODULATION_DB**2
    return analysis.voiced & audible & (level >= floor + FLOOR_MARGIN_DB) & swings


def speech_regions(
    speech: np.ndarray,
    *,
    merge_frames: int = round(MERGE_S / FRAME_S),
    min_speech_frames: int = round(MIN_REGION_SPEECH_S / FRAME_S),
) -> list[tuple[int, int]]:
    """Runs of speech frames, [start, end) in frames, merged across gaps shorter than
    `merge_frames`; runs holding fewer than `min_speech_frames` speech frames are left out."""
    if not speech.any():
        return []
    edges = np.diff(np.concatenate([[0], speech.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    regions: list[list[int]] = []
    for start, end in zip(starts.tolist(), ends.tolist()):
        if regions and start - regions[-1][1] < merge_frames:
            regions[-1][1] = end
            regions[-1][2] += end - start
        else:
            regions.append([start, end, end - start])
    return [(start, end) for start, end, count in regions if count >= min_speech_frames]


def speech_stretches(
    speech: np.ndarray,
    loudness: np.ndarray,
    gain_db: np.ndarray | None = None,
    *,
    frame_s: float = FRAME_S,
    merge_s: float = MERGE_S,
    min_s: float = MIN_STRETCH_S,
) -> list[dict[str, float]]:
    """The stretches of speech of a master, for a report: runs of speech merged across pauses
    shorter than `merge_s`, those shorter than `min_s` left out.

    `speech`: bool per frame (e.g. `speech_mask`); `loudness`: LUFS per frame (K-weighted, as
    recorded); `gain_db`: the leveler's gain per frame, if any. Each stretch is a dict:
    `start_s`, `end_s` (seconds from the master's start), `before_lufs` (power mean of its
    speech frames' loudness, as recorded) and, with `gain_db`, `gain_db` (the gain its speech
    got, as a loudness change: after − before) — all rounded for a report.
    """
    stretches = []
    merge = max(1, round(merge_s / frame_s))
    for start, end in speech_regions(speech, merge_frames=merge, min_speech_frames=1):
        if (end - start) * frame_s < min_s:
            continue
        inside = speech[start:end]
        level = loudness[start:end][inside].astype(np.float64)
        power = 10.0 ** (level / 10.0)
        before = 10.0 * math.log10(power.mean())
        stretch = {
            "start_s": round(start * frame_s, 2),
            "end_s": round(end * frame_s, 2),
            "before_lufs": round(before, 1),
        }
        if gain_db is not None:
            gained = power * 10.0 ** (gain_db[start:end][inside].astype(np.float64) / 10.0)
            stretch["gain_db"] = round(10.0 * math.log10(gained.mean()) - before, 1)
        stretches.append(stretch)
    return stretches


# --- the report's speech map ----------------------------------------------------------------------

#: Frames this close to speech are no noise floor (the voice's own decay).
FLOOR_GUARD_S = 0.3
#: Pauses (away from speech) needed to read the noise floor in them.
FLOOR_PAUSES_S = 1.0


@dataclass
class SpeechFrames:
    """The render's map of a master, per 10 ms: the chain's output (`after`: loudness and voice)
    and the master as decoded (`before`: loudness; the same as `after` without stages)."""

    after: SpeechAnalysis
    before: np.ndarray  # float32 LUFS per frame


class SpeechMap:
    """The render's two taps on the master: as decoded (only when stages run) and as the stage
    chain put it out."""

    def __init__(self, rate: int, channels: int, *, stages: bool) -> None:
        self._after = SpeechTracker(rate, channels, full_band=True)
        self._before = SpeechTracker(rate, channels, vad=False, full_band=True) if stages else None

    def tap_before(self, blocks):
        return blocks if self._before is None else self._tap(blocks, self._before)

    def tap_after(self, blocks):
        return self._tap(blocks, self._after)

    @staticmethod
    def _tap(blocks, tracker: SpeechTracker):
        try:
            for block in blocks:
                tracker.feed(block)
                yield block
        finally:  # a render that stops early stops the decoder too
            close = getattr(blocks, "close", None)
            if close is not None:
                close()

    def frames(self) -> SpeechFrames:
        """The map (the taps' meters are closed: call once, after the render)."""
        try:
            after = self._after.analysis()
            before = after.loudness if self._before is None else self._before.analysis().loudness
        finally:
            self.close()
        count = min(after.frames, before.size)
        return SpeechFrames(
            SpeechAnalysis(after.loudness[:count], after.voiced[:count]), before[:count]
        )

    @contextlib.contextmanager
    def closed_on_failure(self) -> Iterator[None]:
        """Close the taps' meters (their threads) if the body raises."""
        try:
            yield
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for tracker in (self._after, self._before):
            if tracker is not None:
                tracker.close()


def _power_mean(loudness: np.ndarray) -> float | None:
    power = 10.0 ** (loudness.astype(np.float64) / 10.0)
    mean = float(power.mean()) if power.size else 0.0
    return 10.0 * math.log10(mean) if mean > 0 else None


def _weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, q * cumulative[-1]))
    return float(values[order][min(index, values.size - 1)])


def speech_profile(frames: SpeechFrames, gain_db: float, kept: np.ndarray | None = None) -> dict:
    """The report's `speech` section: the stretches of speech (`speech_stretches`, master time)
    with their loudness as recorded (`before_lufs`) and as published (`after_lufs`: the chain's
    output plus the render's gain), the spread between the quiet and the loud ones (10th to 90th
    percentile of speech time), and the noise floor before and after, also as its distance
    under the speech. `kept`: per frame, whether the edits keep it (trimmed and cut audio is no
    one's concern)."""
    speech = speech_mask(frames.after)
    if kept is not None:
        speech &= kept[: speech.size]
    regions = speech_regions(speech)
    inside = np.zeros(speech.size, dtype=np.bool_)
    for start, end in regions:
        inside[start:end] = speech[start:end]
    speech_s = float(inside.sum()) * FRAME_S
    if speech_s < MIN_SPEECH_S:
        return {"speech_found": False, "speech_s": round(speech_s, 2)}
    stretches = []
    for stretch in speech_stretches(inside, frames.before):
        start, end = round(stretch["start_s"] / FRAME_S), round(stretch["end_s"] / FRAME_S)
        after = _power_mean(frames.after.loudness[start:end][inside[start:end]])
        if after is not None:
            stretches.append({**stretch, "after_lufs": round(after + gain_db, 1)})
    profile: dict[str, Any] = {"speech_found": True, "speech_s": round(speech_s, 2)}
    profile["stretches"] = stretches
    if stretches:
        lengths = np.array([s["end_s"] - s["start_s"] for s in stretches])
        for when in ("before", "after"):
            levels = np.array([s[f"{when}_lufs"] for s in stretches])
            quiet = _weighted_percentile(levels, lengths, 0.1)
            loud = _weighted_percentile(levels, lengths, 0.9)
            profile[f"speech_{when}_lufs"] = round(_weighted_percentile(levels, lengths, 0.5), 1)
            profile[f"spread_{when}_lu"] = round(loud - quiet, 1)
    floor = _noise_floor(frames, inside, kept)
    for when, level in floor.items():
        shifted = None if level is None else level + (gain_db if when == "after" else 0.0)
        profile[f"noise_floor_{when}_lufs"] = None if shifted is None else round(shifted, 1)
        speech_level = profile.get(f"speech_{when}_lufs")
        profile[f"noise_gap_{when}_db"] = (
            None if shifted is None or speech_level is None else round(speech_level - shifted, 1)
        )
    return profile


def _noise_floor(
    frames: SpeechFrames, speech: np.ndarray, kept: np.ndarray | None
) -> dict[str, float | None]:
    """The noise floor before and after (LUFS of 100 ms blocks): the median of the pauses away
    from speech; None (not known) with less than FLOOR_PAUSES_S of them."""
    guard = round(FLOOR_GUARD_S / FRAME_S)
    running = np.concatenate([np.zeros(guard + 1, np.int32), np.cumsum(speech, dtype=np.int32)])
    running = np.concatenate([running, np.full(guard, running[-1], np.int32)])
    near = running[2 * guard + 1 :] != running[: speech.size]  # speech within ± guard frames
    keep = np.ones(speech.size, bool) if kept is None else kept[: speech.size]
    blocks = speech.size // 10
    pause = (~near & keep)[: blocks * 10].reshape(blocks, 10).all(axis=1)
    enough = pause.sum() * 0.1 >= FLOOR_PAUSES_S
    floor: dict[str, float | None] = {}
    for when, loudness in (("before", frames.before), ("after", frames.after.loudness)):
        power = 10.0 ** (loudness[: blocks * 10].astype(np.float64) / 10.0)
        grouped = power.reshape(blocks, 10).mean(axis=1)
        if not enough:  # speech everywhere: no noise floor to read (the dips between
            floor[when] = None  # syllables are no floor)
            continue
        level = float(np.median(grouped[pause]))
        floor[when] = 10.0 * math.log10(level) if level > 0 else -120.0
    return floor


__all__ = [
    "FRAME_S",
    "SpeechAnalysis",
    "SpeechFrames",
    "SpeechMap",
    "SpeechTracker",
    "analyse_speech",
    "box_means",
    "speech_mask",
    "speech_profile",
    "speech_regions",
    "speech_stretches",
]
