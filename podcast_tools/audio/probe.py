"""Facts about a media file read from its headers (fast; no decoding of the whole file)."""

from __future__ import annotations

import hashlib
import math
import re
import threading
from pathlib import Path

import mutagen
from mutagen.mp3 import BitrateMode, MPEGInfo
from mutagen.mp3._util import XingHeader, XingHeaderError

from podcast_tools import ffmpeg
from podcast_tools.errors import AudioInputError

_DURATION = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


def probe_duration(path: Path) -> float:
    """Duration of an audio file in seconds; AudioInputError when it cannot be read as audio."""
    if path.stat().st_size == 0:
        raise AudioInputError("is an empty file, not audio", file=path)
    try:
        media = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types for damaged files
        raise AudioInputError(f"cannot be read as audio ({_reason(path, exc)})", file=path) from exc
    info = getattr(media, "info", None)
    if getattr(info, "channels", None) == 0:
        raise AudioInputError("has no audio channels", file=path)
    length = getattr(info, "length", None)
    if isinstance(info, MPEGInfo) and info.bitrate_mode == BitrateMode.UNKNOWN:
        # No Xing/VBRI/LAME header: mutagen (and ffmpeg's header probe) estimate the length from
        # the first frame's bitrate, which is wrong for VBR. Count the packets instead.
        return _duration_from_packets(path)
    if length:
        return float(length)
    return _duration_from_ffmpeg(path)


def stream_bitrate(path: Path, duration_s: float | None = None) -> int | None:
    """The audio stream's average bitrate in bits per second: its frames' bytes × 8 / its
    duration, without the tags and cover art around them — what a re-tag leaves alone, and what
    a feed's podcast:alternateEnclosure `bitrate` means. From the file's own headers (no
    decoding): MP3 from its Xing/LAME header (CBR: the frame header's rate; a Xing header without
    LAME info: its byte count over its frames), M4A from its esds (the encoder's average), Opus
    from its audio pages (those after the header packets, RFC 7845); an MP3 without a Xing header
    from its bytes outside the ID3 tags over `duration_s` (its length as `probe_duration` gives
    it; counted from its packets when not given). None when the file cannot be read as audio or
    gives no rate (0 included)."""
    try:
        media = mutagen.File(path)
        info = media.info if media is not None else None
        bitrate = getattr(info, "bitrate", None)
        if isinstance(info, MPEGInfo) and info.bitrate_mode == BitrateMode.UNKNOWN:
            if not _xing_counts_bytes(path, media, info):
                bitrate = _mp3_bitrate_without_header(path, media, duration_s)
    except Exception:  # mutagen raises many types for damaged files; ffmpeg AudioInputError
        return None
    if not isinstance(bitrate, (int, float)) or not math.isfinite(bitrate):
        return None
    return round(bitrate) if round(bitrate) >= 1 else None


def _xing_counts_bytes(path: Path, media, info: MPEGInfo) -> bool:
    """Whether the MP3's first frame holds a Xing (or Info) header with its frame and byte
    counts — from which mutagen worked out `info.bitrate` — though no LAME info says the mode."""
    start = getattr(getattr(media, "tags", None), "size", 0) or 0
    offset = XingHeader.get_offset(info)
    with path.open("rb") as handle:
        handle.seek(start)
        head = handle.read(1 << 14)
        for tag in (b"Xing", b"Info"):
            at = head.find(tag)
            frame = at - offset
            if at < 0 or frame < 0 or head[frame] != 0xFF or head[frame + 1] & 0xE0 != 0xE0:
                continue
            handle.seek(start + at)
            try:
                xing = XingHeader(handle)
            except XingHeaderError:
                continue
            return xing.frames > 0 and xing.bytes > 0
    return False


def _mp3_bitrate_without_header(path: Path, media, duration_s: float | None) -> int | None:
    """An MP3 with no Xing/VBRI/LAME header (mutagen then knows the first frame's rate only):
    the bytes outside its ID3v2 tag (and a trailing 128-byte ID3v1 one) over its length
    (`duration_s`, else its packets' length)."""
    size = path.stat().st_size
    tags = getattr(media, "tags", None)
    size -= getattr(tags, "size", 0) or 0
    with path.open("rb") as handle:
        if size >= 128:
            handle.seek(-128, 2)
            if handle.read(3) == b"TAG":
                size -= 128
    if duration_s is None:
        duration_s = _duration_from_packets(path)
    return round(size * 8 / duration_s) if duration_s > 0 and size > 0 else None


def _reason(path: Path, exc: Exception) -> str:
    """What mutagen found wrong, as a producer reads it: a header whose chunk names are not even
    text (mutagen says "'ascii' codec can't decode byte…") is no such file at all."""
    if isinstance(exc, UnicodeDecodeError) or isinstance(exc.__context__, UnicodeDecodeError):
        kind = path.suffix.lstrip(".").upper() or "sound"
        return f"its header is not a {kind} header: damaged, or another kind of file"
    return str(exc)


_TIME = re.compile(rb"time=(\d+):(\d\d):(\d\d(?:\.\d+)?)")


def _duration_from_packets(path: Path) -> float:
    """The length of the audio stream by reading every packet (no decoding: fast)."""
    result = ffmpeg.run(
        ["-stats", "-i", ffmpeg.input_url(path), "-map", "0:a:0", "-c", "copy", "-f", "null", "-"],
        about=path,
        check=False,
        timeout_s=600,
    )
    times = _TIME.findall(result.stderr)
    if result.returncode != 0 or not times:
        raise AudioInputError(
            f"cannot be read as audio (ffmpeg said: {ffmpeg.stderr_tail(result.stderr)})", file=path
        )
    hours, minutes, seconds = times[-1]
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


#: The end of a recording that must decode for it to count as whole.
TAIL_S = 1.0
_TAIL_RATE = 8000
_whole: dict[tuple[int, int, bytes], float] = {}  # files proven whole in this process
_whole_lock = threading.Lock()


def check_whole(path: Path, duration_s: float) -> None:
    """AudioInputError unless the recording's last second decodes: a truncated file's header
    promises more than it holds (a copy cut short, an upload that stopped), and it would fail —
    or publish short — only when mastered. Remembered per file content for this process."""
    key = _identity(path)
    with _whole_lock:
        if _whole.get(key) == duration_s:
            return
    tail = min(TAIL_S, duration_s)
    start = max(0.0, duration_s - tail)
    result = ffmpeg.run(
        [
            "-v",
            "error",
            "-ss",
            f"{start:.3f}",
            "-i",
            ffmpeg.input_url(path),
            "-t",
            f"{tail:.3f}",
            "-vn",
            "-ac",
            "1",
            "-ar",
            str(_TAIL_RATE),
            "-f",
            "s16le",
            "-",
        ],
        about=path,
        check=False,
        timeout_s=120,
    )
    decoded_s = len(result.stdout) / (2 * _TAIL_RATE)
    if decoded_s < tail / 2:
        raise AudioInputError(
            f"is truncated or damaged: its header says {duration_s:.1f} s, but its last second "
            "does not decode; copy or export it again",
            file=path,
        )
    with _whole_lock:
        _whole[key] = duration_s


def _identity(path: Path) -> tuple[int, int, bytes]:
    """Size, modification time and a hash of the first and last 64 KiB: cheap, and a copy of the
    same file (copy2 keeps the time) is recognised."""
    stat = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 16))
        if stat.st_size > 1 << 16:
            handle.seek(max(1 << 16, stat.st_size - (1 << 16)))
            digest.update(handle.read(1 << 16))
    return stat.st_size, stat.st_mtime_ns, digest.digest()


def _duration_from_ffmpeg(path: Path) -> float:
    # ffmpeg with only an input prints the container's duration and exits non-zero.
    result = ffmpeg.run(["-i", ffmpeg.input_url(path)], about=path, check=False, timeout_s=60)
    match = _DURATION.search(result.stderr)
    if not match:
        raise AudioInputError(
            f"cannot be read as audio (ffmpeg said: {ffmpeg.stderr_tail(result.stderr)})", file=path
        )
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
