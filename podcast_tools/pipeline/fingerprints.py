"""What an episode's published files depend on: the master's hash, the audio and tags fingerprints
(and 0.1's), the analysis cache's place."""

from __future__ import annotations

import functools
import itertools
import json
from pathlib import Path
from typing import Any, get_args

from podcast_tools.audio.analysis_cache import AnalysisCache
from podcast_tools.audio.master import (
    RENDER_VERSION,
)
from podcast_tools.audio.produced import SWITCHES
from podcast_tools.audio.stages import chain_identity
from podcast_tools.content import Episode, Network
from podcast_tools.content.models import Dehum, Denoise
from podcast_tools.errors import ContentError
from podcast_tools.layout import content_hash, file_hash
from podcast_tools.lfs import pointer_problems, read_pointer
from podcast_tools.pipeline.settings import edit_decisions, episode_tags, mastering_settings
from podcast_tools.tags import tags_digest


def master_hash(path: Path) -> str:
    """sha256 of a master or a jingle, computed once per process for the same file (path, size,
    mtime, inode): the fingerprint and the analysis cache both key on it, a master may be an
    hour of WAV, and a show's jingles are in every episode's fingerprint. For a Git LFS pointer
    (not checked out) it is the sha256 the pointer records: the content's, the same as when the
    file is there (PointerError for a malformed one; validation has refused those)."""
    stat = path.stat()
    return _master_hash(path.resolve(), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=256)
def _master_hash(path: Path, size: int, mtime_ns: int, inode: int) -> str:
    pointer = read_pointer(path)
    return pointer.sha256 if pointer is not None else file_hash(path)


def audio_inputs(network: Network, episode: Episode) -> list[Path]:
    """The files whose audio mastering the episode reads: its master, then its jingles."""
    edits = edit_decisions(network, episode)
    return [episode.resolve(episode.audio), *(p for p in (edits.intro, edits.outro) if p)]


def require_audio(network: Network, paths: list[Path]) -> None:
    """ContentError, one line per file naming `git lfs pull --include …`, when any of `paths`
    (audio this run reads) is a Git LFS pointer: stopped before anything is read or uploaded."""
    problems = pointer_problems(paths, network.root, network.display)
    if problems:
        raise ContentError(problems)


def analysis_cache(network: Network) -> AnalysisCache:
    """Where pass 1's results are kept between runs: `build/.cache/analysis/` of the network."""
    return AnalysisCache(network.root / "build" / ".cache" / "analysis")


def fingerprint(
    network: Network, episode: Episode, *, sound: dict[str, Any] | None = None
) -> str:
    """The *audio* fingerprint: what the published audio's frames depend on — the master, the
    jingles, the show's audio settings and formats, the edit decisions, the chapters' times
    (where they land depends on the edits), the render's version and — only when the show turns
    any on — the audio stages (names, versions, settings). What the tags say is the other
    fingerprint (`tags_fingerprint`): a change there re-tags, never re-masters. `sound`: other
    produced-sound settings to take (see `sound_change`). A mastered episode's (`mastered:
    true`): its master and chapters only — its MP3 is published as it is, whatever the show's
    loudness, jingles, stages or formats say."""
    if episode.mastered:
        return mastered_fingerprint(episode)
    edits = edit_decisions(network, episode)
    show = network.shows[episode.show]
    settings = mastering_settings(show, episode, sound=sound)
    parts = {
        "render": RENDER_VERSION,
        "master": master_hash(episode.resolve(episode.audio)),
        "intro": master_hash(edits.intro) if edits.intro else None,
        "outro": master_hash(edits.outro) if edits.outro else None,
        # max_gain_db only decides whether mastering runs, never what it makes; "also" (the
        # formats beside the MP3) only when the show names any
        "settings": {
            k: v
            for k, v in settings.__dict__.items()
            if k not in ("max_gain_db", "stages") and not (k == "also" and not v)
        },
        "trim": [edits.trim_start_s, edits.trim_end_s],
        "cuts": edits.cuts_s,
        "chapters": [start for start, _ in edits.chapters],
    }
    if settings.stages:  # only then: without stages, every fingerprint is what it always was
        parts["stages"] = chain_identity(settings.stages)
    return content_hash(json.dumps(parts, sort_keys=True, default=str).encode())


def mastered_fingerprint(episode: Episode) -> str:
    """The audio fingerprint of a mastered episode: the master's bytes (the whole file's sha256,
    as a Git LFS pointer records it) and the chapters' times (a build records where chapters
    are heard, as for every episode: a moved chapter makes the build anew — a copy, no render),
    with the version of the copying."""
    parts = {
        "mastered": MASTERED_VERSION,
        "master": master_hash(episode.resolve(episode.audio)),
        "chapters": [chapter.start for chapter in episode.chapters],
    }
    return content_hash(json.dumps(parts, sort_keys=True, default=str).encode())


#: Bump whenever a mastered episode's published MP3 would hold other bytes from the same master.
MASTERED_VERSION = 1


def sound_change(network: Network, episode: Episode, recorded: str) -> str | None:
    """When the audio fingerprint `recorded` (a manifest's) differs from today's only by the
    produced-sound settings (`mastering.leveler`, `denoise`, `dehum`), what changed — e.g.
    "leveler off → on, denoise light → strong"; else None. Every combination of the three is
    tried (24 fingerprints of the same inputs: no file is read again)."""
    if episode.mastered:
        return None  # no produced sound: its master is published as it is
    now = network.shows[episode.show].mastering.with_episode(episode.mastering)
    current = {name: getattr(now, name) for name in SWITCHES}
    choices = [sorted(_CHOICES[name], key=str) for name in SWITCHES]
    for values in itertools.product(*choices):
        then = dict(zip(SWITCHES, values))
        if then != current and fingerprint(network, episode, sound=then) == recorded:
            return ", ".join(
                f"{name} {_said(then[name])} → {_said(current[name])}"
                for name in SWITCHES
                if then[name] != current[name]
            )
    return None


#: The values each produced-sound setting can take.
_CHOICES: dict[str, tuple[Any, ...]] = {
    "leveler": (False, True),
    "denoise": get_args(Denoise),
    "dehum": get_args(Dehum),
}


def _said(value: Any) -> str:
    return {False: "off", True: "on"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def legacy_fingerprint(network: Network, episode: Episode) -> str | None:
    """The one fingerprint podcast_tools 0.1 recorded before audio and tags had one each (its
    MP3-only render and ID3 tags are what this version makes from the same inputs), or None
    for a show that names more formats than the MP3 (that version had none). A published entry
    that carries it was made from today's inputs: `publish` adopts it, no mastering, no
    re-tagging."""
    show = network.shows[episode.show]
    settings = mastering_settings(show, episode)
    if settings.also or settings.stages or episode.mastered:
        return None  # (0.1 knew no other formats, no stages, no mastered episodes)
    edits = edit_decisions(network, episode)
    legacy_settings = {
        k: v for k, v in settings.__dict__.items() if k not in ("max_gain_db", "also", "stages")
    }
    legacy_settings["encoder_headroom_db"] = 0.7
    parts = {
        "tool": "0.1.0",
        "master": master_hash(episode.resolve(episode.audio)),
        "intro": master_hash(edits.intro) if edits.intro else None,
        "outro": master_hash(edits.outro) if edits.outro else None,
        "settings": legacy_settings,
        "trim": [edits.trim_start_s, edits.trim_end_s],
        "cuts": edits.cuts_s,
        "chapters": [
            (c.start, c.title, c.url, file_hash(episode.resolve(c.image)) if c.image else None)
            for c in episode.chapters
        ],
        "image": file_hash(episode.resolve(episode.image)) if episode.image else None,
        "tags": {
            "episode": [
                episode.title,
                episode.date.isoformat(),
                episode.number,
                episode.season,
                episode.summary,
                [p.name for p in episode.persons if p.role.lower() == "host"],
            ],
            "show": [
                show.title,
                show.author,
                show.copyright,
                show.link,
                show.language,
                network.settings.name,
                network.feed_url(show.id),
                file_hash(network.show_path(show.artwork)),
            ],
        },
    }
    return content_hash(json.dumps(parts, sort_keys=True, default=str).encode())


def tags_fingerprint(
    network: Network,
    episode: Episode,
    duration_s: float,
    chapter_times: tuple[float, ...],
    summary: str | None = None,
) -> str:
    """The *tags* fingerprint: a digest of everything the tags of the episode's files say
    (`tags.tags_digest` of `episode_tags`), for audio of `duration_s` with the chapters heard at
    `chapter_times` (`summary`: the notes' text when the caller has rendered them already)."""
    return tags_digest(episode_tags(network, episode, duration_s, chapter_times, summary))
