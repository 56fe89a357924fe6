"""What apps read from the feeds (issue 25): each item links to its episode's page on the website
(item 5), the feeds' lastBuildDate moves when — and only when — a feed's bytes change (item 2),
and podcast:alternateEnclosure declares the audio's bitrate, not the cover art's (item 3)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import feedparser
import podcastparser
from lxml import etree

from podcast_tools.feed import build_feed
from podcast_tools.layout import episode_page_url
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.previews import artwork_keys
from podcast_tools.record import feed_candidates, feed_inputs
from podcast_tools.site import build_site
from tests.conftest import edit
from tests.golden.regenerate import NOW, golden_records
from tests.test_feed import BASE

CROSS_POSTED = "episodes/itsmwp/002-change-advisory-boards.md"


def _feeds_and_pages(network) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Every show's feed and every page of the website, built from the same records."""
    records = golden_records(network)
    inputs = feed_inputs(network.settings.base_url, records, artwork_keys(network))
    feeds = {
        show_id: build_feed(
            network, show_id, inputs, now=NOW, candidates=feed_candidates(network, records, show_id)
        ).xml
        for show_id in network.shows
    }
    pages = build_site(network, records, artwork_keys(network), now=NOW)
    return feeds, {network.settings.base_url + page.key: page.data for page in pages}


def test_each_item_links_to_its_episodes_page_on_the_website(sample: Path):
    network = load_checked_network(sample)
    feeds, pages = _feeds_and_pages(network)
    cross = next(e for e in network.episodes if network.display(e.path) == CROSS_POSTED)
    for show_id, xml in feeds.items():
        parsed = podcastparser.parse(network.feed_url(show_id), io.BytesIO(xml))
        other = {entry.id: entry for entry in feedparser.parse(xml).entries}
        assert parsed["episodes"], show_id
        for item in parsed["episodes"]:
            episode = next(e for e in network.episodes if e.guid == item["guid"])
            # the page is in its home show's folder, also in a feed it is cross-posted to
            expected = f"{BASE}{episode.show}/{episode.slug}.html"
            assert item["link"] == expected, (show_id, episode.slug)
            assert other[episode.guid].link == expected, (show_id, episode.slug)
            assert expected in pages, f"{expected}: the site writes no such page"
            canonical = re.search(rb'<link rel="canonical" href="([^"]+)">', pages[expected])
            assert canonical and canonical.group(1).decode() == expected
    anz = etree.fromstring(feeds["itsmwp-anz"])
    assert anz.xpath(f"//item[guid='{cross.guid}']/link/text()") == [
        f"{BASE}itsmwp/{cross.slug}.html"
    ]


def test_the_page_of_an_episode_whose_home_show_is_gone_is_in_the_next_shows_folder(sample: Path):
    # the site keeps such an episode in the first show it is posted to that the network still has
    network = load_checked_network(sample)
    cross = next(e for e in network.episodes if network.display(e.path) == CROSS_POSTED)
    assert episode_page_url(network, cross) == f"{BASE}itsmwp/{cross.slug}.html"
    moved = cross.model_copy(update={"show": "gone"})
    moved_shows = moved.all_shows
    assert moved_shows[0] == "gone" and "itsmwp-anz" in moved_shows
    assert episode_page_url(network, moved) == f"{BASE}itsmwp-anz/{cross.slug}.html"
    nowhere = cross.model_copy(update={"show": "gone", "shows": []})
    assert episode_page_url(network, nowhere) is None


def test_an_item_link_follows_the_base_url(sample: Path):
    edit(
        sample / "episodes/network.toml",
        'base_url = "https://media.itsmweekly.example/"',
        'base_url = "https://cdn.example.org/pod/"',
    )
    network = load_checked_network(sample)
    feeds, pages = _feeds_and_pages(network)
    links = etree.fromstring(feeds["itsmwp-row"]).xpath("//item/link/text()")
    assert links and all(link.startswith("https://cdn.example.org/pod/itsmwp-row/") for link in links)
