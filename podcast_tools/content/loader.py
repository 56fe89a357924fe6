"""Read a network from its files, resolve spin-off inheritance, and check every rule at once.

``load_network`` either returns a fully valid :class:`Network` or raises one
:class:`~podcast_tools.errors.ContentError` listing every problem in every file.

This is the base layer: it reads text and checks what text and the file system can tell. What
only decoding audio or images can tell (durations, files cut short, Apple's artwork rules) comes
from the layer above as a :class:`FileChecks`; ``podcast_tools.media_checks`` supplies the real
ones and ``load_checked_network``, which every command uses.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import re
import tomllib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from podcast_tools.content.hints import did_you_mean, one_line, quote_cut
from podcast_tools.content.models import (
    ID_PATTERN,
    PER_SHOW_FIELDS,
    WHOLE_TABLES,
    Episode,
    FrontMatter,
    NetworkFile,
    NetworkSettings,
    Show,
)
from podcast_tools.content.timecode import format_timecode
from podcast_tools.errors import AudioInputError, ContentError, NotANetworkError, Problem
from podcast_tools.factcache import MISS, FactCache, file_identity
from podcast_tools.layout import (
    PUBLISHER_FEED_KEY,
    folder_store_problem,
    public_url,
)
from podcast_tools.lfs import MAX_POINTER_BYTES, is_pointer
from podcast_tools.locations import file_url_folder

NETWORK_FILE = Path("episodes") / "network.toml"
#: Namespace for a show's podcast:guid (Podcasting 2.0 spec): UUIDv5 of the feed URL sans scheme.
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
#: Seconds a time may lie past the recording's end before it counts as outside it (header rounding).
END_TOLERANCE_S = 0.05


@dataclass(frozen=True)
class FileChecks:
    """The checks of audio and image files that the content layer cannot make itself.

    Each is called with the path of a file the content names, once the models have found it is
    a file inside the network. The audio calls run in parallel threads: they must be
    thread-safe.
    """

    #: Seconds of audio in the file; raises AudioInputError (its ``reason`` follows the file's
    #: path in the message) when the file cannot be read as audio.
    duration: Callable[[Path], float]
    #: Raises AudioInputError unless the file decodes to the end its duration promises.
    whole: Callable[[Path, float], None]
    #: What Apple would object to in show or episode artwork, one message each (empty: fine).
    artwork: Callable[[Path], list[str]]
    #: What is wrong with a chapter image, as the words after its path; None when it is fine.
    chapter_image: Callable[[Path], str | None]


# Where a resolved show value came from.
BUILT_IN = "built-in default"
NETWORK = "[network]"  # a [network] key that is also a show setting (enclosure_prefix)
DEFAULTS = "[defaults]"
#: [network] keys every show inherits, below [defaults] and the show's own.
NETWORK_SHOW_SETTINGS = ("enclosure_prefix",)


@dataclass(frozen=True)
class Network:
    """A validated network: settings, resolved shows and all episodes."""

    root: Path
    settings: NetworkSettings
    shows: dict[str, Show]
    #: show id → dotted field ("owner.email") → where its value came from: the id of the show
    #: that set it, "[defaults]" or "built-in default".
    origins: dict[str, dict[str, str]]
    episodes: tuple[Episode, ...]
    durations: dict[str, float] = field(default_factory=dict)  # episode guid → master seconds
    #: masters and jingles that are Git LFS pointers (not checked out): resolved path → "master"
    #: or "jingle". Their sha256 is the pointer's; what needs the audio asks for it then.
    pointers: dict[Path, str] = field(default_factory=dict)
    #: What is right but perhaps not meant, one line each (`podcast validate` prints them): a
    #: show that sets part of a table it would otherwise inherit whole (WHOLE_TABLES).
    notes: tuple[Problem, ...] = ()

    @property
    def episodes_dir(self) -> Path:
        return self.root / "episodes"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    @property
    def drafts(self) -> list[Episode]:
        """Episodes marked `draft: true`: validated, never processed or published."""
        return [e for e in self.episodes if e.draft]

    def drafts_note(self, drafts: list[Episode]) -> str:
        """The one line that says which drafts a command leaves out."""
        files = ", ".join(self.display(e.path) for e in drafts)
        return f"skipping {len(drafts)} draft(s), not ready to publish: {files}"

    def episode_at(self, path: Path) -> Episode | None:
        """The episode whose file `path` is (symlinks and relative paths resolved), or None."""
        wanted = Path(path).resolve()
        return next((e for e in self.episodes if e.path.resolve() == wanted), None)

    def episodes_of(self, show_id: str) -> list[Episode]:
        """Episodes posted to a show (its own and cross-posted ones), oldest first."""
        posted = [e for e in self.episodes if show_id in e.all_shows]
        return sorted(posted, key=lambda e: (e.date, e.guid))

    def show_path(self, relative: str) -> Path:
        """A path from network.toml (artwork, jingles), relative to the episodes/ folder."""
        return self.episodes_dir / relative

    def jingles(self, episode: Episode) -> tuple[Path | None, Path | None]:
        """The episode's intro and outro: its own (`false`: none), else its show's."""
        show = self.shows[episode.show]

        def jingle(own: str | bool | None, inherited: str | None) -> Path | None:
            if own is False:
                return None
            if isinstance(own, str):
                return episode.resolve(own)
            return self.show_path(inherited) if inherited else None

        return jingle(episode.intro, show.intro), jingle(episode.outro, show.outro)

    def feed_url(self, show_id: str) -> str:
        return feed_url(self.settings.base_url, show_id)

    @property
    def publisher_feed_url(self) -> str:
        return publisher_feed_url(self.settings.base_url)

    def display(self, path: Path) -> str:
        return display_path(path, self.root)

    def pointers_note(self) -> str | None:
        """One line saying how many masters and jingles are Git LFS pointers (None: none)."""
        if not self.pointers:
            return None
        kinds = list(self.pointers.values())
        said = [
            f"{kinds.count(kind)} {kind}{'s' if kinds.count(kind) != 1 else ''}"
            for kind in ("master", "jingle")
            if kind in kinds
        ]
        one = len(kinds) == 1
        return (
            f"note: {' and '.join(said)} {'is a' if one else 'are'} Git LFS "
            f"pointer{'' if one else 's'} (not checked out): each is checked when a run needs "
            "its audio (`podcast publish --plan` lists what a run needs)"
        )


def publisher_feed_url(base_url: str) -> str:
    """The public URL of the network's publisher feed: ``<base_url>publisher.xml``."""
    return public_url(base_url, PUBLISHER_FEED_KEY)


def feed_url(base_url: str, show_id: str) -> str:
    """The public URL of a show's feed: ``<base_url><show>/feed.xml``."""
    return f"{base_url.rstrip('/')}/{show_id}/feed.xml"


def podcast_guid_for(url: str) -> str:
    """The Podcasting 2.0 ``podcast:guid`` for a feed URL (UUIDv5, scheme and trailing / removed).

    >>> podcast_guid_for("https://podnews.net/rss")
    '9b024349-ccf0-5f69-a609-6b82873eab3c'
    """
    bare = url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def display_path(path: Path, root: Path) -> str:
    """A path as users see it in messages: relative to the network root when inside it."""
    if path.is_absolute() and root.is_absolute() and ".." not in path.parts:
        try:  # already spelled under the root: no file system look-up needed
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` holding episodes/network.toml."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / NETWORK_FILE).is_file():
            return candidate
    raise NotANetworkError(
        f"no {NETWORK_FILE.as_posix()} in {here} or any folder above it; "
        "run inside a network, pass --root DIR, or create one with `podcast init DIR`"
    )


def load_network(
    root: Path, *, checks: FileChecks | None, cache: FactCache | None = None
) -> Network:
    """Load and validate the whole network under `root`; raise ContentError listing all problems.

    `checks` is required so that no caller goes without the media checks by accident: pass
    ``podcast_tools.media_checks.MEDIA_CHECKS`` (or call ``load_checked_network``) for a network
    to process or publish. With None only the text and the file system are checked (keys,
    values, inheritance, guids, numbers, referenced files that exist inside the network); no
    file is decoded, so durations, trims, cuts and chapters against the recording, files cut
    short and artwork go unchecked, and ``Network.durations`` stays empty.

    With a `cache`, an episode file's parsed front matter is taken from it while the file is
    unchanged (every rule is still checked against it); the caller saves the cache.
    """
    root = root.resolve()
    loader = _Loader(root, checks, cache)
    with no_cycle_collection():
        network = loader.load()
    if loader.problems or network is None:
        raise ContentError(loader.problems)
    return network


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Loading makes hundreds of thousands of objects and no reference cycles worth collecting;
    the collector's passes over them would cost a third of loading 10,000 episodes."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Loader:
    def __init__(self, root: Path, checks: FileChecks | None, cache: FactCache | None = None):
        self.root = root
        self.episodes_dir = root / "episodes"
        self.checks = checks
        self.cache = cache
        self.resolve = _Resolver(root)  # `root` is resolved (load_network)
        self.problems: list[Problem] = []
        self.show_types: dict[str, str] = {}
        self._referenced: dict[tuple[str, str], Path] = {}
        self.pointers: dict[Path, str] = {}  # masters and jingles that are Git LFS pointers
        #: (table that set it, e.g. "shows.itsmwp-anz", key) → (where it would have come from,
        #: the keys it left out): a table of one thing set in part (WHOLE_TABLES)
        self.partial: dict[tuple[str, str], tuple[str, list[str]]] = {}
        #: (table, key) of each table of one thing set to {} there: none, not the inherited one
        self.emptied: set[tuple[str, str]] = set()

    # -- helpers ---------------------------------------------------------------------------------

    def display(self, path: Path) -> str:
        return display_path(path, self.root)

    def problem(self, path: Path, field: str, message: str) -> None:
        self.problems.append(Problem(self.display(path), field, message))

    def referenced(self, episode: Episode, relative: str) -> Path:
        """``episode.resolve(relative)``, one Path object per folder and spelling in a load (the
        10,000 episodes of a network name a few files: their look-ups reuse one Path's text)."""
        key = (os.path.dirname(os.fspath(episode.path)), relative)
        path = self._referenced.get(key)
        if path is None:
            path = self._referenced[key] = episode.resolve(relative)
        return path

    def context(self, base: Path, base_label: str, *, draft: bool = False) -> dict[str, Any]:
        return {
            "base": base,
            "base_label": base_label,
            "display": self.display,
            "root": self.root,
            "draft": draft,
            "resolve": self.resolve,
        }

    # -- network.toml ----------------------------------------------------------------------------

    def load(self) -> Network | None:
        toml_path = self.root / NETWORK_FILE
        if self.cache is not None:  # what facts derived from its content are stored under
            self.cache.note_identity("network file", toml_path, file_identity(toml_path))
        try:
            raw = tomllib.loads(toml_path.read_text(encoding="utf-8").removeprefix("\ufeff"))
        except FileNotFoundError:
            self.problem(toml_path, "", "not found; create it with `podcast init DIR`")
            return None
        except UnicodeDecodeError as exc:
            self.problem(toml_path, f"byte {exc.start}", "is not UTF-8 text; save it as UTF-8")
            return None
        except tomllib.TOMLDecodeError as exc:
            self.problem(toml_path, _toml_position(exc), f"cannot parse TOML: {_toml_reason(exc)}")
            return None
        except RecursionError:
            self.problem(toml_path, "", "cannot parse TOML: arrays or tables nested too deeply")
            return None
        depth = _depth(raw)
        if depth > MAX_NESTING:
            self.problem(
                toml_path,
                "",
                f"values nested {depth} levels deep; at most {MAX_NESTING} make sense",
            )
            return None
        if not self.utf8_only(toml_path, raw):
            return None

        try:
            network_file = NetworkFile.model_validate(raw)
        except ValidationError as exc:
            self.add_validation_problems(toml_path, exc, NetworkFile)
            return None
        self.check_folder_stores(toml_path, network_file.network)

        shows, origins = self.resolve_shows(toml_path, network_file)
        if network_file.network.podcast_guid is None:
            url = publisher_feed_url(network_file.network.base_url)
            self.problem(
                toml_path,
                "network.podcast_guid",
                f'missing; add podcast_guid = "{podcast_guid_for(url)}" to [network] (the '
                f"network's publisher feed: UUIDv5 of its first URL {url}; keep it when it moves)",
            )
        episodes, durations = self.load_episodes(set(network_file.shows))
        self.check_media_whole(toml_path, shows, origins, episodes, durations)
        return Network(
            root=self.root,
            settings=network_file.network,
            shows=shows,
            origins=origins,
            episodes=tuple(episodes),
            durations=durations,
            pointers=self.pointers,
            notes=tuple(self.partial_notes(toml_path)),
        )

    def check_folder_stores(self, toml_path: Path, settings: NetworkSettings) -> None:
        """A folder store (storage, state) stays off the network folder and its own folders."""
        for field_name in ("storage", "state"):
            url = getattr(settings, field_name)
            folder = file_url_folder(url, self.root) if url else None
            problem = folder and folder_store_problem(
                url, folder, self.root, state=field_name == "state"
            )
            if problem:
                self.problem(toml_path, f"network.{field_name}", problem)

    def utf8_only(self, path: Path, data: Any) -> bool:
        """True when every text in parsed `data` (keys too) is one UTF-8 can carry; else False,
        with a problem for each field that holds a lone surrogate (YAML reads "\\udfff" as
        one; feeds, pages and the manifest are UTF-8, so publish would fail half-way)."""
        found = False
        for field_name, char in _not_utf8(data):
            found = True
            self.problem(
                path,
                field_name,
                f"contains U+{ord(char):04X}, half of a UTF-16 surrogate pair, which is not text "
                "UTF-8 can carry; write the character itself (or one escape, e.g. "
                '"\\U0001F600"), not \\u escapes of its halves',
            )
        return not found

    def resolve_shows(
        self, toml_path: Path, network_file: NetworkFile
    ) -> tuple[dict[str, Show], dict[str, dict[str, str]]]:
        raw_shows = network_file.shows
        if not raw_shows:
            self.problem(toml_path, "shows", "no shows; add a [shows.<id>] table")
        for key in sorted(PER_SHOW_FIELDS & network_file.defaults.keys()):
            self.problem(
                toml_path, f"defaults.{key}", "belongs to one show; set it in [shows.<id>]"
            )

        built_in = _model_defaults(Show)
        shows: dict[str, Show] = {}
        origins: dict[str, dict[str, str]] = {}
        for show_id, own in raw_shows.items():
            if not ID_PATTERN.match(show_id):
                self.problem(
                    toml_path,
                    f"shows.{show_id}",
                    'show ids may only use lowercase letters, digits and "-" (e.g. "itsmwp-anz")',
                )
                continue
            chain = self.extends_chain(toml_path, show_id, raw_shows)
            if chain is None:
                continue
            merged, provenance = self.merge_layers(network_file, chain, built_in)
            provenance[("id",)] = show_id

            try:
                show = Show.model_validate(
                    merged, context=self.context(self.episodes_dir, "the episodes/ folder")
                )
            except ValidationError as exc:
                self.add_show_problems(toml_path, show_id, exc, provenance, network_file)
                continue
            shows[show_id] = show
            self.show_types[show_id] = show.type
            if show.moved_to and own.get("locked") is True:  # an inherited one: moved_to wins
                self.problem(
                    toml_path,
                    f"shows.{show_id}.locked",
                    "is true, but the show moved away (moved_to): podcast:locked must be off "
                    "for the new host to import its feed; remove this line",
                )
            origins[show_id] = {
                ".".join(leaf): ("own" if source == show_id else source)
                for leaf, source in sorted(provenance.items())
                if leaf != ("id",)
            }
        self.check_unique_podcast_guids(toml_path, shows)
        for path in sorted({self.episodes_dir / show.artwork for show in shows.values()}):
            self.check_artwork(path)
        return shows, origins

    def merge_layers(
        self, network_file: NetworkFile, chain: list[str], built_in: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
        """The settings of the show `chain` starts with, each layer over the one below: built-in
        ← [network] ← [defaults] ← the farthest ancestor ← … ← the show; and where each value
        came from (dotted path → layer)."""
        merged: dict[str, Any] = {}
        provenance: dict[tuple[str, ...], str] = {}
        from_network = {
            key: value
            for key in NETWORK_SHOW_SETTINGS
            if (value := getattr(network_file.network, key)) is not None
        }
        layers: list[tuple[str, dict[str, Any]]] = [(BUILT_IN, built_in), (NETWORK, from_network)]
        layers.append((DEFAULTS, network_file.defaults))
        layers += [(show_id, network_file.shows[show_id]) for show_id in reversed(chain)]
        for source, layer in layers:
            if source not in (BUILT_IN, NETWORK, chain[0]):  # inherited: never a show's own
                layer = {k: v for k, v in layer.items() if k not in PER_SHOW_FIELDS}
            self.note_partial(source, layer, merged, provenance)
            _merge_into(merged, provenance, layer, source)
        merged["id"] = chain[0]
        return merged, provenance

    def note_partial(
        self,
        source: str,
        layer: dict[str, Any],
        merged: dict[str, Any],
        provenance: dict[tuple[str, ...], str],
    ) -> None:
        """Remember each table of one thing (WHOLE_TABLES) that `layer` sets without keys the
        table it replaces has: those are not inherited, which may not be what was meant."""
        for key in sorted(WHOLE_TABLES & layer.keys()):
            own, inherited = layer[key], merged.get(key)
            if own == {}:  # none: the inherited table is taken away, on purpose
                self.emptied.add((_table_of(source), key))
                continue
            if not (isinstance(own, dict) and isinstance(inherited, dict)):
                continue
            left_out = [name for name in inherited if name not in own]
            if left_out:
                origin = provenance.get((key, left_out[0]), DEFAULTS)
                self.partial[(_table_of(source), key)] = (origin, left_out)

    def partial_notes(self, toml_path: Path) -> Iterator[Problem]:
        """One note per table of one thing set in part (see `note_partial`)."""
        for (table, key), (origin, left_out) in sorted(self.partial.items()):
            names = " and ".join(left_out)
            verb = "is" if len(left_out) == 1 else "are"
            yield Problem(
                self.display(toml_path),
                f"{table}.{key}",
                f"set here, so none of its keys come from {origin} ({names} {verb} not set); "
                f"set {names} here too if it applies",
            )

    def check_media_whole(
        self,
        toml_path: Path,
        shows: dict[str, Show],
        origins: dict[str, dict[str, str]],
        episodes: list[Episode],
        durations: dict[str, float],
    ) -> None:
        """Every master and jingle decodes to its end (checked in parallel, one ffmpeg each;
        a file named in several places is checked once and reported where it is named)."""
        checks = self.checks
        if checks is None:
            return
        # keyed by resolved path as text: one Path object per file, not per episode
        named_at: dict[str, list[tuple[Path, str]]] = defaultdict(list)
        known_at: dict[str, float] = {}
        for episode in episodes:
            folder = os.path.dirname(os.fspath(episode.path))
            if episode.guid in durations:
                master = self.resolve(os.path.join(folder, episode.audio))
                named_at[master].append((episode.path, "audio"))
                known_at[master] = durations[episode.guid]
            for field_name in ("intro", "outro"):
                own = getattr(episode, field_name)
                if isinstance(own, str):
                    named_at[self.resolve(os.path.join(folder, own))].append(
                        (episode.path, field_name)
                    )
        for show in shows.values():
            for field_name in ("intro", "outro"):
                value = getattr(show, field_name)
                if value:
                    origin = origins.get(show.id, {}).get(field_name, "own")
                    table = (
                        "defaults"
                        if origin == DEFAULTS
                        else f"shows.{show.id if origin == 'own' else origin}"
                    )
                    place = (toml_path, f"{table}.{field_name}")
                    text = self.resolve(os.path.join(self.episodes_dir, value))
                    if place not in named_at[text]:
                        named_at[text].append(place)
        named = {Path(text): places for text, places in named_at.items()}
        known = {Path(text): seconds for text, seconds in known_at.items()}

        def check(path: Path) -> AudioInputError | None:
            try:
                duration = known.get(path)
                if duration is None:
                    duration = checks.duration(path)
                checks.whole(path, duration)
            except AudioInputError as exc:
                return exc
            return None

        paths = sorted(p for p in named if p.is_file() and not self.pointer(p, "jingle"))
        with ThreadPoolExecutor(max_workers=max(1, min(8, 2 * (os.cpu_count() or 1)))) as pool:
            failures = dict(zip(paths, pool.map(check, paths)))
        for path, failure in failures.items():
            if failure is not None:
                for file, field_name in named[path]:
                    self.problem(file, field_name, f"{self.display(path)} {failure.reason}")

    def pointer(self, path: Path, kind: str) -> bool:
        """Whether the master or jingle at `path` is a Git LFS pointer (noted as `kind` if so):
        its audio cannot be decoded here, its sha256 is the pointer's."""
        try:
            if os.stat(path).st_size > MAX_POINTER_BYTES or not is_pointer(path):
                return False
        except OSError:
            return False
        self.pointers.setdefault(Path(self.resolve(os.fspath(path))), kind)
        return True

    def check_artwork(self, path: Path) -> None:
        """Apple's artwork rules, reported against the image file itself."""
        if self.checks is None:
            return
        for message in self.checks.artwork(path):
            self.problem(path, "", message)

    def extends_chain(
        self, toml_path: Path, show_id: str, raw_shows: dict[str, dict[str, Any]]
    ) -> list[str] | None:
        """[show, parent, grandparent, …]; None (with a problem) on an unknown parent or a cycle."""
        chain = [show_id]
        while True:
            parent = raw_shows[chain[-1]].get("extends")
            if parent is None:
                return chain
            if not isinstance(parent, str) or parent not in raw_shows:
                self.problem(
                    toml_path,
                    f"shows.{chain[-1]}.extends",
                    f'unknown show "{parent}"{did_you_mean(str(parent), raw_shows)}',
                )
                return None
            if parent in chain:
                cycle = " → ".join([*chain[chain.index(parent) :], parent])
                self.problem(
                    toml_path, f"shows.{show_id}.extends", f"extends itself in a cycle: {cycle}"
                )
                return None
            chain.append(parent)

    def add_show_problems(
        self,
        toml_path: Path,
        show_id: str,
        exc: ValidationError,
        provenance: dict[tuple[str, ...], str],
        network_file: NetworkFile,
    ) -> None:
        for error in exc.errors():
            loc = tuple(str(part) for part in error["loc"])
            missing = error["type"] == "missing"
            in_whole = missing and len(loc) > 1 and loc[0] in WHOLE_TABLES
            # a key missing from a table of one thing: the layer that set the table lacks it
            source = _source_of(loc[:1] if in_whole else loc, provenance, show_id)
            table = _table_of(source)
            message = _error_message(error, Show)
            if missing:
                partial = self.partial.get((table, loc[0])) if in_whole else None
                if partial and loc[1] in partial[1]:  # the table it replaced had the key
                    message = (
                        f"missing; {loc[0]} is set here, so none of its keys come from "
                        f"{partial[0]}: set {_dotted(loc[1:])} here too"
                    )
                elif in_whole:  # nothing inherited had it either: this table needs it
                    message = "missing; set it here"
                elif len(loc) == 1 and (table, loc[0]) in self.emptied:
                    message = (
                        f"missing; {loc[0]} = {{}} here means none, and every show needs "
                        f"one: set it in full here"
                    )
                elif loc == ("podcast_guid",):
                    url = feed_url(network_file.network.base_url, show_id)
                    message = (
                        f'missing; add podcast_guid = "{podcast_guid_for(url)}" '
                        f"(UUIDv5 of its first feed URL {url}; keep it when the feed moves)"
                    )
                else:
                    message = "missing; set it here, in [defaults] or in the show it extends"
            self.problems.append(
                Problem(self.display(toml_path), f"{table}.{_dotted(error['loc'])}", message)
            )

    def check_unique_podcast_guids(self, toml_path: Path, shows: dict[str, Show]) -> None:
        owners: dict[str, list[str]] = defaultdict(list)
        for show in shows.values():
            owners[show.podcast_guid].append(show.id)
        for guid, ids in owners.items():
            for show_id in ids[1:]:
                self.problem(
                    toml_path,
                    f"shows.{show_id}.podcast_guid",
                    f'"{guid}" is also the podcast_guid of "{ids[0]}"; every show needs its own',
                )

    # -- episodes --------------------------------------------------------------------------------

    def load_episodes(self, declared: set[str]) -> tuple[list[Episode], dict[str, float]]:
        """Load every episode file; `declared` are the show ids network.toml names."""
        episodes: list[Episode] = []
        if not self.episodes_dir.is_dir():
            return episodes, {}
        for folder in sorted(p for p in self.episodes_dir.iterdir() if p.is_dir()):
            if folder.name.startswith("."):
                continue
            files = sorted(folder.glob("*.md"), key=lambda path: path.name)  # one folder
            if folder.name not in declared:
                if files:
                    self.problem(
                        folder,
                        "",
                        f"folder is not a show in network.toml{did_you_mean(folder.name, declared)}"
                        "; add [shows." + folder.name + "] or move its episodes",
                    )
                continue
            for path in files:
                episode = self.load_episode(path, folder.name)
                if episode is not None:
                    episodes.append(episode)

        self.check_guids(episodes)
        self.check_numbers(episodes)
        for episode in episodes:
            for show_id in episode.all_shows:
                needed = episode.number_needed(show_id, self.show_types.get(show_id, ""))
                if needed is not None:
                    self.problem(episode.path, *needed)
            for show_id in episode.numbers:
                if show_id not in episode.shows:
                    self.problem(
                        episode.path,
                        f"numbers.{show_id}",
                        f'the episode is not posted to "{show_id}"; add it to `shows` or remove '
                        "these numbers",
                    )
        durations: dict[str, float] = {}
        for episode in episodes:
            for extra in episode.shows:
                if extra not in declared:
                    self.problem(
                        episode.path,
                        "shows",
                        f'unknown show "{extra}"{did_you_mean(extra, declared)}',
                    )
            if episode.mastered:
                self.check_mastered(episode)
            if episode.image:
                self.check_artwork(episode.resolve(episode.image))
            self.check_chapter_images(episode)
            duration = self.check_timing(episode)
            if duration is not None:
                durations[episode.guid] = duration
        return episodes, durations

    def check_mastered(self, episode: Episode) -> None:
        """A mastered episode (`mastered: true`) is an MP3 published as it is: what would edit
        or master its audio is an error where the episode sets it (a show's jingles, mastering
        and loudness simply do not apply to it)."""
        if Path(episode.audio).suffix.lower() != ".mp3":
            self.problem(
                episode.path,
                "audio",
                f'"{episode.audio}" is not an MP3: `mastered: true` publishes a finished MP3 as '
                "it is; point audio at the MP3, or remove `mastered: true` to master it",
            )
        settings = {
            "trim": episode.trim.start is not None or episode.trim.end is not None,
            "cuts": bool(episode.cuts),
            "intro": isinstance(episode.intro, str),
            "outro": isinstance(episode.outro, str),
            "mastering": episode.mastering is not None,
        }
        for name in (name for name, given in settings.items() if given):
            self.problem(
                episode.path,
                name,
                "does not apply to a mastered episode (`mastered: true` publishes its MP3 as "
                "it is, never re-encoded); remove it, or remove `mastered: true` to master it",
            )

    def check_chapter_images(self, episode: Episode) -> None:
        if self.checks is None:
            return
        for index, chapter in enumerate(episode.chapters, 1):
            if chapter.image:
                image = episode.resolve(chapter.image)
                wrong = self.checks.chapter_image(image)
                if wrong is not None:
                    self.problem(
                        episode.path, f"chapters[{index}].image", f"{self.display(image)} {wrong}"
                    )

    def load_episode(self, path: Path, show_id: str) -> Episode | None:
        if not ID_PATTERN.match(path.stem):
            self.problem(
                path,
                "file name",
                f'"{path.stem}" may only use lowercase letters, digits and "-" '
                '(e.g. "042-social-media.md")',
            )
            return None
        parsed = self.read_front_matter(path)
        if parsed is None:
            return None
        front, notes = parsed
        reserved = sorted(front.keys() & _episode_only_fields())
        for key in reserved:
            self.problem(path, key, "is set from the file's name and folder; remove this key")
        if reserved:
            return None
        data = {**front, "slug": path.stem, "show": show_id, "path": path, "notes": notes}
        try:
            return Episode.model_validate(
                data,
                context=self.context(
                    path.parent, "the episode file", draft=front.get("draft") is True
                ),
            )
        except ValidationError as exc:
            self.add_validation_problems(path, exc, FrontMatter)
            return None

    def read_front_matter(self, path: Path) -> tuple[dict[str, Any], str] | None:
        if self.cache is None:
            return self.parse_front_matter(path)
        identity = file_identity(path)  # before reading: a change meanwhile makes the entry stale
        stored = self.cache.get("front matter", path, identity)
        if stored is not MISS:
            parsed = _decode_front_matter(stored)
            if parsed is not None:
                front, notes = parsed
                if _may_hold_surrogates(stored) and not self.utf8_only(
                    path, {**front, "notes": notes}
                ):
                    return None
                return parsed
        parsed = self.parse_front_matter(path)
        if parsed is not None:
            encoded = _encode_front_matter(*parsed)
            if encoded is not None:
                self.cache.put("front matter", path, identity, encoded)
        return parsed

    def parse_front_matter(self, path: Path) -> tuple[dict[str, Any], str] | None:
        try:
            text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            self.problem(path, f"byte {exc.start}", "is not UTF-8 text; save it as UTF-8")
            return None
        lines = text.splitlines(keepends=True)
        if not lines or lines[0].strip() != "---":
            self.problem(
                path,
                "",
                "has no front matter; start it with a line '---', the YAML keys, then '---'",
            )
            return None
        closing = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
        if closing is None:
            self.problem(
                path, "", "front matter is not closed; end the YAML keys with a line '---'"
            )
            return None
        import yaml

        try:
            front = yaml.load("".join(lines[1:closing]), Loader=_content_yaml_loader())  # noqa: S506
        except yaml.YAMLError as exc:
            self.problem(path, *_yaml_problem(exc, lines))
            return None
        except (ValueError, TypeError, RecursionError) as exc:  # e.g. the date 2026-13-45
            self.problem(path, *_value_problem(exc, lines[1:closing]))
            return None
        if not isinstance(front, dict):
            self.problem(path, "", "front matter must be YAML keys and values (title: …, guid: …)")
            return None
        if not self.utf8_only(path, front):
            return None
        return front, "".join(lines[closing + 1 :]).strip() + "\n"

    def check_guids(self, episodes: list[Episode]) -> None:
        users: dict[str, list[Episode]] = defaultdict(list)
        for episode in episodes:
            users[episode.guid].append(episode)
        for guid, same in users.items():
            for episode in same[1:]:
                self.problem(
                    episode.path,
                    "guid",
                    f'"{guid}" is also the guid of {self.display(same[0].path)}; guids are '
                    f'forever and unique: give this episode a new one, e.g. "{uuid.uuid4()}"',
                )

    def check_numbers(self, episodes: list[Episode]) -> None:
        """Episode numbers are unique within each feed (per season): a show's own episodes and
        the ones cross-posted to it with numbers for it."""
        seen: dict[tuple[str, int | None, int], Episode] = {}
        for episode in sorted(episodes, key=lambda e: (e.date, str(e.path))):
            for show_id in episode.all_shows:
                number, season = episode.numbers_in(show_id)
                if number is None:
                    continue
                key = (show_id, season, number)
                if key not in seen:
                    seen[key] = episode
                    continue
                home = show_id == episode.show
                self.problem(
                    episode.path,
                    "number" if home else f"numbers.{show_id}.number",
                    f"{number} is also the number of {self.display(seen[key].path)}"
                    + (f" in season {season}" if season else "")
                    + ("" if home else f' in the feed of "{show_id}"'),
                )

    def check_timing(self, episode: Episode) -> float | None:
        """Check trims, cuts and chapters against the recording; return its duration."""
        if self.checks is None:
            return None
        audio = self.referenced(episode, episode.audio)
        if episode.draft and not audio.exists():
            return None  # a draft may wait for its recording
        if self.pointer(audio, "master"):
            return None  # checked when a run needs its audio (it is fetched then)
        try:
            duration = self.checks.duration(audio)
        except AudioInputError as exc:
            self.problem(episode.path, "audio", f"{self.display(audio)} {exc.reason}")
            return None
        path = episode.path
        limit = duration + END_TOLERANCE_S
        keep_start = episode.trim.start or 0.0
        keep_end = episode.trim.end if episode.trim.end is not None else duration
        for name, value in (("trim.start", episode.trim.start), ("trim.end", episode.trim.end)):
            if value is not None and value > limit:
                self.problem(
                    path, name, f"{_t(value)} is past the end of the recording ({_t(duration)})"
                )

        previous_end = None
        for index, cut in sorted(enumerate(episode.cuts, 1), key=lambda item: item[1].start):
            if cut.end > limit:
                self.problem(
                    path,
                    f"cuts[{index}].end",
                    f"{_t(cut.end)} is past the end of the recording ({_t(duration)})",
                )
            if cut.start < keep_start or cut.end > keep_end + END_TOLERANCE_S:
                self.problem(
                    path,
                    f"cuts[{index}]",
                    f"{_t(cut.start)}–{_t(cut.end)} is not inside the kept part "
                    f"{_t(keep_start)}–{_t(keep_end)} (after trim)",
                )
            if previous_end is not None and cut.start < previous_end[1]:
                self.problem(
                    path,
                    f"cuts[{index}]",
                    f"overlaps cuts[{previous_end[0]}]; merge them into one cut",
                )
            if previous_end is None or cut.end > previous_end[1]:
                previous_end = (index, cut.end)

        for index, chapter in enumerate(episode.chapters, 1):
            if index > 1 and chapter.start <= episode.chapters[index - 2].start:
                self.problem(
                    path,
                    f"chapters[{index}].start",
                    f"{_t(chapter.start)} is not after chapters[{index - 1}] "
                    f"({_t(episode.chapters[index - 2].start)}); chapter starts must increase",
                )
            if chapter.start >= keep_end:
                self.problem(
                    path,
                    f"chapters[{index}].start",
                    f"{_t(chapter.start)} is at or after the end of the kept recording ({_t(keep_end)})",
                )
            for cut_index, cut in enumerate(episode.cuts, 1):
                if cut.start <= chapter.start < cut.end:
                    self.problem(
                        path,
                        f"chapters[{index}].start",
                        f"{_t(chapter.start)} falls inside cuts[{cut_index}] "
                        f"({_t(cut.start)}–{_t(cut.end)}); move it to {_t(cut.end)} or later",
                    )
        return duration

    # -- pydantic errors → problems --------------------------------------------------------------

    def add_validation_problems(
        self, path: Path, exc: ValidationError, model: type[BaseModel]
    ) -> None:
        reported: set[str] = set()
        for error in exc.errors():
            field = _dotted(error["loc"])
            if field in reported:  # a union reports once per branch; the first says enough
                continue
            reported.add(field)
            self.problems.append(Problem(self.display(path), field, _error_message(error, model)))


# --- pure helpers --------------------------------------------------------------------------------


class _Resolver:
    """``Path.resolve()`` for one load: each folder is resolved once (10,000 episodes name files
    in a few folders), and so is each path as spelt (10,000 episodes name the same master from
    a few folders): one load sees the file system as it was when a path was first resolved.
    A symlink is followed wherever it points. Called with a str, it answers with one."""

    def __init__(self, *resolved: Path) -> None:
        self._folders: dict[str, str] = {}
        self._known = {os.fspath(path): os.fspath(path) for path in resolved}

    def __call__(self, path: Any) -> Any:
        text = os.fspath(path)
        known = self._known.get(text)
        if known is not None:
            return known if isinstance(path, str) else Path(known)
        folder, name = os.path.split(text)
        if name in ("", ".", "..") or not os.path.isabs(text):
            resolved = os.path.realpath(text)
        else:
            real_folder = self._folders.get(folder)
            if real_folder is None:
                real_folder = self._folders[folder] = os.path.realpath(folder)
            resolved = os.path.join(real_folder, name)
            if os.path.islink(resolved):
                resolved = os.path.realpath(resolved)
        self._known[text] = resolved
        return resolved if isinstance(path, str) else Path(resolved)


_EPISODE_ONLY_FIELDS: frozenset[str] | None = None


def _episode_only_fields() -> frozenset[str]:
    """The Episode fields set from a file's name and folder, never from its front matter."""
    global _EPISODE_ONLY_FIELDS
    if _EPISODE_ONLY_FIELDS is None:
        _EPISODE_ONLY_FIELDS = frozenset(Episode.model_fields) - frozenset(FrontMatter.model_fields)
    return _EPISODE_ONLY_FIELDS


#: Deeper than this, a producer's file is a mistake or an attack (the models nest 3 levels).
MAX_NESTING = 16


@functools.cache
def _content_yaml_loader() -> type:
    """The YAML loader class for episode files, made on first use: PyYAML is imported only when
    a file must be parsed (a warm validate takes every unchanged file's front matter from the
    cache)."""
    import yaml

    class _ContentYamlLoader(yaml.SafeLoader):
        """YAML for producers' files: safe types only, no aliases (nine lines of them expand to
        gigabytes), nesting bounded (deep nesting exhausts the parser's recursion), duplicate keys
        refused (the later one would silently win)."""

        def __init__(self, stream: str):
            super().__init__(stream)
            self._depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    "aliases (*name) are not allowed in podcast files; write the value out",
                    self.peek_event().start_mark,
                )
            if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
                return super().compose_node(parent, index)
            self._depth += 1
            try:
                if self._depth > MAX_NESTING:
                    raise yaml.composer.ComposerError(
                        None,
                        None,
                        f"lists or keys nested more than {MAX_NESTING} levels deep",
                        self.peek_event().start_mark,
                    )
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: {…}` is merged, not a key
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None,
                            None,
                            f"duplicate key {quote_cut(str(key))} (first on line {seen[key] + 2}); "
                            "keep one",
                            key_node.start_mark,
                        )
                    seen[key] = key_node.start_mark.line
                except TypeError:  # an unhashable key: the constructor reports it
                    break
            return super().construct_mapping(node, deep=deep)

    return _ContentYamlLoader


#: Longest notes (characters) whose file's front matter is cached with them.
_CACHED_NOTES_CHARS = 16 * 1024


class _NotJson(Exception):
    pass


def _to_json(value: Any) -> Any:
    """Parsed YAML as JSON data, dates and times tagged; _NotJson for anything else (keys that
    are not text, sets, binary): such front matter is simply parsed on every run."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, list):
        return [_to_json(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) and not key.startswith("$") for key in value):
            raise _NotJson
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise _NotJson


def _from_json_object(value: dict[str, Any]) -> Any:
    if len(value) == 1:
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
    return value


_FRONT_MATTER_JSON = json.JSONDecoder(object_hook=_from_json_object)  # one for every file


def _encode_front_matter(front: dict[str, Any], notes: str) -> str | None:
    if len(notes) > _CACHED_NOTES_CHARS:
        return None
    try:
        return json.dumps([_to_json(front), notes], separators=(",", ":"), allow_nan=True)
    except (_NotJson, RecursionError, ValueError):
        return None


def _decode_front_matter(stored: Any) -> tuple[dict[str, Any], str] | None:
    """What _encode_front_matter stored, or None when it is not that (a damaged cache)."""
    try:
        front, notes = _FRONT_MATTER_JSON.decode(stored)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(front, dict) or not isinstance(notes, str):
        return None
    return front, notes


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _may_hold_surrogates(stored: str) -> bool:
    """False only when the cached JSON text cannot decode to a surrogate: it holds no \\uD…
    escape (either case) and no character beyond ASCII (we write it ASCII-only, so a raw
    surrogate is an edit). Three scans in C: 5 ms for 10,000 episodes, where walking every
    decoded text takes 50–100 ms."""
    return not stored.isascii() or "\\ud" in stored or "\\uD" in stored


def _not_utf8(value: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[str, str]]:
    """(field, character) for each text in parsed data, keys included, that holds a surrogate:
    the field as messages name it (list positions count from 1), escaped to print."""
    if isinstance(value, str):
        match = _SURROGATE.search(value)
        if match:
            yield _field_name(loc), match.group()
    elif isinstance(value, dict):
        for key, item in value.items():
            match = _SURROGATE.search(key) if isinstance(key, str) else None
            if match:
                yield _field_name((*loc, key)), match.group()
            else:
                yield from _not_utf8(item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _not_utf8(item, (*loc, index))


def _field_name(loc: tuple[str | int, ...]) -> str:
    """('chapters', 0, 'title') → 'chapters[1].title', control characters escaped."""
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else part)
    return one_line(text)


def _depth(value: Any, level: int = 0) -> int:
    """How deep lists and tables nest in parsed TOML (stops counting past MAX_NESTING)."""
    if level > MAX_NESTING or not isinstance(value, (dict, list)):
        return level
    children = value.values() if isinstance(value, dict) else value
    return max((_depth(child, level + 1) for child in children), default=level + 1)


def _t(seconds: float) -> str:
    return format_timecode(seconds)


def _toml_position(exc: tomllib.TOMLDecodeError) -> str:
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "colno", None)
    if line is None:  # Python < 3.14 puts the position only in the message
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        if match:
            line, column = int(match.group(1)), int(match.group(2))
    return f"line {line}, column {column}" if line else "file"


def _toml_reason(exc: tomllib.TOMLDecodeError) -> str:
    reason = getattr(exc, "msg", None) or str(exc)
    return reason.split(" (at line")[0]


def _model_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The non-empty field defaults of a model, as plain data (the built-in show settings)."""
    defaults: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if info.is_required() or info.default is None:
            continue
        value = info.default
        defaults[name] = (
            value.model_dump(exclude_none=True) if isinstance(value, BaseModel) else value
        )
    return defaults


def _merge_into(
    merged: dict[str, Any],
    provenance: dict[tuple[str, ...], str],
    layer: dict[str, Any],
    source: str,
    prefix: tuple[str, ...] = (),
) -> None:
    """Overlay `layer` on `merged`: tables merge key by key, except the show tables that describe
    one thing (WHOLE_TABLES), which replace as anything else does."""
    for key, value in layer.items():
        path = (*prefix, key)
        whole = not prefix and key in WHOLE_TABLES
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and not whole:
            _merge_into(merged[key], provenance, value, source, path)
            continue
        for stale in [p for p in provenance if p[: len(path)] == path]:
            del provenance[stale]
        if whole and value == {}:  # a table of one thing set to {}: none (not inherited)
            merged.pop(key, None)
            provenance[path] = source  # who took it away
            continue
        if isinstance(value, dict):
            merged[key] = {}
            _merge_into(merged[key], provenance, value, source, path)
            if not value:
                provenance[path] = source
        else:
            merged[key] = value
            provenance[path] = source


def _table_of(source: str) -> str:
    """The table of network.toml a layer of a show's settings is: "defaults", "shows.<id>"…"""
    return {DEFAULTS: "defaults", NETWORK: "network"}.get(source, f"shows.{source}")


def _source_of(loc: tuple[str, ...], provenance: dict[tuple[str, ...], str], show_id: str) -> str:
    """Which table set the value at `loc` (the show itself when nobody did)."""
    for length in range(len(loc), 0, -1):
        if loc[:length] in provenance:
            return provenance[loc[:length]]
    below = [source for path, source in provenance.items() if path[: len(loc)] == loc]
    if show_id in below:
        return show_id
    return below[-1] if below else show_id


#: The names pydantic gives the plain branches of a union in an error's location.
_BRANCH_LABELS = frozenset({"str", "bool", "none", "int", "float"})


def _dotted(loc: Iterable[Any]) -> str:
    """('chapters', 1, 'start') → 'chapters[2].start' (list positions count from 1)."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part + 1}]"
        elif part in _BRANCH_LABELS or part.startswith(("function-", "literal[")) or "[" in part:
            continue  # pydantic's union branch labels (a key of a table, e.g. "stream", stays)
        else:
            text += f".{part}" if text else part
    return text


def _error_message(error: dict[str, Any], model: type[BaseModel]) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "missing":
        return "missing; add it"
    if kind == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        hint = did_you_mean(str(loc[-1]), known)
        return f"unknown key{hint}" if hint else f"unknown key; known keys: {', '.join(known)}"
    message = error["msg"]
    if kind in ("value_error", "assertion_error"):
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    got = error.get("input")
    shown = quote_cut(got) if isinstance(got, str) else quote_cut(repr(got), quotes=False)
    message = message[0].lower() + message[1:]
    if kind == "string_type" and isinstance(got, (int, float, bool)):
        return f"{message}, got {shown}; put the text in quotes"
    return f"{message}, got {shown}"


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model that `loc` points into."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or not (
            isinstance(current, type) and issubclass(current, BaseModel)
        ):
            continue
        info = current.model_fields.get(part)
        if info is None:
            return []
        current = _model_in(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [
            name for name in current.model_fields if name not in ("slug", "show", "path", "notes")
        ]
    return []


def _model_in(annotation: Any) -> Any:
    """The BaseModel class inside an annotation such as list[Chapter] or Trim | None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (list, tuple, dict, Union, UnionType) or get_args(annotation):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None


_KEY_LINE = re.compile(r"^\s*(?:-\s+)?([A-Za-z_][\w-]*):\s*(.*?)\s*$")


def _yaml_problem(exc: Exception, lines: list[str]) -> tuple[str, str]:
    """(field, message) for front matter YAML cannot parse: the line, and for the commonest
    mistake — a value holding ": " (a title like `Episode 5: The Thing`) — how to write it."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 2}" if mark is not None else "front matter"
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context_mark", None)
    if context is not None and mark is not None and context.line != mark.line:
        reason += (
            f" (in the {exc.context.removeprefix('while parsing a ')} begun on line "
            f"{context.line + 2})"
        )
    line = lines[mark.line + 1] if mark is not None and mark.line + 1 < len(lines) else ""
    found = _KEY_LINE.match(line)
    if reason.startswith("mapping values are not allowed") and found and ": " in found[2]:
        key, value = found[1], found[2]
        quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return (
            key,
            f"{where}: the value holds \": \", which YAML reads as a new key: put it in quotes, "
            f"{key}: {quote_cut(quoted, quotes=False)}",
        )
    return where, f"cannot parse YAML: {reason}"


def _value_problem(exc: Exception, lines: list[str]) -> tuple[str, str]:
    """(field, message) for a value YAML recognised but could not build — a date like
    2026-13-45 — naming its key and line where one line alone fails the same way."""
    import yaml

    for number, line in enumerate(lines, 2):
        found = _KEY_LINE.match(line)
        if not found or not found[2]:
            continue
        try:
            yaml.load(f"v: {found[2]}", Loader=_content_yaml_loader())  # noqa: S506
        except (ValueError, TypeError):
            return (
                found[1],
                f"line {number}: {quote_cut(found[2])} is not a real date or time "
                f"({quote_cut(str(exc))}); write it like 2026-10-14T09:00:00+01:00",
            )
        except yaml.YAMLError:
            continue
    return "front matter", f"cannot parse YAML: {quote_cut(str(exc))}"
