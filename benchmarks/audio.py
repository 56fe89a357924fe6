"""Benchmark: `podcast process` on a long speech-like master against plain ffmpeg and ffmpeg-normalize.

Generates a stereo 44.1 kHz 16-bit master from ffmpeg's synthetic sources (two "speakers" at
different levels with pauses, near-silence at both ends), then measures in the same run:

* our `process` wall time ÷ a plain `ffmpeg -i master.wav -c:a libmp3lame -b:a 128k` (target ≤ 1.10)
* `ffmpeg-normalize -t -16 -tp -1` wall time ÷ ours (target ≥ 5)
* our peak memory, whole process tree (Python + every ffmpeg), for the 60- and 180-minute
  masters (target ≤ 200 MB, flat in duration): the sum of PSS, with the sum of RSS beside it
  (RSS counts the pages of the ffmpeg binary once per ffmpeg running)
* on our MP3, by ffmpeg's `ebur128=peak=true`: |integrated − target| ≤ 0.3 LU, true peak
  ≤ −1.0 dBTP, LRA within 1 LU of the source's; head/tail silence ≤ pad + 0.1 s
* MP3 + M4A + Opus from one render (a show with `formats = ["mp3", "m4a", "opus"]`) against the
  three plain ffmpeg encodes (MP3 128k, AAC 96k, Opus 64k) run one after another (target ≤ 1.15)
  and against three MP3-only runs of ours (3 × the run above); each file on target and under
  the ceiling; peak memory of the process tree ≤ 200 MB

Usage: python benchmarks/audio.py [--minutes 60] [--long-minutes 180] [--skip-normalize]
       [--skip-formats]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from podcast_tools.audio.synth import speech_like_master  # noqa: E402
from podcast_tools.content import feed_url, podcast_guid_for  # noqa: E402
from podcast_tools.content.loader import publisher_feed_url  # noqa: E402
from podcast_tools.ffmpeg import ffmpeg_exe  # noqa: E402

TARGET_LUFS, CEILING_DBTP, PAD_S = -16.0, -1.0, 0.5
M4A_KBPS, OPUS_KBPS = 96, 64


def _process_memory(pid: int) -> tuple[int, int, str, int]:
    """(VmRSS, Pss, executable, RssAnon) of one process, in bytes (Linux /proc)."""
    rss = anon = pss = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1]) * 1024
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                    break
    except OSError:
        pss = rss
    return rss, pss, os.readlink(f"/proc/{pid}/exe"), anon


def tree_memory(pid: int) -> tuple[int, int]:
    """Resident memory of a process and all its descendants: (sum of RSS, sum of PSS).

    RSS counts a page once per process that maps it, so the sum counts the ffmpeg binary's
    pages once per ffmpeg running (about 25 MB each); PSS shares such pages out between the
    processes, and its sum is what the tree takes from the machine. A child caught between
    fork and exec shares its parent's memory (same executable, same anonymous pages): it is
    not counted again.
    """
    total_rss = total_pss = 0
    stack: list[tuple[int, tuple[str, int] | None]] = [(pid, None)]
    while stack:
        current, parent = stack.pop()
        try:
            rss, pss, exe, anon = _process_memory(current)
            if parent is None or parent != (exe, anon):
                total_rss += rss
                total_pss += pss
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend((int(child), (exe, anon)) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total_rss, total_pss


@dataclass
class Run:
    seconds: float
    peak_rss: int  # bytes: the largest sum of RSS over the tree seen
    peak_pss: int  # bytes: the largest sum of PSS over the tree seen

    def memory(self) -> str:
        return f"{self.peak_pss / 2**20:.0f} MB (RSS sum {self.peak_rss / 2**20:.0f})"

    def within(self, megabytes: int) -> bool:
        return self.peak_pss <= megabytes * 2**20


def timed(command: list[str], *, env: dict | None = None, cwd: Path | None = None) -> Run:
    """Run a command; return its wall time and the peak memory of its process tree (sampled
    every 50 ms)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak_rss = peak_pss = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_rss, peak_pss
        while not stop.is_set():
            rss, pss = tree_memory(process.pid)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed: {stderr.decode(errors='replace')[-2000:]}")
    return Run(elapsed, peak_rss, peak_pss)


def filter_log(path: Path, audio_filter: str) -> str:
    """What ffmpeg prints while running `audio_filter` over a file (its measurements)."""
    command = [
        ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-i",
        str(path),
        "-af",
        audio_filter,
        "-f",
        "null",
        "-",
    ]
    return subprocess.run(command, capture_output=True, text=True, check=True).stderr


def ebur128(path: Path) -> dict[str, float]:
    log = filter_log(path, "ebur128=peak=true:framelog=quiet")
    summary = log[log.rfind("Summary:") :]
    grab = lambda key: float(re.search(rf"{key}:\s+(-?[\d.]+|-inf)", summary).group(1))  # noqa: E731
    return {"I": grab("I"), "LRA": grab("LRA"), "TP": grab("Peak")}


def edge_silence(path: Path, threshold_db: float = -50.0) -> tuple[float, float]:
    """Seconds of silence (below `threshold_db`) at the start and at the end of a file."""
    text = filter_log(path, f"silencedetect=n={threshold_db}dB:d=0.02")
    duration = None
    match = re.search(r"Duration: (\d+):(\d+):([\d.]+)", text)
    if match:
        h, m, s = match.groups()
        duration = int(h) * 3600 + int(m) * 60 + float(s)
    starts = [float(x) for x in re.findall(r"silence_start: (-?[\d.]+)", text)]
    ends = [float(x) for x in re.findall(r"silence_end: ([\d.]+)", text)]
    head = ends[0] if starts and abs(starts[0]) < 0.05 and ends else 0.0
    tail = 0.0
    if starts and (
        len(starts) > len(ends) or (duration and ends and abs(ends[-1] - duration) < 0.1)
    ):
        tail = (duration or 0.0) - starts[-1]
    return head, tail


def make_network(folder: Path, master_path: Path, formats: tuple[str, ...] = ("mp3",)) -> Path:
    """A one-show network whose one episode is the benchmark master (no jingles). The master is
    linked into the network folder (content may only name files inside it)."""
    (folder / "episodes" / "bench" / "art").mkdir(parents=True)
    inside = folder / "episodes" / "bench" / master_path.name
    try:
        os.link(master_path, inside)
    except OSError:
        shutil.copyfile(master_path, inside)
    from podcast_tools.scaffold import _placeholder_artwork

    (folder / "episodes" / "bench" / "art" / "cover.png").write_bytes(_placeholder_artwork())
    guid = podcast_guid_for(feed_url("https://example.com/", "bench"))
    (folder / "episodes" / "network.toml").write_text(
        textwrap.dedent(f"""\
        [network]
        name = "Benchmark"
        base_url = "https://example.com/"
        storage = "file://public"
        podcast_guid = "{podcast_guid_for(publisher_feed_url("https://example.com/"))}"

        [shows.bench]
        title = "Benchmark"
        description = "A long speech-like master."
        author = "Benchmark"
        owner = {{ name = "Bench", email = "bench@example.com" }}
        language = "en"
        category = "Technology"
        artwork = "bench/art/cover.png"
        podcast_guid = "{guid}"
        loudness = {{ target_lufs = {TARGET_LUFS}, true_peak_dbtp = {CEILING_DBTP} }}
        mp3 = {{ bitrate = 128, channels = 2, sample_rate = 44100 }}
        formats = [{", ".join(f'"{name}"' for name in formats)}]
        m4a = {{ bitrate = {M4A_KBPS} }}
        opus = {{ bitrate = {OPUS_KBPS} }}
        """)
    )
    episode = folder / "episodes" / "bench" / "001-long.md"
    episode.write_text(
        textwrap.dedent(f"""\
        ---
        title: Long
        guid: 7c2d1d9e-2d0b-4a0e-9f3e-4b8f2f5f0001
        date: 2026-01-01T00:00:00+00:00
        audio: {inside.name}
        ---
        Benchmark.
        """)
    )
    return episode


def run_process(episode: Path, out: Path) -> Run:
    command = [
        sys.executable,
        "-m",
        "podcast_tools",
        "--root",
        str(episode.parents[2]),
        "process",
        str(episode),
        "--out",
        str(out),
    ]
    return timed(command)


def line(label: str, value: str, target: str, ok: bool | None) -> None:
    verdict = "" if ok is None else ("  ok" if ok else "  MISSED")
    print(f"{label:<46} {value:>14}   target {target}{verdict}")


def plain_encode(ffmpeg: str, master_path: Path, output_args: list[str], out: Path) -> float:
    run = timed(
        [ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(master_path), *output_args, str(out)]
    )
    out.unlink()
    return run.seconds


def formats_row(work: Path, master_path: Path, plain_mp3_s: float, ours_mp3_s: float) -> None:
    """MP3 + M4A + Opus from one render against three plain encodes and three MP3-only runs."""
    ffmpeg = ffmpeg_exe()
    plain_m4a_s = plain_encode(
        ffmpeg, master_path, ["-c:a", "aac", "-b:a", f"{M4A_KBPS}k"], work / "plain.m4a"
    )
    plain_opus_s = plain_encode(
        ffmpeg,
        master_path,
        ["-c:a", "libopus", "-b:a", f"{OPUS_KBPS}k", "-ar", "48000"],
        work / "plain.opus",
    )
    plain_sum = plain_mp3_s + plain_m4a_s + plain_opus_s
    episode = make_network(work / "net-formats", master_path, ("mp3", "m4a", "opus"))
    three = run_process(episode, work / "out-formats")
    three_s = three.seconds
    print("\nMP3 128k + M4A (AAC-LC) 96k + Opus 64k from the same master")
    line("plain ffmpeg: MP3, then AAC, then Opus", f"{plain_sum:.1f} s", "(baseline)", None)
    line(
        "  of which AAC / Opus",
        f"{plain_m4a_s:.1f} / {plain_opus_s:.1f} s",
        "",
        None,
    )
    line("three MP3-only runs of ours (3 × above)", f"{3 * ours_mp3_s:.1f} s", "", None)
    line("podcast process, three formats, one render", f"{three_s:.1f} s", "", None)
    line(
        "ours ÷ the three plain encodes",
        f"{three_s / plain_sum:.3f}",
        "≤ 1.15",
        three_s / plain_sum <= 1.15,
    )
    line("ours ÷ three MP3-only runs of ours", f"{three_s / (3 * ours_mp3_s):.3f}", "", None)
    line("peak memory, process tree (3 encoders)", three.memory(), "≤ 200 MB", three.within(200))
    for suffix in (".mp3", ".m4a", ".opus"):
        measured = ebur128(work / "out-formats" / f"001-long{suffix}")
        line(
            f"  {suffix[1:]}: loudness / true peak",
            f"{measured['I']:.1f} / {measured['TP']:.1f}",
            f"{TARGET_LUFS:g} ± 0.3 / ≤ {CEILING_DBTP:g}",
            abs(measured["I"] - TARGET_LUFS) <= 0.3 and measured["TP"] <= CEILING_DBTP,
        )
    shutil.rmtree(work / "out-formats", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--long-minutes", type=float, default=180)
    parser.add_argument(
        "--skip-normalize", action="store_true", help="skip ffmpeg-normalize (slow)"
    )
    parser.add_argument("--skip-formats", action="store_true", help="skip the MP3 + M4A + Opus row")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="podcast-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    ffmpeg = ffmpeg_exe()
    print(f"ffmpeg: {ffmpeg}\nwork dir: {work}")
    try:
        master_path = work / "master.wav"
        speech_like_master(master_path, args.minutes * 60)
        episode = make_network(work / "net", master_path)
        source = ebur128(master_path)

        plain_s = timed(
            [
                ffmpeg,
                "-nostdin",
                "-v",
                "error",
                "-y",
                "-i",
                str(master_path),
                "-c:a",
                "libmp3lame",
                "-b:a",
                "128k",
                str(work / "plain.mp3"),
            ]
        ).seconds
        ours = run_process(episode, work / "out")
        ours_s = ours.seconds
        ours_mp3 = work / "out" / "001-long.mp3"
        result = ebur128(ours_mp3)
        head, tail = edge_silence(ours_mp3)

        print(
            f"\n{args.minutes:g}-minute master, stereo 44.1 kHz 16-bit; source {source['I']} LUFS, "
            f"LRA {source['LRA']} LU, true peak {source['TP']} dBTP"
        )
        line("plain ffmpeg libmp3lame 128k wall time", f"{plain_s:.1f} s", "(baseline)", None)
        line("podcast process wall time", f"{ours_s:.1f} s", "", None)
        ratio = ours_s / plain_s
        line("ours ÷ plain ffmpeg", f"{ratio:.3f}", "≤ 1.10", ratio <= 1.10)
        if not args.skip_normalize:
            env = {**os.environ, "FFMPEG_PATH": ffmpeg}
            normalize = (
                shutil.which("ffmpeg-normalize", path=str(Path(sys.executable).parent))
                or "ffmpeg-normalize"
            )
            norm_s = timed(
                [
                    normalize,
                    str(master_path),
                    "-t",
                    str(TARGET_LUFS),
                    "-tp",
                    str(CEILING_DBTP),
                    "-c:a",
                    "libmp3lame",
                    "-b:a",
                    "128k",
                    "-o",
                    str(work / "normalized.mp3"),
                    "-f",
                ],
                env=env,
            ).seconds
            line("ffmpeg-normalize wall time", f"{norm_s:.1f} s", "", None)
            line("ffmpeg-normalize ÷ ours", f"{norm_s / ours_s:.2f}", "≥ 5", norm_s / ours_s >= 5)
        line("peak memory, process tree", ours.memory(), "≤ 200 MB", ours.within(200))
        line(
            "integrated loudness (ffmpeg ebur128)",
            f"{result['I']:.1f} LUFS",
            f"{TARGET_LUFS:g} ± 0.3",
            abs(result["I"] - TARGET_LUFS) <= 0.3,
        )
        line(
            "true peak (ffmpeg ebur128)",
            f"{result['TP']:.1f} dBTP",
            f"≤ {CEILING_DBTP:g}",
            result["TP"] <= CEILING_DBTP,
        )
        line(
            "loudness range: ours vs source",
            f"{result['LRA']:.1f} vs {source['LRA']:.1f} LU",
            "within 1 LU",
            abs(result["LRA"] - source["LRA"]) <= 1.0,
        )
        line(
            "silence left at the start / end",
            f"{head:.2f} / {tail:.2f} s",
            f"≤ {PAD_S + 0.1:g} s",
            head <= PAD_S + 0.1 and tail <= PAD_S + 0.1,
        )

        if not args.skip_formats:
            formats_row(work, master_path, plain_s, ours_s)

        if args.long_minutes:
            long_master = work / "long.wav"
            speech_like_master(long_master, args.long_minutes * 60)
            (work / "plain.mp3").unlink(missing_ok=True)
            master_path.unlink()
            long_episode = make_network(work / "net-long", long_master)
            long_run = run_process(long_episode, work / "out-long")
            line(
                f"{args.long_minutes:g}-minute master: wall time",
                f"{long_run.seconds:.1f} s",
                "",
                None,
            )
            line(
                f"{args.long_minutes:g}-minute master: peak memory",
                long_run.memory(),
                "≤ 200 MB, flat",
                long_run.within(200),
            )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
