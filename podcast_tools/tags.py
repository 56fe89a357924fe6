"""Episode tags in every container we publish, from one declared table of fields, with chapters.

Every logical field is declared once in :data:`FIELDS` with one style per container (as in
mediafile): the ID3 frames of an MP3, the iTunes atoms of an M4A, the Vorbis comments of an Opus
file. The same table writes tags and reads them back (tests use it to check a round trip).

- MP3: ID3v2.3 by default (the widest player support), v2.4 on request; chapters as CHAP + CTOC.
- M4A: iTunes atoms (mutagen); chapters both as a Nero ``chpl`` atom and as a QuickTime chapter
  track (Apple's players read the latter), written by an ffmpeg stream copy — mutagen cannot.
- Opus: Vorbis comments (mutagen), the cover as a FLAC picture block (METADATA_BLOCK_PICTURE),
  chapters as the Vorbis chapter extension (CHAPTER001=00:00:00.000, CHAPTER001NAME=…).

Writing replaces the whole tag, so re-tagging never duplicates anything. Errors from mutagen and
ffmpeg become :class:`TagError` naming the file.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import langcodes
from mutagen.flac import Picture as FlacPicture
from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    PCST,
    TALB,
    TCON,
    TCOP,
    TDES,
    TDRC,
    TGID,
    TIT2,
    TLAN,
    TLEN,
    TPE1,
    TPE2,
    TPOS,
    TRCK,
    WOAR,
    WXXX,
    CTOCFlags,
    ID3NoHeaderError,
    PictureType,
    TextFrame,
)
from mutagen.id3._specs import Latin1TextSpec
from mutagen.mp4 import MP4, AtomDataType, MP4Cover, MP4FreeForm, MP4Tags
from mutagen.oggopus import OggOpus
from PIL import Image, UnidentifiedImageError

from podcast_tools.artwork import open_image
from podcast_tools.errors import PodcastToolsError, ToolError
from podcast_tools.ffmpeg import input_url, run
from podcast_tools.formats import register_tag_writer
from podcast_tools.layout import ascii_uri


class TagError(PodcastToolsError):
    """An audio file could not be tagged or read."""

    def __init__(self, message: str, *, file: Path | str):
        self.file = str(file)
        super().__init__(f"{self.file}: {message}")


@dataclass(frozen=True)
class Picture:
    data: bytes
    mime: str  # image/jpeg or image/png


@dataclass(frozen=True)
class ChapterTag:
    start_ms: int
    end_ms: int
    title: str
    url: str | None = None
    image: Picture | None = None


@dataclass(frozen=True)
class EpisodeTags:
    """Everything the tag of one episode's audio file says (whatever its container)."""

    title: str
    artist: str  # hosts, else the show's author
    album: str  # the show's title
    album_artist: str  # the network
    date: datetime
    language: str  # ISO 639 as in the content (en, en-au); written as ISO 639-2 (eng)
    guid: str
    feed_url: str
    length_ms: int
    track: int | None = None
    season: int | None = None
    genre: str = "Podcast"
    copyright: str | None = None
    summary: str | None = None
    link: str | None = None  # the show's website
    page_url: str | None = None  # the episode's page on the network's website
    cover: Picture | None = None
    chapters: tuple[ChapterTag, ...] = ()


@dataclass(frozen=True)
class Style:
    """How one container stores one field, both ways.

    `write` turns the value into what the container holds — ID3: frames; MP4: (atom, value as
    mutagen takes it) pairs; Vorbis comments: (name, text) pairs. `read` takes the container's
    whole tag (mutagen's ID3, MP4Tags or VComment) back to the value, None when it is absent.
    """

    key: str  # the ID3 frame, the MP4 atom or the Vorbis comment name
    write: Callable[[Any], list]
    read: Callable[[Any], Any]


#: Bump when the writers put something else in a file for the same `EpisodeTags`: every
#: published file is then re-tagged (never re-mastered) on the next publish.
TAGS_VERSION = 2  # 2: URL frames without a trailing NUL; the feed URL in WXXX too


@functools.lru_cache(maxsize=64)
def _picture_sha256(data: bytes) -> str:
    """sha256 of a picture's bytes, once per picture (the same artwork object comes back for
    every episode of a show; bytes keep their own hash, so the look-up costs nothing)."""
    return hashlib.sha256(data).hexdigest()


def tags_digest(tags: EpisodeTags) -> str:
    """sha256 of everything the tags of an episode's files say (pictures by their own sha256),
    with the writers' version: equal digests, equal tags in every container."""

    def plain(value: Any) -> Any:
        if isinstance(value, Picture):
            return {"mime": value.mime, "sha256": _picture_sha256(value.data)}
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, (tuple, list)):
            return [plain(item) for item in value]
        if dataclasses.is_dataclass(value):
            return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return value

    document = {"version": TAGS_VERSION, "tags": plain(tags)}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Field:
    """One logical field of :class:`EpisodeTags` and its style in each container.

    No style for a container means it has no place for the field (e.g. the duration, which MP4
    and Ogg state themselves) or writes it outside the tag (MP4 chapters: see write_mp4_tags)."""

    name: str
    id3: tuple[Style, ...] = ()
    mp4: tuple[Style, ...] = ()
    vorbis: tuple[Style, ...] = ()


CONTAINERS = ("id3", "mp4", "vorbis")


def _text(frame_class) -> Callable[[Any], list]:
    return lambda value: [frame_class(encoding=3, text=[str(value)])]


def _read_text(frame_id: str, convert: Callable[[str], Any] = str) -> Callable[[ID3], Any]:
    def read(tags: ID3) -> Any:
        frame = tags.get(frame_id)
        return convert(str(frame.text[0])) if frame is not None and frame.text else None

    return read


class _UrlSpec(Latin1TextSpec):
    """A URL frame's URL, which runs to the end of the frame (ID3v2.3 §4.3.1, §4.3.2): mutagen's
    Latin1TextSpec writes a NUL after it, which eyeD3 returns as part of the URL and Apple's
    AVPlayer fails on (mutagen issue 555). Read as mutagen reads it (to a NUL, if any)."""

    def write(self, config, data, value) -> bytes:
        return ascii_uri(value).encode("ascii")


# mutagen names a frame on disk after its class, hence the class names: its own URL frames,
# writing the URL without the NUL.
_WOAR = type("WOAR", (WOAR,), {"__module__": __name__, "_framespec": [_UrlSpec("url")]})
_WXXX = type(
    "WXXX",
    (WXXX,),
    {"__module__": __name__, "_framespec": [*WXXX._framespec[:-1], _UrlSpec("url")]},
)

# WFED (podcast feed URL) as iTunes writes it: a text frame — an encoding byte, then the URL — not
# the URL frame mutagen defines. Readers that follow iTunes (eyeD3, TagLib, Apple's apps) expect
# the encoding byte; mutagen reads that byte as the end of an empty URL. No one frame is read
# alike by both, so the URL is also in a WXXX frame described "Podcast feed", which every reader
# reads alike (docs/tags-notes-artwork.md).
_ITUNES_WFED = type("WFED", (TextFrame,), {"__module__": __name__})
FEED_URL_DESC = "Podcast feed"
EPISODE_PAGE_DESC = "Episode"


def _feed_url(url: str) -> list:
    return [_ITUNES_WFED(encoding=0, text=[ascii_uri(url)])]


def _user_url(desc: str) -> Callable[[str], list]:
    """A WXXX frame: the URL (as a plain-ASCII URI: URL frames are Latin-1, and eyeD3 reads
    anything else as '') under a description (its key: WXXX:<desc>)."""
    return lambda url: [_WXXX(encoding=3, desc=desc, url=ascii_uri(url))]


def _read_user_url(desc: str) -> Callable[[ID3], str | None]:
    def read(tags: ID3) -> str | None:
        frame = tags.get(f"WXXX:{desc}")
        return frame.url if frame is not None else None

    return read


def _read_feed_url(tags: ID3) -> str | None:
    """WFED written either way: as iTunes' text frame (mutagen reads it as a URL frame that ends
    at the encoding byte, so the frame is read from the file) or as a URL frame."""
    frames = tags.getall("WFED")
    if not frames:
        return None
    if frames[0].url or not getattr(tags, "filename", None):
        return frames[0].url
    with open(tags.filename, "rb") as handle:
        parsed = _parse_tag(handle)
    for frame_id, data in parsed.frames if parsed else ():
        if frame_id == b"WFED" and len(data) > 11:
            encoding, text = data[10], data[11:]
            codec = {0: "latin-1", 1: "utf-16", 2: "utf-16-be", 3: "utf-8"}.get(encoding)
            if codec:
                return text.decode(codec).rstrip("\x00")
    return None


def _read_url(frame_id: str) -> Callable[[ID3], Any]:
    def read(tags: ID3) -> str | None:
        frames = tags.getall(frame_id)  # URL frames are keyed by their URL
        return frames[0].url if frames else None

    return read


def _iso639_2(language: str) -> str:
    """ID3's TLAN wants ISO 639-2 (three letters): en-au → eng."""
    try:
        return langcodes.Language.get(language).to_alpha3()
    except (LookupError, ValueError):
        return language


def _comment(summary: str) -> list:
    return [COMM(encoding=3, lang="eng", desc="", text=[summary])]


def _read_comment(tags: ID3) -> str | None:
    for frame in tags.getall("COMM"):
        if frame.desc == "":
            return str(frame.text[0])
    return None


def _date(value: datetime) -> list:
    return [TDRC(encoding=3, text=[value.strftime("%Y-%m-%dT%H:%M:%S")])]


def _read_date(tags: ID3) -> str | None:
    frame = tags.get("TDRC")
    return str(frame.text[0]) if frame is not None and frame.text else None


def _link(url: str) -> list:
    return [_WOAR(url=ascii_uri(url))]


def _cover(picture: Picture) -> list:
    return [
        APIC(
            encoding=3,
            mime=picture.mime,
            type=PictureType.COVER_FRONT,
            desc="Cover",
            data=picture.data,
        )
    ]


def _read_cover(tags: ID3) -> Picture | None:
    for frame in tags.getall("APIC"):
        if frame.type == PictureType.COVER_FRONT:
            return Picture(frame.data, frame.mime)
    return None


def _chapter_frames(chapters: tuple[ChapterTag, ...]) -> list:
    if not chapters:
        return []
    ids = [f"chp{index}" for index in range(len(chapters))]
    frames: list = [
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=3, text=["Chapters"])],
        )
    ]
    for element_id, chapter in zip(ids, chapters):
        sub_frames: list = [TIT2(encoding=3, text=[chapter.title])]
        if chapter.url:
            sub_frames.append(_WXXX(encoding=3, desc="chapter url", url=ascii_uri(chapter.url)))
        if chapter.image is not None:
            sub_frames.append(
                APIC(
                    encoding=3,
                    mime=chapter.image.mime,
                    type=PictureType.OTHER,
                    desc="chapter",
                    data=chapter.image.data,
                )
            )
        frames.append(
            CHAP(
                element_id=element_id,
                start_time=chapter.start_ms,
                end_time=chapter.end_ms,
                start_offset=0xFFFFFFFF,
                end_offset=0xFFFFFFFF,
                sub_frames=sub_frames,
            )
        )
    return frames


def contiguous_chapters(
    starts: list[tuple[float, str, str | None, Picture | None]], length_ms: int
) -> tuple[ChapterTag, ...]:
    """Chapters from (start seconds, title, url, image): each ends where the next begins, the last
    at the end of the audio (players list them as one unbroken run)."""
    tags = []
    for index, (start_s, title, url, image) in enumerate(starts):
        start = round(start_s * 1000)
        end = round(starts[index + 1][0] * 1000) if index + 1 < len(starts) else length_ms
        tags.append(ChapterTag(start, max(end, start), title, url, image))
    return tuple(tags)


# --- the styles of each container -------------------------------------------------------------


def _id3(frame_class, convert: Callable[[str], Any] = str) -> Style:
    """A text frame holding the value as text."""
    frame_id = frame_class.__name__
    return Style(frame_id, _text(frame_class), _read_text(frame_id, convert))


def _read_id3_chapters(tags: ID3) -> list[ChapterTag]:
    """The CHAP frames in the order of the table of contents (else by element id)."""
    tocs = tags.getall("CTOC")
    chapters = {frame.element_id: frame for frame in tags.getall("CHAP")}
    order = list(tocs[0].child_element_ids) if tocs else sorted(chapters)
    result = []
    for element_id in order:
        frame = chapters[element_id]
        title = frame.sub_frames.get("TIT2")
        urls = frame.sub_frames.getall("WXXX")
        pictures = frame.sub_frames.getall("APIC")
        result.append(
            ChapterTag(
                frame.start_time,
                frame.end_time,
                str(title.text[0]) if title else "",
                urls[0].url if urls else None,
                Picture(pictures[0].data, pictures[0].mime) if pictures else None,
            )
        )
    return result


def _iso_date(value: datetime) -> str:
    """ISO 8601 in UTC with a Z, as iTunes writes ©day (a naive time is written as it is)."""
    if value.tzinfo is None:
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mp4(atom: str, convert: Callable[[str], Any] = str) -> Style:
    """A text atom (©nam, aART, desc, purl, egid, …) holding the value."""
    return Style(
        atom,
        lambda value: [(atom, [str(value)])],
        lambda tags: convert(tags[atom][0]) if tags.get(atom) else None,
    )


def _mp4_number(atom: str) -> Style:
    """trkn / disk: a (number, total) pair; the total is unknown (0)."""
    return Style(
        atom,
        lambda value: [(atom, [(int(value), 0)])],
        lambda tags: tags[atom][0][0] if tags.get(atom) else None,
    )


def _mp4_freeform(name: str, convert: Callable[[Any], str] = str) -> Style:
    """A freeform ``----:com.apple.iTunes:NAME`` atom (UTF-8 text), for what iTunes has no atom."""
    atom = f"----:com.apple.iTunes:{name}"
    return Style(
        atom,
        lambda value: [(atom, [MP4FreeForm(convert(value).encode("utf-8"), AtomDataType.UTF8)])],
        lambda tags: bytes(tags[atom][0]).decode("utf-8") if tags.get(atom) else None,
    )


_MP4_IMAGE_FORMATS = {"image/jpeg": MP4Cover.FORMAT_JPEG, "image/png": MP4Cover.FORMAT_PNG}


def _mp4_cover(picture: Picture) -> list:
    if picture.mime not in _MP4_IMAGE_FORMATS:
        raise ValueError(f"an MP4 cover must be JPEG or PNG, not {picture.mime}")
    return [("covr", [MP4Cover(picture.data, _MP4_IMAGE_FORMATS[picture.mime])])]


def _read_mp4_cover(tags: MP4Tags) -> Picture | None:
    covers = tags.get("covr")
    if not covers:
        return None
    mime = {code: mime for mime, code in _MP4_IMAGE_FORMATS.items()}.get(covers[0].imageformat)
    return Picture(bytes(covers[0]), mime or "application/octet-stream")


def _vorbis(name: str, convert: Callable[[str], Any] = str) -> Style:
    """A Vorbis comment holding the value as text."""
    return Style(
        name,
        lambda value: [(name, str(value))],
        lambda tags: convert(tags[name][0]) if name in tags else None,
    )


def _image_facts(data: bytes) -> tuple[int, int, int]:
    """Width, height and bits per pixel of an image when Pillow reads its header, else zeros
    (the FLAC picture block allows 0 for unknown). Only a JPEG or PNG header is read."""
    try:
        with open_image(io.BytesIO(data)) as image:
            depth = {"1": 1, "L": 8, "P": 8, "RGB": 24, "RGBA": 32, "CMYK": 32}.get(image.mode, 0)
            return image.width, image.height, depth
    except (  # Image.DecompressionBombWarning: made an error by open_image
        UnidentifiedImageError,
        OSError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        return 0, 0, 0


def _vorbis_cover(picture: Picture) -> list:
    """The cover as a base64 FLAC picture block of type 3 (front cover), the form Vorbis-comment
    readers (ffmpeg, foobar2000, mpv, Android) take."""
    block = FlacPicture()
    block.type = PictureType.COVER_FRONT
    block.mime = picture.mime
    block.desc = "Cover"
    block.width, block.height, block.depth = _image_facts(picture.data)
    block.data = picture.data
    return [("METADATA_BLOCK_PICTURE", base64.b64encode(block.write()).decode("ascii"))]


def _read_vorbis_cover(tags) -> Picture | None:
    for encoded in tags.get("METADATA_BLOCK_PICTURE", []):
        block = FlacPicture(base64.b64decode(encoded))
        if block.type == PictureType.COVER_FRONT:
            return Picture(block.data, block.mime)
    return None


def _timestamp(ms: int) -> str:
    """HH:MM:SS.mmm, as the Vorbis chapter extension writes a chapter's start.

    >>> _timestamp(3_723_004)
    '01:02:03.004'
    """
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def _parse_timestamp(text: str) -> int:
    """Milliseconds from HH:MM:SS(.fraction).

    >>> _parse_timestamp("01:02:03.004"), _parse_timestamp("00:00:02.5")
    (3723004, 2500)
    """
    hours, minutes, seconds = text.strip().split(":")
    return round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)


def _vorbis_chapters(chapters: tuple[ChapterTag, ...]) -> list:
    """CHAPTERnnn (start), CHAPTERnnnNAME and CHAPTERnnnURL (the Vorbis chapter extension of the
    Xiph wiki: nnn from 000 to 999; numbered from 001 as its examples are). The extension has no
    end time (each chapter runs to the next) and no image."""
    if len(chapters) > 999:
        raise ValueError("the Vorbis chapter extension numbers at most 999 chapters")
    pairs: list = []
    for number, chapter in enumerate(chapters, start=1):
        key = f"CHAPTER{number:03d}"
        pairs += [(key, _timestamp(chapter.start_ms)), (f"{key}NAME", chapter.title)]
        if chapter.url:
            pairs.append((f"{key}URL", chapter.url))
    return pairs


def _read_vorbis_chapters(tags) -> list[ChapterTag]:
    """The chapters by number; each ends where the next starts (the last, at its own start: the
    reader sets it to the end of the audio)."""
    found: dict[int, dict[str, str]] = {}
    for key, value in tags:
        upper = key.upper()
        if upper.startswith("CHAPTER") and upper[7:10].isdigit():
            found.setdefault(int(upper[7:10]), {})[upper[10:]] = value
    marks = [
        (_parse_timestamp(parts[""]), parts.get("NAME", ""), parts.get("URL"))
        for _, parts in sorted(found.items())
        if "" in parts
    ]
    return [
        ChapterTag(start, marks[index + 1][0] if index + 1 < len(marks) else start, title, url)
        for index, (start, title, url) in enumerate(marks)
    ]


#: The one declaration of what goes where, one style per container. Fields whose value is None
#: (or empty) are left out. Names without a standard home are documented where they are chosen.
FIELDS: tuple[Field, ...] = (
    Field("title", (_id3(TIT2),), (_mp4("©nam"),), (_vorbis("TITLE"),)),
    Field("artist", (_id3(TPE1),), (_mp4("©ART"),), (_vorbis("ARTIST"),)),
    Field("album", (_id3(TALB),), (_mp4("©alb"),), (_vorbis("ALBUM"),)),
    Field("album_artist", (_id3(TPE2),), (_mp4("aART"),), (_vorbis("ALBUMARTIST"),)),
    Field("track", (_id3(TRCK, int),), (_mp4_number("trkn"),), (_vorbis("TRACKNUMBER", int),)),
    # the season as the disc number, in every container alike (ID3 has no season frame)
    Field("season", (_id3(TPOS, int),), (_mp4_number("disk"),), (_vorbis("DISCNUMBER", int),)),
    Field(
        "date",
        (Style("TDRC", _date, _read_date),),
        (Style("©day", lambda v: [("©day", [_iso_date(v)])], _mp4("©day").read),),
        (Style("DATE", lambda v: [("DATE", _iso_date(v))], _vorbis("DATE").read),),
    ),
    Field("genre", (_id3(TCON),), (_mp4("©gen"),), (_vorbis("GENRE"),)),
    # ISO 639-2 everywhere (ID3's TLAN wants it); iTunes has no language atom, so a freeform one
    Field(
        "language",
        (Style("TLAN", lambda v: [TLAN(encoding=3, text=[_iso639_2(v)])], _read_text("TLAN")),),
        (_mp4_freeform("LANGUAGE", _iso639_2),),
        (Style("LANGUAGE", lambda v: [("LANGUAGE", _iso639_2(v))], _vorbis("LANGUAGE").read),),
    ),
    Field("copyright", (_id3(TCOP),), (_mp4("cprt"),), (_vorbis("COPYRIGHT"),)),
    # iTunes shows desc (short) or ldes (long); Vorbis readers show COMMENT or DESCRIPTION
    Field(
        "summary",
        (Style("COMM", _comment, _read_comment), _id3(TDES)),
        (_mp4("desc"), _mp4("ldes")),
        (_vorbis("DESCRIPTION"), _vorbis("COMMENT")),
    ),
    # the show's website: WEBSITE is the common Vorbis name (MusicBrainz Picard's)
    Field(
        "link",
        (Style("WOAR", _link, _read_url("WOAR")),),
        (_mp4_freeform("WEBSITE"),),
        (_vorbis("WEBSITE"),),
    ),
    # the episode's own page: ID3's user URL frame; iTunes atoms and Vorbis comments have no name
    # for it (their readers show the show's website and the feed)
    Field(
        "page_url",
        (
            Style(
                f"WXXX:{EPISODE_PAGE_DESC}",
                _user_url(EPISODE_PAGE_DESC),
                _read_user_url(EPISODE_PAGE_DESC),
            ),
        ),
    ),
    # purl and egid are iTunes' podcast atoms (feed URL, episode guid); Vorbis comments have no
    # podcast names, so PODCASTURL / PODCASTGUID say what ID3's WFED / TGID say. ID3: WFED as
    # iTunes writes it, and WXXX "Podcast feed" for readers of WFED as a URL frame (mutagen)
    Field(
        "feed_url",
        (
            Style("WFED", _feed_url, _read_feed_url),
            Style(f"WXXX:{FEED_URL_DESC}", _user_url(FEED_URL_DESC), _read_user_url(FEED_URL_DESC)),
        ),
        (_mp4("purl"),),
        (_vorbis("PODCASTURL"),),
    ),
    Field("guid", (_id3(TGID),), (_mp4("egid"),), (_vorbis("PODCASTGUID"),)),
    # MP4 and Ogg state their own duration
    Field("length_ms", (_id3(TLEN, int),)),
    Field(
        "cover",
        (Style("APIC", _cover, _read_cover),),
        (Style("covr", _mp4_cover, _read_mp4_cover),),
        (Style("METADATA_BLOCK_PICTURE", _vorbis_cover, _read_vorbis_cover),),
    ),
    Field(
        "chapters",
        (Style("CHAP", _chapter_frames, _read_id3_chapters),),
        (),  # an ffmpeg stream copy writes them (chpl + chapter track): see write_mp4_tags
        (Style("CHAPTERnnn", _vorbis_chapters, _read_vorbis_chapters),),
    ),
)

#: What marks a file as a podcast episode, beyond the fields (ID3: PCST, added in build_frames).
#: iTunes: the podcast flag and media kind 21 (Podcast).
_MP4_PODCAST_ATOMS: list = [("pcst", True), ("stik", [21])]


def _written(container: str, tags: EpisodeTags) -> list:
    """What the container holds for `tags`, field by field in table order."""
    written: list = []
    for spec in FIELDS:
        value = getattr(tags, spec.name)
        if value is not None and value != "":
            for style in getattr(spec, container):
                written.extend(style.write(value))
    return written


def _read_fields(container: str, tag: Any) -> dict[str, Any]:
    """Every field the container has a style for; a field's second style is keyed name:key."""
    fields: dict[str, Any] = {}
    for spec in FIELDS:
        for index, style in enumerate(getattr(spec, container)):
            fields[spec.name if index == 0 else f"{spec.name}:{style.key}"] = style.read(tag)
    return fields


def build_frames(tags: EpisodeTags) -> list:
    """All ID3 frames for `tags`: the podcast flag, then the declared fields with the chapters."""
    return [PCST(value=1), *_written("id3", tags)]


def write_tags(path: Path, tags: EpisodeTags, *, version: int = 3) -> None:
    """Replace the ID3 tag of the MP3 at `path` (no ID3v1); ID3v2.3 or 2.4."""
    if version not in (3, 4):
        raise ValueError("ID3 version must be 3 or 4")
    tag = ID3()
    for frame in build_frames(tags):
        tag.add(frame)
    if version == 3:
        tag.update_to_v23()
        # v2.3 keeps the year (TYER), as iTunes does; the day and time frames (TDAT DDMM, TIME
        # HHMM) are misread by common readers (eyeD3 drops a leading zero and warns). The full
        # date is in v2.4's TDRC and in the feed.
        tag.delall("TDAT")
        tag.delall("TIME")
    try:
        tag.save(path, v1=0, v2_version=version, padding=lambda info: 0)
        _chapters_in_time_order(path)
    except Exception as exc:  # mutagen raises several types for unwritable files
        raise TagError(f"cannot write ID3 tags ({exc})", file=path) from exc


def _chapters_in_time_order(path: Path) -> None:
    """Put the chapter frames in the file in time order, after the table of contents.

    mutagen orders frames by size, and ffmpeg (ffprobe, every ffmpeg-based player) lists CHAP
    frames in file order, not by the CTOC. The tag is rewritten in place with the same frames and
    the same length: other frames as mutagen wrote them, then the CTOC and the CHAPs by start
    time where the first of them was."""
    with path.open("r+b") as handle:
        parsed = _parse_tag(handle)
        if parsed is None or not any(frame_id == b"CHAP" for frame_id, _ in parsed.frames):
            return
        chapter_ids = (b"CTOC", b"CHAP")
        frames = parsed.frames
        tocs = [data for frame_id, data in frames if frame_id == b"CTOC"]
        chaps = sorted(
            (data for frame_id, data in frames if frame_id == b"CHAP"), key=_chap_start_ms
        )
        first = next(i for i, (frame_id, _) in enumerate(frames) if frame_id in chapter_ids)
        others = [data for frame_id, data in frames if frame_id not in chapter_ids]
        ordered = others[:first] + tocs + chaps + others[first:]
        rewritten = b"".join(ordered) + parsed.padding
        if len(rewritten) != parsed.size:
            return
        handle.seek(10)
        handle.write(rewritten)


@dataclass
class _RawTag:
    size: int  # bytes after the 10-byte header
    frames: list[tuple[bytes, bytes]]  # (frame id, the whole frame with its header)
    padding: bytes


def _parse_tag(handle) -> _RawTag | None:
    """The frames of the ID3v2.3/2.4 tag at the start of an open file, as stored (no decoding);
    None when there is none, or it is unsynchronised or has an extended header (we never write
    those)."""
    handle.seek(0)
    header = handle.read(10)
    if len(header) < 10 or header[:3] != b"ID3" or header[3] not in (3, 4) or header[5] & 0xC0:
        return None
    major = header[3]
    body = handle.read(_syncsafe(header[6:10]))
    frames: list[tuple[bytes, bytes]] = []
    position = 0
    while position + 10 <= len(body) and body[position : position + 4].strip(b"\0"):
        raw_size = body[position + 4 : position + 8]
        size = _syncsafe(raw_size) if major == 4 else int.from_bytes(raw_size, "big")
        end = position + 10 + size
        if end > len(body):
            return None
        frames.append((body[position : position + 4], body[position:end]))
        position = end
    return _RawTag(len(body), frames, body[position:])


def _syncsafe(data: bytes) -> int:
    value = 0
    for byte in data:
        value = (value << 7) | (byte & 0x7F)
    return value


def _chap_start_ms(frame: bytes) -> int:
    """A CHAP frame's start time: after its element id (NUL-terminated), 4 bytes big-endian."""
    element_end = frame.index(b"\0", 10)
    return int.from_bytes(frame[element_end + 1 : element_end + 5], "big")


@dataclass
class ReadBack:
    """What a tag says, field by field (for checks and tests)."""

    version: tuple[int, ...]  # ID3: (2, 3, 0) or (2, 4, 0); other containers have none: ()
    fields: dict[str, Any] = field(default_factory=dict)
    chapters: list[ChapterTag] = field(default_factory=list)
    toc_order: list[str] = field(default_factory=list)
    podcast_flag: bool = False
    frame_counts: dict[str, int] = field(default_factory=dict)  # frames, atoms or comments


def read_tags(path: Path) -> ReadBack:
    """Read the ID3 tag of `path` through the same field table."""
    try:
        tag = ID3(path)
    except ID3NoHeaderError as exc:
        raise TagError("has no ID3 tag", file=path) from exc
    except Exception as exc:
        raise TagError(f"cannot read ID3 tags ({exc})", file=path) from exc
    result = ReadBack(version=tag.version, fields=_read_fields("id3", tag))
    result.chapters = result.fields.pop("chapters")
    result.podcast_flag = "PCST" in tag
    tocs = tag.getall("CTOC")
    if tocs:
        result.toc_order = list(tocs[0].child_element_ids)
    for key in tag.keys():
        frame_id = key.split(":")[0]
        result.frame_counts[frame_id] = result.frame_counts.get(frame_id, 0) + 1
    return result


# --- M4A ----------------------------------------------------------------------------------------


def _no_padding(_info) -> int:
    return 0


def _temp_beside(path: Path, suffix: str) -> Path:
    """A new empty temp file in the folder of `path` (so a rename onto `path` is atomic)."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(handle)
    return Path(name)


#: The Nero chpl atom stores a title's length in one byte: ffmpeg cuts longer titles at 255
#: bytes, possibly inside a character. Titles are cut on a character boundary before that.
MP4_CHAPTER_TITLE_BYTES = 255


def mp4_chapter_title(title: str) -> str:
    """The chapter title as an M4A can hold it (at most 255 UTF-8 bytes, whole characters).

    >>> mp4_chapter_title("é" * 200) == "é" * 127
    True
    """
    return title.encode("utf-8")[:MP4_CHAPTER_TITLE_BYTES].decode("utf-8", "ignore")


def _ffmetadata(chapters: tuple[ChapterTag, ...]) -> str:
    """The chapters' times as an ffmetadata file. Their titles go on the command line instead
    (`_chapter_titles`): ffmpeg's ffmetadata reader takes an escaped backslash at the end of a
    line for a line continuation, so a title ending in a backslash swallowed the next chapter."""
    lines = [";FFMETADATA1"]
    for chapter in chapters:
        lines += [
            "[CHAPTER]",
            "TIMEBASE=1/1000",
            f"START={chapter.start_ms}",
            f"END={max(chapter.end_ms, chapter.start_ms)}",
        ]
    return "\n".join(lines) + "\n"


def _chapter_titles(chapters: tuple[ChapterTag, ...]) -> list[str]:
    """ffmpeg options giving each output chapter its title, as it is (no quoting needed)."""
    args = []
    for index, chapter in enumerate(chapters):
        args += [f"-metadata:c:{index}", f"title={mp4_chapter_title(chapter.title)}"]
    return args


def _remux_m4a(source: Path, output: Path, chapters: tuple[ChapterTag, ...]) -> None:
    """Stream-copy the audio of `source` to `output` (no re-encoding) with these chapters and no
    other metadata; ffmpeg's ipod muxer writes them as a Nero chpl atom and a QuickTime chapter
    track, and +faststart puts the index before the audio (players start before the download
    ends). Earlier chapters, covers and tags are left behind."""
    args = ["-i", input_url(source)]
    meta = None
    try:
        if chapters:
            meta = _temp_beside(output, ".ffmeta")
            meta.write_text(_ffmetadata(chapters), encoding="utf-8")
            args += ["-f", "ffmetadata", "-i", input_url(meta)]
            args += ["-map_metadata", "1", "-map_chapters", "1", *_chapter_titles(chapters)]
        else:
            args += ["-map_metadata", "-1", "-map_chapters", "-1"]
        args += ["-map", "0:a:0", "-c", "copy", "-movflags", "+faststart", "-f", "ipod", "-y"]
        run([*args, input_url(output)], about=source)
    finally:
        if meta is not None:
            meta.unlink(missing_ok=True)


def _m4a_has_chapters(path: Path, chapters: tuple[ChapterTag, ...]) -> bool:
    """Whether the M4A at `path` already holds these chapters (start and title, as its chpl
    atom keeps them): then re-tagging it needs no ffmpeg at all."""
    try:
        found = MP4(path).chapters
    except Exception:
        return False
    held = [(round(c.start * 1000), c.title) for c in found or ()]
    wanted = [
        (c.start_ms, mp4_chapter_title(c.title).replace("\r\n", "\n").replace("\r", "\n"))
        for c in chapters
    ]
    return held == wanted


def write_mp4_tags(path: Path, tags: EpisodeTags) -> None:
    """Replace the iTunes tag and the chapters of the M4A at `path`.

    ffmpeg copies the audio into a temp file beside `path` with the chapters (unless the file
    holds these chapters already: then a plain copy, and no ffmpeg runs); mutagen writes the
    atoms and the cover there (updating the chunk offsets of every track, the chapter track's
    too); the temp file then replaces `path`. On failure `path` is untouched and the temp file
    removed.
    """
    work = _temp_beside(path, ".m4a")
    try:
        if _m4a_has_chapters(path, tags.chapters):
            shutil.copyfile(path, work)
        else:
            _remux_m4a(path, work, tags.chapters)
        audio = MP4(work)
        if audio.tags is None:
            audio.add_tags()
        audio.tags.clear()
        for atom, value in [*_MP4_PODCAST_ATOMS, *_written("mp4", tags)]:
            audio.tags[atom] = value
        audio.save(padding=_no_padding)
        os.replace(work, path)
    except ToolError as exc:
        raise TagError(f"cannot write MP4 chapters ({exc})", file=path) from exc
    except Exception as exc:  # mutagen raises several types for unwritable files
        raise TagError(f"cannot write MP4 tags ({exc})", file=path) from exc
    finally:
        work.unlink(missing_ok=True)


def read_mp4_tags(path: Path) -> ReadBack:
    """Read the iTunes tag of the M4A at `path` through the same field table; the chapters as
    mutagen reads them (the chpl atom), each running to the next, the last to the end."""
    try:
        audio = MP4(path)
    except Exception as exc:
        raise TagError(f"cannot read MP4 tags ({exc})", file=path) from exc
    if audio.tags is None:
        raise TagError("has no MP4 tags", file=path)
    result = ReadBack(version=(), fields=_read_fields("mp4", audio.tags))
    result.podcast_flag = bool(audio.tags.get("pcst"))
    result.chapters = list(
        contiguous_chapters(
            [(c.start, c.title, None, None) for c in audio.chapters or ()],
            round(audio.info.length * 1000),
        )
    )
    result.frame_counts = {
        atom: len(value) if isinstance(value, list) else 1 for atom, value in audio.tags.items()
    }
    return result


# --- Opus ---------------------------------------------------------------------------------------


def write_opus_tags(path: Path, tags: EpisodeTags) -> None:
    """Replace the Vorbis comments of the Ogg Opus file at `path` (the encoder's vendor string
    stays; every comment is ours)."""
    try:
        audio = OggOpus(path)
        audio.tags.clear()
        audio.tags.extend(_written("vorbis", tags))
        audio.save(padding=_no_padding)
    except Exception as exc:  # mutagen raises several types for unwritable files
        raise TagError(f"cannot write Vorbis comments ({exc})", file=path) from exc


def read_opus_tags(path: Path) -> ReadBack:
    """Read the Vorbis comments of the Opus file at `path` through the same field table."""
    try:
        audio = OggOpus(path)
    except Exception as exc:
        raise TagError(f"cannot read Vorbis comments ({exc})", file=path) from exc
    result = ReadBack(version=(), fields=_read_fields("vorbis", audio.tags))
    chapters = result.fields.pop("chapters")
    if chapters:  # the last chapter runs to the end of the audio
        last = chapters[-1]
        length_ms = round(audio.info.length * 1000)
        end_ms = max(length_ms, last.start_ms)
        chapters[-1] = ChapterTag(last.start_ms, end_ms, last.title, last.url)
    result.chapters = chapters
    for key, _ in audio.tags:
        result.frame_counts[key.upper()] = result.frame_counts.get(key.upper(), 0) + 1
    return result


# --- the tag styles of the format table ---------------------------------------------------------

# A row of `formats.FORMATS` names its style; the writer of each, as (file, tags, tag version).
register_tag_writer("id3", lambda path, tags, version: write_tags(path, tags, version=version))
register_tag_writer("mp4", lambda path, tags, _version: write_mp4_tags(path, tags))
register_tag_writer("vorbis", lambda path, tags, _version: write_opus_tags(path, tags))
