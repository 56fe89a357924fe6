"""Benchmark: a title fix on a published 60-minute episode (target: `publish` ≤ 3 s, no ffmpeg).

Generates a 60-minute speech-like master (ffmpeg's synthetic sources), publishes its one-show
network to a folder store (the first publish masters it: the baseline, as long as a title fix
took before the tags had a fingerprint of their own), fixes a typo in the episode's title and
publishes again, timing that run and counting the ffmpeg processes it starts (PODCAST_FFMPEG
points at a wrapper that logs each run). Then the same with the build folder removed (a CI
runner): the published files are fetched from the store and re-tagged.

Usage: python benchmarks/retag.py [--minutes 60]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audio import line, make_network, timed  # noqa: E402

from podcast_tools.audio.synth import speech_like_master  # noqa: E402
from podcast_tools.ffmpeg import ffmpeg_exe  # noqa: E402


def publish(root: Path, env: dict[str, str]) -> float:
    store = root.parent / "store"
    command = [
        sys.executable,
        "-m",
        "podcast_tools",
        "--root",
        str(root),
        "publish",
        "--storage",
        f"file://{store}",
        "--state",
        f"file://{store}.state",
    ]
    return timed(command, env=env).seconds


def fix_title(episode: Path, new_title: str) -> None:
    text = episode.read_text(encoding="utf-8")
    head, rest = text.split("\ntitle: ", 1)
    episode.write_text(f"{head}\ntitle: {new_title}\n{rest.split(chr(10), 1)[1]}", "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="podcast-retag-"))
    work.mkdir(parents=True, exist_ok=True)
    log = work / "ffmpeg.log"
    wrapper = work / "ffmpeg-logged"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{ffmpeg_exe()}" "$@"\n')
    wrapper.chmod(0o755)
    env = {**os.environ, "PODCAST_FFMPEG": str(wrapper)}
    try:
        master_path = work / "master.wav"
        speech_like_master(master_path, args.minutes * 60)
        episode = make_network(work / "net", master_path)
        root = episode.parents[2]
        full_s = publish(root, env)
        master_runs = len(log.read_text().splitlines())

        log.unlink(missing_ok=True)
        fix_title(episode, "Long (typo fixed)")
        retag_s = publish(root, env)
        retag_runs = len(log.read_text().splitlines()) if log.exists() else 0

        log.unlink(missing_ok=True)
        shutil.rmtree(root / "build" / "bench")  # a CI runner: nothing built there
        fix_title(episode, "Long (typo fixed again)")
        fetched_s = publish(root, env)
        fetched_runs = len(log.read_text().splitlines()) if log.exists() else 0

        print(f"\n{args.minutes:g}-minute episode, MP3 128 kbps, folder store")
        line("first publish (masters it: the baseline)", f"{full_s:.1f} s", "", None)
        line("  its ffmpeg runs", f"{master_runs}", "", None)
        line("title fix: publish wall time", f"{retag_s:.2f} s", "≤ 3 s", retag_s <= 3.0)
        line("title fix: ffmpeg runs", f"{retag_runs}", "0", retag_runs == 0)
        line("title fix ÷ first publish", f"{retag_s / full_s:.3f}", "", None)
        line(
            "title fix, build gone (fetched): wall time",
            f"{fetched_s:.2f} s",
            "≤ 3 s",
            fetched_s <= 3.0,
        )
        line("title fix, build gone: ffmpeg runs", f"{fetched_runs}", "0", fetched_runs == 0)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
