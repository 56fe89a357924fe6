"""`podcast preview`: the network served on 127.0.0.1, as publishing would lay it out.

Every object `publish` would upload — audio, chapter images, chapters JSON, transcripts, episode
images, artwork, feeds, the publisher feed and the website's pages — is served under its object
key, built from the network's files and what `podcast process` left in `build/`
(`pipeline.previews.local_objects`), with every URL in them pointing at the preview itself
(`http://127.0.0.1:PORT/`). A URL is only ever looked up as a key of that mapping: no path from a
request reaches the file system.

The server speaks enough HTTP for podcast apps and browsers: GET and HEAD, `index.html` for a path
ending in `/` (and a redirect from `/show` to `/show/`), Content-Type, Content-Length, ETag (with
If-None-Match), `Accept-Ranges: bytes` and single byte ranges (206, or 416 when unsatisfiable;
several ranges are answered with the whole object). Files are streamed, never read whole. A page
of this machine (an Origin of http(s)://127.0.0.1, localhost or [::1], any port: a web player
being developed) gets the CORS headers a public bucket set up by `podcast storage setup` sends
(`publish.access`), its Origin echoed, and its OPTIONS preflights answered, so it can fetch the
feeds, chapters and transcripts. A page of any other origin gets no CORS headers: the preview
serves scheduled and draft episodes, which a website the producer happens to visit must not read
from 127.0.0.1 (its browser still loads them as media, but the page's script cannot read them).

Only this machine's own names of the preview are answered (`Host: 127.0.0.1:PORT`,
`localhost:PORT` or `[::1]:PORT`; any other is 421, so a page whose name is rebound to 127.0.0.1
reads nothing). Each file is opened as `publish` opens it (`publish.source.open_inside`): a
regular file whose real path lies inside `build/` (audio) or the network folder (the rest), checked
on the open handle at every request — a link out of them, a FIFO or a device is 404 with one line
said. A connection must send each request's head within IDLE_TIMEOUT seconds (of connecting or of
the last answer; a client sending a byte at a time is closed too) and take each block of an answer
within SEND_TIMEOUT seconds; at most MAX_CONNECTIONS are open at once (more are answered 503).

When a file under `episodes/`, `templates/` or `build/` changes, the next request (at most one
scan a second) rebuilds the mapping; while a change breaks a rule, the last good one is served and
the problem is printed once.
"""

from __future__ import annotations

import hashlib
import html
import io
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import SplitResult, quote, unquote, urlsplit

from podcast_tools.errors import PodcastToolsError, UsageError
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.previews import LocalObject, local_objects
from podcast_tools.publish import access
from podcast_tools.publish.source import FileSource, OutsideError, open_inside

#: the origins whose pages may read the preview's answers: this machine's, any port
LOCAL_ORIGIN = re.compile(r"https?://(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?", re.IGNORECASE)

HOST = "127.0.0.1"  # never another address: the preview is for the producer's own machine
CHUNK = 64 * 1024
HTML_TYPE = "text/html; charset=utf-8"
IDLE_TIMEOUT = 5.0  # seconds for a request's line and headers, from connecting or the last answer
SEND_TIMEOUT = 30.0  # seconds for a client to take each block of an answer (a paused player)
MAX_CONNECTIONS = 128  # open at once; a browser opens six, a podcast app one or two

Objects = dict[str, LocalObject]


# --- byte ranges -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unsatisfiable:
    """A Range the object cannot satisfy (416, `Content-Range: bytes */size`)."""


UNSATISFIABLE = Unsatisfiable()
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
_BIG = 1 << 63  # any number of more digits than this is past the end of every object


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else _BIG


def byte_range(header: str | None, size: int) -> tuple[int, int] | Unsatisfiable | None:
    """The one range (first, last byte, inclusive) a Range header asks of an object of `size`
    bytes, UNSATISFIABLE, or None for the whole object: no header, another unit, several ranges
    (answered whole, as RFC 9110 allows) or a header that is no valid range (ignored)."""
    if header is None:
        return None
    unit, equals, specs = header.partition("=")
    if not equals or unit.lower() != "bytes":
        return None
    parts = specs.split(",")
    if len(parts) != 1:
        return None
    match = _RANGE_SPEC.fullmatch(parts[0].strip(" \t"))
    if match is None or match.group(0) == "-":
        return None
    first_digits, last_digits = match.groups()
    if not first_digits:  # bytes=-n: the last n bytes
        suffix = _number(last_digits)
        if suffix == 0 or size == 0:
            return UNSATISFIABLE
        return max(0, size - suffix), size - 1
    first = _number(first_digits)
    last = _number(last_digits) if last_digits else None
    if last is not None and last < first:
        return None  # invalid: ignored
    if first >= size:
        return UNSATISFIABLE
    return first, size - 1 if last is None else min(last, size - 1)


# --- what is served ----------------------------------------------------------------------------


def _stamp(folders: Iterable[Path]) -> int:
    """A number that changes when any file or folder under `folders` is added, removed, renamed
    or written (paths, sizes and modification times, hashed)."""
    digest = hashlib.sha256()
    for folder in folders:
        for current, dirs, files in os.walk(folder):
            # build/.cache/ changes when a load learns something, not what is served
            dirs[:] = sorted(d for d in dirs if not (d == ".cache" and current == str(folder)))
            for name in sorted(files) + [""]:
                path = os.path.join(current, name)
                try:
                    info = os.stat(path)
                except OSError:
                    continue
                digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return int.from_bytes(digest.digest()[:8], "big")


class Catalogue:
    """The preview's objects: built once at the start (a ContentError then stops the preview),
    rebuilt when the network's files or build/ change (checked at most every `check_every`
    seconds, by the request that finds the check due)."""

    def __init__(
        self,
        root: Path,
        base_url: str,
        *,
        include_scheduled: bool = False,
        check_every: float = 1.0,
        say: Callable[[str], None] = lambda line: None,
    ):
        self.root = root
        self.build_dir = root / "build"
        self.base_url = base_url
        self.include_scheduled = include_scheduled
        self.check_every = check_every
        self.say = say
        self._lock = threading.Lock()
        self._checked = time.monotonic()
        self._stamp: int | None = self._scan()
        self._objects = self._build()

    def _scan(self) -> int:
        return _stamp([self.root / "episodes", self.root / "templates", self.build_dir])

    def _build(self) -> Objects:
        network = load_checked_network(self.root)
        return local_objects(
            network,
            self.build_dir,
            base_url=self.base_url,
            include_scheduled=self.include_scheduled,
        )

    def folder_of(self, path: Path) -> Path:
        """The folder a served file must really lie in, as for `publish`: build/ for what
        `process` built there, the network folder for the network's own files."""
        return self.build_dir if path.is_relative_to(self.build_dir) else self.root

    @property
    def last(self) -> Objects:
        """What is served now, without looking for changes."""
        return self._objects

    def objects(self) -> Objects:
        """The current objects (rebuilt first when the files changed since the last look)."""
        if time.monotonic() - self._checked < self.check_every:
            return self._objects
        if not self._lock.acquire(blocking=False):
            return self._objects  # another request is looking: serve what there is meanwhile
        try:
            self._checked = time.monotonic()
            stamp = self._scan()
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self._objects = self._build()
                    self.say(f"rebuilt: {len(self._objects)} objects")
                except PodcastToolsError as exc:
                    lines = exc.lines()
                    self.say(f"not rebuilt, still serving the last good preview: {lines[0]}")
                    for line in lines[1:]:
                        self.say(f"  {line}")
                except OSError as exc:  # a file replaced while it was read: look again next time
                    self._stamp = None
                    self.say(f"not rebuilt yet ({exc}); trying again")
            return self._objects
        finally:
            self._lock.release()


# --- HTTP ----------------------------------------------------------------------------------------


def _etag(obj: LocalObject, source: FileSource | None) -> tuple[str, int]:
    """(strong ETag, size) of an object; a file's from the open handle, so both describe the very
    bytes that will be sent even if the file is replaced meanwhile."""
    if source is not None:
        info = os.fstat(source.fd)
        return f'"{info.st_size:x}-{info.st_mtime_ns:x}"', info.st_size
    data = obj.data or b""
    return f'"{hashlib.sha256(data).hexdigest()[:24]}"', len(data)


def _listing(objects: Objects) -> bytes:
    """The page at `/` while the network has no website of its own: every object, linked."""
    items = "\n".join(
        f'<li><a href="/{quote(key)}">{html.escape(key)}</a></li>' for key in sorted(objects)
    )
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>podcast preview</title></head>\n<body><main><h1>podcast preview</h1>\n"
        "<p>What <code>podcast publish</code> would upload, served from this machine.</p>\n"
        f"<ul>\n{items}\n</ul></main></body></html>\n"
    ).encode()


class _HeadReader(socket.SocketIO):
    """A connection's reading end whose reads all end by the handler's `deadline`: a request's
    head must arrive whole in time, not merely each byte of it."""

    def __init__(self, sock: socket.socket, handler: PreviewHandler):
        super().__init__(sock, "rb")
        self._handler = handler

    def readinto(self, buffer) -> int | None:
        left = self._handler.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no whole request in time")
        self._sock.settimeout(left)
        return super().readinto(buffer)


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    server_version = "podcast-preview"
    deadline = 0.0  # (monotonic) by when the head of the request being read must have arrived

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self.rfile.close()
        self.rfile = io.BufferedReader(_HeadReader(self.connection, self))

    def handle_one_request(self) -> None:
        # a TimeoutError while reading or answering closes the connection (http.server)
        self.deadline = time.monotonic() + self.server.idle_timeout
        super().handle_one_request()

    def parse_request(self) -> bool:
        parsed = super().parse_request()  # the head is read: now the answer is sent
        self.connection.settimeout(self.server.send_timeout)
        return parsed

    def do_GET(self) -> None:  # noqa: N802 (http.server's names)
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def do_OPTIONS(self) -> None:  # noqa: N802
        """A browser's CORS preflight (before a cross-origin request with, e.g., If-None-Match):
        for a page of this machine, the methods and request headers it may use, whatever the
        path; for any other page, nothing allowed."""
        if self._target() is None:
            return self._refuse(HTTPStatus.MISDIRECTED_REQUEST)
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Allow", "GET, HEAD, OPTIONS")
        if self._local_origin():
            self.send_header("Access-Control-Allow-Methods", ", ".join(access.METHODS))
            self.send_header("Access-Control-Allow-Headers", ", ".join(access.REQUEST_HEADERS))
            self.send_header("Access-Control-Max-Age", str(access.MAX_AGE_S))
        self.end_headers()

    def end_headers(self) -> None:
        """An answer may be read by a page of this machine (a web player being developed on
        another port), as from a public bucket set up by `podcast storage setup`
        (`publish.access`); by no other page (the preview serves unpublished episodes)."""
        origin = self._local_origin()
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Expose-Headers", ", ".join(access.EXPOSED_HEADERS))
        self.send_header("Vary", "Origin")
        super().end_headers()

    def _local_origin(self) -> str | None:
        """The request's one Origin when it is a page of this machine, else None."""
        headers = getattr(self, "headers", None)  # (none yet when the request line is bad)
        origins = headers.get_all("Origin") or [] if headers is not None else []
        if len(origins) == 1 and LOCAL_ORIGIN.fullmatch(origins[0].strip()):
            return origins[0].strip()
        return None

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # one line per request would drown the terminal; errors are answered, not logged

    def _target(self) -> SplitResult | None:
        """The request target, when it is addressed to the preview by one of its own names (the
        one Host header, and an absolute-form target's own authority); else None."""
        ours = self.server.host_names
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0].strip(" \t").lower() not in ours:
            return None
        target = urlsplit(self.path)
        if not self.path.startswith("/"):  # absolute form: it names the host (RFC 9112 §3.2.2)
            if target.scheme.lower() != "http" or target.netloc.lower() not in ours:
                return None
        return target

    def _answer(self, *, body: bool) -> None:
        target = self._target()
        if target is None:
            return self._refuse(HTTPStatus.MISDIRECTED_REQUEST)
        objects = self.server.catalogue.objects()
        path = target.path
        key = unquote(path, errors="replace").lstrip("/")
        if key == "" or key.endswith("/"):
            key += "index.html"
        if key not in objects:
            if key == "index.html":
                obj = LocalObject(path=None, data=_listing(objects), type=HTML_TYPE)
                return self._send_object(obj, body)
            if key + "/index.html" in objects:  # a folder's page: its address ends in "/"
                return self._redirect("/" + quote(key) + "/")
            return self._not_found(body)
        return self._send_object(key, objects[key], body)

    def _open(self, key: str, path: Path) -> FileSource | None:
        """The file, opened as `publish` opens it: a regular file inside its folder (else None,
        and one line said — unless it is simply gone, and a rebuild is on its way)."""
        root = self.server.catalogue.root
        shown = os.path.relpath(path, root) if path.is_relative_to(root) else str(path)
        try:
            return open_inside(path, self.server.catalogue.folder_of(path), shown)
        except OutsideError as exc:
            if os.path.lexists(path):
                self.server.say(f"not served: /{key}: {shown} {exc}")
            return None

    def _send_object(self, key: str, obj: LocalObject, body: bool) -> None:
        source: FileSource | None = None
        if obj.path is not None:
            source = self._open(key, obj.path)
            if source is None:
                return self._not_found(body)
        try:
            etag, size = _etag(obj, source)
            if _none_match(self.headers.get_all("If-None-Match"), etag):
                self.send_response(HTTPStatus.NOT_MODIFIED)  # before Range (RFC 9110 §13.2.2)
                self._common_headers(etag)
                self.end_headers()
                return
            wanted = byte_range(self.headers.get("Range"), size)
            if_range = self.headers.get("If-Range")
            if if_range is not None and if_range.strip() != etag:
                wanted = None  # the client's partial copy is of another version: send it whole
            if isinstance(wanted, Unsatisfiable):
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self._common_headers(etag)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            first, last = wanted if wanted is not None else (0, size - 1)
            length = last - first + 1 if size else 0
            self.send_response(HTTPStatus.OK if wanted is None else HTTPStatus.PARTIAL_CONTENT)
            self._common_headers(etag)
            self.send_header("Content-Type", obj.type)
            self.send_header("Content-Length", str(length))
            if wanted is not None:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            if not body or length == 0:
                return
            if source is None:
                self.wfile.write((obj.data or b"")[first : last + 1])
            else:
                offset = first
                while offset <= last:
                    block = source.read_at(offset, min(CHUNK, last + 1 - offset))
                    if not block:
                        break  # the file shrank underneath: the client sees a short body
                    self.wfile.write(block)
                    offset += len(block)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # players drop media requests all the time
        finally:
            if source is not None:
                source.close()

    def _common_headers(self, etag: str) -> None:
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Cache-Control", "no-cache")  # a preview changes: always revalidate

    def _redirect(self, location: str) -> None:
        query = urlsplit(self.path).query
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location + (f"?{query}" if query else ""))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _refuse(self, status: HTTPStatus) -> None:
        """An answer with no content that ends the connection."""
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _not_found(self, body: bool) -> None:
        page = (
            '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            "<title>Not found</title></head>\n<body><main><h1>Not found</h1>\n"
            "<p>Nothing is published under this address. "
            '<a href="/">Everything in the preview</a>.</p></main></body></html>\n'
        ).encode()
        self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", HTML_TYPE)
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        if body:
            self.wfile.write(page)


#: one element of an entity-tag list (RFC 9110 §8.8.3, §5.6.1): empty elements are allowed
_LIST_TAG = re.compile(r'[ \t]*(?:(W/)?("[\x21\x23-\x7e\x80-\xff]*"))?[ \t]*(,|$)')


def entity_tags(header: str) -> set[str] | None:
    """The opaque tags (quoted, without `W/`) an If-None-Match value lists, {"*"} for `*`, or
    None when it is no valid list (the header is then ignored)."""
    if header.strip(" \t") == "*":
        return {"*"}
    tags, position = set(), 0
    while True:
        match = _LIST_TAG.match(header, position)
        if match is None:
            return None
        if match.group(2):
            tags.add(match.group(2))
        if not match.group(3):
            return tags
        position = match.end()


def _none_match(headers: list[str] | None, etag: str) -> bool:
    """Whether If-None-Match (every such header, as one list) names the current representation:
    `*`, or its tag compared weakly (RFC 9110 §13.1.2)."""
    if not headers:
        return False
    tags = entity_tags(", ".join(headers))
    return tags is not None and ("*" in tags or etag.removeprefix("W/") in tags)


class PreviewServer(ThreadingHTTPServer):
    """The HTTP server on 127.0.0.1; `catalogue` is set once the port (and so the base URL) is
    known."""

    daemon_threads = True
    allow_reuse_port = False  # never share a port with another server
    request_queue_size = 64  # connections waiting to be accepted (a page's burst, not 5)
    catalogue: Catalogue

    def __init__(
        self,
        port: int,
        *,
        idle_timeout: float = IDLE_TIMEOUT,
        send_timeout: float = SEND_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        say: Callable[[str], None] = lambda line: None,
    ):
        super().__init__((HOST, port), PreviewHandler)
        self.idle_timeout, self.send_timeout, self.say = idle_timeout, send_timeout, say
        self._slots = threading.BoundedSemaphore(max_connections)
        bound = self.server_address[1]
        names = ("127.0.0.1", "localhost", "[::1]")  # no name a DNS answer could rebind
        self.host_names = frozenset(
            [f"{name}:{bound}" for name in names] + (list(names) if bound == 80 else [])
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"

    def process_request(self, request, client_address) -> None:
        """A thread for the connection while fewer than `max_connections` are open; else 503."""
        if not self._slots.acquire(blocking=False):
            try:
                request.setblocking(False)
                request.send(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                    b"Retry-After: 5\r\nConnection: close\r\n\r\n"
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (players do, all the time) is no error; anything else is."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def start(
    root: Path,
    *,
    port: int,
    include_scheduled: bool = False,
    check_every: float = 1.0,
    say: Callable[[str], None] = lambda line: None,
) -> PreviewServer:
    """Bind 127.0.0.1:`port` (0: a free port) and build what the preview serves, with every URL
    under the server's own address; the caller runs `serve_forever()`. Raises UsageError when the
    port is taken, ContentError when the network or a feed breaks a rule."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: not a port number (0–65535; 0 takes a free port)")
    try:
        server = PreviewServer(port, say=say)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {HOST}:{port}: {exc.strerror or exc}; "
            "choose another --port (0 takes a free port)"
        ) from exc
    try:
        server.catalogue = Catalogue(
            root, server.url, include_scheduled=include_scheduled, check_every=check_every, say=say
        )
    except BaseException:
        server.server_close()
        raise
    return server


def run(server: PreviewServer) -> None:
    """Serve until Ctrl-C (which ends it quietly), then close the socket."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def summary(server: PreviewServer) -> list[str]:
    """What is served, for the terminal: the feeds' URLs and the count of everything else."""
    objects = server.catalogue.last
    feeds = sorted(k for k, o in objects.items() if o.type.startswith("application/rss+xml"))
    lines = [f"feed: {server.url}{key}" for key in feeds]
    media = sum(1 for k in objects if k not in feeds)
    lines.append(f"{media} other objects (audio, images, chapters, pages)")
    return lines
