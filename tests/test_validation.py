"""Every validation rule, each with a bad file: the message names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from podcast_tools.content import load_network
from tests.conftest import edit, find_problem, problems_of

TOML = "episodes/network.toml"
EP1 = "episodes/itsmwp/001-incident-vs-problem.md"
EP2 = "episodes/itsmwp/002-change-advisory-boards.md"
EP3 = "episodes/itsmwp/003-service-desk-metrics.md"

# (file to edit, text in it, replacement, problem file, problem field, words the message must hold)
CASES = [
    pytest.param(
        EP1,
        "guid: ac4558b4-65d3-4301-a7a3-5754683e9fdf\n",
        "",
        EP1,
        "guid",
        "missing",
        id="guid-missing",
    ),
    pytest.param(
        EP3,
        "guid: 04bab1e0-bca4-48be-9c8b-6e3eff69f280",
        "guid: ac4558b4-65d3-4301-a7a3-5754683e9fdf",
        EP3,
        "guid",
        "also the guid of episodes/itsmwp/001-incident-vs-problem.md",
        id="guid-duplicate",
    ),
    pytest.param(
        EP1,
        "summary:",
        "sumary:",
        EP1,
        "sumary",
        'unknown key; did you mean "summary"?',
        id="unknown-key",
    ),
    pytest.param(
        EP1,
        "  - start: 0\n    title: Welcome",
        "  - start: 0\n    titel: Welcome",
        EP1,
        "chapters[1].titel",
        'did you mean "title"?',
        id="unknown-nested-key",
    ),
    pytest.param(
        TOML,
        '\nartwork = "art/cover.png"',
        '\nartwrok = "art/cover.png"',
        TOML,
        "defaults.artwrok",
        'did you mean "artwork"?',
        id="unknown-toml-key",
    ),
    pytest.param(
        EP2,
        "shows: [itsmwp-anz]",
        "shows: [itsmwp-nz]",
        EP2,
        "shows",
        'unknown show "itsmwp-nz"; did you mean "itsmwp-anz"?',
        id="unknown-show",
    ),
    pytest.param(
        TOML,
        'extends = "itsmwp"\ntitle = "IT Service Management Weekly: Rest',
        'extends = "itsmwpp"\ntitle = "IT Service Management Weekly: Rest',
        TOML,
        "shows.itsmwp-row.extends",
        'unknown show "itsmwpp"; did you mean "itsmwp"?',
        id="unknown-extends",
    ),
    pytest.param(
        EP3,
        "start: 11.29",
        "start: 5",
        EP3,
        "chapters[3].start",
        "not after chapters[2]",
        id="chapters-not-increasing",
    ),
    pytest.param(
        EP3,
        "start: 1.0",
        "start: 99",
        EP3,
        "trim.start",
        "past the end of the recording",
        id="trim-outside",
    ),
    pytest.param(
        EP3,
        "trim:\n  start: 1.0",
        "trim:\n  start: 9\n  end: 4",
        EP3,
        "trim",
        "must come before end",
        id="trim-reversed",
    ),
    pytest.param(
        EP2,
        '    end: "00:00:15.630"',
        '    end: "00:00:15.630"\n  - start: 15\n    end: 16',
        EP2,
        "cuts[2]",
        "overlaps cuts[1]",
        id="cuts-overlap",
    ),
    pytest.param(
        EP2,
        '    end: "00:00:15.630"',
        '    end: "00:00:15.630"\n  - start: 25\n    end: 200',
        EP2,
        "cuts[2].end",
        "past the end of the recording",
        id="cut-outside",
    ),
    pytest.param(
        EP2,
        "start: 6.94",
        "start: 12.5",
        EP2,
        "chapters[2].start",
        "falls inside cuts[1]",
        id="chapter-in-cut",
    ),
    pytest.param(
        TOML,
        '"Business", "Management"',
        '"Business", "Managment"',
        TOML,
        "defaults.category",
        'did you mean "Management"?',
        id="category-invalid",
    ),
    pytest.param(
        TOML,
        'category = ["Business", "Management"]',
        'category = "Tech"',
        TOML,
        "defaults.category",
        "not one of Apple's categories",
        id="category-unknown",
    ),
    pytest.param(
        TOML,
        'language = "en-au"',
        'language = "english"',
        TOML,
        "shows.itsmwp-anz.language",
        "not a language code",
        id="language-invalid",
    ),
    pytest.param(
        EP1,
        "audio: 001-incident-vs-problem.flac",
        "audio: nope.flac",
        EP1,
        "audio",
        "file not found: episodes/itsmwp/nope.flac",
        id="audio-missing",
    ),
    pytest.param(
        EP1,
        "title: Incident vs. Problem Management",
        'title: "Incident \\a vs. Problem"',
        EP1,
        "title",
        "control character",
        id="title-control-char",
    ),
    pytest.param(
        TOML,
        'artwork = "itsmwp-anz/art/cover.jpg"',
        'artwork = "itsmwp-anz/art/missing.jpg"',
        TOML,
        "shows.itsmwp-anz.artwork",
        "file not found: episodes/itsmwp-anz/art/missing.jpg",
        id="artwork-missing",
    ),
    pytest.param(
        TOML,
        'intro = "itsmwp-anz/art/intro.mp3"',
        'intro = "itsmwp-anz/art/nope.mp3"',
        TOML,
        "shows.itsmwp-anz.intro",
        "file not found",
        id="intro-missing",
    ),
    pytest.param(
        EP1,
        "date: 2026-10-07T09:00:00+01:00",
        "date: 2026-10-07T09:00:00",
        EP1,
        "date",
        "needs a timezone, e.g. 2011-04-22T09:00:00+01:00",
        id="date-naive",
    ),
    pytest.param(
        EP1,
        "date: 2026-10-07T09:00:00+01:00",
        "date: 2026-10-07",
        EP1,
        "date",
        "needs a time and a timezone",
        id="date-only",
    ),
    pytest.param(
        EP1, "number: 1\n", "number: [1\n", EP1, "line 6", "cannot parse YAML", id="yaml-unreadable"
    ),
    pytest.param(
        TOML,
        'language = "en"',
        'language = "en',
        TOML,
        "line 15, column 15",  # the sample network.toml's language line
        "cannot parse TOML",
        id="toml-unreadable",
    ),
    pytest.param(
        EP1,
        "number: 1\n",
        "number: 0\n",
        EP1,
        "number",
        "greater than or equal to 1",
        id="number-zero",
    ),
    pytest.param(
        EP1,
        "number: 1\n",
        "number: 1\ntype: teaser\n",
        EP1,
        "type",
        "'full', 'trailer' or 'bonus'",
        id="type-invalid",
    ),
    pytest.param(
        EP1,
        "number: 1\n",
        "number: 1\nexplicit: maybe\n",
        EP1,
        "explicit",
        "valid boolean",
        id="explicit-invalid",
    ),
    pytest.param(
        EP3,
        "number: 3",
        "number: 2",
        EP3,
        "number",
        "also the number of episodes/itsmwp/002-change-advisory-boards.md",
        id="number-duplicate",
    ),
    pytest.param(
        EP1,
        "title: Restore first, then find the cause\n    url: https://",
        "title: Restore first, then find the cause\n    url: ftp://",
        EP1,
        "chapters[3].url",
        "not an absolute http(s) URL",
        id="chapter-url",
    ),
    pytest.param(
        EP1,
        "title: Incident vs. Problem Management",
        "title: 1234",
        EP1,
        "title",
        "put the text in quotes",
        id="title-not-text",
    ),
    pytest.param(
        TOML,
        'email = "producers@itsmweekly.example"',
        'email = "producers"',
        TOML,
        "defaults.owner.email",
        "not an email address",
        id="owner-email",
    ),
    pytest.param(
        TOML,
        'storage = "file://public"',
        'storage = "ftp://x"',
        TOML,
        "network.storage",
        "not a storage URL",
        id="storage-url",
    ),
    pytest.param(
        TOML,
        "mp3 = { channels = 1, bitrate = 64 }",
        "mp3 = { channels = 1, bitrate = 65 }",
        TOML,
        "shows.itsmwp-row.mp3.bitrate",
        "not an MP3 bitrate",
        id="mp3-bitrate",
    ),
    pytest.param(
        TOML,
        "loudness = { target_lufs = -19.0 }",
        "loudness = { target_lufs = 3 }",
        TOML,
        "shows.itsmwp-row.loudness.target_lufs",
        "less than or equal to -5",
        id="loudness-range",
    ),
    pytest.param(
        TOML,
        'podcast_guid = "ea43e53f-4ffa-5329-8538-e7c409dd2136"',
        'podcast_guid = "be037f49-f9a9-505e-a9e1-a2813013e622"',
        TOML,
        "shows.itsmwp-row.podcast_guid",
        'also the podcast_guid of "itsmwp"',
        id="podcast-guid-duplicate",
    ),
    pytest.param(
        TOML,
        'podcast_guid = "ea43e53f-4ffa-5329-8538-e7c409dd2136"\n',
        "",
        TOML,
        "shows.itsmwp-row.podcast_guid",
        'add podcast_guid = "ea43e53f-4ffa-5329-8538-e7c409dd2136"',
        id="podcast-guid-missing",
    ),
    pytest.param(
        TOML,
        "[defaults]",
        '[defaults]\npodcast_guid = "be037f49-f9a9-505e-a9e1-a2813013e622"',
        TOML,
        "defaults.podcast_guid",
        "belongs to one show",
        id="per-show-field-in-defaults",
    ),
]


@pytest.mark.parametrize(("edit_file", "old", "new", "file", "field", "words"), CASES)
def test_rule_names_file_and_field(sample: Path, edit_file, old, new, file, field, words):
    edit(sample / edit_file, old, new)
    problem = find_problem(problems_of(sample), file, field)
    assert words in problem.message
    assert str(problem).startswith(f"{file}: {field}: ")


def test_sample_network_is_valid(sample: Path):
    network = load_network(sample)
    assert sorted(network.shows) == ["itsmwp", "itsmwp-anz", "itsmwp-row"]
    assert len(network.episodes) == 7


def test_all_problems_in_all_files_are_reported_at_once(sample: Path):
    edit(sample / EP1, "summary:", "sumary:")
    edit(sample / EP3, "start: 11.29", "start: 5")
    edit(sample / TOML, 'language = "en-au"', 'language = "english"')
    edit(
        sample / "episodes/itsmwp-row/001-outsourcing-the-service-desk.md",
        "date: 2026-10-12T08:00:00+00:00",
        "date: 2026-10-12T08:00:00",
    )
    problems = problems_of(sample)
    assert {p.file for p in problems} == {
        EP1,
        EP3,
        TOML,
        "episodes/itsmwp-row/001-outsourcing-the-service-desk.md",
    }
    assert len(problems) == 4


def test_slug_must_be_lowercase_letters_digits_dashes(sample: Path):
    (sample / EP3).rename(sample / "episodes/itsmwp/Service_Desk.md")
    problem = find_problem(problems_of(sample), "episodes/itsmwp/Service_Desk.md", "file name")
    assert "lowercase letters, digits" in problem.message


def test_show_id_must_be_lowercase_letters_digits_dashes(sample: Path):
    edit(sample / TOML, "[shows.itsmwp-row]", "[shows.ITSM_row]")
    problems = problems_of(sample)
    assert "lowercase letters" in find_problem(problems, TOML, "shows.ITSM_row").message
    assert "not a show in network.toml" in find_problem(problems, "episodes/itsmwp-row", "").message


def test_extends_cycle_is_an_error(sample: Path):
    edit(sample / TOML, "[shows.itsmwp]\n", '[shows.itsmwp]\nextends = "itsmwp-row"\n')
    problem = find_problem(problems_of(sample), TOML, "shows.itsmwp.extends")
    assert "cycle: itsmwp → itsmwp-row → itsmwp" in problem.message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty file"),
        (b"this is not audio, just text\n" * 20, "cannot be read as audio"),
    ],
    ids=["empty", "text-named-wav"],
)
def test_unreadable_audio_is_reported(sample: Path, content: bytes, words: str):
    (sample / "episodes/itsmwp/bad.wav").write_bytes(content)
    edit(sample / EP1, "audio: 001-incident-vs-problem.flac", "audio: bad.wav")
    problem = find_problem(problems_of(sample), EP1, "audio")
    assert "episodes/itsmwp/bad.wav" in problem.message and words in problem.message


def test_missing_front_matter(sample: Path):
    (sample / "episodes/itsmwp/004-draft.md").write_text("Just notes, no front matter.\n")
    problem = find_problem(problems_of(sample), "episodes/itsmwp/004-draft.md", "")
    assert "no front matter" in problem.message


def test_reserved_keys_are_rejected(sample: Path):
    edit(sample / EP1, "number: 1\n", "number: 1\nslug: other\n")
    assert "set from the file's name" in find_problem(problems_of(sample), EP1, "slug").message


def test_missing_required_show_field_names_the_show(sample: Path):
    edit(sample / TOML, 'author = "IT Service Management Weekly"\n', "")
    problems = problems_of(sample)
    for show in ("itsmwp", "itsmwp-anz", "itsmwp-row"):
        assert "missing" in find_problem(problems, TOML, f"shows.{show}.author").message


def test_error_in_defaults_is_reported_once_at_its_source(sample: Path):
    edit(sample / TOML, 'language = "en"', 'language = "xx-yy-zz-1"')
    problems = [p for p in problems_of(sample) if p.field.endswith("language")]
    # itsmwp-anz sets its own language; the two others inherit the bad one from [defaults]
    assert [p.field for p in problems] == ["defaults.language"]
