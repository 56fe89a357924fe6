"""Spin-offs inherit from [defaults] and their `extends` chain; tables merge key by key."""

from __future__ import annotations

from pathlib import Path

from podcast_tools.content import feed_url, podcast_guid_for
from podcast_tools.media_checks import load_checked_network

NZ_SHOW = """
[shows.itsmwp-nz]
extends = "itsmwp-anz"
title = "IT Service Management Weekly: Aotearoa"
description = "The New Zealand cut of the ANZ edition."
language = "en-nz"
podcast_guid = "{guid}"
"""


def add_nz_show(root: Path, extra: str = "") -> None:
    toml = root / "episodes/network.toml"
    guid = podcast_guid_for(feed_url("https://media.itsmweekly.example/", "itsmwp-nz"))
    toml.write_text(toml.read_text() + NZ_SHOW.format(guid=guid) + extra)


def test_spin_off_inherits_from_parent_and_defaults(sample: Path):
    network = load_checked_network(sample)
    anz, main = network.shows["itsmwp-anz"], network.shows["itsmwp"]
    assert anz.language == "en-au"  # own
    assert anz.category == main.category  # from [defaults]
    assert anz.owner.name == "ITSM Weekly Producers"  # table merged key by key
    assert anz.owner.email == "anz@itsmweekly.example"
    origins = network.origins["itsmwp-anz"]
    assert origins["owner.name"] == "[defaults]"
    assert origins["owner.email"] == "own"
    assert origins["type"] == "built-in default"


def test_override_of_one_key_keeps_the_rest_of_the_table(sample: Path):
    row = load_checked_network(sample).shows["itsmwp-row"]
    assert row.loudness.target_lufs == -19.0
    assert row.loudness.true_peak_dbtp == -1.0  # inherited
    assert (row.mp3.channels, row.mp3.bitrate_kbps, row.mp3.sample_rate) == (1, 64, 44100)


def test_parent_values_win_over_defaults_and_chains_resolve(sample: Path):
    add_nz_show(sample)
    network = load_checked_network(sample)
    nz = network.shows["itsmwp-nz"]
    assert nz.language == "en-nz"
    assert nz.intro == "itsmwp-anz/art/intro.mp3"  # from its parent, not the grandparent
    assert nz.link == "https://itsmweekly.example/anz/"
    assert nz.owner.email == "anz@itsmweekly.example"
    origins = network.origins["itsmwp-nz"]
    assert origins["intro"] == "itsmwp-anz"
    assert origins["author"] == "[defaults]"


def test_per_show_fields_are_never_inherited(sample: Path):
    network = load_checked_network(sample)
    guids = {show.podcast_guid for show in network.shows.values()}
    assert len(guids) == len(network.shows)
    assert network.shows["itsmwp"].extends is None
    assert network.shows["itsmwp-anz"].extends == "itsmwp"


def test_false_switches_off_an_inherited_jingle(sample: Path):
    add_nz_show(sample, "intro = false\n")
    nz = load_checked_network(sample).shows["itsmwp-nz"]
    assert nz.intro is None
    assert nz.outro == "itsmwp-anz/art/outro.mp3"


def test_mono_default_bitrate_is_64_kbps(sample: Path):
    toml = sample / "episodes/network.toml"
    toml.write_text(
        toml.read_text().replace("mp3 = { channels = 1, bitrate = 64 }", "mp3 = { channels = 1 }")
    )
    text = toml.read_text().replace(
        "mp3 = { bitrate = 128, channels = 2, sample_rate = 44100 }\n", ""
    )
    toml.write_text(text)
    network = load_checked_network(sample)
    assert network.shows["itsmwp-row"].mp3.bitrate_kbps == 64
    assert network.shows["itsmwp"].mp3.bitrate_kbps == 128


def test_cross_posted_episode_is_in_both_shows(sample: Path):
    network = load_checked_network(sample)
    anz_guids = [e.guid for e in network.episodes_of("itsmwp-anz")]
    main_guids = [e.guid for e in network.episodes_of("itsmwp")]
    cross = "96437e99-b727-4e6c-99f1-172d9e7e5d4a"
    assert cross in anz_guids and cross in main_guids
    assert len(anz_guids) == 3
    # oldest first
    dates = [e.date for e in network.episodes_of("itsmwp-anz")]
    assert dates == sorted(dates)


def test_podcast_guid_rule_matches_the_spec_example():
    assert podcast_guid_for("https://podnews.net/rss") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert podcast_guid_for("podnews.net/rss/") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
