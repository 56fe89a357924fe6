"""The speech leveler: an audio stage that evens out speakers recorded at different levels.

Like a producer riding the fader: every stretch of speech is brought towards the programme's
speech level with a slow gain, and nothing else is raised.

1. **Analysis** (in `prepare`, once per master and process: pass 1 and pass 2 share it). The
   master is read a second time as the chain reads it (a WAV of the output's rate and channels
   directly, anything else through ffmpeg), mixed to mono, low-passed and taken down to 8 kHz
   (webrtcvad's own band) and reduced to two records per 10 ms: the loudness (the meter's
   K-weighted energy) and webrtcvad's voice decision (mode 2, 30 ms frames). Memory stays
   flat: a 3-hour master is 1.1 M frames, a few MB per record.
2. **Speech**: a 10 ms frame is speech when the VAD says so, the frame is above the noise floor
   and its neighbourhood (1 s) moves the way speech moves — syllables make the frame loudness
   swing by many dB, where the steady noise, hum or tones that webrtcvad also takes for voice do
   not (`speech_mask`). Speech frames less than `MERGE_S` apart form a *region*.
3. **Gain curve** (non-causal: computed before any audio flows), per 10 ms frame, in dB:
   - inside a region: the local speech level (power mean of the speech frames within ±1.5 s,
     inside the region) against the programme's speech level (the mean, in dB, of the local
     levels over all speech): `programme − local`, bounded by `max_cut_db`/`max_boost_db`,
     smoothed over 1 s and slew-limited to `max_speed_db_per_s`;
   - in the pauses between regions: held, then eased down (`EASE_DB_PER_S` after `HOLD_S`)
     towards the gain of the loudest speech (`REFERENCE_PERCENTILE` of the speech's gains) — a
     pause is never raised above the speech around it, so breaths and room tone are not pumped
     up; a short ramp (`ONSET_DB_PER_S`) just before a speech onset reaches the next region's gain.
   No speech found (noise, tones, music only): the gain is 0 dB everywhere, the blocks pass
   untouched and `findings()["speech_found"]` is False.
4. **Process**: the curve, interpolated per sample (linear between the 10 ms frames' starts),
   times the block — float32, same frames, no latency, deterministic.

The analysis reads the master as recorded — before the stages ahead of the leveler (dehum,
denoise) and with the parts the edits trim or cut — and the gain applies to what those stages put
out: hum and noise move a frame's loudness little once it is speech, and the mask keeps noise
itself out of the speech.

The global gain and the true-peak limiter come after the chain, so the programme still lands on
its target whatever the leveler did.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from podcast_tools.audio.speech import (
    FRAME_S,
    MIN_SPEECH_S,
    SpeechAnalysis,
    analyse_speech,
    box_means,
    speech_mask,
    speech_regions,
    speech_stretches,
)
from podcast_tools.audio.stages import StageContext, register_stage
from podcast_tools.content.models import StageSettings

#: A region's gain starts a little before its first speech frame and ends a little after.
PRE_ROLL_S = 0.05
POST_ROLL_S = 0.1
#: The local speech level: power mean of the speech frames within this window (inside a region).
LEVEL_WINDOW_S = 3.0
#: The gain target is smoothed over this window before the slew limit.
SMOOTH_S = 1.0
#: Pauses: the gain is held this long, then eased down at this rate ...
HOLD_S = 0.1
EASE_DB_PER_S = 20.0
#: ... towards the gain of the loudest speech (this percentile of the speech frames' gains).
REFERENCE_PERCENTILE = 10.0
#: Just before a speech onset the gain may move this fast to reach the region's gain.
ONSET_DB_PER_S = 40.0
#: The findings' gain curve: one value per step, the step doubled until at most this many.
MAX_CURVE_POINTS = 12_000
CURVE_STEP_S = 0.5


class LevelerSettings(StageSettings):
    """`[mastering.stages.leveler]`: the speech leveler's bounds."""

    max_boost_db: float = Field(
        12.0,
        ge=0.0,
        le=24.0,
        description="the most a quiet stretch of speech is raised (dB)",
    )
    max_cut_db: float = Field(
        12.0,
        ge=0.0,
        le=24.0,
        description="the most a loud stretch of speech is lowered (dB)",
    )
    max_speed_db_per_s: float = Field(
        3.0,
        ge=0.5,
        le=12.0,
        description="the fastest the gain moves inside speech (dB per second)",
    )


# --- the gain curve -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Leveling:
    """The analysis's outcome: the gain per 10 ms frame (dB) and what the report says of it."""

    gain_db: np.ndarray  # float32 per frame; empty or all 0 when no speech was found
    findings: dict[str, Any]


def _slew_limited(values: np.ndarray, step: float) -> np.ndarray:
    """`values` with every frame-to-frame move at most `step`: the mean of a forward and a
    backward pass (each: falls, then rises limited, as running extrema), centred in time."""

    def forward(x: np.ndarray) -> np.ndarray:
        ramp = step * np.arange(x.size)
        held = np.maximum.accumulate(x + ramp) - ramp  # falls at most `step` a frame
        return np.minimum.accumulate(held - ramp) + ramp  # then rises at most `step` a frame

    return (forward(values) + forward(values[::-1])[::-1]) / 2.0


def _local_levels(
    loudness: np.ndarray, speech: np.ndarray, regions: list[tuple[int, int]]
) -> np.ndarray:
    """Per frame inside a region: the power mean (LUFS) of the region's speech frames within
    LEVEL_WINDOW_S (a window with none: the region's); NaN elsewhere. Float32."""
    local = np.full(loudness.size, np.nan, dtype=np.float32)
    width = round(LEVEL_WINDOW_S / FRAME_S)
    for start, end in regions:
        inside = speech[start:end]
        power = np.where(inside, 10.0 ** (loudness[start:end].astype(np.float64) / 10.0), 0.0)
        energy = box_means(power, width)
        count = box_means(inside.astype(np.float64), width)
        empty = count == 0
        if empty.any():
            energy[empty], count[empty] = power.sum(), inside.sum()
        local[start:end] = 10.0 * np.log10(energy / count)
    return local


def level_speech(analysis: SpeechAnalysis, settings: LevelerSettings) -> Leveling:
    """The gain curve (dB per 10 ms frame) and the findings for `analysis` (see the module)."""
    frames = analysis.frames
    speech = speech_mask(analysis)
    regions = speech_regions(speech)
    kept = np.zeros(frames, dtype=np.bool_)
    for start, end in regions:
        kept[start:end] = speech[start:end]
    speech = kept
    speech_s = float(speech.sum()) * FRAME_S
    if speech_s < MIN_SPEECH_S:
        return Leveling(
            np.zeros(0, dtype=np.float32),
            {
                "speech_found": False,
                "speech_s": round(speech_s, 2),
                "programme_speech_lufs": None,
                "boost_limited_s": 0.0,
                "cut_limited_s": 0.0,
                "curve_step_s": None,
                "gain_db": [],
                "stretches": [],
            },
        )
    local = _local_levels(analysis.loudness, speech, regions)
    programme = float(np.mean(local[speech], dtype=np.float64))
    wanted = programme - local
    target = np.clip(wanted, -settings.max_cut_db, settings.max_boost_db)
    limited = {
        "boost_limited_s": round(
            float(np.sum(wanted[speech] > settings.max_boost_db)) * FRAME_S, 2
        ),
        "cut_limited_s": round(float(np.sum(wanted[speech] < -settings.max_cut_db)) * FRAME_S, 2),
    }
    del wanted
    del local
    gain = np.zeros(frames, dtype=np.float32)
    smooth = max(1, round(SMOOTH_S / FRAME_S))
    speed = settings.max_speed_db_per_s * FRAME_S
    for start, end in regions:
        gain[start:end] = _slew_limited(box_means(target[start:end], smooth), speed)
    del target
    reference = float(np.percentile(gain[speech], REFERENCE_PERCENTILE))
    _fill_pauses(gain, regions, reference)
    # A region starts a little before its first speech frame and ends a little after: the
    # onset's ramp (below) finishes PRE_ROLL_S early; the region's gain holds through POST_ROLL_S.
    _ramp_to_onsets(gain, regions)

    findings = {
        "speech_found": True,
        "speech_s": round(speech_s, 2),
        "programme_speech_lufs": round(programme, 1),
        **limited,
        **_curve(gain),
        "stretches": speech_stretches(speech, analysis.loudness, gain),
    }
    return Leveling(gain, findings)


def _fill_pauses(gain: np.ndarray, regions: list[tuple[int, int]], reference: float) -> None:
    """The gain of the pauses, in place: held after a region (POST_ROLL_S and HOLD_S), then
    eased down towards min(the regions' gains on either side, `reference`)."""
    frames = gain.size
    hold = round((POST_ROLL_S + HOLD_S) / FRAME_S)
    ease = EASE_DB_PER_S * FRAME_S
    bounds = [(0, None)] + [(end, gain[end - 1]) for _, end in regions]
    nexts = [(start, gain[start]) for start, _ in regions] + [(frames, None)]
    for (first, before), (stop, after) in zip(bounds, nexts):
        if stop <= first:
            continue
        sides = [g for g in (before, after) if g is not None]
        floor = min(min(sides), reference)
        if before is None:  # before the first region
            gain[first:stop] = floor
            continue
        since = np.arange(stop - first, dtype=np.float64)
        gain[first:stop] = np.maximum(floor, before - ease * np.maximum(0.0, since - hold))


def _ramp_to_onsets(gain: np.ndarray, regions: list[tuple[int, int]]) -> None:
    """In place: each region's gain reached PRE_ROLL_S before its first frame, moving at most
    ONSET_DB_PER_S — a backward pass of running extrema (a rise or a fall into an onset starts
    early enough), run on a window before each onset only: nothing else moves that fast, so
    nothing else changes, and no ramp is longer than the curve's range allows."""
    if not regions:
        return
    step = ONSET_DB_PER_S * FRAME_S
    pre = round(PRE_ROLL_S / FRAME_S)
    for start, _ in regions:  # the region's first gain, held back over the pre-roll
        gain[max(0, start - pre) : start] = gain[start]
    reach = pre + math.ceil(float(gain.max() - gain.min()) / step) + 2
    for start, _ in reversed(regions):
        first = max(0, start - reach)
        window = gain[first : start + 1][::-1].astype(np.float64)  # from the onset backwards
        ramp = step * np.arange(window.size)
        window = np.maximum.accumulate(window + ramp) - ramp  # rises reached in time
        window = np.minimum.accumulate(window - ramp) + ramp  # falls reached in time
        gain[first : start + 1] = window[::-1]


def _curve(gain: np.ndarray) -> dict[str, Any]:
    """The findings' gain curve: the mean gain (dB) of each step, the step 0.5 s or more."""
    step_s = CURVE_STEP_S
    while gain.size * FRAME_S / step_s > MAX_CURVE_POINTS:
        step_s *= 2
    per = round(step_s / FRAME_S)
    whole = gain.size // per * per
    means = gain[:whole].reshape(-1, per).mean(axis=1) if whole else np.zeros(0)
    if gain.size > whole:
        means = np.concatenate([means, [gain[whole:].mean()]])
    return {"curve_step_s": step_s, "gain_db": [round(float(v), 1) + 0.0 for v in means]}


# --- the stage ----------------------------------------------------------------------------------

_MEMO: OrderedDict[tuple, Leveling] = OrderedDict()
_MEMO_SIZE = 2
_MEMO_LOCK = threading.Lock()


def leveling_for(
    source: Path, settings: LevelerSettings, sample_rate: int, channels: int
) -> Leveling:
    """The leveling of `source` (analysed once per process: pass 1 and pass 2 share it; the
    last two masters are kept, keyed by path, size, modification time and settings)."""
    stat = source.stat()
    key = (
        str(source.resolve()),
        stat.st_size,
        stat.st_mtime_ns,
        sample_rate,
        channels,
        settings.model_dump_json(),
    )
    with _MEMO_LOCK:
        found = _MEMO.get(key)
        if found is not None:
            _MEMO.move_to_end(key)
            return found
    leveling = level_speech(analyse_speech(source, sample_rate, channels), settings)
    with _MEMO_LOCK:
        _MEMO[key] = leveling
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return leveling


@register_stage
class Leveler:
    """The speech leveler (see the module): `[mastering.stages.leveler]`."""

    name = "leveler"
    version = "1"
    settings_model = LevelerSettings

    def __init__(self, settings: LevelerSettings, context: StageContext) -> None:
        self.settings = settings
        self.context = context
        self.leveling: Leveling | None = None
        self.starts = self.slopes = np.zeros(0, dtype=np.float32)
        self.frame_len = 0
        self.position = 0

    def prepare(self) -> None:
        context = self.context
        self.leveling = leveling_for(
            context.source, self.settings, context.sample_rate, context.channels
        )
        self.position = 0
        gain_db = self.leveling.gain_db
        if not gain_db.size:
            self.starts = self.slopes = np.zeros(0, dtype=np.float32)
            return
        # The curve's knots: frame k's gain at the frame's first sample, k × 10 ms; linear in
        # between, the last held. Per frame: its first sample's gain and the step per sample.
        gains = 10.0 ** (gain_db.astype(np.float64) / 20.0)
        self.starts = gains.astype(np.float32)
        self.slopes = np.append(np.diff(gains), 0.0).astype(np.float32)
        per_frame = self.context.sample_rate * FRAME_S
        self.frame_len = round(per_frame) if abs(per_frame - round(per_frame)) < 1e-9 else 0
        if self.frame_len:
            self.ramp = (np.arange(self.frame_len) / self.frame_len).astype(np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        frames = block.shape[0]
        first = self.position
        self.position += frames
        if self.starts.size == 0 or frames == 0:
            return block
        return block * self._gains(first, frames)[:, None]

    def _gains(self, first: int, frames: int) -> np.ndarray:
        """The gain of samples [first, first + frames), float32."""
        last = self.starts.size - 1
        if self.frame_len:  # whole frames of samples: each frame's line, at float32 speed
            size = self.frame_len
            k0, k1 = first // size, (first + frames - 1) // size + 1
            index = np.minimum(np.arange(k0, k1), last)
            lines = self.starts[index, None] + self.slopes[index, None] * self.ramp[None, :]
            offset = first - k0 * size
            return lines.ravel()[offset : offset + frames]
        at = np.arange(first, first + frames, dtype=np.float64) / (
            self.context.sample_rate * FRAME_S
        )
        knots = np.arange(self.starts.size, dtype=np.float64)
        return np.interp(at, knots, self.starts.astype(np.float64)).astype(np.float32)

    def flush(self) -> np.ndarray:
        return np.zeros((0, self.context.channels), dtype=np.float32)

    def findings(self) -> dict[str, Any]:
        """What the leveler found and did (JSON-able, the same in both passes):

        - `speech_found` (bool): False — no speech, the master passed untouched (gain 0 dB);
        - `speech_s`: seconds of speech found;
        - `programme_speech_lufs`: the level speech was brought towards (the mean, in dB, of
          the local speech levels; as recorded, before the global gain; None without speech);
        - `boost_limited_s`, `cut_limited_s`: seconds of speech that wanted more than
          `max_boost_db` / `max_cut_db` (raise the setting to even them out fully);
        - `curve_step_s` (0.5, doubled for masters over 100 minutes; None without speech) and
          `gain_db`: the gain curve, the mean gain (dB, 0.1 dB) of each step from the master's
          start (the master's time: before trims and cuts);
        - `stretches`: the stretches of speech (see `speech_stretches`): `start_s`, `end_s`
          (master time), `before_lufs` (as recorded), `gain_db` (what the leveler changed: the
          stretch after the leveler is before_lufs + gain_db, before the global gain).
        """
        return dict(self.leveling.findings) if self.leveling is not None else {}


__all__ = [
    "Leveler",
    "LevelerSettings",
    "Leveling",
    "SpeechAnalysis",
    "analyse_speech",
    "level_speech",
    "leveling_for",
    "speech_mask",
    "speech_regions",
    "speech_stretches",
]
