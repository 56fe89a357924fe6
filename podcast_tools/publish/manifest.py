"""The manifest: the record, kept in the storage, of what is published.

Per episode guid: object keys, bytes, duration, sha256, the input fingerprint, and what a feed item
needs (metadata and rendered notes), so that feeds are built from every published episode of a
show — even by a publisher whose checkout does not have them all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from podcast_tools.content import Episode
from podcast_tools.content.models import Person, ShowNumbers
from podcast_tools.publish.storage import Storage, StorageError

MANIFEST_KEY = "manifest.json"  # in the state location (podcast_tools.publish.state), never public
MANIFEST_CACHE = "no-cache"
VERSION = 1


@dataclass
class Manifest:
    episodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    artwork: dict[str, dict[str, Any]] = field(default_factory=dict)
    etag: str | None = None  # of the stored copy this was read from (None: there was none)

    def to_bytes(self) -> bytes:
        document = {"version": VERSION, "episodes": self.episodes, "artwork": self.artwork}
        return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()

    @classmethod
    def from_bytes(cls, data: bytes, etag: str | None) -> Manifest:
        document = json.loads(data)
        return cls(
            episodes=document.get("episodes", {}), artwork=document.get("artwork", {}), etag=etag
        )

    def merged_into(self, newer: Manifest, mine: set[str], my_artwork: set[str]) -> Manifest:
        """`newer` (someone else's write) with this run's own entries laid over it."""
        episodes = dict(newer.episodes)
        episodes.update({guid: self.episodes[guid] for guid in mine if guid in self.episodes})
        artwork = dict(newer.artwork)
        artwork.update({show: self.artwork[show] for show in my_artwork if show in self.artwork})
        return Manifest(episodes=episodes, artwork=artwork, etag=newer.etag)


def read_manifest(storage: Storage) -> Manifest:
    found = storage.get(MANIFEST_KEY)
    if found is None:
        return Manifest()
    data, etag = found
    try:
        manifest = Manifest.from_bytes(data, etag)
        version = json.loads(data).get("version", 1)
    except (ValueError, AttributeError) as exc:
        raise StorageError(
            f"{storage.description}/{MANIFEST_KEY}: is damaged ({exc}); restore it from a backup"
        ) from exc
    if not isinstance(version, int) or version > VERSION:
        raise StorageError(
            f"{storage.description}/{MANIFEST_KEY}: was written by a newer podcast_tools (format {version}); upgrade"
        )
    return manifest


def episode_metadata(episode: Episode) -> dict[str, Any]:
    """What a feed item needs from the front matter."""
    return {
        "title": episode.title,
        "date": episode.date.isoformat(),
        "number": episode.number,
        "season": episode.season,
        "type": episode.type,
        "explicit": episode.explicit,
        "summary": episode.summary,
        "persons": [person.model_dump(mode="json") for person in episode.persons],
        "numbers": {show: n.model_dump(mode="json") for show, n in episode.numbers.items()},
    }


def episode_from_entry(guid: str, entry: dict[str, Any]) -> Episode:
    """An Episode rebuilt from the manifest, for an episode this checkout does not have."""
    meta = entry["meta"]
    return Episode.model_construct(
        title=meta["title"],
        guid=guid,
        date=datetime.fromisoformat(meta["date"]),
        number=meta.get("number"),
        season=meta.get("season"),
        type=meta.get("type", "full"),
        explicit=meta.get("explicit"),
        summary=meta.get("summary"),
        persons=[Person.model_construct(**person) for person in meta.get("persons", [])],
        numbers={
            show: ShowNumbers.model_construct(**numbers)
            for show, numbers in (meta.get("numbers") or {}).items()
        },
        shows=[s for s in entry["shows"] if s != entry["show"]],
        chapters=[],
        cuts=[],
        audio="",
        slug=entry["slug"],
        show=entry["show"],
        path=Path("episodes") / entry["show"] / f"{entry['slug']}.md",
        notes="",
    )
