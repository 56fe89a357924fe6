"""`podcast publish --dry-run` lists a feed the real run would refuse to write (it would lose an
item listeners have), and why, in the real run's words (issue 25 review: the dry run's list of
feeds that change skipped such a feed, so it promised a run the real one refused)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish.manifest import Manifest
from podcast_tools.publish.run import Publisher
from podcast_tools.publish.storage import open_storage
from tests.conftest import podcast

FIRST = "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"
SECOND = "episodes/itsmwp-row/002-knowledge-management.md"


@pytest.mark.slow
def test_the_dry_run_lists_a_feed_the_real_run_refuses_and_why(sample: Path, tmp_path: Path):
    store = f"file://{tmp_path / 'store'}"
    podcast(sample, "publish", FIRST, SECOND, "--storage", store, ok=True)
    feed = (tmp_path / "store/itsmwp-row/feed.xml").read_bytes()
    state = tmp_path / "store.state/manifest.json"
    manifest = json.loads(state.read_bytes())
    [second] = [g for g, e in manifest["episodes"].items() if e["slug"].startswith("002-")]
    del manifest["episodes"][second]  # an older manifest put back: it lacks the second episode
    state.write_text(json.dumps(manifest), encoding="utf-8")

    real = podcast(sample, "publish", FIRST, "--storage", store)
    assert real.exit_code == 3, real.output
    [refusal] = [line for line in real.stderr.splitlines() if "would drop" in line]
    assert f"(guid {second}), which listeners have" in refusal
    assert (tmp_path / "store/itsmwp-row/feed.xml").read_bytes() == feed
    dry = podcast(sample, "publish", FIRST, "--storage", store, "--dry-run")
    assert dry.exit_code == 3 and refusal in dry.stderr.splitlines()  # stopped as early

    # the list of feeds that change, which the dry run builds after that first check: it names
    # the feed and keeps the real run's words for it (it skipped it, silently)
    network = load_checked_network(sample)
    publisher = Publisher(network, open_storage(store, sample), say=lambda line: None)
    stale = Manifest.from_bytes(state.read_bytes(), None)
    refused: dict[str, list[str]] = {}
    now = datetime.now(timezone.utc)
    assert "itsmwp-row" in publisher._feeds_that_change([], stale, now, set())
    feeds = publisher._feeds_that_change([], stale, now, set(), refused)
    assert "itsmwp-row" in feeds and refused == {"itsmwp-row": [refusal]}
    text = publisher._plan_text([], None, feeds, [], refused)
    assert "itsmwp-row (refused: see below)" in text
    assert f"the real run would stop before writing any feed:\n  {refusal}" in text
