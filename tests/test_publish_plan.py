"""One plan per episode: a publish run decides each episode's action once (`plan_episode`), and
renders each episode's notes, record and hashes at most once; the dry run says exactly what the
real run then does.

The publisher runs in-process on a private copy of the sample network and a folder store; the
counted functions are wrapped where they are looked up, each wrapper calling the real one.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
from collections import Counter
from pathlib import Path

import pytest

import podcast_tools.layout
import podcast_tools.notes
import podcast_tools.pipeline.fingerprints
import podcast_tools.pipeline.settings
import podcast_tools.record
from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish.run import Publisher
from podcast_tools.publish.storage import open_storage
from podcast_tools.record import EpisodeRecord
from tests.conftest import REPO, edit


def looked_up_in() -> list:
    """Every module of the package loaded now (the publisher's imports): each that looks a
    counted function up by name gets the counting wrapper."""
    return [
        module
        for name, module in sorted(sys.modules.items())
        if module is not None and (name == "podcast_tools" or name.startswith("podcast_tools."))
    ]


COUNTED = ("render_notes", "build_record", "file_hash")


def count_calls(monkeypatch) -> Counter:
    """Wrap the counted functions (and `EpisodeRecord.from_entry`) with counters that call
    through to the real ones; also list each file hashed, by the module that asked."""
    calls: Counter = Counter()
    hashed: list[tuple[str, Path]] = []  # (the module that asked, the file)

    def counting(name, real, module=None):
        @functools.wraps(real)
        def wrapper(*args, **kwargs):
            calls[name] += 1
            if name == "file_hash":
                hashed.append((module.__name__.rsplit(".", 1)[-1], Path(args[0]).resolve()))
            return real(*args, **kwargs)

        return wrapper

    for name in COUNTED:
        real = getattr(podcast_tools.layout if name == "file_hash" else podcast_tools.record, name)
        if name == "render_notes":
            real = podcast_tools.notes.render_notes
        for module in looked_up_in():
            if getattr(module, name, None) is real:
                monkeypatch.setattr(module, name, counting(name, real, module))
    real_from_entry = EpisodeRecord.from_entry.__func__
    monkeypatch.setattr(
        EpisodeRecord,
        "from_entry",
        classmethod(counting("from_entry", real_from_entry)),
    )
    return calls, hashed


def publish(root: Path, store: Path, *, dry_run: bool = False, say=None):
    network = load_checked_network(root)
    publisher = Publisher(
        network, open_storage(f"file://{store}", root), say=say or (lambda message: None)
    )
    return publisher.run(list(network.episodes), dry_run=dry_run)


@pytest.fixture(scope="module")
def published_once(tmp_path_factory) -> tuple[Path, Path]:
    """The sample network, published once to a folder store (every episode mastered)."""
    base = tmp_path_factory.mktemp("plan")
    root = base / "network"
    shutil.copytree(REPO / "episodes", root / "episodes")
    shutil.copytree(REPO / "templates", root / "templates")
    store = base / "store"
    first = publish(root, store)
    assert len(first.processed) == len(load_checked_network(root).episodes)
    return root, store


def copy_of(published: tuple[Path, Path], base: Path) -> tuple[Path, Path]:
    """A private copy of the published network, its store and the store's state."""
    root, store = published
    shutil.copytree(root, base / "network")
    for folder in (store, store.with_name(store.name + ".state")):
        shutil.copytree(folder, base / folder.name)
    return base / "network", base / store.name


@pytest.mark.slow
def test_a_no_change_publish_renders_each_episode_once(published_once, tmp_path, monkeypatch):
    """Publishing an unchanged network (in a fresh process: no hash remembered from the first
    run): each episode's notes are rendered, its record read from the manifest and built at
    most once. Files hashed: each episode's own inputs once (its master, jingles, chapter
    images, transcript and image: the fingerprint and the record need their sha256) and each
    artwork file once; the folder store hashes each object it holds at most once (its HEAD's
    sha256; S3 reads it from the object's metadata)."""
    root, store = copy_of(published_once, tmp_path)
    network = load_checked_network(root)
    episodes = len(network.episodes)
    podcast_tools.pipeline.fingerprints._master_hash.cache_clear()
    calls, hashed = count_calls(monkeypatch)
    result = publish(root, store)
    assert result.processed == [] and result.retagged == []
    assert len(result.skipped) == episodes
    assert result.uploads == [] and result.feeds == [] and not result.manifest_written
    assert calls["render_notes"] <= episodes, dict(calls)
    assert calls["from_entry"] <= episodes, dict(calls)
    assert calls["build_record"] <= episodes, dict(calls)
    inputs = 0
    for episode in network.episodes:
        edits = podcast_tools.pipeline.settings.edit_decisions(network, episode)
        inputs += 1 + (edits.intro is not None) + (edits.outro is not None)
        inputs += len([c for c in episode.chapters if c.image])
        inputs += bool(episode.transcript) + bool(episode.image)
    artwork = {network.show_path(show.artwork) for show in network.shows.values()}
    ours = [path for module, path in hashed if module != "storage"]
    assert len(ours) <= inputs + len(artwork), sorted(ours)
    twice = {path: n for path, n in Counter(ours).items() if n > 1}  # e.g. a show's jingles
    assert twice == {}, twice
    stored = Counter(path for module, path in hashed if module == "storage")
    assert max(stored.values(), default=0) <= 1, stored


def plan_lines(said: list[str]) -> dict[str, str]:
    """The dry run's plan: each line "what: value" it said, by what."""
    lines = [line for message in said for line in message.splitlines()]
    return {line.split(": ", 1)[0]: line.split(": ", 1)[1] for line in lines if ": " in line}


def shows_of(feeds: list[str]) -> set[str]:
    return {key.removesuffix("/feed.xml") for key in feeds}


@pytest.mark.slow
@pytest.mark.parametrize("change", ["nothing", "notes", "title"])
def test_the_dry_run_says_what_the_real_run_does(published_once, tmp_path, change):
    """The dry run's plan is the real run's outcome: on an unchanged network it names no feed
    and no episode to refresh (the real run writes nothing); after a notes edit (record only)
    or a title edit (re-tag) of a cross-posted episode, it names exactly the episode and the
    feeds the real run then changes."""
    root, store = copy_of(published_once, tmp_path)
    episode = root / "episodes/itsmwp/002-change-advisory-boards.md"
    if change == "notes":
        text = episode.read_text(encoding="utf-8")
        episode.write_text(text + "\nOne more paragraph.\n", encoding="utf-8")
    elif change == "title":
        edit(episode, "title: Do We Still Need a Change Advisory Board?", "title: CAB or not?")
    said: list[str] = []
    planned = publish(root, store, dry_run=True, say=said.append)
    plan = plan_lines(said)
    manifest_file = store.with_name(store.name + ".state") / "manifest.json"
    before = json.loads(manifest_file.read_bytes())["episodes"]
    done = publish(root, store)
    after = json.loads(manifest_file.read_bytes())["episodes"]
    refreshed = sorted(guid for guid in after if after[guid] != before.get(guid))

    feeds = plan["feeds that may change"]
    assert (set() if feeds == "none" else set(feeds.split(", "))) == shows_of(done.feeds), said
    assert planned.retagged == done.retagged
    assert planned.processed == done.processed
    assert len(refreshed) == (0 if change == "nothing" else 1)
    retagged = len(done.retagged)
    assert plan["unchanged audio, metadata refreshed"] == (
        f"{len(refreshed) - retagged} episode(s)"
    ), said


@pytest.mark.slow
def test_the_dry_run_says_which_episodes_a_changed_sound_setting_remasters(
    published_once, tmp_path
):
    """Turning the leveler on for one show: the dry run names exactly that show's episodes as
    to be mastered again, saying which setting changed; the others stay as they are."""
    root, store = copy_of(published_once, tmp_path)
    toml = root / "episodes/network.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8") + "\n[shows.itsmwp-row.mastering]\nleveler = true\n",
        encoding="utf-8",
    )
    said: list[str] = []
    planned = publish(root, store, dry_run=True, say=said.append)
    network = load_checked_network(root)
    row = {e.slug for e in network.episodes if e.show == "itsmwp-row"}
    assert row and {Path(p).stem for p in planned.processed} == row, said
    text = "\n".join(said)
    for slug in row:
        [line] = [line for line in text.splitlines() if slug in line]
        assert "its produced sound changed (leveler off → on)" in line, line
    assert text.count("produced sound changed") == len(row), text
