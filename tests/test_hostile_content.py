"""Hostile and careless content files: every one ends in one line per problem and exit 1 — never a
traceback, a hang or a memory blow-up — and the message never prints a huge value."""

from __future__ import annotations

import string
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from podcast_tools.cli import app
from tests.conftest import find_problem, problems_of

EPISODE = "episodes/itsmwp/003-service-desk-metrics.md"
TOML = "episodes/network.toml"

BILLION_LAUGHS = """\
---
title: Laughs
guid: 0b8c1a52-4d0c-4a1d-9d1c-2e57d3b1e0a1
date: 2026-10-21T09:00:00+01:00
audio: 003-service-desk-metrics.opus
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
---
"""


def validate(root: Path):
    result = CliRunner().invoke(app, ["--root", str(root), "validate"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("a traceback instead of one line") from result.exception
    return result


def problem_lines(stderr: str) -> list[str]:
    """The problem lines of an error output (without the count that closes several)."""
    lines = stderr.splitlines()
    return lines[:-1] if lines and lines[-1].endswith("nothing was written.") else lines


def one_line_exit_1(root: Path, file: str) -> str:
    result = validate(root)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith(file)]
    assert lines, result.stderr
    assert all(len(line) < 400 for line in result.stderr.splitlines()), result.stderr[:2000]
    return "\n".join(lines)


def test_billion_laughs_is_refused_quickly(sample: Path):
    (sample / EPISODE).write_text(BILLION_LAUGHS)
    started = time.monotonic()
    message = one_line_exit_1(sample, EPISODE)
    assert time.monotonic() - started < 10
    assert "alias" in message


@pytest.mark.parametrize("depth", [20_000])
def test_deeply_nested_yaml_is_one_line(sample: Path, depth: int):
    text = (sample / EPISODE).read_text()
    (sample / EPISODE).write_text(text.replace("---\n", f"---\nx: {'[' * depth}{']' * depth}\n", 1))
    assert "nested" in one_line_exit_1(sample, EPISODE)


def test_deeply_nested_toml_is_one_line(sample: Path):
    toml = sample / TOML
    toml.write_text(toml.read_text() + f"\n[deep]\nx = {'[' * 5000}{']' * 5000}\n")
    assert "nested" in one_line_exit_1(sample, TOML)


def test_a_huge_value_is_cut_short_in_the_message(sample: Path):
    text = (sample / EPISODE).read_text()
    (sample / EPISODE).write_text(text.replace("number: 3", f"number: {'9' * 5000}x", 1))
    message = find_problem(problems_of(sample), EPISODE, "number").message
    assert len(message) < 200 and "…" in message


@pytest.mark.slow
def test_a_20_mb_title_is_one_short_line(sample: Path):
    path = sample / EPISODE
    lines = path.read_text().splitlines(keepends=True)
    lines = [
        f"title: {'T' * 20_000_000}\n" if line.startswith("title:") else line for line in lines
    ]
    path.write_text("".join(lines))
    message = find_problem(problems_of(sample), EPISODE, "title").message
    assert "255" in message and len(message) < 200


def test_a_byte_order_mark_before_the_front_matter_is_fine(sample: Path):
    path = sample / EPISODE
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    toml = sample / TOML
    toml.write_bytes(b"\xef\xbb\xbf" + toml.read_bytes())
    result = validate(sample)
    assert result.exit_code == 0, result.output


def test_duplicate_yaml_keys_are_refused(sample: Path):
    text = (sample / EPISODE).read_text()
    (sample / EPISODE).write_text(text.replace("number: 3", "number: 3\nnumber: 4", 1))
    message = one_line_exit_1(sample, EPISODE)
    assert "duplicate key" in message and "number" in message


def test_new_refuses_a_title_with_a_control_character(sample: Path):
    result = CliRunner().invoke(
        app, ["--root", str(sample), "new", "itsmwp", "--title", "Bell\x07"]
    )
    assert result.exit_code == 2 and "control character" in result.stderr
    assert not list((sample / "episodes/itsmwp").glob("004-*"))


# --- property-based: any front matter, any network.toml -----------------------------------------

yaml_text = st.text(
    alphabet=st.sampled_from(list(string.printable) + ["é", "\u2028", "\ufeff", "&", "*", "!"]),
    max_size=400,
)


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(front=yaml_text, body=st.text(max_size=100))
def test_any_front_matter_gives_lines_and_an_exit_code_never_a_traceback(
    sample: Path, front: str, body: str
):
    (sample / EPISODE).write_text(f"---\n{front}\n---\n{body}", encoding="utf-8")
    result = validate(sample)
    assert result.exit_code in (0, 1)
    if result.exit_code == 1:
        problems = problem_lines(result.stderr)
        assert all(line.startswith(("episodes/", "templates/")) for line in problems), problems


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(extra=yaml_text)
def test_any_network_toml_gives_lines_and_an_exit_code_never_a_traceback(sample: Path, extra: str):
    toml = sample / TOML
    original = getattr(
        test_any_network_toml_gives_lines_and_an_exit_code_never_a_traceback, "_o", None
    )
    if original is None:
        original = toml.read_text()
        test_any_network_toml_gives_lines_and_an_exit_code_never_a_traceback._o = original
    toml.write_text(original + "\n" + extra, encoding="utf-8")
    result = validate(sample)
    assert result.exit_code in (0, 1)


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.binary(max_size=300))
def test_any_bytes_as_an_episode_file_give_one_line(sample: Path, data: bytes):
    (sample / EPISODE).write_bytes(data)
    result = validate(sample)
    assert result.exit_code == 1
    problems = problem_lines(result.stderr)
    assert problems and all(line.startswith(EPISODE) for line in problems), result.stderr


# --- inputs that would break later: validate proves every file whole ---------------------------


def _truncate(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.mark.parametrize(
    ("episode", "master"),
    [
        ("episodes/itsmwp/001-incident-vs-problem.md", "001-incident-vs-problem.flac"),
        ("episodes/itsmwp/002-change-advisory-boards.md", "002-change-advisory-boards.mp3"),
    ],
)
def test_a_truncated_master_is_reported(sample: Path, episode: str, master: str):
    _truncate(sample / "episodes/itsmwp" / master, 0.5)
    message = find_problem(problems_of(sample), episode, "audio").message
    assert master in message
    assert "truncated" in message or "cannot be read" in message


def test_a_truncated_wav_master_is_reported(sample: Path):
    from podcast_tools import ffmpeg

    wav = sample / "episodes/itsmwp/003-service-desk-metrics.wav"
    ffmpeg.run(
        ["-f", "lavfi", "-i", "sine=f=440:d=20", "-c:a", "pcm_s16le", ffmpeg.input_url(wav)],
        about=wav,
    )
    _truncate(wav, 0.5)  # the header still says 20 s
    path = sample / EPISODE
    path.write_text(path.read_text().replace("003-service-desk-metrics.opus", wav.name))
    message = find_problem(problems_of(sample), EPISODE, "audio").message
    assert "truncated" in message and "20.0 s" in message


def test_a_wav_without_channels_is_reported(sample: Path):
    import struct

    wav = sample / "episodes/itsmwp/003-service-desk-metrics.wav"
    fmt = struct.pack("<HHIIHH", 1, 0, 44100, 0, 0, 16)
    data = b"\0" * 1000
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data"
    body += struct.pack("<I", len(data)) + data
    wav.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    path = sample / EPISODE
    path.write_text(path.read_text().replace("003-service-desk-metrics.opus", wav.name))
    message = find_problem(problems_of(sample), EPISODE, "audio").message
    assert "channel" in message or "cannot be read" in message


@pytest.mark.parametrize("content", [b"", b"this is not audio\n" * 20])
def test_an_empty_or_text_jingle_is_reported(sample: Path, content: bytes):
    (sample / "episodes/art/outro.mp3").write_bytes(content)
    problems = problems_of(sample)
    found = [p for p in problems if p.field.endswith("outro") and "outro.mp3" in p.message]
    assert found, "\n".join(map(str, problems))


def test_a_truncated_episode_image_is_reported(sample: Path):
    from PIL import Image

    image = sample / "episodes/itsmwp/art/003.png"
    image.parent.mkdir(exist_ok=True)
    Image.effect_noise((1400, 1400), 64).convert("RGB").save(image)
    _truncate(image, 0.6)
    path = sample / EPISODE
    path.write_text(path.read_text().replace("audio:", "image: art/003.png\naudio:", 1))
    problems = problems_of(sample)
    assert any(
        p.file == "episodes/itsmwp/art/003.png" and "truncated" in p.message for p in problems
    ), "\n".join(map(str, problems))


def test_a_truncated_chapter_image_is_reported(sample: Path):
    _truncate(sample / "episodes/itsmwp/art/001-root-cause.png", 0.5)
    problem = find_problem(
        problems_of(sample), "episodes/itsmwp/001-incident-vs-problem.md", "chapters[2].image"
    )
    assert "truncated" in problem.message


def test_notes_too_large_for_a_feed_are_reported_by_validate(sample: Path):
    path = sample / EPISODE
    path.write_text(path.read_text() + "\n" + ("Lorem ipsum dolor sit amet. " * 200_000))
    result = validate(sample)
    assert result.exit_code == 1
    assert f"{EPISODE}: notes: " in result.stderr and "4000" in result.stderr


def test_near_silence_is_not_amplified_47_db(sample: Path, tmp_path: Path):
    from podcast_tools import ffmpeg

    master = sample / "episodes/itsmwp/003-service-desk-metrics.wav"
    ffmpeg.run(
        [
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=a=0.002:c=pink:d=8",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
            ffmpeg.input_url(master),
        ],
        about=master,
    )
    path = sample / EPISODE
    path.write_text(path.read_text().replace("003-service-desk-metrics.opus", master.name))
    text = path.read_text()
    path.write_text(text[: text.index("chapters:")] + text[text.index("---", 4) :])
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["--root", str(sample), "process", str(path), "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{EPISODE}: audio: the recording measures -")
    assert "LUFS" in lines[0] and "max_gain_db" in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_problems_with_line_breaks_in_values_stay_one_line_each(sample: Path):
    path = sample / EPISODE
    text = path.read_text()
    path.write_text(text.replace("number: 3", 'number: 3\nexplicit: "yes\\nno \\u001b[2J"', 1))
    result = validate(sample)
    assert result.exit_code == 1
    assert "\x1b" not in result.stderr
    problems = problem_lines(result.stderr)
    assert problems and all(line.startswith("episodes/") for line in problems), result.stderr
    assert any("explicit" in line and "\\n" in line for line in problems)


def test_a_vbr_mp3_without_a_xing_header_is_measured_not_called_truncated(sample: Path):
    from podcast_tools import ffmpeg
    from podcast_tools.media_checks import load_checked_network

    master = sample / "episodes/itsmwp/003-vbr.mp3"
    ffmpeg.run(
        [
            "-f",
            "lavfi",
            "-i",
            "anullsrc=r=44100:cl=stereo:d=5",
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=25",
            "-filter_complex",
            "[0][1]concat=n=2:v=0:a=1",
            "-c:a",
            "libmp3lame",
            "-q:a",
            "6",
            "-write_xing",
            "0",
            ffmpeg.input_url(master),
        ],
        about=master,
    )  # mutagen alone would say 50 s: it guesses from the first (silent, 32 kbps) frame
    path = sample / EPISODE
    path.write_text(path.read_text().replace("003-service-desk-metrics.opus", master.name))
    network = load_checked_network(sample)
    episode = next(e for e in network.episodes if e.slug == "003-service-desk-metrics")
    assert network.durations[episode.guid] == pytest.approx(30.0, abs=0.1)


def test_any_bytes_problems_are_single_lines(sample: Path):
    (sample / EPISODE).write_bytes(b"---\ntitle: [\x0b\n---\n\xff\xfe")
    result = validate(sample)
    assert result.exit_code == 1
    problems = problem_lines(result.stderr)
    assert problems and all(line.startswith(EPISODE) for line in problems), result.stderr
