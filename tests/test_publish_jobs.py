"""`publish --jobs N`: episodes mastered in worker processes, the same bytes as one at a time,
and Ctrl-C stopping every worker with nothing left half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.errors import PodcastToolsError
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.fingerprints import fingerprint
from podcast_tools.publish.workers import Job, WorkerPool, usable_cpus
from tests.catalogue import make_catalogue
from tests.conftest import podcast, podcast_json


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (relative path → bytes)."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def descendants(pid: int) -> set[int]:
    """The live descendants of a process (Linux /proc)."""
    found, stack = set(), [pid]
    while stack:
        current = stack.pop()
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    for child in map(int, children.read().split()):
                        if child not in found:
                            found.add(child)
                            stack.append(child)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def outliving(pids: set[int], grace_s: float = 3.0) -> list[str]:
    """The command lines of `pids` still running after `grace_s` (a process that has been told
    to stop is given that long to finish going: a busy machine schedules its exit late)."""
    deadline = time.monotonic() + grace_s
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    lines = []
    for pid in sorted(pid for pid in pids if alive(pid)):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        lines.append(f"{pid}: {cmdline}")
    return lines


def test_the_default_is_every_usable_cpu():
    assert usable_cpus() == len(os.sched_getaffinity(0))


@pytest.mark.slow
def test_episodes_are_mastered_in_worker_processes(tmp_path: Path):
    """Each worker is a process of its own (never this one), each masters whole episodes, and
    every episode's stage progress reaches the parent."""
    make_catalogue(tmp_path, count=3, seconds=6)
    network = load_checked_network(tmp_path)
    started, labels = [], []
    pool = WorkerPool(
        network,
        2,
        started=started.append,
        progress=lambda label, done, total: labels.append(label),
    )
    jobs = [
        Job(e.path, e.slug, tmp_path / "build" / e.show, fingerprint(network, e))
        for e in network.episodes
    ]
    built = pool.run(jobs)
    assert set(built) == {e.path for e in network.episodes} == set(started)
    assert len(pool.pids) == 2 and os.getpid() not in pool.pids
    for episode in network.episodes:
        assert built[episode.path].primary.is_file()
        assert any(label == f"master archive/{episode.slug}: render" for label in labels)
    assert not list((tmp_path / "build").rglob("*.tmp*"))


@pytest.mark.slow
def test_jobs_2_publishes_the_same_bytes_as_jobs_1(tmp_path: Path):
    roots = {}
    for jobs in (1, 2):
        root = tmp_path / f"jobs-{jobs}"
        make_catalogue(root, count=3, seconds=6)
        done = CliRunner().invoke(
            app, ["--root", str(root), "publish", "--json", "--jobs", str(jobs)]
        )
        assert done.exit_code == 0, done.output
        assert len(json.loads(done.stdout)["episodes_processed"]) == 3
        roots[jobs] = root
    one, two = tree(roots[1] / "public"), tree(roots[2] / "public")
    assert one == two and any(key.endswith(".mp3") for key in one)


@pytest.mark.slow
def test_a_failed_episode_does_not_stop_the_others_and_its_error_crosses_whole(tmp_path: Path):
    make_catalogue(tmp_path, count=3, seconds=6)
    network = load_checked_network(tmp_path)
    broken = network.episodes[1]
    broken.resolve(broken.audio).write_bytes(b"RIFF not a wave any more")  # after validation
    jobs = [
        Job(e.path, e.slug, tmp_path / "build" / e.show, fingerprint(network, e))
        for e in network.episodes
    ]
    with pytest.raises(PodcastToolsError) as caught:
        WorkerPool(network, 2, started=lambda path: None).run(jobs)
    assert "001-part" not in str(caught.value) and "002-part.wav" in str(caught.value)
    assert len(caught.value.lines()) == 1  # the one-line error the CLI prints, with its code
    for episode in (network.episodes[0], network.episodes[2]):
        assert (tmp_path / "build" / "archive" / f"{episode.slug}.mp3").is_file()
    assert not (tmp_path / "build" / "archive" / f"{broken.slug}.mp3").exists()
    assert not list((tmp_path / "build").rglob("*.tmp*"))


@pytest.mark.parametrize("jobs", ["0", "-1", "x"])
def test_jobs_must_be_a_positive_count(sample: Path, jobs: str):
    done = CliRunner().invoke(app, ["--root", str(sample), "publish", "--jobs", jobs])
    assert done.exit_code == 2
    assert "--jobs" in done.output


@pytest.mark.slow
def test_ctrl_c_stops_every_worker_and_leaves_nothing_half_written(tmp_path: Path):
    """SIGINT to `podcast publish --jobs 2` while two workers master: exit 130 at once, no
    ffmpeg or worker left running, no temp file in build/, storage and manifest as they were."""
    episodes = make_catalogue(tmp_path, count=4, seconds=150)
    store = tmp_path / "public"
    # one episode published: a manifest and a feed to keep intact
    podcast(None, "publish", "--jobs", "1", str(episodes[0]), process=True, ok=True, cwd=tmp_path)
    before = {**tree(store), **tree(tmp_path / "public.state")}
    builds_before = tree(tmp_path / "build")

    process = subprocess.Popen(
        [sys.executable, "-m", "podcast_tools", "publish", "--jobs", "2"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    mastering, lines = 0, []
    deadline = time.monotonic() + 120
    while mastering < 2 and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        lines.append(line)
        mastering += line.startswith("mastering ")
    assert mastering == 2, "".join(lines)
    time.sleep(2.0)  # both workers well into the render, their encoders running
    running = descendants(process.pid)
    ffmpegs = [pid for pid in running if "ffmpeg" in Path(f"/proc/{pid}/cmdline").read_text()]
    assert len(ffmpegs) >= 2, "each worker encodes with an ffmpeg of its own"

    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    took = time.monotonic() - interrupted
    assert process.returncode == 130, err
    assert took < 10, f"stopping took {took:.1f} s"
    assert "interrupted" in err.splitlines()[-1], err
    assert "Traceback" not in err, err
    assert outliving(running) == [], "a worker or an ffmpeg outlived the run"
    # nothing half-written: no temp file, no half-made output; storage and manifest untouched
    assert [p.name for p in (tmp_path / "build").rglob("*") if ".tmp" in p.name] == []
    built = tree(tmp_path / "build")
    made = {key for key in built if key not in builds_before and not key.startswith(".cache")}
    for key in made:  # an episode whose mastering finished has all its files, none half
        assert key.endswith((".mp3", ".json", ".html", ".txt", ".md")), key
    assert {**tree(store), **tree(tmp_path / "public.state")} == before

    again = podcast_json(None, "publish", "--jobs", "2", process=True, cwd=tmp_path)
    assert len(again["episodes_processed"]) == 3  # and the next run completes the job
