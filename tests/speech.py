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
