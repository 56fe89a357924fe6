"""The audio stage chain: processing that runs on the decoded master before everything else.

A show turns stages on in `[mastering.stages.<name>]` (see docs/content.md, "Audio stages"); `MasteringSettings.stages`
lists the enabled ones, in the registry's order. Both passes run the same chain on the master as
it decodes — pass 1 (`analyse`) meters, and takes the codec probe's excerpts of, what the chain
puts out, pass 2 (`render`) assembles, limits and encodes it — so a stage that changes loudness
(a leveler, a denoiser) needs no gain of its own: the gain is solved once, on what is rendered.

    decode → stages → assemble (edits, jingles) → gain + limiter → encoders

A stage is a class registered with `register_stage` (its name, version and settings model); the
settings model (a `podcast_tools.content.models.StageSettings`) is what validation checks a
show's table against. Each enabled stage's name, version and settings join the audio
fingerprint and the analysis cache key (`chain_identity`); with no stage enabled neither
changes, and the render is the one it always was.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from podcast_tools.content.models import STAGE_SETTINGS, StageSettings

#: A stage of MasteringSettings: its registered name and its (validated) settings.
StageSpec = tuple[str, StageSettings]


@dataclass(frozen=True)
class StageContext:
    """What a stage learns before its first block: the master and the PCM it will see."""

    source: Path
    sample_rate: int
    channels: int


class Stage(Protocol):
    """One step of the chain. Made fresh for each pass as `cls(settings, context)`.

    Deterministic: the same blocks in give the same blocks out, in pass 1 and in pass 2 (no
    randomness, no clock, no state kept between passes) — pass 1 measures what pass 2 renders,
    and a cached analysis stays true. Blocks are float32 arrays of (frames, channels) at the
    context's rate; a stage may hold samples back (return fewer, even none) and give them in
    `flush`, but must, over the whole master, return as many frames as it was given (the chain
    cuts its output as its input came, so both passes see the decoder's chunks).
    """

    #: The name a show turns it on by (`[mastering.stages.<name>]`).
    name: ClassVar[str]
    #: Bump when the stage makes other samples from the same input and settings: every episode
    #: of the shows that use it is then mastered again.
    version: ClassVar[str]
    #: Its settings (a StageSettings model: `enabled` and the stage's own fields).
    settings_model: ClassVar[type[StageSettings]]
    # Optional: `order: ClassVar[int]` — its place in the chain (see DEFAULT_ORDER).

    def __init__(self, settings: StageSettings, context: StageContext) -> None: ...

    def prepare(self) -> None:
        """Called once per pass, before the first block."""

    def process(self, block: np.ndarray) -> np.ndarray: ...

    def flush(self) -> np.ndarray:
        """The samples held back, after the last block (an empty block when none)."""

    # Optional: `findings(self) -> dict[str, Any]` — what the stage found and did in this pass
    # (JSON-able: numbers, strings, lists), for the mastering report; called after `flush`.
    # The same in both passes (deterministic); the report takes the render's.


#: The registry: name → stage class, in the order they were registered (`chain_order` sorts).
STAGES: dict[str, type[Stage]] = {}


def register_stage(stage: type[Stage]) -> type[Stage]:
    """Add a stage to the registry (usable as a class decorator): shows may turn it on by its
    name, and validation checks their tables against its settings model."""
    if not issubclass(stage.settings_model, StageSettings):
        raise TypeError(f"{stage.name}: its settings_model must be a StageSettings")
    STAGES[stage.name] = stage
    STAGE_SETTINGS[stage.name] = stage.settings_model
    return stage


def unregister_stage(name: str) -> None:
    """Take a stage out of the registry (tests that register one of their own)."""
    STAGES.pop(name, None)
    STAGE_SETTINGS.pop(name, None)


#: Where a stage without an `order` of its own runs: after hum and noise removal (10, 20),
#: before the leveler (90); stages of the same order run in the order they were registered.
DEFAULT_ORDER = 50


def chain_order() -> list[str]:
    """The registered stages' names in chain order: by their `order` (DEFAULT_ORDER when they
    have none), then as they were registered."""
    names = list(STAGES)
    return sorted(names, key=lambda n: (getattr(STAGES[n], "order", DEFAULT_ORDER), names.index(n)))


def stage_specs(stages: dict[str, StageSettings]) -> tuple[StageSpec, ...]:
    """The enabled stages of a show's `mastering.stages`, in chain order (`chain_order`)."""
    return tuple(
        (name, stages[name]) for name in chain_order() if name in stages and stages[name].enabled
    )


def chain_identity(specs: tuple[StageSpec, ...]) -> list[dict[str, Any]]:
    """What the chain's output depends on: each stage's name, version and settings (the audio
    fingerprint and the analysis cache key take it when it is not empty)."""
    return [
        {
            "stage": name,
            "version": STAGES[name].version,
            "settings": settings.model_dump(mode="json", exclude={"enabled"}),
        }
        for name, settings in specs
    ]


class StageChain:
    """The enabled stages of one pass, run in order on the master's blocks."""

    def __init__(self, specs: tuple[StageSpec, ...], context: StageContext) -> None:
        self.stages = [STAGES[name](settings, context) for name, settings in specs]
        self.channels = context.channels

    def run(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """The chain's output for `blocks` (no stage: `blocks` themselves, untouched)."""
        if not self.stages:
            return blocks
        return self._run(blocks)

    def _run(self, blocks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for stage in self.stages:
            stage.prepare()
        cut = _AsTheInputCame()
        try:
            for block in blocks:
                cut.expect(block.shape[0])
                cut.add(self._through(block, 0))
                yield from cut.ready()
        finally:  # a render that stops early stops the decoder too
            close = getattr(blocks, "close", None)
            if close is not None:
                close()
        for index, stage in enumerate(self.stages):  # each stage's tail runs through the rest
            cut.add(self._through(self._checked(stage, stage.flush()), index + 1))
            yield from cut.ready()
        if cut.sizes or cut.frames:
            names = ", ".join(repr(stage.name) for stage in self.stages)
            raise RuntimeError(f"the audio stages {names} returned another number of frames")

    def findings(self) -> dict[str, dict[str, Any]]:
        """Each stage's `findings()` (those that have it) after a run, by stage name."""
        found = {}
        for stage in self.stages:
            report = getattr(stage, "findings", None)
            if report is not None:
                found[stage.name] = report()
        return found

    def _through(self, block: np.ndarray, first: int) -> np.ndarray:
        for stage in self.stages[first:]:
            block = self._checked(stage, stage.process(block))
        return block

    def _checked(self, stage: Stage, block: np.ndarray) -> np.ndarray:
        if (
            not isinstance(block, np.ndarray)
            or block.dtype != np.float32
            or block.ndim != 2
            or block.shape[1] != self.channels
        ):
            raise TypeError(
                f"audio stage {stage.name!r} returned something other than float32 PCM of "
                f"{self.channels} channel(s)"
            )
        return block


class _AsTheInputCame:
    """The chain's output cut as its input came: output block k is as long as input block k,
    so chunk numbers and lengths stay the decoder's (the codec probe's excerpts, the cached
    analysis's checks) whatever a stage holds back."""

    def __init__(self) -> None:
        self.sizes: deque[int] = deque()
        self.parts: list[np.ndarray] = []
        self.frames = 0

    def expect(self, frames: int) -> None:
        self.sizes.append(frames)

    def add(self, block: np.ndarray) -> None:
        if block.shape[0]:
            self.parts.append(block)
            self.frames += block.shape[0]

    def ready(self) -> Iterator[np.ndarray]:
        while self.sizes and self.frames >= self.sizes[0]:
            size = self.sizes.popleft()
            joined = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts)
            rest = joined[size:]
            self.parts = [rest] if rest.shape[0] else []
            self.frames -= size
            yield joined[:size]


__all__ = [
    "STAGES",
    "Stage",
    "StageChain",
    "StageContext",
    "StageSpec",
    "chain_identity",
    "register_stage",
    "stage_specs",
    "unregister_stage",
]
