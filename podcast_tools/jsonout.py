"""The JSON documents of `--json`: each says what it is and which podcast_tools wrote it.

Every document is an object whose first two keys are

- `"schema"`: `"podcast_tools/<command>/<n>"`, the kind of document and the number of its schema;
- `"version"`: the version of podcast_tools that wrote it.

Its JSON Schema (draft 2020-12) ships in the package as `schemas/<command>-<n>.schema.json`, with an
`$id` under `https://podcast-tools.invalid/` that is a name only: nothing fetches schemas. The
schemas are strict (`additionalProperties: false` where the structure is ours), so any change to a
document's keys gives it the next number and a new schema file.

>>> schema_id("publish")
'podcast_tools/publish/3'
>>> doc = document("shows", {"shows": {}})
>>> list(doc)
['schema', 'version', 'shows']
>>> load_schema("shows")["properties"]["schema"]["const"]
'podcast_tools/shows/3'
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path
from typing import Any

from podcast_tools import __version__
from podcast_tools.formats import FORMATS, OutputFormat

#: Each command with `--json` and the number of the schema its documents follow now.
SCHEMAS: dict[str, int] = {"shows": 3, "process": 3, "publish": 3, "publish-plan": 1}
#: The command that writes each kind of document whose name is not the command's own.
COMMAND_OF: dict[str, str] = {"publish-plan": "publish"}  # `publish --plan --json`

SCHEMA_BASE_URI = "https://podcast-tools.invalid/schemas/"


def _number(command: str) -> int:
    try:
        return SCHEMAS[command]
    except KeyError:
        raise ValueError(
            f"{command!r} writes no JSON document; these do: {', '.join(SCHEMAS)}"
        ) from None


def schema_id(command: str) -> str:
    """The value of a document's `schema` key, e.g. `podcast_tools/process/1`."""
    return f"podcast_tools/{command}/{_number(command)}"


def schema_file(command: str) -> str:
    """The schema's file name in the package's `schemas/` folder, e.g. `process-1.schema.json`."""
    return f"{command}-{_number(command)}.schema.json"


def load_schema(command: str) -> dict[str, Any]:
    """The JSON Schema of a command's document, read from the installed package."""
    text = (files("podcast_tools") / "schemas" / schema_file(command)).read_text("utf-8")
    return with_formats(command, json.loads(text))


def _bitrate_schema(row: OutputFormat) -> dict[str, Any]:
    rates = row.bitrates
    described = {
        "description": f"kbps, {row.bitrate_note}; null: {rates.stereo} stereo, {rates.mono} mono."
    }
    if rates.only:
        return {**described, "enum": [*rates.only, None]}
    return {
        **described,
        "type": ["integer", "null"],
        "minimum": rates.lowest,
        "maximum": rates.highest,
    }


def with_formats(
    command: str, schema: dict[str, Any], table: Mapping[str, OutputFormat] = FORMATS
) -> dict[str, Any]:
    """`schema` (the current one of `command`) with what it says of the output formats made from
    the format table: the names a show's `formats` and a file's `format` take, and each format's
    settings (its bitrates). A new row of the table is in the schemas without more editing."""
    schema = copy.deepcopy(schema)
    names = list(table)
    if command == "process":
        schema["properties"]["files"]["items"]["properties"]["format"]["enum"] = names
    if command != "shows":
        return schema
    settings = schema["$defs"]["settings"]
    settings["properties"]["formats"]["items"]["enum"] = names
    settings["required"] += [name for name in names if name not in settings["required"]]
    for name, row in table.items():
        properties = settings["properties"].setdefault(
            name,
            {"type": "object", "required": ["bitrate"], "additionalProperties": False},
        )
        properties.setdefault("properties", {})["bitrate"] = _bitrate_schema(row)
    return schema


def write_schema_files(folder: Path) -> list[Path]:
    """Rewrite the current schema file of every command in `folder` from the format table (after
    a row is added); the files it changed."""
    changed = []
    for command in SCHEMAS:
        path = folder / schema_file(command)
        text = path.read_text(encoding="utf-8")
        fresh = json.dumps(with_formats(command, json.loads(text)), indent=2, ensure_ascii=False)
        if fresh + "\n" != text:
            path.write_text(fresh + "\n", encoding="utf-8")
            changed.append(path)
    return changed


def document(command: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload under the envelope: `schema` and `version` first, then the payload's keys."""
    clash = {"schema", "version"} & payload.keys()
    if clash:
        raise ValueError(f"the envelope's keys are reserved: {', '.join(sorted(clash))}")
    return {"schema": schema_id(command), "version": __version__, **payload}


def dumps(command: str, payload: dict[str, Any]) -> str:
    """The document as printed by `--json`: indented, UTF-8 text as it is."""
    return json.dumps(document(command, payload), indent=2, ensure_ascii=False)


if __name__ == "__main__":  # python -m podcast_tools.jsonout: the schema files after a new format
    for written in write_schema_files(Path(__file__).parent / "schemas"):
        print(f"rewrote {written}")
