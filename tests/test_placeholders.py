"""Placeholders never go out (issue: a team adopts it): the scaffold's example episode is a draft,
a show with no published episode gets no feed (and no page, and no place in the publisher feed),
and `publish` to a store listeners can reach refuses the reserved example names (RFC 2606) in
owner email, links and base_url — one line each, naming the file and the field."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish.placeholders import (
    placeholder_in,
    placeholder_problems,
    reserved_host,
)
from podcast_tools.publish.storage import LocalStorage, S3Storage
from tests.conftest import edit, podcast
from tests.interview import write_wav

PODCAST_NS = "{https://podcastindex.org/namespace/1.0}"
REAL = {
    "https://media.example.com/": "https://media.my-real-network.net/",
    "producer@example.com": "producer@my-real-network.net",
    'link = "https://example.com/"': 'link = "https://my-real-network.net/"',
}


@pytest.fixture
def scaffold(tmp_path: Path) -> Path:
    root = tmp_path / "net"
    podcast(None, "init", str(root), ok=True)
    return root


def add_episode(root: Path, show: str, title: str) -> Path:
    t = np.arange(44100 * 4) / 44100
    recording = write_wav(root.parent / f"{title}.wav", 0.2 * np.sin(2 * np.pi * 330 * t))
    done = podcast(root, "new", show, "--title", title, "--audio", str(recording), ok=True)
    return Path(done.stdout.strip().splitlines()[0])


def make_real(root: Path) -> None:
    toml = root / "episodes/network.toml"
    for old, new in REAL.items():
        edit(toml, old, new)


# -- the example episode -----------------------------------------------------------------------


def test_the_scaffolds_example_episode_is_a_draft(scaffold: Path):
    network = load_checked_network(scaffold)
    (example,) = network.episodes
    assert example.draft and network.drafts == [example]
    text = example.path.read_text()
    assert "draft: true  # an example, never published" in text


# -- no feed for a show with nothing in it -----------------------------------------------------


@pytest.mark.slow
def test_a_show_with_no_published_episode_gets_no_feed_page_or_publisher_entry(scaffold: Path):
    first = podcast(scaffold, "publish", ok=True)
    for show in ("main", "main-regional"):
        assert (
            f"note: episodes/network.toml: shows.{show}: no published episode yet; no feed written"
            in first.stderr
        )
    public = scaffold / "public"
    assert not list(public.rglob("*.xml"))  # neither show feeds nor an empty publisher feed
    assert not (public / "main" / "index.html").exists()

    add_episode(scaffold, "main", "First Real Episode")
    second = podcast(scaffold, "publish", ok=True)
    assert "shows.main:" not in second.stderr
    assert "shows.main-regional: no published episode yet" in second.stderr
    assert (public / "main/feed.xml").is_file() and (public / "main/index.html").is_file()
    assert not (public / "main-regional/feed.xml").exists()
    assert not (public / "main-regional/index.html").exists()
    publisher = ET.parse(public / "publisher.xml").getroot()
    remote = [item.get("feedUrl") for item in publisher.iter(f"{PODCAST_NS}remoteItem")]
    assert remote == ["https://media.example.com/main/feed.xml"]
    index = (public / "index.html").read_text()
    assert "main/feed.xml" in index and "main-regional/" not in index

    again = podcast(scaffold, "publish", ok=True)  # idempotent: nothing to write
    assert "nothing changed; nothing uploaded" in again.stdout


# -- reserved example names --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("https://example.com/", "example.com"),
        ("https://www.EXAMPLE.net/x?y=1", "www.example.net"),
        ("producer@example.org", "example.org"),
        ("https://media.itsmweekly.example/", "media.itsmweekly.example"),
        ("https://shop.test/", "shop.test"),
        ("http://nothing.invalid", "nothing.invalid"),
        ("https://example.com.au/", None),
        ("https://myexample.com/", None),
        ("mailto-ish@real.net", None),
        ("not a url", None),
        ("Write to hi@example.com for more", "example.com"),  # inside free text
        ("Visit https://example.com/ now", "example.com"),
        ("We tested it @test", None),  # not an address
        ("http://127.0.0.1:8000/", "127.0.0.1"),  # a try-out's address
        ("http://[::1]/", "::1"),
    ],
)
def test_reserved_names_are_recognised(value: str, host: str | None):
    assert placeholder_in(value) == host
    assert reserved_host(host) is (host is not None)


def test_the_scaffold_names_each_placeholder_once_with_its_file_and_field(scaffold: Path):
    edit(
        scaffold / "episodes/network.toml",
        'language = "en-au"',
        'language = "en-au"\nowner = { name = "R", email = "r@regional.example" }',
    )
    problems = placeholder_problems(load_checked_network(scaffold))
    assert sorted((p.file, p.field) for p in problems) == [
        ("episodes/network.toml", "defaults.owner.email"),
        ("episodes/network.toml", "network.base_url"),
        ("episodes/network.toml", "shows.main-regional.owner.email"),
        ("episodes/network.toml", "shows.main.link"),
    ]  # the draft example's notes link to example.com: a draft is not published
    make_real(scaffold)
    edit(scaffold / "episodes/network.toml", "r@regional.example", "r@my-real-network.net")
    assert placeholder_problems(load_checked_network(scaffold)) == []


def test_a_published_episode_with_a_placeholder_link_is_named(scaffold: Path):
    make_real(scaffold)
    path = add_episode(scaffold, "main", "Links")
    edit(path, "Show notes in Markdown", "See https://docs.example.org/guide. Show notes in Markdown")
    (problem,) = placeholder_problems(load_checked_network(scaffold))
    assert problem.field == "notes" and problem.file.endswith("002-links.md")
    assert "docs.example.org" in problem.message and "RFC 2606" in problem.message


def test_only_stores_on_this_machine_may_carry_placeholders(tmp_path: Path):
    assert LocalStorage(tmp_path / "public").on_this_machine
    for endpoint, local in [
        ("http://127.0.0.1:8333", True),
        ("http://localhost:9000", True),
        ("http://[::1]:9000", True),
        ("https://s3.eu-west-1.amazonaws.com", False),
        ("https://account.r2.cloudflarestorage.com", False),
        ("http://192.0.2.1:9000", False),
    ]:
        store = S3Storage("bucket", "net", endpoint_url=endpoint, region="eu-west-1")
        assert store.on_this_machine is local, endpoint


def test_publish_to_a_public_store_refuses_placeholders_and_writes_nothing(
    scaffold: Path, monkeypatch
):
    # The endpoint is a documentation address (RFC 5737) that is never contacted: the refusal
    # comes before the store is opened for anything.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://192.0.2.1:9")
    def tree() -> list[Path]:  # build/ holds the validation cache, written by any command
        return sorted(p.relative_to(scaffold) for p in scaffold.rglob("*") if "build" not in p.parts)

    before = tree()
    done = podcast(scaffold, "publish", "--storage", "s3://bucket/net")
    assert done.exit_code == 1
    lines = done.stderr.strip().splitlines()
    assert lines[:3] == [
        f"episodes/network.toml: {field}: {value!r} names {host}, a reserved example name "
        "(RFC 2606): put in the real one — placeholders are published only to a folder or a "
        "store on this machine"
        for field, value, host in [
            ("network.base_url", "https://media.example.com/", "media.example.com"),
            ("defaults.owner.email", "producer@example.com", "example.com"),
            ("shows.main.link", "https://example.com/", "example.com"),
        ]
    ]
    assert "nothing was written" in lines[-1]
    assert tree() == before


@pytest.mark.slow
def test_a_show_whose_last_episode_is_taken_down_loses_its_page(scaffold: Path):
    """Its feed stays (written without the episode: apps drop it), but its page — which would
    list nothing and name a show listeners cannot have — is deleted, not left as it was."""
    path = add_episode(scaffold, "main", "Soon Gone")
    podcast(scaffold, "publish", ok=True)
    public = scaffold / "public"
    assert (public / "main/index.html").is_file()
    done = podcast(scaffold, "unpublish", str(path), ok=True)
    assert not (public / "main/index.html").exists(), done.stderr
    assert "website: main/index.html deleted (nothing published)" in done.stderr
    feed = ET.parse(public / "main/feed.xml").getroot()
    assert feed.findall("./channel/item") == []
    assert "main/" not in (public / "index.html").read_text()
