"""Screenshots of the listeners' website for the README and the guide (docs/website.md): a show's
page and an episode's page at a desktop width (1280×800) and a phone's (390×844), written to docs/
(not a page of the guide: mkdocs.yml excludes *.py).

    .venv/bin/python docs/screenshots.py

Processes three episodes of a copy of the sample network (episodes/, templates/) in a temporary
folder with the real `podcast process`, serves it with the real `podcast preview` on 127.0.0.1
(its default port, 8000, so the pages show the addresses a producer sees; a free one when 8000 is
taken) and photographs the pages in Debian's chromium driven by Playwright
(tests/system-packages.sh installs it; no browser is downloaded). Each shot is the first
screen of the page (not the whole page), in the light colour scheme, at one CSS pixel per image
pixel, so the images stay small.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
EPISODE = "itsmwp/001-incident-vs-problem"
PROCESSED = (
    f"episodes/{EPISODE}.md",
    "episodes/itsmwp/002-change-advisory-boards.md",
    "episodes/itsmwp/003-service-desk-metrics.md",
)
PAGES = {"show": "itsmwp/", "episode": f"{EPISODE}.html"}
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
SERVING = re.compile(r"serving (http://127\.0\.0\.1:\d+/) — Ctrl-C stops")


def podcast(root: Path, *args: str) -> subprocess.CompletedProcess:
    """The real `podcast` command (this Python's podcast_tools) for the network at `root`."""
    command = [sys.executable, "-m", "podcast_tools", "--root", str(root), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True)


def sample_network(root: Path) -> Path:
    """The sample network in `root`, three of its episodes processed."""
    shutil.copytree(REPO / "episodes", root / "episodes")
    shutil.copytree(REPO / "templates", root / "templates")
    for name in PROCESSED:
        podcast(root, "process", str(root / name))
    return root


def start_preview(root: Path, port: int) -> tuple[subprocess.Popen, str] | None:
    """`podcast preview --port PORT` and its address; None when it did not start (port taken)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "podcast_tools",
            "--root",
            str(root),
            "preview",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if port else None,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = SERVING.fullmatch(line.rstrip("\n"))
        if match:
            return process, match.group(1)
    process.wait()
    return None


def photograph(url: str) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed: run tests/system-packages.sh")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        try:
            for size, (width, height) in SIZES.items():
                context = browser.new_context(
                    viewport={"width": width, "height": height},
                    color_scheme="light",
                    reduced_motion="reduce",
                )
                page = context.new_page()
                for name, path in PAGES.items():
                    page.goto(url + path, wait_until="load")
                    page.wait_for_function(  # every image loaded, the player's duration known
                        "() => [...document.images].every(i => i.complete)"
                        " && [...document.querySelectorAll('audio')].every(a => a.readyState >= 1)"
                    )
                    target = DOCS / f"{name}-{size}.png"
                    page.screenshot(path=str(target), scale="css", animations="disabled")
                    written.append(target)
                context.close()
        finally:
            browser.close()
    return written


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="podcast-screenshots-") as folder:
        root = sample_network(Path(folder) / "network")
        started = start_preview(root, 8000) or start_preview(root, 0)
        if started is None:
            raise SystemExit("podcast preview did not start")
        process, url = started
        try:
            written = photograph(url)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)
    for path in written:
        print(f"{path.relative_to(REPO)}: {path.stat().st_size // 1000} kB")


if __name__ == "__main__":
    main()
