"""The npm clients: pinned from the npm registry only, installed when node_modules is stale, and a
clear failure — never a skip — when node or npm is missing or the install fails."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.clients import tools

LOCK = json.loads((tools.CLIENTS_DIR / "package-lock.json").read_text(encoding="utf-8"))
MANIFEST = json.loads((tools.CLIENTS_DIR / "package.json").read_text(encoding="utf-8"))


def test_dependencies_are_pinned_to_registry_packages():
    wanted = {"podcast-partytime", "@ffprobe-installer/ffprobe", "axe-core"}
    assert set(MANIFEST["dependencies"]) == wanted
    for name, version in MANIFEST["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name}: pin an exact version"
    root = LOCK["packages"][""]["dependencies"]
    assert root == MANIFEST["dependencies"], "package-lock.json is not in sync with package.json"
    for path, package in LOCK["packages"].items():
        if not path:
            continue
        assert path.startswith("node_modules/"), f"{path}: not a registry package"
        assert package.get("integrity", "").startswith("sha512-"), f"{path}: no integrity"
        assert not package.get("link"), f"{path}: a link, not a registry package"
        resolved = package.get("resolved")
        assert resolved is None or resolved.startswith("https://registry.npmjs.org/"), (
            f"{path}: resolved from {resolved}"
        )
        assert re.fullmatch(r"\d+\.\d+\.\d+(-[\w.]+)?", package["version"]), path


def test_missing_node_and_npm_fail_with_what_to_do(tmp_path: Path):
    with pytest.raises(pytest.fail.Exception) as failed:
        tools.install(path=str(tmp_path))  # a PATH with neither node nor npm
    message = str(failed.value)
    assert "node and npm not found" in message
    assert "npm ci --prefix tests/clients" in message


def test_packages_not_installed_as_locked_fail_with_the_command_to_run(tmp_path: Path):
    shutil.copy(tools.CLIENTS_DIR / "package.json", tmp_path)
    with pytest.raises(pytest.fail.Exception) as failed:
        tools.install(tmp_path)  # nothing installed: the tests never install it themselves
    message = str(failed.value)
    assert "npm ci --prefix tests/clients" in message
    assert "missing or incomplete" in message  # why
    assert not (tmp_path / "node_modules").exists()


def _fake_install(folder: Path, versions: dict[str, str]) -> None:
    shutil.copy(tools.CLIENTS_DIR / "package-lock.json", folder)
    (folder / "node_modules").mkdir()
    (folder / "node_modules" / ".package-lock.json").write_text("{}")
    for path, version in versions.items():
        (folder / path).mkdir(parents=True)
        (folder / path / "package.json").write_text(json.dumps({"version": version}))


def test_node_modules_that_differ_from_the_lockfile_are_stale(tmp_path: Path):
    locked = {path: p["version"] for path, p in LOCK["packages"].items() if path}
    required = {path: v for path, v in locked.items() if not LOCK["packages"][path].get("optional")}
    assert tools.stale_reason(tmp_path) is not None  # nothing installed

    current = tmp_path / "current"
    current.mkdir()
    _fake_install(current, required)  # optional binaries of other platforms may be absent
    assert tools.stale_reason(current) is None

    older = tmp_path / "older"
    older.mkdir()
    partytime = "node_modules/podcast-partytime"
    _fake_install(older, {**required, partytime: "0.0.1"})
    reason = tools.stale_reason(older)
    assert reason == f"{partytime} is 0.0.1, the lockfile pins {locked[partytime]}"

    partial = tmp_path / "partial"
    partial.mkdir()
    _fake_install(partial, {k: v for k, v in required.items() if "partytime" not in k})
    assert tools.stale_reason(partial) == "node_modules/podcast-partytime is not installed"


def test_the_installed_clients_run(clients):
    assert tools.stale_reason() is None
    version = tools._run([str(clients.ffprobe), "-version"], cwd=tools.CLIENTS_DIR, timeout=60)
    assert version.stdout.startswith("ffprobe version")
    assert version.returncode == 0
