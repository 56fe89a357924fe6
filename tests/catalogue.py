"""A generated back catalogue: one show, `count` episodes of speech-like masters made with
ffmpeg's synthetic sources (each with a seed of its own), for tests and benchmarks of batches."""

from __future__ import annotations

import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from podcast_tools.audio.synth import speech_like_master
from podcast_tools.content import feed_url, podcast_guid_for
from podcast_tools.content.loader import publisher_feed_url

BASE_URL = "https://example.com/"
FIRST_DATE = datetime(2024, 1, 1, 9, tzinfo=timezone.utc)


def make_catalogue(
    root: Path, *, count: int, seconds: float, target_lufs: float = -16.0, storage: str = ""
) -> list[Path]:
    """Write the network under `root`; return its episode files, oldest first."""
    from podcast_tools.scaffold import _placeholder_artwork

    show = root / "episodes" / "archive"
    (show / "art").mkdir(parents=True, exist_ok=True)
    (show / "art" / "cover.png").write_bytes(_placeholder_artwork())
    (root / "episodes" / "network.toml").write_text(
        textwrap.dedent(f"""\
        [network]
        name = "Back Catalogue"
        base_url = "{BASE_URL}"
        storage = "{storage or 'file://public'}"
        podcast_guid = "{podcast_guid_for(publisher_feed_url(BASE_URL))}"

        [shows.archive]
        title = "The Archive"
        description = "Every episode ever made, mastered again."
        author = "Archivist"
        owner = {{ name = "Archivist", email = "archive@example.com" }}
        language = "en"
        category = "Technology"
        artwork = "archive/art/cover.png"
        podcast_guid = "{podcast_guid_for(feed_url(BASE_URL, "archive"))}"
        loudness = {{ target_lufs = {target_lufs}, true_peak_dbtp = -1.0 }}
        mp3 = {{ bitrate = 96, channels = 2, sample_rate = 44100 }}
        """),
        encoding="utf-8",
    )
    episodes = []
    for number in range(1, count + 1):
        master = speech_like_master(
            show / f"{number:03d}-part.wav", seconds, silence_s=1.0, seed=number
        )
        episode = show / f"{number:03d}-part.md"
        episode.write_text(
            textwrap.dedent(f"""\
            ---
            title: Part {number}
            guid: {uuid.uuid5(uuid.NAMESPACE_URL, f"{BASE_URL}archive/{number}")}
            date: {(FIRST_DATE + timedelta(days=7 * number)).isoformat()}
            number: {number}
            audio: {master.name}
            ---
            Part {number} of the archive.
            """),
            encoding="utf-8",
        )
        episodes.append(episode)
    return episodes


def set_target(root: Path, target_lufs: float) -> None:
    """Change the show's loudness target (every episode must be mastered again)."""
    toml = root / "episodes" / "network.toml"
    lines = toml.read_text(encoding="utf-8").splitlines()
    changed = [
        f"loudness = {{ target_lufs = {target_lufs}, true_peak_dbtp = -1.0 }}"
        if line.startswith("loudness = ")
        else line
        for line in lines
    ]
    toml.write_text("\n".join(changed) + "\n", encoding="utf-8")
