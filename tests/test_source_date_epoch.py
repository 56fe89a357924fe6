"""SOURCE_DATE_EPOCH is checked when a command that writes feeds starts (issue 25 review): a value
in milliseconds failed mid-publish, after the uploads (`ValueError: year 56870 is out of range`),
and `1e9` or `-5` were silently ignored. Now: exit 2, one line naming the variable and its value,
nothing uploaded or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import podcast

BAD = [
    "1732500000000",
    "1e9",
    "-5",
    "86400",
    "17325e5",
    "１７３２５００００００",
    "253402300800",
    "9" * 5000,  # past int()'s digit limit: still one line
]
EPISODE = "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"


def _one_line_naming(result, value: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "SOURCE_DATE_EPOCH" in lines[0] and f'"{value}"' in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("value", BAD)
def test_feed_refuses_a_bad_source_date_epoch_and_writes_nothing(
    sample: Path, tmp_path: Path, monkeypatch, value
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    out = tmp_path / "feeds"
    _one_line_naming(podcast(sample, "feed", "--out", str(out)), value)
    assert not out.exists()


def test_publish_refuses_milliseconds_before_anything_is_uploaded(
    sample: Path, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1732500000000")
    store = tmp_path / "store"
    result = podcast(sample, "publish", EPISODE, "--storage", f"file://{store}")
    _one_line_naming(result, "1732500000000")
    assert not store.exists() and not (tmp_path / "store.state").exists()


def test_unpublish_refuses_it_too(sample: Path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "-5")
    _one_line_naming(podcast(sample, "unpublish", EPISODE), "-5")


@pytest.mark.parametrize("value", ["", "  ", "31536000", "1764061200", " 1764061200 "])
def test_seconds_in_range_or_unset_are_taken(sample: Path, tmp_path: Path, monkeypatch, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    podcast(sample, "feed", "--out", str(tmp_path / "feeds"), ok=True)
