"""Each imported item's files besides its audio — artwork, images, chapters, transcripts — and
its front matter."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podcast_tools.content.hints import quote_cut
from podcast_tools.importer.channel import persons_of
from podcast_tools.importer.download import Download
from podcast_tools.importer.feed import Feed, FeedItem, Link

if TYPE_CHECKING:
    from podcast_tools.importer.write import ImportPlan, PlannedEpisode

Warn = Callable[[str], None]

#: Transcript types apps read, best first, and the suffix each is saved with (HTML is refused:
#: the website would serve it as a page).
TRANSCRIPT_SUFFIXES = {
    "text/vtt": ".vtt",
    "application/x-subrip": ".srt",
    "application/srt": ".srt",
    "text/srt": ".srt",
    "application/json": ".json",
    "text/plain": ".txt",
}


def where(feed: Feed, item: FeedItem) -> str:
    """How a line names an item: the feed, its position and its title."""
    title = f" {quote_cut(item.title)}" if item.title else ""
    return f"{feed.source}: item {item.index + 1}{title}"


@dataclass(frozen=True)
class LinkedFile:
    kind: str  # "audio", "artwork", "image", "chapters", "transcript"
    download: Download
    guid: str | None = None  # the episode's (None: the show's artwork)
    suffix: str = ""


@dataclass
class Resolved:
    """What the downloads turned into: files to place (relative to episodes/) and what the
    front matter names."""

    files: dict[str, Path] = field(default_factory=dict)
    artwork: str | None = None
    images: dict[str, str] = field(default_factory=dict)
    transcripts: dict[str, str] = field(default_factory=dict)
    chapters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _download(
    plan: ImportPlan, item: FeedItem | None, url: str, label: str, audio=False, field_name=""
):
    where_ = where(plan.feed, item) if item is not None else f"{plan.feed.source}: channel"
    return Download(
        url=url,
        where=where_,
        label=f"download {label}",
        field=field_name or ("enclosure" if audio else label),
        expected_length=item.enclosure_length if (audio and item is not None) else 0,
        audio=audio,
    )


def best_transcript(links: list[Link]) -> tuple[Link, str] | None:
    ranked = [
        (list(TRANSCRIPT_SUFFIXES).index(link.type.lower()), link)
        for link in links
        if link.type.lower() in TRANSCRIPT_SUFFIXES
    ]
    if not ranked:
        return None
    _, link = min(ranked, key=lambda pair: pair[0])
    return link, TRANSCRIPT_SUFFIXES[link.type.lower()]


def item_links(plan: ImportPlan) -> list[LinkedFile]:
    """Every file the plan downloads: each episode's audio first (the bulk), then the rest."""
    links: list[LinkedFile] = []
    for episode in plan.episodes:
        item = episode.item
        assert item.enclosure is not None
        links.append(
            LinkedFile(
                "audio",
                _download(plan, item, item.enclosure.url, episode.audio_name, audio=True),
                episode.guid,
            )
        )
    if plan.show_table and plan.feed.channel.image:
        links.append(
            LinkedFile(
                "artwork",
                _download(plan, None, plan.feed.channel.image, "artwork", field_name="image"),
            )
        )
    for episode in plan.episodes:
        item = episode.item
        if item.image and item.image != plan.feed.channel.image:
            links.append(
                LinkedFile("image", _download(plan, item, item.image, "image"), episode.guid)
            )
        if item.chapters is not None:
            links.append(
                LinkedFile(
                    "chapters", _download(plan, item, item.chapters.url, "chapters"), episode.guid
                )
            )
        chosen = best_transcript(item.transcripts)
        if chosen is not None:
            link, suffix = chosen
            links.append(
                LinkedFile(
                    "transcript",
                    _download(plan, item, link.url, "transcript"),
                    episode.guid,
                    suffix,
                )
            )
    return links


def _image_suffix(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"\x89PNG"):
        return ".png"
    if head.startswith(b"\xff\xd8"):
        return ".jpg"
    return None


def extra_downloads(
    plan: ImportPlan, links: list[LinkedFile], files: dict[str, Path], warn: Warn
) -> Resolved:
    """Place the artwork, images, chapters and transcripts the downloads brought."""
    resolved = Resolved()
    slugs = {e.guid: e.slug for e in plan.episodes}
    show = plan.show_id
    for link in links:
        source = files.get(link.download.url)
        if source is None:  # its download failed: said, and left out
            continue
        if link.kind in ("artwork", "image"):
            suffix = _image_suffix(source)
            if suffix is None:
                warn(
                    f"{link.download.where}: image {link.download.url}: not a JPEG or PNG; left out"
                )
                continue
            if link.kind == "artwork":
                relative = f"art/{show}{suffix}"
                if (plan.root / "episodes" / relative).exists():
                    warn(f"episodes/{relative} exists: the show's artwork is left out; set it")
                    continue
                resolved.files[relative] = source
                resolved.artwork = relative
            else:
                name = f"{slugs[link.guid]}{suffix}"
                resolved.files[f"{show}/{name}"] = source
                resolved.images[link.guid] = name
        elif link.kind == "chapters":
            chapters = _json_chapters(source, link.download, warn)
            if chapters:
                resolved.chapters[link.guid] = chapters
        elif link.kind == "transcript":
            name = f"{slugs[link.guid]}{link.suffix}"
            resolved.files[f"{show}/{name}"] = source
            resolved.transcripts[link.guid] = name
    return resolved


def _json_chapters(path: Path, download: Download, warn: Warn) -> list[dict[str, Any]]:
    """Podcasting 2.0 JSON chapters (chapters.md) as front-matter chapters."""
    try:
        data = json.loads(path.read_bytes())
        entries = data["chapters"]
        chapters = []
        for entry in entries:
            if entry.get("toc") is False or not str(entry.get("title", "")).strip():
                continue
            chapter: dict[str, Any] = {
                "start": round(float(entry["startTime"]), 3),
                "title": str(entry["title"]).strip(),
            }
            url = entry.get("url")
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                chapter["url"] = url
            chapters.append(chapter)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        warn(
            f"{download.where}: chapters {download.url}: not Podcasting 2.0 JSON ({exc}); left out"
        )
        return []
    return sorted(chapters, key=lambda c: c["start"])


def chap_frames(path: Path) -> list[dict[str, Any]]:
    """An MP3's ID3 CHAP frames as front-matter chapters (none if it has none)."""
    from mutagen.id3 import ID3, ID3NoHeaderError

    try:
        tags = ID3(path)
    except (ID3NoHeaderError, OSError, ValueError):
        return []
    chapters = []
    for frame in tags.getall("CHAP"):
        title = frame.sub_frames.get("TIT2")
        if title is None or not str(title.text[0]).strip():
            continue
        chapter: dict[str, Any] = {
            "start": round(frame.start_time / 1000, 3),
            "title": str(title.text[0]).strip(),
        }
        links = frame.sub_frames.getall("WXXX")
        if links and str(links[0].url).startswith(("http://", "https://")):
            chapter["url"] = str(links[0].url)
        chapters.append(chapter)
    return sorted(chapters, key=lambda c: c["start"])


def episode_front_matter(
    episode: PlannedEpisode, resolved: Resolved, files: dict[str, Path], warn: Warn
) -> dict[str, Any]:
    item = episode.item
    front: dict[str, Any] = {
        "title": episode.title,
        "guid": episode.guid,
        "date": episode.date.isoformat(),
        "audio": episode.audio_name,
    }
    if episode.mastered:
        front["mastered"] = True
    if item.number is not None:
        front["number"] = item.number
    if item.season is not None:
        front["season"] = item.season
    if item.type in ("trailer", "bonus"):
        front["type"] = item.type
    if item.explicit is not None:
        front["explicit"] = item.explicit
    if episode.guid in resolved.images:
        front["image"] = resolved.images[episode.guid]
    if episode.guid in resolved.transcripts:
        front["transcript"] = resolved.transcripts[episode.guid]
    chapters = resolved.chapters.get(episode.guid)
    if chapters is None and episode.audio_name.endswith(".mp3"):
        assert item.enclosure is not None
        chapters = chap_frames(files[item.enclosure.url])
    if chapters:
        front["chapters"] = chapters
    persons = persons_of(item.persons, episode.slug, [])
    if persons:
        front["persons"] = persons
    return front
