"""Parallel, resumable HTTP downloads with their lengths checked.

Each file is written to `<cache>/<key>.part` and renamed to `<cache>/<key>` when whole. A body
cut off mid-way is retried with a Range request from where it stopped (a server that answers 200
instead of 206 sends it all again); a run that still fails leaves the `.part` for the next run to
continue. Redirects are followed (measurement prefixes such as podtrac, chartable or op3 are
redirects); query strings stay in the request.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from podcast_tools.errors import ContentError, ExitCode, Problem, WriteError
from podcast_tools.fsutil import make_folder
from podcast_tools.importer.feed import OPENER, TIMEOUT_S, USER_AGENT, RedirectRefused, is_web_url

CHUNK_BYTES = 256 * 1024
MB = 1024 * 1024
#: The most one file may be (bytes) by the feed's field it came from; audio: at least this, or
#: twice the length the feed gives. A server that streams forever fills no disk.
LIMITS = {"enclosure": 2048 * MB, "chapters": 10 * MB, "transcript": 10 * MB, "image": 20 * MB}
#: The longest one file may take over all its tries in one run (seconds): a server that sends a
#: byte every few seconds never trips the socket's timeout.
DEADLINES = {"enclosure": 4 * 3600.0, "chapters": 300.0, "transcript": 300.0, "image": 300.0}
#: Tries of one file in one run (a cut-off body continues where it stopped each time).
ATTEMPTS = 4
Progress = Callable[[str, float, float], None]


@dataclass(frozen=True)
class Download:
    url: str
    where: str  # what a failure line names: the feed and the item
    label: str  # the progress bar's: "download <name>"
    expected_length: int = 0  # the enclosure's length attribute (0: not given)
    audio: bool = False  # check that what came is audio, not an error page
    field: str = "enclosure"  # the feed's field the URL came from (what a failure line names)

    @property
    def limit(self) -> int:
        """The most bytes this file may be."""
        limit = LIMITS.get(self.field, 20 * MB)
        return max(limit, 2 * self.expected_length) if self.audio else limit

    @property
    def deadline_s(self) -> float:
        return DEADLINES.get(self.field, 300.0)

    @property
    def key(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()[:24]


class DownloadsFailed(ContentError):
    """One or more downloads failed after their retries: one line each."""

    exit_code = ExitCode.STORAGE


class _Retry(Exception):
    """A body cut off or a server error: try again (from where it stopped)."""


class _Short(_Retry):
    """A body without Content-Length that ended well below the feed's length: most likely cut
    off (a connection closed early ends such a body without an error)."""

    def __init__(self, message: str, size: int, from_zero: bool) -> None:
        super().__init__(message)
        self.size = size
        self.from_zero = from_zero


def download_all(
    downloads: list[Download],
    cache: Path,
    *,
    jobs: int = 4,
    progress: Progress | None = None,
    warn: Callable[[str], None] = lambda line: None,
    done: Callable[[Download, Path], None] | None = None,
) -> dict[str, Path]:
    """Fetch every download into `cache` (`jobs` at a time); return url → whole file. `done` is
    told of each file as it is whole (a log's line per download where no bar is drawn).

    Raises DownloadsFailed naming every audio download that failed (the others stay in the
    cache); a failed optional file (not `audio`: artwork, an image, chapters, a transcript) is a
    warning line instead, and is missing from the result."""
    make_folder(cache)
    # one download per URL; the audio's when a URL is also an image's (its checks are stricter)
    unique = list({d.url: d for d in sorted(downloads, key=lambda d: d.audio)}.values())
    results: dict[str, Path] = {}
    problems: list[Problem] = []
    stop = threading.Event()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {
            pool.submit(fetch, d, cache, progress=progress, warn=warn, stop=stop): d for d in unique
        }
        for future in as_completed(futures):
            download = futures[future]
            try:
                results[download.url] = future.result()
            except ContentError as exc:
                if download.audio:
                    problems.extend(exc.problems)
                else:  # an image, chapters, a transcript: the episode does without it
                    for problem in exc.problems:
                        warn(f"{problem}; left out")
                continue
            if done is not None:
                done(download, results[download.url])
    except BaseException:  # Ctrl-C: the running downloads stop at their next chunk (.part kept)
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if problems:
        raise DownloadsFailed(problems)
    return results


def fetch(
    download: Download,
    cache: Path,
    *,
    progress: Progress | None = None,
    warn: Callable[[str], None] = lambda line: None,
    stop: threading.Event | None = None,
) -> Path:
    """One file into `cache`, resumed from its `.part` if an earlier run left one (`stop`: set
    when the run is interrupted; the download ends at its next chunk)."""
    done = cache / download.key
    if done.is_file():
        return done
    part = cache / f"{download.key}.part"
    last = ""
    deadline = time.monotonic() + download.deadline_s
    short_before = None  # the size a whole body from byte 0 without a length ended at
    for attempt in range(ATTEMPTS):
        try:
            _fetch_once(download, part, progress, stop, deadline)
        except _Short as exc:
            if not (exc.from_zero and exc.size == short_before):
                short_before = exc.size if exc.from_zero else None
                last = str(exc)
                time.sleep(min(0.2 * 2**attempt, 2.0))
                continue
            # twice the same whole body: it is what the server holds (the feed's length is off)
        except _Retry as exc:
            last = str(exc)
            time.sleep(min(0.2 * 2**attempt, 2.0))
            continue
        _check_whole(download, part, warn)
        os.replace(part, done)
        part.with_name(part.name + ".validator").unlink(missing_ok=True)
        return done
    have = part.stat().st_size if part.exists() else 0
    raise ContentError(
        [
            Problem(
                download.where,
                download.field,
                f"{download.url}: {last} after {ATTEMPTS} tries ({have:,} bytes kept; "
                "run the import again to continue)",
            )
        ]
    )


def _fetch_once(
    download: Download,
    part: Path,
    progress: Progress | None,
    stop: threading.Event | None,
    deadline: float,
) -> None:
    if not is_web_url(download.url):  # plan_import refuses these; never fetch one regardless
        raise ContentError(
            [Problem(download.where, download.field, f"{download.url!r}: only http and https")]
        )
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    validator_file = part.with_name(part.name + ".validator")
    validator = _read_validator(validator_file) if have else None
    if have and validator is None:  # no way to know the rest belongs to the same file
        part.unlink(missing_ok=True)
        have = 0
    if have:
        # If-Range: a host that inserts ads per request serves other bytes each time; the rest
        # comes only if the file is still the one the part began (else all of it, a 200)
        headers["Range"] = f"bytes={have}-"
        headers["If-Range"] = validator
    request = urllib.request.Request(download.url, headers=headers)
    try:
        response = OPENER.open(request, timeout=TIMEOUT_S)
    except RedirectRefused as exc:
        raise ContentError(
            [Problem(download.where, download.field, f"{download.url}: {exc.reason}")]
        ) from None
    except urllib.error.HTTPError as exc:
        if exc.code == 416:
            if re.fullmatch(rf"bytes \*/{have}", exc.headers.get("Content-Range", "")):
                return  # the part is all the server holds: it was whole
            part.unlink(missing_ok=True)  # no prefix of what the server holds now: start again
            raise _Retry("HTTP 416 for the rest of a partial download") from None
        if exc.code >= 500 or exc.code == 429:
            raise _Retry(f"HTTP {exc.code} {exc.reason}") from None
        raise ContentError(
            [
                Problem(
                    download.where, download.field, f"{download.url}: HTTP {exc.code} {exc.reason}"
                )
            ]
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _Retry(f"cannot connect ({getattr(exc, 'reason', exc)})") from None
    with response:
        start = _resume_point(response, have)
        if start == 0:
            _write_validator(validator_file, response.headers)
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else 0
        if not total and response.status == 206:  # no length: the range's "/<size>" says it
            match = re.search(r"/(\d+)$", response.headers.get("Content-Range", ""))
            total = int(match.group(1)) if match else 0
        if total > download.limit:
            raise _too_large(download, f"the server says {total:,} bytes")
        received = _body_into(part, start, response, download, total, progress, stop, deadline)
    if total and received != total:
        raise _Retry(f"cut off at {received:,} of {total:,} bytes")
    expected = download.expected_length
    if not total and expected > 1024 and received < expected * 3 // 4:
        raise _Short(
            f"ended at {received:,} bytes without a Content-Length; the feed says {expected:,}",
            received,
            from_zero=start == 0,
        )


def _body_into(
    part: Path,
    start: int,
    response,
    download: Download,
    total: int,
    progress: Progress | None,
    stop: threading.Event | None,
    deadline: float,
) -> int:
    """Write the response's body into `part` from byte `start`; return the bytes it then has.
    Over the download's size limit or past its deadline is ContentError (the .part of one too
    large removed).
    A connection cut is _Retry; our own file failing (a full disk) is WriteError naming it —
    retrying would not help."""
    received = start
    try:
        with part.open("r+b" if start else "wb") as out:
            if start:  # "wb" empties a new start already
                out.seek(start)
                out.truncate()
            while True:
                try:
                    chunk = response.read1(CHUNK_BYTES)  # what has come: a slow drip too
                except (http.client.IncompleteRead, OSError, http.client.HTTPException):
                    raise _Retry(f"cut off at {received:,} of {total or '?'} bytes") from None
                if not chunk:
                    break
                if stop is not None and stop.is_set():
                    raise KeyboardInterrupt
                out.write(chunk)
                received += len(chunk)
                if received > download.limit:
                    part.unlink(missing_ok=True)
                    raise _too_large(download, f"more than {download.limit:,} bytes came")
                if time.monotonic() > deadline:
                    raise _too_slow(download, received)
                if progress is not None:
                    progress(download.label, received, total or download.expected_length)
    except OSError as exc:  # opening, writing or closing (flushing) the .part
        raise WriteError.of(exc, part) from None
    return received


def _read_validator(path: Path) -> str | None:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return value or None


def _write_validator(path: Path, headers) -> None:
    """Keep the response's strong ETag (else its Last-Modified) beside the .part, for the
    If-Range of a resumed request; none: remove an old one (a resume then starts again)."""
    etag = (headers.get("ETag") or "").strip()
    value = etag if etag and not etag.startswith("W/") else (headers.get("Last-Modified") or "")
    try:
        if value.strip() and "\n" not in value:
            path.write_text(value.strip(), encoding="utf-8")
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        raise WriteError.of(exc, path) from None


def _too_large(download: Download, said: str) -> ContentError:
    return ContentError(
        [
            Problem(
                download.where,
                download.field,
                f"{download.url}: {said}; the most taken for it is {download.limit // MB:,} MB",
            )
        ]
    )


def _too_slow(download: Download, received: int) -> ContentError:
    return ContentError(
        [
            Problem(
                download.where,
                download.field,
                f"{download.url}: took over {download.deadline_s:g} s ({received:,} bytes kept; "
                "run the import again to continue)",
            )
        ]
    )


def _resume_point(response, have: int) -> int:
    """Where the body starts in the file: `have` for a 206 that continues it, else 0."""
    if response.status != 206:
        return 0  # no Range support: the whole file again
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    if not match or int(match.group(1)) != have:
        raise _Retry("the server resumed at another byte than asked")
    return have


#: The first bytes of the audio files feeds carry (MP3 with or without ID3, MP4/M4A, Ogg, …).
_AUDIO_STARTS = (b"ID3", b"OggS", b"fLaC", b"RIFF")


def _check_whole(download: Download, part: Path, warn: Callable[[str], None]) -> None:
    size = part.stat().st_size
    if download.audio:
        with part.open("rb") as handle:
            head = handle.read(12)
        mpeg_sync = len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
        if not (head.startswith(_AUDIO_STARTS) or mpeg_sync or head[4:8] == b"ftyp"):
            part.unlink(missing_ok=True)
            raise ContentError(
                [
                    Problem(
                        download.where,
                        download.field,
                        f"{download.url}: is not audio (it starts {head[:12]!r}); "
                        "the host sent a page instead of the file",
                    )
                ]
            )
    expected = download.expected_length
    # hosts that insert ads per request report a length that differs a little; a wildly
    # different one (e.g. 0 or 1) is a placeholder, not worth a line
    if expected > 1024 and abs(size - expected) > max(1024, expected // 100):
        warn(
            f"{download.where}: enclosure: {download.url}: {size:,} bytes downloaded, the feed "
            f"said {expected:,} (kept: the server's length was met)"
        )
