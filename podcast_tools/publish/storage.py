"""Storage targets with one small interface: S3-compatible object stores and a local folder.

Both support conditional writes (If-Match on an ETag, If-None-Match for "only if absent"), which
is how many publishers coordinate without a lock server of their own. Credentials come only from
boto3's standard chain; they never appear in messages (boto3's own errors carry none either).

Uploads read from a `Source` (an opened file proven to lie inside the network folder, or bytes),
never by name, and prove what the store holds: an S3 upload sends Content-MD5 with every request
(the server refuses a body that does not match) and checks the returned ETag against the MD5 of
the bytes sent — the whole file's, or for a multipart upload the MD5 of the parts' MD5s with
``-<parts>``, as S3 computes it; a folder hashes what it wrote. A GET whose body is cut off is
retried. Every request has a connect and a read timeout and a bounded number of tries, so an
endpoint that never answers fails the run in well under a minute.

Each backend is registered in `BACKENDS` under the scheme of its URLs (parsed by
`podcast_tools.locations`) and says what it can do in its `Capabilities`; callers ask those, never
which backend they hold. `tests/test_storage_conformance.py` runs the contract on every one.

A publish uses two of them: the public one (media and feeds, what `base_url` serves) and the
private state (the manifest), by default beside it (`podcast_tools.publish.state`).
"""

from __future__ import annotations

import base64
import errno
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit

from podcast_tools.content.models import url_text_problem
from podcast_tools.errors import ExitCode, PodcastToolsError, UsageError, WriteError
from podcast_tools.fsutil import atomic_path
from podcast_tools.layout import content_hash, file_hash
from podcast_tools.locations import (
    Place,
    StorageURLError,
    bucket_problem,
    prefix_problem,
)
from podcast_tools.locations import parse_storage_url as parse_place
from podcast_tools.publish.source import Digest, OutsideError, Source

#: Called with the number of bytes sent since the last call.
Progress = Callable[[int], None]

#: The default state location is the storage location with this suffix, beside it.
STATE_SUFFIX = ".state"
#: A temp file untouched this long belongs to a copy that was killed.
STALE_TEMP_S = 3600
#: An incomplete multipart upload older than this (at the start of a run) belongs to a killed run.
STALE_UPLOAD_S = 3600
#: S3 requests: seconds to connect, seconds without a byte of answer, tries (first + retries).
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 12
ATTEMPTS = 3
#: Parts of a multipart upload sent at once.
PARALLEL_PARTS = 4


class SourceChanged(OutsideError):
    """The bytes read for the upload are not the bytes hashed: the file changed meanwhile."""


class StorageError(PodcastToolsError):
    """Storage or network failure (after retries)."""

    exit_code = ExitCode.STORAGE


class PreconditionFailed(StorageError):
    """A conditional write lost: somebody else changed the object first."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    etag: str
    sha256: str | None
    content_type: str | None
    cache_control: str | None
    etag_is_md5: bool = (
        True  # False where the store encrypts with its own keys (AWS SSE-KMS, SSE-C)
    )


@dataclass(frozen=True)
class Listed:
    key: str  # relative to the target's prefix
    size: int
    modified: datetime


def same_etag(a: str | None, b: str | None) -> bool:
    """ETags compare without their quotes and case."""
    return a is not None and b is not None and a.strip('"').lower() == b.strip('"').lower()


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do, where backends differ (the conformance suite checks each)."""

    #: an object's ETag is the MD5 of its bytes (S3's; a multipart one: of its parts' MD5s),
    #: else the sha256 of its bytes
    etag_is_md5: bool
    #: writes "only if absent" (If-None-Match) and "only on this version" (If-Match)
    conditional_writes: bool
    #: large objects go in parts (`part_bytes`)
    multipart: bool
    #: the store keeps its own lock, metadata and temp files, in the private state location
    private_sidecars: bool


class Storage:
    """What publishing needs from a store. Keys are relative to the target's prefix.

    A backend is one subclass, registered in `BACKENDS` under the scheme of its URLs."""

    scheme: ClassVar[str]  # its URLs' scheme (podcast_tools.locations.SCHEMES)
    capabilities: ClassVar[Capabilities]
    #: what its state location holds ("{feed}": a show's feed key), for `check-public`
    state_files: ClassVar[tuple[str, ...]] = ("manifest.json",)
    #: what older versions kept in the public place
    legacy_files: ClassVar[tuple[str, ...]] = ("manifest.json",)
    description: str  # also its canonical URL: s3://bucket/prefix or file:///absolute/dir
    #: the size of a multipart upload's parts (None: the store takes whole files)
    part_bytes: int | None = None
    #: on this machine only (a folder; an S3 server on a loopback address): listeners cannot
    #: reach what is published there, so placeholders may be (podcast_tools.publish.placeholders)
    on_this_machine: bool = False

    @classmethod
    def at(
        cls,
        place: Place,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        state_folder: Path | None = None,
    ) -> Storage:
        """The store at `place` (options a backend has no use for, it ignores)."""
        raise NotImplementedError

    def set_up_public_access(
        self, *, dry_run: bool = False, state: Storage | None = None
    ) -> list[str]:
        """`podcast storage setup`: let listeners and web players on other sites read what is
        published here; the lines to say. A store that cannot set it itself (a folder) says
        what the web server serving it must send (podcast_tools.publish.access)."""
        from podcast_tools.publish import access

        return [access.folder_advice(self.description)]

    def default_state(self) -> Storage:
        """The private state store by the default rule: beside this one."""
        raise UsageError(f"{self.description}: no default state location; pass one")

    def expected_etag(self, digest: Digest) -> str:
        """The ETag the store gives an object holding the bytes of `digest`."""
        raise NotImplementedError

    def head(self, key: str) -> ObjectInfo | None:
        raise NotImplementedError

    def recorded_sha256(self, key: str) -> str | None:
        """The sha256 the store holds for the object (S3: what its metadata records — the
        uploader wrote it — without reading its bytes; a folder: the file's own hash); None when
        there is no object or it records none."""
        found = self.head(key)
        return found.sha256 if found is not None else None

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None when absent."""
        raise NotImplementedError

    def download(self, key: str, dest: Path) -> bool:
        """Write the object to `dest` (False when absent). The caller checks its hash."""
        found = self.get(key)
        if found is None:
            return False
        dest.write_bytes(found[0])
        return True

    def put_bytes(
        self,
        key: str,
        data: bytes,
        *,
        content_type: str,
        cache_control: str,
        if_match: str | None = None,
        if_absent: bool = False,
    ) -> str:
        """Write small objects (manifest, feeds), conditionally; return the new ETag."""
        raise NotImplementedError

    def put_file(
        self,
        key: str,
        source: Source,
        *,
        digest: Digest,
        content_type: str,
        cache_control: str,
        progress: Progress | None = None,
    ) -> str:
        """Upload a media file (multipart when large) with its sha256 in the object's metadata,
        reading from `source`, whose bytes must be those of `digest` (else SourceChanged); return
        the ETag the store gave it, checked against `expected_etag(digest)`."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove an object (absent is fine)."""
        raise NotImplementedError

    def list(self, prefix: str) -> list[Listed]:
        """The objects whose keys start with `prefix`."""
        raise NotImplementedError

    def abort_stale_uploads(self, older_than: datetime) -> list[str]:
        """Remove what uploads begun before `older_than` and never finished left behind (a run
        killed mid-upload); return their keys."""
        return []

    def move_legacy_sidecars(self) -> list[str]:
        """Move private files an older version kept among the public objects to the private
        place; return their names (nothing to do for most stores)."""
        return []


def parse_storage_url(url: str, root: Path) -> Place:
    """The location a storage URL names (`podcast_tools.locations.parse_storage_url`, the one
    parser), its text checked first as network.toml's is. StorageURLError for anything else."""
    problem = url_text_problem(url, space_ok=True)
    if problem:
        raise StorageURLError(url, problem)
    return parse_place(url, root)


def open_storage(
    url: str,
    root: Path,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    state_folder: Path | None = None,
) -> Storage:
    """A Storage for ``s3://bucket/prefix`` or ``file://dir`` (relative to the network root).

    A folder keeps its lock, metadata and temp files in `state_folder` (default: beside it)."""
    try:
        where = parse_storage_url(url, root)
    except StorageURLError as exc:
        raise StorageError(str(exc)) from None
    return backend_for(where).at(
        where, endpoint_url=endpoint_url, region=region, state_folder=state_folder
    )


def folder_beside(folder: Path) -> Path | None:
    """The default state folder of a published folder: ``<folder>.state`` beside it."""
    place = Place(LocalStorage.scheme, "", str(folder)).beside(STATE_SUFFIX)
    return Path(place.path) if place is not None else None  # (the root has nothing beside it)


# --- local folder -------------------------------------------------------------------------------


class LocalStorage(Storage):
    """A folder with the same layout as the bucket (for trying the tool, or static hosting).

    ETags are sha256 hashes of the content; conditional writes hold a lock file while they
    compare and replace. Only the objects themselves lie in the folder — what a web server may
    serve. The lock (``.lock``), the metadata sidecars (``.meta/<key>.json``) and the temp files
    of writes in progress (``.tmp/``, renamed onto the object when whole) live in the private
    folder: ``<state_folder>/objects/`` (``state_folder`` itself for the state's own folder).
    """

    on_this_machine = True

    scheme = "file"
    capabilities = Capabilities(
        etag_is_md5=False, conditional_writes=True, multipart=False, private_sidecars=True
    )
    state_files = (
        "manifest.json",
        ".lock",
        ".meta/manifest.json.json",
        "objects/.lock",  # "objects/" keeps the public folder's sidecars
        "objects/.meta/{feed}.json",
    )
    legacy_files = ("manifest.json", ".lock", ".meta/{feed}.json")

    @classmethod
    def at(cls, place, *, endpoint_url=None, region=None, state_folder=None) -> LocalStorage:
        return cls(Path(place.path), state_folder=state_folder)

    def default_state(self) -> LocalStorage:
        return LocalStorage(self.state_folder, state_folder=self.state_folder)

    def __init__(self, folder: Path, *, state_folder: Path | None = None):
        self.folder = Path(os.path.normpath(os.path.abspath(folder)))
        self.description = f"file://{self.folder}"
        state = state_folder if state_folder is not None else folder_beside(self.folder)
        if state is None:
            raise StorageError(f"{self.description}: has no folder beside it for the state")
        self.state_folder = Path(os.path.normpath(os.path.abspath(state)))
        self.private = (
            self.state_folder if self.state_folder == self.folder else self.state_folder / "objects"
        )
        self._thread_lock = threading.Lock()
        self._swept = False

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or key.startswith("/") or "\\" in key or "\0" in key or {".", ".."} & set(parts):
            raise StorageError(f"{self.description}/{key}: is not a key inside the folder")
        path = self.folder / key
        inside, real = os.path.realpath(self.folder), os.path.realpath(path)
        if not real.startswith(inside.rstrip("/") + "/"):
            raise StorageError(
                f"{self.description}/{key}: is not a key inside the folder (a symlink leads out "
                "of the folder)"
            )
        return path

    def expected_etag(self, digest: Digest) -> str:
        return digest.sha256

    def _meta_path(self, key: str) -> Path:
        return self.private / ".meta" / f"{key}.json"

    @contextmanager
    def _staged(self, key: str):
        """A temp file in the private folder, renamed onto the object's path only when whole:
        listeners never see a partial object, and a killed copy leaves nothing among them."""
        target = self._path(key)
        staging = self.private / ".tmp"
        staging.mkdir(parents=True, exist_ok=True)
        if not self._swept:  # what killed copies left (none a running copy might still write)
            self._swept = True
            stale = time.time() - STALE_TEMP_S
            for old in staging.iterdir():
                with suppress(OSError):
                    if old.stat().st_mtime < stale:
                        old.unlink()
        fd, name = tempfile.mkstemp(prefix=f"{target.name}.", suffix=".tmp", dir=staging)
        os.close(fd)
        temp = Path(name)
        try:
            yield temp
            os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; published files are readable
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(temp, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                raise StorageError(
                    f"{self.description}/{key}: the state folder {self.state_folder} is on another "
                    "file system, so finished files cannot be renamed into place; keep it on the "
                    "same one (the default, beside the folder, is)"
                ) from None
        finally:
            temp.unlink(missing_ok=True)

    def head(self, key: str) -> ObjectInfo | None:
        """The file as it is: its sha256 is its own hash, so verification proves something —
        None when the sidecar records another (the store's record of it is wrong: the next
        publish of its episode uploads it again, which rewrites both)."""
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            meta = (
                json.loads(self._meta_path(key).read_text())
                if self._meta_path(key).is_file()
                else {}
            )
            actual = file_hash(path)
        except (OSError, ValueError) as exc:
            raise StorageError(f"{self.description}/{key}: cannot read ({exc})") from exc
        recorded = meta.get("sha256") if isinstance(meta, dict) else None
        return ObjectInfo(
            size=path.stat().st_size,
            etag=actual,
            sha256=None if isinstance(recorded, str) and recorded != actual else actual,
            content_type=meta.get("content_type") if isinstance(meta, dict) else None,
            cache_control=meta.get("cache_control") if isinstance(meta, dict) else None,
        )

    def recorded_sha256(self, key: str) -> str | None:
        """The file's own hash — what a listener downloads — whatever its sidecar says."""
        path = self._path(key)
        try:
            return file_hash(path) if path.is_file() else None
        except FileNotFoundError:
            return None  # deleted meanwhile
        except OSError as exc:
            raise StorageError(f"{self.description}/{key}: cannot read ({exc.strerror})") from exc

    def get(self, key: str) -> tuple[bytes, str] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None  # deleted meanwhile
        except OSError as exc:  # the store's disk (EACCES, EIO): not a file of ours being written
            raise StorageError(
                f"{self.description}/{key}: cannot read: {exc.strerror or exc}"
            ) from None
        return data, content_hash(data)

    @contextmanager
    def _locked(self):
        try:
            self.private.mkdir(parents=True, exist_ok=True)
            handle = open(self.private / ".lock", "a+")
        except OSError as exc:
            raise StorageError(
                f"{self.description}: cannot use the folder ({exc.strerror})"
            ) from exc
        with self._thread_lock, handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def put_bytes(
        self, key, data, *, content_type, cache_control, if_match=None, if_absent=False
    ) -> str:
        with self._locked():
            current = self.get(key)
            if if_absent and current is not None:
                raise PreconditionFailed(
                    f"{self.description}/{key}: was created by someone else first"
                )
            if if_match is not None and (current is None or current[1] != if_match):
                raise PreconditionFailed(
                    f"{self.description}/{key}: was changed by someone else first"
                )
            etag = content_hash(data)
            try:
                with self._staged(key) as temp:
                    temp.write_bytes(data)
                self._write_meta(key, etag, content_type, cache_control)
            except OSError as exc:
                raise StorageError(
                    f"{self.description}/{key}: cannot write ({exc.strerror})"
                ) from exc
        return etag

    def put_file(self, key, source, *, digest, content_type, cache_control, progress=None) -> str:
        try:
            with self._staged(key) as temp, temp.open("wb") as target:
                written, offset = hashlib.sha256(), 0
                while offset < digest.size:
                    block = source.read_at(offset, min(1 << 20, digest.size - offset))
                    if not block:
                        break
                    target.write(block)
                    written.update(block)
                    offset += len(block)
                    if progress:
                        progress(len(block))
                if offset != digest.size or written.hexdigest() != digest.sha256:
                    raise SourceChanged(
                        "changed while it was being copied; publish again when it is finished"
                    )
                target.flush()
                os.fsync(target.fileno())
            self._write_meta(key, digest.sha256, content_type, cache_control)
        except OSError as exc:
            raise StorageError(f"{self.description}/{key}: cannot write ({exc.strerror})") from exc
        return digest.sha256

    def _write_meta(self, key: str, sha256: str, content_type: str, cache_control: str) -> None:
        meta = {"sha256": sha256, "content_type": content_type, "cache_control": cache_control}
        with atomic_path(self._meta_path(key)) as temp:
            temp.write_text(json.dumps(meta))

    def delete(self, key: str) -> None:
        try:
            with self._locked():
                self._path(key).unlink(missing_ok=True)
                self._meta_path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.description}/{key}: cannot delete ({exc.strerror})") from exc

    def list(self, prefix: str) -> list[Listed]:
        found = []
        start = self.folder / prefix.rsplit("/", 1)[0] if "/" in prefix else self.folder
        if not start.is_dir():
            return []
        for path in sorted(start.rglob("*")):
            key = path.relative_to(self.folder).as_posix()
            hidden = any(part.startswith(".") for part in key.split("/"))
            if hidden or not key.startswith(prefix) or not path.is_file():
                continue
            info = path.stat()
            found.append(
                Listed(key, info.st_size, datetime.fromtimestamp(info.st_mtime, timezone.utc))
            )
        return found

    def abort_stale_uploads(self, older_than: datetime) -> list[str]:
        """Temp files of copies killed midway (they live in the private folder)."""
        removed = []
        staging = self.private / ".tmp"
        if staging.is_dir():
            for old in staging.iterdir():
                with suppress(OSError):
                    if old.stat().st_mtime < older_than.timestamp():
                        old.unlink()
                        removed.append(old.name)
        return removed

    def move_legacy_sidecars(self) -> list[str]:
        """Older versions kept ``.lock`` and ``.meta/`` in the published folder itself."""
        if self.private == self.folder:
            return []
        moved = []
        try:
            old_meta = self.folder / ".meta"
            if old_meta.is_dir():
                for path in sorted(p for p in old_meta.rglob("*") if p.is_file()):
                    relative = path.relative_to(old_meta)
                    target = self.private / ".meta" / relative
                    # the manifest's own sidecar belongs to no object here any more
                    if relative.as_posix() != "manifest.json.json" and not target.exists():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.move(path, target)
                shutil.rmtree(old_meta)
                moved.append(".meta/")
            old_lock = self.folder / ".lock"
            if old_lock.exists():
                old_lock.unlink()
                moved.append(".lock")
            if moved:  # a folder an older version wrote to: its temp files of killed copies too
                stale = time.time() - STALE_TEMP_S  # (not one a running copy might write)
                temps = [
                    path
                    for path in self.folder.rglob(".*")
                    if _LEGACY_TEMP.match(path.name) and path.stat().st_mtime < stale
                ]
                for path in temps:
                    path.unlink()
                if temps:
                    moved.append(f"{len(temps)} temp file(s)")
        except OSError as exc:
            raise StorageError(
                f"{self.description}: cannot move the old state files out ({exc})"
            ) from exc
        return moved


#: fsutil.atomic_path's temp names, which older versions left beside objects when killed
_LEGACY_TEMP = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.[A-Za-z0-9]+)?$")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


# --- S3 -----------------------------------------------------------------------------------------


class S3Storage(Storage):
    """Any S3-compatible store through boto3 (AWS S3, Cloudflare R2, MinIO, SeaweedFS …)."""

    scheme = "s3"
    capabilities = Capabilities(
        etag_is_md5=True, conditional_writes=True, multipart=True, private_sidecars=False
    )
    MULTIPART_BYTES = 16 * 1024 * 1024
    #: keys per listing request (S3's most; the conformance suite lowers it to see pages)
    LIST_PAGE_KEYS = 1000

    @classmethod
    def at(cls, place, *, endpoint_url=None, region=None, state_folder=None) -> S3Storage:
        return cls(place.bucket, place.path, endpoint_url=endpoint_url, region=region)

    def default_state(self) -> S3Storage:
        if not self.prefix:
            raise UsageError(
                f"{self.description}: a whole bucket is public; pass the state "
                "(another bucket) explicitly"
            )
        return S3Storage(
            self.bucket,
            self.prefix + STATE_SUFFIX,
            endpoint_url=self.endpoint_url,
            region=self.region,
        )

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
    ):
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix
        self.endpoint_url, self.region = endpoint_url, region
        self.description = f"s3://{bucket}/{prefix}".rstrip("/")
        problem = bucket_problem(bucket) or prefix_problem(prefix)
        if problem:
            raise StorageError(f"{self.description}: {problem}")
        config = Config(
            retries={"mode": "standard", "total_max_attempts": ATTEMPTS},
            # checksum headers that non-AWS stores accept; integrity is Content-MD5 + ETag + sha256
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"} if endpoint_url else None,
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
            max_pool_connections=PARALLEL_PARTS * 2 + 2,
        )
        try:
            session = (
                boto3.session.Session(region_name=region) if region else boto3.session.Session()
            )
            self._client = session.client(
                "s3",
                endpoint_url=endpoint_url
                or os.environ.get("AWS_ENDPOINT_URL_S3")
                or os.environ.get("AWS_ENDPOINT_URL"),
                config=config,
            )
        except Exception as exc:  # unknown profile, malformed endpoint …: say which, not how
            raise StorageError(
                f"{self.description}: cannot set up the S3 client ({type(exc).__name__}: "
                f"{_one_line(exc)})"
            ) from None

    @property
    def part_bytes(self) -> int:  # type: ignore[override]
        return self.MULTIPART_BYTES

    def expected_etag(self, digest: Digest) -> str:
        """S3's ETag: the MD5 of the bytes, or of a multipart upload's part MD5s with -<parts>."""
        if digest.size > self.MULTIPART_BYTES:
            if digest.part_bytes != self.MULTIPART_BYTES:
                raise ValueError("the digest's parts are not this store's parts")
            joined = hashlib.md5(b"".join(digest.part_md5s)).hexdigest()
            return f'"{joined}-{len(digest.part_md5s)}"'
        return f'"{digest.md5}"'

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    @property
    def endpoint(self) -> str:
        return self._client.meta.endpoint_url

    def set_up_public_access(
        self, *, dry_run: bool = False, state: Storage | None = None
    ) -> list[str]:
        """The bucket's CORS rule for web players and a public-read policy on the prefix's
        objects, never the `state`'s (podcast_tools.publish.access.set_up); with `dry_run`, the
        documents it would set, nothing set."""
        from podcast_tools.publish import access

        lines = []
        for setting in access.set_up(self, dry_run=dry_run, state=state):
            lines.append(setting.line(dry_run=dry_run))
            if dry_run and setting.document is not None:
                lines.append(json.dumps(setting.document, indent=2))
        return lines

    @property
    def on_this_machine(self) -> bool:  # type: ignore[override]
        host = urlsplit(self.endpoint or "").hostname or ""
        if host == "localhost":
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def _fail(self, action: str, key: str, exc: Exception) -> StorageError:
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ReadTimeoutError,
        )

        where = f"{self.description}/{key}" if key else self.description
        if isinstance(exc, NoCredentialsError):
            return StorageError(
                f"{self.description}: no credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
            )
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code", "?")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return PreconditionFailed(f"{where}: changed by someone else first")
            hint = {
                "InvalidAccessKeyId": "the access key is not known to the store",
                "SignatureDoesNotMatch": "the secret key does not match the access key",
                "AccessDenied": "these credentials may not do this",
                "NoSuchBucket": f"bucket {self.bucket} does not exist",
                "BadDigest": "the store received other bytes than were sent (Content-MD5)",
            }.get(code, error.get("Message", ""))
            return StorageError(f"{where}: cannot {action}: {code}: {_one_line(hint)}")
        if isinstance(exc, ReadTimeoutError):
            return StorageError(
                f"{where}: cannot {action}: {self.endpoint} did not answer within "
                f"{READ_TIMEOUT_S} s ({ATTEMPTS} tries)"
            )
        if isinstance(exc, ConnectTimeoutError):
            return StorageError(
                f"{where}: cannot {action}: {self.endpoint} did not accept a connection within "
                f"{CONNECT_TIMEOUT_S} s ({ATTEMPTS} tries)"
            )
        if isinstance(exc, (EndpointConnectionError, ConnectionClosedError)):
            return StorageError(
                f"{where}: cannot {action}: cannot reach {self.endpoint} ({ATTEMPTS} tries: "
                f"{_one_line(exc)})"
            )
        return StorageError(f"{where}: cannot {action}: {type(exc).__name__}: {_one_line(exc)}")

    def _read(self, call: Callable[..., dict], key: str) -> dict | None:
        """One read request; None when the object is absent, StorageError on any failure."""
        from botocore.exceptions import ClientError

        try:
            return call(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._fail("read", key, exc) from None
        except Exception as exc:
            raise self._fail("read", key, exc) from None

    def head(self, key: str) -> ObjectInfo | None:
        response = self._read(self._client.head_object, key)
        if response is None:
            return None
        return ObjectInfo(
            size=int(response["ContentLength"]),
            etag=response["ETag"],
            sha256=response.get("Metadata", {}).get("sha256"),
            content_type=response.get("ContentType"),
            cache_control=response.get("CacheControl"),
            etag_is_md5=_etag_is_md5(response),
        )

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The object, read whole: a body cut off before its Content-Length is asked for again."""
        short = ""
        for _ in range(ATTEMPTS):
            response = self._read(self._client.get_object, key)
            if response is None:
                return None
            expected = int(response.get("ContentLength", -1))
            try:
                data = response["Body"].read()
            except Exception as exc:  # botocore's IncompleteReadError, a dropped connection …
                short = f"{type(exc).__name__}: {_one_line(exc)}"
                continue
            if expected >= 0 and len(data) != expected:
                short = f"{len(data)} of {expected} bytes"
                continue
            return data, response["ETag"]
        raise StorageError(
            f"{self.description}/{key}: cannot read: the answer was cut off {ATTEMPTS} times "
            f"({short})"
        )

    def download(self, key: str, dest: Path) -> bool:
        """Stream the object to `dest` a chunk at a time (an hour of audio never sits in memory);
        a body cut off before its Content-Length is asked for again."""
        short = ""
        for _ in range(ATTEMPTS):
            response = self._read(self._client.get_object, key)
            if response is None:
                return False
            expected = int(response.get("ContentLength", -1))
            written = 0
            try:
                handle = dest.open("wb")
            except OSError as exc:
                raise WriteError(dest, exc) from None
            with handle:
                try:
                    for chunk in response["Body"].iter_chunks(1 << 20):
                        _write_local(handle, chunk, dest)
                        written += len(chunk)
                    _write_local(handle, b"", dest)  # flushed: closing writes nothing more
                except WriteError:  # this machine's disk, not the answer: asking again is no use
                    raise
                except Exception as exc:  # botocore's IncompleteReadError, a dropped connection …
                    short = f"{type(exc).__name__}: {_one_line(exc)}"
                    continue
            if expected >= 0 and written != expected:
                short = f"{written} of {expected} bytes"
                continue
            return True
        raise StorageError(
            f"{self.description}/{key}: cannot read: the answer was cut off {ATTEMPTS} times "
            f"({short})"
        )

    def put_bytes(
        self, key, data, *, content_type, cache_control, if_match=None, if_absent=False
    ) -> str:
        md5 = hashlib.md5(data)
        arguments = {
            "Bucket": self.bucket,
            "Key": self._key(key),
            "Body": data,
            "ContentMD5": base64.b64encode(md5.digest()).decode(),
            "ContentType": content_type,
            "CacheControl": cache_control,
            "Metadata": {"sha256": content_hash(data)},
        }
        if if_match is not None:
            arguments["IfMatch"] = if_match
        elif if_absent:
            arguments["IfNoneMatch"] = "*"
        try:
            response = self._client.put_object(**arguments)
        except Exception as exc:
            raise self._fail("write", key, exc) from None
        self._check_etag(key, response, f'"{md5.hexdigest()}"')
        return response["ETag"]

    def _check_etag(self, key: str, response: dict, expected: str) -> None:
        if _etag_is_md5(response) and not same_etag(response.get("ETag"), expected):
            raise StorageError(
                f"{self.description}/{key}: the store's ETag {response.get('ETag')} is not the "
                f"MD5 of the bytes sent ({expected}); what it holds is not trusted"
            )

    def put_file(self, key, source, *, digest, content_type, cache_control, progress=None) -> str:
        extra = {
            "ContentType": content_type,
            "CacheControl": cache_control,
            "Metadata": {"sha256": digest.sha256},
        }
        if digest.size > self.MULTIPART_BYTES:
            response = self._multipart(key, source, digest, extra, progress)
        else:
            data = source.read_at(0, digest.size)
            if (
                len(data) != digest.size
                or hashlib.md5(data).hexdigest() != digest.md5
                or content_hash(data) != digest.sha256
            ):
                raise SourceChanged(
                    "changed while it was being uploaded; publish again when it is finished"
                )
            try:
                response = self._client.put_object(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    Body=data,
                    ContentMD5=base64.b64encode(bytes.fromhex(digest.md5)).decode(),
                    **extra,
                )
            except Exception as exc:
                raise self._fail("upload", key, exc) from None
            if progress:
                progress(len(data))
        self._check_etag(key, response, self.expected_etag(digest))
        return response["ETag"]

    def _multipart(self, key, source: Source, digest: Digest, extra: dict, progress) -> dict:
        """Parts of MULTIPART_BYTES, each with its Content-MD5 and its ETag checked, sent
        PARALLEL_PARTS at a time; aborted on any failure (a kill leaves what
        `abort_stale_uploads` removes on a later run)."""
        try:
            upload = self._client.create_multipart_upload(
                Bucket=self.bucket, Key=self._key(key), **extra
            )["UploadId"]
        except Exception as exc:
            raise self._fail("upload", key, exc) from None
        sent = hashlib.sha256()
        try:
            with ThreadPoolExecutor(max_workers=PARALLEL_PARTS) as pool:
                running: list[Future] = []
                futures: list[Future] = []
                for number, md5 in enumerate(digest.part_md5s, start=1):
                    offset = (number - 1) * self.MULTIPART_BYTES
                    data = source.read_at(offset, min(self.MULTIPART_BYTES, digest.size - offset))
                    if hashlib.md5(data).digest() != md5:
                        raise SourceChanged(
                            f"changed while it was being uploaded (part {number}); publish again "
                            "when it is finished"
                        )
                    sent.update(data)
                    while len(running) >= PARALLEL_PARTS:
                        done, _ = wait(running, return_when=FIRST_COMPLETED)
                        for future in done:
                            future.result()  # the first failure ends the upload
                        running = [f for f in running if not f.done()]
                    future = pool.submit(self._part, key, upload, number, data, md5, progress)
                    running.append(future)
                    futures.append(future)
                    del data
                parts = [future.result() for future in futures]
            if sent.hexdigest() != digest.sha256:
                raise SourceChanged(
                    "changed while it was being uploaded; publish again when it is finished"
                )
            try:
                return self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    UploadId=upload,
                    MultipartUpload={"Parts": parts},
                )
            except Exception as exc:
                raise self._fail("upload", key, exc) from None
        except BaseException:
            with suppress(Exception):
                self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self._key(key), UploadId=upload
                )
            raise

    def _part(self, key, upload: str, number: int, data: bytes, md5: bytes, progress) -> dict:
        try:
            response = self._client.upload_part(
                Bucket=self.bucket,
                Key=self._key(key),
                UploadId=upload,
                PartNumber=number,
                Body=data,
                ContentMD5=base64.b64encode(md5).decode(),
            )
        except Exception as exc:
            raise self._fail("upload", key, exc) from None
        if _etag_is_md5(response) and not same_etag(response.get("ETag"), md5.hex()):
            raise StorageError(
                f"{self.description}/{key}: the store's ETag {response.get('ETag')} for part "
                f"{number} is not the MD5 of the bytes sent ({md5.hex()}); not trusted"
            )
        if progress:
            progress(len(data))
        return {"PartNumber": number, "ETag": response["ETag"]}

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise self._fail("delete", key, exc) from None

    def list(self, prefix: str) -> list[Listed]:
        found = []
        start = len(self._key(""))
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket,
                Prefix=self._key(prefix),
                PaginationConfig={"PageSize": self.LIST_PAGE_KEYS},
            )
            for page in pages:
                for item in page.get("Contents", []):
                    found.append(
                        Listed(item["Key"][start:], int(item["Size"]), item["LastModified"])
                    )
        except Exception as exc:
            raise self._fail("list", prefix, exc) from None
        return found

    def abort_stale_uploads(self, older_than: datetime) -> list[str]:
        """Incomplete multipart uploads of keys under our prefix begun before `older_than`."""
        aborted = []
        start = len(self._key(""))
        try:
            pages = self._client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=self._key("")
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] >= older_than:
                        continue  # perhaps another publisher's, still running
                    self._client.abort_multipart_upload(
                        Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted.append(upload["Key"][start:])
        except Exception as exc:
            raise self._fail("clean up incomplete uploads under", "", exc) from None
        return aborted


def _etag_is_md5(response: dict) -> bool:
    """S3 gives no MD5 ETag for objects encrypted with KMS or customer keys."""
    return response.get("ServerSideEncryption") != "aws:kms" and not response.get(
        "SSECustomerAlgorithm"
    )


def _write_local(handle, data: bytes, dest: Path) -> None:
    """Write (and flush) to a local file; its errors are WriteError naming `dest`."""
    try:
        handle.write(data)
        handle.flush()
    except OSError as exc:
        raise WriteError(dest, exc) from None


def _one_line(value: object) -> str:
    return " ".join(str(value).split())


#: Every backend, by the scheme of its URLs: a new one is a Storage subclass and a line here
#: (and, for a new kind of URL, its syntax in podcast_tools.locations.SCHEMES).
BACKENDS: dict[str, type[Storage]] = {
    backend.scheme: backend for backend in (LocalStorage, S3Storage)
}


def backend_for(place: Place) -> type[Storage]:
    """The backend that stores objects at `place`."""
    return BACKENDS[place.kind]
