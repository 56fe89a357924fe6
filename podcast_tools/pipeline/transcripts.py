"""Machine transcripts when publishing (docs/transcripts.md): a show with
`transcripts = { auto = true }` gets one for every episode that names no transcript of its own.

The master's speech is recognised once (`audio.recognition.recognise`: the words and their times
in the master, cached in `build/.cache/transcripts/` by the master's sha256, the model and the
language) — before the episode is mastered (`validate` has checked the model and the language
first). The published transcript is then made from those words as derived artifacts
(`artifacts.Producer`), one per form: WebVTT (kind "transcript", the episode's transcript on the
website), SRT and Podcasting 2.0 JSON. Each word's time is mapped through the edit plan the
render carried out (head trim, cuts, intro), as the chapters are: a word inside a cut is not
heard and is left out. An artifact's fingerprint is the audio's (which holds the edits) plus the
model, the language and this module's version: a re-tag, a new title or a cover never transcribes
again, and a new jingle or loudness target only maps the cached words again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from podcast_tools.artifacts import TRANSCRIPT, ArtifactInputs, Producer, register
from podcast_tools.audio.recognition import (
    ENGINE_VERSION,
    WINDOW_S,
    Recognition,
    RecognitionError,
    cached_recognition,
    cues_from_words,
    recognise,
)
from podcast_tools.content import Episode, Network
from podcast_tools.errors import ContentError, Problem
from podcast_tools.lfs import is_pointer
from podcast_tools.media_checks import model_of, spoken_language, wants_transcript
from podcast_tools.pipeline.fingerprints import master_hash, require_audio
from podcast_tools.transcript import Cue, Word, write_json, write_srt, write_vtt

#: Bump when the same words make other transcript files (cue rules, mapping, writers).
VERSION = "1"
#: What a machine transcript says of itself (a NOTE in the WebVTT; the website says it too).
MACHINE_NOTE = "Machine-generated transcript (offline speech recognition): it may hold errors."


#: A folder for recognised words shared by every checkout that sets it (a CI cache).
CACHE_ENV = "PODCAST_TRANSCRIPT_CACHE"


def transcript_cache(network: Network) -> Path:
    """Where recognised words are kept between runs: `build/.cache/transcripts/`, or the folder
    $PODCAST_TRANSCRIPT_CACHE names (entries are keyed by the master's sha256, the model and the
    language: any network may share them)."""
    shared = os.environ.get(CACHE_ENV)
    return Path(shared) if shared else network.root / "build" / ".cache" / "transcripts"


def recognition_of(
    network: Network,
    episode: Episode,
    progress: Callable[[float, float], None] | None = None,
) -> Recognition:
    """The words of the episode's master (from the cache when they were recognised before);
    ContentError naming network.toml's field when the model or language cannot be used."""
    show = network.shows[episode.show]
    source = episode.resolve(episode.audio)
    if is_pointer(source):  # not checked out: the words must be in the cache
        cached = cached_words(network, episode)
        if cached is not None:
            return cached
        require_audio(network, [source])
    try:
        return recognise(
            source,
            model_of(network, episode.show),
            spoken_language(show),
            progress=progress,
            cache_dir=transcript_cache(network),
            source_sha256=master_hash(source),
        )
    except RecognitionError as exc:
        raise ContentError([Problem(exc.where, exc.field, exc.reason)]) from exc


def cached_words(network: Network, episode: Episode) -> Recognition | None:
    """The words of the episode's master when the cache holds them (nothing is decoded: the
    master may be a Git LFS pointer), else None."""
    source = episode.resolve(episode.audio)
    try:
        return cached_recognition(
            source,
            model_of(network, episode.show),
            spoken_language(network.shows[episode.show]),
            cache_dir=transcript_cache(network),
            source_sha256=master_hash(source),
        )
    except RecognitionError as exc:
        raise ContentError([Problem(exc.where, exc.field, exc.reason)]) from exc


def heard_words(words: Sequence[Word], edits: dict[str, Any] | None) -> list[Word]:
    """The words at the times they are heard in the published episode: `edits` is the build
    report's (kept segments of the master, the intro and its overlap). A word is heard where its
    middle is; a word whose middle was cut or trimmed away is left out. Without edits (no report)
    the master's times are kept."""
    if not edits:
        return list(words)
    speech_start = max(0.0, float(edits["intro_s"]) - float(edits.get("crossfade_in_s", 0.0)))
    kept = [(float(part["start_s"]), float(part["end_s"])) for part in edits["kept"]]
    heard: list[Word] = []
    for word in words:
        middle = (word.start_s + word.end_s) / 2
        offset = speech_start
        for start, end in kept:
            if start <= middle < end:
                heard.append(
                    Word(
                        round(offset + max(word.start_s, start) - start, 3),
                        round(offset + min(word.end_s, end) - start, 3),
                        word.text,
                        word.speaker,
                    )
                )
                break
            offset += end - start
    return heard


def _writer(kind: str) -> Callable[[list[Cue], list[Word]], str]:
    if kind == TRANSCRIPT:
        return lambda cues, words: write_vtt(cues, notes=(MACHINE_NOTE,))
    if kind == f"{TRANSCRIPT}-srt":
        return lambda cues, words: write_srt(cues)
    return lambda cues, words: write_json(cues, words)


def _make(kind: str) -> Callable[[ArtifactInputs, Path], None]:
    write = _writer(kind)

    def make(inputs: ArtifactInputs, target: Path) -> None:
        recognition = recognition_of(inputs.network, inputs.episode)
        words = heard_words(recognition.words, inputs.edits)
        target.write_text(write(cues_from_words(words), words), encoding="utf-8")

    return make


def _inputs(network: Network, episode: Episode) -> dict[str, str]:
    """What a machine transcript depends on besides the audio (for its fingerprint)."""
    show = network.shows[episode.show]
    return {
        "model": model_of(network, episode.show).id,
        "language": spoken_language(show),
        "engine": [ENGINE_VERSION, WINDOW_S],  # how words are found and timed (the cache's key)
    }


#: The forms every machine transcript is published in, the WebVTT first (feeds list them so).
FORMS = (
    (TRANSCRIPT, "text/vtt", ".vtt"),
    (f"{TRANSCRIPT}-srt", "application/x-subrip", ".srt"),
    (f"{TRANSCRIPT}-json", "application/json", ".json"),
)

for _kind, _mime, _suffix in FORMS:
    register(
        Producer(
            _kind,
            VERSION,
            _mime,
            _suffix,
            _make(_kind),
            applies=wants_transcript,
            inputs=_inputs,
        )
    )
