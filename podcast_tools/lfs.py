"""Git LFS pointers: what a checkout without `git lfs pull` holds in place of a master or a jingle.

A well-formed pointer (the Git LFS specification, v1: `version`, then `oid sha256:<64 hex>` and
`size <bytes>`, one `key value` line each, keys in order) stands for its content: the sha256 it
names is the content's, so an episode's fingerprint can be worked out without the audio. What
needs the audio itself (mastering, recognition) asks for the file with the one command that
fetches it, `git lfs pull --include <pattern>` (`pull_command`).

`git lfs pull --include` takes gitignore-style patterns separated by commas (git-lfs splits the
argument at every comma and trims the spaces around each part, with no escape for either), in
which `*`, `?`, `[` and `\\` are special: `include_pattern` escapes those with a backslash and
refuses a path that no pattern can name exactly (a comma, a control character, spaces at either
end).
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from podcast_tools.errors import Problem

#: The first bytes of any Git LFS pointer file (what tells one from audio).
POINTER_START = b"version https://git-lfs.github.com/spec/"
#: The one version of the pointer format there is.
POINTER_VERSION = "https://git-lfs.github.com/spec/v1"
#: git-lfs reads no pointer larger than this (its own limit).
MAX_POINTER_BYTES = 1024

_KEY = re.compile(r"^[a-z0-9.-]+$")
_OID = re.compile(r"^sha256:[0-9a-f]{64}$")
_SIZE = re.compile(r"^(0|[1-9][0-9]{0,18})$")
#: Characters no `--include` pattern can hold: git-lfs splits at commas; controls and line
#: breaks do not survive a command line or a CI variable.
_INEXPRESSIBLE = re.compile(r"[,\x00-\x1f\x7f]")
_SPECIAL = re.compile(r"([\\*?\[])")


@dataclass(frozen=True)
class Pointer:
    """What a Git LFS pointer says of the content it stands for."""

    sha256: str  # hex, lowercase
    size: int  # bytes


class PointerError(ValueError):
    """A file that starts like a Git LFS pointer but is not a well-formed one (the reason)."""


def parse_pointer(data: bytes) -> Pointer:
    """The pointer `data` holds; PointerError saying what is wrong when it is not well formed.

    >>> parse_pointer(b"version https://git-lfs.github.com/spec/v1\\n"
    ...               b"oid sha256:" + b"a" * 64 + b"\\nsize 12\\n").size
    12
    """
    if len(data) > MAX_POINTER_BYTES:
        raise PointerError(f"is {len(data)} bytes; a pointer has at most {MAX_POINTER_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PointerError("is not UTF-8 text") from None
    if not text.endswith("\n"):
        raise PointerError("does not end with a line break")
    fields: dict[str, str] = {}
    keys: list[str] = []
    for number, line in enumerate(text[:-1].split("\n"), 1):
        key, space, value = line.partition(" ")
        if not space or not _KEY.match(key) or not value or "\r" in value:
            raise PointerError(f'line {number} is not "key value"')
        if key in fields:
            raise PointerError(f'names "{key}" twice')
        fields[key] = value
        keys.append(key)
    if keys[0] != "version" or fields["version"] != POINTER_VERSION:
        raise PointerError(f"does not start with version {POINTER_VERSION}")
    if keys[1:] != sorted(keys[1:]):
        raise PointerError("lists its keys out of order")
    for key in ("oid", "size"):
        if key not in fields:
            raise PointerError(f'has no "{key}" line')
    if not _OID.match(fields["oid"]):
        raise PointerError("oid is not sha256:<64 lowercase hex digits>")
    if not _SIZE.match(fields["size"]):
        raise PointerError("size is not a number of bytes")
    return Pointer(fields["oid"].removeprefix("sha256:"), int(fields["size"]))


def read_pointer(path: Path) -> Pointer | None:
    """The pointer the file at `path` is, None when it is not one (its content is there);
    PointerError when it starts like a pointer but is malformed. One stat for a real master."""
    stat = os.stat(path)
    if stat.st_size > MAX_POINTER_BYTES:
        return None
    return _read_pointer(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=4096)
def _read_pointer(path: str, size: int, mtime_ns: int, inode: int) -> Pointer | None:
    with open(path, "rb") as handle:
        data = handle.read(MAX_POINTER_BYTES + 1)
    if not data.startswith(POINTER_START):
        return None
    return parse_pointer(data)


def is_pointer(path: Path) -> bool:
    """True when `path` is a Git LFS pointer file (well formed or not), not its content."""
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_POINTER_BYTES:
                return False
            return handle.read(len(POINTER_START)) == POINTER_START
    except OSError:
        return False


def include_pattern(relative: str) -> str:
    """The `git lfs pull --include` pattern that names exactly the file at `relative` (a POSIX
    path from the repository's root); ValueError saying why when no pattern can.

    >>> include_pattern("episodes/a show/x[1].wav")
    'episodes/a show/x\\\\[1].wav'
    """
    bad = _INEXPRESSIBLE.search(relative)
    if bad:
        what = "a comma" if bad.group() == "," else f"the control character {bad.group()!r}"
        raise ValueError(
            f"its name holds {what}, which `git lfs pull --include` cannot express (it splits "
            "patterns at commas); rename the file"
        )
    if relative != relative.strip():
        raise ValueError(
            "its path starts or ends with a space, which `git lfs pull --include` drops; "
            "rename the file"
        )
    pattern = _SPECIAL.sub(r"\\\1", relative)
    if pattern[0] in "!#":  # gitignore's negation and comment
        pattern = "\\" + pattern
    return pattern


def include_argument(relatives: Iterable[str]) -> str:
    """One argument for `git lfs pull --include`: each path's pattern, comma-separated ("" for
    none); ValueError naming the path no pattern can express."""
    patterns = []
    for relative in relatives:
        try:
            patterns.append(include_pattern(relative))
        except ValueError as exc:
            raise ValueError(f"{relative}: {exc}") from None
    return ",".join(patterns)


def pull_command(relatives: Iterable[str]) -> str:
    """`git lfs pull --include "<patterns>"`, quoted for a POSIX shell."""
    argument = include_argument(relatives)
    quoted = f'"{argument}"' if not re.search(r'["$`\\!]', argument) else shlex.quote(argument)
    return f"git lfs pull --include {quoted}"


def relative_posix(path: Path, root: Path) -> str:
    """Where the file at `path` is, as a POSIX path from `root` (symlinks followed: a link's
    target is the file Git LFS fetches)."""
    return Path(os.path.relpath(Path(path).resolve(), Path(root).resolve())).as_posix()


def pointer_problems(
    paths: Iterable[Path], root: Path, display: Callable[[Path], str]
) -> list[Problem]:
    """One problem per file among `paths` that is a Git LFS pointer while the run needs its
    audio, each naming the command that fetches it (or why no command can)."""
    problems = []
    for path in dict.fromkeys(paths):
        if not is_pointer(path):
            continue
        relative = relative_posix(path, root)
        try:
            remedy = pull_command([relative])
        except ValueError as exc:
            remedy = f"fetch it by hand ({exc})"
        problems.append(
            Problem(
                display(path), "", f"a Git LFS pointer, not the audio; this run needs it: {remedy}"
            )
        )
    return problems
