"""From an episode of the network to a mastered MP3: the bridge between content and audio."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from podcast_tools import __version__
from podcast_tools.artwork import inspect
from podcast_tools.audio.master import (
    EditDecisions,
    MasteringReport,
    MasteringSettings,
    Progress,
    master,
)
from podcast_tools.audio.plan import PlanError
from podcast_tools.content import Episode, Network, Show
from podcast_tools.errors import ContentError, Problem
from podcast_tools.fsutil import write_text_atomic
from podcast_tools.layout import content_hash, file_hash
from podcast_tools.notes import ChapterNote, chapter_notes, render_notes, write_notes
from podcast_tools.tags import EpisodeTags, Picture, contiguous_chapters, write_tags

#: ID3v2.3 unless asked otherwise: more players read it (see tags.py).
DEFAULT_ID3_VERSION = 3


def mastering_settings(show: Show) -> MasteringSettings:
    """The show's loudness, MP3 and editing settings (inherited values already resolved)."""
    return MasteringSettings(
        target_lufs=show.loudness.target_lufs,
        true_peak_dbtp=show.loudness.true_peak_dbtp,
        sample_rate=show.mp3.sample_rate,
        channels=show.mp3.channels,
        bitrate_kbps=show.mp3.bitrate_kbps,
        silence_pad_s=show.mastering.silence_pad_s,
        silence_threshold_lu=show.mastering.silence_threshold_lu,
        crossfade_s=show.mastering.crossfade_s,
        max_gain_db=show.mastering.max_gain_db,
    )


def edit_decisions(network: Network, episode: Episode) -> EditDecisions:
    """The producer's trim, cuts and chapters, and the jingles (episode's own, else its show's)."""
    show = network.shows[episode.show]

    def jingle(own: str | bool | None, inherited: str | None) -> Path | None:
        if own is False:
            return None
        if isinstance(own, str):
            return episode.resolve(own)
        return network.show_path(inherited) if inherited else None

    return EditDecisions(
        trim_start_s=episode.trim.start,
        trim_end_s=episode.trim.end,
        cuts_s=tuple((cut.start, cut.end) for cut in episode.cuts),
        chapters=tuple((chapter.start, chapter.title) for chapter in episode.chapters),
        intro=jingle(episode.intro, show.intro),
        outro=jingle(episode.outro, show.outro),
    )


def fingerprint(network: Network, episode: Episode) -> str:
    """What the published MP3 depends on: the master, the jingles, the show's audio settings, the
    edit decisions and chapters (they are in the tags), and the tool's version."""
    edits = edit_decisions(network, episode)
    show = network.shows[episode.show]
    settings = mastering_settings(show)
    parts = {
        "tool": __version__,
        "master": file_hash(episode.resolve(episode.audio)),
        "intro": file_hash(edits.intro) if edits.intro else None,
        "outro": file_hash(edits.outro) if edits.outro else None,
        # max_gain_db only decides whether mastering runs, never what it makes
        "settings": {k: v for k, v in settings.__dict__.items() if k != "max_gain_db"},
        "trim": [edits.trim_start_s, edits.trim_end_s],
        "cuts": edits.cuts_s,
        "chapters": [
            (c.start, c.title, c.url, file_hash(episode.resolve(c.image)) if c.image else None)
            for c in episode.chapters
        ],
        "image": file_hash(episode.resolve(episode.image)) if episode.image else None,
        # what the ID3 tag says (the notes body reaches feeds without touching the audio)
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


@dataclass(frozen=True)
class BuiltEpisode:
    """A processed episode's MP3 and the facts publishing needs from its report."""

    mp3: Path
    sha256: str
    bytes: int
    duration_s: float
    chapter_times: tuple[float, ...]  # as heard in the MP3
    reused: bool = False  # found in the build folder, not mastered by this run

    @classmethod
    def from_report(cls, report: MasteringReport) -> BuiltEpisode:
        return cls(
            mp3=report.output,
            sha256=report.sha256,
            bytes=report.bytes,
            duration_s=round(report.duration_s, 3),
            chapter_times=tuple(round(mark.output_s, 3) for mark in report.chapters),
        )


def reusable_build(
    network: Network, episode: Episode, out_dir: Path, wanted: str
) -> BuiltEpisode | None:
    """What `process` already built for the episode in `out_dir`, when it was built from the same
    inputs (`wanted`: the episode's fingerprint) with the default ID3 version and the MP3 is
    still the file the report describes; else None."""
    mp3, report_path = output_paths(out_dir, episode)
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        size = mp3.stat().st_size
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict):
        return None
    chapters = report.get("chapters")
    if (
        report.get("guid") != episode.guid
        or report.get("fingerprint") != wanted
        or report.get("id3_version") != f"2.{DEFAULT_ID3_VERSION}"
        or report.get("bytes") != size
        or not isinstance(chapters, list)
        or len(chapters) != len(episode.chapters)
        or file_hash(mp3) != report.get("sha256")
    ):
        return None
    try:
        return BuiltEpisode(
            mp3=mp3,
            sha256=report["sha256"],
            bytes=size,
            duration_s=float(report["duration_s"]),
            chapter_times=tuple(float(c["start_s"]) for c in chapters),
            reused=True,
        )
    except (KeyError, TypeError, ValueError):
        return None


def output_paths(out_dir: Path, episode: Episode) -> tuple[Path, Path]:
    """Where the MP3 and its JSON report go."""
    return out_dir / f"{episode.slug}.mp3", out_dir / f"{episode.slug}.json"


def heard_chapter_notes(
    network: Network, episode: Episode, report: MasteringReport
) -> list[ChapterNote]:
    """The episode's chapters at the times they are heard in the output."""
    return chapter_notes(network, episode, [mark.output_s for mark in report.chapters])


def _picture(path: Path) -> Picture:
    return Picture(path.read_bytes(), inspect(path).mime)


def episode_tags(
    network: Network, episode: Episode, report: MasteringReport, summary: str
) -> EpisodeTags:
    """The ID3 tag of an episode's MP3: the episode, its home show and the network."""
    show = network.shows[episode.show]
    hosts = [person.name for person in episode.persons if person.role.lower() == "host"]
    length_ms = round(report.duration_s * 1000)
    cover = episode.resolve(episode.image) if episode.image else network.show_path(show.artwork)
    chapters = contiguous_chapters(
        [
            (
                mark.output_s,
                mark.title,
                chapter.url,
                _picture(episode.resolve(chapter.image)) if chapter.image else None,
            )
            for mark, chapter in zip(report.chapters, episode.chapters)
        ],
        length_ms,
    )
    return EpisodeTags(
        title=episode.title,
        artist=", ".join(hosts) or show.author,
        album=show.title,
        album_artist=network.settings.name,
        date=episode.date,
        language=show.language,
        guid=episode.guid,
        feed_url=network.feed_url(show.id),
        length_ms=length_ms,
        track=episode.number,
        season=episode.season,
        copyright=show.copyright,
        summary=summary or None,
        link=show.link,
        cover=_picture(cover),
        chapters=chapters,
    )


def process_episode(
    network: Network,
    episode: Episode,
    out_dir: Path,
    *,
    progress: Progress | None = None,
    id3_version: int = DEFAULT_ID3_VERSION,
    fingerprint_value: str | None = None,
) -> MasteringReport:
    """Master one episode with its home show's settings, tag it (inside the temp file, before the
    rename) and write its show notes, chapters JSON, transcript and JSON report beside it.

    Raises ContentError (naming the episode file and field) when an edit cannot be done.
    """
    if episode.draft:
        raise ContentError(
            [
                Problem(
                    network.display(episode.path),
                    "draft",
                    "the episode is a draft (draft: true); put its recording in place and delete "
                    "that line to process it",
                )
            ]
        )
    mp3_path, report_path = output_paths(out_dir, episode)
    show = network.shows[episode.show]
    inputs = fingerprint_value or fingerprint(network, episode)  # before: the files may change

    def tag(temp: Path, report: MasteringReport) -> None:
        summary = render_notes(network, episode, heard_chapter_notes(network, episode, report)).text
        write_tags(
            temp,
            episode_tags(network, episode, report, episode.summary or summary),
            version=id3_version,
        )

    try:
        report = master(
            episode.resolve(episode.audio),
            mp3_path,
            mastering_settings(show),
            edit_decisions(network, episode),
            progress=progress,
            finish=tag,
        )
    except PlanError as exc:
        raise ContentError([Problem(network.display(episode.path), exc.field, str(exc))]) from exc
    write_notes(network, episode, heard_chapter_notes(network, episode, report), out_dir)
    payload = {
        "episode": network.display(episode.path),
        "guid": episode.guid,
        "fingerprint": inputs,
        **report.as_dict(),
    }
    payload["source"] = network.display(report.source)
    payload["output"] = str(report.output)
    payload["id3_version"] = f"2.{id3_version}"
    write_text_atomic(report_path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return report
