"""podcast_tools as its users get it: an sdist and a wheel built from this checkout (the wheel
from the sdist, as `python -m build` does), the wheel installed NON-editable with the pinned
versions of constraints.txt in a fresh virtual environment — what `pip install .`, `pipx install .`
and the CI workflow do. Built once per test session and shared by test_install and test_workflow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONSTRAINTS = REPO / "constraints.txt"

# Any HTTP(S) request a podcast command makes goes to a closed port on this machine instead of
# out: the sample network's base_url (and anything else beyond 127.0.0.1) is never fetched.
NO_NETWORK = {
    name: "http://127.0.0.1:9"
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")
}


@dataclass(frozen=True)
class Installed:
    venv: Path
    sdist: Path
    wheel: Path
    outside: Path  # a folder outside the repository to run commands from

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment a user of this venv has: its bin first on PATH, no PYTHONPATH (so the
        checkout cannot be imported by accident), no route beyond 127.0.0.1."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env.update(NO_NETWORK)
        for name in ("no_proxy", "NO_PROXY"):
            env.pop(name, None)
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.venv)
        env.update(extra)
        return env

    def run(self, *args: str | Path, cwd: Path | None = None, timeout: float = 600):
        """Run a command of the venv (e.g. "podcast", "python") from outside the repository."""
        command = [str(self.bin / str(args[0])), *map(str, args[1:])]
        return subprocess.run(
            command,
            cwd=cwd or self.outside,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _run(command: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess:
    # without PYTHONPATH: a checkout on it (with its podcast_tools.egg-info, which building the
    # sdist writes) reads to pip as podcast_tools installed already, and the wheel is skipped
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


_installed: Installed | None = None


def installed_package(tmp_path_factory) -> Installed:
    """Build and install once per session (every caller gets the same venv)."""
    global _installed
    if _installed is None:
        _installed = _build_and_install(tmp_path_factory.mktemp("installed"))
    return _installed


def _build_and_install(base: Path) -> Installed:
    outside = base / "work"
    outside.mkdir()
    assert REPO not in outside.parents and outside != REPO, "the work folder must lie outside"
    dist = base / "dist"
    # sdist first, then the wheel from the unpacked sdist, each in an isolated build environment:
    # a file missing from the sdist is missing from the wheel too.
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(REPO)], outside, "build")
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], outside, "python -m venv")
    _run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "-c",
            str(CONSTRAINTS),
            f"{wheel}[transcribe]",  # as the README installs it (the sample transcribes)
        ],
        outside,
        "pip install <wheel>[transcribe] -c constraints.txt",
    )
    return Installed(venv=venv, sdist=sdist, wheel=wheel, outside=outside)


def _episodes_by_show(root: Path) -> dict[str, set[str]]:
    """Each show's episode guids, from the front matter: its own folder and cross-posts."""
    shows = tomllib.loads((root / "episodes" / "network.toml").read_text())["shows"]
    wanted: dict[str, set[str]] = {show: set() for show in shows}
    for path in (root / "episodes").glob("*/*.md"):
        front = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        for show in [path.parent.name, *front.get("shows", [])]:
            wanted[show].add(front["guid"])
    return wanted


def check_published(root: Path, public: Path) -> dict[str, ET.Element]:
    """Every show has a feed holding exactly its episodes, and every enclosure is an MP3 in the
    published folder with the size the feed says. Returns the feeds' <channel> elements."""
    network = tomllib.loads((root / "episodes" / "network.toml").read_text())
    base = network["network"]["base_url"]
    channels = {}
    for show, guids in _episodes_by_show(root).items():
        feed = public / show / "feed.xml"
        assert feed.is_file(), f"no feed for {show}"
        channel = ET.parse(feed).getroot().find("channel")
        items = channel.findall("item")
        assert {item.findtext("guid") for item in items} == guids, show
        for item in items:
            enclosure = item.find("enclosure")
            assert enclosure.get("type") == "audio/mpeg"
            url = enclosure.get("url")
            assert url.startswith(base), url
            mp3 = public / url.removeprefix(base)
            assert mp3.is_file() and mp3.suffix == ".mp3", url
            assert mp3.stat().st_size == int(enclosure.get("length")) > 10_000
            assert mp3.read_bytes()[:3] == b"ID3"
        channels[show] = channel
    return channels
