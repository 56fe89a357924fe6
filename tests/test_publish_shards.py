"""`publish --shard K/N` on several machines at once, then `publish --feeds-only`: the same
bucket as one machine publishing everything (against a real SeaweedFS)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish.run import parse_shard, shard_number
from podcast_tools.errors import UsageError

SHARDS = 3


def publish(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "podcast_tools", "--root", str(root), "publish", "--json", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err
    return json.loads(out)


def objects(s3_server, bucket: str) -> dict[str, bytes]:
    client = s3_server.client()
    found = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            found[item["Key"]] = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def expected_share(guid: str, count: int) -> int:
    """The shard of an episode, as documented: sha256 of the guid, as a big-endian integer,
    modulo the count, plus one."""
    return int(hashlib.sha256(guid.encode()).hexdigest(), 16) % count + 1


def test_shards_run_at_once_then_feeds_equal_one_machine_publishing(
    sample: Path, tmp_path: Path, s3_server, bucket: str
):
    single_root = tmp_path / "single"  # a checkout of its own: it masters everything itself
    shutil.copytree(sample, single_root)
    other = f"{bucket[:50]}-single"
    s3_server.client().create_bucket(Bucket=other)
    network = load_checked_network(sample)
    shown = {network.display(e.path): e.guid for e in network.episodes if not e.draft}

    shards = [
        publish(sample, "--storage", f"s3://{bucket}/net", "--shard", f"{k}/{SHARDS}", "--jobs", "1")
        for k in range(1, SHARDS + 1)
    ]
    single = publish(single_root, "--storage", f"s3://{other}/net")
    results = [finished(process) for process in shards]
    alone = finished(single)

    # each shard processed its share, exactly; together: everything, each once
    processed: list[str] = []
    for k, result in enumerate(results, start=1):
        assert result["shard"] == f"{k}/{SHARDS}" and result["feeds_only"] is False
        share = sorted(f for f, guid in shown.items() if expected_share(guid, SHARDS) == k)
        due = sorted(result["episodes_processed"] + [s["episode"] for s in result["episodes_scheduled"]])
        assert due == share
        assert result["feeds_written"] == [] and result["pages_written"] == []
        processed += result["episodes_processed"]
    assert sorted(processed) == sorted(alone["episodes_processed"])
    assert len(set(processed)) == len(processed)
    # no feed and no page while the shards ran
    assert not [key for key in objects(s3_server, bucket) if key.endswith((".xml", ".html"))]

    feeds = CliRunner().invoke(
        app,
        ["--root", str(sample), "publish", "--feeds-only", "--json", "--storage", f"s3://{bucket}/net"],
    )
    assert feeds.exit_code == 0, feeds.output
    written = json.loads(feeds.stdout)
    assert written["feeds_only"] is True and written["shard"] is None
    assert written["episodes_processed"] == [] and written["objects_uploaded"] == []
    assert sorted(written["feeds_written"]) == sorted(alone["feeds_written"])
    assert len(written["pages_written"]) == len(alone["pages_written"])

    # the same bucket, byte for byte, as one machine made: audio, artwork, feeds, pages
    sharded, reference = objects(s3_server, bucket), objects(s3_server, other)
    public = {k: v for k, v in sharded.items() if k.startswith("net/")}
    assert public.keys() == {k for k in reference if k.startswith("net/")}
    different = [key for key in public if public[key] != reference[key]]
    assert different == []
    manifests = [
        json.loads(store["net.state/manifest.json"]) for store in (sharded, reference)
    ]
    assert manifests[0]["episodes"] == manifests[1]["episodes"]
    assert manifests[0]["artwork"] == manifests[1]["artwork"]

    # a second --feeds-only changes nothing
    again = CliRunner().invoke(
        app,
        ["--root", str(sample), "publish", "--feeds-only", "--json", "--storage", f"s3://{bucket}/net"],
    )
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["feeds_written"] == []


def test_a_shard_with_no_share_succeeds_doing_nothing(sample: Path, tmp_path: Path):
    network = load_checked_network(sample)
    count = 50  # more shards than episodes: some have none
    taken = {shard_number(e.guid, count) for e in network.episodes}
    empty = next(k for k in range(1, count + 1) if k not in taken)
    store = tmp_path / "store"
    done = CliRunner().invoke(
        app,
        ["--root", str(sample), "publish", "--json", "--storage", store.as_uri(), "--shard", f"{empty}/{count}"],
    )
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["episodes_processed"] == [] and result["episodes_skipped"] == []
    assert result["feeds_written"] == [] and result["shard"] == f"{empty}/{count}"
    assert not [p for p in store.rglob("*") if p.suffix in (".mp3", ".xml", ".html")]


def test_shards_split_the_catalogue_evenly_enough():
    guids = [f"guid-{n}" for n in range(3000)]
    counts = [sum(shard_number(g, 4) == k for g in guids) for k in range(1, 5)]
    assert all(650 < c < 850 for c in counts), counts
    assert all(shard_number(g, 4) == expected_share(g, 4) for g in guids[:50])


@pytest.mark.parametrize("value", ["0/3", "4/3", "3", "1/0", "a/b", "-1/3", "1/3/5", ""])
def test_shard_must_be_k_of_n(sample: Path, value: str):
    with pytest.raises(UsageError):
        parse_shard(value)
    done = CliRunner().invoke(app, ["--root", str(sample), "publish", "--shard", value])
    assert done.exit_code == 2
    lines = done.output.strip().splitlines()
    assert len(lines) == 1 and "--shard" in lines[0] and "1 ≤ K ≤ N" in lines[0], done.output


@pytest.mark.parametrize(
    "args",
    [
        ["--feeds-only", "episodes/itsmwp/001-incident-vs-problem.md"],
        ["--feeds-only", "--shard", "1/2"],
        ["--feeds-only", "--all"],
        ["--feeds-only", "--changed-since", "HEAD"],
        ["--shard", "1/2", "--check-public"],
    ],
)
def test_feeds_only_and_shard_refuse_what_they_cannot_do(sample: Path, tmp_path: Path, args):
    store = tmp_path / "store"
    done = CliRunner().invoke(
        app, ["--root", str(sample), "publish", "--storage", store.as_uri(), *args]
    )
    assert done.exit_code == 2, done.output
    assert len(done.output.strip().splitlines()) == 1, done.output
    assert not store.exists()


@pytest.mark.slow
def test_feeds_only_keeps_the_lost_item_guard(sample: Path, tmp_path: Path):
    """A manifest older than the feeds (put back from a backup): --feeds-only stops before
    writing any feed, as a full run does."""
    store = tmp_path / "store"
    run = ["--root", str(sample), "publish", "--storage", store.as_uri()]
    first = CliRunner().invoke(app, [*run, str(sample / "episodes/itsmwp-row/001-outsourcing-the-service-desk.md")])
    assert first.exit_code == 0, first.output
    state = tmp_path / "store.state" / "manifest.json"
    older = state.read_bytes()
    second = CliRunner().invoke(app, [*run, str(sample / "episodes/itsmwp-row/002-knowledge-management.md")])
    assert second.exit_code == 0, second.output
    feed = (store / "itsmwp-row" / "feed.xml").read_bytes()
    manifest = json.loads(older)
    state.write_text(json.dumps(manifest), encoding="utf-8")  # the backup
    done = CliRunner().invoke(app, [*run, "--feeds-only"])
    assert done.exit_code == 3, done.output
    assert "would drop" in done.output
    assert (store / "itsmwp-row" / "feed.xml").read_bytes() == feed
