"""What listeners' apps read wrongly (issue: channel link, cross-post numbering, Apple's limits,
person taxonomy, podroll feedUrl, the network's publisher feed) — each reproduced, then fixed."""

from __future__ import annotations

import io
from pathlib import Path

import feedparser
import podcastparser
from lxml import etree

from podcast_tools.feed import build_feed
from podcast_tools.feed.build import build_publisher_feed
from podcast_tools.media_checks import load_checked_network
from tests.conftest import edit, find_problem, problems_of
from tests.test_feed import BASE, NOW, NS, media_for

CROSS_POSTED = "episodes/itsmwp/002-change-advisory-boards.md"


def channel(xml: bytes):
    return etree.fromstring(xml).find("channel")


def test_channel_link_is_the_shows_website_not_the_feed(sample: Path):
    network = load_checked_network(sample)
    inputs = media_for(network)
    for show_id, show in network.shows.items():
        xml = build_feed(network, show_id, inputs, now=NOW).xml
        assert channel(xml).findtext("link") == show.link
        self_link = channel(xml).find("atom:link[@rel='self']", NS)
        assert self_link.get("href") == network.feed_url(show_id)
        assert podcastparser.parse(network.feed_url(show_id), io.BytesIO(xml))["link"] == show.link
        assert feedparser.parse(xml).feed.link == show.link


def test_a_show_without_a_link_points_at_the_networks_site_else_its_folder(sample: Path):
    toml = sample / "episodes/network.toml"
    text = toml.read_text()
    shows_part = text.index("[shows.itsmwp]")
    toml.write_text(
        text[:shows_part]
        + text[shows_part:].replace('link = "https://itsmweekly.example/"\n', "", 1)
    )
    network = load_checked_network(sample)
    xml = build_feed(network, "itsmwp", media_for(network), now=NOW).xml
    assert channel(xml).findtext("link") == network.settings.link  # the network's website
    edit(toml, 'link = "https://itsmweekly.example/"            # the network\'s website\n', "")
    network = load_checked_network(sample)
    xml = build_feed(network, "itsmwp", media_for(network), now=NOW).xml
    assert channel(xml).findtext("link") == f"{BASE}itsmwp/"


def test_cross_posted_episode_carries_no_home_numbers_in_another_feed(sample: Path):
    network = load_checked_network(sample)
    xml = build_feed(network, "itsmwp-anz", media_for(network), now=NOW).xml
    items = {i.findtext("guid"): i for i in channel(xml).findall("item")}
    cross = next(e for e in network.episodes if network.display(e.path) == CROSS_POSTED)
    item = items[cross.guid]
    for tag in ("itunes:episode", "itunes:season", "podcast:episode", "podcast:season"):
        assert item.find(tag, NS) is None, tag
    numbers = [i.findtext("itunes:episode", namespaces=NS) for i in items.values()]
    numbers = [n for n in numbers if n is not None]
    assert len(numbers) == len(set(numbers))
    home = build_feed(network, "itsmwp", media_for(network), now=NOW).xml
    home_item = next(i for i in channel(home).findall("item") if i.findtext("guid") == cross.guid)
    assert home_item.findtext("itunes:episode", namespaces=NS) == "2"


def test_a_cross_post_may_give_its_numbers_for_the_other_feed(sample: Path):
    edit(
        sample / CROSS_POSTED,
        "shows: [itsmwp-anz]",
        "shows: [itsmwp-anz]\nnumbers: { itsmwp-anz: { number: 7, season: 2 } }",
    )
    network = load_checked_network(sample)
    xml = build_feed(network, "itsmwp-anz", media_for(network), now=NOW).xml
    cross = next(e for e in network.episodes if network.display(e.path) == CROSS_POSTED)
    item = next(i for i in channel(xml).findall("item") if i.findtext("guid") == cross.guid)
    assert item.findtext("itunes:episode", namespaces=NS) == "7"
    assert item.findtext("itunes:season", namespaces=NS) == "2"
    assert item.findtext("podcast:episode", namespaces=NS) == "7"


def test_validate_reports_duplicate_numbers_within_a_feed(sample: Path):
    anz_numbers = [
        e.number
        for e in load_checked_network(sample).episodes
        if e.show == "itsmwp-anz" and e.number
    ]
    taken = anz_numbers[0]
    edit(
        sample / CROSS_POSTED,
        "shows: [itsmwp-anz]",
        f"shows: [itsmwp-anz]\nnumbers: {{ itsmwp-anz: {{ number: {taken} }} }}",
    )
    problem = find_problem(problems_of(sample), CROSS_POSTED, "numbers.itsmwp-anz.number")
    assert "itsmwp-anz" in problem.message and str(taken) in problem.message


def test_numbers_only_for_shows_the_episode_is_posted_to(sample: Path):
    edit(
        sample / CROSS_POSTED,
        "shows: [itsmwp-anz]",
        "shows: [itsmwp-anz]\nnumbers: { itsmwp-row: { number: 9 } }",
    )
    problem = find_problem(problems_of(sample), CROSS_POSTED, "numbers.itsmwp-row")
    assert "not posted" in problem.message


def test_titles_over_255_characters_are_refused(sample: Path):
    edit(sample / CROSS_POSTED, "title: Do We", f"title: {'x' * 250} Do We")
    problem = find_problem(problems_of(sample), CROSS_POSTED, "title")
    assert "255" in problem.message


def test_item_description_carries_only_apples_tags_in_cdata(sample: Path):
    network = load_checked_network(sample)
    inputs = media_for(network)
    rich = (
        '<p>Intro with <strong>bold</strong> and a <a href="https://example.com/x">link</a></p>'
        "<h2>Chapters</h2><ul><li><em>one</em></li></ul><blockquote>quoted</blockquote>"
    )
    for guid, media in list(inputs.episodes.items()):
        inputs.episodes[guid] = type(media)(**{**media.__dict__, "html": rich})
    xml = build_feed(network, "itsmwp", inputs, now=NOW).xml
    assert b"<description><![CDATA[" in xml
    item = channel(xml).find("item")
    description = item.findtext("description")
    allowed = {"p", "ol", "ul", "li", "a"}
    fragment = etree.fromstring(f"<div>{description}</div>")
    assert {element.tag for element in fragment.iter()} - {"div"} <= allowed
    assert 'href="https://example.com/x"' in description and "bold" in description
    assert "Chapters" in description and "quoted" in description  # text kept, tags dropped
    encoded = item.findtext("content:encoded", namespaces=NS)
    assert "<strong>bold</strong>" in encoded and "<h2>" in encoded


def test_person_role_and_group_follow_the_podcast_taxonomy(sample: Path):
    edit(
        sample / CROSS_POSTED,
        "shows: [itsmwp-anz]",
        "shows: [itsmwp-anz]\npersons:\n  - { name: Pat Wrong, role: cohost-ish }\n"
        "  - { name: Sam Group, role: guest, group: band }\n"
        "  - { name: Cleo Art, role: Cover Art Designer, group: Visuals }\n",
    )
    problems = problems_of(sample)
    role = find_problem(problems, CROSS_POSTED, "persons[1].role")
    assert "cohost-ish" in role.message and "taxonomy" in role.message.lower()
    group = find_problem(problems, CROSS_POSTED, "persons[2].group")
    assert "band" in group.message
    assert not [p for p in problems if p.field.startswith("persons[3]")]  # case-insensitive


def test_podroll_names_each_sibling_by_guid_and_url(sample: Path):
    network = load_checked_network(sample)
    xml = build_feed(network, "itsmwp", media_for(network), now=NOW).xml
    items = channel(xml).findall("podcast:podroll/podcast:remoteItem", NS)
    expected = {
        (show.podcast_guid, network.feed_url(show.id))
        for show in network.shows.values()
        if show.id != "itsmwp"
    }
    assert {(i.get("feedGuid"), i.get("feedUrl")) for i in items} == expected


def test_the_network_is_a_publisher_feed_and_every_show_points_at_it(sample: Path):
    network = load_checked_network(sample)
    assert network.settings.podcast_guid
    publisher = build_publisher_feed(network, media_for(network).artwork_urls)
    root = channel(publisher.xml)
    assert root.findtext("podcast:medium", namespaces=NS) == "publisher"
    assert root.findtext("podcast:guid", namespaces=NS) == network.settings.podcast_guid
    assert root.findtext("title") == network.settings.name
    remote = root.findall("podcast:remoteItem", NS)
    assert {(r.get("feedGuid"), r.get("feedUrl")) for r in remote} == {
        (show.podcast_guid, network.feed_url(show.id)) for show in network.shows.values()
    }
    assert root.findall("item") == []
    assert not feedparser.parse(publisher.xml).bozo
    for show_id in network.shows:
        xml = build_feed(network, show_id, media_for(network), now=NOW).xml
        items = channel(xml).findall("podcast:publisher/podcast:remoteItem", NS)
        assert len(items) == 1
        assert items[0].get("medium") == "publisher"
        assert items[0].get("feedGuid") == network.settings.podcast_guid
        assert items[0].get("feedUrl") == network.publisher_feed_url


def test_publisher_guid_is_suggested_when_missing(sample: Path):
    toml = sample / "episodes/network.toml"
    text = toml.read_text()
    line = next(line for line in text.splitlines() if line.startswith("podcast_guid"))
    toml.write_text(text.replace(line + "\n", "", 1))
    problem = find_problem(problems_of(sample), "episodes/network.toml", "network.podcast_guid")
    assert "add podcast_guid" in problem.message


def test_chapter_images_are_published_and_named_in_json_chapters(sample: Path, tmp_path: Path):
    import json

    from typer.testing import CliRunner

    from podcast_tools.cli import app

    store = tmp_path / "store"
    episode = "episodes/itsmwp/001-incident-vs-problem.md"
    result = CliRunner().invoke(
        app,
        [
            "--root",
            str(sample),
            "publish",
            "--storage",
            f"file://{store}",
            "--json",
            str(sample / episode),
        ],
    )
    assert result.exit_code == 0, result.output
    xml = (store / "itsmwp/feed.xml").read_bytes()
    item = channel(xml).find("item")
    chapters_url = item.find("podcast:chapters", NS).get("url")
    document = json.loads((store / chapters_url.removeprefix(BASE)).read_text())
    with_image = [c for c in document["chapters"] if "img" in c]
    assert [c["title"] for c in with_image] == ["Root cause belongs to problem management"]
    image_key = with_image[0]["img"].removeprefix(BASE)
    source = sample / "episodes/itsmwp/art/001-root-cause.png"
    assert (store / image_key).read_bytes() == source.read_bytes()
    assert image_key.startswith("itsmwp/episodes/001-incident-vs-problem-chapter-image-")
    assert document["chapters"][2]["url"] == "https://itsmweekly.example/notes/restore-first"


def test_a_chapter_image_must_be_jpeg_or_png(sample: Path):
    (sample / "episodes/itsmwp/art/x.gif").write_bytes(b"GIF89a")
    edit(
        sample / "episodes/itsmwp/001-incident-vs-problem.md",
        "image: art/001-root-cause.png",
        "image: art/x.gif",
    )
    problem = find_problem(
        problems_of(sample), "episodes/itsmwp/001-incident-vs-problem.md", "chapters[2].image"
    )
    assert ".jpg or .png" in problem.message


def test_a_chapter_image_must_hold_what_its_extension_says(sample: Path):
    from PIL import Image

    image = sample / "episodes/itsmwp/art/001-root-cause.png"
    Image.new("RGB", (64, 64)).save(image, "WEBP")
    problem = find_problem(
        problems_of(sample), "episodes/itsmwp/001-incident-vs-problem.md", "chapters[2].image"
    )
    assert "WEBP data in a .png file" in problem.message


def test_yaml_merge_of_an_inline_mapping_still_loads(sample: Path):
    edit(
        sample / CROSS_POSTED,
        "shows: [itsmwp-anz]",
        "shows: [itsmwp-anz]\nnumbers:\n  <<: { itsmwp-anz: { number: 7 } }",
    )
    network = load_checked_network(sample)
    episode = next(e for e in network.episodes if network.display(e.path) == CROSS_POSTED)
    assert episode.numbers_in("itsmwp-anz") == (7, None)
