"""The sample network's feeds, byte for byte against tests/golden/feeds/ (fixed media facts, so no
encoder or machine changes a byte). Regenerate on purpose only: python -m tests.golden.regenerate"""

from __future__ import annotations

import difflib

import pytest

from tests.golden.regenerate import FEEDS_DIR, golden_feeds, golden_path

REGENERATE = (
    "if the change is intended, regenerate with `.venv/bin/python -m tests.golden.regenerate` "
    "and review `git diff tests/golden/feeds`"
)
NAMES = ("itsmwp", "itsmwp-anz", "itsmwp-row", "publisher")


@pytest.fixture(scope="module")
def built() -> dict[str, bytes]:
    return golden_feeds()


def test_there_is_one_golden_feed_per_show_and_the_publisher(built):
    assert sorted(built) == sorted(NAMES)
    assert sorted(p.stem for p in FEEDS_DIR.glob("*.xml")) == sorted(NAMES), REGENERATE


@pytest.mark.parametrize("name", NAMES)
def test_feed_matches_its_golden_file_byte_for_byte(name, built):
    path = golden_path(name)
    assert path.is_file(), f"{path} is missing; {REGENERATE}"
    expected, got = path.read_bytes(), built[name]
    if got == expected:
        return
    diff = "".join(
        difflib.unified_diff(
            expected.decode("utf-8", "replace").splitlines(keepends=True),
            got.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"tests/golden/feeds/{name}.xml (golden)",
            tofile=f"{name}.xml (built now)",
        )
    )
    pytest.fail(
        f"{name}.xml differs from its golden file:\n{diff or '(only in bytes: line ends?)'}\n"
        f"{REGENERATE}",
        pytrace=False,
    )


def test_golden_feeds_do_not_depend_on_the_day(built):
    # the same content builds the same bytes on a second load (nothing from the clock or a cache)
    assert golden_feeds() == built
