"""What publishing refuses so that nothing published is lost or doubled.

- **A feed never silently loses an item.** Before a feed is written, the guids of the stored feed
  are compared with the new one: an item listeners have that the new feed would not carry stops
  the run (exit 3, one line per episode) — unless `podcast unpublish` took it down or it is dated
  in the future again (an already published episode moved later stays as published; one whose
  manifest entry is dated later is left out until then). The usual cause is a manifest older than
  the feeds (one put back from a backup): the message says how to bring a newer generation back.
- **One episode, one guid, one number.** An episode (show and slug) published under one guid is
  refused under another (apps would list it twice), and an episode number (per season) already
  taken in a feed by a published episode is refused for another — after merging with the stored
  manifest, so four checkouts that each ran `podcast new` do not give a feed four "episode 4"s.
  A cross-posted episode is numbered only in its home show's feed unless its `numbers:` give it
  one for that show (`Episode.numbers_in`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

from podcast_tools.content import Episode, Network
from podcast_tools.errors import Problem
from podcast_tools.publish.storage import StorageError
from podcast_tools.record import EpisodeRecord


@dataclass(frozen=True)
class Lost:
    feed: str  # where the stored feed is (storage URL/key)
    guid: str
    title: str
    reason: str  # why the new feed would not carry it, and what to do


class FeedLoss(StorageError):
    """A feed would lose items listeners have: nothing is written; one line per item."""

    def __init__(self, lost: list[Lost]):
        self.lost = lost
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [
            f'{item.feed}: would drop "{item.title}" (guid {item.guid}), which listeners have: '
            f"{item.reason}"
            for item in self.lost
        ]


def stored_items(xml: bytes) -> dict[str, str] | None:
    """guid → title of the items of a stored feed (None when it cannot be read as RSS)."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    items = {}
    for item in root.iter("item"):
        guid = (item.findtext("guid") or "").strip()
        if guid:
            items[guid] = " ".join((item.findtext("title") or "").split())[:80]
    return items


def lost_reason(
    guid: str, show_id: str, entry: dict[str, Any] | None, generation: int, state: str
) -> str:
    if entry is None:
        return (
            f"the manifest (generation {generation} in {state}) does not have it, so it may be "
            "older than the feeds; bring back a generation that has it (`podcast state list`, "
            "`podcast state restore GENERATION`), publish it from a checkout that has it, or take "
            f"it down on purpose (`podcast unpublish {guid}`)"
        )
    return (
        f'its episode ({entry["show"]}/{entry["slug"]}) is no longer posted to "{show_id}"; '
        f"put the show back in its `shows`, or take the episode down on purpose "
        f"(`podcast unpublish {guid}`)"
    )


def is_scheduled(entry: dict[str, Any] | None, now: datetime) -> bool:
    if entry is None:
        return False
    return datetime.fromisoformat(entry["meta"]["date"]) > now


def identity_problems(
    network: Network,
    published: dict[str, dict[str, Any]],
    run: list[Episode],
    record_of: Callable[[str, dict[str, Any]], EpisodeRecord] | None = None,
) -> list[Problem]:
    """This run's episodes that would double an episode of the manifest (`published`): the same
    show and slug under another guid, or a number (per season) another episode has in a feed.
    `record_of(guid, entry)`: an entry's record (a publish run reads each once)."""
    record_of = record_of or EpisodeRecord.from_entry
    problems = []
    mine = {episode.guid for episode in run}
    by_slug = {
        (entry["show"], entry["slug"]): guid
        for guid, entry in published.items()
        if guid not in mine
    }
    doubled = set()  # published guids this run's episodes would double (said once, by guid)
    for episode in run:
        old = by_slug.get((episode.show, episode.slug))
        if old is not None:
            doubled.add(old)
            problems.append(
                Problem(
                    network.display(episode.path),
                    "guid",
                    f'"{episode.guid}" is not "{old}", the guid {episode.show}/{episode.slug} was '
                    f'published with: guids never change (apps would list it twice); put "{old}" '
                    "back — or, if this is another episode, give it another file name (or take "
                    f"the old one down first: podcast unpublish {old})",
                )
            )
    others = {
        guid: record_of(guid, entry).episode(network.root)
        for guid, entry in published.items()
        if guid not in mine and guid not in doubled
    }
    taken: dict[tuple[str, int | None, int], Episode] = {}
    for guid, episode in sorted(others.items(), key=lambda item: (item[1].date, item[0])):
        for show_id in [episode.show, *episode.shows]:
            number, season = episode.numbers_in(show_id)
            if number is not None:
                taken.setdefault((show_id, season, number), episode)
    for episode in run:
        before = published.get(episode.guid)
        was = record_of(episode.guid, before).episode(network.root) if before is not None else None
        for show_id in episode.all_shows:
            number, season = episode.numbers_in(show_id)
            other = taken.get((show_id, season, number)) if number is not None else None
            if other is None or (was is not None and was.numbers_in(show_id) == (number, season)):
                continue  # free, or the episode's own already (a duplicate from before stays)
            home = show_id == episode.show
            problems.append(
                Problem(
                    network.display(episode.path),
                    "number" if home else f"numbers.{show_id}.number",
                    f'{number} is already the number of "{other.title}" '
                    f"({other.show}/{other.slug}, guid {other.guid}, published)"
                    + (f" in season {season}" if season else "")
                    + f' in the feed of "{show_id}"; give this episode the next free number',
                )
            )
    return problems
