"""The house's size rule (docs/architecture.md): no function of the package is longer than a
hundred lines — a longer one holds several decisions that want names of their own."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "podcast_tools"
LIMIT = 100


def long_functions(source: str, name: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines = node.end_lineno - node.lineno + 1
            if lines > LIMIT:
                found.append(f"{name}:{node.lineno} {node.name}: {lines} lines")
    return found


def test_no_function_is_longer_than_a_hundred_lines():
    long = [
        entry
        for path in sorted(PACKAGE.rglob("*.py"))
        for entry in long_functions(path.read_text(encoding="utf-8"), str(path))
    ]
    assert long == [], "functions over 100 lines:\n" + "\n".join(long)


def test_the_check_sees_a_long_method_and_spares_one_at_the_limit():
    body = "        x = 1\n"
    source = (
        "class C:\n    def long(self):\n" + body * LIMIT + "    def fits(self):\n" + body * 99
    )
    assert long_functions(source, "probe.py") == ["probe.py:2 long: 101 lines"]
