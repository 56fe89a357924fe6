"""`publish` reuses what `process` built from the same inputs: each episode is mastered once.

The commands run as a producer runs them (a subprocess each), with PODCAST_FFMPEG pointing at a
wrapper that logs every invocation of the real ffmpeg before running it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Ran, edit, ffmpeg_logged, podcast

EPISODE = "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"


def logged_podcast(root: Path, log: Path, *args: str) -> Ran:
    """`podcast ARGS…` in its own process, its ffmpeg runs logged in `log`; must exit 0."""
    return podcast(root, *args, process=True, ok=True, env=ffmpeg_logged(log))


def encodes(log: Path) -> int:
    """ffmpeg runs that encoded MP3 (mastering and its codec probe) since the log was cleared."""
    if not log.exists():
        return 0
    return sum("libmp3lame" in line for line in log.read_text().splitlines())


@pytest.mark.slow
def test_process_then_publish_masters_once(sample: Path, tmp_path: Path, logged_ffmpeg: Path):
    logged_podcast(sample, logged_ffmpeg, "process", str(sample / EPISODE))
    assert encodes(logged_ffmpeg) > 0
    built = sample / "build/itsmwp-row/001-outsourcing-the-service-desk.mp3"
    before = built.stat()
    logged_ffmpeg.unlink()

    store = tmp_path / "store"
    done = logged_podcast(
        sample,
        logged_ffmpeg,
        "publish",
        str(sample / EPISODE),
        "--storage",
        f"file://{store}",
        "--json",
    )
    summary = json.loads(done.stdout)
    assert summary["episodes_processed"] == [EPISODE]
    assert summary["episodes_reused"] == [EPISODE]
    assert encodes(logged_ffmpeg) == 0, logged_ffmpeg.read_text()
    after = built.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    published = [k["key"] for k in summary["objects_uploaded"] if k["key"].endswith(".mp3")]
    assert len(published) == 1
    assert (store / published[0]).read_bytes() == built.read_bytes()

    plain = logged_podcast(
        sample,
        logged_ffmpeg,
        "publish",
        str(sample / EPISODE),
        "--storage",
        f"file://{tmp_path / 'second-store'}",
    )
    assert "reusing build/itsmwp-row/001-outsourcing-the-service-desk.mp3" in plain.stderr
    assert encodes(logged_ffmpeg) == 0


@pytest.mark.slow
def test_changed_inputs_are_mastered_again(sample: Path, tmp_path: Path, logged_ffmpeg: Path):
    """An input of the audio changed (here the show's loudness target): the build is not
    reused. (A change of what the tags say only re-tags it: tests/test_retag.py.)"""
    logged_podcast(sample, logged_ffmpeg, "process", str(sample / EPISODE))
    edit(
        sample / "episodes" / "network.toml",
        "loudness = { target_lufs = -19.0 }",
        "loudness = { target_lufs = -18.0 }",
    )
    logged_ffmpeg.unlink()
    done = logged_podcast(
        sample,
        logged_ffmpeg,
        "publish",
        str(sample / EPISODE),
        "--storage",
        f"file://{tmp_path / 'store'}",
        "--json",
    )
    summary = json.loads(done.stdout)
    assert summary["episodes_reused"] == []
    assert encodes(logged_ffmpeg) > 0


@pytest.mark.slow
def test_a_build_with_other_id3_version_or_damaged_mp3_is_not_reused(
    sample: Path, tmp_path: Path, logged_ffmpeg: Path
):
    logged_podcast(sample, logged_ffmpeg, "process", str(sample / EPISODE), "--id3v24")
    done = logged_podcast(
        sample,
        logged_ffmpeg,
        "publish",
        str(sample / EPISODE),
        "--storage",
        f"file://{tmp_path / 'a'}",
        "--json",
    )
    assert json.loads(done.stdout)["episodes_reused"] == []

    built = sample / "build/itsmwp-row/001-outsourcing-the-service-desk.mp3"
    data = bytearray(built.read_bytes())
    data[-100] ^= 0xFF  # same size, other content
    built.write_bytes(bytes(data))
    done = logged_podcast(
        sample,
        logged_ffmpeg,
        "publish",
        str(sample / EPISODE),
        "--storage",
        f"file://{tmp_path / 'b'}",
        "--json",
    )
    assert json.loads(done.stdout)["episodes_reused"] == []
