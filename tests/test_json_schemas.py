"""The `--json` documents: each names its schema and the tool's version, and matches its JSON
Schema (draft 2020-12, shipped in the package). Every document here comes from a real run on the
sample network: real ffmpeg, a real folder, the real S3 server of the tests."""

from __future__ import annotations

import copy
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import typer.main
from jsonschema import Draft202012Validator
from typer.testing import CliRunner

from podcast_tools import __version__, jsonout
from podcast_tools.cli import app
from tests.conftest import podcast

SHOWS = {"itsmwp", "itsmwp-anz", "itsmwp-row"}
EPISODE = "episodes/itsmwp/002-change-advisory-boards.md"  # a cut, jingles, three chapters


def schema_problems(command: str, doc: Any) -> list[str]:
    validator = Draft202012Validator(
        jsonout.load_schema(command), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return [
        f"/{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    ]


def assert_valid(command: str, doc: dict[str, Any]) -> None:
    assert schema_problems(command, doc) == []
    assert list(doc)[:2] == ["schema", "version"]
    assert doc["schema"] == jsonout.schema_id(command)
    assert doc["version"] == __version__


def run_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def schema_files() -> list[Path]:
    folder = Path(str(files("podcast_tools").joinpath("schemas")))
    return sorted(folder.glob("*.schema.json"))


def json_commands() -> set[str]:
    """Every command, at any depth, that has an option named --json."""
    found = set()

    def walk(name: str, command) -> None:
        if any("--json" in getattr(param, "opts", ()) for param in command.params):
            found.add(name)
        for sub_name, sub in getattr(command, "commands", {}).items():
            walk(sub_name if not name else f"{name} {sub_name}", sub)

    walk("", typer.main.get_command(app))
    return found


# --- the schemas themselves ---------------------------------------------------------------------


def test_every_schema_file_is_a_draft_2020_12_schema_that_needs_no_network():
    assert schema_files(), "no schema files in the package"
    for path in schema_files():
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", path.name
        command, number = path.name.removesuffix(".schema.json").rsplit("-", 1)
        assert schema["$id"] == f"https://podcast-tools.invalid/schemas/{path.name}"
        assert schema["properties"]["schema"] == {"const": f"podcast_tools/{command}/{number}"}
        assert schema["additionalProperties"] is False
        assert {"schema", "version"} <= set(schema["required"])
        refs = [line for line in path.read_text().splitlines() if '"$ref"' in line]
        assert refs and all('"$ref": "#/' in line for line in refs), "only local references"


def test_every_command_with_json_output_has_its_schema():
    commands = json_commands()
    documents = {jsonout.COMMAND_OF.get(kind, kind) for kind in jsonout.SCHEMAS}
    assert commands == documents, "a --json option without a schema (or the reverse)"
    for kind in jsonout.SCHEMAS:
        schema = jsonout.load_schema(kind)
        assert schema["properties"]["schema"]["const"] == jsonout.schema_id(kind)
    numbered = {p.name.removesuffix(".schema.json").rsplit("-", 1)[0] for p in schema_files()}
    assert numbered <= set(jsonout.SCHEMAS), "a schema file for a command that writes no JSON"


def test_the_envelope_comes_first_and_its_keys_are_reserved():
    doc = json.loads(jsonout.dumps("publish", {"storage": "file:///x", "dry_run": True}))
    assert list(doc) == ["schema", "version", "storage", "dry_run"]
    with pytest.raises(ValueError, match="reserved: version"):
        jsonout.document("publish", {"version": "2"})
    with pytest.raises(ValueError, match="writes no JSON"):
        jsonout.schema_id("feed")


# --- real documents -----------------------------------------------------------------------------


def test_shows_json_from_the_console_script(sample: Path):
    done = podcast(sample, "shows", "--json", process=True, ok=True)
    doc = json.loads(done.stdout)
    assert_valid("shows", doc)
    assert set(doc["shows"]) == SHOWS
    assert doc["shows"]["itsmwp-anz"]["origins"]["author"] == "[defaults]"
    assert doc["shows"]["itsmwp-anz"]["origins"]["owner.name"] == "own"  # set whole, with email


def test_the_schemas_are_strict(sample: Path):
    """What the schemas are for: they refuse documents that are not what they describe."""
    shows = run_json("--root", str(sample), "shows", "--json")
    assert schema_problems("shows", shows) == []

    def broken(change) -> list[str]:
        doc = copy.deepcopy(shows)
        change(doc)
        return schema_problems("shows", doc)

    assert broken(lambda d: d.pop("version"))
    assert broken(lambda d: d.update(schema="podcast_tools/shows/1"))
    assert broken(lambda d: d.update(extra=1))
    assert broken(lambda d: d["shows"]["itsmwp"]["settings"].update(colour="blue"))
    assert broken(lambda d: d["shows"]["itsmwp"]["settings"]["mp3"].update(channels=3))
    assert broken(lambda d: d["shows"]["itsmwp"].pop("origins"))
    assert broken(lambda d: d["shows"].update({"Not An Id": d["shows"]["itsmwp"]}))

    dry = {
        "schema": "podcast_tools/publish/3",
        "version": __version__,
        "storage": "s3://bucket/prefix",
        "state": "s3://bucket/prefix.state",
        "dry_run": True,
        "episodes_processed": [EPISODE],
        "episodes_skipped": [],
        "episodes_reused": [],
        "episodes_retagged": [],
        "episodes_drafts": [],
        "episodes_scheduled": [
            {"episode": EPISODE, "date": "2099-01-01T09:00:00+00:00", "already_published": False}
        ],
        "objects_uploaded": [],
        "bytes_uploaded": 0,
        "manifest_written": False,
        "feeds_written": [],
        "feeds_unchanged": [],
        "pages_written": [],
        "pages_unchanged": 0,
        "shard": None,
        "feeds_only": False,
    }
    assert schema_problems("publish", dry) == []
    assert schema_problems("publish", {**dry, "pages_written": ["index.html"]}), "dry run wrote"
    uploading = {**dry, "objects_uploaded": [{"key": "itsmwp/feed.xml", "bytes": 9}]}
    assert schema_problems("publish", uploading), "a dry run that uploads"
    assert schema_problems("publish", {**uploading, "dry_run": False, "bytes_uploaded": 9}) == []
    # 3: a shard writes no feeds; a --feeds-only run uploads no audio
    shard = {**dry, "dry_run": False, "shard": "2/3"}
    assert schema_problems("publish", shard) == []
    assert schema_problems("publish", {**shard, "shard": "2/3/4"})
    assert schema_problems("publish", {**shard, "feeds_written": ["itsmwp/feed.xml"]})
    assert schema_problems("publish", {**shard, "pages_written": ["index.html"]})
    feeds = {**dry, "dry_run": False, "episodes_processed": [], "feeds_only": True}
    assert schema_problems("publish", {**feeds, "feeds_written": ["itsmwp/feed.xml"]}) == []
    assert schema_problems("publish", {**feeds, "episodes_processed": [EPISODE]})
    media = {**uploading, "dry_run": False, "bytes_uploaded": 9, "episodes_processed": []}
    assert schema_problems("publish", {**media, "feeds_only": False}) == []
    assert schema_problems("publish", {**media, "feeds_only": True}), "feeds-only uploaded audio"
    assert schema_problems("publish", {**feeds, "shard": "1/2"}), "a shard writes no feeds"


@pytest.mark.slow
@pytest.mark.parametrize("verify", [False, True], ids=["report", "verify"])
def test_process_json_matches_its_schema(sample: Path, verify: bool):
    doc = run_json(
        "--root",
        str(sample),
        "process",
        str(sample / EPISODE),
        "--json",
        *(["--verify"] if verify else []),
    )
    assert_valid("process", doc)
    assert doc["episode"] == EPISODE
    assert Path(doc["output"]).stat().st_size == doc["bytes"]
    assert doc["edits"]["cuts"] and len(doc["chapters"]) == 3
    assert ("mp3_measured" in doc["loudness"]) is verify


def test_publish_dry_run_json_matches_its_schema(sample: Path, tmp_path: Path):
    draft = CliRunner().invoke(app, ["--root", str(sample), "new", "itsmwp", "--title", "Later"])
    assert draft.exit_code == 0, draft.output  # no --audio: a draft, which publish leaves out
    public = tmp_path / "public"
    doc = run_json(
        "--root", str(sample), "publish", "--dry-run", "--json", "--storage", public.as_uri()
    )
    assert_valid("publish", doc)
    assert doc["dry_run"] is True and len(doc["episodes_processed"]) == 7
    assert doc["episodes_drafts"] == [Path(draft.stdout.strip()).relative_to(sample).as_posix()]
    assert not public.exists() or not any(public.iterdir())


@pytest.mark.slow
def test_publish_json_to_a_folder_then_a_run_with_nothing_to_do(sample: Path, tmp_path: Path):
    public = tmp_path / "public"
    publish = ("--root", str(sample), "publish", "--json", "--storage", public.as_uri())
    run_json("--root", str(sample), "process", str(sample / EPISODE), "--json")
    first = run_json(*publish)
    assert_valid("publish", first)
    assert first["episodes_reused"] == [EPISODE]  # built by `process` from the same inputs
    assert first["storage"] == public.as_uri() and first["manifest_written"] is True
    assert first["bytes_uploaded"] == sum(o["bytes"] for o in first["objects_uploaded"]) > 0
    for uploaded in first["objects_uploaded"]:
        assert (public / uploaded["key"]).stat().st_size == uploaded["bytes"]
    assert sorted(first["feeds_written"]) == sorted(
        [f"{show}/feed.xml" for show in SHOWS] + ["publisher.xml"]
    )

    second = run_json(*publish)
    assert_valid("publish", second)
    assert second["objects_uploaded"] == [] and second["feeds_written"] == []
    # 3 shows + publisher.xml
    assert len(second["episodes_skipped"]) == 7 and len(second["feeds_unchanged"]) == 4


def test_publish_json_to_s3_matches_its_schema(sample: Path, s3_server, bucket: str):
    doc = run_json("--root", str(sample), "publish", "--json", "--storage", f"s3://{bucket}/net")
    assert_valid("publish", doc)
    assert doc["storage"] == f"s3://{bucket}/net"
    listed = s3_server.client().list_objects_v2(Bucket=bucket, Prefix="net/")
    stored = {o["Key"].removeprefix("net/"): o["Size"] for o in listed.get("Contents", [])}
    for uploaded in doc["objects_uploaded"]:
        assert stored[uploaded["key"]] == uploaded["bytes"]
