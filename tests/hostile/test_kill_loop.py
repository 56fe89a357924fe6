"""kill -9 at random moments of `podcast publish`, then run it again: nothing is lost, nothing is
left over (issue 11, item 9).

Seeded and bounded: ten rounds against the real SeaweedFS. Each round changes the network a
little (show notes, a transcript big enough to go up in three parts, a new episode), runs
`podcast publish` in a subprocess that sends itself SIGKILL before or after its k-th HTTP request
(tests/hostile/killable.py; k drawn at random), then runs it again to completion and checks:

- every enclosure, transcript and chapters URL of every feed is an object in the bucket, with the
  enclosure's length;
- no guid that was ever in a feed is missing from it;
- no incomplete multipart upload is left, the public prefix holds nothing but the layout's
  objects, the state nothing but the manifest and its numbered copies, and the manifest reads.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest

from podcast_tools.publish.manifest import read_manifest
from podcast_tools.publish.run import Publisher
from podcast_tools.publish.storage import S3Storage
from tests import s3server
from tests.conftest import REPO, edit
from tests.hostile.helpers import BASE, ROW1, SHOWS, podcast

SEED = 20261126
ROUNDS = 10
PART = 5 * 1024 * 1024
TRANSCRIPT = "episodes/itsmwp-row/001-outsourcing-the-service-desk.vtt"
PODCAST_NS = "{https://podcastindex.org/namespace/1.0}"
LAYOUT = (
    "net/publisher.xml",
    *(f"net/{show}/feed.xml" for show in SHOWS),
)
#: the website: the network's page, show pages (and their list pages), episode pages, assets,
#: the icon, the search index
SITE = re.compile(
    r"^net/(index\.html|[a-z0-9-]+/index\.html|[a-z0-9-]+/page/\d+/index\.html"
    r"|[a-z0-9-]+/[a-z0-9-]+\.html|assets/site-[0-9a-f]{12}\.(css|js)"
    r"|assets/icon-[0-9a-f]{12}\.png|favicon\.ico"  # the site's icon
    r"|pagefind/[A-Za-z0-9_./-]+)$"  # the search index
)


def run(root: Path, env: dict, **test_env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tests.hostile.killable", "--root", str(root), "publish"],
        capture_output=True,
        text=True,
        env={**env, **test_env},
        cwd=REPO,
        timeout=300,
        check=False,
    )


def big_transcript(root: Path, round_: int) -> None:
    cue = f"00:00.000 --> 00:05.000\nRound {round_}: welcome to the Rest of World edition.\n\n"
    count = (2 * PART + PART // 5) // len(cue) + 1  # just over two parts: three parts in all
    (root / TRANSCRIPT).write_text("WEBVTT\n\n" + cue * count)


def change(root: Path, round_: int, rng: random.Random) -> str:
    what = rng.choice(["notes", "notes", "transcript", "episode"] if round_ else ["notes"])
    if what == "notes":
        files = sorted((root / "episodes").glob("*/*.md"))
        path = rng.choice(files)
        path.write_text(path.read_text() + f"\nRound {round_} adds a line to the notes.\n")
    elif what == "transcript":
        big_transcript(root, round_)
    else:
        recording = root.parent / f"round-{round_}.ogg"
        source = root / "episodes/itsmwp-row/001-outsourcing-the-service-desk.ogg"
        recording.write_bytes(source.read_bytes())
        made = podcast(
            root, "new", "itsmwp-row", "--title", f"Round {round_}", "--audio", str(recording)
        )
        assert made.exit_code == 0, made.output
    return what


def feed_facts(client, bucket: str) -> dict[str, dict[str, tuple[str, int, list[str]]]]:
    """show → guid → (enclosure key, length, other keys the item names)."""
    facts = {}
    for show in SHOWS:
        body = client.get_object(Bucket=bucket, Key=f"net/{show}/feed.xml")["Body"].read()
        items = {}
        for item in ElementTree.fromstring(body).iter("item"):
            enclosure = item.find("enclosure")
            named = [
                element.get("url")
                for tag in ("transcript", "chapters")
                for element in item.findall(f"{PODCAST_NS}{tag}")
            ]
            items[item.findtext("guid")] = (
                "net/" + enclosure.get("url").removeprefix(BASE),
                int(enclosure.get("length")),
                ["net/" + url.removeprefix(BASE) for url in named],
            )
        facts[show] = items
    return facts


def check(client, bucket: str, ever: dict[str, set[str]]) -> None:
    stored = {
        item["Key"]: item["Size"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    }
    facts = feed_facts(client, bucket)
    for show, items in facts.items():
        for guid, (key, length, named) in items.items():
            assert stored.get(key) == length, (show, guid, key, stored.get(key), length)
            for other in named:
                assert other in stored, (show, guid, other)
        lost = ever[show] - set(items)
        assert not lost, f"{show}: lost {sorted(lost)}"
        ever[show] |= set(items)
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    for key in stored:
        if not key.startswith("net/"):
            assert key == "net.state/manifest.json" or key.startswith(
                "net.state/history/manifest-"
            ), key
            continue
        assert key in LAYOUT or "/episodes/" in key or "/art/cover-" in key or SITE.match(key), key
        if key.endswith(".html"):  # a page names only what is there
            page = client.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            for named in re.findall(
                r'(?:href|src|content)="' + re.escape(BASE) + r'([^"#?]+)', page
            ):
                assert "net/" + named in stored, (key, named)
    read_manifest(S3Storage(bucket, "net.state"))  # whole, and what the schema describes


def rerun(root: Path):
    """The run after a kill: `podcast publish` to completion (in this process: it needs no kill
    switch), with incomplete uploads of any age aborted."""
    done = podcast(root, "publish")
    assert done.exit_code == 0, done.output
    return done


def test_kill_9_anywhere_then_rerun(sample: Path, s3_server, bucket: str, monkeypatch):
    rng = random.Random(SEED)
    real_init = Publisher.__init__
    monkeypatch.setattr(
        Publisher,
        "__init__",
        lambda self, *args, **kwargs: real_init(self, *args, **{"stale_upload_s": 0, **kwargs}),
    )
    monkeypatch.setattr(S3Storage, "MULTIPART_BYTES", PART)
    edit(
        sample / "episodes/network.toml",
        'storage = "file://public"',
        f'storage = "s3://{bucket}/net"',
    )
    big_transcript(sample, 0)
    edit(
        sample / ROW1,
        "audio: 001-outsourcing-the-service-desk.ogg\n",
        "audio: 001-outsourcing-the-service-desk.ogg\n"
        "transcript: 001-outsourcing-the-service-desk.vtt\n",
    )
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": s3server.ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": s3server.SECRET_KEY,
        "AWS_ENDPOINT_URL": s3_server.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1",
        "PODCAST_TEST_MULTIPART_BYTES": str(PART),
        "PYTHONPATH": str(REPO),
    }
    count_file = sample.parent / "requests"
    first = run(sample, env)
    assert first.returncode == 0, first.stderr
    idle = run(sample, env, PODCAST_TEST_COUNT_FILE=str(count_file))
    assert "nothing changed" in idle.stdout, idle.stdout + idle.stderr
    requests = int(count_file.read_text())  # what a run without changes sends
    client = s3_server.client()
    ever: dict[str, set[str]] = {show: set() for show in SHOWS}
    check(client, bucket, ever)

    # a kill in the middle of a multipart upload (before its second part) leaves an incomplete
    # upload on the server; the rerun aborts it
    big_transcript(sample, -1)
    victim = run(sample, env, PODCAST_TEST_KILL_AT_URL="partNumber=2")
    assert victim.returncode == -signal.SIGKILL, victim.stderr
    [left] = client.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert left["Key"].startswith(
        "net/itsmwp-row/episodes/001-outsourcing-the-service-desk-transcript-"
    )
    again = rerun(sample)
    assert "aborted 1 incomplete upload(s) a killed run left" in again.stderr
    check(client, bucket, ever)

    killed = []
    for round_ in range(1, ROUNDS + 1):
        what = change(sample, round_, rng)
        # a run with changes sends at least the requests of one without: k lands in the run
        at, when = rng.randint(1, requests), rng.choice(["before", "after"])
        victim = run(sample, env, PODCAST_TEST_KILL_AT=str(at), PODCAST_TEST_KILL_WHEN=when)
        assert victim.returncode == -signal.SIGKILL, (round_, what, at, when, victim.stderr)
        killed.append((round_, what, at, when))
        rerun(sample)
        check(client, bucket, ever)
    new_episodes = sum(what == "episode" for _, what, _, _ in killed)
    assert new_episodes and len(ever["itsmwp-row"]) == 2 + new_episodes  # each one arrived


# -- kill -9 of a `publish --jobs` parent while its workers master (issue 20, item 8) -------------

JOBS_SEED = 20260420
JOBS_ROUNDS = 3
#: how long what the parent started may outlive it (the workers, their ffmpeg processes, the
#: multiprocessing resource tracker), and how long its stdout and stderr may stay open
OUTLIVE_S = 5.0


def _processes_marked(marker: bytes) -> dict[int, str]:
    """pid → command line of every process whose environment holds `marker` (VAR=value)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in environ.split(b"\0"):
            found[int(entry)] = command.replace(b"\0", b" ").decode("utf-8", "replace")[:160]
    return found


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # field 4, after "(comm)": the ppid
            found.append(int(entry))
    return found


def _read_to_eof(stream, done: threading.Event, into: list[bytes]) -> None:
    while chunk := stream.read1(65536):
        into.append(chunk)
    done.set()


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_kill_9_of_a_jobs_parent_takes_its_workers_along(sample: Path):
    """`podcast publish --jobs 2` with its stdout and stderr on pipes (as in a CI step, or
    `| tee`), killed with SIGKILL while its workers master (a seeded moment after the first
    worker's first ffmpeg starts): within a few seconds no process it started is left (workers,
    their ffmpeg processes, the resource tracker: found by a variable only this run's
    environment holds) and both pipes reach end of file."""
    rng = random.Random(JOBS_SEED)
    for round_ in range(JOBS_ROUNDS):
        # a new loudness target each round: every episode is mastered again
        network = sample / "episodes/network.toml"
        text = network.read_text()
        network.write_text(
            re.sub(r"target_lufs = -?[\d.]+", f"target_lufs = {-16.0 - round_}", text, count=1)
        )
        run_id = uuid.uuid4().hex
        marker = f"PODCAST_TEST_RUN={run_id}".encode()
        env = {**os.environ, "PYTHONPATH": str(REPO), "PODCAST_TEST_RUN": run_id}
        victim = subprocess.Popen(
            [sys.executable, "-m", "podcast_tools", "--root", str(sample), "publish", "--jobs", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        closed = {name: threading.Event() for name in ("stdout", "stderr")}
        said: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
        readers = [
            threading.Thread(
                target=_read_to_eof, args=(getattr(victim, n), closed[n], said[n]), daemon=True
            )
            for n in closed
        ]
        for reader in readers:
            reader.start()
        try:
            deadline = time.monotonic() + 120
            mastering = False
            while not mastering and victim.poll() is None and time.monotonic() < deadline:
                mastering = any(_children(worker) for worker in _children(victim.pid))
                time.sleep(0.02)
            assert mastering, (round_, b"".join(said["stderr"]).decode()[-2000:])
            time.sleep(rng.uniform(0.0, 1.0))
            victim.send_signal(signal.SIGKILL)
            assert victim.wait(timeout=10) == -signal.SIGKILL
            killed_at = time.monotonic()
            left = _processes_marked(marker)
            while left and time.monotonic() < killed_at + OUTLIVE_S:
                time.sleep(0.1)
                left = _processes_marked(marker)
            assert not left, f"round {round_}: outlived the killed parent: {left}"
            for name, event in closed.items():
                remaining = max(0.0, killed_at + OUTLIVE_S - time.monotonic())
                assert event.wait(remaining), f"round {round_}: {name} still open"
        finally:
            for pid in _processes_marked(marker):  # what a failed round left: this run's only
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if victim.poll() is None:
                victim.kill()
                victim.wait()
