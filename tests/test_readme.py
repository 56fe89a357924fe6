"""The README stays true: CI runs exactly the test command it shows."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def command_after(heading: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(re.escape(heading) + r".*?```sh\n(.*?)\n```", text, re.S)
    assert block, f"no command after {heading!r} in the README"
    return block.group(1).strip()


def test_ci_runs_exactly_the_readmes_test_command():
    script = (REPO / ".ci/run").read_text(encoding="utf-8").strip().splitlines()
    assert script[-1] == command_after("**Run the tests**")


def test_the_readmes_main_job_publishes_the_sample_network():
    command = command_after("**Run the main job on the sample network**")
    assert command.endswith("podcast publish") and "pip install" in command


def test_no_merge_conflict_markers_are_left_in_the_tree():
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "*.md", "*.py", "*.toml", "*.yml", "*.j2", "*.json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    marker = re.compile(r"^(<<<<<<< |>>>>>>> |=======$)", re.MULTILINE)
    left = [
        name
        for name in tracked
        if (REPO / name).is_file() and marker.search((REPO / name).read_text(errors="replace"))
    ]
    assert left == [], f"merge conflict markers in {left}"
