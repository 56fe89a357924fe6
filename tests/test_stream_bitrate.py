"""`audio.probe.stream_bitrate` for MP3s whose header does not say the mode (issue 25 review):
a header-less MP3 takes the length already known (no second full-file ffmpeg read); a Xing
header without LAME info gives its own byte count; a rate that rounds to 0 is None (the manifest's
schema wants at least 1)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mutagen.id3 import ID3, TIT2
from mutagen.mp3 import MP3, BitrateMode

from podcast_tools import ffmpeg
from podcast_tools.audio.probe import probe_duration, stream_bitrate
from tests.audio_tools import synth


def _mp3(tmp_path: Path, name: str, *args: str) -> Path:
    out = synth(
        tmp_path / name,
        "0.2*sin(2*PI*440*t)+0.1*(random(0)-0.5)",
        seconds=6,
        rate=44100,
        codec=("-c:a", "libmp3lame", *args),
    )
    tags = ID3()
    tags.add(TIT2(encoding=3, text=["x" * 20_000]))  # tags that must not count as audio
    tags.save(out)
    return out


@pytest.fixture
def ffmpeg_runs(tmp_path: Path, monkeypatch) -> Path:
    """The log of every ffmpeg run from here on (the real ffmpeg, through a wrapper)."""
    log = tmp_path / "ffmpeg.log"
    wrapper = tmp_path / "ffmpeg-logged"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{ffmpeg.ffmpeg_exe()}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PODCAST_FFMPEG", str(wrapper))
    ffmpeg.ffmpeg_exe.cache_clear()
    yield log
    monkeypatch.undo()
    ffmpeg.ffmpeg_exe.cache_clear()


def _runs(log: Path) -> int:
    return log.read_text().count("\n") if log.exists() else 0


def _audio_bytes(path: Path) -> int:
    return path.stat().st_size - ID3(path).size


def test_a_header_less_mp3_takes_the_known_length_and_reads_no_packets(tmp_path, ffmpeg_runs):
    mp3 = _mp3(tmp_path, "plain.mp3", "-b:a", "64k", "-write_xing", "0")
    assert MP3(mp3).info.bitrate_mode == BitrateMode.UNKNOWN
    made = _runs(ffmpeg_runs)
    duration_s = probe_duration(mp3)  # counts the packets once: that is what it is for
    runs = _runs(ffmpeg_runs)
    assert runs == made + 1
    bitrate = stream_bitrate(mp3, duration_s)
    assert _runs(ffmpeg_runs) == runs  # no second read of the whole file
    assert bitrate == round(_audio_bytes(mp3) * 8 / duration_s)
    assert abs(bitrate - 64000) < 64000 * 0.03
    assert stream_bitrate(mp3) == bitrate  # the length unknown: counted from its packets
    assert _runs(ffmpeg_runs) == runs + 1


def test_a_xing_header_without_lame_info_gives_its_byte_count(tmp_path, ffmpeg_runs):
    mp3 = _mp3(tmp_path, "vbr.mp3", "-q:a", "5")
    # Xing without LAME info (as encoders other than LAME write it): the quality flag taken out,
    # so no LAME tag is read — nothing this machine's encoders write
    data = bytearray(mp3.read_bytes())
    at = data.index(b"Xing")
    flags = int.from_bytes(data[at + 4 : at + 8], "big")
    data[at + 4 : at + 8] = (flags & ~0x08).to_bytes(4, "big")
    mp3.write_bytes(bytes(data))
    info = MP3(mp3).info
    assert info.bitrate_mode == BitrateMode.UNKNOWN and info.bitrate > 0
    frames = int.from_bytes(data[at + 8 : at + 12], "big")
    xing_bytes = int.from_bytes(data[at + 12 : at + 16], "big")
    assert frames > 0 and xing_bytes > 0
    made = _runs(ffmpeg_runs)
    assert stream_bitrate(mp3) == info.bitrate  # Xing's bytes over its frames' length
    assert _runs(ffmpeg_runs) == made  # not the packets counted by ffmpeg


def test_a_rate_that_rounds_to_nothing_is_none(tmp_path):
    mp3 = _mp3(tmp_path, "plain.mp3", "-b:a", "64k", "-write_xing", "0")
    assert stream_bitrate(mp3, duration_s=1e12) is None  # 0.0… bits per second: none
    assert stream_bitrate(mp3, duration_s=0) is None
