"""Every published feed of the sample network, as three real client parsers read it:
podcast-partytime (the Podcast Index's parser, run with node), gPodder's podcastparser and
feedparser. Each value is checked against the episode file (loaded with load_checked_network) and the
published files in the folder (sizes, the MP3's duration by ffprobe, the chapters JSON).

The checks are one table per level (FIELDS for items, CHANNEL for channels, PUBLISHER for the
network's publisher feed): a field names, for each parser, how to read it, or why that parser does
not expose it (NotExposed). A NotExposed entry is checked too — it must still hold — so the day a
parser starts reading the tag, the test says so and the field moves into the table proper.
A failure names parser, field, show and episode.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import cache
from pathlib import Path
from typing import Any

import feedparser
import podcastparser
import pytest

from podcast_tools.content import Episode
from podcast_tools.formats import FORMATS, PRIMARY
from podcast_tools.transcript import parse_vtt, write_json, write_srt
from tests.clients import tools
from tests.clients.conftest import SCHEDULED_GUID, Published

PARSERS = ("partytime", "podcastparser", "feedparser")
SHOWS = ("itsmwp", "itsmwp-anz", "itsmwp-row")
DURATION_TOLERANCE_S = 1.0
CHAPTER_START_TOLERANCE_S = 0.001  # the JSON rounds to milliseconds

PODCAST_NS = "https://podcastindex.org/namespace/1.0"


@dataclass(frozen=True)
class NotExposed:
    """A parser that does not give this field: why, and a check that this is still so."""

    why: str
    still: Callable[[Any], bool]


Reader = Callable[[Any], Any] | NotExposed


@dataclass(frozen=True)
class Field:
    name: str
    expected: Callable[..., Any]
    read: dict[str, Reader]
    same: Callable[[Any, Any], bool] = lambda got, expected: got == expected
    with_case: bool = False  # readers take (case, parsed): they fetch from the published folder

    def __post_init__(self) -> None:
        assert set(self.read) == set(PARSERS), f"{self.name}: say what each parser does"


def podcastparser_lacks(path: str) -> NotExposed:
    """gPodder's podcastparser and a podcast:* tag (`path` as in its MAPPING table).

    podcastparser 0.6.11 knows the Podcasting 2.0 namespace only by its first URI
    (https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md); our feeds
    declare the current one, https://podcastindex.org/namespace/1.0, which the namespace says
    clients must treat as the same. So it reads none of our podcast:* tags, and some it would not
    read under any URI. Checked against podcastparser's own tables, so an upgrade that fixes it
    makes this test say so."""
    mapped = path in podcastparser.MAPPING
    why = (
        f"podcastparser 0.6.11 maps {path} only under the namespace's old GitHub URI, not "
        f"{PODCAST_NS} that our feeds (and the namespace) use"
        if mapped
        else f"podcastparser 0.6.11 has no mapping for {path} at all (nor knows {PODCAST_NS})"
    )
    return NotExposed(
        why,
        lambda _parsed: (
            PODCAST_NS not in podcastparser.Namespace.NAMESPACES
            or path not in podcastparser.MAPPING
        ),
    )


# -- reading each parser's output ---------------------------------------------------------------


@dataclass
class Parsed:
    channel: Any
    items: dict[str, Any]  # by guid, in feed order
    warnings: list[str]


def parse(parser: str, clients: tools.Clients, path: Path, url: str) -> Parsed:
    if parser == "partytime":
        result = tools.partytime(clients, path)
        feed = result["feed"]
        return Parsed(feed, {i["guid"]: i for i in feed["items"]}, result["warnings"])
    if parser == "podcastparser":
        with path.open("rb") as handle:
            feed = podcastparser.parse(url, handle)
        return Parsed(feed, {e["guid"]: e for e in feed["episodes"]}, [])
    feed = feedparser.parse(path.read_bytes())
    warnings = [f"bozo: {feed.bozo_exception}"] if feed.bozo else []
    return Parsed(feed.feed, {e.id: e for e in feed.entries}, warnings)


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _seconds(text: str | None) -> float | None:
    if text is None:
        return None
    seconds = 0.0
    for part in str(text).split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _person(name: str, role: str, group: str, href: str | None) -> tuple:
    return (name, role.lower(), group.lower(), href)


# -- what each item should say --------------------------------------------------------------------


@dataclass
class ItemCase:
    published: Published
    probed: dict[str, dict]
    show_id: str
    episode: Episode

    @property
    def audio(self) -> Path:
        return self.published.audio(self.episode)

    def page_url(self) -> str:
        """The URL of the episode's page, which the publish wrote (a cross-post's too)."""
        url = f"{self.published.base}{self.episode.show}/{self.episode.slug}.html"
        assert b"<!DOCTYPE html>" in self.published.local(url).read_bytes()[:1024], url
        return url

    def file_url(self, kind: str, source: Path) -> str:
        """The public URL of an episode's published file, whose bytes must be the source's."""
        path = self.published.published_file(self.episode, kind, source.suffix.lower())
        assert path.read_bytes() == source.read_bytes(), f"{path} is not a copy of {source}"
        return self.published.url(path)

    def chapter_image_url(self, relative: str | None) -> str | None:
        if relative is None:
            return None
        return self.file_url("chapter-image", self.episode.resolve(relative))

    def chapters_json(self, url: str | None) -> list[tuple] | None:
        """The chapters JSON a parser points at, fetched from the folder: (title, img, start)."""
        if url is None:
            return None
        document = json.loads(self.published.local(url).read_text(encoding="utf-8"))
        assert document["version"] == "1.2.0"
        return [(c["title"], c.get("img"), c["startTime"]) for c in document["chapters"]]

    def expected_chapters(self) -> list[tuple]:
        starts = [c["start_s"] for c in self.published.report(self.episode)["chapters"]]
        return [
            (c.title, self.chapter_image_url(c.image and str(c.image)), start)
            for c, start in zip(self.episode.chapters, starts, strict=True)
        ]


def _same_chapters(got: list[tuple] | None, expected: list[tuple]) -> bool:
    return (
        got is not None
        and [c[:2] for c in got] == [c[:2] for c in expected]
        and all(abs(g[2] - e[2]) <= CHAPTER_START_TOLERANCE_S for g, e in zip(got, expected))
    )


def _expected_numbers(case: ItemCase) -> tuple[int | None, int | None]:
    """(episode, season) in this feed, from the episode file: its own numbers in its home show's
    feed; elsewhere only what `numbers:` gives for that show, else none."""
    episode = case.episode
    if case.show_id == episode.show:
        return episode.number, episode.season
    given = episode.numbers.get(case.show_id)
    return (given.number, given.season) if given else (None, None)


def _expected_explicit(case: ItemCase) -> bool:
    show = case.published.network.shows[case.show_id]
    return show.explicit if case.episode.explicit is None else case.episode.explicit


def _expected_image(case: ItemCase) -> str | None:
    if not case.episode.image:
        return None
    return case.file_url("image", case.episode.resolve(str(case.episode.image)))


#: The forms of a transcript in feed order: (kind of its machine-made artifact, suffix, type,
#: rel).
TRANSCRIPT_FORMS = (
    ("transcript", ".vtt", "text/vtt", "captions"),
    ("transcript-srt", ".srt", "application/x-subrip", "captions"),
    ("transcript-json", ".json", "application/json", None),
)


def _expected_transcripts(case: ItemCase) -> list[tuple]:
    """(url, type, rel, language) of each form of the episode's transcript, in feed order —
    WebVTT, SRT, JSON — each URL serving exactly the form's bytes: a hand-made WebVTT as it is
    and the SRT and JSON made from its cues; else the machine-made forms `process` wrote (the
    build report's artifacts). Captions for the two with timed cues; the home show's
    language."""
    language = case.published.network.shows[case.episode.show].language
    if case.episode.transcript:
        source = case.episode.resolve(case.episode.transcript)
        assert source.suffix == ".vtt"  # the copy's one transcript (conftest._network_copy)
        cues = parse_vtt(source.read_bytes())
        made = [source.read_bytes(), write_srt(cues).encode(), write_json(cues).encode()]
        kinds = ["transcript"] * 3  # published under the episode's transcript key
    else:
        report = case.published.report(case.episode)
        built = {a["kind"]: a["file"] for a in report.get("artifacts", [])}
        if not built:
            return []
        folder = case.published.root / "build" / case.episode.show
        made = [(folder / built[kind]).read_bytes() for kind, *_ in TRANSCRIPT_FORMS]
        kinds = [kind for kind, *_ in TRANSCRIPT_FORMS]
    forms = []
    for kind, data, (_, suffix, mime, rel) in zip(kinds, made, TRANSCRIPT_FORMS, strict=True):
        path = case.published.published_file(case.episode, kind, suffix)
        assert path.read_bytes() == data, f"{path}: not the {suffix} form"
        forms.append((case.published.url(path), mime, rel, language))
    return forms


#: partytime's own name for SubRip (it reads application/x-subrip, the namespace's, as this).
PARTYTIME_TYPES = {"application/srt": "application/x-subrip"}


def _partytime_transcripts(item: dict) -> list[tuple]:
    return [
        (t["url"], PARTYTIME_TYPES.get(t["type"], t["type"]), t.get("rel"), t.get("language"))
        for t in item.get("podcastTranscripts", [])
    ]


def _feedparser_keeps_one_transcript(entry: Any) -> bool:
    transcript = entry.get("podcast_transcript")
    return transcript is None or isinstance(transcript, dict)


# -- the tags of reach (Podcasting 2.0: payments, rights, place, schedule, media) -----------------


def _recipients(value: Any) -> list[tuple]:
    """A value block's recipients as (name, type, address, split, fee), from a model."""
    if value is None:
        return []
    return [(r.name, r.type, r.address, r.split, r.fee) for r in value.recipients]


def _partytime_recipients(value: dict | None) -> list[tuple]:
    return [
        (r.get("name"), r["type"], r["address"], r["split"], r.get("fee", False))
        for r in (value or {}).get("recipients", [])
    ]


#: How far the declared bitrate may be from the show's setting: MP3 is CBR; AAC keeps its
#: average; libopus's VBR lands some 10 % under its target on speech.
BITRATE_TOLERANCE = {"audio/mpeg": 0.0, "audio/x-m4a": 0.04, "audio/ogg": 0.2}


def _same_alternates(got: list[tuple] | None, expected: list[tuple]) -> bool:
    """Each alternate as expected, its bitrate (the audio stream's: the show's setting) within
    the encoder's tolerance — never the file's bytes over its duration, which count the art."""
    return (
        got is not None
        and len(got) == len(expected)
        and all(
            g[:2] == e[:2]
            and g[3:] == e[3:]
            and isinstance(g[2], int)
            and abs(g[2] - e[2]) <= BITRATE_TOLERANCE[e[0]] * e[2]
            for g, e in zip(got, expected)
        )
    )


def _expected_alternates(case: ItemCase) -> list[tuple]:
    """Every published audio file of the episode — the MP3 (the default), then each other format
    its show names, in the show's order: type, length, bitrate (the show's setting for the
    format: `_same_alternates` allows for the encoder), default, source URI and SRI of the file's
    bytes."""
    show = case.published.network.shows[case.episode.show]
    formats = show.formats
    expected = []
    for name in [PRIMARY.name, *(f for f in formats if f != PRIMARY.name)]:
        audio = case.published.published_file(case.episode, "", FORMATS[name].suffix)
        data = audio.read_bytes()
        assert hashlib.sha256(data).hexdigest().startswith(audio.stem.rsplit("-", 1)[1])
        sri = "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()
        expected.append(
            (
                FORMATS[name].mime,
                len(data),
                show.bitrate_of(name) * 1000,
                name == PRIMARY.name,
                [case.published.url(audio)],
                sri,
            )
        )
    return expected


def _partytime_alternates(item: dict) -> list[tuple]:
    return [
        (
            a["type"],
            a.get("length"),
            a.get("bitrate"),
            a.get("default", False),
            [s["uri"] for s in a.get("source", [])],
            (a.get("integrity") or {}).get("value"),
        )
        for a in item.get("alternativeEnclosures", [])
    ]


def _same_soundbites(got: list[tuple] | None, expected: list[tuple]) -> bool:
    """(startTime, duration, title): partytime puts a placeholder title where none is given (the
    namespace lets apps choose one), so only a given title is compared."""
    return (
        got is not None
        and len(got) == len(expected)
        and all(g[:2] == e[:2] and (e[2] is None or g[2] == e[2]) for g, e in zip(got, expected))
    )


FEEDPARSER_FLATTENS = (
    "feedparser keeps one dict of attributes per podcast:* tag name at each level (the last "
    "of repeated tags, children flattened into their parent's level) and drops the text of a tag "
    "with attributes"
)


FIELDS: list[Field] = [
    Field(
        "title",
        lambda case: case.episode.title,
        {
            "partytime": lambda i: i["title"],
            "podcastparser": lambda i: i["title"],
            "feedparser": lambda e: e.title,
        },
    ),
    Field(
        "guid",
        lambda case: (case.episode.guid, False),
        {
            # partytime and podcastparser give the text only; isPermaLink="false" is checked
            # through feedparser, which reads it
            "partytime": lambda i: (i["guid"], False),
            "podcastparser": lambda i: (i["guid"], False),
            "feedparser": lambda e: (e.id, e.guidislink),
        },
    ),
    Field(
        "link (the episode's page on the published website, in its home show's folder)",
        lambda case: case.page_url(),
        {
            "partytime": lambda i: i["link"],
            "podcastparser": lambda i: i["link"],
            "feedparser": lambda e: e.link,
        },
    ),
    Field(
        "enclosure url",
        lambda case: [case.published.url(case.audio)],
        {
            "partytime": lambda i: [i["enclosure"]["url"]],  # partytime keeps the first only
            "podcastparser": lambda i: [e["url"] for e in i["enclosures"]],
            "feedparser": lambda e: [e.href for e in e.enclosures],
        },
    ),
    Field(
        "enclosure length",
        lambda case: case.audio.stat().st_size,
        {
            "partytime": lambda i: i["enclosure"]["length"],
            "podcastparser": lambda i: i["enclosures"][0]["file_size"],
            "feedparser": lambda e: int(e.enclosures[0].length),
        },
    ),
    Field(
        "enclosure type",
        lambda case: "audio/mpeg",
        {
            "partytime": lambda i: i["enclosure"]["type"],
            "podcastparser": lambda i: i["enclosures"][0]["mime_type"],
            "feedparser": lambda e: e.enclosures[0].type,
        },
    ),
    Field(
        "duration (s, ffprobe ± 1 s)",
        lambda case: float(case.probed[case.episode.guid]["format"]["duration"]),
        {
            "partytime": lambda i: i["duration"],
            "podcastparser": lambda i: i["total_time"],
            "feedparser": lambda e: _seconds(e.get("itunes_duration")),
        },
        same=lambda got, expected: got is not None and abs(got - expected) <= DURATION_TOLERANCE_S,
    ),
    Field(
        "pubDate",
        lambda case: case.episode.date,
        {
            "partytime": lambda i: _iso(i["pubDate"]),
            "podcastparser": lambda i: datetime.fromtimestamp(i["published"], timezone.utc),
            "feedparser": lambda e: parsedate_to_datetime(e.published),
        },
    ),
    Field(
        "itunes:episode",
        lambda case: _expected_numbers(case)[0],
        {
            "partytime": lambda i: i.get("itunesEpisode"),
            "podcastparser": lambda i: i.get("number"),
            "feedparser": lambda e: _int(e.get("itunes_episode")),
        },
    ),
    Field(
        "itunes:season",
        lambda case: _expected_numbers(case)[1],
        {
            "partytime": lambda i: i.get("itunesSeason"),
            "podcastparser": lambda i: i.get("season"),
            "feedparser": lambda e: _int(e.get("itunes_season")),
        },
    ),
    Field(
        "podcast:episode",
        lambda case: _expected_numbers(case)[0],
        {
            "partytime": lambda i: i.get("podcastEpisode", {}).get("number"),
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:episode"),
            "feedparser": lambda e: _int(e.get("podcast_episode")),
        },
    ),
    Field(
        "podcast:season",
        lambda case: _expected_numbers(case)[1],
        {
            "partytime": lambda i: i.get("podcastSeason", {}).get("number"),
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:season"),
            "feedparser": NotExposed(
                "feedparser keeps only the attributes of an unknown tag that has some: "
                "podcast_season is {'name': 'Season 1'}, the number (the element's text) is lost",
                lambda e: not isinstance(e.get("podcast_season", {}), str),
            ),
        },
    ),
    Field(
        "itunes:episodeType",
        lambda case: case.episode.type,
        {
            "partytime": lambda i: i["itunesEpisodeType"],
            "podcastparser": lambda i: i["type"],
            "feedparser": lambda e: e.itunes_episodetype,
        },
    ),
    Field(
        "itunes:explicit",
        _expected_explicit,
        {
            "partytime": lambda i: i["explicit"],
            "podcastparser": lambda i: i["explicit"],
            "feedparser": NotExposed(
                "feedparser 6 maps itunes:explicit yes → True and clean → False only; Apple's "
                "current true/false (what we write) both come out as None",
                lambda e: e.get("itunes_explicit") is None,
            ),
        },
    ),
    Field(
        "item image (itunes:image)",
        _expected_image,
        {
            "partytime": lambda i: i.get("itunesImage"),
            "podcastparser": lambda i: i.get("episode_art_url"),
            "feedparser": lambda e: e.get("image", {}).get("href"),
        },
    ),
    Field(
        "podcast:chapters url",
        lambda case: case.published.url(
            case.published.published_file(case.episode, "chapters", ".json")
        ),
        {
            "partytime": lambda i: i.get("podcastChapters", {}).get("url"),
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:chapters"),
            "feedparser": lambda e: e.get("podcast_chapters", {}).get("url"),
        },
    ),
    Field(
        "podcast:chapters type",
        lambda case: "application/json+chapters",
        {
            "partytime": lambda i: i.get("podcastChapters", {}).get("type"),
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:chapters"),
            "feedparser": lambda e: e.get("podcast_chapters", {}).get("type"),
        },
    ),
    Field(
        "chapters JSON at that url (title, img, startTime = build report)",
        lambda case: case.expected_chapters(),
        {
            # the JSON is fetched from the published folder, never from the base URL
            "partytime": lambda case, i: case.chapters_json(
                i.get("podcastChapters", {}).get("url")
            ),
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:chapters"),
            "feedparser": lambda case, e: case.chapters_json(
                e.get("podcast_chapters", {}).get("url")
            ),
        },
        same=_same_chapters,
        with_case=True,
    ),
    Field(
        "podcast:transcript (url, type, rel, language), each form",
        _expected_transcripts,
        {
            "partytime": _partytime_transcripts,
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:transcript"),
            "feedparser": NotExposed(
                "feedparser keeps one dict per unknown namespaced tag: the last of the three "
                "podcast:transcript tags only",
                _feedparser_keeps_one_transcript,
            ),
        },
    ),
    Field(
        "podcast:person (name, role, group, href)",
        lambda case: [_person(p.name, p.role, p.group, p.href) for p in case.episode.persons],
        {
            # partytime capitalises role and group ("Host", "Cast"): the taxonomy is
            # case-insensitive, so both sides are compared in lower case
            "partytime": lambda i: [
                _person(p["name"], p["role"], p["group"], p.get("href"))
                for p in i.get("podcastPeople", [])
            ],
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:person"),
            "feedparser": NotExposed(
                "feedparser keeps one podcast_person dict (the last person's attributes) and "
                "drops the name, which is the element's text",
                lambda e: "name" not in e.get("podcast_person", {}),
            ),
        },
    ),
    Field(
        "podcast:alternateEnclosure per audio file (type, length, bitrate, default, source uris, "
        "integrity)",
        _expected_alternates,
        {
            "partytime": _partytime_alternates,
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:alternateEnclosure"),
            "feedparser": NotExposed(
                FEEDPARSER_FLATTENS + ": podcast_alternateenclosure, podcast_source and "
                "podcast_integrity are single dicts beside each other",
                lambda e: (
                    isinstance(e.get("podcast_alternateenclosure"), dict) and "podcast_source" in e
                ),
            ),
        },
        same=_same_alternates,
    ),
    Field(
        "podcast:soundbite (startTime, duration, title)",
        lambda case: [(b.start, b.duration, b.title) for b in case.episode.soundbites],
        {
            "partytime": lambda i: [
                (b["startTime"], b["duration"], b.get("title"))
                for b in i.get("podcastSoundbites", [])
            ],
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:soundbite"),
            "feedparser": NotExposed(
                FEEDPARSER_FLATTENS + ": one podcast_soundbite dict, no title",
                lambda e: "title" not in e.get("podcast_soundbite", {}),
            ),
        },
        same=_same_soundbites,
    ),
    Field(
        "podcast:value recipients (name, type, address, split, fee): the episode's, else the show's",
        lambda case: _recipients(
            case.episode.value or case.published.network.shows[case.show_id].value
        ),
        {
            # partytime gives an item the channel's block when it has none of its own
            "partytime": lambda i: _partytime_recipients(i.get("value")),
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:value"),
            "feedparser": NotExposed(
                FEEDPARSER_FLATTENS + ": podcast_valuerecipient is the last recipient only",
                lambda e: isinstance(e.get("podcast_valuerecipient", {}), dict),
            ),
        },
    ),
    Field(
        "podcast:license (the episode's own)",
        lambda case: case.episode.license.name if case.episode.license else None,
        {
            "partytime": lambda i: i.get("license", {}).get("identifier"),
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:license"),
            "feedparser": lambda e: e.get("podcast_license"),
        },
    ),
    Field(
        "podcast:location (name, geo, osm; the episode's own)",
        lambda case: (
            (case.episode.location.name, case.episode.location.geo, case.episode.location.osm)
            if case.episode.location
            else None
        ),
        {
            "partytime": lambda i: (
                (
                    i["podcastLocation"]["name"],
                    i["podcastLocation"].get("geo"),
                    i["podcastLocation"].get("osm"),
                )
                if "podcastLocation" in i
                else None
            ),
            "podcastparser": podcastparser_lacks("rss/channel/item/podcast:location"),
            "feedparser": NotExposed(
                FEEDPARSER_FLATTENS + ": podcast_location keeps geo and osm, not the name",
                lambda e: "name" not in e.get("podcast_location", {}),
            ),
        },
    ),
]

# -- what each channel should say -------------------------------------------------------------


@dataclass
class ChannelCase:
    published: Published
    show_id: str

    @property
    def show(self):
        return self.published.network.shows[self.show_id]

    def trailers(self) -> list[tuple]:
        """The channel's trailers: its published episodes of type "trailer", newest first."""
        now = datetime.now(timezone.utc)
        return [
            (
                e.title,
                self.published.url(self.published.audio(e)),
                e.date,
                self.published.audio(e).stat().st_size,
                "audio/mpeg",
                e.numbers_in(self.show_id)[1],
            )
            for e in sorted(
                self.published.network.episodes_of(self.show_id), key=lambda e: e.date, reverse=True
            )
            if e.type == "trailer" and e.date <= now and not e.draft
        ]


def _partytime_category(feed: dict) -> list[tuple]:
    return [tuple(c.split(" > ")) for c in feed.get("itunesCategory", [])]


def _within_the_run(got: datetime | None, run: tuple[datetime, datetime]) -> bool:
    """A lastBuildDate the publish run dated its feed with: between its start and its end (to
    the second, as RFC 822 dates say it) — never 1970, never an episode's date."""
    return isinstance(got, datetime) and run[0] <= got <= run[1]


def _run(case) -> tuple[datetime, datetime]:
    return (case.published.started, case.published.ended)


LAST_BUILD_DATE = Field(
    "lastBuildDate (the publish run's time: its feed was new; partytime's lastPubDate too)",
    _run,
    {
        "partytime": lambda f: (
            _iso(f["lastBuildDate"]) if f["lastPubDate"] == f["lastBuildDate"] else None
        ),
        "podcastparser": NotExposed(
            "podcastparser 0.6.11 reads no channel date (no key for lastBuildDate)",
            lambda f: not any("build" in key.lower() or "updated" in key for key in f),
        ),
        "feedparser": lambda f: parsedate_to_datetime(f.updated),
    },
    same=_within_the_run,
)


CHANNEL: list[Field] = [
    LAST_BUILD_DATE,
    Field(
        "title",
        lambda case: case.show.title,
        {
            "partytime": lambda f: f["title"],
            "podcastparser": lambda f: f["title"],
            "feedparser": lambda f: f.title,
        },
    ),
    Field(
        "link (the show's website from network.toml, not the feed)",
        lambda case: case.show.link,
        {
            "partytime": lambda f: f["link"],
            "podcastparser": lambda f: f["link"],
            "feedparser": lambda f: f.link,
        },
    ),
    Field(
        "itunes:owner name",
        lambda case: case.show.owner.name,
        {
            "partytime": lambda f: f["owner"]["name"],
            "podcastparser": lambda f: f["itunes_owner"]["name"],
            "feedparser": lambda f: f.publisher_detail.name,  # feedparser files the owner there
        },
    ),
    Field(
        "itunes:owner email",
        lambda case: case.show.owner.email,
        {
            "partytime": lambda f: f["owner"]["email"],
            "podcastparser": lambda f: f["itunes_owner"]["email"],
            "feedparser": lambda f: f.publisher_detail.email,
        },
    ),
    Field(
        "itunes:category / subcategory",
        lambda case: [(case.show.category.name, case.show.category.subcategory)],
        {
            "partytime": _partytime_category,
            "podcastparser": lambda f: [tuple(c) for c in f["itunes_categories"]],
            # feedparser flattens nested itunes:category into one list of tags, so it checks the
            # two names, not that the second is nested in the first (the other two parsers do)
            "feedparser": lambda f: [
                tuple(t.term for t in f.tags if t.scheme == "http://www.itunes.com/")
            ],
        },
    ),
    Field(
        "podcast:guid",
        lambda case: case.show.podcast_guid,
        {
            "partytime": lambda f: f.get("guid"),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:guid"),
            "feedparser": lambda f: f.get("podcast_guid"),
        },
    ),
    Field(
        "podcast:locked",
        lambda case: case.show.locked,
        {
            "partytime": lambda f: f.get("locked"),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:locked"),
            "feedparser": NotExposed(
                "feedparser keeps only podcast:locked's attributes ({'owner': …}); the yes/no "
                "text is lost",
                lambda f: set(f.get("podcast_locked", {})) <= {"owner"},
            ),
        },
    ),
    Field(
        "podcast:locked owner",
        lambda case: case.show.owner.email,
        {
            "partytime": lambda f: f.get("podcastOwner"),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:locked"),
            "feedparser": lambda f: f.get("podcast_locked", {}).get("owner"),
        },
    ),
    Field(
        "podcast:medium",
        lambda case: case.show.medium,
        {
            "partytime": lambda f: f.get("medium"),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:medium"),
            "feedparser": lambda f: f.get("podcast_medium"),
        },
    ),
    Field(
        "podcast:podroll (feedGuid, feedUrl) of the sibling shows",
        lambda case: sorted(
            (other.podcast_guid, case.published.network.feed_url(other.id))
            for other in case.published.network.shows.values()
            if other.id != case.show_id
        ),
        {
            "partytime": lambda f: sorted(
                (r["feedGuid"], r["feedUrl"]) for r in f.get("podroll", [])
            ),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:podroll"),
            "feedparser": NotExposed(
                "feedparser flattens the remoteItems inside podcast:podroll and "
                "podcast:publisher into one channel-level podcast_remoteitem (the last wins); "
                "podcast_podroll is empty",
                lambda f: f.get("podcast_podroll", "") == "",
            ),
        },
    ),
    Field(
        "podcast:publisher remoteItem (medium, feedGuid, feedUrl)",
        lambda case: (
            "publisher",
            case.published.network.settings.podcast_guid,
            case.published.network.publisher_feed_url,
        ),
        {
            # partytime reports podcastPublisher only for a remoteItem with medium="publisher"
            # (and a feedGuid): its presence is how it says the medium
            "partytime": lambda f: (
                f.get("podcastPublisher")
                and (
                    "publisher",
                    f["podcastPublisher"]["feedGuid"],
                    f["podcastPublisher"].get("feedUrl"),
                )
            ),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:publisher"),
            "feedparser": NotExposed(
                "feedparser flattens podcast:publisher's remoteItem into the channel-level "
                "podcast_remoteitem (shared with the podroll's); podcast_publisher is empty",
                lambda f: f.get("podcast_publisher", "") == "",
            ),
        },
    ),
    Field(
        "podcast:value (type, method, suggested)",
        lambda case: ("lightning", "keysend", float(case.show.value.suggested)),
        {
            "partytime": lambda f: (
                f["value"]["type"],
                f["value"]["method"],
                f["value"]["suggested"],
            ),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:value"),
            "feedparser": lambda f: (
                f["podcast_value"]["type"],
                f["podcast_value"]["method"],
                float(f["podcast_value"]["suggested"]),
            ),
        },
    ),
    Field(
        "podcast:valueRecipient (name, type, address, split, fee)",
        lambda case: _recipients(case.show.value),
        {
            "partytime": lambda f: _partytime_recipients(f.get("value")),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:value"),
            "feedparser": NotExposed(
                FEEDPARSER_FLATTENS + ": podcast_valuerecipient is the last recipient only",
                lambda f: isinstance(f.get("podcast_valuerecipient", {}), dict),
            ),
        },
    ),
    Field(
        "podcast:license",
        lambda case: case.show.license.name,
        {
            # partytime also fills in the SPDX page as the url of a well-known licence
            "partytime": lambda f: f["license"]["identifier"],
            "podcastparser": podcastparser_lacks("rss/channel/podcast:license"),
            "feedparser": lambda f: f.get("podcast_license"),
        },
    ),
    Field(
        "podcast:location (name, geo, osm)",
        lambda case: (case.show.location.name, case.show.location.geo, case.show.location.osm),
        {
            "partytime": lambda f: (
                f["podcastLocation"]["name"],
                f["podcastLocation"].get("geo"),
                f["podcastLocation"].get("osm"),
            ),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:location"),
            "feedparser": NotExposed(
                FEEDPARSER_FLATTENS + ": podcast_location keeps geo and osm, not the name",
                lambda f: "name" not in f.get("podcast_location", {}),
            ),
        },
    ),
    Field(
        "podcast:txt (purpose, text)",
        lambda case: [(t.purpose, t.text) for t in case.show.txt],
        {
            "partytime": lambda f: [
                (t.get("purpose"), t["value"]) for t in f.get("podcastTxt", [])
            ],
            "podcastparser": podcastparser_lacks("rss/channel/podcast:txt"),
            "feedparser": NotExposed(
                FEEDPARSER_FLATTENS + ": podcast_txt keeps the purpose, not the text",
                lambda f: not isinstance(f.get("podcast_txt", {}), str),
            ),
        },
    ),
    Field(
        "podcast:trailer per trailer episode (title, url, pubdate, length, type, season)",
        lambda case: case.trailers(),
        {
            "partytime": lambda f: [
                (
                    t["title"],
                    t["url"],
                    _iso(t["pubdate"].replace("Z", "+00:00")),
                    t.get("length"),
                    t.get("type"),
                    t.get("season"),
                )
                for t in f.get("trailers", [])
            ],
            "podcastparser": podcastparser_lacks("rss/channel/podcast:trailer"),
            "feedparser": NotExposed(
                FEEDPARSER_FLATTENS + ": one podcast_trailer dict, without its title",
                lambda f: "title" not in f.get("podcast_trailer", {}),
            ),
        },
    ),
    Field(
        "podcast:updateFrequency (text, rrule)",
        lambda case: (case.show.update_frequency.text, case.show.update_frequency.rrule),
        {
            "partytime": NotExposed(
                "podcast-partytime 5.0.0 has no parser for podcast:updateFrequency (no key for it "
                "in its output)",
                lambda f: not [k for k in f if "requency" in k],
            ),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:updateFrequency"),
            "feedparser": NotExposed(
                FEEDPARSER_FLATTENS + ": podcast_updatefrequency keeps the rrule, not the text",
                lambda f: "rrule" in f.get("podcast_updatefrequency", {}),
            ),
        },
    ),
]


# -- running the tables ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def parsed(clients, published):
    @cache
    def one(parser: str, key: str) -> Parsed:
        url = published.base + key
        return parse(parser, clients, published.local(url), url)

    return one


def included_episodes(published: Published, show_id: str) -> list[Episode]:
    """What the feed must list: the show's episodes and cross-posts whose time has come."""
    now = datetime.now(timezone.utc)
    return [e for e in published.network.episodes_of(show_id) if e.date <= now and not e.draft]


def check(
    field: Field, parser: str, parsed: Any, expected: Any, case: Any, where: str
) -> str | None:
    reader = field.read[parser]
    if isinstance(reader, NotExposed):
        if reader.still(parsed):
            return None
        return (
            f"{where} · {field.name}: {parser} now exposes it (was: {reader.why}); "
            "read it in the table in tests/clients/test_feeds.py"
        )
    try:
        got = reader(case, parsed) if field.with_case else reader(parsed)
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        return f"{where} · {field.name}: {parser} gives no value ({type(exc).__name__}: {exc})"
    if field.same(got, expected):
        return None
    return f"{where} · {field.name}: {parser} reads {got!r}, expected {expected!r}"


def test_the_published_copy_gives_every_field_something_to_show(published):
    """The item checks compare against the episode files: make sure those hold every kind of value
    (else an optional field could pass by being absent everywhere)."""
    now = datetime.now(timezone.utc)
    live = [e for e in published.network.episodes if e.date <= now]
    assert any(e.image for e in live) and any(e.transcript for e in live)
    assert any(c.image for e in live for c in e.chapters)
    assert any(p.href for e in live for p in e.persons)
    assert {p.group.lower() for e in live for p in e.persons} >= {"cast", "visuals"}
    assert {e.explicit for e in live} >= {True, None} and {e.type for e in live} >= {
        "full",
        "bonus",
    }
    cross = [(e, show) for e in live for show in e.shows if show != e.show]
    assert cross and all(show not in e.numbers for e, show in cross)  # unnumbered there
    assert any(e.season is None for e in live) and any(e.season for e in live)
    # the tags of reach: an own value, licence and location, soundbites with and without title,
    # a trailer
    assert any(e.value for e in live) and any(e.license for e in live)
    assert any(e.location for e in live) and "trailer" in {e.type for e in live}
    assert {b.title is None for e in live for b in e.soundbites} == {True, False}


@pytest.mark.parametrize("show_id", SHOWS)
@pytest.mark.parametrize("parser", PARSERS)
def test_every_item_as_the_client_reads_it(parser, show_id, published, probed, parsed):
    feed = parsed(parser, f"{show_id}/feed.xml")
    expected = included_episodes(published, show_id)
    assert expected, f"{show_id} has no episode to check"
    assert feed.warnings == [], f"{parser} · {show_id}: complaints: {feed.warnings}"
    assert sorted(feed.items) == sorted(e.guid for e in expected), (
        f"{parser} · {show_id}: the items are not the show's published episodes"
    )
    failures, checked = [], 0
    for episode in expected:
        case = ItemCase(published, probed, show_id, episode)
        where = f"{parser} · {show_id} · {episode.show}/{episode.slug}"
        for field in FIELDS:
            failure = check(
                field, parser, feed.items[episode.guid], field.expected(case), case, where
            )
            checked += 1
            if failure:
                failures.append(failure)
    assert checked == len(expected) * len(FIELDS)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("show_id", SHOWS)
@pytest.mark.parametrize("parser", PARSERS)
def test_every_channel_as_the_client_reads_it(parser, show_id, published, parsed):
    feed = parsed(parser, f"{show_id}/feed.xml")
    case = ChannelCase(published, show_id)
    assert case.show.link and case.show.link != published.network.feed_url(show_id)
    failures = [
        failure
        for field in CHANNEL
        if (
            failure := check(
                field, parser, feed.channel, field.expected(case), case, f"{parser} · {show_id}"
            )
        )
    ]
    assert not failures, "\n".join(failures)


def test_the_anz_show_is_placed_in_sydney_alone(published, parsed):
    """Issue 25: a location is inherited whole or not at all — the ANZ show sets its own place
    (name, geo) and so carries no OpenStreetMap id of the main show's London (R65606)."""
    london = parsed("partytime", "itsmwp/feed.xml").channel["podcastLocation"]
    sydney = parsed("partytime", "itsmwp-anz/feed.xml").channel["podcastLocation"]
    assert (london["name"], london.get("osm")) == ("London", "R65606")
    assert (sydney["name"], sydney.get("geo"), sydney.get("osm")) == (
        "Sydney",
        "geo:-33.8688,151.2093",
        None,
    )


@pytest.mark.parametrize("parser", PARSERS)
def test_the_scheduled_episode_leaves_no_trace_before_its_date(parser, published, parsed):
    scheduled = published.episode(SCHEDULED_GUID)
    assert scheduled.date > datetime.now(timezone.utc)
    leaked = [p for p in published.store.rglob("*") if scheduled.slug in p.name]
    assert leaked == [], f"published before its date: {leaked}"
    waiting = [item["episode"] for item in published.summary["episodes_scheduled"]]
    assert waiting == [published.network.display(scheduled.path)]
    for show_id in SHOWS:
        guids = parsed(parser, f"{show_id}/feed.xml").items
        assert SCHEDULED_GUID not in guids, f"{parser} · {show_id}: lists the scheduled episode"
    home = parsed(parser, "itsmwp/feed.xml").items
    assert len(home) == len(published.network.episodes_of("itsmwp")) - 1


# -- the network's publisher feed -------------------------------------------------------------


@dataclass
class PublisherCase:
    published: Published

    @property
    def settings(self):
        return self.published.network.settings

    def shows(self) -> list[tuple]:
        network = self.published.network
        return [(s.podcast_guid, network.feed_url(s.id), s.title) for s in network.shows.values()]


PUBLISHER: list[Field] = [
    LAST_BUILD_DATE,
    Field(
        "title",
        lambda case: case.settings.name,
        {
            "partytime": lambda f: f["title"],
            "podcastparser": lambda f: f["title"],
            "feedparser": lambda f: f.title,
        },
    ),
    Field(
        "link (the network's website)",
        lambda case: case.settings.link,
        {
            "partytime": lambda f: f["link"],
            "podcastparser": lambda f: f["link"],
            "feedparser": lambda f: f.link,
        },
    ),
    Field(
        "podcast:guid (the network's)",
        lambda case: case.settings.podcast_guid,
        {
            "partytime": lambda f: f.get("guid"),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:guid"),
            "feedparser": lambda f: f.get("podcast_guid"),
        },
    ),
    Field(
        "podcast:medium",
        lambda case: "publisher",
        {
            "partytime": lambda f: f.get("medium"),
            "podcastparser": podcastparser_lacks("rss/channel/podcast:medium"),
            "feedparser": lambda f: f.get("podcast_medium"),
        },
    ),
    Field(
        "podcast:remoteItem per show (feedGuid, feedUrl, title)",
        lambda case: case.shows(),
        {
            "partytime": lambda f: [
                (r["feedGuid"], r.get("feedUrl"), r.get("title"))
                for r in f.get("podcastRemoteItems", [])
            ],
            "podcastparser": podcastparser_lacks("rss/channel/podcast:remoteItem"),
            "feedparser": NotExposed(
                "feedparser keeps one podcast_remoteitem dict (the last of the repeated tags)",
                lambda f: isinstance(f.get("podcast_remoteitem"), dict),
            ),
        },
    ),
]


@pytest.mark.parametrize("parser", PARSERS)
def test_the_publisher_feed_as_the_client_reads_it(parser, published, parsed):
    feed = parsed(parser, "publisher.xml")
    # a publisher feed lists feeds, never episodes; partytime says so, and nothing else
    expected_warnings = (
        ["warn: Provided feed has no items to parse."] if parser == "partytime" else []
    )
    assert feed.warnings == expected_warnings, f"{parser} · publisher.xml: {feed.warnings}"
    assert feed.items == {}
    case = PublisherCase(published)
    failures = [
        failure
        for field in PUBLISHER
        if (
            failure := check(
                field, parser, feed.channel, field.expected(case), case, f"{parser} · publisher.xml"
            )
        )
    ]
    assert not failures, "\n".join(failures)


def test_every_field_says_what_each_parser_does():
    """The limitations, listed: a parser either reads a field or the table says why not."""
    limitations = [
        f"{parser}: {field.name}: {reader.why}"
        for table in (FIELDS, CHANNEL, PUBLISHER)
        for field in table
        for parser, reader in field.read.items()
        if isinstance(reader, NotExposed)
    ]
    read = sum(
        not isinstance(reader, NotExposed)
        for table in (FIELDS, CHANNEL, PUBLISHER)
        for field in table
        for reader in field.read.values()
    )
    assert all(reason.split(": ")[-1] for reason in limitations)
    # partytime, the Podcast Index's own parser, reads every field but one it has no parser for
    assert [line for line in limitations if line.startswith("partytime")] == [
        "partytime: podcast:updateFrequency (text, rrule): podcast-partytime 5.0.0 has no parser "
        "for podcast:updateFrequency (no key for it in its output)"
    ], limitations
    assert read > len(limitations)


def test_the_partytime_script_reads_standard_input_too(clients, published):
    path = published.feed_path("itsmwp")
    from_file = tools.partytime(clients, path)
    done = tools._run(
        [clients.node, str(tools.PARTYTIME_SCRIPT)],
        cwd=tools.CLIENTS_DIR,
        timeout=120,
        stdin=path.read_text(encoding="utf-8"),
    )
    assert done.returncode == 0, done.stderr
    from_stdin = json.loads(done.stdout)
    for result in (from_file, from_stdin):
        result["feed"].pop("lastUpdate")  # partytime stamps the time of parsing
    assert from_stdin == from_file and len(from_file["feed"]["items"]) == 3
    broken = tools._run(
        [clients.node, str(tools.PARTYTIME_SCRIPT)],
        cwd=tools.CLIENTS_DIR,
        timeout=120,
        stdin="<rss><channel>",
    )
    assert broken.returncode == 1 and "could not parse" in broken.stderr
