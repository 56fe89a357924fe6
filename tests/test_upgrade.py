"""Upgrading from podcast_tools 0.1, which recorded one fingerprint per episode: an entry it
published from the episode's inputs as they are today is adopted (today's two fingerprints put in
its place) — no mastering, no re-tagging, no ffmpeg. (That this version's MP3 and 0.1's one
fingerprint are what 0.1 made was checked against 0.1's own code when this was written.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.fingerprints import legacy_fingerprint
from tests.conftest import edit
from tests.test_publish_reuse import logged_podcast

MP3_ONLY = "episodes/itsmwp/002-change-advisory-boards.md"
THREE_FORMATS = "episodes/itsmwp-anz/002-itil4-in-nz-government.md"


@pytest.mark.slow
def test_entries_of_the_previous_version_are_adopted_without_ffmpeg(
    sample: Path, tmp_path: Path, logged_ffmpeg: Path
):
    store, state = tmp_path / "public", tmp_path / "public.state"

    def publish(*extra: str) -> dict:
        logged_ffmpeg.unlink(missing_ok=True)
        done = logged_podcast(
            sample,
            logged_ffmpeg,
            "publish",
            str(sample / MP3_ONLY),
            "--storage",
            f"file://{store}",
            "--state",
            f"file://{state}",
            "--json",
            *extra,
        )
        return json.loads(done.stdout)

    publish()
    path = state / "manifest.json"
    today = json.loads(path.read_text())
    network = load_checked_network(sample)
    episode = network.episode_at(sample / MP3_ONLY)
    (guid,) = today["episodes"]
    as_then = {k: v for k, v in today["episodes"][guid].items() if k != "tags_fingerprint"}
    as_then["fingerprint"] = legacy_fingerprint(network, episode)
    path.write_text(json.dumps({**today, "episodes": {guid: as_then}}))

    plan = publish("--dry-run")
    assert plan["episodes_processed"] == [] and plan["episodes_retagged"] == []
    summary = publish()
    assert summary["episodes_processed"] == [] and summary["episodes_retagged"] == []
    assert not logged_ffmpeg.exists(), logged_ffmpeg.read_text()  # not one ffmpeg run
    adopted = json.loads(path.read_text())["episodes"][guid]
    assert adopted == today["episodes"][guid]  # today's two fingerprints, the same files

    # an entry of 0.1 whose inputs changed since is mastered again (one fingerprint cannot say
    # whether the audio changed)
    path.write_text(json.dumps({**today, "episodes": {guid: as_then}}))
    edit(sample / MP3_ONLY, "\ntitle: ", "\ntitle: Revised, ")
    assert publish()["episodes_processed"] == [MP3_ONLY]


def test_no_entry_of_a_show_with_more_formats_is_taken_for_the_previous_versions():
    from tests.conftest import REPO

    network = load_checked_network(REPO)
    anz = network.episode_at(REPO / THREE_FORMATS)
    assert legacy_fingerprint(network, anz) is None  # 0.1 had the MP3 alone
    assert legacy_fingerprint(network, network.episode_at(REPO / MP3_ONLY))
