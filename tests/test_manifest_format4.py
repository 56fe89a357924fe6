"""Manifest format 4 (issue 25 review): the audio objects' optional "bitrate" is a key format 3's
schema refuses (additionalProperties: false), so a manifest that may carry it says format 4 — a
podcast_tools that knows only format 3 then says "written by a newer podcast_tools; upgrade"
instead of calling it damaged and pointing at `podcast state restore` (a rollback)."""

from __future__ import annotations

import json

import pytest

from podcast_tools.publish.manifest import VERSION, Manifest, schema_problem
from podcast_tools.publish.storage import StorageError

AUDIO = {
    "format": "mp3",
    "type": "audio/mpeg",
    "key": "itsmwp/001-x.mp3",
    "bytes": 1000,
    "sha256": "0" * 64,
    "duration_s": 1.0,
}
ENTRY = {
    "show": "itsmwp",
    "shows": ["itsmwp"],
    "slug": "001-x",
    "audio": [AUDIO],
    "meta": {"title": "X", "date": "2026-10-01T08:00:00+00:00"},
    "html": "",
    "text": "",
}


def test_a_format_3_manifest_is_read_and_written_back_as_format_4():
    stored = {"version": 3, "generation": 7, "episodes": {"g": ENTRY}}
    assert schema_problem(stored, 3) is None
    manifest = Manifest.from_bytes(json.dumps(stored).encode(), None, where="m.json")
    written = json.loads(manifest.to_bytes())
    assert VERSION == 4 and written["version"] == 4
    assert written["episodes"] == stored["episodes"] and schema_problem(written) is None
    assert Manifest.from_bytes(manifest.to_bytes(), None).episodes == manifest.episodes


def test_a_bitrate_is_format_4_only():
    measured = {**ENTRY, "audio": [{**AUDIO, "bitrate": 128000}]}
    # what a format 3 podcast_tools checks a manifest against refuses the key: damage to it
    problem = schema_problem({"version": 3, "episodes": {"g": measured}}, 3)
    assert problem == "episodes.g.audio.0: has keys the format does not know"
    # so the manifests that carry it say format 4, which a format 3 reader calls newer
    written = Manifest(episodes={"g": measured}).to_bytes()
    assert json.loads(written)["version"] == 4
    assert schema_problem(json.loads(written), 4) is None


def test_a_newer_format_says_upgrade():
    document = {"version": VERSION + 1, "episodes": {}}
    with pytest.raises(StorageError) as caught:
        Manifest.from_bytes(json.dumps(document).encode(), None, where="m.json")
    assert str(caught.value) == (
        f"m.json: was written by a newer podcast_tools (format {VERSION + 1}); upgrade"
    )
