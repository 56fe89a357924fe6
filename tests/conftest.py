from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.errors import ContentError, Problem
from podcast_tools.media_checks import load_checked_network

REPO = Path(__file__).resolve().parents[1]

#: The test tiers. `pytest -m "not slow"` is the quick check of the core (docs/development.md); `pytest` runs everything, as `.ci/run` does. A test is slow when it runs
#: in a real browser or a real podcast client, needs the session's S3 server or a published or
#: processed sample network, or the wheel installed in a fresh venv, or carries
#: `@pytest.mark.slow` itself (anything over ~1 s on a 2-core machine).
SLOW_FOLDERS = ("browser", "clients")
SLOW_FIXTURES = frozenset(
    {"s3_server", "processed_network", "preview_server", "published", "installed"}
)


#: The feeds' build clock in tests (SOURCE_DATE_EPOCH, `feed.build.build_moment`): 2026-11-25
#: 00:00 UTC. A feed that changes is dated with it instead of the run's time, so two publishes of
#: the same content write the same bytes whatever second each ran in; the tests of the date
#: itself (tests/test_feed_what_apps_see.py, the client tests) take it away.
BUILD_EPOCH = "1795564800"


def pytest_configure(config) -> None:
    """One cache of recognised words for the whole session (`PODCAST_TRANSCRIPT_CACHE`): the
    sample network turns machine transcripts on, and the many tests that publish a copy of it
    recognise each master once, not once per copy. A test of the cache itself sets its own.
    And the feeds' fixed build clock (`BUILD_EPOCH`)."""
    import tempfile

    os.environ.setdefault("SOURCE_DATE_EPOCH", BUILD_EPOCH)

    if "PODCAST_TRANSCRIPT_CACHE" not in os.environ:
        folder = tempfile.mkdtemp(prefix="podcast-tools-test-transcripts-")
        os.environ["PODCAST_TRANSCRIPT_CACHE"] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        folder = Path(str(item.path)).parent.name
        if folder in SLOW_FOLDERS or SLOW_FIXTURES.intersection(item.fixturenames):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A private copy of the repository's sample network, free to edit."""
    root = tmp_path / "network"
    shutil.copytree(REPO / "episodes", root / "episodes")
    shutil.copytree(REPO / "templates", root / "templates")
    return root


@pytest.fixture
def logged_ffmpeg(tmp_path: Path) -> Path:
    """The log of every ffmpeg run (one line of arguments each) by a command whose environment
    sets PODCAST_FFMPEG to the wrapper beside it, `ffmpeg-logged`, which runs the real ffmpeg."""
    from podcast_tools.ffmpeg import ffmpeg_exe

    log = tmp_path / "ffmpeg.log"
    wrapper = tmp_path / "ffmpeg-logged"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{ffmpeg_exe()}" "$@"\n')
    wrapper.chmod(0o755)
    return log


@dataclass
class Ran:
    """What a `podcast` run in its own process did (the names of click's in-process result)."""

    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def podcast(
    root: Path | None,
    *args: str,
    ok: bool = False,
    process: bool = False,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
    imports: tuple[str, ...] = (),
) -> Any:
    """Run `podcast [--root ROOT] ARGS…` as a producer types it: the one runner of the tests.

    In-process (click's test runner) unless `process` — then `python -m podcast_tools` in a
    process of its own, with `env` added to this one's environment (for what is read at start,
    e.g. PODCAST_FFMPEG), having imported the modules `imports` names first (plug-ins that
    register themselves: the tests' audio stages). Arguments starting with ``episodes/`` are taken inside the network.
    Both results have `exit_code`, `stdout`, `stderr` and `output`; with `ok`, a run that does not
    exit 0 fails the test with what it printed. A traceback instead of one line always fails it.
    """
    argv = [*(("--root", str(root)) if root is not None else ()), *map(str, args)]
    if root is not None:
        argv = [str(root / a) if a.startswith("episodes/") else a for a in argv]
    if process:
        start = ["-m", "podcast_tools"]
        if imports:
            start = [
                "-c",
                f"import {', '.join(imports)}; from podcast_tools.cli import main; main()",
            ]
        done = subprocess.run(
            [sys.executable, *start, *argv],
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {}), **({"PYTHONPATH": str(REPO)} if imports else {})},
            cwd=cwd,
            check=False,
            timeout=timeout,
        )
        result: Any = Ran(done.returncode, done.stdout, done.stderr)
        if "Traceback (most recent call last)" in done.stderr:
            raise AssertionError(f"a traceback instead of one line:\n{done.stderr[-3000:]}")
    else:
        assert cwd is None, "an in-process run has the test's working folder"
        result = CliRunner().invoke(app, argv, env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError("a traceback instead of one line") from result.exception
    if ok:
        assert result.exit_code == 0, result.output
    return result


def podcast_json(root: Path, *args: str, **how: Any) -> Any:
    """`podcast ARGS… --json` that must exit 0: its standard output, parsed."""
    return json.loads(podcast(root, *args, "--json", ok=True, **how).stdout)


def ffmpeg_logged(log: Path) -> dict[str, str]:
    """The environment that has a `podcast` process log its ffmpeg runs in `log` (the
    `logged_ffmpeg` fixture's log)."""
    return {"PODCAST_FFMPEG": str(log.parent / "ffmpeg-logged")}


def edit(path: Path, old: str, new: str) -> None:
    """Replace exactly one occurrence of `old` in a file (fails loudly if it is not there once)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(ContentError) as caught:
        load_checked_network(root)
    return caught.value.problems


def find_problem(problems: list[Problem], file: str, field: str) -> Problem:
    """The problem about `field` of `file`; fails listing what was reported instead."""
    for problem in problems:
        if problem.file == file and problem.field == field:
            return problem
    listed = "\n".join(str(p) for p in problems)
    raise AssertionError(f"no problem for {file}: {field}; got:\n{listed}")


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One SeaweedFS for the test session (each test uses its own bucket)."""
    from tests import s3server

    folder = tmp_path_factory.mktemp("seaweedfs")
    server = s3server.start(folder / "data", folder / "weed.log")
    yield server
    s3server.stop(server)


@pytest.fixture
def bucket(s3_server, monkeypatch, request):
    """A fresh bucket, with the standard AWS variables pointing boto3 at the test server."""
    import re
    import uuid

    name = re.sub(r"[^a-z0-9-]", "-", f"t-{uuid.uuid4().hex[:8]}-{request.node.name.lower()}")[
        :63
    ].rstrip("-")
    s3_server.client().create_bucket(Bucket=name)
    _point_boto3_at(s3_server, monkeypatch)
    return name


def _point_boto3_at(s3_server, monkeypatch) -> None:
    from tests import s3server

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3server.ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3server.SECRET_KEY)
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)


def _empty_bucket(s3_server, name: str) -> str:
    """The server's bucket `name` (its anonymous read rights are fixed at start), emptied."""
    client = s3_server.client()
    if name not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=name)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            client.delete_object(Bucket=name, Key=item["Key"])
    return name


@pytest.fixture
def public_bucket(s3_server, monkeypatch) -> str:
    """The bucket whose `net/` prefix unsigned requests may read (tests/s3server.py), emptied,
    with the CORS rule `podcast storage setup` sets (web players on other sites may read it)."""
    from podcast_tools.publish.access import cors_rule
    from tests import s3server

    _point_boto3_at(s3_server, monkeypatch)
    name = _empty_bucket(s3_server, s3server.PUBLIC_BUCKET)
    s3_server.client().put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": [cors_rule()]})
    return name


@pytest.fixture
def leaky_bucket(s3_server, monkeypatch) -> str:
    """A bucket unsigned requests may read entirely (a misconfigured store), emptied."""
    from tests import s3server

    _point_boto3_at(s3_server, monkeypatch)
    return _empty_bucket(s3_server, s3server.LEAKY_BUCKET)


@pytest.fixture(scope="session")
def processed_network(tmp_path_factory) -> Path:
    """A copy of the sample network with three episodes processed (tests/preview_network.py),
    made once per session for the `podcast preview` tests; never edited (copy it first)."""
    from tests.preview_network import make_processed_network

    return make_processed_network(tmp_path_factory.mktemp("preview") / "network")


# the speech-recognition fixtures (a two-voice espeak-ng clip, the session's model cache, tiny.en)
from tests.speech import clip, model_cache, tiny  # noqa: F401
