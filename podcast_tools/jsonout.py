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

import json
from importlib.resources import files
from typing import Any

from podcast_tools import __version__

#: Each command with `--json` and the number of the schema its documents follow now.
SCHEMAS: dict[str, int] = {"shows": 3, "process": 3, "publish": 3}

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
    return json.loads(text)


def document(command: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload under the envelope: `schema` and `version` first, then the payload's keys."""
    clash = {"schema", "version"} & payload.keys()
    if clash:
        raise ValueError(f"the envelope's keys are reserved: {', '.join(sorted(clash))}")
    return {"schema": schema_id(command), "version": __version__, **payload}


def dumps(command: str, payload: dict[str, Any]) -> str:
    """The document as printed by `--json`: indented, UTF-8 text as it is."""
    return json.dumps(document(command, payload), indent=2, ensure_ascii=False)
