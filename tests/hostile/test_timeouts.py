"""An endpoint that never answers fails the run within a minute, in one line naming it
(issue 11, item 7). Before: 363 s (a 60 s read timeout, five tries).

The endpoints are sockets of this test on 127.0.0.1: one accepts connections and never answers;
one never accepts (its backlog is full, so connections are never set up). The command runs as a
producer runs it, in a subprocess, and the whole run is timed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from podcast_tools.publish.storage import ATTEMPTS, CONNECT_TIMEOUT_S, READ_TIMEOUT_S


def run_publish(root: Path, endpoint: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for variable in ("AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        env.pop(variable, None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "podcast_tools", "--root", str(root), "publish"]
        + ["--storage", "s3://quiet-bucket/net"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    return time.monotonic() - started, done


def errors(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if not line.startswith("note:")]


@pytest.fixture
def silent_endpoint():
    """Accepts every connection and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", held
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


@pytest.mark.slow
def test_an_endpoint_that_accepts_and_never_answers(sample: Path, silent_endpoint):
    endpoint, held = silent_endpoint
    elapsed, done = run_publish(sample, endpoint)
    assert done.returncode == 3, done.stderr
    assert errors(done) == [
        f"s3://quiet-bucket/net/manifest.json: cannot read: {endpoint} did not answer within "
        f"{READ_TIMEOUT_S} s ({ATTEMPTS} tries)"
    ]
    assert len(held) == ATTEMPTS  # it really asked that many times, then gave up
    assert elapsed < 60, f"took {elapsed:.1f} s"


@pytest.mark.slow
def test_an_endpoint_that_never_accepts(sample: Path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(3):  # fill the accept queue: further connections are never set up
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    time.sleep(0.2)
    try:
        elapsed, done = run_publish(sample, f"http://127.0.0.1:{port}")
    finally:
        for filler in fillers:
            filler.close()
        server.close()
    assert done.returncode == 3, done.stderr
    assert errors(done) == [
        f"s3://quiet-bucket/net/manifest.json: cannot read: http://127.0.0.1:{port} did not "
        f"accept a connection within {CONNECT_TIMEOUT_S} s ({ATTEMPTS} tries)"
    ]
    assert elapsed < 60, f"took {elapsed:.1f} s"
