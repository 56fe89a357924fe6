"""`unpublish --delete-media` deletes every copy the manifest's kept generations name (issue 20,
item 5).

The repro: publish, fix the episode's title, publish again (the re-tag gives the MP3 — and the
chapters JSON, which carries the title — new content keys), then `unpublish --delete-media`.
Before: only the keys of the current entry were deleted; the pre-fix MP3 and chapters JSON stayed
downloadable. Now every object any kept generation names for the episode is deleted (and listed
by `--dry-run`), except what a still-published episode or a show's artwork uses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import edit
from tests.hostile.helpers import CAB, CAB_GUID, ROW1, ROW1_GUID, keys, manifest, podcast, publish


def episode_keys(entry: dict) -> set[str]:
    """The object keys a manifest entry names (audio, chapters, transcript forms, images)."""
    found = {audio["key"] for audio in entry["audio"]}
    found |= {entry[part]["key"] for part in ("chapters", "transcript", "image") if entry.get(part)}
    found |= {form["key"] for form in entry.get("transcripts", [])}  # every form of it
    found |= {key for key in entry.get("chapter_images", []) if key}
    return found


def test_unpublish_delete_media_deletes_the_copies_older_generations_name(
    sample: Path, s3_server, bucket: str
):
    assert publish(sample, bucket, ROW1, CAB).exit_code == 0
    before = manifest(s3_server, bucket)["episodes"][ROW1_GUID]
    edit(
        sample / ROW1,
        "title: Should You Outsource the Service Desk?",
        "title: Should You Outsource Your Service Desk?",
    )
    retitled = publish(sample, bucket, ROW1)
    assert retitled.exit_code == 0, retitled.output
    written = manifest(s3_server, bucket)
    after = written["episodes"][ROW1_GUID]
    older = episode_keys(before) - episode_keys(after)
    # the re-tag gave the audio and the chapters JSON new keys; the old ones are still stored
    assert before["audio"][0]["key"] in older and before["chapters"]["key"] in older, older
    stored = set(keys(s3_server, bucket, "net/"))
    assert {f"net/{key}" for key in older} <= stored
    others = episode_keys(written["episodes"][CAB_GUID])
    others |= {art["key"] for art in written["artwork"].values()}  # the shows' artwork
    assert {f"net/{key}" for key in others} <= stored

    dry = podcast(
        sample, "unpublish", ROW1, "--delete-media", "--dry-run", "--storage", f"s3://{bucket}/net"
    )
    assert dry.exit_code == 0, dry.output
    listed = {
        line.removeprefix("would delete ")
        for line in dry.stderr.splitlines()
        if line.startswith("would delete ")
    }
    assert listed == older | episode_keys(after), dry.stderr
    assert set(keys(s3_server, bucket, "net/")) == stored  # a dry run deletes nothing

    gone = podcast(sample, "unpublish", ROW1, "--delete-media", "--storage", f"s3://{bucket}/net")
    assert gone.exit_code == 0, gone.output
    client = s3_server.client()
    for key in older | episode_keys(after):
        assert f"deleted s3://{bucket}/net/{key}" in gone.stdout
        try:
            client.head_object(Bucket=bucket, Key=f"net/{key}")
        except client.exceptions.ClientError as exc:
            assert exc.response["Error"]["Code"] == "404", key
        else:
            raise AssertionError(f"net/{key} is still stored")
    remaining = set(keys(s3_server, bucket, "net/"))
    assert {f"net/{key}" for key in others} <= remaining  # the other episode's, the artwork
    assert CAB_GUID in manifest(s3_server, bucket)["episodes"]


@pytest.mark.slow
def test_a_second_unpublish_with_delete_media_finds_the_media_in_the_history(sample: Path):
    """Taken down first without --delete-media (the media stay): asked again with it, the
    media are found in the kept generations and deleted (in a folder store)."""
    assert podcast(sample, "publish", ROW1, CAB).exit_code == 0
    state = json.loads((sample / "public.state/manifest.json").read_text())
    entry = state["episodes"][ROW1_GUID]
    assert podcast(sample, "unpublish", ROW1).exit_code == 0
    assert all((sample / "public" / key).is_file() for key in episode_keys(entry))

    again = podcast(sample, "unpublish", ROW1, "--delete-media")
    assert again.exit_code == 0, again.output
    assert not [key for key in episode_keys(entry) if (sample / "public" / key).exists()]
    cab = json.loads((sample / "public.state/manifest.json").read_text())["episodes"][CAB_GUID]
    assert all((sample / "public" / key).is_file() for key in episode_keys(cab))
