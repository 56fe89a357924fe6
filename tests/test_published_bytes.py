"""Every byte `podcast publish` writes for the sample network — audio of every format, artwork,
chapters, transcripts, feeds, pages, each object's metadata, the manifest and its history — is the
golden one (tests/golden/published.py says how it is made and regenerated)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.golden.published import GOLDEN, encoder, published

REGENERATE = (
    "if the change is intended, regenerate with `.venv/bin/python -m tests.golden.published` "
    "and review `git diff tests/golden/published.json`"
)


@pytest.mark.slow
def test_every_published_byte_of_the_sample_network_is_the_golden_one(tmp_path: Path):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    if encoder() != golden["encoder"]:
        pytest.skip(f"the golden audio was encoded by {golden['encoder']!r}, not this ffmpeg")
    got = published(tmp_path)
    for part in ("store", "state"):
        missing = sorted(set(golden[part]) - set(got[part]))
        extra = sorted(set(got[part]) - set(golden[part]))
        changed = sorted(
            k for k in golden[part].keys() & got[part].keys() if golden[part][k] != got[part][k]
        )
        assert (missing, extra, changed) == ([], [], []), f"{part}: {REGENERATE}"
