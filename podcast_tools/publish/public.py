"""`podcast check-public`: what a listener can read at ``base_url``, asked as a listener asks —
plain unsigned HTTP (urllib), no credentials, a timeout on every request.

It holds when:

- the publisher's state is not readable (401, 403, 404 or 410) — at the URL each state file would
  have if base_url reached the state location, and where older versions kept it (under base_url);
- every show's feed is readable: 200 with an RSS/XML Content-Type (a show that has no feed yet —
  no published episode, so the publisher feed does not name it — may answer 404);
- one enclosure per feed (the newest episode's) is readable as podcast apps read it: HEAD answered
  200 with the enclosure's type and its length as Content-Length, and ``Range: bytes=0-1``
  answered 206 with 2 bytes;
- a web player on another site may read it (CORS): the first feed that is there, asked with an
  `Origin` header as a browser sends it, answers with `Access-Control-Allow-Origin` allowing that
  origin (one check: a bucket's CORS rules, or a web server's headers, are the same for every
  object; `podcast storage setup` sets them on a bucket).

A connection failure (refused, timeout, unknown host) ends the check with one line naming the URL.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit
from xml.etree import ElementTree

from podcast_tools.content import Network
from podcast_tools.content.loader import feed_url
from podcast_tools.layout import PUBLISHER_FEED_KEY, feed_key, public_url, unmeasured_url
from podcast_tools.mediatypes import RSS_TYPE
from podcast_tools.publish.state import Locations, relative_url
from podcast_tools.publish.storage import StorageError, backend_for

TIMEOUT_S = 10.0
FEED_TYPES = (RSS_TYPE, "application/xml", "text/xml")
NOT_READABLE = (401, 403, 404, 410)
_PROBE_BYTES = 64 * 1024  # of a state file: enough to know it was served
_FEED_BYTES = 64 * 1024 * 1024
#: the Origin a web player's page sends (only ever sent as a header, never contacted)
WEB_PLAYER_ORIGIN = "https://web-player.example"


class UnreachableError(StorageError):
    """base_url (or a URL in a feed) did not answer at all."""

    def __init__(self, url: str, reason: str):
        self.url, self.reason = url, reason
        super().__init__(f"{url}: {reason}")


@dataclass(frozen=True)
class Finding:
    ok: bool
    kind: str  # "state", "feed", "enclosure", "cors" or "request"
    url: str
    seen: str

    def __str__(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'} {self.kind} {self.url}: {self.seen}"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def _ask(
    url: str, method: str = "GET", headers: dict | None = None, limit: int = _PROBE_BYTES
) -> _Answer:
    """One unsigned request; HTTP errors are answers, connection failures raise."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise UnreachableError(url, "not an http(s) URL; listeners cannot fetch it")
    request = urllib.request.Request(
        url, method=method, headers={"User-Agent": "podcast_tools check-public", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            body = response.read(limit) if method != "HEAD" else b""
            return _Answer(response.status, _lower(response.headers), body)
    except urllib.error.HTTPError as exc:
        with exc:
            return _Answer(exc.code, _lower(exc.headers), b"")
    except urllib.error.URLError as exc:
        reason = getattr(exc.reason, "strerror", None) or str(exc.reason)
        raise UnreachableError(url, f"cannot connect ({reason})") from None
    except TimeoutError:
        raise UnreachableError(url, f"cannot connect (no answer in {TIMEOUT_S:g} s)") from None
    except (http.client.HTTPException, OSError) as exc:
        raise UnreachableError(url, f"cannot connect ({type(exc).__name__}: {exc})") from None


def _lower(headers) -> dict[str, str]:
    return {name.lower(): value for name, value in (headers or {}).items()}


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def state_urls(network: Network, locations: Locations, base_url: str) -> list[str]:
    """Every URL at which a state file would be readable if the public area reached it."""
    feed = feed_key(next(iter(network.shows)))
    urls = []
    for name in backend_for(locations.state).state_files:
        url = relative_url(locations, base_url, name.format(feed=feed))
        if url is not None:
            urls.append(url)
    legacy = backend_for(locations.storage).legacy_files
    urls += [base_url + name.format(feed=feed) for name in legacy]
    return list(dict.fromkeys(urls))


def check_public(
    network: Network, locations: Locations, *, base_url: str | None = None
) -> list[Finding]:
    """Ask base_url what a listener can read; one finding per check (UnreachableError when a
    URL does not answer at all)."""
    base = base_url or network.settings.base_url
    base = base if base.endswith("/") else base + "/"
    published = network.settings.base_url

    prefixes = sorted({s.enclosure_prefix for s in network.shows.values() if s.enclosure_prefix})

    def at_base(url: str) -> str:
        # an enclosure through a measurement prefix is asked for where the store serves it (the
        # service only redirects there); feeds name their files under network.toml's base_url:
        # ask for them where we look
        for prefix in prefixes:
            url = unmeasured_url(prefix, url)
        return base + url.removeprefix(published) if url.startswith(published) else url

    down: set[str] = set()  # hosts that did not answer: said once, not asked again

    def answered(check, url: str) -> list[Finding]:
        """A check's findings; a URL that does not answer is one failed finding and the other
        checks still run (a readable state must never hide behind an unreachable feed)."""
        host = urlsplit(url).netloc
        if host in down:
            return []
        try:
            return check(url)
        except UnreachableError as exc:
            down.add(host)
            return [Finding(False, "request", exc.url, exc.reason)]

    findings: list[Finding] = []
    for url in state_urls(network, locations, base):
        findings += answered(lambda u: [_state(u)], url)
    feeds = [feed_url(base, show_id) for show_id in network.shows]
    listed = None  # the feeds publisher.xml names (a show gets one with its first episode)
    if network.settings.podcast_guid:  # the network's publisher feed (no items, no enclosure)
        publisher = public_url(base, PUBLISHER_FEED_KEY)
        findings += answered(lambda u: _feed(u, at_base, answered), publisher)
        listed = _listed_feeds(publisher, at_base)
    for url in feeds:
        if listed is not None and at_base(url) not in listed:  # no feed yet, or one to check
            findings += answered(lambda u: _unlisted_feed(u, at_base, answered), url)
            continue
        findings += answered(lambda u: _feed(u, at_base, answered), url)
    there = [f.url for f in findings if f.ok and f.kind == "feed" and f.seen.startswith("200 ")]
    if there:
        findings += answered(lambda u: [_cors(u)], there[0])
    return findings


def _cors(url: str) -> Finding:
    """Whether a page of another site may read the feed (and so the chapters and transcripts
    beside it): the answer to a GET with an Origin must allow that origin."""
    answer = _ask(url, headers={"Origin": WEB_PLAYER_ORIGIN}, limit=1024)
    allowed = answer.header("Access-Control-Allow-Origin").strip()
    if 200 <= answer.status < 300 and allowed in ("*", WEB_PLAYER_ORIGIN):
        return Finding(
            True,
            "cors",
            url,
            f"Access-Control-Allow-Origin: {allowed} (web players on other sites may fetch "
            "the feeds, chapters and transcripts)",
        )
    seen = (
        f"Access-Control-Allow-Origin: {allowed}" if allowed else "no Access-Control-Allow-Origin"
    )
    return Finding(
        False,
        "cors",
        url,
        f"{seen} for a page of another site, so web players cannot fetch the feeds, chapters or "
        "transcripts; run `podcast storage setup`",
    )


def _unlisted_feed(url: str, at_base, answered) -> list[Finding]:
    """A show publisher.xml does not name has no feed until its first episode: a store answers
    404 for it (403 where listeners may not list the bucket); a feed that is there is checked."""
    status = _ask(url, method="HEAD").status
    if status in NOT_READABLE:
        reason = (
            f"no feed yet ({status}): the show has no published episode (publisher.xml names none)"
        )
        return [Finding(True, "feed", url, reason)]
    return _feed(url, at_base, answered)


def _listed_feeds(publisher: str, at_base) -> set[str] | None:
    """The feed URLs (as asked at base_url) the publisher feed names; None when it cannot be
    read (its own finding says so)."""
    try:
        answer = _ask(publisher, limit=_FEED_BYTES)
        if answer.status != 200:
            return None
        root = ElementTree.fromstring(answer.body)
    except (UnreachableError, ElementTree.ParseError):
        return None
    items = root.iter("{https://podcastindex.org/namespace/1.0}remoteItem")
    return {at_base(item.get("feedUrl", "")) for item in items}


def _state(url: str) -> Finding:
    answer = _ask(url)
    if answer.status in NOT_READABLE:
        return Finding(True, "state", url, f"not readable ({answer.status})")
    if 200 <= answer.status < 300:
        return Finding(
            False, "state", url, f"readable ({answer.status}); listeners must not read it"
        )
    return Finding(False, "state", url, f"answered {answer.status}; expected 403 or 404")


def _feed(url: str, at_base, answered) -> list[Finding]:
    answer = _ask(url, limit=_FEED_BYTES)
    content_type = answer.header("Content-Type")
    if answer.status != 200:
        return [Finding(False, "feed", url, f"answered {answer.status}; expected 200")]
    if _media_type(content_type) not in FEED_TYPES:
        return [
            Finding(
                False,
                "feed",
                url,
                f"Content-Type {content_type or 'missing'}; expected {' or '.join(FEED_TYPES)}",
            )
        ]
    try:
        items = ElementTree.fromstring(answer.body).findall("./channel/item")
    except ElementTree.ParseError as exc:
        return [Finding(False, "feed", url, f"200 but not XML ({exc})")]
    found = [Finding(True, "feed", url, f"200 {content_type}, {len(items)} episode(s)")]
    enclosure = next((e for e in (item.find("enclosure") for item in items) if e is not None), None)
    if enclosure is not None:
        found += answered(lambda u: [_enclosure(u, enclosure)], at_base(enclosure.get("url", "")))
    return found


def _enclosure(url: str, enclosure: ElementTree.Element) -> Finding:
    expected_type = enclosure.get("type", "")
    expected_length = enclosure.get("length", "")
    head = _ask(url, method="HEAD")
    if head.status != 200:
        return Finding(False, "enclosure", url, f"HEAD answered {head.status}; expected 200")
    content_type, length = head.header("Content-Type"), head.header("Content-Length")
    if _media_type(content_type) != _media_type(expected_type):
        return Finding(
            False,
            "enclosure",
            url,
            f"HEAD Content-Type {content_type or 'missing'}; the feed says {expected_type}",
        )
    if length != expected_length:
        return Finding(
            False,
            "enclosure",
            url,
            f"HEAD Content-Length {length or 'missing'}; the feed says {expected_length}",
        )
    ranged = _ask(url, headers={"Range": "bytes=0-1"}, limit=1024)
    if ranged.status != 206 or len(ranged.body) != 2:
        return Finding(
            False,
            "enclosure",
            url,
            f"Range bytes=0-1 answered {ranged.status} with {len(ranged.body)} byte(s); "
            "expected 206 with 2 (podcast apps seek with ranges)",
        )
    return Finding(
        True,
        "enclosure",
        url,
        f"HEAD 200 {content_type}, {length} bytes as the feed says; Range bytes=0-1 → 206",
    )


def findings_or_unreachable(
    network: Network, locations: Locations, *, base_url: str | None = None
) -> list[Finding]:
    """check_public, with a URL that does not answer as one failed finding (after a publish,
    whose summary still stands)."""
    try:
        return check_public(network, locations, base_url=base_url)
    except UnreachableError as exc:
        return [Finding(False, "request", exc.url, exc.reason)]
