"""The mastering report says what a producer hears (docs/mastering.md, "Produced sound"): per stretch of
speech the loudness before and after, the noise floor, the hum; warnings naming the setting that
fixes what they warn of; before/after excerpts to play. Real voices (espeak-ng), the real voice
activity detector, the real ffmpeg."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from podcast_tools.audio.dehum import DehumSettings
from podcast_tools.audio.denoise import DenoiseSettings
from podcast_tools.audio.leveler import LevelerSettings
from podcast_tools.audio.master import MasteringSettings, master
from podcast_tools.audio.produced import CHAIN_ORDER  # noqa: F401  (the stages' order)
from podcast_tools.audio.speech import SpeechAnalysis, SpeechFrames, speech_profile
from podcast_tools.audio.stages import stage_specs
from podcast_tools.ffmpeg import ffmpeg_exe
from podcast_tools.jsonout import document
from podcast_tools.report import sound_warnings, speech_excerpts, write_report_page
from tests.audio_tools import synth
from tests.interview import make_interview, need_espeak
from tests.test_json_schemas import assert_valid

pytestmark = pytest.mark.slow


def _processed(report) -> dict:
    """The report as `podcast process --json` prints it."""
    return document("process", {**report.as_dict(), "episode": "e.md", "report_html": "r"})


def _duration(clip: bytes, folder: Path) -> float:
    path = folder / "clip.mp3"
    path.write_bytes(clip)
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    stamp = done.stderr.rsplit("time=", 1)[1].split()[0]
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@pytest.fixture(scope="module")
def interview(tmp_path_factory):
    need_espeak()
    folder = tmp_path_factory.mktemp("interview")
    return make_interview(folder / "interview.wav", turns=3)


@pytest.fixture(scope="module")
def mastered(interview, tmp_path_factory):
    out = tmp_path_factory.mktemp("mastered") / "interview.mp3"
    return master(interview.path, out, MasteringSettings())


def test_the_speech_profile_finds_both_speakers_and_the_gap_between_them(interview, mastered):
    speech = mastered.speech
    assert speech["speech_found"] is True
    stretches = speech["stretches"]
    assert len(stretches) == 6, stretches  # three turns each
    # each stretch lies on one speaker's turn, in order, the guest 12 dB down
    turns = interview.turns
    for stretch, (who, start, end) in zip(stretches, turns):
        middle = (stretch["start_s"] + stretch["end_s"]) / 2
        assert start - 0.5 <= middle <= end + 0.5, (stretch, who, start, end)
    host = [s["before_lufs"] for s, (who, *_) in zip(stretches, turns) if who == "host"]
    guest = [s["before_lufs"] for s, (who, *_) in zip(stretches, turns) if who == "guest"]
    assert 10.5 <= np.mean(host) - np.mean(guest) <= 13.5
    assert 10.0 <= speech["spread_before_lu"] <= 14.0
    # mastering without the leveler moves every stretch by the same gain
    moved = {round(s["after_lufs"] - s["before_lufs"], 1) for s in stretches}
    assert max(moved) - min(moved) <= 0.2, moved
    # room tone at −60 dBFS (−58 LUFS K-weighted, as the meter reads pink room tone)
    assert -61.0 <= speech["noise_floor_before_lufs"] <= -55.0
    assert speech["noise_gap_after_db"] == pytest.approx(speech["noise_gap_before_db"], abs=0.3)


def test_the_report_warns_of_the_gap_and_names_the_leveler(mastered, tmp_path):
    doc = _processed(mastered)
    assert_valid("process", json.loads(json.dumps(doc)))
    warnings = sound_warnings(doc, [])
    spread = [w for w in warnings if w.key == "speech-spread"]
    assert spread and spread[0].fix == "turn on mastering.leveler = true"
    page = write_report_page(mastered, tmp_path / "r.html", title="Interview").read_text("utf-8")
    assert 'data-verdict="warn"' in page and "Meets the show" not in page
    assert 'data-warning="speech-spread"' in page
    assert 'id="speech-figures"' in page and 'id="stretches"' in page


def test_excerpts_of_the_loudest_and_quietest_speech_play_ten_seconds(
    interview, mastered, tmp_path
):
    clips = speech_excerpts(mastered)
    assert [c.label for c in clips] == ["loudest speech", "quietest speech"]
    turns = {round(start): who for who, start, _ in interview.turns}
    loud, quiet = clips
    nearest = lambda t: turns[min(turns, key=lambda s: abs(s - t))]  # noqa: E731
    assert nearest(loud.master_s) == "host" and nearest(quiet.master_s) == "guest"
    for clip in clips:
        assert 0 < clip.heard_s <= clip.master_s  # the head of the master was trimmed
        for sound in (clip.before, clip.after):
            assert 9.5 <= _duration(sound, tmp_path) <= 10.5
    page = write_report_page(mastered, tmp_path / "r.html", title="I", excerpts=clips)
    text = page.read_text("utf-8")
    assert text.count("<audio controls") == 4 and text.count("data:audio/mpeg;base64,") == 4


def test_a_master_without_speech_says_so_and_warns_of_nothing_spoken(tmp_path):
    source = synth(
        tmp_path / "music.wav",
        "0.2*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*0.5*t))|0.2*sin(2*PI*330*t)",
        seconds=20,
        rate=44100,
    )
    report = master(source, tmp_path / "music.mp3", MasteringSettings())
    assert report.speech == {"speech_found": False, "speech_s": report.speech["speech_s"]}
    doc = _processed(report)
    assert_valid("process", json.loads(json.dumps(doc)))
    assert [w.key for w in sound_warnings(doc, [])] == []
    page = write_report_page(report, tmp_path / "r.html", title="Music").read_text("utf-8")
    assert 'id="no-speech"' in page and 'data-verdict="pass"' in page


def test_a_noisy_line_warns_of_the_noise_floor_and_names_the_denoiser(tmp_path):
    need_espeak()
    noisy = make_interview(tmp_path / "noisy.wav", turns=2, guest_gap_db=0, noise_snr_db=10)
    report = master(noisy.path, tmp_path / "noisy.mp3", MasteringSettings())
    gap = report.speech["noise_gap_after_db"]
    # pink noise 10 dB under the speech's RMS (over its turns, gaps between words included;
    # the stretches' loudness is that of their speech frames)
    assert 6.0 <= gap <= 18.0, report.speech
    [warning] = [w for w in sound_warnings(_processed(report), []) if w.key == "noise-floor"]
    assert warning.fix == 'turn on mastering.denoise = "light"'


def test_a_hard_working_limiter_warns_and_names_the_target(interview, tmp_path):
    # −12 LUFS asks more of speech than its peaks allow: the limiter takes over 3 dB away from
    # about a fifth of the programme
    report = master(interview.path, tmp_path / "loud.mp3", MasteringSettings(target_lufs=-12.0))
    doc = _processed(report)
    assert doc["loudness"]["limiter_over_3db_percent"] > 10.0
    [warning] = [w for w in sound_warnings(doc, []) if w.key == "limiter"]
    assert "loudness.target_lufs" in warning.fix


def test_stretches_move_as_speech_does_and_report_before_and_after():
    """The profile of a constructed map: a stretch of syllable-like loudness is speech (as
    recorded and after the gain); the same loudness held steady (a tone, noise) is none."""
    frames = 1000  # 10 s of 10 ms frames
    voiced = np.zeros(frames, bool)
    voiced[100:500] = True
    syllables = 10.0 * np.log10(
        (1.0 + 0.9 * np.sin(2 * np.pi * 4.0 * np.arange(frames) * 0.01)) ** 2 + 1e-3
    )
    level = np.where(voiced, -20.0 + syllables, -60.0).astype(np.float32)
    profile = speech_profile(SpeechFrames(SpeechAnalysis(level, voiced), level), gain_db=3.0)
    [stretch] = profile["stretches"]
    assert 0.9 <= stretch["start_s"] <= 1.1 and 4.9 <= stretch["end_s"] <= 5.1
    assert stretch["after_lufs"] == pytest.approx(stretch["before_lufs"] + 3.0, abs=0.05)
    assert json.loads(json.dumps(profile)) == profile
    steady = np.where(voiced, -20.0, -60.0).astype(np.float32)
    found = speech_profile(SpeechFrames(SpeechAnalysis(steady, voiced), steady), 0.0)
    assert found["speech_found"] is False


def test_all_three_stages_on_a_bad_line_and_the_report_says_what_they_did(tmp_path):
    """A guest 12 dB down on a line with pink noise 15 dB under the speech and 50 Hz hum, with
    dehum, denoise and the leveler on (the real models): the report finds the hum and says how
    much went, the denoiser's strength, and the speech evened out over a lower noise floor."""
    need_espeak()
    bad = make_interview(tmp_path / "bad.wav", turns=2, noise_snr_db=15, hum_hz=50)
    stages = stage_specs(
        {"dehum": DehumSettings(), "denoise": DenoiseSettings(), "leveler": LevelerSettings()}
    )
    report = master(bad.path, tmp_path / "bad.mp3", MasteringSettings(stages=stages))
    found = report.stages
    assert found["dehum"]["frequency_hz"] == pytest.approx(50.0, abs=0.1)
    assert found["dehum"]["removed_db"] > 15.0
    assert found["denoise"]["strength"] == "light"
    speech = report.speech
    assert speech["spread_after_lu"] < speech["spread_before_lu"] - 5.0, speech
    assert speech["noise_gap_after_db"] > speech["noise_gap_before_db"] + 12.0, speech
    page = write_report_page(report, tmp_path / "r.html", title="Bad line").read_text("utf-8")
    assert 'id="hum" data-mains="50"' in page and 'id="denoise" data-strength="light"' in page
    assert_valid("process", json.loads(json.dumps(_processed(report))))
