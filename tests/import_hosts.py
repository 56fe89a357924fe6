"""Podcast hosts on 127.0.0.1 for the import tests: a host fixture's feed (tests/fixtures/import/)
with every URL it links to rewritten to a local HTTP server that serves generated files for them
— MP3s with ID3 tags (CHAP frames in one), artwork, chapters JSON, transcripts — and follows the
measurement prefixes (podtrac, op3, chartable, Anchor's play URLs) as the real ones do: redirects.

Faults a real server shows are switchable: no Range support, a 404, a connection cut mid-body,
a redirect to anywhere (file://, ftp://: what a hostile host sends), a body without
Content-Length.
Never the internet: a URL the fixture names that nobody generated a file for is a 404.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from podcast_tools import ffmpeg

FIXTURES = Path(__file__).parent / "fixtures" / "import"
#: Libsyn, Spotify for Creators (Anchor), Buzzsprout, Podbean, Castopod, and WordPress with
#: PowerPress and with Seriously Simple Podcasting.
HOSTS = ("libsyn", "anchor", "buzzsprout", "podbean", "castopod", "powerpress", "ssp")
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST = "https://podcastindex.org/namespace/1.0"
#: Measurement prefixes: the path after them is where they redirect to.
_PREFIXES = (
    re.compile(r"^/dts\.podtrac\.com/redirect\.mp3/(.*)$"),
    re.compile(r"^/op3\.dev/e/(.*)$"),
    re.compile(r"^/chrt\.fm/track/[^/]+/(.*)$"),
)
_ANCHOR = re.compile(r"^/anchor\.fm/s/[^/]+/podcast/play/\d+/(https?%3A%2F%2F.*)$")


@dataclass
class Host:
    """The server's state: files by raw path (no query), faults, and what was asked."""

    files: dict[str, bytes] = field(default_factory=dict)
    ranges: bool = True
    cuts: dict[str, int] = field(default_factory=dict)  # path → how many more bodies to cut
    redirects: dict[str, str] = field(default_factory=dict)  # path → any Location (a hostile one)
    no_length: set[str] = field(default_factory=set)  # paths sent without Content-Length
    # path → the body served after a cut (a host that inserts ads per request: other bytes)
    changes: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    base: str = ""

    def rewrite(self, url: str) -> str:
        return re.sub(r"^https?://", self.base + "/", url)

    def resolve(self, path: str) -> str | None:
        """Where a measurement prefix redirects `path` to (None: it is no prefix)."""
        for pattern in _PREFIXES:
            match = pattern.match(path)
            if match:
                return "/" + match.group(1)
        match = _ANCHOR.match(path)
        if match:
            return self.rewrite(unquote(match.group(1)))[len(self.base) :]
        return None

    def final_path(self, url: str) -> str:
        path = url[len(self.base) :].split("?", 1)[0]
        while (target := self.resolve(path)) is not None:
            path = target.split("?", 1)[0]
        return path


def _handler(host: Host):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            raw, _, query = self.path.partition("?")
            host.requests.append((raw, self.headers.get("Range")))
            target = host.redirects.get(raw) or host.resolve(raw)
            if target is not None:
                self.send_response(302)
                self.send_header("Location", target + (f"?{query}" if query else ""))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = host.files.get(raw)
            if body is None:
                self.send_error(404, "Not Found")
                return
            start = 0
            wanted = self.headers.get("Range")
            etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
            if self.headers.get("If-Range") not in (None, etag):
                wanted = None  # the file changed since: all of it
            if wanted and host.ranges:
                start = int(re.match(r"bytes=(\d+)-", wanted).group(1))
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            rest = body[start:]
            if raw in host.no_length:  # the body ends where the connection does
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", str(len(rest)))
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("ETag", etag)
            self.end_headers()
            if host.cuts.get(raw, 0) > 0:
                host.cuts[raw] -= 1
                if raw in host.changes:
                    host.files[raw] = host.changes.pop(raw)
                self.wfile.write(rest[: len(rest) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(rest)

    return Handler


class HostServer:
    def __init__(self) -> None:
        self.host = Host()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.host))
        self.server.daemon_threads = True
        self.host.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the files a fixture links to ------------------------------------------------------------


def tone_mp3(folder: Path, frequency: int, seconds: float = 2.0) -> bytes:
    """A short mono MP3 (32 kbps), no tags."""
    path = folder / f"tone-{frequency}.mp3"
    if not path.exists():
        ffmpeg.run(
            [
                "-f", "lavfi", "-i", f"sine=frequency={frequency}:sample_rate=22050:duration={seconds}",
                "-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k", "-y", ffmpeg.input_url(path),
            ],
            about=path,
        )  # fmt: skip
    return path.read_bytes()


def tagged(mp3: bytes, title: str, chapters: list[tuple[int, str]] | None = None) -> bytes:
    """`mp3` with an ID3v2.3 tag (title, and CHAP frames at the given milliseconds)."""
    from mutagen.id3 import CHAP, CTOC, ID3, TIT2, WXXX, CTOCFlags

    buffer = io.BytesIO(mp3)
    tags = ID3()
    tags.add(TIT2(encoding=3, text=[title]))
    if chapters:
        ids = [f"ch{index}" for index in range(len(chapters))]
        ends = [start for start, _ in chapters[1:]] + [2000]
        for element, (start, name), end in zip(ids, chapters, ends):
            tags.add(
                CHAP(
                    element_id=element,
                    start_time=start,
                    end_time=end,
                    sub_frames=[
                        TIT2(encoding=3, text=[name]),
                        WXXX(encoding=3, desc="", url="https://example.org/chapter"),
                    ],
                )
            )
        tags.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[],
            )
        )
    tags.save(buffer, v2_version=3)
    return buffer.getvalue()


def image_bytes(kind: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1400, 1400), (200, 90, 40)).save(buffer, format=kind)
    return buffer.getvalue()


CHAPTERS_JSON = (
    b'{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Cold open"},'
    b' {"startTime": 1.5, "title": "The story", "url": "https://example.org/story"},'
    b' {"startTime": 1.8, "title": "hidden", "toc": false}]}'
)
SRT = b"1\n00:00:00,000 --> 00:00:01,500\nHello and welcome.\n\n2\n00:00:01,500 --> 00:00:02,000\nBye.\n"
VTT = b"WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello and welcome.\n\n00:00:01.500 --> 00:00:02.000\nBye.\n"


def serve_fixture(server: HostServer, name: str, audio: Path, *, xml: str | None = None) -> str:
    """Serve host fixture `name` (or the feed text `xml`) and every file it links to; return
    the feed's local URL."""
    host = server.host
    text = xml if xml is not None else (FIXTURES / f"{name}.xml").read_text(encoding="utf-8")
    text = re.sub(
        r'((?:url|href|img)=["\'])https?://', lambda m: m.group(1) + host.base + "/", text
    )
    text = re.sub(r"<url>https?://", f"<url>{host.base}/", text)
    root = etree.fromstring(text.encode("utf-8"))
    for index, enclosure in enumerate(root.iter("enclosure")):
        path = host.final_path(enclosure.get("url"))
        chapters = [(0, "Welcome"), (1000, "Main part")] if "SDC012" in path else None
        mp3 = tagged(tone_mp3(audio, 330 + 110 * (index % 4)), f"{name} {path}", chapters)
        host.files[path] = mp3
        if enclosure.get("length") != "0":
            text = text.replace(
                f'length="{enclosure.get("length")}" type="audio/mpeg" url="{enclosure.get("url")}"',
                f'length="{len(mp3)}" type="audio/mpeg" url="{enclosure.get("url")}"',
            ).replace(
                f'url="{enclosure.get("url")}" length="{enclosure.get("length")}"',
                f'url="{enclosure.get("url")}" length="{len(mp3)}"',
            )
    for element in root.iter(f"{{{ITUNES}}}image"):
        path = host.final_path(element.get("href"))
        host.files[path] = image_bytes("PNG" if path.endswith(".png") else "JPEG")
    for element in root.iter("url"):
        path = host.final_path(element.text)
        host.files[path] = image_bytes("PNG" if path.endswith(".png") else "JPEG")
    for element in root.iter(f"{{{PODCAST}}}chapters"):
        host.files[host.final_path(element.get("url"))] = CHAPTERS_JSON
    for element in root.iter(f"{{{PODCAST}}}transcript"):
        kind = element.get("type")
        body = {"text/vtt": VTT, "application/x-subrip": SRT}.get(kind, b"<p>Hello</p>")
        host.files[host.final_path(element.get("url"))] = body
    feed_path = f"/feeds/{name}.xml"
    host.files[feed_path] = text.encode("utf-8")
    return host.base + feed_path
