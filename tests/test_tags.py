"""ID3 tags: one field table, written and read back by mutagen and by ffmpeg (an independent reader)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from podcast_tools import ffmpeg
from podcast_tools.tags import (
    CONTAINERS,
    FIELDS,
    EpisodeTags,
    Picture,
    contiguous_chapters,
    read_tags,
    write_tags,
)
from tests.audio_tools import synth

#: The episode's page on the website (WXXX "Episode"); `link` is the show's website (WOAR).
PAGE = "https://media.example.com/itsmwp/042-incident-vs-problem.html"


def png(size: int = 1400, colour=(200, 30, 30)) -> Picture:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, "PNG")
    return Picture(buffer.getvalue(), "image/png")


def sample_tags(length_ms: int, *, chapters: bool, cover: bool) -> EpisodeTags:
    marks = [
        (0.0, "Welcome", None, None),
        (2.5, "Main topic", "https://example.com/topic", png(64, (0, 0, 200)) if cover else None),
        (4.0, "Wrap-up", None, None),
    ]
    return EpisodeTags(
        title="Incident vs. Problem",
        artist="Alex Host",
        album="IT Service Management Weekly",
        album_artist="ITSM Weekly Network",
        date=datetime(2026, 10, 7, 9, 0, tzinfo=timezone(timedelta(hours=1))),
        language="en-au",
        guid="ac4558b4-65d3-4301-a7a3-5754683e9fdf",
        feed_url="https://media.example.com/itsmwp/feed.xml",
        length_ms=length_ms,
        track=42,
        season=3,
        copyright="© 2026 ITSM Weekly",
        summary="What separates an incident from a problem.",
        link="https://itsmweekly.example/",
        page_url=PAGE,
        cover=png() if cover else None,
        chapters=contiguous_chapters(marks, length_ms) if chapters else (),
    )


def ffmpeg_metadata(path: Path) -> str:
    """ffmpeg's own reading of the tags and chapters (ffmetadata format)."""
    result = ffmpeg.run(["-i", ffmpeg.input_url(path), "-f", "ffmetadata", "-"], about=path)
    return result.stdout.decode("utf-8")


def ffmpeg_has_cover(path: Path) -> bool:
    result = ffmpeg.run(["-i", ffmpeg.input_url(path)], about=path, check=False)
    return b"attached pic" in result.stderr


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize(("chapters", "cover"), [(True, True), (False, False), (True, False)])
def test_round_trip(tmp_path: Path, version: int, channels: int, chapters: bool, cover: bool):
    expression = "|".join(["0.2*sin(2*PI*440*t)"] * channels)
    mp3 = synth(
        tmp_path / "episode.mp3",
        expression,
        seconds=5,
        rate=44100,
        codec=("-c:a", "libmp3lame", "-b:a", "64k"),
    )
    tags = sample_tags(5000, chapters=chapters, cover=cover)
    write_tags(mp3, tags, version=version)
    back = read_tags(mp3)

    assert back.version[:2] == (2, version)
    assert back.podcast_flag
    assert back.fields["title"] == tags.title and back.fields["artist"] == tags.artist
    assert back.fields["album"] == tags.album and back.fields["album_artist"] == tags.album_artist
    assert back.fields["track"] == 42 and back.fields["season"] == 3
    # v2.4: the full date (TDRC); v2.3: the year (TYER), as iTunes writes it
    assert back.fields["date"] == ("2026-10-07 09:00:00" if version == 4 else "2026")
    assert back.fields["language"] == "eng"
    assert back.fields["summary"] == tags.summary and back.fields["summary:TDES"] == tags.summary
    assert back.fields["guid"] == tags.guid and back.fields["feed_url"] == tags.feed_url
    assert back.fields["link"] == tags.link and back.fields["length_ms"] == 5000
    assert back.fields["page_url"] == PAGE
    assert back.fields["genre"] == "Podcast"
    assert (back.fields["cover"] is not None) == cover
    if cover:
        assert back.fields["cover"].data == tags.cover.data

    text = ffmpeg_metadata(mp3)  # an independent reader
    assert "title=Incident vs. Problem" in text and "album=IT Service Management Weekly" in text
    assert "track=42" in text
    assert ffmpeg_has_cover(mp3) == cover
    if chapters:
        assert [(c.start_ms, c.end_ms, c.title) for c in back.chapters] == [
            (0, 2500, "Welcome"),
            (2500, 4000, "Main topic"),
            (4000, 5000, "Wrap-up"),
        ]
        assert back.toc_order == ["chp0", "chp1", "chp2"]
        assert back.chapters[1].url == "https://example.com/topic"
        assert (back.chapters[1].image is not None) == cover
        seen = sorted(
            (int(block.split("START=")[1].split()[0]), block.split("title=")[1].strip())
            for block in text.split("[CHAPTER]")[1:]
        )
        expected = [(0, "Welcome"), (2500, "Main topic"), (4000, "Wrap-up")]
        if version == 4 and cover:
            # ffmpeg's reader skips a v2.4 CHAP that carries an APIC sub-frame (mutagen, above,
            # reads it); v2.3, the default, has no such gap
            expected = [(0, "Welcome"), (4000, "Wrap-up")]
        assert [title for _, title in seen] == [title for _, title in expected]
        # ffmpeg shifts chapter times by the MP3 decoder delay (1105 samples, 25 ms)
        assert [start for start, _ in seen] == pytest.approx(
            [start for start, _ in expected], abs=30
        )
    else:
        assert back.chapters == [] and "[CHAPTER]" not in text


def test_retagging_replaces_never_duplicates(tmp_path: Path):
    mp3 = synth(
        tmp_path / "e.mp3",
        "0.2*sin(2*PI*440*t)",
        seconds=3,
        rate=44100,
        codec=("-c:a", "libmp3lame"),
    )
    write_tags(mp3, sample_tags(3000, chapters=True, cover=True))
    write_tags(mp3, sample_tags(3000, chapters=True, cover=True))
    counts = read_tags(mp3).frame_counts
    assert (
        counts["APIC"] == 1 and counts["TIT2"] == 1 and counts["CHAP"] == 3 and counts["CTOC"] == 1
    )
    assert counts["COMM"] == 1


@pytest.mark.parametrize("container", CONTAINERS)
def test_every_field_is_declared_once_per_frame(container: str):
    keys = [style.key for spec in FIELDS for style in getattr(spec, container)]
    assert len(keys) == len(set(keys))
    names = [spec.name for spec in FIELDS]
    # one row per logical field, and every field of the tags has its row
    assert len(names) == len(set(names)) and set(names) == set(EpisodeTags.__dataclass_fields__)
