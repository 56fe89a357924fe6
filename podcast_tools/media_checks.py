"""The media checks behind `podcast validate`, and the loader every command uses.

``podcast_tools.content`` reads and checks text only; it takes the checks that decode audio and
images from here (:data:`MEDIA_CHECKS`), so the content layer never imports the audio or artwork
code above it.

What those checks find out about a file (a master's duration, that its last second decodes, what
is wrong with an image — failures too) is remembered in the network's validation cache
(``podcast_tools.factcache``, ``build/.cache/validation.json``) while the file is unchanged, and
so are the parsed front matter of episode files and the outcome of the notes-size check. The
decoders and renderers are imported only when something must be checked afresh.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from podcast_tools.audio.denoise import check_denoiser
from podcast_tools.audio.produced import SWITCHES  # noqa: F401  (registers the built-in stages)
from podcast_tools.audio.recognition import (
    Model,
    RecognitionError,
    missing_extra,
    model_language,
    resolve_model,
)
from podcast_tools.content import Episode, Show
from podcast_tools.content.loader import (
    NETWORK_FILE,
    FileChecks,
    Network,
    load_network,
    no_cycle_collection,
)
from podcast_tools.content.models import TRANSCRIPT_MODELS
from podcast_tools.errors import AudioInputError, ContentError, Problem
from podcast_tools.factcache import (
    CACHE_FILE,
    FactCache,
    cache_disabled,
    file_identity,
)


def probe_duration(path: Path) -> float:
    from podcast_tools.audio.probe import probe_duration as probe

    return probe(path)


def check_whole(path: Path, duration_s: float) -> None:
    from podcast_tools.audio.probe import check_whole as check

    check(path, duration_s)


def artwork_problems(path: Path) -> list[str]:
    from podcast_tools.artwork import artwork_problems as problems

    return problems(path)


def chapter_image_problem(path: Path) -> str | None:
    """What is wrong with a chapter image (the words after its path), None when it is fine: it
    must be an image that decodes whole, holding what its extension says."""
    from podcast_tools.artwork import IMAGE_FORMATS
    from podcast_tools.artwork import inspect as inspect_image

    try:
        facts = inspect_image(path)
    except ValueError as exc:
        return str(exc)
    expected = IMAGE_FORMATS.get(path.suffix.lower())
    if facts.format != expected:
        return f"is {facts.format} data in a {path.suffix} file; save it as {expected}"
    return None


#: The real checks: durations and whole-file decoding by ffmpeg/mutagen, artwork by Pillow.
MEDIA_CHECKS = FileChecks(
    duration=probe_duration,
    whole=check_whole,
    artwork=artwork_problems,
    chapter_image=chapter_image_problem,
)


def load_checked_network(root: Path, *, use_cache: bool = True) -> Network:
    """Load and validate the network under `root` with every check, media files included;
    raise ContentError listing all problems. `use_cache` False (or ``PODCAST_NO_CACHE=1``)
    checks every file afresh and leaves the validation cache alone."""
    with no_cycle_collection():
        cache = open_cache(root) if use_cache else None
        try:
            return _load(root, cache)
        finally:
            if cache is not None:
                cache.save()


def validate_network(root: Path, *, use_cache: bool = True) -> Network:
    """What `podcast validate` checks: the network with every media check, then the size of
    every episode's rendered notes; ContentError listing all problems of either."""
    with no_cycle_collection():
        cache = open_cache(root) if use_cache else None
        try:
            network = _load(root, cache)
            problems = recognition_missing(network) + transcript_file_problems(network, cache)
            try:
                check_notes(network, cache)
            except ContentError as exc:
                problems = exc.problems + problems
            if problems:
                raise ContentError(problems)
            return network
        finally:
            if cache is not None:
                cache.save()


def _load(root: Path, cache: FactCache | None) -> Network:
    checks = MEDIA_CHECKS if cache is None else cached_checks(cache)
    network = load_network(root, checks=checks, cache=cache)
    problems = (
        produced_sound_problems(network)
        + transcript_problems(network)
        + mastered_problems(network)
    )
    if problems:
        raise ContentError(problems)
    return network


def mastered_problems(network: Network) -> list[Problem]:
    """A mastered episode's master (`mastered: true`) must be an MP3 whose frames run whole
    from its tags at the start to those at the end: it is published as it is. One problem each,
    on the episode's `audio` (a Git LFS pointer is left to the checks that know it)."""
    from podcast_tools.audio.mastered import audio_span

    problems = []
    for episode in network.episodes:
        master = episode.resolve(episode.audio)
        if not episode.mastered or not master.is_file() or _lfs_pointer(master):
            continue
        try:
            audio_span(master)
        except AudioInputError as exc:
            shown = f"{network.display(master)} {exc.reason}"
            problems.append(Problem(network.display(episode.path), "audio", shown))
    return problems


def _lfs_pointer(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(40).startswith(b"version https://git-lfs.github.com/spec/")


def _where_set(network: Network, show_id: str, setting: str = "mastering.denoise") -> str:
    """The network.toml field a show's `setting` comes from: its own, an ancestor's or
    [defaults] (a built-in default is named as the show's own field)."""
    origin = network.origins.get(show_id, {}).get(setting, "own")
    if origin == "[defaults]":
        return f"defaults.{setting}"
    own = origin in ("own", "built-in default", "[network]")
    return f"shows.{show_id if own else origin}.{setting}"


# --- machine transcripts (docs/transcripts.md) ----------------------------------------------


def wants_transcript(network: Network, episode: Episode) -> bool:
    """The episode gets a machine transcript: its show turns them on and it names none."""
    return network.shows[episode.show].transcripts.auto and not episode.transcript


def spoken_language(show: Show) -> str:
    """The language a show's episodes are transcribed in: `transcripts.language`, else the
    show's own language."""
    return show.transcripts.language or show.language


def model_of(network: Network, show_id: str) -> Model:
    """The speech model a show names, found and checked (RecognitionError naming network.toml
    and the field when it is not one that can run here)."""
    spec = network.shows[show_id].transcripts.model
    path = spec if spec in TRANSCRIPT_MODELS else str(network.show_path(spec))
    where = network.display(network.root / NETWORK_FILE)
    return _model(path, where, _where_set(network, show_id, "transcripts.model"))


@functools.lru_cache(maxsize=16)
def _model(spec: str, where: str, field: str) -> Model:
    try:
        return resolve_model(spec, where=where, field=field)
    except RecognitionError as exc:
        if exc.field:
            raise
        # a damaged model file: named in the setting that chose it
        raise RecognitionError(where, field, f"{exc.where}: {exc.reason}") from None


def transcript_problems(network: Network) -> list[Problem]:
    """For every show that turns machine transcripts on, where the speech recognition is
    installed: its model is one that can run here and it knows the show's language — one line
    each, in the field that sets it. (Without the extra every command but those that make
    transcripts works: `recognition_missing`.)"""
    if missing_extra() is not None:
        return []
    toml = network.display(network.root / NETWORK_FILE)
    found: dict[tuple[str, str], str] = {}
    for show_id, show in network.shows.items():
        if not show.transcripts.auto:
            continue
        try:
            model_language(
                model_of(network, show_id),
                spoken_language(show),
                where=toml,
                field=_language_field(network, show_id),
            )
        except RecognitionError as exc:
            found.setdefault((exc.where, exc.field), exc.reason)
    return [Problem(where, field, reason) for (where, field), reason in found.items()]


def recognition_missing(network: Network) -> list[Problem]:
    """Where the network turns machine transcripts on while the speech recognition is not
    installed: one line per place that sets it, naming what to install. `validate` and
    `publish` refuse then; every other command works."""
    missing = missing_extra()
    if missing is None:
        return []
    toml = network.display(network.root / NETWORK_FILE)
    places = dict.fromkeys(
        _where_set(network, show_id, "transcripts.auto")
        for show_id, show in network.shows.items()
        if show.transcripts.auto
    )
    return [Problem(toml, field, missing) for field in places]


def _language_field(network: Network, show_id: str) -> str:
    show = network.shows[show_id]
    if show.transcripts.language is not None:
        return _where_set(network, show_id, "transcripts.language")
    return _where_set(network, show_id, "language")


def produced_sound_problems(network: Network) -> list[Problem]:
    """A denoiser that cannot load its model, for every show and episode that turns it on: one
    line naming the package to install (`check_denoiser`)."""
    toml = network.display(network.root / NETWORK_FILE)
    users = list(
        dict.fromkeys(  # each place that sets it once, where it is written
            (toml, _where_set(network, name))
            for name, show in network.shows.items()
            if show.mastering.denoise != "off"
        )
    ) + [
        (network.display(episode.path), "mastering.denoise")
        for episode in network.episodes
        if episode.mastering is not None and episode.mastering.denoise not in (None, "off")
    ]
    if not users:
        return []
    problem = check_denoiser()  # the model hashed once per process (while it is unchanged)
    return [] if problem is None else [Problem(where, field, problem) for where, field in users]


def open_cache(root: Path) -> FactCache | None:
    """The network's validation cache; None when the environment turns it off."""
    if cache_disabled():
        return None
    return FactCache(root.resolve() / CACHE_FILE, checks_version())


# --- what a fact depends on besides its file ------------------------------------------------------

_PACKAGE = Path(__file__).resolve().parent


def checks_version() -> str:
    """A digest of everything a cached fact depends on besides the file itself: this package's
    code, templates and data, the mutagen and Pillow installs, and the ffmpeg binary in use. A
    change to any makes every entry stale."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(_PACKAGE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                path = os.path.join(folder, name)
                digest.update(f"{path}\0{file_identity(path)}\n".encode())
    for module in ("mutagen", "PIL"):
        spec = importlib.util.find_spec(module)
        origin = spec.origin if spec is not None else None
        digest.update(f"{module}\0{origin}\0{origin and file_identity(origin)}\n".encode())
    ffmpeg = os.environ.get("PODCAST_FFMPEG") or shutil.which("ffmpeg") or "imageio-ffmpeg"
    digest.update(f"ffmpeg\0{ffmpeg}\0{file_identity(ffmpeg)}\n".encode())
    return digest.hexdigest()


# --- the checks, remembered -------------------------------------------------------------------------


def cached_checks(cache: FactCache, checks: FileChecks = MEDIA_CHECKS) -> FileChecks:
    """`checks` whose answers (failures included) are kept in `cache` per file identity."""

    def duration(path: Path) -> float:
        identity = file_identity(path)
        stored = cache.get("duration", path, identity)
        if isinstance(stored, dict):
            if isinstance(stored.get("error"), str):
                raise AudioInputError(stored["error"], file=path)
            if isinstance(stored.get("s"), (int, float)):
                return float(stored["s"])
        try:
            seconds = checks.duration(path)
        except AudioInputError as exc:
            cache.put("duration", path, identity, {"error": exc.reason})
            raise
        cache.put("duration", path, identity, {"s": seconds})
        return seconds

    def whole(path: Path, duration_s: float) -> None:
        identity = file_identity(path)
        stored = cache.get("whole", path, identity)
        if isinstance(stored, dict) and stored.get("duration_s") == duration_s:
            if isinstance(stored.get("error"), str):
                raise AudioInputError(stored["error"], file=path)
            if stored.get("whole") is True:
                return
        try:
            checks.whole(path, duration_s)
        except AudioInputError as exc:
            cache.put("whole", path, identity, {"duration_s": duration_s, "error": exc.reason})
            raise
        cache.put("whole", path, identity, {"duration_s": duration_s, "whole": True})

    def artwork(path: Path) -> list[str]:
        return _remembered(cache, "artwork", path, checks.artwork, _is_messages)

    def chapter_image(path: Path) -> str | None:
        return _remembered(
            cache, "chapter image", path, checks.chapter_image, lambda v: v is None or _is_text(v)
        )

    return FileChecks(duration=duration, whole=whole, artwork=artwork, chapter_image=chapter_image)


def _remembered(
    cache: FactCache,
    kind: str,
    path: Path,
    check: Callable[[Path], Any],
    valid: Callable[[Any], bool],
) -> Any:
    identity = file_identity(path)
    stored = cache.get(kind, path, identity)
    if isinstance(stored, dict) and "answer" in stored and valid(stored["answer"]):
        return stored["answer"]
    answer = check(path)
    cache.put(kind, path, identity, {"answer": answer})
    return answer


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


# --- the notes-size check, remembered ---------------------------------------------------------------


def check_notes(network: Network, cache: FactCache | None = None) -> None:
    """ContentError listing every episode whose rendered notes (chapters at the master's times) a
    feed could not carry: `podcast validate` checks it, so it is a problem now, not at publish.

    With a `cache`, an episode whose notes fitted is not rendered again while nothing its notes
    are made from changed: its file, network.toml, the templates and its chapter images."""
    shared = _notes_inputs(network, cache) if cache is not None else None
    problems = []
    for episode in network.episodes:
        identity = inputs = None
        if cache is not None and shared is not None:
            # the identity the episode was parsed under, not a newer one (it may change meanwhile)
            identity = cache.identity_used("front matter", episode.path)
            inputs = _episode_notes_inputs(shared, episode)
            if identity is not None and cache.get("notes fit", episode.path, identity) == inputs:
                continue
        problem = _notes_problem(network, episode)
        if problem is not None:
            problems.append(problem)
        elif cache is not None and inputs is not None:
            cache.put("notes fit", episode.path, identity, inputs)
    if problems:
        raise ContentError(problems)


def _notes_problem(network: Network, episode: Any) -> Problem | None:
    from podcast_tools.notes import notes_size_problem
    from podcast_tools.record import heard_chapters

    return notes_size_problem(network, episode, heard_chapters(network, episode, None))


def _notes_inputs(network: Network, cache: FactCache) -> str | None:
    """The identity of what every episode's notes are rendered with: network.toml as it was
    loaded and every file under templates/ (a network's, a show's); None if unknown."""
    toml_identity = cache.identity_used("network file", network.root / "episodes" / "network.toml")
    if toml_identity is None:
        return None
    digest = hashlib.sha256()
    digest.update(f"{toml_identity}\n".encode())
    for folder, dirs, files in os.walk(network.templates_dir):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(f"{path}\0{file_identity(path)}\n".encode())
    return digest.hexdigest()


def _episode_notes_inputs(shared: str, episode: Any) -> str:
    """`shared` and the identity of the episode's chapter images (their content is hashed into
    the URLs its notes show)."""
    images = [
        f"{chapter.image}\0{file_identity(episode.resolve(chapter.image))}"
        for chapter in episode.chapters
        if chapter.image
    ]
    if not images:
        return shared
    return hashlib.sha256("\n".join([shared, *images]).encode()).hexdigest()


# --- transcripts: cue order, overlaps, times within the audio ----------------------------------------

#: A cue may start this much before the one before it ends (rounding in editors), or before it.
CUE_TOLERANCE_S = 0.010


def transcript_file_problems(network: Network, cache: FactCache | None = None) -> list[Problem]:
    """What is wrong with the transcript each episode names (SRT, WebVTT, JSON; plain text has no
    times): one problem each, naming the episode file, `transcript`, the cue and its time — a
    file that does not parse, cues out of order, a cue starting before the one before it ends,
    a cue past the end of the audio (the master's duration plus the intro: a transcript's times
    are the master's or the published episode's)."""
    checks = MEDIA_CHECKS if cache is None else cached_checks(cache)
    problems = []
    for episode in network.episodes:
        if not episode.transcript or episode.draft:
            continue
        path = episode.resolve(episode.transcript)
        problem = _transcript_problem(network, episode, path, checks)
        if problem is not None:
            problems.append(Problem(network.display(episode.path), "transcript", problem))
    return problems


def _transcript_problem(
    network: Network, episode: Any, path: Path, checks: FileChecks
) -> str | None:
    from podcast_tools.mediatypes import TRANSCRIPT_TYPES
    from podcast_tools.transcript import TranscriptError, transcript_cues

    shown = network.display(path)
    try:
        cues = transcript_cues(path.read_bytes(), TRANSCRIPT_TYPES[path.suffix.lower()])
        if cues is None:
            return None
        limit = _audio_limit(network, episode, checks)
        previous = None
        for number, cue in enumerate(cues, 1):
            fault = _cue_fault(cue, previous, limit)
            if fault:
                return f"{shown}: cue {number} ({_clock(cue.start_s)}) {fault}"
            previous = cue
    except TranscriptError as exc:
        return f"{shown}: {exc}"
    except OSError as exc:
        return f"{shown}: cannot be read ({exc.strerror or exc})"
    return None


def _cue_fault(cue: Any, previous: Any, limit: float | None) -> str | None:
    """What is wrong with `cue` after `previous`, None when nothing."""
    end = cue.end_s if cue.end_s is not None else cue.start_s
    if previous is not None and cue.start_s < previous.start_s - CUE_TOLERANCE_S:
        return (
            f"starts before the cue before it ({_clock(previous.start_s)}): cues go in time order"
        )
    if (
        previous is not None
        and previous.end_s is not None
        and cue.start_s < previous.end_s - CUE_TOLERANCE_S
    ):
        return f"starts before the cue before it ends ({_clock(previous.end_s)}): cues must not overlap"
    if limit is not None and end > limit:
        return f"ends at {_clock(end)}, after the end of the audio ({_clock(limit)})"
    return None


def _audio_limit(network: Network, episode: Any, checks: FileChecks) -> float | None:
    """The latest time a transcript's cue may end: the master's duration plus the intro's and
    the outro's (None when a duration cannot be read: validation names the audio itself)."""
    from podcast_tools.content.loader import END_TOLERANCE_S

    inputs = [episode.resolve(episode.audio), *filter(None, network.jingles(episode))]
    if any(path.resolve() in network.pointers for path in inputs):
        return None  # a Git LFS pointer: its duration is known once it is fetched
    try:
        total = checks.duration(episode.resolve(episode.audio))
        for jingle in network.jingles(episode):
            if jingle is not None:
                total += checks.duration(jingle)
    except (AudioInputError, OSError):
        return None
    return total + END_TOLERANCE_S


def _clock(seconds: float) -> str:
    """`seconds` as h:mm:ss.mmm.

    >>> _clock(3725.5)
    '1:02:05.500'
    """
    millis = round(seconds * 1000)
    return f"{millis // 3_600_000}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"
