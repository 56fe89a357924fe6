"""An RSS feed from another host, read safely into plain data.

The XML parser expands no entities, loads no DTD and reaches no network, so a hostile feed can
neither read local files (XXE) nor explode in memory (billion laughs). Elements are matched by
namespace URI, not prefix (hosts spell prefixes as they like), and both URIs the Podcasting 2.0
namespace has had are read.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from html.entities import name2codepoint
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from lxml import etree

from podcast_tools.content.timecode import parse_timecode
from podcast_tools.errors import ContentError, Problem

ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
PODCAST = (
    "https://podcastindex.org/namespace/1.0",
    "https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md",
)
#: The largest feed read (a 10,000-episode feed with full notes is ~30 MB).
FEED_LIMIT_BYTES = 64 * 1024 * 1024
USER_AGENT = "podcast_tools-import (+https://github.com/podcast-tools)"
TIMEOUT_S = 30.0
#: The only URL schemes fetched: a feed names files, and file://, ftp:// or data: would copy a
#: local file or an internal resource into the network (and publish it).
WEB_SCHEMES = ("http", "https")


def is_web_url(url: str) -> bool:
    """True for an http(s) URL with a host (what the importer fetches)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc)


class RedirectRefused(urllib.error.URLError):
    """A redirect to a scheme other than http(s)."""

    def __init__(self, target: str) -> None:
        super().__init__(f"redirected to {target!r}: only http and https are fetched")
        self.target = target


class _WebRedirects(urllib.request.HTTPRedirectHandler):
    def http_error_302(self, req, fp, code, msg, headers):
        target = headers.get("location") or headers.get("uri")
        if target is not None and not is_web_url(urljoin(req.full_url, target)):
            fp.close()
            raise RedirectRefused(target)
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not is_web_url(newurl):
            raise RedirectRefused(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def web_opener() -> urllib.request.OpenerDirector:
    """An opener for http and https only: no file, ftp or data handler (`build_opener` always
    adds those), and redirects followed only to http(s)."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _WebRedirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


OPENER = web_opener()


@dataclass(frozen=True)
class Person:
    name: str
    role: str | None = None
    group: str | None = None
    href: str | None = None
    img: str | None = None


@dataclass(frozen=True)
class Link:
    """A linked file (chapters, transcript, image) and its media type as the feed gave it."""

    url: str
    type: str = ""
    language: str = ""


@dataclass
class FeedItem:
    """One <item>, as written (guid stripped of the whitespace around it, nothing else)."""

    index: int  # position in the feed, 0 first
    title: str
    guid: str | None
    guid_from_enclosure: bool = False
    date: datetime | None = None
    date_text: str = ""
    enclosure: Link | None = None
    enclosure_length: int = 0
    duration_s: float | None = None
    number: int | None = None
    season: int | None = None
    type: str = "full"
    explicit: bool | None = None
    notes_html: str = ""
    image: str | None = None
    chapters: Link | None = None
    transcripts: list[Link] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)


@dataclass
class FeedChannel:
    """The <channel>'s settings (None: the feed says nothing)."""

    title: str | None = None
    description_html: str = ""
    link: str | None = None
    language: str | None = None
    author: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    category: list[str] = field(default_factory=list)
    explicit: bool | None = None
    image: str | None = None
    type: str | None = None
    copyright: str | None = None
    podcast_guid: str | None = None
    locked: bool | None = None
    block: bool | None = None
    complete: bool | None = None
    medium: str | None = None
    new_feed_url: str | None = None
    locked_owner: str | None = None
    funding: list[tuple[str, str]] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)


@dataclass
class Feed:
    source: str  # the URL or the file as given
    url: str | None  # where the feed lives (its URL, else its atom:link rel="self")
    channel: FeedChannel
    items: list[FeedItem]


def read_source(source: str) -> bytes:
    """The feed's bytes from an http(s) URL or a file (ContentError in one line if neither)."""
    if is_web_url(source):
        request = urllib.request.Request(source, headers={"User-Agent": USER_AGENT})
        try:
            with OPENER.open(request, timeout=TIMEOUT_S) as response:
                data = response.read(FEED_LIMIT_BYTES + 1)
        except OSError as exc:  # URLError, HTTPError, timeouts
            raise _problem(source, f"cannot fetch the feed: {_reason(exc)}") from None
    else:
        try:
            with Path(source).open("rb") as handle:
                data = handle.read(FEED_LIMIT_BYTES + 1)
        except OSError as exc:
            raise _problem(source, f"cannot read the feed: {exc.strerror or exc}") from None
    if len(data) > FEED_LIMIT_BYTES:
        raise _problem(source, f"is over {FEED_LIMIT_BYTES // 2**20} MB; no feed is that large")
    return data


def _reason(exc: OSError) -> str:
    code = getattr(exc, "code", None)
    if code is not None:
        return f"HTTP {code} {getattr(exc, 'reason', '')}".strip()
    return str(getattr(exc, "reason", None) or exc.strerror or exc)


def _problem(source: str, message: str, field_name: str = "") -> ContentError:
    return ContentError([Problem(source, field_name, message)])


def parse_feed(data: bytes, source: str) -> Feed:
    """The feed in `data` (read from `source`), or ContentError: not a feed, no items."""
    root = _parse_xml(data, source)
    if etree.QName(root).localname != "rss" or root.find("channel") is None:
        name = etree.QName(root).localname
        raise _problem(source, f"is not an RSS feed (its document is <{name}>, not <rss>)")
    channel = root.find("channel")
    items = [_item(element, index) for index, element in enumerate(channel.findall("item"))]
    if not items:
        raise _problem(source, "is a feed with no items: nothing to import")
    self_link = next(
        (
            link.get("href")
            for link in channel.findall("{http://www.w3.org/2005/Atom}link")
            if link.get("rel") == "self" and link.get("href")
        ),
        None,
    )
    url = source if is_web_url(source) else self_link
    return Feed(source=source, url=url, channel=_channel(channel), items=items)


def _parse_xml(data: bytes, source: str) -> etree._Element:
    try:
        return _parser_result(data)
    except etree.XMLSyntaxError as exc:
        # real feeds carry a stray "&" or an undeclared &nbsp;: those are rewritten into what
        # they mean and the feed parsed strictly again (a recovering parser would drop every
        # &amp; &lt; &gt; of the text); anything else (an entity bomb refused by libxml2, a page
        # that is no XML) stays refused
        if not _LENIENT_ERRORS.search(exc.msg or ""):
            raise _problem(source, f"is not an RSS feed that can be read ({exc.msg})") from None
    try:
        return _parser_result(entities_fixed(data))
    except etree.XMLSyntaxError as exc:
        raise _problem(source, f"is not an RSS feed (not XML: {exc.msg})") from None


_LENIENT_ERRORS = re.compile(
    r"Entity '[^']*' not defined|EntityRef: expecting ';'|xmlParseEntityRef"
)
_XML_ENTITIES = {b"amp", b"lt", b"gt", b"quot", b"apos"}
_REFERENCE = re.compile(rb"&(?:#[0-9]+;|#[xX][0-9a-fA-F]+;|([A-Za-z_][A-Za-z0-9._-]*);)?")
_VERBATIM = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->", re.DOTALL)


def entities_fixed(data: bytes) -> bytes:
    """`data` with each HTML named entity (&nbsp;, &eacute;) as a numeric character reference
    and a stray "&" (one that starts no reference) as &amp; — outside CDATA and comments. The
    five XML entities, numeric references and entities the document declares are kept."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data  # UTF-16: left to the parser as it is
    declared = set(re.findall(rb"<!ENTITY\s+([A-Za-z_][A-Za-z0-9._-]*)", data))

    def reference(match: re.Match[bytes]) -> bytes:
        name = match.group(1)
        if match.group(0) == b"&":
            return b"&amp;"
        if name is None or name in _XML_ENTITIES or name in declared:
            return match.group(0)
        codepoint = name2codepoint.get(name.decode("ascii"))
        if codepoint is not None:
            return b"&#%d;" % codepoint
        return b"&amp;" + name + b";"  # an unknown name: kept as the text it is

    parts = []
    last = 0
    for verbatim in _VERBATIM.finditer(data):
        parts.append(_REFERENCE.sub(reference, data[last : verbatim.start()]))
        parts.append(verbatim.group(0))
        last = verbatim.end()
    parts.append(_REFERENCE.sub(reference, data[last:]))
    return b"".join(parts)


def _parser_result(data: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=False,
        remove_comments=True,
        remove_pis=True,
    )
    root = etree.fromstring(data, parser)
    if root is None:
        raise etree.XMLSyntaxError("no XML document in it", None, 0, 0)
    return root


# --- reading elements ---------------------------------------------------------------------


def _children(parent: etree._Element, namespaces: str | tuple[str, ...], name: str) -> list:
    spaces = (namespaces,) if isinstance(namespaces, str) else namespaces
    found = []
    for child in parent:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        if qname.localname == name and (qname.namespace or "").lower() in [
            s.lower() for s in spaces
        ]:
            found.append(child)
    return found


def inner_text(element: etree._Element) -> str:
    """An element's text, its children's included, without unexpanded entity references
    (`itertext` would give "&x;", XPath's string() would expand it)."""
    parts = [element.text or ""]
    for child in element:
        if isinstance(child.tag, str):
            parts.append(inner_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _text(parent: etree._Element, namespace: str | tuple[str, ...], name: str) -> str | None:
    for child in _children(parent, namespace, name):
        text = inner_text(child).strip()
        if text:
            return text
    return None


def _plain(parent: etree._Element, name: str) -> str | None:
    return _text(parent, ("",), name)


def _attr(parent, namespace, name: str, attribute: str) -> str | None:
    for child in _children(parent, namespace, name):
        value = (child.get(attribute) or "").strip()
        if value:
            return value
    return None


def _yes_no(text: str | None) -> bool | None:
    if text is None:
        return None
    word = text.strip().lower()
    if word in ("yes", "true", "explicit"):
        return True
    if word in ("no", "false", "clean"):
        return False
    return None


def _int(text: str | None) -> int | None:
    if text is None or not re.fullmatch(r"\s*\d+\s*", text):
        return None
    value = int(text)
    return value if value >= 1 else None


def parse_date(text: str | None) -> datetime | None:
    """An RFC 822 date as feeds write it (or ISO 8601, as some do), in UTC when it names no zone.

    >>> parse_date("Tue, 03 Mar 2020 09:00:00 -0500").isoformat()
    '2020-03-03T09:00:00-05:00'
    >>> parse_date("2021-06-01T10:00:00Z").isoformat()
    '2021-06-01T10:00:00+00:00'
    >>> parse_date("soon") is None
    True
    """
    if not text:
        return None
    try:
        when = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def _duration(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return parse_timecode(text)
    except ValueError:
        return None


def _persons(parent: etree._Element) -> list[Person]:
    return [
        Person(
            name=inner_text(element).strip(),
            role=element.get("role"),
            group=element.get("group"),
            href=element.get("href"),
            img=element.get("img"),
        )
        for element in _children(parent, PODCAST, "person")
        if inner_text(element).strip()
    ]


def _channel(channel: etree._Element) -> FeedChannel:
    owner = next(iter(_children(channel, ITUNES, "owner")), None)
    category: list[str] = []
    first = next(iter(_children(channel, ITUNES, "category")), None)
    if first is not None and first.get("text"):
        category.append(first.get("text").strip())
        sub = next(iter(_children(first, ITUNES, "category")), None)
        if sub is not None and sub.get("text"):
            category.append(sub.get("text").strip())
    image = _attr(channel, ITUNES, "image", "href")
    if image is None:
        rss_image = channel.find("image")
        image = _plain(rss_image, "url") if rss_image is not None else None
    summary = _text(channel, ITUNES, "summary") or ""
    description = _raw(channel, ("",), "description")
    locked = next(iter(_children(channel, PODCAST, "locked")), None)
    return FeedChannel(
        title=_plain(channel, "title"),
        description_html=description if len(description) >= len(summary) else summary,
        link=_plain(channel, "link"),
        language=_plain(channel, "language"),
        author=_text(channel, ITUNES, "author"),
        owner_name=_text(owner, ITUNES, "name") if owner is not None else None,
        owner_email=_text(owner, ITUNES, "email") if owner is not None else None,
        category=category,
        explicit=_yes_no(_text(channel, ITUNES, "explicit")),
        image=image,
        type=(_text(channel, ITUNES, "type") or "").lower() or None,
        copyright=_plain(channel, "copyright"),
        podcast_guid=_text(channel, PODCAST, "guid"),
        locked=_yes_no(inner_text(locked)) if locked is not None else None,
        block=_yes_no(_text(channel, ITUNES, "block")),
        new_feed_url=_text(channel, ITUNES, "new-feed-url"),
        locked_owner=(locked.get("owner") or None) if locked is not None else None,
        complete=_yes_no(_text(channel, ITUNES, "complete")),
        medium=_text(channel, PODCAST, "medium"),
        funding=[
            (element.get("url").strip(), inner_text(element).strip())
            for element in _children(channel, PODCAST, "funding")
            if element.get("url")
        ],
        persons=_persons(channel),
    )


def _raw(parent: etree._Element, namespace, name: str) -> str:
    """An element's content as text (CDATA and escaped HTML alike read as the HTML they hold)."""
    for child in _children(parent, namespace, name):
        if len(child):  # HTML written as XML elements inside (rare, but real)
            inner = (child.text or "") + "".join(
                etree.tostring(element, encoding="unicode") for element in child
            )
        else:
            inner = child.text or ""
        if inner.strip():
            return inner.strip()
    return ""


def _item(element: etree._Element, index: int) -> FeedItem:
    enclosure = element.find("enclosure")
    link = None
    length = 0
    if enclosure is not None and (enclosure.get("url") or "").strip():
        link = Link(url=enclosure.get("url").strip(), type=(enclosure.get("type") or "").strip())
        length = _int(enclosure.get("length")) or 0
    guid = _plain(element, "guid")
    date_text = _plain(element, "pubDate") or ""
    notes = max(
        (
            _raw(element, CONTENT, "encoded"),
            _raw(element, ("",), "description"),
            _raw(element, ITUNES, "summary"),
        ),
        key=len,  # the richest; on a tie the first (content:encoded)
    )
    chapters = next(
        (
            Link(url=c.get("url").strip(), type=c.get("type") or "")
            for c in _children(element, PODCAST, "chapters")
            if c.get("url")
        ),
        None,
    )
    return FeedItem(
        index=index,
        title=_plain(element, "title") or _text(element, ITUNES, "title") or "",
        guid=guid,
        date=parse_date(date_text),
        date_text=date_text,
        enclosure=link,
        enclosure_length=length,
        duration_s=_duration(_text(element, ITUNES, "duration")),
        number=_int(_text(element, ITUNES, "episode")),
        season=_int(_text(element, ITUNES, "season")),
        type=(_text(element, ITUNES, "episodeType") or "full").lower(),
        explicit=_yes_no(_text(element, ITUNES, "explicit")),
        notes_html=notes,
        image=_attr(element, ITUNES, "image", "href"),
        chapters=chapters,
        transcripts=[
            Link(
                url=t.get("url").strip(), type=t.get("type") or "", language=t.get("language") or ""
            )
            for t in _children(element, PODCAST, "transcript")
            if t.get("url")
        ],
        persons=_persons(element),
    )
