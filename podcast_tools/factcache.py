"""Facts about files remembered between runs, valid only while the file is unchanged.

`podcast validate` (and every command that loads the network with its media checks) asks the same
questions of the same files on every run: how long is this master, does its last second decode,
is this image what Apple wants, what does this front matter say. The answers live in one JSON file,
``build/.cache/validation.json`` under the network's folder, each beside the identity of the file
it is about: its path, size, modification and change times (ns), inode and device, as one
``os.stat`` reads them. An entry whose file no longer matches that identity — written, truncated,
replaced, or a symlink pointed at another file — is never used: the file is checked again.

The whole store also carries a version of the checking code and tools (``FactCache.version``);
entries written under another version are dropped. Failures are remembered like successes, under
the same identity: fixing the file changes it, which makes the entry stale.

Safe for concurrent runs: the file is only ever replaced whole (temp file + rename), after merging
what another run saved meanwhile; a reader sees the old or the new file, never half of one. A file
that is damaged, truncated or not ours is ignored (and replaced on the next save), never an error.
At most :data:`MAX_ENTRIES` entries are kept; the ones least recently used by a saving run go.

This is pure storage: what a fact means is up to the caller (``podcast_tools.media_checks``).
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from podcast_tools.fsutil import write_bytes_atomic

#: Where the cache lives, under the network's folder (build/ holds only derived files).
CACHE_FILE = Path("build") / ".cache" / "validation.json"
#: The most entries kept (about 3 per episode: its front matter, master facts, notes check).
MAX_ENTRIES = 60_000
#: Set to 1 (or yes/true/on) to run every check without reading or writing the cache.
NO_CACHE_ENV = "PODCAST_NO_CACHE"
_FORMAT = "podcast_tools validation cache 1"


class _Miss:
    def __repr__(self) -> str:
        return "MISS"


#: What ``FactCache.get`` returns when it knows nothing (valid) about the file.
MISS: Any = _Miss()


def cache_disabled() -> bool:
    """True when the environment asks for no cache (``PODCAST_NO_CACHE=1``)."""
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() in ("1", "yes", "true", "on")


def file_identity(path: Path | str) -> list[int] | None:
    """What must stay the same for a fact about the file to hold (symlinks followed): size,
    modification and change times in ns, inode, device; None when the file cannot be stat'ed."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]


class FactCache:
    """The facts of one network's files (see the module's docstring); thread-safe."""

    def __init__(self, path: Path, version: str):
        self.path = path
        self.version = version
        self._lock = threading.Lock()
        self._entries = self._read()  # key → [identity, facts, last used (s)]
        self._used: set[str] = set()
        self._seen: dict[str, list[int]] = {}  # key → identity this run read the file under
        self._changed = False
        self.hits = 0
        self.misses = 0

    def get(self, kind: str, path: Path | str, identity: list[int] | None) -> Any:
        """The facts of `kind` stored for the file at `path` with this identity, else MISS."""
        if identity is None:
            return MISS
        key = f"{kind}\0{path}"
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != identity:
                self.misses += 1
                return MISS
            self._used.add(key)
            self._seen[key] = identity
            self.hits += 1
            return entry[1]

    def identity_used(self, kind: str, path: Path | str) -> list[int] | None:
        """The identity under which this run last read or stored a fact of `kind` about `path`
        (what a fact derived from that one must be stored under), None if it did not."""
        with self._lock:
            return self._seen.get(f"{kind}\0{path}")

    def note_identity(self, kind: str, path: Path | str, identity: list[int] | None) -> None:
        """Record that this run reads the file at `path` as `identity` (for identity_used)."""
        if identity is not None:
            with self._lock:
                self._seen[f"{kind}\0{path}"] = identity

    def put(self, kind: str, path: Path | str, identity: list[int] | None, facts: Any) -> None:
        """Remember `facts` (JSON data) of the file at `path`, as it was when `identity` was
        read — read it before looking at the file, so a change meanwhile makes the entry stale."""
        if identity is None:
            return
        key = f"{kind}\0{path}"
        with self._lock:
            self._entries[key] = [identity, facts, 0]
            self._used.add(key)
            self._seen[key] = identity
            self._changed = True

    def save(self) -> None:
        """Write the store when this run learnt something (merged with what other runs saved
        since it was read); a run that only read it writes nothing. Never raises for IO."""
        with self._lock:
            if not self._changed:
                return
            now = int(time.time())
            merged = self._read()
            for key in self._used:
                entry = self._entries.get(key)
                if entry is not None:
                    merged[key] = [entry[0], entry[1], now]
            if len(merged) > MAX_ENTRIES:
                newest = sorted(merged.items(), key=lambda item: item[1][2], reverse=True)
                merged = dict(newest[:MAX_ENTRIES])
            document = {"format": _FORMAT, "version": self.version, "entries": merged}
            try:
                write_bytes_atomic(
                    self.path, json.dumps(document, separators=(",", ":")).encode("utf-8")
                )
            except OSError:
                return  # a read-only network still validates; it only stays slow
            self._entries = merged
            self._changed = False

    def _read(self) -> dict[str, list[Any]]:
        """The entries on disk; empty when the file is missing, damaged, or of another version."""
        try:
            document = json.loads(self.path.read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        if (
            not isinstance(document, dict)
            or document.get("format") != _FORMAT
            or document.get("version") != self.version
            or not isinstance(document.get("entries"), dict)
        ):
            return {}
        return {
            key: entry
            for key, entry in document["entries"].items()
            if isinstance(entry, list)
            and len(entry) == 3
            and isinstance(entry[0], list)
            and isinstance(entry[2], int)
        }
