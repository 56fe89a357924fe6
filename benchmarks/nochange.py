"""Benchmark: `podcast publish` of a network where nothing changed, against `podcast validate`.

The sample network (`episodes/`, `templates/`: three shows, seven episodes, every format) is
copied and published once into a folder store (setup); then, in the same run and on the same
machine, alternately:
- baseline: `podcast validate` of it (the floor: load, check, the validation cache);
- ours: `podcast publish` of it again — nothing to master, re-tag or upload: the plan of every
  episode, its notes and record made once each, every feed and page compared, nothing written.
Reported: both wall times (median of --runs) and their ratio — what deciding "nothing to do"
costs above validating. PODCAST_NO_CACHE is not set: both use the validation cache as a
producer's runs do.

Usage: python benchmarks/nochange.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def podcast(root: Path, *args: str) -> float:
    """Run the command as a producer does; return its wall time."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "podcast_tools", "--root", str(root), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podcast-nochange-"))
    try:
        network = work / "network"
        for folder in ("episodes", "templates"):
            shutil.copytree(REPO / folder, network / folder)
        store = f"file://{work / 'store'}"
        setup = podcast(network, "publish", "--storage", store)
        baseline, ours = [], []
        for _ in range(args.runs):
            baseline.append(podcast(network, "validate"))
            ours.append(podcast(network, "publish", "--storage", store))
        plain, mine = statistics.median(baseline), statistics.median(ours)
        print(f"{'first publish (setup)':<46}{setup:>9.2f} s")
        print(f"{'podcast validate (baseline)':<46}{plain:>9.2f} s")
        print(f"{'podcast publish, nothing changed':<46}{mine:>9.2f} s")
        print(f"{'publish ÷ validate':<46}{mine / plain:>9.2f}×")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
