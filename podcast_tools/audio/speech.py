"""What a producer hears of the speech: the report's speech map, made by the render as it goes.

The render hands `SpeechMap` the master as decoded (before the stage chain) and as the chain put
it out (master time, before edits, jingles and gain). Both are mixed to mono and resampled to
16 kHz; per 10 ms frame the map keeps the K-weighted energy of each (as loudness meters weigh a
programme of the master's channels) and, of the chain's output, voice activity (webrtcvad, the
`webrtcvad-wheels` package: a compiled-in model, nothing to download). Memory: a few bytes per
10 ms — a 3-hour master's map is about 5 MB.

`speech_profile` turns the map into what the report says: the stretches of speech with their
loudness before and after, how far apart they are, and the noise floor under them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from podcast_tools.audio.meter import k_weighting_sos
from podcast_tools.audio.sosfilt import sosfilt

MAP_RATE = 16000
FRAME_S = 0.01
_FRAME = 160  # 10 ms at 16 kHz
_VAD_FRAMES = 3  # webrtcvad judges 30 ms at a time
VAD_MODE = 3  # 0 (least aggressive) … 3 (most): 3 keeps soft speech, drops room tone and noise

#: A pause shorter than this inside a stretch of speech does not end it (breaths, commas).
STRETCH_JOIN_S = 1.0
#: Stretches shorter than this are left out of the comparison (a "yes", a laugh).
STRETCH_MIN_S = 2.0
#: Frames this close to speech are no noise floor (the voice's own decay).
FLOOR_GUARD_S = 0.3
#: Pauses (away from speech) needed to read the noise floor in them.
FLOOR_PAUSES_S = 3.0
#: Less speech than this over the whole master: "no speech found".
MIN_SPEECH_S = 3.0


#: The anti-alias filter before the map's 16 kHz: a Kaiser-windowed sinc, flat to about 6 kHz.
_CUTOFF_HZ = 7000.0
_HALF_TAPS = 16


class _Mono16k:
    """A stream of (frames, channels) blocks at `rate`, as mono 16 kHz float32 in whole 10 ms
    frames: an FIR low-pass (33 taps, float32), then linear interpolation onto the
    16 kHz grid (exact positions: no drift over hours). NumPy only — `scipy.signal`'s import
    alone would add 65–75 MB to every master (see `audio.sosfilt`)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.taps: np.ndarray | None = None
        if rate > MAP_RATE:
            n = np.arange(2 * _HALF_TAPS + 1) - _HALF_TAPS
            width = 2.0 * _CUTOFF_HZ / rate
            taps = width * np.sinc(width * n) * np.kaiser(n.size, 6.0)
            self.taps = (taps / taps.sum()).astype(np.float32)
        self.history = np.zeros(0 if self.taps is None else self.taps.size - 1, np.float32)
        self.filtered = np.zeros(0, np.float32)  # filtered input not yet used, from index `base`
        self.base = 0
        self.emitted = 0  # 16 kHz samples made so far
        self.out = np.zeros(0, dtype=np.float32)

    def _lowpass(self, mono: np.ndarray) -> np.ndarray:
        if self.taps is None:
            return mono
        joined = np.concatenate([self.history, mono])
        self.history = joined[joined.size - (self.taps.size - 1) :]
        return np.convolve(joined, self.taps, mode="valid")  # one per new sample

    def feed(self, block: np.ndarray) -> np.ndarray:
        """The whole 10 ms frames of 16 kHz mono that `block` completes."""
        if block.shape[1] == 2:
            mono = (block[:, 0] + block[:, 1]) * np.float32(0.5)
        else:
            mono = block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
        self.filtered = np.concatenate([self.filtered, self._lowpass(mono.astype(np.float32))])
        last = self.base + self.filtered.size - 1  # interpolation needs the next sample too
        until = (last * MAP_RATE) // self.rate  # output n sits at input n × rate / 16000
        if until > self.emitted:
            wanted = np.arange(self.emitted, until, dtype=np.int64)
            scaled = wanted * self.rate  # exact: input index × 16000 of each output
            left = scaled // MAP_RATE - self.base
            frac = ((scaled % MAP_RATE) / MAP_RATE).astype(np.float32)
            before, after = self.filtered[left], self.filtered[left + 1]
            self.out = np.concatenate([self.out, before + (after - before) * frac])
            self.emitted = until
            keep = (until * self.rate) // MAP_RATE - self.base  # the next output's left sample
            self.filtered = self.filtered[keep:]
            self.base += keep
        whole = self.out.shape[0] - self.out.shape[0] % _FRAME
        ready, self.out = self.out[:whole], self.out[whole:]
        return ready


class _Energies:
    """K-weighted energy per 10 ms of a 16 kHz mono stream, times the channel count (a mono
    mix of a dual-mono master reads as the master does)."""

    def __init__(self, channels: int) -> None:
        self.sos = k_weighting_sos(MAP_RATE).astype(np.float32)
        self.state = np.zeros((self.sos.shape[0], 2), dtype=np.float32)
        self.channels = channels
        self.parts: list[np.ndarray] = []

    def feed(self, mono: np.ndarray) -> None:
        if not mono.shape[0]:
            return
        weighted, self.state = sosfilt(self.sos, mono.astype(np.float32), self.state)
        squares = np.square(weighted.reshape(-1, _FRAME), dtype=np.float64).mean(axis=1)
        self.parts.append((squares * self.channels).astype(np.float32))

    def result(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)


class _Voice:
    """webrtcvad's verdict per 10 ms (each 30 ms judgement marks its three frames)."""

    def __init__(self) -> None:
        import webrtcvad  # the package webrtcvad-wheels; imported only when a map is made

        self.vad = webrtcvad.Vad(VAD_MODE)
        self.held = np.zeros(0, dtype=np.int16)
        self.parts: list[np.ndarray] = []

    def feed(self, mono: np.ndarray) -> None:
        pcm = np.clip(np.round(mono * 32767.0), -32768, 32767).astype("<i2")
        joined = np.concatenate([self.held, pcm])
        step = _FRAME * _VAD_FRAMES
        whole = joined.shape[0] - joined.shape[0] % step
        self.held = joined[whole:]
        data = joined[:whole].tobytes()
        stride = step * 2
        verdicts = np.fromiter(
            (
                self.vad.is_speech(data[i : i + stride], MAP_RATE)
                for i in range(0, len(data), stride)
            ),
            dtype=bool,
            count=whole // step,
        )
        self.parts.append(np.repeat(verdicts, _VAD_FRAMES))

    def result(self, frames: int) -> np.ndarray:
        voiced = np.concatenate(self.parts) if self.parts else np.zeros(0, bool)
        out = np.zeros(frames, dtype=bool)  # the last < 30 ms: not judged, not speech
        out[: min(frames, voiced.shape[0])] = voiced[:frames]
        return out


@dataclass
class SpeechFrames:
    """The map: per 10 ms of the master, voice activity and K-weighted energies."""

    voiced: np.ndarray  # bool
    after: np.ndarray  # energy of the chain's output
    before: np.ndarray  # energy of the master as decoded (the same array without stages)


class SpeechMap:
    """Collects the map from the render's two taps (`before`: only when stages run)."""

    def __init__(self, rate: int, channels: int, *, stages: bool) -> None:
        self._after = _Mono16k(rate)
        self._after_energy = _Energies(channels)
        self._voice = _Voice()
        self._before = _Mono16k(rate) if stages else None
        self._before_energy = _Energies(channels) if stages else None

    def tap_before(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        if self._before is None:
            return blocks
        return self._tap(blocks, self._before, self._before_energy)

    def tap_after(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        return self._tap(blocks, self._after, self._after_energy, self._voice)

    @staticmethod
    def _tap(blocks, resampler, energies, voice=None) -> Iterator[np.ndarray]:
        try:
            for block in blocks:
                mono = resampler.feed(block)
                energies.feed(mono)
                if voice is not None:
                    voice.feed(mono)
                yield block
        finally:  # a render that stops early stops the decoder too
            close = getattr(blocks, "close", None)
            if close is not None:
                close()

    def frames(self) -> SpeechFrames:
        after = self._after_energy.result()
        before = after if self._before_energy is None else self._before_energy.result()
        count = min(after.shape[0], before.shape[0])
        return SpeechFrames(self._voice.result(count), after[:count], before[:count])


# --- what the report says ------------------------------------------------------------------------


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _lufs(energy: np.ndarray) -> float | None:
    mean = float(np.mean(energy, dtype=np.float64)) if energy.size else 0.0
    return -0.691 + 10.0 * math.log10(mean) if mean > 0 else None


def stretches_of(voiced: np.ndarray) -> list[tuple[int, int]]:
    """The stretches of speech (10 ms frame ranges): runs of voice joined across pauses shorter
    than STRETCH_JOIN_S, at least STRETCH_MIN_S long."""
    join = round(STRETCH_JOIN_S / FRAME_S)
    joined: list[tuple[int, int]] = []
    for start, end in _runs(voiced):
        if joined and start - joined[-1][1] < join:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    shortest = round(STRETCH_MIN_S / FRAME_S)
    return [(s, e) for s, e in joined if e - s >= shortest]


#: Speech rises and falls with its syllables (2.5–10 Hz); a stretch whose loudness moves less
#: than this (modulation index) is music, tone or noise the voice detector took for speech.
SPEECH_MODULATION = 0.15


def modulation_index(energy: np.ndarray) -> float:
    """How much the amplitude of a stretch moves at syllable rates: the RMS of its envelope's
    2.5–10 Hz components over its mean (10 ms `energy` frames; speech 0.3–0.8, steady noise and
    held tones under 0.05)."""
    if energy.size < 50:
        return 0.0
    amplitude = np.sqrt(energy.astype(np.float64))
    mean = amplitude.mean()
    if mean <= 0:
        return 0.0
    spectrum = np.abs(np.fft.rfft(amplitude / mean - 1.0)) ** 2 * (2.0 / amplitude.size**2)
    rates = np.fft.rfftfreq(amplitude.size, FRAME_S)
    return float(np.sqrt(spectrum[(rates >= 2.5) & (rates <= 10.0)].sum()))


def speech_stretches(voiced: np.ndarray, energy: np.ndarray) -> list[tuple[int, int]]:
    """`stretches_of(voiced)` that move as speech does (`modulation_index` of `energy` at least
    SPEECH_MODULATION): the voice detector's music and noise left out."""
    return [
        (start, end)
        for start, end in stretches_of(voiced)
        if modulation_index(energy[start:end]) >= SPEECH_MODULATION
    ]


def _weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, q * cumulative[-1]))
    return float(values[order][min(index, values.size - 1)])


def speech_profile(frames: SpeechFrames, gain_db: float, kept: np.ndarray | None = None) -> dict:
    """The report's `speech` section: the stretches of speech (master time) with their loudness
    as recorded (`before_lufs`) and as published (`after_lufs`: the chain's output plus the
    render's gain), the spread between the quiet and the loud ones (10th to 90th percentile of
    speech time), and the noise floor (the median 100 ms level of the pauses, away from speech)
    before and after, also relative to the speech. `kept`: per frame, whether the edits keep it
    (trimmed and cut audio is no one's concern)."""
    voiced = frames.voiced if kept is None else frames.voiced & kept[: frames.voiced.size]
    found = speech_stretches(voiced, frames.after)
    speech_s = float(sum(voiced[start:end].sum() for start, end in found)) * FRAME_S
    if speech_s < MIN_SPEECH_S:
        return {"speech_found": False, "speech_s": round(speech_s, 2)}
    stretches = []
    for start, end in found:
        inside = voiced[start:end]
        before = _lufs(frames.before[start:end][inside])
        after = _lufs(frames.after[start:end][inside])
        if before is None or after is None:
            continue
        stretches.append(
            {
                "start_s": round(start * FRAME_S, 2),
                "end_s": round(end * FRAME_S, 2),
                "before_lufs": round(before, 1),
                "after_lufs": round(after + gain_db, 1),
            }
        )
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
    floor = _noise_floor(frames, voiced, kept)
    for when, level in floor.items():
        shifted = None if level is None else level + (gain_db if when == "after" else 0.0)
        profile[f"noise_floor_{when}_lufs"] = None if shifted is None else round(shifted, 1)
        speech = profile.get(f"speech_{when}_lufs")
        profile[f"noise_gap_{when}_db"] = (
            None if shifted is None or speech is None else round(speech - shifted, 1)
        )
    return profile


def _noise_floor(
    frames: SpeechFrames, voiced: np.ndarray, kept: np.ndarray | None
) -> dict[str, float | None]:
    """The noise floor before and after (LUFS of 100 ms blocks): the median of the pauses away
    from speech when there are at least FLOOR_PAUSES_S of them; else — speech everywhere, or
    noise the voice detector takes for speech — the quietest 5 % of the kept blocks."""
    guard = round(FLOOR_GUARD_S / FRAME_S)
    near = np.convolve(voiced.astype(np.float32), np.ones(2 * guard + 1), mode="same") > 0
    keep = np.ones(voiced.size, bool) if kept is None else kept[: voiced.size]
    blocks = voiced.size // 10
    pause = (~near & keep)[: blocks * 10].reshape(blocks, 10).all(axis=1)
    kept_blocks = keep[: blocks * 10].reshape(blocks, 10).all(axis=1)
    enough = pause.sum() * 0.1 >= FLOOR_PAUSES_S
    floor: dict[str, float | None] = {}
    for when, energy in (("before", frames.before), ("after", frames.after)):
        grouped = energy[: blocks * 10].reshape(blocks, 10).mean(axis=1, dtype=np.float64)
        if enough:
            level = float(np.median(grouped[pause]))
        elif kept_blocks.sum() >= 10:
            level = float(np.percentile(grouped[kept_blocks], 5))
        else:
            floor[when] = None
            continue
        floor[when] = -0.691 + 10.0 * math.log10(level) if level > 0 else -120.0
    return floor


__all__ = [
    "SpeechFrames",
    "SpeechMap",
    "modulation_index",
    "speech_profile",
    "speech_stretches",
    "stretches_of",
]
