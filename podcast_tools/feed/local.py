"""Feed inputs from the local build output (`podcast process`), laid out as publishing will."""

from __future__ import annotations

import json
from pathlib import Path

from podcast_tools.content import Network
from podcast_tools.feed.build import AUDIO_TYPES, EpisodeMedia, FeedInputs
from podcast_tools.layout import (
    artwork_key,
    audio_key,
    content_hash,
    episode_file_key,
    file_hash,
    public_url,
)
from podcast_tools.notes import TRANSCRIPT_TYPES


def inputs_from_build(network: Network, build_dir: Path) -> FeedInputs:
    """Facts of every processed episode under `build_dir/<show>/` and the shows' artwork URLs.

    URLs are where `publish` puts the files (content-addressed keys under the network's base URL),
    so a feed previewed locally says what the published one will say.
    """
    base = network.settings.base_url
    inputs = FeedInputs()
    for show in network.shows.values():
        artwork = network.show_path(show.artwork)
        inputs.artwork_urls[show.id] = public_url(
            base, artwork_key(show.id, file_hash(artwork), artwork.suffix)
        )
    for episode in network.episodes:
        folder = build_dir / episode.show
        report_path = folder / f"{episode.slug}.json"
        if not report_path.is_file():
            continue
        report = json.loads(report_path.read_text(encoding="utf-8"))
        if report.get("guid") != episode.guid:
            continue  # built from another version of the file: treat as not processed
        html = _read(folder / f"{episode.slug}.html")
        summary = _read(folder / f"{episode.slug}.txt").strip()
        chapters_url = transcript_url = transcript_type = image_url = None
        chapters = folder / f"{episode.slug}.chapters.json"
        if chapters.is_file():
            data = chapters.read_bytes()
            chapters_url = public_url(
                base,
                episode_file_key(
                    episode.show, episode.slug, "chapters", content_hash(data), ".json"
                ),
            )
        for suffix, mime in TRANSCRIPT_TYPES.items():
            transcript = folder / f"{episode.slug}.transcript{suffix}"
            if transcript.is_file():
                key = episode_file_key(
                    episode.show, episode.slug, "transcript", file_hash(transcript), suffix
                )
                transcript_url, transcript_type = public_url(base, key), mime
        if episode.image:
            image = episode.resolve(episode.image)
            image_url = public_url(
                base,
                episode_file_key(
                    episode.show, episode.slug, "image", file_hash(image), image.suffix.lower()
                ),
            )
        inputs.episodes[episode.guid] = EpisodeMedia(
            url=public_url(base, audio_key(episode.show, episode.slug, report["sha256"])),
            bytes=int(report["bytes"]),
            duration_s=float(report["duration_s"]),
            mime=AUDIO_TYPES[".mp3"],
            html=html,
            summary=summary,
            chapters_url=chapters_url,
            transcript_url=transcript_url,
            transcript_type=transcript_type,
            image_url=image_url,
        )
    return inputs


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""
