"""Session fixtures of the client tests: the npm clients, installed once, and the sample network
published once to a file:// folder (real mastering), shared by every test in this folder."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.content import Episode, Network
from podcast_tools.layout import file_hash
from podcast_tools.media_checks import load_checked_network
from tests.clients import tools
from tests.conftest import REPO, edit

#: The episode the copy adds, dated a month after the run: nothing of it is published (no media,
#: no manifest entry, in no feed) until its time comes.
SCHEDULED = "episodes/itsmwp/004-scheduled-problem-reviews.md"
SCHEDULED_GUID = "6b0c8f7e-2f7e-4b1e-9f43-0c1d2e3f4a5b"
#: The cross-posted episode; the copy gives it the optional fields the sample has nowhere else
#: (an episode image, a transcript, a person outside the cast group), so every field reaches the
#: clients from a real publish. Two more get an explicit flag and a bonus type.
CROSS_POSTED = "episodes/itsmwp/002-change-advisory-boards.md"
EXPLICIT = "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"
BONUS = "episodes/itsmwp-anz/002-itil4-in-nz-government.md"


@pytest.fixture(scope="session")
def clients() -> tools.Clients:
    """node, partytime and ffprobe from tests/clients (npm ci when node_modules is stale)."""
    return tools.install()


@dataclass
class Published:
    """The sample network's copy and the folder it was published to."""

    root: Path  # the network copy (episodes/, templates/, build/)
    store: Path  # the published folder: what the storage's public URL serves
    network: Network
    summary: dict  # publish --json
    seconds: float  # how long the publish took
    started: datetime | None = None  # when the publish began (its feeds are dated after)
    ended: datetime | None = None

    @property
    def base(self) -> str:
        return self.network.settings.base_url

    def local(self, url: str) -> Path:
        """The published file behind a public URL (the base URL is never fetched)."""
        assert url.startswith(self.base), f"{url} is not under the base URL {self.base}"
        path = self.store / url.removeprefix(self.base)
        assert path.is_file(), f"{url}: nothing published at {path}"
        return path

    def url(self, path: Path) -> str:
        return self.base + path.relative_to(self.store).as_posix()

    def episode(self, guid: str) -> Episode:
        return next(e for e in self.network.episodes if e.guid == guid)

    def published_file(self, episode: Episode, kind: str, suffix: str) -> Path:
        """The one published file of an episode: its MP3 (kind "") or its chapters, transcript,
        image ("chapters", …), found by name in the folder, not from any feed."""
        stem = f"{episode.slug}-{kind}-" if kind else f"{episode.slug}-"
        folder = self.store / episode.show / "episodes"
        found = [
            p
            for p in folder.glob(f"{stem}*{suffix}")
            if len(p.name) == len(stem) + 12 + len(suffix)  # <stem><12 hex><suffix>
        ]
        assert len(found) == 1, f"{episode.slug}: published {kind or 'audio'} files: {found}"
        return found[0]

    def audio(self, episode: Episode) -> Path:
        mp3 = self.published_file(episode, "", ".mp3")
        assert file_hash(mp3).startswith(mp3.stem.rsplit("-", 1)[1]), f"{mp3}: hash in its name"
        return mp3

    def report(self, episode: Episode) -> dict:
        """The build report (`build/<show>/<slug>.json`) of the published MP3."""
        path = self.root / "build" / episode.show / f"{episode.slug}.json"
        return json.loads(path.read_text(encoding="utf-8"))

    def feed_path(self, show_id: str) -> Path:
        return self.local(self.network.feed_url(show_id))


def _network_copy(root: Path) -> None:
    shutil.copytree(REPO / "episodes", root / "episodes")
    shutil.copytree(REPO / "templates", root / "templates")
    episodes = root / "episodes" / "itsmwp"
    Image.new("RGB", (1400, 1400), (32, 96, 160)).save(episodes / "art" / "002-cover.png")
    (episodes / "002-change-advisory-boards.vtt").write_text(
        "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\nDo change advisory boards still earn their "
        "place?\n",
        encoding="utf-8",
    )
    edit(
        root / CROSS_POSTED,
        "shows: [itsmwp-anz]",
        "shows: [itsmwp-anz]\n"
        "image: art/002-cover.png\n"
        "transcript: 002-change-advisory-boards.vtt\n"
        "persons:\n"
        "  - { name: Alex Host, role: host }\n"
        "  - { name: Cleo Art, role: Cover Art Designer, group: Visuals,"
        " href: 'https://itsmweekly.example/people/cleo' }",
    )
    edit(root / EXPLICIT, "audio: 001-", "explicit: true\naudio: 001-")
    edit(root / BONUS, "audio: 002-", "type: bonus\naudio: 002-")
    when = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    (root / SCHEDULED).write_text(
        f"""---
title: Problem Reviews Nobody Skips
guid: {SCHEDULED_GUID}
date: {when.isoformat()}
number: 4
season: 1
audio: 003-service-desk-metrics.opus
chapters:
  - start: 0
    title: Introduction
  - start: 6.13
    title: Reviews that change something
---

Scheduled: in no feed until its date.
""",
        encoding="utf-8",
    )


@pytest.fixture(scope="session")
def published(tmp_path_factory) -> Published:
    """A copy of the sample network (+ a scheduled episode) published once to a file:// folder:
    validated, mastered with ffmpeg, tagged, uploaded and its feeds written, as `podcast publish`
    does it."""
    root = tmp_path_factory.mktemp("clients") / "network"
    _network_copy(root)
    store = root.parent / "public"
    started = time.monotonic()
    began = datetime.now(timezone.utc).replace(microsecond=0)
    result = CliRunner().invoke(
        app,
        ["--root", str(root), "publish", "--storage", f"file://{store}", "--json"],
        env={"SOURCE_DATE_EPOCH": None},  # the run's own clock: the dates clients show
    )
    ended = datetime.now(timezone.utc)
    seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    network = load_checked_network(root)
    assert any(e.guid == SCHEDULED_GUID for e in network.episodes)
    return Published(root, store, network, summary, seconds, began, ended)


@pytest.fixture(scope="session")
def probed(clients: tools.Clients, published: Published) -> dict[str, dict]:
    """ffprobe's view (chapters, format, tags) of every published MP3, by episode guid."""
    return {
        episode.guid: tools.ffprobe(clients, published.audio(episode))
        for episode in published.network.episodes
        if episode.guid != SCHEDULED_GUID
    }
