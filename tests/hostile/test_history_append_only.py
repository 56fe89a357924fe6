"""The manifest's history is append-only (issue 20, item 7).

The repro: a current manifest whose "generation" is lower than kept ones (as a manifest put back
from a backup has), something changed, publish: rc 0, and the next write — numbered from the
manifest's own generation — replaced `history/manifest-00000002.json` (other `written_at`, other
content). Now a history copy is only ever created, never replaced (If-None-Match: * on S3, an
exclusive create in a folder), and the next generation is above every kept one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podcast_tools.publish.manifest import (
    Manifest,
    commit,
    generations,
    history_key,
    write_generation,
)
from podcast_tools.publish.storage import LocalStorage, S3Storage
from tests.conftest import edit
from tests.hostile.helpers import ROW1, podcast, publish, read

NOTES = ("language, time zones", "language, holidays, time zones", "language, culture, time zones")


class Store:
    """The state location of one store kind, read and written beside the code under test."""

    def __init__(self, kind: str, root: Path, s3_server, bucket: str | None):
        self.kind, self.root, self.s3_server, self.bucket = kind, root, s3_server, bucket

    def publish(self, *args: str):
        if self.kind == "s3":
            return publish(self.root, self.bucket, *args)
        return podcast(self.root, "publish", *args)

    def read(self, key: str) -> bytes | None:
        if self.kind == "s3":
            return read(self.s3_server, self.bucket, f"net.state/{key}")
        path = self.root / "public.state" / key
        return path.read_bytes() if path.is_file() else None

    def write(self, key: str, data: bytes) -> None:
        if self.kind == "s3":
            self.s3_server.client().put_object(
                Bucket=self.bucket, Key=f"net.state/{key}", Body=data
            )
        else:
            (self.root / "public.state" / key).write_bytes(data)


@pytest.fixture(params=["s3", "folder"])
def store(request, sample: Path, s3_server) -> Store:
    bucket = request.getfixturevalue("bucket") if request.param == "s3" else None
    return Store(request.param, sample, s3_server, bucket)


def test_a_lower_generation_never_replaces_a_kept_one(store: Store):
    episode = store.root / ROW1
    assert store.publish(ROW1).exit_code == 0  # generation 1
    edit(episode, NOTES[0], NOTES[1])
    assert store.publish(ROW1).exit_code == 0  # generation 2
    kept = {n: store.read(history_key(n)) for n in (1, 2)}
    assert all(kept.values())

    current = json.loads(store.read("manifest.json"))
    assert current["generation"] == 2
    store.write("manifest.json", json.dumps({**current, "generation": 1}).encode())  # a backup
    edit(episode, NOTES[1], NOTES[2])
    again = store.publish(ROW1)
    assert again.exit_code == 0, again.output

    assert {n: store.read(history_key(n)) for n in (1, 2)} == kept  # not one byte replaced
    written = json.loads(store.read("manifest.json"))
    assert written["generation"] == 3  # above every kept generation
    assert store.read(history_key(3)) == store.read("manifest.json")
    assert NOTES[2] in json.dumps(written, ensure_ascii=False)


@pytest.mark.parametrize("kind", ["s3", "folder"])
def test_a_history_copy_is_created_never_replaced(
    kind: str, tmp_path: Path, s3_server, request
):
    """The store's own refusal: a history key that exists is not written over, even when the
    listing that numbered the generation did not show it yet (another writer created it)."""
    if kind == "s3":
        state = S3Storage(request.getfixturevalue("bucket"), "net.state")
    else:
        state = LocalStorage(tmp_path / "net.state", state_folder=tmp_path / "net.state")
    first = write_generation(state, Manifest())
    assert first.generation == 1
    theirs = b'{"episodes": {}, "generation": 2, "version": 3}\n'
    real_list = state.list

    def listed_before_they_wrote(prefix):  # the listing of before their copy existed
        return [item for item in real_list(prefix) if item.key != history_key(2)]

    state.put_bytes(history_key(2), theirs, content_type="application/json", cache_control="x")
    state.list = listed_before_they_wrote
    written = write_generation(state, first)  # numbered again above the copy they kept
    assert state.get(history_key(2))[0] == theirs
    assert written.generation == 3 and state.get(history_key(3))[0] == written.raw


@pytest.mark.parametrize("kind", ["s3", "folder"])
def test_a_taken_history_number_is_not_a_lost_race(kind: str, tmp_path: Path, s3_server, request):
    """The manifest was written when its history number turns out taken: not a conflict to merge
    and retry (no "another publisher" line, no second write of a merged document) — the written
    manifest is numbered again above the taken copy, one note says so, and the one new history
    copy is the manifest as written."""
    if kind == "s3":
        state = S3Storage(request.getfixturevalue("bucket"), "net.state")
    else:
        state = LocalStorage(tmp_path / "net.state", state_folder=tmp_path / "net.state")
    first = write_generation(state, Manifest())
    theirs = b'{"episodes": {}, "generation": 2, "version": 3}\n'
    state.put_bytes(history_key(2), theirs, content_type="application/json", cache_control="x")
    real_list = state.list
    state.list = lambda prefix: [i for i in real_list(prefix) if i.key != history_key(2)]
    said: list[str] = []
    merged: list[Manifest] = []

    def merge(newer: Manifest) -> Manifest:
        merged.append(newer)
        return newer

    written = commit(state, first, merge, said.append)
    state.list = real_list

    assert not merged and not any("another publisher" in line for line in said), said
    assert [line for line in said if history_key(2) in line], said
    assert state.get(history_key(2))[0] == theirs  # never replaced
    stored = state.get("manifest.json")[0]
    assert json.loads(stored)["generation"] == written.generation == 3
    assert state.get(history_key(3))[0] == stored
    assert sorted(generations(state)) == [1, 2, 3]  # exactly one new generation
