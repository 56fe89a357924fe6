"""No feed names a stored object with a sha256 the store does not hold (issue 20, item 6).

The repro: the manifest's `sha256` of an episode's MP3 edited (or the stored object's metadata
tampered with), then a publish: before, the manifest's value went into the feed's
`podcast:integrity` unchecked — apps that check it refuse the download. Now a feed is written
only after each object it names with a sha256 was checked against what the store holds (its
HEAD: the sha256 the uploader wrote into the metadata; for a folder, the file's own hash) —
objects checked earlier in the same run are not asked again. A mismatch in an episode this run
publishes is treated like tampered stored audio: the episode is processed again and its object
uploaded again; in any other, the run stops before the feed with one line naming the key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from tests.hostile.helpers import (
    CAB,
    CAB_GUID,
    ROW1,
    ROW1_GUID,
    error_lines,
    manifest,
    podcast,
    publish,
    read,
    snapshot,
)

WRONG = "0" * 64
METRICS = "episodes/itsmwp/003-service-desk-metrics.md"


def integrity(feed: bytes, guid: str) -> list[str]:
    """The podcast:integrity values of the feed's item `guid`."""
    item = next(i for i in re.findall(rb"<item>.*?</item>", feed, re.S) if guid.encode() in i)
    return [v.decode() for v in re.findall(rb'<podcast:integrity[^>]*value="([^"]+)"', item)]


def sri(data: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def edit_manifest_sha256(text: bytes, guid: str, sha256: str) -> bytes:
    document = json.loads(text)
    document["episodes"][guid]["audio"][0]["sha256"] = sha256
    return json.dumps(document, indent=1).encode()


def test_an_edited_manifest_sha256_never_reaches_the_feed(sample: Path, s3_server, bucket: str):
    assert publish(sample, bucket, ROW1, CAB).exit_code == 0
    client = s3_server.client()
    key = manifest(s3_server, bucket)["episodes"][ROW1_GUID]["audio"][0]["key"]
    real = sri(read(s3_server, bucket, f"net/{key}"))
    assert integrity(read(s3_server, bucket, "net/itsmwp-row/feed.xml"), ROW1_GUID) == [real]
    stored = read(s3_server, bucket, "net.state/manifest.json")
    edited = edit_manifest_sha256(stored, ROW1_GUID, WRONG)
    client.put_object(Bucket=bucket, Key="net.state/manifest.json", Body=edited)

    before = snapshot(s3_server, bucket)
    other = publish(sample, bucket, CAB)  # writes every feed, ROW1's among them
    assert other.exit_code == 3, other.output
    [line] = error_lines(other)
    assert line.startswith(f"s3://{bucket}/net/{key}: the manifest records sha256 {WRONG[:12]}")
    assert "the feeds are left as they are" in line, line
    assert {k: v for k, v in snapshot(s3_server, bucket).items() if k.startswith("net/")} == {
        k: v for k, v in before.items() if k.startswith("net/")
    }

    fixed = publish(sample, bucket, ROW1)  # in the run: processed again, the manifest put right
    assert fixed.exit_code == 0, fixed.output
    assert manifest(s3_server, bucket)["episodes"][ROW1_GUID]["audio"][0]["sha256"] != WRONG
    assert integrity(read(s3_server, bucket, "net/itsmwp-row/feed.xml"), ROW1_GUID) == [real]


def record_a_wrong_sha256(s3_server, bucket: str, guid: str) -> str:
    """Rewrite the stored metadata of the episode's MP3 to record WRONG as its sha256 (the bytes
    and the other headers as they were); its key."""
    client = s3_server.client()
    key = manifest(s3_server, bucket)["episodes"][guid]["audio"][0]["key"]
    head = client.head_object(Bucket=bucket, Key=f"net/{key}")
    client.copy_object(
        Bucket=bucket,
        Key=f"net/{key}",
        CopySource={"Bucket": bucket, "Key": f"net/{key}"},
        MetadataDirective="REPLACE",
        Metadata={"sha256": WRONG},
        ContentType=head["ContentType"],
        CacheControl=head["CacheControl"],
    )
    return key


def test_tampered_stored_metadata_is_caught_and_uploaded_again(
    sample: Path, s3_server, bucket: str
):
    assert publish(sample, bucket, ROW1, CAB).exit_code == 0
    key = record_a_wrong_sha256(s3_server, bucket, ROW1_GUID)

    other = publish(sample, bucket, CAB)
    assert other.exit_code == 3, other.output
    [line] = error_lines(other)
    assert line.startswith(f"s3://{bucket}/net/{key}: the manifest records sha256 "), line
    assert f"the store holds {WRONG[:12]}" in line, line

    fixed = publish(sample, bucket)  # every episode in the run: ROW1's MP3 uploaded again
    assert fixed.exit_code == 0, fixed.output
    body = read(s3_server, bucket, f"net/{key}")
    stored = s3_server.client().head_object(Bucket=bucket, Key=f"net/{key}")["Metadata"]["sha256"]
    assert stored == hashlib.sha256(body).hexdigest()
    assert integrity(read(s3_server, bucket, "net/itsmwp-row/feed.xml"), ROW1_GUID) == [sri(body)]


METRICS_GUID = "04bab1e0-bca4-48be-9c8b-6e3eff69f280"


@pytest.mark.slow
def test_in_a_folder_publish_checks_every_feed_it_writes(sample: Path):
    """Publishing another episode rewrites the show's feed, which names the edited one: stopped."""
    assert podcast(sample, "publish", CAB, METRICS).exit_code == 0
    state = sample / "public.state/manifest.json"
    key = json.loads(state.read_text())["episodes"][CAB_GUID]["audio"][0]["key"]
    state.write_bytes(edit_manifest_sha256(state.read_bytes(), CAB_GUID, WRONG))
    publishing_stops_before_the_feed(sample, key)


@pytest.mark.slow
@pytest.mark.parametrize("command", [("unpublish", METRICS), ("publish", "--feeds-only")])
def test_in_a_folder_a_takedown_is_never_blocked_by_another_object(sample: Path, command):
    """Unpublishing (and writing the feeds from the manifest) always completes: an object of
    another episode whose sha256 is not the manifest's is named without podcast:integrity —
    never with a wrong one — and one note line says how to repair it."""
    assert podcast(sample, "publish", CAB, METRICS).exit_code == 0
    state = sample / "public.state/manifest.json"
    key = json.loads(state.read_text())["episodes"][CAB_GUID]["audio"][0]["key"]
    state.write_bytes(edit_manifest_sha256(state.read_bytes(), CAB_GUID, WRONG))

    result = podcast(sample, *command)
    assert result.exit_code == 0, result.output
    feed = (sample / "public/itsmwp/feed.xml").read_bytes()
    assert integrity(feed, CAB_GUID) == []
    if command[0] == "unpublish":
        assert METRICS_GUID.encode() not in feed
    [note] = [line for line in result.stderr.splitlines() if key in line]
    assert note.startswith(f"note: file://{sample}/public/{key}: "), note
    assert "podcast publish" in note, note


def test_unpublish_completes_although_another_objects_metadata_is_tampered(
    sample: Path, s3_server, bucket: str
):
    assert publish(sample, bucket, CAB, METRICS).exit_code == 0
    record_a_wrong_sha256(s3_server, bucket, CAB_GUID)
    gone = podcast(
        sample, "unpublish", METRICS, "--delete-media", "--storage", f"s3://{bucket}/net"
    )
    assert gone.exit_code == 0, gone.output
    feed = read(s3_server, bucket, "net/itsmwp/feed.xml")
    assert METRICS_GUID.encode() not in feed
    assert integrity(feed, CAB_GUID) == []  # never the wrong one, nor one unchecked
    assert WRONG[:12] not in feed.decode()
    assert "deleted s3://" in gone.stdout  # the takedown's media went too


# -- the store's own record of a file (review of issue 20) ---------------------------------------


def publishing_stops_before_the_feed(sample: Path, key: str) -> None:
    """Publishing another episode of the show stops (exit 3) with one line naming the folder
    store's `key`, and the show's feed is left as it was."""
    feed = (sample / "public/itsmwp/feed.xml").read_bytes()
    result = podcast(sample, "publish", METRICS)
    assert result.exit_code == 3, result.output
    [line] = error_lines(result)
    assert line.startswith(f"file://{sample}/public/{key}: the manifest records sha256 "), line
    assert (sample / "public/itsmwp/feed.xml").read_bytes() == feed


def sidecar(sample: Path, key: str) -> Path:
    """The folder store's metadata of `key` (its recorded sha256, type, caching)."""
    return sample / "public.state/objects/.meta" / f"{key}.json"


def folder_key(sample: Path, guid: str) -> str:
    return json.loads((sample / "public.state/manifest.json").read_text())["episodes"][guid][
        "audio"
    ][0]["key"]


@pytest.mark.slow
def test_in_a_folder_a_wrong_sidecar_stops_no_feed_and_is_rewritten(sample: Path):
    """The folder store's integrity is the file's own hash — what a listener downloads — so a
    sidecar that records another stops nothing; publishing the episode by name rewrites it."""
    assert podcast(sample, "publish", CAB, METRICS).exit_code == 0
    key = folder_key(sample, CAB_GUID)
    body = (sample / "public" / key).read_bytes()
    meta = json.loads(sidecar(sample, key).read_text())
    sidecar(sample, key).write_text(json.dumps({**meta, "sha256": WRONG}))

    other = podcast(sample, "publish", METRICS)
    assert other.exit_code == 0, other.output
    assert integrity((sample / "public/itsmwp/feed.xml").read_bytes(), CAB_GUID) == [sri(body)]

    fixed = podcast(sample, "publish", CAB)
    assert fixed.exit_code == 0, fixed.output
    rewritten = json.loads(sidecar(sample, key).read_text())["sha256"]
    assert rewritten == hashlib.sha256(body).hexdigest()


@pytest.mark.slow
def test_in_a_folder_tampered_bytes_never_reach_the_feed_with_the_old_integrity(sample: Path):
    """The file's bytes changed, its sidecar intact: the feed never names it with the sha256 of
    what it held before; publishing its episode by name uploads it again."""
    assert podcast(sample, "publish", CAB, METRICS).exit_code == 0
    key = folder_key(sample, CAB_GUID)
    path = sample / "public" / key
    body = path.read_bytes()
    middle = len(body) // 2
    path.write_bytes(body[:middle] + bytes(64) + body[middle + 64 :])  # same size
    publishing_stops_before_the_feed(sample, key)

    fixed = podcast(sample, "publish", CAB)
    assert fixed.exit_code == 0, fixed.output
    assert path.read_bytes() == body
    assert integrity((sample / "public/itsmwp/feed.xml").read_bytes(), CAB_GUID) == [sri(body)]


def test_an_object_without_a_recorded_sha256_gets_no_integrity(
    sample: Path, s3_server, bucket: str
):
    """An object overwritten by another tool (no sha256 in its metadata) cannot be checked
    without downloading it: its item carries no podcast:integrity (one note line) rather than
    the manifest's unchecked one; publishing its episode by name uploads it again."""
    assert publish(sample, bucket, ROW1, CAB).exit_code == 0
    client = s3_server.client()
    key = manifest(s3_server, bucket)["episodes"][ROW1_GUID]["audio"][0]["key"]
    body = read(s3_server, bucket, f"net/{key}")
    middle = len(body) // 2
    client.put_object(
        Bucket=bucket, Key=f"net/{key}", Body=body[:middle] + bytes(64) + body[middle + 64 :]
    )

    other = publish(sample, bucket, CAB)  # writes every feed, ROW1's among them
    assert other.exit_code == 0, other.output
    assert integrity(read(s3_server, bucket, "net/itsmwp-row/feed.xml"), ROW1_GUID) == []
    [note] = [line for line in other.stderr.splitlines() if key in line]
    assert note.startswith(f"note: s3://{bucket}/net/{key}: "), note

    fixed = publish(sample, bucket, ROW1)
    assert fixed.exit_code == 0, fixed.output
    assert read(s3_server, bucket, f"net/{key}") == body
    assert integrity(read(s3_server, bucket, "net/itsmwp-row/feed.xml"), ROW1_GUID) == [sri(body)]
