"""What a listener can read: the feeds and the media of published episodes — never the publisher's
state (the manifest; for a folder also its lock, metadata and temp files) and nothing about an
episode scheduled for later.

Against the real SeaweedFS (tests/s3server.py): unsigned requests may read `listeners/net/*` (as a
bucket policy with public read on `PREFIX/*` allows) and all of the deliberately leaky bucket.
Listeners are played by urllib without credentials. Nothing here contacts any host but 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import podcastparser
import pytest

from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish import Publisher, open_storage
from podcast_tools.publish.state import default_state_url
from tests.conftest import edit, podcast

SCHEDULED = "episodes/itsmwp/003-service-desk-metrics.md"
SCHEDULED_GUID = "04bab1e0-bca4-48be-9c8b-6e3eff69f280"
SCHEDULED_DATE = "2099-06-01T09:00:00+00:00"
# what would give the scheduled episode away: title, guid, slug, a chapter title from its notes
GIVEAWAYS = (
    "Service Desk Metrics That Matter",
    SCHEDULED_GUID,
    "003-service-desk-metrics",
    "First contact resolution",
)
ROW = "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"
FIRST = "episodes/itsmwp/001-incident-vs-problem.md"
SAMPLE_BASE = 'base_url = "https://media.itsmweekly.example/"'
SAMPLE_STORAGE = 'storage = "file://public"'


def listener(url: str, method: str = "GET", headers: dict | None = None):
    """An unsigned request, as a podcast app makes it: (status, headers, body)."""
    assert urlsplit(url).hostname == "127.0.0.1", url  # tests never leave this machine
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def schedule(root: Path) -> None:
    edit(root / SCHEDULED, "date: 2026-10-21T09:00:00+01:00", f"date: {SCHEDULED_DATE}")


def serve_from(root: Path, s3_server, bucket: str, *, state: str | None = None) -> str:
    """Point the copied sample at `s3://bucket/net`, served to listeners by the test server."""
    base = f"{s3_server.endpoint}/{bucket}/net/"
    toml = root / "episodes/network.toml"
    edit(toml, SAMPLE_BASE, f'base_url = "{base}"')
    edit(
        toml,
        SAMPLE_STORAGE,
        f'storage = "s3://{bucket}/net"' + (f'\nstate = "{state}"' if state else ""),
    )
    return base


def gives_away(data: bytes) -> list[str]:
    """Which giveaways the bytes hold (UTF-8 text, or UTF-16 as ID3 frames may store it)."""
    found = []
    for text in GIVEAWAYS:
        if any(text.encode(codec) in data for codec in ("utf-8", "utf-16-le", "utf-16-be")):
            found.append(text)
    return found


def all_keys(s3_server, bucket: str) -> list[str]:
    pages = s3_server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the test server itself -----------------------------------------------------------------------


def test_the_test_server_lets_listeners_read_only_the_public_prefix(
    s3_server, public_bucket: str, bucket: str
):
    client = s3_server.client()
    for name, key in (
        (public_bucket, "net/a.mp3"),
        (public_bucket, "net.state/manifest.json"),
        (bucket, "net/a.mp3"),
    ):
        client.put_object(Bucket=name, Key=key, Body=b"0123456789", ContentType="audio/mpeg")
    endpoint = s3_server.endpoint
    status, headers, body = listener(f"{endpoint}/{public_bucket}/net/a.mp3")
    assert (status, headers["Content-Type"], body) == (200, "audio/mpeg", b"0123456789")
    assert listener(f"{endpoint}/{public_bucket}/net/a.mp3", headers={"Range": "bytes=0-1"})[
        ::2
    ] == (206, b"01")
    assert listener(f"{endpoint}/{public_bucket}/net/missing.mp3")[0] == 404
    assert listener(f"{endpoint}/{public_bucket}/net.state/manifest.json")[0] == 403
    assert listener(f"{endpoint}/{bucket}/net/a.mp3")[0] == 403  # each test's own bucket
    assert listener(f"{endpoint}/{public_bucket}/net/b.mp3", method="PUT")[0] == 403


# --- the state location --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("storage", "state"),
    [
        ("s3://bucket/net", "s3://bucket/net.state"),
        ("s3://bucket/net/", "s3://bucket/net.state"),
        ("s3://bucket/shows/net", "s3://bucket/shows/net.state"),
        ("s3://bucket", None),  # a whole bucket has no "beside": state must be set
        ("file://public", "file://{root}/public.state"),
        ("file:///srv/www/podcast/", "file:///srv/www/podcast.state"),
    ],
)
def test_default_state_location_is_beside_the_storage(tmp_path: Path, storage, state):
    expected = state.format(root=tmp_path) if state else None
    assert default_state_url(storage, tmp_path) == expected


@pytest.mark.parametrize(
    ("storage", "state", "message"),
    [
        ('"s3://bucket"', None, "s3://bucket is a whole bucket"),
        ('"s3://bucket/net"', '"s3://bucket/net/private"', "inside the public storage"),
        ('"s3://bucket"', '"s3://bucket/private"', "inside the public storage"),
        ('"file://public"', '"file://public/.state"', "inside the public storage"),
        ('"s3://bucket/net"', '"file://state"', "the same kind of storage"),
        ('"s3://bucket/net"', '"https://example.com/state"', "is not a storage URL"),
    ],
    ids=["whole-bucket", "under-prefix", "same-whole-bucket", "folder-inside", "mixed", "not-url"],
)
def test_a_state_listeners_could_read_is_refused_in_one_line(sample: Path, storage, state, message):
    edit(
        sample / "episodes/network.toml",
        SAMPLE_STORAGE,
        f"storage = {storage}" + (f"\nstate = {state}" if state else ""),
    )
    result = podcast(sample, "publish", "--dry-run")
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("episodes/network.toml: network.state: ")
    assert message in lines[0]
    assert not (sample / "public").exists()


def test_storage_on_the_command_line_takes_state_from_the_option_or_the_rule(
    sample: Path, s3_server, bucket: str
):
    result = podcast(
        sample,
        "publish",
        "--storage",
        f"s3://{bucket}/pub",
        "--state",
        f"s3://{bucket}/private/state",
        "--json",
        ROW,
    )
    assert result.exit_code == 0, result.output
    keys = all_keys(s3_server, bucket)
    assert "private/state/manifest.json" in keys
    assert not [k for k in keys if k.startswith("pub.state/") or k == "pub/manifest.json"]

    whole = podcast(sample, "publish", "--storage", f"s3://{bucket}", "--dry-run")
    assert whole.exit_code == 2
    assert whole.stderr.strip().startswith(f"--storage s3://{bucket}: ")
    assert "--state" in whole.stderr

    inside = podcast(
        sample, "publish", "--storage", f"s3://{bucket}/pub", "--state", f"s3://{bucket}/pub/x"
    )
    assert inside.exit_code == 2 and inside.stderr.startswith("--state ")


# --- listeners see the feeds and media, nothing else -----------------------------------------------


def test_listeners_read_feeds_and_media_never_the_state_nor_a_scheduled_episode(
    sample: Path, s3_server, public_bucket: str
):
    base = serve_from(sample, s3_server, public_bucket)
    schedule(sample)
    result = podcast(sample, "publish", "--json", "--check-public")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["episodes_scheduled"] == [
        {"episode": SCHEDULED, "date": SCHEDULED_DATE, "already_published": False}
    ]
    assert (
        len(summary["episodes_processed"]) == 6 and SCHEDULED not in summary["episodes_processed"]
    )
    assert summary["public_check"] and all(f["ok"] for f in summary["public_check"])

    # a listener reads every feed and its media, with HEAD and byte ranges
    for show in ("itsmwp", "itsmwp-anz", "itsmwp-row"):
        status, headers, body = listener(f"{base}{show}/feed.xml")
        assert status == 200 and headers["Content-Type"].startswith("application/rss+xml")
        feed = podcastparser.parse(f"{base}{show}/feed.xml", io.BytesIO(body))
        assert SCHEDULED_GUID not in [e["guid"] for e in feed["episodes"]]
        enclosure = feed["episodes"][0]["enclosures"][0]
        status, headers, _ = listener(enclosure["url"], method="HEAD")
        assert status == 200 and headers["Content-Type"] == "audio/mpeg"
        assert int(headers["Content-Length"]) == enclosure["file_size"]
        assert listener(enclosure["url"], headers={"Range": "bytes=0-1"})[0] == 206

    # the state is private: not at its own place, not where it used to be
    endpoint = s3_server.endpoint
    assert listener(f"{endpoint}/{public_bucket}/net.state/manifest.json")[0] == 403
    assert listener(f"{base}manifest.json")[0] == 404
    stored = s3_server.client().get_object(Bucket=public_bucket, Key="net.state/manifest.json")
    manifest = json.loads(stored["Body"].read())
    assert len(manifest["episodes"]) == 6 and SCHEDULED_GUID not in manifest["episodes"]

    # every object in the bucket, fetched as a listener: nothing readable tells of episode 3
    readable = {}
    for key in all_keys(s3_server, public_bucket):
        status, _, body = listener(f"{endpoint}/{public_bucket}/{key}")
        assert status in (200, 403), (key, status)
        if status == 200:
            readable[key] = body
    assert {"net/itsmwp/feed.xml", "net/itsmwp-anz/feed.xml", "net/itsmwp-row/feed.xml"} <= set(
        readable
    )
    assert sum(key.endswith(".mp3") for key in readable) == 6
    assert not [key for key in readable if not key.startswith("net/")]
    leaks = {key: gives_away(key.encode() + body) for key, body in readable.items()}
    assert {key: found for key, found in leaks.items() if found} == {}

    check = podcast(sample, "check-public")
    assert check.exit_code == 0, check.output
    lines = check.stdout.strip().splitlines()
    assert lines[-1].startswith("all ") and lines[-1].endswith(" checks ok")
    findings = lines[:-1]
    assert findings and all(line.startswith("ok ") for line in findings)
    assert any(f"{endpoint}/{public_bucket}/net.state/manifest.json" in line for line in findings)
    assert any(f"{base}manifest.json" in line for line in findings)
    assert sum(line.startswith("ok   feed ") for line in findings) == 4  # 3 shows + publisher
    assert sum(line.startswith("ok   enclosure ") for line in findings) == 3
    # one CORS check, on the first feed (the bucket's rules are the same for every object)
    # (SeaweedFS answers an allowed origin with that origin, AWS S3 with *)
    allowed = {"*", "https://web-player.example"}
    assert [line for line in findings if " cors " in line] in [
        [
            f"ok   cors {base}publisher.xml: Access-Control-Allow-Origin: {origin} (web players "
            "on other sites may fetch the feeds, chapters and transcripts)"
        ]
        for origin in allowed
    ]


def test_check_public_fails_when_the_whole_bucket_is_public(
    sample: Path, s3_server, leaky_bucket: str
):
    base = serve_from(sample, s3_server, leaky_bucket)
    result = podcast(sample, "publish", "--check-public", ROW)
    manifest_url = f"{s3_server.endpoint}/{leaky_bucket}/net.state/manifest.json"
    assert result.exit_code == 3, result.output
    assert f"FAIL state {manifest_url}: readable (200)" in result.stderr
    assert "feeds written: 2" in result.stdout  # the run itself completed (one show has episodes)

    check = podcast(sample, "check-public")
    assert check.exit_code == 3
    failed = [line for line in check.stdout.splitlines() if line.startswith("FAIL ")]
    assert failed == [
        f"FAIL state {manifest_url}: readable (200); listeners must not read it",
        # issue 25 item 8: a bucket without CORS rules is named, with what to run
        f"FAIL cors {base}publisher.xml: no Access-Control-Allow-Origin for a page of another "
        "site, so web players cannot fetch the feeds, chapters or transcripts; run `podcast "
        "storage setup`",
    ]
    assert check.stdout.strip().splitlines()[-1] == "2 of 8 checks failed"

    # an enclosure that listeners cannot fetch is named too
    _, _, body = listener(f"{base}itsmwp-row/feed.xml")
    url = podcastparser.parse(base, io.BytesIO(body))["episodes"][0]["enclosures"][0]["url"]
    s3_server.client().delete_object(Bucket=leaky_bucket, Key="net/" + url.removeprefix(base))
    again = podcast(sample, "check-public")
    assert again.exit_code == 3
    assert f"FAIL enclosure {url}: HEAD answered 404" in again.stdout


def test_check_public_says_in_one_line_when_base_url_does_not_answer(sample: Path):
    url = f"http://127.0.0.1:{free_port()}/net/"
    edit(sample / "episodes/network.toml", SAMPLE_BASE, f'base_url = "{url}"')
    result = podcast(sample, "check-public")
    assert result.exit_code == 3
    host = url.removesuffix("net/")
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    assert len(failed) == 1, result.stdout  # the host is named once, not asked again
    assert failed[0].startswith(f"FAIL request {host}") and "cannot connect" in failed[0]

    # after a publish: the publish stands (its summary is printed), the check fails in one line
    published = podcast(sample, "publish", "--check-public", ROW)
    assert published.exit_code == 3
    assert "feeds written: 2 (itsmwp-row/feed.xml, publisher.xml)" in published.stdout
    assert (sample / "public/itsmwp-row/feed.xml").is_file()
    failed = [line for line in published.stderr.splitlines() if line.startswith("FAIL ")]
    assert len(failed) == 1 and failed[0].startswith(f"FAIL request {host}")
    assert "cannot connect" in failed[0]


# --- scheduled episodes ---------------------------------------------------------------------------


def test_a_scheduled_episode_is_uploaded_only_when_due(sample: Path, s3_server, bucket: str):
    schedule(sample)
    storage = ["--storage", f"s3://{bucket}/net"]
    plan = podcast(sample, "publish", *storage, "--dry-run", FIRST, SCHEDULED)
    assert plan.exit_code == 0
    assert f"scheduled, uploaded when due: {SCHEDULED} ({SCHEDULED_DATE})" in plan.stderr

    result = podcast(sample, "publish", *storage, FIRST, SCHEDULED)
    assert result.exit_code == 0, result.output
    assert f"scheduled, uploaded when due: {SCHEDULED} ({SCHEDULED_DATE})" in result.stdout
    assert not [k for k in all_keys(s3_server, bucket) if "003-service-desk-metrics" in k]

    # the hourly run after its date publishes it
    network = load_checked_network(sample)
    due = datetime(2099, 6, 1, 9, 30, tzinfo=UTC)
    later = Publisher(network, open_storage(f"s3://{bucket}/net", sample)).run(
        list(network.episodes), now=due
    )
    assert later.scheduled == [] and SCHEDULED in later.processed
    body = s3_server.client().get_object(Bucket=bucket, Key="net/itsmwp/feed.xml")["Body"].read()
    feed = podcastparser.parse("https://x/", io.BytesIO(body))
    assert SCHEDULED_GUID in [e["guid"] for e in feed["episodes"]]


def test_an_episode_moved_into_the_future_after_publishing_stays_as_published(
    sample: Path, s3_server, bucket: str
):
    storage = ["--storage", f"s3://{bucket}/net"]
    assert podcast(sample, "publish", *storage, SCHEDULED).exit_code == 0
    before = s3_server.client().get_object(Bucket=bucket, Key="net/itsmwp/feed.xml")["Body"].read()
    schedule(sample)
    result = podcast(sample, "publish", *storage, "--json", SCHEDULED)
    summary = json.loads(result.stdout)
    assert summary["episodes_scheduled"] == [
        {"episode": SCHEDULED, "date": SCHEDULED_DATE, "already_published": True}
    ]
    assert summary["objects_uploaded"] == [] and summary["feeds_written"] == []
    after = s3_server.client().get_object(Bucket=bucket, Key="net/itsmwp/feed.xml")["Body"].read()
    assert after == before  # a live feed never loses an item as a side effect


# --- a folder as storage --------------------------------------------------------------------------


def hidden_or_state(folder: Path) -> list[str]:
    """Names in a published folder that are not for listeners: dot files, temp files, state."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.name.startswith(".") or ".tmp" in path.name or path.name == "manifest.json"
    )


def test_a_folder_keeps_its_state_in_a_folder_beside_it(sample: Path):
    schedule(sample)
    result = podcast(sample, "publish", ROW, SCHEDULED)
    assert result.exit_code == 0, result.output
    public, state = sample / "public", sample / "public.state"
    assert (public / "itsmwp-row/feed.xml").is_file()
    assert hidden_or_state(public) == []
    assert not [p for p in public.rglob("*") if "003-service-desk-metrics" in p.name]
    assert (state / "manifest.json").is_file()
    assert (state / "objects/.meta/itsmwp-row/feed.xml.json").is_file()


def test_state_left_in_the_public_place_by_an_older_version_is_moved_out_once(
    sample: Path, s3_server, bucket: str
):
    # a folder: manifest, lock and metadata sidecars where the old version kept them
    assert podcast(sample, "publish", ROW).exit_code == 0
    public, state = sample / "public", sample / "public.state"
    os.replace(state / "manifest.json", public / "manifest.json")
    os.replace(state / "objects/.meta", public / ".meta")
    (public / ".lock").touch()
    killed_copy = public / "itsmwp-row/episodes/.001-outsourcing.mp3.k1ll3d_x.tmp.mp3"
    killed_copy.write_bytes(b"half an MP3")
    os.utime(killed_copy, (0, 0))
    moved = podcast(sample, "publish", ROW)
    assert moved.exit_code == 0, moved.output
    assert moved.stderr.count("moved the publisher's state out of the public folder") == 1
    assert "nothing changed; nothing uploaded" in moved.stdout  # the old manifest was used
    assert hidden_or_state(public) == []
    assert (state / "manifest.json").is_file()
    assert (state / "objects/.meta/itsmwp-row/feed.xml.json").is_file()
    again = podcast(sample, "publish", ROW)
    assert "moved" not in again.stderr

    # a bucket: the old public manifest.json
    storage = ["--storage", f"s3://{bucket}/net"]
    assert podcast(sample, "publish", *storage, ROW).exit_code == 0
    client = s3_server.client()
    client.copy_object(
        Bucket=bucket,
        Key="net/manifest.json",
        CopySource={"Bucket": bucket, "Key": "net.state/manifest.json"},
    )
    client.delete_object(Bucket=bucket, Key="net.state/manifest.json")
    moved = podcast(sample, "publish", *storage, ROW)
    assert moved.exit_code == 0, moved.output
    assert (
        f"moved the manifest from s3://{bucket}/net/manifest.json, where listeners could read it, "
        f"to s3://{bucket}/net.state/manifest.json" in moved.stderr
    )
    assert "nothing changed; nothing uploaded" in moved.stdout
    keys = all_keys(s3_server, bucket)
    assert "net/manifest.json" not in keys and "net.state/manifest.json" in keys


KILLER = """
import os, signal, sys
from podcast_tools.publish.storage import LocalStorage
from podcast_tools.cli import main

copy = LocalStorage.put_file

def put_file(self, key, path, *, progress=None, **kwargs):
    def die(count):  # the first block of the MP3 is written: the machine goes down
        os.kill(os.getpid(), signal.SIGKILL)
    return copy(self, key, path, progress=die if key.endswith(".mp3") else progress, **kwargs)

LocalStorage.put_file = put_file
sys.argv = ["podcast", *sys.argv[1:]]
main()
"""


@pytest.mark.slow
def test_a_copy_killed_midway_leaves_nothing_in_the_public_folder(sample: Path, tmp_path: Path):
    """The only fake: a process killed (SIGKILL, no clean-up) while it copies an MP3."""
    assert podcast(sample, "publish", FIRST).exit_code == 0
    public, state = sample / "public", sample / "public.state"
    published = sorted(public.rglob("*"))
    script = tmp_path / "killed.py"
    script.write_text(KILLER)
    killed = subprocess.run(
        [sys.executable, str(script), "--root", str(sample), "publish", str(sample / ROW)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    half = [p for p in state.rglob("*") if p.is_file() and ".tmp" in p.name]
    assert half and half[0].stat().st_size > 0  # the half-copied MP3 lies in the state folder
    assert sorted(public.rglob("*")) == published  # listeners see exactly what they saw before

    os.utime(half[0], (0, 0))  # long ago: the next run clears it away
    result = podcast(sample, "publish", ROW)
    assert result.exit_code == 0, result.output
    assert hidden_or_state(public) == []
    assert len(list(public.rglob("*.mp3"))) == 2
    assert not half[0].exists()


def test_check_public_with_base_url_asks_only_that_address(sample: Path, s3_server, public_bucket):
    """--base-url: the feeds name their files under network.toml's base_url (here the sample's
    outside address, which must never be contacted); they are asked at the given address."""
    toml = sample / "episodes/network.toml"
    edit(toml, SAMPLE_STORAGE, f'storage = "s3://{public_bucket}/net"')
    assert podcast(sample, "publish", ROW).exit_code == 0
    base = f"{s3_server.endpoint}/{public_bucket}/net/"
    result = podcast(sample, "check-public", "--base-url", base)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "media.itsmweekly.example" not in result.stdout
    enclosures = [line for line in result.stdout.splitlines() if " enclosure " in line]
    assert enclosures and all(line.startswith(f"ok   enclosure {base}") for line in enclosures)
    # only ROW's episode is published: the other shows have no feed yet, and that holds
    for show in ("itsmwp", "itsmwp-anz"):
        assert (
            f"ok   feed {base}{show}/feed.xml: no feed yet (404): the show has no published "
            "episode"
            in result.stdout
        )


def test_an_empty_storage_option_is_an_error_not_a_fallback(sample: Path):
    """`--storage "$PODCAST_STORAGE"` with the variable unset must not publish to network.toml's."""
    result = podcast(sample, "publish", "--storage", "", ROW)
    assert result.exit_code == 2
    assert "--storage is empty" in result.stderr
    assert not (sample / "public").exists()
