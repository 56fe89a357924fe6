"""How ffmpeg processes are started and let go (podcast_tools.ffmpeg): the real ffmpeg."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from podcast_tools import ffmpeg


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the launcher thread is Linux's")
def test_an_ffmpeg_started_after_ctrl_c_is_killed_and_its_pipes_closed(monkeypatch):
    """Ctrl-C while the launcher thread is still starting an ffmpeg: once started, it is killed
    and its pipes are closed (not left open until the garbage collector finds them)."""
    real_popen = subprocess.Popen
    started: list[subprocess.Popen] = []

    def slow_popen(*args, **kwargs):  # the fault: a start slower than the Ctrl-C
        time.sleep(0.5)
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    def interrupt(_signum, _frame):
        raise KeyboardInterrupt

    ffmpeg.run(["-version"])  # the launcher is running before the fault goes in
    monkeypatch.setattr(subprocess, "Popen", slow_popen)
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(KeyboardInterrupt):
            ffmpeg.run(["-f", "lavfi", "-i", "anullsrc", "-f", "null", "-"])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    deadline = time.monotonic() + 5
    while not (started and started[0].returncode is not None) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started and started[0].returncode == -signal.SIGKILL
    assert started[0].stdout.closed and started[0].stderr.closed
