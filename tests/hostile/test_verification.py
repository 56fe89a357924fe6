"""Verification proves what the store holds (issue 11, item 6). Before: the check after an upload
compared the sha256 we had written into the object's metadata with itself.

Now every upload sends Content-MD5 (each part of a multipart upload too), so the store refuses a
body that is not what was sent; the ETag the store returns must be the MD5 of the bytes sent (one
part) or the MD5 of the parts' MD5s with `-<parts>` (multipart), as S3 computes them; and a GET
whose body is cut off is asked again.

SeaweedFS (the real server here) returns MD5 ETags for both, in the S3 form — checked below. A
store returning another ETag, a body cut off mid-answer: faults the real server does not produce
on demand, injected through botocore's event hooks on the real requests (the only fakes here).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from pathlib import Path

import pytest
from botocore.response import StreamingBody

from podcast_tools.errors import ContentError
from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish import Publisher, StorageError
from podcast_tools.publish.source import digest, open_inside
from podcast_tools.publish.storage import S3Storage
from tests.hostile.helpers import ROW1, ROW1_GUID, error_lines, guids, keys, publish

MIB = 1024 * 1024
WRONG = '"0123456789abcdef0123456789abcdef"'


class FiveMiBParts(S3Storage):
    MULTIPART_BYTES = 5 * MIB  # SeaweedFS, like S3, refuses smaller parts (EntityTooSmall)


def upload(storage: S3Storage, folder: Path, name: str, data: bytes) -> str:
    (folder / name).write_bytes(data)
    with open_inside(folder / name, folder, name) as source:
        hashed = digest(source, storage.part_bytes)
        return storage.put_file(
            name, source, digest=hashed, content_type="audio/mpeg", cache_control="no-cache"
        )


def test_seaweedfs_gives_the_s3_md5_etags_we_check(tmp_path: Path, s3_server, bucket: str):
    storage = FiveMiBParts(bucket, "net")
    client = s3_server.client()

    small = os.urandom(300_000)
    etag = upload(storage, tmp_path, "small.mp3", small)
    assert etag == f'"{hashlib.md5(small).hexdigest()}"'

    big = os.urandom(11 * MIB + 12_345)  # three parts: 5 + 5 + 1.01 MiB
    etag = upload(storage, tmp_path, "big.mp3", big)
    parts = [hashlib.md5(big[i : i + 5 * MIB]).digest() for i in range(0, len(big), 5 * MIB)]
    assert etag == f'"{hashlib.md5(b"".join(parts)).hexdigest()}-3"'
    head = client.head_object(Bucket=bucket, Key="net/big.mp3")
    assert head["ETag"] == etag and head["ContentLength"] == len(big)
    assert client.get_object(Bucket=bucket, Key="net/big.mp3")["Body"].read() == big


def test_seaweedfs_refuses_a_body_that_is_not_its_content_md5(s3_server, bucket: str):
    """What our Content-MD5 relies on: the store checks it."""
    client = s3_server.client()
    with pytest.raises(client.exceptions.ClientError, match="BadDigest"):
        client.put_object(
            Bucket=bucket,
            Key="net/x.mp3",
            Body=b"what was sent",
            ContentMD5=base64.b64encode(hashlib.md5(b"what was meant").digest()).decode(),
        )
    assert keys(s3_server, bucket) == []


def wrong_etag(parsed, **kwargs) -> None:
    parsed["ETag"] = WRONG


@pytest.mark.parametrize(
    "operation", ["PutObject", "UploadPart", "CompleteMultipartUpload"], ids=str.lower
)
def test_an_etag_that_is_not_the_md5_of_what_was_sent_fails_the_upload(
    tmp_path: Path, s3_server, bucket: str, operation: str
):
    storage = FiveMiBParts(bucket, "net")
    storage._client.meta.events.register(f"after-call.s3.{operation}", wrong_etag)
    data = os.urandom(100_000 if operation == "PutObject" else 6 * MIB)
    with pytest.raises(StorageError) as caught:
        upload(storage, tmp_path, "a.mp3", data)
    message = str(caught.value)
    assert message.startswith(f"s3://{bucket}/net/a.mp3: the store's ETag {WRONG}"), message
    assert "\n" not in message
    if operation == "UploadPart":  # the multipart upload was aborted, nothing left behind
        assert not s3_server.client().list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_publish_stops_at_an_etag_mismatch_before_manifest_and_feeds(
    sample: Path, s3_server, bucket: str, monkeypatch
):
    from podcast_tools.publish import state as state_module

    real_open = state_module.open_locations

    def faulty_store(network, locations):
        storage, state = real_open(network, locations)
        storage._client.meta.events.register("after-call.s3.PutObject", wrong_etag)
        return storage, state

    monkeypatch.setattr(state_module, "open_locations", faulty_store)
    result = publish(sample, bucket)
    assert result.exit_code == 3, result.output
    [line] = error_lines(result)
    assert f"the store's ETag {WRONG} is not the MD5 of the bytes sent" in line
    assert not [k for k in keys(s3_server, bucket) if k.endswith((".xml", "manifest.json"))]


def test_a_file_changed_while_it_uploads_is_not_published(sample: Path, s3_server, bucket: str):
    """The bytes sent must be the bytes hashed: a chapter image rewritten in place between
    hashing and sending is refused (one line naming the episode and field), not published."""
    image = sample / "episodes/itsmwp/art/001-root-cause.png"

    class RewriteBeforeSending(S3Storage):
        def head(self, key):
            found = super().head(key)
            if "-chapter-image-" in key:
                data = bytearray(image.read_bytes())
                data[-1] ^= 0xFF
                image.write_bytes(bytes(data))  # same inode, same size, other bytes
            return found

    network = load_checked_network(sample)
    episodes = [e for e in network.episodes if e.slug == "001-incident-vs-problem"]
    with pytest.raises(ContentError) as caught:
        Publisher(network, RewriteBeforeSending(bucket, "net")).run(episodes)
    assert [str(p) for p in caught.value.problems] == [
        "episodes/itsmwp/001-incident-vs-problem.md: chapters[2].image: "
        "episodes/itsmwp/art/001-root-cause.png changed while it was being uploaded; publish "
        "again when it is finished; it was not published"
    ]
    assert not [k for k in keys(s3_server, bucket) if "-chapter-image-" in k]


def cut_off(times: int):
    """An after-call hook: the first `times` answers of GetObject lose their second half."""
    seen = []

    def hook(parsed, **kwargs) -> None:
        seen.append(1)
        if len(seen) <= times and "Body" in parsed:
            whole = parsed["Body"].read()
            parsed["Body"] = StreamingBody(io.BytesIO(whole[: len(whole) // 2]), len(whole))

    return hook, seen


def test_a_get_cut_off_is_asked_again(s3_server, bucket: str):
    storage = S3Storage(bucket, "net")
    body = os.urandom(50_000)
    s3_server.client().put_object(Bucket=bucket, Key="net/itsmwp/feed.xml", Body=body)
    hook, seen = cut_off(1)
    storage._client.meta.events.register("after-call.s3.GetObject", hook)
    data, etag = storage.get("itsmwp/feed.xml")
    assert data == body and len(seen) == 2
    assert etag == f'"{hashlib.md5(body).hexdigest()}"'

    always, _ = cut_off(99)
    storage._client.meta.events.register("after-call.s3.GetObject", always)
    with pytest.raises(StorageError) as caught:
        storage.get("itsmwp/feed.xml")
    assert str(caught.value).startswith(
        f"s3://{bucket}/net/itsmwp/feed.xml: cannot read: the answer was cut off 3 times "
        "(IncompleteReadError"
    )


def test_publish_completes_when_answers_are_cut_off_once(sample: Path, s3_server, bucket: str):
    assert publish(sample, bucket, ROW1).exit_code == 0
    network = load_checked_network(sample)
    storage, state = S3Storage(bucket, "net"), S3Storage(bucket, "net.state")
    hooks = []
    for store in (storage, state):
        hook, seen = cut_off(1)  # the first answer of each store: the manifest, a feed
        store._client.meta.events.register("after-call.s3.GetObject", hook)
        hooks.append(seen)
    result = Publisher(network, storage, state=state).run(list(network.episodes))
    assert all(len(seen) > 1 for seen in hooks)  # both cut once, both asked again
    assert "itsmwp/feed.xml" in result.feeds
    assert ROW1_GUID in guids(s3_server, bucket, "itsmwp-row")
