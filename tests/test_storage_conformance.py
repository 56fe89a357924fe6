"""The contract every storage backend keeps — what the publisher relies on — run on each backend
in the registry (`podcast_tools.publish.storage.BACKENDS`): the local folder and S3 (on the
session's SeaweedFS). A new backend is one class and one registry entry, plus one line in
`OPENERS` below; `test_the_suite_runs_every_registered_backend` fails until it is there.

Only one fake: a source that fails mid-stream (the real server cannot be made to drop an upload
on demand), to show that a failed write leaves no partial object.
"""

from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path

import pytest

from podcast_tools.publish.source import BytesSource, digest
from podcast_tools.publish.storage import (
    BACKENDS,
    STATE_SUFFIX,
    PreconditionFailed,
    S3Storage,
    Storage,
    StorageError,
    backend_for,
    open_storage,
    parse_storage_url,
)

PACKAGE = Path(__file__).resolve().parents[1] / "podcast_tools"
PUT = {"content_type": "application/json", "cache_control": "no-cache"}
MIB = 1024 * 1024
#: The smallest part SeaweedFS (like S3) accepts but the last (EntityTooSmall below it).
SMALLEST_PART = 5 * MIB


def _folder(request, tmp_path: Path) -> Storage:
    return open_storage(f"file://{tmp_path / 'store'}", tmp_path)


def _s3(request, tmp_path: Path) -> Storage:
    bucket = request.getfixturevalue("bucket")
    return open_storage(f"s3://{bucket}/net", tmp_path)


#: How the suite opens a fresh, empty store of each backend (by its URL scheme).
OPENERS = {"file": _folder, "s3": _s3}


@pytest.fixture(
    params=[
        pytest.param("file", id="folder"),
        pytest.param("s3", id="s3", marks=pytest.mark.slow),  # the SeaweedFS server
    ]
)
def store(request, tmp_path: Path) -> Storage:
    return OPENERS[request.param](request, tmp_path)


def test_the_suite_runs_every_registered_backend():
    assert set(OPENERS) == set(BACKENDS)
    for scheme, backend in BACKENDS.items():
        assert backend.scheme == scheme
        assert issubclass(backend, Storage)


#: A branch on one backend: a comparison with a scheme's name, a table looked up by a place's
#: kind (but the two registries), an isinstance of a backend class. Backends differ by their
#: capabilities and methods.
SCHEMES = {"s3", "file"}
BACKEND_CLASSES = {"LocalStorage", "S3Storage"}
REGISTRIES = {"SCHEMES", "BACKENDS"}


STORE_WORDS = ("storage", "state", "place", "where", "store", "location")


def _backend_branches() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                hit = any(isinstance(o, ast.Constant) and o.value in SCHEMES for o in operands)
            elif isinstance(node, ast.Subscript):
                hit = isinstance(node.slice, ast.Attribute) and node.slice.attr == "kind"
                hit = hit and getattr(node.value, "id", None) not in REGISTRIES
                # the kind of a store, a place or a location (not e.g. an artifact's kind)
                hit = hit and any(w in ast.unparse(node.slice.value) for w in STORE_WORDS)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
                hit = any(getattr(n, "id", None) in BACKEND_CLASSES for n in ast.walk(node))
            else:
                hit = False
            if hit:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_no_code_branches_on_which_backend_it_holds():
    """Main had 18 such branches (storage 4, state 9, public 2, models 2, layout 1)."""
    assert _backend_branches() == []


# --- the contract -------------------------------------------------------------------------------


def test_a_store_is_opened_at_its_url_and_keeps_its_state_beside(store: Storage, tmp_path: Path):
    place = parse_storage_url(store.description, tmp_path)
    assert type(store) is backend_for(place)
    assert backend_for(place).at(place).description == store.description == place.url
    state = store.default_state()
    assert type(state) is type(store)
    assert state.description == place.beside(STATE_SUFFIX).url


def test_bytes_and_their_metadata_round_trip(store: Storage):
    data = b'{"episodes": []}'
    etag = store.put_bytes("net/doc.json", data, **PUT)
    assert store.get("net/doc.json") == (data, etag)
    info = store.head("net/doc.json")
    assert (info.size, info.content_type, info.cache_control) == (len(data), *PUT.values())
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert store.recorded_sha256("net/doc.json") == info.sha256
    expected = f'"{hashlib.md5(data).hexdigest()}"' if store.capabilities.etag_is_md5 else None
    assert etag == (expected or hashlib.sha256(data).hexdigest())


def test_a_file_upload_records_its_sha256_and_the_etag_the_store_promises(
    store: Storage, tmp_path: Path
):
    data = os.urandom(200_000)
    source = BytesSource(data, "ep.mp3")
    hashed = digest(source, store.part_bytes)
    etag = store.put_file(
        "show/ep.mp3", source, digest=hashed, content_type="audio/mpeg", cache_control="max-age=1"
    )
    assert etag == store.expected_etag(hashed)
    assert etag == (f'"{hashed.md5}"' if store.capabilities.etag_is_md5 else hashed.sha256)
    info = store.head("show/ep.mp3")
    assert (info.size, info.sha256) == (len(data), hashed.sha256)
    assert (info.content_type, info.cache_control) == ("audio/mpeg", "max-age=1")
    assert store.download("show/ep.mp3", tmp_path / "back") is True
    assert (tmp_path / "back").read_bytes() == data
    assert store.download("show/absent.mp3", tmp_path / "none") is False


def test_what_is_absent_reads_as_none_and_deletes_quietly(store: Storage):
    assert store.get("nothing.json") is None
    assert store.head("nothing.json") is None
    assert store.recorded_sha256("nothing.json") is None
    store.delete("nothing.json")  # absent is fine
    store.put_bytes("gone.json", b"[]", **PUT)
    store.delete("gone.json")
    assert store.get("gone.json") is None
    assert [listed.key for listed in store.list("")] == []


def test_listing_under_a_prefix(store: Storage, monkeypatch):
    monkeypatch.setattr(S3Storage, "LIST_PAGE_KEYS", 10)  # S3: 25 keys come in three pages
    keys = [f"a/episodes/{n:03d}.json" for n in range(25)] + ["a/feed.xml", "ab/x.json", "b/y"]
    for key in keys:
        store.put_bytes(key, key.encode(), **PUT)
    listed = {item.key: item.size for item in store.list("a/")}
    assert listed == {key: len(key) for key in keys if key.startswith("a/")}
    assert {item.key for item in store.list("a")} == {k for k in keys if k.startswith("a")}
    assert {item.key for item in store.list("")} == set(keys)
    assert store.list("c/") == []


def test_keys_with_spaces_and_unicode(store: Storage):
    key = "show/épisode 1 — “quoted” ☕.json"
    etag = store.put_bytes(key, "ü".encode(), **PUT)
    assert store.get(key) == ("ü".encode(), etag)
    assert [item.key for item in store.list("show/")] == [key]
    store.delete(key)
    assert store.get(key) is None


def test_conditional_writes(store: Storage):
    assert store.capabilities.conditional_writes
    first = store.put_bytes("state.json", b"[1]", if_absent=True, **PUT)
    with pytest.raises(PreconditionFailed):
        store.put_bytes("state.json", b"[2]", if_absent=True, **PUT)
    second = store.put_bytes("state.json", b"[1, 2]", if_match=first, **PUT)
    with pytest.raises(PreconditionFailed):  # written on a version another writer replaced
        store.put_bytes("state.json", b"[1, 3]", if_match=first, **PUT)
    assert store.get("state.json") == (b"[1, 2]", second)


class FailingSource(BytesSource):
    """Bytes whose reading fails once `fail_at` bytes have been read: a disk error, a dropped
    mount — what no real server does on demand."""

    def __init__(self, data: bytes, name: str, fail_at: int):
        super().__init__(data, name)
        self.fail_at = fail_at

    def read_at(self, offset: int, length: int) -> bytes:
        if offset + length > self.fail_at:
            raise OSError(5, "Input/output error")
        return super().read_at(offset, length)


def _put_failing(store: Storage, key: str, data: bytes, fail_at: int) -> None:
    hashed = digest(BytesSource(data, key), store.part_bytes)
    with pytest.raises((OSError, StorageError)):  # the folder names the store, S3 re-raises
        store.put_file(
            key,
            FailingSource(data, key, fail_at),
            digest=hashed,
            content_type="audio/mpeg",
            cache_control="max-age=1",
        )


def test_a_failed_upload_leaves_no_partial_object(store: Storage):
    old = b"the old episode"
    store.put_bytes("show/ep.mp3", old, **PUT)
    _put_failing(store, "show/ep.mp3", os.urandom(3 * MIB), fail_at=2 * MIB)
    _put_failing(store, "show/new.mp3", os.urandom(3 * MIB), fail_at=2 * MIB)
    assert store.get("show/ep.mp3")[0] == old  # the old object whole, not the new one's half
    assert store.head("show/new.mp3") is None
    assert [item.key for item in store.list("")] == ["show/ep.mp3"]


@pytest.fixture
def small_parts(monkeypatch):
    """Multipart from the smallest part the server accepts, not 16 MiB."""
    monkeypatch.setattr(S3Storage, "MULTIPART_BYTES", SMALLEST_PART)


def test_a_big_object_goes_in_parts_when_the_backend_can(store: Storage, small_parts):
    data = os.urandom(SMALLEST_PART + 1000)
    source = BytesSource(data, "big.m4a")
    hashed = digest(source, store.part_bytes)
    etag = store.put_file(
        "big.m4a", source, digest=hashed, content_type="audio/mp4", cache_control="max-age=1"
    )
    assert store.get("big.m4a")[0] == data
    assert etag == store.expected_etag(hashed)
    if store.capabilities.multipart:
        assert store.part_bytes == SMALLEST_PART
        assert etag.strip('"').endswith("-2")
    else:
        assert store.part_bytes is None


def test_a_failed_multipart_upload_leaves_nothing(store: Storage, small_parts):
    _put_failing(store, "big.m4a", os.urandom(2 * SMALLEST_PART + 10), fail_at=SMALLEST_PART + 1)
    assert store.head("big.m4a") is None
    assert store.list("") == []


# --- the folder's own refusals ------------------------------------------------------------------


@pytest.mark.parametrize("key", ["../outside", "/etc/passwd", "a/../../b", "a/./b", "a\\b", ""])
def test_a_folder_refuses_a_key_outside_it(tmp_path: Path, key: str):
    folder = open_storage(f"file://{tmp_path / 'store'}", tmp_path)
    with pytest.raises(StorageError, match="is not a key inside the folder"):
        folder.put_bytes(key, b"x", **PUT)
    assert not (tmp_path / "outside").exists()


def test_a_folder_refuses_a_key_through_a_symlink_leading_out(tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("private")
    store = tmp_path / "store"
    store.mkdir()
    (store / "show").symlink_to(outside)
    folder = open_storage(f"file://{store}", tmp_path)
    for action in (
        lambda: folder.put_bytes("show/new.json", b"x", **PUT),
        lambda: folder.get("show/secret"),
        lambda: folder.head("show/secret"),
        lambda: folder.delete("show/secret"),
    ):
        with pytest.raises(StorageError, match="a symlink leads out of the folder"):
            action()
    assert sorted(p.name for p in outside.iterdir()) == ["secret"]
    assert (outside / "secret").read_text() == "private"
