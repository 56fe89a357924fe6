"""Benchmark: build every feed of a generated network of 10 shows × 1,000 episodes (target ≤ 2 s),
and `podcast validate` on it with an empty validation cache and again unchanged (target ≤ 1 s).

The network is written to a temp folder (network.toml, one Markdown file per episode, a short
shared master and artwork); media facts are made up as publishing would record them. Measured in the same run: loading and
validating the network and building every episode's record (for reference), and building all ten
feeds as `publish` does — from the manifest's entries alone (records read back, feed inputs and
candidates made from them, then the XML). `podcast validate` runs as the user runs it, a subprocess
of this Python: first with no build/.cache/ (cold), then again on the unchanged network (warm, the
best of three). As for an installed package (pip compiles every module when it installs one), the
subprocess runs with bytecode caching on — PYTHONDONTWRITEBYTECODE removed from its environment —
after this package's modules were compiled once (compileall), so no run pays for compiling source.

Usage: python benchmarks/feeds.py [--shows 10] [--episodes 1000]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podcast_tools.audio.synth import speech_like_master  # noqa: E402
from podcast_tools.content import feed_url, podcast_guid_for  # noqa: E402
from podcast_tools.content.loader import publisher_feed_url  # noqa: E402
from podcast_tools.feed import build_feed  # noqa: E402
from podcast_tools.feed.build import dated  # noqa: E402
from podcast_tools.media_checks import load_checked_network  # noqa: E402
from podcast_tools.record import (  # noqa: E402
    AudioFile,
    EpisodeRecord,
    build_record,
    feed_candidates,
    feed_inputs,
)
from podcast_tools.scaffold import _placeholder_artwork  # noqa: E402

BASE = "https://media.example.com/"


def make_network(root: Path, shows: int, episodes: int) -> None:
    (root / "episodes" / "art").mkdir(parents=True)
    (root / "episodes" / "art" / "cover.png").write_bytes(_placeholder_artwork())
    speech_like_master(
        root / "episodes" / "art" / "master.mp3",
        3,
        silence_s=0.5,
        codec_args=("-c:a", "libmp3lame"),
    )
    lines = [
        '[network]\nname = "Bench"\nbase_url = "https://media.example.com/"\nstorage = "file://public"\n'
        f'podcast_guid = "{podcast_guid_for(publisher_feed_url(BASE))}"\n',
        '[defaults]\nauthor = "Bench"\nowner = { name = "Bench", email = "bench@example.com" }\n'
        'language = "en"\ncategory = ["Technology"]\nartwork = "art/cover.png"\n',
    ]
    start = datetime(2020, 1, 6, 9, tzinfo=timezone.utc)
    for index in range(shows):
        show = f"show-{index:02d}"
        parent = '\nextends = "show-00"' if index else ""
        guid = podcast_guid_for(feed_url(BASE, show))
        lines.append(
            f'[shows.{show}]{parent}\ntitle = "Show {index}"\ndescription = "Show {index} of the bench."\n'
            f'podcast_guid = "{guid}"\n'
        )
        folder = root / "episodes" / show
        folder.mkdir()
        for number in range(1, episodes + 1):
            (folder / f"{number:04d}-episode.md").write_text(
                f"---\ntitle: Episode {number} of show {index}\nguid: {uuid.uuid4()}\n"
                f"date: {(start + timedelta(days=number)).isoformat()}\nnumber: {number}\n"
                f"audio: ../art/master.mp3\nchapters:\n  - start: 0\n    title: Start\n---\n\n"
                f"Notes for episode {number}: **bold**, [a link](https://example.com/{number}).\n"
            )
    (root / "episodes" / "network.toml").write_text("\n".join(lines))


#: The package's own modules, compiled to .pyc before timing (as installing it does).
PACKAGE = Path(__file__).resolve().parents[1] / "podcast_tools"


def user_environment() -> dict[str, str]:
    """This environment with bytecode caching on, as a user's shell has it."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed_validate(root: Path) -> float:
    """Seconds one `podcast validate` takes, start to exit (it must find no problem)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "podcast_tools", "--root", str(root), "validate"],
        capture_output=True,
        text=True,
        check=False,
        env=user_environment(),
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"podcast validate failed:\n{done.stdout}{done.stderr}")
    return seconds


def time_dated(network, entries, artwork, feeds, now, later) -> float:
    """Seconds `dated` takes for every feed when each stored feed differs (one length) from
    what the manifest now gives: the next publish after one re-tag in every show."""
    dated_s = 0.0
    for show_id, feed in zip(network.shows, feeds):
        records = {
            g: EpisodeRecord.from_entry(g, e) for g, e in entries.items() if show_id in e["shows"]
        }
        inputs = feed_inputs(network.settings.base_url, records, artwork)
        candidates = feed_candidates(network, records, show_id)
        stored = feed.xml.replace(b'length="', b'length="9', 1)
        started = time.perf_counter()
        dated(
            lambda when, show_id=show_id, inputs=inputs, candidates=candidates: build_feed(
                network, show_id, inputs, now=now, candidates=candidates, built_at=when
            ),
            stored,
            later,
        )
        dated_s += time.perf_counter() - started
    return dated_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shows", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="podcast-feeds-"))
    try:
        make_network(work, args.shows, args.episodes)
        compileall.compile_dir(PACKAGE, quiet=1)  # what `pip install` does for a package
        validate_cold_s = timed_validate(work)
        validate_warm_s = min(timed_validate(work) for _ in range(3))
        started = time.perf_counter()
        network = load_checked_network(work)
        load_s = time.perf_counter() - started

        # The records publishing stores in its manifest (made-up audio facts), as JSON entries.
        started = time.perf_counter()
        entries = {}
        for index, episode in enumerate(network.episodes):
            audio = AudioFile(
                format="mp3",
                key=f"{episode.show}/episodes/{episode.slug}-{index:012x}.mp3",
                bytes=30_000_000 + index,
                sha256=f"{index:064x}",
                duration_s=1800.0 + index,
            )
            record = build_record(network, episode, (audio,), (0.0,), "bench")
            entries[episode.guid] = json.loads(json.dumps(record.entry()))
        record_s = time.perf_counter() - started
        artwork = {s: f"{s}/art/cover-0123456789ab.png" for s in network.shows}

        # Every feed as `publish` builds it: from the manifest's records alone.
        now = datetime(2030, 1, 1, tzinfo=timezone.utc)
        started = time.perf_counter()
        feeds = []
        for show_id in network.shows:
            records = {
                g: EpisodeRecord.from_entry(g, e)
                for g, e in entries.items()
                if show_id in e["shows"]
            }
            feeds.append(
                build_feed(
                    network,
                    show_id,
                    feed_inputs(network.settings.base_url, records, artwork),
                    now=now,
                    candidates=feed_candidates(network, records, show_id),
                )
            )
        build_s = time.perf_counter() - started

        # The next publish after one re-tag in every show: each stored feed differs (one length),
        # so `dated` builds it with the stored date, sees other bytes, and dates it with the run's
        # time (re-dating the one build; before, building it a second time).
        later = now + timedelta(days=1)
        runs = []
        for _ in range(3):  # the best of three
            runs.append(time_dated(network, entries, artwork, feeds, now, later))
        dated_s = min(runs)
        total_items = sum(len(feed.included) for feed in feeds)
        size = sum(len(feed.xml) for feed in feeds)
        print(
            f"network: {len(network.shows)} shows × {args.episodes} episodes ({len(network.episodes)} files)"
        )
        print(f"{'load + validate in-process, cache warm (ref.)':<44} {load_s:8.2f} s")
        print(f"{'build every record: notes, keys (reference)':<44} {record_s:8.2f} s")
        ok = "ok" if build_s <= 2.0 else "MISSED"
        print(f"{'build all feeds from the records':<44} {build_s:8.2f} s   target ≤ 2 s  {ok}")
        print(f"{'date every changed feed (dated, reference)':<44} {dated_s:8.2f} s")
        print(f"{'items written':<44} {total_items:8d}   ({size / 1e6:.1f} MB of XML)")
        print(f"{'podcast validate, empty cache (reference)':<44} {validate_cold_s:8.2f} s")
        ok = "ok" if validate_warm_s <= 1.0 else "MISSED"
        print(
            f"{'podcast validate, unchanged network (warm)':<44} {validate_warm_s:8.2f} s   "
            f"target ≤ 1 s  {ok}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
