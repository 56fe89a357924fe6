"""A bad bucket name (or prefix) is one line naming the field, before any request (issue 11,
item 8). Before: botocore's two-line ParamValidationError, exit 3, after the run had started.

As every other storage problem: `--storage`/`--state` → exit 2 (usage); network.toml's
`network.storage`/`network.state` → exit 1 (a content problem, `file: field: message`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from podcast_tools.publish import StorageError, open_storage
from tests.conftest import edit
from tests.hostile.helpers import error_lines, podcast

RULE = (
    "is not a bucket name: 3–63 lowercase letters, digits, dots and hyphens, beginning and "
    "ending with a letter or digit"
)


BAD_URLS = [
    ("s3://bad bucket/net", f'"bad bucket" {RULE}'),
    ("s3://bu$ket/net", f'"bu$ket" {RULE}'),
    ("s3://a/net", f'"a" {RULE}'),
    ("s3://media/../other/net", 'the prefix "../other/net" has an empty, "." or ".." part'),
    ("s3://media/net//x", 'the prefix "net//x" has an empty, "." or ".." part'),
    (  # review of issue 25 item 8: the policy's Resource media/p*/* matched p*.state/…
        "s3://media/p*",
        'the prefix "p*" holds a * or ?, which a bucket policy reads as a wildcard (its '
        "public-read grant could reach other keys, the state's among them)",
    ),
    (
        "s3://media/net?versionId=1",
        "a storage URL has no ? or # part; use s3://bucket/prefix or file://dir",
    ),
]


@pytest.mark.parametrize(("url", "message"), BAD_URLS)
@pytest.mark.parametrize("command", ["publish", "check-public", "unpublish", "state list"])
def test_a_bad_storage_url_on_the_command_line(sample: Path, url: str, message: str, command):
    args = command.split() + (["x-guid"] if command == "unpublish" else [])
    result = podcast(sample, *args, "--storage", url)
    assert result.exit_code == 2, result.output
    assert error_lines(result) == [f"--storage {url}: {message}"]


def test_a_bad_state_url_on_the_command_line(sample: Path):
    result = podcast(sample, "publish", "--storage", "s3://media/net", "--state", "s3://Bad_/x")
    assert result.exit_code == 2
    assert error_lines(result) == [f'--state s3://Bad_/x: "Bad_" {RULE}']


def test_a_bad_bucket_in_network_toml(sample: Path):
    edit(
        sample / "episodes/network.toml",
        'storage = "file://public"',
        'storage = "s3://My Media/net"',
    )
    result = podcast(sample, "publish")
    assert result.exit_code == 1
    assert error_lines(result) == [f'episodes/network.toml: network.storage: "My Media" {RULE}']


def test_a_library_user_gets_one_line_too(tmp_path: Path):
    with pytest.raises(StorageError) as caught:
        open_storage("s3://bad bucket/net", tmp_path)
    assert str(caught.value) == f's3://bad bucket/net: "bad bucket" {RULE}'


@pytest.mark.parametrize(("url", "message"), BAD_URLS)
def test_a_library_user_gets_the_command_line_message(tmp_path: Path, url: str, message: str):
    """open_storage reads storage URLs with the commands' one parser: what `--storage` refuses
    it refuses too, in the same words."""
    with pytest.raises(StorageError) as caught:
        open_storage(url, tmp_path)
    assert str(caught.value) == f"{url}: {message}"


@pytest.mark.parametrize("url", ["ftp://media/net", "s3:///net", "file://", "media/net"])
def test_what_names_no_storage_location_is_refused_alike(sample: Path, url: str):
    message = "not a storage URL; use s3://bucket/prefix or file://dir"
    with pytest.raises(StorageError) as caught:
        open_storage(url, sample)
    assert str(caught.value) == f"{url}: {message}"
    result = podcast(sample, "publish", "--storage", url)
    assert result.exit_code == 2, result.output
    assert error_lines(result) == [f"--storage {url}: {message}"]


@pytest.mark.parametrize(
    ("url", "message"), [(url, message) for url, message in BAD_URLS if url.startswith("s3://")]
)
def test_validate_refuses_what_publish_refuses_in_the_same_line(sample: Path, url: str, message):
    """`validate` reads network.toml's storage with publishing's one parser: a bad bucket, prefix
    or ?/# part is refused before any publish, in the words publishing uses."""
    edit(sample / "episodes/network.toml", 'storage = "file://public"', f'storage = "{url}"')
    for command in ("validate", "publish"):
        result = podcast(sample, command)
        assert result.exit_code == 1, result.output
        assert error_lines(result) == [f"episodes/network.toml: network.storage: {message}"]
