"""`podcast publish` uploads the listeners' website with the feeds: built from the manifest's
records (so every page names only verified objects), pages with max-age=300, assets immutable,
only the pages whose bytes changed, the same pages from any checkout; `podcast unpublish` takes an
episode's page down. Against the real S3 server (SeaweedFS on 127.0.0.1)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from podcast_tools.layout import SITE_INDEX_KEY, episode_page_key, show_page_key
from tests.conftest import podcast, podcast_json
from tests.preview_network import CHAPTER_IMAGE, CROSS_POSTED

BASE = "https://media.itsmweekly.example/"


def publish(root: Path, bucket: str, *args: str) -> dict:
    return podcast_json(root, "publish", "--storage", f"s3://{bucket}/net", *args)


def copy(processed_network: Path, to: Path) -> Path:
    return Path(shutil.copytree(processed_network, to, symlinks=True))


def stored(client, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=f"net/{key}")["Body"].read()


def keys_of(client, bucket: str) -> set[str]:
    found = client.list_objects_v2(Bucket=bucket, Prefix="net/").get("Contents", [])
    return {item["Key"].removeprefix("net/") for item in found}


def test_publish_uploads_the_website_pages_last_naming_only_published_objects(
    processed_network: Path, tmp_path: Path, s3_server, bucket: str
):
    root = copy(processed_network, tmp_path / "network")
    summary = publish(root, bucket)
    pages = summary["pages_written"]
    assert pages[-1] == SITE_INDEX_KEY  # the network's page last
    assets = [key for key in pages if key.startswith("assets/")]
    assert assets and pages[: len(assets)] == assets  # stylesheet and script before any page
    assert show_page_key("itsmwp") in pages
    assert episode_page_key("itsmwp", Path(CHAPTER_IMAGE).stem) in pages

    client = s3_server.client()
    html = client.head_object(Bucket=bucket, Key=f"net/{show_page_key('itsmwp')}")
    assert html["CacheControl"] == "public, max-age=300"
    assert html["ContentType"].startswith("text/html")
    asset = client.head_object(Bucket=bucket, Key=f"net/{assets[0]}")
    assert "immutable" in asset["CacheControl"]

    published = keys_of(client, bucket)
    for key in pages:
        if not key.endswith(".html"):
            continue
        text = stored(client, bucket, key).decode()
        named = set(re.findall(r'(?:href|src|content)="' + re.escape(BASE) + r'([^"#?]*)', text))
        for target in named - {""}:  # "" is the base itself
            assert target in published, f"{key} names {target}, which is not published"


def test_a_second_publish_writes_no_page_and_another_checkout_writes_the_same_pages(
    processed_network: Path, tmp_path: Path, s3_server, bucket: str
):
    root = copy(processed_network, tmp_path / "network")
    first = publish(root, bucket)
    again = publish(root, bucket)
    assert again["pages_written"] == []
    assert again["pages_unchanged"] == len(first["pages_written"])

    # A checkout without the episode that has chapter images: its page (chapter titles from the
    # published chapters JSON) is built the same from the manifest and storage.
    other = copy(processed_network, tmp_path / "other")
    (other / CHAPTER_IMAGE).unlink()
    shutil.rmtree(other / "build")
    client = s3_server.client()
    page = episode_page_key("itsmwp", Path(CHAPTER_IMAGE).stem)
    before = stored(client, bucket, page)
    third = publish(other, bucket)
    assert page not in third["pages_written"]
    assert third["pages_written"] == []
    assert stored(client, bucket, page) == before
    assert b"Root cause belongs to problem management" in before  # a chapter title, not "Chapter 2"


def test_unpublish_takes_the_episodes_page_down_and_out_of_its_shows_pages(
    processed_network: Path, tmp_path: Path, s3_server, bucket: str
):
    root = copy(processed_network, tmp_path / "network")
    publish(root, bucket)
    client = s3_server.client()
    page = episode_page_key("itsmwp", Path(CROSS_POSTED).stem)
    assert page in keys_of(client, bucket)
    assert page.encode() in stored(client, bucket, show_page_key("itsmwp-anz"))
    podcast(root, "unpublish", str(root / CROSS_POSTED), "--storage", f"s3://{bucket}/net", ok=True)
    assert page not in keys_of(client, bucket)
    for show in ("itsmwp", "itsmwp-anz"):
        assert page.encode() not in stored(client, bucket, show_page_key(show))
