"""The audio stage chain (podcast_tools.audio.stages): order, settings, fingerprints, and what a
stage does to mastering — real ffmpeg on generated audio, stages registered as any stage is
(tests/stage_plugins.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import tests.stage_plugins  # noqa: F401  (registers the tests' stages)
from podcast_tools.audio.analysis_cache import AnalysisCache
from podcast_tools.audio.master import (
    EditDecisions,
    MasteringSettings,
    analyse,
    master,
    output_paths,
)
from podcast_tools.audio.produced import SWITCHES
from podcast_tools.audio.stages import (
    STAGES,
    StageChain,
    StageContext,
    chain_identity,
    register_stage,
    stage_specs,
    unregister_stage,
)
from podcast_tools.audio.synth import speech_like_master
from podcast_tools.content.models import Loudness, Mastering, StageSettings
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.fingerprints import fingerprint
from podcast_tools.pipeline.settings import mastering_settings
from tests.audio_tools import ffmpeg_loudness, synth
from tests.conftest import find_problem, podcast_json, problems_of
from tests.stage_plugins import GainSettings, NothingSettings

NETWORK_TOML = "episodes/network.toml"
CONTEXT = StageContext(Path("master.wav"), 44100, 2)


# --- the chain ----------------------------------------------------------------------------------


class _Recorder:
    """Adds `step` to every sample, holds back its last 3 frames until `flush`, logs its calls."""

    settings_model = StageSettings
    version = "1"
    calls: list[str] = []
    step = 0.0

    def __init__(self, settings: StageSettings, context: StageContext) -> None:
        self.held = np.zeros((0, context.channels), dtype=np.float32)

    def prepare(self) -> None:
        self.calls.append(f"{self.name}.prepare")

    def process(self, block: np.ndarray) -> np.ndarray:
        self.calls.append(f"{self.name}.process")
        joined = np.concatenate([self.held, block + np.float32(self.step)])
        self.held = joined[-3:]
        return joined[:-3]

    def flush(self) -> np.ndarray:
        self.calls.append(f"{self.name}.flush")
        return self.held


@pytest.fixture
def two_stages():
    calls: list[str] = []
    first = type("First", (_Recorder,), {"name": "t-first", "step": 1.0, "calls": calls})
    second = type("Second", (_Recorder,), {"name": "t-second", "step": 10.0, "calls": calls})
    register_stage(first)
    register_stage(second)
    yield calls
    unregister_stage("t-first")
    unregister_stage("t-second")


def test_the_chain_runs_stages_in_registry_order_and_each_tail_through_the_rest(two_stages):
    # the show's table names them in the other order: the registry's order is the chain's
    specs = stage_specs({"t-second": StageSettings(), "t-first": StageSettings()})
    assert [name for name, _ in specs] == ["t-first", "t-second"]
    blocks = [np.full((5, 2), float(i), dtype=np.float32) for i in range(3)]
    outs = list(StageChain(specs, CONTEXT).run(iter(blocks)))
    assert [o.shape[0] for o in outs] == [5, 5, 5]  # cut as the input came, whatever is held
    assert np.array_equal(np.concatenate(outs), np.concatenate(blocks) + 11.0)  # each stage once
    assert two_stages == [
        "t-first.prepare",
        "t-second.prepare",
        *["t-first.process", "t-second.process"] * 3,
        "t-first.flush",
        "t-second.process",  # the first stage's tail runs through the second
        "t-second.flush",
    ]


def test_a_disabled_stage_is_left_out_and_no_stage_hands_the_blocks_on_untouched(two_stages):
    specs = stage_specs({"t-first": StageSettings(enabled=False), "t-second": StageSettings()})
    assert [name for name, _ in specs] == ["t-second"]
    blocks = iter([np.zeros((4, 2), dtype=np.float32)])
    assert StageChain((), CONTEXT).run(blocks) is blocks


def test_a_stage_that_returns_no_float32_pcm_or_drops_frames_is_named():
    class Broken:
        name, version, settings_model = "t-broken", "1", StageSettings

        def __init__(self, settings, context) -> None:
            pass

        def prepare(self) -> None:
            pass

        def process(self, block):
            return block.astype(np.float64)

        def flush(self):
            return np.zeros((0, 2), dtype=np.float32)

    class Dropping(Broken):
        name = "t-dropping"

        def process(self, block):
            return block[1:]

    register_stage(Broken)
    register_stage(Dropping)
    try:
        chain = StageChain(stage_specs({"t-broken": StageSettings()}), CONTEXT)
        with pytest.raises(TypeError, match="'t-broken' returned something other than float32"):
            list(chain.run(iter([np.zeros((4, 2), dtype=np.float32)])))
        chain = StageChain(stage_specs({"t-dropping": StageSettings()}), CONTEXT)
        with pytest.raises(RuntimeError, match="'t-dropping' returned another number of frames"):
            list(chain.run(iter([np.zeros((4, 2), dtype=np.float32)] * 2)))
    finally:
        unregister_stage("t-broken")
        unregister_stage("t-dropping")


# --- settings -----------------------------------------------------------------------------------


def test_every_loudness_and_mastering_setting_maps_by_name(sample: Path):
    """A content setting is the MasteringSettings field of the same name: nothing to map (the
    produced-sound switches excepted: they become stages)."""
    fields = {f.name for f in dataclasses.fields(MasteringSettings)}
    for model in (Loudness, Mastering):
        assert set(model.model_fields) - set(SWITCHES) <= fields, model
    network = load_checked_network(sample)
    for show in network.shows.values():
        settings = mastering_settings(show)
        for section in (show.loudness, show.mastering):
            for name in type(section).model_fields:
                if name != "stages" and name not in SWITCHES:
                    assert getattr(settings, name) == getattr(section, name), name
        assert settings.stages == ()


def _add(root: Path, text: str) -> None:
    toml = root / NETWORK_TOML
    toml.write_text(toml.read_text(encoding="utf-8") + "\n" + text + "\n", encoding="utf-8")


def test_stages_are_inherited_and_a_show_may_turn_one_off(sample: Path):
    _add(
        sample,
        "[defaults.mastering.stages.test-gain]\ngain_db = -3\n\n"
        "[shows.itsmwp-row.mastering.stages.test-gain]\nenabled = false\n",
    )
    shows = load_checked_network(sample).shows
    on = mastering_settings(shows["itsmwp-anz"]).stages
    assert on == (("test-gain", GainSettings(gain_db=-3.0)),)
    assert mastering_settings(shows["itsmwp-row"]).stages == ()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[shows.itsmwp-row.mastering.stages.test-nothng]", 'did you mean "test-nothing"?'),
        ("[shows.itsmwp-row.mastering.stages.test-gain]\ngain_db = 3", "test-gain.gain_db: "),
        ("[shows.itsmwp-row.mastering.stages.test-gain]\ngian_db = -3", "test-gain.gian_db: "),
        ("[shows.itsmwp-row.mastering]\nstages = 1", "must be a table of stages"),
    ],
    ids=["unknown-stage", "out-of-range", "unknown-key", "not-a-table"],
)
def test_a_bad_stage_table_is_one_problem_naming_file_and_field(sample: Path, table, message):
    _add(sample, table)
    problem = find_problem(problems_of(sample), NETWORK_TOML, "shows.itsmwp-row.mastering.stages")
    assert message in problem.message
    assert "\n" not in problem.message


# --- fingerprints and the analysis cache --------------------------------------------------------


def _fingerprints(root: Path) -> dict[str, tuple[str, str]]:
    network = load_checked_network(root)
    return {str(e.path): (e.show, fingerprint(network, e)) for e in network.episodes}


def test_a_stage_changes_the_fingerprints_of_its_show_only(sample: Path):
    before = _fingerprints(sample)
    _add(sample, "[shows.itsmwp-row.mastering.stages.test-nothing]")
    after = _fingerprints(sample)
    changed = {show for path, (show, print_) in after.items() if before[path][1] != print_}
    assert changed == {"itsmwp-row"}
    assert len(after) == len(before) == 7


def test_the_cache_key_takes_the_chain_only_when_there_is_one(tmp_path: Path):
    cache = AnalysisCache(tmp_path)
    plain = cache.key("ab" * 32, 44100, 2, 8)
    assert cache.key("ab" * 32, 44100, 2, 8, chain=chain_identity(())) == plain
    nothing = chain_identity((("test-nothing", NothingSettings()),))
    gain = chain_identity((("test-gain", GainSettings()),))
    gain_3 = chain_identity((("test-gain", GainSettings(gain_db=-3.0)),))
    keys = {plain, *(cache.key("ab" * 32, 44100, 2, 8, chain=c) for c in (nothing, gain, gain_3))}
    assert len(keys) == 4
    assert gain == [{"stage": "test-gain", "version": "1", "settings": {"gain_db": -6.0}}]
    assert STAGES["test-gain"].version == "1"


# --- mastering through the chain ----------------------------------------------------------------

THREE = MasteringSettings(also=(("m4a", 96), ("opus", 64)))


def _inputs(folder: Path) -> tuple[Path, EditDecisions]:
    source = speech_like_master(folder / "master.wav", 20, silence_s=2)
    intro = synth(folder / "intro.wav", "0.3*sin(2*PI*440*t)|0.3*sin(2*PI*660*t)", seconds=3)
    return source, EditDecisions(intro=intro, cuts_s=((5.0, 6.0),))


def _hashes(report) -> dict[str, str]:
    return {encoded.format: encoded.sha256 for encoded in report.files}


@pytest.mark.slow
def test_a_do_nothing_stage_makes_the_very_bytes_of_no_stage(tmp_path: Path):
    source, edits = _inputs(tmp_path)
    cache = AnalysisCache(tmp_path / "cache")
    plain = master(source, tmp_path / "plain.mp3", THREE, edits, analysis_cache=cache)
    with_stage = dataclasses.replace(THREE, stages=(("test-nothing", NothingSettings()),))
    staged = master(source, tmp_path / "staged.mp3", with_stage, edits, analysis_cache=cache)
    assert not staged.analysis_cached  # its own cache entry: the chain is part of the key
    assert _hashes(staged) == _hashes(plain)
    assert len(set(_hashes(plain).values())) == 3
    assert len(list((tmp_path / "cache").glob("*.npz"))) == 2


@pytest.mark.slow
def test_a_stage_that_changes_loudness_is_measured_and_every_file_lands_on_target(
    tmp_path: Path,
):
    source, edits = _inputs(tmp_path)
    quieter = dataclasses.replace(THREE, stages=(("test-gain", GainSettings(gain_db=-6.0)),))
    plain = analyse(source, THREE)
    measured = analyse(source, quieter)
    # pass 1 meters what the chain puts out: every 10 ms frame 6 dB down (the held-back tail too)
    ratio = measured.energy.astype(np.float64).sum() / plain.energy.astype(np.float64).sum()
    assert 10 * np.log10(ratio) == pytest.approx(-6.0, abs=0.01)
    assert measured.energy.size == plain.energy.size
    assert measured.source_figures.integrated_lufs < plain.source_figures.integrated_lufs - 5.5
    assert measured.master_frames == plain.master_frames
    cache = AnalysisCache(tmp_path / "cache")
    notes: list[str] = []
    out = tmp_path / "out.mp3"
    first = master(source, out, quieter, edits, analysis_cache=cache, note=notes.append)
    for path in output_paths(out, quieter).values():
        loudness = ffmpeg_loudness(path)
        assert loudness["I"] == pytest.approx(quieter.target_lufs, abs=0.3), path.name
        assert loudness["TP"] <= quieter.true_peak_dbtp, path.name
    # from the cache: the render's check of the excerpts sees the chain's output, same bytes
    again = master(
        source, tmp_path / "again.mp3", quieter, edits, analysis_cache=cache, note=notes.append
    )
    assert again.analysis_cached and notes == []
    assert _hashes(again) == _hashes(first)


@pytest.mark.slow
def test_publish_remasters_only_the_show_that_turns_a_stage_on(sample: Path, tmp_path: Path):
    store = tmp_path / "store"
    publish = ("publish", "--storage", f"file://{store}")
    first = podcast_json(sample, *publish, process=True, imports=("tests.stage_plugins",))
    assert len(first["episodes_processed"]) == 7
    _add(sample, "[shows.itsmwp-row.mastering.stages.test-nothing]")
    second = podcast_json(sample, *publish, process=True, imports=("tests.stage_plugins",))
    row = sorted(p for p in first["episodes_processed"] if p.startswith("episodes/itsmwp-row/"))
    assert len(row) == 2
    assert sorted(second["episodes_processed"]) == row  # mastered again: the row show's only
    assert sorted(second["episodes_skipped"]) == sorted(set(first["episodes_processed"]) - set(row))
    assert second["episodes_reused"] == second["episodes_retagged"] == []
    # the do-nothing stage made the very bytes: nothing to upload
    assert second["objects_uploaded"] == []
    remastered = sorted((sample / "build" / "itsmwp-row").glob("*.mp3"))
    assert len(remastered) == 2
    for path in remastered:
        assert ffmpeg_loudness(path)["I"] == pytest.approx(-19.0, abs=0.3), path.name
    third = podcast_json(sample, *publish, process=True, imports=("tests.stage_plugins",))
    assert third["episodes_processed"] == []
