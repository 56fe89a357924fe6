"""A run killed during a multipart upload leaves an incomplete upload; the next run aborts it
(issue 11, item 5) — ours only (keys under the storage prefix), and only ones begun well before
the run (another publisher's upload in progress is left alone). The server is the real SeaweedFS;
an upload cannot be backdated there, so the age margin is what the test sets (0 s)."""

from __future__ import annotations

from pathlib import Path

from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish import Publisher, open_storage
from podcast_tools.publish.storage import STALE_UPLOAD_S
from tests.hostile.helpers import ROW1_GUID


def incomplete(client, bucket: str, key: str) -> str:
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    client.upload_part(
        Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * (5 * 1024 * 1024)
    )
    return upload


def uploads(client, bucket: str) -> list[str]:
    return sorted(u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def test_a_rerun_aborts_the_incomplete_uploads_a_killed_run_left(
    sample: Path, s3_server, bucket: str
):
    client = s3_server.client()
    incomplete(client, bucket, "net/itsmwp/episodes/001-killed-0123456789ab.mp3")
    incomplete(client, bucket, "other/somebody-elses.mp3")  # not under our prefix
    incomplete(client, bucket, "net.state/not-ours-either.json")  # "net" is not "net/"
    network = load_checked_network(sample)
    row = [e for e in network.episodes if e.guid == ROW1_GUID]

    assert STALE_UPLOAD_S == 3600
    said: list[str] = []
    fresh = Publisher(network, open_storage(f"s3://{bucket}/net", sample), say=said.append)
    assert fresh.run(row).aborted_uploads == []  # begun just now: maybe a running publisher's
    assert len(uploads(client, bucket)) == 3

    said.clear()
    later = Publisher(
        network, open_storage(f"s3://{bucket}/net", sample), say=said.append, stale_upload_s=0
    )
    result = later.run(row)
    assert result.aborted_uploads == ["itsmwp/episodes/001-killed-0123456789ab.mp3"]
    assert (
        "aborted 1 incomplete upload(s) a killed run left: "
        "itsmwp/episodes/001-killed-0123456789ab.mp3"
    ) in said
    assert uploads(client, bucket) == ["net.state/not-ours-either.json", "other/somebody-elses.mp3"]


def test_a_failed_multipart_upload_is_aborted_at_once(tmp_path: Path, s3_server, bucket: str):
    """Not only a later run: an upload that fails in our hands is aborted before the error."""
    from podcast_tools.publish.source import digest, open_inside
    from podcast_tools.publish.storage import S3Storage, StorageError

    class FailsAtPart2(S3Storage):
        MULTIPART_BYTES = 5 * 1024 * 1024

        def _part(self, key, upload, number, data, md5, progress):
            if number == 2:
                raise StorageError(f"{self.description}/{key}: injected failure in part 2")
            return super()._part(key, upload, number, data, md5, progress)

    path = tmp_path / "big.mp3"
    path.write_bytes(b"\x00\x01" * (6 * 1024 * 1024))
    storage = FailsAtPart2(bucket, "net")
    with open_inside(path, tmp_path, "big.mp3") as source:
        hashed = digest(source, storage.part_bytes)
        try:
            storage.put_file(
                "big.mp3", source, digest=hashed, content_type="audio/mpeg", cache_control="x"
            )
        except StorageError as exc:
            assert "injected failure in part 2" in str(exc)
        else:
            raise AssertionError("the upload did not fail")
    assert uploads(s3_server.client(), bucket) == []
