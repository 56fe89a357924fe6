"""PCM chunks from any master: WAV read directly when it already has the output's sample rate and
channel count (no decoder process, no pipe), everything else decoded by ffmpeg.

Both paths yield float32 arrays shaped ``(frames, channels)``, full scale ±1.0.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from podcast_tools import ffmpeg

CHUNK_FRAMES = 1 << 16
_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE


@dataclass(frozen=True)
class WavLayout:
    """Where the samples of a plain WAV file are and how they are stored."""

    data_offset: int
    data_bytes: int
    channels: int
    sample_rate: int
    encoding: str  # "i16", "i24", "i32" or "f32"

    @property
    def frame_bytes(self) -> int:
        return self.channels * int(self.encoding[1:]) // 8


def wav_layout(path: Path) -> WavLayout | None:
    """The layout of a RIFF/WAVE file with 16/24/32-bit integer or 32-bit float samples; None for
    anything else (other formats, RF64, damaged headers), which ffmpeg then decodes."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            header = handle.read(12)
            if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
                return None
            fmt = None
            position = 12
            while position + 8 <= size:
                handle.seek(position)
                chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
                if chunk_id == b"fmt ":
                    fmt = handle.read(min(chunk_size, 40))
                elif chunk_id == b"data":
                    if fmt is None or len(fmt) < 16:
                        return None
                    offset = position + 8
                    available = size - offset
                    data_bytes = (
                        available if chunk_size in (0, 0xFFFFFFFF) else min(chunk_size, available)
                    )
                    return _layout(fmt, offset, data_bytes)
                position += 8 + chunk_size + (chunk_size & 1)
    except (OSError, struct.error):
        return None
    return None


def _layout(fmt: bytes, offset: int, data_bytes: int) -> WavLayout | None:
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == _EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]  # the sub-format GUID starts with the tag
    encodings = {(_PCM, 16): "i16", (_PCM, 24): "i24", (_PCM, 32): "i32", (_FLOAT, 32): "f32"}
    encoding = encodings.get((tag, bits))
    if encoding is None or channels == 0 or rate == 0:
        return None
    return WavLayout(offset, data_bytes, channels, rate, encoding)


def read_wav(
    path: Path, layout: WavLayout, chunk_frames: int = CHUNK_FRAMES
) -> Iterator[np.ndarray]:
    """Stream the samples of a WAV file as float32, one chunk at a time."""
    frame_bytes = layout.frame_bytes
    remaining = layout.data_bytes // frame_bytes * frame_bytes
    with path.open("rb") as handle:
        handle.seek(layout.data_offset)
        while remaining > 0:
            data = handle.read(min(remaining, chunk_frames * frame_bytes))
            usable = len(data) // frame_bytes * frame_bytes
            if usable == 0:
                break  # the file is shorter than its header says: the caller checks the length
            remaining -= usable
            yield _to_float(data[:usable], layout.encoding).reshape(-1, layout.channels)


def _to_float(data: bytes, encoding: str) -> np.ndarray:
    if encoding == "i16":
        return np.frombuffer(data, dtype="<i2") * np.float32(1 / 32768)
    if encoding == "i32":
        return np.frombuffer(data, dtype="<i4") * np.float32(1 / 2**31)
    if encoding == "f32":
        return np.frombuffer(data, dtype="<f4")
    triplets = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
    values = triplets[:, 0] | (triplets[:, 1] << 8) | (triplets[:, 2] << 16)
    values = np.where(values >= 1 << 23, values - (1 << 24), values)
    return values * np.float32(1 / 2**23)


def pcm_chunks(
    path: Path, *, sample_rate: int, channels: int, chunk_frames: int = CHUNK_FRAMES
) -> Iterator[np.ndarray]:
    """Float32 chunks of `path` at `sample_rate` with `channels`, however it is stored."""
    layout = wav_layout(path)
    if layout is not None and layout.sample_rate == sample_rate and layout.channels == channels:
        return read_wav(path, layout, chunk_frames)
    return ffmpeg.decode_pcm(
        path, sample_rate=sample_rate, channels=channels, chunk_frames=chunk_frames
    )
