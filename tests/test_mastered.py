"""`mastered: true`: a finished MP3 published as it is — its MPEG audio frames byte for byte
(a Xing/Info header frame included), its old tags gone, ours written — and `moved_to`, a show
moving away. Real ffmpeg makes the masters, a real folder store takes the publish, and ffprobe,
mutagen, eyeD3, feedparser and podcastparser read what comes out."""

from __future__ import annotations

import json
import logging
import textwrap
from pathlib import Path

import eyed3
import pytest
from mutagen.id3 import APIC, CHAP, CTOC, ID3, TIT2, CTOCFlags

from podcast_tools.audio.master import EditDecisions, MasteringSettings
from podcast_tools.audio.mastered import PUBLISHED_AS, audio_digest, audio_span, publish_mastered
from podcast_tools.audio.probe import probe_duration
from podcast_tools.errors import AudioInputError
from podcast_tools.content import feed_url, podcast_guid_for
from podcast_tools.content.loader import publisher_feed_url
from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish.run import Publisher
from podcast_tools.publish.storage import open_storage
from podcast_tools.tags import read_tags
from tests.audio_tools import synth
from tests.conftest import edit, find_problem, podcast, problems_of
from tests.test_json_schemas import schema_problems
from tests.test_mp3_clients import ffmpeg_chapters

BASE_URL = "https://podcasts.test/"
MOVED = "https://new-host.test/shows/old-times/feed.xml"


# -- the masters ------------------------------------------------------------------------------


def finished_mp3(path: Path, seconds: float = 6.0, *, xing: bool = True) -> Path:
    """An MP3 as another host serves it: LAME-encoded noise and a tone (with or without the
    Xing/Info header frame), an ID3v2 tag of its own with two chapters (CTOC/CHAP), a title
    and a picture, and an ID3v1 tag at its end."""
    synth(
        path,
        "0.05*(random(0)-0.5)+0.2*sin(2*PI*330*t)|0.2*sin(2*PI*440*t)",
        seconds=seconds,
        rate=44100,
        codec=("-c:a", "libmp3lame", "-b:a", "96k", "-write_xing", "1" if xing else "0"),
    )
    tag = ID3()
    tag.add(TIT2(encoding=3, text="Old host's title"))
    tag.add(APIC(encoding=3, mime="image/png", type=3, desc="", data=b"\x89PNG not really"))
    tag.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=["old0", "old1"],
            sub_frames=[],
        )
    )
    tag.add(
        CHAP(
            element_id="old0",
            start_time=0,
            end_time=2500,
            sub_frames=[TIT2(encoding=3, text="Old chapter one")],
        )
    )
    tag.add(
        CHAP(
            element_id="old1",
            start_time=2500,
            end_time=int(seconds * 1000),
            sub_frames=[TIT2(encoding=3, text="Old chapter two")],
        )
    )
    tag.save(path, v1=2, v2_version=3)  # v1=2: an ID3v1 tag at the end as well
    return path


def frames_of(path: Path) -> bytes:
    """The MPEG audio frames of an MP3: ID3v2 stripped at the start, ID3v1/APE at the end."""
    span = audio_span(path)
    return path.read_bytes()[span.start : span.end]


def test_the_audio_span_is_the_frames_between_the_tags(tmp_path: Path):
    """Found independently of the span finder: the ID3v2 tag's size from its header, the
    ID3v1 tag's 128 bytes at the end; a Xing/Info header frame is the first frame."""
    mp3 = finished_mp3(tmp_path / "m.mp3", 3)
    data = mp3.read_bytes()
    size = 10 + sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10]))
    assert data[-128:-125] == b"TAG"
    span = audio_span(mp3)
    assert (span.start, span.end) == (size, len(data) - 128)
    assert data[span.start] == 0xFF and b"Info" in data[span.start : span.start + 64]
    assert span.sample_rate == 44100 and span.channels == 2 and span.version == "MPEG-1"
    # one more tag at the end (APEv2, as some taggers add): still the same frames
    ape = b"APETAGEX" + (2000).to_bytes(4, "little") + (32).to_bytes(4, "little")
    ape += (0).to_bytes(4, "little") + bytes([0, 0, 0, 0x80]) + bytes(8)
    with_ape = tmp_path / "ape.mp3"
    with_ape.write_bytes(data[:-128] + ape + ape + data[-128:])  # header + footer, no items
    assert frames_of(with_ape) == frames_of(mp3)


@pytest.mark.parametrize("size", [0, 31])
def test_an_ape_tag_whose_size_points_nowhere_is_one_line_not_a_hang(tmp_path: Path, size: int):
    """A hostile host's file: an APEv2 footer whose size is smaller than the footer itself (0
    once made the tag walk loop for ever)."""
    data = finished_mp3(tmp_path / "m.mp3", 2).read_bytes()[:-128]
    ape = b"APETAGEX" + (2000).to_bytes(4, "little") + size.to_bytes(4, "little")
    ape += (0).to_bytes(4, "little") + bytes(4) + bytes(8)
    hostile = tmp_path / "hostile.mp3"
    hostile.write_bytes(data + ape)
    with pytest.raises(AudioInputError, match="damaged tag.*APE tag's size"):
        audio_span(hostile)


def test_a_chapter_past_the_end_is_refused_even_unvalidated(tmp_path: Path):
    """Validation checks chapter times against the master — but not of a Git LFS pointer: the
    copy step itself refuses a chapter at or after the audio's end, leaving nothing."""
    master = finished_mp3(tmp_path / "m.mp3", 3)
    out = tmp_path / "out" / "m.mp3"
    edits = EditDecisions(chapters=((0.0, "Start"), (3.5, "After the end")))
    with pytest.raises(AudioInputError, match=r"chapters\[1\]\.start 3\.50 s is not before"):
        publish_mastered(master, out, MasteringSettings(), edits)
    assert not out.exists() and not list(out.parent.glob("*"))


@pytest.mark.slow
@pytest.mark.parametrize("rate, version", [(22050, "MPEG-2"), (11025, "MPEG-2.5")])
def test_mono_and_low_rate_mp3s_are_walked_frame_by_frame(tmp_path: Path, rate, version):
    """MPEG-2 and 2.5 frames (half the samples, another length formula), mono, VBR: the copy's
    frames are the master's and ffprobe's duration is unchanged."""
    master = synth(
        tmp_path / "m.mp3",
        "0.2*sin(2*PI*220*t)*(1+0.5*sin(2*PI*0.5*t))",
        seconds=4,
        rate=rate,
        codec=("-c:a", "libmp3lame", "-q:a", "6", "-ac", "1"),
    )
    span = audio_span(master)
    assert (span.version, span.channels, span.sample_rate) == (version, 1, rate)
    report = publish_mastered(master, tmp_path / "out" / "e.mp3", MasteringSettings())
    assert frames_of(tmp_path / "out" / "e.mp3") == frames_of(master)
    assert report.settings.channels == 1 and report.settings.sample_rate == rate
    assert abs(report.duration_s - probe_duration(master)) < 0.001
    assert report.files[0].sha256 and report.bytes == (tmp_path / "out" / "e.mp3").stat().st_size


# -- a network with a show that moved in --------------------------------------------------------


def network(root: Path, *, formats: str = '["mp3"]', target: float = -16.0) -> Path:
    """One show, "old-times", with an intro jingle and loudness target of its own that its
    mastered episodes ignore, and one mastered episode with two chapters of the front matter."""
    from podcast_tools.scaffold import _placeholder_artwork

    show = root / "episodes" / "old-times"
    (show / "art").mkdir(parents=True)
    (show / "art" / "cover.png").write_bytes(_placeholder_artwork())
    synth(show / "jingle.wav", "0.3*sin(2*PI*660*t)", seconds=1.5, rate=44100)
    (root / "episodes" / "network.toml").write_text(
        textwrap.dedent(f"""\
        [network]
        name = "Moving Network"
        base_url = "{BASE_URL}"
        storage = "file://public"
        podcast_guid = "{podcast_guid_for(publisher_feed_url(BASE_URL))}"

        [defaults]
        intro = "old-times/jingle.wav"
        loudness = {{ target_lufs = {target}, true_peak_dbtp = -1.0 }}

        [shows.old-times]
        title = "Old Times"
        description = "A show that lived on another host."
        author = "Archivist"
        owner = {{ name = "Archivist", email = "archive@podcasts.test" }}
        language = "en"
        category = "History"
        artwork = "old-times/art/cover.png"
        podcast_guid = "{podcast_guid_for(feed_url(BASE_URL, "old-times"))}"
        formats = {formats}
        """),
        encoding="utf-8",
    )
    finished_mp3(show / "001-first.mp3")
    (show / "001-first.md").write_text(
        textwrap.dedent("""\
        ---
        title: The first one
        guid: "libsyn-1234-5678"
        date: 2019-03-01T10:00:00+00:00
        audio: 001-first.mp3
        mastered: true
        number: 1
        chapters:
          - { start: 0, title: "Hello" }
          - { start: 3.5, title: "The story" }
        ---
        How it began.
        """),
        encoding="utf-8",
    )
    return root / "episodes" / "old-times" / "001-first.md"


def publish(root: Path, store: Path, *, dry_run: bool = False, said: list[str] | None = None):
    network_ = load_checked_network(root)
    publisher = Publisher(
        network_,
        open_storage(f"file://{store}", root),
        say=(said.append if said is not None else lambda line: None),
    )
    return publisher.run(list(network_.episodes), dry_run=dry_run)


def published_mp3(store: Path) -> Path:
    """The MP3 the show's feed encloses (the store keeps earlier objects beside it)."""
    import re

    feed = (store / "old-times" / "feed.xml").read_text(encoding="utf-8")
    (url,) = re.findall(r'<enclosure url="([^"]+)"', feed)
    return store / url.removeprefix(BASE_URL)


@pytest.mark.slow
@pytest.mark.parametrize("xing", [True, False], ids=["xing", "no-xing"])
def test_a_mastered_episode_is_published_as_it_is(tmp_path: Path, xing: bool):
    """The published MP3's audio frames are the master's, byte for byte (the Info frame too);
    its tags are ours only (title, our chapters at the master's times, no old chapter, no
    ID3v1); ffprobe, mutagen and eyeD3 read it; its duration is the master's; the show's intro
    jingle and loudness target do not apply (no ffmpeg render: nothing was added)."""
    episode = network(tmp_path / "net")
    master = episode.with_name("001-first.mp3")
    finished_mp3(master, xing=xing)
    said: list[str] = []
    store = tmp_path / "store"
    result = publish(tmp_path / "net", store, said=said)
    assert result.processed == ["episodes/old-times/001-first.md"]
    mp3 = published_mp3(store)

    assert frames_of(mp3) == frames_of(master)
    assert audio_digest(mp3) == audio_digest(master)
    assert (b"Info" in frames_of(mp3)[:64]) is xing
    data = mp3.read_bytes()
    assert data[:3] == b"ID3" and data[-128:-125] != b"TAG"  # no ID3v1: ours is ID3v2 only

    read_back = read_tags(mp3)
    assert read_back.fields["title"] == "The first one" and read_back.podcast_flag
    id3 = ID3(mp3)
    assert [str(f) for f in id3.getall("TIT2")] == ["The first one"]
    chapters = sorted((c.start_time, c.sub_frames["TIT2"].text[0]) for c in id3.getall("CHAP"))
    assert chapters == [(0, "Hello"), (3500, "The story")]
    assert b"Old chapter" not in data and b"Old host" not in data
    # ffmpeg's demuxer lists them less the LAME header's encoder delay (≈ 25 ms), as it does
    # for every MP3 podcast_tools renders: its own reading of the same frames
    listed = ffmpeg_chapters(mp3)
    assert [title for _, title in listed] == ["Hello", "The story"]
    assert [abs(a - b) <= (30 if xing else 0) for (a, _), b in zip(listed, (0, 3500))] == [1, 1]
    eyed3.log.setLevel(logging.ERROR)
    read = eyed3.load(mp3)
    assert read.tag.title == "The first one"
    assert [c.title for c in read.tag.chapters] == ["Hello", "The story"]
    assert abs(read.info.time_secs - probe_duration(master)) < 0.05
    assert abs(probe_duration(mp3) - probe_duration(master)) < 0.001

    report = json.loads((tmp_path / "net" / "build" / "old-times" / "001-first.json").read_text())
    assert report["published_as"] == PUBLISHED_AS
    assert report["edits"]["intro_s"] == 0 and report["loudness"]["gain_db"] == 0
    assert [c["start_s"] for c in report["chapters"]] == [0.0, 3.5]
    assert abs(report["duration_s"] - probe_duration(master)) < 0.001
    (line,) = [line for line in said if PUBLISHED_AS in line]
    assert "LUFS" in line and "001-first.mp3" in line


@pytest.mark.slow
def test_process_says_it_was_published_as_mastered(tmp_path: Path):
    """`podcast process` of a mastered episode: the summary says so, with the loudness
    measured and how far it is from the show's target (a note, never a refusal)."""
    episode = network(tmp_path / "net", target=-30.0)
    result = podcast(tmp_path / "net", "process", episode, ok=True)
    assert PUBLISHED_AS in result.stdout
    assert "louder than the show's target of -30 LUFS" in result.stdout
    assert "trimmed" not in result.stdout and "limiter" not in result.stdout
    payload = json.loads(podcast(tmp_path / "net", "process", episode, "--json", ok=True).stdout)
    assert payload["published_as"] == PUBLISHED_AS
    assert payload["files"][0]["format"] == "mp3" and len(payload["files"]) == 1
    assert schema_problems("process", payload) == []


def test_shows_says_what_does_not_apply_to_mastered_episodes(tmp_path: Path):
    """The show's inherited intro and loudness are no error for its mastered episodes: they do
    not apply, and `podcast shows` says so."""
    root = tmp_path / "net"
    network(root)
    shown = podcast(root, "shows", ok=True).stdout
    assert "mastered  1 published as they are (mastered: true): intro, outro, loudness" in shown
    doc = json.loads(podcast(root, "shows", "--json", ok=True).stdout)
    assert doc["shows"]["old-times"]["mastered_episodes"] == 1
    assert schema_problems("shows", doc) == []


@pytest.mark.slow
def test_loudness_and_jingle_changes_leave_it_and_a_title_change_retags_it(tmp_path: Path):
    """A network-wide loudness target and jingle change re-make none of a mastered episode's
    audio; a title change re-tags it (the plan's action), its frames still the master's."""
    root = tmp_path / "net"
    episode = network(root)
    store = tmp_path / "store"
    publish(root, store)
    first = published_mp3(store).read_bytes()
    toml = root / "episodes" / "network.toml"
    edit(toml, "target_lufs = -16.0", "target_lufs = -19.0")
    edit(toml, 'intro = "old-times/jingle.wav"', "")
    again = publish(root, store)
    assert again.processed == [] and again.retagged == [] and again.uploads == []
    assert again.skipped == ["episodes/old-times/001-first.md"]
    assert published_mp3(store).read_bytes() == first

    edit(episode, "title: The first one", "title: The very first one")
    said: list[str] = []
    publish(root, store, dry_run=True, said=said)
    assert any("would re-tag and upload 1 episode(s)" in line for line in said), said
    retagged = publish(root, store)
    assert retagged.retagged == ["episodes/old-times/001-first.md"] and retagged.processed == []
    mp3 = published_mp3(store)
    assert read_tags(mp3).fields["title"] == "The very first one"
    assert frames_of(mp3) == frames_of(episode.with_name("001-first.mp3"))

    # a moved chapter: the build is made anew (a copy, no render), at the new time
    edit(episode, "start: 3.5,", "start: 4.25,")
    moved = publish(root, store)
    assert moved.processed == ["episodes/old-times/001-first.md"]
    mp3 = published_mp3(store)
    assert sorted(c.start_time for c in ID3(mp3).getall("CHAP")) == [0, 4250]
    assert frames_of(mp3) == frames_of(episode.with_name("001-first.mp3"))


@pytest.mark.slow
def test_a_retag_that_changed_the_frames_is_refused(tmp_path: Path, monkeypatch):
    """The re-tag of a mastered episode checks its frames again: a copy that changed one byte of
    audio (a fault injected into the copy: no real tagger does it on demand) is refused in one
    line and nothing is uploaded."""
    import shutil

    from podcast_tools.pipeline import builds

    root = tmp_path / "net"
    episode = network(root)
    store = tmp_path / "store"
    publish(root, store)
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    edit(episode, "title: The first one", "title: The very first one")

    copy = shutil.copyfile

    def damaging_copy(source, target):
        copy(source, target)
        data = bytearray(Path(target).read_bytes())
        data[len(data) // 2] ^= 0x01  # inside the frames (the tags are at the ends)
        Path(target).write_bytes(bytes(data))

    monkeypatch.setattr(builds.shutil, "copyfile", damaging_copy)
    with pytest.raises(AudioInputError, match="audio frames changed when its tags were written"):
        publish(root, store)
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before


@pytest.mark.slow
def test_other_formats_are_not_made_for_a_mastered_episode(tmp_path: Path):
    """A show with Opus and M4A beside the MP3: the mastered episode is its MP3 only (no second
    lossy generation), and publishing again does not try to add the others."""
    root = tmp_path / "net"
    network(root, formats='["mp3", "m4a", "opus"]')
    store = tmp_path / "store"
    publish(root, store)
    assert [p.suffix for p in store.rglob("001-first.*") if p.suffix in (".m4a", ".opus")] == []
    again = publish(root, store)
    assert again.processed == [] and again.uploads == []


def test_what_a_mastered_episode_may_not_set_is_one_line_each(tmp_path: Path):
    root = tmp_path / "net"
    episode = network(root)
    synth(episode.with_name("own.wav"), "0.1*sin(2*PI*500*t)", seconds=2, rate=44100)
    edit(
        episode,
        "mastered: true\n",
        "mastered: true\ntrim: { start: 0.5 }\ncuts: [{ start: 1, end: 2 }]\nintro: own.wav\n"
        "outro: own.wav\nmastering: { leveler: true }\n",
    )
    problems = problems_of(root)
    shown = "episodes/old-times/001-first.md"
    for field in ("trim", "cuts", "intro", "outro", "mastering"):
        problem = find_problem(problems, shown, field)
        assert "does not apply to a mastered episode" in problem.message
    assert len([p for p in problems if p.file == shown]) == 5


def test_a_mastered_episode_needs_an_mp3(tmp_path: Path):
    root = tmp_path / "net"
    episode = network(root)
    synth(episode.with_name("001-first.wav"), "0.1*sin(2*PI*500*t)", seconds=5, rate=44100)
    edit(episode, "audio: 001-first.mp3", "audio: 001-first.wav")
    problem = find_problem(problems_of(root), "episodes/old-times/001-first.md", "audio")
    assert '"001-first.wav" is not an MP3' in problem.message


@pytest.mark.parametrize(
    "damage, words",
    [
        ("truncated", "truncated or damaged"),  # the decoder's check finds it first
        ("wav-named-mp3", "is not an MP3"),
        ("garbage-inside", "damaged"),
    ],
)
def test_a_broken_mastered_mp3_is_one_line(tmp_path: Path, damage: str, words: str):
    """Hostile masters: cut off mid-download, a WAV saved as .mp3, bytes overwritten mid-file:
    `validate` says so in one line naming the episode, its audio field and the file, and
    publishing one makes nothing."""
    root = tmp_path / "net"
    episode = network(root)
    master = episode.with_name("001-first.mp3")
    data = master.read_bytes()
    span = audio_span(master)
    if damage == "truncated":
        master.write_bytes(data[: span.start + (span.end - span.start) // 2 + 7])
    elif damage == "wav-named-mp3":
        synth(tmp_path / "x.wav", "0.1*sin(2*PI*500*t)", seconds=5, rate=44100)
        master.write_bytes((tmp_path / "x.wav").read_bytes())
    else:
        middle = span.start + (span.end - span.start) // 2
        master.write_bytes(data[:middle] + b"\x00" * 700 + data[middle + 700 :])
    result = podcast(root, "validate")
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if "001-first" in line]
    assert len(lines) == 1, result.output
    assert "episodes/old-times/001-first.md" in lines[0] and "audio" in lines[0]
    assert words in lines[0] and "001-first.mp3" in lines[0]
    processed = podcast(root, "process", episode)
    assert processed.exit_code != 0 and words in processed.output
    assert not (root / "build" / "old-times").exists()


def test_a_cut_off_mp3_with_whole_frames_is_caught_by_its_info_header(tmp_path: Path):
    """Cut off at a frame boundary, the frames alone look whole: the Xing/Info header's frame
    count says how many there should be."""
    master = finished_mp3(tmp_path / "m.mp3", 4)
    span = audio_span(master)
    data = master.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: span.start + 20 * 313])  # 96 kbps at 44.1 kHz: 313-byte frames
    from podcast_tools.errors import AudioInputError

    with pytest.raises(AudioInputError, match="is (cut off|damaged)"):
        audio_span(cut)
    with_frames = tmp_path / "whole-frames.mp3"
    # the first 20 whole frames, found by walking from the start
    at = span.start
    for _ in range(20):
        length = 144 * 96000 // 44100 + ((data[at + 2] >> 1) & 1)
        at += length
    with_frames.write_bytes(data[:at])
    with pytest.raises(AudioInputError, match="Xing/Info header says"):
        audio_span(with_frames)
    # publishing it leaves nothing behind: no file, no temp file
    out = tmp_path / "out"
    with pytest.raises(AudioInputError, match="Xing/Info header says"):
        publish_mastered(with_frames, out / "e.mp3", MasteringSettings())
    assert not out.exists() or list(out.iterdir()) == []


# -- moved_to -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_show_that_moved_away_says_so_in_its_feed_and_page(tmp_path: Path):
    """`moved_to`: the feed carries itunes:new-feed-url and podcast:locked no (the new host may
    import it), read by feedparser and podcastparser; the website's show page names the new
    feed."""
    import feedparser
    import podcastparser

    root = tmp_path / "net"
    network(root)
    toml = root / "episodes" / "network.toml"
    edit(toml, 'formats = ["mp3"]\n', f'formats = ["mp3"]\nmoved_to = "{MOVED}"\n')
    store = tmp_path / "store"
    publish(root, store)
    (feed,) = [p for p in store.rglob("*.xml") if "old-times" in p.as_posix()]
    text = feed.read_text(encoding="utf-8")
    assert f"<itunes:new-feed-url>{MOVED}</itunes:new-feed-url>" in text
    assert ">no</podcast:locked>" in text
    parsed = feedparser.parse(text)
    assert parsed.feed["itunes_new-feed-url"] == MOVED
    with feed.open("rb") as handle:
        assert podcastparser.parse(feed.as_uri(), handle)["new_url"] == MOVED
    (page,) = [p for p in store.rglob("index.html") if p.parent.name == "old-times"]
    assert f'<a href="{MOVED}">' in page.read_text(encoding="utf-8")


def test_new_feed_url_is_the_older_name_of_moved_to(tmp_path: Path):
    root = tmp_path / "net"
    network(root)
    toml = root / "episodes" / "network.toml"
    edit(toml, 'formats = ["mp3"]\n', f'formats = ["mp3"]\nnew_feed_url = "{MOVED}"\n')
    show = load_checked_network(root).shows["old-times"]
    assert show.moved_to == show.new_feed_url == MOVED and show.locked is False
    edit(toml, "new_feed_url =", 'moved_to = "https://elsewhere.test/feed.xml"\nnew_feed_url =')
    problem = find_problem(
        problems_of(root), "episodes/network.toml", "shows.old-times.new_feed_url"
    )
    assert "they are one setting" in problem.message


def test_a_show_that_moved_may_not_lock_its_feed(tmp_path: Path):
    root = tmp_path / "net"
    network(root)
    toml = root / "episodes" / "network.toml"
    edit(toml, 'formats = ["mp3"]\n', f'formats = ["mp3"]\nmoved_to = "{MOVED}"\nlocked = true\n')
    problem = find_problem(problems_of(root), "episodes/network.toml", "shows.old-times.locked")
    assert "moved away" in problem.message
    # inherited from [defaults] (where other shows may want it): moved_to wins, no problem
    edit(toml, f'moved_to = "{MOVED}"\nlocked = true\n', f'moved_to = "{MOVED}"\n')
    edit(toml, "[defaults]\n", "[defaults]\nlocked = true\n")
    assert load_checked_network(root).shows["old-times"].locked is False
