"""`podcast state list` and `podcast state restore`: the manifest's kept generations.

Every manifest written is kept as ``history/manifest-<generation>.json`` in the state location (the
last 50). Restoring one writes its content as a *new* generation — one above every generation
written so far — with a conditional write on the manifest it replaces, so a publisher writing at
the same moment is never overwritten unseen (the restore then stops and says so), and nothing is
ever renumbered. A damaged manifest that a restore replaces is kept beside the history
(``history/damaged-<time>.json``) for whoever wants to look at it.

Restoring changes only the manifest. The next `podcast publish` rewrites the feeds from it — and
stops, naming them, rather than drop from a feed an episode the restored generation lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from podcast_tools.errors import UsageError
from podcast_tools.publish.manifest import (
    HISTORY_PREFIX,
    MANIFEST_KEY,
    HistoryTaken,
    Manifest,
    generations,
    history_key,
    write_generation,
)
from podcast_tools.publish.storage import PreconditionFailed, Storage, StorageError


@dataclass(frozen=True)
class Generation:
    generation: int | None  # None: a current manifest that cannot be read
    written_at: str | None
    episodes: int | None
    unpublished: int | None
    restored_from: int | None
    current: bool
    problem: str | None = None  # why it cannot be read

    def __str__(self) -> str:
        number = "?" if self.generation is None else str(self.generation)
        if self.problem:
            what = f"cannot be read: {self.problem}"
        else:
            what = f"{self.episodes} episode(s)"
            if self.unpublished:
                what += f", {self.unpublished} unpublished"
            if self.restored_from is not None:
                what += f"; restored from generation {self.restored_from}"
        mark = "  (current)" if self.current else ""
        return f"{number:>6}  {self.written_at or '-':<25}  {what}{mark}"


def _describe(manifest: Manifest, current: bool) -> Generation:
    return Generation(
        manifest.generation,
        manifest.written_at,
        len(manifest.episodes),
        len(manifest.unpublished),
        manifest.restored_from,
        current,
    )


def _current(state: Storage) -> tuple[Manifest | None, tuple[bytes, str] | None, str | None]:
    """(the current manifest or None, its stored bytes and ETag, why it cannot be read)."""
    found = state.get(MANIFEST_KEY)
    if found is None:
        return None, None, None
    try:
        return Manifest.from_bytes(found[0], found[1]), found, None
    except StorageError as exc:
        return None, found, _why(exc)


def list_generations(state: Storage) -> list[Generation]:
    """The current manifest and every kept generation, newest first."""
    current, found, problem = _current(state)
    kept = generations(state)
    listed = []
    if found is not None and (current is None or current.generation not in kept):
        # a format-1 manifest, one whose copy a killed run did not write, or a damaged one
        listed.append(
            _describe(current, True)
            if current is not None
            else Generation(None, None, None, None, None, True, problem)
        )
    for number, key in sorted(kept.items(), reverse=True):
        copy = state.get(key)
        if copy is None:
            continue  # pruned meanwhile
        is_current = current is not None and current.generation == number
        try:
            listed.append(_describe(Manifest.from_bytes(copy[0], None), is_current))
        except StorageError as exc:
            problem = _why(exc)
            listed.append(Generation(number, None, None, None, None, is_current, problem))
    return listed


def _why(exc: Exception) -> str:
    """What is wrong with a stored manifest, without where it is and what to do."""
    return str(exc).split(": ", 1)[-1].split("; the feeds", 1)[0]


@dataclass(frozen=True)
class Restored:
    manifest: Manifest  # as written, with its new generation
    source: int  # the generation restored
    replaced: Manifest | None  # the manifest it replaced (None: none, or it was damaged)
    damaged_copy: str | None  # where a damaged manifest it replaced was kept


def restore(
    state: Storage, generation: int | None = None, *, now: datetime | None = None
) -> Restored:
    """Write the kept `generation` (default: the one before the current manifest's; the newest
    kept when the current one is damaged) as a new generation of the manifest."""
    now = now or datetime.now(timezone.utc)
    current, found, _ = _current(state)
    kept = generations(state)
    if generation is None:
        earlier = [g for g in kept if current is None or g < current.generation]
        if not earlier:
            raise UsageError(
                f"{state.description}: keeps no generation of the manifest before "
                + (f"generation {current.generation}" if current else "this one")
                + "; `podcast state list` shows what it keeps"
            )
        generation = max(earlier)
    elif generation not in kept:
        shown = f"{min(kept)}–{max(kept)}" if kept else "none"
        raise UsageError(
            f"generation {generation}: not kept in {state.description}/{HISTORY_PREFIX} "
            f"(kept: {shown}); `podcast state list` shows them"
        )
    copy = state.get(history_key(generation))
    if copy is None:
        raise UsageError(f"generation {generation}: was pruned meanwhile; choose another")
    chosen = Manifest.from_bytes(
        copy[0], None, where=f"{state.description}/{history_key(generation)}"
    )
    newest = max([*kept, current.generation if current else 0])
    damaged_copy = None
    if found is not None and current is None:  # keep what it replaces, for whoever looks into it
        damaged_copy = f"{HISTORY_PREFIX}damaged-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
        state.put_bytes(
            damaged_copy,
            found[0],
            content_type="application/octet-stream",
            cache_control="no-cache",
        )
    base = Manifest(
        episodes=chosen.episodes,
        artwork=chosen.artwork,
        unpublished=chosen.unpublished,
        etag=found[1] if found else None,
        generation=newest,
        # the current manifest's copy is written first if a killed run left none
        raw=current.raw if current is not None and current.generation == newest else None,
    )
    try:
        written = write_generation(state, base, now=now, restored_from=generation)
    except HistoryTaken as exc:  # the manifest is restored; its numbered copy could not be kept
        raise StorageError(f"{exc}; the manifest was restored without a copy of its own") from None
    except PreconditionFailed:
        raise StorageError(
            f"{state.description}/{MANIFEST_KEY}: changed while it was being restored (another "
            "publisher); nothing was restored — run `podcast state restore` again"
        ) from None
    return Restored(written, generation, current, damaged_copy)
