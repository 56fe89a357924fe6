"""Benchmark: what a CI run fetches from Git LFS with the plan step, against a full LFS checkout.

The sample network (`episodes/`, `templates/`: seven masters and four jingles) is committed
through Git LFS (`git lfs track` of every audio pattern) in a temporary repository, pushed to
a bare repository on a file:// path (git-lfs's standalone file transfer: nothing leaves the
machine) and published once from the full checkout to a folder store (setup). Then three
pushes, each checked out as CI does — a clone with GIT_LFS_SKIP_SMUDGE=1 (every master a
pointer):
- (a) a title fix of one episode;
- (b) a new episode (a generated tone, --seconds long, WAV);
- (c) nothing changed (an empty commit).
Ours: `podcast publish --plan --json --changed-since HEAD~1`, `git lfs pull --include
"$lfs_include"` when it is non-empty, `podcast publish --changed-since HEAD~1`. Baseline, in the
same run, on a copy of the same store: a full `lfs: true` checkout — `git lfs pull` of
everything, then the same publish. Reported per run: the LFS objects and bytes fetched (the
files under .git/lfs/objects), the wall time of plan + pull + publish (baseline: pull +
publish), and the ratio of bytes. Machine transcripts are turned off in the copy
(`auto = false`) unless --transcripts.

Usage: python benchmarks/lfs.py [--seconds 30] [--transcripts]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podcast_tools.scaffold import MASTER_PATTERNS  # noqa: E402
from tests.audio_tools import synth  # noqa: E402
from tests.conftest import edit  # noqa: E402
from tests.test_lfs import TITLE_FIX, audio_files, git  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
AUTO = "transcripts = { auto = true"


def podcast(root: Path, *args: str) -> str:
    """Run the command as CI does; return its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "podcast_tools", "--root", str(root), *args],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"podcast {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def fetched(clone: Path) -> tuple[int, int]:
    """(objects, bytes) in the clone's LFS object store."""
    objects = [p for p in (clone / ".git/lfs/objects").rglob("*") if p.is_file()]
    return len(objects), sum(p.stat().st_size for p in objects)


def setup(work: Path, transcripts: bool) -> tuple[Path, Path]:
    """The network in Git LFS pushed to a bare origin, published once: (origin, store)."""
    producer, origin, store = work / "producer", work / "origin.git", work / "store"
    for folder in ("episodes", "templates"):
        shutil.copytree(REPO / folder, producer / folder)
    if not transcripts:
        edit(producer / "episodes/network.toml", AUTO, "transcripts = { auto = false")
    (producer / ".gitignore").write_text("/build/\n")
    git(work, "init", "-q", "--bare", "-b", "main", str(origin))
    git(producer, "init", "-q", "-b", "main")
    git(producer, "lfs", "install", "--local")
    git(producer, "lfs", "track", *MASTER_PATTERNS)
    git(producer, "add", "-A")
    git(producer, "commit", "-q", "-m", "the network")
    git(producer, "remote", "add", "origin", f"file://{origin}")
    git(producer, "push", "-q", "origin", "main")
    podcast(producer, "publish", "--all", *where(store))
    return origin, store


def where(store: Path) -> list[str]:
    return ["--storage", f"file://{store}", "--state", f"file://{store}.state"]


def copy_store(store: Path, to: Path) -> Path:
    shutil.copytree(store, to)
    shutil.copytree(f"{store}.state", f"{to}.state")
    return to


def ci_run(origin: Path, clone: Path, store: Path, full: bool) -> tuple[int, int, list[float]]:
    """A CI checkout (no smudging) and its publish: (objects, bytes, [plan, pull, publish] s)."""
    git(clone.parent, "clone", "-q", f"file://{origin}", str(clone))
    since = ["--changed-since", "HEAD~1"]
    marks = [time.perf_counter()]
    include = None
    if not full:
        plan = json.loads(podcast(clone, "publish", "--plan", "--json", *since, *where(store)))
        include = plan["lfs_include"]
    marks.append(time.perf_counter())
    if full:
        git(clone, "lfs", "pull", skip_smudge=False)
    elif include:
        git(clone, "lfs", "pull", "--include", include, skip_smudge=False)
    marks.append(time.perf_counter())
    podcast(clone, "publish", *since, *where(store))
    marks.append(time.perf_counter())
    return (*fetched(clone), [b - a for a, b in zip(marks, marks[1:])])


def push_title_fix(producer: Path, work: Path) -> None:
    edit(producer / TITLE_FIX, "\ntitle: ", "\ntitle: Fixed — ")
    git(producer, "commit", "-q", "-am", "title fix")


def push_new_episode(producer: Path, work: Path, seconds: float) -> None:
    tone = synth(work / "tone.wav", "0.3*sin(2*PI*220*t)", seconds=seconds, rate=44100)
    podcast(
        producer, "new", "itsmwp", "--title", "Fresh", "--audio", str(tone),
        "--date", "2026-12-01T09:00:00+00:00",
    )  # fmt: skip
    git(producer, "add", "-A")
    git(producer, "commit", "-q", "-m", "a new episode")


def push_nothing(producer: Path, work: Path) -> None:
    git(producer, "commit", "-q", "--allow-empty", "-m", "nothing changed")


def mb(size: int) -> str:
    return f"{size / 1e6:.2f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="the new episode's length")
    parser.add_argument("--transcripts", action="store_true", help="keep machine transcripts")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podcast-lfs-"))
    try:
        started = time.perf_counter()
        origin, store = setup(work, args.transcripts)
        setup_s = time.perf_counter() - started
        producer = work / "producer"
        runs = [
            ("(a) title fix", lambda: push_title_fix(producer, work)),
            ("(b) new episode", lambda: push_new_episode(producer, work, args.seconds)),
            ("(c) nothing changed", lambda: push_nothing(producer, work)),
        ]
        state = "on" if args.transcripts else "off (auto = false in the copy; --transcripts: on)"
        tracked = len(audio_files(producer))
        print(f"sample network in Git LFS ({tracked} audio files), machine transcripts {state}")
        print(f"setup (commit, push, first publish from a full checkout): {setup_s:.1f} s")
        print(
            f"{'run':<21}{'':<6}{'objects':>8}{'fetched':>11}{'wall':>9}"
            f"{'plan + pull + publish':>24}{'bytes ÷ full':>14}{'time ÷ full':>13}"
        )
        for index, (name, change) in enumerate(runs):
            change()
            git(producer, "push", "-q", "origin", "HEAD:main")
            base = work / f"run{index}"
            base.mkdir()
            full_store = copy_store(store, base / "full-store")
            theirs = ci_run(origin, base / "full", full_store, full=True)
            mine = ci_run(origin, base / "plan", store, full=False)
            ratio = mine[1] / theirs[1] if theirs[1] else float("nan")
            for label, (objects, size, parts) in (("full", theirs), ("plan", mine)):
                steps = " + ".join(f"{part:.2f}" for part in parts)
                print(f"{name if label == 'full' else '':<21}{label:<6}{objects:>8}", end="")
                print(f"{mb(size):>11}{sum(parts):>7.2f} s{steps:>24}", end="")
                if label == "plan":
                    print(f"{ratio:>14.3f}{sum(parts) / sum(theirs[2]):>13.2f}", end="")
                print()
        print("full: GIT_LFS_SKIP_SMUDGE=1 clone, `git lfs pull`, `podcast publish` (lfs: true)")
        print("plan: same clone, `publish --plan --json`, `git lfs pull --include`, `publish`")
        print("wall times are rough (a busy machine); objects and bytes are exact")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
