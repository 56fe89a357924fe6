"""Facts about a media file read from its headers (fast; no decoding of the whole file)."""

from __future__ import annotations

import re
from pathlib import Path

import mutagen

from podcast_tools.audio import ffmpeg
from podcast_tools.errors import AudioInputError

_DURATION = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


def probe_duration(path: Path) -> float:
    """Duration of an audio file in seconds; AudioInputError when it cannot be read as audio."""
    if path.stat().st_size == 0:
        raise AudioInputError("is an empty file, not audio", file=path)
    try:
        media = mutagen.File(path)
    except Exception as exc:  # mutagen raises many types for damaged files
        raise AudioInputError(f"cannot be read as audio ({exc})", file=path) from exc
    length = getattr(getattr(media, "info", None), "length", None)
    if length:
        return float(length)
    return _duration_from_ffmpeg(path)


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
