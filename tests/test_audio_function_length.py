"""No function of the audio package (the stage chain's house) runs over 100 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import podcast_tools

AUDIO = Path(podcast_tools.__file__).resolve().parent / "audio"
MAX_LINES = 100


def long_functions(folder: Path) -> list[str]:
    found = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                lines = node.end_lineno - first + 1
                if lines > MAX_LINES:
                    found.append(f"{path.name}:{node.name} is {lines} lines")
    return found


def test_no_function_of_the_audio_package_is_over_100_lines():
    assert list(AUDIO.glob("*.py")), AUDIO
    assert long_functions(AUDIO) == []
