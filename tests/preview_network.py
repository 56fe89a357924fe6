"""A processed copy of the sample network for the `podcast preview` tests (tests/test_preview.py,
tests/browser/): three episodes mastered with the real pipeline through the CLI — one with a
chapter image, one cross-posted with an episode image and a transcript of four cues, one
scheduled a month ahead — and ways to serve it: in a thread of this process, or as the real
`podcast preview`."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from PIL import Image
from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.preview import PreviewServer, start
from tests.conftest import REPO, edit

CHAPTER_IMAGE = "episodes/itsmwp/001-incident-vs-problem.md"
CROSS_POSTED = "episodes/itsmwp/002-change-advisory-boards.md"  # + episode image, transcript
SCHEDULED = "episodes/itsmwp/004-scheduled-problem-reviews.md"
SCHEDULED_GUID = "0e4f7a52-61d4-4c0f-9a8e-3b2d1c0f9e7a"
PROCESSED = (CHAPTER_IMAGE, CROSS_POSTED, SCHEDULED)
#: The transcript of CROSS_POSTED (WebVTT): a cue's start, its speaker and its text, times as heard.
TRANSCRIPT_CUES = (
    (0.0, "Alex Host", "Do we still need a CAB?"),
    (4.5, "Sam Guest", "Not every week, and not for every change."),
    (12.25, "Alex Host", "Then who approves a standard change?"),
    (21.7, "Sam Guest", "Nobody: it was approved when it became standard."),
)
SERVING = re.compile(r"serving (http://127\.0\.0\.1:(\d+)/) — Ctrl-C stops")


def make_processed_network(root: Path) -> Path:
    """Copy the sample network to `root`, give it what the sample lacks and process three
    episodes with `podcast process`; returns `root`."""
    shutil.copytree(REPO / "episodes", root / "episodes")
    shutil.copytree(REPO / "templates", root / "templates")
    art = root / "episodes" / "itsmwp" / "art"
    Image.new("RGB", (1400, 1400), (32, 96, 160)).save(art / "002-cover.png")
    (root / "episodes" / "itsmwp" / "002-change-advisory-boards.vtt").write_text(
        webvtt(TRANSCRIPT_CUES), encoding="utf-8"
    )
    edit(
        root / CROSS_POSTED,
        "shows: [itsmwp-anz]",
        "shows: [itsmwp-anz]\nimage: art/002-cover.png\ntranscript: 002-change-advisory-boards.vtt",
    )
    when = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    (root / SCHEDULED).write_text(
        f"---\ntitle: Problem Reviews Nobody Skips\nguid: {SCHEDULED_GUID}\n"
        f"date: {when.isoformat()}\nnumber: 4\nseason: 1\naudio: 003-service-desk-metrics.opus\n"
        "chapters:\n  - {start: 0, title: Introduction}\n---\n\nScheduled for next month.\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    for episode in PROCESSED:
        done = runner.invoke(app, ["--root", str(root), "process", str(root / episode)])
        assert done.exit_code == 0, done.output
    return root


def webvtt(cues: tuple[tuple[float, str, str], ...]) -> str:
    """A WebVTT file of (start, speaker, text) cues, each lasting until the next (the last 4 s)."""

    def stamp(seconds: float) -> str:
        minutes, rest = divmod(seconds, 60)
        return f"00:{int(minutes):02d}:{rest:06.3f}"

    ends = [start for start, _, _ in cues[1:]] + [cues[-1][0] + 4.0]
    blocks = [
        f"{stamp(start)} --> {stamp(end)}\n<v {speaker}>{text}"
        for (start, speaker, text), end in zip(cues, ends)
    ]
    return "WEBVTT\n\n" + "\n\n".join(blocks) + "\n"


def copy_network(processed: Path, root: Path) -> Path:
    """A private copy of a processed network (build/ included), free to edit."""
    shutil.copytree(processed, root, symlinks=True)
    return root


@contextmanager
def serving(root: Path, **options):
    """`podcast preview`'s server for `root` on a free port, in a thread of this process."""
    server: PreviewServer = start(root, port=0, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass
class PreviewProcess:
    """The real `podcast preview --port 0`, run as a program."""

    process: subprocess.Popen
    url: str
    root: Path  # the network it serves
    lines: list[str]  # stdout, line by line, as it comes (read by a thread)
    reader: threading.Thread

    def stop(self, timeout: float = 20) -> tuple[int, list[str], str]:
        """Ctrl-C (SIGINT), then (exit code, every line of stdout, stderr)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.reader.join(timeout=10)
        err = self.process.stderr.read()
        self.process.stderr.close()
        return self.process.returncode, self.lines, err


def run_preview(root: Path, *args: str, timeout: float = 60) -> PreviewProcess:
    """Start `podcast --root ROOT preview --port 0 ARGS…` and wait for its serving line."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "podcast_tools",
            "--root",
            str(root),
            "preview",
            "--port",
            "0",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    lines: list[str] = []
    found: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            match = SERVING.fullmatch(lines[-1])
            if match:
                found.put(match.group(1))
        process.stdout.close()
        found.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        url = found.get(timeout=timeout)
    except queue.Empty:
        url = None
    if url is None:
        process.kill()
        process.wait()
        reader.join(timeout=10)
        raise AssertionError(
            "podcast preview did not start:\n" + "\n".join(lines) + "\n" + process.stderr.read()
        )
    return PreviewProcess(process, url, root, lines, reader)
