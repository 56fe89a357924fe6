"""Every validation rule, each with a bad file: the message names the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from podcast_tools.media_checks import load_checked_network
from tests.conftest import edit, find_problem, podcast, problems_of

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
        "line 18, column 15",  # the sample network.toml's language line
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
    network = load_checked_network(sample)
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


# --- the content layer decodes no media itself: the checks come from podcast_tools.media_checks ---

#: The packages above podcast_tools.content; it must not import any of them.
UPPER_LAYERS = (
    "podcast_tools.audio",
    "podcast_tools.artwork",
    "podcast_tools.tags",
    "podcast_tools.notes",
    "podcast_tools.feed",
    "podcast_tools.publish",
    "podcast_tools.cli",
    "podcast_tools.media_checks",
)


def _above(module: str) -> bool:
    return any(module == layer or module.startswith(f"{layer}.") for layer in UPPER_LAYERS)


def test_importing_the_content_package_loads_no_layer_above_it():
    import subprocess
    import sys

    code = (
        "import sys, podcast_tools.content, podcast_tools.content.loader\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = result.stdout.split()
    above = [m for m in loaded if _above(m)]
    assert above == [], f"importing podcast_tools.content loaded {above}"
    assert "PIL" not in loaded and "mutagen" not in loaded


def test_no_module_of_the_content_package_imports_a_layer_above_it():
    """Also the imports inside functions, which the subprocess test above cannot see."""
    import ast

    import podcast_tools.content

    for path in sorted(Path(podcast_tools.content.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
                names += [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            upward = [n for n in names if _above(n)]
            assert not upward, f"{path.name}:{node.lineno} imports {upward}"


def test_load_network_makes_every_caller_choose_its_checks(sample: Path):
    """No default: a caller that forgets the checks fails loudly instead of skipping them."""
    from podcast_tools.content import load_network

    with pytest.raises(TypeError):
        load_network(sample)  # type: ignore[call-arg]


def test_without_checks_no_media_file_is_decoded(sample: Path):
    from podcast_tools.content import load_network
    from podcast_tools.errors import ContentError

    master = sample / "episodes/itsmwp/001-incident-vs-problem.flac"
    master.write_bytes(master.read_bytes()[:1000])  # cut short: only decoding tells
    (sample / "episodes/art/cover.png").write_bytes(b"not an image")
    network = load_network(sample, checks=None)
    assert len(network.episodes) == 7 and network.durations == {}
    edit(sample / EP1, "summary:", "sumary:")  # what text tells is still checked
    with pytest.raises(ContentError) as caught:
        load_network(sample, checks=None)
    assert [(p.file, p.field) for p in caught.value.problems] == [(EP1, "sumary")]


def test_the_loader_uses_the_checks_it_is_given(sample: Path):
    """Injected checks: durations for the timing rules, whole-file checks once per file (in
    parallel), artwork and chapter images — reported where each file is named."""
    import threading

    from podcast_tools.content import load_network
    from podcast_tools.content.loader import FileChecks
    from podcast_tools.errors import AudioInputError, ContentError

    lock = threading.Lock()
    whole_calls: list[Path] = []
    outro = (sample / "episodes/art/outro.mp3").resolve()

    def whole(path: Path, duration: float) -> None:
        with lock:
            whole_calls.append(path)
        if path == outro:
            raise AudioInputError("is a fake failure", file=path)

    checks = FileChecks(
        duration=lambda path: 10.0,
        whole=whole,
        artwork=lambda path: ["fake artwork problem"] if path.name == "cover.png" else [],
        chapter_image=lambda path: "fake chapter image problem",
    )
    with pytest.raises(ContentError) as caught:
        load_network(sample, checks=checks)
    problems = caught.value.problems
    assert len(whole_calls) == len(set(whole_calls))  # each file checked once
    assert outro in whole_calls
    assert (sample / "episodes/itsmwp/001-incident-vs-problem.flac").resolve() in whole_calls
    assert find_problem(problems, "episodes/art/cover.png", "").message == "fake artwork problem"
    assert find_problem(problems, TOML, "shows.itsmwp.outro").message == (
        "episodes/art/outro.mp3 is a fake failure"
    )
    assert find_problem(problems, EP1, "chapters[2].image").message == (
        "episodes/itsmwp/art/001-root-cause.png fake chapter image problem"
    )
    assert find_problem(problems, EP1, "chapters[2].start").message == (
        "00:00:15.270 is at or after the end of the kept recording (00:00:10.000)"
    )  # the injected duration, 10 s


def test_validate_still_reports_broken_media_in_order(sample: Path):
    """`podcast validate` (the CLI loads with media_checks.MEDIA_CHECKS): a master cut short,
    a jingle that is no audio, artwork Apple refuses and a chapter image in the wrong format,
    each as one line, grouped by file in the order found."""
    from PIL import Image
    from typer.testing import CliRunner

    from podcast_tools.cli import app

    ep_anz = "episodes/itsmwp-anz/002-itil4-in-nz-government.md"
    for master in (
        "episodes/itsmwp/001-incident-vs-problem.flac",
        "episodes/itsmwp-anz/002-itil4-in-nz-government.mp3",
    ):
        data = (sample / master).read_bytes()
        (sample / master).write_bytes(data[: len(data) // 2])
    (sample / "episodes/art/outro.mp3").write_bytes(b"this is not audio\n" * 20)
    Image.new("CMYK", (500, 400)).save(sample / "episodes/itsmwp-anz/art/cover.jpg", "JPEG")
    Image.new("RGB", (1400, 1400)).save(sample / "episodes/itsmwp/art/001-root-cause.png", "WEBP")

    result = CliRunner().invoke(app, ["--root", str(sample), "validate"])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    expected = [
        f"{ep_anz}: audio: episodes/itsmwp-anz/002-itil4-in-nz-government.mp3 ",
        "episodes/itsmwp-anz/art/cover.jpg: is CMYK; Apple needs RGB",  # no fix for 500×400
        (
            "episodes/itsmwp-anz/art/cover.jpg: 500×400 px; Apple needs 1400–3000 px square; it "
            "needs new art"
        ),
        (
            f"{EP1}: chapters[2].image: episodes/itsmwp/art/001-root-cause.png is WEBP data in "
            "a .png file; save it as PNG"
        ),
        f"{EP1}: audio: episodes/itsmwp/001-incident-vs-problem.flac ",
        f"{TOML}: shows.itsmwp.outro: episodes/art/outro.mp3 cannot be read as audio",
        "6 problems in 4 file(s); nothing was written.",
    ]
    assert len(lines) == len(expected), result.stderr
    for line, start in zip(lines, expected):
        assert line.startswith(start), f"{line!r} does not start with {start!r}"
    for line in (lines[0], lines[4]):
        assert "truncated" in line or "cannot be read" in line


def test_a_missing_file_names_the_one_that_is_there(sample: Path):
    """`art/Cover.png` for `art/cover.png` (a case a Mac forgives and a CI runner does not), and a
    typo: the line says which file is meant, as the setting would be written."""
    toml = sample / TOML
    text = toml.read_text()
    assert 'artwork = "art/cover.png"' in text
    toml.write_text(text.replace('artwork = "art/cover.png"', 'artwork = "art/Cover.png"', 1))
    episode = sample / EP1
    episode.write_text(
        episode.read_text().replace(
            "audio: 001-incident-vs-problem.flac", "audio: 001-incident-vs-problen.flac"
        )
    )
    result = podcast(sample, "validate")
    assert result.exit_code == 1
    assert 'file not found: episodes/art/Cover.png; did you mean "art/cover.png"?' in result.stderr
    assert 'did you mean "001-incident-vs-problem.flac"?' in result.stderr
