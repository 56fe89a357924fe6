"""Small helpers for error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return '; did you mean "x"?' for the closest choice, or '' when none is close.

    >>> did_you_mean("titel", ["title", "guid"])
    '; did you mean "title"?'
    >>> did_you_mean("zzz", ["title"])
    ''
    """
    if len(word) > QUOTE_LIMIT:  # nothing that long is a typo of a name, and difflib is quadratic
        return ""
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered:
        return f'; did you mean "{lowered[word.lower()]}"?'
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""


#: Values quoted in messages are cut to this many characters (a 20 MB title stays one line).
QUOTE_LIMIT = 80


def quote_cut(value: str, *, quotes: bool = True, limit: int = QUOTE_LIMIT) -> str:
    """A value as a message shows it: quoted, and cut short when long.

    >>> quote_cut("short")
    '"short"'
    >>> quote_cut("x" * 100)
    '"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…" (100 characters)'
    """
    text = value if len(value) <= limit else f"{value[:limit]}…"
    shown = f'"{text}"' if quotes else text
    return shown if len(value) <= limit else f"{shown} ({len(value)} characters)"
