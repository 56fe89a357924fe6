"""The CI publishing workflow is a valid GitHub Actions workflow and runs the publish command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "publish.yml"


def test_workflow_validates_against_the_github_schema():
    tool = Path(sys.executable).parent / "check-jsonschema"
    command = str(tool) if tool.is_file() else shutil.which("check-jsonschema")
    assert command, "check-jsonschema comes with the test extras"
    done = subprocess.run(
        [command, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_publishes_changes_on_merge_and_hourly():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as true
    assert triggers["push"]["branches"] == ["main"]
    assert set(triggers["push"]["paths"]) == {"episodes/**", "templates/**"}
    assert triggers["schedule"]
    runs = [step.get("run", "") for step in workflow["jobs"]["publish"]["steps"]]
    assert any("podcast publish --changed-since" in run for run in runs)
    assert workflow["permissions"]["id-token"] == "write"
