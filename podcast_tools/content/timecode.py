"""Timestamps as producers write them: seconds, ``MM:SS`` or ``HH:MM:SS(.mmm)``."""

from __future__ import annotations

import math
import re

from podcast_tools.content.hints import quote_cut

_CLOCK = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]?\d(?:\.\d+)?)$")


def parse_timecode(value: object) -> float:
    """Return seconds from a number or a ``[HH:]MM:SS[.mmm]`` string.

    >>> parse_timecode("01:02:03.5")
    3723.5
    >>> parse_timecode("2:30")
    150.0
    >>> parse_timecode(12)
    12.0
    >>> parse_timecode("1:75")
    Traceback (most recent call last):
    ...
    ValueError: "1:75" is not a time; write seconds (e.g. 95.5) or HH:MM:SS(.mmm) (e.g. 00:01:35.500)
    """
    if isinstance(value, bool):
        raise ValueError(_hint(value))
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        match = _CLOCK.match(text)
        if match:
            hours, minutes, secs = match.groups()
            seconds = int(hours or 0) * 3600 + int(minutes) * 60 + float(secs)
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(_hint(value)) from None
    else:
        raise ValueError(_hint(value))
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a time; it must be zero or more seconds")
    return seconds


def format_timecode(seconds: float, *, millis: bool = True) -> str:
    """Format seconds as ``HH:MM:SS.mmm`` (or ``HH:MM:SS``).

    >>> format_timecode(3723.5)
    '01:02:03.500'
    >>> format_timecode(59.9996, millis=False)
    '00:01:00'
    """
    total_ms = round(seconds * 1000)
    if not millis:
        total_ms = round(total_ms / 1000) * 1000
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    text = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{text}.{ms:03d}" if millis else text


def _hint(value: object) -> str:
    shown = quote_cut(value) if isinstance(value, str) else quote_cut(repr(value), quotes=False)
    return f"{shown} is not a time; write seconds (e.g. 95.5) or HH:MM:SS(.mmm) (e.g. 00:01:35.500)"
