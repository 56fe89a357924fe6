"""The feed's channel as a `[shows.<id>]` table of network.toml, appended to the file as text
(every byte already in it stays as it was)."""

from __future__ import annotations

import json
import tomllib
from typing import Annotated, Any

from pydantic import TypeAdapter, ValidationError

from podcast_tools.content.hints import quote_cut
from podcast_tools.content.loader import podcast_guid_for
from podcast_tools.content.models import Person, Show
from podcast_tools.errors import ContentError, Problem
from podcast_tools.importer.feed import Feed
from podcast_tools.notes import html_to_text, sanitise

#: Apple's limit on a show's description (the model refuses more).
DESCRIPTION_LIMIT_BYTES = 4000
_MEDIUMS = ("music", "video", "film", "audiobook", "newsletter", "blog")


def show_settings(feed: Feed, show_id: str, warnings: list[str]) -> dict[str, Any]:
    """The settings a new show takes from the feed's channel; what the feed leaves out is left
    out (the show inherits it from [defaults])."""
    channel = feed.channel
    guid = channel.podcast_guid or (podcast_guid_for(feed.url) if feed.url else None)
    if guid is None:
        raise ContentError(
            [
                Problem(
                    feed.source,
                    "podcast:guid",
                    "the feed names no podcast:guid and, read from a file, no URL of its own "
                    '(atom:link rel="self") to compute it from; import from the feed\'s URL',
                )
            ]
        )
    table: dict[str, Any] = {}
    _put(table, "title", channel.title)
    _put(table, "description", _description(feed, warnings))
    _put(table, "link", channel.link)
    _put(table, "language", channel.language)
    _put(table, "author", channel.author)
    if channel.owner_name and channel.owner_email:
        table["owner"] = {"name": channel.owner_name, "email": channel.owner_email}
    if channel.category:
        table["category"] = channel.category if len(channel.category) > 1 else channel.category[0]
    _put(table, "explicit", channel.explicit)
    if channel.type in ("episodic", "serial"):
        table["type"] = channel.type
    _put(table, "copyright", channel.copyright)
    table["podcast_guid"] = guid
    _put(table, "locked", channel.locked)
    if channel.block:
        table["block"] = True
    if channel.complete:
        table["complete"] = True
    if channel.medium in _MEDIUMS:
        table["medium"] = channel.medium
    if channel.funding:
        table["funding"] = [
            {"url": url, **({"text": text} if text else {})} for url, text in channel.funding
        ]
    persons = persons_of(channel.persons, f"{feed.source}: channel", warnings)
    if persons:
        table["persons"] = persons
    return _valid_only(table, feed.source, warnings)


def _valid_only(table: dict[str, Any], source: str, warnings: list[str]) -> dict[str, Any]:
    """The settings the show's model takes; one the feed spells in a way it does not (a
    language "English", a category Apple does not list, a relative link) is left out with one
    line, so the show inherits it and validation names what is missing."""
    kept: dict[str, Any] = {}
    for key, value in table.items():
        field = Show.model_fields[key]
        try:
            kind = (
                Annotated[(field.annotation, *field.metadata)]
                if field.metadata
                else field.annotation
            )
            TypeAdapter(kind).validate_python(value)
        except ValidationError as exc:
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ")
            warnings.append(
                f"{source}: {key}: {quote_cut(str(value))} cannot be used ({reason}); left out"
            )
            continue
        kept[key] = value
    return kept


def _put(table: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != "":
        table[key] = value


def _description(feed: Feed, warnings: list[str]) -> str | None:
    html = feed.channel.description_html
    if not html:
        return None
    text = html_to_text(sanitise(html)) if "<" in html else html.strip()
    if len(text.encode("utf-8")) > DESCRIPTION_LIMIT_BYTES:
        cut = text.encode("utf-8")[: DESCRIPTION_LIMIT_BYTES - 3].decode("utf-8", "ignore")
        text = cut.rsplit(" ", 1)[0] + "…"
        warnings.append(
            f"{feed.source}: description: over Apple's {DESCRIPTION_LIMIT_BYTES} bytes; shortened "
            "— read it over in network.toml"
        )
    return text


def persons_of(persons, where: str, warnings: list[str]) -> list[dict[str, str]]:
    """podcast:person entries as the models take them; a role or group outside the Podcast
    Taxonomy falls back to the default (cast, host) with one line."""
    kept = []
    for person in persons:
        entry = {"name": person.name}
        if person.group:
            entry["group"] = person.group.lower()
        if person.role:
            entry["role"] = person.role.lower()
        for key in ("href", "img"):
            value = getattr(person, key)
            if value and value.startswith(("http://", "https://")):
                entry[key] = value
        try:
            Person.model_validate(entry)
        except ValidationError:
            warnings.append(
                f"{where}: person {person.name!r}: role {person.role!r} / group {person.group!r} "
                "is not in the Podcast Taxonomy; kept as a host"
            )
            entry.pop("role", None)
            entry.pop("group", None)
        kept.append(entry)
    return kept


def toml_value(value: Any) -> str:
    """A value as TOML writes it (JSON's strings are TOML basic strings).

    >>> toml_value({"name": "A \\"B\\"", "n": [1, True]})
    '{ name = "A \\\\"B\\\\"", n = [1, true] }'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def toml_table(show_id: str, table: dict[str, Any]) -> str:
    lines = [f"[shows.{show_id}]  # imported by `podcast import`"]
    for key, value in table.items():
        if key in ("funding", "persons"):
            continue
        lines.append(f"{key} = {toml_value(value)}")
    for key in ("funding", "persons"):
        for entry in table.get(key, []):
            lines.append("")
            lines.append(f"[[shows.{show_id}.{key}]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def appended(original: str, table_text: str) -> str:
    """network.toml with `table_text` after everything in it (checked to read back)."""
    separator = "" if original.endswith("\n") or not original else "\n"
    text = f"{original}{separator}\n{table_text}"
    tomllib.loads(text)  # a bug here must not reach the producers' file
    return text
