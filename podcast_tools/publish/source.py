"""What an upload reads: a file opened once and proven to lie inside a folder, or bytes in memory.

`podcast validate` refuses paths that resolve outside the network folder, but a path is only a
name: between that check and the upload, a transcript can be swapped for a symlink to
``/etc/hostname``. So publishing never uploads *by name*. It opens each file once, then asks the
kernel where the file it opened really is, and reads every byte it hashes and uploads from that
one open handle:

- Linux: ``/proc/self/fd/N`` names the opened file (its real path, symlinks already followed);
- macOS: ``fcntl(F_GETPATH)`` does the same;
- elsewhere: the real path of the name, re-resolved after opening, must be the very file opened
  (same device and inode) — an inode reachable inside the folder at that moment.

Opening by name and checking the opened file (rather than refusing symlinks with ``O_NOFOLLOW``
on each path component) keeps what validation allows: a symlink whose target is inside the
network folder is fine, as it is for ``validate``. The file must be a regular file (never a FIFO,
which would block, or a device); it is opened non-blocking for that reason. Its size and
modification time are read at opening and checked again after the upload: a file changed while
it was being sent is reported, not published half old, half new.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Self

_BLOCK = 1 << 20


class OutsideError(Exception):
    """The opened file is not a regular file inside the folder (message: what it is instead)."""


@dataclass(frozen=True)
class Digest:
    """Hashes of a source's bytes, from one reading: sha256 (our own metadata and keys), the
    MD5 of the whole (a single-part ETag) and of each part of `part_bytes` (a multipart ETag)."""

    size: int
    sha256: str
    md5: str  # hex
    part_bytes: int | None
    part_md5s: tuple[bytes, ...] = ()  # raw digests, one per part (only when part_bytes is set)


class Source:
    """Bytes to upload, read by offset (parts may be read by several threads)."""

    name: str  # for messages: the file as the network shows it, or the object key
    size: int

    def read_at(self, offset: int, length: int) -> bytes:
        raise NotImplementedError

    def check_unchanged(self) -> None:
        """Raise OutsideError if the source changed since it was opened."""

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class BytesSource(Source):
    def __init__(self, data: bytes, name: str):
        self.data, self.name, self.size = data, name, len(data)

    def read_at(self, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]


class FileSource(Source):
    """A regular file opened once; every read goes through its descriptor (os.pread)."""

    def __init__(self, fd: int, name: str, info: os.stat_result, real: str):
        self.fd, self.name, self.real = fd, name, real
        self.size = info.st_size
        self._identity = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)

    def read_at(self, offset: int, length: int) -> bytes:
        chunks, wanted = [], length
        while wanted > 0:
            block = os.pread(self.fd, wanted, offset)
            if not block:
                break
            chunks.append(block)
            offset += len(block)
            wanted -= len(block)
        return b"".join(chunks)

    def check_unchanged(self) -> None:
        info = os.fstat(self.fd)
        if (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns) != self._identity:
            raise OutsideError(
                "changed while it was being published; publish again when it is finished"
            )

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _opened_path(fd: int, name: Path, info: os.stat_result) -> str:
    """Where the file open as `fd` really is (see the module's docstring)."""
    proc = f"/proc/self/fd/{fd}"
    if sys.platform.startswith("linux") and os.path.exists(proc):
        real = os.readlink(proc)
        if real.endswith(" (deleted)") and not os.path.exists(real):
            raise OutsideError("was deleted while it was being opened")
        return real
    getpath = getattr(fcntl, "F_GETPATH", None)
    if getpath is not None:  # macOS
        return os.fsdecode(fcntl.fcntl(fd, getpath, bytes(1024)).rstrip(b"\0"))
    real = os.path.realpath(name)  # elsewhere: the name must still lead to the very file opened
    now = os.stat(real)
    if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
        raise OutsideError("changed while it was being opened")
    return real


def open_inside(path: Path, folder: Path, name: str) -> FileSource:
    """Open `path` and prove that the file opened is a regular file inside `folder`; raise
    OutsideError (saying what it is instead) otherwise. `name` is how messages show it."""
    flags = os.O_RDONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise OutsideError(f"cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OutsideError("is not a regular file any more")
        real = _opened_path(fd, path, info)
        root = os.path.realpath(folder)
        if not _inside(real, root):
            raise OutsideError(f"now resolves to {real}, outside {root}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return FileSource(fd, name, info, real)
    except BaseException:
        os.close(fd)
        raise


def digest(source: Source, part_bytes: int | None = None) -> Digest:
    """Read the source once: sha256, MD5 of the whole, and MD5 of each `part_bytes` part."""
    sha256, whole = hashlib.sha256(), hashlib.md5()
    parts: list[bytes] = []
    part = hashlib.md5() if part_bytes else None
    in_part, offset = 0, 0
    while offset < source.size:
        length = min(_BLOCK, source.size - offset)
        if part_bytes:
            length = min(length, part_bytes - in_part)
        block = source.read_at(offset, length)
        if len(block) != length:
            raise OutsideError(
                f"changed while it was being read (ended after {offset + len(block)} of "
                f"{source.size} bytes); publish again when it is finished"
            )
        sha256.update(block)
        whole.update(block)
        offset += length
        if part is not None:
            part.update(block)
            in_part += length
            if in_part == part_bytes or offset == source.size:
                parts.append(part.digest())
                part, in_part = hashlib.md5(), 0
    return Digest(source.size, sha256.hexdigest(), whole.hexdigest(), part_bytes, tuple(parts))
