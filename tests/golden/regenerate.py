"""Golden feeds: the sample network's show feeds and publisher feed, byte for byte.

Built from the content in `episodes/` and `templates/` (titles, dates, numbers, notes rendered by
the real templates, chapters, persons, artwork keys) with FIXED media facts — the audio's URL, size
and duration are made up here, chapters sit at their master times, and `now` is fixed — so the
bytes never depend on the MP3 encoder, the machine or the day. `tests/test_golden_feeds.py`
compares them; after a change to the feeds on purpose, regenerate and review the diff:

    .venv/bin/python -m tests.golden.regenerate
    git diff tests/golden/feeds
"""

from __future__ import annotations

import hashlib
import sys
from datetime import datetime, timezone
from pathlib import Path

from podcast_tools.content import Network
from podcast_tools.feed import build_feed
from podcast_tools.feed.build import build_publisher_feed
from podcast_tools.formats import FORMATS, PRIMARY
from podcast_tools.layout import audio_key
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.previews import artwork_keys
from podcast_tools.record import (
    AudioFile,
    EpisodeRecord,
    build_record,
    feed_candidates,
    feed_inputs,
)

REPO = Path(__file__).resolve().parents[2]
FEEDS_DIR = Path(__file__).resolve().parent / "feeds"
NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
PUBLISHER = "publisher"


def golden_records(network: Network) -> dict[str, EpisodeRecord]:
    """Every episode's record, built by the one builder publishing uses, with made-up audio facts
    derived from each episode's guid alone (adding an episode to the sample changes no other
    episode's lines) and the chapters at their master times: an MP3 (the enclosure) and a file
    of every other format the episode's show names, of the size its bitrate gives."""
    records = {}
    for episode in sorted(network.episodes, key=lambda e: e.guid):
        made_up = hashlib.sha256(f"golden audio of {episode.guid}".encode()).hexdigest()
        duration_s = 1_200.4 + int(made_up[4:8], 16) % 1_800
        audio = AudioFile(
            format=PRIMARY.name,
            key=audio_key(episode.show, episode.slug, made_up, PRIMARY.suffix),
            bytes=round(duration_s * network.shows[episode.show].bitrate_of(PRIMARY.name) * 125),
            duration_s=duration_s,
            sha256=made_up,
            bitrate=network.shows[episode.show].bitrate_of(PRIMARY.name) * 1000,
        )
        others = []
        show = network.shows[episode.show]
        for name in show.formats:
            if name == PRIMARY.name:
                continue
            digest = hashlib.sha256(f"golden {name} of {episode.guid}".encode()).hexdigest()
            others.append(
                AudioFile(
                    format=name,
                    key=audio_key(episode.show, episode.slug, digest, FORMATS[name].suffix),
                    bytes=round(duration_s * show.bitrate_of(name) * 125),  # kbps → bytes/s
                    duration_s=duration_s,
                    sha256=digest,
                    bitrate=show.bitrate_of(name) * 1000,  # the stream's (made-up) rate
                )
            )
        times = tuple(float(c.start) for c in episode.chapters)
        records[episode.guid] = build_record(network, episode, (audio, *others), times, "golden")
    return records


def golden_feeds(root: Path = REPO) -> dict[str, bytes]:
    """name → XML: one per show (its id) and the network's publisher feed ("publisher"), built
    from the records as `publish` builds them from its manifest."""
    network = load_checked_network(root)
    records = golden_records(network)
    inputs = feed_inputs(network.settings.base_url, records, artwork_keys(network))
    feeds = {
        show_id: build_feed(
            network, show_id, inputs, now=NOW, candidates=feed_candidates(network, records, show_id)
        ).xml
        for show_id in network.shows
    }
    feeds[PUBLISHER] = build_publisher_feed(network, inputs.artwork_urls, built_at=NOW).xml
    return feeds


def golden_path(name: str) -> Path:
    return FEEDS_DIR / f"{name}.xml"


def main() -> int:
    FEEDS_DIR.mkdir(parents=True, exist_ok=True)
    feeds = golden_feeds()
    for stale in set(FEEDS_DIR.glob("*.xml")) - {golden_path(name) for name in feeds}:
        stale.unlink()
        print(f"removed {stale.relative_to(REPO)}")
    for name, xml in feeds.items():
        path = golden_path(name)
        if path.is_file() and path.read_bytes() == xml:
            print(f"unchanged {path.relative_to(REPO)}")
            continue
        path.write_bytes(xml)
        print(f"wrote {path.relative_to(REPO)} ({len(xml)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
