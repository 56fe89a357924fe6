"""Helpers for audio tests: make signals with ffmpeg's synthetic sources, measure with ffmpeg."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from podcast_tools import ffmpeg


def synth(
    path: Path, expression: str, *, seconds: float, rate: int = 48000, codec=("-c:a", "pcm_s16le")
) -> Path:
    """Render an `aevalsrc` expression (channels separated by |) to a file."""
    ffmpeg.run(
        [
            "-f",
            "lavfi",
            "-i",
            f"aevalsrc='{expression}':s={rate}:d={seconds}",
            *codec,
            "-y",
            ffmpeg.input_url(path),
        ],
        about=path,
    )
    return path


def ffmpeg_loudness(path: Path) -> dict[str, float]:
    """Integrated loudness, loudness range and true peak by ffmpeg's ebur128 filter."""
    result = ffmpeg.run(
        [
            "-nostats",
            "-i",
            ffmpeg.input_url(path),
            "-af",
            "ebur128=peak=true:framelog=quiet",
            "-f",
            "null",
            "-",
        ],
        about=path,
    )
    text = result.stderr.decode()
    summary = text[text.rfind("Summary:") :]

    def grab(key: str) -> float:
        return float(re.search(rf"{key}:\s+(-?[\d.]+|-inf)", summary).group(1))

    return {"I": grab("I"), "LRA": grab("LRA"), "TP": grab("Peak")}


def decode(path: Path, *, rate: int = 44100, channels: int = 2) -> np.ndarray:
    return np.concatenate(list(ffmpeg.decode_pcm(path, sample_rate=rate, channels=channels)))
