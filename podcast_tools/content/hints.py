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
    options = list(choices)
    lowered = {c.lower(): c for c in options}
    if word.lower() in lowered:
        return f'; did you mean "{lowered[word.lower()]}"?'
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f'; did you mean "{close[0]}"?' if close else ""
