"""Processing one episode: master, tag, notes, report page — `process_episode`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from podcast_tools import report as mastering_report
from podcast_tools.artifacts import (
    make_artifacts,
)
from podcast_tools.audio.master import (
    MasteringReport,
    OffTarget,
    Progress,
    master,
    measure_file,
)
from podcast_tools.audio.mastered import loudness_note, publish_mastered
from podcast_tools.audio.meter import LoudnessFigures
from podcast_tools.audio.plan import PlanError
from podcast_tools.audio.recognition import Recognition
from podcast_tools.content import Episode, Network
from podcast_tools.errors import AudioInputError, ContentError, Problem
from podcast_tools.formats import FORMATS, PRIMARY
from podcast_tools.fsutil import write_text_atomic
from podcast_tools.notes import write_notes
from podcast_tools.pipeline.builds import artifact_inputs, built_audio
from podcast_tools.pipeline.fingerprints import (
    analysis_cache,
    audio_inputs,
    fingerprint,
    master_hash,
    require_audio,
)
from podcast_tools.pipeline.settings import (
    edit_decisions,
    episode_tags,
    mastering_settings,
    output_paths,
)
from podcast_tools.pipeline.transcripts import recognition_of, wants_transcript
from podcast_tools.record import (
    ProcessedAudio,
    heard_chapters,
)
from podcast_tools.tags import tags_digest


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
    require_audio(network, audio_inputs(network, episode))  # not Git LFS pointers
    versions = {
        name: (
            audio_format.default_tag_version
            if tag_version is None or audio_format is not PRIMARY
            else tag_version
        )
        for name, audio_format in FORMATS.items()
    }
    primary_path, report_path = output_paths(out_dir, episode)
    inputs = fingerprint_value or fingerprint(network, episode)  # before: the files may change
    built = built_audio(network, episode, out_dir)  # its artifacts are kept while current

    written: list[str] = []

    def tag(temps: dict[str, Path], report: MasteringReport) -> None:
        tags = episode_tags(network, episode, round(report.duration_s, 3), heard_times(report))
        written.append(tags_digest(tags))
        for name, temp in temps.items():
            FORMATS[name].write_tags(temp, tags, versions[name])

    source = episode.resolve(episode.audio)
    # the machine transcript's words first: a stop or a failure there leaves no rendered file
    # without its report (and a render is never done twice for it)
    recognition = (
        _recognise(network, episode, progress) if wants_transcript(network, episode) else None
    )
    try:
        report = _render(network, episode, primary_path, progress, tag, note)
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
    if recognition is not None and not recognition.words and note is not None:
        # said once the master is known to be one mastering takes (not for silence it refuses)
        shown = network.display(source)
        note(f"note: {shown}: no speech was recognised: its machine transcript is empty")
    artifacts, _made = make_artifacts(
        artifact_inputs(network, episode, processed, report.as_dict()["edits"]),
        out_dir,
        built.artifacts if built else (),
    )
    payload = _report_payload(network, episode, report, processed, versions)
    if artifacts:  # none: the report is what it was before artifacts were
        payload["artifacts"] = [artifact.report_entry() for artifact in artifacts]
    write_text_atomic(report_path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return report, replace(processed, artifacts=artifacts)


def _render(
    network: Network,
    episode: Episode,
    primary_path: Path,
    progress: Progress | None,
    tag: Callable[[dict[str, Path], MasteringReport], None],
    note: Callable[[str], None] | None,
) -> MasteringReport:
    """Master the episode's recording into its files — or, for a mastered episode (`mastered:
    true`, the one place it goes its own way), publish its MP3's frames as they are, with a
    note of the loudness measured."""
    source = episode.resolve(episode.audio)
    told = None if note is None else lambda line: note(f"note: {network.display(source)}: {line}")
    inputs = (source, primary_path, mastering_settings(network.shows[episode.show], episode))
    edits = edit_decisions(network, episode)
    if episode.mastered:
        report = publish_mastered(*inputs, edits, progress=progress, finish=tag)
        if told is not None:
            told(loudness_note(report))
        return report
    return master(
        *inputs,
        edits,
        progress=progress,
        finish=tag,
        analysis_cache=analysis_cache(network),
        source_sha256=master_hash(source),
        note=told,
    )


def _recognise(network: Network, episode: Episode, progress: Progress | None) -> Recognition:
    """The master's words for its machine transcript (kept in the cache, where the transcript's
    makers find them once the audio is rendered), with the progress shown as a stage."""
    return recognition_of(
        network,
        episode,
        None if progress is None else lambda done, total: progress("transcribe", done, total),
    )


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
    if report.published_as:  # mastered: true — the figures are measured, nothing was made
        about.append(("audio", report.published_as))
    page = mastering_report.write_report_page(
        report,
        mastering_report.report_path(report.output),
        title=episode.title,
        about=about,
        measured=measured,
        excerpts=mastering_report.speech_excerpts(report),
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
