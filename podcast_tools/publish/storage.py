"""Storage targets with one small interface: S3-compatible object stores and a local folder.

Both support conditional writes (If-Match on an ETag, If-None-Match for "only if absent"), which
is how many publishers coordinate without a lock server of their own. Credentials come only from
boto3's standard chain; they never appear in messages (boto3's own errors carry none either).

A publish uses two of them: the public one (media and feeds, what `base_url` serves) and the
private state (the manifest), by default beside it (`podcast_tools.publish.state`).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from podcast_tools.errors import ExitCode, PodcastToolsError
from podcast_tools.fsutil import atomic_path
from podcast_tools.layout import file_hash

#: Called with the number of bytes sent since the last call.
Progress = Callable[[int], None]

#: The default state location is the storage location with this suffix, beside it.
STATE_SUFFIX = ".state"
#: A temp file untouched this long belongs to a copy that was killed.
STALE_TEMP_S = 3600


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


class Storage:
    """What publishing needs from a store. Keys are relative to the target's prefix."""

    description: str  # also its canonical URL: s3://bucket/prefix or file:///absolute/dir

    def head(self, key: str) -> ObjectInfo | None:
        raise NotImplementedError

    def get(self, key: str) -> tuple[bytes, str] | None:
        """The object's bytes and ETag, or None when absent."""
        raise NotImplementedError

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
        path: Path,
        *,
        content_type: str,
        cache_control: str,
        sha256: str,
        progress: Progress | None = None,
    ) -> None:
        """Upload a media file (multipart when large) with its sha256 in the object's metadata."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove an object (absent is fine)."""
        raise NotImplementedError

    def move_legacy_sidecars(self) -> list[str]:
        """Move private files an older version kept among the public objects to the private
        place; return their names (nothing to do for most stores)."""
        return []


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
    parts = urlsplit(url)
    if parts.scheme == "s3":
        return S3Storage(
            parts.netloc, parts.path.strip("/"), endpoint_url=endpoint_url, region=region
        )
    if parts.scheme == "file":
        return LocalStorage(local_folder(url, root), state_folder=state_folder)
    raise StorageError(f"{url}: not a storage URL; use s3://bucket/prefix or file://dir")


def local_folder(url: str, root: Path) -> Path:
    """The absolute folder of a ``file://`` URL (relative ones are relative to the network root)."""
    parts = urlsplit(url)
    relative = parts.netloc + parts.path
    folder = Path(relative) if relative.startswith("/") else Path(root) / relative
    return Path(os.path.normpath(os.path.abspath(folder)))


def folder_beside(folder: Path) -> Path | None:
    """The default state folder of a published folder: ``<folder>.state`` beside it."""
    folder = Path(os.path.normpath(os.path.abspath(folder)))
    if folder.parent == folder:
        return None  # the file system's root has nothing beside it
    return folder.with_name(folder.name + STATE_SUFFIX)


# --- local folder -------------------------------------------------------------------------------


class LocalStorage(Storage):
    """A folder with the same layout as the bucket (for trying the tool, or static hosting).

    ETags are sha256 hashes of the content; conditional writes hold a lock file while they
    compare and replace. Only the objects themselves lie in the folder — what a web server may
    serve. The lock (``.lock``), the metadata sidecars (``.meta/<key>.json``) and the temp files
    of writes in progress (``.tmp/``, renamed onto the object when whole) live in the private
    folder: ``<state_folder>/objects/`` (``state_folder`` itself for the state's own folder).
    """

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
        return self.folder / key

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
        return ObjectInfo(
            size=path.stat().st_size,
            etag=actual,
            sha256=actual,  # what is really on disk, so verification proves something
            content_type=meta.get("content_type"),
            cache_control=meta.get("cache_control"),
        )

    def get(self, key: str) -> tuple[bytes, str] | None:
        path = self._path(key)
        if not path.is_file():
            return None
        data = path.read_bytes()
        return data, hashlib.sha256(data).hexdigest()

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
            try:
                with self._staged(key) as temp:
                    temp.write_bytes(data)
                self._write_meta(key, hashlib.sha256(data).hexdigest(), content_type, cache_control)
            except OSError as exc:
                raise StorageError(
                    f"{self.description}/{key}: cannot write ({exc.strerror})"
                ) from exc
        return hashlib.sha256(data).hexdigest()

    def put_file(self, key, path, *, content_type, cache_control, sha256, progress=None) -> None:
        try:
            with (
                self._staged(key) as temp,
                path.open("rb") as source,
                temp.open("wb") as target,
            ):
                while block := source.read(1 << 20):
                    target.write(block)
                    if progress:
                        progress(len(block))
            self._write_meta(key, sha256, content_type, cache_control)
        except OSError as exc:
            raise StorageError(f"{self.description}/{key}: cannot write ({exc.strerror})") from exc

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

    MULTIPART_BYTES = 16 * 1024 * 1024

    def __init__(
        self,
        bucket: str,
        prefix: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
    ):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix
        self.endpoint_url, self.region = endpoint_url, region
        self.description = f"s3://{bucket}/{prefix}".rstrip("/")
        config = Config(
            retries={"mode": "standard", "max_attempts": 5},
            # checksum headers that non-AWS stores accept; integrity is our own sha256 + HEAD
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": "path"} if endpoint_url else None,
            connect_timeout=10,
            read_timeout=60,
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
                f"{self.description}: cannot set up the S3 client ({type(exc).__name__}: {exc})"
            ) from None
        self._transfer = TransferConfig(
            multipart_threshold=self.MULTIPART_BYTES,
            multipart_chunksize=self.MULTIPART_BYTES,
            max_concurrency=4,
        )

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _fail(self, action: str, key: str, exc: Exception) -> StorageError:
        from botocore.exceptions import ClientError, NoCredentialsError

        if isinstance(exc, NoCredentialsError):
            return StorageError(
                f"{self.description}: no credentials (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)"
            )
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code", "?")
            if code in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return PreconditionFailed(
                    f"{self.description}/{key}: changed by someone else first"
                )
            hint = {
                "InvalidAccessKeyId": "the access key is not known to the store",
                "SignatureDoesNotMatch": "the secret key does not match the access key",
                "AccessDenied": "these credentials may not do this",
                "NoSuchBucket": f"bucket {self.bucket} does not exist",
            }.get(code, error.get("Message", ""))
            return StorageError(f"{self.description}/{key}: cannot {action}: {code}: {hint}")
        return StorageError(
            f"{self.description}/{key}: cannot {action}: {type(exc).__name__}: {exc}"
        )

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
        )

    def get(self, key: str) -> tuple[bytes, str] | None:
        response = self._read(self._client.get_object, key)
        if response is None:
            return None
        try:
            return response["Body"].read(), response["ETag"]
        except Exception as exc:  # the connection dropped while reading the body
            raise self._fail("read", key, exc) from None

    def put_bytes(
        self, key, data, *, content_type, cache_control, if_match=None, if_absent=False
    ) -> str:
        arguments = {
            "Bucket": self.bucket,
            "Key": self._key(key),
            "Body": data,
            "ContentType": content_type,
            "CacheControl": cache_control,
            "Metadata": {"sha256": hashlib.sha256(data).hexdigest()},
        }
        if if_match is not None:
            arguments["IfMatch"] = if_match
        elif if_absent:
            arguments["IfNoneMatch"] = "*"
        try:
            return self._client.put_object(**arguments)["ETag"]
        except Exception as exc:
            raise self._fail("write", key, exc) from None

    def put_file(self, key, path, *, content_type, cache_control, sha256, progress=None) -> None:
        extra = {
            "ContentType": content_type,
            "CacheControl": cache_control,
            "Metadata": {"sha256": sha256},
        }
        try:
            self._client.upload_file(
                str(path),
                self.bucket,
                self._key(key),
                ExtraArgs=extra,
                Config=self._transfer,
                Callback=progress,
            )
        except Exception as exc:
            raise self._fail("upload", key, exc) from None

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:
            raise self._fail("delete", key, exc) from None
