"""Our MP3 tags as other readers see them: ffmpeg's demuxer (what ffprobe and every ffmpeg-based
player use), eyeD3 and mutagen."""

from __future__ import annotations

import logging
from pathlib import Path

import eyed3
import pytest
from mutagen.id3 import ID3

from podcast_tools import ffmpeg
from podcast_tools.tags import read_tags, write_tags
from tests.audio_tools import synth
from tests.test_tags import png, sample_tags

FEED = "https://media.example.com/itsmwp/feed.xml"


def ffmpeg_chapters(path: Path) -> list[tuple[int, str]]:
    """(start ms, title) of each chapter in the order ffmpeg's demuxer lists them."""
    text = ffmpeg.run(
        ["-i", ffmpeg.input_url(path), "-f", "ffmetadata", "-"], about=path
    ).stdout.decode()
    chapters = []
    for block in text.split("[CHAPTER]")[1:]:
        fields = dict(line.split("=", 1) for line in block.strip().splitlines() if "=" in line)
        chapters.append((int(fields["START"]), fields.get("title", "")))
    return chapters


@pytest.fixture
def tagged(tmp_path: Path):
    def make(version: int, marks: list[tuple[float, str, str | None, object]]) -> Path:
        from podcast_tools.tags import contiguous_chapters

        mp3 = synth(
            tmp_path / f"e{version}.mp3",
            "0.2*sin(2*PI*440*t)",
            seconds=30,
            rate=44100,
            codec=("-c:a", "libmp3lame", "-b:a", "64k"),
        )
        tags = sample_tags(30000, chapters=False, cover=True)
        tags = type(tags)(**{**tags.__dict__, "chapters": contiguous_chapters(marks, 30000)})
        write_tags(mp3, tags, version=version)
        return mp3

    return make


# Titles of very different lengths: mutagen orders frames by their size unless told otherwise.
MARKS = [
    (0.0, "Introduction", None, None),
    (8.45, "A long chapter title that makes this frame much larger than the others", None, None),
    (12.0, "Q", None, None),
    (18.51, "Wrap-up", "https://example.com/more", None),
    *[(20.0 + i, f"Part {i}", None, None) for i in range(9)],  # chp10 and on sort before chp2
]


@pytest.mark.parametrize("version", [3, 4])
def test_chapter_frames_are_in_time_order_in_the_file(tagged, version: int):
    mp3 = tagged(version, MARKS)
    listed = ffmpeg_chapters(mp3)
    starts = [start for start, _ in listed]
    assert starts == sorted(starts), listed
    assert [title for _, title in listed] == [title for _, title, _, _ in MARKS]
    frames = [frame for frame in ID3(mp3).values() if frame.FrameID == "CHAP"]
    assert len(frames) == len(MARKS)
    # and mutagen still reads every chapter in the table of contents' order
    back = read_tags(mp3)
    assert [c.title for c in back.chapters] == [title for _, title, _, _ in MARKS]


def test_chapter_images_keep_their_order_too(tagged):
    marks = [(0.0, "A", None, png(64)), (5.0, "B", None, None), (9.0, "C", None, png(32))]
    listed = ffmpeg_chapters(tagged(3, marks))
    assert [title for _, title in listed] == ["A", "B", "C"]


@pytest.mark.parametrize("version", [3, 4])
def test_eyed3_reads_every_tag_without_warnings(tagged, version: int, caplog):
    mp3 = tagged(version, MARKS[:4])
    caplog.set_level(logging.DEBUG, logger="eyed3")
    audio = eyed3.load(mp3)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []
    tag = audio.tag
    assert tag.title == "Incident vs. Problem"
    assert tag.album == "IT Service Management Weekly"
    assert tag.track_num[0] == 42
    frame = tag.frame_set[b"WFED"][0]
    # iTunes writes WFED as a text frame: an encoding byte, then the URL
    assert frame.data[:1] in (b"\x00", b"\x03")
    assert frame.data[1:].rstrip(b"\x00").decode() == FEED
    chapters = list(tag.chapters)
    assert [c.title for c in chapters] == [title for _, title, _, _ in MARKS[:4]]
    assert [c.times[0] for c in chapters] == [0, 8450, 12000, 18510]
    toc = list(tag.table_of_contents)
    assert toc[0].toplevel and toc[0].ordered


def test_mutagen_reads_the_feed_url_back(tagged):
    assert read_tags(tagged(3, MARKS[:2])).fields["feed_url"] == FEED
