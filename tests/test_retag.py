"""Work in proportion to the change: a tag-only change re-tags the mastered audio — from build/,
or fetched from storage when the build is gone (CI) — without running ffmpeg, and the audio
frames stay byte for byte; an audio change still masters again.

The commands run as a producer runs them (a subprocess each), with PODCAST_FFMPEG pointing at a
wrapper that logs every ffmpeg run (validation's probes included)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from mutagen.id3 import ID3

from podcast_tools.ffmpeg import ffmpeg_exe
from podcast_tools.tags import read_mp4_tags, read_opus_tags, read_tags
from tests.conftest import edit
from tests.test_publish_reuse import logged_podcast

EPISODE = "episodes/itsmwp-anz/002-itil4-in-nz-government.md"  # MP3 + M4A + Opus, chapters
OTHER = "episodes/itsmwp/002-change-advisory-boards.md"
READERS = {".mp3": read_tags, ".m4a": read_mp4_tags, ".opus": read_opus_tags}


def ffmpeg_runs(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def packets(path: Path) -> bytes:
    """The audio stream's packets as stored (ffmpeg's stream copy to raw data: no decoding)."""
    return subprocess.run(
        [
            ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-c",
            "copy",
            "-f",
            "data",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout


def manifest(state: Path) -> dict:
    return json.loads((state / "manifest.json").read_text())


def published_audio(store: Path, state: Path, guid: str) -> dict[str, Path]:
    return {
        Path(a["key"]).suffix: store / a["key"] for a in manifest(state)["episodes"][guid]["audio"]
    }


@pytest.fixture
def published(sample: Path, tmp_path: Path, logged_ffmpeg: Path):
    store, state = tmp_path / "public", tmp_path / "public.state"
    where = ["--storage", f"file://{store}", "--state", f"file://{state}"]

    def publish(*extra: str) -> dict:
        logged_ffmpeg.unlink(missing_ok=True)
        done = logged_podcast(
            sample,
            logged_ffmpeg,
            "publish",
            str(sample / EPISODE),
            str(sample / OTHER),
            *where,
            "--json",
            *extra,
        )
        return json.loads(done.stdout)

    first = publish()
    assert sorted(first["episodes_processed"]) == sorted([EPISODE, OTHER])
    guid = next(g for g, e in manifest(state)["episodes"].items() if e["show"] == "itsmwp-anz")
    return sample, store, state, guid, publish


@pytest.mark.parametrize("build_gone", [False, True], ids=["from-build", "fetched-from-storage"])
def test_a_title_fix_retags_without_ffmpeg_and_keeps_the_audio_frames(
    published, logged_ffmpeg: Path, build_gone: bool
):
    sample, store, state, guid, publish = published
    before = published_audio(store, state, guid)
    before_packets = {suffix: packets(path) for suffix, path in before.items()}
    old_entry = manifest(state)["episodes"][guid]
    if build_gone:
        shutil.rmtree(sample / "build" / "itsmwp-anz")  # a CI runner: nothing built here
    edit(sample / EPISODE, "\ntitle: ", "\ntitle: Fixed — ")

    plan = publish("--dry-run")
    assert plan["episodes_processed"] == [] and plan["episodes_retagged"] == [EPISODE]
    summary = publish()
    assert ffmpeg_runs(logged_ffmpeg) == []  # validation, re-tagging, feeds, site: no ffmpeg
    assert summary["episodes_processed"] == [] and summary["episodes_retagged"] == [EPISODE]

    entry = manifest(state)["episodes"][guid]
    assert entry["fingerprint"] == old_entry["fingerprint"]  # the audio's: unchanged
    assert entry["tags_fingerprint"] != old_entry["tags_fingerprint"]
    after = published_audio(store, state, guid)
    assert set(after) == {".mp3", ".m4a", ".opus"}
    for suffix, path in after.items():
        assert path != before[suffix]  # a new content key for new bytes
        assert READERS[suffix](path).fields["title"].startswith("Fixed — ")
        assert packets(path) == before_packets[suffix], suffix  # the audio, byte for byte
    # the MP3 is its old bytes after the ID3 tag
    old_mp3, new_mp3 = before[".mp3"].read_bytes(), after[".mp3"].read_bytes()
    assert old_mp3[ID3(before[".mp3"]).size :] == new_mp3[ID3(after[".mp3"]).size :]
    assert not (sample / "build" / ".cache" / "retag").exists()  # scratch files cleaned up

    again = publish()
    assert again["episodes_retagged"] == [] and again["episodes_processed"] == []


def test_an_audio_change_still_masters(published, logged_ffmpeg: Path):
    sample, store, state, guid, publish = published
    edit(sample / "episodes" / "network.toml", "opus = { bitrate = 48 }", "opus = { bitrate = 40 }")
    summary = publish()
    assert summary["episodes_processed"] == [EPISODE] and summary["episodes_retagged"] == []
    assert any("libopus" in line for line in ffmpeg_runs(logged_ffmpeg))


def test_a_build_with_stale_tags_is_retagged_in_place(published, logged_ffmpeg: Path):
    """`process` built it, then the title changed: publish re-tags the build, no mastering."""
    sample, store, state, guid, publish = published
    edit(sample / EPISODE, "\ntitle: ", "\ntitle: Again — ")
    mp3 = sample / "build" / "itsmwp-anz" / "002-itil4-in-nz-government.mp3"
    report = json.loads(mp3.with_suffix(".json").read_text())
    summary = publish()
    assert summary["episodes_retagged"] == [EPISODE]
    assert read_tags(mp3).fields["title"].startswith("Again — ")
    updated = json.loads(mp3.with_suffix(".json").read_text())
    assert updated["fingerprint"] == report["fingerprint"]
    assert updated["tags_fingerprint"] != report["tags_fingerprint"]
    assert {f["format"]: f["sha256"] for f in updated["files"]} == {
        Path(a["key"]).suffix[1:]: a["sha256"] for a in manifest(state)["episodes"][guid]["audio"]
    }
