"""`--help` for people (no raw Python types, whatever the terminal) and shell completion."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import pytest
import typer.main
from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.clihelp import Typer
from tests.conftest import podcast


def command_tree():
    """(path, click command) for the `podcast` group and every command under it."""
    found = []

    def walk(path: tuple[str, ...], command) -> None:
        found.append((path, command))
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk((*path, name), sub)

    walk((), typer.main.get_command(app))
    return found


COMMANDS = [path for path, _ in command_tree()]
# Python's own names for types, as typer 0.29 prints them in help (<bool>, <list[Path]>, <str>)
PYTHON_TYPE = re.compile(
    r"<\s*(?:bool|str|int|float|bytes|Path|path|file|dir|datetime|UUID|uuid|Enum"
    r"|list\[[^\]]*\]|tuple\[[^\]]*\]|dict\[[^\]]*\]|Optional\[[^\]]*\])\s*>"
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def own_help_texts() -> str:
    """Every help text we wrote: the angle brackets in them (<show>, <slug>) are ours."""
    texts = []
    for _, command in command_tree():
        texts.append(command.help or "")
        texts.extend(getattr(p, "help", None) or "" for p in command.params)
    return "\n".join(texts)


def assert_no_raw_types(text: str, where: str) -> None:
    text = ANSI.sub("", text)
    assert not PYTHON_TYPE.findall(text), f"{where}: raw Python types in help:\n{text}"
    ours = own_help_texts()
    strangers = {t for t in re.findall(r"<[^<>\n]+>", text) if t not in ours}
    assert not strangers, f"{where}: {sorted(strangers)} in help:\n{text}"
    # typer shows parameter names it was not given a metavar for as {python_name}
    assert not re.findall(r"\{[a-z_]+\}", text), f"{where}: a Python name in help:\n{text}"


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "podcast")
@pytest.mark.parametrize(
    "env",
    [{"COLUMNS": "200"}, {"COLUMNS": "80", "TERM": "dumb"}, {"COLUMNS": "60", "NO_COLOR": "1"}],
    ids=["wide", "dumb", "narrow"],
)
def test_help_shows_no_raw_python_types(path: tuple[str, ...], env: dict[str, str]):
    result = CliRunner().invoke(app, [*path, "--help"], env=env, prog_name="podcast")
    assert result.exit_code == 0, result.output
    assert "Usage: podcast" in ANSI.sub("", result.stdout)
    assert_no_raw_types(result.stdout, f"podcast {' '.join(path)} --help ({env})")


@pytest.mark.slow
@pytest.mark.parametrize("rich", ["1", "0"], ids=["rich", "plain"])
def test_help_of_the_installed_command_piped(rich: str):
    """The real console script, piped (not a terminal), with typer's rich and plain formatters."""
    env = {"TYPER_USE_RICH": rich, "TERM": "dumb", "COLUMNS": "100"}
    for path in COMMANDS:
        done = podcast(None, *path, "--help", process=True, ok=True, env=env)
        assert_no_raw_types(done.stdout, f"podcast {' '.join(path)} --help (TYPER_USE_RICH={rich})")


def test_help_names_the_values_options_take():
    result = CliRunner().invoke(app, ["publish", "--help"], env={"COLUMNS": "200"})
    text = ANSI.sub("", result.stdout)
    assert re.search(r"--storage\s+URL\b", text) and re.search(r"--changed-since\s+GIT_REV", text)
    assert "[EPISODE_FILE]..." in text and "[[" not in text
    process = ANSI.sub("", CliRunner().invoke(app, ["process", "--help"]).stdout)
    assert re.search(r"--out\s+DIR\b", process) and "EPISODE_FILE" in process
    new = ANSI.sub("", CliRunner().invoke(app, ["new", "--help"], env={"COLUMNS": "200"}).stdout)
    assert re.search(r"--audio\s+FILE\b", new) and re.search(r"--title\s+TEXT\b", new)


def test_flags_take_no_value_in_help():
    text = ANSI.sub(
        "", CliRunner().invoke(app, ["process", "--help"], env={"COLUMNS": "200"}).stdout
    )
    line = next(line for line in text.splitlines() if "--verify" in line)
    assert re.search(r"--verify\s+Decode every finished file", line), line


def test_completion_options_are_offered():
    text = ANSI.sub("", CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout)
    assert "--install-completion" in text and "--show-completion" in text


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o default -F"), ("zsh", "compdef")])
def test_show_completion_prints_the_script_for_a_shell(shell: str, marker: str):
    # typer takes the shell as a value (instead of detecting the parent shell) with this variable
    env = {**os.environ, "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from podcast_tools.cli import main; main()",
            "--show-completion",
            shell,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert marker in done.stdout and "_PODCAST_COMPLETE" in done.stdout


def test_completion_completes_commands_and_options():
    """What the installed script asks the program: bash's words so far → the candidates."""
    env = {
        **os.environ,
        "_PODCAST_COMPLETE": "complete_bash",
        "COMP_WORDS": "podcast pub",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", "from podcast_tools.cli import main; main()"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.stdout.split() == ["publish"], done.stdout + done.stderr
    env.update(COMP_WORDS="podcast publish --dr", COMP_CWORD="2")
    done = subprocess.run(
        [sys.executable, "-c", "from podcast_tools.cli import main; main()"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.stdout.split() == ["--dry-run"], done.stdout + done.stderr


class Colour(str, Enum):
    red = "red"
    blue = "blue"


def test_parameters_without_a_metavar_never_show_python_types():
    """The rules of podcast_tools.clihelp on a small app: name in capitals, choices, no flags."""
    demo = Typer(add_completion=False)

    @demo.command()
    def paint(
        things: Annotated[list[Path], typer.Argument(help="What to paint.")],
        link: Annotated[str, typer.Option("--link", help="Where.")] = "",
        colour: Annotated[Colour, typer.Option("--colour", help="Which.")] = Colour.red,
        coats: Annotated[int, typer.Option("--coats", help="How many.")] = 1,
        verbose: Annotated[bool, typer.Option("--verbose", help="Talk.")] = False,
    ) -> None:
        typer.echo(f"{len(things)} {link} {colour.value} {coats} {verbose}")

    @demo.command()
    def dry() -> None:
        """Nothing."""

    result = CliRunner().invoke(demo, ["paint", "--help"], env={"COLUMNS": "120"})
    text = ANSI.sub("", result.stdout)
    assert not PYTHON_TYPE.findall(text), text
    assert re.search(r"--link\s+LINK\s+Where", text) and re.search(r"--coats\s+COATS\s", text)
    assert re.search(r"--colour\s+<?red\|blue>?", text) and re.search(r"--verbose\s+Talk", text)
    assert re.search(r"THINGS\.\.\.\s+What to paint", text) and "{THINGS}..." in text
    ran = CliRunner().invoke(demo, ["paint", "a", "b", "--link", "x", "--colour", "blue"])
    assert ran.stdout.strip() == "2 x blue 1 False", ran.output  # parsing is typer's, unchanged


def test_help_paragraphs_are_wrapped_by_the_terminal_not_the_source():
    """A docstring's line breaks broke sentences mid-line in a narrower terminal ("3
    storage/network\\nfailure\\n(or, …"): each paragraph reaches the terminal as one line (list
    items stay lines of their own), and the terminal wraps it at its width."""
    wide = podcast(None, "publish", "--help", env={"COLUMNS": "200"}, ok=True).stdout
    assert "3 storage/network failure (or, with --check-public, a public check failed)" in wide
    root = typer.main.get_command(app)
    commands = [root, *root.commands.values()]
    commands += [sub for c in root.commands.values() for sub in getattr(c, "commands", {}).values()]
    for command in commands:
        for paragraph in (command.help or "").split("\n\n"):
            inner = paragraph.split("\n")[1:]
            assert all(line.startswith(("-", "*", "•")) for line in inner), (command.name, paragraph)


def test_the_version_has_a_short_option():
    for option in ("--version", "-V"):
        assert podcast(None, option, ok=True).stdout.startswith("podcast_tools ")
