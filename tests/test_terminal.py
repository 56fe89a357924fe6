"""What a producer sees: a live progress display in a terminal, plain lines in a pipe or CI log.

The terminal case runs `podcast publish` on a pseudo-terminal of 80×24 and replays everything it
wrote through `pyte`, a terminal emulator, to read the screen as a person would see it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest
import pyte

ANSI = re.compile(r"\x1b[\[\]()#;?0-9]*[A-Za-z@-~]")
LINE_STARTS = (
    "mastering ",
    "uploading ",
    "feed ",
    "reusing ",
    "skipping ",
    "note: ",
    "file://",
    "website: ",
)


def run_on_a_terminal(args: list[str], cwd: Path, columns: int = 80, rows: int = 24) -> bytes:
    """Run a command with stdin, stdout and stderr on a pseudo-terminal; return all it wrote."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(columns), "LINES": str(rows)}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        args, stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=env, close_fds=True
    )
    os.close(follower)
    output = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 600)
        if not ready:
            process.kill()
            raise AssertionError("the command wrote nothing for 10 minutes")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the command closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=60) == 0, output.decode(errors="replace")[-2000:]
    os.close(leader)
    return bytes(output)


def screen_lines(output: bytes, columns: int = 80, rows: int = 24) -> list[str]:
    """Every line a person saw scroll by and what the screen shows at the end (wrapped rows
    joined)."""
    screen = pyte.HistoryScreen(columns, rows, history=10_000)
    stream = pyte.ByteStream(screen)
    stream.feed(output.replace(b"\n", b"\r\n") if b"\r\n" not in output else output)
    history = [
        "".join(line[column].data for column in range(columns)).rstrip()
        for line in screen.history.top
    ]
    rows = [line for line in history + [row.rstrip() for row in screen.display] if line]
    logical: list[str] = []
    previous = ""
    for row in rows:  # the terminal wraps a long line: a full row continues on the next
        # (unless the next row begins a log line: a line that exactly fills its row is followed by
        # a new line, which the screen cannot tell from a wrap; joining them lost a line)
        if logical and len(previous) >= columns - 1 and not row.startswith(LINE_STARTS):
            logical[-1] += row
        else:
            logical.append(row)
        previous = row
    return logical


@pytest.mark.slow
def test_publish_in_a_terminal_prints_log_lines_above_one_live_display(
    sample: Path, tmp_path: Path
):
    store = tmp_path / "store"
    output = run_on_a_terminal(
        [sys.executable, "-m", "podcast_tools", "publish", "--storage", f"file://{store}"],
        cwd=sample,
    )
    assert b"\x1b[" in output  # a live display was drawn
    lines = screen_lines(output)
    # what remains is the log, each line whole and once, no bar left behind, then the summary
    assert not any("━" in line for line in lines), "\n".join(lines)
    assert lines[-1].startswith(f"file://{store}: processed 7,"), lines[-1]
    for line in lines:
        assert line.startswith(LINE_STARTS), f"garbled: {line!r}"
    uploads = [line for line in lines if line.startswith("uploading ")]
    assert len(uploads) == len(set(uploads)) > 7
    mastered = [line for line in lines if line.startswith("mastering ")]
    assert len(mastered) == 7 == len(set(mastered))
    # mastering showed progress while it ran (a bar labelled with the episode and the stage)
    drawn = ANSI.sub("", output.decode("utf-8", errors="replace"))
    assert re.search(r"master \S+: (analyse|render)", drawn), drawn[:2000]


@pytest.mark.slow
def test_publish_into_a_pipe_prints_plain_lines(sample: Path, tmp_path: Path):
    store = tmp_path / "store"
    done = subprocess.run(
        [sys.executable, "-m", "podcast_tools", "publish", "--storage", f"file://{store}"],
        cwd=sample,
        capture_output=True,
        env={**os.environ, "TERM": "xterm-256color"},
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    for stream in (done.stdout, done.stderr):
        assert b"\x1b" not in stream and b"\r" not in stream
    lines = done.stderr.decode().splitlines()
    assert all(line.startswith(LINE_STARTS) for line in lines), lines
    assert sum(line.startswith("mastering ") for line in lines) == 7
    assert done.stdout.decode().startswith(f"file://{store}")


@pytest.mark.slow
def test_stdout_piped_from_a_terminal_gets_no_bars(sample: Path, tmp_path: Path):
    """`podcast publish | cat`: stderr is still the terminal, yet the output stays plain."""
    store = tmp_path / "store"
    script = (
        f"{sys.executable} -m podcast_tools publish "
        f"--storage file://{store} "
        f"episodes/itsmwp-row/001-outsourcing-the-service-desk.md | cat"
    )
    output = run_on_a_terminal(["/bin/sh", "-c", script], cwd=sample)
    assert b"\x1b" not in output, output[:500]
    lines = output.decode().replace("\r", "").splitlines()
    assert all(line.startswith(LINE_STARTS) for line in lines if line), lines
