"""Fixtures of the real-browser tests: Debian's chromium (tests/system-packages.sh, the
first step of the README's test command) driven by Playwright — never a browser Playwright
downloads itself — and the sample network served by the real `podcast preview`.

- `browser`: one chromium for the session. Without chromium the tests are skipped, saying how to
  install it — except in CI (`CI` set), where a missing browser fails them.
- `page`: a fresh page that records console errors, uncaught exceptions, failed requests and HTTP
  errors, and fails the test when any occurred; `new_page(**context_options)` makes more such
  pages, each in a context of its own (dark colour scheme, a phone's viewport, no JavaScript …).
- `axe`, called as `axe(page)`: axe-core (pinned in tests/clients/package.json) run on the page; the violations of
  impact serious or critical.
- `preview_server`: `podcast preview --port 0` serving a processed copy of the sample network
  (and a five-minute episode, `LONG_GUID`, and the ANZ show's first episode in its three
  formats, `ANZ_EPISODE`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podcast_tools.cli import app
from tests.clients.tools import CLIENTS_DIR, stale_reason
from tests.preview_network import PreviewProcess, copy_network, run_preview

AXE = CLIENTS_DIR / "node_modules" / "axe-core" / "axe.min.js"
INSTALL = "tests/system-packages.sh"
#: Chromium lets media play without a click (a test cannot click "play" as a person does).
LAUNCH_ARGS = ["--autoplay-policy=no-user-gesture-required"]
SERIOUS = ("serious", "critical")


def chromium_path() -> str | None:
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    executable = chromium_path()
    if executable is None:
        reason = f"chromium is not installed (Debian's package): run {INSTALL}, the first step of the README's test command"
        if os.environ.get("CI"):
            pytest.fail(f"in CI the browser tests must run: {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    args = list(LAUNCH_ARGS)
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # chromium refuses to run its sandbox as root
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield launched
        finally:
            launched.close()


def _wanted_failure(request) -> bool:
    """A failed request is a problem, except a media download the player cancelled itself
    (chromium drops the download in flight when it seeks or has buffered enough, and asks again
    with a Range when it needs more) and the icon's fetch cancelled by leaving the page."""
    aborted = "ERR_ABORTED" in (request.failure or "")
    # the site's icon: chromium fetches it after the load event and drops it when a test
    # navigates on at once (HTTP errors of the icon still count, through `response`)
    icon = "/assets/icon-" in request.url or request.url.endswith("/favicon.ico")
    return not (aborted and (request.resource_type == "media" or icon))


def watch(opened) -> list[str]:
    """Record the page's console errors, uncaught exceptions, failed requests and HTTP errors in
    `opened.problems` (a test that causes one on purpose clears it); returns that list."""
    problems: list[str] = []

    def console(message) -> None:
        if message.type == "error":
            problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def failed(request) -> None:
        if _wanted_failure(request):
            problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def response(answer) -> None:
        if answer.status >= 400:
            problems.append(f"HTTP {answer.status}: {answer.request.method} {answer.url}")

    opened.on("console", console)
    opened.on("pageerror", lambda error: problems.append(f"uncaught exception: {error}"))
    opened.on("requestfailed", failed)
    opened.on("response", response)
    opened.problems = problems
    return problems


@pytest.fixture
def new_page(browser) -> Iterator:
    """`new_page(**options)`: a page in a new browser context made with Playwright's context
    options (`color_scheme="dark"`, `viewport=…`, `java_script_enabled=False` …), watched as
    `page` is; the test fails at its end if any of them had a problem."""
    contexts = []
    pages = []

    def make(**options):
        context = browser.new_context(**options)
        contexts.append(context)
        opened = context.new_page()
        watch(opened)
        pages.append(opened)
        return opened

    yield make
    for context in contexts:
        context.close()
    problems = [problem for opened in pages for problem in opened.problems]
    if problems:
        pytest.fail("the page had problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def page(new_page):
    """A fresh page (a new context with Playwright's defaults) that fails the test on a console
    error, an uncaught exception, a failed request or an HTTP error."""
    return new_page()


def axe_violations(page) -> list[dict]:
    """axe-core's violations of impact serious or critical on the page as it is now."""
    if not AXE.is_file():
        reason = stale_reason() or f"{AXE} is missing"
        pytest.fail(
            f"axe-core is not installed as locked ({reason}): run `npm ci --prefix tests/clients`",
            pytrace=False,
        )
    page.add_script_tag(path=str(AXE))
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in results["violations"] if v.get("impact") in SERIOUS]


@pytest.fixture
def axe():
    """`axe(page)`: the serious and critical axe-core violations of the page as it is now."""
    return axe_violations


def describe(violations: list[dict]) -> str:
    """One line per violation and node, for an assertion message."""
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {node['target']}"
        for v in violations
        for node in v["nodes"]
    )


#: An episode five minutes long (≈ 4.8 MB of MP3), added to the browser tests' copy: long enough
#: that chromium cannot have it all when it seeks near the end, so it asks for a byte range.
LONG = "episodes/itsmwp/005-the-long-interview.md"
LONG_GUID = "3f0d3c1e-8a4b-4d6f-b2a1-5c7e9d0f1a2b"
LONG_SECONDS = 300
#: An episode of the ANZ show (language en-au), published as MP3, M4A and Opus.
ANZ_EPISODE = "episodes/itsmwp-anz/001-major-incidents.md"


def _add_long_episode(root: Path) -> None:
    from podcast_tools.audio.synth import speech_like_master

    speech_like_master(
        root / "episodes" / "itsmwp" / "005-the-long-interview.flac",
        LONG_SECONDS,
        codec_args=("-c:a", "flac"),
    )
    (root / LONG).write_text(
        f"---\ntitle: The Long Interview\nguid: {LONG_GUID}\n"
        "date: 2026-10-28T09:00:00+00:00\nnumber: 5\nseason: 1\n"
        "audio: 005-the-long-interview.flac\n---\n\nFive minutes with a guest.\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(app, ["--root", str(root), "process", str(root / LONG)])
    assert done.exit_code == 0, done.output


@pytest.fixture(scope="session")
def preview_server(processed_network: Path, tmp_path_factory) -> Iterator[PreviewProcess]:
    """The real `podcast preview --port 0` for a processed copy of the sample network (with a
    five-minute episode, LONG); stopped with Ctrl-C (SIGINT) at the end, which must end it
    cleanly."""
    root = copy_network(processed_network, tmp_path_factory.mktemp("browser") / "network")
    _add_long_episode(root)
    done = CliRunner().invoke(app, ["--root", str(root), "process", str(root / ANZ_EPISODE)])
    assert done.exit_code == 0, done.output
    running = run_preview(root)
    yield running
    code, lines, err = running.stop()
    assert (code, lines[-1], err) == (0, "preview stopped", ""), (code, lines, err)
