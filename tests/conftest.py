from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from podcast_tools.content import load_network
from podcast_tools.errors import ContentError, Problem

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A private copy of the repository's sample network, free to edit."""
    root = tmp_path / "network"
    shutil.copytree(REPO / "episodes", root / "episodes")
    shutil.copytree(REPO / "templates", root / "templates")
    return root


def edit(path: Path, old: str, new: str) -> None:
    """Replace exactly one occurrence of `old` in a file (fails loudly if it is not there once)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(ContentError) as caught:
        load_network(root)
    return caught.value.problems


def find_problem(problems: list[Problem], file: str, field: str) -> Problem:
    """The problem about `field` of `file`; fails listing what was reported instead."""
    for problem in problems:
        if problem.file == file and problem.field == field:
            return problem
    listed = "\n".join(str(p) for p in problems)
    raise AssertionError(f"no problem for {file}: {field}; got:\n{listed}")
