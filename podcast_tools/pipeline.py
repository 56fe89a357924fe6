"""The episode pipeline: from an episode of the network to its published form.

Above content, audio, tags, notes and feeds, it joins them: the mastering settings and edit
decisions of an episode, its input fingerprint, processing (master, tag, notes, report), what a
build folder holds (reused by `publish`, previewed by `podcast feed` and `podcast notes` through
the same record builder publishing uses, `podcast_tools.record`), and the website `podcast site`
builds from those records (`podcast_tools.site`).
"""

from __future__ import annotations

import functools
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from podcast_tools import report as mastering_report
from podcast_tools.artifacts import (
    PRODUCERS,
    Artifact,
    ArtifactInputs,
    make_artifacts,
    wanted_fingerprints,
)
from podcast_tools.artwork import artwork_problems, fixed_copy, inspect
from podcast_tools.audio.analysis_cache import AnalysisCache
from podcast_tools.audio.master import (
    RENDER_VERSION,
    EditDecisions,
    MasteringReport,
    MasteringSettings,
    OffTarget,
    Progress,
    master,
    measure_file,
)
from podcast_tools.audio.meter import LoudnessFigures
from podcast_tools.audio.stages import chain_identity, stage_specs
from podcast_tools.audio.plan import PlanError
from podcast_tools.content import Episode, Network, Show
from podcast_tools.errors import AudioInputError, ContentError, Problem, UsageError
from podcast_tools.feed.build import BuiltFeed, build_feed, build_publisher_feed
from podcast_tools.formats import FORMATS, PRIMARY, OutputFormat
from podcast_tools.fsutil import atomic_path, write_text_atomic
from podcast_tools.layout import content_hash, feed_key, file_hash
from podcast_tools.media_checks import load_checked_network
from podcast_tools.mediatypes import FEED_TYPE
from podcast_tools.notes import NotesFiles, render_notes, write_notes
from podcast_tools.record import (
    LEGACY_FORMAT,
    Asset,
    EpisodeRecord,
    ProcessedAudio,
    artwork_asset,
    audio_files,
    build_record,
    feed_candidates,
    feed_inputs,
    heard_chapters,
)
from podcast_tools.site import SitePage, build_site
from podcast_tools.tags import EpisodeTags, Picture, contiguous_chapters, tags_digest


def mastering_settings(show: Show) -> MasteringSettings:
    """The show's loudness, formats and editing settings (inherited values already resolved).

    Every field of the show's `loudness` and `mastering` is the MasteringSettings field of the
    same name (a setting is declared once on each side, no mapping to edit); `mastering.stages`
    becomes the enabled stages, in chain order."""
    return MasteringSettings(
        **show.loudness.model_dump(),
        sample_rate=show.mp3.sample_rate,
        channels=show.mp3.channels,
        bitrate_kbps=show.mp3.bitrate_kbps,
        also=tuple((name, show.bitrate_of(name)) for name in show.formats if name != PRIMARY.name),
        **show.mastering.model_dump(exclude={"stages"}),
        stages=stage_specs(show.mastering.stages),
    )


def edit_decisions(network: Network, episode: Episode) -> EditDecisions:
    """The producer's trim, cuts and chapters, and the jingles (episode's own, else its show's)."""
    show = network.shows[episode.show]

    def jingle(own: str | bool | None, inherited: str | None) -> Path | None:
        if own is False:
            return None
        if isinstance(own, str):
            return episode.resolve(own)
        return network.show_path(inherited) if inherited else None

    return EditDecisions(
        trim_start_s=episode.trim.start,
        trim_end_s=episode.trim.end,
        cuts_s=tuple((cut.start, cut.end) for cut in episode.cuts),
        chapters=tuple((chapter.start, chapter.title) for chapter in episode.chapters),
        intro=jingle(episode.intro, show.intro),
        outro=jingle(episode.outro, show.outro),
    )


def master_hash(path: Path) -> str:
    """sha256 of a master, computed once per process for the same file (path, size, mtime): the
    fingerprint and the analysis cache both key on it, and a master may be an hour of WAV."""
    stat = path.stat()
    return _master_hash(path.resolve(), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=256)
def _master_hash(path: Path, size: int, mtime_ns: int, inode: int) -> str:
    return file_hash(path)


def analysis_cache(network: Network) -> AnalysisCache:
    """Where pass 1's results are kept between runs: `build/.cache/analysis/` of the network."""
    return AnalysisCache(network.root / "build" / ".cache" / "analysis")


def fingerprint(network: Network, episode: Episode) -> str:
    """The *audio* fingerprint: what the published audio's frames depend on — the master, the
    jingles, the show's audio settings and formats, the edit decisions, the chapters' times
    (where they land depends on the edits), the render's version and — only when the show turns
    any on — the audio stages (names, versions, settings). What the tags say is the other
    fingerprint (`tags_fingerprint`): a change there re-tags, never re-masters."""
    edits = edit_decisions(network, episode)
    show = network.shows[episode.show]
    settings = mastering_settings(show)
    parts = {
        "render": RENDER_VERSION,
        "master": master_hash(episode.resolve(episode.audio)),
        "intro": file_hash(edits.intro) if edits.intro else None,
        "outro": file_hash(edits.outro) if edits.outro else None,
        # max_gain_db only decides whether mastering runs, never what it makes; "also" (the
        # formats beside the MP3) only when the show names any
        "settings": {
            k: v
            for k, v in settings.__dict__.items()
            if k not in ("max_gain_db", "stages") and not (k == "also" and not v)
        },
        "trim": [edits.trim_start_s, edits.trim_end_s],
        "cuts": edits.cuts_s,
        "chapters": [start for start, _ in edits.chapters],
    }
    if settings.stages:  # only then: without stages, every fingerprint is what it always was
        parts["stages"] = chain_identity(settings.stages)
    return content_hash(json.dumps(parts, sort_keys=True, default=str).encode())


def legacy_fingerprint(network: Network, episode: Episode) -> str | None:
    """The one fingerprint podcast_tools 0.1 recorded before audio and tags had one each (its
    MP3-only render and ID3 tags are what this version makes from the same inputs), or None
    for a show that names more formats than the MP3 (that version had none). A published entry
    that carries it was made from today's inputs: `publish` adopts it, no mastering, no
    re-tagging."""
    show = network.shows[episode.show]
    settings = mastering_settings(show)
    if settings.also or settings.stages:
        return None
    edits = edit_decisions(network, episode)
    legacy_settings = {
        k: v for k, v in settings.__dict__.items() if k not in ("max_gain_db", "also", "stages")
    }
    legacy_settings["encoder_headroom_db"] = 0.7
    parts = {
        "tool": "0.1.0",
        "master": master_hash(episode.resolve(episode.audio)),
        "intro": file_hash(edits.intro) if edits.intro else None,
        "outro": file_hash(edits.outro) if edits.outro else None,
        "settings": legacy_settings,
        "trim": [edits.trim_start_s, edits.trim_end_s],
        "cuts": edits.cuts_s,
        "chapters": [
            (c.start, c.title, c.url, file_hash(episode.resolve(c.image)) if c.image else None)
            for c in episode.chapters
        ],
        "image": file_hash(episode.resolve(episode.image)) if episode.image else None,
        "tags": {
            "episode": [
                episode.title,
                episode.date.isoformat(),
                episode.number,
                episode.season,
                episode.summary,
                [p.name for p in episode.persons if p.role.lower() == "host"],
            ],
            "show": [
                show.title,
                show.author,
                show.copyright,
                show.link,
                show.language,
                network.settings.name,
                network.feed_url(show.id),
                file_hash(network.show_path(show.artwork)),
            ],
        },
    }
    return content_hash(json.dumps(parts, sort_keys=True, default=str).encode())


def tags_fingerprint(
    network: Network, episode: Episode, duration_s: float, chapter_times: tuple[float, ...]
) -> str:
    """The *tags* fingerprint: a digest of everything the tags of the episode's files say
    (`tags.tags_digest` of `episode_tags`), for audio of `duration_s` with the chapters heard at
    `chapter_times`."""
    return tags_digest(episode_tags(network, episode, duration_s, chapter_times))


def _report_of(out_dir: Path, episode: Episode) -> dict[str, Any] | None:
    """The JSON report `process` left for the episode in `out_dir`, when it is a report of this
    episode (same guid) in formats this version knows; else None."""
    report_path = out_dir / f"{episode.slug}.json"
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or report.get("guid") != episode.guid:
        return None  # built from another version of the file: treat as not processed
    try:
        if not all(name in FORMATS for name, _ in _report_files(report)):
            return None
    except (KeyError, TypeError, ValueError):
        return None
    return report


def _report_files(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(format, its entry) of every file a processing report lists, the MP3 first; a report
    written before shows named formats lists one file in its top-level fields."""
    files = report.get("files") or [
        {
            "format": report.get("format", LEGACY_FORMAT),
            "bytes": report["bytes"],
            "sha256": report["sha256"],
            "tags": report.get("id3_version"),
        }
    ]
    return [(str(entry["format"]), entry) for entry in files]


def processed_from_report(
    report: dict[str, Any], out_dir: Path, episode: Episode, *, reused: bool
) -> ProcessedAudio:
    """The facts of a processing report, its files where `process` puts them in `out_dir`
    (KeyError, TypeError or ValueError when it has not got them)."""
    chapters = report["chapters"]
    if not isinstance(chapters, list):
        raise TypeError("chapters")
    return ProcessedAudio(
        files=tuple(
            (
                name,
                audio_path(out_dir, episode, FORMATS[name]),
                str(entry["sha256"]),
                int(entry["bytes"]),
            )
            for name, entry in _report_files(report)
        ),
        duration_s=round(float(report["duration_s"]), 3),
        chapter_times=tuple(round(float(c["start_s"]), 3) for c in chapters),
        fingerprint=str(report.get("fingerprint", "")),
        tags_fingerprint=str(report.get("tags_fingerprint", "")),
        reused=reused,
        artifacts=tuple(Artifact.from_dict(a, out_dir) for a in report.get("artifacts") or ()),
    )


def artifact_inputs(network: Network, episode: Episode, built: ProcessedAudio) -> ArtifactInputs:
    """What the episode's derived artifacts are made from: its processed audio."""
    return ArtifactInputs(
        network=network,
        episode=episode,
        audio={name: path for name, path, _, _ in built.files},
        duration_s=built.duration_s,
        audio_fingerprint=built.fingerprint,
    )


def artifacts_published(
    network: Network, episode: Episode, audio_fingerprint: str, entry: dict[str, Any]
) -> bool:
    """Whether a manifest entry records exactly the derived artifacts the episode needs now
    (each kind with its current fingerprint); no producer and none recorded: True."""
    recorded = entry.get("artifacts") or ()
    if not PRODUCERS and not recorded:
        return True
    have = {item.get("kind"): item.get("fingerprint") for item in recorded}
    return have == wanted_fingerprints(network, episode, audio_fingerprint)


def current_artifacts(
    network: Network, episode: Episode, out_dir: Path, built: ProcessedAudio
) -> ProcessedAudio:
    """`built` (what `process` left in `out_dir`) with its derived artifacts as the registered
    producers want them now: each one whose own fingerprint is current and whose file is intact
    is kept, any other is made (a re-tag never changes one: its fingerprint is the audio's);
    the JSON report is brought up to date with them."""
    if not PRODUCERS and not built.artifacts:
        return built
    inputs = artifact_inputs(network, episode, built)
    artifacts, _made = make_artifacts(inputs, out_dir, built.artifacts)
    if artifacts == built.artifacts:
        return built
    report_path = output_paths(out_dir, episode)[1]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report.pop("artifacts", None)
    if artifacts:
        report["artifacts"] = [artifact.report_entry() for artifact in artifacts]
    write_text_atomic(report_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return replace(built, artifacts=artifacts)


def built_audio(network: Network, episode: Episode, out_dir: Path) -> ProcessedAudio | None:
    """What `process` built for the episode in `out_dir` as its report says (a preview takes it
    as it is, even when the inputs have changed since), or None."""
    report = _report_of(out_dir, episode)
    if report is None:
        return None
    try:
        processed = processed_from_report(report, out_dir, episode, reused=True)
    except (KeyError, TypeError, ValueError):
        return None
    return processed if all(path.is_file() for _, path, _, _ in processed.files) else None


def reusable_build(
    network: Network, episode: Episode, out_dir: Path, wanted: str
) -> ProcessedAudio | None:
    """What `process` already built for the episode in `out_dir`, when it was built from the same
    inputs (`wanted`: the episode's fingerprint, which names the show's formats) with the
    default tag versions and every file is still the one the report describes; else None."""
    report = _report_of(out_dir, episode)
    if report is None or report.get("fingerprint") != wanted:
        return None
    chapters = report.get("chapters")
    if not isinstance(chapters, list) or len(chapters) != len(episode.chapters):
        return None
    try:
        processed = processed_from_report(report, out_dir, episode, reused=True)
        tag_names = [entry.get("tags") for _, entry in _report_files(report)]
    except (KeyError, TypeError, ValueError):
        return None
    for (name, path, sha256, size), tag_name in zip(processed.files, tag_names):
        audio_format = FORMATS[name]
        try:
            if path.stat().st_size != size:
                return None
        except OSError:
            return None
        if tag_name != audio_format.tag_name(audio_format.default_tag_version):
            return None
        if file_hash(path) != sha256:
            return None
    return processed


def retag_files(
    network: Network,
    episode: Episode,
    sources: dict[str, Path],
    out_dir: Path,
    duration_s: float,
    chapter_times: tuple[float, ...],
) -> tuple[tuple[tuple[str, Path, str, int], ...], str]:
    """Write every file of `sources` (format name → an already-mastered file of the episode)
    with the episode's tags as they are now, to where `process` puts it in `out_dir` — a copy
    tagged in a temp file, then renamed; no decoding, no encoding: the audio frames stay byte
    for byte. Returns the files (format, path, sha256, bytes), the MP3 first, and the tags
    fingerprint."""
    tags = episode_tags(network, episode, duration_s, chapter_times)
    files = []
    for name in sorted(sources, key=lambda n: n != PRIMARY.name):
        audio_format = FORMATS[name]
        target = audio_path(out_dir, episode, audio_format)
        with atomic_path(target) as temp:
            shutil.copyfile(sources[name], temp)
            audio_format.write_tags(temp, tags, audio_format.default_tag_version)
            files.append((name, target, file_hash(temp), temp.stat().st_size))
    return tuple(files), tags_digest(tags)


def tags_current(network: Network, episode: Episode, processed: ProcessedAudio) -> bool:
    """Whether the tags of a build say what the episode's tags say now."""
    wanted = tags_fingerprint(network, episode, processed.duration_s, processed.chapter_times)
    return processed.tags_fingerprint == wanted


def retag_build(
    network: Network, episode: Episode, out_dir: Path, built: ProcessedAudio
) -> ProcessedAudio:
    """Bring the tags of what `process` built in `out_dir` up to date, in place (see
    `retag_files`), and its JSON report with them."""
    files, digest = retag_files(
        network,
        episode,
        {name: path for name, path, _, _ in built.files},
        out_dir,
        built.duration_s,
        built.chapter_times,
    )
    report_path = output_paths(out_dir, episode)[1]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report["tags_fingerprint"] = digest
    made = {name: (sha256, size) for name, _, sha256, size in files}
    for entry in report.get("files") or ():
        entry["sha256"], entry["bytes"] = made[entry["format"]]
    report["sha256"], report["bytes"] = made[PRIMARY.name]
    write_text_atomic(report_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return replace(built, files=files, tags_fingerprint=digest, retagged=True, reused=False)


def audio_path(out_dir: Path, episode: Episode, audio_format: OutputFormat = PRIMARY) -> Path:
    """Where `process` puts the episode's file of `audio_format`."""
    return out_dir / f"{episode.slug}{audio_format.suffix}"


def output_paths(
    out_dir: Path, episode: Episode, audio_format: OutputFormat = PRIMARY
) -> tuple[Path, Path]:
    """Where the audio file and its JSON report go."""
    return audio_path(out_dir, episode, audio_format), out_dir / f"{episode.slug}.json"


def heard_times(report: MasteringReport) -> tuple[float, ...]:
    """The chapter times as heard in the output, as every later step reads them (ms precision,
    as the JSON report records them)."""
    return tuple(round(mark.output_s, 3) for mark in report.chapters)


def processed_from_mastering(
    report: MasteringReport, fingerprint_value: str, tags_value: str = ""
) -> ProcessedAudio:
    return ProcessedAudio(
        tags_fingerprint=tags_value,
        files=tuple(
            (encoded.format, encoded.output, encoded.sha256, encoded.bytes)
            for encoded in report.files
        ),
        duration_s=round(report.duration_s, 3),
        chapter_times=heard_times(report),
        fingerprint=fingerprint_value,
    )


def _picture(path: Path) -> Picture:
    """The picture in an image file, read once per process while the file is unchanged: every
    episode of a show carries the show's artwork, and publish works out each episode's tags."""
    stat = path.stat()
    return _read_picture(path.resolve(), stat.st_size, stat.st_mtime_ns, stat.st_ino)


@functools.lru_cache(maxsize=64)
def _read_picture(path: Path, size: int, mtime_ns: int, inode: int) -> Picture:
    return Picture(path.read_bytes(), inspect(path).mime)


def episode_tags(
    network: Network,
    episode: Episode,
    duration_s: float,
    chapter_times: tuple[float, ...],
    summary: str | None = None,
) -> EpisodeTags:
    """The tags of an episode's files (every format's, from one table): the episode, its home
    show and the network, for audio of `duration_s` with the chapters heard at `chapter_times`.
    The summary is the episode's own, else its rendered notes as text (`summary` when the caller
    has rendered them already)."""
    show = network.shows[episode.show]
    hosts = [person.name for person in episode.persons if person.role.lower() == "host"]
    length_ms = round(duration_s * 1000)
    if summary is None:
        summary = (
            episode.summary
            or render_notes(network, episode, heard_chapters(network, episode, chapter_times)).text
        )
    cover = episode.resolve(episode.image) if episode.image else network.show_path(show.artwork)
    chapters = contiguous_chapters(
        [
            (
                start_s,
                chapter.title,
                chapter.url,
                _picture(episode.resolve(chapter.image)) if chapter.image else None,
            )
            for start_s, chapter in zip(chapter_times, episode.chapters)
        ],
        length_ms,
    )
    return EpisodeTags(
        title=episode.title,
        artist=", ".join(hosts) or show.author,
        album=show.title,
        album_artist=network.settings.name,
        date=episode.date,
        language=show.language,
        guid=episode.guid,
        feed_url=network.feed_url(show.id),
        length_ms=length_ms,
        track=episode.number,
        season=episode.season,
        copyright=show.copyright,
        summary=summary or None,
        link=show.link,
        cover=_picture(cover),
        chapters=chapters,
    )


def process_episode(
    network: Network,
    episode: Episode,
    out_dir: Path,
    *,
    progress: Progress | None = None,
    tag_version: int | None = None,
    fingerprint_value: str | None = None,
    note: Callable[[str], None] | None = None,
) -> tuple[MasteringReport, ProcessedAudio]:
    """Master one episode with its home show's settings into every format the show names (one
    render), tag each file (inside its temp file, before the rename) and write the show notes,
    chapters JSON, transcript and JSON report beside them. `tag_version` is the MP3's ID3
    version (default: the format's); the other containers have one tag style each. `note` is
    told (one line, "note: <master>: …") when the master's analysis cache entry was damaged and
    the master was measured again.

    Raises ContentError (naming the episode file and field) when an edit cannot be done.
    """
    if episode.draft:
        raise ContentError(
            [
                Problem(
                    network.display(episode.path),
                    "draft",
                    "the episode is a draft (draft: true); put its recording in place and delete "
                    "that line to process it",
                )
            ]
        )
    versions = {
        name: (
            audio_format.default_tag_version
            if tag_version is None or audio_format is not PRIMARY
            else tag_version
        )
        for name, audio_format in FORMATS.items()
    }
    primary_path, report_path = output_paths(out_dir, episode)
    show = network.shows[episode.show]
    inputs = fingerprint_value or fingerprint(network, episode)  # before: the files may change
    built = built_audio(network, episode, out_dir)  # its artifacts are kept while current

    written: list[str] = []

    def tag(temps: dict[str, Path], report: MasteringReport) -> None:
        tags = episode_tags(network, episode, round(report.duration_s, 3), heard_times(report))
        written.append(tags_digest(tags))
        for name, temp in temps.items():
            FORMATS[name].write_tags(temp, tags, versions[name])

    source = episode.resolve(episode.audio)
    try:
        report = master(
            source,
            primary_path,
            mastering_settings(show),
            edit_decisions(network, episode),
            progress=progress,
            finish=tag,
            analysis_cache=analysis_cache(network),
            source_sha256=master_hash(source),
            note=None
            if note is None
            else lambda message: note(f"note: {network.display(source)}: {message}"),
        )
    except PlanError as exc:
        raise ContentError([Problem(network.display(episode.path), exc.field, str(exc))]) from exc
    except OffTarget as exc:  # the render's meter: no file of it was kept
        raise ContentError([Problem(network.display(episode.path), "audio", exc.reason)]) from exc
    except AudioInputError as exc:
        if exc.file != str(source):
            raise  # a jingle names itself
        # the recording, as validation names it: the episode file, its audio field, the file
        problem = f"{network.display(source)} {exc.reason}"
        raise ContentError([Problem(network.display(episode.path), "audio", problem)]) from exc
    write_notes(network, episode, heard_chapters(network, episode, heard_times(report)), out_dir)
    processed = processed_from_mastering(report, inputs, written[0])
    artifacts, _made = make_artifacts(
        artifact_inputs(network, episode, processed), out_dir, built.artifacts if built else ()
    )
    payload = _report_payload(network, episode, report, processed, versions)
    if artifacts:  # none: the report is what it was before artifacts were
        payload["artifacts"] = [artifact.report_entry() for artifact in artifacts]
    write_text_atomic(report_path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return report, replace(processed, artifacts=artifacts)


def _report_payload(
    network: Network,
    episode: Episode,
    report: MasteringReport,
    processed: ProcessedAudio,
    versions: dict[str, int],
) -> dict[str, Any]:
    """The JSON report `process` leaves beside the episode's files (`_report_of` reads it)."""
    payload = {
        "episode": network.display(episode.path),
        "guid": episode.guid,
        "fingerprint": processed.fingerprint,
        "tags_fingerprint": processed.tags_fingerprint,
        **report.as_dict(),
    }
    payload["source"] = network.display(report.source)
    payload["output"] = str(report.output)
    payload["format"] = PRIMARY.name
    payload["id3_version"] = PRIMARY.tag_name(versions[PRIMARY.name])
    for entry in payload["files"]:
        audio_format = FORMATS[entry["format"]]
        entry["tags"] = audio_format.tag_name(versions[audio_format.name])
    return payload


def write_report_page(
    network: Network,
    episode: Episode,
    report: MasteringReport,
    measured: LoudnessFigures | None = None,
) -> Path:
    """Write the producer's mastering report, `<slug>.report.html` beside the audio file (see
    `podcast_tools.report`), with the MP3's measured figures when `process --verify` has them.
    The time it took joins the report's `seconds` ("report_page")."""
    started = time.perf_counter()
    show = network.shows[episode.show]
    about = [
        ("episode", network.display(episode.path)),
        ("show", show.title),
        ("master", network.display(report.source)),
    ]
    page = mastering_report.write_report_page(
        report,
        mastering_report.report_path(report.output),
        title=episode.title,
        about=about,
        measured=measured,
    )
    report.seconds["report_page"] = time.perf_counter() - started
    return page


def measure_outputs(report: MasteringReport) -> dict[str, LoudnessFigures]:
    """Decode every processed file and measure it (`process --verify`: one more pass each),
    by format, the MP3 first."""
    return {
        encoded.format: measure_file(
            encoded.output,
            sample_rate=report.settings.sample_rate,
            channels=report.settings.channels,
        )
        for encoded in report.files
    }


# --- previews from the build folder, as publishing will lay them out --------------------------


def _local_builds(
    network: Network, build_dir: Path
) -> dict[str, tuple[EpisodeRecord, ProcessedAudio]]:
    """Every episode processed under `build_dir/<show>/`: its record and its local files."""
    builds = {}
    for episode in network.episodes:
        if episode.draft:
            continue
        processed = built_audio(network, episode, build_dir / episode.show)
        if processed is None:
            continue
        record = build_record(
            network,
            episode,
            audio_files(episode, processed),
            processed.chapter_times,
            processed.fingerprint,
            processed.tags_fingerprint,
            processed.artifacts,
        )
        builds[episode.guid] = (record, processed)
    return builds


def local_records(network: Network, build_dir: Path) -> dict[str, EpisodeRecord]:
    """The record of every episode processed under `build_dir/<show>/` (built by the one
    builder publishing uses, from each processing report)."""
    return {guid: record for guid, (record, _) in _local_builds(network, build_dir).items()}


def artwork_keys(network: Network) -> dict[str, str]:
    return {show_id: artwork_asset(network, show_id).key for show_id in network.shows}


def local_site(
    network: Network,
    build_dir: Path,
    *,
    base_url: str | None = None,
    now: datetime | None = None,
) -> list[SitePage]:
    """The listeners' website from what `process` built in `build_dir` (the records publishing
    would store), as `site.build_site` lays it out under `base_url` (default: network.toml's)."""
    return build_site(
        network,
        local_records(network, build_dir),
        artwork_keys(network),
        base_url=base_url,
        now=now,
    )


@dataclass(frozen=True)
class PreviewFeeds:
    feeds: list[BuiltFeed]
    publisher: BuiltFeed | None


def preview_feeds(
    network: Network, show_ids: list[str], build_dir: Path, *, include_scheduled: bool
) -> PreviewFeeds:
    """Every wanted show's feed (and the publisher feed) from what is processed in `build_dir`,
    exactly as `publish` would write them; every feed checked before any is returned
    (ContentError listing all problems)."""
    return _feeds_of(
        network, show_ids, local_records(network, build_dir), include_scheduled=include_scheduled
    )


def _feeds_of(
    network: Network,
    show_ids: list[str],
    records: dict[str, EpisodeRecord],
    *,
    include_scheduled: bool,
) -> PreviewFeeds:
    unknown = [s for s in show_ids if s not in network.shows]
    if unknown:
        raise UsageError(
            f"unknown show(s): {', '.join(unknown)}; the shows are: {', '.join(network.shows)}"
        )
    inputs = feed_inputs(network.settings.base_url, records, artwork_keys(network))
    built, problems = [], []
    for show_id in show_ids:
        unprocessed = [
            e for e in network.episodes_of(show_id) if e.guid not in records and not e.draft
        ]
        try:
            built.append(
                build_feed(
                    network,
                    show_id,
                    inputs,
                    include_scheduled=include_scheduled,
                    candidates=feed_candidates(network, records, show_id) + unprocessed,
                )
            )
        except ContentError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ContentError(problems)
    publisher = (
        build_publisher_feed(network, inputs.artwork_urls)
        if network.settings.podcast_guid
        else None
    )
    return PreviewFeeds(built, publisher)


# --- the whole network from the build folder, as `podcast preview` serves it ------------------


@dataclass(frozen=True)
class LocalObject:
    """One object of the network as `podcast preview` serves it: a file of the network or of
    build/ (`path`, read when it is asked for) or bytes made here (`data`), and its Content-Type."""

    path: Path | None
    data: bytes | None
    type: str

    @classmethod
    def of(cls, asset: Asset) -> LocalObject:
        return cls(path=asset.path, data=asset.data, type=asset.type)


def with_base_url(network: Network, base_url: str) -> Network:
    """The network as if network.toml's base_url were `base_url`: every URL that records, notes,
    chapters JSON and feeds are built with points there (the local preview's own address), and —
    unless `base_url` is network.toml's own — no show's audio goes through a measurement prefix
    (`enclosure_prefix`)."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    if base == network.settings.base_url:
        return network  # publishing's own URLs, measurement prefix and all
    return replace(
        network,
        settings=network.settings.model_copy(update={"base_url": base, "enclosure_prefix": None}),
        # elsewhere (the preview on 127.0.0.1) a measurement service could not reach the audio,
        # and must not count a preview's plays: audio is named straight under `base_url`
        shows={
            show_id: show.model_copy(update={"enclosure_prefix": None})
            for show_id, show in network.shows.items()
        },
    )


def local_objects(
    network: Network, build_dir: Path, *, base_url: str, include_scheduled: bool = False
) -> dict[str, LocalObject]:
    """What `publish` would upload from what is processed in `build_dir`, by object key: each
    episode's audio file(s), every file beside them (chapter images, chapters JSON, transcript,
    episode image), the shows' artwork, every show's feed and the publisher feed, and the
    website's pages — with every URL they name under `base_url` instead of network.toml's.

    The keys are publishing's (`layout.py`); only the chapters JSON, which names the chapter
    images' URLs, gets the content-addressed key of its content under `base_url` (publishing's
    own when `base_url` is network.toml's). Episodes dated in the future are left out, as
    publishing leaves them out, unless `include_scheduled`. Raises ContentError when a feed breaks
    a rule, as `podcast feed` does."""
    here = with_base_url(network, base_url)
    builds = _local_builds(here, build_dir)
    records = {guid: record for guid, (record, _) in builds.items()}
    now = datetime.now(timezone.utc)
    due = {
        guid: record
        for guid, record in records.items()
        if include_scheduled or datetime.fromisoformat(record.meta["date"]) <= now
    }
    objects: dict[str, LocalObject] = {}
    for guid in due:
        record, processed = builds[guid]
        for audio, (_, path, _, _) in zip(record.audio, processed.files):
            objects[audio.key] = LocalObject(path=path, data=None, type=audio.type)
        for asset in record.assets:
            objects[asset.key] = LocalObject.of(asset)
    for show_id in here.shows:
        asset = artwork_asset(here, show_id)
        objects[asset.key] = LocalObject.of(asset)
    feeds = _feeds_of(here, list(here.shows), records, include_scheduled=include_scheduled)
    for feed in feeds.feeds:
        objects[feed_key(feed.show_id)] = LocalObject(path=None, data=feed.xml, type=FEED_TYPE)
    if feeds.publisher is not None:
        objects[feeds.publisher.key] = LocalObject(
            path=None, data=feeds.publisher.xml, type=FEED_TYPE
        )
    latest = max((datetime.fromisoformat(r.meta["date"]) for r in due.values()), default=now)
    pages = build_site(here, due, artwork_keys(here), base_url=base_url, now=max(now, latest))
    for page in pages:
        objects.setdefault(page.key, LocalObject(path=None, data=page.data, type=page.type))
    return objects


@dataclass(frozen=True)
class PreviewNotes:
    files: NotesFiles
    times_as_heard: bool  # False: the master's times (the episode is not processed)


def preview_notes(
    network: Network, episode: Episode, out_dir: Path, build_dir: Path
) -> PreviewNotes:
    """Render the episode's notes into `out_dir`, with the chapter times as heard when `process`
    has built it (its report in `build_dir/<show>/`), else the master's."""
    processed = built_audio(network, episode, build_dir / episode.show)
    times = processed.chapter_times if processed is not None else None
    files = write_notes(network, episode, heard_chapters(network, episode, times), out_dir)
    as_heard = times is not None and len(times) == len(episode.chapters)
    return PreviewNotes(files, as_heard)


def fix_artwork(root: Path) -> list[tuple[str, Path | None]]:
    """For each image the network's validation refuses that converting or shrinking can fix, a
    fixed copy beside it: (the image as named, the copy or None when it cannot be fixed)."""
    try:
        load_checked_network(root)
        return []
    except ContentError as exc:
        images = sorted(
            {p.file for p in exc.problems if p.file.lower().endswith((".png", ".jpg", ".jpeg"))}
        )
    fixed = []
    for name in images:
        path = root / name
        if artwork_problems(path):
            fixed.append((name, fixed_copy(path)))
    return fixed
