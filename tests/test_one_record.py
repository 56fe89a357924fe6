"""One record of a published episode (`podcast_tools.record.build_record`): what `podcast feed`
previews from `build/` is what `podcast publish` writes, byte for byte, because both come from the
same builder — and the manifest stores the record as it is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podcast_tools.layout import PUBLISHER_FEED_KEY, feed_key
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.previews import local_records
from podcast_tools.publish.manifest import MANIFEST_KEY
from podcast_tools.record import EpisodeRecord
from tests.conftest import podcast


@pytest.mark.slow
def test_feeds_previewed_after_process_are_the_published_feeds(sample: Path, tmp_path: Path):
    network = load_checked_network(sample)
    processed = [e for e in network.episodes if not e.draft]
    assert len(processed) >= 5  # the whole sample: every show, chapters, transcripts, images
    for episode in processed:
        podcast(sample, "process", str(episode.path), ok=True)
    preview = tmp_path / "preview"
    podcast(sample, "feed", "--out", str(preview), ok=True)
    store = tmp_path / "store"
    podcast(sample, "publish", "--storage", f"file://{store}", ok=True)

    keys = [feed_key(show_id) for show_id in network.shows] + [PUBLISHER_FEED_KEY]
    for key in keys:
        published = (store / key).read_bytes()
        assert (preview / key).read_bytes() == published, key
    items = sum((store / feed_key(s)).read_text().count("<item>") for s in network.shows)
    assert items >= len(processed)  # cross-posts appear in more than one feed

    # the manifest holds the very records the preview was built from
    stored = json.loads((tmp_path / "store.state" / MANIFEST_KEY).read_bytes())
    records = local_records(network, sample / "build")
    assert set(stored["episodes"]) == set(records)
    for guid, record in records.items():
        assert stored["episodes"][guid] == record.entry(), guid
        assert EpisodeRecord.from_entry(guid, stored["episodes"][guid]) == record
        for key in record.keys():  # every object the record names was published
            assert (store / key).is_file(), key


def test_published_audio_objects_name_their_format_and_type(sample: Path, tmp_path: Path):
    episode = "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"
    store = tmp_path / "store"
    podcast(sample, "publish", str(sample / episode), "--storage", f"file://{store}", ok=True)
    stored = json.loads((tmp_path / "store.state" / MANIFEST_KEY).read_bytes())
    assert stored["version"] == 4
    [entry] = stored["episodes"].values()
    [audio] = entry["audio"]
    assert (audio["format"], audio["type"]) == ("mp3", "audio/mpeg")
    assert audio["key"].endswith(".mp3") and (store / audio["key"]).stat().st_size == audio["bytes"]


def test_a_record_survives_the_manifest_field_for_field(sample: Path, tmp_path: Path):
    """What a feed item needs from the front matter (record.FEED_FIELDS) comes back from a
    manifest entry as it went in — a new field is one line of that table."""
    from podcast_tools.record import FEED_FIELDS, build_record

    network = load_checked_network(sample)
    for episode in network.episodes:
        if episode.draft:
            continue
        record = build_record(network, episode, (), (), "fingerprint")
        again = EpisodeRecord.from_entry(episode.guid, json.loads(json.dumps(record.entry())))
        rebuilt = again.episode(network.root)
        for name in FEED_FIELDS:
            assert getattr(rebuilt, name) == getattr(episode, name), (episode.slug, name)
        # named where it lies, whatever the working directory (feed problems name this file)
        assert rebuilt.path == episode.path
        assert network.display(rebuilt.path) == network.display(episode.path)
        # every chapter image the notes link to is one of the record's keys
        for chapter, key in zip(episode.chapters, record.chapter_images):
            assert (key is not None) == bool(chapter.image)
            assert key is None or key in record.keys()


def test_manifest_formats_1_and_2_read_as_format_3_and_written_back_as_format_4():
    from podcast_tools.publish.manifest import Manifest

    entry = {
        "show": "itsmwp",
        "shows": ["itsmwp"],
        "slug": "001-x",
        "fingerprint": "f",
        "audio": {"key": "itsmwp/episodes/001-x-abc.mp3", "bytes": 10, "duration_s": 1.5},
        "chapter_times": [],
        "meta": {"title": "X", "date": "2026-10-01T08:00:00+00:00"},
        "html": "",
        "text": "",
    }
    old = Manifest.from_bytes(json.dumps({"version": 1, "episodes": {"g": entry}}).encode(), None)
    [audio] = old.episodes["g"]["audio"]
    assert audio == {
        "format": "mp3",
        "type": "audio/mpeg",
        "key": "itsmwp/episodes/001-x-abc.mp3",
        "bytes": 10,
        "duration_s": 1.5,
    }
    written = json.loads(old.to_bytes())
    assert written["version"] == 4
    assert Manifest.from_bytes(old.to_bytes(), None).episodes == old.episodes  # valid format 4
    record = EpisodeRecord.from_entry("g", old.episodes["g"])
    assert record.enclosure.type == "audio/mpeg" and "sha256" not in record.enclosure.as_dict()


def test_an_audio_format_this_version_does_not_know_says_upgrade():
    import pytest

    from podcast_tools.publish.manifest import Manifest
    from podcast_tools.publish.storage import StorageError

    audio = {"format": "flac9", "type": "audio/flac", "key": "a/b.flac", "bytes": 1}
    entry = {
        "show": "itsmwp",
        "shows": ["itsmwp"],
        "slug": "001-x",
        "audio": [{**audio, "duration_s": 1.0}],
        "meta": {"title": "X", "date": "2026-10-01T08:00:00+00:00"},
        "html": "",
        "text": "",
    }
    document = {"version": 3, "generation": 1, "episodes": {"g": entry}}
    with pytest.raises(StorageError) as caught:
        Manifest.from_bytes(json.dumps(document).encode(), None, where="m.json")
    assert str(caught.value) == (
        'm.json: was written by a newer podcast_tools (audio format "flac9"); upgrade'
    )
