"""Benchmark: the speech leveler (`podcast_tools.audio.leveler`) against ffmpeg's levelers.

(a) Quality, on a generated two-voice interview (`tests.interview.make_interview`, 8 turn pairs,
    the guest 12 dB down, room tone at −60 dBFS). Every variant ends in our mastering (−16 LUFS,
    −1 dBTP, MP3), so all are compared at the same integrated loudness:

    * `input`: the interview itself (not mastered: its own figures, for reference)
    * `master`: our mastering, no leveler — the baseline of the issue's targets
    * `master + leveler`: our mastering with the leveler stage
    * ffmpeg, then our mastering: `dynaudnorm` tuned (f=200:g=15:m=20:p=0.5:r=0.1, ≈3 s window)
      and defaults, `loudnorm` dynamic (I=-16:LRA=3:TP=-1, one pass), `speechnorm` defaults, and
      a plain `acompressor` 4:1

    Measured on each output, aligned to the input by cross-correlation, against the interview's
    truth (who speaks when), from 10 ms K-weighted energies of the mono mix: host and guest
    loudness (gated, over each one's speech), their gap (LU), room tone (power mean over the
    pauses) relative to the integrated loudness (dB), and the p95 gain-change rate inside speech
    (dB/s; gain = output/input level over 400 ms windows every 100 ms, both windows in speech);
    integrated loudness and true peak of the file by ffmpeg's `ebur128=peak=true`.
    Targets (issue 22): gap ≤ 1.5 LU; room tone ≤ 2 dB above `master`'s; gain rate ≤ `master`'s
    + 6 dB/s; integrated −16 ± 0.3 LUFS; true peak ≤ −1 dBTP.

(b) Cost: a master of `--minutes` (the interview tiled), mastered to MP3 without and with the
    leveler (`--runs` times each, alternating; the fastest of each), the ratio (target ≤ 1.10), and the
    leveler's analysis alone (decode at 16 kHz, VAD, curve) with its peak of Python memory.

Usage: python -m benchmarks.leveler [--minutes 60] [--runs 3] [--skip-cost] [--skip-quality]
       [--keep DIR]
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podcast_tools import ffmpeg
from podcast_tools.audio import leveler, speech
from podcast_tools.audio.master import MasteringSettings, master
from podcast_tools.audio.meter import LoudnessMeter, frame_length, integrated_loudness
from tests.interview import Interview, make_interview

TARGET_LUFS, CEILING_DBTP = -16.0, -1.0
FFMPEG_VARIANTS = {
    "dynaudnorm tuned": "dynaudnorm=f=200:g=15:m=20:p=0.5:r=0.1",
    "dynaudnorm defaults": "dynaudnorm",
    "loudnorm dynamic": "loudnorm=I=-16:LRA=3:TP=-1",
    "speechnorm": "speechnorm",
    "acompressor 4:1": "acompressor=threshold=0.03:ratio=4:attack=20:release=250",
}


# --- measurements -------------------------------------------------------------------------------


def decode_mono(path: Path, rate: int) -> np.ndarray:
    """`path` decoded by ffmpeg to float64 mono at `rate`."""
    chunks = ffmpeg.decode_pcm(path, sample_rate=rate, channels=1)
    return np.concatenate([chunk[:, 0] for chunk in chunks]).astype(np.float64)


def align(out: np.ndarray, ref: np.ndarray, rate: int, max_lag_s: float = 3.0) -> np.ndarray:
    """`out` shifted onto `ref` (cross-correlation within ±`max_lag_s`), cut or zero-padded to
    its length: mastering trims the leading silence, MP3 adds its encoder delay."""
    size = 1 << int(np.ceil(np.log2(ref.size + out.size)))
    spectrum = np.fft.rfft(out[: ref.size], size) * np.conj(np.fft.rfft(ref, size))
    correlation = np.fft.irfft(spectrum, size)
    reach = int(max_lag_s * rate)
    lags = np.concatenate([np.arange(reach), np.arange(-reach, 0)])
    lag = int(lags[np.argmax(np.concatenate([correlation[:reach], correlation[-reach:]]))])
    aligned = np.zeros_like(ref)
    if lag >= 0:
        piece = out[lag : lag + ref.size]
        aligned[: piece.size] = piece
    else:
        piece = out[: ref.size + lag]
        aligned[-lag : -lag + piece.size] = piece
    return aligned


def frame_energies(signal: np.ndarray, rate: int) -> np.ndarray:
    """The loudness meter's 10 ms K-weighted energies of a mono signal (float64)."""
    meter = LoudnessMeter(rate, 1)
    try:
        meter.feed(signal[:, None].astype(np.float32))
        return meter.frame_energies().astype(np.float64)
    finally:
        meter.close()


def _frames_of(mask: np.ndarray, frames: int, frame_len: int, share: float) -> np.ndarray:
    return mask[: frames * frame_len].reshape(frames, frame_len).mean(axis=1) >= share


def pauses_of(interview: Interview) -> np.ndarray:
    """`interview.pauses` (nobody speaks, 0.15 s clear of any speech) by running sums: the
    property convolves with a 0.3 s kernel, some 20 s for a 2-minute interview."""
    speaking = (interview.host | interview.guest).astype(np.int64)
    guard = int(0.15 * interview.rate)
    cumulative = np.concatenate([[0], np.cumsum(speaking)])
    index = np.arange(speaking.size)
    lo = np.clip(index - guard, 0, speaking.size)
    hi = np.clip(index + guard + 1, 0, speaking.size)
    return (cumulative[hi] - cumulative[lo]) == 0


def ebur128(path: Path) -> dict[str, float]:
    """Integrated loudness and true peak of a file, by ffmpeg's ebur128 filter."""
    result = ffmpeg.run(
        ["-nostats", "-i", ffmpeg.input_url(path), "-af", "ebur128=peak=true:framelog=quiet"]
        + ["-f", "null", "-"],
        about=path,
    )
    text = result.stderr.decode()
    summary = text[text.rfind("Summary:") :]

    def grab(key: str) -> float:
        return float(re.search(rf"{key}:\s+(-?[\d.]+|-inf)", summary).group(1))

    return {"I": grab("I"), "TP": grab("Peak")}


def leveling_metrics(path: Path, interview: Interview, *, aligned: bool = False) -> dict:
    """The figures of one output (see the module): host, guest, gap, room, rate95, I, TP.
    `aligned`: `path` is the interview itself (no alignment needed)."""
    rate = interview.rate
    frame_len = frame_length(rate)
    out = decode_mono(path, rate)
    out = out[: interview.mix.size] if aligned else align(out, interview.mix, rate)
    energy = frame_energies(out, rate)
    energy_in = frame_energies(interview.mix, rate)
    frames = energy.size
    host = _frames_of(interview.host, frames, frame_len, 0.5)
    guest = _frames_of(interview.guest, frames, frame_len, 0.5)
    pauses = _frames_of(pauses_of(interview), frames, frame_len, 1.0)
    integrated = integrated_loudness(energy.astype(np.float32), frame_len)
    host_lufs = integrated_loudness(energy[host].astype(np.float32), frame_len)
    guest_lufs = integrated_loudness(energy[guest].astype(np.float32), frame_len)
    room = -0.691 + 10 * np.log10(energy[pauses].mean() / frame_len) - integrated
    # gain = output/input level over 400 ms windows every 100 ms; its rate where both windows
    # of a step are centred in speech
    groups = frames // 10
    windows = [
        np.convolve(e[: groups * 10].reshape(groups, 10).sum(axis=1), np.ones(4), "valid")
        for e in (energy, energy_in)
    ]
    with np.errstate(divide="ignore"):
        gain = 10 * np.log10(windows[0] + 1e-30) - 10 * np.log10(windows[1] + 1e-30)
    speaking = interview.host | interview.guest
    centres = np.minimum((np.arange(gain.size) * 10 + 20) * frame_len, speaking.size - 1)
    in_speech = speaking[centres]
    both = in_speech[1:] & in_speech[:-1]
    rate95 = float(np.percentile(np.abs(np.diff(gain))[both] / 0.1, 95))
    loudness = ebur128(path)
    return {
        "host": host_lufs,
        "guest": guest_lufs,
        "gap": host_lufs - guest_lufs,
        "room": float(room),
        "rate95": rate95,
        "I": loudness["I"],
        "TP": loudness["TP"],
    }


# --- (a) quality --------------------------------------------------------------------------------


def ffmpeg_filtered(source: Path, audio_filter: str, out: Path) -> Path:
    """`source` through an ffmpeg filter, back at its rate, as 24-bit WAV."""
    ffmpeg.run(
        ["-i", ffmpeg.input_url(source), "-af", audio_filter, "-ar", "44100"]
        + ["-c:a", "pcm_s24le", "-y", ffmpeg.input_url(out)],
        about=source,
    )
    return out


def with_leveler() -> MasteringSettings:
    return MasteringSettings(stages=(("leveler", leveler.LevelerSettings()),))


def quality(folder: Path) -> dict[str, dict]:
    interview = make_interview(folder / "interview.wav", turns=8)
    source = interview.path
    rows = {"input": leveling_metrics(source, interview, aligned=True)}
    started = time.perf_counter()
    master(source, folder / "master.mp3", MasteringSettings())
    rows["master"] = leveling_metrics(folder / "master.mp3", interview)
    rows["master"]["seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    master(source, folder / "leveled.mp3", with_leveler())
    rows["master + leveler"] = leveling_metrics(folder / "leveled.mp3", interview)
    rows["master + leveler"]["seconds"] = time.perf_counter() - started
    for index, (name, audio_filter) in enumerate(FFMPEG_VARIANTS.items()):
        started = time.perf_counter()
        filtered = ffmpeg_filtered(source, audio_filter, folder / f"ffmpeg{index}.wav")
        master(filtered, folder / f"ffmpeg{index}.mp3", MasteringSettings())
        rows[name] = leveling_metrics(folder / f"ffmpeg{index}.mp3", interview)
        rows[name]["seconds"] = time.perf_counter() - started
    print(f"(a) quality: {source.name}, {interview.mix.size / interview.rate:.0f} s, 8 turn pairs")
    print(
        f"{'variant':22} {'host':>7} {'guest':>7} {'gap LU':>7} {'room dB':>8} "
        f"{'rate dB/s':>9} {'I LUFS':>7} {'TP dBTP':>8} {'s':>5}"
    )
    for name, row in rows.items():
        seconds = f"{row['seconds']:5.1f}" if "seconds" in row else "    -"
        print(
            f"{name:22} {row['host']:7.1f} {row['guest']:7.1f} {row['gap']:7.2f} "
            f"{row['room']:8.1f} {row['rate95']:9.1f} {row['I']:7.1f} {row['TP']:8.1f} {seconds}"
        )
    return rows


def quality_verdicts(rows: dict[str, dict]) -> list[tuple[str, bool]]:
    base, ours = rows["master"], rows["master + leveler"]
    return [
        (
            f"host/guest gap {ours['gap']:.2f} LU ≤ 1.5 (master alone {base['gap']:.2f})",
            abs(ours["gap"]) <= 1.5,
        ),
        (
            f"room tone {ours['room'] - base['room']:+.2f} dB vs master alone (≤ +2)",
            ours["room"] - base["room"] <= 2.0,
        ),
        (
            f"gain rate in speech {ours['rate95']:.1f} dB/s ≤ master alone {base['rate95']:.1f} + 6",
            ours["rate95"] <= base["rate95"] + 6.0,
        ),
        (
            f"integrated {ours['I']:.2f} LUFS within ±0.3 of {TARGET_LUFS}",
            abs(ours["I"] - TARGET_LUFS) <= 0.3,
        ),
        (f"true peak {ours['TP']:.2f} dBTP ≤ {CEILING_DBTP}", ours["TP"] <= CEILING_DBTP),
    ]


# --- (b) cost -----------------------------------------------------------------------------------


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg), user + system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def tiled(interview_path: Path, out: Path, minutes: float) -> Path:
    """The interview repeated to `minutes` (16-bit WAV, written a copy at a time)."""
    with wave.open(str(interview_path), "rb") as handle:
        params = handle.getparams()
        pcm = handle.readframes(handle.getnframes())
    copies = int(np.ceil(minutes * 60 * params.framerate / params.nframes))
    with wave.open(str(out), "wb") as handle:
        handle.setparams(params)
        for _ in range(copies):
            handle.writeframes(pcm)
    return out


class _StageClock:
    """Times the leveler stage's own work (prepare: the analysis; process: the gain) while it
    runs inside `master`, on the thread that calls it: what the leveler itself costs, free of
    the noise of whatever else the machine runs."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0
        for method in ("prepare", "process"):
            setattr(leveler.Leveler, method, self._timed(getattr(leveler.Leveler, method)))

    def _timed(self, method):
        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                self.wall += time.perf_counter() - wall
                self.cpu += time.thread_time() - cpu

        return timed


def cost(folder: Path, minutes: float, runs: int = 3) -> list[tuple[str, bool]]:
    long = tiled(folder / "interview.wav", folder / "long.wav", minutes)
    times: dict[str, list[float]] = {"master": [], "master + leveler": []}
    cpu: dict[str, list[float]] = {"master": [], "master + leveler": []}
    own = _StageClock()
    for _ in range(runs):
        for name, settings in (
            ("master", MasteringSettings()),
            ("master + leveler", with_leveler()),
        ):
            leveler._MEMO.clear()  # each run analyses, as a fresh process would
            own.wall = own.cpu = 0.0
            started, used = time.perf_counter(), cpu_seconds()
            master(long, folder / "long.mp3", settings)
            times[name].append(time.perf_counter() - started)
            cpu[name].append(cpu_seconds() - used)
    plain, leveled = min(times["master"]), min(times["master + leveler"])
    own_wall, own_cpu = own.wall, own.cpu  # the last run's
    leveler._MEMO.clear()
    started = time.perf_counter()
    analysis = speech.analyse_speech(long, 44100, 2)
    analysed = time.perf_counter() - started
    leveling = leveler.level_speech(analysis, leveler.LevelerSettings())
    curve = time.perf_counter() - started - analysed
    del analysis, leveling
    tracemalloc.start()
    leveler.level_speech(speech.analyse_speech(long, 44100, 2), leveler.LevelerSettings())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"\n(b) cost: {minutes:g}-minute master ({long.stat().st_size / 1e6:.0f} MB WAV) to MP3")
    print(
        f"  master alone        {plain:6.1f} s   (runs: {', '.join(f'{t:.1f}' for t in times['master'])})"
    )
    print(
        f"  master + leveler    {leveled:6.1f} s   (runs: "
        f"{', '.join(f'{t:.1f}' for t in times['master + leveler'])})"
    )
    print(f"  ratio               {leveled / plain:6.3f}")
    print(
        f"  the stage's own work in a run (prepare + process, both passes): {own_wall:.2f} s "
        f"({own_cpu:.2f} s CPU) = {100 * own_wall / plain:.1f} % of the master alone"
    )
    cpu_plain, cpu_leveled = min(cpu["master"]), min(cpu["master + leveler"])
    print(
        f"  CPU time (ours + ffmpeg's): {cpu_plain:.1f} s alone, {cpu_leveled:.1f} s with the "
        f"leveler, ratio {cpu_leveled / cpu_plain:.3f}"
    )
    print(
        f"  leveler analysis    {analysed:6.2f} s decode+VAD+loudness, {curve:.2f} s curve "
        f"({(analysed + curve) / (minutes * 60):.4f}× real time); Python peak {peak / 1e6:.0f} MB"
    )
    line = (
        f"leveler adds {100 * (leveled / plain - 1):+.1f} % to the render (≤ 10 %; "
        f"its own work {100 * own_wall / plain:.1f} %)"
    )
    return [(line, leveled / plain <= 1.10)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--skip-cost", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of each long master (the fastest counts)"
    )
    parser.add_argument("--keep", type=Path, help="work in this folder and keep the files")
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        print("espeak-ng is needed (the interview's voices)")
        return 2
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-leveler-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        verdicts = []
        if args.skip_quality:
            make_interview(folder / "interview.wav", turns=8)
        else:
            verdicts += quality_verdicts(quality(folder))
        if not args.skip_cost:
            verdicts += cost(folder, args.minutes, args.runs)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print()
    for line, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {line}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
