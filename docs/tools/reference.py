"""Write the guide's reference pages from the code itself: `docs/reference/commands.md` from the
typer app (every command, subcommand, argument and option with its help text) and
`docs/reference/settings.md` from the pydantic models of network.toml and of an episode's front
matter (every field, its type, default and what it does).

    python docs/tools/reference.py           # rewrite both pages
    python docs/tools/reference.py --check   # exit 1 when a page differs from what the code says

tests/test_docs.py runs the check, so a new command, option or setting fails the tests until this
script is run again.
"""

from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[1]
REPO = DOCS.parent
sys.path.insert(0, str(REPO))

from pydantic import BaseModel  # noqa: E402
from pydantic_core import PydanticUndefined  # noqa: E402

COMMANDS_PAGE = DOCS / "reference" / "commands.md"
SETTINGS_PAGE = DOCS / "reference" / "settings.md"

#: What a field without a description of its own in the models does.
FIELD_NOTES: dict[str, str] = {
    "NetworkSettings.name": "the network's name (publisher feed, website, ID3 TPE2)",
    "NetworkSettings.endpoint_url": "an S3-compatible endpoint (R2, MinIO …); else "
    "`AWS_ENDPOINT_URL`",
    "NetworkSettings.region": "the S3 region; else `AWS_REGION`",
    "Show.id": "the show's id: its key under `[shows]` and its folder under `episodes/`",
    "Show.title": "the show's title (≤ 255 characters)",
    "Show.description": "what the show is about (≤ 4000 bytes)",
    "Show.author": "`itunes:author`",
    "Show.owner": "`{ name, email }`: `itunes:owner`; inherited whole or not at all",
    "Show.language": "ISO 639 with an optional region: `en`, `en-au`, `de-ch`",
    "Show.category": 'Apple\'s list: `"Technology"` or `["Business", "Management"]`',
    "Show.artwork": "JPEG or PNG, RGB, square, 1400–3000 px (relative to `episodes/`)",
    "Show.podcast_guid": "`podcast:guid`, for ever: a UUIDv5 of the first feed URL "
    "(`validate` prints the line to add)",
    "Show.explicit": "`itunes:explicit`",
    "Show.type": "`episodic` or `serial` (`itunes:type`; serial needs episode numbers)",
    "Show.link": "the show's website (the channel's `<link>`)",
    "Show.copyright": "the channel's `<copyright>` and TCOP",
    "Show.loudness": "`{ target_lufs, true_peak_dbtp }`: the mastering target (−40…−5 LUFS, "
    "−9…0 dBTP)",
    "Show.mp3": "`{ bitrate, channels, sample_rate }`: the MP3 (the enclosure); channels and "
    "rate are every format's",
    "Show.m4a": "`{ bitrate }`: AAC-LC kbps when `formats` names m4a",
    "Show.opus": "`{ bitrate }`: Opus kbps when `formats` names opus",
    "Show.mastering": "`{ silence_pad_s, silence_threshold_lu, crossfade_s, max_gain_db, "
    "leveler, denoise, dehum, stages }`: see [Mastering](../mastering.md)",
    "Show.transcripts": "`{ auto, model, language }`: see [Transcripts](../transcripts.md)",
    "Show.intro": "the intro jingle (relative to `episodes/`); `false` switches an inherited one "
    "off",
    "Show.outro": "the outro jingle; `false` switches an inherited one off",
    "Show.extends": "the parent show a spin-off inherits every field it does not set from",
    "Show.medium": "`podcast:medium`",
    "Show.funding": "`[{ url, text }]`: `podcast:funding`",
    "Show.persons": "`[{ name, role?, group?, href?, img? }]`: `podcast:person`",
    "FrontMatter.title": "the episode's title (≤ 255 characters)",
    "FrontMatter.guid": "written once by `podcast new`; never change it",
    "FrontMatter.date": "publish date and time with a timezone; a future date schedules it",
    "FrontMatter.audio": "the master recording, relative to the episode file",
    "FrontMatter.number": "`itunes:episode` (unique per show and season)",
    "FrontMatter.season": "`itunes:season`",
    "FrontMatter.type": "`full`, `trailer` or `bonus` (`itunes:episodeType`)",
    "FrontMatter.explicit": "default: the show's",
    "FrontMatter.summary": "the plain-text summary (ID3 comment, `itunes:summary`)",
    "FrontMatter.shows": "other shows whose feeds also carry the episode (cross-posts)",
    "FrontMatter.numbers": "`{ show: { number?, season? } }`: its numbers in a cross-post's feed",
    "FrontMatter.chapters": "`[{ start, title, url?, image? }]`, master times",
    "FrontMatter.trim": "`{ start?, end? }`: keep only this part of the master",
    "FrontMatter.cuts": "`[{ start, end }]`: remove these parts (master times)",
    "FrontMatter.image": "the episode's artwork (JPEG or PNG)",
    "FrontMatter.transcript": "`.srt`, `.vtt`, `.json` or `.txt`",
    "FrontMatter.persons": "`[{ name, role?, group?, href?, img? }]`: `podcast:person`",
    "FrontMatter.soundbites": "`[{ start, duration, title? }]`: `podcast:soundbite`, "
    "published-audio times",
    "FrontMatter.value": "this episode's `podcast:value` (replaces the show's)",
    "FrontMatter.license": "this episode's `podcast:license`",
    "FrontMatter.location": "this episode's `podcast:location`",
    "FrontMatter.intro": "this episode's own intro jingle, or `false` for none",
    "FrontMatter.outro": "this episode's own outro jingle, or `false` for none",
    "Episode.slug": "the file name without `.md`: lowercase letters, digits and `-`",
    "Owner.name": "the owner's name",
    "Owner.email": "the owner's email (also `podcast:locked`'s owner)",
    "Loudness.target_lufs": "integrated loudness of every file, ITU-R BS.1770-4 (−40…−5)",
    "Loudness.true_peak_dbtp": "the true-peak ceiling (−9…0)",
    "Category.name": "an Apple category",
    "Category.subcategory": "one of its subcategories",
    "Person.name": "the person's name",
    "Person.group": "a group of the Podcast Taxonomy",
    "Person.role": "a role of the Podcast Taxonomy (case-insensitive)",
    "Person.href": "their page",
    "Person.img": "their picture (a URL)",
    "Funding.url": "where listeners support the show",
    "Funding.text": "the link's text",
    "Value.type": "always `lightning`",
    "Value.method": "always `keysend`",
    "Value.recipients": "at least one recipient",
    "ValueRecipient.name": "recommended",
    "ValueRecipient.type": "`node` (a 66-hex-character public key) or `lnaddress`",
    "ValueRecipient.address": "the node's public key or the Lightning Address",
    "ValueRecipient.split": "shares: a positive integer",
    "ValueRecipient.custom_key": "with `custom_value`",
    "ValueRecipient.custom_value": "with `custom_key`",
    "ValueRecipient.fee": "a fee recipient",
    "License.name": "an SPDX-style identifier (no spaces, ≤ 128 characters)",
    "License.url": "the licence text, for a custom licence",
    "Location.name": "≤ 128 characters",
    "Location.geo": "`geo:LAT,LON` within range",
    "Location.osm": "an OpenStreetMap id: `N`/`W`/`R` + digits",
    "Txt.text": "≤ 4000 characters",
    "Txt.purpose": "≤ 128 characters, e.g. `verify`",
    "UpdateFrequency.text": "≤ 128 characters, e.g. `Weekly, on Tuesdays`",
    "UpdateFrequency.rrule": "RFC 5545 parts with a `FREQ`",
    "UpdateFrequency.complete": "no more episodes will come",
    "UpdateFrequency.dtstart": "ISO 8601; required with `COUNT`",
    "Chapter.start": "seconds or `HH:MM:SS(.mmm)` in the master",
    "Chapter.title": "the chapter's title",
    "Chapter.url": "a link for the chapter",
    "Chapter.image": "JPEG or PNG, published with the episode",
    "Trim.start": "keep from here (master time)",
    "Trim.end": "keep up to here (master time)",
    "Cut.start": "remove from here (master time)",
    "Cut.end": "up to here",
    "ShowNumbers.number": "its episode number in that show's feed",
    "ShowNumbers.season": "its season there",
    "Soundbite.start": "a position in the published audio",
    "Soundbite.duration": "seconds, positive",
    "Soundbite.title": "≤ 128 characters",
    "Mp3Settings.channels": "1 (mono) or 2 (stereo): every format's",
    "Mp3Settings.sample_rate": "Hz: every format's but Opus (always 48 kHz)",
}


# --- commands ------------------------------------------------------------------------------------


def _param_line(param: Any) -> tuple[str, str]:
    """(how it is written, its help) of one click parameter."""
    help_text = " ".join((getattr(param, "help", None) or "").split())
    if param.param_type_name == "argument":
        name = param.metavar or param.name.upper()
        if param.nargs == -1:
            name += "…"
        return (name if param.required else f"[{name}]"), help_text
    names = "`, `".join(param.opts + param.secondary_opts)  # each in its own code span
    if not param.is_flag and param.metavar:
        names += f" {param.metavar}"
    default = param.default
    if not param.is_flag and default not in (None, (), []) and not callable(default):
        help_text += f" Default: {default}."
    if param.required:
        help_text += " Required."
    return names, help_text


def _commands(group: Any, prefix: str) -> list[tuple[str, Any]]:
    found = []
    for name, command in group.commands.items():
        if getattr(command, "hidden", False):
            continue
        path = f"{prefix} {name}".strip()
        found.append((path, command))
        if hasattr(command, "commands"):
            found.extend(_commands(command, path))
    return found


def _help_paragraphs(text: str) -> str:
    paragraphs = [" ".join(part.split()) for part in (text or "").split("\n\n") if part.strip()]
    return "\n\n".join(_text(part) for part in paragraphs)


def _text(text: str) -> str:
    """Help text as Markdown: `<name>` outside code spans is shown, not read as an HTML tag."""
    parts = text.split("`")
    for index in range(0, len(parts), 2):
        parts[index] = parts[index].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|")


def _options_table(rows: list[tuple[str, str]]) -> list[str]:
    if not rows:
        return ["No arguments or options beyond `--help`.", ""]
    lines = ["| argument or option | what it does |", "|---|---|"]
    lines += [f"| `{name}` | {_cell(text)} |" for name, text in rows]
    return lines + [""]


def commands_page() -> str:
    import typer.main

    from podcast_tools.cli import app

    root = typer.main.get_command(app)
    lines = [
        "# Commands",
        "",
        "Every command of `podcast`, with its arguments and options, as `podcast COMMAND --help`",
        "prints them (this page is written from the code by `python docs/tools/reference.py`).",
        "What the commands do together is in [The command line](cli.md); exit codes are there",
        "too. Every command also takes `--help` (`-h`).",
        "",
        "## podcast",
        "",
        "```",
        "podcast [OPTIONS] COMMAND [ARGS]...",
        "```",
        "",
        _help_paragraphs(root.help),
        "",
        *_options_table([_param_line(p) for p in root.params]),
    ]
    for path, command in _commands(root, ""):
        usage = " ".join(command.collect_usage_pieces(_context(command, path)))
        lines += [f"## podcast {path}", "", "```", f"podcast {path} {usage}".rstrip(), "```", ""]
        lines += [_help_paragraphs(command.help), ""]
        rows = [_param_line(p) for p in command.params]
        if hasattr(command, "commands"):
            subs = ", ".join(f"[`{name}`](#podcast-{path}-{name})" for name in command.commands)
            lines += [f"Subcommands: {subs}.", ""]
        lines += _options_table(rows)
    return "\n".join(lines).rstrip() + "\n"


def _context(command: Any, path: str) -> Any:
    import click

    return click.Context(command, info_name=f"podcast {path}")


# --- settings ------------------------------------------------------------------------------------


#: What a validator of the models says a text field holds.
VALIDATOR_KINDS = {
    "_http_url": "URL",
    "_https_url": "https URL",
    "_measurement_prefix": "URL",
    "_uuid": "UUID",
    "_language": "language code",
    "_existing_path": "path",
    "_identifier": "id",
    "_email": "email",
    "_aware_datetime": "date and time",
    "_timecode": "time",
    "_iso_moment": "date and time",
}


def _kind(validators: list[Any]) -> str | None:
    names = [getattr(getattr(v, "func", v), "__name__", "") for v in validators]
    return next((VALIDATOR_KINDS[name] for name in names if name in VALIDATOR_KINDS), None)


def _type_name(annotation: Any, validators: list[Any] = ()) -> str:
    """A reader's name of a field's type: `bool`, `URL`, `path`, `list of table` …"""
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Annotated:
        return _type_name(args[0], [*validators, *annotation.__metadata__])
    if isinstance(annotation, (str, typing.ForwardRef)):  # a name not resolved: e.g. `X | None`
        text = getattr(annotation, "__forward_arg__", annotation)
        return "URL" if "Prefix" in text or "Url" in text else "text"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_type_name(a, validators) for a in args))
    if origin is typing.Literal:
        return " \\| ".join(f"`{json.dumps(a)}`" for a in typing.get_args(annotation))
    if origin is list:
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return "table"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "table"
    kind = _kind(list(validators))
    if kind:
        return kind
    simple = {bool: "bool", int: "integer", float: "number", str: "text"}
    if annotation in simple:
        return simple[annotation]
    name = getattr(annotation, "__name__", str(annotation))
    return {"Path": "path", "datetime": "date and time"}.get(name, "text")


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is PydanticUndefined:
        value = field.default_factory() if field.default_factory else None
    if value is None:
        return "—"
    if isinstance(value, BaseModel):
        value = {k: v for k, v in value.model_dump().items() if v is not None}
    if isinstance(value, bool):
        return "true" if value else "false"
    if value in ({}, [], ""):
        return "none"
    if isinstance(value, (dict, list)):
        return "`" + json.dumps(value, ensure_ascii=False) + "`"
    return f"`{value}`"


def _fields_table(model: type[BaseModel], prefix: str = "") -> list[str]:
    lines = ["| setting | type | default | what it does |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        note = field.description or FIELD_NOTES.get(f"{model.__name__}.{name}", "")
        kind = _type_name(field.annotation, list(field.metadata))
        lines.append(f"| `{prefix}{name}` | {kind} | {_default(field)} | {_cell(note)} |")
    return lines + [""]


def settings_page() -> str:
    from podcast_tools.content import models

    nested = [
        ("`owner`", models.Owner),
        ("`loudness`", models.Loudness),
        ("`mastering` (a show's)", models.Mastering),
        ("`mastering` (an episode's)", models.ProducedSound),
        ("`transcripts`", models.Transcripts),
        ("`category`", models.Category),
        ("`persons[]`", models.Person),
        ("`funding[]`", models.Funding),
        ("`value`", models.Value),
        ("`value.recipients[]`", models.ValueRecipient),
        ("`license`", models.License),
        ("`location`", models.Location),
        ("`txt[]`", models.Txt),
        ("`update_frequency`", models.UpdateFrequency),
        ("`chapters[]`", models.Chapter),
        ("`trim`", models.Trim),
        ("`cuts[]`", models.Cut),
        ("`numbers.<show>`", models.ShowNumbers),
        ("`soundbites[]`", models.Soundbite),
        *[(f"`{name}`", model) for name, model in models.FORMAT_SETTINGS.items()],
    ]
    lines = [
        "# Settings",
        "",
        "Every setting of `episodes/network.toml` and of an episode's front matter, from the models",
        "that check them (`podcast_tools/content/models.py`; this page is written from them by",
        "`python docs/tools/reference.py`). How they fit together — inheritance, examples, what",
        "`podcast validate` checks — is in [The content format](../content.md).",
        "",
        "## `[network]`",
        "",
        "The network itself, in `episodes/network.toml`.",
        "",
        *_fields_table(models.NetworkSettings),
        "## Shows: `[shows.<id>]` and `[defaults]`",
        "",
        "A show's settings. Each may be set in `[defaults]` (every show inherits it) or under",
        "`[shows.<id>]`; a spin-off (`extends`) inherits its parent's. `"
        + "`, `".join(sorted(models.PER_SHOW_FIELDS - {"id"}))
        + "` belong to one show and are never inherited. "
        "Required settings must be set directly or inherited.",
        "",
        *_fields_table(models.Show),
        "## An episode's front matter",
        "",
        "The YAML keys at the top of `episodes/<show>/<slug>.md`. Paths are relative to the",
        "episode file.",
        "",
        *_fields_table(models.FrontMatter),
        "Worked out from the file, never written in it:",
        "",
        *[
            line
            for line in _fields_table(models.Episode)
            if not any(line.startswith(f"| `{name}`") for name in models.FrontMatter.model_fields)
        ],
        "## Tables inside settings",
        "",
    ]
    for title, model in nested:
        lines += [f"### {title}", "", *_fields_table(model)]
    return "\n".join(lines).rstrip() + "\n"


def pages() -> dict[Path, str]:
    return {COMMANDS_PAGE: commands_page(), SETTINGS_PAGE: settings_page()}


def main(argv: list[str]) -> int:
    stale = []
    for path, text in pages().items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        if "--check" in argv:
            stale.append(path.relative_to(REPO))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(REPO)}")
    if stale:
        names = ", ".join(map(str, stale))
        print(
            f"{names}: differs from the code; run python docs/tools/reference.py", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
