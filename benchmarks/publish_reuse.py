"""Benchmark: `podcast process` then `podcast publish` masters each episode once.

A network made with `podcast init`, its episode given a generated speech-like master of
--minutes (default 10), is processed; then, in the same run and on the same machine:
- baseline: `podcast publish` of a copy with no build/ folder (it masters the episode);
- ours: `podcast publish` of the processed network (it reuses what `process` built).
Reported: both wall times (median of --runs), their ratio, and how many ffmpeg encodes each ran.

Usage: python benchmarks/publish_reuse.py [--minutes 10] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podcast_tools.audio.synth import speech_like_master  # noqa: E402
from podcast_tools.ffmpeg import ffmpeg_exe  # noqa: E402


def podcast(root: Path, log: Path, *args: str) -> float:
    """Run the command as a producer does; return its wall time."""
    env = {**os.environ, "PODCAST_FFMPEG": str(log.parent / "ffmpeg-logged")}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "podcast_tools", "--root", str(root), *args],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def encodes(log: Path) -> int:
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return sum("libmp3lame" in line for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podcast-reuse-"))
    try:
        log = work / "ffmpeg.log"
        wrapper = work / "ffmpeg-logged"
        wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{ffmpeg_exe()}" "$@"\n')
        wrapper.chmod(0o755)
        network = work / "network"
        subprocess.run(
            [sys.executable, "-m", "podcast_tools", "init", str(network)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        speech_like_master(network / "episodes/main/001-welcome.wav", args.minutes * 60)
        episode = network / "episodes/main/001-welcome.md"
        podcast(network, log, "process", str(episode))
        encodes(log)

        baseline, ours = [], []
        baseline_encodes = ours_encodes = 0
        for run in range(args.runs):
            fresh = work / f"fresh-{run}"
            shutil.copytree(network, fresh, ignore=shutil.ignore_patterns("build"))
            store = f"file://{work / f'store-a-{run}'}"
            baseline.append(podcast(fresh, log, "publish", "--storage", store))
            baseline_encodes = encodes(log)
            store = f"file://{work / f'store-b-{run}'}"
            ours.append(podcast(network, log, "publish", "--storage", store))
            ours_encodes = encodes(log)
        a, b = statistics.median(baseline), statistics.median(ours)
        print(f"one {args.minutes:g}-minute episode, median of {args.runs} runs")
        print(
            f"publish without a build (masters)      {a:8.2f} s   ffmpeg encodes {baseline_encodes}"
        )
        print(f"publish after process (reuses build/)  {b:8.2f} s   ffmpeg encodes {ours_encodes}")
        print(
            f"without ÷ with                          {a / b:8.1f}×  target: 0 encodes  "
            + ("ok" if ours_encodes == 0 else "MISSED")
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
