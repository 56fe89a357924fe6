"""A feedgen extension for the Podcasting 2.0 namespace, and Apple's current itunes:explicit.

feedgen ships an iTunes extension but nothing for ``podcast:`` tags, and its ``itunes:explicit``
only knows yes/no/clean where Apple now wants true/false. Both are added here through feedgen's
own extension hooks (``extend_ns`` / ``extend_rss``), never by editing XML text afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

from podcast_tools.mediatypes import CHAPTERS_TYPE

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
NAMESPACE = "podcastindex"  # the attribute feedgen gives the extension: fg.podcastindex


@dataclass(frozen=True)
class RemoteItem:
    """A podcast:remoteItem pointing at another feed (remote-item.md: feedGuid required, feedUrl
    recommended as a fallback, medium when not "podcast", title as a display hint)."""

    feed_guid: str
    feed_url: str | None = None
    medium: str | None = None
    title: str | None = None


def _remote_item(parent: Any, item: RemoteItem) -> None:
    _element(
        parent,
        "remoteItem",
        feedGuid=item.feed_guid,
        feedUrl=item.feed_url,
        medium=item.medium,
        title=item.title,
    )


@dataclass(frozen=True)
class PersonTag:
    name: str
    role: str = "host"
    group: str = "cast"
    href: str | None = None
    img: str | None = None


def _element(parent: Any, tag: str, text: str | None = None, **attributes: str | None) -> Any:
    element = etree.SubElement(parent, f"{{{PODCAST_NS}}}{tag}")
    for key, value in attributes.items():
        if value is not None:
            element.set(key, value)
    if text is not None:
        element.text = text
    return element


def _explicit(parent: Any, value: bool | None) -> None:
    if value is not None:
        etree.SubElement(parent, f"{{{ITUNES_NS}}}explicit").text = "true" if value else "false"


def _persons(parent: Any, persons: list[PersonTag]) -> None:
    for person in persons:
        _element(
            parent,
            "person",
            person.name,
            role=person.role,
            group=person.group,
            href=person.href,
            img=person.img,
        )


# --- Podcasting 2.0 tags of reach: payments, rights, place, schedule, media -----------------------


@dataclass(frozen=True)
class RecipientTag:
    """A podcast:valueRecipient (value-recipient.md)."""

    type: str
    address: str
    split: int
    name: str | None = None
    custom_key: str | None = None
    custom_value: str | None = None
    fee: bool = False


@dataclass(frozen=True)
class ValueTag:
    """A podcast:value block (value.md) and its recipients."""

    type: str
    method: str
    recipients: tuple[RecipientTag, ...]
    suggested: Decimal | None = None


@dataclass(frozen=True)
class LicenseTag:
    name: str
    url: str | None = None


@dataclass(frozen=True)
class LocationTag:
    name: str
    geo: str | None = None
    osm: str | None = None


@dataclass(frozen=True)
class TrailerTag:
    """A podcast:trailer (trailer.md): like an enclosure, with pubdate (RFC 2822) and season."""

    title: str
    url: str
    pubdate: str
    length: int | None = None
    type: str | None = None
    season: int | None = None


@dataclass(frozen=True)
class TxtTag:
    text: str
    purpose: str | None = None


@dataclass(frozen=True)
class UpdateFrequencyTag:
    text: str
    rrule: str | None = None
    complete: bool = False
    dtstart: str | None = None


@dataclass(frozen=True)
class SoundbiteTag:
    start_s: float
    duration_s: float
    title: str | None = None


@dataclass(frozen=True)
class AlternateEnclosureTag:
    """A podcast:alternateEnclosure (alternate-enclosure.md) with its podcast:source URIs and an
    optional podcast:integrity (integrity.md)."""

    type: str
    sources: tuple[str, ...]
    length: int | None = None
    bitrate: int | None = None  # bits per second
    title: str | None = None
    default: bool = False
    integrity: tuple[str, str] | None = None  # (type "sri" | "pgp-signature", value)


def _seconds_attr(seconds: float) -> str:
    """A time as the namespace's decimal attributes take it (soundbite.md: "73.0", "42.25")."""
    text = f"{seconds:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _value(parent: Any, value: ValueTag) -> None:
    block = _element(
        parent,
        "value",
        type=value.type,
        method=value.method,
        suggested=None if value.suggested is None else format(value.suggested, "f"),
    )
    for recipient in value.recipients:
        _element(
            block,
            "valueRecipient",
            name=recipient.name,
            type=recipient.type,
            address=recipient.address,
            split=str(recipient.split),
            customKey=recipient.custom_key,
            customValue=recipient.custom_value,
            fee="true" if recipient.fee else None,
        )


def _license(parent: Any, license_: LicenseTag | None) -> None:
    if license_ is not None:
        _element(parent, "license", license_.name, url=license_.url)


def _location(parent: Any, location: LocationTag | None) -> None:
    if location is not None:
        _element(parent, "location", location.name, geo=location.geo, osm=location.osm)


def _alternate_enclosure(parent: Any, media: AlternateEnclosureTag) -> None:
    element = _element(
        parent,
        "alternateEnclosure",
        type=media.type,
        length=None if media.length is None else str(media.length),
        bitrate=None if media.bitrate is None else str(media.bitrate),
        title=media.title,
        default="true" if media.default else None,
    )
    for uri in media.sources:  # one or more sources, then the optional integrity (source.md)
        _element(element, "source", uri=uri)
    if media.integrity is not None:
        _element(element, "integrity", type=media.integrity[0], value=media.integrity[1])


@dataclass
class _ReachTags:
    """The reach tags a channel or an item carries, written in one fixed order."""

    value: ValueTag | None = None
    license: LicenseTag | None = None
    location: LocationTag | None = None
    trailers: list[TrailerTag] = field(default_factory=list)
    txts: list[TxtTag] = field(default_factory=list)
    update_frequency: UpdateFrequencyTag | None = None
    alternates: list[AlternateEnclosureTag] = field(default_factory=list)
    soundbites: list[SoundbiteTag] = field(default_factory=list)

    def write(self, parent: Any) -> None:
        for media in self.alternates:
            _alternate_enclosure(parent, media)
        for bite in self.soundbites:
            _element(
                parent,
                "soundbite",
                bite.title,
                startTime=_seconds_attr(bite.start_s),
                duration=_seconds_attr(bite.duration_s),
            )
        for trailer in self.trailers:
            _element(
                parent,
                "trailer",
                trailer.title,
                pubdate=trailer.pubdate,
                url=trailer.url,
                length=None if trailer.length is None else str(trailer.length),
                type=trailer.type,
                season=None if trailer.season is None else str(trailer.season),
            )
        _license(parent, self.license)
        _location(parent, self.location)
        if self.value is not None:
            _value(parent, self.value)
        for txt in self.txts:
            _element(parent, "txt", txt.text, purpose=txt.purpose)
        if self.update_frequency is not None:
            frequency = self.update_frequency
            _element(
                parent,
                "updateFrequency",
                frequency.text,
                complete="true" if frequency.complete else None,
                dtstart=frequency.dtstart,
                rrule=frequency.rrule,
            )


class PodcastIndexExtension(BaseExtension):
    """Channel level: podcast:guid, locked, funding, person, medium, podroll, publisher and
    remoteItem (publisher feeds), trailer, license, location, value, txt, updateFrequency;
    itunes:explicit."""

    def __init__(self) -> None:
        self._guid: str | None = None
        self._locked: tuple[bool, str] | None = None
        self._funding: list[tuple[str, str]] = []
        self._persons: list[PersonTag] = []
        self._medium: str | None = None
        self._podroll: list[RemoteItem] = []
        self._publisher: RemoteItem | None = None
        self._remote_items: list[RemoteItem] = []
        self._explicit: bool | None = None
        self.reach = _ReachTags()

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, rss_feed: Any) -> Any:
        channel = rss_feed[0]
        _explicit(channel, self._explicit)
        if self._guid:
            _element(channel, "guid", self._guid)
        if self._locked is not None:
            locked, owner = self._locked
            _element(channel, "locked", "yes" if locked else "no", owner=owner)
        for url, text in self._funding:
            _element(channel, "funding", text, url=url)
        _persons(channel, self._persons)
        if self._medium:
            _element(channel, "medium", self._medium)
        if self._podroll:
            podroll = _element(channel, "podroll")
            for item in self._podroll:
                _remote_item(podroll, item)
        if self._publisher is not None:  # publisher.md: exactly one remoteItem, medium publisher
            _remote_item(_element(channel, "publisher"), self._publisher)
        for item in self._remote_items:
            _remote_item(channel, item)
        self.reach.write(channel)
        return rss_feed

    def extend_atom(self, atom_feed: Any) -> Any:
        return atom_feed

    # setters -----------------------------------------------------------------------------------
    def guid(self, value: str) -> None:
        self._guid = value

    def locked(self, locked: bool, owner: str) -> None:
        self._locked = (locked, owner)

    def funding(self, url: str, text: str) -> None:
        self._funding.append((url, text))

    def person(self, person: PersonTag) -> None:
        self._persons.append(person)

    def medium(self, value: str) -> None:
        self._medium = value

    def podroll(self, feeds: list[RemoteItem]) -> None:
        self._podroll = list(feeds)

    def publisher(self, feed: RemoteItem) -> None:
        """The network's publisher feed this show belongs to (podcast:publisher)."""
        self._publisher = feed

    def remote_item(self, feed: RemoteItem) -> None:
        """A feed listed by a publisher feed (channel-level podcast:remoteItem)."""
        self._remote_items.append(feed)

    def explicit(self, value: bool) -> None:
        """Apple's itunes:explicit as true/false (feedgen's own setter writes yes/no)."""
        self._explicit = value

    def value(self, value: ValueTag) -> None:
        self.reach.value = value

    def license(self, license_: LicenseTag) -> None:
        self.reach.license = license_

    def location(self, location: LocationTag) -> None:
        self.reach.location = location

    def trailer(self, trailer: TrailerTag) -> None:
        self.reach.trailers.append(trailer)

    def txt(self, txt: TxtTag) -> None:
        self.reach.txts.append(txt)

    def update_frequency(self, frequency: UpdateFrequencyTag) -> None:
        self.reach.update_frequency = frequency


class PodcastIndexEntryExtension(BaseEntryExtension):
    """Item level: podcast:chapters, transcript, person, season, episode, alternateEnclosure,
    soundbite, license, location, value; itunes:explicit."""

    def __init__(self) -> None:
        self._chapters: str | None = None
        self._transcripts: list[tuple[str, str, str | None, str | None]] = []
        self._persons: list[PersonTag] = []
        self._season: int | None = None
        self._episode: int | None = None
        self._explicit: bool | None = None
        self._cdata_description: str | None = None
        self.reach = _ReachTags()

    def extend_rss(self, item: Any) -> Any:
        _explicit(item, self._explicit)
        if self._cdata_description is not None:
            description = item.find("description")
            if description is not None:
                description.text = etree.CDATA(self._cdata_description)
        if self._chapters:
            _element(item, "chapters", url=self._chapters, type=CHAPTERS_TYPE)
        for url, mime, language, rel in self._transcripts:
            _element(item, "transcript", url=url, type=mime, language=language, rel=rel)
        _persons(item, self._persons)
        if self._season is not None:  # the 2021 XSD requires the name attribute
            _element(item, "season", str(self._season), name=f"Season {self._season}")
        if self._episode is not None:
            _element(item, "episode", str(self._episode))
        self.reach.write(item)
        return item

    def extend_atom(self, entry: Any) -> Any:
        return entry

    def description_cdata(self, html: str) -> None:
        """The item's description as a CDATA section (what Apple's feed rules ask for)."""
        self._cdata_description = html

    def chapters(self, url: str) -> None:
        self._chapters = url

    def transcript(
        self, url: str, mime: str, language: str | None = None, rel: str | None = None
    ) -> None:
        """A podcast:transcript: one per form, the first the one apps prefer (WebVTT)."""
        self._transcripts.append((url, mime, language, rel))

    def person(self, person: PersonTag) -> None:
        self._persons.append(person)

    def season(self, number: int) -> None:
        self._season = number

    def episode(self, number: int) -> None:
        self._episode = number

    def explicit(self, value: bool) -> None:
        self._explicit = value

    def alternate_enclosure(self, media: AlternateEnclosureTag) -> None:
        self.reach.alternates.append(media)

    def soundbite(self, bite: SoundbiteTag) -> None:
        self.reach.soundbites.append(bite)

    def value(self, value: ValueTag) -> None:
        self.reach.value = value

    def license(self, license_: LicenseTag) -> None:
        self.reach.license = license_

    def location(self, location: LocationTag) -> None:
        self.reach.location = location
