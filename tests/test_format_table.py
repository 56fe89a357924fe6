"""One format table: a new output format is one row of `formats.FORMATS` (plus a tag style, when no
existing one fits). The settings models, the bitrate rules, the `formats` enum of validation and of
the JSON Schemas are all generated from the table; here a table with one more row gets all of them
without any other file edited."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from podcast_tools import jsonout
from podcast_tools.content import models
from podcast_tools.formats import FORMATS, PRIMARY, TAG_WRITERS, Bitrates
from tests.conftest import edit

#: A format the toolkit does not have: Opus in an .oga file (Ogg's audio suffix), so the real
#: encoder and the Vorbis-comment tag style serve it.
OGA = dataclasses.replace(
    FORMATS["opus"],
    name="oga",
    label="OGA",
    suffix=".oga",
    muxer="ogg",
    bitrates=Bitrates(8, 128, stereo=48, mono=24),
    bitrate_note="Opus in .oga",
)
TABLE = {**FORMATS, "oga": OGA}


def test_the_table_is_the_one_list_of_formats():
    assert list(FORMATS) == ["mp3", "m4a", "opus"] and PRIMARY is FORMATS["mp3"]
    assert [f.label for f in FORMATS.values()] == ["MP3", "M4A", "Opus"]
    for name, row in FORMATS.items():
        assert row.name == name and row.bitrates.label == row.label
        assert models.FORMAT_SETTINGS[name] is models.Show.model_fields[name].annotation
    assert [model.__name__ for model in models.FORMAT_SETTINGS.values()] == [
        "Mp3Settings",
        "M4aSettings",
        "OpusSettings",
    ]
    assert models.Mp3Settings is models.FORMAT_SETTINGS["mp3"]
    show = models.Show.model_construct(m4a=models.FORMAT_SETTINGS["m4a"](bitrate=64))
    assert pickle.loads(pickle.dumps(show)).m4a.bitrate == 64  # as publish's workers get it
    # each row's tag style has its writer (tags.py registers them; the table imports none)
    import podcast_tools.tags  # noqa: F401

    assert {row.tag_style for row in FORMATS.values()} <= set(TAG_WRITERS)
    assert set(models.FormatName.__args__) == set(FORMATS)
    # the M4A's bitrate problem names the format as the table does (it said "AAC")
    assert FORMATS["m4a"].bitrates.problem(400) == "400 kbps is outside M4A's 32–320 kbps"


def test_a_row_more_is_validated_and_given_a_settings_model():
    generated = models.format_settings_models(TABLE)
    assert list(generated) == ["mp3", "m4a", "opus", "oga"]
    oga = generated["oga"]
    assert issubclass(oga, BaseModel) and oga.__name__ == "OgaSettings"
    assert oga(bitrate=100).bitrate == 100 and oga().bitrate is None
    with pytest.raises(ValidationError, match="200 kbps is outside OGA's 8–128 kbps"):
        oga(bitrate=200)
    with pytest.raises(ValidationError, match="extra"):
        oga(bitrate=64, channels=1)  # channels and sample rate are the primary row's alone
    assert list(generated["mp3"].model_fields) == ["bitrate", "channels", "sample_rate"]
    assert generated["mp3"](channels=1).bitrate_kbps == 64
    assert (
        oga.model_fields["bitrate"].description == "kbps, Opus in .oga; default 48 stereo, 24 mono"
    )


def test_a_row_more_is_in_the_schema_enums():
    shows = jsonout.with_formats("shows", jsonout.load_schema("shows"), TABLE)
    settings = shows["$defs"]["settings"]
    assert settings["properties"]["formats"]["items"]["enum"] == list(TABLE)
    assert "oga" in settings["required"]
    bitrate = settings["properties"]["oga"]["properties"]["bitrate"]
    assert (bitrate["minimum"], bitrate["maximum"]) == (8, 128)
    process = jsonout.with_formats("process", jsonout.load_schema("process"), TABLE)
    assert process["properties"]["files"]["items"]["properties"]["format"]["enum"] == list(TABLE)


def test_the_shipped_schemas_say_what_the_table_says():
    """The schema files are the table's output (`python -m podcast_tools.jsonout` rewrites them)."""
    folder = Path(jsonout.__file__).parent / "schemas"
    for command in jsonout.SCHEMAS:
        path = folder / jsonout.schema_file(command)
        shipped = json.loads(path.read_text(encoding="utf-8"))
        assert jsonout.with_formats(command, shipped, FORMATS) == shipped, path.name


#: Runs the `podcast` command with the row added to the table before anything reads it.
_WITH_OGA = """
import dataclasses, sys
from podcast_tools import formats
from podcast_tools.formats import Bitrates
formats.FORMATS["oga"] = dataclasses.replace(
    formats.FORMATS["opus"], name="oga", label="OGA", suffix=".oga", muxer="ogg",
    bitrates=Bitrates(8, 128, stereo=48, mono=24), bitrate_note="Opus in .oga")
from podcast_tools.cli import app
sys.argv[0] = "podcast"
app()
"""


def _podcast_with_oga(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _WITH_OGA, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ.copy(),
    )


@pytest.mark.slow
def test_a_row_more_is_a_format_a_show_can_publish(sample: Path, tmp_path: Path):
    """End to end, with nothing but the row: the loader validates the show's `oga` table, `shows`
    lists it (valid under the generated schema), and `process` writes a tagged .oga file."""
    network = sample / "episodes" / "network.toml"
    edit(
        network,
        "mp3 = { bitrate = 128, channels = 2, sample_rate = 44100 }\n",
        'mp3 = { bitrate = 128, channels = 2, sample_rate = 44100 }\nformats = ["mp3", "oga"]\n'
        "oga = { bitrate = 500 }\n",
    )
    done = _podcast_with_oga("--root", str(sample), "validate")
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if "oga.bitrate" in line]
    assert len(lines) == 1 and "500 kbps is outside OGA's 8–128 kbps" in lines[0], done.stderr
    assert "Traceback" not in done.stderr

    edit(network, "oga = { bitrate = 500 }", "oga = { bitrate = 40 }")
    done = _podcast_with_oga("--root", str(sample), "shows", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    schema = jsonout.with_formats("shows", jsonout.load_schema("shows"), TABLE)
    assert list(Draft202012Validator(schema).iter_errors(doc)) == []
    settings = doc["shows"]["itsmwp"]["settings"]
    assert settings["formats"] == ["mp3", "oga"] and settings["oga"] == {"bitrate": 40}

    episode = sample / "episodes" / "itsmwp" / "001-incident-vs-problem.md"
    out = tmp_path / "out"
    done = _podcast_with_oga("--root", str(sample), "process", str(episode), "--out", str(out))
    assert done.returncode == 0, done.stderr
    [oga] = out.rglob("*.oga")
    from mutagen.oggopus import OggOpus

    assert OggOpus(oga).tags["title"], "the Vorbis-comment style tagged the new format's file"
