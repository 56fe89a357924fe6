"""What an episode's files are made from and where they go: its mastering settings, edit decisions
and tags, from the content model; its paths in build/."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from podcast_tools.artwork import inspect
from podcast_tools.audio.master import (
    EditDecisions,
    MasteringSettings,
)
from podcast_tools.audio.produced import SWITCHES, produced_stages
from podcast_tools.audio.stages import stage_specs
from podcast_tools.content import Episode, Network, Show
from podcast_tools.formats import PRIMARY, OutputFormat
from podcast_tools.layout import episode_page_url, page_show
from podcast_tools.notes import render_notes
from podcast_tools.record import (
    heard_chapters,
)
from podcast_tools.tags import EpisodeTags, Picture, contiguous_chapters


def mastering_settings(
    show: Show, episode: Episode | None = None, *, sound: dict[str, Any] | None = None
) -> MasteringSettings:
    """The show's loudness, formats and editing settings (inherited values already resolved),
    with the episode's own produced-sound settings (front matter `mastering:`) over them.

    Every field of the show's `loudness` and `mastering` is the MasteringSettings field of the
    same name (a setting is declared once on each side, no mapping to edit); `leveler`,
    `denoise` and `dehum` switch their built-in stages on, and with `mastering.stages` they
    become the enabled stages, in chain order. `sound`: produced-sound settings to take instead
    (what they were, to tell what changed)."""
    mastering = show.mastering.with_episode(episode.mastering if episode is not None else None)
    if sound:
        mastering = mastering.model_copy(update=sound)
    return MasteringSettings(
        **show.loudness.model_dump(),
        sample_rate=show.mp3.sample_rate,
        channels=show.mp3.channels,
        bitrate_kbps=show.mp3.bitrate_kbps,
        also=tuple(
            (name, show.bitrate_of(name))
            for name in formats_of(show, episode)
            if name != PRIMARY.name
        ),
        **mastering.model_dump(exclude={"stages", *SWITCHES}),
        stages=stage_specs(produced_stages(mastering)),
    )


def formats_of(show: Show, episode: Episode | None = None) -> list[str]:
    """The formats the episode is published in: the show's, the MP3 only for a mastered episode
    (`mastered: true`: its MP3 is published as it is; an M4A or Opus made from it would be a
    second lossy generation, at another loudness than the show's files)."""
    return [PRIMARY.name] if episode is not None and episode.mastered else list(show.formats)


def edit_decisions(network: Network, episode: Episode) -> EditDecisions:
    """The producer's trim, cuts and chapters, and the jingles (episode's own, else its show's);
    a mastered episode's chapters only (nothing else applies to it)."""
    chapters = tuple((chapter.start, chapter.title) for chapter in episode.chapters)
    if episode.mastered:
        return EditDecisions(chapters=chapters)
    intro, outro = network.jingles(episode)
    return EditDecisions(
        trim_start_s=episode.trim.start,
        trim_end_s=episode.trim.end,
        cuts_s=tuple((cut.start, cut.end) for cut in episode.cuts),
        chapters=chapters,
        intro=intro,
        outro=outro,
    )


def audio_path(out_dir: Path, episode: Episode, audio_format: OutputFormat = PRIMARY) -> Path:
    """Where `process` puts the episode's file of `audio_format`."""
    return out_dir / f"{episode.slug}{audio_format.suffix}"


def output_paths(
    out_dir: Path, episode: Episode, audio_format: OutputFormat = PRIMARY
) -> tuple[Path, Path]:
    """Where the audio file and its JSON report go."""
    return audio_path(out_dir, episode, audio_format), out_dir / f"{episode.slug}.json"


def _picture(path: Path) -> Picture:
    """The picture in an image file, read once per process while the file is unchanged: every
    episode of a show carries the show's artwork, and publish works out each episode's tags."""
    stat = path.stat()
    return _read_picture(path.resolve(), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=64)
def _read_picture(path: Path, size: int, mtime_ns: int, inode: int) -> Picture:
    return Picture(path.read_bytes(), inspect(path).mime)


def episode_tags(
    network: Network,
    episode: Episode,
    duration_s: float,
    chapter_times: tuple[float, ...],
    summary: str | None = None,
) -> EpisodeTags:
    """The tags of an episode's files (every format's, from one table): the episode, its home
    show and the network, for audio of `duration_s` with the chapters heard at `chapter_times`.
    The summary is the episode's own, else its rendered notes as text (`summary` when the caller
    has rendered them already)."""
    show = network.shows[episode.show]
    hosts = [person.name for person in episode.persons if person.role.lower() == "host"]
    length_ms = round(duration_s * 1000)
    if summary is None:
        summary = (
            episode.summary
            or render_notes(network, episode, heard_chapters(network, episode, chapter_times)).text
        )
    cover = episode.resolve(episode.image) if episode.image else network.show_path(show.artwork)
    chapters = contiguous_chapters(
        [
            (
                start_s,
                chapter.title,
                chapter.url,
                _picture(episode.resolve(chapter.image)) if chapter.image else None,
            )
            for start_s, chapter in zip(chapter_times, episode.chapters)
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
        page_url=episode_page_url(
            network.settings.base_url,
            page_show(episode.all_shows, network.shows) or episode.show,
            episode.slug,
        ),  # the page the site writes and the feed item links
        cover=_picture(cover),
        chapters=chapters,
    )
