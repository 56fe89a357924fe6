"""Audio stages of the tests, registered through the stage registry as any stage is (importing
this module registers them). `tests.conftest.podcast(…, process=True, imports=("tests.stage_plugins",))`
runs the `podcast` command in a process that has imported it; `publish`'s worker processes import
it again when they unpickle a show's settings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field

from podcast_tools.audio.stages import StageContext, register_stage
from podcast_tools.content.models import StageSettings

REPO = Path(__file__).resolve().parents[1]


class NothingSettings(StageSettings):
    pass


@register_stage
class Nothing:
    """Hands every block on as it came: the chain's machinery, and nothing else."""

    name = "test-nothing"
    version = "1"
    settings_model = NothingSettings

    def __init__(self, settings: NothingSettings, context: StageContext) -> None:
        self.channels = context.channels

    def prepare(self) -> None:
        pass

    def process(self, block: np.ndarray) -> np.ndarray:
        return block

    def flush(self) -> np.ndarray:
        return np.zeros((0, self.channels), dtype=np.float32)


class GainSettings(StageSettings):
    gain_db: float = Field(-6.0, ge=-40.0, le=0.0)


@register_stage
class Gain:
    """A fixed gain, and a little latency (held back, given back in `flush`): it changes the
    loudness that pass 1 must measure."""

    name = "test-gain"
    version = "1"
    settings_model = GainSettings
    held_frames = 1000

    def __init__(self, settings: GainSettings, context: StageContext) -> None:
        self.gain = np.float32(10.0 ** (settings.gain_db / 20.0))
        self.channels = context.channels
        self.held = np.zeros((0, self.channels), dtype=np.float32)

    def prepare(self) -> None:
        self.held = np.zeros((0, self.channels), dtype=np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self.held, block * self.gain])
        self.held = joined[max(0, joined.shape[0] - self.held_frames) :]
        return joined[: joined.shape[0] - self.held.shape[0]]

    def flush(self) -> np.ndarray:
        held, self.held = self.held, np.zeros((0, self.channels), dtype=np.float32)
        return held
