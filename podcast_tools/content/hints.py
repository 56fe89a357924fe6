"""Small helpers for error messages."""

from __future__ import annotations

import difflib
import re
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


#: Invisible controls that reorder or hide the text around them: bidi embeddings, overrides and
#: isolates, the deprecated format controls, a zero-width no-break space (BOM) inside text and
#: the interlinear annotation marks (a character class's body: used in other classes).
HIDDEN_CONTROLS = r"\u202a-\u202e\u2066-\u2069\u206a-\u206f\ufeff\ufff9-\ufffb"
_CONTROL = re.compile(rf"[\x00-\x1f\x7f-\x9f\u2028\u2029{HIDDEN_CONTROLS}\ud800-\udfff]")


def one_line(text: str) -> str:
    """Text with line breaks, other control characters, invisible bidi controls and lone
    surrogates shown as escapes, so a message is one line, prints as UTF-8 and never moves the
    terminal's cursor or reorders the line.

    >>> one_line("bad\\nsecond \\x1b[2J")
    'bad\\\\nsecond \\\\x1b[2J'
    """
    return _CONTROL.sub(lambda match: repr(match.group())[1:-1], text)


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
    shown = f'"{one_line(text)}"' if quotes else one_line(text)
    return shown if len(value) <= limit else f"{shown} ({len(value)} characters)"
