"""Publishing against a real S3 server (SeaweedFS started by the tests), never a mock of S3."""

from __future__ import annotations

import io
import json
import subprocess
import threading
from pathlib import Path

import podcastparser
import pytest
from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish import Publisher, StorageError, open_storage
from podcast_tools.publish.run import changed_episodes
from podcast_tools.publish.source import BytesSource, digest
from podcast_tools.publish.storage import S3Storage
from tests import s3server
from tests.conftest import edit

BASE = "https://media.itsmweekly.example/"
SHOWS = ("itsmwp", "itsmwp-anz", "itsmwp-row")


def publish(sample: Path, bucket: str, *args: str):
    result = CliRunner().invoke(
        app, ["--root", str(sample), "publish", "--storage", f"s3://{bucket}/net", "--json", *args]
    )
    return result, (json.loads(result.stdout) if result.exit_code == 0 else None)


def feed_of(s3_server, bucket: str, show: str) -> dict:
    body = s3_server.client().get_object(Bucket=bucket, Key=f"net/{show}/feed.xml")["Body"].read()
    return podcastparser.parse(f"{BASE}{show}/feed.xml", io.BytesIO(body))


def test_publish_sample_network(sample: Path, s3_server, bucket: str):
    result, summary = publish(sample, bucket)
    assert result.exit_code == 0, result.output
    assert len(summary["episodes_processed"]) == 7
    assert sorted(summary["feeds_written"]) == sorted(
        [f"{show}/feed.xml" for show in SHOWS] + ["publisher.xml"]
    )
    client = s3_server.client()
    for show in SHOWS:
        feed = feed_of(s3_server, bucket, show)
        head = client.head_object(Bucket=bucket, Key=f"net/{show}/feed.xml")
        assert head["ContentType"].startswith("application/rss+xml")
        assert "max-age=300" in head["CacheControl"]
        assert len(feed["episodes"]) == len(load_checked_network(sample).episodes_of(show))
        for episode in feed["episodes"]:
            enclosure = episode["enclosures"][0]
            key = "net/" + enclosure["url"].removeprefix(BASE)
            media = client.head_object(Bucket=bucket, Key=key)
            assert media["ContentLength"] == enclosure["file_size"]
            assert media["ContentType"] == "audio/mpeg" == enclosure["mime_type"]
            assert "immutable" in media["CacheControl"]
            ranged = client.get_object(Bucket=bucket, Key=key, Range="bytes=0-9")
            assert (
                ranged["ResponseMetadata"]["HTTPStatusCode"] == 206
                and len(ranged["Body"].read()) == 10
            )
    # the manifest is the publisher's private state: beside the public prefix, not under it
    manifest = json.loads(
        client.get_object(Bucket=bucket, Key="net.state/manifest.json")["Body"].read()
    )
    assert len(manifest["episodes"]) == 7
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert [key for key in keys if not key.startswith("net/")] == [
        "net.state/history/manifest-00000001.json",  # each generation is kept (issue 11)
        "net.state/manifest.json",
    ]


def test_second_run_uploads_nothing_then_only_what_changed(sample: Path, bucket: str):
    assert publish(sample, bucket)[0].exit_code == 0
    result, summary = publish(sample, bucket)
    assert (
        summary["objects_uploaded"] == []
        and summary["feeds_written"] == []
        and not summary["manifest_written"]
    )
    plain = CliRunner().invoke(
        app, ["--root", str(sample), "publish", "--storage", f"s3://{bucket}/net"]
    )
    assert "nothing changed; nothing uploaded" in plain.stdout

    # notes only: no media, just the manifest and the feeds of that episode's shows
    edit(
        sample / "episodes/itsmwp/002-change-advisory-boards.md", "Save the board", "Keep the board"
    )
    result, summary = publish(sample, bucket)
    assert summary["episodes_processed"] == [] and summary["objects_uploaded"] == []
    assert sorted(summary["feeds_written"]) == ["itsmwp-anz/feed.xml", "itsmwp/feed.xml"]

    # new audio: that episode is processed and uploaded again, with its feeds
    master = sample / "episodes/itsmwp-row/001-outsourcing-the-service-desk.ogg"
    edit(
        sample / "episodes/itsmwp-row/001-outsourcing-the-service-desk.md",
        "number: 1\n",
        "number: 1\ntrim:\n  start: 4.0\n",
    )
    result, summary = publish(sample, bucket)
    assert summary["episodes_processed"] == [
        "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"
    ]
    assert any(
        u["key"].startswith("itsmwp-row/episodes/001-outsourcing") and u["key"].endswith(".mp3")
        for u in summary["objects_uploaded"]
    )
    assert summary["feeds_written"] == ["itsmwp-row/feed.xml"]
    assert master.is_file()


class FailingStorage(S3Storage):
    """Injects faults the real server cannot produce on demand (the only fake here)."""

    def __init__(self, *args, fail_on: str, truncate: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail_on, self.truncate, self.tripped = fail_on, truncate, False

    def put_file(self, key, source, **kwargs):
        if not self.tripped and key.endswith(self.fail_on):
            self.tripped = True
            if self.truncate:  # half the file arrives, then the connection "drops"
                half = BytesSource(source.read_at(0, source.size // 2), key)
                kwargs["digest"] = digest(half, self.part_bytes)
                return super().put_file(key, half, **kwargs)
            raise StorageError(f"{self.description}/{key}: injected failure mid-upload")
        return super().put_file(key, source, **kwargs)

    def put_bytes(self, key, data, **kwargs):
        if not self.tripped and key.endswith(self.fail_on):
            self.tripped = True
            raise KeyboardInterrupt  # the process dies here
        return super().put_bytes(key, data, **kwargs)


def feed_bytes(s3_server, bucket, show="itsmwp-anz"):
    found = s3_server.client().get_object(Bucket=bucket, Key=f"net/{show}/feed.xml")
    return found["Body"].read()


@pytest.mark.parametrize(
    ("fail_on", "truncate", "error"),
    [
        (".mp3", False, StorageError),  # an upload fails mid-way
        (".mp3", True, StorageError),  # an upload is truncated: verification catches it
        ("manifest.json", False, KeyboardInterrupt),  # killed between media and feed upload
    ],
    ids=["failed-upload", "truncated-upload", "killed-before-feeds"],
)
def test_faults_leave_the_feed_intact_and_a_rerun_completes(
    sample: Path, s3_server, bucket: str, fail_on, truncate, error
):
    network = load_checked_network(sample)
    first = [e for e in network.episodes if e.show == "itsmwp-anz"]
    Publisher(network, open_storage(f"s3://{bucket}/net", sample)).run(first)
    before = feed_bytes(s3_server, bucket)

    edit(
        sample / "episodes/itsmwp/002-change-advisory-boards.md",
        "number: 2\n",
        "number: 2\ntrim:\n  start: 3.0\n",
    )
    network = load_checked_network(sample)
    faulty = FailingStorage(bucket, "net", fail_on=fail_on, truncate=truncate)
    faulty_state = FailingStorage(bucket, "net.state", fail_on=fail_on, truncate=truncate)
    with pytest.raises(error):
        Publisher(network, faulty, state=faulty_state).run(list(network.episodes))
    assert faulty.tripped or faulty_state.tripped
    assert feed_bytes(s3_server, bucket) == before  # listeners still see the previous feed

    result = Publisher(network, open_storage(f"s3://{bucket}/net", sample)).run(
        list(network.episodes)
    )
    assert "itsmwp-anz/feed.xml" in result.feeds
    guids = [e["guid"] for e in feed_of(s3_server, bucket, "itsmwp-anz")["episodes"]]
    assert sorted(guids) == sorted(e.guid for e in network.episodes_of("itsmwp-anz"))
    assert len(guids) == len(set(guids))


def test_wrong_credentials_one_clear_error_exit_3(sample: Path, bucket: str, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "definitely-wrong-secret")
    result = CliRunner().invoke(
        app, ["--debug", "--root", str(sample), "publish", "--storage", f"s3://{bucket}/net"]
    )
    assert result.exit_code == 3
    assert "SignatureDoesNotMatch" in result.stderr or "InvalidAccessKeyId" in result.stderr
    for secret in ("definitely-wrong-secret", s3server.SECRET_KEY):
        assert secret not in result.output and secret not in result.stderr
    plain = CliRunner().invoke(
        app, ["--root", str(sample), "publish", "--storage", f"s3://{bucket}/net"]
    )
    assert plain.exit_code == 3
    errors = [line for line in plain.stderr.strip().splitlines() if not line.startswith("note:")]
    assert len(errors) == 1  # one clear line without --debug


def test_two_publishers_at_once_both_land(sample: Path, s3_server, bucket: str):
    network = load_checked_network(sample)
    mine = [e for e in network.episodes if e.slug == "001-incident-vs-problem"]
    theirs = [e for e in network.episodes if e.slug == "003-service-desk-metrics"]
    errors = []

    def run(episodes):
        try:
            Publisher(
                load_checked_network(sample), open_storage(f"s3://{bucket}/net", sample), workers=1
            ).run(episodes)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(batch,)) for batch in (mine, theirs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    guids = {e["guid"] for e in feed_of(s3_server, bucket, "itsmwp")["episodes"]}
    assert guids == {mine[0].guid, theirs[0].guid}


def test_changed_since_picks_exactly_the_changed_episodes(sample: Path):
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(sample), *args], check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@e", "add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "start")
    edit(
        sample / "episodes/itsmwp-anz/001-major-incidents.md", "Lessons learned", "What we learned"
    )
    network = load_checked_network(sample)
    assert [e.slug for e in changed_episodes(network, "HEAD")] == ["001-major-incidents"]
    edit(sample / "episodes/network.toml", 'language = "en-au"', 'language = "en-nz"')
    assert len(changed_episodes(load_checked_network(sample), "HEAD")) == 7


def test_dry_run_touches_nothing(sample: Path, s3_server, bucket: str):
    result = CliRunner().invoke(
        app, ["--root", str(sample), "publish", "--storage", f"s3://{bucket}/net", "--dry-run"]
    )
    assert result.exit_code == 0
    assert "would process and upload 7 episode(s)" in result.stderr
    assert s3_server.client().list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


def test_content_errors_upload_nothing(sample: Path, s3_server, bucket: str):
    edit(sample / "episodes/itsmwp/001-incident-vs-problem.md", "summary:", "sumary:")
    result, _ = publish(sample, bucket)
    assert result.exit_code == 1
    assert s3_server.client().list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0


@pytest.mark.slow
def test_publish_to_a_local_folder(sample: Path):
    result = CliRunner().invoke(app, ["--root", str(sample), "publish", "--json"])
    assert result.exit_code == 0, result.output
    public = sample / "public"
    feed = podcastparser.parse(
        f"{BASE}itsmwp/feed.xml", io.BytesIO((public / "itsmwp/feed.xml").read_bytes())
    )
    for episode in feed["episodes"]:
        path = public / episode["enclosures"][0]["url"].removeprefix(BASE)
        assert path.stat().st_size == episode["enclosures"][0]["file_size"]


def test_racing_publishers_from_two_checkouts_keep_both_changes(
    sample: Path, s3_server, bucket: str, tmp_path: Path
):
    import shutil

    assert publish(sample, bucket)[0].exit_code == 0
    before = {
        e["guid"]: e["enclosures"][0]["url"]
        for e in feed_of(s3_server, bucket, "itsmwp")["episodes"]
    }
    checkouts = []
    edits = (
        ("a", "002-change-advisory-boards", "number: 2\n", "number: 2\ntrim:\n  start: 3.0\n"),
        ("b", "003-service-desk-metrics", "  start: 1.0", "  start: 3.0"),  # new audio in each
    )
    for name, slug, old, new in edits:
        copy = tmp_path / name
        shutil.copytree(sample / "episodes", copy / "episodes")
        shutil.copytree(sample / "templates", copy / "templates")
        edit(copy / f"episodes/itsmwp/{slug}.md", old, new)
        checkouts.append(copy)
    errors = []

    def run(root: Path) -> None:
        try:  # each publisher looks at every episode, as a default `podcast publish` does
            network = load_checked_network(root)
            Publisher(network, open_storage(f"s3://{bucket}/net", root), workers=1).run(
                list(network.episodes)
            )
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(root,)) for root in checkouts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    after = {
        e["guid"]: e["enclosures"][0]["url"]
        for e in feed_of(s3_server, bucket, "itsmwp")["episodes"]
    }
    changed = {guid for guid in before if before[guid] != after[guid]}
    assert changed == {
        "96437e99-b727-4e6c-99f1-172d9e7e5d4a",
        "04bab1e0-bca4-48be-9c8b-6e3eff69f280",
    }
