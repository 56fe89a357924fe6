"""The manifest: the record, kept in the private state location, of what is published.

Per episode guid: object keys, bytes, duration, sha256, the input fingerprint, and what a feed item
needs (metadata and rendered notes), so that feeds are built from every published episode of a
show — even by a publisher whose checkout does not have them all. Per show: its artwork. And the
guids taken down with `podcast unpublish` (`unpublished`), which publishing does not add again
unless the episode's file is published by name.

Every write is conditional (If-Match on the ETag read) and carries the next `generation` (above
every kept one); a copy of each generation is kept in the state location
(``history/manifest-<generation>.json``, the last `KEEP_GENERATIONS`; created, never replaced),
so `podcast state list` shows them and `podcast state restore` brings one back — as a new, higher
generation. A manifest is checked against its JSON Schema
(``schemas/state/manifest-4.schema.json``; format 3 against ``manifest-3``, formats 1 and 2
against ``manifest-2``) whenever it is read: a damaged one stops the run in one line naming the
key, before any feed is touched.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from importlib.resources import files
from typing import Any

from podcast_tools.formats import FORMATS
from podcast_tools.mediatypes import JSON_TYPE
from podcast_tools.publish.conditional import until_written
from podcast_tools.publish.storage import PreconditionFailed, Storage, StorageError
from podcast_tools.record import LEGACY_FORMAT

MANIFEST_KEY = "manifest.json"  # in the state location (podcast_tools.publish.state), never public
MANIFEST_CACHE = "no-cache"
#: Format 2: format 1 plus generation, written_at, restored_from and unpublished. Format 3: an
#: entry's "audio" is a list (one object per output format, each with its format and MIME type;
#: the first is the enclosure). Format 4: an audio object may say its stream's "bitrate" (a key
#: format 3's schema refuses, so a format 3 reader must see a newer format, not damage). Formats
#: 1 to 3 are read (the one audio object of 1 and 2 is the MP3) and written back as format 4.
VERSION = 4
#: The JSON Schema each format is checked against.
_SCHEMAS = {
    1: "manifest-2.schema.json",
    2: "manifest-2.schema.json",
    3: "manifest-3.schema.json",
    4: "manifest-4.schema.json",
}
HISTORY_PREFIX = "history/"
KEEP_GENERATIONS = 50
RECOVERY = (
    "see its generations with `podcast state list` and bring one back with "
    "`podcast state restore [GENERATION]`"
)
_HISTORY_NAME = re.compile(r"^history/manifest-(\d{8,})\.json$")


class ManifestDamaged(StorageError):
    """The manifest cannot be read as a manifest (not JSON, or not what the schema describes)."""


@dataclass
class Manifest:
    episodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    artwork: dict[str, dict[str, Any]] = field(default_factory=dict)
    etag: str | None = None  # of the stored copy this was read from (None: there was none)
    generation: int = 0  # of the stored copy this was read from (0: none, or format 1)
    # guid → {"at", "shows", "show", "slug", "title"}: taken down with `podcast unpublish`
    unpublished: dict[str, dict[str, Any]] = field(default_factory=dict)
    written_at: str | None = None
    restored_from: int | None = None
    raw: bytes | None = field(default=None, repr=False)  # the stored bytes this was read from

    def to_bytes(self) -> bytes:
        document = {
            "version": VERSION,
            "generation": self.generation,
            "written_at": self.written_at,
            "restored_from": self.restored_from,
            "episodes": self.episodes,
            "artwork": self.artwork,
            "unpublished": self.unpublished,
        }
        if document["written_at"] is None:
            del document["written_at"]
        return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, etag: str | None, *, where: str = MANIFEST_KEY) -> Manifest:
        """Parse and check a stored manifest; ManifestDamaged (one line naming the key) if it is
        not one, StorageError if a newer podcast_tools wrote it."""
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ManifestDamaged(
                f"{where}: is damaged: not JSON ({_short(exc)}); the feeds are left as they are; "
                + RECOVERY
            ) from None
        version = document.get("version", 1) if isinstance(document, dict) else None
        if isinstance(version, int) and not isinstance(version, bool) and version > VERSION:
            raise StorageError(
                f"{where}: was written by a newer podcast_tools (format {version}); upgrade"
            )
        problem = (
            _not_a_number(document) or schema_problem(document, version) or _date_problem(document)
        )
        if problem is not None:
            raise ManifestDamaged(
                f"{where}: is damaged at {problem}; the feeds are left as they are; " + RECOVERY
            )
        unknown = _unknown_format(document)
        if unknown is not None:
            raise StorageError(
                f'{where}: was written by a newer podcast_tools (audio format "{unknown}"); upgrade'
            )
        return cls(
            episodes={guid: _current_entry(entry) for guid, entry in document["episodes"].items()},
            artwork=document.get("artwork", {}),
            etag=etag,
            generation=document.get("generation", 0),
            unpublished=document.get("unpublished", {}),
            written_at=document.get("written_at"),
            restored_from=document.get("restored_from"),
            raw=data,
        )

    def merged_into(
        self,
        newer: Manifest,
        mine: set[str],
        my_artwork: set[str],
        republished: set[str] = frozenset(),
    ) -> Manifest:
        """`newer` (someone else's write) with this run's own changes laid over it: for each guid
        in `mine`, its entry and its unpublished record as this manifest has them (present or
        absent). A guid `newer` records as unpublished keeps that record unless this run
        publishes it again by name (`republished`)."""
        episodes = dict(newer.episodes)
        unpublished = dict(newer.unpublished)
        for guid in mine:
            taken_down = guid in newer.unpublished and guid not in self.unpublished
            if taken_down and guid not in republished:
                episodes.pop(guid, None)  # taken down meanwhile: not added back
                continue
            for own, merged in ((self.episodes, episodes), (self.unpublished, unpublished)):
                if guid in own:
                    merged[guid] = own[guid]
                else:
                    merged.pop(guid, None)
        artwork = dict(newer.artwork)
        artwork.update({show: self.artwork[show] for show in my_artwork if show in self.artwork})
        return Manifest(
            episodes=episodes,
            artwork=artwork,
            etag=newer.etag,
            generation=newer.generation,
            unpublished=unpublished,
            raw=newer.raw,
        )


def _current_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry in format 3: the one audio object of formats 1 and 2 is the MP3, in a list."""
    audio = entry["audio"]
    if isinstance(audio, list):
        return entry
    mp3 = FORMATS[LEGACY_FORMAT]
    known = {key: audio[key] for key in ("key", "bytes", "sha256", "duration_s") if key in audio}
    return {**entry, "audio": [{"format": mp3.name, "type": mp3.mime, **known}]}


def _unknown_format(document: dict[str, Any]) -> str | None:
    """The first audio format of the document this podcast_tools does not know, or None."""
    for entry in document["episodes"].values():
        audio = entry["audio"]
        for item in audio if isinstance(audio, list) else []:
            if item["format"] not in FORMATS:
                return item["format"]
    return None


@cache
def _validator(name: str):
    from jsonschema import Draft202012Validator

    text = (files("podcast_tools") / "schemas" / "state" / name).read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def schema_problem(document: Any, version: Any = VERSION) -> str | None:
    """The first thing in `document` its JSON Schema refuses, said in a few words naming the
    key (``episodes.<guid>.audio: "key" is missing``), or None."""
    from jsonschema.exceptions import best_match

    name = (
        _SCHEMAS.get(version, _SCHEMAS[VERSION]) if isinstance(version, int) else _SCHEMAS[VERSION]
    )
    error = best_match(_validator(name).iter_errors(document))
    if error is None:
        return None
    where = ".".join(str(part) for part in error.absolute_path) or "the top level"
    value = error.instance
    kind = error.validator
    if kind == "required":
        missing = [name for name in error.validator_value if name not in value]
        return f'{where}: "{missing[0] if missing else "?"}" is missing'
    if kind == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return f"{where}: must be {_article(wanted)}, not {_json_type(value)}"
    if kind in ("enum", "const"):
        return f"{where}: {_shown(value)} is not one of {_shown(error.validator_value)}"
    if kind == "additionalProperties":
        return f"{where}: has keys the format does not know"
    if kind == "pattern":
        return f"{where}: {_shown(value)} is not of the right form"
    return f"{where}: {_shown(value)} breaks the rule {kind} {_shown(error.validator_value)}"


def _not_a_number(document: Any) -> str | None:
    """The first NaN or ±Infinity in `document` — which JSON has not, but Python's json reads
    (``NaN``, ``Infinity``, and a number too large for a float such as ``1e400``) — said with
    where it is, or None."""
    pending: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while pending:
        value, path = pending.pop()
        if isinstance(value, float) and not math.isfinite(value):
            where = ".".join(path) or "the top level"
            shown = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
            return f"{where}: {shown} is not a number"
        if isinstance(value, dict):
            pending += [(item, (*path, str(key))) for key, item in reversed(value.items())]
        elif isinstance(value, list):
            pending += [(item, (*path, str(i))) for i, item in reversed(list(enumerate(value)))]
    return None


def _date_problem(document: dict[str, Any]) -> str | None:
    """A date of the right form that is no date (the schema checks the form only)."""
    dates = [
        (f"episodes.{guid}.meta.date", entry["meta"]["date"])
        for guid, entry in document["episodes"].items()
    ]
    dates += [(f"unpublished.{g}.at", r["at"]) for g, r in document.get("unpublished", {}).items()]
    for where, value in dates:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return f"{where}: {_shown(value)} is not a date"
    return None


def _article(wanted: str) -> str:
    return ("an " if wanted[0] in "aeiou" else "a ") + wanted


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return f"the string {_shown(value)}"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "…"


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 80 else text[:77] + "…"


def read_manifest(storage: Storage) -> Manifest:
    found = storage.get(MANIFEST_KEY)
    if found is None:
        return Manifest()
    data, etag = found
    return Manifest.from_bytes(data, etag, where=f"{storage.description}/{MANIFEST_KEY}")


# --- writing: conditional, numbered, kept ---------------------------------------------------------


def history_key(generation: int) -> str:
    return f"{HISTORY_PREFIX}manifest-{generation:08d}.json"


def _put(state: Storage, key: str, data: bytes, **condition: Any) -> str:
    return state.put_bytes(
        key, data, content_type=JSON_TYPE, cache_control=MANIFEST_CACHE, **condition
    )


class HistoryTaken(StorageError):
    """The numbered copy of a generation exists already (written by someone else): it is never
    replaced. Not a lost race (PreconditionFailed): the manifest itself was written."""


HISTORY_RENUMBER_TRIES = 4  # a manifest whose history number is taken is numbered again this often


def write_generation(
    state: Storage,
    manifest: Manifest,
    *,
    now: datetime | None = None,
    restored_from=None,
    say: Callable[[str], None] | None = None,
) -> Manifest:
    """Write `manifest` as the next generation — one above the one it was read from and above
    every kept copy (a manifest put back from a backup carries a lower number) — if the stored
    manifest is still the one it was read from (PreconditionFailed otherwise); then keep its
    numbered copy, created, never replacing one, and prune the copies beyond the last
    KEEP_GENERATIONS.

    A numbered copy another writer kept first (the listing did not show it yet) is not a lost
    race — the manifest was written: the written manifest is numbered again above it (a
    conditional write on what was just written) and its copy kept under that number, with one
    note line; HistoryTaken when that fails HISTORY_RENUMBER_TRIES times."""
    _keep_copy_of(state, manifest)
    written_at = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    generation = max([manifest.generation, *generations(state)]) + 1
    condition: dict[str, Any] = {"if_match": manifest.etag, "if_absent": manifest.etag is None}
    taken: str | None = None  # the history key found taken, once the manifest was written
    previous = manifest
    for _ in range(HISTORY_RENUMBER_TRIES):
        written = Manifest(
            episodes=manifest.episodes,
            artwork=manifest.artwork,
            generation=generation,
            unpublished=manifest.unpublished,
            written_at=written_at,
            restored_from=restored_from,
        )
        data = written.to_bytes()
        try:
            etag = _put(state, MANIFEST_KEY, data, **condition)
        except PreconditionFailed:
            if taken is None:
                raise  # a lost race: nothing of ours was written
            if say is not None:  # ours was written, and another writer's written over it since
                say(f"note: the manifest was written over meanwhile; {taken} is not its copy")
            return previous
        written.etag, written.raw = etag, data
        try:
            _put(state, history_key(generation), data, if_absent=True)
        except PreconditionFailed:
            taken, previous = f"{state.description}/{history_key(generation)}", written
            generation = max([generation, *generations(state)]) + 1
            condition = {"if_match": written.etag}  # ours, written a moment ago
            if say is not None:
                say(
                    f"note: {taken} was kept by another writer first (it is never replaced); "
                    f"the manifest just written is numbered again: generation {generation}"
                )
            continue
        prune_history(state)
        return written
    raise HistoryTaken(
        f"{taken}: was kept by another writer first; it is never replaced, and the manifest was "
        "written without a numbered copy"
    )


def _keep_copy_of(state: Storage, manifest: Manifest) -> None:
    """The copy of the generation a new one replaces, if a run killed right after writing it
    left none (created only: a kept copy of that number is never replaced)."""
    kept = manifest.generation > 0 and manifest.raw is not None
    if kept and state.head(history_key(manifest.generation)) is None:
        try:
            _put(state, history_key(manifest.generation), manifest.raw, if_absent=True)
        except PreconditionFailed:
            pass  # written meanwhile: that copy stays


def commit(
    state: Storage,
    manifest: Manifest,
    merge: Callable[[Manifest], Manifest],
    say: Callable[[str], None],
) -> Manifest:
    """Write `manifest`; when another publisher wrote first, read theirs, `merge` ours into it
    (which may raise, e.g. when theirs now conflicts with ours) and try again."""
    current = [manifest]

    def write(attempt: int) -> Manifest:
        if attempt:
            current[0] = merge(read_manifest(state))
        return write_generation(state, current[0], say=say)

    return until_written(
        f"{state.description}/{MANIFEST_KEY}",
        write,
        say=say,
        conflict="the manifest changed meanwhile (another publisher): merging and retrying",
    )


def generations(state: Storage) -> dict[int, str]:
    """The numbered copies kept: generation → key."""
    found = {}
    for item in state.list(HISTORY_PREFIX):
        match = _HISTORY_NAME.match(item.key)
        if match:
            found[int(match.group(1))] = item.key
    return dict(sorted(found.items()))


def kept_entries(state: Storage, guids: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """(the entries of `guids` in every kept generation, in format 3; the kept copies that could
    not be read). Only those entries are checked against the schema — a large manifest's every
    generation is not validated whole for the few episodes asked about."""
    kept = list(generations(state).values())
    found: list[dict[str, Any]] = []
    unreadable: list[str] = []

    def entries_of(key: str) -> list[dict[str, Any]] | None:
        copy = state.get(key)
        if copy is None:
            return []  # pruned meanwhile
        try:
            document = json.loads(copy[0])
            episodes = document["episodes"]
            version = document.get("version", 1)
            wanted = {guid: episodes[guid] for guid in guids if guid in episodes}
        except (ValueError, RecursionError, TypeError, KeyError, AttributeError):
            return None
        mine = {"version": version, "episodes": wanted}
        if _not_a_number(mine) or schema_problem(mine, version) is not None:
            return None
        return [_current_entry(entry) for entry in wanted.values()]

    with ThreadPoolExecutor(max_workers=max(1, min(8, len(kept)))) as pool:
        for key, entries in zip(kept, pool.map(entries_of, kept)):
            if entries is None:
                unreadable.append(key)
            else:
                found.extend(entries)
    return found, unreadable


def prune_history(state: Storage) -> list[int]:
    kept = generations(state)
    old = sorted(kept)[:-KEEP_GENERATIONS]
    for generation in old:
        state.delete(kept[generation])
    return old
