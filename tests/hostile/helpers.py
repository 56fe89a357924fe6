"""What the hostile publishing tests share: the command as a producer runs it, and what a bucket
holds afterwards (read with the test server's own client, never through the code under test)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import podcastparser

from tests.conftest import podcast

BASE = "https://media.itsmweekly.example/"
SHOWS = ("itsmwp", "itsmwp-anz", "itsmwp-row")
ROW1 = "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"
ROW1_GUID = "9c65556b-f7af-427b-8bb3-d53ceaac22e1"
CAB = "episodes/itsmwp/002-change-advisory-boards.md"  # cross-posted to itsmwp-anz
CAB_GUID = "96437e99-b727-4e6c-99f1-172d9e7e5d4a"


def publish(root: Path, bucket: str, *args: str):
    return podcast(root, "publish", "--storage", f"s3://{bucket}/net", *args)


def error_lines(result) -> list[str]:
    """stderr without notes and progress: what the run says went wrong."""
    return [
        line
        for line in result.stderr.splitlines()
        if line.strip()
        and not line.startswith(("note:", "mastering ", "reusing ", "uploading "))
        and not line.startswith(("feed ", "left out", "aborted "))
    ]


def keys(s3_server, bucket: str, prefix: str = "") -> list[str]:
    pages = (
        s3_server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    )
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def read(s3_server, bucket: str, key: str) -> bytes | None:
    client = s3_server.client()
    try:
        return client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except client.exceptions.NoSuchKey:
        return None


def snapshot(s3_server, bucket: str) -> dict[str, bytes]:
    """Every object's bytes: to show that a refused run changed nothing."""
    return {key: read(s3_server, bucket, key) for key in keys(s3_server, bucket)}


def feed(s3_server, bucket: str, show: str) -> dict:
    body = read(s3_server, bucket, f"net/{show}/feed.xml")
    return podcastparser.parse(f"{BASE}{show}/feed.xml", io.BytesIO(body))


def guids(s3_server, bucket: str, show: str) -> list[str]:
    return [episode["guid"] for episode in feed(s3_server, bucket, show)["episodes"]]


def manifest(s3_server, bucket: str) -> dict:
    return json.loads(read(s3_server, bucket, "net.state/manifest.json"))
