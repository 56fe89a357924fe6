"""What build/ previews before publishing: records, feeds, notes, the site and every object by key
(`podcast feed`, `podcast notes`, `podcast site`, `podcast preview`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from podcast_tools.artwork import artwork_problems, fixed_copy
from podcast_tools.content import Episode, Network
from podcast_tools.errors import ContentError, UsageError
from podcast_tools.feed.build import (
    BuiltFeed,
    build_feed,
    build_moment,
    build_publisher_feed,
    dated,
)
from podcast_tools.layout import PUBLISHER_FEED_KEY, feed_key
from podcast_tools.media_checks import load_checked_network
from podcast_tools.mediatypes import FEED_TYPE
from podcast_tools.notes import NotesFiles, write_notes
from podcast_tools.pipeline.builds import built_audio
from podcast_tools.record import (
    Asset,
    EpisodeRecord,
    ProcessedAudio,
    artwork_asset,
    audio_files,
    build_record,
    feed_candidates,
    feed_inputs,
    heard_chapters,
)
from podcast_tools.site import SitePage, build_site


def _local_builds(
    network: Network, build_dir: Path
) -> dict[str, tuple[EpisodeRecord, ProcessedAudio]]:
    """Every episode processed under `build_dir/<show>/`: its record and its local files."""
    builds = {}
    for episode in network.episodes:
        if episode.draft:
            continue
        processed = built_audio(network, episode, build_dir / episode.show)
        if processed is None:
            continue
        record = build_record(
            network,
            episode,
            audio_files(episode, processed),
            processed.chapter_times,
            processed.fingerprint,
            processed.tags_fingerprint,
            processed.artifacts,
        )
        builds[episode.guid] = (record, processed)
    return builds


def local_records(network: Network, build_dir: Path) -> dict[str, EpisodeRecord]:
    """The record of every episode processed under `build_dir/<show>/` (built by the one
    builder publishing uses, from each processing report)."""
    return {guid: record for guid, (record, _) in _local_builds(network, build_dir).items()}


def artwork_keys(network: Network) -> dict[str, str]:
    return {show_id: artwork_asset(network, show_id).key for show_id in network.shows}


def local_site(
    network: Network,
    build_dir: Path,
    *,
    base_url: str | None = None,
    now: datetime | None = None,
) -> list[SitePage]:
    """The listeners' website from what `process` built in `build_dir` (the records publishing
    would store), as `site.build_site` lays it out under `base_url` (default: network.toml's)."""
    return build_site(
        network,
        local_records(network, build_dir),
        artwork_keys(network),
        base_url=base_url,
        now=now,
    )


@dataclass(frozen=True)
class PreviewFeeds:
    feeds: list[BuiltFeed]
    publisher: BuiltFeed | None


def preview_feeds(
    network: Network,
    show_ids: list[str],
    build_dir: Path,
    *,
    include_scheduled: bool,
    previous: Callable[[str], bytes | None] | None = None,
) -> PreviewFeeds:
    """Every wanted show's feed (and the publisher feed) from what is processed in `build_dir`,
    exactly as `publish` would write them; every feed checked before any is returned
    (ContentError listing all problems). `previous(key)`: the feed written there before (by
    object key), whose lastBuildDate a feed keeps while nothing else in it changes, as
    publishing keeps the stored feed's (`feed.build.dated`); else it is dated now."""
    return _feeds_of(
        network,
        show_ids,
        local_records(network, build_dir),
        include_scheduled=include_scheduled,
        previous=previous,
    )


def _feeds_of(
    network: Network,
    show_ids: list[str],
    records: dict[str, EpisodeRecord],
    *,
    include_scheduled: bool,
    previous: Callable[[str], bytes | None] | None = None,
) -> PreviewFeeds:
    unknown = [s for s in show_ids if s not in network.shows]
    if unknown:
        raise UsageError(
            f"unknown show(s): {', '.join(unknown)}; the shows are: {', '.join(network.shows)}"
        )
    inputs = feed_inputs(network.settings.base_url, records, artwork_keys(network))
    stored = previous or (lambda _key: None)
    now = datetime.now(timezone.utc)
    moment = build_moment(now)
    built, problems = [], []
    for show_id in show_ids:
        candidates = feed_candidates(network, records, show_id) + [
            e for e in network.episodes_of(show_id) if e.guid not in records and not e.draft
        ]
        try:
            built.append(
                dated(
                    lambda built_at, show_id=show_id, candidates=candidates: build_feed(
                        network,
                        show_id,
                        inputs,
                        now=now,
                        include_scheduled=include_scheduled,
                        candidates=candidates,
                        built_at=built_at,
                    ),
                    stored(feed_key(show_id)),
                    moment,
                )
            )
        except ContentError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ContentError(problems)
    built = [feed for feed in built if feed.included]  # as publish: no feed until an episode
    listed = [feed.show_id for feed in built]
    publisher = (
        dated(
            lambda built_at: build_publisher_feed(
                network, inputs.artwork_urls, listed, built_at=built_at
            ),
            stored(PUBLISHER_FEED_KEY),
            moment,
        )
        if network.settings.podcast_guid
        else None
    )
    return PreviewFeeds(built, publisher)


@dataclass(frozen=True)
class LocalObject:
    """One object of the network as `podcast preview` serves it: a file of the network or of
    build/ (`path`, read when it is asked for) or bytes made here (`data`), and its Content-Type."""

    path: Path | None
    data: bytes | None
    type: str

    @classmethod
    def of(cls, asset: Asset) -> LocalObject:
        return cls(path=asset.path, data=asset.data, type=asset.type)


def with_base_url(network: Network, base_url: str) -> Network:
    """The network as if network.toml's base_url were `base_url`: every URL that records, notes,
    chapters JSON and feeds are built with points there (the local preview's own address), and —
    unless `base_url` is network.toml's own — no show's audio goes through a measurement prefix
    (`enclosure_prefix`)."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    if base == network.settings.base_url:
        return network  # publishing's own URLs, measurement prefix and all
    return replace(
        network,
        settings=network.settings.model_copy(update={"base_url": base, "enclosure_prefix": None}),
        # elsewhere (the preview on 127.0.0.1) a measurement service could not reach the audio,
        # and must not count a preview's plays: audio is named straight under `base_url`
        shows={
            show_id: show.model_copy(update={"enclosure_prefix": None})
            for show_id, show in network.shows.items()
        },
    )


def local_objects(
    network: Network, build_dir: Path, *, base_url: str, include_scheduled: bool = False
) -> dict[str, LocalObject]:
    """What `publish` would upload from what is processed in `build_dir`, by object key: each
    episode's audio file(s), every file beside them (chapter images, chapters JSON, transcript,
    episode image), the shows' artwork, every show's feed and the publisher feed, and the
    website's pages — with every URL they name under `base_url` instead of network.toml's.

    The keys are publishing's (`layout.py`); only the chapters JSON, which names the chapter
    images' URLs, gets the content-addressed key of its content under `base_url` (publishing's
    own when `base_url` is network.toml's). Episodes dated in the future are left out, as
    publishing leaves them out, unless `include_scheduled`. Raises ContentError when a feed breaks
    a rule, as `podcast feed` does."""
    here = with_base_url(network, base_url)
    builds = _local_builds(here, build_dir)
    records = {guid: record for guid, (record, _) in builds.items()}
    now = datetime.now(timezone.utc)
    due = {
        guid: record
        for guid, record in records.items()
        if include_scheduled or datetime.fromisoformat(record.meta["date"]) <= now
    }
    objects: dict[str, LocalObject] = {}
    for guid in due:
        record, processed = builds[guid]
        for audio, (_, path, _, _) in zip(record.audio, processed.files):
            objects[audio.key] = LocalObject(path=path, data=None, type=audio.type)
        for asset in record.assets:
            objects[asset.key] = LocalObject.of(asset)
    for show_id in here.shows:
        asset = artwork_asset(here, show_id)
        objects[asset.key] = LocalObject.of(asset)
    feeds = _feeds_of(here, list(here.shows), records, include_scheduled=include_scheduled)
    for feed in feeds.feeds:
        objects[feed_key(feed.show_id)] = LocalObject(path=None, data=feed.xml, type=FEED_TYPE)
    if feeds.publisher is not None:
        objects[feeds.publisher.key] = LocalObject(
            path=None, data=feeds.publisher.xml, type=FEED_TYPE
        )
    latest = max((datetime.fromisoformat(r.meta["date"]) for r in due.values()), default=now)
    pages = build_site(here, due, artwork_keys(here), base_url=base_url, now=max(now, latest))
    for page in pages:
        objects.setdefault(page.key, LocalObject(path=None, data=page.data, type=page.type))
    return objects


@dataclass(frozen=True)
class PreviewNotes:
    files: NotesFiles
    times_as_heard: bool  # False: the master's times (the episode is not processed)


def preview_notes(
    network: Network, episode: Episode, out_dir: Path, build_dir: Path
) -> PreviewNotes:
    """Render the episode's notes into `out_dir`, with the chapter times as heard when `process`
    has built it (its report in `build_dir/<show>/`), else the master's."""
    processed = built_audio(network, episode, build_dir / episode.show)
    times = processed.chapter_times if processed is not None else None
    files = write_notes(network, episode, heard_chapters(network, episode, times), out_dir)
    as_heard = times is not None and len(times) == len(episode.chapters)
    return PreviewNotes(files, as_heard)


def fix_artwork(root: Path) -> list[tuple[str, Path | None]]:
    """For each image the network's validation refuses that converting or shrinking can fix, a
    fixed copy beside it: (the image as named, the copy or None when it cannot be fixed)."""
    try:
        load_checked_network(root)
        return []
    except ContentError as exc:
        images = sorted(
            {p.file for p in exc.problems if p.file.lower().endswith((".png", ".jpg", ".jpeg"))}
        )
    fixed = []
    for name in images:
        path = root / name
        if artwork_problems(path):
            fixed.append((name, fixed_copy(path)))
    return fixed
