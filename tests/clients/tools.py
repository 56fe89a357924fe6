"""The clients listeners use, from the npm registry: podcast-partytime (the Podcast Index's feed
parser) and @ffprobe-installer/ffprobe (an ffprobe binary shipped inside the npm package), pinned
by package-lock.json in this folder and installed by `npm ci --prefix tests/clients`, a step of
the README's test command (the tests themselves contact nothing beyond 127.0.0.1).

Nothing here skips: without node or npm, or when node_modules does not match the lockfile, the
tests that need them fail with a message that says what to install or run.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

CLIENTS_DIR = Path(__file__).resolve().parent
PARTYTIME_SCRIPT = CLIENTS_DIR / "partytime.mjs"
INSTALL_HINT = (
    "install Node.js with npm (e.g. `apt-get install nodejs npm`), then run "
    "`npm ci --prefix tests/clients`"
)


@dataclass(frozen=True)
class Clients:
    node: str
    ffprobe: Path


def stale_reason(folder: Path = CLIENTS_DIR) -> str | None:
    """Why node_modules does not match package-lock.json (None: it does).

    Every locked package must be installed at its locked version; optional ones (the ffprobe
    binaries of other platforms) may be absent. npm writes node_modules/.package-lock.json at the
    end of a complete install, so its absence means none, or one that was interrupted."""
    modules = folder / "node_modules"
    if not (modules / ".package-lock.json").is_file():
        return f"{modules} is missing or incomplete"
    lock = json.loads((folder / "package-lock.json").read_text(encoding="utf-8"))
    for path, locked in lock["packages"].items():
        if not path:
            continue  # the root project itself
        manifest = folder / path / "package.json"
        if not manifest.is_file():
            if locked.get("optional"):
                continue
            return f"{path} is not installed"
        installed = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        if installed != locked["version"]:
            return f"{path} is {installed}, the lockfile pins {locked['version']}"
    return None


def _run(
    args: list[str],
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
):
    return subprocess.run(
        args,
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def _shorten(text: str, limit: int = 3000) -> str:
    """npm's error comes first and its log's path last: keep both ends of a long message."""
    return text if len(text) <= limit else f"{text[: limit - 600]}\n…\n{text[-500:]}"


def install(folder: Path = CLIENTS_DIR, *, path: str | None = None) -> Clients:
    """node + the locked npm packages, as `npm ci --prefix tests/clients` installed them (part of
    the README's test command and of .ci/run). The tests never install anything themselves — the
    suite contacts nothing beyond 127.0.0.1 — so they fail (never skip) with what to run when node
    or npm is missing or node_modules differs from the lockfile.

    `path` is the PATH to look for node and npm on (default: this process's)."""
    node = shutil.which("node", path=path)
    npm = shutil.which("npm", path=path)
    missing = [name for name, found in (("node", node), ("npm", npm)) if not found]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found on PATH: the client tests run podcast-partytime "
            f"and ffprobe from npm; {INSTALL_HINT}",
            pytrace=False,
        )
    reason = stale_reason(folder)
    if reason is not None:
        pytest.fail(
            f"the client tests' npm packages are not installed as locked ({reason}): run "
            "`npm ci --prefix tests/clients` (the README's test command does)",
            pytrace=False,
        )
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return Clients(node=node, ffprobe=_ffprobe_path(node, folder, env))


def _ffprobe_path(node: str, folder: Path, env: dict[str, str]) -> Path:
    """The binary the npm package ships for this platform, as the package itself names it."""
    done = _run(
        [node, "-e", "process.stdout.write(require('@ffprobe-installer/ffprobe').path)"],
        cwd=folder,
        timeout=60,
        env=env,
    )
    if done.returncode != 0:
        pytest.fail(
            f"@ffprobe-installer/ffprobe has no ffprobe for this platform:\n{done.stderr.strip()}",
            pytrace=False,
        )
    binary = Path(done.stdout.strip())
    if not os.access(binary, os.X_OK):
        # its postinstall script (`chmod u+x ffprobe`) does not run where npm skips scripts
        binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    check = _run([str(binary), "-version"], cwd=folder, timeout=60)
    if check.returncode != 0 or not check.stdout.startswith("ffprobe version"):
        pytest.fail(f"{binary} does not run here:\n{check.stderr.strip()}", pytrace=False)
    return binary


def partytime(clients: Clients, feed: Path) -> dict:
    """podcast-partytime's parse of a feed file: {"warnings": [...], "feed": {...}}."""
    done = _run([clients.node, str(PARTYTIME_SCRIPT), str(feed)], cwd=CLIENTS_DIR, timeout=120)
    assert done.returncode == 0, f"partytime could not parse {feed}:\n{done.stderr}"
    return json.loads(done.stdout)


def ffprobe(clients: Clients, media: Path) -> dict:
    """ffprobe's chapters, format and streams (with tags) of a media file, as JSON (Ogg keeps
    its comments on the stream)."""
    done = _run(
        [
            str(clients.ffprobe),
            "-v",
            "error",
            "-show_chapters",
            "-show_format",
            "-show_streams",
            "-of",
            "json",
            str(media),
        ],
        cwd=CLIENTS_DIR,
        timeout=120,
    )
    assert done.returncode == 0, f"ffprobe failed on {media}:\n{done.stderr}"
    return json.loads(done.stdout)
