"""Publishing a show with several formats: every file content-addressed, verified, in the manifest;
adding a format re-renders the show's published episodes once (and `--dry-run` says so first)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import edit
from tests.test_publish_reuse import logged_podcast

EPISODE = "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"
OTHER = "episodes/itsmwp/002-change-advisory-boards.md"  # a show that keeps the MP3 alone
ROW = 'podcast_guid = "ea43e53f-4ffa-5329-8538-e7c409dd2136"\n'


def opus_encodes(log: Path) -> list[str]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [line for line in lines if "libopus" in line]


def manifest(state: Path) -> dict:
    return json.loads((state / "manifest.json").read_text())


@pytest.mark.slow
def test_adding_formats_rerenders_the_show_once(sample: Path, tmp_path: Path, logged_ffmpeg: Path):
    store, state = tmp_path / "public", tmp_path / "public.state"

    def publish(*extra: str):
        logged_ffmpeg.unlink(missing_ok=True)
        return logged_podcast(
            sample,
            logged_ffmpeg,
            "publish",
            str(sample / EPISODE),
            str(sample / OTHER),
            "--storage",
            f"file://{store}",
            "--state",
            f"file://{state}",
            *extra,
        )

    publish()
    first = manifest(state)["episodes"]
    other_guid = next(g for g, e in first.items() if e["show"] == "itsmwp")
    row_guid = next(g for g, e in first.items() if e["show"] == "itsmwp-row")
    assert [a["format"] for a in first[row_guid]["audio"]] == ["mp3"]

    edit(sample / "episodes" / "network.toml", ROW, ROW + 'formats = ["mp3", "m4a", "opus"]\n')
    plan = publish("--dry-run")
    said = plan.stdout + plan.stderr
    assert f"{EPISODE}  (adds m4a, opus: re-rendered once, every format from one render)" in said
    assert OTHER not in said.split("unchanged audio")[0]
    assert opus_encodes(logged_ffmpeg) == []  # a dry run renders nothing

    summary = json.loads(publish("--json").stdout)
    assert summary["episodes_processed"] == [EPISODE]  # the other show is left alone
    # one render fed the three encoders: one Opus encode for the file (and one codec probe)
    assert len(opus_encodes(logged_ffmpeg)) == 2, opus_encodes(logged_ffmpeg)
    entry = manifest(state)["episodes"][row_guid]
    assert [a["format"] for a in entry["audio"]] == ["mp3", "m4a", "opus"]
    types = {a["format"]: a["type"] for a in entry["audio"]}
    assert types["mp3"] == "audio/mpeg" and types["opus"].startswith("audio/")
    for audio in entry["audio"]:
        data = (store / audio["key"]).read_bytes()
        assert len(data) == audio["bytes"]
        assert hashlib.sha256(data).hexdigest() == audio["sha256"]
        named = audio["key"].rsplit("-", 1)[1].split(".")[0]  # <slug>-<hash prefix>.<suffix>
        assert audio["sha256"].startswith(named)
        assert audio["key"].endswith("." + audio["format"])
    assert manifest(state)["episodes"][other_guid] == first[other_guid]

    again = publish("--json")
    assert json.loads(again.stdout)["episodes_processed"] == []  # once
    assert opus_encodes(logged_ffmpeg) == []
