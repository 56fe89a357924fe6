"""What an import adds, and adding it without ever leaving the network half-changed.

`plan_import` reads the feed and decides everything that can be decided without downloading:
the show's table (a new show only), each new item's file names, guid, date and notes — and
refuses bad input in one line each. `import_show` downloads every file into the import cache,
writes the episode files into a staging folder, and only when all of that succeeded moves them
into place and appends the show's table to network.toml (the rest of the file byte for byte).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from podcast_tools.audio.mastered import audio_span
from podcast_tools.content.hints import one_line, quote_cut
from podcast_tools.content.loader import NETWORK_FILE
from podcast_tools.content.models import ID_PATTERN
from podcast_tools.errors import AudioInputError, ContentError, Problem, UsageError, WriteError
from podcast_tools.fsutil import make_folder, write_text_atomic
from podcast_tools.importer import channel as channel_table
from podcast_tools.importer.checks import artwork_refusal, checked_front
from podcast_tools.importer.download import Download, Progress, download_all
from podcast_tools.importer.feed import Feed, FeedItem, is_web_url, parse_feed, read_source
from podcast_tools.importer.items import (
    best_transcript,
    episode_front_matter,
    extra_downloads,
    item_links,
    where,
)
from podcast_tools.importer.markdown import escaped_line, html_to_markdown
from podcast_tools.scaffold import front_matter_leniently, slugify

#: Where downloads wait (and `.part` files resume) until an import moves them into place.
CACHE = Path("build/.cache/import")
#: A pubDate before this is no real date: hosts write the Unix epoch (1970) for "none".
_EPOCH_END = datetime(1971, 1, 1, tzinfo=timezone.utc)
_MEDIA_SUFFIXES = {
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/x-m4a": ".m4a",
    "audio/mp4": ".m4a",
    "audio/m4a": ".m4a",
    "audio/aac": ".m4a",
    "audio/ogg": ".ogg",
    "audio/opus": ".opus",
    "audio/x-wav": ".wav",
    "audio/wav": ".wav",
    "audio/flac": ".flac",
    "video/mp4": ".mp4",
}
Warn = Callable[[str], None]


@dataclass
class PlannedEpisode:
    item: FeedItem
    guid: str
    slug: str  # "<NNN>-<slug>": the episode file's stem
    title: str
    date: datetime
    audio_name: str
    notes: str  # Markdown
    mastered: bool = True  # an MP3 published as it is (else: mastered like a recording)

    @property
    def file_name(self) -> str:
        return f"{self.slug}.md"


@dataclass
class ImportPlan:
    root: Path
    show_id: str
    feed: Feed
    show_exists: bool
    show_table: dict  # the new [shows.<id>] table's values ({} for a show that exists)
    episodes: list[PlannedEpisode]
    already: int  # items whose guid the show has already
    warnings: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.root / "episodes" / self.show_id

    @property
    def download_bytes(self) -> int:
        """The enclosures' lengths as the feed gives them (0 where it gives none)."""
        return sum(e.item.enclosure_length for e in self.episodes)

    def toml_text(self) -> str:
        return channel_table.toml_table(self.show_id, self.show_table) if self.show_table else ""


@dataclass(frozen=True)
class ImportResult:
    episodes: list[Path]
    show_added: bool
    downloaded_bytes: int


def plan_import(root: Path, source: str, show_id: str, *, warn: Warn | None = None) -> ImportPlan:
    """Read the feed at `source` and decide what importing it into show `show_id` adds.

    Raises ContentError (one line each) for a source that is no feed, a feed without items,
    duplicate guids, or a name that clashes with a file already in the network."""
    if not ID_PATTERN.match(show_id):
        raise UsageError(
            f"--show {quote_cut(show_id)}: a show id uses lowercase letters, digits and "
            '"-" (e.g. "my-show")'
        )
    feed = parse_feed(read_source(source), source)
    warnings: list[str] = []
    network = _read_network(root)
    show_exists = show_id in network.get("shows", {})
    guids_here, guids_elsewhere = _known_guids(root, show_id)
    items = _usable_items(feed, warnings)
    _check_guids(feed, items, guids_elsewhere)
    new_items = [item for item in items if item.guid not in guids_here]
    _web_links_only(feed, new_items, warnings)
    episodes = _plan_episodes(root, show_id, feed, new_items, warnings)
    table = {} if show_exists else channel_table.show_settings(feed, show_id, warnings)
    warnings += _moves_and_locks(feed)
    plan = ImportPlan(
        root=root,
        show_id=show_id,
        feed=feed,
        show_exists=show_exists,
        show_table=table,
        episodes=episodes,
        already=len(items) - len(new_items),
        warnings=warnings,
    )
    _check_clashes(plan)
    if warn is not None:
        for line in warnings:
            warn(line)
    return plan


def _moves_and_locks(feed: Feed) -> list[str]:
    """What the feed says about moving: it moved on already, or it is locked against imports."""
    lines = []
    if feed.channel.new_feed_url and feed.channel.new_feed_url != feed.url:
        lines.append(
            f"{feed.source}: itunes:new-feed-url: the feed says the show moved to "
            f"{feed.channel.new_feed_url}; import from there if that is its home now"
        )
    if feed.channel.locked:
        owner = f" (owner {feed.channel.locked_owner})" if feed.channel.locked_owner else ""
        lines.append(
            f"{feed.source}: podcast:locked: yes{owner}: the feed asks other hosts not to import "
            "it — fine for your own show; unlock it at the old host if a directory refuses the move"
        )
    return lines


def _read_network(root: Path) -> dict:
    path = root / NETWORK_FILE
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc}); run `podcast validate`") from None


def _known_guids(root: Path, show_id: str) -> tuple[set[str], dict[str, Path]]:
    """The guids of the show's episodes, and those of every other episode (guid → file)."""
    here: set[str] = set()
    elsewhere: dict[str, Path] = {}
    for path in sorted((root / "episodes").glob("*/*.md")):
        guid = front_matter_leniently(path).get("guid")
        if guid is None:
            continue
        if path.parent.name == show_id:
            here.add(str(guid))
        else:
            elsewhere[str(guid)] = path
    return here, elsewhere


def _usable_items(feed: Feed, warnings: list[str]) -> list[FeedItem]:
    """The items that are episodes: those without audio skipped, a missing guid taken from the
    enclosure URL (what apps identify such an item by)."""
    usable = []
    for item in feed.items:
        if item.enclosure is None:
            warnings.append(f"{where(feed, item)}: no enclosure (no audio): skipped")
            continue
        if not item.guid:
            item.guid = item.enclosure.url
            item.guid_from_enclosure = True
            warnings.append(
                f"{where(feed, item)}: no guid; its enclosure URL is kept as the guid "
                "(apps identify it by that)"
            )
        usable.append(item)
    return usable


def _web_links_only(feed: Feed, items: list[FeedItem], warnings: list[str]) -> None:
    """Refuse an enclosure that is no http(s) URL (file://, ftp://, data: would copy a local file
    or an internal resource into the network); leave out such an optional link in one line."""
    problems: list[Problem] = []

    def refused(url: str) -> str:
        return f"{url!r}: only http and https URLs are downloaded"

    for item in items:
        assert item.enclosure is not None
        if not is_web_url(item.enclosure.url):
            problems.append(Problem(where(feed, item), "enclosure", refused(item.enclosure.url)))
        if item.image and not is_web_url(item.image):
            warnings.append(f"{where(feed, item)}: image: {refused(item.image)}; left out")
            item.image = None
        if item.chapters is not None and not is_web_url(item.chapters.url):
            warnings.append(
                f"{where(feed, item)}: chapters: {refused(item.chapters.url)}; left out"
            )
            item.chapters = None
        for link in [t for t in item.transcripts if not is_web_url(t.url)]:
            warnings.append(f"{where(feed, item)}: transcript: {refused(link.url)}; left out")
            item.transcripts.remove(link)
    channel = feed.channel
    if channel.image and not is_web_url(channel.image):
        warnings.append(f"{feed.source}: channel: image: {refused(channel.image)}; left out")
        channel.image = None
    if problems:
        raise ContentError(problems)


def _check_guids(feed: Feed, items: list[FeedItem], elsewhere: dict[str, Path]) -> None:
    problems: list[Problem] = []
    first: dict[str, FeedItem] = {}
    for item in items:
        assert item.guid is not None
        if item.guid in first:
            problems.append(
                Problem(
                    where(feed, item),
                    "guid",
                    f'"{item.guid}" is also the guid of item {first[item.guid].index + 1}; apps '
                    "would see one episode: fix the feed (save it, edit it, import the file)",
                )
            )
        first.setdefault(item.guid, item)
        if item.guid in elsewhere:
            problems.append(
                Problem(
                    where(feed, item),
                    "guid",
                    f'"{item.guid}" is already the guid of {elsewhere[item.guid]}',
                )
            )
    if problems:
        raise ContentError(problems)


def _next_number(folder: Path) -> int:
    highest = 0
    for path in folder.glob("*.md"):
        number = front_matter_leniently(path).get("number")
        match = re.match(r"^(\d+)-", path.stem)
        if isinstance(number, int):
            highest = max(highest, number)
        if match:
            highest = max(highest, int(match.group(1)))
    return highest + 1


def _item_date(feed: Feed, item: FeedItem, warnings: list[str]) -> datetime:
    if item.date is not None and item.date >= _EPOCH_END:
        return item.date
    said = f'"{item.date_text}"' if item.date_text else "no pubDate"
    warnings.append(
        f"{where(feed, item)}: date: {said} is no real date; kept as 1970-01-01 so the feed "
        "orders it as before — write the real date in its front matter"
    )
    return item.date if item.date is not None else datetime(1970, 1, 1, tzinfo=timezone.utc)


def _plan_episodes(
    root: Path, show_id: str, feed: Feed, items: list[FeedItem], warnings: list[str]
) -> list[PlannedEpisode]:
    dated = [(item, _item_date(feed, item, warnings)) for item in items]
    # oldest first; feeds list newest first, so equal dates keep the feed's order reversed
    dated.sort(key=lambda pair: (pair[0].date is not None, pair[1], -pair[0].index))
    number = _next_number(root / "episodes" / show_id)
    planned = []
    for offset, (item, when) in enumerate(dated):
        title = item.title.strip()
        if not title:
            title = f"Episode {item.number or number + offset}"
            warnings.append(f"{where(feed, item)}: no title; called it {title!r}")
        slug = f"{number + offset:03d}-{slugify(title)}"[:60].rstrip("-")
        planned.append(
            PlannedEpisode(
                item=item,
                guid=item.guid or "",
                slug=slug,
                title=title,
                date=when,
                audio_name=slug + _audio_suffix(item),
                notes=html_to_markdown(item.notes_html),
            )
        )
    return planned


def _audio_suffix(item: FeedItem) -> str:
    assert item.enclosure is not None
    suffix = Path(unquote(urlsplit(item.enclosure.url).path)).suffix.lower()
    if suffix in set(_MEDIA_SUFFIXES.values()):
        return suffix
    return _MEDIA_SUFFIXES.get(item.enclosure.type.lower(), ".mp3")


def _names_of(plan: ImportPlan, episode: PlannedEpisode) -> list[str]:
    """The files an episode may write beside it: known before any download (an image's suffix
    comes from its bytes: either)."""
    item = episode.item
    names = [episode.file_name, episode.audio_name]
    if item.image and item.image != plan.feed.channel.image:
        names += [f"{episode.slug}.jpg", f"{episode.slug}.png"]
    chosen = best_transcript(item.transcripts)
    if chosen is not None:
        names.append(f"{episode.slug}{chosen[1]}")
    return names


def _check_clashes(plan: ImportPlan) -> None:
    problems = []
    for episode in plan.episodes:
        for name in _names_of(plan, episode):
            path = plan.folder / name
            if path.exists() or path.is_symlink():
                problems.append(
                    Problem(
                        str(path.relative_to(plan.root)),
                        "",
                        f'exists already; item "{episode.title}" (guid "{episode.guid}") would '
                        "be written there: move that file away or rename it",
                    )
                )
    if problems:
        raise ContentError(problems)


# --- carrying the plan out ------------------------------------------------------------------


def import_show(
    plan: ImportPlan,
    *,
    jobs: int = 4,
    progress: Progress | None = None,
    warn: Warn = lambda line: None,
) -> ImportResult:
    """Download, stage and move into place everything `plan` adds; on any failure nothing of
    the network changes (finished downloads and `.part` files stay in the import cache)."""
    cache = plan.root / CACHE
    links = item_links(plan)
    downloads = [link.download for link in links]
    files = download_all(
        downloads,
        cache,
        jobs=jobs,
        progress=progress,
        warn=warn,
        done=lambda download, path: _say_downloaded(download, path, warn),
    )
    make_folder(cache)
    stage = Path(tempfile.mkdtemp(prefix=f"stage-{plan.show_id}-", dir=cache))
    try:
        placed = _stage(plan, links, files, stage, warn)
        moved = _move_into_place(plan, stage, placed)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    for path in files.values():
        path.unlink(missing_ok=True)
    size = sum(p.stat().st_size for p in moved if p.suffix in set(_MEDIA_SUFFIXES.values()))
    return ImportResult(
        episodes=[p for p in moved if p.suffix == ".md"],
        show_added=bool(plan.show_table),
        downloaded_bytes=size,
    )


def _say_downloaded(download: Download, path: Path, say: Warn) -> None:
    """A line per episode's audio as it is whole: progress where no bar is drawn (CI logs)."""
    if download.audio:
        name = download.label.removeprefix("download ")
        say(f"downloaded {name} ({path.stat().st_size:,} bytes)")


def _stage(plan: ImportPlan, links, files: dict[str, Path], stage: Path, warn: Warn) -> list[str]:
    """Write every new file into `stage` under its path relative to episodes/; return those."""
    placed: list[str] = []

    def put(relative: str, source: Path | None = None, text: str | None = None) -> None:
        target = stage / relative
        make_folder(target.parent)
        if source is not None:
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
        else:
            assert text is not None
            target.write_text(text, encoding="utf-8")
        placed.append(relative)

    _decide_audio(plan, files, warn)
    resolved = extra_downloads(plan, links, files, warn)
    for relative, source in resolved.files.items():
        put(relative, source=source)
    placed[:] = [p for p in placed if p not in _refused_images(plan, resolved, stage, warn)]
    problems: list[Problem] = []
    for episode in plan.episodes:
        assert episode.item.enclosure is not None
        put(f"{plan.show_id}/{episode.audio_name}", source=files[episode.item.enclosure.url])
        front = episode_front_matter(episode, resolved, files, warn)
        named = {front.get("image"), front.get("transcript")} - {None}
        refused = checked_front(
            front, stage / plan.show_id, stage, where(plan.feed, episode.item), warn
        )
        for name in named - {front.get("image"), front.get("transcript")}:  # left out
            (stage / plan.show_id / name).unlink(missing_ok=True)
            placed.remove(f"{plan.show_id}/{name}")
        if refused:
            problems += refused
            continue
        text = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
        body = episode.notes or f"{escaped_line(episode.title)}\n"  # the title as text
        put(f"{plan.show_id}/{episode.file_name}", text=f"---\n{text}---\n\n{body}")
    if problems:
        raise ContentError(problems)
    if plan.show_table and resolved.artwork:
        plan.show_table["artwork"] = resolved.artwork
    return placed


def _refused_images(plan: ImportPlan, resolved, stage: Path, warn: Warn) -> set[str]:
    """Leave out (in one line each) staged artwork and episode images Apple would refuse (a
    600×400 image, a CMYK one); return what was left out, relative to episodes/."""
    refused: set[str] = set()
    if resolved.artwork:
        wrong = artwork_refusal(stage / resolved.artwork)
        if wrong is not None:
            warn(f"{plan.feed.source}: channel: image: {wrong}; left out")
            refused.add(resolved.artwork)
            resolved.artwork = None
    for episode in plan.episodes:
        name = resolved.images.get(episode.guid)
        if name is None:
            continue
        wrong = artwork_refusal(stage / plan.show_id / name)
        if wrong is not None:
            warn(f"{where(plan.feed, episode.item)}: image: {wrong}; left out")
            refused.add(f"{plan.show_id}/{name}")
            del resolved.images[episode.guid]
    for relative in refused:
        (stage / relative).unlink(missing_ok=True)
    return refused


def _decide_audio(plan: ImportPlan, files: dict[str, Path], warn: Warn) -> None:
    """Each episode's audio by its bytes: an MP3 whose frames read whole is `mastered` (published
    as it is); another format (M4A, Ogg, FLAC, WAV, an MP4 video) is imported without `mastered`
    and saved with its own suffix, in one line each; an "MP3" without readable frames (cut off,
    junk after an ID3 tag) is refused in one line."""
    problems: list[Problem] = []
    for episode in plan.episodes:
        assert episode.item.enclosure is not None
        path = files[episode.item.enclosure.url]
        try:
            audio_span(path)
        except AudioInputError as exc:
            suffix = _other_audio_suffix(path)
            if suffix is None:
                problems.append(
                    Problem(
                        where(plan.feed, episode.item),
                        "enclosure",
                        f"{episode.item.enclosure.url}: {exc.reason}",
                    )
                )
                continue
            episode.mastered = False
            episode.audio_name = episode.slug + suffix
            warn(
                f"{where(plan.feed, episode.item)}: enclosure: is {suffix[1:].upper()}, not an "
                "MP3: imported without `mastered` (it is mastered like a recording)"
            )
            continue
        episode.mastered = True
        episode.audio_name = episode.slug + ".mp3"
    if problems:
        raise ContentError(problems)


def _other_audio_suffix(path: Path) -> str | None:
    """The suffix of audio (or an MP4 video) that is no MP3, by its first bytes; None for what
    looks like an MP3 (an ID3 tag, an MPEG frame sync) or nothing known."""
    with path.open("rb") as handle:
        head = handle.read(64)
    if head[4:8] == b"ftyp":
        return ".m4a" if head[8:12] in (b"M4A ", b"M4B ", b"M4P ") else ".mp4"
    if head.startswith(b"OggS"):
        return ".opus" if b"OpusHead" in head else ".ogg"
    if head.startswith(b"fLaC"):
        return ".flac"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return ".wav"
    return None


def _move_into_place(plan: ImportPlan, stage: Path, placed: list[str]) -> list[Path]:
    episodes = plan.root / "episodes"
    network_file = plan.root / NETWORK_FILE
    original = network_file.read_bytes()
    new_toml = None
    if plan.show_table:
        try:
            new_toml = channel_table.appended(original.decode("utf-8"), plan.toml_text())
        except ValueError as exc:  # TOMLDecodeError, UnicodeDecodeError: the file as it is
            raise ContentError(
                [
                    Problem(
                        NETWORK_FILE.as_posix(),
                        "",
                        f"the show's table cannot be appended to it ({one_line(str(exc))}); "
                        "nothing changed",
                    )
                ]
            ) from None
    for relative in placed:  # checked again: nothing may have appeared since the plan
        if (episodes / relative).exists():
            raise ContentError(
                [Problem(f"episodes/{relative}", "", "appeared while importing; nothing changed")]
            )
    moved: list[Path] = []
    made: list[Path] = []  # folders this move created, outermost first
    try:
        for relative in placed:
            target = episodes / relative
            made += _missing_folders(target.parent, episodes)
            make_folder(target.parent)
            moved.append(target)  # before the replace: Ctrl-C right after it is undone too
            try:
                os.replace(stage / relative, target)
            except OSError as exc:
                moved.pop()
                raise WriteError.of(exc, target) from None
        if new_toml is not None:
            write_text_atomic(network_file, new_toml)
    except BaseException:
        for path in moved:
            if not (stage / path.relative_to(episodes)).exists():  # it was moved: undo it
                path.unlink(missing_ok=True)
        for folder in reversed(made):
            try:
                folder.rmdir()
            except OSError:
                pass  # not empty: something else is in it now
        raise
    return moved


def _missing_folders(folder: Path, top: Path) -> list[Path]:
    """The folders from `top` down to `folder` that do not exist yet, outermost first."""
    missing = []
    while folder != top and not folder.exists():
        missing.append(folder)
        folder = folder.parent
    return list(reversed(missing))


def dry_run_lines(plan: ImportPlan) -> list[str]:
    """What an import would write, for `--dry-run`."""
    lines: list[str] = []
    if plan.show_table:
        lines.append(f"would append to {NETWORK_FILE.as_posix()}:")
        lines += ["  " + line for line in plan.toml_text().rstrip("\n").split("\n")]
    else:
        lines.append(f'show "{plan.show_id}" exists: its settings are left as they are')
    if plan.already:
        lines.append(f"{plan.already} item(s) of the feed are in the show already")
    lines.append(f"would add {len(plan.episodes)} episode(s) to episodes/{plan.show_id}/:")
    for episode in plan.episodes:
        size = episode.item.enclosure_length
        shown = f"{size / 1e6:.1f} MB" if size else "size unknown"
        seconds = episode.item.duration_s
        if seconds is not None:
            shown += (
                f", {int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
            )
        lines.append(
            f"  {episode.file_name}  {episode.date.isoformat()}  {json.dumps(episode.title)}  "
            f"guid {json.dumps(episode.guid)}  ({shown})"
        )
    total = plan.download_bytes
    lines.append(
        f"{total / 1e6:.1f} MB of audio to download"
        + (
            " (some items give no length)"
            if any(not e.item.enclosure_length for e in plan.episodes)
            else ""
        )
        + "; nothing written (dry run)"
    )
    return lines
