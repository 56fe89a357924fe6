"""One record of a published episode (`podcast_tools.record.build_record`): what `podcast feed`
previews from `build/` is what `podcast publish` writes, byte for byte, because both come from the
same builder — and the manifest stores the record as it is."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.layout import PUBLISHER_FEED_KEY, feed_key
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline import local_records
from podcast_tools.publish.manifest import MANIFEST_KEY
from podcast_tools.record import EpisodeRecord

runner = CliRunner()


def podcast(root: Path, *args: str) -> str:
    done = runner.invoke(app, ["--root", str(root), *args])
    assert done.exit_code == 0, done.output
    return done.output


def test_feeds_previewed_after_process_are_the_published_feeds(sample: Path, tmp_path: Path):
    network = load_checked_network(sample)
    processed = [e for e in network.episodes if not e.draft]
    assert len(processed) >= 5  # the whole sample: every show, chapters, transcripts, images
    for episode in processed:
        podcast(sample, "process", str(episode.path))
    preview = tmp_path / "preview"
    podcast(sample, "feed", "--out", str(preview))
    store = tmp_path / "store"
    podcast(sample, "publish", "--storage", f"file://{store}")

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
    podcast(sample, "publish", str(sample / episode), "--storage", f"file://{store}")
    stored = json.loads((tmp_path / "store.state" / MANIFEST_KEY).read_bytes())
    assert stored["version"] == 3
    [entry] = stored["episodes"].values()
    [audio] = entry["audio"]
    assert (audio["format"], audio["type"]) == ("mp3", "audio/mpeg")
    assert audio["key"].endswith(".mp3") and (store / audio["key"]).stat().st_size == audio["bytes"]
