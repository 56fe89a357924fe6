"""The website's search: a Pagefind index of every episode's title, notes and transcript, built
with the site and published beside it (under `pagefind/`), searched in the listener's browser —
no server-side part.

Each episode is one document of the index (`SearchDocument`, given to Pagefind as HTML with the
URL of the episode's page): its title and notes, then each cue of its transcript under a heading
whose id is `t=<seconds>`. Pagefind makes each such heading a sub-result whose URL is the page's
with `#t=<seconds>`, so a hit in the transcript opens the episode at the cue where the words are
spoken (the page's script seeks its player there). One document per episode, not a custom record
per cue: Pagefind writes a file per record, and a network's hours of speech would be tens of
thousands of files to upload.

Pagefind (the `pagefind` package, its binary from `pagefind[bin]`) is a dependency; when it is
missing (`search_available()` is False) the site is built without an index and without a search
box, and everything else is the same. The index is one language, the first show's
(`force_language`): a listener searches every show from any page.

The documents go to the binary's service (`pagefind --service`, the protocol `pagefind.index`
speaks: base64 JSON messages ending in ","), one request and its answer at a time. Not through
`pagefind.index.PagefindIndex` itself: its reader waits 0.1 s before each answer, so an index of
a few thousand records took minutes. The index's files come back in the service's answer
(GetFiles), not written to a folder: it answers WriteFiles before its writes are done.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Self

from markupsafe import escape

from podcast_tools.errors import PodcastToolsError
from podcast_tools.mediatypes import JS_TYPE, JSON_TYPE

#: Where the index lives in the site (Pagefind's own default: its script finds the rest there).
SEARCH_FOLDER = "pagefind"
#: The script the search box loads (Pagefind's JavaScript API).
SEARCH_SCRIPT = f"{SEARCH_FOLDER}/pagefind.js"
#: Pagefind's files whose names carry their content's hash (cached for ever); the others keep
#: one name across builds (pagefind.js, its worker, the entry, the wasm) and are cached briefly.
_HASHED_FOLDERS = ("fragment/", "index/", "filter/")
#: What of Pagefind's output the site uses: its JavaScript API and the index (not its ready-made
#: interfaces: the site has its own search box, in its script).
_UNUSED_PREFIXES = ("pagefind-ui.", "pagefind-component-ui.", "pagefind-modular-ui.")
_UNUSED = {"pagefind-highlight.js"}
#: The longest an index may take to build before Pagefind is stopped (seconds).
INDEX_TIMEOUT_S = 600.0


class SearchError(PodcastToolsError):
    """Pagefind failed to build the index (one line: what it said)."""


@dataclass(frozen=True)
class SearchDocument:
    """One episode as the index holds it."""

    url: str  # of its page (absolute)
    title: str
    text: str  # its notes, as plain text
    show: str  # the title of its show, shown beside a hit
    #: Each cue of its transcript: (start in seconds, the time as people read it, its text)
    cues: tuple[tuple[float, str, str], ...] = ()

    def html(self, language: str) -> str:
        """The document as Pagefind reads it: the cues under headings whose ids are their
        times (`t=<seconds>`)."""
        parts = [
            f'<html lang="{escape(language)}"><body>',
            f'<h1 data-pagefind-meta="title">{escape(self.title)}</h1>',
            f'<meta data-pagefind-meta="show[content]" content="{escape(self.show)}">',
            f"<p>{escape(self.text)}</p>",
        ]
        for start, label, text in self.cues:
            parts.append(f'<h2 id="t={seconds_id(start)}">{escape(label)}</h2>')
            parts.append(f"<p>{escape(text)}</p>")
        return "".join(parts) + "</body></html>"


def seconds_id(seconds: float) -> str:
    """Seconds as `#t=` carries them (ms precision, no trailing zeros).

    >>> seconds_id(12.5), seconds_id(3.0), seconds_id(1.23456)
    ('12.5', '3', '1.235')
    """
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class SearchFile:
    """A file of the index, by its path under SEARCH_FOLDER."""

    name: str
    data: bytes
    type: str
    immutable: bool


def _executable() -> Path | None:
    try:
        from pagefind.service import get_executable
    except ImportError:
        return None
    executable = get_executable()
    return executable if executable is not None and executable.is_file() else None


def search_available() -> bool:
    """Pagefind and its binary are installed."""
    return _executable() is not None


def index_language(language: str) -> str:
    """The ISO 639-1 code Pagefind indexes in (a region is dropped: "en-au" → "en")."""
    return language.split("-")[0].lower() or "en"


def build_search_index(documents: list[SearchDocument], language: str) -> list[SearchFile]:
    """Pagefind's index of `documents` (in `language`), the files its JavaScript API reads.
    Raises SearchError when Pagefind is missing or fails."""
    executable = _executable()
    if executable is None:
        raise SearchError('search index: Pagefind is not installed (pip install "pagefind[bin]")')
    code = index_language(language)
    with tempfile.TemporaryDirectory(prefix="podcast-search-") as folder:
        with _Service(executable, Path(folder)) as service:
            config = {"force_language": code, "verbose": False}
            index_id = service.send({"type": "NewIndex", "config": config})["index_id"]
            for document in documents:
                service.send(
                    {
                        "type": "AddFile",
                        "index_id": index_id,
                        "url": document.url,
                        "file_path": None,
                        "file_contents": document.html(code),
                    }
                )
            # the files in the answer, not written to a folder: the service answers WriteFiles
            # before its writes are done, and ends them when it is closed
            written = service.send({"type": "GetFiles", "index_id": index_id})
        return _index_files(written.get("files") or [])


class _Service:
    """`pagefind --service`: one request, then its answer (never a pipe left full)."""

    def __init__(self, executable: Path, folder: Path):
        self.log = (folder / "pagefind.log").open("w+b")
        self.process = subprocess.Popen(
            [str(executable), "--service"],
            cwd=folder,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        self.watchdog = threading.Timer(INDEX_TIMEOUT_S, self.process.kill)
        self.watchdog.start()
        self.buffer = b""
        self.last_id = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.watchdog.cancel()
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.last_id += 1
        request = json.dumps({"message_id": self.last_id, "payload": payload}).encode()
        try:
            self.process.stdin.write(base64.b64encode(request) + b",")
            self.process.stdin.flush()
        except OSError:
            raise SearchError(f"search index (Pagefind): it stopped{self._said()}") from None
        while True:
            answer = self._answer()
            if answer is not None and answer.get("message_id") in (self.last_id, None):
                break
        result = answer.get("payload") or {}
        if result.get("type") == "Error":
            raise SearchError(f"search index (Pagefind): {result.get('message')}")
        return result

    def _answer(self) -> dict[str, Any] | None:
        assert self.process.stdout is not None
        while b"," not in self.buffer:
            chunk = self.process.stdout.read1(1 << 16)
            if not chunk:
                raise SearchError(f"search index (Pagefind): it stopped{self._said()}")
            self.buffer += chunk
        message, _, self.buffer = self.buffer.partition(b",")
        return json.loads(base64.b64decode(message))

    def _said(self) -> str:
        self.log.seek(0)
        lines = self.log.read().decode("utf-8", "replace").strip().splitlines()
        return f": {lines[-1]}" if lines else ""


def _index_files(answer: list[dict[str, Any]]) -> list[SearchFile]:
    """The files of the service's answer (each {"path", "content": base64}) the site uses."""
    try:
        found = {
            PurePosixPath(file["path"]).as_posix().lstrip("/"): base64.b64decode(file["content"])
            for file in answer
        }
        entry = json.loads(found["pagefind-entry.json"])
        wasm = {f"wasm.{language['wasm']}.pagefind" for language in entry["languages"].values()}
    except (ValueError, KeyError, TypeError) as exc:
        raise SearchError(f"search index (Pagefind): no entry it can read ({exc})") from None
    files = []
    for name, data in sorted(found.items()):
        if name in _UNUSED or name.startswith(_UNUSED_PREFIXES) or ".." in name.split("/"):
            continue
        if name.startswith("wasm.") and name not in wasm:
            continue  # the stemmer of a language the index does not hold
        immutable = name.startswith(_HASHED_FOLDERS) or name.endswith(".pf_meta")
        files.append(SearchFile(name, data, _type(name), immutable))
    if not any(file.name == "pagefind.js" for file in files):
        raise SearchError("search index (Pagefind): it wrote no pagefind.js")
    return files


def _type(name: str) -> str:
    if name.endswith(".js"):
        return JS_TYPE
    if name.endswith(".json"):
        return JSON_TYPE
    return "application/octet-stream"  # the index and wasm: gzip data Pagefind unpacks itself
