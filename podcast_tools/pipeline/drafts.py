"""Draft transcripts for producers to review: `podcast transcribe` — `transcribe_episode`.

The episode's master is recognised (`audio.recognition`, cached where `publish` keeps recognised
words: `pipeline.transcripts.transcript_cache`), its words' times mapped through the episode's
edit plan (head trim, cuts, intro: the plan `process` would make, from pass 1's cached analysis,
nothing rendered) to where listeners hear them, as publish maps its machine transcripts, and
written beside the episode file as `<episode stem>.vtt` (speaker-turn cues) and `<episode
stem>.json` (Podcasting 2.0, one segment per word); the front matter's `transcript:` line is set
to the VTT. The VTT carries a NOTE naming it a machine draft, the model and a hash of its cues
as written: a draft the producer has edited since, or a transcript that is not our draft, is
never overwritten (`force` does).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podcast_tools.audio.master import analyse, plan_master
from podcast_tools.audio.plan import EditPlan, PlanError
from podcast_tools.audio.recognition import Model, cues_from_words, model_language, recognise
from podcast_tools.content import NETWORK_FILE, Episode, Network
from podcast_tools.errors import AudioInputError, ContentError, Problem
from podcast_tools.fsutil import write_bytes_atomic, write_text_atomic
from podcast_tools.media_checks import model_of, spoken_language
from podcast_tools.pipeline.fingerprints import (
    analysis_cache,
    audio_inputs,
    master_hash,
    require_audio,
)
from podcast_tools.pipeline.settings import edit_decisions, mastering_settings
from podcast_tools.pipeline.transcripts import heard_words, transcript_cache
from podcast_tools.transcript import (
    Cue,
    TranscriptError,
    Word,
    parse_vtt,
    write_json,
    write_vtt,
)

#: Marks a VTT this command wrote: `NOTE machine draft (podcast transcribe): model …, cues sha256 …`
DRAFT_MARK = "machine draft (podcast transcribe)"
_DRAFT_NOTE = re.compile(
    rf"^NOTE {re.escape(DRAFT_MARK)}: model (\S+), cues sha256 ([0-9a-f]{{64}})$", re.MULTILINE
)
Progress = Callable[[str, float, float], None]


@dataclass(frozen=True)
class Draft:
    """What `transcribe_episode` did for one episode."""

    episode: Path
    vtt: Path | None  # None: no speech was found, nothing written
    json: Path | None
    cues: int
    words: int
    dropped_words: int  # recognised in the master, but in a cut or the trimmed ends
    language: str
    model: str  # the model's name


def draft_paths(episode: Episode) -> tuple[Path, Path]:
    """Where an episode's draft goes: `<episode stem>.vtt` and `.json` beside its file."""
    return episode.path.with_suffix(".vtt"), episode.path.with_suffix(".json")


def cues_digest(cues: list[Cue]) -> str:
    """sha256 of cues as a VTT parser reads them back: times, speaker and text."""
    lines = [f"{c.start_s:.3f} {c.end_s or 0:.3f} {c.speaker or ''} {c.text}" for c in cues]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def unedited_draft(path: Path) -> bool:
    """True when `path` is a VTT this command wrote and nobody has changed its cues since."""
    try:
        text = path.read_text(encoding="utf-8")
        found = _DRAFT_NOTE.search(text)
        return found is not None and cues_digest(parse_vtt(text)) == found.group(2)
    except (OSError, UnicodeDecodeError, TranscriptError):
        return False


def kept_transcript(network: Network, episode: Episode) -> Problem | None:
    """Why the episode's transcript must not be replaced (a producer's file, or an edited
    draft), None when a draft may be written."""
    vtt, words = draft_paths(episode)
    named = episode.resolve(episode.transcript) if episode.transcript else None
    for path in dict.fromkeys(p for p in (named, vtt) if p is not None):
        if path.exists() and not unedited_draft(path):
            what = "was edited since it was drafted" if _is_draft(path) else "is not a draft"
            return _kept(network, episode, path, what)
    if words.exists() and not (vtt.exists() and _is_draft(vtt)):  # a JSON file of its own
        return _kept(network, episode, words, "is not a draft's")
    return None


def _kept(network: Network, episode: Episode, path: Path, what: str) -> Problem:
    return Problem(
        network.display(episode.path),
        "transcript",
        f"{network.display(path)} {what}: it is kept; run with --force to transcribe again and "
        "replace it",
    )


def _is_draft(path: Path) -> bool:
    try:
        return _DRAFT_NOTE.search(path.read_text(encoding="utf-8", errors="replace")) is not None
    except OSError:
        return False


def transcribe_episode(
    network: Network,
    episode: Episode,
    model: Model | None,
    language: str | None,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> Draft:
    """Recognise the episode's master, map the words to where they are heard, write the draft
    VTT and JSON and point the front matter's `transcript` at the VTT.

    `model`: None for the show's (`transcripts.model`); `language`: a code, None for the show's
    (`transcripts.language`, else its language). Raises ContentError naming the episode file and field
    (a kept transcript, a draft episode, an edit that cannot be done, an undecodable master),
    RecognitionError for a language the model cannot do. Nothing is written for a master
    without speech (`Draft.vtt` is None)."""
    where = network.display(episode.path)
    if episode.draft or not episode.audio:
        raise ContentError([Problem(where, "audio", "the episode is a draft: it has no master")])
    if not force and (kept := kept_transcript(network, episode)) is not None:
        raise ContentError([kept])
    show = network.shows[episode.show]
    model = model or model_of(network, show.id)
    if language:
        code = model_language(model, language, where="--language", field="")
    else:
        setting = "transcripts.language" if show.transcripts.language else "language"
        code = model_language(
            model,
            spoken_language(show),
            where=network.display(network.root / NETWORK_FILE),
            field=f"shows.{show.id}.{setting}",
        )
    require_audio(network, audio_inputs(network, episode))  # not Git LFS pointers
    source = episode.resolve(episode.audio)
    label = f"transcribe {episode.slug}"
    try:
        recognition = recognise(
            source,
            model,
            code,
            progress=None if progress is None else lambda d, t: progress(label, d, t),
            cache_dir=transcript_cache(network),
            source_sha256=master_hash(source),
        )
    except AudioInputError as exc:
        problem = f"{network.display(source)} {exc.reason}"
        raise ContentError([Problem(where, "audio", problem)]) from exc
    heard = (
        words_as_heard(network, episode, recognition.words, progress) if recognition.words else []
    )
    dropped = len(recognition.words) - len(heard)
    if not heard:  # no speech, or none of it published
        return Draft(episode.path, None, None, 0, 0, dropped, recognition.language, model.name)
    cues = cues_from_words(heard)
    vtt_path, json_path = draft_paths(episode)
    # the VTT first: a run stopped before the JSON or the front matter leaves a draft the next
    # run may replace
    written = write_vtt(cues)
    note = f"{DRAFT_MARK}: model {model.id}, cues sha256 {cues_digest(parse_vtt(written))}"
    write_text_atomic(vtt_path, write_vtt(cues, notes=(note,)))
    write_text_atomic(json_path, write_json(cues, words=heard))
    set_transcript(episode.path, vtt_path.name)
    return Draft(
        episode.path,
        vtt_path,
        json_path,
        len(cues),
        len(heard),
        dropped,
        recognition.language,
        model.name,
    )


def words_as_heard(
    network: Network,
    episode: Episode,
    words: tuple[Word, ...],
    progress: Progress | None = None,
) -> list[Word]:
    """`words` (times in the master) at the times heard in the published episode: through the
    edit plan `process` makes (pass 1 cached by the master's hash; nothing is rendered), mapped
    as the machine transcripts `publish` makes are (`pipeline.transcripts.heard_words`: a word
    whose middle is in a cut or a trimmed end is left out)."""
    where = network.display(episode.path)
    source = episode.resolve(episode.audio)
    settings = mastering_settings(network.shows[episode.show], episode)
    try:
        analysis = analyse(
            source,
            settings,
            None if progress is None else lambda _, d, t: progress(f"plan {episode.slug}", d, t),
            cache=analysis_cache(network),
            source_sha256=master_hash(source),
        )
        plan = plan_master(analysis, settings, edit_decisions(network, episode)).plan
    except PlanError as exc:
        raise ContentError([Problem(where, exc.field, str(exc))]) from exc
    except AudioInputError as exc:  # the master, or a jingle (validation names it so)
        field = "audio" if exc.file == str(source) else "intro/outro"
        problem = f"{network.display(Path(exc.file))} {exc.reason}"
        raise ContentError([Problem(where, field, problem)]) from exc
    return heard_words(words, edits_of(plan))


def edits_of(plan: EditPlan) -> dict[str, Any]:
    """The plan's edits as the build report records them (`MasteringReport.as_dict()["edits"]`:
    the kept parts of the master, the intro and its overlap), what `heard_words` reads."""
    rate = plan.sample_rate
    return {
        "intro_s": round(plan.intro_frames / rate, 3),
        "crossfade_in_s": round(plan.intro_overlap / rate, 3),
        "kept": [
            {"start_s": round(s.start / rate, 3), "end_s": round(s.end / rate, 3)}
            for s in plan.segments
        ],
    }


_FIELD = re.compile(r"^transcript[ \t]*:.*?(\r?\n)?$")


def set_transcript(path: Path, name: str) -> None:
    """Point the front matter's `transcript:` at `name`: that one line replaced (or added before
    the closing `---`); every other byte of the file kept."""
    data = path.read_bytes()
    text = data.decode("utf-8")
    lines = text.splitlines(keepends=True)
    start = 1 if lines and lines[0].lstrip("\ufeff").strip() == "---" else None
    closing = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
    if start is None or closing is None:
        raise ContentError([Problem(str(path), "", "has no front matter to set transcript in")])
    ending = "\r\n" if lines[0].endswith("\r\n") else "\n"
    wanted = f"transcript: {name}"
    for index in range(start, closing):
        match = _FIELD.match(lines[index])
        if match:
            lines[index] = wanted + (match.group(1) or ending)
            break
    else:
        lines.insert(closing, wanted + ending)
    new = "".join(lines).encode("utf-8")
    if new != data:
        write_bytes_atomic(path, new)
