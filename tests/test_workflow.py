"""The CI publishing workflow: a valid GitHub Actions workflow, and its own shell steps, run with
bash in a shallow clone the way GitHub runs them, publish what they should — after a push, a
first push, a force-push, a manual run naming episodes, and the hourly run.

The steps run with the package installed as CI installs it (the non-editable wheel with the pinned
versions of constraints.txt, from tests/installed.py); the `uses:` steps are not run (the test
makes the shallow checkout itself) and neither is the pip install step (the package is installed
already). Storage is a local folder (file://); nothing beyond 127.0.0.1 is contacted.

The workflow is rendered from the package's template (podcast_tools/workflow.py): this
repository's, which installs the checkout, and a network repository's, written by `podcast init`,
which installs podcast_tools by version from podcast-tools.txt. A network made by `init`, its
masters in Git LFS, is pushed to a bare repository and published by its own workflow's steps —
install step included, from the built wheel — in a clone made without LFS smudging; the masters a
run does not need stay pointer files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml

from podcast_tools.workflow import render_checkout_workflow, render_network_workflow
from tests.installed import (
    CONSTRAINTS,
    NO_NETWORK,
    REPO,
    Installed,
    check_published,
    installed_package,
)
from tests.interview import write_wav

WORKFLOW = REPO / ".github" / "workflows" / "publish.yml"
NULL_SHA = "0" * 40
EPISODES = [
    "episodes/itsmwp-anz/001-major-incidents.md",
    "episodes/itsmwp-anz/002-itil4-in-nz-government.md",
    "episodes/itsmwp-row/001-outsourcing-the-service-desk.md",
    "episodes/itsmwp-row/002-knowledge-management.md",
    "episodes/itsmwp/001-incident-vs-problem.md",
    "episodes/itsmwp/002-change-advisory-boards.md",
    "episodes/itsmwp/003-service-desk-metrics.md",
]
NEW_EPISODE = "episodes/itsmwp/004-problem-records.md"
CHANGED_EPISODE = "episodes/itsmwp/003-service-desk-metrics.md"


def load_workflow(path: Path = WORKFLOW) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def steps(job: str = "publish", workflow: dict | None = None) -> list[dict]:
    return (workflow or load_workflow())["jobs"][job]["steps"]


def is_install_step(step: dict) -> bool:
    return "pip install" in step.get("run", "")


# -- the workflow file -----------------------------------------------------------------------------


def test_workflow_is_the_packages_template_rendered():
    """This repository's workflow and the ones `podcast init` writes never drift apart."""
    assert WORKFLOW.read_text(encoding="utf-8") == render_checkout_workflow(), (
        "edit podcast_tools/data/publish.yml.in, then run "
        "python -c 'import podcast_tools.workflow as w; w.write_checkout_workflow(\".\")'"
    )


@pytest.mark.parametrize("which", ["this repository's", "a network's"])
def test_workflow_validates_against_the_github_schema(which, tmp_path):
    path = WORKFLOW
    if which == "a network's":
        path = tmp_path / "publish.yml"
        path.write_text(render_network_workflow(), encoding="utf-8")
    tool = Path(sys.executable).parent / "check-jsonschema"
    command = str(tool) if tool.is_file() else shutil.which("check-jsonschema")
    assert command, "check-jsonschema comes with the test extras"
    done = subprocess.run(
        [command, "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflow_publishes_on_merge_hourly_and_on_demand():
    workflow = load_workflow()
    triggers = workflow[True]  # YAML 1.1 reads the key "on" as true
    assert triggers["push"]["branches"] == ["main"]
    assert set(triggers["push"]["paths"]) == {"episodes/**", "templates/**"}
    assert triggers["schedule"] and triggers["schedule"][0]["cron"].endswith("* * * *")
    episodes = triggers["workflow_dispatch"]["inputs"]["episodes"]
    assert episodes["required"] is False and episodes["type"] == "string"
    assert workflow["permissions"]["id-token"] == "write"
    assert workflow["permissions"]["contents"] == "read"


def test_one_publish_at_a_time_and_none_cancelled():
    assert load_workflow()["concurrency"] == {"group": "publish", "cancel-in-progress": False}


def test_checkout_is_shallow_without_lfs_then_fetches_only_what_the_plan_needs():
    """No master is downloaded with the checkout (pointer files only); the plan names the masters
    this run needs, `git lfs pull --include` fetches those, then publish runs. The feeds job
    writes from the manifest and reads no master: it plans and fetches nothing."""
    for job in ("publish", "shard", "feeds"):
        (checkout,) = [s for s in steps(job) if s.get("uses", "").startswith("actions/checkout@")]
        assert checkout["with"] == {"fetch-depth": 1, "lfs": False}
        assert load_workflow()["jobs"][job]["env"]["GIT_LFS_SKIP_SMUDGE"] == "1"
        scripts = [s.get("run", "") for s in steps(job)]
        if job == "feeds":
            assert not [s for s in scripts if "--plan" in s or "git lfs" in s]
            assert any("podcast publish" in s and "--feeds-only" in s for s in scripts)
            continue
        (plan,) = [i for i, s in enumerate(scripts) if "podcast publish --plan --json" in s]
        (pull,) = [i for i, s in enumerate(scripts) if "git lfs pull --include" in s]
        (publish,) = [
            i for i, s in enumerate(scripts) if "podcast publish" in s and "--plan" not in s
        ]
        assert plan < pull < publish, job
        assert "lfs_include" in scripts[pull] and "jq" not in scripts[pull]


def test_installs_the_pinned_versions_with_a_pip_cache():
    (setup,) = [s for s in steps() if s.get("uses", "").startswith("actions/setup-python@v5")]
    assert setup["with"]["python-version"] == "3.11"  # what constraints.txt was made on
    assert setup["with"]["cache"] == "pip"
    assert setup["with"]["cache-dependency-path"] == "constraints.txt"
    assert CONSTRAINTS.is_file()
    (install,) = [s for s in steps() if is_install_step(s)]
    assert (
        install["run"].split("#")[0].strip()
        == "python -m pip install -c constraints.txt '.[transcribe]'"
    )
    names = [s.get("uses", s.get("run", "")) for s in steps()]
    assert names.index(install["run"]) > names.index(setup["uses"])


def test_a_networks_workflow_installs_podcast_tools_by_version():
    workflow = yaml.safe_load(render_network_workflow())
    assert set(workflow[True]["push"]["paths"]) == {
        "episodes/**",
        "templates/**",
        "podcast-tools.txt",
    }
    for job in ("publish", "shard", "feeds"):
        (setup,) = [s for s in steps(job, workflow) if s.get("uses", "").startswith("actions/se")]
        assert setup["with"]["cache-dependency-path"] == "podcast-tools.txt"
        (install,) = [s for s in steps(job, workflow) if is_install_step(s)]
        assert install["run"].split("#")[0].strip() == "python -m pip install -r podcast-tools.txt"
    # apart from how it installs, it is this repository's workflow
    ours = load_workflow()
    for name in ("concurrency", "permissions", "defaults"):
        assert workflow[name] == ours[name]
    assert workflow["jobs"].keys() == ours["jobs"].keys()


def test_run_steps_are_plain_shell():
    """GitHub expressions only in env: (never inside a script, where a crafted value would
    become shell code), and no `if:` on a run step (the scripts decide, so they can be tested)."""
    workflow = load_workflow()
    assert workflow["defaults"]["run"]["shell"] == "bash"
    run_steps = [s for job in workflow["jobs"] for s in steps(job) if "run" in s]
    assert len(run_steps) >= 3 + 1 + 2 + 2
    for step in run_steps:
        assert "${{" not in step["run"], step.get("name")
        assert "if" not in step, step.get("name")
        assert "shell" not in step and "working-directory" not in step, step.get("name")


# -- running the steps -----------------------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# The credentials' expressions pick OIDC or access keys; a file:// run needs neither.
NO_CREDENTIALS = {
    "vars.AWS_ROLE_ARN == '' && secrets.AWS_ACCESS_KEY_ID || env.AWS_ACCESS_KEY_ID": "",
    "vars.AWS_ROLE_ARN == '' && secrets.AWS_SECRET_ACCESS_KEY || env.AWS_SECRET_ACCESS_KEY": "",
}


@dataclass
class Run:
    """One workflow run: each run step's result, in order, until one failed."""

    steps: list[tuple[str, subprocess.CompletedProcess]] = field(default_factory=list)
    summary_file: Path | None = None
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)  # steps.<id>.outputs.<name> → value

    @property
    def returncode(self) -> int:
        return self.steps[-1][1].returncode if self.steps else 0

    @property
    def output(self) -> str:
        return "".join(f"## {n}\n{d.stdout}{d.stderr}" for n, d in self.steps)

    @property
    def notices(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("::notice")]

    @property
    def published(self) -> dict:
        """The --json summary the publish step printed (the last JSON object in its output)."""
        lines = self.steps[-1][1].stdout.splitlines()
        assert "{" in lines, self.output
        start = len(lines) - 1 - lines[::-1].index("{")
        return json.loads("\n".join(lines[start:]))


def run_workflow(
    installed: Installed,
    workspace: Path,
    temp: Path,
    *,
    event: str,
    storage: str,
    before: str = "",
    episodes: str = "",
    job: str = "publish",
    context: dict[str, str] | None = None,
    workflow: dict | None = None,
    install: dict[str, str] | None = None,
) -> Run:
    """Run the run: steps of a job of the workflow in order with bash, as GitHub would for this
    event (`context`: the values of further expressions, e.g. a matrix's). The outputs the job's
    steps write to $GITHUB_OUTPUT are in `Run.outputs`. `workflow`: another workflow than this
    repository's (e.g. a network's). The pip install step runs only with `install`, the variables
    it runs with added (it may reach the package index; no other step does)."""
    workflow = workflow or load_workflow()
    context = {
        "github.event_name": event,
        "github.event.before": before,
        "inputs.episodes": episodes,
        "vars.PODCAST_STORAGE": storage,
        "vars.AWS_REGION": "",
        "vars.AWS_ENDPOINT_URL": "",
        **NO_CREDENTIALS,
        **(context or {}),
    }

    def resolve(value) -> str:
        value = str(value)
        match = EXPRESSION.fullmatch(value.strip())
        if not match:
            assert "${{" not in value, f"an expression inside a longer value: {value}"
            return value
        assert match.group(1) in context, f"the test does not know ${{{{ {match.group(1)} }}}}"
        return context[match.group(1)]

    temp.mkdir(parents=True, exist_ok=True)
    files = {name: temp / name.lower() for name in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH")}
    summary = temp / "step_summary.md"
    for path in [*files.values(), summary]:
        path.write_text("")
    head = subprocess.run(
        ["git", "-C", str(workspace), "rev-parse", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    github = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_SHA": head,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_REF_NAME": "main",
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_OS": "Linux",
        "RUNNER_TEMP": str(temp),
        "HOME": str(temp),  # no global git or pip settings of this machine's user
        **{name: str(path) for name, path in files.items()},
    }
    job_env = {k: resolve(v) for k, v in workflow["jobs"][job].get("env", {}).items()}
    run = Run(summary_file=summary)
    started = time.monotonic()
    for number, step in enumerate(steps(job, workflow)):
        if "uses" in step or (is_install_step(step) and install is None):
            continue
        script = temp / f"step{number}.sh"
        script.write_text(step["run"])
        step_env = {k: resolve(v) for k, v in step.get("env", {}).items()}
        env = installed.env(**github, **job_env, **step_env)
        if is_install_step(step):  # as on GitHub: pip reaches the index (here: this machine's)
            env = {k: v for k, v in env.items() if k not in NO_NETWORK}
            env.update({k: v for k, v in os.environ.items() if k in NO_NETWORK}, **install)
        done = subprocess.run(  # what `shell: bash` runs
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        run.steps.append((step.get("name", f"step {number}"), done))
        for line in files["GITHUB_OUTPUT"].read_text().splitlines():  # a job's outputs
            name, _, value = line.partition("=")
            run.outputs[f"steps.{step.get('id')}.outputs.{name}"] = value
        files["GITHUB_OUTPUT"].write_text("")
        for name, path in files.items():  # this harness does not pass these on between steps
            assert path.read_text() == "", f"{step.get('name')} wrote {name}; teach the test"
        if done.returncode != 0:
            break
    run.seconds = time.monotonic() - started
    return run


def git(*args: str | Path, cwd: Path, **extra: str) -> str:
    env = {
        **os.environ,
        **extra,
        "GIT_AUTHOR_NAME": "Producer",
        "GIT_AUTHOR_EMAIL": "producer@example.com",
        "GIT_COMMITTER_NAME": "Producer",
        "GIT_COMMITTER_EMAIL": "producer@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"git {args}: {done.stderr}"
    return done.stdout.strip()


def replace_once(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@dataclass
class History:
    """What the scenarios did, in order, against one storage folder (published state carries
    over from one run to the next, as it does in a bucket)."""

    base: Path
    storage: Path
    commits: dict[str, str]
    runs: dict[str, Run]
    workspaces: dict[str, Path]
    published: dict[str, Path]  # a copy of the storage folder right after each run


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> History:
    installed = installed_package(tmp_path_factory)
    base = tmp_path_factory.mktemp("workflow")
    storage = base / "storage"
    storage_url = storage.as_uri()
    dev, origin = base / "dev", base / "origin.git"

    # The producers' repository: the sample network, pushed to a bare "origin" (GitHub).
    shutil.copytree(REPO / "episodes", dev / "episodes")
    shutil.copytree(REPO / "templates", dev / "templates")
    git("init", "-q", "-b", "main", cwd=dev)
    git("add", "-A", cwd=dev)
    git("commit", "-q", "-m", "The sample network", cwd=dev)
    git("init", "-q", "--bare", "-b", "main", origin, cwd=base)
    git("remote", "add", "origin", origin.as_uri(), cwd=dev)
    commits = {"first": git("rev-parse", "HEAD", cwd=dev)}
    runs: dict[str, Run] = {}
    workspaces: dict[str, Path] = {}
    published: dict[str, Path] = {}

    def push_and_run(name: str, *, force: bool = False, **event) -> None:
        git("push", "-q", *(["--force"] if force else []), "origin", "main", cwd=dev)
        workspace = base / name / "workspace"
        # actions/checkout with fetch-depth: 1 — the pushed commit only, origin set up
        git("clone", "-q", "--depth", "1", "--branch", "main", origin.as_uri(), workspace, cwd=base)
        workspaces[name] = workspace
        runs[name] = run_workflow(
            installed, workspace, base / name / "runner", storage=storage_url, **event
        )
        if storage.exists():
            published[name] = shutil.copytree(storage, base / name / "published")

    # 1. The first push of the branch: GitHub says before = 0000…
    push_and_run("first push", event="push", before=NULL_SHA)

    # 2. A push that changes an episode's title and adds a new episode.
    replace_once(dev / CHANGED_EPISODE, "\ntitle: ", "\ntitle: Revisited — ")
    new = dev / NEW_EPISODE
    shutil.copy(dev / "episodes/itsmwp/001-incident-vs-problem.flac", new.with_suffix(".flac"))
    new.write_text(
        "---\ntitle: Problem Records That Get Read\n"
        "guid: 3f1d5d2e-3c55-4f44-9d0f-6a3a3c4f0a11\ndate: 2026-11-02T09:00:00+01:00\n"
        f"number: 4\nseason: 1\naudio: {new.with_suffix('.flac').name}\n"
        "summary: Writing problem records for the next person.\n---\n\nWho reads them.\n",
        encoding="utf-8",
    )
    git("add", "-A", cwd=dev)
    git("commit", "-q", "-m", "Episode 4; episode 3 retitled", cwd=dev)
    commits["second"] = git("rev-parse", "HEAD", cwd=dev)
    push_and_run("push", event="push", before=commits["first"])

    # 3. A force-push: the second commit is rewritten (episode 4 retitled), and GitHub's
    #    `before` (the second commit) is gone from the repository.
    replace_once(new, "title: Problem Records That Get Read", "title: Problem Records People Read")
    git("commit", "-q", "-a", "--amend", "-m", "Episode 4 (retitled); episode 3 retitled", cwd=dev)
    commits["amended"] = git("rev-parse", "HEAD", cwd=dev)
    git("push", "-q", "--force", "origin", "main", cwd=dev)
    git("reflog", "expire", "--expire=now", "--all", cwd=origin)
    git("gc", "-q", "--prune=now", cwd=origin)
    assert (
        subprocess.run(
            ["git", "-C", str(origin), "cat-file", "-e", commits["second"]],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    ), "the rewritten commit should be gone from origin"
    push_and_run("force-push", force=True, event="push", before=commits["second"])

    # 4. A manual run naming two episodes (one changed since the last run, one not).
    replace_once(
        dev / "episodes/itsmwp-row/002-knowledge-management.md", "\ntitle: ", "\ntitle: Knowledge, "
    )
    git("commit", "-q", "-a", "-m", "Row episode 2 retitled", cwd=dev)
    push_and_run(
        "manual",
        event="workflow_dispatch",
        episodes="  episodes/itsmwp-row/002-knowledge-management.md\n"
        "episodes/itsmwp/001-incident-vs-problem.md ",
    )

    # 5. The hourly run: everything due, nothing changed since.
    push_and_run("hourly", event="schedule", before="")

    return History(base, storage, commits, runs, workspaces, published)


def titles(storage: Path, show: str) -> set[str]:
    channel = ET.parse(storage / show / "feed.xml").getroot().find("channel")
    return {item.findtext("title") for item in channel.findall("item")}


@pytest.mark.slow
def test_first_push_publishes_everything(history):
    run = history.runs["first push"]
    assert run.returncode == 0, run.output
    assert any("first push" in n and "--all" in n for n in run.notices), run.notices
    assert sorted(run.published["episodes_processed"]) == EPISODES
    assert run.published["storage"] == history.storage.as_uri()
    check_published(history.workspaces["first push"], history.published["first push"])


@pytest.mark.slow
def test_push_publishes_only_what_changed_since_the_commit_before(history):
    run = history.runs["push"]
    assert run.returncode == 0, run.output
    assert not run.notices, run.notices  # no fallback
    # --changed-since: the two episodes of the push and nothing else looked at (with --all the
    # others would be listed as skipped)
    # the new episode is mastered; the retitled one only re-tagged (its audio is unchanged)
    assert run.published["episodes_processed"] == [NEW_EPISODE]
    assert run.published["episodes_retagged"] == [CHANGED_EPISODE]
    assert run.published["episodes_skipped"] == []
    assert "itsmwp/feed.xml" in run.published["feeds_written"]
    # the storage holds the network as of the second commit (the first run's state carried on)
    published = history.published["push"]
    check_published(history.workspaces["push"], published)
    assert "Problem Records That Get Read" in titles(published, "itsmwp")
    assert any(t.startswith("Revisited — ") for t in titles(published, "itsmwp"))


@pytest.mark.slow
def test_force_push_falls_back_to_publishing_everything(history):
    run = history.runs["force-push"]
    assert run.returncode == 0, run.output
    before = history.commits["second"]
    assert any(before in n and "--all" in n for n in run.notices), run.notices
    assert run.published["episodes_processed"] == []
    assert run.published["episodes_retagged"] == [NEW_EPISODE]  # retitled: new tags, same audio
    assert sorted(run.published["episodes_skipped"]) == EPISODES
    published = history.published["force-push"]
    check_published(history.workspaces["force-push"], published)
    assert "Problem Records People Read" in titles(published, "itsmwp")
    assert "Problem Records That Get Read" not in titles(published, "itsmwp")


@pytest.mark.slow
def test_manual_run_publishes_the_named_episodes(history):
    run = history.runs["manual"]
    assert run.returncode == 0, run.output
    assert run.published["episodes_processed"] == []
    assert run.published["episodes_retagged"] == [  # retitled: new tags, same audio
        "episodes/itsmwp-row/002-knowledge-management.md"
    ]
    assert run.published["episodes_skipped"] == ["episodes/itsmwp/001-incident-vs-problem.md"]
    published = history.published["manual"]
    assert any(t.startswith("Knowledge, ") for t in titles(published, "itsmwp-row"))
    check_published(history.workspaces["manual"], published)


@pytest.mark.slow
def test_hourly_run_publishes_everything_due(history):
    run = history.runs["hourly"]
    assert run.returncode == 0, run.output
    assert run.published["episodes_processed"] == []
    assert sorted(run.published["episodes_skipped"]) == sorted([*EPISODES, NEW_EPISODE])
    assert run.published["objects_uploaded"] == []
    check_published(history.workspaces["hourly"], history.published["hourly"])
    summary = run.summary_file.read_text()
    assert '"episodes_skipped"' in summary  # the JSON summary also lands on the run's page


@pytest.mark.slow
def test_a_missing_storage_setting_is_one_clear_error(tmp_path_factory, tmp_path):
    installed = installed_package(tmp_path_factory)
    workspace = tmp_path / "workspace"
    shutil.copytree(REPO / "templates", workspace / "templates")
    shutil.copytree(REPO / "episodes", workspace / "episodes")
    git("init", "-q", "-b", "main", cwd=workspace)
    git("add", "-A", cwd=workspace)
    git("commit", "-q", "-m", "x", cwd=workspace)
    run = run_workflow(installed, workspace, tmp_path / "runner", event="schedule", storage="")
    assert run.returncode != 0
    errors = [line for line in run.output.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "PODCAST_STORAGE" in errors[0], run.output
    assert not (workspace / "public").exists()  # nothing published to network.toml's storage


@pytest.mark.slow
def test_a_manual_run_naming_no_episode_file_is_one_clear_error(tmp_path_factory, tmp_path):
    installed = installed_package(tmp_path_factory)
    workspace = tmp_path / "workspace"
    shutil.copytree(REPO / "templates", workspace / "templates")
    shutil.copytree(REPO / "episodes", workspace / "episodes")
    git("init", "-q", "-b", "main", cwd=workspace)
    git("add", "-A", cwd=workspace)
    git("commit", "-q", "-m", "x", cwd=workspace)
    run = run_workflow(
        installed,
        workspace,
        tmp_path / "runner",
        event="workflow_dispatch",
        storage=(tmp_path / "storage").as_uri(),
        episodes="episodes/itsmwp/999-nope.md --all",
    )
    assert run.returncode == 2, run.output
    assert "999-nope.md" in run.steps[-1][1].stderr
    assert not (tmp_path / "storage").exists()


# -- a back catalogue on several runners ----------------------------------------------------------


def test_the_sharded_jobs_are_opt_in_and_the_feeds_come_last():
    workflow = load_workflow()
    shards = workflow[True]["workflow_dispatch"]["inputs"]["shards"]
    assert shards["type"] == "number" and shards["default"] == 1 and shards["required"] is False
    jobs = workflow["jobs"]
    # expressions coerce a missing input (push, schedule) to 0: the usual job runs
    assert jobs["publish"]["if"] == "${{ !(inputs.shards > 1) }}"
    assert jobs["shards"]["if"] == "${{ inputs.shards > 1 }}"
    assert jobs["shard"]["needs"] == "shards"
    strategy = jobs["shard"]["strategy"]
    assert strategy["matrix"]["shard"] == "${{ fromJSON(needs.shards.outputs.list) }}"
    assert strategy["fail-fast"] is False
    assert set(jobs["feeds"]["needs"]) == {"shards", "shard"}
    assert "!cancelled()" in jobs["feeds"]["if"]
    for job in ("shard", "feeds"):  # as the usual job: shallow checkout, pinned install
        (install,) = [s for s in steps(job) if is_install_step(s)]
        assert (
            install["run"].split("#")[0].strip()
            == "python -m pip install -c constraints.txt '.[transcribe]'"
        )
        assert jobs[job]["env"] == jobs["publish"]["env"]


def sample_workspace(base: Path) -> Path:
    workspace = base / "workspace"
    shutil.copytree(REPO / "templates", workspace / "templates")
    shutil.copytree(REPO / "episodes", workspace / "episodes")
    git("init", "-q", "-b", "main", cwd=workspace)
    git("add", "-A", cwd=workspace)
    git("commit", "-q", "-m", "x", cwd=workspace)
    return workspace


@pytest.mark.slow
def test_a_manual_run_with_shards_publishes_each_share_then_the_feeds(tmp_path_factory, tmp_path):
    installed = installed_package(tmp_path_factory)
    workspace = sample_workspace(tmp_path)
    storage = tmp_path / "storage"
    common = {"event": "workflow_dispatch", "storage": storage.as_uri()}

    plan = run_workflow(
        installed,
        workspace,
        tmp_path / "plan",
        job="shards",
        context={"inputs.shards": "3"},
        **common,
    )
    assert plan.returncode == 0, plan.output
    needs = {  # the job's outputs, as its `outputs:` map them from its steps'
        f"needs.shards.outputs.{name}": plan.outputs[EXPRESSION.fullmatch(value).group(1)]
        for name, value in load_workflow()["jobs"]["shards"]["outputs"].items()
    }
    matrix = json.loads(needs["needs.shards.outputs.list"])
    assert matrix == [1, 2, 3] and needs["needs.shards.outputs.count"] == "3"

    processed = []
    for shard in matrix:
        run = run_workflow(
            installed,
            workspace,
            tmp_path / f"shard-{shard}",
            job="shard",
            context={"matrix.shard": str(shard), **needs},
            **common,
        )
        assert run.returncode == 0, run.output
        assert run.published["shard"] == f"{shard}/3"
        assert run.published["feeds_written"] == [] and run.published["pages_written"] == []
        processed += run.published["episodes_processed"]
    assert sorted(processed) == EPISODES  # every episode, once
    assert not list(storage.rglob("feed.xml"))

    feeds = run_workflow(installed, workspace, tmp_path / "feeds", job="feeds", **common)
    assert feeds.returncode == 0, feeds.output
    assert feeds.published["feeds_only"] is True
    assert feeds.published["objects_uploaded"] == []
    assert len(feeds.published["feeds_written"]) == 4  # 3 shows + publisher.xml
    assert "--feeds-only" in feeds.summary_file.read_text()
    check_published(workspace, storage)


@pytest.mark.slow
@pytest.mark.parametrize("shards", ["1", "65", "2.5", "-3"])
def test_a_shard_count_out_of_range_is_one_clear_error(tmp_path_factory, tmp_path, shards):
    installed = installed_package(tmp_path_factory)
    plan = run_workflow(
        installed,
        sample_workspace(tmp_path),
        tmp_path / "plan",
        job="shards",
        event="workflow_dispatch",
        storage=(tmp_path / "storage").as_uri(),
        context={"inputs.shards": shards},
    )
    assert plan.returncode == 2, plan.output
    errors = [line for line in plan.output.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and "2 to 64" in errors[0], plan.output
    assert plan.outputs == {}


# -- a network repository made by `podcast init` -------------------------------------------------

FIRST_TITLE, FIXED_TITLE = "First Light", "First Light, Fixed"


def is_pointer(path: Path) -> bool:
    return path.read_bytes().startswith(b"version https://git-lfs.github.com/spec/v1\n")


@dataclass
class NetworkRuns:
    storage: Path
    workflow: dict
    episode: str  # the new episode's file, relative to the repository
    master: str  # its master
    masters: list[str]  # every master in the repository
    runs: dict[str, Run]
    workspaces: dict[str, Path]
    published: dict[str, Path]  # a copy of the storage folder right after each run
    install_seconds: float = 0.0


@pytest.fixture(scope="module")
def network_runs(tmp_path_factory) -> NetworkRuns:
    """A network made by `podcast init` plus one episode with its recording (`podcast new
    --audio`), committed with its masters in Git LFS and pushed to a bare repository (file://),
    then published by its own workflow's steps in clones made without LFS smudging: the first
    push, then a push that fixes the episode's title. The tool is installed by the workflow's own
    install step, `pip install -r podcast-tools.txt`, in a fresh venv: podcast_tools==<version>
    resolves to the wheel built from this checkout (PIP_FIND_LINKS), its dependencies come from
    the package index."""
    installed = installed_package(tmp_path_factory)
    base = tmp_path_factory.mktemp("network")
    dev, origin, storage = base / "dev", base / "origin.git", base / "storage"
    done = installed.run("podcast", "init", dev)
    assert done.returncode == 0, done.stdout + done.stderr
    t = np.arange(8 * 44100) / 44100
    chime = 0.3 * np.sin(2 * np.pi * 330 * t) * ((t % 1.0) < 0.7)
    take = write_wav(base / "take.wav", chime)
    done = installed.run(
        "podcast", "--root", dev, "new", "main", "--title", FIRST_TITLE, "--audio", take
    )
    assert done.returncode == 0, done.stdout + done.stderr
    episode = Path(done.stdout.strip().splitlines()[-1]).relative_to(dev).as_posix()
    master = episode.removesuffix(".md") + ".wav"

    git("init", "-q", "-b", "main", cwd=dev)
    git("lfs", "install", "--local", cwd=dev)
    git("add", "-A", cwd=dev)
    git("commit", "-q", "-m", "A network made by podcast init, and its first episode", cwd=dev)
    masters = git("lfs", "ls-files", "--name-only", cwd=dev).splitlines()
    assert master in masters and "episodes/main/001-welcome.wav" in masters, masters
    git("init", "-q", "--bare", "-b", "main", origin, cwd=base)
    git("remote", "add", "origin", origin.as_uri(), cwd=dev)
    first = git("rev-parse", "HEAD", cwd=dev)

    venv = base / "venv"  # the runner's Python: nothing installed yet
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    fresh = Installed(venv, installed.sdist, installed.wheel, installed.outside)
    links = f"{installed.wheel.parent} {os.environ.get('PIP_FIND_LINKS', '')}".strip()
    install = {"PIP_FIND_LINKS": links, "HOME": str(Path.home())}  # this machine's pip settings
    workflow = yaml.safe_load((dev / ".github/workflows/publish.yml").read_text("utf-8"))
    result = NetworkRuns(storage, workflow, episode, master, masters, {}, {}, {})

    def push_and_run(name: str, **event) -> None:
        git("push", "-q", "origin", "main", cwd=dev)
        workspace = base / name / "workspace"
        git(  # actions/checkout with lfs: false — pointer files, no LFS download
            "clone",
            "-q",
            "--depth",
            "1",
            "--branch",
            "main",
            origin.as_uri(),
            workspace,
            cwd=base,
            GIT_LFS_SKIP_SMUDGE="1",
        )
        assert all(is_pointer(workspace / m) for m in masters)
        result.workspaces[name] = workspace
        result.runs[name] = run_workflow(
            fresh,
            workspace,
            base / name / "runner",
            storage=storage.as_uri(),
            workflow=workflow,
            install=install if not result.install_seconds else None,
            **event,
        )
        if storage.exists():
            result.published[name] = shutil.copytree(storage, base / name / "published")

    started = time.monotonic()
    push_and_run("first push", event="push", before=NULL_SHA)
    result.install_seconds = time.monotonic() - started
    replace_once(dev / episode, f"title: {FIRST_TITLE}", f"title: {FIXED_TITLE}")
    git("commit", "-q", "-a", "-m", "Episode 2: title fixed", cwd=dev)
    push_and_run("title fix", event="push", before=first)
    return result


def step_output(run: Run, name: str) -> subprocess.CompletedProcess:
    (done,) = [d for n, d in run.steps if n == name]
    return done


def main_feed(storage: Path) -> dict[str, str]:
    channel = ET.parse(storage / "main" / "feed.xml").getroot().find("channel")
    return {item.findtext("guid"): item.findtext("title") for item in channel.findall("item")}


@pytest.mark.slow
def test_a_network_made_by_init_publishes_through_its_own_workflow(network_runs):
    run = network_runs.runs["first push"]
    assert run.returncode == 0, run.output
    names = [name for name, _ in run.steps]
    assert "Install podcast_tools (pinned versions)" in names  # pip install -r podcast-tools.txt
    workspace = network_runs.workspaces["first push"]
    # the version that wrote the repository, installed from the wheel (not the checkout)
    fresh = workspace.parent / "runner"
    assert network_runs.workflow["jobs"]["publish"]["env"]["GIT_LFS_SKIP_SMUDGE"] == "1"
    plan = json.loads((fresh / "plan.json").read_text())
    assert network_runs.master in plan["fetch"]
    assert not is_pointer(workspace / network_runs.master)  # fetched: the plan named it
    for master in set(network_runs.masters) - set(plan["fetch"]):
        assert is_pointer(workspace / master), master  # not needed, not downloaded
    assert network_runs.episode in run.published["episodes_processed"]
    front = yaml.safe_load((workspace / network_runs.episode).read_text().split("---")[1])
    assert main_feed(network_runs.published["first push"])[front["guid"]] == FIRST_TITLE


@pytest.mark.slow
def test_a_title_fix_fetches_no_master(network_runs):
    run = network_runs.runs["title fix"]
    assert run.returncode == 0, run.output
    assert "Install podcast_tools (pinned versions)" not in [name for name, _ in run.steps]
    workspace = network_runs.workspaces["title fix"]
    plan = json.loads((workspace.parent / "runner" / "plan.json").read_text())
    assert plan["fetch"] == [] and plan["lfs_include"] == ""
    assert "no master to fetch" in step_output(run, "Fetch only those masters from Git LFS").stdout
    assert all(is_pointer(workspace / m) for m in network_runs.masters)
    assert run.published["episodes_retagged"] == [network_runs.episode]
    front = yaml.safe_load((workspace / network_runs.episode).read_text().split("---")[1])
    assert main_feed(network_runs.published["title fix"])[front["guid"]] == FIXED_TITLE
