"""One plan per episode: what a publish run does with each due episode, and why.

`plan_episode` decides it once — adopt, reuse, master, retag, metadata or unchanged, with the
reason — and both runs follow that one decision: the dry run prints the plans, the real run
carries them out (`podcast_tools.publish.run`). `RunFacts` remembers, for one run, what the
decisions, the uploads, the feeds and the website need of an episode — its record as the
manifest stores it, its rendered notes, its tags fingerprint, the record it publishes, and the
sha256 of each input file — so each is worked out at most once per run (a per-run object: the
next run reads the files again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podcast_tools.artifacts import Artifact
from podcast_tools.content import Episode, Network
from podcast_tools.errors import ContentError, Problem
from podcast_tools.layout import file_hash
from podcast_tools.lfs import (
    include_argument,
    include_pattern,
    is_pointer,
    pull_command,
    relative_posix,
)
from podcast_tools.notes import ChapterNote, RenderedNotes, notes_size_problem, render_notes
from podcast_tools.pipeline.builds import artifacts_published, reusable_build
from podcast_tools.pipeline.fingerprints import legacy_fingerprint, sound_change, tags_fingerprint
from podcast_tools.pipeline.settings import formats_of
from podcast_tools.record import (
    Asset,
    AudioFile,
    EpisodeRecord,
    ProcessedAudio,
    artwork_asset,
    build_record,
    chapter_image_keys,
    heard_chapters,
)

#: What a run does with an episode. master: process it (ffmpeg); reuse: take what `process`
#: built from the same inputs (re-tagged first when its tags are stale); retag: its audio is
#: published and current, its tags are not (no ffmpeg); adopt: published by podcast_tools 0.1
#: from today's inputs (its fingerprints recorded, nothing re-made); metadata: audio and tags
#: current, the record (notes, front matter, files beside) changed; unchanged: nothing to do.
ACTIONS = ("master", "reuse", "retag", "adopt", "metadata", "unchanged")
#: Actions that make new audio objects (their feeds change).
NEW_AUDIO = ("master", "reuse", "retag")

#: The fields a manifest entry must have to count as published.
REQUIRED = (
    "audio",
    "chapter_times",
    "fingerprint",
    "meta",
    "html",
    "text",
    "shows",
    "show",
    "slug",
)


@dataclass(frozen=True)
class EpisodePlan:
    episode: Episode
    action: str  # one of ACTIONS
    reason: str  # why, as the dry run says it
    wanted: str  # the audio fingerprint of today's inputs
    # the manifest's entry (an adopted one: with today's fingerprints), None when there is none
    entry: dict[str, Any] | None
    build: ProcessedAudio | None = None  # reuse, retag: what `process` built from the same inputs
    tags_current: bool = True  # the build's tags say what the episode says now
    record: EpisodeRecord | None = None  # adopt, metadata, unchanged: the record to publish

    @property
    def changes_audio(self) -> bool:
        return self.action in NEW_AUDIO

    @property
    def ends_retagged(self) -> bool:
        """The run re-tags files of the episode (from build/ or fetched from storage)."""
        return self.action in ("retag", "reuse") and not self.tags_current


class RunFacts:
    """What one publish run has worked out about its episodes, each at most once."""

    def __init__(self, network: Network):
        self.network = network
        self._hashes: dict[Path, str] = {}
        self._records: dict[str, tuple[dict[str, Any], EpisodeRecord]] = {}
        self._image_keys: dict[str, list[str | None]] = {}
        self._notes: dict[tuple[str, tuple[float, ...]], RenderedNotes] = {}
        self._tags: dict[tuple[str, float, tuple[float, ...]], str] = {}
        self._built: dict[tuple, EpisodeRecord] = {}

    def file_hash(self, path: Path) -> str:
        """The sha256 of an input file, read once per run (every upload proves it again through
        the handle it reads the file with)."""
        key = Path(path).resolve()
        if key not in self._hashes:
            self._hashes[key] = file_hash(key)
        return self._hashes[key]

    def record_of(self, guid: str, entry: dict[str, Any]) -> EpisodeRecord:
        """The record a manifest entry stores (read once per run and per entry; a record this
        run built for the same entry, with its files, when there is one)."""
        known = self._records.get(guid)
        if known is not None and (known[0] is entry or known[0] == entry):
            return known[1]
        record = EpisodeRecord.from_entry(guid, entry)
        self._records[guid] = (entry, record)
        return record

    def _heard(self, episode: Episode, times: tuple[float, ...] | list[float] | None) -> tuple:
        if times is not None and len(times) == len(episode.chapters):
            return tuple(times)
        return tuple(chapter.start for chapter in episode.chapters)

    def chapters(self, episode: Episode, times) -> list[ChapterNote]:
        if episode.guid not in self._image_keys:
            self._image_keys[episode.guid] = chapter_image_keys(episode, self.file_hash)
        return heard_chapters(self.network, episode, times, self._image_keys[episode.guid])

    def notes(self, episode: Episode, times) -> RenderedNotes:
        """The episode's notes with its chapters heard at `times` (rendered once per run)."""
        key = (episode.guid, self._heard(episode, times))
        if key not in self._notes:
            self._notes[key] = render_notes(self.network, episode, self.chapters(episode, times))
        return self._notes[key]

    def notes_problem(self, episode: Episode, times) -> Problem | None:
        return notes_size_problem(
            self.network, episode, [], render=lambda: self.notes(episode, times)
        )

    def tags_fingerprint(self, episode: Episode, duration_s: float, times: tuple) -> str:
        """`pipeline.fingerprints.tags_fingerprint`, with the notes this run has rendered."""
        key = (episode.guid, duration_s, tuple(times))
        if key not in self._tags:
            summary = episode.summary or self.notes(episode, times).text
            self._tags[key] = tags_fingerprint(
                self.network, episode, duration_s, tuple(times), summary
            )
        return self._tags[key]

    def tags_current(self, episode: Episode, processed: ProcessedAudio) -> bool:
        wanted = self.tags_fingerprint(episode, processed.duration_s, processed.chapter_times)
        return processed.tags_fingerprint == wanted

    def record(
        self,
        episode: Episode,
        audio: tuple[AudioFile, ...],
        chapter_times: tuple[float, ...],
        fingerprint: str,
        tags_fingerprint: str,
        artifacts: tuple[Artifact, ...] = (),
    ) -> EpisodeRecord:
        """`build_record` once per run for the same audio, and the record remembered as the one
        its entry stores."""
        key = (episode.guid, audio, tuple(chapter_times), fingerprint, tags_fingerprint, artifacts)
        if key not in self._built:
            record = build_record(
                self.network,
                episode,
                audio,
                chapter_times,
                fingerprint,
                tags_fingerprint,
                artifacts,
                notes=self.notes(episode, chapter_times),
                hash_file=self.file_hash,
            )
            self._built[key] = record
            self._records[episode.guid] = (record.entry(), record)
        return self._built[key]

    def artwork(self, show_id: str) -> Asset:
        return artwork_asset(self.network, show_id, self.file_hash)


def adopted_entry(
    network: Network, episode: Episode, entry: dict[str, Any] | None, wanted: str, facts: RunFacts
) -> dict[str, Any] | None:
    """An entry podcast_tools 0.1 published from the episode's inputs as they are today (its
    one fingerprint: `pipeline.fingerprints.legacy_fingerprint`), with today's two fingerprints in its
    place — its MP3 is what this version would make, so it is neither mastered nor
    re-tagged again; None for any other entry."""
    if not entry or entry.get("tags_fingerprint") or "fingerprint" not in entry:
        return None
    if entry["fingerprint"] == wanted or entry["fingerprint"] != legacy_fingerprint(
        network, episode
    ):
        return None
    record = facts.record_of(episode.guid, entry)
    return {
        **entry,
        "fingerprint": wanted,
        "tags_fingerprint": facts.tags_fingerprint(
            episode, record.enclosure.duration_s, record.chapter_times
        ),
    }


def format_change(network: Network, episode: Episode, entry: dict[str, Any] | None) -> str | None:
    """How the show's formats differ from the published files of the episode (None: they do
    not, or it is not published yet)."""
    if not entry or not isinstance(entry.get("audio"), list):
        return None
    published = [audio.get("format") for audio in entry["audio"]]
    wanted = formats_of(network.shows[episode.show], episode)
    added = [name for name in wanted if name not in published]
    dropped = [name for name in published if name not in wanted]
    if not added and not dropped:
        return None
    said = [f"adds {', '.join(added)}"] if added else []
    said += [f"drops {', '.join(map(str, dropped))}"] if dropped else []
    return " and ".join(said) + ": re-rendered once, every format from one render"


def stale_audio(
    network: Network,
    episode: Episode,
    entry: dict[str, Any] | None,
    wanted: str,
    stored_problem: Callable[[Episode, dict[str, Any]], str | None],
) -> str | None:
    """Why the published audio is not today's (None: the entry is complete, current, and its
    audio is in storage as recorded — `stored_problem` asks the store)."""
    if entry is None:
        return "not published yet"
    if any(key not in entry for key in REQUIRED):
        return "its manifest entry is incomplete"
    if entry["fingerprint"] != wanted:
        change = sound_change(network, episode, entry["fingerprint"])
        return f"its produced sound changed ({change})" if change else "its audio inputs changed"
    change = format_change(network, episode, entry)
    if change is not None:  # e.g. a manifest of before formats
        return change
    return stored_problem(episode, entry)


def plan_episode(
    network: Network,
    episode: Episode,
    entry: dict[str, Any] | None,
    facts: RunFacts,
    *,
    wanted: str,
    build_dir: Path,
    stored_problem: Callable[[Episode, dict[str, Any]], str | None],
) -> EpisodePlan:
    """What the run does with the episode, and why (`entry`: what the manifest records)."""
    adopted = adopted_entry(network, episode, entry, wanted, facts)
    entry = adopted or entry
    out_dir = build_dir / episode.show
    reason = stale_audio(network, episode, entry, wanted, stored_problem)
    if reason is None and not artifacts_published(network, episode, wanted, entry):
        reason = "its derived files are not the ones its producers make now"
    if reason is not None:
        built = reusable_build(network, episode, out_dir, wanted)
        if built is None:
            return EpisodePlan(episode, "master", reason, wanted, entry)
        current = facts.tags_current(episode, built)
        return EpisodePlan(episode, "reuse", reason, wanted, entry, built, current)
    assert entry is not None
    before = facts.record_of(episode.guid, entry)
    tags = facts.tags_fingerprint(episode, before.enclosure.duration_s, before.chapter_times)
    if before.tags_fingerprint != tags:
        built = reusable_build(network, episode, out_dir, wanted)
        current = built is not None and facts.tags_current(episode, built)
        return EpisodePlan(episode, "retag", "its tags changed", wanted, entry, built, current)
    record = facts.record(
        episode,
        before.audio,
        before.chapter_times,
        before.fingerprint,
        before.tags_fingerprint,
        before.artifacts,
    )
    if adopted is not None:
        action, reason = "adopt", "published by podcast_tools 0.1 from today's inputs"
    elif record.entry() != entry:
        action, reason = "metadata", "its record changed (notes, front matter or files beside)"
    else:
        action, reason = "unchanged", "published as it is"
    return EpisodePlan(episode, action, reason, wanted, entry, record=record)


@dataclass(frozen=True)
class RunInputs:
    """The input files whose content a publish run needs (`publish --plan`): the masters and
    jingles of the episodes it masters, the masters whose speech it recognises — whether they
    are checked out or Git LFS pointers (`git lfs pull` of a file that is there does nothing)."""

    fetch: tuple[str, ...]  # POSIX paths from the network root (the repository's root), sorted
    lfs_include: str  # the one argument of `git lfs pull --include` ("" when nothing)
    pointers: tuple[str, ...]  # those of `fetch` that are Git LFS pointers now
    episodes: tuple[dict[str, Any], ...]  # {"file", "action", "reason", "needs"} per episode

    def as_dict(self) -> dict[str, Any]:
        return {
            "fetch": list(self.fetch),
            "lfs_include": self.lfs_include,
            "pointers": list(self.pointers),
            "episodes": [dict(item) for item in self.episodes],
        }

    def lines(self) -> list[str]:
        """What the human output of `publish --plan` says."""
        if not self.fetch:
            return ["this run reads no master or jingle: nothing to fetch"]
        lines = [f"this run reads the audio of {len(self.fetch)} file(s):"]
        for item in self.episodes:
            for path in item["needs"]:
                pointer = " (a Git LFS pointer now)" if path in self.pointers else ""
                why = f"{item['file']}: {item['action']}, {item['reason']}"
                lines.append(f"  {path}{pointer}  ← {why}")
        lines.append(f"fetch them: {pull_command(self.fetch)}")
        return lines


def run_inputs(
    network: Network, plans: list[EpisodePlan], needs: Callable[[EpisodePlan], list[Path]]
) -> RunInputs:
    """The files `plans` need the content of (`needs(plan)`: an episode's), as `RunInputs`;
    ContentError naming a file no `--include` pattern can express."""
    episodes = []
    fetch: dict[str, Path] = {}
    for plan in plans:
        needed = needs(plan)
        relative = [relative_posix(path, network.root) for path in needed]
        fetch.update(zip(relative, needed))
        episodes.append(
            {
                "file": network.display(plan.episode.path),
                "action": plan.action,
                "reason": plan.reason,
                "needs": relative,
            }
        )
    problems = []
    for relative, path in sorted(fetch.items()):
        try:
            include_pattern(relative)
        except ValueError as exc:
            problems.append(Problem(network.display(path), "", str(exc)))
    if problems:
        raise ContentError(problems)
    paths = sorted(fetch)
    return RunInputs(
        fetch=tuple(paths),
        lfs_include=include_argument(paths),
        pointers=tuple(p for p in paths if is_pointer(fetch[p])),
        episodes=tuple(episodes),
    )
