"""A generated two-voice interview (real synthetic speech from espeak-ng) for the tests and
benchmarks of the produced-sound stages: host and guest take turns, the guest recorded lower,
room tone under everything — and, on request, the noise and mains hum of a bad line.

Every signal is also returned on its own (the clean mix, each speaker's mask), so a measurement
can score against the truth: per-speaker loudness, room tone in the pauses, SI-SDR.

espeak-ng is a system package (Debian's `espeak-ng`, installed by tests/system-packages.sh,
the README test command's first step); `need_espeak()` skips a test without it (fails it in CI).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import signal

HOST_LINES = [
    "Welcome back to the show. Today we talk about change management in large service desks.",
    "So tell me, how did your team first notice that the approval queue was the bottleneck?",
    "That is interesting. What did the numbers look like before you changed the process?",
    "And how did the engineers react when the advisory board met only once a week?",
    "Let us talk about tooling for a moment. What did you automate first, and why that?",
    "Many listeners ask about incident reviews. How do you keep them blameless in practice?",
    "What would you tell a manager who starts this journey next Monday morning?",
    "Thank you so much for coming on the show. Where can people find your work?",
]
GUEST_LINES = [
    "Thanks for having me. It started when we saw that standard changes waited three days on average.",
    "Before the change, almost half of the requests were approved without anyone reading them.",
    "Honestly, they were frustrated at first, but the pre approved catalogue won them over quickly.",
    "We automated the risk scoring first, because it decided which changes needed a human at all.",
    "We write the timeline first, and we never put a name next to a mistake in the document.",
    "Start with the data you already have, and talk to the people who do the work every day.",
    "Measure the lead time of a change, and share the figures with the whole team every month.",
    "They can find me on the community forum, and our slides are on the conference website.",
]


def write_wav(path: Path, mono: np.ndarray, rate: int = 44100, channels: int = 2) -> Path:
    """`mono` (float, ±1) as a 16-bit WAV with the same signal in each of `channels`."""
    pcm = np.round(np.clip(mono, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(np.repeat(pcm[:, None], channels, axis=1).tobytes())
    return path


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None


def need_espeak() -> None:
    """Skip the calling test without espeak-ng — fail it in CI, where it must run."""
    import os

    import pytest

    if have_espeak():
        return
    reason = "espeak-ng is not installed: run tests/system-packages.sh (the README's test command)"
    if os.environ.get("CI"):
        pytest.fail(f"in CI the produced-sound tests must run: {reason}", pytrace=False)
    pytest.skip(reason)


def _say(text: str, voice: str, speed: int, rate: int) -> np.ndarray:
    """`text` spoken by espeak-ng, resampled to `rate`, float64 mono."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "say.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text],
            check=True,
            capture_output=True,
            timeout=120,
        )
        with wave.open(str(out), "rb") as handle:
            native = handle.getframerate()
            pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2")
    speech = pcm.astype(np.float64) / 32768.0
    gcd = np.gcd(native, rate)
    return signal.resample_poly(speech, rate // gcd, native // gcd)


def _rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x**2) + 1e-20))


def pink_noise(frames: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f) noise of unit RMS."""
    white = rng.standard_normal(frames + 4096)
    # Paul Kellet's economy filter, as IIR: 1/f within ±0.5 dB over the audio band
    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1, -2.494956002, 2.017265875, -0.522189400]
    pink = signal.lfilter(b, a, white)[4096:]
    return pink / np.sqrt(np.mean(pink**2))


@dataclass
class Interview:
    """What `make_interview` wrote and the truth behind it (all arrays at `rate`, mono)."""

    path: Path
    rate: int
    clean: np.ndarray  # speech (guest at its lower level) + room tone: what a denoiser should keep
    mix: np.ndarray  # what was written: `clean` plus the bad line's noise and hum, if any
    host: np.ndarray  # bool per sample: the host speaks
    guest: np.ndarray  # bool per sample: the guest speaks
    turns: list[tuple[str, float, float]] = field(default_factory=list)  # (who, start_s, end_s)

    @property
    def pauses(self) -> np.ndarray:
        """bool per sample: nobody speaks (room tone only), 0.15 s clear of any speech."""
        speaking = (self.host | self.guest).astype(np.int64)
        guard = int(0.15 * self.rate)
        running = np.concatenate([[0], np.cumsum(speaking)])  # speech within ± guard, by sums
        index = np.arange(speaking.size)
        hi = np.minimum(index + guard + 1, speaking.size)
        lo = np.maximum(index - guard, 0)
        return running[hi] - running[lo] == 0


def make_interview(
    path: Path,
    *,
    turns: int = 8,
    rate: int = 44100,
    channels: int = 2,
    host_db: float = -20.0,
    guest_gap_db: float = 12.0,
    room_db: float = -60.0,
    noise_snr_db: float | None = None,
    hum_hz: float | None = None,
    hum_db: float = -35.0,
    seed: int = 7,
    guest_voice: str = "en-gb+f3",
) -> Interview:
    """Write a 16-bit WAV interview of `turns` host/guest exchanges (about 13 s each) to `path`.

    The host's speech is at `host_db` dBFS RMS (over its voiced stretches), the guest's
    `guest_gap_db` lower; room tone (pink noise, low-passed as a room is) at `room_db` dBFS RMS
    runs under everything. `noise_snr_db` adds pink noise that much below the speech's RMS, and
    `hum_hz` mains hum (fundamental and odd/even harmonics, `hum_db` dBFS RMS in all).
    `guest_voice`: espeak-ng's voice for the guest. The default, "en-gb+f3", is read by
    espeak-ng 1.51 as its British male voice (the variant is ignored): two men of about the same
    pitch, as the produced-sound figures were measured; "en+f3" is a woman's voice (~205 Hz).
    """
    rng = np.random.default_rng(seed)
    pieces: list[tuple[str, np.ndarray]] = []
    for index in range(turns):
        host = _say(HOST_LINES[index % len(HOST_LINES)], "en-us", 165, rate)
        guest = _say(GUEST_LINES[index % len(GUEST_LINES)], guest_voice, 155, rate)
        pieces += [("host", host), ("guest", guest)]
    pause = lambda: int(rng.uniform(0.6, 1.4) * rate)  # noqa: E731
    lead = int(1.5 * rate)
    total = lead + sum(p.shape[0] + pause() for _, p in pieces) + lead
    speech = np.zeros(total)
    host_mask = np.zeros(total, bool)
    guest_mask = np.zeros(total, bool)
    spans: list[tuple[str, float, float]] = []
    at = lead
    rng_pauses = np.random.default_rng(seed + 1)
    for who, piece in pieces:
        active = np.abs(piece) > 1e-3
        level = _rms_db(piece[active]) if active.any() else -100.0
        want = host_db - (guest_gap_db if who == "guest" else 0.0)
        piece = piece * 10 ** ((want - level) / 20)
        speech[at : at + piece.shape[0]] += piece
        mask = host_mask if who == "host" else guest_mask
        # the mask marks where the voice is, not espeak's own silence at either end
        voiced = np.flatnonzero(active)
        if voiced.size:
            mask[at + voiced[0] : at + voiced[-1] + 1] = True
            spans.append((who, (at + voiced[0]) / rate, (at + voiced[-1] + 1) / rate))
        at += piece.shape[0] + int(rng_pauses.uniform(0.6, 1.4) * rate)
    speech = speech[: at + lead]
    host_mask, guest_mask = host_mask[: speech.shape[0]], guest_mask[: speech.shape[0]]
    frames = speech.shape[0]
    room = signal.sosfilt(signal.butter(2, 4000, fs=rate, output="sos"), pink_noise(frames, rng))
    room *= 10 ** (room_db / 20) / np.sqrt(np.mean(room**2))
    clean = speech + room
    mix = clean.copy()
    if noise_snr_db is not None:
        speech_rms_db = _rms_db(speech[host_mask | guest_mask])
        noise = pink_noise(frames, rng) * 10 ** ((speech_rms_db - noise_snr_db) / 20)
        mix += noise
    if hum_hz is not None:
        t = np.arange(frames) / rate
        hum = sum(
            amp * np.sin(2 * np.pi * hum_hz * k * t + k)
            for k, amp in ((1, 1.0), (2, 0.5), (3, 0.6), (4, 0.2), (5, 0.3), (7, 0.15))
        )
        hum *= 10 ** (hum_db / 20) / np.sqrt(np.mean(hum**2))
        mix += hum
    peak = np.max(np.abs(mix))
    if peak > 0.99:
        raise ValueError(f"the interview clips (peak {peak:.2f}): lower host_db")
    write_wav(path, mix, rate, channels)
    return Interview(path, rate, clean, mix, host_mask, guest_mask, spans)


def spoken_master(
    path: Path, sentences: list[str], gap_s: float = 1.0, rate: int = 44100
) -> list[float]:
    """A WAV of the sentences (espeak-ng), `gap_s` of near-silence between them and 1.5 s at
    the head; where each sentence starts (seconds)."""
    pieces, starts, at = [np.zeros(int(1.5 * rate))], [], 1.5
    for sentence in sentences:
        speech = _say(sentence, "en-us", 160, rate)
        speech *= 0.3 / np.max(np.abs(speech))
        voiced = np.flatnonzero(np.abs(speech) > 1e-3)
        starts.append(at + voiced[0] / rate)
        pieces += [speech, np.zeros(int(gap_s * rate))]
        at += speech.size / rate + gap_s
    pieces.append(np.zeros(int(1.5 * rate)))
    mono = np.concatenate(pieces)
    mono += np.random.default_rng(3).normal(0, 1e-4, mono.size)
    write_wav(path, mono, rate)
    return starts


__all__ = [
    "Interview",
    "have_espeak",
    "make_interview",
    "need_espeak",
    "pink_noise",
    "spoken_master",
    "write_wav",
]
