"""Benchmark: noise and hum reduction (the `dehum` and `denoise` stages) against mastering without
them and against ffmpeg's own denoisers, on a generated interview with a bad line.

`make_interview(turns=8, noise_snr_db=10, hum_hz=50)` (tests/interview.py: espeak-ng voices, the
guest 12 dB down, room tone at −60 dBFS, pink noise 10 dB under the speech, 50 Hz hum with
harmonics at −35 dBFS) is mastered (`podcast_tools.audio.master.master`, MP3 at −16 LUFS) without
stages, with `dehum`, `denoise` light/strong and both; and, for comparison, after ffmpeg's
`afftdn` (its noise floor set where the noise is, −30 dB; and 30 dB of reduction with noise
tracking), mastered the same way, so every file is at the same loudness (`anlmdn` was tried too:
this machine's ffmpeg aborts in it). Each MP3 is decoded, aligned with the clean mix by
cross-correlation (mastering trims the head silence) and measured:

* SI-SDR against the clean mix (speech + room tone, without the noise and hum), dB
* room tone relative to speech: the level in the pauses less the level of the speech, dB
* DNSMOS overall / signal / background (speechmos, its ONNX models shipped in the package; the
  mean over consecutive 9 s windows)
* hum left: the power at 50, 100, … 350 Hz (a lock-in over 1 s windows, the quieter quarter),
  relative to the speech, dB

and the denoise stage alone is timed on the decoded master (real-time factor = stage time ÷
audio seconds, the best of three runs; dual-mono as the interview is, and per channel as a true
stereo master would be). The clean mix mastered the same way shows what the MP3 and the limiter
alone leave of SI-SDR (the ceiling of every row).

`--long` also masters a 180-minute master (the interview looped) with dehum + denoise in a child
process and reads that process's own peak memory (VmHWM) as it exits (tests/memory.py's way).

Targets (issue 22): SI-SDR ≥ 3 dB better than mastering without denoise; room tone relative to
speech ≥ 12 dB lower; DNSMOS overall not lower; denoise ≤ 0.12× real time; peak memory of the
180-minute master ≤ 250 MB.

Usage: python -m benchmarks.denoise [--turns 8] [--long | --long-only] [--long-minutes 180]
       [--skip-ffmpeg] [--skip-quality]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import podcast_tools.audio.denoise as denoise_module  # noqa: E402
from podcast_tools.audio.dehum import DehumSettings, _HumMeter  # noqa: E402
from podcast_tools.audio.denoise import Denoise, DenoiseSettings  # noqa: E402
from podcast_tools.audio.master import MasteringSettings, master  # noqa: E402
from podcast_tools.audio.pcm import pcm_chunks  # noqa: E402
from podcast_tools.audio.stages import StageChain, StageContext  # noqa: E402
from podcast_tools.ffmpeg import ffmpeg_exe  # noqa: E402
from tests.interview import make_interview, write_wav  # noqa: E402

RATE = 44100
DEHUM = ("dehum", DehumSettings())
LIGHT = ("denoise", DenoiseSettings(strength="light"))
STRONG = ("denoise", DenoiseSettings(strength="strong"))
VARIANTS: list[tuple[str, tuple, str | None]] = [
    ("no stage", (), None),
    ("dehum auto", (DEHUM,), None),
    ("denoise light", (LIGHT,), None),
    ("denoise strong", (STRONG,), None),
    ("dehum + denoise light", (DEHUM, LIGHT), None),
    ("dehum + denoise strong", (DEHUM, STRONG), None),
    ("ffmpeg afftdn nf=-30", (), "afftdn=nf=-30"),
    ("ffmpeg afftdn nr=30 nf=-30 tn", (), "afftdn=nr=30:nf=-30:tn=1"),
]
HUM_HZ = [50.0 * k for k in range(1, 8)]


def db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    scale = np.dot(estimate, reference) / np.dot(reference, reference)
    target = scale * reference
    return float(10 * np.log10(np.sum(target**2) / np.sum((estimate - target) ** 2)))


def decode_mono(path: Path) -> np.ndarray:
    return np.concatenate(list(pcm_chunks(path, sample_rate=RATE, channels=1)))[:, 0].astype(
        np.float64
    )


def aligned(out: np.ndarray, clean: np.ndarray) -> tuple[np.ndarray, int, slice]:
    """`out` placed on the clean mix's time line (zeros where it has nothing): (signal, offset
    of the clean mix's sample 0 in `out`, the span of the time line it covers)."""
    probe = clean[RATE * 3 : RATE * 23]  # 20 s of the interview, clear of the head
    corr = signal.correlate(out[: RATE * 30], probe, mode="valid", method="fft")
    offset = int(np.argmax(np.abs(corr))) - RATE * 3
    placed = np.zeros_like(clean)
    lo = max(0, -offset)
    hi = min(clean.size, out.size - offset)
    placed[lo:hi] = out[lo + offset : hi + offset]
    return placed, offset, slice(lo, hi)


def dnsmos(x: np.ndarray) -> dict[str, float]:
    from speechmos import dnsmos as model

    audio = signal.resample_poly(x, 160, 441).astype(np.float32)
    audio = np.clip(audio, -1.0, 1.0)
    # speechmos scores 9.01 s windows a second apart (each second nine times): score consecutive
    # windows instead, one call each, and average them as it does
    window = int(model.INPUT_LENGTH * 16000)
    scores = [model.run(audio[i : i + window], 16000) for i in range(0, audio.size - window + 1,
                                                                   window)]
    return {key: float(np.mean([s[f"{key}_mos"] for s in scores])) for key in ("ovrl", "sig", "bak")}


def hum_level(x: np.ndarray) -> float:
    meter = _HumMeter(HUM_HZ, RATE)
    meter.feed(x)
    return meter.level_db() or -200.0


def measure(x: np.ndarray, interview, span: slice = slice(None)) -> dict[str, float]:
    """The figures of `x` (on the clean mix's time line) over `span` (where the master has
    samples: mastering trims the head and tail silence)."""
    x = x[span]
    speech = (interview.host | interview.guest)[span]
    speech_db = db(x[speech])
    return {
        "si_sdr": si_sdr(x, interview.clean[span]),
        "room_rel": db(x[interview.pauses[span]]) - speech_db,
        "hum_rel": hum_level(x) - speech_db,
        **dnsmos(x),
    }


def ffmpeg_filtered(source: Path, out: Path, chain: str) -> Path:
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-af", chain, "-c:a", "pcm_s16le",
         str(out)],
        check=True,
    )
    return out


def stage_rtf(path: Path, settings: DenoiseSettings, per_channel: bool) -> tuple[float, dict]:
    """Seconds the denoise stage takes per second of audio (the master decoded beforehand)."""
    pcm = list(pcm_chunks(path, sample_rate=RATE, channels=2))
    seconds = sum(chunk.shape[0] for chunk in pcm) / RATE
    saved = denoise_module.channels_identical
    if per_channel:
        denoise_module.channels_identical = lambda *args: False
    try:
        stage = Denoise(settings, StageContext(path, RATE, 2))
        started = time.perf_counter()
        stage.prepare()
        for chunk in pcm:
            stage.process(chunk)
        stage.flush()
        elapsed = time.perf_counter() - started
    finally:
        denoise_module.channels_identical = saved
    return elapsed / seconds, stage.findings()


def stage_findings(path: Path, stages: tuple) -> dict:
    chain = StageChain(stages, StageContext(path, RATE, 2))
    for _ in chain.run(pcm_chunks(path, sample_rate=RATE, channels=2)):
        pass
    return chain.findings()


PEAK_CHILD = """
import atexit, os, sys, time
def _peak():
    with open("/proc/self/status") as status, open(os.environ["PEAK_OUT"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM:")))
atexit.register(_peak)
from pathlib import Path
from podcast_tools.audio.dehum import DehumSettings
from podcast_tools.audio.denoise import DenoiseSettings
from podcast_tools.audio.master import MasteringSettings, master
settings = MasteringSettings(stages=(("dehum", DehumSettings()), ("denoise", DenoiseSettings())))
started = time.perf_counter()
report = master(Path(sys.argv[1]), Path(sys.argv[2]), settings)
print(f"{time.perf_counter() - started:.1f} {report.duration_s:.1f}")
"""


def long_master(folder: Path, source: Path, minutes: int) -> tuple[float, float, float]:
    """(peak MB, wall seconds, audio seconds) of mastering `source` looped to `minutes`."""
    long = folder / "long.wav"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-stream_loop", "-1", "-i", str(source), "-t",
         str(minutes * 60), "-c:a", "pcm_s16le", str(long)],
        check=True,
    )
    peak_out = folder / "peak.txt"
    env = {**os.environ, "PEAK_OUT": str(peak_out),
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    child = subprocess.run(
        [sys.executable, "-c", PEAK_CHILD, str(long), str(folder / "long.mp3")],
        env=env, capture_output=True, text=True, check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"the long master failed:\n{child.stderr[-3000:]}")
    wall, audio = (float(v) for v in child.stdout.split()[-2:])
    peak_mb = int(peak_out.read_text().split()[1]) / 1024
    long.unlink()
    return peak_mb, wall, audio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--long", action="store_true", help="also the 180-minute peak memory")
    parser.add_argument("--long-only", action="store_true", help="only the peak memory")
    parser.add_argument("--long-minutes", type=int, default=180)
    parser.add_argument("--skip-ffmpeg", action="store_true")
    parser.add_argument("--skip-quality", action="store_true", help="only the stage's cost")
    args = parser.parse_args()
    fails: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-denoise-") as tmp:
        folder = Path(tmp)
        source = folder / "interview.wav"
        interview = make_interview(source, turns=args.turns, noise_snr_db=10, hum_hz=50)
        seconds = interview.clean.size / RATE
        print(f"interview: {seconds:.1f} s, pink noise at 10 dB SNR, 50 Hz hum at −35 dBFS")
        if not args.long_only:
            if not args.skip_quality:
                quality(folder, source, interview, args.skip_ffmpeg, fails)
            cost(source, fails)
        if args.long or args.long_only:
            peak_mb, wall, audio = long_master(folder, source, args.long_minutes)
            print(f"\n{args.long_minutes}-minute master, dehum + denoise light: peak memory "
                  f"(VmHWM of the mastering process) {peak_mb:.0f} MB; wall {wall:.0f} s for "
                  f"{audio:.0f} s of audio ({wall / audio:.3f}× real time, both passes)")
            verdict(fails, peak_mb <= 250, f"peak memory {peak_mb:.0f} MB ≤ 250 MB")
    print("\nall targets met" if not fails else f"\nMISSED: {'; '.join(fails)}")


def quality(folder: Path, source: Path, interview, skip_ffmpeg: bool, fails: list[str]) -> None:
    rows: dict[str, dict[str, float]] = {}
    rows["(input, not mastered)"] = measure(interview.mix, interview)
    rows["(clean mix: the truth)"] = measure(interview.clean, interview)
    clean_wav = folder / "clean.wav"
    write_wav(clean_wav, interview.clean, RATE)
    master(clean_wav, folder / "clean.mp3", MasteringSettings())
    placed, _, span = aligned(decode_mono(folder / "clean.mp3"), interview.clean)
    rows["(clean mix, mastered)"] = measure(placed, interview, span)
    for label, stages, chain in VARIANTS:
        if chain is not None and skip_ffmpeg:
            continue
        master_source = source if chain is None else ffmpeg_filtered(
            source, folder / "ffmpeg.wav", chain)
        out = folder / "out.mp3"
        started = time.perf_counter()
        master(master_source, out, MasteringSettings(stages=stages))
        took = time.perf_counter() - started
        placed, offset, span = aligned(decode_mono(out), interview.clean)
        rows[label] = {**measure(placed, interview, span), "seconds": took}
        print(f"  {label}: mastered in {took:.1f} s (aligned at {offset} samples)", flush=True)
        print("    " + row(label, rows[label]), flush=True)
    print("\n" + f"{'':30} {'SI-SDR':>7} {'room/sp':>8} {'hum/sp':>7} {'OVRL':>5} {'SIG':>5} {'BAK':>5}")
    for label, r in rows.items():
        print(row(label, r))
    found = stage_findings(source, (DEHUM, LIGHT))
    print("\nfindings (dehum + denoise light):")
    for name, values in found.items():
        print(textwrap.indent(f"{name}: {values}", "  "))
    base = rows["no stage"]
    print("\ntargets against mastering without denoise (issue 22):")
    for label in ("denoise light", "denoise strong", "dehum + denoise light",
                  "dehum + denoise strong"):
        r = rows[label]
        gain = r["si_sdr"] - base["si_sdr"]
        lower = base["room_rel"] - r["room_rel"]
        verdict(fails, gain >= 3.0, f"{label}: SI-SDR +{gain:.2f} dB ≥ 3")
        verdict(fails, lower >= 12.0, f"{label}: room tone/speech {lower:.1f} dB lower ≥ 12")
        verdict(fails, r["ovrl"] >= base["ovrl"],
                f"{label}: DNSMOS overall {r['ovrl']:.2f} ≥ {base['ovrl']:.2f}")
    hum = rows["dehum auto"]
    print(f"  dehum auto: hum relative to speech {base['hum_rel']:.1f} → {hum['hum_rel']:.1f} dB")


def row(label: str, r: dict[str, float]) -> str:
    return (f"{label:30} {r['si_sdr']:7.2f} {r['room_rel']:8.1f} {r['hum_rel']:7.1f} "
            f"{r['ovrl']:5.2f} {r['sig']:5.2f} {r['bak']:5.2f}")


def cost(source: Path, fails: list[str]) -> None:
    print("\ndenoise stage alone (decoded master in, 44.1 kHz stereo):")
    for strength in ("light", "strong"):
        for per_channel in (False, True):
            rtf = min(  # the quietest of three runs: the machine is shared
                stage_rtf(source, DenoiseSettings(strength=strength), per_channel)[0]
                for _ in range(3)
            )
            how = "per channel (true stereo)" if per_channel else "dual-mono, denoised once"
            print(f"  {strength:6} {how:27} {rtf:.3f}× real time")
            if not per_channel:
                verdict(fails, rtf <= 0.12, f"denoise {strength}: {rtf:.3f}× real time ≤ 0.12")


def verdict(fails: list[str], ok: bool, text: str) -> None:
    print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    if not ok:
        fails.append(text)


if __name__ == "__main__":
    main()
