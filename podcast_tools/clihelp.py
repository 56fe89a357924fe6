"""`--help` for people: each option shows the value it takes (`--out DIR`), flags show none.

typer 0.29 fills the type column of its help from each parameter's Python annotation:
`--json <bool>`, `[EPISODE_FILE]... <list[Path]>`, `show <str>`, `--root <dir>`, `--help <bool>`.
A `metavar=` replaces it for options, but not for flags in the rich panels (so not for `--help`
and typer's completion options either) and never for arguments. No setting turns it off: the
plain formatter (`rich_markup_mode=None`, `TYPER_USE_RICH=0`) drops it for flags only. typer's
public hooks here are the command and group classes (`cls=`), so `Typer` below is typer's app
with command and group classes whose parameters display:

- arguments: their metavar (default: the name in capitals, like click), no type column;
- options: their metavar; else the choices they accept; else their name in capitals;
- flags and counters: nothing, they take no value.

Written against typer 0.29.2 (typer 0.28 rendered arguments differently, through click types);
tests/test_help.py checks the help of every command, so a typer that renders help in yet another
way fails there rather than in front of a user.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


class _Argument(TyperArgument):
    @property
    def display_name_raw(self) -> str:
        return self.metavar if self.metavar is not None else (self.name or "").upper()

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the name column shows the metavar


class _Option(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag or self.count:
            return None
        if self.metavar is not None:
            return self.metavar
        descriptor = getattr(self, "type_descriptor", None)
        if descriptor is not None and descriptor.is_choice and self.show_choices:
            return super().display_type_rich(ctx)  # the values it accepts: <a|b|c>
        return (self.name or "value").upper()


_PLAIN = {TyperArgument: _Argument, TyperOption: _Option}


def _plain(params: list[Any]) -> list[Any]:
    for param in params:
        plain = _PLAIN.get(type(param))
        if plain is not None:
            param.__class__ = plain  # same object and state; only how help shows it changes
    return params


def reflowed(text: str | None) -> str | None:
    r"""A docstring's paragraphs each as one line, for the terminal to wrap at its own width: the
    line breaks of the source would otherwise break sentences in the middle of a help line
    (a list item, a line starting with "-", stays a line of its own).

    >>> reflowed("Do this,\n    then that.\n\n    Exit codes: 0 done,\n    1 problems.")
    'Do this, then that.\n\nExit codes: 0 done, 1 problems.'
    >>> reflowed("Kinds:\n- one\n- two")
    'Kinds:\n- one\n- two'
    """
    if not text:
        return text
    paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(text))
    return "\n\n".join(_one_line_each(paragraph) for paragraph in paragraphs)


def _one_line_each(paragraph: str) -> str:
    lines: list[str] = []
    for line in paragraph.splitlines():
        line = line.strip()
        if lines and not line.startswith(("-", "*", "•")):
            lines[-1] += " " + line
        else:
            lines.append(line)
    return "\n".join(lines)


class HelpCommand(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflowed(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


class HelpGroup(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = reflowed(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain(super().get_params(ctx))


class Typer(typer.Typer):
    """`typer.Typer` whose group and commands print help without raw Python types."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", HelpGroup)
        super().__init__(**kwargs)

    def command(self, name: str | None = None, *, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or HelpCommand, **kwargs)
