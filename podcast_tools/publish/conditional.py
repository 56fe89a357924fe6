"""Conditional writes that lose to another publisher are tried again: one loop for every such
write (the manifest, each feed, an unpublish)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from podcast_tools.publish.storage import PreconditionFailed, StorageError

CONFLICT_RETRIES = 8
T = TypeVar("T")


def back_off(attempt: int) -> None:
    """Jittered exponential wait before trying a conditional write again."""
    time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))


def until_written(
    where: str,
    attempt: Callable[[int], T],
    *,
    say: Callable[[str], None],
    conflict: str,
    wait: Callable[[int], None] = back_off,
) -> T:
    """`attempt(n)` (read, build, write conditionally) until its write is not refused: after
    each refusal say `conflict`, wait, and go round again (`n` counts the tries, from 0);
    StorageError naming `where` after CONFLICT_RETRIES refusals."""
    for n in range(CONFLICT_RETRIES):
        try:
            return attempt(n)
        except PreconditionFailed:
            say(conflict)
            if n + 1 < CONFLICT_RETRIES:
                wait(n)
    raise StorageError(f"{where}: still changing after {CONFLICT_RETRIES} tries")
