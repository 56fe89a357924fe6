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
from podcast_tools.feed import EpisodeMedia, FeedInputs, build_feed
from podcast_tools.feed.build import build_publisher_feed
from podcast_tools.layout import (
    artwork_key,
    audio_key,
    content_hash,
    episode_file_key,
    file_hash,
    public_url,
)
from podcast_tools.media_checks import load_checked_network
from podcast_tools.notes import TRANSCRIPT_TYPES, chapter_notes, render_notes

REPO = Path(__file__).resolve().parents[2]
FEEDS_DIR = Path(__file__).resolve().parent / "feeds"
NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
PUBLISHER = "publisher"


def golden_inputs(network: Network) -> FeedInputs:
    """What publishing would tell the feeds, with made-up audio facts derived from each episode's
    guid alone (adding an episode to the sample changes no other episode's lines)."""
    base = network.settings.base_url
    inputs = FeedInputs()
    for show in network.shows.values():
        art = network.show_path(show.artwork)
        inputs.artwork_urls[show.id] = public_url(
            base, artwork_key(show.id, file_hash(art), art.suffix)
        )
    for episode in sorted(network.episodes, key=lambda e: e.guid):
        show, slug = episode.show, episode.slug
        chapters = chapter_notes(network, episode, [float(c.start) for c in episode.chapters])
        notes = render_notes(network, episode, chapters)
        chapters_url = transcript_url = transcript_type = image_url = None
        if notes.chapters_json:
            key = episode_file_key(
                show, slug, "chapters", content_hash(notes.chapters_json.encode()), ".json"
            )
            chapters_url = public_url(base, key)
        if episode.transcript:
            source = episode.resolve(episode.transcript)
            suffix = source.suffix.lower()
            key = episode_file_key(show, slug, "transcript", file_hash(source), suffix)
            transcript_url, transcript_type = public_url(base, key), TRANSCRIPT_TYPES[suffix]
        if episode.image:
            source = episode.resolve(str(episode.image))
            key = episode_file_key(show, slug, "image", file_hash(source), source.suffix.lower())
            image_url = public_url(base, key)
        made_up = hashlib.sha256(f"golden audio of {episode.guid}".encode()).hexdigest()
        inputs.episodes[episode.guid] = EpisodeMedia(
            url=public_url(base, audio_key(show, slug, made_up)),
            bytes=400_000 + int(made_up[:4], 16),
            duration_s=1_200.4 + int(made_up[4:8], 16) % 1_800,
            html=notes.html,
            summary=notes.text,
            chapters_url=chapters_url,
            transcript_url=transcript_url,
            transcript_type=transcript_type,
            image_url=image_url,
        )
    return inputs


def golden_feeds(root: Path = REPO) -> dict[str, bytes]:
    """name → XML: one per show (its id) and the network's publisher feed ("publisher")."""
    network = load_checked_network(root)
    inputs = golden_inputs(network)
    feeds = {
        show_id: build_feed(network, show_id, inputs, now=NOW).xml for show_id in network.shows
    }
    feeds[PUBLISHER] = build_publisher_feed(network, inputs.artwork_urls).xml
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
