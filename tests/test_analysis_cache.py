"""Pass 1 kept between runs (`build/.cache/analysis/`): a settings change renders without
measuring the master again, and the cache never changes what is made."""

from __future__ import annotations

import dataclasses
import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from podcast_tools.audio import master as master_module
from podcast_tools.audio.analysis_cache import AnalysisCache
from podcast_tools.audio.master import MasteringSettings, analyse, master
from podcast_tools.audio.synth import speech_like_master
from podcast_tools.layout import file_hash
from tests.audio_tools import ffmpeg_loudness


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return speech_like_master(tmp_path / "master.wav", 15, silence_s=1)


def counting_reads(monkeypatch) -> list[Path]:
    reads: list[Path] = []
    real = master_module.pcm_chunks

    def counted(path, **kwargs):
        reads.append(Path(path))
        return real(path, **kwargs)

    monkeypatch.setattr(master_module, "pcm_chunks", counted)
    return reads


@pytest.mark.slow
def test_a_second_run_takes_pass_one_from_the_cache_and_makes_the_same_bytes(
    tmp_path: Path, source: Path, monkeypatch
):
    cache = AnalysisCache(tmp_path / "cache")
    reads = counting_reads(monkeypatch)
    plain = master(source, tmp_path / "plain.mp3")
    assert len(reads) == 2 and not plain.analysis_cached
    reads.clear()
    first = master(source, tmp_path / "first.mp3", analysis_cache=cache)
    assert len(reads) == 2 and not first.analysis_cached
    assert (cache.counts.hits, cache.counts.misses) == (0, 1)
    reads.clear()
    second = master(source, tmp_path / "second.mp3", analysis_cache=cache)
    assert reads == [source]  # the render's read only
    assert second.analysis_cached and second.as_dict()["analysis_cached"] is True
    assert (cache.counts.hits, cache.counts.misses) == (1, 1)
    # what is made does not depend on where pass 1 came from
    assert (tmp_path / "second.mp3").read_bytes() == (tmp_path / "plain.mp3").read_bytes()
    assert second.as_dict()["loudness"] == plain.as_dict()["loudness"]


def test_a_new_target_renders_from_the_cached_analysis(tmp_path: Path, source: Path, monkeypatch):
    cache = AnalysisCache(tmp_path / "cache")
    master(source, tmp_path / "a.mp3", analysis_cache=cache)
    reads = counting_reads(monkeypatch)
    quieter = dataclasses.replace(MasteringSettings(), target_lufs=-19.0)
    report = master(source, tmp_path / "b.mp3", quieter, analysis_cache=cache)
    assert report.analysis_cached and reads == [source]
    assert ffmpeg_loudness(tmp_path / "b.mp3")["I"] == pytest.approx(-19.0, abs=0.3)


def test_another_rate_or_changed_master_is_measured_again(tmp_path: Path, source: Path):
    cache = AnalysisCache(tmp_path / "cache")
    analyse(source, MasteringSettings(), cache=cache)
    mono = analyse(source, MasteringSettings(channels=1), cache=cache)
    assert not mono.from_cache
    speech_like_master(source, 12, silence_s=1)  # the producer replaced the recording
    again = analyse(source, MasteringSettings(), cache=cache)
    assert not again.from_cache and again.master_frames == pytest.approx(12 * 44100, abs=4410)
    assert analyse(source, MasteringSettings(), cache=cache).from_cache


@pytest.mark.parametrize("damage", [b"", b"not a zip", b"PK\x03\x04truncated"])
def test_a_damaged_entry_is_a_miss_and_is_replaced(tmp_path: Path, source: Path, damage: bytes):
    cache = AnalysisCache(tmp_path / "cache")
    first = analyse(source, MasteringSettings(), cache=cache)
    (entry,) = (tmp_path / "cache").glob("*.npz")
    entry.write_bytes(damage)
    again = analyse(source, MasteringSettings(), cache=cache)
    assert not again.from_cache and again.master_frames == first.master_frames
    assert analyse(source, MasteringSettings(), cache=cache).from_cache


def test_the_folder_keeps_under_its_cap_least_recently_used_out(tmp_path: Path):
    cache = AnalysisCache(tmp_path / "cache", cap_bytes=0)
    figures = master_module.LoudnessFigures(-20.0, -3.0, 5.0)
    arrays = dict(
        master_frames=100,
        source_figures=figures,
        energy=np.ones(100_000, np.float32),
        frame_peaks=np.ones(100_000, np.float32),
        excerpts=[],
    )
    for name in ("a", "b", "c"):
        cache.store(name, **arrays)
    assert list((tmp_path / "cache").glob("*.npz")) == []  # a cap of 0 keeps nothing
    cache.cap_bytes = 1 << 30
    cache.store("a", **arrays)
    size = cache.path("a").stat().st_size
    cache.cap_bytes = 2 * size + size // 2  # room for two entries
    for name in ("a", "b", "c"):
        cache.store(name, **arrays)
    assert cache.load("b") is not None  # used: now the newest
    cache.store("d", **arrays)
    kept = sorted(p.stem for p in (tmp_path / "cache").glob("*.npz"))
    assert kept == ["b", "d"]
    assert not list((tmp_path / "cache").glob(".*"))  # no temp file left


def _store_many(folder: str, rounds: int) -> None:
    cache = AnalysisCache(Path(folder))
    arrays = dict(
        master_frames=7,
        source_figures=master_module.LoudnessFigures(-20.0, -3.0, 5.0),
        energy=np.arange(50_000, dtype=np.float32),
        frame_peaks=np.ones(50_000, np.float32),
        excerpts=[np.zeros((10, 2), np.float32)],
    )
    for _ in range(rounds):
        cache.store("same", **arrays)
        found = cache.load("same")
        assert found is None or found["master_frames"] == 7


def test_runs_storing_at_once_never_leave_a_half_file(tmp_path: Path):
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_store_many, args=(str(tmp_path / "cache"), 25)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    found = AnalysisCache(tmp_path / "cache").load("same")
    assert found is not None and np.array_equal(found["energy"], np.arange(50_000))
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["same.npz"]


@pytest.mark.slow
def test_process_keeps_the_cache_in_the_networks_build_folder(sample: Path):
    from podcast_tools.media_checks import load_checked_network
    from podcast_tools.pipeline.process import process_episode

    network = load_checked_network(sample)
    episode = network.episode_at(sample / "episodes/itsmwp/002-change-advisory-boards.md")
    out = sample / "build" / "itsmwp"
    first, _ = process_episode(network, episode, out)
    second, _ = process_episode(network, episode, out)
    assert not first.analysis_cached and second.analysis_cached
    entries = list((sample / "build" / ".cache" / "analysis").glob("*.npz"))
    assert len(entries) == 1
    assert file_hash(first.output) == file_hash(second.output)
