"""Derived artifacts: files made from an episode's processed audio and published beside it (a
machine transcript, a waveform, a share image), and the one resolver of an episode's transcript.

A producer (`Producer`) is registered under its kind (`register`); `pipeline.process.process_episode`
asks every registered producer that applies to the episode for its file, after the audio is
rendered, and records what it made (`Artifact`: kind, file, sha256, its own fingerprint, MIME
type) in the build report; the record lists it for the feed, the site and the uploader, and the
manifest stores it. An artifact's fingerprint is its own: the audio fingerprint of what it was
made from, the producer's kind and version and whatever else it names (`Producer.inputs`, e.g. a
speech model's id) — never the tags, so a re-tag keeps it, and it is made again only when that
fingerprint changes. The machine transcripts (`pipeline.transcripts`) are the only built-in
producers; they apply to the episodes of a show that turns them on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from podcast_tools.content import Episode, Network
from podcast_tools.fsutil import atomic_path
from podcast_tools.layout import content_hash, episode_file_key, file_hash
from podcast_tools.mediatypes import TRANSCRIPT_TYPES

#: The kind of artifact that is an episode's transcript when it has no hand-made one.
TRANSCRIPT = "transcript"


@dataclass(frozen=True)
class Artifact:
    """One derived file of an episode. `path`: where `process` left it (None when it is known
    only from the manifest: published by an earlier run)."""

    kind: str
    type: str  # MIME type
    suffix: str  # of its file and key, e.g. ".json"
    sha256: str
    bytes: int
    fingerprint: str  # its own (Producer.fingerprint)
    path: Path | None = None

    def key(self, show_id: str, slug: str) -> str:
        """Where it is published (content-addressed, as the episode's other files)."""
        return episode_file_key(show_id, slug, self.kind, self.sha256, self.suffix)

    def report_entry(self) -> dict[str, Any]:
        """The artifact as the build report records it (its file beside the report)."""
        assert self.path is not None
        return {**self._facts(), "file": self.path.name}

    def manifest_entry(self, show_id: str, slug: str) -> dict[str, Any]:
        """The artifact as the manifest records it (its published key)."""
        return {**self._facts(), "key": self.key(show_id, slug)}

    def _facts(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "type": self.type,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], folder: Path | None = None) -> Artifact:
        """An artifact of a build report (its file in `folder`) or of a manifest entry (a key:
        no local file). KeyError, TypeError or ValueError when it is not one."""
        name = data["file"] if folder is not None else data["key"]
        if not isinstance(name, str) or not isinstance(data["kind"], str):
            raise TypeError("artifact")
        return cls(
            kind=data["kind"],
            type=str(data["type"]),
            suffix=Path(name).suffix,
            sha256=str(data["sha256"]),
            bytes=int(data["bytes"]),
            fingerprint=str(data["fingerprint"]),
            path=folder / Path(name).name if folder is not None else None,
        )

    def intact(self) -> bool:
        """Its file is still the one recorded (size, then sha256)."""
        try:
            return (
                self.path is not None
                and self.path.stat().st_size == self.bytes
                and file_hash(self.path) == self.sha256
            )
        except OSError:
            return False


@dataclass(frozen=True)
class ArtifactInputs:
    """What a producer makes its file from: the episode and its processed audio."""

    network: Network
    episode: Episode
    audio: dict[str, Path]  # format → the processed file (the primary format first)
    duration_s: float
    audio_fingerprint: str  # pipeline.fingerprints.fingerprint of that audio
    #: The build report's `edits` (kept parts of the master, intro…): where a time in the master
    #: is heard; None when not known.
    edits: dict[str, Any] | None = None


@dataclass(frozen=True)
class Producer:
    """A maker of one kind of artifact. `make(inputs, target)` writes the file to `target` (a
    temporary path, renamed into place after); `applies` says which episodes get one; `inputs`
    names what else than the audio its output depends on (e.g. a model's id), for the
    fingerprint."""

    kind: str
    version: str
    mime: str
    suffix: str
    make: Callable[[ArtifactInputs, Path], None]
    applies: Callable[[Network, Episode], bool] = lambda network, episode: True
    inputs: Callable[[Network, Episode], Any] = lambda network, episode: None

    def fingerprint(self, network: Network, episode: Episode, audio_fingerprint: str) -> str:
        parts = {
            "kind": self.kind,
            "version": self.version,
            "mime": self.mime,
            "audio": audio_fingerprint,
            "inputs": self.inputs(network, episode),
        }
        return content_hash(json.dumps(parts, sort_keys=True, default=str).encode())


#: kind → its producer. Empty by default: nothing but audio and the episode's own files is made.
PRODUCERS: dict[str, Producer] = {}


def register(producer: Producer) -> None:
    """Make `producer` run for every episode it applies to (one producer per kind)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", producer.kind):
        raise ValueError(f"{producer.kind!r}: a kind is lower-case letters, digits and dashes")
    if not re.fullmatch(r"\.[a-z0-9]+", producer.suffix):
        # one suffix: a key and a report name give it back as they were (Path.suffix)
        raise ValueError(f"{producer.suffix!r}: a suffix is one dot and lower-case letters/digits")
    if producer.kind == TRANSCRIPT and producer.mime not in TRANSCRIPT_TYPES.values():
        raise ValueError(f"a transcript is one of {', '.join(TRANSCRIPT_TYPES.values())}")
    PRODUCERS[producer.kind] = producer


def producers_for(network: Network, episode: Episode) -> list[Producer]:
    """The registered producers that make an artifact of the episode (by kind)."""
    return [
        PRODUCERS[kind] for kind in sorted(PRODUCERS) if PRODUCERS[kind].applies(network, episode)
    ]


def wanted_fingerprints(
    network: Network, episode: Episode, audio_fingerprint: str
) -> dict[str, str]:
    """kind → the fingerprint the episode's artifact of that kind must have now."""
    return {
        producer.kind: producer.fingerprint(network, episode, audio_fingerprint)
        for producer in producers_for(network, episode)
    }


def artifact_path(out_dir: Path, episode: Episode, producer: Producer) -> Path:
    """Where `process` puts the episode's artifact of the producer's kind (never where the
    notes put a copy of the hand-made transcript, `<slug>.transcript.<ext>`)."""
    return out_dir / f"{episode.slug}.{producer.kind}-derived{producer.suffix}"


def make_artifacts(
    inputs: ArtifactInputs,
    out_dir: Path,
    previous: tuple[Artifact, ...] = (),
    published: tuple[Artifact, ...] = (),
) -> tuple[tuple[Artifact, ...], list[str]]:
    """The episode's artifacts, each reused from `previous` when its fingerprint is current and
    its file intact, else kept as `published` (known from the manifest: no local file) when the
    published one has the current fingerprint, else made (atomically) into `out_dir`; and the
    kinds that were made. So neither a re-tag nor a build made without the producer makes one
    again while the published one is current."""
    network, episode = inputs.network, inputs.episode
    kept = {artifact.kind: artifact for artifact in previous}
    known = {artifact.kind: artifact for artifact in published}
    artifacts, made = [], []
    for producer in producers_for(network, episode):
        wanted = producer.fingerprint(network, episode, inputs.audio_fingerprint)
        old = kept.get(producer.kind)
        if old is not None and old.fingerprint == wanted and old.intact():
            artifacts.append(old)
            continue
        out_there = known.get(producer.kind)
        if out_there is not None and out_there.fingerprint == wanted:
            artifacts.append(out_there)
            continue
        target = artifact_path(out_dir, episode, producer)
        with atomic_path(target) as temp:
            producer.make(inputs, temp)
        sha256, size = file_hash(target), target.stat().st_size
        artifacts.append(
            Artifact(producer.kind, producer.mime, producer.suffix, sha256, size, wanted, target)
        )
        made.append(producer.kind)
    return tuple(artifacts), made


@dataclass(frozen=True)
class TranscriptSource:
    """An episode's transcript: the producer's own file (the front matter's `transcript`) or a
    derived artifact of kind "transcript"."""

    type: str  # MIME type, as feeds name it
    field: str  # what names it, for errors: "transcript" or "artifacts.transcript"
    path: Path | None  # None: a derived one known only from the manifest
    artifact: Artifact | None = None  # the derived one

    @property
    def suffix(self) -> str:
        return self.artifact.suffix if self.artifact is not None else self.path.suffix.lower()


def transcript_source(
    episode: Episode, artifacts: tuple[Artifact, ...] = ()
) -> TranscriptSource | None:
    """The one answer to "which transcript has this episode": the hand-made file its front
    matter names wins over a machine-made one (a derived artifact of kind "transcript"), which
    is used only when the episode names none; None when it has neither."""
    if episode.transcript:
        path = episode.resolve(episode.transcript)
        return TranscriptSource(TRANSCRIPT_TYPES[path.suffix.lower()], "transcript", path)
    for artifact in artifacts:
        if artifact.kind == TRANSCRIPT:
            return TranscriptSource(
                artifact.type, f"artifacts.{TRANSCRIPT}", artifact.path, artifact
            )
    return None
