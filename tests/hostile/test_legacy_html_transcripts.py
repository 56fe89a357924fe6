"""HTML transcripts an older version published are taken down (review of issue 20, item 2).

The repro: a manifest entry written by a version that still published HTML transcripts (its
transcript recorded as `text/html`, the object stored as `text/html` on the website's origin).
Before: every feed written named it in `podcast:transcript`, and the object stayed served — a
stored XSS the fix for new episodes never reached. Now no feed names a transcript whose type is
not one of the plain-text types, and `publish` deletes such objects once the feeds no longer
name them, with one note line each.
"""

from __future__ import annotations

import json

from tests.conftest import edit
from tests.hostile.helpers import CAB, ROW1, ROW1_GUID, manifest, publish, read

HTML = b"<!doctype html><script>alert(document.domain)</script>"


def test_an_html_transcript_of_an_older_version_is_unnamed_and_deleted(sample, s3_server, bucket):
    # the older version made no machine transcripts: ROW1 then has no transcript at all
    edit(
        sample / "episodes" / "network.toml",
        "transcripts = { auto = true",
        "transcripts = { auto = false",
    )
    assert publish(sample, bucket, ROW1, CAB).exit_code == 0
    client = s3_server.client()
    key = "itsmwp-row/episodes/001-outsourcing-the-service-desk-transcript-0123456789ab.html"
    client.put_object(Bucket=bucket, Key=f"net/{key}", Body=HTML, ContentType="text/html")
    document = manifest(s3_server, bucket)  # as an older version wrote it
    document["episodes"][ROW1_GUID]["transcript"] = {"key": key, "type": "text/html"}
    client.put_object(
        Bucket=bucket, Key="net.state/manifest.json", Body=json.dumps(document).encode()
    )

    other = publish(sample, bucket, CAB)  # ROW1 is not in the run; every feed is written
    assert other.exit_code == 0, other.output
    feed = read(s3_server, bucket, "net/itsmwp-row/feed.xml")
    assert b"text/html" not in feed and key.encode() not in feed
    assert read(s3_server, bucket, f"net/{key}") is None  # deleted: 404
    [note] = [line for line in other.stderr.splitlines() if key in line]
    assert note.startswith(f"note: deleted s3://{bucket}/net/{key}: "), note

    again = publish(sample, bucket, ROW1)  # by name: its entry is made again from its file
    assert again.exit_code == 0, again.output
    assert manifest(s3_server, bucket)["episodes"][ROW1_GUID]["transcript"] is None
    assert b"text/html" not in read(s3_server, bucket, "net/itsmwp-row/feed.xml")
