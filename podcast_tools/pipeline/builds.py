"""What `build/` holds and whether it can be reused: reports read back, built audio, re-tagging a
build in place."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from podcast_tools.artifacts import (
    PRODUCERS,
    Artifact,
    ArtifactInputs,
    make_artifacts,
    wanted_fingerprints,
)
from podcast_tools.content import Episode, Network
from podcast_tools.formats import FORMATS, PRIMARY
from podcast_tools.fsutil import atomic_path, write_text_atomic
from podcast_tools.layout import file_hash
from podcast_tools.pipeline.settings import audio_path, episode_tags, output_paths
from podcast_tools.record import (
    LEGACY_FORMAT,
    ProcessedAudio,
)
from podcast_tools.tags import tags_digest


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


def artifact_inputs(
    network: Network,
    episode: Episode,
    built: ProcessedAudio,
    edits: dict[str, Any] | None = None,
) -> ArtifactInputs:
    """What the episode's derived artifacts are made from: its processed audio and the edits
    that made it (`edits`: the build report's; read from the report in `build/` when not given)."""
    if edits is None:
        report = _report_of(Path(built.files[0][1]).parent, episode) if built.files else None
        edits = report.get("edits") if report else None
    return ArtifactInputs(
        network=network,
        episode=episode,
        audio={name: path for name, path, _, _ in built.files},
        duration_s=built.duration_s,
        audio_fingerprint=built.fingerprint,
        edits=edits if isinstance(edits, dict) else None,
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
    network: Network,
    episode: Episode,
    out_dir: Path,
    built: ProcessedAudio,
    published: tuple[Artifact, ...] = (),
) -> ProcessedAudio:
    """`built` (what `process` left in `out_dir`) with its derived artifacts as the registered
    producers want them now: each one whose own fingerprint is current and whose file is intact
    is kept, or the `published` one (the manifest's) when it is current, any other is made (a
    re-tag never changes one: its fingerprint is the audio's); the JSON report is brought up to
    date with those it holds."""
    if not PRODUCERS and not built.artifacts:
        return built
    inputs = artifact_inputs(network, episode, built)
    artifacts, _made = make_artifacts(inputs, out_dir, built.artifacts, published)
    if artifacts == built.artifacts:
        return built
    report_path = output_paths(out_dir, episode)[1]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report.pop("artifacts", None)
    local = [artifact.report_entry() for artifact in artifacts if artifact.path is not None]
    if local:
        report["artifacts"] = local
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
            if episode.mastered and name == PRIMARY.name:  # the promise: its frames as they were
                _same_frames(sources[name], temp, episode)
            files.append((name, target, file_hash(temp), temp.stat().st_size))
    return tuple(files), tags_digest(tags)


def _same_frames(before: Path, after: Path, episode: Episode) -> None:
    from podcast_tools.audio.mastered import audio_digest
    from podcast_tools.errors import AudioInputError

    if audio_digest(before) != audio_digest(after):
        raise AudioInputError(
            "its audio frames changed when its tags were written again; it was not published "
            "(mastered: true promises them byte for byte)",
            file=episode.path,
        )


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
