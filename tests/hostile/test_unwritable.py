"""A folder that cannot be written — read-only, or on a full disk — ends a command in one line
naming the path and the system's reason, with exit code 3 and nothing half-written; a cache that
cannot be written is worked around (issue 20, item 12). Before: a traceback
(`OSError: [Errno 30] Read-only file system`).

Real file systems, no fakes: the command runs in a private mount namespace of its own (`unshare`)
where the folder is bind-mounted read-only (EROFS) or covered by a small tmpfs filled to the last
byte (ENOSPC); the mounts vanish with the command. Where no namespace can be made, a read-only
folder is one without write permission (EACCES; not for root, whom permissions do not stop) and
the full-disk cases are skipped.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from podcast_tools.tags import read_tags
from tests.conftest import REPO, edit

EPISODE = "episodes/itsmwp-anz/002-itil4-in-nz-government.md"  # MP3 + M4A + Opus, chapters
NOTES = "episodes/itsmwp/001-incident-vs-problem.md"
REASONS = {"read-only": ("Read-only file system", "Permission denied"), "full": ("No space left",)}


@functools.cache
def namespace() -> tuple[str, ...] | None:
    """The `unshare` command that runs a program in a mount namespace of its own where it may
    mount (as root; else in a user namespace mapping this user to root), or None."""
    unshare = shutil.which("unshare")
    if unshare is None or not sys.platform.startswith("linux"):
        return None
    private = ("--mount", "--propagation", "private")
    with tempfile.TemporaryDirectory() as folder:
        for prefix in ((unshare, *private), (unshare, "--user", "--map-root-user", *private)):
            probe = subprocess.run(
                [*prefix, "sh", "-c", 'mount -t tmpfs -o size=4k tmpfs "$1"', "sh", folder],
                capture_output=True,
                check=False,
            )
            if probe.returncode == 0:
                return prefix
    return None


def run(
    root: Path, *args: str, read_only: tuple[Path, ...] = (), full: tuple[Path, ...] = (), **env
) -> subprocess.CompletedProcess:
    """`podcast --root ROOT ARGS…` in a subprocess that sees `read_only` folders read-only and
    `full` folders on a full file system (each an existing folder)."""
    command = [sys.executable, "-m", "podcast_tools", "--root", str(root), *args]
    mounts = []
    for folder in read_only:
        where = shlex.quote(str(folder))
        mounts.append(f"mount --bind {where} {where} && mount -o remount,ro,bind {where} {where}")
    for folder in full:
        where = shlex.quote(str(folder))
        mounts.append(
            f"mount -t tmpfs -o size=64k tmpfs {where} && "
            f"{{ head -c 1048576 /dev/zero > {where}/.filler 2>/dev/null; true; }}"
        )
    denied = []
    if mounts:
        prefix = namespace()
        if prefix is not None:
            command = [*prefix, "sh", "-c", " && ".join(mounts) + ' && exec "$@"', "sh", *command]
        elif full:
            pytest.skip("a full file system needs a mount namespace (unshare), unavailable here")
        elif os.geteuid() == 0:
            pytest.skip("as root, without a mount namespace, no folder is read-only")
        else:
            denied = list(read_only)
    for folder in denied:
        folder.chmod(0o555)
    try:
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
            cwd=REPO,
            timeout=600,
            check=False,
        )
    finally:
        for folder in denied:
            folder.chmod(0o755)


def errors(done: subprocess.CompletedProcess) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.strip() and not _said(line)]


def _said(line: str) -> bool:
    """A line a run says on its way (not an error)."""
    return line.startswith(("note:", "mastering ", "re-tagging ", "uploading ", "feed ", "website"))


def leftovers(folder: Path) -> list[str]:
    """Temp files a write left behind (`fsutil.atomic_path`'s `.<name>.<random>.tmp…`)."""
    return [str(p) for p in folder.rglob(".*.tmp*")]


COMMANDS = {
    "feed": ("feed",),
    "notes": ("notes", NOTES),
    "process": ("process", NOTES),
    "site": ("site",),
}


@pytest.mark.slow
@pytest.mark.parametrize("inside", [False, True], ids=["the-folder", "a-folder-in-it"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_out_on_a_read_only_folder_is_one_line(sample: Path, tmp_path: Path, command, inside):
    locked = tmp_path / "locked"
    locked.mkdir()
    out = locked / "out" if inside else locked
    args = [str(sample / a) if a.startswith("episodes/") else a for a in COMMANDS[command]]
    done = run(sample, *args, "--out", str(out), read_only=(locked,))
    assert "Traceback" not in done.stderr, done.stderr
    [line] = errors(done)
    assert line.startswith(f"cannot write {out}"), line
    assert line.endswith(REASONS["read-only"]), line
    assert done.returncode == 3, done.stderr
    assert not any(locked.iterdir())
    assert not leftovers(sample)


@pytest.fixture
def published(sample: Path, tmp_path: Path):
    """The sample's EPISODE published to a folder store, its build gone (a CI runner): a title
    fix is then re-tagged from the published files, fetched into build/.cache."""
    store, state = tmp_path / "public", tmp_path / "public.state"
    where = ("--storage", f"file://{store}", "--state", f"file://{state}")
    first = run(sample, "publish", str(sample / EPISODE), *where)
    assert first.returncode == 0, first.stderr
    shutil.rmtree(sample / "build" / "itsmwp-anz")

    def retag(fix: str, **mounts) -> subprocess.CompletedProcess:
        edit(sample / EPISODE, "\ntitle: ", f"\ntitle: {fix} ")
        return run(sample, "publish", str(sample / EPISODE), *where, **mounts)

    return sample, state, retag


def published_title(state: Path) -> str:
    """The title in the ID3 tag of the MP3 the manifest names (the store beside the state)."""
    [entry] = json.loads((state / "manifest.json").read_text())["episodes"].values()
    mp3 = next(a["key"] for a in entry["audio"] if a["key"].endswith(".mp3"))
    return read_tags(state.parent / "public" / mp3).fields["title"]


def retagged_with_a_note(done: subprocess.CompletedProcess, reasons: tuple[str, ...]) -> None:
    """The run re-tagged EPISODE from storage, saying once that build/.cache could not be used."""
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and not errors(done), done.stderr
    assert f"re-tagging {EPISODE} (audio unchanged): fetching its published files" in done.stderr
    [note] = [line for line in done.stderr.splitlines() if "build/.cache" in line]
    assert note.startswith("note: cannot write build/.cache/retag ("), note
    assert any(reason in note for reason in reasons), note


def test_retag_from_storage_with_build_cache_read_only(published):
    sample, state, retag = published
    cache = sample / "build" / ".cache"
    before = sorted(p.relative_to(cache) for p in cache.rglob("*"))
    retagged_with_a_note(retag("Fixed —", read_only=(cache,)), REASONS["read-only"])
    assert published_title(state).startswith("Fixed — ")
    assert sorted(p.relative_to(cache) for p in cache.rglob("*")) == before
    assert sorted(p.name for p in (sample / "build").iterdir()) == [".cache"]  # scratch removed


def test_retag_from_storage_with_build_cache_full(published):
    sample, state, retag = published
    build = sample / "build"
    retagged_with_a_note(retag("Fixed —", full=(build / ".cache",)), REASONS["full"])
    assert published_title(state).startswith("Fixed — ")
    assert sorted(p.name for p in build.iterdir()) == [".cache"]

    # all of build/ full: one line naming where, and nothing published
    manifest = (state / "manifest.json").read_bytes()
    done = retag("Fixed again —", full=(build,))
    assert "Traceback" not in done.stderr, done.stderr
    [line] = errors(done)
    assert line.startswith(f"cannot write {build}/"), line
    assert line.endswith("No space left on device"), line
    assert done.returncode == 3, done.stderr
    assert (state / "manifest.json").read_bytes() == manifest
    assert published_title(state).startswith("Fixed — ")
    assert not leftovers(sample)


@pytest.mark.slow
def test_retag_from_storage_names_a_read_error_as_one(sample: Path, monkeypatch):
    """A stored file that cannot be read (EIO on the folder store's disk: a fault injected, no
    disk fails on demand) is the store's error, naming the object — not "cannot write" the
    scratch folder, and no fallback to a temp folder."""
    from podcast_tools.publish.storage import LocalStorage
    from tests.hostile.helpers import podcast

    assert podcast(sample, "publish", EPISODE).exit_code == 0
    shutil.rmtree(sample / "build" / "itsmwp-anz")
    edit(sample / EPISODE, "\ntitle: ", "\ntitle: Fixed — ")
    real_get = LocalStorage.get

    def failing_get(self, key):
        if key.startswith("itsmwp-anz/") and key.endswith(".mp3"):
            raise OSError(errno.EIO, "Input/output error", str(self._path(key)))
        return real_get(self, key)

    monkeypatch.setattr(LocalStorage, "get", failing_get)
    done = podcast(sample, "publish", EPISODE)
    assert done.exit_code == 3, done.output
    assert "Traceback" not in done.stderr and "cannot write" not in done.stderr, done.stderr
    [line] = [
        l for l in done.stderr.splitlines() if l.strip() and not _said(l) and "fetching" not in l
    ]
    assert line.startswith(f"file://{sample}/public/itsmwp-anz/"), line
    assert ".mp3: cannot read" in line and line.endswith("Input/output error"), line
