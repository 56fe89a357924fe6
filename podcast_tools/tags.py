"""ID3 tags for published MP3s, from one declared table of fields, plus chapters (CHAP + CTOC).

Every field is declared once in :data:`FIELDS` with the frame it maps to; the same table writes
tags and reads them back (tests use it to check a round trip). ID3v2.3 by default (the widest
player support), v2.4 on request. Writing replaces the whole tag, so re-tagging never duplicates
frames. Errors from mutagen become :class:`TagError` naming the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import langcodes
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

from podcast_tools.errors import PodcastToolsError


class TagError(PodcastToolsError):
    """An MP3 could not be tagged or read."""

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
    """Everything the tag of one episode's MP3 says."""

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
    link: str | None = None
    cover: Picture | None = None
    chapters: tuple[ChapterTag, ...] = ()


@dataclass(frozen=True)
class Field:
    """One logical field and how it maps to ID3 frames, both ways."""

    name: str
    frame_id: str
    write: Callable[[Any], list]
    read: Callable[[ID3], Any]


def _text(frame_class) -> Callable[[Any], list]:
    return lambda value: [frame_class(encoding=3, text=[str(value)])]


def _read_text(frame_id: str, convert: Callable[[str], Any] = str) -> Callable[[ID3], Any]:
    def read(tags: ID3) -> Any:
        frame = tags.get(frame_id)
        return convert(str(frame.text[0])) if frame is not None and frame.text else None

    return read


# WFED (podcast feed URL) as iTunes writes it: a text frame — an encoding byte, then the URL — not
# the URL frame mutagen defines. Readers that follow iTunes (eyeD3, Apple's apps) expect the
# encoding byte. mutagen names a frame on disk after its class, hence the class name.
_ITUNES_WFED = type("WFED", (TextFrame,), {"__module__": __name__})


def _feed_url(url: str) -> list:
    return [_ITUNES_WFED(encoding=0 if url.isascii() else 1, text=[url])]


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
    return [WOAR(url=url), WXXX(encoding=3, desc="Episode", url=url)]


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


#: The one declaration of what goes where. Fields whose value is None are left out.
FIELDS: tuple[Field, ...] = (
    Field("title", "TIT2", _text(TIT2), _read_text("TIT2")),
    Field("artist", "TPE1", _text(TPE1), _read_text("TPE1")),
    Field("album", "TALB", _text(TALB), _read_text("TALB")),
    Field("album_artist", "TPE2", _text(TPE2), _read_text("TPE2")),
    Field("track", "TRCK", _text(TRCK), _read_text("TRCK", int)),
    Field("season", "TPOS", _text(TPOS), _read_text("TPOS", int)),
    Field("date", "TDRC", _date, _read_date),
    Field("genre", "TCON", _text(TCON), _read_text("TCON")),
    Field(
        "language", "TLAN", lambda v: [TLAN(encoding=3, text=[_iso639_2(v)])], _read_text("TLAN")
    ),
    Field("copyright", "TCOP", _text(TCOP), _read_text("TCOP")),
    Field("summary", "COMM", _comment, _read_comment),
    Field("summary", "TDES", _text(TDES), _read_text("TDES")),
    Field("link", "WOAR", _link, _read_url("WOAR")),
    Field("feed_url", "WFED", _feed_url, _read_feed_url),
    Field("guid", "TGID", _text(TGID), _read_text("TGID")),
    Field("length_ms", "TLEN", _text(TLEN), _read_text("TLEN", int)),
    Field("cover", "APIC", _cover, _read_cover),
)


def build_frames(tags: EpisodeTags) -> list:
    """All frames for `tags`: the declared fields, the podcast flag and the chapters."""
    frames: list = [PCST(value=1)]
    for spec in FIELDS:
        value = getattr(tags, spec.name)
        if value is not None and value != "":
            frames.extend(spec.write(value))
    frames.extend(_chapter_frames(tags.chapters))
    return frames


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
            sub_frames.append(WXXX(encoding=3, desc="chapter url", url=chapter.url))
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

    version: tuple[int, int, int]
    fields: dict[str, Any] = field(default_factory=dict)
    chapters: list[ChapterTag] = field(default_factory=list)
    toc_order: list[str] = field(default_factory=list)
    podcast_flag: bool = False
    frame_counts: dict[str, int] = field(default_factory=dict)


def read_tags(path: Path) -> ReadBack:
    """Read the ID3 tag of `path` through the same field table."""
    try:
        tag = ID3(path)
    except ID3NoHeaderError as exc:
        raise TagError("has no ID3 tag", file=path) from exc
    except Exception as exc:
        raise TagError(f"cannot read ID3 tags ({exc})", file=path) from exc
    result = ReadBack(version=tag.version)
    for spec in FIELDS:
        key = spec.name if spec.name not in result.fields else f"{spec.name}:{spec.frame_id}"
        result.fields[key] = spec.read(tag)
    result.podcast_flag = "PCST" in tag
    tocs = tag.getall("CTOC")
    if tocs:
        result.toc_order = list(tocs[0].child_element_ids)
    chapters = {frame.element_id: frame for frame in tag.getall("CHAP")}
    for element_id in result.toc_order or sorted(chapters):
        frame = chapters[element_id]
        title = frame.sub_frames.get("TIT2")
        urls = frame.sub_frames.getall("WXXX")
        pictures = frame.sub_frames.getall("APIC")
        result.chapters.append(
            ChapterTag(
                frame.start_time,
                frame.end_time,
                str(title.text[0]) if title else "",
                urls[0].url if urls else None,
                Picture(pictures[0].data, pictures[0].mime) if pictures else None,
            )
        )
    for key in tag.keys():
        frame_id = key.split(":")[0]
        result.frame_counts[frame_id] = result.frame_counts.get(frame_id, 0) + 1
    return result
