"""Storage targets with one small interface: S3-compatible object stores and a local folder.

Both support conditional writes (If-Match on an ETag, If-None-Match for "only if absent"), which
is how many publishers coordinate without a lock server of their own. Credentials come only from
boto3's standard chain; they never appear in messages (boto3's own errors carry none either).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from podcast_tools.errors import ExitCode, PodcastToolsError
from podcast_tools.fsutil import atomic_path
from podcast_tools.layout import file_hash

#: Called with the number of bytes sent since the last call.
Progress = Callable[[int], None]


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

    description: str

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


def open_storage(
    url: str, root: Path, *, endpoint_url: str | None = None, region: str | None = None
) -> Storage:
    """A Storage for ``s3://bucket/prefix`` or ``file://dir`` (relative to the network root)."""
    parts = urlsplit(url)
    if parts.scheme == "s3":
        return S3Storage(
            parts.netloc, parts.path.strip("/"), endpoint_url=endpoint_url, region=region
        )
    if parts.scheme == "file":
        relative = parts.netloc + parts.path
        folder = Path(relative) if relative.startswith("/") else root / relative
        return LocalStorage(folder)
    raise StorageError(f"{url}: not a storage URL; use s3://bucket/prefix or file://dir")


# --- local folder -------------------------------------------------------------------------------


class LocalStorage(Storage):
    """A folder with the same layout as the bucket (for trying the tool, or static hosting).

    ETags are sha256 hashes of the content; conditional writes hold a lock file while they
    compare and replace. Object metadata lives in a sidecar ``.meta/<key>.json``.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.description = f"file://{folder}"
        self._thread_lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.folder / key

    def _meta_path(self, key: str) -> Path:
        return self.folder / ".meta" / f"{key}.json"

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
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = open(self.folder / ".lock", "a+")
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
                with atomic_path(self._path(key)) as temp:
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
                atomic_path(self._path(key)) as temp,
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
