"""Publish a finished MP3 as it is (`mastered: true`): its MPEG audio frames copied byte for byte,
its old tags left behind, ours written by the caller — never decoded into the render, never
re-encoded.

`audio_span` finds the frames: after any ID3v2 tag at the start, before any ID3v1, APEv2 or
Lyrics3 tag at the end, every frame walked and checked (one MPEG version, Layer III, one sample
rate; a Xing/Info/LAME header frame is a frame and is kept). `publish_mastered` copies them to a
temp file, measures what the listener will hear (loudness, true peak, duration — a note when it
is off the show's target, never a refusal), lets the caller tag it, checks the frames are still
the master's and renames it into place. It returns a `MasteringReport` like `master` does, so
everything after it (notes, the JSON report, the report page, publishing) is the same code.
"""

from __future__ import annotations

import hashlib
import math
import mmap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from podcast_tools.audio.master import (
    EditDecisions,
    EncodedFile,
    MasteringReport,
    MasteringSettings,
    Progress,
    measure_file,
)
from podcast_tools.audio.plan import ChapterMark, EditPlan, Segment
from podcast_tools.audio.probe import probe_duration
from podcast_tools.errors import AudioInputError
from podcast_tools.formats import PRIMARY
from podcast_tools.fsutil import atomic_path
from podcast_tools.layout import file_hash

#: How far (LU) a mastered episode may be from the show's loudness target before the report says
#: so (a note: the file is published as it is all the same).
OFF_TARGET_NOTE_LU = 1.0
#: What the build reports say of a mastered episode.
PUBLISHED_AS = "published as mastered (not re-encoded)"

_BITRATES_KBPS = {  # (MPEG-1?, layer III) → kbps by index 1–14
    True: (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    False: (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
_VERSION_NAMES = {3: "MPEG-1", 2: "MPEG-2", 0: "MPEG-2.5"}


@dataclass(frozen=True)
class AudioSpan:
    """Where an MP3's audio frames are (bytes `start` to `end`) and what they are."""

    start: int
    end: int
    frames: int
    sample_rate: int
    channels: int
    version: str

    @property
    def bytes(self) -> int:
        return self.end - self.start


def _header(data: mmap.mmap | bytes, at: int) -> tuple[int, int, int, int] | None:
    """(frame length, version bits, sample rate, channels) of the Layer III frame header at
    `at`, or None when there is none."""
    if at + 4 > len(data) or data[at] != 0xFF or data[at + 1] & 0xE0 != 0xE0:
        return None
    b1, b2, b3 = data[at + 1], data[at + 2], data[at + 3]
    version, layer = (b1 >> 3) & 3, (b1 >> 1) & 3
    rate_index, bitrate_index = (b2 >> 2) & 3, b2 >> 4
    if version == 1 or layer != 1 or rate_index == 3 or bitrate_index in (0, 15):
        return None  # reserved, not Layer III, free format or a bad index
    mpeg1 = version == 3
    rate = _SAMPLE_RATES[version][rate_index]
    kbps = _BITRATES_KBPS[mpeg1][bitrate_index - 1]
    length = (144 if mpeg1 else 72) * kbps * 1000 // rate + ((b2 >> 1) & 1)
    return length, version, rate, 1 if b3 >> 6 == 3 else 2


def _syncsafe(raw: bytes) -> int:
    return (raw[0] << 21) | (raw[1] << 14) | (raw[2] << 7) | raw[3]


def _head_end(data: mmap.mmap) -> int:
    """Where the audio can start: past every ID3v2 tag at the start (and the zero bytes some
    taggers leave after one)."""
    at = 0
    while data[at : at + 3] == b"ID3" and at + 10 <= len(data):
        footer = 10 if data[at + 5] & 0x10 else 0
        at += 10 + footer + _syncsafe(data[at + 6 : at + 10])
    while at < len(data) and data[at] == 0:
        at += 1
    return at


def _tail_start(data: mmap.mmap, start: int) -> int:
    """Where the audio ends: before every ID3v1, APEv2 and Lyrics3v2 tag at the end."""
    end = len(data)
    while end > start:
        if end - start >= 128 and data[end - 128 : end - 125] == b"TAG":
            end -= 128
            if end - start >= 227 and data[end - 227 : end - 223] == b"TAG+":
                end -= 227
        elif end - start >= 32 and data[end - 32 : end - 24] == b"APETAGEX":
            size = int.from_bytes(data[end - 20 : end - 16], "little")  # footer + items
            header = 32 if data[end - 9] & 0x80 else 0
            if size < 32:  # the footer alone is 32 bytes: a size below it points nowhere
                raise ValueError(f"an APE tag's size {size} is smaller than its own footer")
            end -= size + header
        elif end - start >= 15 and data[end - 9 : end] == b"LYRICS200":
            end -= 15 + int(data[end - 15 : end - 9])
        else:
            break
    return max(end, start)


def audio_span(path: Path) -> AudioSpan:
    """The MPEG audio frames of the MP3 at `path`: AudioInputError (one line, no path) when it is
    not an MP3, is cut off or is damaged between its frames."""
    try:
        with path.open("rb") as handle:
            if path.stat().st_size == 0:
                raise AudioInputError("is an empty file, not an MP3", file=path)
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _walk(path, data)
    except (ValueError, IndexError) as exc:  # a tag's size field pointing nowhere
        raise AudioInputError(
            f"has a damaged tag ({exc}); it is no MP3 to publish as it is", file=path
        ) from exc


def _walk(path: Path, data: mmap.mmap) -> AudioSpan:
    start = _head_end(data)
    end = _tail_start(data, start)
    first = _header(data, start)
    if first is None:
        what = "an empty MP3" if start >= end else "not an MP3"
        raise AudioInputError(
            f"is {what}: no MPEG Layer III audio frame where its audio should start (byte "
            f"{start}); `mastered: true` publishes an MP3 as it is",
            file=path,
        )
    _, version, rate, channels = first
    at, frames = start, 0
    while at < end:
        header = _header(data, at)
        if header is None or header[1] != version or header[2] != rate:
            raise AudioInputError(
                f"is damaged: no MPEG audio frame at byte {at} of {len(data)} (frame "
                f"{frames + 1}); re-export the MP3 or drop `mastered: true` to master it",
                file=path,
            )
        if at + header[0] > end:
            raise AudioInputError(
                f"is cut off: its last MPEG frame (frame {frames + 1}) needs "
                f"{at + header[0] - end} more bytes than the file has; download or export it again",
                file=path,
            )
        at += header[0]
        frames += 1
    announced = _xing_frames(data, start, version, channels)
    if announced is not None and frames - 1 < announced:
        raise AudioInputError(
            f"is cut off: its Xing/Info header says {announced} frames, it holds {frames - 1}; "
            "download or export it again",
            file=path,
        )
    return AudioSpan(start, end, frames, rate, channels, _VERSION_NAMES[version])


def _xing_frames(data: mmap.mmap, start: int, version: int, channels: int) -> int | None:
    """The frame count a Xing/Info header in the first frame announces (the frames after it),
    or None when it has none."""
    side_info = (32 if channels == 2 else 17) if version == 3 else (17 if channels == 2 else 9)
    at = start + 4 + side_info
    if data[at : at + 4] not in (b"Xing", b"Info") or not data[at + 7] & 1:
        return None
    return int.from_bytes(data[at + 8 : at + 12], "big")


def _frames(path: Path, span: AudioSpan) -> Iterator[bytes]:
    """The bytes of the MP3's audio frames, in blocks of at most 1 MiB."""
    with path.open("rb") as handle:
        handle.seek(span.start)
        left = span.bytes
        while left:
            block = handle.read(min(left, 1 << 20))
            if not block:
                raise AudioInputError("became shorter while it was read", file=path)
            yield block
            left -= len(block)


def audio_digest(path: Path, span: AudioSpan | None = None) -> str:
    """sha256 of the MP3's audio frames only (its tags left out)."""
    digest = hashlib.sha256()
    for block in _frames(path, span or audio_span(path)):
        digest.update(block)
    return digest.hexdigest()


def _copy_frames(source: Path, span: AudioSpan, target: Path) -> None:
    with target.open("wb") as writer:
        for block in _frames(source, span):
            writer.write(block)


def loudness_note(report: MasteringReport) -> str:
    """The build report's line about a mastered episode: what it measures, and how far that is
    from the show's target when it is more than OFF_TARGET_NOTE_LU away."""
    measured = report.after
    target = report.settings.target_lufs
    said = (
        f"{PUBLISHED_AS}: {measured.integrated_lufs:.1f} LUFS, true peak "
        f"{measured.true_peak_dbtp:.1f} dBTP"
    )
    if not math.isfinite(measured.integrated_lufs):
        return f"{PUBLISHED_AS}: too quiet to measure its loudness"
    off = measured.integrated_lufs - target
    if abs(off) > OFF_TARGET_NOTE_LU:
        side = "louder" if off > 0 else "quieter"
        said += f" ({abs(off):.1f} LU {side} than the show's target of {target:g} LUFS)"
    return said


def publish_mastered(
    source: Path,
    output: Path,
    settings: MasteringSettings,
    edits: EditDecisions = EditDecisions(),
    *,
    progress: Progress | None = None,
    finish: Callable[[dict[str, Path], MasteringReport], None] | None = None,
) -> MasteringReport:
    """The MP3 `source` at `output` with its audio frames as they are: `finish(temps, report)`
    tags the temp file before the rename (as with `master`). Only the chapters of `edits` apply
    (at the master's times: nothing moves); the other formats of `settings` are not made (a
    mastered episode is its MP3). Raises AudioInputError (not an MP3, cut off, damaged);
    nothing is left at `output` on any error."""
    if not source.is_file():
        raise AudioInputError("file not found", file=source)
    span = audio_span(source)
    with atomic_path(output) as temp:
        _copy_frames(source, span, temp)
        duration_s = probe_duration(temp)
        for index, (start, _title) in enumerate(edits.chapters):
            if start >= duration_s:  # validation checks it too — but not of an LFS pointer
                raise AudioInputError(
                    f"chapters[{index}].start {start:.2f} s is not before the end of the audio "
                    f"({duration_s:.2f} s); a mastered episode's chapters are at the master's times",
                    file=source,
                )
        if progress is not None:
            progress("render", 0.0, duration_s)
        figures = measure_file(temp, sample_rate=span.sample_rate, channels=span.channels)
        kbps = round(span.bytes * 8 / duration_s / 1000) if duration_s else 0
        settings = replace(
            settings,
            sample_rate=span.sample_rate,
            channels=span.channels,
            bitrate_kbps=kbps,
            also=(),
        )
        master_frames = round(duration_s * span.sample_rate)
        report = MasteringReport(
            source=source,
            output=output,
            duration_s=duration_s,
            bytes=0,
            sha256="",
            settings=settings,
            source_loudness=figures,
            before=figures,
            after=figures,
            gain_db=0.0,
            codec_loss_lu=0.0,
            limiter_max_reduction_db=0.0,
            limiter_active_percent=0.0,
            plan=EditPlan(span.sample_rate, master_frames, (Segment(0, master_frames),), ()),
            chapters=[ChapterMark(title, start, start) for start, title in edits.chapters],
            intro_s=0.0,
            outro_s=0.0,
            files=[EncodedFile(PRIMARY.name, output, kbps)],
            published_as=PUBLISHED_AS,
        )
        if finish is not None:
            finish({PRIMARY.name: temp}, report)
        if audio_digest(temp) != audio_digest(source, span):
            raise AudioInputError(
                "lost audio frames when its tags were written; it was not published", file=source
            )
        report.bytes = report.files[0].bytes = temp.stat().st_size
        report.sha256 = report.files[0].sha256 = file_hash(temp)
    if progress is not None:
        progress("render", duration_s, duration_s)
    return report


__all__ = [
    "AudioSpan",
    "PUBLISHED_AS",
    "audio_digest",
    "audio_span",
    "loudness_note",
    "publish_mastered",
]
