"""Spin-offs inherit from [defaults] and their `extends` chain: a table that describes one thing
(owner, location, …) is inherited whole or not at all; a table of settings merges key by key."""

from __future__ import annotations

from pathlib import Path

import pytest

from podcast_tools.content import feed_url, podcast_guid_for
from podcast_tools.errors import ContentError
from podcast_tools.media_checks import load_checked_network
from tests.conftest import edit, podcast, problems_of

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
    assert anz.owner.name == "ITSM Weekly Producers"  # the owner set whole, as the show's own
    assert anz.owner.email == "anz@itsmweekly.example"
    origins = network.origins["itsmwp-anz"]
    assert origins["owner.name"] == "own"
    assert origins["owner.email"] == "own"
    assert origins["type"] == "built-in default"


def test_override_of_one_key_keeps_the_rest_of_the_table(sample: Path):
    row = load_checked_network(sample).shows["itsmwp-row"]
    assert row.loudness.target_lufs == -19.0
    assert row.loudness.true_peak_dbtp == -1.0  # inherited
    assert (row.mp3.channels, row.mp3.bitrate_kbps, row.mp3.sample_rate) == (1, 64, 44100)


def test_a_table_that_describes_one_thing_is_inherited_whole(sample: Path):
    """The ANZ show sets its own place: Sydney, with no OpenStreetMap id of London's."""
    network = load_checked_network(sample)
    main, anz = network.shows["itsmwp"].location, network.shows["itsmwp-anz"].location
    assert (main.name, main.osm) == ("London", "R65606")
    assert (anz.name, anz.geo, anz.osm) == ("Sydney", "geo:-33.8688,151.2093", None)
    origins = network.origins["itsmwp-anz"]
    assert origins["location.name"] == origins["location.geo"] == "own"
    assert "location.osm" not in origins
    # not set at all: inherited whole, every key from where it was set
    row = network.shows["itsmwp-row"]
    assert row.location == main
    assert network.origins["itsmwp-row"]["location.osm"] == "itsmwp"


@pytest.mark.parametrize(
    "table, own, parts",
    [
        ("owner", 'owner = { email = "anz@itsmweekly.example" }', ("owner.name", "missing")),
        (
            "update_frequency",
            'update_frequency = { rrule = "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR" }',
            ("update_frequency.text", "missing"),
        ),
        (
            "value",
            'value = { recipients = [{ address = "0256a309b3e7f6128284b6564aa31daaa6a017597cc65b6b6ca00cbaefb2cdb3fe", split = 1 }] }',
            None,
        ),
    ],
)
def test_each_table_of_one_thing_is_replaced_whole(sample: Path, table, own, parts):
    toml = sample / "episodes/network.toml"
    text = toml.read_text()
    anz = text.index("[shows.itsmwp-anz]")
    head, tail = text[:anz], text[anz:]
    tail = "\n".join(line for line in tail.splitlines() if not line.startswith(f"{table} ="))
    toml.write_text(head + tail.replace('extends = "itsmwp"\n', f'extends = "itsmwp"\n{own}\n', 1))
    if parts is None:  # valid as set: nothing of the inherited table comes with it
        value = load_checked_network(sample).shows["itsmwp-anz"].value
        assert value.suggested is None and len(value.recipients) == 1
        return
    with pytest.raises(ContentError) as raised:
        load_checked_network(sample)
    field_name, words = parts
    [line] = [str(p) for p in raised.value.problems if field_name in p.field]
    assert line.startswith(f"episodes/network.toml: shows.itsmwp-anz.{field_name}: {words}")
    assert f"{table} is set here, so none of its keys come from" in line


def test_a_table_set_in_part_by_a_parent_is_one_problem_where_it_is_set(sample: Path):
    """Reported in the table that left the key out, not in each show that inherits it."""
    edit(
        sample / "episodes/network.toml",
        'owner = { name = "ITSM Weekly Producers", email = "anz@itsmweekly.example" }',
        'owner = { email = "anz@itsmweekly.example" }',
    )
    add_nz_show(sample)  # extends itsmwp-anz: inherits its owner, name missing and all
    with pytest.raises(ContentError) as raised:
        load_checked_network(sample)
    assert [str(p) for p in raised.value.problems] == [
        "episodes/network.toml: shows.itsmwp-anz.owner.name: missing; owner is set here, so "
        "none of its keys come from [defaults]: set name here too"
    ]
    # with nothing to inherit, nothing was overridden: the ordinary "missing", where it is set
    edit(
        sample / "episodes/network.toml",
        'owner = { name = "ITSM Weekly Producers", email = "producers@itsmweekly.example" }\n',
        "",
    )
    problems = [str(p) for p in problems_of(sample) if "owner" in p.field]
    assert "episodes/network.toml: shows.itsmwp-anz.owner.name: missing; set it here" in problems
    assert not any("none of its keys come from" in line for line in problems), problems


def test_a_table_missing_a_key_with_nothing_inherited_says_only_missing(sample: Path):
    """[defaults] owner = { name = … } inherits nothing: no "set here, so none of its keys come
    from elsewhere" (review of issue 25 item 1)."""
    edit(
        sample / "episodes/network.toml",
        'owner = { name = "ITSM Weekly Producers", email = "producers@itsmweekly.example" }',
        'owner = { name = "ITSM Weekly Producers" }',
    )
    problems = [str(p) for p in problems_of(sample) if "owner" in p.field]
    assert problems == ["episodes/network.toml: defaults.owner.email: missing; set it here"]


def test_an_empty_table_of_one_thing_means_none(sample: Path):
    """`location = {}` in a show: no location (the inherited one taken away), no note; a table
    every show needs (owner) set to {} says so, in one line where it is set."""
    edit(
        sample / "episodes/network.toml",
        'location = { name = "Sydney", geo = "geo:-33.8688,151.2093" }',
        "location = {}",
    )
    network = load_checked_network(sample)
    assert network.shows["itsmwp-anz"].location is None
    assert network.shows["itsmwp"].location.name == "London"  # its parent keeps its own
    assert network.origins["itsmwp-anz"]["location"] == "own"
    result = podcast(sample, "validate", ok=True)
    assert "location" not in result.stderr, result.stderr
    edit(
        sample / "episodes/network.toml",
        'owner = { name = "ITSM Weekly Producers", email = "anz@itsmweekly.example" }',
        "owner = {}",
    )
    assert [str(p) for p in problems_of(sample) if "owner" in p.field] == [
        "episodes/network.toml: shows.itsmwp-anz.owner: missing; owner = {} here means none, "
        "and every show needs one: set it in full here"
    ]


def test_tables_of_settings_still_merge_key_by_key(sample: Path):
    add_nz_show(sample, 'transcripts = { model = "tiny.en" }\nmp3 = { bitrate = 96 }\n')
    network = load_checked_network(sample)
    nz = network.shows["itsmwp-nz"]
    assert (nz.transcripts.auto, nz.transcripts.model) == (True, "tiny.en")
    assert (nz.mp3.bitrate, nz.mp3.sample_rate) == (96, 44100)
    assert network.origins["itsmwp-nz"]["transcripts.auto"] == "[defaults]"


def test_validate_notes_a_table_of_one_thing_set_in_part(sample: Path):
    result = podcast(sample, "validate", ok=True)
    notes = [line for line in result.stderr.splitlines() if "location" in line]
    assert notes == [
        "note: episodes/network.toml: shows.itsmwp-anz.location: set here, so none of its keys "
        "come from itsmwp (osm is not set); set osm here too if it applies"
    ]
    # set in full, or not set at all: nothing to say
    edit(
        sample / "episodes/network.toml",
        'geo = "geo:-33.8688,151.2093" }',
        'geo = "geo:-33.8688,151.2093", osm = "R5750005" }',
    )
    assert "location" not in podcast(sample, "validate", ok=True).stderr


def test_shows_says_where_a_whole_table_came_from(sample: Path):
    out = podcast(sample, "shows", ok=True).stdout
    anz = out.split("itsmwp-anz (extends itsmwp)")[1].split("itsmwp-row (extends itsmwp)")[0]
    lines = {line.split()[0]: line.split()[1:] for line in anz.splitlines() if line.strip()}
    assert lines["location.name"] == ["Sydney"]  # own: no origin
    assert "location.osm" not in lines
    row = out.split("itsmwp-row (extends itsmwp)")[1]
    osm = next(line for line in row.splitlines() if line.strip().startswith("location.osm"))
    assert osm.split() == ["location.osm", "R65606", "←", "from", "itsmwp"]


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
