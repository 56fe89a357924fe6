"""Drafts, masters that travel with the repository (LFS, copies), and paths that leave the network."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from podcast_tools.media_checks import load_checked_network
from tests.conftest import edit, find_problem, podcast, problems_of

LFS_POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 12345\n"
)


def front_matter(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])


# --- drafts ------------------------------------------------------------------------------------


def new_draft(root: Path) -> Path:
    result = podcast(root, "new", "itsmwp", "--title", "Work in progress")
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[0])


def test_new_without_audio_writes_a_draft_that_leaves_the_network_valid(sample: Path):
    result = podcast(sample, "new", "itsmwp", "--title", "Work in progress")
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[0])
    front = front_matter(path)
    assert front["draft"] is True
    assert not (path.parent / front["audio"]).exists()
    network = load_checked_network(sample)  # no problem: a draft may lack its audio
    assert [e.slug for e in network.episodes if e.draft] == [path.stem]
    validated = podcast(sample, "validate")
    assert validated.exit_code == 0, validated.output
    assert "1 draft" in validated.stdout


def test_a_draft_is_still_validated(sample: Path):
    path = new_draft(sample)
    edit(path, "draft: true", "draft: true\ntitel: typo")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("date: ", "date: tomorrow #"), encoding="utf-8")
    problems = problems_of(sample)
    shown = path.relative_to(sample).as_posix()
    assert "did you mean" in find_problem(problems, shown, "titel").message
    assert "not a date" in find_problem(problems, shown, "date").message


def test_an_impossible_yaml_date_is_one_line_not_a_traceback(sample: Path):
    path = new_draft(sample)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("date: ", "date: 2026-13-45 #"), encoding="utf-8")
    shown = path.relative_to(sample).as_posix()
    message = find_problem(problems_of(sample), shown, "date").message  # not "front matter"
    assert "month must be in 1..12" in message and "is not a real date" in message
    assert message.startswith("line ") and "2026-13-45" in message


def test_a_title_with_a_colon_is_told_to_be_quoted(sample: Path):
    """`title: Episode 5: The Thing` is a YAML error ("mapping values are not allowed here"):
    the line names the field and how to write it."""
    path = new_draft(sample)
    text = path.read_text(encoding="utf-8")
    start = text.index("title: ")
    end = text.index("\n", start)
    path.write_text(text[:start] + "title: Episode 5: The Thing" + text[end:], encoding="utf-8")
    shown = path.relative_to(sample).as_posix()
    message = find_problem(problems_of(sample), shown, "title").message
    assert 'put it in quotes, title: "Episode 5: The Thing"' in message


def test_a_finished_episode_still_needs_its_audio(sample: Path):
    path = sample / "episodes/itsmwp/003-service-desk-metrics.md"
    edit(path, "audio: 003-service-desk-metrics.opus", "audio: missing.wav")
    problem = find_problem(
        problems_of(sample), "episodes/itsmwp/003-service-desk-metrics.md", "audio"
    )
    assert "file not found" in problem.message


def test_process_refuses_a_draft_in_one_line(sample: Path):
    path = new_draft(sample)
    result = podcast(sample, "process", str(path))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{path.relative_to(sample).as_posix()}: draft:")
    assert "draft: true" in lines[0]


@pytest.mark.slow
def test_feed_and_publish_skip_drafts_and_say_so_once(sample: Path, tmp_path: Path):
    path = new_draft(sample)
    shown = path.relative_to(sample).as_posix()
    feeds = podcast(sample, "feed", "--out", str(tmp_path / "feeds"))
    assert feeds.exit_code == 0, feeds.output
    assert feeds.output.count("draft") == 1 and shown in feeds.output
    storage = tmp_path / "store"
    published = podcast(sample, "publish", "--storage", f"file://{storage}", "--json")
    assert published.exit_code == 0, published.output
    summary = json.loads(published.stdout)
    assert summary["episodes_drafts"] == [shown]
    assert shown not in summary["episodes_processed"]
    assert len(summary["episodes_processed"]) == 7
    feed = (storage / "itsmwp" / "feed.xml").read_text(encoding="utf-8")
    assert "Work in progress" not in feed
    again = podcast(sample, "publish", "--storage", f"file://{storage}")
    assert again.exit_code == 0, again.output
    assert again.stderr.count("draft") == 1, again.stderr
    named = podcast(sample, "publish", "--storage", f"file://{storage}", str(path))
    assert named.exit_code == 0 and "draft" in named.stderr


# --- masters that travel with the repository --------------------------------------------------


def test_init_writes_gitattributes_for_lfs_and_gitignore(tmp_path: Path):
    result = podcast(None, "init", str(tmp_path / "net"))
    assert result.exit_code == 0, result.output
    attributes = (tmp_path / "net" / ".gitattributes").read_text()
    for pattern in ("*.wav", "*.flac", "*.aif", "*.aiff", "*.m4a", "*.mp3", "*.opus", "*.ogg"):
        assert f"{pattern} filter=lfs diff=lfs merge=lfs -text" in attributes
    ignored = (tmp_path / "net" / ".gitignore").read_text().split()
    assert "/build/" in ignored


def test_new_copies_the_recording_next_to_the_episode(sample: Path, tmp_path: Path):
    recording = tmp_path / "recordings" / "ep.flac"
    recording.parent.mkdir()
    source = sample / "episodes/itsmwp/001-incident-vs-problem.flac"
    recording.write_bytes(source.read_bytes())
    result = podcast(sample, "new", "itsmwp", "--title", "Copied", "--audio", str(recording))
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[0])
    front = front_matter(path)
    assert front["audio"] == f"{path.stem}.flac"
    assert (path.parent / front["audio"]).read_bytes() == recording.read_bytes()
    assert "draft" not in front
    assert load_checked_network(sample)  # the copy lies inside the network


def test_new_link_keeps_a_reference_inside_the_network_and_refuses_outside(
    sample: Path, tmp_path: Path
):
    inside = sample / "episodes/itsmwp/raw/take1.flac"
    inside.parent.mkdir()
    inside.write_bytes((sample / "episodes/itsmwp/001-incident-vs-problem.flac").read_bytes())
    result = podcast(sample, "new", "itsmwp", "--title", "Linked", "--audio", str(inside), "--link")
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip().splitlines()[0])
    assert front_matter(path)["audio"] == "raw/take1.flac"
    assert sorted(p.name for p in path.parent.glob(f"{path.stem}.*")) == [path.name]

    outside = tmp_path / "take2.flac"
    outside.write_bytes(inside.read_bytes())
    before = sorted(p.name for p in path.parent.iterdir())
    refused = podcast(sample, "new", "itsmwp", "--title", "Out", "--audio", str(outside), "--link")
    assert refused.exit_code == 2
    assert "outside the network" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == before


def test_validate_reports_paths_that_leave_the_network(sample: Path, tmp_path: Path):
    outside = tmp_path / "elsewhere.flac"
    outside.write_bytes((sample / "episodes/itsmwp/001-incident-vs-problem.flac").read_bytes())
    episode = sample / "episodes/itsmwp/001-incident-vs-problem.md"
    relative = os.path.relpath(outside, episode.parent)
    edit(episode, "audio: 001-incident-vs-problem.flac", f"audio: {relative}")
    (sample / "episodes/itsmwp/t.vtt").symlink_to("/etc/hostname")
    edit(
        sample / "episodes/itsmwp/002-change-advisory-boards.md",
        "title: Do We",
        "transcript: t.vtt\ntitle: Do We",
    )
    problems = problems_of(sample)
    audio = find_problem(problems, "episodes/itsmwp/001-incident-vs-problem.md", "audio")
    assert "outside the network" in audio.message and str(outside) in audio.message
    transcript = find_problem(
        problems, "episodes/itsmwp/002-change-advisory-boards.md", "transcript"
    )
    assert "outside the network" in transcript.message and "/etc/hostname" in transcript.message


def test_validate_reports_a_jingle_outside_the_network(sample: Path, tmp_path: Path):
    jingle = tmp_path / "jingle.mp3"
    jingle.write_bytes((sample / "episodes/art/intro.mp3").read_bytes())
    toml = sample / "episodes/network.toml"
    edit(toml, 'intro = "art/intro.mp3"', f'intro = "{os.path.relpath(jingle, toml.parent)}"')
    problems = problems_of(sample)
    assert any("outside the network" in p.message and p.field.endswith("intro") for p in problems)


def test_validate_explains_a_git_lfs_pointer_where_the_file_itself_is_needed(sample: Path):
    """A master or a jingle may be a pointer (tests/test_lfs.py); artwork is uploaded as it is."""
    (sample / "episodes/art/cover.png").write_text(LFS_POINTER)
    problem = find_problem(problems_of(sample), "episodes/network.toml", "defaults.artwork")
    assert "Git LFS pointer" in problem.message
    assert 'git lfs pull --include "episodes/art/cover.png"' in problem.message


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (b"RIFF\x10\x00\x00\x00WAVE", "No 'fmt' chunk found"),  # a WAV cut off after its header
        (bytes(range(128, 256)) * 4, "its header is not a WAV header"),  # no WAV at all
    ],
)
def test_new_refuses_a_recording_that_is_not_audio(sample: Path, tmp_path: Path, header, words):
    """`podcast new --audio corrupt.wav` accepted the file, and validate then said "'ascii' codec
    can't decode byte…": now `new` refuses it in one line and writes nothing."""
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(header + bytes(2000))
    before = sorted((sample / "episodes/itsmwp").iterdir())
    result = podcast(sample, "new", "itsmwp", "--title", "Broken", "--audio", str(corrupt))
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"--audio {corrupt}: cannot be read as audio") and words in line
    assert line.endswith("nothing was written") and "codec" not in line
    assert sorted((sample / "episodes/itsmwp").iterdir()) == before
