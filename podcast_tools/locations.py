"""Storage URLs: the one parser of ``s3://bucket/prefix`` and ``file://dir``, for validation
(network.toml) and for every command that publishes.

A URL names a `Place`; how its scheme's places are written, compared and put beside each other is
that scheme's `Syntax` (`SCHEMES`): a bucket and key prefix, or a folder on this machine. The
backends that store objects there (`podcast_tools.publish.storage.BACKENDS`) are registered by the
same scheme names. Whether the URL's text is fit to be read at all (no spaces or control
characters where they do not belong) is the caller's check before this one.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

#: What every message that refuses a storage URL advises.
USE = "use s3://bucket/prefix or file://dir"


class StorageURLError(ValueError):
    """A text that names no storage location; ``str()`` is ``"<url>: <reason>"``. `missing`:
    what the URL lacks when it names no place at all ("scheme", "bucket", "directory"), else
    None (the place it names is not one we can use)."""

    def __init__(self, url: str, reason: str, *, missing: str | None = None):
        super().__init__(f"{url}: {reason}")
        self.url, self.reason, self.missing = url, reason, missing


@dataclass(frozen=True)
class Place:
    """A storage location: an S3 bucket and prefix, or an absolute folder."""

    kind: str  # the URL's scheme: a key of SCHEMES
    bucket: str  # "" for a folder
    path: str  # the prefix without surrounding slashes (s3), or the absolute folder

    @property
    def syntax(self) -> Syntax:
        return SCHEMES[self.kind]

    @property
    def url(self) -> str:
        return self.syntax.url(self)

    def contains(self, other: Place) -> bool:
        """`other` is this location or lies inside it."""
        if (self.kind, self.bucket) != (other.kind, other.bucket):
            return False
        return self.syntax.within(other.path, self.path)

    def relative(self, other: Place) -> str | None:
        """Where `other` lies seen from this place (a relative path), or None when no path leads
        there (another kind of store, another bucket)."""
        if (self.kind, self.bucket) != (other.kind, other.bucket):
            return None
        return self.syntax.relative(other.path, self.path)

    def beside(self, suffix: str) -> Place | None:
        """The place beside this one with `suffix` appended to its name, or None when there is
        none (a whole bucket, the root folder)."""
        return self.syntax.beside(self, suffix)


class Syntax:
    """How one kind of storage URL names places."""

    #: the place is a folder on this machine (it must stay apart from the network's folders)
    local: bool = False
    #: what a place with nothing beside it is, and what to set instead (for messages)
    whole: str
    state_example: str

    def parse(self, url: str, parts: SplitResult, root: Path) -> Place:
        raise NotImplementedError

    def url(self, place: Place) -> str:
        raise NotImplementedError

    def within(self, path: str, folder: str) -> bool:
        raise NotImplementedError

    def relative(self, path: str, start: str) -> str:
        raise NotImplementedError

    def beside(self, place: Place, suffix: str) -> Place | None:
        raise NotImplementedError

    def nothing_beside(self, what: str, advice: str) -> str:
        """Why there is no default state place beside `what`."""
        raise NotImplementedError


class BucketSyntax(Syntax):
    """``s3://bucket/prefix``: a bucket and a key prefix (any S3-compatible store)."""

    state_example = 'set state = "s3://OTHER-BUCKET/prefix"'

    def __init__(self, scheme: str):
        self.scheme = scheme

    def parse(self, url: str, parts: SplitResult, root: Path) -> Place:
        if not parts.netloc:
            raise StorageURLError(url, f"not a storage URL; {USE}", missing="bucket")
        prefix = parts.path.strip("/")
        problem = bucket_problem(parts.netloc) or prefix_problem(prefix)
        if problem:
            raise StorageURLError(url, problem)
        return Place(self.scheme, parts.netloc, prefix)

    def url(self, place: Place) -> str:
        return f"{place.kind}://{place.bucket}/{place.path}".rstrip("/")

    def within(self, path: str, folder: str) -> bool:
        return not folder or path == folder or path.startswith(folder + "/")

    def relative(self, path: str, start: str) -> str:
        return posixpath.relpath(path or ".", start or ".")

    def beside(self, place: Place, suffix: str) -> Place | None:
        return Place(place.kind, place.bucket, place.path + suffix) if place.path else None

    def nothing_beside(self, what: str, advice: str) -> str:
        return (
            f"{what} a whole bucket, which listeners read entirely, so nothing beside it is "
            f"private; {advice} (a place listeners cannot read) for the manifest"
        )


class FolderSyntax(Syntax):
    """``file://dir``: a folder on this machine (a relative dir is relative to the network)."""

    local = True
    state_example = 'set state = "file:///another/folder"'

    def __init__(self, scheme: str):
        self.scheme = scheme

    def parse(self, url: str, parts: SplitResult, root: Path) -> Place:
        if not (parts.netloc or parts.path):
            raise StorageURLError(url, f"not a storage URL; {USE}", missing="directory")
        relative = parts.netloc + parts.path
        folder = Path(relative) if relative.startswith("/") else Path(root) / relative
        return Place(self.scheme, "", str(Path(os.path.normpath(os.path.abspath(folder)))))

    def url(self, place: Place) -> str:
        return f"{place.kind}://{place.path}"

    def within(self, path: str, folder: str) -> bool:
        mine, theirs = os.path.realpath(folder), os.path.realpath(path)
        return theirs == mine or theirs.startswith(mine.rstrip("/") + "/")

    def relative(self, path: str, start: str) -> str:
        return os.path.relpath(path, start)

    def beside(self, place: Place, suffix: str) -> Place | None:
        folder = Path(os.path.normpath(os.path.abspath(place.path)))
        if folder.parent == folder:
            return None  # the file system's root has nothing beside it
        return Place(place.kind, "", str(folder.with_name(folder.name + suffix)))

    def nothing_beside(self, what: str, advice: str) -> str:
        return f"{what} the root folder, with nothing beside it; {advice}"


#: Every scheme a storage URL may have, and how its places are written.
SCHEMES: dict[str, Syntax] = {"s3": BucketSyntax("s3"), "file": FolderSyntax("file")}


def parse_storage_url(url: str, root: Path) -> Place:
    """The location ``s3://bucket/prefix`` or ``file://dir`` names (a relative ``file://`` dir
    is relative to the network root): the one parser of storage URLs, for validation, every
    command and ``open_storage``. StorageURLError for anything else.

    >>> parse_storage_url("s3://media/net/", Path("/n"))
    Place(kind='s3', bucket='media', path='net')
    >>> parse_storage_url("file://public", Path("/n")).path, file_url_folder("file:///srv/x/", Path("/n"))
    ('/n/public', '/srv/x')
    >>> parse_storage_url("ftp://x", Path("/n"))
    Traceback (most recent call last):
    ...
    podcast_tools.locations.StorageURLError: ftp://x: not a storage URL; use s3://bucket/prefix or file://dir
    """
    parts = urlsplit(url)
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise StorageURLError(url, f"a storage URL has no ? or # part; {USE}")
    syntax = SCHEMES.get(parts.scheme)
    if syntax is None:
        raise StorageURLError(url, f"not a storage URL; {USE}", missing="scheme")
    return syntax.parse(url, parts, root)


def file_url_folder(url: str, root: Path) -> str | None:
    """The absolute folder a URL names when it names a folder on this machine (normalised, with
    symlinks kept); None for any other URL or no storage URL at all."""
    try:
        place = parse_storage_url(url, root)
    except StorageURLError:
        return None
    return place.path if place.syntax.local else None


_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_LEGACY_BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")


def bucket_problem(bucket: str) -> str | None:
    """Why `bucket` cannot be an S3 bucket's name, or None.

    >>> bucket_problem("media-bucket") is None
    True
    >>> bucket_problem("bad bucket")
    '"bad bucket" is not a bucket name: 3–63 lowercase letters, digits, dots and hyphens, beginning and ending with a letter or digit'
    """
    if _BUCKET.match(bucket) or (_LEGACY_BUCKET.match(bucket) and ".." not in bucket):
        return None  # (older buckets may have capitals and underscores; some stores keep them)
    shown = bucket if len(bucket) <= 70 else bucket[:67] + "…"
    return (
        f'"{shown}" is not a bucket name: 3–63 lowercase letters, digits, dots and hyphens, '
        "beginning and ending with a letter or digit"
    )


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` (without its surrounding slashes) cannot be a key prefix of ours, or None.

    >>> prefix_problem("net/itsm") is None
    True
    >>> print(prefix_problem("p*"))
    the prefix "p*" holds a * or ?, which a bucket policy reads as a wildcard (its public-read grant could reach other keys, the state's among them)
    """
    if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
        return f'the prefix "{prefix}" has an empty, "." or ".." part'
    if any(ord(c) < 0x20 or c in '\\"{}^`' for c in prefix):
        return f"the prefix {prefix!r} holds characters keys should not"
    if "*" in prefix or "?" in prefix:
        # a bucket policy's Resource reads them as wildcards: "media/p*/*" would match the state
        return (
            f'the prefix "{prefix}" holds a * or ?, which a bucket policy reads as a wildcard '
            "(its public-read grant could reach other keys, the state's among them)"
        )
    return None
