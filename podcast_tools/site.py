"""The listeners' website: a static page for the network, each show and each episode, built from
the same records the feeds are built from (`podcast_tools.record`).

Every episode fact comes from its record — the audio files, duration and type, the notes, the
chapter times and image keys, the transcript and image keys (`EpisodeRecord.media`,
`chapter_times`, `chapter_images`, `transcript`) and the front matter as recorded
(`EpisodeRecord.episode`) — so a page says what the feed says. The few things a record names by
key only (the chapters JSON with the chapter titles, the transcript's text) are read from the
files the record was built with, matched by their content-addressed key, never worked out again.

Pages are Jinja2 templates (`templates/site/*.html.j2`), found along the same chain as the show
notes' (`notes.template_environment`): the show's folder, its parents', the network's, the
built-in ones. The stylesheet and script (`site/site.css`, `site/site.js`) are found the same way
and published under keys that carry their hash, so they can be cached for ever.

Deterministic: the same records, artwork, base URL and `now` give the same bytes (stable order;
`now` only decides what is scheduled and appears nowhere). Every URL is absolute under the base
URL, so a local preview builds the same pages under its own address.
"""

from __future__ import annotations

import functools
import html
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
import nh3
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.units import format_unit
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from podcast_tools.artwork import site_icons
from podcast_tools.content import Episode, Network, Show, feed_url
from podcast_tools.errors import ContentError, Problem
from podcast_tools.layout import (
    FAVICON_KEY,
    SITE_INDEX_KEY,
    content_hash,
    episode_page_key,
    episode_page_url,
    measured_url,
    page_show,
    public_url,
    show_page_key,
    site_asset_key,
)
from podcast_tools.mediatypes import (
    CSS_TYPE,
    HTML_TYPE,
    ICO_TYPE,
    JS_TYPE,
    PNG_TYPE,
    TRANSCRIPT_TYPES,
)
from podcast_tools.notes import NotesError, sanitise, template_environment
from podcast_tools.record import Asset, EpisodeRecord, artwork_asset, build_record
from podcast_tools.search import (
    SEARCH_FOLDER,
    SEARCH_SCRIPT,
    SearchDocument,
    build_search_index,
    search_available,
    seconds_id,
)
from podcast_tools.transcript import Cue, TranscriptError, transcript_cues

#: Episodes per page of a show's list (page 1 is the show's page, then page/2/, page/3/ …).
PAGE_SIZE = 20
#: What an episode's page embeds of its transcript: its first cues, up to this many characters
#: of text (about four hours of speech) or this many cues, whichever comes first; a longer one is
#: linked in full ("Full transcript"), so a page stays under a megabyte whatever the file holds.
TRANSCRIPT_PAGE_CHARS = 250_000
TRANSCRIPT_PAGE_CUES = 4_000

#: How the subscribe links name the directories a show lists in `platforms`; another name is
#: shown as written.
PLATFORM_LABELS = {
    "apple": "Apple Podcasts",
    "spotify": "Spotify",
    "youtube": "YouTube",
    "youtube-music": "YouTube Music",
    "amazon": "Amazon Music",
    "audible": "Audible",
    "pocket-casts": "Pocket Casts",
    "pocketcasts": "Pocket Casts",
    "overcast": "Overcast",
    "castro": "Castro",
    "castbox": "Castbox",
    "podcast-addict": "Podcast Addict",
    "podcastaddict": "Podcast Addict",
    "antennapod": "AntennaPod",
    "fountain": "Fountain",
    "podverse": "Podverse",
    "goodpods": "Goodpods",
    "deezer": "Deezer",
    "iheart": "iHeartRadio",
    "tunein": "TuneIn",
    "podcast-index": "Podcast Index",
    "podcastindex": "Podcast Index",
}

TEMPLATES = {
    "index": "site/index.html.j2",
    "show": "site/show.html.j2",
    "episode": "site/episode.html.j2",
}
STYLESHEET = "site/site.css"
SCRIPT = "site/site.js"
TRANSCRIPT_LABELS = {
    TRANSCRIPT_TYPES[".srt"]: "SubRip (SRT)",
    TRANSCRIPT_TYPES[".vtt"]: "WebVTT",
    TRANSCRIPT_TYPES[".json"]: "JSON",
    TRANSCRIPT_TYPES[".txt"]: "plain text",
}


@dataclass(frozen=True)
class SitePage:
    """One file of the website, as published under the storage prefix."""

    key: str  # "index.html", "<show>/index.html", "<show>/page/<n>/index.html",
    # "<show>/<slug>.html", "assets/site-<sha256[:12]>.css", "assets/site-<sha256[:12]>.js"
    data: bytes
    type: str  # Content-Type
    immutable: bool  # True: a content-addressed asset (cache for ever); False: a page


# --- what the templates are given ------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    url: str
    label: str


@dataclass(frozen=True)
class AudioSource:
    url: str  # through the show's measurement prefix (enclosure_prefix), if it has one
    type: str
    label: str  # the format as people read it, e.g. "MP3"
    bytes: int
    direct: str = ""  # the file's own URL, never measured (og:audio, JSON-LD); default: url

    @property
    def size(self) -> str:
        return file_size(self.bytes)


@dataclass(frozen=True)
class Head:
    """What a page's <head> says about it."""

    title: str
    description: str
    url: str  # canonical
    lang: str
    og_type: str
    image: str | None
    feeds: tuple[Link, ...]  # RSS autodiscovery
    json_ld: Markup  # escaped for a <script> element
    stylesheet: str
    script: str
    icon: str | None = None  # the site's icon (PNG), made from a show's artwork
    audio: AudioSource | None = None  # og:audio
    published: str | None = None  # article:published_time


@dataclass(frozen=True)
class NetworkView:
    name: str
    description: str
    url: str  # the network's page on this site
    website: str | None  # network.toml's link


@dataclass(frozen=True)
class ShowView:
    id: str
    title: str
    description: str
    summary: str  # a line or two
    url: str  # its page
    feed_url: str
    podcast_url: str  # the feed for Podcasting 2.0 apps (podcast://)
    artwork_url: str | None
    language: str
    author: str
    website: str | None
    copyright: str | None
    explicit: bool
    platforms: tuple[Link, ...]
    hosts: tuple[str, ...] = ()  # people with role host, else the show's author
    moved_to: str | None = None  # the show moved away: its feed at the new host


@dataclass(frozen=True)
class ChapterView:
    start: str  # seconds, as data-start and #t= carry them
    time: str  # as people read it
    title: str
    url: str | None
    image_url: str | None


@dataclass(frozen=True)
class CueView:
    start: str
    time: str
    text: str
    speaker: str | None


@dataclass(frozen=True)
class TranscriptView:
    url: str
    type: str
    label: str
    cues: tuple[CueView, ...]  # empty for a plain-text transcript: it is linked
    complete: bool = True  # False: `cues` are the beginning only (see TRANSCRIPT_PAGE_CHARS)
    machine: bool = False  # made by speech recognition: the page says it may hold errors
    #: (start, text) of each cue the page embeds, for the search index
    said: tuple[tuple[float, str], ...] = ()


@dataclass(frozen=True)
class PersonView:
    name: str
    role: str
    href: str | None


@dataclass(frozen=True)
class EpisodeView:
    guid: str
    key: str
    url: str
    title: str
    date: datetime
    date_text: str
    duration_s: float
    duration_text: str
    duration_iso: str
    numbering: str  # "Season 1 · Episode 2", "Bonus" …, or ""
    explicit: bool
    summary: str  # a line or two
    image_url: str | None  # the episode's own image, else its show's artwork
    image_alt: str
    audio: tuple[AudioSource, ...]  # the player's sources, smallest file first
    download: AudioSource  # the feed's enclosure (MP3): what every player can play
    downloads: tuple[AudioSource, ...]  # every published format, the enclosure first (feed order)
    notes: Markup  # the record's sanitised notes
    chapters: tuple[ChapterView, ...]
    transcript: TranscriptView | None
    persons: tuple[PersonView, ...]
    show: ShowView  # the show whose folder holds its page
    also_in: tuple[ShowView, ...] = ()
    text: str = ""  # the notes' plain text (what search finds besides the title and transcript)
    number: int | None = None  # its episode number in the show of its page
    season: int | None = None  # its season there


@dataclass(frozen=True)
class Pagination:
    number: int
    count: int
    previous: str | None  # URL of the newer page
    next: str | None  # URL of the older page
    pages: tuple[Link, ...]


# --- small pure helpers ----------------------------------------------------------------------


def seconds_attr(seconds: float) -> str:
    """Seconds as `data-start` and `#t=` carry them (ms precision, no trailing zeros).

    >>> seconds_attr(6.94), seconds_attr(0.0), seconds_attr(15.2704)
    ('6.94', '0', '15.27')
    """
    return seconds_id(seconds)


def clock(seconds: float) -> str:
    """A position as people read it: MM:SS, or H:MM:SS from an hour on.

    >>> clock(6.94), clock(75), clock(3723.4)
    ('00:07', '01:15', '1:02:03')
    """
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def whole_seconds(seconds: float) -> int:
    """A length in whole seconds as a browser's player shows it: a second begun is not counted
    (29.96 s plays as 0:29). The one rounding of every length a page shows or states.

    >>> whole_seconds(29.96), whole_seconds(30.0), whole_seconds(-0.2)
    (29, 30, 0)
    """
    return max(0, math.floor(seconds))


def site_locale(language: str) -> Locale:
    """The Babel locale of a show's language ("en-au" → en_AU); English for one Babel does not
    know.

    >>> str(site_locale("en-au")), str(site_locale("de")), str(site_locale("xx-nowhere"))
    ('en_AU', 'de', 'en')
    """
    return _locale(language)


@functools.lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        try:
            return Locale.parse(language.split("-")[0])
        except (UnknownLocaleError, ValueError):
            return Locale("en")


def date_text(moment: datetime, language: str = "en") -> str:
    """A date as people read it in the show's language (its day where it was dated).

    >>> when = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
    >>> date_text(when), date_text(when, "en-au"), date_text(when, "de")
    ('December 6, 2026', '6 December 2026', '6. Dezember 2026')
    """
    return format_date(moment.date(), format="long", locale=site_locale(language))


def duration_text(seconds: float, language: str = "en") -> str:
    """A length as people read it in the show's language, as the player counts it
    (`whole_seconds`): under a minute as the player shows it, else its whole hours and minutes
    (27:30 reads "27 min", as the player's 27:30 does).

    >>> duration_text(29.96), duration_text(1650.4), duration_text(3900), duration_text(3600)
    ('0:29', '27 min', '1 hr, 5 min', '1 hr')
    >>> duration_text(1650.4, "en-au"), duration_text(3900, "de")
    ('27 mins', '1 Std., 5 Min.')
    >>> duration_text(3900, "es"), duration_text(3900, "ar"), duration_text(3900, "bg")
    ('1 h, 5 min', '1 س، و5 د', '1 ч, 5 мин')
    """
    total = whole_seconds(seconds)
    if total < 60:
        return f"0:{total:02d}"
    locale = site_locale(language)
    hours, minutes = divmod(total // 60, 60)
    parts = [
        format_unit(count, unit, length="short", locale=locale)
        for count, unit in ((hours, "duration-hour"), (minutes, "duration-minute"))
        if count
    ]
    return parts[0] if len(parts) == 1 else _pair_pattern(locale).format(*parts)


@functools.lru_cache(maxsize=64)
def _pair_pattern(locale: Locale) -> str:
    """How the locale joins two short units ("{0}, {1}"). Not Babel's `format_list`: CLDR's
    unit-short patterns of some locales hold no "2" (Arabic: the "end" one), or only "end"
    (es, bg: format_list then fails for want of "start"), or only "start" (hy); a regional
    locale may lack them where its language has them (fr_BE)."""
    for found in dict.fromkeys((locale, _locale(locale.language))):
        for style in ("unit-short", "unit"):
            patterns = found.list_patterns.get(style) or {}
            pattern = patterns.get("2") or patterns.get("end") or patterns.get("start")
            if pattern:
                return pattern
    patterns = locale.list_patterns.get("standard") or {}
    return patterns.get("2") or patterns.get("end") or "{0} {1}"


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration, whole seconds as the player counts them (schema.org's `duration`,
    `timeRequired`, a <time> element's datetime).

    >>> iso_duration(1650.4), iso_duration(3723), iso_duration(0), iso_duration(29.96)
    ('PT27M30S', 'PT1H2M3S', 'PT0S', 'PT29S')
    """
    total = whole_seconds(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return f"PT{text or '0S'}"


def file_size(size: int) -> str:
    """Bytes as people read them (SI units).

    >>> file_size(912), file_size(26_432_811)
    ('912 bytes', '26.4 MB')
    """
    if size < 1000:
        return f"{size} bytes"
    for unit in ("kB", "MB", "GB"):
        size /= 1000
        if size < 1000 or unit == "GB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def excerpt(text: str, limit: int = 160) -> str:
    """`text` on one line, cut before `limit` characters: after its last whole sentence when
    that keeps at least half, else after a word, with an ellipsis.

    >>> excerpt("Practical IT service management,\\nevery week.")
    'Practical IT service management, every week.'
    >>> excerpt("First sentence here. Second one is much longer than the rest.", limit=36)
    'First sentence here.'
    >>> excerpt("word " * 50, limit=22)
    'word word word word…'
    """
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit - 1]
    sentence = max(head.rfind(end) for end in (". ", "! ", "? "))
    if sentence >= limit // 2:
        return head[: sentence + 1]
    return head.rsplit(" ", 1)[0].rstrip(" ,;:.-") + "…"


_LIST = re.compile(r"<(ul|ol)>(.*?)</\1>", re.S)
_ITEM = re.compile(r"<li>(.*?)</li>", re.S)
#: a label that says nothing but a short label, alone in its paragraph or heading
_LABEL = re.compile(
    r"(<p>\s*<(strong|b)>[^<]{1,40}</\2>:?\s*</p>|<(h[2-4])( [^>]*)?>[^<]{1,40}</\3>)\s*$"
)
_TIMECODE = re.compile(r"^\(?(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(nh3.clean(fragment, tags=set())).split())


def _listed_at(item: str, start_s: float) -> bool:
    """Whether a list item begins with the time `start_s` (as `clock` writes it, to the second).

    >>> _listed_at("01:05 · Q & A", 65.2), _listed_at("1:01:05 Q", 3665), _listed_at("01:05 Q", 125)
    (True, True, False)
    """
    found = _TIMECODE.match(item)
    if not found:
        return False
    first, second, third = (int(part) if part else None for part in found.groups())
    listed = first * 3600 + second * 60 + third if third is not None else first * 60 + second
    return abs(listed - start_s) <= 1


def without_chapter_list(notes: str, chapters: Iterable[tuple[str, float]]) -> str:
    """Sanitised notes without their list of the chapters (the page lists them once, each
    seeking the player): the list whose every item is the chapter's start time and title, in
    order, and the label just before it when it says nothing but a short label (a bold
    paragraph or an h2–h4: "Chapters", "In this episode"). Notes with no such list are returned
    as they are.

    >>> notes = "<p>Hi.</p><p><strong>Chapters</strong></p><ul><li>00:00:00 Intro</li><li>00:01:05 · <a href='x'>Q &amp; A</a></li></ul>\\n<p>Bye.</p>"
    >>> without_chapter_list(notes, [("Intro", 0), ("Q & A", 65)])
    '<p>Hi.</p>\\n<p>Bye.</p>'
    >>> without_chapter_list(notes, [("Intro", 0), ("Other", 65)]) == notes
    True
    >>> without_chapter_list(notes, [("Intro", 0), ("Q & A", 300)]) == notes  # other times
    True
    """
    wanted = [(" ".join(title.split()), start_s) for title, start_s in chapters]
    if not wanted:
        return notes
    for found in _LIST.finditer(notes):
        items = [_plain(item) for item in _ITEM.findall(found.group(2))]
        if len(items) != len(wanted) or not all(
            _listed_at(item, start_s) and title in item
            for item, (title, start_s) in zip(items, wanted)
        ):
            continue
        before = notes[: found.start()]
        label = _LABEL.search(before)
        start = label.start() if label else found.start()
        return (notes[:start].rstrip() + "\n" + notes[found.end() :].lstrip()).strip()
    return notes


def podcast_scheme(url: str) -> str:
    """A feed URL for Podcasting 2.0 apps: its scheme replaced by podcast://.

    >>> podcast_scheme("https://media.example/show/feed.xml")
    'podcast://media.example/show/feed.xml'
    """
    return "podcast://" + url.split("://", 1)[-1]


def platform_label(name: str) -> str:
    """How a subscribe link names a directory of `platforms`.

    >>> platform_label("apple"), platform_label("my-directory")
    ('Apple Podcasts', 'My Directory')
    """
    return PLATFORM_LABELS.get(name) or name.replace("-", " ").title()


def json_ld(data: dict[str, Any]) -> Markup:
    """schema.org data as the text of a <script type="application/ld+json"> element: JSON whose
    <, >, & and ' are escaped, so no value can end the element.

    >>> str(json_ld({"name": "</script>"}))
    '{"name": "\\\\u003c/script\\\\u003e"}'
    """
    return htmlsafe_json_dumps(data, sort_keys=True)


# --- building --------------------------------------------------------------------------------


def build_site(
    network: Network,
    records: dict[str, EpisodeRecord],
    artwork_keys: dict[str, str],
    *,
    base_url: str | None = None,
    now: datetime | None = None,
    read: Callable[[str], bytes | None] | None = None,
    search: bool = True,
    hash_file: Callable[[Path], str] | None = None,
) -> list[SitePage]:
    """Every page of the website, and its stylesheet and script, from the published-episode
    records (`records`: guid → record; drafts are never records) and each show's artwork key;
    with `search` (and Pagefind installed) the search index (`podcast_tools.search`) under
    `pagefind/` and a search box on the network's and every show's page.

    The chapters JSON and transcript a record names by key are read from the record's assets,
    else from the network's copy of the episode when it builds the same key, else through
    `read(key)` (publishing reads the published object): content-addressed, so every source
    gives the same bytes, and pages built from any checkout are the same. `hash_file` hashes the
    checkout's artwork (the site's icon is made from it when it is the published one): a run's
    cached hash, so a file is read for its sha256 once per run.

    `base_url` (default: network.toml's) is where the pages are served: every URL in them is
    absolute under it. An episode dated after `now` (an aware datetime; default: the current
    time) is on no page. Pages come in upload order: assets (the search index's files
    among them), episode pages, show pages, the network's page last.

    Raises ContentError (every problem at once, each naming its file and field) when a
    transcript cannot be read or two episodes would share a page; NotesError when a template
    fails; search.SearchError when Pagefind fails to build the index.
    """
    base = base_url or network.settings.base_url
    base = base if base.endswith("/") else base + "/"
    moment = now or datetime.now(timezone.utc)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("now must carry a timezone (e.g. datetime.now(timezone.utc))")
    builder = _SiteBuilder(network, base, artwork_keys, read, hash_file)
    builder.search = search and search_available()
    return builder.build(records, moment)


class _SiteBuilder:
    def __init__(
        self,
        network: Network,
        base: str,
        artwork_keys: dict[str, str],
        read: Callable[[str], bytes | None] | None = None,
        hash_file: Callable[[Path], str] | None = None,
    ):
        self.read = read
        self.hash_file = hash_file
        self.network = network
        self.base = base
        self.artwork_keys = artwork_keys
        self.assets: dict[str, SitePage] = {}
        self.problems: list[Problem] = []
        self.environments: dict[str | None, tuple[jinja2.Environment, str, str]] = {}
        self.episodes = {e.guid: e for e in network.episodes if not e.draft}
        self.search = False  # build the search index and show the search box
        self.icon: str | None = None  # the URL of the site's icon (a PNG), once made

    def url(self, key: str) -> str:
        return public_url(self.base, key)

    # -- shows and episodes --------------------------------------------------------------------

    def show_view(self, show: Show, hosts: tuple[str, ...] = ()) -> ShowView:
        feed = feed_url(self.base, show.id)
        artwork = self.artwork_keys.get(show.id)
        return ShowView(
            id=show.id,
            title=show.title,
            description=show.description,
            summary=excerpt(show.description),
            url=self.url(show_page_key(show.id)),
            feed_url=feed,
            podcast_url=podcast_scheme(feed),
            artwork_url=self.url(artwork) if artwork else None,
            language=show.language,
            author=show.author,
            website=show.link,
            copyright=show.copyright,
            explicit=show.explicit,
            platforms=tuple(
                Link(url, platform_label(name)) for name, url in show.platforms.items()
            ),
            hosts=hosts,
            moved_to=show.moved_to,
        )

    def build(self, records: dict[str, EpisodeRecord], now: datetime) -> list[SitePage]:
        network = self.network
        plain = {show_id: self.show_view(show) for show_id, show in network.shows.items()}
        visible = self.visible(records, now)
        views: dict[str, EpisodeView] = {}
        for record, episode, owner in visible:
            view = self.episode_view(record, episode, owner, plain)
            if view is not None:
                views[record.guid] = view
        self.check_keys(visible)
        if self.problems:
            raise ContentError(self.problems)

        lists = {  # each show's episodes, its own and cross-posts, newest first
            show_id: sorted(
                (views[r.guid] for r, _, _ in visible if show_id in r.shows and r.guid in views),
                key=lambda v: (v.date, v.guid),
                reverse=True,
            )
            for show_id in network.shows
        }
        shows = {  # a show with nothing published has no page and no feed to point at yet
            show_id: self.show_view(show, _hosts(show, lists[show_id]))
            for show_id, show in network.shows.items()
            if lists[show_id]
        }
        network_view = NetworkView(
            name=network.settings.name,
            description=network.settings.description or "",
            url=self.url(SITE_INDEX_KEY),
            website=network.settings.link,
        )
        common = {"network": network_view, "shows": list(shows.values()), "search": None}
        self.add_icons(shows)
        if self.search:
            self.search_index(views.values(), shows)
            common["search"] = {"script": self.url(SEARCH_SCRIPT)}
        episode_pages = self.episode_pages(lists, shows, common)
        show_pages = self.show_pages(lists, shows, common)
        index = self.render(
            None, "index", SITE_INDEX_KEY, self.index_head(network_view, shows), common
        )
        assets = [self.assets[key] for key in sorted(self.assets)]
        return [*assets, *episode_pages, *show_pages, index]

    def add_icons(self, shows: dict[str, ShowView]) -> None:
        """The site's icons, made from the artwork of the first show with a page (the one the
        network's page shows too), added to the assets: a PNG the pages name, and favicon.ico at
        the site's root, where browsers and feed readers ask for it unasked. None when that
        artwork cannot be read."""
        first = next((s for s in shows if s in self.artwork_keys), None)
        if first is None:
            return
        key = self.artwork_keys[first]
        try:
            local = artwork_asset(self.network, first, self.hash_file)
        except (OSError, ContentError, KeyError):
            local = None
        if local is not None and local.key == key and local.path is not None:
            data: bytes | None = local.path.read_bytes()
        else:  # the published artwork, when the checkout's is another
            data = self.read(key) if self.read is not None else None
        if data is None:
            return
        try:
            png, ico = site_icons(io.BytesIO(data))
        except ValueError:
            return  # validation names unreadable artwork; the site goes without an icon
        icon_key = site_asset_key("icon", content_hash(png), ".png")
        self.assets[icon_key] = SitePage(icon_key, png, PNG_TYPE, immutable=True)
        self.assets[FAVICON_KEY] = SitePage(FAVICON_KEY, ico, ICO_TYPE, immutable=False)
        self.icon = self.url(icon_key)

    def search_index(self, views: Iterable[EpisodeView], shows: dict[str, ShowView]) -> None:
        """The search index of every episode on the site (its page: title and notes; each cue
        of its transcript, at its time), added to the assets."""
        documents = [
            SearchDocument(
                url=view.url,
                title=view.title,
                text=view.text,
                show=shows[view.show.id].title,
                cues=tuple(
                    (start, clock(start), text)
                    for start, text in (view.transcript.said if view.transcript else ())
                ),
            )
            for view in sorted(views, key=lambda v: (v.date, v.guid))
        ]
        language = next(iter(shows.values())).language if shows else "en"
        for file in build_search_index(documents, language):
            key = f"{SEARCH_FOLDER}/{file.name}"
            self.assets[key] = SitePage(key, file.data, file.type, immutable=file.immutable)

    def visible(
        self, records: dict[str, EpisodeRecord], now: datetime
    ) -> list[tuple[EpisodeRecord, Episode, str]]:
        """(record, its episode, the show whose folder holds its page) of every episode due by
        `now` (guid order); the page is its home show's, else that of the first show it is
        posted to that the network still has."""
        visible = []
        for _guid, record in sorted(records.items()):
            episode = record.episode(self.network.root)
            owner = page_show(record.shows, self.network.shows)
            if owner is None or episode.date > now:
                continue  # scheduled, or of no show the network still has
            visible.append((record, episode, owner))
        return visible

    def episode_pages(
        self,
        lists: dict[str, list[EpisodeView]],
        shows: dict[str, ShowView],
        common: dict[str, Any],
    ) -> list[SitePage]:
        pages = []
        for show_id, listed in lists.items():
            for index, view in enumerate(listed):
                if view.show.id != show_id:
                    continue  # a cross-post: its page is in the folder of the show it belongs to
                view = replace(view, show=shows[show_id])  # the show with its hosts
                context = {
                    **common,
                    "show": shows[show_id],
                    "episode": view,
                    "newer": listed[index - 1] if index > 0 else None,
                    "older": listed[index + 1] if index + 1 < len(listed) else None,
                }
                pages.append(
                    self.render(show_id, "episode", view.key, self.episode_head(view), context)
                )
        return pages

    def show_pages(
        self,
        lists: dict[str, list[EpisodeView]],
        shows: dict[str, ShowView],
        common: dict[str, Any],
    ) -> list[SitePage]:
        pages = []
        for show_id, show in shows.items():
            listed = [  # each date and length in this show's language, cross-posts' too
                replace(
                    view,
                    date_text=date_text(view.date, show.language),
                    duration_text=duration_text(view.duration_s, show.language),
                )
                for view in lists[show_id]
            ]
            count = max(1, math.ceil(len(listed) / PAGE_SIZE))
            urls = [self.url(show_page_key(show_id, n)) for n in range(1, count + 1)]
            for number in range(1, count + 1):
                key = show_page_key(show_id, number)
                pagination = Pagination(
                    number=number,
                    count=count,
                    previous=urls[number - 2] if number > 1 else None,
                    next=urls[number] if number < count else None,
                    pages=tuple(Link(url, str(n)) for n, url in enumerate(urls, start=1)),
                )
                context = {
                    **common,
                    "show": show,
                    "episodes": listed[(number - 1) * PAGE_SIZE : number * PAGE_SIZE],
                    "pagination": pagination,
                    "other_shows": [other for other in shows.values() if other.id != show_id],
                }
                pages.append(
                    self.render(show_id, "show", key, self.show_head(show, key, number), context)
                )
        return pages

    def check_keys(self, visible: list[tuple[EpisodeRecord, Episode, str]]) -> None:
        """Two episodes whose pages would have one key (or a show page's) are a problem."""
        taken = {
            show_page_key(show_id): f'the page of show "{show_id}"'
            for show_id in self.network.shows
        }
        for record, episode, owner in visible:
            key = episode_page_key(owner, record.slug)
            file = self.network.display(episode.path)
            if key in taken:
                self.problems.append(
                    Problem(
                        file,
                        "file name",
                        f"its web page {key} would replace {taken[key]}; rename the episode file",
                    )
                )
            else:
                taken[key] = file

    def episode_view(
        self, record: EpisodeRecord, episode: Episode, owner: str, shows: dict[str, ShowView]
    ) -> EpisodeView | None:
        media = record.media(self.base)
        show = shows[owner]
        summary = excerpt(episode.summary or media.summary or episode.title, limit=200)
        explicit = (
            self.network.shows[owner].explicit if episode.explicit is None else episode.explicit
        )
        files = _PublishedFiles(self.network, record, self.episodes.get(record.guid), self.read)
        # every audio file, the enclosure first, through the show's measurement prefix (if any):
        # a browser's play or download counts as a listen, as an app's does
        prefix = self.network.shows[owner].enclosure_prefix
        sources = [
            AudioSource(
                measured_url(prefix, public_url(self.base, audio.key)),
                audio.type,
                audio.label,
                audio.bytes,
                direct=public_url(self.base, audio.key),
            )
            for audio in record.audio
        ]
        try:
            transcript = self.transcript_view(record, files, media.transcript_url)
        except TranscriptError as exc:
            where = files.name(record.transcript["key"]) if record.transcript else "transcript"
            self.problems.append(
                Problem(self.network.display(episode.path), "transcript", f"{where}: {exc}")
            )
            return None
        chapters = self.chapter_views(record, files)
        return EpisodeView(
            guid=record.guid,
            key=episode_page_key(owner, record.slug),
            url=episode_page_url(self.base, owner, record.slug),  # as its files' tags say
            title=episode.title,
            date=episode.date,
            date_text=date_text(episode.date, show.language),
            duration_s=media.duration_s,
            duration_text=duration_text(media.duration_s, show.language),
            duration_iso=iso_duration(media.duration_s),
            numbering=_numbering(episode, owner),
            explicit=explicit,
            summary=summary,
            image_url=media.image_url or show.artwork_url,
            image_alt=f"Artwork of {episode.title if media.image_url else show.title}",
            audio=tuple(sorted(sources, key=lambda source: (source.bytes, source.type))),
            download=sources[0],
            downloads=tuple(sources),
            # sanitised when recorded; again, in case; the chapters are listed once, below
            notes=Markup(
                sanitise(
                    without_chapter_list(media.html, [(c.title, float(c.start)) for c in chapters])
                )
            ),
            chapters=chapters,
            transcript=transcript,
            persons=tuple(
                PersonView(p.name, p.role[:1].upper() + p.role[1:], p.href) for p in episode.persons
            ),
            show=show,
            also_in=tuple(shows[s] for s in record.shows if s != owner and s in shows),
            text=media.summary,
            number=episode.numbers_in(owner)[0],
            season=episode.numbers_in(owner)[1],
        )

    def chapter_views(
        self, record: EpisodeRecord, files: _PublishedFiles
    ) -> tuple[ChapterView, ...]:
        """The chapters at the record's times, with the titles and links of the chapters JSON the
        record names ("Chapter n" when that file is not at hand) and the record's image keys."""
        times = record.chapter_times
        if not record.chapters or not times:
            return ()
        entries: list[dict[str, Any]] = []
        data = files.data(record.chapters["key"])
        if data is not None:
            try:
                listed = json.loads(data).get("chapters")
                if isinstance(listed, list) and len(listed) == len(times):
                    entries = [e if isinstance(e, dict) else {} for e in listed]
            except (ValueError, AttributeError):
                entries = []
        images = list(record.chapter_images) + [None] * (len(times) - len(record.chapter_images))
        views = []
        for index, start in enumerate(times):
            entry = entries[index] if entries else {}
            title = entry.get("title")
            link = entry.get("url")
            views.append(
                ChapterView(
                    start=seconds_attr(start),
                    time=clock(start),
                    title=title if isinstance(title, str) and title else f"Chapter {index + 1}",
                    url=link if isinstance(link, str) and link else None,
                    image_url=self.url(images[index]) if images[index] else None,
                )
            )
        return tuple(views)

    def transcript_view(
        self, record: EpisodeRecord, files: _PublishedFiles, url: str | None
    ) -> TranscriptView | None:
        if not record.transcript or url is None:
            return None
        mime = record.transcript.get("type") or ""
        if mime not in TRANSCRIPT_LABELS:
            # a type no longer published (an HTML transcript a manifest of an older version
            # names would run its scripts on this origin): not linked
            return None
        data = files.data(record.transcript["key"])
        cues = transcript_cues(data, mime) if data is not None else None
        if cues is not None and record.machine_transcript:
            cues = _unless_empty(cues)  # no speech was recognised: no cues, not a fault
        shown: list[CueView] = []
        said: list[tuple[float, str]] = []  # every cue's text, for the search index
        room, complete = TRANSCRIPT_PAGE_CHARS, True
        for cue in cues or ():
            if self.search and cue.text and complete:  # what the page embeds is searched
                said.append((cue.start_s, cue.text))
            if not cue.text or not complete:
                continue  # past what the page embeds, the rest is read only to check it
            room -= len(cue.text) + len(cue.speaker or "")
            if room < 0 or len(shown) == TRANSCRIPT_PAGE_CUES:
                complete = False  # the page shows the beginning and links the whole
                continue
            shown.append(
                CueView(seconds_attr(cue.start_s), clock(cue.start_s), cue.text, cue.speaker)
            )
        if record.machine_transcript and not shown and complete:
            return None  # an empty machine transcript: nothing to show (the feed names it)
        return TranscriptView(
            url=url,
            type=mime,
            label=TRANSCRIPT_LABELS.get(mime, mime),
            cues=tuple(shown),
            complete=complete,
            machine=record.machine_transcript,
            said=tuple(said),
        )

    # -- heads ---------------------------------------------------------------------------------

    def asset(self, environment: jinja2.Environment, name: str, suffix: str, mime: str) -> str:
        """The URL of the stylesheet or script the environment finds, added to the assets."""
        assert environment.loader is not None
        source, _filename, _uptodate = environment.loader.get_source(environment, name)
        data = source.encode("utf-8")
        key = site_asset_key("site", content_hash(data), suffix)
        self.assets.setdefault(key, SitePage(key, data, mime, immutable=True))
        return self.url(key)

    def feeds(self, shows: Iterable[ShowView]) -> tuple[Link, ...]:
        return tuple(Link(show.feed_url, show.title) for show in shows)

    def index_head(self, network: NetworkView, shows: dict[str, ShowView]) -> dict[str, Any]:
        first = next(iter(shows.values()), None)
        data = {
            "@context": "https://schema.org",
            "@type": "WebSite",
            "name": network.name,
            "url": network.url,
            "description": network.description or None,
            "hasPart": [
                {"@type": "PodcastSeries", "name": s.title, "url": s.url, "webFeed": s.feed_url}
                for s in shows.values()
            ],
        }
        return {
            "title": network.name,
            "description": network.description
            or excerpt(", ".join(s.title for s in shows.values())),
            "url": network.url,
            "lang": first.language if first else "en",
            "og_type": "website",
            "image": first.artwork_url if first else None,
            "feeds": self.feeds(shows.values()),
            "json_ld": _clean(data),
        }

    def show_head(self, show: ShowView, key: str, number: int) -> dict[str, Any]:
        data = {
            "@context": "https://schema.org",
            "@type": "PodcastSeries",
            "name": show.title,
            "description": show.description,
            "url": show.url,
            "webFeed": show.feed_url,
            "image": show.artwork_url,
            "inLanguage": show.language,
            "author": {
                "@type": "Person" if show.hosts != (show.author,) else "Organization",
                "name": ", ".join(show.hosts) or show.author,
            },
            "publisher": {"@type": "Organization", "name": self.network.settings.name},
        }
        return {
            "title": show.title if number == 1 else f"{show.title} · page {number}",
            "description": show.summary,
            "url": self.url(key),
            "lang": show.language,
            "og_type": "website",
            "image": show.artwork_url,
            "feeds": self.feeds([show]),
            "json_ld": _clean(data),
        }

    def episode_head(self, episode: EpisodeView) -> dict[str, Any]:
        show = episode.show
        enclosure = episode.download
        data = {
            "@context": "https://schema.org",
            "@type": "PodcastEpisode",
            "name": episode.title,
            "description": episode.summary,
            "url": episode.url,
            "datePublished": episode.date.isoformat(),
            "duration": episode.duration_iso,
            "timeRequired": episode.duration_iso,
            "image": episode.image_url,
            "inLanguage": show.language,
            "episodeNumber": episode.number,  # as the page says: "Season 1 · Episode 2"
            "partOfSeason": (
                {"@type": "PodcastSeason", "seasonNumber": episode.season}
                if episode.season is not None
                else None
            ),
            "partOfSeries": {
                "@type": "PodcastSeries",
                "name": show.title,
                "url": show.url,
                "webFeed": show.feed_url,
            },
            "associatedMedia": {
                "@type": "MediaObject",
                "contentUrl": enclosure.direct or enclosure.url,  # never measured
                "encodingFormat": enclosure.type,
                "contentSize": str(enclosure.bytes),
                "duration": episode.duration_iso,
            },
        }
        return {
            "title": f"{episode.title} · {show.title}",
            "description": episode.summary,
            "url": episode.url,
            "lang": show.language,
            "og_type": "article",
            "image": episode.image_url,
            "feeds": self.feeds([show]),
            "json_ld": _clean(data),
            "audio": replace(enclosure, url=enclosure.direct or enclosure.url),  # never measured
            "published": episode.date.isoformat(),
        }

    # -- rendering -----------------------------------------------------------------------------

    def render(
        self,
        show_id: str | None,
        kind: str,
        key: str,
        head: dict[str, Any],
        context: dict[str, Any],
    ) -> SitePage:
        if show_id not in self.environments:
            environment = template_environment(self.network, show_id)
            self.environments[show_id] = (
                environment,
                self.asset(environment, STYLESHEET, ".css", CSS_TYPE),
                self.asset(environment, SCRIPT, ".js", JS_TYPE),
            )
        environment, stylesheet, script = self.environments[show_id]
        page_head = Head(
            **{k: v for k, v in head.items() if k != "json_ld"},
            json_ld=json_ld(head["json_ld"]),
            stylesheet=stylesheet,
            script=script,
            icon=self.icon,
        )
        name = TEMPLATES[kind]
        try:
            text = environment.get_template(name).render(head=page_head, **context)
        except jinja2.TemplateError as exc:
            where = getattr(exc, "filename", None) or name
            line = getattr(exc, "lineno", None)
            raise NotesError(f"{where}{f':{line}' if line else ''}: {exc.message or exc}") from exc
        return SitePage(key, text.encode("utf-8"), HTML_TYPE, immutable=False)


class _PublishedFiles:
    """The bytes of files a record names by key: from the assets it was built with, else from the
    network's copy of the episode when that builds the same key (content-addressed: the same key
    is the same bytes); None when neither has it."""

    def __init__(
        self,
        network: Network,
        record: EpisodeRecord,
        episode: Episode | None,
        read: Callable[[str], bytes | None] | None = None,
    ):
        self.read = read
        self.network = network
        self.record = record
        self.episode = episode  # the network's copy of the episode, if it still has one
        self._assets: tuple[Asset, ...] | None = record.assets or None

    def assets(self) -> tuple[Asset, ...]:
        if self._assets is None:
            episode = self.episode
            record = self.record
            self._assets = (
                build_record(
                    self.network, episode, record.audio, record.chapter_times, record.fingerprint
                ).assets
                if episode is not None
                else ()
            )
        return self._assets

    def find(self, key: str) -> Asset | None:
        return next((asset for asset in self.assets() if asset.key == key), None)

    def data(self, key: str) -> bytes | None:
        asset = self.find(key)
        if asset is None:
            return self.read(key) if self.read is not None else None
        if asset.data is not None:
            return asset.data
        if asset.path is None:
            return None
        data = asset.path.read_bytes()
        if content_hash(data) == asset.sha256:
            return data
        # the file changed since the record was built (e.g. during a publish run): the bytes
        # published under the key, when they can be read
        return self.read(key) if self.read is not None else None

    def name(self, key: str) -> str:
        """The file as producers know it (its path in the network), else its key."""
        asset = self.find(key)
        if asset is not None and asset.path is not None:
            return self.network.display(asset.path)
        return key


def _unless_empty(cues: Iterable[Cue]) -> Iterator[Cue]:
    """`cues`, and none (not a TranscriptError) when the transcript holds none."""
    try:
        yield from cues
    except TranscriptError as exc:
        if exc.reason != "holds no cues":
            raise


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """schema.org data without its empty values."""
    return {
        k: _clean(v) if isinstance(v, dict) else v
        for k, v in data.items()
        if v not in (None, "", [], {})
    }


def _numbering(episode: Episode, show_id: str) -> str:
    number, season = episode.numbers_in(show_id)
    parts = []
    if season is not None:
        parts.append(f"Season {season}")
    if number is not None:
        parts.append(f"Episode {number}")
    if episode.type != "full":
        parts.append(episode.type.capitalize())
    return " · ".join(parts)


def _hosts(show: Show, listed: list[EpisodeView]) -> tuple[str, ...]:
    """The show's hosts: persons with role host in its settings and its episodes (newest
    first), else its author."""
    names: list[str] = [p.name for p in show.persons if p.role.lower() == "host"]
    for view in listed:
        names += [p.name for p in view.persons if p.role.lower() == "host"]
    unique = tuple(dict.fromkeys(names))
    return unique or (show.author,)
