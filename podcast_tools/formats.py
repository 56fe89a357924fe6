"""Output formats as data: one row per format an episode can be published in.

A row says everything the rest of the toolkit needs to know about a format — how ffmpeg encodes it,
the file's suffix, its MIME type, how its tags are written and which tag versions it knows — so a
new format is a new row here, and the pipeline, the storage keys, the manifest and the feeds take it
from the table. (The model is mediafile's one-field-many-styles table: one declared field, one
style per container; `tags.py` holds the ID3 style of every field.)

MP3 is the first row, the primary format: the feed's `<enclosure>` is the file of this format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from podcast_tools.tags import EpisodeTags, write_tags


@dataclass(frozen=True)
class OutputFormat:
    name: str  # as a show names it, e.g. "mp3"
    label: str  # as people read it, e.g. "MP3"
    suffix: str  # of the file and its storage key
    mime: str  # Content-Type of the upload, type of the feed's enclosure
    codec: str  # ffmpeg's encoder
    muxer: str  # ffmpeg's output format
    muxer_args: tuple[str, ...]  # container options (no tag: the tag writer writes it)
    write_tags: Callable[[Path, EpisodeTags, int], None]  # (file, tags, tag version)
    tag_versions: tuple[int, ...]  # the tag versions the writer knows; the first is the default
    tag_name: Callable[[int], str]  # a tag version as the report names it ("2.3")
    #: Lossy encoding raises true peaks: the limiter aims this far (dB) under the ceiling so the
    #: decoded file stays under it.
    true_peak_headroom_db: float = 0.7

    @property
    def default_tag_version(self) -> int:
        return self.tag_versions[0]

    def encoder_args(self, bitrate_kbps: int) -> list[str]:
        """ffmpeg's output options for this format at a constant bitrate."""
        return [
            "-c:a",
            self.codec,
            "-b:a",
            f"{bitrate_kbps}k",
            *self.muxer_args,
            "-f",
            self.muxer,
        ]


def _id3(path: Path, tags: EpisodeTags, version: int) -> None:
    write_tags(path, tags, version=version)


FORMATS: dict[str, OutputFormat] = {
    "mp3": OutputFormat(
        name="mp3",
        label="MP3",
        suffix=".mp3",
        mime="audio/mpeg",
        codec="libmp3lame",
        muxer="mp3",
        # no ID3 from ffmpeg (ours is written after); a Xing header so players seek and time
        # a CBR file exactly
        muxer_args=("-id3v2_version", "0", "-write_xing", "1"),
        write_tags=_id3,
        tag_versions=(3, 4),  # ID3v2.3 first: more players read it (see tags.py)
        tag_name=lambda version: f"2.{version}",
    ),
}

#: The format of the feed's `<enclosure>`, and of every episode until shows name others.
PRIMARY = FORMATS["mp3"]


def format_named(name: str) -> OutputFormat:
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(
            f"unknown output format {name!r}; the formats are: {', '.join(FORMATS)}"
        ) from None


def format_of_suffix(suffix: str) -> OutputFormat | None:
    """The format whose files end in `suffix` (case-insensitive), or None."""
    suffix = suffix.lower()
    return next((f for f in FORMATS.values() if f.suffix == suffix), None)
