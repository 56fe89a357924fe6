"""A damaged manifest stops the run in one line naming the key, the feeds stay as they are, and
the message says how to recover (issue 11, item 4).

Repros (each a manifest put in the state location by hand): `{"episodes": []}` raised
AttributeError, an entry `{}` KeyError, `"version": "1"` claimed a newer podcast_tools wrote it.
The manifest is now checked against its JSON Schema whenever it is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.helpers import ROW1_GUID, error_lines, keys, manifest, podcast, publish, read

RECOVERY = (
    "the feeds are left as they are; see its generations with `podcast state list` and bring "
    "one back with `podcast state restore [GENERATION]`"
)


def damaged(good: dict, case: str) -> bytes:
    doc = json.loads(json.dumps(good))
    if case == "episodes-a-list":
        return b'{"episodes": []}'
    if case == "empty-entry":
        doc["episodes"][ROW1_GUID] = {}
    elif case == "version-a-string":
        doc["version"] = "1"
    elif case == "key-leaves-the-prefix":
        doc["episodes"][ROW1_GUID]["audio"][0]["key"] = "../../elsewhere.mp3"
    elif case == "date-without-offset":
        doc["episodes"][ROW1_GUID]["meta"]["date"] = "2026-10-12T08:00:00"
    elif case == "impossible-date":
        doc["episodes"][ROW1_GUID]["meta"]["date"] = "2026-13-45T08:00:00+00:00"
    elif case == "nan-duration":  # Python's json writes and reads NaN; JSON has none
        doc["episodes"][ROW1_GUID]["audio"][0]["duration_s"] = float("nan")
    elif case == "infinite-duration":
        doc["episodes"][ROW1_GUID]["audio"][0]["duration_s"] = float("inf")
    elif case == "overflowing-duration":  # a JSON number that Python reads as infinity
        doc["episodes"][ROW1_GUID]["audio"][0]["duration_s"] = 7e7
        return json.dumps(doc).encode().replace(b"70000000.0", b"1e400")
    elif case == "negative-chapter-time":
        doc["episodes"][ROW1_GUID]["chapter_times"][1] = -7.0
    elif case == "null":
        return b"null"
    elif case == "cut-off":
        return json.dumps(doc).encode()[:500]
    return json.dumps(doc).encode()


CASES = {
    "episodes-a-list": "at episodes: must be an object, not an array",
    "empty-entry": f'at episodes.{ROW1_GUID}: "show" is missing',
    "version-a-string": 'at version: must be an integer, not the string "1"',
    "key-leaves-the-prefix": (
        f'at episodes.{ROW1_GUID}.audio.0.key: "../../elsewhere.mp3" is not of the right form'
    ),
    "date-without-offset": (
        f'at episodes.{ROW1_GUID}.meta.date: "2026-10-12T08:00:00" is not of the right form'
    ),
    "impossible-date": (
        f'at episodes.{ROW1_GUID}.meta.date: "2026-13-45T08:00:00+00:00" is not a date'
    ),
    "nan-duration": f"at episodes.{ROW1_GUID}.audio.0.duration_s: NaN is not a number",
    "infinite-duration": f"at episodes.{ROW1_GUID}.audio.0.duration_s: Infinity is not a number",
    "overflowing-duration": f"at episodes.{ROW1_GUID}.audio.0.duration_s: Infinity is not a number",
    "negative-chapter-time": (
        f"at episodes.{ROW1_GUID}.chapter_times.1: -7.0 breaks the rule minimum 0"
    ),
    "null": "at the top level: must be an object, not null",
    "cut-off": "is damaged: not JSON (",
}


@pytest.fixture(scope="module")
def published(tmp_path_factory, s3_server):
    """One published sample (the manifest and the feeds as a good run left them)."""
    import shutil

    from tests.conftest import REPO

    root = tmp_path_factory.mktemp("damage") / "network"
    shutil.copytree(REPO / "episodes", root / "episodes")
    shutil.copytree(REPO / "templates", root / "templates")
    return root


@pytest.mark.parametrize("case", list(CASES))
def test_a_damaged_manifest_is_one_line_naming_the_key_and_the_feeds_stay(
    published: Path, s3_server, bucket: str, case: str
):
    assert publish(published, bucket).exit_code == 0
    good = manifest(s3_server, bucket)
    s3_server.client().put_object(
        Bucket=bucket, Key="net.state/manifest.json", Body=damaged(good, case)
    )
    public = {key: read(s3_server, bucket, key) for key in keys(s3_server, bucket, "net/")}
    for args in ((), ("--dry-run",)):
        result = publish(published, bucket, *args)
        assert result.exit_code == 3, result.output
        [line] = error_lines(result)
        assert line.startswith(f"s3://{bucket}/net.state/manifest.json: is damaged"), line
        assert CASES[case] in line, line
        assert line.endswith(RECOVERY), line
        assert result.exception is None or isinstance(result.exception, SystemExit)
    assert {key: read(s3_server, bucket, key) for key in keys(s3_server, bucket, "net/")} == public


def test_a_newer_format_says_upgrade(published: Path, s3_server, bucket: str):
    assert publish(published, bucket).exit_code == 0
    newer = {**manifest(s3_server, bucket), "version": 5}
    s3_server.client().put_object(
        Bucket=bucket, Key="net.state/manifest.json", Body=json.dumps(newer).encode()
    )
    result = publish(published, bucket)
    assert result.exit_code == 3
    assert error_lines(result) == [
        f"s3://{bucket}/net.state/manifest.json: was written by a newer podcast_tools "
        "(format 5); upgrade"
    ]


def test_todays_manifests_are_read_and_the_next_write_is_generation_1(
    published: Path, tmp_path: Path, s3_server, bucket: str
):
    """A manifest as the previous version wrote it (format 1: no generation, no history; the MP3
    was every show's one format then)."""
    import shutil

    published = Path(shutil.copytree(published, tmp_path / "network", symlinks=True))
    toml = published / "episodes" / "network.toml"
    lines = toml.read_text().splitlines(keepends=True)
    toml.write_text("".join(line for line in lines if not line.startswith("formats = ")))
    assert publish(published, bucket).exit_code == 0
    current = manifest(s3_server, bucket)
    # format 1 entries held one audio object (the MP3), without format or type
    old_entries = {
        guid: {
            **entry,
            "audio": {
                k: v
                for k, v in entry["audio"][0].items()
                if k not in ("format", "type", "bitrate")  # format 4 measured the bitrate
            },
        }
        for guid, entry in current["episodes"].items()
    }
    format_1 = {"version": 1, "episodes": old_entries, "artwork": current["artwork"]}
    client = s3_server.client()
    client.put_object(
        Bucket=bucket,
        Key="net.state/manifest.json",
        Body=json.dumps(format_1, indent=1, sort_keys=True).encode(),
    )
    client.delete_object(Bucket=bucket, Key="net.state/history/manifest-00000001.json")
    again = publish(published, bucket)
    assert again.exit_code == 0, again.output
    # read as it is, nothing to redo: no episode processed, no object uploaded (the feeds are
    # written again: format 1 entries carry no measured bitrate, which the stored feeds declare)
    assert "processed 0, unchanged 7; uploaded 0 object(s)" in again.stdout, again.stdout
    (published / "episodes/itsmwp-row/001-outsourcing-the-service-desk.md").write_text(
        (published / "episodes/itsmwp-row/001-outsourcing-the-service-desk.md")
        .read_text()
        .replace("language, time zones", "language, time zones and holidays")
    )
    changed = publish(published, bucket)
    assert changed.exit_code == 0, changed.output
    written = manifest(s3_server, bucket)
    assert (written["version"], written["generation"]) == (4, 1)
    # written back as format 4: the one audio object is the MP3, in a list
    assert all(
        [a["format"] for a in entry["audio"]] == ["mp3"] for entry in written["episodes"].values()
    )
    assert written["episodes"].keys() == current["episodes"].keys()


def test_state_restore_replaces_a_damaged_manifest_and_keeps_it(
    published: Path, s3_server, bucket: str
):
    assert publish(published, bucket).exit_code == 0
    client = s3_server.client()
    client.put_object(Bucket=bucket, Key="net.state/manifest.json", Body=b'{"episodes": []}')
    listed = podcast(published, "state", "list", "--storage", f"s3://{bucket}/net")
    assert listed.exit_code == 0, listed.output
    assert (
        "cannot be read: is damaged at episodes: must be an object, not an array" in listed.stdout
    )
    restored = podcast(published, "state", "restore", "--storage", f"s3://{bucket}/net")
    assert restored.exit_code == 0, restored.output
    assert "generation 1 restored as generation 2 (7 episode(s))" in restored.stdout
    [kept] = [k for k in keys(s3_server, bucket, "net.state/history/damaged-")]
    assert read(s3_server, bucket, kept) == b'{"episodes": []}'
    again = publish(published, bucket)
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.stdout
