"""Output formats as data: one row per format an episode can be published in.

A row says everything the rest of the toolkit needs to know about a format — how ffmpeg encodes it,
the file's suffix, its MIME type, its bitrates, how its tags are written and which tag versions it
knows — so a new format is a new row here: the pipeline, the storage keys, the manifest and the
feeds take it from the table, and the show's settings model of the format, its bitrate rules and
the format lists of validation and the JSON Schemas are generated from it (`content/models.py`,
`jsonout.py`). The table sits in the bottom layer and imports nothing above it: a row names its
tag style, whose writer `tags.py` registers (`register_tag_writer`). (The model is mediafile's
one-field-many-styles table: one declared field, one style per container; `tags.py` holds the
ID3, MP4 and Vorbis-comment style of every field.)

MP3 is the first row, the primary format: the feed's `<enclosure>` is the file of this format.
The others (M4A, Opus) are alternatives beside it (`podcast:alternateEnclosure`).

MIME types, as feeds and uploads carry them:
- M4A: ``audio/x-m4a``, the type Apple's podcast guide lists for .m4a enclosures (audio/mp4,
  RFC 4337, is the registered one; Apple's list is what decides whether an Apple client takes it).
- Opus: ``audio/ogg``, RFC 7845 §9's recommended type for Ogg Opus files. The namespace's
  alternate-enclosure examples write ``audio/opus``, but that type is registered for the RTP
  payload (RFC 7587), not for files, and browsers and servers map .opus to audio/ogg; the codec
  is said apart, in `codecs` (RFC 6381, the alternateEnclosure ``codecs`` attribute).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

#: The constant bitrates LAME encodes (MPEG-1 layer III; kbps).
LAME_CBR_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)


@dataclass(frozen=True)
class Bitrates:
    """The bitrates (kbps) a format's encoder is run at, and its defaults."""

    lowest: int
    highest: int
    stereo: int  # default for stereo programmes
    mono: int  # default for mono programmes
    only: tuple[int, ...] = ()  # when the encoder takes only these values
    label: str = ""  # the format as people read it: its row's label (set by the row)

    def default(self, channels: int) -> int:
        return self.stereo if channels == 2 else self.mono

    def problem(self, kbps: int) -> str | None:
        """Why `kbps` is not a bitrate of this format (None: it is)."""
        if self.only and kbps not in self.only:
            return f"{kbps} kbps is not an {self.label} bitrate; choose one of " + ", ".join(
                map(str, self.only)
            )
        if not self.lowest <= kbps <= self.highest:
            return f"{kbps} kbps is outside {self.label}'s {self.lowest}–{self.highest} kbps"
        return None


#: Tag style ("id3", "mp4", "vorbis": `tags.CONTAINERS`) → the writer of a file's tags, as
#: (file, tags, tag version). The writers live a layer up (`tags.py` registers them on import), so
#: this table names a row's style and never imports its writer.
TAG_WRITERS: dict[str, Callable[[Path, Any, int], None]] = {}


def register_tag_writer(style: str, writer: Callable[[Path, Any, int], None]) -> None:
    TAG_WRITERS[style] = writer


@dataclass(frozen=True)
class OutputFormat:
    name: str  # as a show names it, e.g. "mp3"
    label: str  # as people read it, e.g. "MP3"
    suffix: str  # of the file and its storage key
    mime: str  # Content-Type of the upload, type of the feed's enclosure
    codecs: str  # RFC 6381 codecs string (alternateEnclosure `codecs`, HTML `type` parameters)
    codec: str  # ffmpeg's encoder
    codec_args: tuple[str, ...]  # encoder options besides the bitrate
    muxer: str  # ffmpeg's output format
    muxer_args: tuple[str, ...]  # container options (no tag: the tag writer writes it)
    tag_style: str  # how its tags are written: a key of TAG_WRITERS
    tag_versions: tuple[int, ...]  # the tag versions the writer knows; the first is the default
    tag_name: Callable[[int], str]  # a tag version as the report names it ("2.3")
    bitrates: Bitrates  # what validation accepts and the defaults
    #: What the bitrate is, as the settings' description and the JSON Schema say it ("CBR")
    bitrate_note: str
    #: Lossy encoding raises true peaks; the limiter should aim this far (dB) under the ceiling.
    #: MP3's 0.7 dB is measured on speech (audio/master.py). AAC and Opus were measured against
    #: LAME on brickwall-limited pink noise at the default bitrates (a harsh case): AAC overshot
    #: 0.6 dB more, Opus 1.4 dB more (stereo), so 1.3 and 2.0 dB. Worth remeasuring on speech.
    true_peak_headroom_db: float = 0.7
    #: The sample rate the encoder writes (Hz), whatever the render's; None keeps the render's.
    output_sample_rate: int | None = None
    #: The muxer seeks back in its output (MP3: the Xing header; MP4: the index written at the
    #: end, moved to the front by +faststart), so the output must be a regular file, not a pipe.
    needs_seekable_output: bool = False

    def __post_init__(self) -> None:
        # the bitrate problems name the format as its row does
        object.__setattr__(self, "bitrates", replace(self.bitrates, label=self.label))

    @property
    def default_tag_version(self) -> int:
        return self.tag_versions[0]

    def encoder_args(self, bitrate_kbps: int) -> list[str]:
        """ffmpeg's output options for this format at `bitrate_kbps` (constant for MP3, the
        average for AAC and Opus)."""
        rate = ["-ar", str(self.output_sample_rate)] if self.output_sample_rate else []
        return [
            "-c:a",
            self.codec,
            *self.codec_args,
            "-b:a",
            f"{bitrate_kbps}k",
            *rate,
            *self.muxer_args,
            "-f",
            self.muxer,
        ]

    def require_encoder(self) -> None:
        """Raise ToolError (naming the format and the binary) when ffmpeg lacks its encoder."""
        # here, not at the top: validation reads the table without loading ffmpeg's numpy
        from podcast_tools.ffmpeg import require_encoder

        require_encoder(self.codec, label=self.label)

    def write_tags(self, path: Path, tags: Any, version: int) -> None:
        """Write `tags` (tags.EpisodeTags) into the file at `path` in this format's tag style."""
        try:
            writer = TAG_WRITERS[self.tag_style]
        except KeyError:
            raise LookupError(
                f"no tag writer for {self.label}'s {self.tag_style!r} tags: "
                "import podcast_tools.tags (it registers them)"
            ) from None
        writer(path, tags, version)


#: Containers whose tag has no versions: one, numbered 1, named after the tag.
_ONLY_VERSION = (1,)


FORMATS: dict[str, OutputFormat] = {
    "mp3": OutputFormat(
        name="mp3",
        label="MP3",
        suffix=".mp3",
        mime="audio/mpeg",
        codecs="mp3",
        codec="libmp3lame",
        codec_args=(),
        muxer="mp3",
        # no ID3 from ffmpeg (ours is written after); a Xing header so players seek and time
        # a CBR file exactly
        muxer_args=("-id3v2_version", "0", "-write_xing", "1"),
        tag_style="id3",
        tag_versions=(3, 4),  # ID3v2.3 first: more players read it (see tags.py)
        tag_name=lambda version: f"2.{version}",
        bitrates=Bitrates(32, 320, stereo=128, mono=64, only=LAME_CBR_KBPS),
        bitrate_note="CBR",
        true_peak_headroom_db=0.7,
        needs_seekable_output=True,
    ),
    "m4a": OutputFormat(
        name="m4a",
        label="M4A",
        suffix=".m4a",
        mime="audio/x-m4a",
        codecs="mp4a.40.2",  # AAC-LC
        codec="aac",  # ffmpeg's own encoder: in every build (libfdk_aac is not redistributable)
        codec_args=("-profile:a", "aac_low"),
        # the ipod muxer brands the file "M4A " as Apple's own .m4a files are; +faststart puts the
        # index first so players start before the download ends
        muxer="ipod",
        muxer_args=("-movflags", "+faststart"),
        tag_style="mp4",
        tag_versions=_ONLY_VERSION,
        tag_name=lambda _version: "iTunes",
        # ffmpeg's AAC encoder needs more bits than Apple's or FDK's for the same sound, so mono
        # stays at MP3's 64; stereo at 96 is three quarters of MP3's 128
        bitrates=Bitrates(32, 320, stereo=96, mono=64),
        bitrate_note="AAC-LC",
        true_peak_headroom_db=1.3,
        needs_seekable_output=True,
    ),
    "opus": OutputFormat(
        name="opus",
        label="Opus",
        suffix=".opus",
        mime="audio/ogg",
        codecs="opus",
        codec="libopus",
        # "audio", not "voip": voip trades fidelity for intelligibility (it filters and favours
        # the speech coder), which harms the music of jingles; "audio" still switches to the
        # speech coder where it serves speech at low bitrates
        codec_args=("-application", "audio", "-vbr", "on"),
        muxer="opus",  # Ogg Opus (RFC 7845)
        # the Ogg stream's serial number is random unless bitexact: the same render then gives
        # the same bytes (and key) on every machine, e.g. for shards and a single publisher
        muxer_args=("-fflags", "+bitexact"),
        tag_style="vorbis",
        tag_versions=_ONLY_VERSION,
        tag_name=lambda _version: "Vorbis",
        # Opus is transparent for speech well below MP3's bitrates: half of them
        bitrates=Bitrates(16, 256, stereo=64, mono=32),
        bitrate_note="Opus at 48 kHz",
        true_peak_headroom_db=2.0,
        # Opus codes at 48 kHz only (RFC 6716); decoders play Ogg Opus at 48 kHz
        output_sample_rate=48000,
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
