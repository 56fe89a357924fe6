"""The `podcast` command, in-process through typer's CliRunner: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from podcast_tools import __version__
from podcast_tools.media_checks import load_checked_network
from tests.conftest import edit, podcast


def test_version():
    result = podcast(None, "--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"podcast_tools {__version__}"


def test_help_explains_workflow_and_exit_codes():
    result = podcast(None, "--help")
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "episodes/network.toml" in text and "podcast validate" in text
    assert "Exit codes: 0 done" in text and "2 usage" in text


def test_python_dash_m_works(sample: Path):
    done = podcast(sample, "validate", process=True, ok=True)
    assert "3 shows, 7 episodes" in done.stdout


def test_validate_ok(sample: Path):
    result = podcast(None, "--root", str(sample), "validate")
    assert result.exit_code == 0
    assert "no problems found" in result.stdout


def test_validate_finds_the_network_upwards(sample: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(sample / "episodes" / "itsmwp")
    result = podcast(None, "validate")
    assert result.exit_code == 0, result.output


def test_validate_problems_one_line_each_exit_1(sample: Path):
    edit(sample / "episodes/itsmwp/001-incident-vs-problem.md", "summary:", "sumary:")
    edit(sample / "episodes/network.toml", 'language = "en-au"', 'language = "english"')
    result = podcast(None, "--root", str(sample), "validate")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert (
        lines[0]
        == 'episodes/itsmwp/001-incident-vs-problem.md: sumary: unknown key; did you mean "summary"?'
    )
    assert lines[1].startswith("episodes/network.toml: shows.itsmwp-anz.language: ")
    assert lines[2] == "2 problems in 2 file(s); nothing was written."
    assert "Traceback" not in result.output


def test_debug_adds_the_traceback(sample: Path):
    edit(sample / "episodes/itsmwp/001-incident-vs-problem.md", "summary:", "sumary:")
    result = podcast(None, "--debug", "--root", str(sample), "validate")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "ContentError" in result.stderr


def test_no_network_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    result = podcast(None, "validate")
    assert result.exit_code == 2
    assert "no episodes/network.toml" in result.stderr and "podcast init" in result.stderr
    result = podcast(None, "--root", str(tmp_path), "shows")
    assert result.exit_code == 2


def test_unknown_command_is_a_usage_error():
    assert podcast(None, "frobnicate").exit_code == 2


def test_shows_lists_inheritance(sample: Path):
    result = podcast(None, "--root", str(sample), "shows")
    assert result.exit_code == 0
    out = result.stdout
    assert (
        "itsmwp-anz (extends itsmwp): IT Service Management Weekly: Australia & New Zealand" in out
    )
    row = out.split("itsmwp-row (extends itsmwp)")[1]
    intro_line = next(line for line in row.splitlines() if line.strip().startswith("intro "))
    assert intro_line.split() == ["intro", "art/intro.mp3", "←", "from", "itsmwp"]
    assert "feed      https://media.itsmweekly.example/itsmwp-row/feed.xml" in row


def test_shows_json(sample: Path):
    result = podcast(None, "--root", str(sample), "shows", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["schema"] == "podcast_tools/shows/3" and data["version"] == __version__
    shows = data["shows"]
    assert shows["itsmwp-anz"]["origins"]["owner.name"] == "own"
    assert shows["itsmwp-anz"]["origins"]["author"] == "[defaults]"
    assert "location.osm" not in shows["itsmwp-anz"]["origins"]
    assert shows["itsmwp-anz"]["settings"]["language"] == "en-au"
    assert shows["itsmwp-anz"]["episodes"] == 3


def test_init_creates_a_network_that_validates(tmp_path: Path):
    target = tmp_path / "my-network"
    result = podcast(None, "init", str(target))
    assert result.exit_code == 0, result.output
    assert podcast(None, "--root", str(target), "validate").exit_code == 0
    network = load_checked_network(target)
    assert set(network.shows) == {"main", "main-regional"}
    assert network.shows["main-regional"].extends == "main"
    assert len(network.episodes) == 1 and network.episodes[0].chapters
    assert (target / "templates" / "episode.html.j2").is_file()
    assert "{{ notes_html }}" in (target / "templates" / "episode.html.j2").read_text()


def test_init_refuses_an_existing_network(sample: Path):
    before = (sample / "episodes/network.toml").read_bytes()
    result = podcast(None, "init", str(sample))
    assert result.exit_code == 2
    assert "already exists" in result.stderr
    assert (sample / "episodes/network.toml").read_bytes() == before


def test_new_writes_an_episode_with_fresh_guid_and_next_number(sample: Path):
    audio = sample / "episodes/itsmwp/001-incident-vs-problem.flac"
    first = podcast(
        None,
        "--root",
        str(sample),
        "new",
        "itsmwp",
        "--title",
        "Shift-Left: Myths & Facts",
        "--audio",
        str(audio),
    )
    second = podcast(
        None,
        "--root",
        str(sample),
        "new",
        "itsmwp",
        "--title",
        "Another One",
        "--audio",
        str(audio),
        "--date",
        "2026-12-01T09:00:00+01:00",
    )
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    first_path, second_path = Path(first.stdout.strip()), Path(second.stdout.strip())
    assert first_path.name == "004-shift-left-myths-facts.md"
    assert second_path.name == "005-another-one.md"
    front = [yaml.safe_load(p.read_text().split("---")[1]) for p in (first_path, second_path)]
    assert front[0]["guid"] != front[1]["guid"]
    assert front[0]["title"] == "Shift-Left: Myths & Facts"
    assert front[1]["date"].isoformat() == "2026-12-01T09:00:00+01:00"
    assert front[0]["date"].tzinfo is not None
    assert front[0]["audio"] == "004-shift-left-myths-facts.flac"  # copied next to the episode
    assert (first_path.parent / front[0]["audio"]).read_bytes() == audio.read_bytes()
    network = load_checked_network(sample)  # both validate
    assert {e.number for e in network.episodes_of("itsmwp")} == {1, 2, 3, 4, 5}


def test_new_without_audio_points_at_where_the_master_goes(sample: Path):
    result = podcast(None, "--root", str(sample), "new", "itsmwp-row", "--title", "Draft")
    assert result.exit_code == 0
    path = Path(result.stdout.strip())
    assert path.name == "003-draft.md"
    assert "audio: 003-draft.wav\ndraft: true" in path.read_text()
    assert "put its recording at the `audio` path" in result.stderr
    check = podcast(None, "--root", str(sample), "validate")
    assert check.exit_code == 0, check.output  # a draft waits for its recording


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["new", "nope", "--title", "X"], 'unknown show "nope"'),
        (["new", "itsmwp", "--title", "X", "--date", "next tuesday"], "--date"),
    ],
)
def test_new_usage_errors(sample: Path, args, words):
    result = podcast(None, "--root", str(sample), *args)
    assert result.exit_code == 2
    assert words in result.stderr
    assert sorted(p.name for p in (sample / "episodes/itsmwp").glob("*.md"))[-1].startswith("003")


def test_new_gives_the_season_of_a_show_whose_episodes_all_have_one(sample: Path):
    """Every itsmwp episode says `season: 1`: a new one does too (without it, it fell outside
    season 1 once published); a show whose episodes have none gets none."""
    made = podcast(sample, "new", "itsmwp", "--title", "Seasoned", ok=True)
    front = yaml.safe_load(Path(made.stdout.strip().splitlines()[0]).read_text().split("---")[1])
    assert front["season"] == 1 and front["number"] == 4
    other = podcast(sample, "new", "itsmwp-row", "--title", "Seasonless", ok=True)
    front = yaml.safe_load(Path(other.stdout.strip().splitlines()[0]).read_text().split("---")[1])
    assert "season" not in front
    edit(sample / "episodes/itsmwp/003-service-desk-metrics.md", "season: 1", "season: 2")
    later = podcast(sample, "new", "itsmwp", "--title", "Next Season", ok=True)
    front = yaml.safe_load(Path(later.stdout.strip().splitlines()[0]).read_text().split("---")[1])
    assert front["season"] == 2  # the show's current season: the highest
