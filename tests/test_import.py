"""`podcast import`: a show moved in from another host (README "Moving in"; docs/moving-in.md).

Six hosts' real-world feed shapes (tests/fixtures/import/) are served with their enclosures from
127.0.0.1 (tests/import_hosts.py); every test imports into a network made by `podcast init`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from podcast_tools.cli import app
from podcast_tools.importer.markdown import html_to_markdown
from podcast_tools.notes import html_to_text, markdown_to_html, sanitise
from podcast_tools.scaffold import init_network
from tests.import_hosts import HOSTS, HostServer, serve_fixture

runner = CliRunner()


@pytest.fixture
def server():
    running = HostServer()
    yield running
    running.close()


@pytest.fixture(scope="session")
def audio(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("import-audio")


@pytest.fixture
def network(tmp_path: Path) -> Path:
    root = tmp_path / "net"
    init_network(root)
    return root


def run_import(root: Path, *args: str):
    return runner.invoke(app, ["--root", str(root), "import", *args])


def tree_hash(root: Path) -> str:
    """Every file under episodes/ and its bytes (what a failed import must leave as it was)."""
    digest = hashlib.sha256()
    for path in sorted((root / "episodes").rglob("*")):
        digest.update(path.relative_to(root).as_posix().encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def episodes_of(root: Path, show: str) -> dict[str, tuple[dict, str]]:
    """guid → (front matter, notes) of each episode file of `show`."""
    found = {}
    for path in sorted((root / "episodes" / show).glob("*.md")):
        head, body = path.read_text(encoding="utf-8").removeprefix("---\n").split("\n---\n", 1)
        front = yaml.safe_load(head)
        found[front["guid"]] = (front, body.strip())
    return found


#: What each host fixture imports as: guid → (title, date, number, season) exactly.
EXPECTED = {
    "libsyn": {
        "6a7e1d0c-8b73-4d8e-9c1f-3f8f3b2c2a11": ("Shift-left, for real this time", "2022-06-14T09:00:00+00:00", 12, 2),
        "c41b9f5e-0e2a-4c55-b7d4-9a0d2e7e5b42": ("Major incidents & the 2 a.m. phone call", "2022-05-31T09:00:00+00:00", 11, 2),
    },
    "anchor": {
        "7c0b6d3a-2f41-4b9e-8d5c-61f0a9e4b3d2": ("The printer is on fire (again)", "2023-02-06T10:00:00+00:00", None, None),
        "0e9d8c7b-6a5f-4e3d-2c1b-0a9f8e7d6c5b": ("Passwords, passphrases, pass", "2023-01-30T10:00:00+00:00", None, None),
    },
    "buzzsprout": {
        "Buzzsprout-13456789": ("Emergency changes are not a lifestyle", "2023-09-07T06:00:00-04:00", 7, 1),
        "Buzzsprout-12000001": ("Trailer", "2023-05-01T08:00:00-04:00", None, None),
    },
    "podbean": {
        "nightshiftnoc.podbean.com/bgp-kaffee-und-ein-leck-4f2a9c1b7d8e3f60a5b4c3d2e1f0a9b8": ("BGP, Kaffee und ein Leck", "2024-03-02T23:30:00+00:00", None, None),
        "nightshiftnoc.podbean.com/pilotfolge-0a1b2c3d4e5f60718293a4b5c6d7e8f9": ("Pilotfolge", "1970-01-01T00:00:00+00:00", None, None),
    },
    "castopod": {
        "https://pods.fediverse.example/@opsstories/episodes/part-2-the-rollback": ("Part 2: The rollback that rolled forward", "2024-04-10T07:00:00+00:00", 2, 1),
        "https://pods.fediverse.example/@opsstories/episodes/part-1-friday-1658": ("Part 1: Friday, 16:58", "2024-04-03T07:00:00+00:00", 1, 1),
    },
    "powerpress": {
        "https://helpdeskhour.org/?p=1482": ("Hour 48: \u201cHave you tried turning it off?\u201d", "2021-05-21T14:00:11+00:00", None, None),
        # no guid: the enclosure URL as written in the feed (rewritten to the local server)
        "ENCLOSURE:hour-47.mp3": ("Hour 47: Printers, again", "2021-05-07T14:00:00+00:00", None, None),
    },
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("host", HOSTS)
def test_each_host_imports_with_guids_and_fields_kept(host, server, audio, network):
    url = serve_fixture(server, host, audio)
    result = run_import(network, url, "--show", "moved")
    assert result.exit_code == 0, result.output
    imported = episodes_of(network, "moved")
    expected = {
        (next(g for g in imported if g.endswith(key[10:])) if key.startswith("ENCLOSURE:") else key): value
        for key, value in EXPECTED[host].items()
    }
    assert set(imported) == set(expected)
    for guid, (title, date, number, season) in expected.items():
        front, notes = imported[guid]
        assert (front["title"], front["date"], front.get("number"), front.get("season")) == (
            title, date, number, season,
        )  # fmt: skip
        assert front["mastered"] is True
        master = network / "episodes" / "moved" / front["audio"]
        served = server.host.files[server.host.final_path(_enclosure_of(server, host, guid))]
        assert master.read_bytes() == served  # the very bytes the host served
        assert notes, "every item has notes"
        assert "<" not in notes.replace("<https", "")  # Markdown, not HTML
    toml = (network / "episodes" / "network.toml").read_text(encoding="utf-8")
    assert "[shows.moved]" in toml
    assert not list((network / "build" / ".cache" / "import").glob("stage-*"))


def _enclosure_of(server, host: str, guid: str) -> str:
    from lxml import etree

    feed = etree.fromstring(server.host.files[f"/feeds/{host}.xml"])
    for item in feed.iter("item"):
        enclosure = item.find("enclosure")
        item_guid = item.findtext("guid")
        if enclosure is not None and (item_guid or "").strip() in (guid, ""):
            if item_guid or enclosure.get("url") == guid:
                return enclosure.get("url")
    raise AssertionError(guid)
