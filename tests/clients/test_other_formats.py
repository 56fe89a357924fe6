"""Every published M4A and Opus file of the sample network (the ANZ spin-off names
`formats = ["mp3", "m4a", "opus"]`), as players read them: ffprobe from the npm package, mutagen
through our field table; and each on the show's loudness target and under its ceiling, measured
on the published file itself."""

from __future__ import annotations

import pytest
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus

from podcast_tools.audio.master import measure_file
from podcast_tools.formats import FORMATS
from podcast_tools.layout import file_hash
from podcast_tools.tags import read_mp4_tags, read_opus_tags
from tests.clients import tools
from tests.clients.conftest import Published
from tests.clients.test_mp3 import close, episode_of, expected_artist, report_starts
from tests.conftest import REPO

#: show/slug of every published episode whose show names more formats than the MP3
EPISODES = sorted(f"itsmwp-anz/{p.stem}" for p in (REPO / "episodes" / "itsmwp-anz").glob("*.md"))
OTHER = ("m4a", "opus")


def published_file(published: Published, name: str, audio_format: str):
    episode = episode_of(published, name)
    assert audio_format in published.network.shows[episode.show].formats
    path = published.published_file(episode, "", FORMATS[audio_format].suffix)
    built = next(f for f in published.report(episode)["files"] if f["format"] == audio_format)
    assert file_hash(path) == built["sha256"], f"{path}: published ≠ built"
    return episode, path


@pytest.mark.parametrize("audio_format", OTHER)
@pytest.mark.parametrize("name", EPISODES)
def test_ffprobe_reads_tags_and_chapters(name, audio_format, published, clients):
    episode, path = published_file(published, name, audio_format)
    probe = tools.ffprobe(clients, path)
    found = probe["format"].get("tags") or probe["streams"][0].get("tags", {})  # Ogg: the stream's
    tags = {key.lower(): value for key, value in found.items()}
    audio = next(s for s in probe["streams"] if s["codec_type"] == "audio")
    assert audio["codec_name"] == {"m4a": "aac", "opus": "opus"}[audio_format]
    if audio_format == "opus":
        assert audio["sample_rate"] == "48000"
    show = published.network.shows[episode.show]
    assert tags.get("title") == episode.title
    assert tags.get("album") == show.title
    assert tags.get("artist") == expected_artist(published, episode)
    starts = [float(c["start_time"]) for c in probe["chapters"]]
    assert [c["tags"].get("title") for c in probe["chapters"]] == [
        c.title for c in episode.chapters
    ]
    assert close(starts, report_starts(published, episode)), (name, starts)
    expected = {"m4a": "mov,mp4,m4a,3gp,3g2,mj2", "opus": "ogg"}[audio_format]
    assert probe["format"]["format_name"] == expected


@pytest.mark.parametrize("audio_format", OTHER)
@pytest.mark.parametrize("name", EPISODES)
def test_mutagen_reads_our_fields_and_the_cover(name, audio_format, published):
    episode, path = published_file(published, name, audio_format)
    read = {"m4a": read_mp4_tags, "opus": read_opus_tags}[audio_format](path)
    assert read.fields["title"] == episode.title
    assert read.fields["guid"] == episode.guid
    assert read.fields["feed_url"] == published.network.feed_url(episode.show)
    assert read.fields["cover"] is not None and read.fields["cover"].data
    assert [c.title for c in read.chapters] == [c.title for c in episode.chapters]
    raw = MP4(path) if audio_format == "m4a" else OggOpus(path)
    assert raw.info.length == pytest.approx(published.report(episode)["duration_s"], abs=0.1)
    if audio_format == "opus":
        assert "METADATA_BLOCK_PICTURE" in {k.upper() for k in raw.tags.keys()}
    else:
        assert "covr" in raw.tags and raw.tags["pcst"]


@pytest.mark.parametrize("name", EPISODES)
def test_every_published_file_meets_the_shows_targets(name, published):
    """One render, three encoders: each published file on the target (±0.3 LU) and at or under
    the true-peak ceiling, measured on the file (our meter agrees with ffmpeg's within 0.1)."""
    episode = episode_of(published, name)
    show = published.network.shows[episode.show]
    assert show.formats == ["mp3", "m4a", "opus"]
    for audio_format in show.formats:
        path = (
            published.audio(episode)
            if audio_format == "mp3"
            else published_file(published, name, audio_format)[1]
        )
        figures = measure_file(path, sample_rate=48000, channels=show.mp3.channels)
        assert figures.integrated_lufs == pytest.approx(show.loudness.target_lufs, abs=0.3), (
            path.name,
            figures,
        )
        assert figures.true_peak_dbtp <= show.loudness.true_peak_dbtp, (path.name, figures)
