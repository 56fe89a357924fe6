"""File writing that never leaves a half-written file: write a temp file beside, then rename.

A folder that cannot be written (read-only, a full disk, a file in the way) raises `WriteError`:
one line naming the path and the system's reason."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from podcast_tools.errors import WriteError

#: errors only a write gives: met while the block fills the temp file, they are the write's
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


def make_folder(folder: Path) -> None:
    """`folder` and its parents, or WriteError naming the one that cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError.of(exc, folder) from None


@contextmanager
def atomic_path(target: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path beside `target`; rename it onto `target` only if the block succeeds."""
    make_folder(target.parent)
    try:
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=suffix or f".tmp{target.suffix}", dir=target.parent
        )
    except OSError as exc:
        raise WriteError(target, exc) from None
    os.close(fd)
    temp = Path(name)
    try:
        try:
            yield temp
        except WriteError:
            raise
        except OSError as exc:  # writing the temp file: named as what it was to become
            if exc.errno in WRITE_ERRNOS and exc.filename in (None, name):
                raise WriteError(target, exc) from None
            raise
        try:
            os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; published files are readable
            os.replace(temp, target)
        except OSError as exc:
            raise WriteError(target, exc) from None
    finally:
        temp.unlink(missing_ok=True)


def write_bytes_atomic(target: Path, data: bytes) -> None:
    with atomic_path(target) as temp:
        temp.write_bytes(data)


def read_bytes_if_file(path: Path) -> bytes | None:
    """The bytes of the file at `path`, None when there is none (or it is not a file)."""
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def write_text_atomic(target: Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def copy_file_atomic(source: Path, target: Path) -> None:
    """Copy a file (a recording can be gigabytes) so that `target` is whole or absent."""
    with atomic_path(target) as temp:
        shutil.copyfile(source, temp)
