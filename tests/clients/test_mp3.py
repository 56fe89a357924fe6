"""Every published MP3 of the sample network (not the scheduled episode's: nothing of it is
published before its date), as players read it: ffprobe from the npm package (what ffmpeg-based players
see), mutagen through our own field table, and eyeD3.

Chapter times are checked against the build report (`build/<show>/<slug>.json`, "chapters":
start_s), which says where each chapter landed after trims, cuts and jingles."""

from __future__ import annotations

import logging
from pathlib import Path

import eyed3
import pytest
from mutagen.id3 import ID3

from podcast_tools.content import Episode
from podcast_tools.layout import episode_page_url, file_hash
from podcast_tools.tags import read_tags
from tests.clients import tools
from tests.clients.conftest import SCHEDULED, Published
from tests.conftest import REPO

CHAPTER_TOLERANCE_S = 0.030

#: show/slug of every published episode of the copy: the sample's (the scheduled one waits)
EPISODES = sorted({f"{p.parent.name}/{p.stem}" for p in (REPO / "episodes").glob("*/*.md")})
assert SCHEDULED.removeprefix("episodes/").removesuffix(".md") not in EPISODES


def episode_of(published: Published, name: str) -> Episode:
    show, slug = name.split("/")
    return next(e for e in published.network.episodes if (e.show, e.slug) == (show, slug))


def report_starts(published: Published, episode: Episode) -> list[float]:
    chapters = published.report(episode)["chapters"]
    assert [c["title"] for c in chapters] == [c.title for c in episode.chapters]
    return [c["start_s"] for c in chapters]


def expected_artist(published: Published, episode: Episode) -> str:
    hosts = [p.name for p in episode.persons if p.role.lower() == "host"]
    return ", ".join(hosts) or published.network.shows[episode.show].author


def close(got: list[float], expected: list[float]) -> bool:
    return len(got) == len(expected) and all(
        abs(g - e) <= CHAPTER_TOLERANCE_S for g, e in zip(got, expected)
    )


def test_every_published_episode_is_checked(published):
    waiting = {item["episode"] for item in published.summary["episodes_scheduled"]}
    names = {f"{e.show}/{e.slug}" for e in published.network.episodes}
    shown = {f"{e.show}/{e.slug}" for e in published.network.episodes}
    assert waiting == {SCHEDULED}
    assert sorted(names - {SCHEDULED.removeprefix("episodes/").removesuffix(".md")}) == EPISODES
    assert shown >= set(EPISODES)


@pytest.mark.parametrize("name", EPISODES)
def test_ffprobe_lists_chapters_in_time_order_with_the_episodes_titles(name, published, probed):
    episode = episode_of(published, name)
    mp3 = published.audio(episode)
    assert file_hash(mp3) == published.report(episode)["sha256"], "published ≠ built MP3"
    probe = probed[episode.guid]
    chapters = probe["chapters"]
    starts = [float(c["start_time"]) for c in chapters]
    assert starts == sorted(starts) and len(set(starts)) == len(starts), f"{name}: {starts}"
    assert [c["tags"].get("title") for c in chapters] == [c.title for c in episode.chapters]
    expected = report_starts(published, episode)
    assert close(starts, expected), f"{name}: ffprobe {starts}, build report {expected}"
    tags = probe["format"]["tags"]
    show = published.network.shows[episode.show]
    assert tags.get("title") == episode.title
    assert tags.get("album") == show.title
    assert tags.get("artist") == expected_artist(published, episode)
    assert probe["format"]["format_name"] == "mp3"


@pytest.mark.parametrize("name", EPISODES)
def test_mutagen_reads_our_fields_back(name, published):
    episode = episode_of(published, name)
    tags = read_tags(published.audio(episode))
    show = published.network.shows[episode.show]
    assert tags.version[:2] == (2, 3)
    assert tags.fields["title"] == episode.title
    assert tags.fields["album"] == show.title
    assert tags.fields["artist"] == expected_artist(published, episode)
    assert tags.fields["guid"] == episode.guid
    assert tags.fields["feed_url"] == published.network.feed_url(episode.show)  # WFED
    # mutagen reads WFED as a URL frame (iTunes' text frame: ""): the URL is in WXXX as well
    frames = ID3(published.audio(episode))
    assert frames["WXXX:Podcast feed"].url == published.network.feed_url(episode.show)
    page = frames["WXXX:Episode"].url
    assert page == episode_page_url(published.base, episode.show, episode.slug)
    assert published.local(page).suffix == ".html"  # the page the website published
    assert frames.getall("WOAR")[0].url == show.link
    assert tags.fields["track"] == episode.number
    assert tags.podcast_flag
    cover = episode.resolve(str(episode.image)) if episode.image else None
    cover = cover or published.network.show_path(show.artwork)
    assert tags.fields["cover"].data == cover.read_bytes()
    assert [c.title for c in tags.chapters] == [c.title for c in episode.chapters]
    starts = [c.start_ms / 1000 for c in tags.chapters]
    assert close(starts, report_starts(published, episode)), starts
    for chapter, tagged in zip(episode.chapters, tags.chapters):
        assert tagged.url == chapter.url
        image = episode.resolve(str(chapter.image)).read_bytes() if chapter.image else None
        assert (tagged.image.data if tagged.image else None) == image


@pytest.mark.parametrize("name", EPISODES)
def test_eyed3_reads_title_feed_and_chapters_without_warnings(name, published, caplog):
    episode = episode_of(published, name)
    caplog.set_level(logging.DEBUG, logger="eyed3")
    audio = eyed3.load(published.audio(episode))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [], f"eyeD3 complained about {name}"
    tag = audio.tag
    assert tag.version == (2, 3, 0)
    assert tag.title == episode.title
    wfed = tag.frame_set[b"WFED"][0]
    # a text frame, as iTunes writes it: an encoding byte, then the URL
    assert wfed.data[:1] in (b"\x00", b"\x03")
    assert wfed.data[1:].rstrip(b"\x00").decode() == published.network.feed_url(episode.show)
    # URL frames hold the URL and nothing after it (no NUL); "Episode" is the episode's page
    show = published.network.shows[episode.show]
    assert [frame.url for frame in tag.frame_set[b"WOAR"]] == [show.link]
    assert {frame.description: frame.url for frame in tag.user_url_frames} == {
        "Episode": episode_page_url(published.base, episode.show, episode.slug),
        "Podcast feed": published.network.feed_url(episode.show),
    }
    chapters = list(tag.chapters)
    assert [c.title for c in chapters] == [c.title for c in episode.chapters]
    starts = [c.times[0] / 1000 for c in chapters]
    assert close(starts, report_starts(published, episode)), starts
    ends = [c.times[1] / 1000 for c in chapters]
    assert ends[:-1] == starts[1:], "chapters are contiguous"
    toc = list(tag.table_of_contents)
    assert len(toc) == 1 and toc[0].toplevel and toc[0].ordered
    # eyeD3 counts whole MPEG frames, the encoder's delay and padding included (~0.1 s more than
    # the decoded programme); players show whole seconds, as the feed's itunes:duration does
    assert audio.info.time_secs == pytest.approx(published.report(episode)["duration_s"], abs=1.0)


def test_ffprobe_is_the_npm_packages_binary(clients):
    assert "node_modules" in clients.ffprobe.parts and "@ffprobe-installer" in clients.ffprobe.parts
    assert clients.ffprobe.is_relative_to(tools.CLIENTS_DIR)
    assert Path(clients.ffprobe).stat().st_size > 1_000_000
