"""Master one episode: analyse (one streaming pass), plan, render + encode (a second streaming pass).

`master` composes the three steps, each callable alone: `analyse` → `Analysis`, `plan_master` →
`MasterPlan`, `render` → `Rendering`.

Memory stays flat whatever the master's length: passes hold one chunk of PCM at a time, and the
analysis keeps two numbers per 10 ms (loudness energy and sample peak). The second pass runs
Python's render and ffmpeg's MP3 encoder side by side, so the encoder sets the pace. The report's
curves (`LoudnessCurves`: short-term loudness, limiter gain reduction) are derived from the 10 ms
records both passes keep anyway — at most MAX_CURVE_POINTS float32 values each, no pass of their own.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, closing
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from podcast_tools import ffmpeg
from podcast_tools.audio.analysis_cache import AnalysisCache, Expected
from podcast_tools.audio.limiter import LimiterStats, TruePeakLimiter, smooth_gains
from podcast_tools.audio.meter import (
    FRAMES_PER_100MS,
    TRUE_PEAK_CONTEXT,
    LoudnessFigures,
    LoudnessMeter,
    block_true_peaks,
    db,
    frame_length,
    integrated_loudness,
    loudness_range,
    per_100ms,
    short_term_series,
)
from podcast_tools.audio.pcm import pcm_chunks
from podcast_tools.audio.plan import ChapterMark, EditPlan, PlanError, place_chapters, plan_edits
from podcast_tools.audio.probe import probe_duration
from podcast_tools.audio.speech import FRAME_S, SpeechFrames, SpeechMap, speech_profile
from podcast_tools.audio.stages import StageChain, StageContext, chain_identity
from podcast_tools.content.models import Loudness, Mastering
from podcast_tools.errors import AudioInputError
from podcast_tools.formats import PRIMARY, OutputFormat, format_named
from podcast_tools.fsutil import atomic_path
from podcast_tools.layout import file_hash

#: Called as progress(stage, done_seconds, total_seconds); stage is "analyse" or "render".
Progress = Callable[[str, float, float], None]
#: Called with one line about the master (no path) worth telling the producer, e.g. that its
#: analysis cache entry was damaged and the master was measured again.
Note = Callable[[str], None]

#: Bump whenever the render makes other bytes from the same inputs (edits, limiter, encoder
#: options): every published episode is then mastered again on the next publish.
RENDER_VERSION = 1
MIN_MASTER_S = 1.0
#: At most this many points per curve of the report (a 3-hour episode: one a second).
MAX_CURVE_POINTS = 12_000
_CURVE_HOPS = (1, 2, 5, 10, 20, 50, 100, 200, 600)  # in 100 ms steps
#: How far the render thread steps back from the encoder (a nice value, 0–19).
RENDER_NICENESS = 10
#: Every file must measure this close to the target (LU): else nothing is kept (`check_files`).
LOUDNESS_TOLERANCE_LU = 0.3


def _encodes(self) -> tuple[tuple[OutputFormat, int], ...]:
    """Every file the render feeds, as (format row, kbps): the MP3 first."""
    return ((PRIMARY, self.bitrate_kbps),) + tuple(
        (format_named(name), kbps) for name, kbps in self.also
    )


def _declared_in(model: type[BaseModel], *, leave_out: tuple[str, ...] = ()) -> list[tuple]:
    """The settings of a content model as dataclass fields: each setting is declared once, there
    (its type, default and limits), and mapped here by name."""
    return [
        (name, info.annotation, field(default=info.default))
        for name, info in model.model_fields.items()
        if name not in leave_out
    ]


#: How a show wants its audio (defaults: Apple's podcast guidance). Its `loudness` and
#: `mastering` settings are the fields of the content models `Loudness` and `Mastering` of the
#: same names (declared there once); beside them the MP3's rate, channels and bitrate, the
#: formats encoded beside the MP3 from the same render — `also`: (format, kbps) pairs of rows of
#: `podcast_tools.formats.FORMATS`, e.g. (("m4a", 96), ("opus", 64)) — and `stages`: the audio
#: stages run on the decoded master before everything else, in chain order
#: (`podcast_tools.audio.stages`; none by default). `max_gain_db`: more gain than this means
#: near-silence or the wrong file, and mastering stops instead.
MasteringSettings = make_dataclass(
    "MasteringSettings",
    [
        *_declared_in(Loudness),
        ("sample_rate", int, field(default=44100)),
        ("channels", int, field(default=2)),
        ("bitrate_kbps", int, field(default=128)),  # the MP3's (the feed's enclosure)
        ("also", tuple, field(default=())),
        # leveler, denoise and dehum are switches of built-in stages: they arrive as `stages`
        *_declared_in(Mastering, leave_out=("stages", "leveler", "denoise", "dehum")),
        ("stages", tuple, field(default=())),
    ],
    frozen=True,
    namespace={"encodes": _encodes},
)
MasteringSettings.__module__ = __name__  # pickled for the workers: found here by name
MasteringSettings.__doc__ = "How a show wants its audio (see the comment above its definition)."


def output_paths(output: Path, settings: MasteringSettings) -> dict[str, Path]:
    """Where each format's file goes: the MP3 at `output`, every other format beside it (same
    name, the format's suffix)."""
    return {
        audio_format.name: output
        if audio_format is PRIMARY
        else output.with_suffix(audio_format.suffix)
        for audio_format, _ in settings.encodes()
    }


@dataclass(frozen=True)
class EditDecisions:
    """What the producer asked for, in master time."""

    trim_start_s: float | None = None
    trim_end_s: float | None = None
    cuts_s: tuple[tuple[float, float], ...] = ()
    chapters: tuple[tuple[float, str], ...] = ()
    intro: Path | None = None
    outro: Path | None = None


@dataclass(frozen=True)
class LoudnessCurves:
    """What the report's plots draw, on one time grid of the output (point j at j × `hop_s`).

    Small by design — at most MAX_CURVE_POINTS float32 values per series, computed from the 10 ms
    records both passes keep anyway (no pass of their own): short-term loudness (3 s windows
    centred on each point, LUFS) of the master's kept speech before gain, placed where it is
    heard (NaN over the jingles), and of the programme fed to the encoder; and the limiter's
    largest gain reduction (dB, ≥ 0) within ± half a hop of each point.
    """

    hop_s: float
    master_short_term: np.ndarray
    result_short_term: np.ndarray
    gain_reduction_db: np.ndarray

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.result_short_term.size) * self.hop_s


def curve_grid(total_frames: int, frame_len: int) -> tuple[int, int]:
    """(hop in 100 ms groups, number of points) of the report's curves for a programme of
    `total_frames` samples: the finest hop of _CURVE_HOPS giving at most MAX_CURVE_POINTS."""
    groups = total_frames // (frame_len * FRAMES_PER_100MS)
    for hop in _CURVE_HOPS:
        if groups // hop + 1 <= MAX_CURVE_POINTS:
            return hop, groups // hop + 1
    hop = -(-groups // (MAX_CURVE_POINTS - 1))
    return hop, groups // hop + 1


def gain_reduction_series(
    gain_squares: np.ndarray, gain_db: float, hop_frames: int, points: int
) -> np.ndarray:
    """The limiter's largest gain reduction (dB) over the 10 ms frames within ± half a hop of
    each point (`gain_squares`: the limiter's mean squared gain per frame, linear gain included)."""
    out = np.zeros(points, dtype=np.float32)
    if gain_squares.size == 0 or points == 0:
        return out
    with np.errstate(divide="ignore"):
        reduction = np.log10(np.maximum(gain_squares, 1e-30), dtype=np.float32)
    reduction *= np.float32(-10.0)
    reduction += np.float32(gain_db)
    np.maximum(reduction, 0.0, out=reduction)
    # frame f (centre (f + ½) × 10 ms) belongs to the point nearest to it: point p owns the frames
    # from the first f with 2f + 1 + hop ≥ 2·hop·p (no per-frame index array: memory stays flat)
    firsts = np.maximum(
        0, -(-(2 * hop_frames * np.arange(points + 1, dtype=np.int64) - hop_frames - 1) // 2)
    )
    reduction = reduction[: firsts[-1]]  # frames past the last point's belong to none
    firsts = firsts[:-1]
    owned = firsts < reduction.size
    firsts = firsts[owned]
    if firsts.size == 0:
        return out
    out[: firsts.size] = np.maximum.reduceat(reduction, firsts)
    return out


@dataclass
class EncodedFile:
    """One file the render fed: its format, where it went, and how its level was set."""

    format: str
    output: Path
    bitrate_kbps: int
    #: What this encoder takes away from the programme's loudness (LU, measured on excerpts).
    codec_loss_lu: float = 0.0
    #: The gain (dB, ≤ 0) between the limiter and this encoder: the render is aimed at the
    #: lossiest encoder, every other file is brought down to land on the same target.
    trim_db: float = 0.0
    bytes: int = 0
    sha256: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "output": str(self.output),
            "bitrate_kbps": self.bitrate_kbps,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "codec_loss_lu": round(self.codec_loss_lu, 2),
            "trim_db": round(self.trim_db, 2),
        }


@dataclass
class MasteringReport:
    source: Path
    output: Path  # the MP3 (the primary format); every file is in `files`
    duration_s: float
    bytes: int
    sha256: str
    settings: MasteringSettings
    source_loudness: LoudnessFigures
    before: LoudnessFigures  # the assembled programme before gain
    after: LoudnessFigures  # the rendered programme fed to the encoder (its true peak: a bound)
    gain_db: float
    codec_loss_lu: float
    limiter_max_reduction_db: float
    limiter_active_percent: float
    plan: EditPlan
    chapters: list[ChapterMark]
    intro_s: float
    outro_s: float
    intro_gain_db: float = 0.0
    outro_gain_db: float = 0.0
    seconds: dict[str, float] = field(default_factory=dict)
    #: What the report's plots draw (not in `as_dict`: the HTML report carries them).
    curves: LoudnessCurves | None = None
    #: Every file the render fed, the MP3 first.
    files: list[EncodedFile] = field(default_factory=list)
    #: Pass 1 was taken from the analysis cache (the master was decoded once, by the render).
    analysis_cached: bool = False
    #: What the listener hears of the speech (`audio.speech.speech_profile`); None: not made.
    speech: dict[str, Any] | None = None
    #: What each enabled stage found and did (`Stage.findings`), by stage name.
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The share of the programme (%) over which the limiter takes more than 3 dB away.
    heavy_limiting_percent: float = 0.0
    #: Set when the file is not a render: "published as mastered (not re-encoded)" — a
    #: `mastered: true` episode's MP3 with its frames as they are (`audio.mastered`).
    published_as: str | None = None

    def as_dict(self) -> dict[str, Any]:
        rate = self.plan.sample_rate
        return {
            "source": str(self.source),
            "output": str(self.output),
            "duration_s": round(self.duration_s, 3),
            "bytes": self.bytes,
            "sha256": self.sha256,
            "mp3": {
                "bitrate_kbps": self.settings.bitrate_kbps,
                "channels": self.settings.channels,
                "sample_rate": self.settings.sample_rate,
            },
            "loudness": {
                "target_lufs": self.settings.target_lufs,
                "true_peak_ceiling_dbtp": self.settings.true_peak_dbtp,
                "source": self.source_loudness.as_dict(),
                "before": self.before.as_dict(),
                "after": self.after.as_dict(),
                "expected_mp3_lufs": round(self.after.integrated_lufs - self.codec_loss_lu, 2),
                "codec_loss_lu": round(self.codec_loss_lu, 2),
                "gain_db": round(self.gain_db, 2),
                "limiter_max_reduction_db": round(self.limiter_max_reduction_db, 2),
                "limiter_active_percent": round(self.limiter_active_percent, 3),
                "limiter_over_3db_percent": round(self.heavy_limiting_percent, 2),
            },
            "edits": {
                "master_s": round(self.plan.master_frames / rate, 3),
                "head_trimmed_s": round(self.plan.head_trimmed_s, 3),
                "tail_trimmed_s": round(self.plan.tail_trimmed_s, 3),
                "cuts": [
                    {"start_s": round(c.start / rate, 3), "end_s": round(c.end / rate, 3)}
                    for c in self.plan.cuts
                ],
                "kept": [
                    {"start_s": round(s.start / rate, 3), "end_s": round(s.end / rate, 3)}
                    for s in self.plan.segments
                ],
                "intro_s": round(self.intro_s, 3),
                "outro_s": round(self.outro_s, 3),
                "intro_matched_db": round(self.intro_gain_db, 2),
                "outro_matched_db": round(self.outro_gain_db, 2),
                "crossfade_in_s": round(self.plan.intro_overlap / rate, 3),
                "crossfade_out_s": round(self.plan.outro_overlap / rate, 3),
            },
            "chapters": [
                {
                    "title": c.title,
                    "source_start_s": round(c.source_s, 3),
                    "start_s": round(c.output_s, 3),
                }
                for c in self.chapters
            ],
            "files": [encoded.as_dict() for encoded in self.files],
            "analysis_cached": self.analysis_cached,
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
            **({"speech": self.speech} if self.speech is not None else {}),
            **({"stages": self.stages} if self.stages else {}),
            **({"published_as": self.published_as} if self.published_as else {}),
        }


class _Excerpts:
    """Evenly spaced chunks of the master, at most `limit` of them (the spacing doubles as the
    master grows), to find out how much loudness the MP3 encoder takes away."""

    def __init__(self, limit: int = 8):
        self.limit = limit
        self.stride = 1
        self.index = 0
        self.chunks: list[np.ndarray] = []
        self.indices: list[int] = []  # which chunk of the master each one is

    def feed(self, chunk: np.ndarray) -> None:
        if self.index % self.stride == 0:
            self.chunks.append(chunk.copy())
            self.indices.append(self.index)
            if len(self.chunks) > self.limit:
                self.chunks, self.indices = self.chunks[::2], self.indices[::2]
                self.stride *= 2
        self.index += 1


class CachedAnalysisCheck:
    """What the render checks of an analysis taken from the cache, as it decodes the master:
    each excerpt (what the codec probe measured) is the master's chunk it says it is, and the
    master decodes to the length the analysis says. Both are free: the render reads the master
    anyway (to its end when the analysis came from the cache)."""

    def __init__(self, source: Path, master_frames: int, excerpts: list[np.ndarray], indices):
        self.source = source
        self.master_frames = master_frames
        self.expected = dict(zip(indices, excerpts))
        self.frames = 0

    def chunks(self, chunks: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        for number, chunk in enumerate(chunks):
            excerpt = self.expected.pop(number, None)
            if excerpt is not None and not np.array_equal(excerpt, chunk):
                self._differs(f"chunk {number} is not the excerpt the codec probe measured")
            self.frames += chunk.shape[0]
            yield chunk

    def finish(self, rest: Iterator[np.ndarray]) -> None:
        """Read the rest of the master (what the edits left out) and check its length."""
        for _ in rest:
            pass
        if self.expected:
            self._differs(f"it ends before chunk {min(self.expected)}")
        if self.frames != self.master_frames:
            self._differs(
                f"it decodes to {self.frames} samples, the analysis says {self.master_frames}"
            )

    def _differs(self, what: str) -> None:
        raise AnalysisMismatch(f"the master is not what it describes: {what}", file=self.source)


class AnalysisMismatch(AudioInputError):
    """The master does not decode as the analysis taken from the cache says."""


class OffTarget(AudioInputError):
    """A rendered file would not measure the show's target: nothing of it is kept."""


def master(
    source: Path,
    output: Path,
    settings: MasteringSettings = MasteringSettings(),
    edits: EditDecisions = EditDecisions(),
    *,
    progress: Progress | None = None,
    finish: Callable[[dict[str, Path], MasteringReport], None] | None = None,
    analysis_cache: AnalysisCache | None = None,
    source_sha256: str | None = None,
    note: Note | None = None,
) -> MasteringReport:
    """Turn `source` into publish-ready files: the MP3 at `output` and one file beside it for each
    other format of `settings` (`output_paths`), all fed by one render. Each is written to a
    temp file; they are renamed together once every one is finished.

    `finish(temp_paths, report)` (format name → temp file) runs on the finished temp files before
    the rename (that is where tags go), so the outputs only ever hold complete, tagged files; the
    sizes and sha256 in the report are of those final files. Raises AudioInputError (bad master
    or jingle; OffTarget when a file would miss the target: `check_files`), PlanError (an edit
    that cannot be done), ToolError (ffmpeg) or whatever `finish` raises; on any error nothing is
    left at any output. With `analysis_cache`, pass 1 comes from it when it holds the master's
    analysis (see `analyse`; `report.analysis_cached` says so). An entry found damaged, or that
    the render finds does not describe the master (or that leads off target or to a plan that
    fails), is removed and the master measured again — `note` is told, in one line.
    """
    for path in (source, edits.intro, edits.outro):
        if path is not None and not Path(path).is_file():
            raise AudioInputError("file not found", file=path)
    report_progress = progress or _no_progress
    tell = note or (lambda message: None)
    timings: dict[str, float] = {}

    started = time.perf_counter()
    analysis = analyse(
        source, settings, report_progress, cache=analysis_cache, source_sha256=source_sha256
    )
    timings["analyse"] = time.perf_counter() - started
    if analysis.cache_damage is not None:
        tell(_remeasured("was damaged", analysis.cache_damage))
    if not analysis.from_cache:
        return _master_from(analysis, output, settings, edits, report_progress, finish, timings)
    try:
        return _master_from(analysis, output, settings, edits, report_progress, finish, timings)
    except (AudioInputError, PlanError) as exc:
        # The cached analysis may be what went wrong: measure the master and try once more (an
        # error of the master or of the edits themselves comes back the same way).
        assert analysis_cache is not None and analysis.cache_key is not None
        reason = exc.reason if isinstance(exc, AudioInputError) else str(exc)
        analysis_cache.evict(analysis.cache_key, reason)
    del analysis
    started = time.perf_counter()
    analysis = analyse(
        source,
        settings,
        report_progress,
        cache=analysis_cache,
        source_sha256=source_sha256,
        remeasure=True,  # even if the entry could not be removed (a read-only cache)
    )
    timings["analyse"] += time.perf_counter() - started
    report = _master_from(analysis, output, settings, edits, report_progress, finish, timings)
    # said only now: when the fresh analysis fails the same way, the error is all there is to say
    tell(_remeasured("proved wrong in use", reason))
    return report


def _remeasured(what: str, reason: str) -> str:
    return f"its analysis cache entry {what} ({reason}): removed, the master measured again"


def _master_from(
    analysis: Analysis,
    output: Path,
    settings: MasteringSettings,
    edits: EditDecisions,
    report_progress: Progress,
    finish: Callable[[dict[str, Path], MasteringReport], None] | None,
    timings: dict[str, float],
) -> MasteringReport:
    """`master`'s plan, render, check and finish, from `analysis`."""
    source, cached = analysis.source, analysis.from_cache
    started = time.perf_counter()
    steps = plan_master(analysis, settings, edits)  # takes the master's frames out of `analysis`
    timings["plan"] = time.perf_counter() - started
    source_figures = analysis.source_figures
    analysis.excerpts = []  # memory stays flat: the render keeps nothing of the master's analysis

    # The files appear at their outputs only when every one is complete (and finished).
    rate = settings.sample_rate
    total_s = steps.plan.total_frames / rate
    outputs = output_paths(output, settings)
    with ExitStack() as renames:
        temps = {name: renames.enter_context(atomic_path(path)) for name, path in outputs.items()}
        started = time.perf_counter()
        rendering = render(source, steps, settings, temps, report_progress)
        timings["render_encode"] = time.perf_counter() - started
        check_files(source, rendering, steps, settings)
        stats = rendering.stats
        report = MasteringReport(
            source=source,
            output=output,
            duration_s=rendering.frames / rate,
            bytes=0,
            sha256="",
            settings=settings,
            source_loudness=source_figures,
            before=LoudnessFigures(
                steps.before_lufs,
                db(stats.input_peak),
                loudness_range(steps.programme_energy, steps.frame_len),
            ),
            after=rendering.after,
            gain_db=steps.gain_db,
            codec_loss_lu=steps.codec_loss_lu,
            limiter_max_reduction_db=stats.max_reduction_db,
            limiter_active_percent=100.0 * stats.limited_fraction,
            plan=steps.plan,
            chapters=steps.chapters,
            intro_s=steps.intro_s,
            outro_s=steps.outro_s,
            intro_gain_db=steps.intro_gain_db,
            outro_gain_db=steps.outro_gain_db,
            seconds=timings,
            curves=LoudnessCurves(
                hop_s=steps.curve_hop_s,
                master_short_term=steps.master_short_term,
                result_short_term=rendering.result_short_term,
                gain_reduction_db=rendering.gain_reduction_db,
            ),
            analysis_cached=cached,
            speech=_speech_of(rendering, steps),
            stages=rendering.findings,
            heavy_limiting_percent=rendering.heavy_limiting_percent,
            files=[
                EncodedFile(
                    format=audio_format.name,
                    output=outputs[audio_format.name],
                    bitrate_kbps=kbps,
                    codec_loss_lu=steps.codec_losses.get(audio_format.name, steps.codec_loss_lu),
                    trim_db=steps.trims_db.get(audio_format.name, 0.0),
                )
                for audio_format, kbps in settings.encodes()
            ],
        )
        if finish is not None:
            finish(dict(temps), report)
        for encoded in report.files:
            temp = temps[encoded.format]
            encoded.bytes, encoded.sha256 = temp.stat().st_size, file_hash(temp)
        report.bytes, report.sha256 = report.files[0].bytes, report.files[0].sha256
    report_progress("render", total_s, total_s)
    return report


def _speech_of(rendering: Rendering, steps: MasterPlan) -> dict[str, Any] | None:
    """The report's speech profile: the render's speech map, the edits' kept frames, and the
    gain from the chain's output to the published file (the render's, less the codec's loss)."""
    if rendering.speech is None:
        return None
    plan, frames = steps.plan, rendering.speech
    per_frame = plan.sample_rate * FRAME_S
    kept = np.zeros(frames.after.frames, dtype=bool)
    for segment in plan.segments:
        kept[math.ceil(segment.start / per_frame) : int(segment.end // per_frame)] = True
    return speech_profile(frames, steps.gain_db - steps.codec_loss_lu, kept)


def _no_progress(stage: str, done_s: float, total_s: float) -> None:
    pass


@dataclass
class Analysis:
    """What pass 1 learnt about the master: all the later steps need of it.

    `energy` and `frame_peaks` cover the whole master (two numbers per 10 ms); `plan_master`
    takes them out (`take_frames`) so that they are freed once the programme's own frames are
    derived, and memory stays flat through the render.
    """

    source: Path
    sample_rate: int
    channels: int
    frame_len: int
    master_frames: int
    source_figures: LoudnessFigures  # integrated loudness and range of the master as it is
    energy: np.ndarray | None  # per 10 ms: channel-weighted K-weighted energy
    frame_peaks: np.ndarray | None  # per 10 ms: the largest sample magnitude
    excerpts: list[np.ndarray] = field(default_factory=list)  # for the codec-loss probe
    from_cache: bool = False  # taken from an AnalysisCache (no decoding)
    excerpt_index: list[int] = field(default_factory=list)  # the master chunk of each excerpt
    cache_key: str | None = None  # its key in the cache it came from (or went to)
    #: Why the cache's entry for this master was removed before it was measured (None: it was
    #: not, or there was none).
    cache_damage: str | None = None

    @property
    def duration_s(self) -> float:
        return self.master_frames / self.sample_rate

    def take_frames(self) -> tuple[np.ndarray, np.ndarray]:
        """The master's 10 ms energies and peaks, handed over once (the analysis keeps none)."""
        if self.energy is None or self.frame_peaks is None:
            raise RuntimeError("the analysis's frames were already taken by plan_master")
        energy, peaks = self.energy, self.frame_peaks
        self.energy = self.frame_peaks = None
        return energy, peaks


@dataclass
class MasterPlan:
    """Everything the render needs, decided before it starts."""

    plan: EditPlan
    chapters: list[ChapterMark]
    intro: np.ndarray | None  # the jingles' PCM: crossfade shaped, matched to the speech
    outro: np.ndarray | None
    intro_gain_db: float
    outro_gain_db: float
    #: The programme's 10 ms energies and peaks on the output's frame grid (before gain).
    programme_energy: np.ndarray
    programme_peaks: np.ndarray
    frame_len: int
    before_lufs: float
    gain_db: float  # includes the codec-loss correction
    codec_loss_lu: float  # the largest of `codec_losses`: the render is aimed that much louder
    ceiling: float  # linear: the limiter's, the true-peak ceiling less the encoders' headroom
    #: The report's curves (see LoudnessCurves): their hop, and the master's kept speech before
    #: gain, placed where it is heard (derived before the master's own frames are dropped).
    curve_hop_s: float = 0.0
    master_short_term: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    #: Per format: the loudness its encoder takes away (LU), and the gain (dB, ≤ 0) between the
    #: limiter and its encoder that brings it onto the target (`level_formats`).
    codec_losses: dict[str, float] = field(default_factory=dict)
    trims_db: dict[str, float] = field(default_factory=dict)
    #: Set when the analysis came from the cache: what the render checks of it.
    cached_check: CachedAnalysisCheck | None = None

    @property
    def intro_s(self) -> float:
        return 0.0 if self.intro is None else self.intro.shape[0] / self.plan.sample_rate

    @property
    def outro_s(self) -> float:
        return 0.0 if self.outro is None else self.outro.shape[0] / self.plan.sample_rate


@dataclass
class Rendering:
    """What pass 2 did: frames sent to the encoder, the limiter's work, the result's loudness."""

    frames: int
    stats: LimiterStats
    #: The rendered programme fed to the encoder (its true peak: the limiter's bound).
    after: LoudnessFigures
    #: The report's curves of the programme fed to the encoder (see LoudnessCurves).
    result_short_term: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    gain_reduction_db: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    #: The speech map of the master as the chain put it out (and as decoded): `audio.speech`.
    speech: SpeechFrames | None = None
    #: What each stage found (`Stage.findings`), by stage name.
    findings: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The share of the programme (%) over which the limiter takes more than 3 dB away.
    heavy_limiting_percent: float = 0.0


def analyse(
    source: Path,
    settings: MasteringSettings,
    progress: Progress | None = None,
    *,
    cache: AnalysisCache | None = None,
    source_sha256: str | None = None,
    remeasure: bool = False,
) -> Analysis:
    """Pass 1: one streaming read of the master (loudness, 10 ms energies and peaks, excerpts) —
    of what the show's stage chain makes of it (`master_chunks`), as the render will see it.

    With a `cache`, an analysis of the same master bytes (`source_sha256`, else hashed here) at
    the same rate and channels (and stage chain) is taken from it instead (no decoding; unless `remeasure`), and a
    new one is stored. An entry that fails its checks is removed (`Analysis.cache_damage` says
    why) and the master measured.
    Raises AudioInputError if the master holds no audio, is too short, is truncated (decodes
    to less than its header says), holds NaN or infinite samples or is silent.
    """
    rate, channels = settings.sample_rate, settings.channels
    frame_len = frame_length(rate)
    key, damage = None, None
    expected_s = _header_duration(source)
    if cache is not None:
        limit = _Excerpts().limit
        key = cache.key(
            source_sha256 or file_hash(source),
            rate,
            channels,
            limit,
            chain=chain_identity(settings.stages),
        )
    if cache is not None and key is not None and not remeasure:
        found = cache.lookup(key, Expected(rate, channels, expected_s, limit))
        if found.found is not None:
            return Analysis(
                source=source,
                sample_rate=rate,
                channels=channels,
                frame_len=frame_len,
                from_cache=True,
                cache_key=key,
                **found.found,
            )
        damage = found.damage
    report_progress = progress or _no_progress
    meter, excerpts = LoudnessMeter(rate, channels, track_peaks=True), _Excerpts()
    try:
        for chunk in master_chunks(source, settings):
            meter.feed(chunk)
            excerpts.feed(chunk)
            report_progress("analyse", meter.samples / rate, expected_s or 0.0)
        master_frames = meter.samples
        _check_master(source, master_frames / rate, expected_s)
        frame_peaks = meter.frame_peaks()
        _check_numbers(source, frame_peaks, frame_len / rate)
        energy = meter.frame_energies()
        source_figures = LoudnessFigures(
            integrated_loudness(energy, frame_len), math.nan, loudness_range(energy, frame_len)
        )
        if not math.isfinite(source_figures.integrated_lufs):
            raise AudioInputError("is silent (nothing above −70 LUFS)", file=source)
    finally:
        meter.close()
    if cache is not None and key is not None:
        cache.store(
            key,
            master_frames=master_frames,
            source_figures=source_figures,
            energy=energy,
            frame_peaks=frame_peaks,
            excerpts=excerpts.chunks,
            excerpt_index=excerpts.indices,
        )
    return Analysis(
        source=source,
        sample_rate=rate,
        channels=channels,
        frame_len=frame_len,
        master_frames=master_frames,
        source_figures=source_figures,
        energy=energy,
        frame_peaks=frame_peaks,
        excerpts=excerpts.chunks,
        excerpt_index=excerpts.indices,
        cache_key=key,
        cache_damage=damage,
    )


def master_chunks(source: Path, settings: MasteringSettings) -> Iterator[np.ndarray]:
    """The master as both passes read it: decoded at the settings' rate and channels, then run
    through the show's stage chain (with no stage: the decoded chunks themselves)."""
    rate, channels = settings.sample_rate, settings.channels
    chain = StageChain(settings.stages, StageContext(source, rate, channels))
    return chain.run(pcm_chunks(source, sample_rate=rate, channels=channels))


def _check_numbers(source: Path, frame_peaks: np.ndarray, frame_s: float) -> None:
    """AudioInputError when a (float) master holds samples that are no numbers (NaN) or are
    infinite, as a broken plug-in or export leaves them: the meter would read them — and the
    K-weighting filter everything after them — as silence, and the encoder would fail on them.
    A 10 ms frame's peak is NaN or infinite when one of its samples is."""
    bad = np.flatnonzero(~np.isfinite(frame_peaks))
    if bad.size:
        first = int(bad[0])
        kind = "NaN (not-a-number)" if np.isnan(frame_peaks[first]) else "infinite"
        raise AudioInputError(
            f"holds {kind} samples (the first at {first * frame_s:.2f} s); export it again, "
            "e.g. as 24-bit PCM",
            file=source,
        )


def plan_master(
    analysis: Analysis, settings: MasteringSettings, edits: EditDecisions = EditDecisions()
) -> MasterPlan:
    """Decide the edits, the chapters' places, the jingles' levels and the gain.

    Takes the master's 10 ms frames out of `analysis` (see `Analysis.take_frames`) and drops
    them once the programme's frames are derived. Raises AudioInputError (a bad jingle) or
    PlanError (an edit that cannot be done, or more gain than `settings.max_gain_db`).
    """
    rate, channels = settings.sample_rate, settings.channels
    if (analysis.sample_rate, analysis.channels) != (rate, channels):
        raise ValueError("the analysis was made at another sample rate or channel count")
    frame_len = analysis.frame_len
    overlap_ms = round(settings.crossfade_s * 1000)
    intro = _load_jingle(edits.intro, rate, channels, fade_out_ms=overlap_ms)
    outro = _load_jingle(edits.outro, rate, channels, fade_in_ms=overlap_ms)
    energy, frame_peaks = analysis.take_frames()
    plan = plan_edits(
        sample_rate=rate,
        master_frames=analysis.master_frames,
        frame_energy=energy,
        frame_len=frame_len,
        trim_start_s=edits.trim_start_s,
        trim_end_s=edits.trim_end_s,
        cuts_s=list(edits.cuts_s),
        silence_pad_s=settings.silence_pad_s,
        silence_threshold_lu=settings.silence_threshold_lu,
        intro_frames=0 if intro is None else intro.shape[0],
        outro_frames=0 if outro is None else outro.shape[0],
        crossfade_s=settings.crossfade_s,
    )
    chapters = place_chapters(plan, list(edits.chapters))
    # The programme's 10 ms energies and peaks on the output's frame grid: speech first (its
    # loudness sets the jingles' level), then the jingles; the master's own records are dropped.
    programme_energy, programme_peaks = _speech_frames(plan, energy, frame_peaks, frame_len)
    del energy, frame_peaks  # memory stays flat: only the programme's frames are kept
    # The report's curve of the master (its kept speech, before the jingles join it).
    hop, points = curve_grid(plan.total_frames, frame_len)
    group = frame_len * FRAMES_PER_100MS
    master_short_term = short_term_series(
        programme_energy,
        frame_len,
        hop,
        points,
        span=(-(-plan.speech_start // group), plan.speech_end // group),
    )
    speech_lufs = integrated_loudness(programme_energy, frame_len)
    intro, intro_gain_db = _match_jingle(intro, speech_lufs, rate)
    outro, outro_gain_db = _match_jingle(outro, speech_lufs, rate)
    for clip, first_sample in ((intro, 0), (outro, plan.outro_start)):
        if clip is not None:
            _add_clip(programme_energy, programme_peaks, clip, first_sample, rate, frame_len)
    before_lufs = integrated_loudness(programme_energy, frame_len)
    levels = _solve_levels(
        programme_energy, programme_peaks, frame_len, before_lufs, analysis, settings
    )
    gain_db, codec_loss, ceiling, losses, trims = levels
    return MasterPlan(
        plan=plan,
        chapters=chapters,
        intro=intro,
        outro=outro,
        intro_gain_db=intro_gain_db,
        outro_gain_db=outro_gain_db,
        programme_energy=programme_energy,
        programme_peaks=programme_peaks,
        frame_len=frame_len,
        before_lufs=before_lufs,
        gain_db=gain_db,
        codec_loss_lu=codec_loss,
        ceiling=ceiling,
        curve_hop_s=hop * group / rate,
        master_short_term=master_short_term,
        codec_losses=losses,
        trims_db=trims,
        cached_check=CachedAnalysisCheck(
            analysis.source, analysis.master_frames, analysis.excerpts, analysis.excerpt_index
        )
        if analysis.from_cache
        else None,
    )


def _solve_levels(
    programme_energy: np.ndarray,
    programme_peaks: np.ndarray,
    frame_len: int,
    before_lufs: float,
    analysis: Analysis,
    settings: MasteringSettings,
) -> tuple[float, float, float, dict[str, float], dict[str, float]]:
    """`plan_master`'s gain: (gain dB, codec loss LU, linear ceiling, each format's codec loss,
    each format's trim). Raises PlanError for more gain than `settings.max_gain_db`."""
    rate = settings.sample_rate
    encodes = settings.encodes()
    # Probe the encoders below the most cautious ceiling; the final one follows from their trims.
    ceiling = _linear(settings.true_peak_dbtp - max(f.true_peak_headroom_db for f, _ in encodes))
    gain_db = solve_gain(
        programme_energy, programme_peaks, frame_len, rate, settings.target_lufs, ceiling
    )
    if not gain_db <= settings.max_gain_db:  # also NaN/inf: digital silence
        measured = f"{before_lufs:.1f} LUFS" if math.isfinite(before_lufs) else "silence"
        raise PlanError(
            "audio",
            f"the recording measures {measured}: reaching {settings.target_lufs:g} LUFS would "
            f"take {gain_db:+.1f} dB, more than max_gain_db ({settings.max_gain_db:g} dB) — "
            "near-silence or the wrong file? Check the recording, or raise mastering.max_gain_db",
        )
    # Aim the rendered PCM a little louder by what the lossiest encoder will take away; the
    # others get a little less (their trims), so that every file lands on the target.
    losses = codec_loudness_loss(analysis.excerpts, gain_db, ceiling, settings)
    codec_loss, trims, ceiling_db = level_formats(losses, encodes, settings.true_peak_dbtp)
    ceiling = _linear(ceiling_db)
    gain_db = solve_gain(
        programme_energy,
        programme_peaks,
        frame_len,
        rate,
        settings.target_lufs + codec_loss,
        ceiling,
    )
    return gain_db, codec_loss, ceiling, losses, trims


def level_formats(
    losses: dict[str, float],
    encodes: tuple[tuple[OutputFormat, int], ...],
    true_peak_dbtp: float,
) -> tuple[float, dict[str, float], float]:
    """How one render lands every format on the target: (make-up gain in LU, each format's trim
    in dB, the limiter's ceiling in dBTP).

    The render is aimed louder by the largest codec loss; a format that loses less is brought
    down by the difference (a trim ≤ 0 between the limiter and its encoder), so each file
    measures the target. A file's true peak is the limiter's ceiling, plus its trim, plus what
    its encoder adds (at most the row's headroom): the ceiling is set so that every file stays
    under `true_peak_dbtp`. With the MP3 alone: no trim, the ceiling less the MP3's headroom.
    """
    make_up = max(losses.get(f.name, 0.0) for f, _ in encodes)
    trims = {f.name: losses.get(f.name, 0.0) - make_up for f, _ in encodes}
    ceiling_db = true_peak_dbtp - max(f.true_peak_headroom_db + trims[f.name] for f, _ in encodes)
    return make_up, trims, ceiling_db


def _linear(level_db: float) -> float:
    return 10.0 ** (level_db / 20.0)


def render(
    source: Path,
    steps: MasterPlan,
    settings: MasteringSettings,
    outputs: Path | Mapping[str, Path],
    progress: Progress | None = None,
) -> Rendering:
    """Pass 2: render the programme (stage chain, edits, jingles, gain, limiter) once and feed
    every format's encoder from it, each through its trim (`MasterPlan.trims_db`).

    `outputs`: format name → file, or the MP3's path (the other formats beside it, as
    `output_paths` places them). The render runs on a lower-priority thread beside ffmpeg's
    encoders, so the encoders set the pace. Writes the files directly: `master` points them at
    temp files. Raises AudioInputError if the master now decodes shorter than it did in pass 1,
    ToolError if ffmpeg fails.
    """
    if not isinstance(outputs, Mapping):
        outputs = output_paths(outputs, settings)
    rate, channels = settings.sample_rate, settings.channels
    plan, frame_len = steps.plan, steps.frame_len
    if plan.sample_rate != rate:
        raise ValueError("the plan was made at another sample rate")
    report_progress = progress or _no_progress
    limiter = TruePeakLimiter(
        10.0 ** (steps.gain_db / 20.0),
        steps.ceiling,
        rate,
        channels,
        frame_len=frame_len,
        frame_count=steps.programme_energy.size,
    )
    total_s = plan.total_frames / rate
    check = steps.cached_check
    metered: list[np.ndarray] = []
    chain = StageChain(settings.stages, StageContext(source, rate, channels))
    speech = SpeechMap(rate, channels, stages=bool(settings.stages))

    def feed_encoders(feeds: list[Callable[[np.ndarray], None]]) -> int:
        # The render's own meter on what it feeds the encoders (its K-weighting threads are
        # started here: they inherit this thread's lower priority).
        meter = LoudnessMeter(rate, channels)
        try:
            feeds = [meter.feed, *feeds]
            written = 0
            # the decoder starts here, on the render's thread (its lower priority)
            with closing(_through_chain(source, settings, chain, speech)) as decoded:
                chunks = decoded if check is None else check.chunks(decoded)
                for piece in assemble(chunks, plan, steps.intro, steps.outro, source):
                    rendered = limiter.process(piece)
                    for feed in feeds:
                        feed(rendered)
                    written += rendered.shape[0]
                    report_progress("render", written / rate, total_s)
                rendered = limiter.flush()
                for feed in feeds:
                    feed(rendered)
                if check is not None:
                    check.finish(chunks)
            metered.append(meter.frame_energies())
        finally:
            meter.close()
        return written + rendered.shape[0]

    with speech.closed_on_failure(), ExitStack() as encoders:  # (success: `speech.frames()`)
        feeds = [
            _trimmed(
                encoders.enter_context(_encoder(outputs[f.name], f, kbps, settings)),
                steps.trims_db.get(f.name, 0.0),
            )
            for f, kbps in settings.encodes()
        ]
        frames = run_yielding_to_encoder(feed_encoders, feeds)
    # The rendered programme's loudness as the render's meter measured what it fed the encoders
    # (the limiter's true-peak bound: its own measurement of the same samples); --verify decodes
    # and measures the files themselves.
    (after_energy,) = metered
    gain_squares = limiter.frame_gain_squares()
    stats = limiter.stats
    after = LoudnessFigures(
        integrated_loudness(after_energy, frame_len),
        db(stats.output_peak_bound),
        loudness_range(after_energy, frame_len),
    )
    # The report's curves, from the same records (no pass over the audio of their own).
    hop, points = curve_grid(plan.total_frames, frame_len)
    return Rendering(
        frames=frames,
        stats=stats,
        after=after,
        speech=speech.frames(),
        findings=chain.findings(),
        heavy_limiting_percent=heavy_limiting_percent(gain_squares, steps.gain_db),
        result_short_term=short_term_series(after_energy, frame_len, hop, points),
        gain_reduction_db=gain_reduction_series(
            gain_squares, steps.gain_db, hop * FRAMES_PER_100MS, points
        ),
    )


def _through_chain(
    source: Path, settings: MasteringSettings, chain: StageChain, speech: SpeechMap
) -> Iterator[np.ndarray]:
    """The master decoded and run through the stage chain, the speech map tapping it before
    (with stages) and after."""
    decoded = pcm_chunks(source, sample_rate=settings.sample_rate, channels=settings.channels)
    return speech.tap_after(chain.run(speech.tap_before(decoded)))


def heavy_limiting_percent(gain_squares: np.ndarray, gain_db: float) -> float:
    """The share (%) of 10 ms frames over which the limiter takes more than 3 dB away
    (`gain_squares`: its mean squared gain per frame, the linear gain `gain_db` included)."""
    if not gain_squares.size:
        return 0.0
    with np.errstate(divide="ignore"):
        reduction = gain_db - 10.0 * np.log10(np.maximum(gain_squares, 1e-30))
    return 100.0 * float(np.mean(reduction > 3.0))


def check_files(
    source: Path, rendering: Rendering, steps: MasterPlan, settings: MasteringSettings
) -> None:
    """OffTarget unless every file the render fed lands on the show's target: its loudness — the
    render's meter on the programme fed to the encoders, with the file's trim, less what its
    encoder takes away (measured by the codec probe) — within LOUDNESS_TOLERANCE_LU of the
    target, and its true peak — the limiter's bound, with the trim, plus what the encoder may
    add (the format's headroom) — at or under the ceiling."""
    target, ceiling = settings.target_lufs, settings.true_peak_dbtp
    rendered = rendering.after.integrated_lufs
    for audio_format, _ in settings.encodes():
        trim = steps.trims_db.get(audio_format.name, 0.0)
        loss = steps.codec_losses.get(audio_format.name, steps.codec_loss_lu)
        loudness = rendered + trim - loss
        peak = rendering.after.true_peak_dbtp + trim + audio_format.true_peak_headroom_db
        if abs(loudness - target) <= LOUDNESS_TOLERANCE_LU + 1e-9 and peak <= ceiling + 1e-9:
            continue
        raise OffTarget(
            f"mastering missed the target: its {audio_format.label} would measure "
            f"{loudness:.1f} LUFS (the render metered {rendered:.1f} LUFS, trim {trim:+.1f} dB, "
            f"the encoder takes {loss:.1f} LU), target {target:g} ± {LOUDNESS_TOLERANCE_LU:g} "
            f"LUFS; true peak at most {peak:.1f} dBTP, ceiling {ceiling:g} dBTP; no file was kept",
            file=source,
        )


def solve_gain(
    energy: np.ndarray,
    peaks: np.ndarray,
    frame_len: int,
    sample_rate: int,
    target_lufs: float,
    ceiling: float,
) -> float:
    """The linear gain (dB) that brings the programme to `target_lufs` *after* limiting.

    The limiter takes a little loudness off the loudest moments. This runs the same attack and
    release on the 10 ms peak envelope to estimate how much, and raises the gain to make up for
    it, a few times over until it settles. Works through the frames a slice at a time, so its
    memory does not grow with the programme.
    """
    base = integrated_loudness(energy, frame_len)
    gain_db = target_lufs - base
    release_c = frame_len / (TruePeakLimiter.release_s * sample_rate)
    slice_frames = 100_000  # a multiple of 10 frames: slices keep the 100 ms grid
    for _ in range(5):
        gain = 10.0 ** (gain_db / 20.0)
        depth, limited = 0.0, []
        for start in range(0, energy.size, slice_frames):
            part_peaks = np.maximum(peaks[start : start + slice_frames], np.float32(1e-12))
            required = np.minimum(1.0, ceiling / (gain * part_peaks.astype(np.float64)))
            gains, depth = smooth_gains(required, np.zeros(0), 1, release_c, depth)
            limited.append(per_100ms(energy[start : start + slice_frames] * gains**2))
        estimate = integrated_loudness(np.concatenate(limited), frame_len, grouped=True) + gain_db
        gain_db += target_lufs - estimate
    return gain_db


def run_yielding_to_encoder(work: Callable[[Any], Any], *args: Any) -> Any:
    """Run `work` on a thread of lower CPU priority and wait for it.

    The MP3 encoder is the floor of the whole job; the render feeding it needs far less CPU.
    On two cores the two compete for the scheduler (ffmpeg's encoder runs several threads), so
    the render steps aside: on Linux its thread — and the decoder it starts, and the meter
    threads it creates — get a higher nice value; the encoder keeps the priority it had.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        if sys.platform.startswith("linux"):
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), RENDER_NICENESS)
            except OSError:
                pass  # not allowed here: run at the same priority
        try:
            outcome["result"] = work(*args)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="render")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _encoder(
    output: Path, audio_format: OutputFormat, kbps: int, settings: MasteringSettings
) -> ffmpeg.Encoder:
    """ffmpeg encoding one format (its row of the format table) at `kbps`."""
    audio_format.require_encoder()
    return ffmpeg.Encoder(
        output,
        sample_rate=settings.sample_rate,
        channels=settings.channels,
        output_args=audio_format.encoder_args(kbps),
        label=audio_format.label,
    )


def _trimmed(encoder: ffmpeg.Encoder, trim_db: float) -> Callable[[np.ndarray], None]:
    """What writes the render to `encoder`: as it is, or through a fixed gain of `trim_db`."""
    if trim_db == 0.0:
        return encoder.write
    gain = np.float32(_linear(trim_db))
    return lambda rendered: encoder.write(rendered * gain)


def codec_loudness_loss(
    excerpts: list[np.ndarray], gain_db: float, ceiling: float, settings: MasteringSettings
) -> dict[str, float]:
    """How much integrated loudness (LU) each format's encoder takes away at these settings.

    MP3 at podcast bitrates measures a few tenths of a LU quieter than what went in (LAME's
    psychoacoustic model drops masked detail); AAC and Opus lose less. Encoding a few seconds of
    the programme, at its final level, with every encoder at once (fed the same PCM) tells how
    much to add so that each *file* lands on the target.
    """
    encodes = settings.encodes()
    if not excerpts:
        return {f.name: 0.0 for f, _ in encodes}
    rate, channels = settings.sample_rate, settings.channels
    limiter = TruePeakLimiter(10.0 ** (gain_db / 20.0), ceiling, rate, channels)
    with tempfile.TemporaryDirectory(prefix="podcast-codec-") as folder, ExitStack() as stack:
        probes = {f.name: Path(folder) / f"probe{f.suffix}" for f, _ in encodes}
        before = stack.enter_context(LoudnessMeter(rate, channels))
        with ExitStack() as encoders:
            feeds = [
                encoders.enter_context(_encoder(probes[f.name], f, kbps, settings)).write
                for f, kbps in encodes
            ]
            for chunk in excerpts:
                fade = np.linspace(
                    0.0, 1.0, min(rate // 100, chunk.shape[0] // 2), dtype=np.float32
                )[:, None]
                chunk = chunk.copy()  # fade the joins so they add no clicks
                chunk[: fade.shape[0]] *= fade
                chunk[chunk.shape[0] - fade.shape[0] :] *= fade[::-1]
                rendered = limiter.process(chunk)
                before.feed(rendered)
                for feed in feeds:
                    feed(rendered)
            rendered = limiter.flush()
            before.feed(rendered)
            for feed in feeds:
                feed(rendered)
        went_in = before.integrated_lufs()
        losses = {}
        for name, probe in probes.items():
            with LoudnessMeter(rate, channels) as after:
                for chunk in ffmpeg.decode_pcm(probe, sample_rate=rate, channels=channels):
                    after.feed(chunk)
                loss = went_in - after.integrated_lufs()
            losses[name] = float(np.clip(loss, -1.0, 1.0)) if math.isfinite(loss) else 0.0
    return losses


def assemble(
    master_chunks: Iterator[np.ndarray],
    plan: EditPlan,
    intro: np.ndarray | None,
    outro: np.ndarray | None,
    source: Path,
) -> Iterator[np.ndarray]:
    """Yield the programme in order: intro, the kept master segments (crossfaded), outro."""
    if intro is not None and plan.speech_start:
        yield intro[: plan.speech_start]
    segments = list(plan.segments)
    index, position, out = 0, 0, plan.speech_start
    for chunk in master_chunks:
        chunk_start, position = position, position + chunk.shape[0]
        while index < len(segments) and segments[index].start < position:
            segment = segments[index]
            lo, hi = max(segment.start, chunk_start), min(segment.end, position)
            if hi > lo:
                piece = chunk[lo - chunk_start : hi - chunk_start]
                piece = _mix(piece, out, plan, intro, outro)
                yield piece
                out += piece.shape[0]
            if segment.end <= position:
                index += 1
            else:
                break
        if index >= len(segments):
            break  # the rest of the master was trimmed away: stop decoding
    if out != plan.speech_end:
        raise AudioInputError(
            f"is shorter than its first reading ({out / plan.sample_rate:.2f} s of "
            f"{plan.speech_end / plan.sample_rate:.2f} s); is it truncated or damaged?",
            file=source,
        )
    if outro is not None:
        yield outro[plan.speech_end - plan.outro_start :]


def _mix(piece: np.ndarray, out: int, plan: EditPlan, intro, outro) -> np.ndarray:
    length = piece.shape[0]
    envelope = plan.speech_envelope(out, length)
    mixed = piece * envelope[:, None] if envelope is not None else piece.copy()
    for clip, clip_start, lo_limit, hi_limit in (
        (intro, 0, plan.speech_start, plan.intro_frames),
        (outro, plan.outro_start, plan.outro_start, plan.speech_end),
    ):
        if clip is None:
            continue
        lo, hi = max(out, lo_limit), min(out + length, hi_limit)
        if lo < hi:
            mixed[lo - out : hi - out] += clip[lo - clip_start : hi - clip_start]
    return mixed


def _speech_frames(plan: EditPlan, energy: np.ndarray, frame_peaks: np.ndarray, frame_len: int):
    """10 ms energies and peaks of the kept master segments, placed on the output's frame grid."""
    frames = -(-plan.total_frames // frame_len)
    programme_energy = np.zeros(frames, dtype=np.float32)
    programme_peaks = np.zeros(frames, dtype=np.float32)
    position = plan.speech_start
    for segment in plan.segments:
        first, last = math.ceil(segment.start / frame_len), segment.end // frame_len
        start = (position + first * frame_len - segment.start) // frame_len
        count = max(0, min(last - first, frames - start))  # consecutive frames stay consecutive
        programme_energy[start : start + count] += energy[first : first + count]
        programme_peaks[start : start + count] = frame_peaks[first : first + count]
        position += segment.length
    return programme_energy, programme_peaks


def _add_clip(
    energy: np.ndarray,
    peaks: np.ndarray,
    clip: np.ndarray,
    first_sample: int,
    rate: int,
    frame_len: int,
) -> None:
    """Add a jingle's frames where it will be heard (overlaps add their energies)."""
    meter = _clip_meter(clip, rate)
    clip_energy, clip_peaks = meter.frame_energies(), meter.frame_peaks()
    meter.close()
    start = first_sample // frame_len
    count = max(0, min(clip_energy.size, energy.size - start))
    energy[start : start + count] += clip_energy[:count]
    np.maximum(peaks[start : start + count], clip_peaks[:count], out=peaks[start : start + count])


def measure_file(path: Path, *, sample_rate: int, channels: int) -> LoudnessFigures:
    """Integrated loudness, true peak and loudness range of an audio file (one streaming read)."""
    context = TRUE_PEAK_CONTEXT
    meter = LoudnessMeter(sample_rate, channels)
    peak, tail = 0.0, np.zeros((2 * context, channels), dtype=np.float32)
    for chunk in ffmpeg.decode_pcm(path, sample_rate=sample_rate, channels=channels):
        meter.feed(chunk)
        span = np.concatenate([tail, chunk])
        usable = (span.shape[0] - 2 * context) // 1024 * 1024
        if usable:
            peak = max(peak, float(block_true_peaks(span[: usable + 2 * context], 1024).max()))
            tail = span[usable:]
        else:
            tail = span
    closing_span = np.concatenate([tail, np.zeros((1024 + context, channels), dtype=np.float32)])
    usable = (closing_span.shape[0] - 2 * context) // 1024 * 1024
    if usable:
        peak = max(peak, float(block_true_peaks(closing_span[: usable + 2 * context], 1024).max()))
    with meter:
        return LoudnessFigures(meter.integrated_lufs(), db(peak), meter.loudness_range_lu())


def _match_jingle(
    clip: np.ndarray | None, speech_lufs: float, rate: int
) -> tuple[np.ndarray | None, float]:
    """Bring a jingle to the loudness of the speech it frames (one linear gain for the clip).

    Jingles arrive mastered at any level; left as they are, a hot jingle would set the gain of
    the whole programme and leave the voice too quiet. Returns the clip and the gain applied.
    """
    if clip is None:
        return None, 0.0
    meter = _clip_meter(clip, rate)
    clip_lufs = meter.integrated_lufs()
    meter.close()
    if not (math.isfinite(speech_lufs) and math.isfinite(clip_lufs)):
        return clip, 0.0  # too short or silent to measure: leave it as it is
    gain_db = speech_lufs - clip_lufs
    return clip * np.float32(10.0 ** (gain_db / 20.0)), gain_db


def _clip_meter(clip: np.ndarray, rate: int) -> LoudnessMeter:
    meter = LoudnessMeter(rate, clip.shape[1], track_peaks=True)
    meter.feed(clip)
    return meter


def _load_jingle(
    path: Path | None, rate: int, channels: int, *, fade_in_ms: int = 0, fade_out_ms: int = 0
):
    """Decode a jingle and shape its crossfade with pydub (short clips are what pydub is for)."""
    if path is None:
        return None
    with warnings.catch_warnings():  # pydub warns at import about ffmpeg on PATH (we don't use
        warnings.simplefilter("ignore", RuntimeWarning)  # it) and, on 3.12, about audioop
        warnings.simplefilter("ignore", DeprecationWarning)
        from pydub import AudioSegment

    pcm = ffmpeg.decode_clip(path, sample_rate=rate, channels=channels)
    if pcm.shape[0] < rate // 10:
        raise AudioInputError("is shorter than 0.1 s; is it the right file?", file=path)
    full_scale = 2**31 - 1
    clip = AudioSegment(
        data=(np.clip(pcm, -1.0, 1.0) * full_scale).astype("<i4").tobytes(),
        sample_width=4,
        frame_rate=rate,
        channels=channels,
    )
    if fade_out_ms:
        clip = clip.fade_out(min(fade_out_ms, len(clip)))
    if fade_in_ms:
        clip = clip.fade_in(min(fade_in_ms, len(clip)))
    samples = np.frombuffer(clip.raw_data, dtype="<i4").reshape(-1, channels)
    return (samples / float(full_scale)).astype(np.float32)


def _header_duration(source: Path) -> float | None:
    try:
        return probe_duration(source)
    except AudioInputError:
        return None  # the decoder will say what is wrong, in more detail


def _check_master(source: Path, decoded_s: float, expected_s: float | None) -> None:
    if decoded_s == 0:
        raise AudioInputError("holds no audio", file=source)
    if decoded_s < MIN_MASTER_S:
        raise AudioInputError(
            f"is only {decoded_s:.2f} s long; a master needs at least {MIN_MASTER_S:g} s",
            file=source,
        )
    if expected_s and decoded_s < 0.98 * expected_s - 0.1:
        raise AudioInputError(
            f"is truncated: its header says {expected_s:.2f} s but only {decoded_s:.2f} s decodes",
            file=source,
        )


__all__ = [
    "Analysis",
    "AnalysisMismatch",
    "EditDecisions",
    "LoudnessCurves",
    "MasterPlan",
    "MasteringReport",
    "MasteringSettings",
    "OffTarget",
    "PlanError",
    "Rendering",
    "analyse",
    "check_files",
    "master",
    "plan_master",
    "render",
    "solve_gain",
]
