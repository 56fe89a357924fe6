"""The `dehum` stage (podcast_tools.audio.dehum): mains hum found (50, 60 or none) and notched out,
the voice left as it was — on generated interviews (tests/interview.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from podcast_tools.audio.dehum import Dehum, DehumSettings, scan_for_hum
from podcast_tools.audio.meter import LoudnessMeter
from podcast_tools.audio.pcm import pcm_chunks
from podcast_tools.audio.stages import STAGES, StageContext
from tests.interview import have_espeak, make_interview

pytestmark = pytest.mark.skipif(not have_espeak(), reason="needs espeak-ng")


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    scale = np.dot(estimate, reference) / np.dot(reference, reference)
    target = scale * reference
    return float(10 * np.log10(np.sum(target**2) / np.sum((estimate - target) ** 2)))


def run(settings: DehumSettings, path: Path, sizes: int | None = None):
    stage = Dehum(settings, StageContext(path, 44100, 2))
    stage.prepare()
    pcm = np.concatenate(list(pcm_chunks(path, sample_rate=44100, channels=2)))
    step = sizes or pcm.shape[0]
    out = [stage.process(pcm[i : i + step]) for i in range(0, pcm.shape[0], step)]
    return pcm, np.concatenate([*out, stage.flush()]), stage.findings()


def lufs(pcm: np.ndarray) -> float:
    meter = LoudnessMeter(44100, 2)
    meter.feed(pcm)
    return meter.integrated_lufs()


@pytest.fixture(scope="module")
def interviews(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hum")
    return {
        name: make_interview(folder / f"{name}.wav", turns=2, **kwargs)
        for name, kwargs in {
            "clean": {},
            "noise": {"noise_snr_db": 10},
            "hum50": {"hum_hz": 50},
            "hum60": {"hum_hz": 60, "noise_snr_db": 10},
            "quiet60": {"hum_hz": 60, "hum_db": -55},
        }.items()
    }


def test_the_stage_is_registered():
    assert STAGES["dehum"] is Dehum
    assert DehumSettings().mains == "auto"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "mains"),
    [("clean", None), ("noise", None), ("hum50", 50), ("hum60", 60), ("quiet60", 60)],
)
def test_the_scan_finds_50_60_or_no_hum_and_speech_is_not_hum(interviews, name, mains):
    assert scan_for_hum(interviews[name].path)["detected"] == mains


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hum50", "hum60"])
def test_auto_takes_the_hum_out_and_says_how_much(interviews, name):
    interview = interviews[name]
    pcm, out, found = run(DehumSettings(), interview.path)
    mains = 50 if name == "hum50" else 60
    assert found["detected"] is True and found["mains_hz"] == mains
    assert found["frequency_hz"] == pytest.approx(mains, abs=0.05)
    assert found["harmonics_hz"][:3] == pytest.approx([mains, 2 * mains, 3 * mains], abs=0.2)
    assert found["removed_db"] >= 20
    assert found["hum_before_db"] == pytest.approx(-35, abs=1.5)  # make_interview's hum_db
    assert out.shape == pcm.shape and out.dtype == np.float32
    # closer to the clean mix than what came in
    before = si_sdr(pcm[:, 0].astype(np.float64), interview.clean)
    after = si_sdr(out[:, 0].astype(np.float64), interview.clean)
    assert after > before + 1.0


@pytest.mark.slow
def test_the_voice_is_left_untouched(interviews):
    interview = interviews["clean"]
    pcm, out, found = run(DehumSettings(), interview.path)  # auto, no hum: nothing done
    assert found["detected"] is False and found["mains_hz"] is None and found["harmonics_hz"] == []
    assert np.array_equal(out, pcm)
    pcm, out, found = run(DehumSettings(mains=50), interview.path)  # told 50: its notches run
    assert found["harmonics_hz"] == [50.0, 100.0, 150.0] and found["detected"] is False
    reference = pcm[:, 0].astype(np.float64)
    assert si_sdr(out[:, 0].astype(np.float64), reference) > 25
    assert abs(lufs(out) - lufs(pcm)) < 0.1


@pytest.mark.slow
def test_blocks_of_any_size_give_the_same_output(interviews):
    path = interviews["hum50"].path
    _, whole, found = run(DehumSettings(), path)
    _, cut, found_cut = run(DehumSettings(), path, sizes=4801)
    assert np.array_equal(whole, cut)
    assert found == found_cut
