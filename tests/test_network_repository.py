"""A network repository a team can push as it is: what `podcast init` writes besides the network
(the publishing workflow, podcast-tools.txt, .gitattributes, .gitignore, a README), and `podcast
upgrade-workflow`, which rewrites the workflow and podcast-tools.txt for the version it is.
(tests/test_workflow.py runs such a repository's workflow steps after a push.)"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from podcast_tools import __version__
from podcast_tools.workflow import header_of, render_network_workflow, requirement_line
from tests.conftest import REPO, podcast

WORKFLOW = Path(".github/workflows/publish.yml")
REQUIREMENTS = Path("podcast-tools.txt")
WRITTEN = {
    ".gitattributes",
    ".gitignore",
    "README.md",
    ".github/workflows/publish.yml",
    "podcast-tools.txt",
    "episodes/network.toml",
    "episodes/art/cover.png",
    "episodes/main/001-welcome.md",
    "episodes/main/001-welcome.wav",
    "templates/episode.html.j2",
    "templates/episode.md.j2",
    "templates/episode.txt.j2",
}


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"git {args}: {done.stderr}"
    return done.stdout


@pytest.fixture
def network(tmp_path: Path) -> Path:
    root = tmp_path / "network"
    podcast(None, "init", str(root), ok=True)
    return root


def test_init_writes_every_file_of_a_repository_and_validates(network):
    files = {p.relative_to(network).as_posix() for p in network.rglob("*") if p.is_file()}
    assert files == WRITTEN
    podcast(network, "validate", ok=True)


def test_everything_init_writes_is_committed_and_the_masters_go_to_lfs(network):
    git("init", "-q", "-b", "main", cwd=network)
    git("lfs", "install", "--local", cwd=network)
    git("add", "-A", cwd=network)
    assert set(git("ls-files", cwd=network).split()) == WRITTEN  # nothing ignored
    assert git("lfs", "ls-files", "--name-only", cwd=network).split() == [
        "episodes/main/001-welcome.wav"
    ]
    ignored = (network / ".gitignore").read_text()
    assert ".venv/" in ignored and "/build/" in ignored and "/public/" in ignored


def test_podcast_tools_txt_pins_the_version_that_wrote_it(network):
    text = (network / REQUIREMENTS).read_text()
    assert requirement_line(text) == ("", __version__)  # the scaffold transcribes nothing
    pins = dict(line.split("==") for line in text.splitlines() if "==" in line and line[0] != "#")
    assert pins.pop("podcast_tools") == __version__
    constraints = (REPO / "constraints.txt").read_text()
    for name, version in pins.items():  # the tested versions, and only those
        assert f"\n{name}=={version}\n" in constraints, name
    assert "boto3" in pins and "numpy" in pins
    assert "faster-whisper" not in pins  # the transcribe extra's: not needed here
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert not any("--hash" in line for line in lines)
    assert "No --hash lines" in text  # and says why there are none


def test_the_package_ships_the_tested_pins():
    """podcast_tools/data/constraints.txt (what init pins a network's CI to) is constraints.txt."""
    shipped = REPO / "podcast_tools" / "data" / "constraints.txt"
    assert shipped.read_text() == (REPO / "constraints.txt").read_text(), (
        "cp constraints.txt podcast_tools/data/constraints.txt"
    )


def test_the_workflow_is_the_versions_and_says_so(network):
    text = (network / WORKFLOW).read_text()
    assert text == render_network_workflow()
    assert header_of(text) == (__version__, True)
    workflow = yaml.safe_load(text)
    (install,) = [
        s for s in workflow["jobs"]["publish"]["steps"] if "pip install" in s.get("run", "")
    ]
    assert install["run"].startswith("python -m pip install -r podcast-tools.txt")


def test_the_readme_tells_producers_what_ci_needs(network):
    readme = (network / "README.md").read_text()
    for needed in (
        "podcast new",
        "podcast validate",
        "podcast preview",
        "PODCAST_STORAGE",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ROLE_ARN",
        "AWS_ACCESS_KEY_ID",
        "git lfs install",
        "podcast upgrade-workflow",
    ):
        assert needed in readme, needed


def test_init_writes_over_no_file_of_a_team(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    (root / "README.md").write_text("Our own README\n")
    result = podcast(None, "init", str(root))
    assert result.exit_code == 2
    assert "README.md" in result.output and len(result.stderr.strip().splitlines()) == 1
    assert [p.name for p in root.iterdir()] == ["README.md"]  # nothing written
    assert (root / "README.md").read_text() == "Our own README\n"


# -- upgrade-workflow ------------------------------------------------------------------------------


def as_if_written_by(root: Path, version: str) -> None:
    """The repository as an older podcast_tools `version` wrote it (with a line the team added)."""
    (root / WORKFLOW).write_text(render_network_workflow(version))
    text = (root / REQUIREMENTS).read_text()
    text = text.replace(f"podcast_tools=={__version__}", f"podcast_tools[transcribe]=={version}")
    (root / REQUIREMENTS).write_text(text + "our-plugin==2.0  # ours\n")


def test_upgrade_rewrites_an_older_versions_files(network):
    as_if_written_by(network, "0.0.9")
    result = podcast(network, "upgrade-workflow", ok=True)
    assert f"{WORKFLOW}: 0.0.9 → {__version__}" in result.stdout
    assert f"{REQUIREMENTS}: 0.0.9 → {__version__}" in result.stdout
    assert (network / WORKFLOW).read_text() == render_network_workflow()
    text = (network / REQUIREMENTS).read_text()
    assert requirement_line(text) == ("[transcribe]", __version__)  # the extra kept
    assert text.endswith("our-plugin==2.0  # ours\n")  # the team's line kept
    assert "faster-whisper==" in text  # the extra's tested versions too
    again = podcast(network, "upgrade-workflow", ok=True)
    assert again.stdout.startswith("nothing to change")


def test_upgrade_with_nothing_to_change(network):
    before = {p: p.read_bytes() for p in (network / WORKFLOW, network / REQUIREMENTS)}
    result = podcast(network, "upgrade-workflow", ok=True)
    assert result.stdout.startswith("nothing to change")
    assert {p: p.read_bytes() for p in before} == before


def test_upgrade_leaves_a_hand_edited_workflow_alone_without_force(network):
    as_if_written_by(network, "0.0.9")
    workflow = network / WORKFLOW
    edited = workflow.read_text().replace('cron: "7 * * * *"', 'cron: "37 * * * *"')
    workflow.write_text(edited)
    requirements = (network / REQUIREMENTS).read_text()
    result = podcast(network, "upgrade-workflow")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "publish.yml" in line and "edited by hand" in line and "--force" in line
    assert workflow.read_text() == edited  # nothing changed, neither file
    assert (network / REQUIREMENTS).read_text() == requirements
    result = podcast(network, "upgrade-workflow", "--force", ok=True)
    assert f"{WORKFLOW}: 0.0.9 → {__version__}" in result.stdout
    assert workflow.read_text() == render_network_workflow()


def test_upgrade_refuses_a_workflow_podcast_tools_did_not_write(network):
    (network / WORKFLOW).write_text("name: ours\n")
    result = podcast(network, "upgrade-workflow")
    assert result.exit_code == 2 and "not written by podcast_tools" in result.stderr
    assert (network / WORKFLOW).read_text() == "name: ours\n"


def test_upgrade_adds_the_extra_a_network_turns_on(network):
    toml = network / "episodes" / "network.toml"
    text = toml.read_text()
    toml.write_text(re.sub(r"(?m)^\[defaults\].*$", r"\g<0>\ntranscripts = { auto = true }", text))
    result = podcast(network, "upgrade-workflow", ok=True)
    assert f"{REQUIREMENTS}: {__version__} → {__version__}" in result.stdout
    assert requirement_line((network / REQUIREMENTS).read_text()) == ("[transcribe]", __version__)


def test_upgrade_writes_missing_files(network):
    (network / WORKFLOW).unlink()
    result = podcast(network, "upgrade-workflow", ok=True)
    assert f"{WORKFLOW}: none → {__version__}" in result.stdout
    assert (network / WORKFLOW).read_text() == render_network_workflow()


def test_upgrade_in_a_folder_with_no_network(tmp_path):
    result = podcast(None, "--root", str(tmp_path), "upgrade-workflow")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "network.toml" in line
