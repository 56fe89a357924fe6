"""A stale manifest never silently drops a published episode; episodes leave feeds only through
`podcast unpublish`; every manifest generation is kept and can be brought back (issue 11, item 2).

The repro: checkout B publishes a new episode; the manifest is put back from a backup (what the
tool used to advise for a damaged one); checkout A — which never had B's episode — publishes.
Before: exit 0, and the feed lost B's episode. Now: exit 3 naming it, nothing written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish import manifest as manifest_module
from podcast_tools.publish.manifest import Manifest, generations, read_manifest, write_generation
from podcast_tools.publish.storage import S3Storage
from tests.hostile.helpers import (
    CAB,
    CAB_GUID,
    ROW1,
    ROW1_GUID,
    error_lines,
    guids,
    keys,
    manifest,
    podcast,
    publish,
    read,
    snapshot,
)


def checkout(sample: Path, where: Path) -> Path:
    """Another clone of the same network (a producer's laptop, a CI runner)."""
    shutil.copytree(sample / "episodes", where / "episodes")
    shutil.copytree(sample / "templates", where / "templates")
    return where


def new_episode(root: Path, title: str) -> tuple[Path, str]:
    """`podcast new itsmwp --title … --audio …` in `root`: (its file, its guid)."""
    recording = root.parent / f"{root.name}-recording.ogg"
    shutil.copy(root / "episodes/itsmwp-row/001-outsourcing-the-service-desk.ogg", recording)
    made = podcast(root, "new", "itsmwp", "--title", title, "--audio", str(recording))
    assert made.exit_code == 0, made.output
    path = Path(made.stdout.strip()).resolve()
    return path, next(
        e.guid for e in load_checked_network(root).episodes if e.path.resolve() == path
    )


def test_a_stale_manifest_stops_the_run_and_names_the_episode_it_would_drop(
    sample: Path, tmp_path: Path, s3_server, bucket: str
):
    a = checkout(sample, tmp_path / "a")
    b = checkout(sample, tmp_path / "b")
    assert publish(a, bucket).exit_code == 0
    backup = read(s3_server, bucket, "net.state/manifest.json")
    _, guid = new_episode(b, "Incident Reviews Without Blame")
    assert publish(b, bucket).exit_code == 0
    assert guid in guids(s3_server, bucket, "itsmwp")

    # "restore it from a backup": the manifest of before B's episode
    s3_server.client().put_object(Bucket=bucket, Key="net.state/manifest.json", Body=backup)
    before = snapshot(s3_server, bucket)
    result = publish(a, bucket)

    assert result.exit_code == 3, result.output
    [line] = error_lines(result)
    assert line.startswith(
        f's3://{bucket}/net/itsmwp/feed.xml: would drop "Incident Reviews Without Blame" '
        f"(guid {guid}), which listeners have: the manifest (generation 1 in "
        f"s3://{bucket}/net.state) does not have it"
    ), line
    assert "podcast state restore" in line and f"podcast unpublish {guid}" in line
    assert snapshot(s3_server, bucket) == before  # nothing uploaded, nothing written

    # the way back: the generation B wrote is kept
    listed = podcast(a, "state", "list", "--storage", f"s3://{bucket}/net")
    assert listed.exit_code == 0, listed.output
    rows = {row.split()[0]: row.split()[2] for row in listed.stdout.splitlines()[2:]}
    assert rows == {"2": "8", "1": "7"}, listed.stdout  # generation → episodes
    restored = podcast(a, "state", "restore", "2", "--storage", f"s3://{bucket}/net")
    assert restored.exit_code == 0, restored.output
    assert "generation 2 restored as generation 3 (8 episode(s))" in restored.stdout
    again = publish(a, bucket)
    assert again.exit_code == 0, again.output
    assert guid in guids(s3_server, bucket, "itsmwp")  # A never had it; the feed keeps it


def test_unpublish_is_the_only_way_out_and_publish_does_not_bring_it_back(
    sample: Path, s3_server, bucket: str
):
    assert publish(sample, bucket).exit_code == 0
    audio = manifest(s3_server, bucket)["episodes"][CAB_GUID]["audio"][0]["key"]

    dry = podcast(sample, "unpublish", CAB, "--storage", f"s3://{bucket}/net", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would unpublish 96437e99" in dry.stderr
    assert CAB_GUID in guids(s3_server, bucket, "itsmwp")  # a dry run changes nothing

    gone = podcast(sample, "unpublish", CAB, "--storage", f"s3://{bucket}/net")
    assert gone.exit_code == 0, gone.output
    assert f"unpublished {CAB_GUID}" in gone.stdout
    for show in ("itsmwp", "itsmwp-anz"):  # out of both feeds it was in
        assert CAB_GUID not in guids(s3_server, bucket, show)
    assert f"net/{audio}" in keys(s3_server, bucket)  # its media stay (downloads keep working)
    record = manifest(s3_server, bucket)["unpublished"][CAB_GUID]
    assert record["shows"] == ["itsmwp", "itsmwp-anz"]

    again = publish(sample, bucket)  # --all: left out, and said so
    assert again.exit_code == 0, again.output
    assert f"left out: {CAB} was taken down with `podcast unpublish`" in again.stderr
    assert CAB_GUID not in guids(s3_server, bucket, "itsmwp")

    named = publish(sample, bucket, CAB)  # by name: published again
    assert named.exit_code == 0, named.output
    assert CAB_GUID in guids(s3_server, bucket, "itsmwp")
    assert CAB_GUID not in manifest(s3_server, bucket)["unpublished"]


def test_unpublish_by_guid_with_delete_media(sample: Path, s3_server, bucket: str):
    assert publish(sample, bucket).exit_code == 0
    entry = manifest(s3_server, bucket)["episodes"][ROW1_GUID]
    gone = podcast(
        sample, "unpublish", ROW1_GUID, "--delete-media", "--storage", f"s3://{bucket}/net"
    )
    assert gone.exit_code == 0, gone.output
    stored = keys(s3_server, bucket)
    assert f"net/{entry['audio'][0]['key']}" not in stored
    assert f"net/{entry['chapters']['key']}" not in stored
    assert ROW1_GUID not in guids(s3_server, bucket, "itsmwp-row")
    assert "itsmwp-row/episodes/001-" not in " ".join(stored)

    unknown = podcast(sample, "unpublish", "no-such-guid", "--storage", f"s3://{bucket}/net")
    assert unknown.exit_code == 2
    assert error_lines(unknown) == [
        f"no-such-guid: is not published (no manifest entry, in no feed of s3://{bucket}/net)"
    ]


def test_a_guid_only_a_feed_carries_can_be_unpublished(
    sample: Path, tmp_path: Path, s3_server, bucket: str
):
    """The way out the stale-manifest message offers: take the episode down on purpose."""
    a = checkout(sample, tmp_path / "a")
    b = checkout(sample, tmp_path / "b")
    assert publish(a, bucket).exit_code == 0
    backup = read(s3_server, bucket, "net.state/manifest.json")
    _, guid = new_episode(b, "An Episode Nobody Wanted")
    assert publish(b, bucket).exit_code == 0
    s3_server.client().put_object(Bucket=bucket, Key="net.state/manifest.json", Body=backup)
    assert publish(a, bucket).exit_code == 3

    gone = podcast(a, "unpublish", guid, "--storage", f"s3://{bucket}/net")
    assert gone.exit_code == 0, gone.output
    assert guid not in guids(s3_server, bucket, "itsmwp")
    assert publish(a, bucket).exit_code == 0


def test_generations_are_numbered_kept_and_pruned(s3_server, bucket: str, monkeypatch):
    monkeypatch.setattr(manifest_module, "KEEP_GENERATIONS", 3)
    state = S3Storage(bucket, "net.state")
    current = read_manifest(state)
    for n in range(5):
        current.artwork = {"itsmwp": {"key": f"itsmwp/art/cover-{n}.png"}}
        current = write_generation(state, current)
        assert current.generation == n + 1
    assert list(generations(state)) == [3, 4, 5]
    stored = read_manifest(state)
    assert stored.generation == 5 and stored.written_at
    copy = read(s3_server, bucket, "net.state/history/manifest-00000004.json")
    assert Manifest.from_bytes(copy, None).artwork["itsmwp"]["key"] == "itsmwp/art/cover-3.png"


def test_restore_defaults_to_the_previous_generation_and_writes_a_new_one(
    sample: Path, s3_server, bucket: str
):
    assert publish(sample, bucket, ROW1).exit_code == 0  # generation 1: one episode
    assert publish(sample, bucket).exit_code == 0  # generation 2: all seven
    restored = podcast(sample, "state", "restore", "--storage", f"s3://{bucket}/net")
    assert restored.exit_code == 0, restored.output
    assert "generation 1 restored as generation 3 (1 episode(s))" in restored.stdout
    assert "without 6 episode(s)" in restored.stdout
    stored = manifest(s3_server, bucket)
    assert (stored["generation"], stored["restored_from"]) == (3, 1)

    # the feeds still carry the other six: publishing from a checkout that has them all puts
    # them back in the manifest; nothing is dropped either way
    assert publish(sample, bucket).exit_code == 0
    assert len(manifest(s3_server, bucket)["episodes"]) == 7

    missing = podcast(sample, "state", "restore", "99", "--storage", f"s3://{bucket}/net")
    assert missing.exit_code == 2
    assert error_lines(missing) == [
        f"generation 99: not kept in s3://{bucket}/net.state/history/ (kept: 1–4); "
        "`podcast state list` shows them"
    ]


def test_a_restore_racing_a_publisher_restores_nothing(
    sample: Path, s3_server, bucket: str, monkeypatch
):
    """A publisher writes the manifest while the restore runs: the restore's conditional write
    fails, it says so in one line, and the publisher's write stands."""
    from podcast_tools.publish import generations as generations_module

    assert publish(sample, bucket, ROW1).exit_code == 0
    assert publish(sample, bucket).exit_code == 0
    real_write = generations_module.write_generation

    def another_publisher_first(state, base, **kwargs):
        theirs = read_manifest(state)
        theirs.unpublished = {"x-racing": {"at": "2026-01-01T00:00:00+00:00", "shows": []}}
        write_generation(state, theirs)
        return real_write(state, base, **kwargs)

    monkeypatch.setattr(generations_module, "write_generation", another_publisher_first)
    raced = podcast(sample, "state", "restore", "--storage", f"s3://{bucket}/net")
    assert raced.exit_code == 3
    assert error_lines(raced) == [
        f"s3://{bucket}/net.state/manifest.json: changed while it was being restored (another "
        "publisher); nothing was restored — run `podcast state restore` again"
    ]
    stored = manifest(s3_server, bucket)
    assert stored["generation"] == 3 and "x-racing" in stored["unpublished"]


@pytest.mark.slow
def test_unpublish_and_generations_in_a_folder(sample: Path):
    assert podcast(sample, "publish").exit_code == 0
    gone = podcast(sample, "unpublish", ROW1)
    assert gone.exit_code == 0, gone.output
    feed = (sample / "public/itsmwp-row/feed.xml").read_text()
    assert ROW1_GUID not in feed
    assert (sample / "public.state/history/manifest-00000002.json").is_file()
    listed = podcast(sample, "state", "list")
    assert listed.exit_code == 0 and "(current)" in listed.stdout
