"""A bad analysis-cache entry never reaches the audio (issue 20, item 1).

Repro: publish, rewrite `build/.cache/analysis/<key>.npz` as a valid .npz whose energies are
`np.full(600, 1e30, float32)`, change the show's `target_lufs`, publish again: rc 0, and the
episode was published at −70 LUFS (peak −inf). Empty arrays gave a traceback ("cannot reshape
array of size 0") and zeros "holds only silence" on every run; the entry was never evicted.
`build/.cache` is what CI restores from a shared cache.

Now an entry is checked before use (its own checksum, keys, shapes against each other and the
master, finite values, physical ranges, its figures) and measured again when it fails (one note
line); and no file is kept whose rendered programme, metered by the render, is not on target.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.audio_tools import ffmpeg_loudness
from tests.conftest import edit
from tests.hostile.helpers import ROW1, podcast

ROW_TARGET = "loudness = { target_lufs = -19.0 }"
NEW_TARGET = -17.0  # the changed target: the episode is mastered again, pass 1 from the cache
TOLERANCE_LU = 0.3  # the project's verdict on a file's integrated loudness (README)


def entry_of(root: Path) -> Path:
    (entry,) = (root / "build" / ".cache" / "analysis").glob("*.npz")
    return entry


def rewrite(entry: Path, case: str) -> None:
    """Write `entry` again as a valid .npz holding the damage `case` (the other arrays kept)."""
    with np.load(entry, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    size = arrays["energy"].size
    if case == "issue-600-huge":
        arrays["energy"] = np.full(600, 1e30, np.float32)
    elif case == "huge":
        arrays["energy"] = np.full(size, 1e30, np.float32)
    elif case == "empty":
        arrays["energy"] = np.zeros(0, np.float32)
        arrays["frame_peaks"] = np.zeros(0, np.float32)
    elif case == "zeros":
        arrays["energy"] = np.zeros(size, np.float32)
    elif case == "nan":
        arrays["energy"] = np.full(size, np.nan, np.float32)
    elif case == "quieter":  # consistent-looking, but 12 dB off
        arrays["energy"] = arrays["energy"] / np.float32(16.0)
    else:
        raise AssertionError(case)
    with entry.open("wb") as handle:
        np.savez(handle, **arrays)


def published_mp3s(store: Path) -> list[Path]:
    return sorted(p for p in store.rglob("*.mp3") if "itsmwp-row" in p.parts)


@pytest.mark.parametrize("case", ["issue-600-huge", "huge", "empty", "zeros", "nan", "quieter"])
def test_a_bad_cache_entry_is_measured_again_and_the_episode_lands_on_target(
    sample: Path, tmp_path: Path, case: str
):
    first = podcast(sample, "publish", ROW1, "--storage", f"file://{tmp_path / 'one'}")
    assert first.exit_code == 0, first.output
    entry = entry_of(sample)
    rewrite(entry, case)
    edit(
        sample / "episodes/network.toml", ROW_TARGET, f"loudness = {{ target_lufs = {NEW_TARGET} }}"
    )

    store = tmp_path / "two"
    result = podcast(sample, "publish", ROW1, "--storage", f"file://{store}")
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    (mp3,) = published_mp3s(store)
    measured = ffmpeg_loudness(mp3)
    assert measured["I"] == pytest.approx(NEW_TARGET, abs=TOLERANCE_LU), measured
    assert measured["TP"] <= -1.0
    notes = [line for line in result.stderr.splitlines() if "analysis cache" in line]
    assert len(notes) == 1 and notes[0].startswith("note: "), result.stderr
    assert "measured again" in notes[0]

    # the damaged entry was replaced by a good one: the next change renders from the cache
    edit(
        sample / "episodes/network.toml",
        f"loudness = {{ target_lufs = {NEW_TARGET} }}",
        "loudness = { target_lufs = -18.0 }",
    )
    again = podcast(sample, "publish", ROW1, "--storage", f"file://{tmp_path / 'three'}")
    assert again.exit_code == 0, again.output
    assert "analysis cache" not in again.stderr
    (mp3,) = published_mp3s(tmp_path / "three")
    assert ffmpeg_loudness(mp3)["I"] == pytest.approx(-18.0, abs=TOLERANCE_LU)
