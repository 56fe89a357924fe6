"""Speech for the recognition tests: a two-sentence, two-voice espeak-ng clip with a known script
and where each sentence starts, and the session's model fixtures (a user cache folder of its own,
tiny.en resolved once)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from podcast_tools.audio.recognition import Model, resolve_model
from tests.interview import _say, need_espeak, write_wav

RATE = 22050
#: Two sentences by two espeak-ng voices (en-us, and en+f3: a female variant — espeak-ng 1.51
#: ignores "+f3" after "en-gb"), a known silence between them.
SCRIPT = [
    ("en-us", "Welcome to the show. Today we talk about service management and the people."),
    ("en+f3", "Thank you for having me. I have worked on the service desk for many years."),
]
LEAD_S, GAP_S = 0.5, 1.5


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """A user cache folder for the session (the base model is assembled there once)."""
    folder = tmp_path_factory.mktemp("xdg-cache")
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session")
def tiny(model_cache) -> Model:
    return resolve_model("tiny.en", where="test", field="model")


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> tuple[Path, list[float]]:
    """The two-sentence clip and where each sentence's voice starts (s)."""
    need_espeak()
    pieces, starts, at = [np.zeros(int(LEAD_S * RATE))], [], int(LEAD_S * RATE)
    for voice, text in SCRIPT:
        speech = _say(text, voice, 160, RATE) * 0.5
        starts.append((at + int(np.flatnonzero(np.abs(speech) > 1e-3)[0])) / RATE)
        gap = np.zeros(int(GAP_S * RATE))
        pieces += [speech, gap]
        at += speech.shape[0] + gap.shape[0]
    path = tmp_path_factory.mktemp("clip") / "clip.wav"
    return write_wav(path, np.concatenate(pieces), RATE, channels=1), starts


def make_turns(
    path: Path, *, turns: int = 6, snr_db: float | None = None, seed: int = 3
) -> list[tuple[str, float]]:
    """Write a WAV of `turns` alternating turns (host en-us, guest en+f3: pitches an octave
    apart) with pauses of 0.6–1.4 s, over pink noise `snr_db` under the speech when given;
    return (who, start s) of each turn's voice."""
    from tests.interview import GUEST_LINES, HOST_LINES, pink_noise

    need_espeak()
    rng = np.random.default_rng(seed)
    pieces, starts, at = [np.zeros(RATE)], [], RATE
    for index in range(turns):
        who, voice, lines = (
            ("host", "en-us", HOST_LINES) if index % 2 == 0 else ("guest", "en+f3", GUEST_LINES)
        )
        speech = _say(lines[index // 2 % len(lines)], voice, 160, RATE) * 0.3
        starts.append((who, (at + int(np.flatnonzero(np.abs(speech) > 1e-3)[0])) / RATE))
        pause = np.zeros(int(rng.uniform(0.6, 1.4) * RATE))
        pieces += [speech, pause]
        at += speech.shape[0] + pause.shape[0]
    mix = np.concatenate(pieces)
    if snr_db is not None:
        speech_rms = np.sqrt(np.mean(mix[np.abs(mix) > 1e-3] ** 2))
        mix = mix + pink_noise(mix.shape[0], rng) * speech_rms * 10 ** (-snr_db / 20)
    write_wav(path, mix, RATE, channels=1)
    return starts
