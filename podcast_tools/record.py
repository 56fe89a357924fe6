"""The record of a published episode: everything a feed item, a web page or the manifest says
about it, built by one function (`build_record`) from the episode and what processing made of it.

`podcast feed` (a preview from `build/`), `podcast notes` and `podcast publish` all go through
`build_record`, and publishing stores the record in the manifest as it is (`EpisodeRecord.entry`,
read back by `EpisodeRecord.from_entry`), so a feed previewed from a build says what the published
one says, byte for byte, and a new item field is added in one place.

Keys and URLs are content-addressed (`layout.py`): a record says where each file *will* be, and
publishing uploads each file (`EpisodeRecord.assets`) under exactly that key.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from podcast_tools.artifacts import (
    Artifact,
    TranscriptSource,
    is_transcript_kind,
    transcript_source,
)
from podcast_tools.audio.probe import stream_bitrate
from podcast_tools.content import Episode, Network
from podcast_tools.content.models import License, Location, Person, ShowNumbers, Soundbite, Value
from podcast_tools.feed.build import AudioMedia, EpisodeMedia, FeedInputs, TranscriptMedia
from podcast_tools.formats import FORMATS, format_named
from podcast_tools.layout import (
    artwork_key,
    audio_key,
    content_hash,
    episode_file_key,
    file_hash,
    public_url,
)
from podcast_tools.mediatypes import (
    CHAPTERS_TYPE,
    TRANSCRIPT_TYPES,
    image_type,
    transcript_published,
    transcript_upload_type,
)
from podcast_tools.notes import ChapterNote, RenderedNotes, chapter_notes, render_notes
from podcast_tools.transcript import (
    PARSERS,
    TranscriptError,
    parse_transcript,
    write_json,
    write_srt,
    write_vtt,
)

#: The format of every audio object written before formats were recorded (manifest formats 1
#: and 2, build reports without "format"): MP3, whatever the primary format is today.
LEGACY_FORMAT = "mp3"


@dataclass(frozen=True)
class AudioFile:
    """One published audio file of an episode (one per output format; the first is the
    enclosure)."""

    format: str  # a row of formats.FORMATS
    key: str
    bytes: int
    sha256: str  # "" when a format 1 manifest did not record it
    duration_s: float
    type: str = ""  # MIME type; "" → the format's
    #: The audio stream's bits per second, without tags and art (`audio.probe.stream_bitrate`);
    #: None when a manifest written before it was measured does not say.
    bitrate: int | None = None

    def __post_init__(self) -> None:
        if not self.type:
            object.__setattr__(self, "type", format_named(self.format).mime)

    def as_dict(self) -> dict[str, Any]:
        data = {
            "format": self.format,
            "type": self.type,
            "key": self.key,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "duration_s": self.duration_s,
        }
        if not self.sha256:
            del data["sha256"]
        if self.bitrate is not None:
            data["bitrate"] = self.bitrate
        return data

    @property
    def label(self) -> str:
        """The format as people read it ("MP3"); a format this version does not know, upper-cased."""
        known = FORMATS.get(self.format)
        return known.label if known is not None else self.format.upper()

    def media(self, base_url: str) -> AudioMedia:
        """The file as a feed names it, at its public URL under `base_url`."""
        return AudioMedia(
            url=public_url(base_url, self.key),
            type=self.type,
            bytes=self.bytes,
            duration_s=self.duration_s,
            sha256=self.sha256,
            title=self.label,
            bitrate=self.bitrate,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AudioFile:
        return cls(
            format=data.get("format", LEGACY_FORMAT),
            key=data["key"],
            bytes=int(data["bytes"]),
            sha256=data.get("sha256", ""),
            duration_s=float(data["duration_s"]),
            type=data.get("type", ""),
            bitrate=data.get("bitrate"),
        )


@dataclass(frozen=True)
class ProcessedAudio:
    """What processing made of an episode, as its report says: the audio files (local paths),
    the chapter times as heard in them and the input fingerprint they were made from."""

    files: tuple[tuple[str, Path, str, int], ...]  # (format, path, sha256, bytes), primary first
    duration_s: float
    chapter_times: tuple[float, ...]
    fingerprint: str  # of the audio (pipeline.fingerprints.fingerprint)
    reused: bool = False  # found in the build folder, not made by this run
    tags_fingerprint: str = ""  # of what the tags say (pipeline.fingerprints.tags_fingerprint)
    retagged: bool = False  # the files' tags were rewritten by this run (no mastering)
    artifacts: tuple[Artifact, ...] = ()  # derived files beside the audio (artifacts.py)

    @property
    def primary(self) -> Path:
        return self.files[0][1]


@dataclass(frozen=True)
class Asset:
    """A file published beside the audio: its key, Content-Type, the content field that names
    it (for errors), and its bytes — a file of the network (`path`) or made here (`data`)."""

    key: str
    type: str
    field: str
    sha256: str
    path: Path | None = None
    data: bytes | None = None
    built: bool = False  # a file `process` made in the build folder (a derived artifact)


@dataclass(frozen=True)
class EpisodeRecord:
    guid: str
    show: str
    shows: tuple[str, ...]  # the home show first, then the shows it is cross-posted to
    slug: str
    fingerprint: str
    audio: tuple[AudioFile, ...]
    chapter_times: tuple[float, ...]  # as heard in the audio
    meta: dict[str, Any]  # what a feed item needs from the front matter
    html: str  # rendered, sanitised notes
    text: str  # their plain text
    chapters: dict[str, Any] | None = None  # {"key"}
    transcript: dict[str, Any] | None = None  # {"key", "type"}: the WebVTT form when there is one
    image: dict[str, Any] | None = None  # {"key"}
    chapter_images: tuple[str | None, ...] = ()  # the key of each chapter's image, if it has one
    #: What the audio files' tags say (pipeline.fingerprints.tags_fingerprint); "" in entries written before
    #: tags had a fingerprint of their own.
    tags_fingerprint: str = ""
    #: Derived files (artifacts.py) published beside the audio; stored only when there are any.
    artifacts: tuple[Artifact, ...] = ()
    #: Every form of the transcript ({"key", "type"}), in the order a feed lists them
    #: (`TRANSCRIPT_ORDER`); entries written before there were several hold `transcript` alone.
    transcripts: tuple[dict[str, Any], ...] = ()
    #: The transcript was made by speech recognition (derived artifacts), not by a person.
    machine_transcript: bool = False
    # the files publishing uploads beside the audio; not stored (the keys above are)
    assets: tuple[Asset, ...] = field(default=(), compare=False)

    @property
    def enclosure(self) -> AudioFile:
        return self.audio[0]

    def entry(self) -> dict[str, Any]:
        """The record as the manifest stores it (no "artifacts" when it has none)."""
        entry = {
            "show": self.show,
            "shows": list(self.shows),
            "slug": self.slug,
            "fingerprint": self.fingerprint,
            "tags_fingerprint": self.tags_fingerprint,
            "audio": [audio.as_dict() for audio in self.audio],
            "chapter_times": list(self.chapter_times),
            "meta": self.meta,
            "html": self.html,
            "text": self.text,
            "chapters": self.chapters,
            "transcript": self.transcript,
            "image": self.image,
            "chapter_images": list(self.chapter_images),
        }
        if self.transcripts:
            entry["transcripts"] = [dict(form) for form in self.transcripts]
            entry["machine_transcript"] = self.machine_transcript
        if self.artifacts:
            entry["artifacts"] = [a.manifest_entry(self.show, self.slug) for a in self.artifacts]
        return entry

    @classmethod
    def from_entry(cls, guid: str, entry: dict[str, Any]) -> EpisodeRecord:
        """A record as the manifest stored it (format 1 and 2 entries hold one audio object;
        entries written before transcripts had several forms name one, `transcript`)."""
        audio = entry["audio"]
        transcript = entry.get("transcript")
        artifacts = tuple(Artifact.from_dict(a) for a in entry.get("artifacts") or ())
        forms = entry.get("transcripts") or ([transcript] if transcript else [])
        machine = entry.get("machine_transcript")
        if machine is None:  # an older entry: its transcript is machine-made if derived
            derived = {a.key(entry["show"], entry["slug"]) for a in artifacts}
            machine = bool(transcript) and transcript.get("key") in derived
        return cls(
            guid=guid,
            show=entry["show"],
            shows=tuple(entry["shows"]),
            slug=entry["slug"],
            fingerprint=entry.get("fingerprint", ""),
            tags_fingerprint=entry.get("tags_fingerprint", ""),
            audio=tuple(
                AudioFile.from_dict(a) for a in (audio if isinstance(audio, list) else [audio])
            ),
            chapter_times=tuple(entry.get("chapter_times") or ()),
            meta=entry["meta"],
            html=entry["html"],
            text=entry["text"],
            chapters=entry.get("chapters"),
            transcript=transcript,
            image=entry.get("image"),
            chapter_images=tuple(entry.get("chapter_images") or ()),
            artifacts=artifacts,
            transcripts=tuple(forms),
            machine_transcript=bool(machine),
        )

    @property
    def names_transcript(self) -> bool:
        """The record names a transcript of a type that is published (an HTML one a manifest of
        an older version records is named nowhere, and `publish` deletes it)."""
        return bool(self.transcript) and transcript_published(self.transcript.get("type"))

    @property
    def transcript_forms(self) -> tuple[dict[str, Any], ...]:
        """The forms of the transcript a feed names (`transcripts`, of types that are published),
        in feed order."""
        return tuple(form for form in self.transcripts if transcript_published(form.get("type")))

    def without_integrity(self, keys: set[str]) -> EpisodeRecord:
        """The record with no sha256 for the audio objects `keys` (a feed names them without
        podcast:integrity: the store does not hold that sha256)."""
        if not any(audio.key in keys for audio in self.audio):
            return self
        audio = tuple(replace(a, sha256="") if a.key in keys else a for a in self.audio)
        return replace(self, audio=audio)

    def keys(self) -> list[str]:
        """Every object key the episode's item names (audio first; chapter images as far as the
        record knows them: entries written before format 3 did not list them)."""
        keys = [audio.key for audio in self.audio]
        keys += [part["key"] for part in (self.chapters, self.transcript, self.image) if part]
        keys += [form["key"] for form in self.transcripts if form["key"] not in keys]
        keys += [key for key in self.chapter_images if key]
        derived = [artifact.key(self.show, self.slug) for artifact in self.artifacts]
        return keys + [key for key in derived if key not in keys]  # one may be the transcript

    def episode(self, root: Path) -> Episode:
        """The Episode a feed item is built from: the front matter as recorded (`FEED_FIELDS`),
        its file where it lies (or lay) in the network at `root`."""
        return Episode.model_construct(
            **{name: load(self.meta.get(name)) for name, (_, load) in FEED_FIELDS.items()},
            guid=self.guid,
            shows=[s for s in self.shows if s != self.show],
            chapters=[],
            cuts=[],
            audio="",
            slug=self.slug,
            show=self.show,
            path=root / "episodes" / self.show / f"{self.slug}.md",
            notes="",
        )

    def media(self, base_url: str) -> EpisodeMedia:
        """What a feed item needs, with public URLs under `base_url`."""

        def url(part: dict[str, Any] | None) -> str | None:
            return public_url(base_url, part["key"]) if part else None

        enclosure = self.enclosure
        return EpisodeMedia(
            url=public_url(base_url, enclosure.key),
            bytes=enclosure.bytes,
            duration_s=enclosure.duration_s,
            mime=enclosure.type,
            html=self.html,
            summary=self.text,
            chapters_url=url(self.chapters),
            transcript_url=url(self.transcript) if self.names_transcript else None,
            transcript_type=self.transcript["type"] if self.names_transcript else None,
            transcripts=tuple(
                TranscriptMedia(url(form), form["type"]) for form in self.transcript_forms
            ),
            machine_transcript=self.machine_transcript,
            image_url=url(self.image),
            audio=tuple(audio.media(base_url) for audio in self.audio),
        )


def _same(value: Any) -> Any:
    return value


def _model(model: type) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """(to JSON, from JSON) of an optional model field; None stays None."""
    return (
        lambda value: None if value is None else value.model_dump(mode="json", exclude_none=True),
        lambda data: None if data is None else model.model_validate(data),
    )


def _models(model: type) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """(to JSON, from JSON) of a list of models; an entry without the field holds none."""
    return (
        lambda values: [value.model_dump(mode="json", exclude_none=True) for value in values],
        lambda data: [model.model_validate(item) for item in data or []],
    )


#: What a feed item needs from the front matter, as the manifest stores it: field → (to JSON,
#: from JSON; the latter also gives the default of an entry written before the field was).
#: A new item field is one line here.
FEED_FIELDS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "title": (_same, _same),
    "date": (lambda when: when.isoformat(), datetime.fromisoformat),
    "number": (_same, _same),
    "season": (_same, _same),
    "type": (_same, lambda kind: kind or "full"),
    "explicit": (_same, _same),
    "summary": (_same, _same),
    "persons": (
        lambda persons: [person.model_dump(mode="json") for person in persons],
        lambda persons: [Person.model_construct(**person) for person in persons or []],
    ),
    "numbers": (
        lambda numbers: {show: n.model_dump(mode="json") for show, n in numbers.items()},
        lambda numbers: {
            show: ShowNumbers.model_construct(**n) for show, n in (numbers or {}).items()
        },
    ),
    "soundbites": _models(Soundbite),
    "value": _model(Value),
    "license": _model(License),
    "location": _model(Location),
}


def episode_metadata(episode: Episode) -> dict[str, Any]:
    """What a feed item needs from the front matter (`FEED_FIELDS`), as JSON."""
    return {name: dump(getattr(episode, name)) for name, (dump, _) in FEED_FIELDS.items()}


def chapter_image_keys(
    episode: Episode, hash_file: Callable[[Path], str] | None = None
) -> list[str | None]:
    """Where each chapter's image is published (content-addressed), None for a chapter without
    (`hash_file`: how a file is hashed, e.g. once per publish run; default `file_hash`)."""
    hash_file = hash_file or file_hash
    keys: list[str | None] = []
    for chapter in episode.chapters:
        if chapter.image:
            path = episode.resolve(chapter.image)
            keys.append(
                episode_file_key(
                    episode.show,
                    episode.slug,
                    "chapter-image",
                    hash_file(path),
                    path.suffix.lower(),
                )
            )
        else:
            keys.append(None)
    return keys


def heard_chapters(
    network: Network,
    episode: Episode,
    chapter_times: tuple[float, ...] | list[float] | None,
    image_keys: list[str | None] | None = None,
) -> list[ChapterNote]:
    """The episode's chapters at the times they are heard (from a processing report or the
    manifest); at the master's times when those are unknown or no longer match the chapters.
    Each names the public URL of its image (`image_keys`, else worked out here)."""
    times = (
        list(chapter_times)
        if chapter_times is not None and len(chapter_times) == len(episode.chapters)
        else [chapter.start for chapter in episode.chapters]
    )
    keys = chapter_image_keys(episode) if image_keys is None else image_keys
    base = network.settings.base_url
    urls = [public_url(base, key) if key else None for key in keys]
    return chapter_notes(episode, times, urls)


def audio_files(episode: Episode, processed: ProcessedAudio) -> tuple[AudioFile, ...]:
    return tuple(
        AudioFile(
            format=name,
            key=audio_key(episode.show, episode.slug, sha256, format_named(name).suffix),
            bytes=size,
            sha256=sha256,
            duration_s=round(processed.duration_s, 3),
            bitrate=stream_bitrate(Path(path), processed.duration_s),  # its length: known
        )
        for name, path, sha256, size in processed.files
    )


def build_record(
    network: Network,
    episode: Episode,
    audio: tuple[AudioFile, ...],
    chapter_times: tuple[float, ...],
    fingerprint: str,
    tags_fingerprint: str = "",
    artifacts: tuple[Artifact, ...] = (),
    *,
    notes: RenderedNotes | None = None,
    hash_file: Callable[[Path], str] | None = None,
) -> EpisodeRecord:
    """The one builder of an episode's record: its audio files (from processing, or as already
    published), the chapters at `chapter_times` (as heard), the rendered notes, and the keys of
    the chapters JSON, transcript (`artifacts.transcript_source`: the episode's own, else a
    derived one), episode image, chapter images and derived `artifacts` — each with a local file
    also listed in `assets` with its bytes, for publishing to upload. A publish run passes the
    notes it has rendered already and its memo of file hashes (`publish.plan.RunFacts`)."""
    show, slug = episode.show, episode.slug
    hash_file = hash_file or file_hash
    image_keys = chapter_image_keys(episode, hash_file)
    if notes is None:
        chapters = heard_chapters(network, episode, chapter_times, image_keys)
        notes = render_notes(network, episode, chapters)
    assets: list[Asset] = []

    def file_asset(path: Path, kind: str, field_name: str, mime: str) -> Asset:
        sha256 = hash_file(path)
        key = episode_file_key(show, slug, kind, sha256, path.suffix.lower())
        return Asset(key, mime, field_name, sha256, path=path)

    for index, (chapter, key) in enumerate(zip(episode.chapters, image_keys), start=1):
        if key is not None:  # before the chapters JSON that names them
            path = episode.resolve(chapter.image)
            field_name = f"chapters[{index}].image"
            sha256 = hash_file(path)
            assets.append(Asset(key, image_type(path.suffix), field_name, sha256, path=path))
    chapters_part = transcript_part = image_part = None
    if notes.chapters_json is not None:
        data = notes.chapters_json.encode()
        sha256 = content_hash(data)
        key = episode_file_key(show, slug, "chapters", sha256, ".json")
        assets.append(Asset(key, CHAPTERS_TYPE, "chapters", sha256, data=data))
        chapters_part = {"key": key}
    transcript = transcript_source(episode, artifacts)
    forms, transcript_assets = transcript_forms(network, episode, transcript, artifacts, hash_file)
    assets += transcript_assets
    if forms:  # the WebVTT form when there is one (the website reads its cues), else the one
        transcript_part = forms[0]
    if episode.image:
        path = episode.resolve(episode.image)
        assets.append(file_asset(path, "image", "image", image_type(path.suffix)))
        image_part = {"key": assets[-1].key}
    for artifact in artifacts:
        if artifact.path is not None:  # else published already (known from the manifest)
            machine = is_transcript_kind(artifact.kind)
            mime = transcript_upload_type(artifact.type) if machine else None
            key, field_name = artifact.key(show, slug), f"artifacts.{artifact.kind}"
            sha256, path = artifact.sha256, artifact.path
            assets.append(Asset(key, mime or artifact.type, field_name, sha256, path, built=True))
    return EpisodeRecord(
        guid=episode.guid,
        show=show,
        shows=tuple(episode.all_shows),
        slug=slug,
        fingerprint=fingerprint,
        tags_fingerprint=tags_fingerprint,
        audio=audio,
        chapter_times=tuple(chapter_times),
        meta=episode_metadata(episode),
        html=notes.html,
        text=notes.text,
        chapters=chapters_part,
        transcript=transcript_part,
        image=image_part,
        chapter_images=tuple(image_keys),
        artifacts=tuple(artifacts),
        transcripts=tuple(forms),
        machine_transcript=transcript is not None and transcript.artifact is not None,
        assets=tuple(assets),
    )


#: The order a feed lists the forms of a transcript in: WebVTT first (captions, with speakers),
#: then SubRip, then the Podcasting 2.0 JSON; a plain-text one is alone.
TRANSCRIPT_ORDER = tuple(TRANSCRIPT_TYPES[suffix] for suffix in (".vtt", ".srt", ".json", ".txt"))

#: A hand-made transcript larger than this is published as it is only, not converted (it would
#: be many hours of speech; its cues would be held whole, in memory, to be written again).
CONVERTED_TRANSCRIPT_BYTES = 4_000_000

#: The writer and suffix of each form a hand-made transcript with cues is converted into.
_WRITERS: dict[str, tuple[Callable[[list], str], str]] = {
    TRANSCRIPT_TYPES[".vtt"]: (write_vtt, ".vtt"),
    TRANSCRIPT_TYPES[".srt"]: (write_srt, ".srt"),
    TRANSCRIPT_TYPES[".json"]: (write_json, ".json"),
}


def _feed_order(forms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def rank(form: dict[str, Any]) -> int:
        kind = form["type"]
        return TRANSCRIPT_ORDER.index(kind) if kind in TRANSCRIPT_ORDER else len(TRANSCRIPT_ORDER)

    return sorted(forms, key=rank)


def transcript_forms(
    network: Network,
    episode: Episode,
    source: TranscriptSource | None,
    artifacts: tuple[Artifact, ...],
    hash_file: Callable[[Path], str],
) -> tuple[list[dict[str, Any]], list[Asset]]:
    """Every form of the episode's transcript (`source`) as {"key", "type"}, in feed order, and
    the assets publishing uploads for them. A machine-made one is its derived artifacts (their
    assets come with the other artifacts'); a hand-made one with cues is its file as it is and
    the two other forms converted from its cues; a plain-text one is its file alone."""
    if source is None:
        return [], []
    show, slug = episode.show, episode.slug
    if source.artifact is not None:
        forms = [
            {"key": artifact.key(show, slug), "type": artifact.type}
            for artifact in artifacts
            if is_transcript_kind(artifact.kind)
        ]
        return _feed_order(forms), []
    assert source.path is not None
    sha256 = hash_file(source.path)
    key = episode_file_key(show, slug, "transcript", sha256, source.path.suffix.lower())
    mime = source.type  # never HTML: see mediatypes
    assets = [
        Asset(key, transcript_upload_type(mime), "transcript", sha256, path=source.path),
        *_converted(network, episode, source, sha256),
    ]
    forms = [{"key": key, "type": mime}]
    forms += [{"key": a.key, "type": a.type.split(";")[0]} for a in assets[1:]]
    return _feed_order(forms), assets


def _converted(
    network: Network, episode: Episode, source: TranscriptSource, sha256: str
) -> list[Asset]:
    """The forms a hand-made transcript with cues is converted into (data assets, keyed by
    their content); none when its file cannot be read as cues (it is then published as it is,
    and the website names the fault), changed since it was hashed, is over
    CONVERTED_TRANSCRIPT_BYTES, or is no longer a regular file inside the network folder
    (publishing refuses to upload it then, naming why)."""
    if source.type not in PARSERS or source.path is None:
        return []
    try:
        real = source.path.resolve(strict=True)
        info = real.stat()
        inside = real.is_relative_to(network.root.resolve())
        if not (inside and stat.S_ISREG(info.st_mode)) or info.st_size > CONVERTED_TRANSCRIPT_BYTES:
            return []
        data = real.read_bytes()
        cues = parse_transcript(data, source.type) if content_hash(data) == sha256 else None
    except (OSError, TranscriptError):
        return []
    assets = []
    for mime, (write, suffix) in _WRITERS.items():
        if mime != source.type and cues:
            body = write(cues).encode()
            digest = content_hash(body)
            key = episode_file_key(episode.show, episode.slug, "transcript", digest, suffix)
            assets.append(Asset(key, transcript_upload_type(mime), "transcript", digest, data=body))
    return assets


def artwork_asset(
    network: Network, show_id: str, hash_file: Callable[[Path], str] | None = None
) -> Asset:
    """A show's artwork as published: content-addressed under the show's folder."""
    show = network.shows[show_id]
    path = network.show_path(show.artwork)
    sha256 = (hash_file or file_hash)(path)
    return Asset(
        artwork_key(show_id, sha256, path.suffix),
        image_type(path.suffix),
        f"shows.{show_id}.artwork",
        sha256,
        path=path,
    )


def feed_inputs(
    base_url: str, records: dict[str, EpisodeRecord], artwork_keys: dict[str, str]
) -> FeedInputs:
    """What the feeds need, from records and the shows' artwork keys."""
    return FeedInputs(
        episodes={guid: record.media(base_url) for guid, record in records.items()},
        artwork_urls={show: public_url(base_url, key) for show, key in artwork_keys.items()},
    )


def feed_candidates(
    network: Network, records: dict[str, EpisodeRecord], show_id: str
) -> list[Episode]:
    """Every recorded episode of the show, as its record says (guid order)."""
    return [
        record.episode(network.root)
        for _, record in sorted(records.items())
        if show_id in record.shows
    ]
