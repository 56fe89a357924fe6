"""M4A and Opus: encoded by their rows of the format table, tagged from the one field table, then
read back three ways — our readers, mutagen directly, and ffprobe (an independent reader)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mutagen.flac import Picture as FlacPicture
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus

from podcast_tools import ffmpeg
from podcast_tools.errors import ToolError
from podcast_tools.formats import FORMATS, PRIMARY
from podcast_tools.tags import (
    EpisodeTags,
    TagError,
    contiguous_chapters,
    mp4_chapter_title,
    read_mp4_tags,
    read_opus_tags,
)
from tests.audio_tools import decode, synth
from tests.test_tags import png, sample_tags

REPO = Path(__file__).resolve().parents[1]
READERS = {"m4a": read_mp4_tags, "opus": read_opus_tags}
SECONDS = 5


def ffprobe_exe() -> str:
    """ffprobe from the tests' npm clients (npm ci --prefix tests/clients), else from PATH."""
    bundled = REPO / "tests/clients/node_modules/@ffprobe-installer/linux-x64/ffprobe"
    found = str(bundled) if bundled.is_file() else shutil.which("ffprobe")
    assert found, "no ffprobe: run `npm ci --prefix tests/clients` (or install ffmpeg)"
    return found


def ffprobe(path: Path) -> dict:
    result = subprocess.run(
        [ffprobe_exe(), "-v", "error", "-show_format", "-show_streams", "-show_chapters"]
        + ["-of", "json", str(path)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


TONE = "0.2*sin(2*PI*440*t)"
NOISE = "0.1*(2*random(CH)-1)"  # a VBR encoder spends on noise about what it is asked to


def encode(
    folder: Path, name: str, channels: int, *, seconds: float = SECONDS, signal: str = TONE
) -> Path:
    """A clip encoded as the mastering does: float PCM piped into the row's encoder arguments."""
    audio_format = FORMATS[name]
    expression = "|".join(signal.replace("CH", str(index)) for index in range(channels))
    wav = synth(folder / f"clip{channels}.wav", expression, seconds=seconds, rate=44100)
    output = folder / f"clip{channels}{audio_format.suffix}"
    kbps = audio_format.bitrates.default(channels)
    with ffmpeg.Encoder(
        output,
        sample_rate=44100,
        channels=channels,
        output_args=audio_format.encoder_args(kbps),
        label=audio_format.label,
    ) as encoder:
        encoder.write(decode(wav, channels=channels))
    return output


def tagged(folder: Path, name: str, channels: int = 2, tags: EpisodeTags | None = None) -> Path:
    path = encode(folder, name, channels)
    audio_format = FORMATS[name]
    tags = tags or sample_tags(SECONDS * 1000, chapters=True, cover=True)
    audio_format.write_tags(path, tags, audio_format.default_tag_version)
    return path


def test_mp3_stays_first_and_primary_and_new_rows_are_whole():
    assert next(iter(FORMATS)) == "mp3" and PRIMARY is FORMATS["mp3"]
    assert PRIMARY.encoder_args(128) == [
        *("-c:a", "libmp3lame", "-b:a", "128k"),
        *("-id3v2_version", "0", "-write_xing", "1", "-f", "mp3"),
    ]
    m4a, opus = FORMATS["m4a"], FORMATS["opus"]
    assert (m4a.suffix, m4a.mime, m4a.tag_name(m4a.default_tag_version)) == (
        ".m4a",
        "audio/x-m4a",
        "iTunes",
    )
    assert (opus.suffix, opus.mime, opus.tag_name(opus.default_tag_version)) == (
        ".opus",
        "audio/ogg",
        "Vorbis",
    )
    assert "-ar" in opus.encoder_args(64) and opus.encoder_args(64)[-2:] == ["-f", "opus"]
    assert m4a.encoder_args(96)[:4] == ["-c:a", "aac", "-profile:a", "aac_low"]
    assert PRIMARY.bitrates.problem(100) and PRIMARY.bitrates.problem(128) is None
    assert opus.bitrates.problem(8) and opus.bitrates.problem(40) is None
    assert m4a.bitrates.default(1) == 64 and opus.bitrates.default(2) == 64


@pytest.mark.parametrize("name", ["m4a", "opus"])
@pytest.mark.parametrize("channels", [1, 2])
def test_encoded_by_the_row(tmp_path: Path, name: str, channels: int):
    audio_format = FORMATS[name]
    output = encode(tmp_path, name, channels, signal=NOISE)
    info = ffprobe(output)
    [stream] = info["streams"]
    assert stream["codec_name"] == {"m4a": "aac", "opus": "opus"}[name]
    assert stream["channels"] == channels
    if name == "opus":
        assert stream["sample_rate"] == "48000"  # whatever the render's rate
    else:
        assert stream["profile"] == "LC" and info["format"]["tags"]["major_brand"] == "M4A "
    # the audio's own bitrate (packets only: a 5 s file is mostly headers otherwise)
    sizes = subprocess.run(
        [ffprobe_exe(), "-v", "error", "-select_streams", "a:0", "-show_entries", "packet=size"]
        + ["-of", "csv=p=0", str(output)],
        capture_output=True,
        check=True,
        text=True,
    ).stdout.split()
    sizes = [line.split(",")[0] for line in sizes]
    kbps = audio_format.bitrates.default(channels)
    # (VBR: Opus spends less than asked on plain noise)
    assert sum(map(int, sizes)) * 8 / SECONDS == pytest.approx(kbps * 1000, rel=0.3)


def atoms(data: bytes, start: int = 0, end: int | None = None, path: str = "") -> list[str]:
    """Every atom path in an MP4 (moov/trak/tref/chap …), descending into the containers."""
    containers = {"moov", "trak", "udta", "mdia", "minf", "stbl", "tref", "edts"}
    end = len(data) if end is None else end
    found = []
    while start + 8 <= end:
        size = int.from_bytes(data[start : start + 4], "big")
        kind = data[start + 4 : start + 8].decode("latin-1")
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[start + 8 : start + 16], "big"), 16
        elif size == 0:
            size = end - start
        if size < header:
            break
        here = f"{path}/{kind}"
        found.append(here)
        if kind in containers:
            found += atoms(data, start + header, start + size, here)
        start += size
    return found


@pytest.mark.parametrize("name", ["m4a", "opus"])
@pytest.mark.parametrize("channels", [1, 2])
def test_round_trip(tmp_path: Path, name: str, channels: int):
    tags = sample_tags(SECONDS * 1000, chapters=True, cover=True)
    path = tagged(tmp_path, name, channels, tags)

    # (a) our reader, through the field table
    back = READERS[name](path)
    expected = {
        "title": tags.title,
        "artist": tags.artist,
        "album": tags.album,
        "album_artist": tags.album_artist,
        "track": 42,
        "season": 3,
        "date": "2026-10-07T08:00:00Z",  # 09:00 at +01:00, in UTC
        "genre": "Podcast",
        "language": "eng",
        "copyright": tags.copyright,
        "summary": tags.summary,
        "link": tags.link,
        "feed_url": tags.feed_url,
        "guid": tags.guid,
    }
    second_summary = {"m4a": "summary:ldes", "opus": "summary:COMMENT"}[name]
    cover = back.fields.pop("cover")
    assert back.fields == {**expected, second_summary: tags.summary}
    assert cover.data == tags.cover.data and cover.mime == "image/png"
    assert [(c.start_ms, c.title) for c in back.chapters] == [
        (0, "Welcome"),
        (2500, "Main topic"),
        (4000, "Wrap-up"),
    ]
    assert [c.end_ms for c in back.chapters][:2] == [2500, 4000]
    # the end of the audio as mutagen reads it: AAC priming (1024 samples) can add 23 ms
    assert back.chapters[-1].end_ms == pytest.approx(SECONDS * 1000, abs=30)
    if name == "opus":
        assert back.chapters[1].url == "https://example.com/topic"  # CHAPTER002URL
    else:
        assert back.podcast_flag

    # (b) mutagen directly, by the containers' own names
    if name == "m4a":
        raw = MP4(path)
        assert raw.tags["©nam"] == [tags.title] and raw.tags["aART"] == [tags.album_artist]
        assert raw.tags["trkn"] == [(42, 0)] and raw.tags["disk"] == [(3, 0)]
        assert raw.tags["pcst"] is True and raw.tags["stik"] == [21]
        assert raw.tags["egid"] == [tags.guid] and raw.tags["purl"] == [tags.feed_url]
        assert bytes(raw.tags["covr"][0]) == tags.cover.data
        assert [c.title for c in raw.chapters] == ["Welcome", "Main topic", "Wrap-up"]
        assert raw.info.length == pytest.approx(SECONDS, abs=0.05)
    else:
        raw = OggOpus(path)
        assert raw["TITLE"] == [tags.title] and raw["ALBUMARTIST"] == [tags.album_artist]
        assert raw["TRACKNUMBER"] == ["42"] and raw["DISCNUMBER"] == ["3"]
        assert raw["CHAPTER001"] == ["00:00:00.000"] and raw["CHAPTER002"] == ["00:00:02.500"]
        assert raw["CHAPTER003NAME"] == ["Wrap-up"]
        [encoded] = raw["METADATA_BLOCK_PICTURE"]
        picture = FlacPicture(base64.b64decode(encoded))
        assert picture.data == tags.cover.data and picture.type == 3
        assert (picture.mime, picture.width, picture.height) == ("image/png", 1400, 1400)

    # (c) ffprobe
    info = ffprobe(path)
    if name == "m4a":
        shown = info["format"]["tags"]
    else:  # Ogg keeps the comments on the stream
        shown = {k.lower(): v for k, v in info["streams"][0]["tags"].items()}
    assert shown["title"] == tags.title and shown["artist"] == tags.artist
    # ffmpeg reads ALBUMARTIST and aART alike as album_artist, DISCNUMBER and disk as disc
    assert shown["album"] == tags.album and shown["album_artist"] == tags.album_artist
    assert shown["track"] == "42" and shown["disc"] == "3"
    starts = [float(c["start_time"]) for c in info["chapters"]]
    assert starts == pytest.approx([0.0, 2.5, 4.0], abs=0.001)
    assert [c["tags"]["title"] for c in info["chapters"]] == ["Welcome", "Main topic", "Wrap-up"]
    assert any(s.get("disposition", {}).get("attached_pic") for s in info["streams"])

    if name == "m4a":
        # both kinds of chapters: the Nero chpl atom and a QuickTime chapter track (tref/chap)
        found = atoms(path.read_bytes())
        assert "/moov/udta/chpl" in found
        assert "/moov/trak/tref/chap" in found
        assert any(s.get("codec_tag_string") == "text" for s in info["streams"])
        assert found.index("/moov") < found.index("/mdat")  # +faststart kept by mutagen
    # the whole file still decodes (mutagen moved the audio: its offsets were updated)
    samples = decode(path, rate=48000, channels=channels)
    assert samples.shape[0] == pytest.approx(SECONDS * 48000, abs=48000 * 0.05)
    assert abs(samples[48000:96000]).max() == pytest.approx(0.2, abs=0.03)


@pytest.mark.parametrize("name", ["m4a", "opus"])
def test_retagging_gives_the_same_bytes_as_tagging_once(tmp_path: Path, name: str):
    path = tagged(tmp_path, name)
    once = path.read_bytes()
    audio_format = FORMATS[name]
    again = sample_tags(SECONDS * 1000, chapters=True, cover=True)
    audio_format.write_tags(path, again, audio_format.default_tag_version)
    assert path.read_bytes() == once
    counts = READERS[name](path).frame_counts
    assert counts and set(counts.values()) == {1}
    assert len(ffprobe(path)["chapters"]) == 3
    # and tagging without chapters drops them all (the whole tag is replaced)
    bare = replace(sample_tags(SECONDS * 1000, chapters=False, cover=False), copyright=None)
    audio_format.write_tags(path, bare, audio_format.default_tag_version)
    back = READERS[name](path)
    assert back.chapters == [] and back.fields["cover"] is None
    assert back.fields["copyright"] is None and back.fields["title"] == bare.title
    assert ffprobe(path)["chapters"] == []
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


HOSTILE = (
    "Ünïcödé — 日本語のタイトル 🎙️ שלום عربى e\u0301 \t tab, line\nbreak, = ; # \\ " + "long " * 60
)[:300]


@pytest.mark.parametrize("name", ["m4a", "opus"])
def test_a_hostile_title_survives(tmp_path: Path, name: str):
    assert len(HOSTILE) == 300
    marks = [(0.0, HOSTILE, None, None), (2.0, "a = b; #c \\d", None, None)]
    tags = replace(
        sample_tags(SECONDS * 1000, chapters=False, cover=False),
        title=HOSTILE,
        chapters=contiguous_chapters(marks, SECONDS * 1000),
    )
    path = tagged(tmp_path, name, 2, tags)
    back = READERS[name](path)
    assert back.fields["title"] == HOSTILE
    # the chpl atom holds at most 255 bytes of a title: cut on a character boundary
    first = mp4_chapter_title(HOSTILE) if name == "m4a" else HOSTILE
    assert [c.title for c in back.chapters] == [first, "a = b; #c \\d"]
    info = ffprobe(path)
    assert [c["tags"]["title"] for c in info["chapters"]] == [first, "a = b; #c \\d"]
    if name == "m4a":
        assert len(first.encode()) <= 255 and HOSTILE.startswith(first)
        assert info["format"]["tags"]["title"] == HOSTILE


def test_a_file_that_is_not_an_m4a_is_named_and_left_alone(tmp_path: Path):
    path = encode(tmp_path, "opus", 1)
    before = path.read_bytes()
    tags = sample_tags(SECONDS * 1000, chapters=True, cover=False)
    with pytest.raises(TagError) as caught:
        FORMATS["m4a"].write_tags(path, tags, 1)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    m4a = encode(tmp_path, "m4a", 1)
    with pytest.raises(TagError, match=m4a.name):
        FORMATS["opus"].write_tags(m4a, tags, 1)


@pytest.fixture
def fake_ffmpeg(tmp_path: Path, monkeypatch):
    """An "ffmpeg" that lists every encoder but libopus."""
    listed = ffmpeg.run(["-encoders"]).stdout.decode()
    script = tmp_path / "ffmpeg"
    kept = "\n".join(line for line in listed.splitlines() if " libopus " not in line)
    (tmp_path / "encoders.txt").write_text(kept + "\n")
    script.write_text(f"#!/bin/sh\ncat '{tmp_path / 'encoders.txt'}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PODCAST_FFMPEG", str(script))
    ffmpeg.ffmpeg_exe.cache_clear()
    yield script
    monkeypatch.delenv("PODCAST_FFMPEG")
    ffmpeg.ffmpeg_exe.cache_clear()


def test_a_missing_encoder_is_one_line_naming_the_format_and_the_binary(fake_ffmpeg: Path):
    FORMATS["m4a"].require_encoder()
    PRIMARY.require_encoder()
    with pytest.raises(ToolError) as caught:
        FORMATS["opus"].require_encoder()
    message = str(caught.value)
    assert "Opus" in message and "libopus" in message and str(fake_ffmpeg) in message
    assert "\n" not in message


def test_both_ffmpegs_have_the_encoders():
    """The ffmpeg the tests use has every row's encoder (imageio-ffmpeg's build does)."""
    for audio_format in FORMATS.values():
        audio_format.require_encoder()
    assert os.access(ffmpeg.ffmpeg_exe(), os.X_OK)


# Titles as the content rules admit them: no XML control characters (those are refused when the
# content is loaded); tabs and line feeds pass. Carriage returns become line feeds in an M4A's
# chapter titles (ffmpeg's metadata file has no way to carry one), so they are left out here.
TEXT = st.text(
    st.characters(
        blacklist_categories=("Cs", "Cc"),
        whitelist_characters="\t\n",
    ),
    min_size=1,
    max_size=120,
).filter(lambda text: text.strip())


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {name: encode(folder, name, 1) for name in READERS}


@pytest.mark.parametrize("name", ["m4a", "opus"])
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=TEXT, chapter_titles=st.lists(TEXT, min_size=1, max_size=3))
# a title ending in a backslash swallowed the next chapter of an M4A (ffmpeg's ffmetadata reader)
@example(title="0", chapter_titles=["Q&A \\", "Wrap-up \\", "; # = \\\n"])
def test_any_admitted_title_round_trips(clips, tmp_path_factory, name, title, chapter_titles):
    path = tmp_path_factory.mktemp("fuzz") / f"e{FORMATS[name].suffix}"
    shutil.copy(clips[name], path)
    marks = [(index * 1.0, text, None, None) for index, text in enumerate(chapter_titles)]
    tags = replace(
        sample_tags(SECONDS * 1000, chapters=False, cover=False),
        title=title,
        chapters=contiguous_chapters(marks, SECONDS * 1000),
    )
    FORMATS[name].write_tags(path, tags, 1)
    back = READERS[name](path)
    assert back.fields["title"] == title
    expected = [mp4_chapter_title(t) if name == "m4a" else t for t in chapter_titles]
    assert [c.title for c in back.chapters] == expected
    assert [c.start_ms for c in back.chapters] == [index * 1000 for index in range(len(marks))]
