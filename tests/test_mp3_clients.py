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
from tests.test_tags import PAGE, png, sample_tags

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


def raw_frames(path: Path) -> list[tuple[bytes, bytes]]:
    """(frame id, data) of every frame of the ID3v2.3/2.4 tag as stored, sub-frames of CHAP
    frames too (read here byte by byte, not by a tag library)."""
    data = path.read_bytes()
    assert data[:3] == b"ID3"
    major = data[3]

    def size_of(raw: bytes, syncsafe: bool) -> int:
        value = 0
        for byte in raw:
            value = (value << 7) | (byte & 0x7F) if syncsafe else (value << 8) | byte
        return value

    def frames(body: bytes) -> list[tuple[bytes, bytes]]:
        found, position = [], 0
        while position + 10 <= len(body) and body[position : position + 4].strip(b"\0"):
            frame_id = body[position : position + 4]
            size = size_of(body[position + 4 : position + 8], major == 4)
            content = body[position + 10 : position + 10 + size]
            found.append((frame_id, content))
            if frame_id == b"CHAP":  # element id, 16 bytes of times and offsets, sub-frames
                found += frames(content[content.index(b"\0") + 17 :])
            position += 10 + size
        return found

    return frames(data[10 : 10 + size_of(data[6:10], True)])


@pytest.mark.parametrize("version", [3, 4])
def test_url_frames_hold_the_url_and_nothing_after_it(tagged, version: int, caplog):
    """WOAR and WXXX end with the URL's last character (ID3v2: a URL frame is the URL; mutagen
    adds a NUL that eyeD3 then returns as part of the URL, and Apple's AVPlayer fails on)."""
    mp3 = tagged(version, MARKS[:4])  # one chapter with a url: a WXXX sub-frame
    urls = [(i, d) for i, d in raw_frames(mp3) if i in (b"WOAR", b"WXXX")]
    assert sorted({frame_id for frame_id, _ in urls}) == [b"WOAR", b"WXXX"]
    assert len(urls) == 4  # WOAR, WXXX Episode, WXXX Podcast feed, the chapter's WXXX
    for frame_id, data in urls:
        assert not data.endswith(b"\0"), (frame_id, data)
        assert data.endswith((b".html", b".example/", b"/feed.xml", b"/more")), (frame_id, data)

    caplog.set_level(logging.DEBUG, logger="eyed3")
    tag = eyed3.load(mp3).tag
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert tag.frame_set[b"WOAR"][0].url == "https://itsmweekly.example/"  # the show's website
    episode = {frame.description: frame.url for frame in tag.user_url_frames}
    assert episode == {"Episode": PAGE, "Podcast feed": FEED}
    [chapter] = [c for c in tag.chapters if c.user_url]
    assert chapter.user_url == "https://example.com/more"

    frames = ID3(mp3)
    assert frames.getall("WOAR")[0].url == "https://itsmweekly.example/"
    assert frames["WXXX:Episode"].url == PAGE
    assert frames["WXXX:Podcast feed"].url == FEED


@pytest.mark.parametrize("version", [3, 4])
def test_the_feed_url_is_where_each_reader_looks_for_it(tagged, version: int):
    """iTunes writes WFED as a text frame (an encoding byte, then the URL), and eyeD3 (and
    TagLib) read it so; mutagen declares WFED a URL frame and reads that frame as "" — no one
    frame is both, so the URL is also in a WXXX frame, which every reader reads alike."""
    mp3 = tagged(version, MARKS[:2])
    [wfed] = [data for frame_id, data in raw_frames(mp3) if frame_id == b"WFED"]
    # as iTunes writes it: the encoding byte (Latin-1), then the URL (a text frame's string may
    # end with a NUL terminator, ID3v2.3 §4.2: readers of text frames stop there)
    assert wfed[:1] == b"\x00" and wfed[1:].rstrip(b"\x00") == FEED.encode()
    assert eyed3.load(mp3).tag.frame_set[b"WFED"][0].text == FEED
    assert ID3(mp3)["WXXX:Podcast feed"].url == FEED
    assert read_tags(mp3).fields["feed_url"] == FEED


def test_each_episodes_tags_link_to_the_page_the_website_publishes_for_it(sample: Path):
    """WXXX "Episode" is the episode's own page (its canonical URL on the website), not the
    show's website, for every episode of the sample network (cross-posts: the home show's)."""
    import re
    from datetime import datetime, timezone

    from podcast_tools.media_checks import load_checked_network
    from podcast_tools.pipeline.previews import artwork_keys
    from podcast_tools.pipeline.settings import episode_tags
    from podcast_tools.site import build_site
    from tests.golden.regenerate import golden_records

    network = load_checked_network(sample)
    drafts = {e.guid for e in network.drafts}
    records = {g: r for g, r in golden_records(network).items() if g not in drafts}
    later = datetime(2100, 1, 1, tzinfo=timezone.utc)  # every scheduled episode is out by then
    pages = {p.key: p.data for p in build_site(network, records, artwork_keys(network), now=later)}
    canonical = {
        match.group(1).decode(): key
        for key, data in pages.items()
        if (match := re.search(rb'<link rel="canonical" href="([^"]+)"', data))
    }
    checked = 0
    for episode in network.episodes:
        if episode.draft:
            continue
        tags = episode_tags(network, episode, 60.0, (0.0,) * len(episode.chapters), summary="")
        assert canonical.get(tags.page_url) == f"{episode.show}/{episode.slug}.html", (
            episode.slug,
            tags.page_url,
        )
        assert tags.link == network.shows[episode.show].link  # WOAR: the show's website
        checked += 1
    assert checked == len(records) >= 7


@pytest.mark.parametrize("version", [3, 4])
def test_non_ascii_urls_are_written_as_ascii_uris_every_reader_reads(tmp_path: Path, version: int):
    """A base_url like https://медиа.example/ and a slug like café: ID3 URL frames hold Latin-1
    only (writing failed: "'latin-1' codec can't encode…", and eyeD3 reads such a frame as ''),
    so each URL is written as its plain-ASCII URI — the host IDNA-encoded, the rest
    percent-encoded as UTF-8 — which mutagen, eyeD3 and ffmpeg read alike."""
    from podcast_tools.tags import contiguous_chapters

    mp3 = synth(
        tmp_path / "e.mp3",
        "0.2*sin(2*PI*440*t)",
        seconds=10,
        rate=44100,
        codec=("-c:a", "libmp3lame", "-b:a", "64k"),
    )
    base = "https://медиа.example/"
    marks = [(0.0, "Intro", None, None), (4.0, "Más", "https://медиа.example/notes/más#t=4", None)]
    tags = sample_tags(10000, chapters=False, cover=False)
    tags = type(tags)(
        **{
            **tags.__dict__,
            "link": base,
            "page_url": base + "itsmwp/café/",
            "feed_url": base + "itsmwp/feed.xml",
            "chapters": contiguous_chapters(marks, 10000),
        }
    )
    write_tags(mp3, tags, version=version)
    host = "https://xn--80ahcnr.example/"
    link, page, feed = host, host + "itsmwp/caf%C3%A9/", host + "itsmwp/feed.xml"
    chapter_url = host + "notes/m%C3%A1s#t=4"

    frames = ID3(mp3)
    assert frames.getall("WOAR")[0].url == link
    assert frames["WXXX:Episode"].url == page and frames["WXXX:Podcast feed"].url == feed
    back = read_tags(mp3)
    assert (back.fields["link"], back.fields["page_url"], back.fields["feed_url"]) == (
        link,
        page,
        feed,
    )
    assert [c.url for c in back.chapters] == [None, chapter_url]

    tag = eyed3.load(mp3).tag
    assert tag.frame_set[b"WOAR"][0].url == link
    assert {f.description: f.url for f in tag.user_url_frames} == {
        "Episode": page,
        "Podcast feed": feed,
    }
    assert tag.frame_set[b"WFED"][0].text == feed
    assert [c.user_url for c in tag.chapters] == [None, chapter_url]
    urls = [data for frame_id, data in raw_frames(mp3) if frame_id in (b"WOAR", b"WXXX", b"WFED")]
    ends = sorted(
        next(
            u
            for u in (link, page, feed, chapter_url)
            if d.rstrip(b"\0").endswith(u.encode("ascii"))
        )
        for d in urls
    )  # each frame's URL is the ASCII URI, as bytes
    assert ends == sorted([link, page, feed, feed, chapter_url])
