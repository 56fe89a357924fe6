"""`podcast unpublish`: the only way an item leaves a feed.

It removes the episodes' entries from the manifest and records them as unpublished (conditional
write, merged on a conflict like any publish), then rewrites the feeds that carried them — the
manifest first, the feeds last, so a run killed in between is completed by running it again. The
media stay (an app that downloaded the episode keeps working) unless `delete_media` is set; they
are deleted after the feeds no longer name them, and never while another entry uses them.

A guid that a stored feed carries but the manifest does not (a manifest older than the feeds) can
be unpublished too: it is recorded, and the feeds are rewritten without it.

Publishing leaves an unpublished episode out (and says so) unless its file is published by name
(`podcast publish FILE`), which publishes it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from podcast_tools.content import Network
from podcast_tools.errors import UsageError
from podcast_tools.layout import episode_page_key, feed_key
from podcast_tools.publish.guard import stored_items
from podcast_tools.publish.manifest import Manifest, commit, kept_entries
from podcast_tools.publish.run import Publisher, PublishResult, Say
from podcast_tools.publish.state import read_state
from podcast_tools.publish.storage import Storage
from podcast_tools.record import EpisodeRecord


@dataclass(frozen=True)
class Target:
    guid: str
    label: str  # how the user named it: the episode file, or the guid


def targets(network: Network, names: list[str]) -> list[Target]:
    """The episodes named on the command line: episode files (UsageError when one is not an
    episode of the network) or guids (also one a feed carries but the manifest does not)."""
    found = []
    for name in names:
        if name.endswith(".md") or Path(name).is_file():
            episode = network.episode_at(Path(name))
            if episode is None:
                raise UsageError(f"{name}: not an episode of the network in {network.root}")
            found.append(Target(episode.guid, network.display(episode.path)))
        else:
            found.append(Target(name, name))
    return found


@dataclass
class Unpublished:
    guid: str
    title: str
    shows: list[str]
    already: bool  # recorded as unpublished before this run


@dataclass
class UnpublishResult:
    dry_run: bool
    episodes: list[Unpublished] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)  # written
    deleted: list[str] = field(default_factory=list)  # media keys (--delete-media)
    kept: list[str] = field(default_factory=list)  # media keys kept
    pages_deleted: list[str] = field(default_factory=list)  # their website pages
    manifest_written: bool = False


def media_keys(storage: Storage, base_url: str, entry: dict[str, Any]) -> list[str]:
    """The objects of a manifest entry: audio, chapters JSON, the chapter images, transcript,
    image, derived artifacts. An entry written before the manifest listed chapter images (format 3) names them only
    in its chapters JSON: they are read from there."""
    record = EpisodeRecord.from_entry("", entry)
    keys = record.keys()
    if entry.get("chapters") and "chapter_images" not in entry:
        found = storage.get(entry["chapters"]["key"])
        try:
            chapters = json.loads(found[0]).get("chapters", []) if found else []
        except (ValueError, AttributeError):
            chapters = []
        base = base_url.rstrip("/") + "/"
        for chapter in chapters if isinstance(chapters, list) else []:
            image = chapter.get("img") if isinstance(chapter, dict) else None
            if isinstance(image, str) and image.startswith(base):
                keys.append(image[len(base) :])
    return list(dict.fromkeys(keys))


def unpublish(
    network: Network,
    storage: Storage,
    state: Storage,
    targets: list[Target],
    *,
    delete_media: bool = False,
    dry_run: bool = False,
    say: Say | None = None,
    now: datetime | None = None,
) -> UnpublishResult:
    say = say or (lambda message: None)
    now = now or datetime.now(timezone.utc)
    result = UnpublishResult(dry_run=dry_run)
    manifest = read_state(storage, state, say, dry_run=dry_run)
    feeds = {}
    for show_id in network.shows:
        stored = storage.get(feed_key(show_id))
        feeds[show_id] = (stored_items(stored[0]) or {}) if stored else {}
    records: dict[str, dict[str, Any]] = {}  # what the manifest records as unpublished
    removed: dict[str, dict[str, Any]] = {}  # the entries taken out
    for target in targets:
        item = _taken_down(target, manifest, feeds, storage, now, records, removed)
        result.episodes.append(item)
    remaining = {g: e for g, e in manifest.episodes.items() if g not in removed}
    used = {key for entry in remaining.values() for key in _keys_of(entry)}
    used |= {art["key"] for art in manifest.artwork.values()}
    base_url = network.settings.base_url
    media = list(
        dict.fromkeys(
            key for entry in removed.values() for key in media_keys(storage, base_url, entry)
        )
    )
    if delete_media:  # and the copies older generations name (e.g. before a title fix's re-tag)
        media += _older_media(storage, state, base_url, {t.guid for t in targets}, media, say)
    result.kept = [key for key in media if not delete_media or key in used]
    to_delete = [key for key in media if delete_media and key not in used]
    if dry_run:
        _say_plan(result, to_delete, media, delete_media, say)
        return result
    if records or removed:
        manifest = _record(state, manifest, remaining, records, set(records) | set(removed), say)
        result.manifest_written = True
    publisher = Publisher(network, storage, state=state, say=say)
    _rewrite(publisher, manifest, {t.guid for t in targets}, removed, to_delete, result, now)
    return result


def _rewrite(
    publisher: Publisher,
    manifest: Manifest,
    guids: set[str],
    removed: dict[str, dict[str, Any]],
    to_delete: list[str],
    result: UnpublishResult,
    now: datetime,
) -> None:
    """The feeds that carried the episodes and the website, written without them; then their
    pages and `to_delete` deleted."""
    storage = publisher.storage
    affected = sorted({show for item in result.episodes for show in item.shows})
    publishing = PublishResult()
    publisher.mismatch_stops = False  # a takedown always completes: never blocked by another object
    publisher._write_feeds(manifest, affected, publishing, now, guids, set())
    result.feeds = publishing.feeds
    publisher._write_site(publishing, now)  # the pages no longer list them
    for entry in removed.values():  # nor keep a page of their own
        page = episode_page_key(entry["show"], entry["slug"])
        if storage.head(page) is not None:
            storage.delete(page)
            result.pages_deleted.append(page)
    for key in to_delete:  # the feeds no longer name them
        storage.delete(key)
        result.deleted.append(key)


def _taken_down(
    target: Target,
    manifest: Manifest,
    feeds: dict[str, dict[str, str]],
    storage: Storage,
    now: datetime,
    records: dict[str, dict[str, Any]],
    removed: dict[str, dict[str, Any]],
) -> Unpublished:
    """What unpublishing `target` takes down (UsageError when it is not published); its entry
    goes into `removed`, what the manifest records of it as unpublished into `records`."""
    entry = manifest.episodes.get(target.guid)
    in_feeds = sorted(show for show, items in feeds.items() if target.guid in items)
    record = manifest.unpublished.get(target.guid)
    if entry is None and not in_feeds and record is None:
        raise UsageError(
            f"{target.label}: is not published (no manifest entry, in no feed of "
            f"{storage.description})"
        )
    title = (
        entry["meta"]["title"]
        if entry
        else next((feeds[show][target.guid] for show in in_feeds), None)
        or (record or {}).get("title", "")
    )
    shows = sorted(set(entry["shows"] if entry else []) | set(in_feeds))
    if entry is not None:
        removed[target.guid] = entry
    if entry is not None or record is None:
        records[target.guid] = {
            "at": now.isoformat(timespec="seconds"),
            "shows": sorted(set(shows) | set((record or {}).get("shows", []))),
            "title": title,
            **({"show": entry["show"], "slug": entry["slug"]} if entry else {}),
        }
    return Unpublished(target.guid, title, shows, already=entry is None and record is not None)


def _say_plan(
    result: UnpublishResult, to_delete: list[str], media: list[str], delete_media: bool, say: Say
) -> None:
    for item in result.episodes:
        say(
            f'would unpublish {item.guid} ("{item.title}") from '
            + (", ".join(feed_key(show) for show in item.shows) or "no feed")
            + (" (already recorded as unpublished)" if item.already else "")
        )
    for key in to_delete:
        say(f"would delete {key}")
    if media and not delete_media:
        say(f"would keep its media ({len(media)} object(s)); --delete-media deletes them")


def _record(
    state: Storage,
    manifest: Manifest,
    remaining: dict[str, dict[str, Any]],
    records: dict[str, dict[str, Any]],
    guids: set[str],
    say: Say,
) -> Manifest:
    """The manifest without the entries taken down, recording them as unpublished (the
    conditional write, merged over a newer manifest on a conflict)."""
    updated = Manifest(
        episodes=remaining,
        artwork=manifest.artwork,
        etag=manifest.etag,
        generation=manifest.generation,
        unpublished={**manifest.unpublished, **records},
        raw=manifest.raw,
    )

    def merge(newer: Manifest) -> Manifest:
        return updated.merged_into(newer, guids, set())

    return commit(state, updated, merge, say)


def _older_media(
    storage: Storage,
    state: Storage,
    base_url: str,
    guids: set[str],
    current: list[str],
    say: Say,
) -> list[str]:
    """The stored objects that the kept generations of the manifest name for `guids` and the
    current entries do not: the copies a re-tag or a new master replaced."""
    entries, unreadable = kept_entries(state, guids)
    for key in unreadable:
        say(f"note: {state.description}/{key} cannot be read; the media only it names are kept")
    seen = set(current)
    older = []
    for entry in entries:
        for key in media_keys(storage, base_url, entry):
            if key not in seen:
                seen.add(key)
                older.append(key)
    return [key for key in older if storage.head(key) is not None]  # not deleted long ago


def _keys_of(entry: dict[str, Any]) -> list[str]:
    return EpisodeRecord.from_entry("", entry).keys()
