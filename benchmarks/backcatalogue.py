"""Benchmark: a back catalogue mastered again after a settings change, with --jobs 2 and --jobs 1.

A network of --episodes (default 16) generated speech-like masters of --minutes (default 3) each
is published once to a folder (file://). Then the show's loudness target changes in network.toml
(every episode must be mastered again) and two copies of that state are published again, one
with `--jobs 1`, one with `--jobs 2`. Reported:

* wall time of each, and jobs 1 ÷ jobs 2 (target ≥ 1.8 on a 2-core machine);
* CPU time of each (the publish and all it started) and how many cores that kept busy on average:
  what one episode at a time already takes from a second core is what a second worker cannot gain;
* peak memory of each worker: the sum of PSS over the worker's process tree (the worker and its
  ffmpeg processes; benchmarks/audio.py `tree_memory`), sampled every 50 ms (target ≤ 200 MB),
  and of the whole `--jobs 1` process tree for comparison;
* the analysis cache on the second run: how many mastering reports (build/<show>/<slug>.json)
  say `analysis_cached` (target 100 %);
* the machine's load average before and after (the benchmark shares the machine).

Usage: python benchmarks/backcatalogue.py [--episodes 16] [--minutes 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.audio import line, tree_memory  # noqa: E402
from tests.catalogue import make_catalogue, set_target  # noqa: E402


@dataclass
class Publish:
    seconds: float
    cpu_seconds: float
    peak_tree_pss: int  # bytes: the whole process tree
    workers: dict[int, int] = field(default_factory=dict)  # worker pid → peak PSS of its tree


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        pass
    return found


def _is_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"spawn_main" in cmdline.read()
    except (FileNotFoundError, ProcessLookupError):
        return False


def publish(root: Path, *args: str) -> Publish:
    """`podcast publish` in `root`: wall time, CPU time, peak memory of the tree and per worker."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "podcast_tools", "publish", *args],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peaks: dict[int, int] = {}
    peak_tree = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak_tree[0] = max(peak_tree[0], tree_memory(process.pid)[1])
            for child in _children(process.pid):
                if _is_worker(child):
                    peaks[child] = max(peaks.get(child, 0), tree_memory(child)[1])
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"publish failed: {stderr.decode(errors='replace')[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Publish(elapsed, cpu, peak_tree[0], peaks)


def cached_share(root: Path) -> tuple[int, int]:
    """(reports saying analysis_cached, reports) in build/archive/."""
    reports = [
        json.loads(path.read_text())
        for path in (root / "build" / "archive").glob("*.json")
        if not path.name.endswith(".chapters.json")
    ]
    reports = [report for report in reports if "analysis_cached" in report]
    return sum(bool(report["analysis_cached"]) for report in reports), len(reports)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp folder)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="podcast-backcatalogue-"))
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    try:
        base = work / "network"
        shutil.rmtree(base, ignore_errors=True)
        generating = time.perf_counter()
        make_catalogue(base, count=args.episodes, seconds=args.minutes * 60, target_lufs=-16.0)
        generated = time.perf_counter() - generating
        first = publish(base)  # everything published once, the analysis cache filled
        set_target(base, -18.0)
        copies = {}
        for jobs in (1, 2):
            copies[jobs] = work / f"jobs-{jobs}"
            shutil.rmtree(copies[jobs], ignore_errors=True)
            shutil.copytree(base, copies[jobs], symlinks=True)
        runs = {jobs: publish(copies[jobs], "--jobs", str(jobs)) for jobs in (2, 1)}
        load_after = os.getloadavg()

        count, minutes = args.episodes, args.minutes
        print(
            f"{count} episodes of {minutes:g} minutes (generated in {generated:.0f} s), "
            f"stereo 44.1 kHz; usable CPUs {len(os.sched_getaffinity(0))}; load average "
            f"{load_before[0]:.1f} before, {load_after[0]:.1f} after"
        )
        line("first publish (default --jobs)", f"{first.seconds:.1f} s", "(setup)", None)
        for jobs in (1, 2):
            run = runs[jobs]
            line(
                f"re-master after a target change, --jobs {jobs}",
                f"{run.seconds:.1f} s",
                "",
                None,
            )
            line(
                f"  CPU time, --jobs {jobs} (cores busy)",
                f"{run.cpu_seconds:.0f} s ({run.cpu_seconds / run.seconds:.2f})",
                "",
                None,
            )
        ratio = runs[1].seconds / runs[2].seconds
        line("--jobs 1 ÷ --jobs 2", f"{ratio:.2f}×", "≥ 1.8×", ratio >= 1.8)
        worst = max(runs[2].workers.values(), default=0)
        line(
            f"peak memory per worker (PSS of its tree, {len(runs[2].workers)} workers)",
            f"{worst / 2**20:.0f} MB",
            "≤ 200 MB",
            0 < worst <= 200 * 2**20,
        )
        line(
            "peak memory, whole tree, --jobs 2",
            f"{runs[2].peak_tree_pss / 2**20:.0f} MB",
            "",
            None,
        )
        line(
            "peak memory, whole tree, --jobs 1",
            f"{runs[1].peak_tree_pss / 2**20:.0f} MB",
            "",
            None,
        )
        for jobs in (2, 1):
            hits, reports = cached_share(copies[jobs])
            line(
                f"analysis cache hits, second run, --jobs {jobs}",
                f"{hits}/{reports} ({100 * hits / max(reports, 1):.0f} %)",
                "100 %",
                reports == count and hits == reports,
            )
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
