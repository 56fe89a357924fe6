"""A command's own peak memory, measured honestly from a test.

`os.wait4`'s figure for a child (``ru_maxrss``) will not do: Linux carries the parent's peak across
fork and exec, so the child of a large test process "peaks" at that process's size (a 57 MB
`podcast validate` read 366 MB late in a full run). The child instead reports its own high-water
mark (``VmHWM``: this process image's, from /proc) as it exits.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: Runs `python -m podcast_tools ARGS` and, as it exits, writes its VmHWM line to PEAK_OUT.
PEAK_SHIM = """
import atexit, os, runpy
def _peak():
    with open("/proc/self/status") as status, open(os.environ["PEAK_OUT"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")))
atexit.register(_peak)
runpy.run_module("podcast_tools", run_name="__main__", alter_sys=True)
"""


def podcast_peak_mb(
    *args: str, scratch: Path, env: dict[str, str] | None = None, stdout=subprocess.DEVNULL
) -> tuple[subprocess.CompletedProcess, float]:
    """Run `podcast ARGS` in a child process: (the finished process, its own peak RSS in MB).
    `scratch` is a folder for the figure's file; stderr is captured as text."""
    out = scratch / f"peak-{os.getpid()}-{len(list(scratch.glob('peak-*')))}.txt"
    child = subprocess.run(
        [sys.executable, "-c", PEAK_SHIM, *args],
        env={**os.environ, **(env or {}), "PEAK_OUT": str(out)},
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    kib = int(out.read_text().split()[1])  # "VmHWM:   123456 kB"
    return child, kib / 1024
