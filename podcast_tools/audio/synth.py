"""Speech-like test masters from ffmpeg's synthetic sources (for tests, benchmarks and demos).

Two "speakers" (speech bandwidth: nothing much above 7 kHz) take turns every 7 s with a pause between turns, the second 9 dB quieter; each is
band-passed pink noise plus a voiced tone, shaped into ~4 syllables a second and slower phrases.
The first and last `silence_s` seconds are near-silence (a noise floor about 50 dB down).
"""

from __future__ import annotations

from pathlib import Path

from podcast_tools import ffmpeg


def speech_like_master(
    path: Path,
    seconds: float,
    *,
    sample_rate: int = 44100,
    channels: int = 2,
    level_db: float = 0.0,
    silence_s: float = 3.0,
    codec_args: tuple[str, ...] = ("-c:a", "pcm_s16le"),
    seed: int = 1,
) -> Path:
    """Write a speech-like master of `seconds` to `path` (format from its extension)."""
    end = seconds - silence_s
    envelope = (
        f"(between(t,{silence_s},{end})*if(mod(floor(t/7),2),0.35,1)*gt(mod(t,7),0.7)"
        f"*(0.2+0.8*pow(abs(sin(PI*t*3.7)),2))*(0.7+0.3*sin(2*PI*t*0.13))+0.002)"
        f"*{10 ** ((level_db + 13) / 20):.6f}"  # level_db 0 gives about −24 LUFS
    )
    layout = "pan=stereo|c0=c0|c1=0.9*c0," if channels == 2 else ""
    graph = (
        f"anoisesrc=d={seconds}:c=pink:r={sample_rate}:a=0.3:s={seed},bandpass=f=900:t=o:w=1.5,lowpass=f=7000[noise];"
        f"sine=f=140:r={sample_rate}:d={seconds}[tone];"
        f"[noise][tone]amix=inputs=2:weights=1 0.25:normalize=0,"
        f"volume=eval=frame:volume='{envelope}',{layout}aformat=channel_layouts="
        f"{'stereo' if channels == 2 else 'mono'}[out]"
    )
    ffmpeg.run(
        ["-filter_complex", graph, "-map", "[out]", *codec_args, "-y", ffmpeg.input_url(path)],
        about=path,
        timeout_s=3600,
    )
    return path
