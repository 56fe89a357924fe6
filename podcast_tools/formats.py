"""Output formats as data: one row per format an episode can be published in.

A row says everything the rest of the toolkit needs to know about a format — how ffmpeg encodes it,
the file's suffix, its MIME type, how its tags are written and which tag versions it knows — so a
new format is a new row here, and the pipeline, the storage keys, the manifest and the feeds take it
from the table. (The model is mediafile's one-field-many-styles table: one declared field, one
style per container; `tags.py` holds the ID3, MP4 and Vorbis-comment style of every field.)

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
from dataclasses import dataclass
from pathlib import Path

from podcast_tools.ffmpeg import require_encoder
from podcast_tools.encodings import BITRATES, Bitrates
from podcast_tools.tags import EpisodeTags, write_mp4_tags, write_opus_tags, write_tags


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
    write_tags: Callable[[Path, EpisodeTags, int], None]  # (file, tags, tag version)
    tag_versions: tuple[int, ...]  # the tag versions the writer knows; the first is the default
    tag_name: Callable[[int], str]  # a tag version as the report names it ("2.3")
    bitrates: Bitrates  # what validation accepts and the defaults (`encodings.py`)
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
        require_encoder(self.codec, label=self.label)


def _id3(path: Path, tags: EpisodeTags, version: int) -> None:
    write_tags(path, tags, version=version)


def _itunes(path: Path, tags: EpisodeTags, _version: int) -> None:
    write_mp4_tags(path, tags)


def _vorbis_comments(path: Path, tags: EpisodeTags, _version: int) -> None:
    write_opus_tags(path, tags)


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
        write_tags=_id3,
        tag_versions=(3, 4),  # ID3v2.3 first: more players read it (see tags.py)
        tag_name=lambda version: f"2.{version}",
        bitrates=BITRATES["mp3"],
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
        write_tags=_itunes,
        tag_versions=_ONLY_VERSION,
        tag_name=lambda _version: "iTunes",
        # ffmpeg's AAC encoder needs more bits than Apple's or FDK's for the same sound, so mono
        # stays at MP3's 64; stereo at 96 is three quarters of MP3's 128
        bitrates=BITRATES["m4a"],
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
        write_tags=_vorbis_comments,
        tag_versions=_ONLY_VERSION,
        tag_name=lambda _version: "Vorbis",
        # Opus is transparent for speech well below MP3's bitrates: half of them
        bitrates=BITRATES["opus"],
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
