"""Benchmark: machine transcripts (targets: base WER ≤ 15 %, ≤ 0.2× real time, ≤ 1.2 GB; cue
times within 0.5 s of the turns as heard; a re-publish after a title change transcribes nothing).

Generates a two-voice interview with espeak-ng from a known script (tests/interview.py, the host
and the guest in turn, ≥ 3 minutes), puts it in a one-show network with an intro jingle (and the
master's 1.5 s of room tone at the head, which mastering trims) and `transcripts = { auto = true,
model = … }`, and for each model:
- recognises the master alone in a process of its own: its wall time ÷ the audio's length (real-
  time factor) and that process's peak memory (RSS of the tree, sampled every 50 ms);
- publishes the network to a folder store (mastering + transcription + the transcript's three
  forms) and reads the published WebVTT: its words against the script (word error rate with
  jiwer, both sides lower-cased and without punctuation), and where each turn's first cue starts
  against where that turn is heard (the turn's start in the master, less the head trim, plus the
  intro's length less its overlap — from the build report);
- fixes a typo in the title and publishes again: the time that takes and how many recognitions
  it ran (new entries in build/.cache/transcripts: 0 wanted).

Usage: python benchmarks/transcribe.py [--turns 16] [--models tiny.en base]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audio import line, make_network, timed
from retag import fix_title
from retag import publish as publish_to_folder

from podcast_tools import ffmpeg
from podcast_tools.transcript import transcript_cues
from tests.interview import GUEST_LINES, HOST_LINES, make_interview

WER_TARGET = {"base": 0.15}
RTF_TARGET = 0.2
MEMORY_TARGET_MB = 1200
CUE_TARGET_S = 0.5


def script(turns: int) -> str:
    """What the interview says, in order (as make_interview speaks it)."""
    spoken = []
    for index in range(turns):
        spoken += [HOST_LINES[index % len(HOST_LINES)], GUEST_LINES[index % len(GUEST_LINES)]]
    return " ".join(spoken)


def normalised(text: str) -> str:
    text = text.lower().replace("pre-approved", "pre approved").replace("-", " ")
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text).split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(normalised(reference), normalised(hypothesis)))


def recognise_alone(master: Path, model: str, cache: Path) -> tuple[float, float, float]:
    """(seconds, peak MB, audio seconds) of recognising the master in a process of its own."""
    code = (
        "import json, sys, time\n"
        "from pathlib import Path\n"
        "from podcast_tools.audio.recognition import recognise, resolve_model\n"
        f"model = resolve_model({model!r}, where='benchmark', field='model')\n"
        "started = time.perf_counter()\n"
        f"result = recognise(Path({str(master)!r}), model, 'en', cache_dir=Path({str(cache)!r}))\n"
        f"Path({str(cache)!r}, 'timing.json').write_text("
        "json.dumps([time.perf_counter() - started, result.duration_s]))\n"
    )
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir(parents=True)
    run = timed([sys.executable, "-c", code])
    seconds, duration = json.loads((cache / "timing.json").read_text())
    return seconds, run.peak_rss / 1e6, duration


def add_intro_and_transcripts(root: Path, model: str) -> None:
    """An 8 s intro jingle (a tone) and machine transcripts for the benchmark's one show."""
    art = root / "episodes" / "bench" / "art"
    ffmpeg.run(
        [
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=8:r=44100",
            "-ac",
            "2",
            "-b:a",
            "128k",
            str(art / "intro.mp3"),
        ]
    )
    toml = root / "episodes" / "network.toml"
    text = toml.read_text(encoding="utf-8")
    text = text.replace(
        "[shows.bench]\n",
        f'[shows.bench]\nintro = "bench/art/intro.mp3"\n'
        f'transcripts = {{ auto = true, model = "{model}" }}\n',
        1,
    )
    toml.write_text(text, encoding="utf-8")


def publish(root: Path) -> float:
    return publish_to_folder(root, dict(os.environ))


def cue_offsets(root: Path, turns: list[tuple[str, float, float]]) -> list[float]:
    """|first cue start − heard turn start| for every turn (seconds)."""
    show = root / "build" / "bench"
    report = json.loads(
        next(p for p in show.glob("*.json") if "-derived" not in p.name).read_text()
    )
    edits = report["edits"]
    speech_start = edits["intro_s"] - edits.get("crossfade_in_s", 0.0)
    head = edits["kept"][0]["start_s"]
    vtt = next(show.glob("*.transcript-derived.vtt")).read_bytes()
    starts = [cue.start_s for cue in transcript_cues(vtt, "text/vtt")]
    offsets = []
    for _who, start, _end in turns:
        heard = speech_start + start - head
        offsets.append(min(abs(cue - heard) for cue in starts))
    return offsets


def published_text(root: Path) -> str:
    vtt = next((root / "build" / "bench").glob("*.transcript-derived.vtt")).read_bytes()
    return " ".join(cue.text for cue in transcript_cues(vtt, "text/vtt"))


def recognitions(root: Path) -> set[str]:
    cache = root / "build" / ".cache" / "transcripts"
    return {path.name for path in cache.rglob("*") if path.is_file()}


def bench_model(work: Path, master: Path, model: str, turns: list, spoken: str) -> None:
    seconds, peak_mb, duration = recognise_alone(master, model, work / f"cache-{model}")
    root = work / f"net-{model}" / "network"
    root.parent.mkdir()
    episode = make_network(root, master)
    add_intro_and_transcripts(root, model)
    first = publish(root)
    wer = word_error_rate(spoken, published_text(root))
    offsets = cue_offsets(root, turns)
    before = recognitions(root)
    fix_title(episode, "A Title With The Typo Fixed")
    again = publish(root)
    ran = len(recognitions(root) - before)
    rtf = seconds / duration
    print(f"\n{model} ({duration:.0f} s of speech)")
    target = WER_TARGET.get(model)
    line(
        "word error rate",
        f"{100 * wer:.1f} %",
        f"≤ {100 * target:.0f} %" if target else "-",
        None if target is None else wer <= target,
    )
    line("recognition ÷ audio length", f"{rtf:.3f}×", f"≤ {RTF_TARGET}×", rtf <= RTF_TARGET)
    line(
        "peak memory (recognition)",
        f"{peak_mb:.0f} MB",
        f"≤ {MEMORY_TARGET_MB} MB",
        peak_mb <= MEMORY_TARGET_MB,
    )
    worst = max(offsets)
    for (who, start, _end), offset in zip(turns, offsets, strict=True):
        if offset > CUE_TARGET_S:
            print(f"  {who} turn at {start:.2f} s in the master: nearest cue {offset:.2f} s away")
    line("turn → cue start, worst", f"{worst:.2f} s", f"≤ {CUE_TARGET_S} s", worst <= CUE_TARGET_S)
    line("turn → cue start, median", f"{sorted(offsets)[len(offsets) // 2]:.2f} s", "-", None)
    line("first publish (master + transcript)", f"{first:.1f} s", "-", None)
    line("re-publish after a title change", f"{again:.1f} s", "-", None)
    line("recognitions on that re-publish", str(ran), "0", ran == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=16, help="host/guest exchanges (~13 s each)")
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--guest-voice",
        default="en+f3",
        help='espeak-ng voice of the guest: "en+f3" a woman\'s (default), "en-gb+f3" a man\'s '
        "of about the host's pitch",
    )
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="podcast-transcribe-"))
    work.mkdir(parents=True, exist_ok=True)
    interview = make_interview(
        work / "interview.wav", turns=args.turns, guest_gap_db=6.0, guest_voice=args.guest_voice
    )
    seconds = interview.mix.size / interview.rate
    print(f"interview: {len(interview.turns)} turns, {seconds:.0f} s, guest {args.guest_voice}")
    for model in args.models:
        bench_model(work, interview.path, model, interview.turns, script(args.turns))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
