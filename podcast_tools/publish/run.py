"""`publish`: validate, process what changed, upload and verify media, update the manifest, and
write the feeds last — in that order, so a listener never sees a broken episode.

Listeners read the storage (media, feeds); the manifest lives in the private state location
beside it (`podcast_tools.publish.state`). An episode dated in the future is checked but neither
uploaded nor recorded until it is due: nothing about it is readable before its date.

Many publishers may run at once against one store: the manifest and every feed are written with
conditional writes (If-Match on the ETag read, or only-if-absent); a publisher that loses re-reads,
merges and tries again. A run killed anywhere leaves the previous feeds intact, and running it
again completes the job (media keys are content-addressed, guids never change); it also aborts the
incomplete multipart uploads a killed run left (older than an hour, so never a running one's).

Every file uploaded is opened once, proven to lie inside the network folder (or build/ for the
MP3s), and read — hashed and sent — through that open handle (`podcast_tools.publish.source`).
What `podcast_tools.publish.guard` refuses stops the run before anything is uploaded: an
episode's new guid for a published slug, a number taken in a feed, a feed that would lose an item.
"""

from __future__ import annotations

import atexit
import hashlib
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from podcast_tools.artifacts import PRODUCERS, Artifact, transcript_source, wanted_fingerprints
from podcast_tools.content import Episode, Network
from podcast_tools.errors import ContentError, Problem, UsageError, WriteError
from podcast_tools.feed.build import (
    FeedInputs,
    build_feed,
    build_moment,
    build_publisher_feed,
    dated,
    numbering_problems,
)
from podcast_tools.formats import format_named
from podcast_tools.fsutil import make_folder
from podcast_tools.layout import (
    PUBLISHER_FEED_KEY,
    content_hash,
    feed_key,
    file_hash,
    show_page_key,
)
from podcast_tools.lfs import is_pointer, pull_command, relative_posix
from podcast_tools.mediatypes import FEED_TYPE, transcript_published
from podcast_tools.pipeline.builds import current_artifacts, retag_build, retag_files
from podcast_tools.pipeline.fingerprints import audio_inputs, fingerprint, require_audio
from podcast_tools.pipeline.process import process_episode
from podcast_tools.pipeline.settings import edit_decisions
from podcast_tools.pipeline.transcripts import cached_words, recognition_of, wants_transcript
from podcast_tools.publish.conditional import until_written
from podcast_tools.publish.guard import (
    FeedLoss,
    Lost,
    identity_problems,
    is_scheduled,
    lost_reason,
    stored_items,
)
from podcast_tools.publish.manifest import Manifest, commit, read_manifest
from podcast_tools.publish.plan import (
    EpisodePlan,
    RunFacts,
    RunInputs,
    format_change,
    plan_episode,
    run_inputs,
)
from podcast_tools.publish.source import (
    BytesSource,
    Digest,
    OutsideError,
    Source,
    digest,
    open_inside,
)
from podcast_tools.publish.state import check_apart, read_state, state_beside
from podcast_tools.publish.storage import (
    STALE_UPLOAD_S,
    Storage,
    StorageError,
    same_etag,
)
from podcast_tools.publish.workers import Job, WorkerPool, usable_cpus
from podcast_tools.record import (
    Asset,
    EpisodeRecord,
    ProcessedAudio,
    audio_files,
    feed_candidates,
    feed_inputs,
)
from podcast_tools.site import build_site

MEDIA_CACHE = "public, max-age=31536000, immutable"  # content-addressed: never changes
FEED_CACHE = "public, max-age=300"  # feeds change: apps see a new episode within 5 minutes
PAGE_CACHE = FEED_CACHE  # the website's pages change with the feeds
MASTERED_LABEL = "episodes mastered"  # the progress of a batch: done and total are counts
CHECKS_AT_ONCE = 16  # HEADs asked at once when a feed's objects are checked against the store

Say = Callable[[str], None]


@dataclass
class Upload:
    key: str
    bytes: int


@dataclass
class PublishResult:
    processed: list[str] = field(default_factory=list)  # episode files
    skipped: list[str] = field(default_factory=list)  # unchanged audio
    reused: list[str] = field(default_factory=list)  # processed: taken from `podcast process`
    # audio unchanged, tags not: the mastered files re-tagged (from build/ or storage), no ffmpeg
    retagged: list[str] = field(default_factory=list)
    drafts: list[str] = field(default_factory=list)  # episode files marked draft: left out
    # dated in the future: checked, not uploaded nor recorded until due ({episode, date,
    # already_published}: an episode published before its date moved stays as published)
    scheduled: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)  # keys written
    feeds_unchanged: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)  # the website's pages and assets written
    pages_unchanged: int = 0
    manifest_written: bool = False
    dry_run: bool = False
    # taken down with `podcast unpublish`: left out (episode files), unless published by name
    left_unpublished: list[str] = field(default_factory=list)
    republished: list[str] = field(default_factory=list)  # episode files published again by name
    aborted_uploads: list[str] = field(default_factory=list)  # a killed run's incomplete uploads
    shard: str | None = None  # "K/N": this run published the K-th share and wrote no feeds
    feeds_only: bool = False  # this run wrote only the feeds and the website, from the manifest

    @property
    def uploaded_nothing(self) -> bool:
        return not self.uploads and not self.feeds and not self.manifest_written and not self.pages

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "episodes_processed": self.processed,
            "episodes_skipped": self.skipped,
            "episodes_reused": self.reused,
            "episodes_retagged": self.retagged,
            "episodes_drafts": self.drafts,
            "episodes_scheduled": self.scheduled,
            "objects_uploaded": [{"key": u.key, "bytes": u.bytes} for u in self.uploads],
            "bytes_uploaded": sum(u.bytes for u in self.uploads),
            "manifest_written": self.manifest_written,
            "feeds_written": self.feeds,
            "feeds_unchanged": self.feeds_unchanged,
            "pages_written": self.pages,
            "pages_unchanged": self.pages_unchanged,
            "shard": self.shard,
            "feeds_only": self.feeds_only,
        }


def changed_episodes(network: Network, revision: str) -> list[Episode]:
    """Episodes any of whose input files changed since a git revision: the episode file, its
    master, jingles, images and transcript (all of them if network.toml or a template changed:
    settings and notes reach every episode)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(network.root), *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout

    try:
        top = Path(git("rev-parse", "--show-toplevel").strip()).resolve()
        listing = git(
            "diff", "--name-only", "-z", "--no-renames", "--end-of-options", revision, "--"
        )
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise UsageError(
            f"--changed-since {revision}: git cannot compare ({detail.strip()})"
        ) from None
    changed = {(top / name).resolve() for name in listing.split("\0") if name}
    settings = {(network.root / "episodes" / "network.toml").resolve()}
    templates = network.templates_dir.resolve()
    if changed & settings or any(templates in path.parents for path in changed):
        return list(network.episodes)
    selected = []
    for episode in network.episodes:
        edits = edit_decisions(network, episode)
        files = {episode.path, episode.resolve(episode.audio), edits.intro, edits.outro}
        files |= {episode.resolve(c.image) for c in episode.chapters if c.image}
        files |= {episode.resolve(extra) for extra in (episode.image, episode.transcript) if extra}
        if any(path is not None and Path(path).resolve() in changed for path in files):
            selected.append(episode)
    return selected


class Publisher:
    def __init__(
        self,
        network: Network,
        storage: Storage,
        *,
        say: Say | None = None,
        workers: int | None = None,
        progress: Callable[[str, float, float], None] | None = None,
        build_dir: Path | None = None,
        state: Storage | None = None,
        stale_upload_s: float = STALE_UPLOAD_S,
    ):
        self.network = network
        self.storage = storage  # public: what base_url serves
        # private: the manifest (default: beside the storage, podcast_tools.publish.state)
        self.state = state if state is not None else state_beside(storage)
        check_apart(storage, self.state)
        self.say = say or (lambda message: None)
        # progress(label, done, total): "master <slug>: <stage>" while mastering (stage progress),
        # "upload <name>" in bytes while uploading, MASTERED_LABEL in episodes while a batch is
        # mastered; done == total ends a task.
        self.progress = progress
        # episodes mastered at once, each in a worker process (1: one after another, here)
        self.workers = workers or usable_cpus()
        self.base = network.settings.base_url
        # Where episodes are processed (as `podcast process` does): a later run, or a run after
        # `podcast process`, reuses what is there when the inputs are the same.
        self.build_dir = build_dir or network.root / "build"
        # where published audio is fetched to be re-tagged: a temp folder if build/.cache is not
        # writable (`_retag_published`)
        self.retag_dir = self.build_dir / ".cache" / "retag"
        # an incomplete upload begun this long before the run started belongs to a killed run
        self.stale_upload_s = stale_upload_s
        # key → the sha256 the store holds (None: none, or no object), as this run found it
        # (uploaded and verified, or asked with a HEAD): a feed names no object unchecked
        self._held: dict[str, str | None] = {}
        self._noted: set[str] = set()  # keys a note said are named without podcast:integrity
        # a sha256 mismatch stops the run before the feeds (else: named without integrity)
        self.mismatch_stops = True
        # what the run has worked out about its episodes, once each (`run` starts a new one)
        self.facts = RunFacts(network)

    # -- the run ---------------------------------------------------------------------------------

    def run(
        self,
        episodes: list[Episode],
        *,
        dry_run: bool = False,
        now: datetime | None = None,
        by_name: bool = False,
        shard: tuple[int, int] | None = None,
    ) -> PublishResult:
        """Publish `episodes`. `by_name`: they were named one by one (`podcast publish FILE…`),
        so one taken down with `podcast unpublish` is published again (else it is left out).
        `shard` (K, N): `episodes` are the K-th share of N (`shard_of`); the run processes,
        uploads and records them in the manifest but writes no feed and no website — each would
        list only what the shards done so far recorded — which `run_feeds_only` does after.

        Each episode's action is decided once (`plan`); the dry run says the plans, the real
        run carries them out."""
        result = PublishResult(dry_run=dry_run, shard=f"{shard[0]}/{shard[1]}" if shard else None)
        started = datetime.now(timezone.utc)
        now = now or started
        self.facts = RunFacts(self.network)  # what this run works out, once
        episodes = self._leave_drafts(episodes, result)
        manifest = read_state(self.storage, self.state, self.say, dry_run=dry_run)
        episodes = self._checked(episodes, manifest, now, by_name, result)
        republished = {e.guid for e in episodes if e.guid in manifest.unpublished}
        plans = self.plan(episodes, manifest)
        result.skipped = [self._shown(p) for p in plans if not p.changes_audio]
        if dry_run:
            self._say_plan(plans, manifest, now, shard, republished, result)
            return result
        # a master or jingle this run reads that is a Git LFS pointer: stopped here, one line each
        require_audio(self.network, [path for plan in plans for path in self.needs(plan)])
        self._abort_stale_uploads(started, result)
        builds = self._carry_out(plans, manifest)
        self._check_sources(episodes)  # swapped since validation: refused before any upload
        self._list_outcome(plans, builds, result)
        entries = {
            p.episode.guid: self._entry(p, builds.get(p.episode.guid), result) for p in plans
        }
        shutil.rmtree(self.build_dir / ".cache" / "retag", ignore_errors=True)  # all uploaded
        shutil.rmtree(self.retag_dir, ignore_errors=True)
        artwork = self._artwork(manifest, result)
        updated, mine = self._record(manifest, entries, artwork, episodes, republished, result)
        if shard is not None:
            return result  # the feeds and the website: `run_feeds_only`, once every shard is done
        affected = {show for entry in entries.values() for show in entry["shows"]} | set(artwork)
        shows = sorted(affected | set(self.network.shows))
        self._write_feeds(updated, shows, result, now, mine, set(artwork), republished)
        self._write_site(result, now)
        self._delete_unpublished_transcripts(manifest, updated)
        return result

    def inputs(
        self, episodes: list[Episode], *, now: datetime | None = None, by_name: bool = False
    ) -> RunInputs:
        """What a run of `episodes` would read the audio of (`publish --plan`): the manifest
        is read as the dry run reads it, every check is made, nothing is processed or written."""
        result = PublishResult(dry_run=True)
        now = now or datetime.now(timezone.utc)
        self.facts = RunFacts(self.network)
        episodes = self._leave_drafts(episodes, result)
        manifest = read_state(self.storage, self.state, self.say, dry_run=True)
        episodes = self._checked(episodes, manifest, now, by_name, result)
        return run_inputs(self.network, self.plan(episodes, manifest), self.needs)

    def needs(self, plan: EpisodePlan) -> list[Path]:
        """The input files whose audio carrying out `plan` reads: the master and jingles of an
        episode it masters; the master of one whose speech it must recognise (a build reused
        for an episode whose machine transcript is neither published nor in the cache)."""
        if plan.action == "master":
            return audio_inputs(self.network, plan.episode)
        if plan.action == "reuse" and plan.build is not None and self._words_wanted(plan):
            if cached_words(self.network, plan.episode) is None:
                return [plan.episode.resolve(plan.episode.audio)]
        return []

    def _words_wanted(self, plan: EpisodePlan) -> bool:
        """Whether the build `plan` reuses lacks a current machine transcript that neither it
        nor the manifest holds (its words are needed to make one)."""
        episode, built = plan.episode, plan.build
        assert built is not None
        if not wants_transcript(self.network, episode):
            return False
        have = {(a.kind, a.fingerprint) for a in (*built.artifacts, *self._published(plan))}
        wanted = wanted_fingerprints(self.network, episode, built.fingerprint)
        return not set(wanted.items()) <= have

    def plan(self, episodes: list[Episode], manifest: Manifest) -> list[EpisodePlan]:
        """What this run does with each of `episodes` (due, checked), and why."""
        return [
            plan_episode(
                self.network,
                episode,
                manifest.episodes.get(episode.guid),
                self.facts,
                wanted=fingerprint(self.network, episode),
                build_dir=self.build_dir,
                stored_problem=self._stored_problem,
            )
            for episode in episodes
        ]

    def _shown(self, plan: EpisodePlan) -> str:
        return self.network.display(plan.episode.path)

    def _leave_drafts(self, episodes: list[Episode], result: PublishResult) -> list[Episode]:
        drafts = [e for e in episodes if e.draft]
        if drafts:
            result.drafts = [self.network.display(e.path) for e in drafts]
            self.say(self.network.drafts_note(drafts))
        return [e for e in episodes if not e.draft]

    def _checked(
        self,
        episodes: list[Episode],
        manifest: Manifest,
        now: datetime,
        by_name: bool,
        result: PublishResult,
    ) -> list[Episode]:
        """The episodes this run publishes, checked before anything is processed or uploaded."""
        episodes = self._leave_unpublished(episodes, manifest, by_name, result)
        self._check_notes(episodes, manifest)  # content rules first: nothing is uploaded on error
        episodes = self._leave_scheduled(episodes, manifest, now, result)
        problems = identity_problems(
            self.network, manifest.episodes, episodes, self.facts.record_of
        )
        if problems:
            raise ContentError(problems)
        self._check_feeds_keep(manifest, episodes, now)  # a stale manifest stops here
        self._check_numbering(manifest, episodes, now)
        self._check_sources(episodes)  # before the plan reads any of them
        return episodes

    def _carry_out(self, plans: list[EpisodePlan], manifest: Manifest) -> dict[str, ProcessedAudio]:
        """The audio of each plan that makes new audio: mastered, reused or re-tagged."""
        builds = self._process([p for p in plans if p.action in ("master", "reuse")], manifest)
        builds.update(self._retag([p for p in plans if p.action == "retag"], manifest))
        return builds

    def _list_outcome(
        self, plans: list[EpisodePlan], builds: dict[str, ProcessedAudio], result: PublishResult
    ) -> None:
        processing = [p for p in plans if p.action in ("master", "reuse")]
        retagging = [p for p in plans if p.action == "retag"]
        result.processed = [self._shown(p) for p in processing]
        result.reused = [self._shown(p) for p in processing if builds[p.episode.guid].reused]
        result.retagged = [
            self._shown(p) for p in processing + retagging if builds[p.episode.guid].retagged
        ]

    def _record(
        self,
        manifest: Manifest,
        entries: dict[str, dict[str, Any]],
        artwork: dict[str, dict[str, Any]],
        episodes: list[Episode],
        republished: set[str],
        result: PublishResult,
    ) -> tuple[Manifest, set[str]]:
        """The manifest with this run's entries and artwork, written when they changed; and the
        guids this run changed."""
        # Only what this run changed is laid over newer manifests when publishers race: an
        # entry merely copied from our first read must not undo another publisher's update.
        mine = {
            guid: entry for guid, entry in entries.items() if entry != manifest.episodes.get(guid)
        }
        updated = self._updated(manifest, mine, artwork, republished)
        result.republished = [
            self.network.display(e.path) for e in episodes if e.guid in republished
        ]
        if mine or artwork:
            ours = [e for e in episodes if e.guid in mine]
            updated = self._write_manifest(updated, set(mine), set(artwork), republished, ours)
            result.manifest_written = True
        return updated, set(mine)

    @staticmethod
    def _updated(
        manifest: Manifest,
        mine: dict[str, dict[str, Any]],
        artwork: dict[str, dict[str, Any]],
        republished: set[str],
    ) -> Manifest:
        return Manifest(
            episodes={**manifest.episodes, **mine},
            artwork={**manifest.artwork, **artwork},
            etag=manifest.etag,
            generation=manifest.generation,
            unpublished={
                guid: record
                for guid, record in manifest.unpublished.items()
                if guid not in republished
            },
            raw=manifest.raw,
        )

    def run_feeds_only(
        self, *, dry_run: bool = False, now: datetime | None = None
    ) -> PublishResult:
        """Write every show's feed, the publisher feed and the website from the manifest as
        stored — no audio is processed or uploaded (the step after `--shard` runs). The same
        guards as a full run: no stored feed loses an item, numbers stay unique."""
        result = PublishResult(dry_run=dry_run, feeds_only=True)
        now = now or datetime.now(timezone.utc)
        manifest = read_state(self.storage, self.state, self.say, dry_run=dry_run)
        self._check_feeds_keep(manifest, [], now)  # a stale manifest stops here
        self._check_numbering(manifest, [], now)
        if dry_run:
            self.say(
                f"would write the feeds of {len(self.network.shows)} show(s) from the manifest "
                f"({len(manifest.episodes)} episode(s)), then the website: what changed"
            )
            return result
        self.mismatch_stops = False  # the feeds from the manifest: no episode of this run to fix
        self._write_feeds(manifest, sorted(self.network.shows), result, now, set(), set())
        self._write_site(result, now)
        self._delete_unpublished_transcripts(manifest)
        return result

    def _delete_unpublished_transcripts(self, *manifests: Manifest) -> None:
        """The transcripts of a type no longer published that entries of an older version
        record (HTML: served from the website's origin, its scripts would run there): deleted
        from the store — the feeds and the site, written before, never name them — one note
        line each. The entry is made again, with the transcript its file names now, when its
        episode is published."""
        stale: dict[str, str] = {}
        kept: set[str] = set()
        for manifest in manifests:
            for entry in manifest.episodes.values():
                part = entry.get("transcript") or {}
                if not part.get("key"):
                    continue
                if transcript_published(part.get("type")):
                    kept.add(part["key"])
                else:
                    stale[part["key"]] = str(part.get("type"))
        for key, mime in sorted(stale.items()):
            if key in kept or self.storage.head(key) is None:
                continue
            self.storage.delete(key)
            self.say(
                f"note: deleted {self.storage.description}/{key}: a {mime} transcript an older "
                "version published (on the website's origin its scripts would run); no feed or "
                "page names it"
            )

    def _leave_unpublished(
        self, episodes: list[Episode], manifest: Manifest, by_name: bool, result: PublishResult
    ) -> list[Episode]:
        """Episodes taken down with `podcast unpublish` stay down unless named one by one."""
        kept = []
        for episode in episodes:
            record = manifest.unpublished.get(episode.guid)
            if record is None:
                kept.append(episode)
                continue
            shown = self.network.display(episode.path)
            if by_name:
                self.say(f"{shown}: unpublished on {record['at']}; publishing it again as asked")
                kept.append(episode)
            else:
                result.left_unpublished.append(shown)
                self.say(
                    f"left out: {shown} was taken down with `podcast unpublish` on "
                    f"{record['at']}; `podcast publish {shown}` publishes it again"
                )
        return kept

    def _abort_stale_uploads(self, started: datetime, result: PublishResult) -> None:
        """What a killed run left: incomplete uploads (temp files) begun well before this run."""
        older_than = started - timedelta(seconds=self.stale_upload_s)
        try:
            result.aborted_uploads = self.storage.abort_stale_uploads(older_than)
        except StorageError as exc:  # cleaning up is not worth failing the publish for
            self.say(f"note: {exc}")
            return
        if result.aborted_uploads:
            self.say(
                f"aborted {len(result.aborted_uploads)} incomplete upload(s) a killed run left: "
                + ", ".join(result.aborted_uploads)
            )

    def _check_feeds_keep(self, manifest: Manifest, run: list[Episode], now: datetime) -> None:
        """Before anything is uploaded: every item of every stored feed will still be in the new
        one, is scheduled, or was unpublished (checked again as each feed is written)."""
        shows_of = {guid: set(entry["shows"]) for guid, entry in manifest.episodes.items()}
        shows_of.update({episode.guid: set(episode.all_shows) for episode in run})
        lost = []
        for show_id in self.network.shows:
            stored = self.storage.get(feed_key(show_id))
            items = stored_items(stored[0]) if stored is not None else {}
            for guid, title in (items or {}).items():
                entry = manifest.episodes.get(guid)
                if show_id in shows_of.get(guid, ()) or guid in manifest.unpublished:
                    continue
                if is_scheduled(entry, now):
                    continue
                lost.append(self._lost(show_id, guid, title, entry, manifest))
        if lost:
            raise FeedLoss(lost)

    def _check_numbering(self, manifest: Manifest, run: list[Episode], now: datetime) -> None:
        """A serial show's feed numbers every item, also those only the manifest has (published
        from another checkout, perhaps while the show was episodic), which validation never
        saw: refused here, before anything is processed or uploaded, not when the feed is
        built after the uploads and the manifest."""
        ours = {episode.guid for episode in run}
        problems = []
        for show_id, show in self.network.shows.items():
            items = [e for e in run if show_id in e.all_shows]
            items += [
                e
                for e in feed_candidates(self.network, self._records(manifest, show_id), show_id)
                if e.guid not in ours and e.date <= now
            ]
            problems += numbering_problems(self.network, show, items)
        if problems:
            raise ContentError(problems)

    def _lost(self, show_id, guid, title, entry, manifest: Manifest) -> Lost:
        return Lost(
            f"{self.storage.description}/{feed_key(show_id)}",
            guid,
            title,
            lost_reason(guid, show_id, entry, manifest.generation, self.state.description),
        )

    def _leave_scheduled(
        self, episodes: list[Episode], manifest: Manifest, now: datetime, result: PublishResult
    ) -> list[Episode]:
        """The episodes that are due; the others are listed in the result and left alone.

        An episode already in the manifest whose date has moved into the future keeps its
        published entry as it is (a live feed never loses an item as a side effect)."""
        due = []
        for episode in episodes:
            if episode.date <= now:
                due.append(episode)
                continue
            shown = self.network.display(episode.path)
            published = episode.guid in manifest.episodes
            result.scheduled.append(
                {"episode": shown, "date": episode.date.isoformat(), "already_published": published}
            )
            if published:
                self.say(
                    f"{shown}: already published, now dated {episode.date.isoformat()}: "
                    "its published entry stays as it is"
                )
        return due

    def _stored_problem(self, episode: Episode, entry: dict[str, Any]) -> str | None:
        """Why the entry's audio is not in storage as recorded (None: it is)."""
        for audio in entry["audio"]:
            stored = self.storage.head(audio["key"])
            if stored is None or stored.size != audio["bytes"]:
                return "its audio is not in storage as recorded"
            if stored.sha256 is not None:
                self._held[audio["key"]] = stored.sha256
            if audio.get("sha256") and stored.sha256 != audio["sha256"]:
                # as for tampered stored audio: processed again, and uploaded again if need be
                # (also when the store records no sha256 for it: the upload writes one)
                self.say(
                    f"{self.network.display(episode.path)}: {self.storage.description}/"
                    f"{audio['key']} is not what the manifest records (its sha256): "
                    "processing it again"
                )
                return "its stored audio is not what the manifest records"
        return None

    def _check_notes(self, episodes: list[Episode], manifest: Manifest) -> None:
        """Feed rules that depend only on content, checked before anything is processed."""
        problems = []
        for episode in episodes:
            times = (manifest.episodes.get(episode.guid) or {}).get("chapter_times")
            problem = self.facts.notes_problem(episode, times)
            if problem is not None:
                problems.append(problem)
        if problems:
            raise ContentError(problems)

    def _say_plan(
        self,
        plans: list[EpisodePlan],
        manifest: Manifest,
        now: datetime,
        shard: tuple[int, int] | None,
        republished: set[str],
        result: PublishResult,
    ) -> None:
        """The dry run: the plans, as the real run's result would list them, and what it
        would write."""
        processing = [p for p in plans if p.action in ("master", "reuse")]
        retagging = [p for p in plans if p.action == "retag"]
        result.processed = [self._shown(p) for p in processing]
        result.reused = [self._shown(p) for p in processing if p.build and p.tags_current]
        result.retagged = [self._shown(p) for p in processing + retagging if p.ends_retagged]
        refused: dict[str, list[str]] = {}
        feeds = (
            None if shard else self._feeds_that_change(plans, manifest, now, republished, refused)
        )
        self.say(self._plan_text(plans, shard, feeds, result.scheduled, refused))
        needed = {path: None for plan in plans for path in self.needs(plan) if is_pointer(path)}
        if needed:  # the real run stops on these (`require_audio`): say how to fetch them
            relative = sorted(relative_posix(path, self.network.root) for path in needed)
            try:
                fetch = pull_command(relative)
            except ValueError as exc:
                fetch = f"fetch them by hand ({exc})"
            self.say(f"needs the audio of {len(needed)} Git LFS pointer(s) first: {fetch}")

    def _plan_text(
        self,
        plans: list[EpisodePlan],
        shard: tuple[int, int] | None,
        feeds: list[str] | None,
        scheduled: list[dict[str, Any]],
        refused: dict[str, list[str]] | None = None,
    ) -> str:
        def listed(chosen: list[EpisodePlan], notes: bool = True) -> list[str]:
            lines = []
            for plan in chosen:
                change = format_change(self.network, plan.episode, plan.entry)
                said = [change or plan.reason] if notes else []
                said += ["already built by `process`"] if plan.action == "reuse" else []
                lines.append(f"  {self._shown(plan)}" + (f"  ({'; '.join(said)})" if said else ""))
            return lines

        def of(*actions: str) -> list[EpisodePlan]:
            return [p for p in plans if p.action in actions]

        share = f" (shard {shard[0]}/{shard[1]})" if shard else ""
        lines = [f"would process and upload {len(of('master', 'reuse'))} episode(s){share}:"]
        lines += listed(of("master", "reuse"))
        if of("retag"):
            lines.append(
                f"would re-tag and upload {len(of('retag'))} episode(s) whose audio is unchanged "
                "(no mastering):"
            )
            lines += listed(of("retag"), notes=False)
        refreshed = of("metadata", "adopt")
        lines.append(f"unchanged audio, metadata refreshed: {len(refreshed)} episode(s)")
        lines += listed(refreshed)
        lines.append(f"unchanged: {len(of('unchanged'))} episode(s)")
        if feeds is None:
            lines.append("no feeds and no website (a shard): `podcast publish --feeds-only` after")
        else:
            refused = refused or {}
            named = [f"{feed} (refused: see below)" if feed in refused else feed for feed in feeds]
            lines.append("feeds that may change: " + (", ".join(named) or "none"))
            lines.append("then the website: its pages whose bytes change")
            if refused:  # as the real run says it, before it writes any feed (exit 3)
                lines.append("the real run would stop before writing any feed:")
                lines += [f"  {line}" for feed in sorted(refused) for line in refused[feed]]
        lines += [scheduled_line(item) for item in scheduled]
        return "\n".join(lines)

    def _feeds_that_change(
        self,
        plans: list[EpisodePlan],
        manifest: Manifest,
        now: datetime,
        republished: set[str],
        refused: dict[str, list[str]] | None = None,
    ) -> list[str]:
        """The feeds the real run would write: those of episodes with new audio, and every
        other feed whose bytes, built from the manifest as the run would leave it, differ from
        the stored feed's — and those it would refuse to write because they would lose items
        listeners have (FeedLoss), with the real run's lines in `refused` (feed → lines)."""
        changing = {show for p in plans if p.changes_audio for show in p.episode.all_shows}
        mine = {
            p.episode.guid: p.record.entry()
            for p in plans
            if p.record is not None and p.record.entry() != manifest.episodes.get(p.episode.guid)
        }
        artwork = self._artwork_changes(manifest)
        after = self._updated(manifest, mine, artwork, republished)
        feeds = {
            show: (feed_key(show), partial(self._show_feed, show))
            for show in sorted(self.network.shows)
            if show not in changing
        }
        if self.network.settings.podcast_guid:
            feeds[PUBLISHER_FEED_KEY] = (PUBLISHER_FEED_KEY, self._publisher_feed)
        for name, (key, build) in feeds.items():
            stored = self.storage.get(key)
            try:  # with the stored feed: an unchanged one keeps its lastBuildDate, and its bytes
                built = build(after, stored[0] if stored else None, now)
            except FeedLoss as loss:  # the real run stops there, writing no feed: say why
                changing.add(name)
                if refused is not None:
                    refused[name] = loss.lines()
                continue
            except IntegrityMismatch:  # the real run stops there: nothing written
                continue
            if built is None and stored is None:  # no feed yet, and none to write
                continue
            if stored is None or built is None or stored[0] != built[0]:
                changing.add(name)
        return sorted(changing)

    # -- steps ------------------------------------------------------------------------------------

    def _process(self, plans: list[EpisodePlan], manifest: Manifest) -> dict[str, ProcessedAudio]:
        """Master the episodes, or reuse what `process` built from the same inputs."""
        builds: dict[str, ProcessedAudio] = {}
        for plan in plans:
            if plan.action == "reuse":
                shown = self.network.display(plan.build.primary)
                self.say(f"reusing {shown}: processed from the same inputs")
                builds[plan.episode.guid] = self._from_build(plan)
        to_master = [p for p in plans if p.action == "master"]
        if to_master:
            builds.update(self._master(to_master, manifest.episodes))
        return builds

    def _from_build(self, plan: EpisodePlan) -> ProcessedAudio:
        """What `process` built from the episode's inputs, its tags brought up to date first
        when they are stale (in place, with its report)."""
        episode, out_dir = plan.episode, self.build_dir / plan.episode.show
        built = plan.build
        if not plan.tags_current:
            built = retag_build(self.network, episode, out_dir, built)
        if self._words_wanted(plan):
            self._words(episode)  # e.g. transcripts turned on for an episode built before
        return current_artifacts(self.network, episode, out_dir, built, self._published(plan))

    def _words(self, episode: Episode) -> None:
        """The words of the master for its machine transcript (recognised now, with the stage's
        progress, unless the cache holds them) before its artifacts are made from them."""
        stage = self._stage_progress(episode)
        progress = None if stage is None else lambda done, total: stage("transcribe", done, total)
        recognition_of(self.network, episode, progress)

    def _published(self, plan: EpisodePlan) -> tuple[Artifact, ...]:
        """The derived artifacts the manifest records for the episode (kept while current)."""
        if not PRODUCERS or not plan.entry:
            return ()
        try:
            return self.facts.record_of(plan.episode.guid, plan.entry).artifacts
        except (KeyError, TypeError, ValueError):  # an incomplete entry: nothing to keep
            return ()

    def _master(
        self, plans: list[EpisodePlan], manifest_entries: dict[str, dict[str, Any]]
    ) -> dict[str, ProcessedAudio]:
        """Master the episodes. With more than one worker, each episode is mastered in a worker
        process of its own (`podcast_tools.publish.workers`: one episode at a time per worker);
        with one, here."""
        to_master = [plan.episode for plan in plans]
        require_audio(self.network, [p for e in to_master for p in audio_inputs(self.network, e)])
        wanted = {plan.episode.guid: plan.wanted for plan in plans}
        builds: dict[str, ProcessedAudio] = {}
        finished = [0]
        counting = threading.Lock()

        def announce(episode: Episode) -> None:
            change = format_change(self.network, episode, manifest_entries.get(episode.guid))
            self.say(
                f"mastering {self.network.display(episode.path)}"
                + (f" ({change})" if change else "")
            )

        def count(episode: Episode) -> None:
            with counting:
                finished[0] += 1
                done = finished[0]
            if self.progress is not None and len(to_master) > 1:
                self.progress(MASTERED_LABEL, float(done), float(len(to_master)))

        workers = min(self.workers, len(to_master))
        if workers == 1:
            for episode in to_master:
                announce(episode)
                _report, builds[episode.guid] = process_episode(
                    self.network,
                    episode,
                    self.build_dir / episode.show,
                    progress=self._stage_progress(episode),
                    fingerprint_value=wanted[episode.guid],
                    note=self.say,
                )
                count(episode)
            return builds
        by_path = {episode.path: episode for episode in to_master}
        if self.progress is not None:
            self.progress(MASTERED_LABEL, 0.0, float(len(to_master)))
        pool = WorkerPool(
            self.network,
            workers,
            started=lambda path: announce(by_path[path]),
            finished=lambda path: count(by_path[path]),
            progress=self.progress,
            said=self.say,
        )
        made = pool.run(
            [Job(e.path, e.slug, self.build_dir / e.show, wanted[e.guid]) for e in to_master]
        )
        published = {plan.episode.guid: self._published(plan) for plan in plans}
        for path, built in made.items():  # a worker process knows no producer registered here
            episode = by_path[path]
            builds[episode.guid] = current_artifacts(
                self.network, episode, self.build_dir / episode.show, built, published[episode.guid]
            )
        return builds

    def _retag(self, plans: list[EpisodePlan], manifest: Manifest) -> dict[str, ProcessedAudio]:
        """Re-tag the published audio of episodes whose audio is unchanged but whose tags are
        not: the files `process` built when they are still there (re-tagged in place), else the
        published files fetched from storage (checked against the manifest's sha256) into a
        scratch folder under build/. No ffmpeg runs; the audio frames stay byte for byte."""
        builds = {}
        for plan in plans:
            episode = plan.episode
            shown = self.network.display(episode.path)
            if plan.build is not None:
                out_dir = self.build_dir / episode.show
                self.say(
                    f"re-tagging {shown} (audio unchanged): from {self.network.display(out_dir)}"
                )
                builds[episode.guid] = self._from_build(plan)
                continue
            self.say(f"re-tagging {shown} (audio unchanged): fetching its published files")
            record = self.facts.record_of(episode.guid, manifest.episodes[episode.guid])
            retagged = self._retag_published(episode, record)
            if retagged is None:  # not the bytes the manifest records: master it again
                self.say(f"{shown}: its published audio is not what the manifest records")
                builds.update(self._master([plan], manifest.episodes))
            else:
                builds[episode.guid] = retagged
        return builds

    def _retag_published(self, episode: Episode, record: EpisodeRecord) -> ProcessedAudio | None:
        """The episode's published audio, fetched into build/.cache/retag and re-tagged there (None:
        not the bytes the manifest records). Where that folder cannot be written (read-only, full),
        in a temporary folder in build/ instead, with one note line: it is only a scratch folder."""
        cache = self.build_dir / ".cache" / "retag"
        try:
            return self._retag_fetched(self.retag_dir / episode.guid, episode, record)
        except OSError as exc:
            if self.retag_dir != cache:
                raise WriteError.of(exc, self.retag_dir) from None
            shutil.rmtree(cache / episode.guid, ignore_errors=True)
            try:  # in build/ still: only files under build/ are uploaded as built audio
                self.retag_dir = Path(tempfile.mkdtemp(prefix=".retag-", dir=self.build_dir))
            except OSError as again:
                raise WriteError.of(again, self.build_dir) from None
            atexit.register(shutil.rmtree, self.retag_dir, True)  # should the run stop first
            reason = exc.strerror or str(exc)
            self.say(
                f"note: cannot write {self.network.display(cache)} ({reason}); re-tagging in "
                f"{self.network.display(self.retag_dir)} instead"
            )
        try:
            return self._retag_fetched(self.retag_dir / episode.guid, episode, record)
        except OSError as exc:
            raise WriteError.of(exc, self.retag_dir) from None

    def _retag_fetched(
        self, scratch: Path, episode: Episode, record: EpisodeRecord
    ) -> ProcessedAudio | None:
        make_folder(scratch)
        fetched = {}
        for audio in record.audio:
            path = scratch / f"fetched{format_named(audio.format).suffix}"
            try:
                found = self.storage.download(audio.key, path)
            except WriteError:
                raise
            except OSError as exc:  # the store's own errors are StorageError
                if exc.filename is None or Path(exc.filename) == path:
                    raise WriteError(path, exc) from None  # writing the scratch file
                raise StorageError(  # reading the stored file (a folder store's disk)
                    f"{self.storage.description}/{audio.key}: cannot read: {exc.strerror or exc}"
                ) from None
            if not found or (audio.sha256 and file_hash(path) != audio.sha256):
                shutil.rmtree(scratch, ignore_errors=True)
                return None
            fetched[audio.format] = path
        files, digest = retag_files(
            self.network,
            episode,
            fetched,
            scratch,
            record.enclosure.duration_s,
            record.chapter_times,
        )
        for path in fetched.values():
            path.unlink(missing_ok=True)
        return ProcessedAudio(
            files=files,
            duration_s=record.enclosure.duration_s,
            chapter_times=record.chapter_times,
            fingerprint=record.fingerprint,
            tags_fingerprint=digest,
            retagged=True,
            artifacts=record.artifacts,  # published already: a re-tag keeps them
        )

    def _stage_progress(self, episode: Episode) -> Callable[[str, float, float], None] | None:
        if self.progress is None:
            return None
        report = self.progress

        def update(stage: str, done: float, total: float) -> None:
            report(f"master {episode.show}/{episode.slug}: {stage}", done, total)

        return update

    def _open(self, path: Path, folder: Path, file: str, field_name: str) -> Source:
        """The file, opened and proven to lie inside `folder` (ContentError naming the file and
        field otherwise: nothing of it is uploaded)."""
        # named as the content names it (the link, not where it leads)
        shown = self.network.display(path.parent) + "/" + path.name
        try:
            return open_inside(path, folder, shown)
        except OutsideError as exc:
            raise ContentError(
                [Problem(file, field_name, f"{shown} {exc}; nothing of it was uploaded")]
            ) from None

    def _sources(self, episode: Episode) -> list[tuple[Path, str, str]]:
        """(path, file, field) of each file of the episode that is uploaded as it is."""
        shown = self.network.display(episode.path)
        found = [
            (episode.resolve(chapter.image), shown, f"chapters[{index}].image")
            for index, chapter in enumerate(episode.chapters, start=1)
            if chapter.image
        ]
        transcript = transcript_source(episode)  # the episode's own (a derived one is in build/)
        if transcript is not None and transcript.path is not None:
            found.append((transcript.path, shown, transcript.field))
        if episode.image:
            found.append((episode.resolve(episode.image), shown, "image"))
        return found

    def _check_sources(self, episodes: list[Episode]) -> None:
        """Every file about to be uploaded is still a file inside the network folder (each is
        checked again, through the handle it is read from, when it is uploaded)."""
        wanted = [source for episode in episodes for source in self._sources(episode)]
        toml = self.network.display(self.network.root / "episodes" / "network.toml")
        wanted += [
            (self.network.show_path(show.artwork), toml, f"shows.{show.id}.artwork")
            for show in self.network.shows.values()
        ]
        problems = []
        for path, file, field_name in wanted:
            try:
                self._open(path, self.network.root, file, field_name).close()
            except ContentError as exc:
                problems.extend(exc.problems)
        if problems:
            raise ContentError(problems)

    def _upload_file(
        self, path: Path, folder: Path, asset: Asset, result: PublishResult, *, file: str
    ) -> None:
        """Open the file (inside `folder`), hash it and upload it under the asset's key: every
        byte hashed and sent is read through the one handle, and it must be the file the record
        was built from (the sha256 its key names)."""
        with self._open(path, folder, file, asset.field) as source:
            try:
                hashed = digest(source, self.storage.part_bytes)
                if hashed.sha256 != asset.sha256:
                    raise OutsideError(
                        "changed while it was being published (its sha256 is not the one "
                        "recorded); publish again"
                    )
                self._upload(asset.key, source, hashed, asset.type, result)
                source.check_unchanged()
            except OutsideError as exc:
                raise ContentError(
                    [Problem(file, asset.field, f"{source.name} {exc}; it was not published")]
                ) from None

    def _upload_bytes(
        self, key: str, data: bytes, content_type: str, result: PublishResult
    ) -> None:
        source = BytesSource(data, key)
        self._upload(key, source, digest(source, self.storage.part_bytes), content_type, result)

    def _upload(
        self, key: str, source: Source, hashed: Digest, content_type: str, result: PublishResult
    ) -> None:
        """Upload unless the same bytes are already there; then check what the store holds: its
        size, the ETag it returned for the bytes sent (MD5, as S3 computes it), our sha256."""
        size = hashed.size
        existing = self.storage.head(key)
        if (
            existing is not None
            and existing.size == size
            and existing.sha256 == hashed.sha256
            and (
                not existing.etag_is_md5
                or same_etag(existing.etag, self.storage.expected_etag(hashed))
            )
        ):
            self._held[key] = existing.sha256
            return
        self.say(f"uploading {key} ({size / 1e6:.1f} MB)")
        sent = [0]
        counting = threading.Lock()  # multipart parts report from several threads

        def advance(count: int) -> None:
            with counting:
                sent[0] += count
                done = sent[0]
            if self.progress is not None:
                self.progress(f"upload {Path(key).name}", float(done), float(size))

        etag = self.storage.put_file(
            key,
            source,
            digest=hashed,
            content_type=content_type,
            cache_control=MEDIA_CACHE,
            progress=advance,
        )
        if self.progress is not None:
            self.progress(f"upload {Path(key).name}", float(size), float(size))
        check = self.storage.head(key)
        if (
            check is None
            or check.size != size
            or check.sha256 != hashed.sha256
            or not same_etag(check.etag, etag)
        ):
            raise StorageError(
                f"{self.storage.description}/{key}: verification failed after upload (stored "
                f"{check.size if check else 'nothing'} bytes, ETag {check.etag if check else '-'}; "
                f"expected {size} bytes, ETag {etag})"
            )
        self._held[key] = check.sha256
        result.uploads.append(Upload(key, size))

    def _entry(
        self, plan: EpisodePlan, built: ProcessedAudio | None, result: PublishResult
    ) -> dict[str, Any]:
        """Upload what the episode needs and return its manifest entry: its record
        (`podcast_tools.record.build_record`, as `podcast feed` previews it), stored as it is —
        the plan's when the audio stays as published."""
        episode = plan.episode
        shown = self.network.display(episode.path)
        record = plan.record
        if built is not None:
            audio = audio_files(episode, built)
            for (name, path, sha256, _size), published in zip(built.files, audio):
                self._upload_file(
                    path,
                    self.build_dir,
                    Asset(published.key, format_named(name).mime, "audio", sha256),
                    result,
                    file=shown,
                )
            record = self.facts.record(
                episode,
                audio,
                built.chapter_times,
                built.fingerprint,
                built.tags_fingerprint,
                built.artifacts,
            )
        assert record is not None  # a plan without new audio carries its record
        for asset in record.assets:
            if asset.data is not None:
                self._upload_bytes(asset.key, asset.data, asset.type, result)
            else:
                folder = self.build_dir if asset.built else self.network.root
                self._upload_file(asset.path, folder, asset, result, file=shown)
        return record.entry()

    def _artwork_changes(self, manifest: Manifest) -> dict[str, dict[str, Any]]:
        """The shows whose artwork is not the one the manifest records: its key and sha256."""
        changed = {}
        for show_id in self.network.shows:
            asset = self.facts.artwork(show_id)
            if manifest.artwork.get(show_id, {}).get("key") != asset.key:
                changed[show_id] = {"key": asset.key, "sha256": asset.sha256}
        return changed

    def _artwork(self, manifest: Manifest, result: PublishResult) -> dict[str, dict[str, Any]]:
        toml = self.network.display(self.network.root / "episodes" / "network.toml")
        for show_id in self.network.shows:
            asset = self.facts.artwork(show_id)
            self._upload_file(asset.path, self.network.root, asset, result, file=toml)
        return self._artwork_changes(manifest)

    def _write_manifest(
        self,
        manifest: Manifest,
        mine: set[str],
        my_artwork: set[str],
        republished: set[str] = frozenset(),
        ours: list[Episode] = (),
    ) -> Manifest:
        """The conditional write; on a conflict this run's changes are laid over the newer
        manifest, and refused if they now double an episode another publisher recorded."""

        def merge(newer: Manifest) -> Manifest:
            merged = manifest.merged_into(newer, mine, my_artwork, republished)
            problems = identity_problems(  # against what the others recorded
                self.network, newer.episodes, [e for e in ours if e.guid in merged.episodes]
            )
            if problems:
                raise ContentError(problems)
            return merged

        return commit(self.state, manifest, merge, self.say)

    def _records(self, manifest: Manifest, show_id: str | None = None) -> dict[str, EpisodeRecord]:
        """Every published episode (of `show_id`, when given), as the manifest records it (one
        source of truth: two checkouts never fight over a feed)."""
        return {
            guid: self.facts.record_of(guid, entry)
            for guid, entry in manifest.episodes.items()
            if show_id is None or show_id in entry["shows"]
        }

    def _inputs(
        self, manifest: Manifest, records: dict[str, EpisodeRecord] | None = None
    ) -> FeedInputs:
        artwork = {show: art["key"] for show, art in manifest.artwork.items()}
        return feed_inputs(self.base, records or self._records(manifest), artwork)

    def _write_feeds(
        self,
        manifest: Manifest,
        shows: list[str],
        result: PublishResult,
        now,
        mine,
        my_artwork,
        republished: set[str] = frozenset(),
    ) -> None:
        moment = now or datetime.now(timezone.utc)
        feeds = [
            (feed_key(show_id), partial(self._show_feed, show_id))
            for show_id in shows
            if show_id in self.network.shows
        ]
        if self.network.settings.podcast_guid:
            feeds.append((PUBLISHER_FEED_KEY, self._publisher_feed))
        show_of = {feed_key(show_id): show_id for show_id in shows}
        toml = self.network.display(self.network.episodes_dir / "network.toml")
        for key, build in feeds:
            state = {"manifest": manifest}

            def write(_attempt: int, key=key, build=build) -> None:
                # Read the stored feed first, then the manifest: any publisher that wrote this feed
                # wrote its manifest before, so what we build now includes its episodes; if anyone
                # writes the feed after our read, our conditional write fails and we go round again.
                stored = self.storage.get(key)
                state["manifest"] = state["manifest"].merged_into(
                    read_manifest(self.state), mine, my_artwork, republished
                )
                built = build(state["manifest"], stored[0] if stored else None, moment)
                if built is None:  # a show with nothing published: no feed until there is
                    if key in show_of:
                        self.say(
                            f"note: {toml}: shows.{show_of[key]}: no published episode yet; no "
                            "feed written (it appears with the show's first episode)"
                        )
                    return
                xml, what = built
                if stored is not None and stored[0] == xml:
                    result.feeds_unchanged.append(key)
                    return
                self.storage.put_bytes(
                    key,
                    xml,
                    content_type=FEED_TYPE,
                    cache_control=FEED_CACHE,
                    if_match=stored[1] if stored else None,
                    if_absent=stored is None,
                )
                result.feeds.append(key)
                self.say(f"feed {key}: {what}")

            until_written(
                f"{self.storage.description}/{key}",
                write,
                say=self.say,
                conflict=f"feed {key} changed meanwhile (another publisher): rebuilding",
            )
            manifest = state["manifest"]

    def _show_feed(
        self, show_id: str, manifest: Manifest, stored: bytes | None, moment: datetime
    ) -> tuple[bytes, str] | None:
        """The show's feed from `manifest` (FeedLoss when it would lose an item of the `stored`
        feed), and what it lists; None for a show that has no feed yet and nothing to put in one
        (an empty feed is a placeholder: directories refuse it and apps show an empty show)."""
        records = self._check_held(self._records(manifest, show_id))
        inputs = self._inputs(manifest, records)
        candidates = feed_candidates(self.network, records, show_id)
        feed = dated(  # lastBuildDate: the stored one while nothing else changes, else the run's
            lambda built_at: build_feed(
                self.network,
                show_id,
                inputs,
                now=moment,
                candidates=candidates,
                built_at=built_at,
            ),
            stored,
            build_moment(moment),
        )
        if not feed.included and stored is None:
            return None
        keeps = set(feed.included) | set(feed.scheduled) | set(manifest.unpublished)
        lost = (
            [
                self._lost(show_id, guid, title, manifest.episodes.get(guid), manifest)
                for guid, title in (stored_items(stored) or {}).items()
                if guid not in keeps
            ]
            if stored is not None
            else []
        )
        if lost:
            raise FeedLoss(lost)
        return feed.xml, f"{len(feed.included)} episodes"

    def _publisher_feed(
        self, manifest: Manifest, stored: bytes | None, moment: datetime
    ) -> tuple[bytes, str] | None:
        """The network's publisher feed, naming the shows whose feeds are in the store (written
        before it); None while no show has a feed and none was written before."""
        listed = [s for s in self.network.shows if self.storage.head(feed_key(s)) is not None]
        if not listed and stored is None:
            return None
        artwork = {show: art["key"] for show, art in manifest.artwork.items()}
        urls = feed_inputs(self.base, {}, artwork).artwork_urls
        built = dated(
            lambda built_at: build_publisher_feed(self.network, urls, listed, built_at=built_at),
            stored,
            build_moment(moment),
        )
        return built.xml, f"the network's {len(listed)} shows"

    def _check_held(self, records: dict[str, EpisodeRecord]) -> dict[str, EpisodeRecord]:
        """The records, each audio object they name with a sha256 (a feed's podcast:integrity)
        checked against the sha256 the store holds for it — S3: what its metadata records, which
        the uploader wrote; a folder: the file's own hash. Objects this run has not checked yet
        (uploaded, or looked at while deciding what to publish) are asked at once,
        CHECKS_AT_ONCE at a time.

        A feed never names an object with a sha256 the store does not hold: an object that
        holds none (another tool wrote it) is named without one, with one note line; one that
        holds another stops the run (IntegrityMismatch naming the key) — or, where the run must
        complete (`mismatch_stops` False: a takedown, the feeds from the manifest), is named
        without one too, with one note line."""
        wanted = {
            audio.key: (audio.sha256, record)
            for record in records.values()
            for audio in record.audio
            if audio.sha256
        }
        unchecked = [key for key in wanted if key not in self._held]
        if unchecked:
            with ThreadPoolExecutor(max_workers=min(CHECKS_AT_ONCE, len(unchecked))) as pool:
                recorded = pool.map(self.storage.recorded_sha256, unchecked)
                self._held.update(zip(unchecked, recorded))
        unverified = set()
        for key, (sha256, record) in wanted.items():
            held = self._held[key]
            if held == sha256:
                continue
            where = f"{self.storage.description}/{key}"
            episode = self.network.display(self.network.root / "episodes" / record.show)
            repair = f"`podcast publish {episode}/{record.slug}.md` uploads it again"
            if held is None:
                said = "holds no sha256 to check it by (not uploaded by podcast_tools, or missing)"
            elif self.mismatch_stops:
                raise IntegrityMismatch(
                    f"{where}: the manifest records sha256 {sha256[:12]}…, the store holds "
                    f"{held[:12]}…; the feeds are left as they are, so no feed names it with a "
                    f"sha256 apps would refuse; {repair}"
                )
            else:
                said = f"the manifest records sha256 {sha256[:12]}…, the store holds {held[:12]}…"
            unverified.add(key)
            if key not in self._noted:
                self._noted.add(key)
                self.say(f"note: {where}: {said}; named without podcast:integrity; {repair}")
        if not unverified:
            return records
        return {guid: record.without_integrity(unverified) for guid, record in records.items()}

    def _write_site(self, result: PublishResult, now: datetime | None = None) -> None:
        """The listeners' website (`podcast_tools.site`) from the manifest as stored now — every
        page names only objects the manifest records, all uploaded and verified before it — in
        upload order (assets, episode pages, show pages, the network's page last); a page whose
        stored bytes are the same is left alone. Pages: `Cache-Control` max-age=300, like the
        feeds; assets (content-addressed): immutable."""
        manifest = read_manifest(self.state)
        artwork = {show: art["key"] for show, art in manifest.artwork.items()}
        pages = build_site(
            self.network,
            self._records(manifest),
            artwork,
            now=now or datetime.now(timezone.utc),
            read=self._published_bytes,
            hash_file=self.facts.file_hash,
        )
        for page in pages:
            stored = self.storage.head(page.key)
            if (
                stored is not None
                and stored.size == len(page.data)
                and stored.sha256 == content_hash(page.data)
            ):
                result.pages_unchanged += 1
                continue
            self.storage.put_bytes(
                page.key,
                page.data,
                content_type=page.type,
                cache_control=MEDIA_CACHE if page.immutable else PAGE_CACHE,
            )
            result.pages.append(page.key)
        self._delete_show_pages_without_a_show({page.key for page in pages})
        if result.pages:
            self.say(
                f"website: {len(result.pages)} page(s) and asset(s) written, "
                f"{result.pages_unchanged} unchanged"
            )

    def _delete_show_pages_without_a_show(self, built: set[str]) -> None:
        """A show with nothing published any more (its last episode taken down or moved later)
        has no page: the one it had is deleted, not left listing what listeners cannot have."""
        for show_id in self.network.shows:
            if show_page_key(show_id) in built:
                continue
            page = 1
            while self.storage.head(show_page_key(show_id, page)) is not None:
                self.storage.delete(show_page_key(show_id, page))
                self.say(f"website: {show_page_key(show_id, page)} deleted (nothing published)")
                page += 1

    def _published_bytes(self, key: str) -> bytes | None:
        """A published object's bytes (a chapters JSON or transcript a page shows), or None."""
        found = self.storage.get(key)
        return found[0] if found is not None else None


class IntegrityMismatch(StorageError):
    """A stored object does not hold the sha256 the manifest records for it."""


def scheduled_line(item: dict[str, Any]) -> str:
    """How a scheduled episode is listed in the plan and the summary."""
    if item["already_published"]:
        return f"already published, now dated later (kept as published): {item['episode']} ({item['date']})"
    return f"scheduled, uploaded when due: {item['episode']} ({item['date']})"


def parse_shard(text: str) -> tuple[int, int]:
    """`--shard K/N` → (K, N), 1 ≤ K ≤ N (UsageError otherwise).

    >>> parse_shard("2/3")
    (2, 3)
    """
    match = re.fullmatch(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*", text)
    if match is None or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise UsageError(
            f'--shard "{text}": give K/N with 1 ≤ K ≤ N, e.g. --shard 1/3 (the first of three)'
        )
    return int(match.group(1)), int(match.group(2))


def shard_number(guid: str, count: int) -> int:
    """Which of `count` shards (1-based) an episode belongs to: from its guid alone, so every
    machine, checkout and run agrees, and an episode never moves while `count` stays.

    >>> shard_number("3f1d5d2e-3c55-4f44-9d0f-6a3a3c4f0a11", 1)
    1
    """
    return int.from_bytes(hashlib.sha256(guid.encode("utf-8")).digest(), "big") % count + 1


def shard_of(episodes: list[Episode], index: int, count: int) -> list[Episode]:
    """The episodes of shard `index` of `count` (1-based), in their order."""
    return [episode for episode in episodes if shard_number(episode.guid, count) == index]


def select(network: Network, files: list[Path], *, changed_since: str | None) -> list[Episode]:
    """The episodes a publish run looks at: named files, the changed ones, or all."""
    if files:
        found = [network.episode_at(f) for f in files]
        missing = [str(f) for f, episode in zip(files, found) if episode is None]
        if missing:
            raise UsageError(f"not episodes of the network: {', '.join(missing)}")
        return [episode for episode in found if episode is not None]
    if changed_since:
        return changed_episodes(network, changed_since)
    return list(network.episodes)


__all__ = ["PublishResult", "Publisher", "fingerprint", "select", "ContentError"]
