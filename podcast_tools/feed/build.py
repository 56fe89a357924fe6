"""One RSS feed per show (iTunes + Podcasting 2.0), built from content plus the facts of each
episode's processed media; checked against Apple's rules before anything is written.

Deterministic: the same inputs give the same bytes (stable order, ``lastBuildDate`` given by the
caller — `built_at` — else the newest included episode's date, never "now" on its own).
Publishing dates a feed with `dated`: the stored feed's own lastBuildDate while nothing else in it
changes (the very bytes it holds, so an unchanged feed is never uploaded again), else the run's
time (`build_moment`) — lastBuildDate moves whenever the feed's bytes change, and never otherwise.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from feedgen.feed import FeedGenerator
from feedgen.util import formatRFC2822

from podcast_tools.content import Episode, Network, Show
from podcast_tools.content.models import License, Location, Value
from podcast_tools.errors import ContentError, Problem, UsageError
from podcast_tools.feed.extension import (
    NAMESPACE,
    AlternateEnclosureTag,
    LicenseTag,
    LocationTag,
    PersonTag,
    PodcastIndexEntryExtension,
    PodcastIndexExtension,
    RecipientTag,
    RemoteItem,
    SoundbiteTag,
    TrailerTag,
    TxtTag,
    UpdateFrequencyTag,
    ValueTag,
)
from podcast_tools.formats import PRIMARY, format_of_suffix
from podcast_tools.fsutil import write_bytes_atomic
from podcast_tools.layout import (
    PUBLISHER_FEED_KEY,
    episode_page_url,
    feed_key,
    measured_url,
    page_show,
    show_folder_url,
)
from podcast_tools.mediatypes import RSS_TYPE, transcript_published
from podcast_tools.notes import NOTES_LIMIT, apple_description, rendered_size_problem, strip_control

GENERATOR = "podcast_tools"
DESCRIPTION_LIMIT = NOTES_LIMIT
#: Seconds a soundbite may end past the audio (durations are rounded to milliseconds).
END_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class AudioMedia:
    """One published audio file of an episode, as a feed names it (podcast:alternateEnclosure)."""

    url: str
    type: str
    bytes: int
    duration_s: float
    sha256: str = ""  # hex; "" when an old manifest did not record it
    title: str | None = None  # the format as people read it, e.g. "MP3"
    #: The audio stream's bits per second — not the file's bytes over its duration, which count
    #: the tags and cover art — or None (not measured: the feed then declares none).
    bitrate: int | None = None

    @property
    def integrity(self) -> tuple[str, str] | None:
        """("sri", "sha256-<base64 of the digest>") — an SRI string (integrity.md) — or None."""
        if not self.sha256:
            return None
        return ("sri", "sha256-" + base64.b64encode(bytes.fromhex(self.sha256)).decode("ascii"))


@dataclass(frozen=True)
class TranscriptMedia:
    """One published form of an episode's transcript (WebVTT, SRT, JSON or plain text)."""

    url: str
    type: str  # MIME type

    @property
    def rel(self) -> str | None:
        """`captions` for the forms players show as captions (timed cues: WebVTT and SRT)."""
        return "captions" if self.type in CAPTION_TYPES else None


#: The transcript types that are captions (podcast:transcript rel="captions").
CAPTION_TYPES = frozenset({"text/vtt", "application/x-subrip"})


@dataclass(frozen=True)
class EpisodeMedia:
    """What a feed item needs from the episode's processed (and published) files."""

    url: str
    bytes: int
    duration_s: float
    mime: str = PRIMARY.mime
    html: str = ""  # rendered, sanitised show notes
    summary: str = ""  # plain text
    chapters_url: str | None = None
    transcript_url: str | None = None
    transcript_type: str | None = None
    image_url: str | None = None
    audio: tuple[AudioMedia, ...] = ()  # every audio file, the enclosure's first
    #: Every form of the transcript, in feed order (WebVTT first); empty: `transcript_url` alone.
    transcripts: tuple[TranscriptMedia, ...] = ()
    machine_transcript: bool = False  # made by speech recognition

    @property
    def transcript_files(self) -> tuple[TranscriptMedia, ...]:
        """The forms of the transcript a feed names (types that are published), in order."""
        forms = self.transcripts
        if not forms and self.transcript_url and self.transcript_type:
            forms = (TranscriptMedia(self.transcript_url, self.transcript_type),)
        return tuple(form for form in forms if transcript_published(form.type))

    @property
    def files(self) -> tuple[AudioMedia, ...]:
        """Every audio file; just the enclosure when `audio` was not given."""
        return self.audio or (AudioMedia(self.url, self.mime, self.bytes, self.duration_s),)


@dataclass
class FeedInputs:
    """Everything about published media the feeds need, keyed by episode guid and show id."""

    episodes: dict[str, EpisodeMedia] = field(default_factory=dict)
    artwork_urls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltFeed:
    show_id: str
    xml: bytes
    included: tuple[str, ...]  # guids, newest first
    scheduled: tuple[str, ...]  # guids left out because their date is still to come
    unprocessed: tuple[str, ...]  # guids left out because there is no media for them yet


def _clean(text: str) -> str:
    return strip_control(text)


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def select_episodes(
    network: Network,
    show_id: str,
    inputs: FeedInputs,
    *,
    now: datetime,
    include_scheduled: bool,
    candidates: list[Episode] | None = None,
) -> tuple[list[Episode], list[Episode], list[Episode]]:
    """(included newest first, scheduled for later, not yet processed) episodes of a show, from
    `candidates` (default: the show's episodes in the content)."""
    included, scheduled, unprocessed = [], [], []
    for episode in network.episodes_of(show_id) if candidates is None else candidates:
        if episode.draft:
            continue  # never listed; the caller says so once
        if episode.date > now and not include_scheduled:
            scheduled.append(episode)
        elif episode.guid not in inputs.episodes:
            unprocessed.append(episode)
        else:
            included.append(episode)
    included.sort(key=lambda e: (e.date, e.guid), reverse=True)
    return included, scheduled, unprocessed


def check_feed(
    network: Network, show: Show, episodes: list[Episode], inputs: FeedInputs
) -> list[Problem]:
    """Apple's and the namespace's rules for one feed; each problem names file and field."""
    toml = network.display(network.root / "episodes" / "network.toml")
    problems: list[Problem] = []
    where = f"shows.{show.id}"
    artwork = inputs.artwork_urls.get(show.id)
    if not artwork:
        problems.append(
            Problem(
                toml, f"{where}.artwork", "has no published URL; process or publish the artwork"
            )
        )
    channel_urls = {"link": show.link, "artwork": artwork, "moved_to": show.moved_to}
    channel_urls.update({f"funding[{i}].url": f.url for i, f in enumerate(show.funding, 1)})
    for name, url in channel_urls.items():
        if url and not _is_web_url(url):
            problems.append(
                Problem(toml, f"{where}.{name}", f'"{url}" is not an absolute http(s) URL')
            )
    if len(show.description.encode()) > DESCRIPTION_LIMIT:
        problems.append(Problem(toml, f"{where}.description", f"is over {DESCRIPTION_LIMIT} bytes"))
    seen: dict[str, Episode] = {}
    for episode in episodes:
        media = inputs.episodes[episode.guid]
        file = network.display(episode.path)
        if episode.guid in seen:
            problems.append(
                Problem(
                    file,
                    "guid",
                    f"is also used by {network.display(seen[episode.guid].path)} in this feed",
                )
            )
        seen[episode.guid] = episode
        if media.bytes <= 0:
            problems.append(
                Problem(file, "audio", "its published file has no bytes; process it again")
            )
        suffix = Path(urlsplit(media.url).path).suffix.lower()
        audio_format = format_of_suffix(suffix)
        if audio_format is None or audio_format.mime != media.mime:
            problems.append(
                Problem(
                    file,
                    "audio",
                    f'enclosure type "{media.mime}" does not match its {suffix or "unknown"} file',
                )
            )
        for name, url in (
            ("audio", media.url),
            *(("audio", audio.url) for audio in media.files[1:]),
            ("chapters", media.chapters_url),
            ("transcript", media.transcript_url),
            *(("transcript", form.url) for form in media.transcripts),
            ("image", media.image_url),
        ):
            if url and not _is_web_url(url):
                problems.append(
                    Problem(file, name, f'published URL "{url}" is not absolute http(s)')
                )
        problems.extend(soundbite_problems(file, episode, media.duration_s))
        problems.extend(numbering_problems(network, show, [episode]))
        too_long = rendered_size_problem(file, media.html or episode.title)
        if too_long is not None:
            problems.append(too_long)
    return problems


def soundbite_problems(file: str, episode: Episode, duration_s: float) -> list[Problem]:
    """Each soundbite lies inside the published audio (soundbite.md: its times are the
    enclosure's)."""
    problems = []
    for index, bite in enumerate(episode.soundbites, 1):
        end = bite.start + bite.duration
        if end > duration_s + END_TOLERANCE_S:
            problems.append(
                Problem(
                    file,
                    f"soundbites[{index}]",
                    f"{bite.start:g} s + {bite.duration:g} s ends past the published audio's end "
                    f"({duration_s:g} s); soundbite times are the published audio's",
                )
            )
    return problems


def numbering_problems(network: Network, show: Show, episodes: list[Episode]) -> list[Problem]:
    """Apple's rule for a serial show: every item of its feed has an episode number."""
    return [
        Problem(network.display(e.path), *needed)
        for e in episodes
        if (needed := e.number_needed(show.id, show.type)) is not None
    ]


def build_feed(
    network: Network,
    show_id: str,
    inputs: FeedInputs,
    *,
    now: datetime | None = None,
    include_scheduled: bool = False,
    candidates: list[Episode] | None = None,
    built_at: datetime | None = None,
) -> BuiltFeed:
    """The RSS of one show; raises ContentError (nothing built) when a rule is broken.

    `candidates` are the episodes to consider (default: the show's episodes in the content;
    publishing passes everything the manifest holds for the show). `now` decides which are due;
    `built_at` is the lastBuildDate (default: the newest included episode's date, else `now`;
    publishing gives it with `dated`)."""
    show = network.shows[show_id]
    moment = now or datetime.now(timezone.utc)
    included, scheduled, unprocessed = select_episodes(
        network,
        show_id,
        inputs,
        now=moment,
        include_scheduled=include_scheduled,
        candidates=candidates,
    )
    problems = check_feed(network, show, included, inputs)
    if problems:
        raise ContentError(problems)

    generator = FeedGenerator()
    generator.load_extension("podcast")
    generator.register_extension(NAMESPACE, PodcastIndexExtension, PodcastIndexEntryExtension)
    feed_url = network.feed_url(show_id)
    generator.title(_clean(show.title))
    # feedgen writes the last link() as the channel's <link>: self first, then the website (the
    # show's link, else the network's, else its folder under base_url — never the feed itself)
    website = show.link or network.settings.link or show_folder_url(network, show_id)
    generator.link(href=feed_url, rel="self", type=RSS_TYPE)
    generator.link(href=website, rel="alternate")
    generator.description(_clean(show.description))
    generator.language(show.language)
    if show.copyright:
        generator.copyright(_clean(show.copyright))
    generator.generator(GENERATOR)
    newest = max((e.date for e in included), default=None)
    generator.lastBuildDate(built_at or newest or moment)

    _add_itunes_channel(generator, show, inputs.artwork_urls[show_id])
    namespace: PodcastIndexExtension = getattr(generator, NAMESPACE)
    _add_namespace_channel(namespace, network, show)
    for episode in included:
        if episode.type == "trailer":
            namespace.trailer(_trailer_tag(show, episode, inputs.episodes[episode.guid]))

    # feedgen puts each new entry first: add oldest first so the newest leads the feed
    for episode in reversed(included):
        _add_item(generator, network, show, episode, inputs.episodes[episode.guid])

    xml = generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)
    return BuiltFeed(
        show_id=show_id,
        xml=xml,
        included=tuple(e.guid for e in included),
        scheduled=tuple(e.guid for e in scheduled),
        unprocessed=tuple(e.guid for e in unprocessed),
    )


def _add_itunes_channel(generator: FeedGenerator, show: Show, artwork_url: str) -> None:
    """The channel's itunes: tags."""
    itunes = generator.podcast
    itunes.itunes_author(_clean(show.author))
    itunes.itunes_owner(name=_clean(show.owner.name), email=show.owner.email)
    itunes.itunes_image(artwork_url)
    category = {"cat": show.category.name}
    if show.category.subcategory:
        category["sub"] = show.category.subcategory
    itunes.itunes_category(category)
    itunes.itunes_type(show.type)
    if show.moved_to:  # (podcast:locked is off then: the model unlocks a show that moved)
        itunes.itunes_new_feed_url(show.moved_to)
    if show.block:
        itunes.itunes_block(True)
    if show.complete:
        itunes.itunes_complete(True)


def _add_namespace_channel(namespace: PodcastIndexExtension, network: Network, show: Show) -> None:
    """The channel's podcast: tags (Podcasting 2.0): identity, people, siblings, reach."""
    namespace.explicit(show.explicit)
    namespace.guid(show.podcast_guid)
    namespace.locked(show.locked, show.owner.email)
    for funding in show.funding:
        namespace.funding(funding.url, _clean(funding.text))
    for person in show.persons:
        namespace.person(PersonTag(person.name, person.role, person.group, person.href, person.img))
    namespace.medium(show.medium)
    siblings = [
        RemoteItem(other.podcast_guid, network.feed_url(other.id))
        for other in sorted(network.shows.values(), key=lambda s: s.podcast_guid)
        if other.id != show.id
    ]
    if siblings:
        namespace.podroll(siblings)
    if network.settings.podcast_guid:
        namespace.publisher(
            RemoteItem(
                network.settings.podcast_guid, network.publisher_feed_url, medium="publisher"
            )
        )

    _add_reach(namespace, show)


def _add_item(
    generator: FeedGenerator, network: Network, show: Show, episode: Episode, media: EpisodeMedia
) -> None:
    entry = generator.add_entry()
    entry.title(_clean(episode.title))
    entry.guid(episode.guid, permalink=False)
    # the episode's page on the website (Apple recommends an item link): in the folder of its
    # home show, also in a feed it is cross-posted to — the page the site writes
    owner = page_show(episode.all_shows, network.shows)
    if owner is not None:
        entry.link(href=episode_page_url(network.settings.base_url, owner, episode.slug))
    entry.pubDate(episode.date)
    entry.enclosure(measured_url(show.enclosure_prefix, media.url), str(media.bytes), media.mime)
    description = _clean(media.html) or _clean(episode.summary or episode.title)
    apple = apple_description(description) or _clean(episode.summary or episode.title)
    entry.description(apple)
    entry.content(description, type="html")  # the richer HTML: content:encoded
    number, season = episode.numbers_in(show.id)
    podcast = entry.podcast
    podcast.itunes_duration(int(round(media.duration_s)))
    if number is not None:
        podcast.itunes_episode(number)
    if season is not None:
        podcast.itunes_season(season)
    podcast.itunes_episode_type(episode.type)
    if media.image_url:
        podcast.itunes_image(media.image_url)
    if media.summary:
        podcast.itunes_summary(_clean(media.summary))
    extension: PodcastIndexEntryExtension = getattr(entry, NAMESPACE)
    extension.description_cdata(apple)
    extension.explicit(show.explicit if episode.explicit is None else episode.explicit)
    if media.chapters_url:
        extension.chapters(media.chapters_url)
    # in the transcript's language: its home show's (a cross-post's feed may speak another);
    # a machine transcript's is the language it was recognised in (`transcripts.language`)
    home = network.shows.get(episode.show)
    language = home.language if home is not None else None
    if home is not None and media.machine_transcript and home.transcripts.language:
        language = home.transcripts.language
    for form in media.transcript_files:
        extension.transcript(form.url, form.type, language or show.language, form.rel)
    for person in episode.persons:
        extension.person(PersonTag(person.name, person.role, person.group, person.href, person.img))
    if season is not None:
        extension.season(season)
    if number is not None:
        extension.episode(number)
    for index, audio in enumerate(media.files):
        extension.alternate_enclosure(
            AlternateEnclosureTag(
                type=audio.type,
                sources=(measured_url(show.enclosure_prefix, audio.url),),
                length=audio.bytes,
                bitrate=audio.bitrate,
                title=audio.title,
                default=index == 0,  # the enclosure's own file
                integrity=audio.integrity,
            )
        )
    for bite in episode.soundbites:
        extension.soundbite(SoundbiteTag(bite.start, bite.duration, bite.title))
    if episode.value is not None:  # overrides the show's for this episode (value.md)
        extension.value(_value_tag(episode.value))
    if episode.license is not None:
        extension.license(_license_tag(episode.license))
    if episode.location is not None:
        extension.location(_location_tag(episode.location))


def _value_tag(value: Value) -> ValueTag:
    return ValueTag(
        type=value.type,
        method=value.method,
        suggested=value.suggested,
        recipients=tuple(
            RecipientTag(
                type=r.type,
                address=r.address,
                split=r.split,
                name=None if r.name is None else _clean(r.name),
                custom_key=r.custom_key,
                custom_value=r.custom_value,
                fee=r.fee,
            )
            for r in value.recipients
        ),
    )


def _license_tag(license_: License) -> LicenseTag:
    return LicenseTag(license_.name, license_.url)


def _location_tag(location: Location) -> LocationTag:
    return LocationTag(_clean(location.name), location.geo, location.osm)


def _add_reach(namespace: PodcastIndexExtension, show: Show) -> None:
    """The show's channel-level Podcasting 2.0 tags of reach, as network.toml sets them."""
    if show.value is not None:
        namespace.value(_value_tag(show.value))
    if show.license is not None:
        namespace.license(_license_tag(show.license))
    if show.location is not None:
        namespace.location(_location_tag(show.location))
    for txt in show.txt:
        namespace.txt(TxtTag(_clean(txt.text), txt.purpose))
    if show.update_frequency is not None:
        frequency = show.update_frequency
        namespace.update_frequency(
            UpdateFrequencyTag(
                _clean(frequency.text), frequency.rrule, frequency.complete, frequency.dtstart
            )
        )


def _trailer_tag(show: Show, episode: Episode, media: EpisodeMedia) -> TrailerTag:
    """A trailer episode as the channel's podcast:trailer (trailer.md): its enclosure's file."""
    return TrailerTag(
        title=_clean(episode.title),
        url=measured_url(show.enclosure_prefix, media.url),
        pubdate=format_datetime(episode.date),
        length=media.bytes,
        type=media.mime,
        season=episode.numbers_in(show.id)[1],
    )


@dataclass(frozen=True)
class PublisherFeed:
    xml: bytes
    key: str = PUBLISHER_FEED_KEY


def build_publisher_feed(
    network: Network,
    artwork_urls: dict[str, str],
    shows: Iterable[str] | None = None,
    *,
    built_at: datetime | None = None,
) -> PublisherFeed:
    """The network's publisher feed (Podcasting 2.0 medium "publisher"; publisher.md): no items,
    one podcast:remoteItem per show (of `shows`, when given: those that have a feed), and its own
    podcast:guid. Every show's feed points back at it with podcast:publisher, so apps can offer
    "more from this network". `built_at` is its lastBuildDate (default: `build_moment()`;
    publishing gives it with `dated`)."""
    settings = network.settings
    if not settings.podcast_guid:
        raise ContentError(
            [
                Problem(
                    network.display(network.root / "episodes" / "network.toml"),
                    "network.podcast_guid",
                    "missing; the publisher feed needs it (podcast validate suggests one)",
                )
            ]
        )
    generator = FeedGenerator()
    generator.load_extension("podcast")
    generator.register_extension(NAMESPACE, PodcastIndexExtension, PodcastIndexEntryExtension)
    generator.title(_clean(settings.name))
    generator.link(href=network.publisher_feed_url, rel="self", type=RSS_TYPE)
    generator.link(href=settings.link or settings.base_url, rel="alternate")
    generator.description(_clean(settings.description or settings.name))
    generator.generator(GENERATOR)
    generator.lastBuildDate(built_at or build_moment())
    first = next(iter(network.shows.values()), None)
    if first is not None:
        generator.language(first.language)
        if artwork_urls.get(first.id):
            generator.podcast.itunes_image(artwork_urls[first.id])
    namespace: PodcastIndexExtension = getattr(generator, NAMESPACE)
    namespace.guid(settings.podcast_guid)
    namespace.medium("publisher")
    listed = network.shows.keys() if shows is None else set(shows)
    for show in (show for show in network.shows.values() if show.id in listed):
        namespace.remote_item(
            RemoteItem(show.podcast_guid, network.feed_url(show.id), title=_clean(show.title))
        )
    return PublisherFeed(generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))


#: The reproducible-builds.org variable: when set (seconds since 1970), the time a changed feed
#: is dated with instead of the run's — the same content then builds the same bytes on any day.
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
_FIRST_SECOND = 365 * 86400  # 1971-01-01T00:00:00Z
_YEAR_10000 = 253402300800  # 10000-01-01T00:00:00Z
_LAST_BUILD_DATE = re.compile(rb"<lastBuildDate>([^<]{1,64})</lastBuildDate>")
Feed = TypeVar("Feed", BuiltFeed, PublisherFeed)


def source_date_epoch() -> datetime | None:
    """SOURCE_DATE_EPOCH's time (None: not set, or empty); a one-line UsageError naming it and
    its value unless it is whole seconds since 1970 (digits only) in the years 1971 to 9999 —
    checked when the commands that write feeds start, before anything is uploaded or written
    (`1732500000000`, milliseconds, would otherwise fail mid-publish; `1e9` be ignored)."""
    value = os.environ.get(SOURCE_DATE_EPOCH, "")
    digits = value.strip()
    if not digits:
        return None
    if (
        digits.isascii()
        and digits.isdigit()
        and len(digits) <= 12
        and _FIRST_SECOND <= int(digits) < _YEAR_10000
    ):
        return datetime.fromtimestamp(int(digits), timezone.utc)
    raise UsageError(
        f"{SOURCE_DATE_EPOCH}={json.dumps(value, ensure_ascii=False)}: not a time the feeds can be dated with; "
        "set it to whole seconds since 1970 (digits only, a date in the years 1971 to 9999, "
        "e.g. `date +%s`), or unset it"
    )


def build_moment(now: datetime | None = None) -> datetime:
    """The time a feed that changes is dated with: `now` (default: the clock), or
    SOURCE_DATE_EPOCH's when that is set (`source_date_epoch`)."""
    return source_date_epoch() or now or datetime.now(timezone.utc)


def last_build_date(xml: bytes | None) -> datetime | None:
    """The lastBuildDate a feed's bytes carry (None: no feed, or no readable date in it).

    >>> last_build_date(b"<rss><channel><lastBuildDate>Wed, 25 Nov 2026 09:00:00 +0000"
    ...                 b"</lastBuildDate></channel></rss>")
    datetime.datetime(2026, 11, 25, 9, 0, tzinfo=datetime.timezone.utc)
    """
    found = _LAST_BUILD_DATE.search(xml or b"")
    if found is None:
        return None
    try:
        when = parsedate_to_datetime(found.group(1).decode("ascii").strip())
    except (TypeError, ValueError, UnicodeDecodeError):
        return None
    return when if when.tzinfo is not None else None


#: A stored lastBuildDate at or before this is no date (a feed published dated 1970 by an
#: earlier version): the feed is dated with the run's time, not kept at 1970 forever.
_NO_DATE_UNTIL = datetime(1970, 1, 2, tzinfo=timezone.utc)
#: RFC 822 dates count whole seconds: a change is dated at least this after the stored date.
_DATE_STEP = timedelta(seconds=1)
#: A stored date further ahead of the run's time than this was made by a clock that was wrong:
#: a change is dated with the run's time, not a second after it (which would stay ahead forever).
_CLOCK_SKEW = timedelta(days=1)


def dated(build: Callable[[datetime], Feed], stored: bytes | None, moment: datetime) -> Feed:
    """A feed built by `build(lastBuildDate)`, dated so that its lastBuildDate moves whenever its
    bytes change and never otherwise: built with the `stored` feed's own date, it is kept when
    that gives the very stored bytes (nothing else changed); else built again with `moment` —
    the run's time, at least a second after the stored date (a clock at or behind it must not
    give new bytes the old date; a stored date more than a day ahead of `moment`, from a wrong
    clock, is not followed). A stored date that is unreadable or at or before 1970-01-02
    counts as none."""
    previous = last_build_date(stored)
    if previous is not None and previous > _NO_DATE_UNTIL:
        same = build(previous)
        if same.xml == stored:
            return same
        if previous - moment <= _CLOCK_SKEW:  # (a subtraction: no overflow at year 9999)
            moment = max(moment, previous + _DATE_STEP)
        redated = _redated(same, moment)  # built once: a feed of 1,000 items takes ~1 s
        if redated is not None:
            return redated
    return build(moment)


def _redated(feed: Feed, moment: datetime) -> Feed | None:
    """`feed` with its channel's lastBuildDate set to `moment` — the very bytes a build with
    `moment` gives (the date is in no other element; written as feedgen writes it) — or None
    when the channel's one lastBuildDate, before any item, is not found."""
    xml = feed.xml
    items = xml.find(b"<item>")
    head = len(xml) if items < 0 else items
    found = list(_LAST_BUILD_DATE.finditer(xml, 0, head))
    if len(found) != 1:
        return None
    text = formatRFC2822(moment).encode("ascii")
    return dataclasses.replace(feed, xml=xml[: found[0].start(1)] + text + xml[found[0].end(1) :])


def write_feed(feed: BuiltFeed | PublisherFeed, out_dir: Path) -> Path:
    """Write `<out>/<show>/feed.xml` (temp file + rename), as laid out in storage."""
    path = out_dir / (feed.key if isinstance(feed, PublisherFeed) else feed_key(feed.show_id))
    write_bytes_atomic(path, feed.xml)
    return path
