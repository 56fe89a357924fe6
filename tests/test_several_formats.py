"""Several formats from one render: MP3 + M4A (AAC-LC) + Opus, each on the show's targets.

Real ffmpeg on generated masters; each file measured by ffmpeg's own meter (ebur128, true peak).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podcast_tools.audio.master import (
    MasteringSettings,
    analyse,
    level_formats,
    master,
    output_paths,
    plan_master,
)
from podcast_tools.audio.synth import speech_like_master
from podcast_tools.ffmpeg import ffmpeg_exe
from podcast_tools.formats import FORMATS
from tests.audio_tools import decode, ffmpeg_loudness

THREE = MasteringSettings(also=(("m4a", 96), ("opus", 64)))


def test_level_formats_aims_at_the_lossiest_and_trims_the_others():
    encodes = THREE.encodes()
    make_up, trims, ceiling = level_formats({"mp3": 0.5, "m4a": 0.2, "opus": 0.0}, encodes, -1.0)
    assert make_up == 0.5
    assert trims == {"mp3": 0.0, "m4a": pytest.approx(-0.3), "opus": pytest.approx(-0.5)}
    # every file: ceiling + trim + its encoder's headroom stays at or under −1 dBTP
    for audio_format, _ in encodes:
        peak = ceiling + trims[audio_format.name] + audio_format.true_peak_headroom_db
        assert peak <= -1.0 + 1e-9
    assert any(
        ceiling + trims[f.name] + f.true_peak_headroom_db == pytest.approx(-1.0) for f, _ in encodes
    )  # and no lower than it must be
    # the MP3 alone: no trim, the ceiling less the MP3's headroom (what it always was)
    make_up, trims, ceiling = level_formats({"mp3": 0.4}, MasteringSettings().encodes(), -1.0)
    assert (make_up, trims, ceiling) == (
        0.4,
        {"mp3": 0.0},
        -1.0 - FORMATS["mp3"].true_peak_headroom_db,
    )


def test_output_paths_put_the_other_formats_beside_the_mp3(tmp_path: Path):
    assert output_paths(tmp_path / "001-x.mp3", THREE) == {
        "mp3": tmp_path / "001-x.mp3",
        "m4a": tmp_path / "001-x.m4a",
        "opus": tmp_path / "001-x.opus",
    }


@pytest.mark.parametrize(
    ("settings", "channels", "level_db"),
    [
        pytest.param(THREE, 2, 6.0, id="stereo-loud-peaks-need-limiting"),
        pytest.param(
            dataclasses.replace(
                THREE,
                target_lufs=-19.0,
                channels=1,
                bitrate_kbps=64,
                also=(("m4a", 48), ("opus", 32)),
            ),
            1,
            -14.0,
            id="mono-quiet",
        ),
    ],
)
@pytest.mark.slow
def test_every_file_lands_on_the_target_and_under_the_ceiling(
    tmp_path: Path, settings: MasteringSettings, channels: int, level_db: float
):
    source = speech_like_master(
        tmp_path / "master.wav", 40, channels=channels, level_db=level_db, silence_s=2
    )
    report = master(source, tmp_path / "out.mp3", settings)
    assert [f.format for f in report.files] == ["mp3", "m4a", "opus"]
    for encoded in report.files:
        path = encoded.output
        assert path.is_file() and path.suffix == FORMATS[encoded.format].suffix
        measured = ffmpeg_loudness(path)
        assert measured["I"] == pytest.approx(settings.target_lufs, abs=0.3), encoded
        assert measured["TP"] <= settings.true_peak_dbtp, encoded
        assert encoded.bytes == path.stat().st_size
        assert encoded.trim_db <= 0.0
        # one render: every file is the same programme, as long as the MP3
        decoded_s = decode(path, channels=channels).shape[0] / 44100
        assert decoded_s == pytest.approx(report.duration_s, abs=0.08), encoded
    opus = next(f for f in report.files if f.format == "opus")
    probe = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(opus.output)], capture_output=True, text=True
    )
    assert "48000 Hz" in probe.stderr and "opus" in probe.stderr  # Ogg Opus at 48 kHz
    m4a = next(f for f in report.files if f.format == "m4a")
    probe = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(m4a.output)], capture_output=True, text=True
    )
    assert "aac (LC)" in probe.stderr
    # the bitrates asked for: AAC's average within 15 %; Opus (VBR) spends less on pauses
    kbps = {f.format: f.bytes * 8 / report.duration_s / 1000 for f in report.files}
    assert kbps["m4a"] == pytest.approx(m4a.bitrate_kbps, rel=0.15)
    assert opus.bitrate_kbps * 0.4 < kbps["opus"] <= opus.bitrate_kbps * 1.15


@pytest.mark.slow
def test_one_analysis_and_one_render_feed_every_encoder(tmp_path: Path, monkeypatch):
    """The master is decoded twice (analysis, render) with three formats as with one."""
    from tests.test_analysis_cache import counting_reads

    source = speech_like_master(tmp_path / "master.wav", 12, silence_s=1)
    reads = counting_reads(monkeypatch)
    master(source, tmp_path / "one.mp3", MasteringSettings())
    assert reads == [source, source]
    reads.clear()
    master(source, tmp_path / "three.mp3", THREE)
    assert reads == [source, source]


def test_a_failing_encoder_leaves_no_file_of_any_format(tmp_path: Path, monkeypatch):
    source = speech_like_master(tmp_path / "master.wav", 8, silence_s=1)
    broken = dataclasses.replace(FORMATS["opus"], codec_args=("-no-such-option", "1"))
    monkeypatch.setitem(FORMATS, "opus", broken)
    with pytest.raises(Exception, match="Opus"):
        master(source, tmp_path / "out.mp3", THREE)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["master.wav"]


def test_the_plan_records_each_encoders_loss_and_trim(tmp_path: Path):
    source = speech_like_master(tmp_path / "master.wav", 20, silence_s=1)
    steps = plan_master(analyse(source, THREE), THREE)
    assert set(steps.codec_losses) == set(steps.trims_db) == {"mp3", "m4a", "opus"}
    assert steps.codec_loss_lu == max(steps.codec_losses.values())
    assert max(steps.trims_db.values()) == 0.0
    for name, trim in steps.trims_db.items():
        assert trim == pytest.approx(steps.codec_losses[name] - steps.codec_loss_lu)


@pytest.mark.slow
def test_process_json_lists_every_file_and_verify_measures_each(tmp_path: Path, sample: Path):
    """`process --json --verify` on a show naming three formats (process/3)."""
    from tests.conftest import edit
    from tests.test_json_schemas import assert_valid

    edit(
        sample / "episodes" / "network.toml",
        "mp3 = { bitrate = 128, channels = 2, sample_rate = 44100 }\n",
        "mp3 = { bitrate = 128, channels = 2, sample_rate = 44100 }\n"
        'formats = ["mp3", "m4a", "opus"]\nm4a = { bitrate = 64 }\n',
    )
    episode = sample / "episodes" / "itsmwp" / "001-incident-vs-problem.md"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "podcast_tools",
            "--root",
            str(sample),
            "process",
            str(episode),
            "--json",
            "--verify",
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ.copy(),
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert_valid("process", doc)
    assert [f["format"] for f in doc["files"]] == ["mp3", "m4a", "opus"]
    assert [f["bitrate_kbps"] for f in doc["files"]][1] == 64
    target = doc["loudness"]["target_lufs"]
    for entry in doc["files"]:
        assert Path(entry["output"]).is_file()
        assert entry["measured"]["integrated_lufs"] == pytest.approx(target, abs=0.3)
        assert entry["measured"]["true_peak_dbtp"] <= doc["loudness"]["true_peak_ceiling_dbtp"]
    assert doc["files"][0]["sha256"] == doc["sha256"]
