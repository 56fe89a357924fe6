"""The producer's mastering report: one self-contained HTML page per processed episode.

`report_page(report, ...)` turns a `MasteringReport` into a page that opens from disk — inline CSS
and one inline SVG drawn by matplotlib, no script, no external resource:

* short-term loudness (EBU R128, 3 s) over time of the master and of the result, with the target
  and the true-peak ceiling; under it, the limiter's gain reduction; under that, the edit
  timeline — all on one time axis, the time as heard;
* the figures (the JSON report's numbers, the same rounding) against the show's targets, with a
  verdict: integrated loudness within ±0.3 LU of the target, true peak at or under the ceiling;
* the edits and the chapters.

The curves come from `MasteringReport.curves` — small series the two mastering passes recorded on
the way — never from the audio. The page is deterministic: the same report gives the same bytes
(fixed SVG id salt, no dates, no timings). matplotlib is imported only when a page is drawn.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podcast_tools import __version__
from podcast_tools.audio.master import LOUDNESS_TOLERANCE_LU, LoudnessCurves, MasteringReport
from podcast_tools.audio.meter import LoudnessFigures
from podcast_tools.errors import ToolError
from podcast_tools.fsutil import write_text_atomic

#: The integrated loudness of the MP3 must lie this close to the show's target (docs/benchmarks.md;
#: mastering keeps no file that would not).
INTEGRATED_TOLERANCE_LU = LOUDNESS_TOLERANCE_LU
#: Matplotlib's SVG ids are hashed with this salt (fixed: the same report, the same bytes).
SVG_HASH_SALT = "podcast_tools-report"
_EPSILON = 1e-9  # figures are compared as the JSON rounds them

#: ids of the plotted things in the SVG (matplotlib `gid`s), for readers and tests.
GIDS = {
    "loudness_axes": "loudness-axes",
    "reduction_axes": "gain-reduction-axes",
    "timeline_axes": "timeline-axes",
    "master": "master-short-term",
    "result": "result-short-term",
    "target": "target-line",
    "ceiling": "ceiling-line",
    "reduction": "gain-reduction",
    "leveler_axes": "leveler-gain-axes",
    "leveler": "leveler-gain",
}


@dataclass(frozen=True)
class Check:
    """One target of the show and whether the episode meets it."""

    key: str  # "integrated" | "true_peak"
    label: str
    value: float | None
    figure: str  # the JSON figure judged (a dotted path), e.g. "loudness.expected_mp3_lufs"
    target: str
    passed: bool


def process_document(report: MasteringReport, measured: LoudnessFigures | None = None) -> dict:
    """The figures as `podcast process --json` prints them (`loudness.mp3_measured` with
    --verify): the page shows exactly these numbers."""
    doc = report.as_dict()
    if measured is not None:
        doc["loudness"]["mp3_measured"] = measured.as_dict()
    return doc


def checks(doc: dict[str, Any]) -> list[Check]:
    """Judge a process document against its show's targets: the MP3's integrated loudness within
    ±INTEGRATED_TOLERANCE_LU of the target (measured with --verify, else as expected: the encoder's
    input less the measured codec loss) and the true peak at or under the ceiling (the MP3's
    with --verify, else the limiter's bound on the encoder's input)."""
    loud = doc["loudness"]
    measured = loud.get("mp3_measured")
    target, ceiling = loud["target_lufs"], loud["true_peak_ceiling_dbtp"]
    if measured is not None:
        integrated, integrated_figure = (
            measured["integrated_lufs"],
            "loudness.mp3_measured.integrated_lufs",
        )
        peak, peak_figure = measured["true_peak_dbtp"], "loudness.mp3_measured.true_peak_dbtp"
    else:
        integrated, integrated_figure = loud["expected_mp3_lufs"], "loudness.expected_mp3_lufs"
        peak, peak_figure = loud["after"]["true_peak_dbtp"], "loudness.after.true_peak_dbtp"
    return [
        Check(
            "integrated",
            "Integrated loudness of the MP3" + ("" if measured else " (expected)"),
            integrated,
            integrated_figure,
            f"{_signed(target)} ± {INTEGRATED_TOLERANCE_LU:g} LUFS",
            integrated is not None
            and abs(integrated - target) <= INTEGRATED_TOLERANCE_LU + _EPSILON,
        ),
        Check(
            "true_peak",
            "True peak of the MP3" if measured else "True peak fed to the encoder (bound)",
            peak,
            peak_figure,
            f"≤ {_signed(ceiling)} dBTP",
            peak is not None and peak <= ceiling + _EPSILON,
        ),
    ]


def report_path(audio: Path) -> Path:
    """Where the page of an episode's audio file goes: `<slug>.report.html` beside it."""
    return audio.with_name(f"{audio.stem}.report.html")


def write_report_page(
    report: MasteringReport,
    path: Path,
    *,
    title: str,
    about: Sequence[tuple[str, str]] = (),
    measured: LoudnessFigures | None = None,
    excerpts: Sequence[Excerpt] = (),
) -> Path:
    """Write the page (atomically) and return its path."""
    page = report_page(report, title=title, about=about, measured=measured, excerpts=excerpts)
    write_text_atomic(path, page)
    return path


def report_page(
    report: MasteringReport,
    *,
    title: str,
    about: Sequence[tuple[str, str]] = (),
    measured: LoudnessFigures | None = None,
    excerpts: Sequence[Excerpt] = (),
) -> str:
    """The whole HTML page. `about`: (label, text) lines for its head (episode file, master…);
    `excerpts`: before/after clips of the speech to play (`speech_excerpts`)."""
    doc = process_document(report, measured)
    verdicts = checks(doc)
    warnings = sound_warnings(doc, [name for name, _ in report.settings.stages])
    svg = plot_svg(report) if report.curves is not None else ""
    failed = [c for c in verdicts if not c.passed]
    if failed:
        verdict = "fail"
        verdict_text = (
            "Misses the show's targets: " + "; ".join(c.label.lower() for c in failed) + "."
        )
    elif warnings:
        verdict = "warn"
        verdict_text = (
            "On the loudness targets, but listen before publishing: "
            + "; ".join(w.problem for w in warnings)
            + "."
        )
    else:
        verdict, verdict_text = "pass", "Meets the show's targets."
    facts = [
        *about,
        (
            "MP3",
            f"{Path(doc['output']).name} · {_duration(doc['duration_s'])} · "
            f"{doc['bytes'] / 1e6:.2f} MB · {doc['mp3']['bitrate_kbps']} kbps "
            f"{'stereo' if doc['mp3']['channels'] == 2 else 'mono'} {doc['mp3']['sample_rate']} Hz",
        ),
        ("sha256", doc["sha256"]),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Mastering report: {_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(title)}</h1>",
        '<dl class="about">',
        *(f"<dt>{_e(label)}</dt><dd>{_e(text)}</dd>" for label, text in facts),
        "</dl>",
        "</header>",
        f'<p id="verdict" class="{verdict}" data-verdict="{verdict}">{_e(verdict_text)}</p>',
        _warnings_list(warnings),
        '<section id="plots">',
        "<h2>Loudness over time</h2>",
        '<figure class="plot">',
        svg,
        f"<figcaption>{_e(_caption(report))}</figcaption>",
        "</figure>",
        "</section>",
        '<section id="figures">',
        "<h2>Figures</h2>",
        _figures_table(doc, verdicts),
        "</section>",
        _speech_section(doc, excerpts),
        '<section id="edits">',
        "<h2>Edits</h2>",
        _edits_table(doc),
        "<h3>Chapters</h3>" if doc["chapters"] else "",
        _chapters_table(doc) if doc["chapters"] else "",
        "</section>",
        f"<footer>podcast_tools {_e(__version__)} · figures as in the JSON report "
        "(<code>podcast process --json</code>)</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


# --- the plot ---------------------------------------------------------------------------------


def plot_svg(report: MasteringReport) -> str:
    """The plots as one inline SVG element (no XML prolog, no metadata; ids salted, so the same
    report gives the same bytes)."""
    _give_back_freed_memory()  # the render's freed buffers, before matplotlib is loaded
    import matplotlib
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    curves = report.curves
    if curves is None:
        raise ValueError("the report carries no curves")
    settings = {
        "svg.hashsalt": SVG_HASH_SALT,
        "svg.fonttype": "none",  # text stays text: small, searchable, no glyph paths
        "svg.id": "mastering-plot",
        "font.family": "DejaVu Sans",
        "font.size": 8.5,
        "axes.unicode_minus": True,
        "path.simplify": True,
    }
    with matplotlib.rc_context(settings):
        leveler = leveler_curve(report)
        figure = Figure(figsize=(11.0, 8.2 if leveler else 7.0), layout=None)
        FigureCanvasSVG(figure)
        ratios = (3.0, 1.1, 1.1, 1.9) if leveler else (3.0, 1.1, 1.9)
        grid = figure.add_gridspec(
            len(ratios),
            1,
            height_ratios=ratios,
            hspace=0.12,
            left=0.075,
            right=0.985,
            top=0.97,
            bottom=0.08,
        )
        loud = figure.add_subplot(grid[0])
        rows = [loud]
        if leveler:
            gain = figure.add_subplot(grid[1], sharex=loud)
            _draw_leveler(gain, report, *leveler)
            rows.append(gain)
        reduction = figure.add_subplot(grid[len(rows)], sharex=loud)
        timeline = figure.add_subplot(grid[len(rows) + 1], sharex=loud)
        _draw_loudness(loud, report, curves)
        _draw_reduction(reduction, report, curves)
        _draw_timeline(timeline, report)
        end = max(report.duration_s, report.plan.master_frames / report.plan.sample_rate)
        loud.set_xlim(0.0, end)
        step = _time_step(end)
        from matplotlib.ticker import FuncFormatter, MultipleLocator

        timeline.xaxis.set_major_locator(MultipleLocator(step))
        timeline.xaxis.set_major_formatter(FuncFormatter(lambda s, _pos: _clock(s)))
        for axes in (*rows, reduction):
            axes.tick_params(labelbottom=False)
        timeline.set_xlabel(
            "time as heard (plots, episode lane) · time in the recording (master lane)"
        )
        buffer = io.StringIO()
        figure.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    text = buffer.getvalue()
    svg = text[text.index("<svg") :].strip()
    label = (
        "Short-term loudness, the leveler's gain, limiter gain reduction and the edit timeline "
        "over time"
        if leveler
        else "Short-term loudness, limiter gain reduction and the edit timeline over time"
    )
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)


def _draw_loudness(axes, report: MasteringReport, curves: LoudnessCurves) -> None:
    settings = report.settings
    times = curves.times
    master = curves.master_short_term.astype(np.float64)
    result = curves.result_short_term.astype(np.float64)
    finite = np.concatenate([master[np.isfinite(master)], result[np.isfinite(result)]])
    low = min(settings.target_lufs, float(np.percentile(finite, 5)) if finite.size else -30.0)
    bottom = max(-90.0, 5.0 * math.floor((low - 25.0) / 5.0))
    high = max(settings.true_peak_dbtp, float(finite.max()) if finite.size else 0.0)
    top = 5.0 * math.ceil((high + 3.0) / 5.0)
    floor = bottom - 1.0  # silence runs along just under the axis instead of off the figure
    axes.set_gid(GIDS["loudness_axes"])
    axes.plot(
        times,
        np.maximum(master, floor),
        color="#8a8f98",
        linewidth=1.0,
        label="master, before gain (its kept speech, where it is heard)",
        gid=GIDS["master"],
    )
    axes.plot(
        times,
        np.maximum(result, floor),
        color="#1f5fbf",
        linewidth=1.2,
        label="result (fed to the encoder)",
        gid=GIDS["result"],
    )
    axes.axhline(
        settings.target_lufs,
        color="#1c8a3c",
        linestyle="--",
        linewidth=1.0,
        label=f"target {_signed(settings.target_lufs)} LUFS (integrated)",
        gid=GIDS["target"],
    )
    axes.axhline(
        settings.true_peak_dbtp,
        color="#c0392b",
        linestyle=":",
        linewidth=1.2,
        label=f"true-peak ceiling {_signed(settings.true_peak_dbtp)} dBTP",
        gid=GIDS["ceiling"],
    )
    for mark in report.chapters:
        axes.axvline(mark.output_s, color="#b0b4ba", linewidth=0.6, zorder=0)
    axes.set_ylim(bottom, top)
    axes.set_ylabel("short-term loudness\n(LUFS, 3 s)")
    axes.grid(True, axis="y", color="#e3e5e8", linewidth=0.6)
    axes.legend(loc="lower center", ncols=2, frameon=False, fontsize=7.5)


def leveler_curve(report: MasteringReport) -> tuple[np.ndarray, np.ndarray] | None:
    """The leveler's gain (dB) where it is heard: (times as heard, gains) of its curve's points
    that the edits keep; None without the leveler (or without speech to level)."""
    found = report.stages.get("leveler") or {}
    gains, step = found.get("gain_db"), found.get("curve_step_s")
    if not gains or not step or not found.get("speech_found", True):
        return None
    plan, rate = report.plan, report.plan.sample_rate
    times, values = [], []
    for index, gain in enumerate(gains):
        heard = plan.output_frame(round((index + 0.5) * step * rate))  # each step's mean
        if heard is not None:
            times.append(heard / rate)
            values.append(gain)
    if not times:
        return None
    return np.array(times), np.array(values, dtype=np.float64)


def _draw_leveler(axes, report: MasteringReport, times: np.ndarray, gains: np.ndarray) -> None:
    axes.set_gid(GIDS["leveler_axes"])
    axes.axhline(0.0, color="#b0b4ba", linewidth=0.6)
    axes.plot(times, gains, color="#7d3cbf", linewidth=1.1, gid=GIDS["leveler"])
    reach = max(3.0, 3.0 * math.ceil(float(np.abs(gains).max()) / 3.0))
    axes.set_ylim(-reach, reach)
    for mark in report.chapters:
        axes.axvline(mark.output_s, color="#b0b4ba", linewidth=0.6, zorder=0)
    axes.set_ylabel("leveler gain\n(dB)")
    axes.grid(True, axis="y", color="#e3e5e8", linewidth=0.6)


def _draw_reduction(axes, report: MasteringReport, curves: LoudnessCurves) -> None:
    times = curves.times
    values = curves.gain_reduction_db.astype(np.float64)
    axes.set_gid(GIDS["reduction_axes"])
    axes.fill_between(times, 0.0, values, color="#e8a33d", alpha=0.35, linewidth=0)
    axes.plot(times, values, color="#c77c0e", linewidth=0.9, gid=GIDS["reduction"])
    deepest = float(values.max()) if values.size else 0.0
    axes.set_ylim(max(1.0, 1.5 * math.ceil(deepest)), 0.0)  # reduction grows downwards
    for mark in report.chapters:
        axes.axvline(mark.output_s, color="#b0b4ba", linewidth=0.6, zorder=0)
    axes.set_ylabel("limiter gain\nreduction (dB)")
    axes.grid(True, axis="y", color="#e3e5e8", linewidth=0.6)


_HEARD_Y, _MASTER_Y, _LANE_HALF = 1.0, 0.0, 0.3


def _box(axes, start: float, end: float, lane: float, gid: str, **style: Any) -> None:
    from matplotlib.patches import Rectangle

    axes.add_patch(
        Rectangle((start, lane - _LANE_HALF), end - start, 2 * _LANE_HALF, gid=gid, **style)
    )


def _draw_timeline(axes, report: MasteringReport) -> None:
    """The edits on two lanes: the master as recorded (trims, cuts, kept parts) and the episode
    as heard (kept parts, joins, jingles and crossfades), and the chapters on both."""
    axes.set_gid(GIDS["timeline_axes"])
    _draw_master_lane(axes, report.plan)
    _draw_heard_lane(axes, report.plan)
    _draw_jingles(axes, report.plan)
    _draw_chapter_marks(axes, report)
    axes.set_ylim(_MASTER_Y - 0.55, _HEARD_Y + 0.85)
    axes.set_yticks([_MASTER_Y, _HEARD_Y], ["master", "episode"])
    axes.tick_params(axis="y", length=0)
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)


def _draw_master_lane(axes, plan) -> None:
    """The recording, in its own time: its trims and cuts."""
    rate = plan.sample_rate
    # master lane: the recording, in its own time
    master_s = plan.master_frames / rate
    _box(
        axes,
        0.0,
        master_s,
        _MASTER_Y,
        "master",
        facecolor="none",
        edgecolor="#8a8f98",
        linewidth=0.8,
    )
    if plan.head_trimmed_s > 0:
        _box(
            axes,
            0.0,
            plan.head_trimmed_s,
            _MASTER_Y,
            "trim-head",
            facecolor="#d5d8dc",
            hatch="///",
            edgecolor="#9aa0a6",
            linewidth=0.0,
        )
    if plan.tail_trimmed_s > 0:
        _box(
            axes,
            master_s - plan.tail_trimmed_s,
            master_s,
            _MASTER_Y,
            "trim-tail",
            facecolor="#d5d8dc",
            hatch="///",
            edgecolor="#9aa0a6",
            linewidth=0.0,
        )
    for index, cut in enumerate(plan.cuts, 1):
        _box(
            axes,
            cut.start / rate,
            cut.end / rate,
            _MASTER_Y,
            f"cut-{index}",
            facecolor="#e74c3c",
            edgecolor="#a93226",
            linewidth=0.6,
        )


def _draw_heard_lane(axes, plan) -> None:
    """What is heard, where each kept part of the master went, and the joins."""
    from matplotlib.patches import Polygon

    rate = plan.sample_rate
    # episode lane: what is heard, and where each kept part of the master went
    heard_at = plan.speech_start
    for index, segment in enumerate(plan.segments, 1):
        start, end = segment.start / rate, segment.end / rate
        heard_start = heard_at / rate
        heard_end = heard_start + (end - start)
        _box(axes, start, end, _MASTER_Y, f"kept-{index}", facecolor="#aac4ea", edgecolor="none")
        _box(
            axes,
            heard_start,
            heard_end,
            _HEARD_Y,
            f"heard-{index}",
            facecolor="#aac4ea",
            edgecolor="none",
        )
        axes.add_patch(
            Polygon(
                [
                    (start, _MASTER_Y + _LANE_HALF),
                    (end, _MASTER_Y + _LANE_HALF),
                    (heard_end, _HEARD_Y - _LANE_HALF),
                    (heard_start, _HEARD_Y - _LANE_HALF),
                ],
                closed=True,
                facecolor="#aac4ea",
                alpha=0.35,
                edgecolor="none",
                gid=f"link-{index}",
            )
        )
        heard_at += segment.length
    for index, point in enumerate(plan.join_points(), 1):
        axes.plot(
            [point / rate] * 2,
            [_HEARD_Y - _LANE_HALF, _HEARD_Y + _LANE_HALF],
            color="#a93226",
            linewidth=1.4,
            gid=f"join-{index}",
        )


def _draw_jingles(axes, plan) -> None:
    """The intro and outro on the episode lane, and their crossfades with the speech."""
    rate = plan.sample_rate
    if plan.intro_frames:
        _box(
            axes,
            0.0,
            plan.intro_frames / rate,
            _HEARD_Y,
            "intro",
            **_JINGLE,
        )
        if plan.intro_overlap:
            _box(
                axes,
                plan.speech_start / rate,
                plan.intro_frames / rate,
                _HEARD_Y,
                "crossfade-in",
                **_CROSSFADE,
            )
    if plan.outro_frames:
        _box(
            axes,
            plan.outro_start / rate,
            plan.total_frames / rate,
            _HEARD_Y,
            "outro",
            **_JINGLE,
        )
        if plan.outro_overlap:
            _box(
                axes,
                plan.outro_start / rate,
                plan.speech_end / rate,
                _HEARD_Y,
                "crossfade-out",
                **_CROSSFADE,
            )


def _draw_chapter_marks(axes, report: MasteringReport) -> None:
    """Each chapter where it is heard (numbered) and where it lies in the master."""
    for index, mark in enumerate(report.chapters, 1):
        axes.plot(
            [mark.output_s] * 2,
            [_HEARD_Y - _LANE_HALF, _HEARD_Y + _LANE_HALF + 0.25],
            color="#2c3e50",
            linewidth=1.1,
            gid=f"chapter-{index}",
        )
        axes.text(
            mark.output_s,
            _HEARD_Y + _LANE_HALF + 0.27,
            f" {index}",
            fontsize=7.5,
            color="#2c3e50",
            va="bottom",
            ha="left",
        )
        axes.plot(
            [mark.source_s] * 2,
            [_MASTER_Y - _LANE_HALF, _MASTER_Y + _LANE_HALF],
            color="#2c3e50",
            linewidth=0.7,
            linestyle=":",
            gid=f"chapter-source-{index}",
        )


def _time_step(end_s: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
        if end_s / step <= 14:
            return float(step)
    return 7200.0


def _clock(seconds: float) -> str:
    """0:05, 12:30, 1:02:03 (tick labels; whole seconds)."""
    whole = round(seconds)
    sign = "−" if whole < 0 else ""
    hours, rest = divmod(abs(whole), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes}:{secs:02d}"


def _caption(report: MasteringReport) -> str:
    curves = report.curves
    hop = f"{curves.hop_s:.1f} s" if curves is not None else "—"
    return (
        "Top: short-term loudness (EBU R128, 3 s windows centred on each point, one point every "
        f"{hop}) of the master's kept speech before gain, placed where it is heard, and of the "
        "result fed to the encoder; the target is the integrated loudness the episode aims at (a "
        "short-term curve swings around it), the ceiling the true-peak limit. Middle: the "
        "leveler's gain, where it is on (above the line: a quiet speaker brought up), and the "
        "limiter's largest gain reduction around each point. Bottom: the episode as heard "
        "(jingles, crossfades hatched, kept speech, cut joins in red, numbered chapter marks) "
        "above the master recording in its own time (trimmed ends hatched, cuts in red, dotted "
        "chapter marks as written); the bands show where each kept part went."
    )


# --- what a producer hears: speech, noise, hum ---------------------------------------------------

#: Stretches of speech further apart than this (LU, quiet to loud) send listeners to the knob.
SPREAD_LIMIT_LU = 3.0
#: The limiter taking more than 3 dB away over more than this share of the programme (%).
HEAVY_LIMITING_PERCENT = 10.0
#: A noise floor closer than this (dB) to the speech is heard.
NOISE_GAP_DB = 40.0
#: Each before/after excerpt is this long (seconds).
EXCERPT_S = 10.0


@dataclass(frozen=True)
class SoundWarning:
    """Something a producer would hear, and the setting that would fix it."""

    key: str  # "speech-spread" | "limiter" | "noise-floor"
    problem: str
    fix: str


def sound_warnings(doc: dict[str, Any], stages: Sequence[str]) -> list[SoundWarning]:
    """What the verdict warns of beside the targets: stretches of speech more than
    SPREAD_LIMIT_LU apart, the limiter working hard (over 3 dB for more than
    HEAVY_LIMITING_PERCENT of the time), a noise floor closer than NOISE_GAP_DB to the speech —
    each naming the setting that would fix it (`stages`: the enabled stages' names)."""
    found: list[SoundWarning] = []
    speech = doc.get("speech") or {}
    spread = speech.get("spread_after_lu")
    if spread is not None and spread > SPREAD_LIMIT_LU + _EPSILON:
        fix = _spread_fix(doc, stages)
        found.append(
            SoundWarning(
                "speech-spread",
                f"stretches of speech differ by {spread:.1f} LU (more than {SPREAD_LIMIT_LU:g})",
                fix,
            )
        )
    heavy = doc["loudness"].get("limiter_over_3db_percent")
    if heavy is not None and heavy > HEAVY_LIMITING_PERCENT + _EPSILON:
        found.append(
            SoundWarning(
                "limiter",
                f"the limiter takes more than 3 dB away over {heavy:.0f} % of the time",
                "lower loudness.target_lufs (or turn on mastering.leveler = true)"
                if "leveler" not in stages
                else "lower loudness.target_lufs",
            )
        )
    gap = speech.get("noise_gap_after_db")
    if gap is not None and gap < NOISE_GAP_DB - _EPSILON:
        strength = (doc.get("stages") or {}).get("denoise", {}).get("strength")
        fix = {
            None: 'turn on mastering.denoise = "light"',
            "light": 'set mastering.denoise = "strong"',
        }.get(strength, "the denoiser is at its strongest: record in a quieter room")
        if "denoise" in stages and strength is None:
            fix = 'set mastering.denoise = "strong"'
        found.append(
            SoundWarning(
                "noise-floor",
                f"the noise floor is only {gap:.0f} dB under the speech (less than "
                f"{NOISE_GAP_DB:g})",
                fix,
            )
        )
    return found


def _spread_fix(doc: dict[str, Any], stages: Sequence[str]) -> str:
    """The setting that would even out the speech: the leveler; with it on, its bounds when the
    speech wanted more, else the denoiser (noise hides a quiet speaker from it), else its pace."""
    if "leveler" not in stages:
        return "turn on mastering.leveler = true"
    found = (doc.get("stages") or {}).get("leveler") or {}
    if found.get("boost_limited_s") or found.get("cut_limited_s"):
        return "the leveler reached its bounds: raise max_boost_db or max_cut_db in [mastering.stages.leveler]"
    if "denoise" not in stages:
        return 'turn on mastering.denoise = "light" (noise hides a quiet speaker from the leveler)'
    return "raise max_speed_db_per_s in [mastering.stages.leveler]"


def _warnings_list(warnings: list[SoundWarning]) -> str:
    if not warnings:
        return ""
    items = "".join(
        f'<li data-warning="{w.key}">{_e(w.problem[0].upper() + w.problem[1:])} — '
        f'<span class="fix">{_e(w.fix)}</span></li>'
        for w in warnings
    )
    return f'<ul id="warnings">{items}</ul>'


@dataclass(frozen=True)
class Excerpt:
    """A stretch of speech to play before and after mastering (MP3 bytes of each)."""

    label: str  # "loudest speech" | "quietest speech"
    master_s: float  # where it starts in the recording
    heard_s: float  # where it starts in the episode
    before: bytes
    after: bytes


def speech_excerpts(report: MasteringReport) -> list[Excerpt]:
    """Two EXCERPT_S clips — from the loudest and the quietest stretch of speech as recorded —
    each from the master and from the published MP3, for the page to play (none without two
    stretches of speech). A stretch too near the end for a whole clip gives way to the next
    loudest (quietest) one."""
    stretches = (report.speech or {}).get("stretches") or []
    if len(stretches) < 2:
        return []
    by_level = sorted(stretches, key=lambda s: s["before_lufs"])
    clips = []
    for label, order in (("loudest speech", by_level[::-1]), ("quietest speech", by_level)):
        placed = next(filter(None, (_clip_place(report, s) for s in order)), None)
        if placed is None:
            continue
        start, heard = placed
        try:
            before, after = _clip(report.source, start), _clip(report.output, heard)
        except ToolError:  # the page goes without its excerpts, never the episode
            return []
        clips.append(Excerpt(label, start, heard, before, after))
    return clips


def _clip_place(report: MasteringReport, stretch: dict[str, Any]) -> tuple[float, float] | None:
    """(start in the master, start in the episode) of a whole clip centred on `stretch` (from
    its start when it is longer), or None when the recording or the episode ends too soon."""
    plan, rate = report.plan, report.plan.sample_rate
    middle = (stretch["start_s"] + stretch["end_s"]) / 2.0
    start = max(stretch["start_s"], middle - EXCERPT_S / 2.0)
    if start + EXCERPT_S > plan.master_frames / rate:
        return None
    heard = plan.output_frame(round(start * rate))
    if heard is None or heard / rate + EXCERPT_S > report.duration_s:
        return None
    return start, heard / rate


def _clip(path: Path, start_s: float) -> bytes:
    """EXCERPT_S of `path` from `start_s`, as a small mono MP3 (bytes)."""
    from podcast_tools import ffmpeg

    with tempfile.TemporaryDirectory(prefix="podcast-excerpt-") as folder:
        out = Path(folder) / "clip.mp3"
        ffmpeg.run(
            [
                "-ss",
                f"{start_s:.3f}",
                "-t",
                f"{EXCERPT_S:g}",
                "-i",
                ffmpeg.input_url(path),
                "-map_metadata",
                "-1",
                "-vn",
                "-ac",
                "1",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "48k",
                "-y",
                ffmpeg.input_url(out),
            ],
            about=path,
        )
        return out.read_bytes()


def _speech_section(doc: dict[str, Any], excerpts: Sequence[Excerpt]) -> str:
    speech = doc.get("speech")
    stages = doc.get("stages") or {}
    if speech is None and not stages:
        return ""
    parts = ['<section id="speech">', "<h2>Speech, noise and hum</h2>"]
    if speech is not None and not speech.get("speech_found"):
        parts.append(
            '<p id="no-speech">No speech was found: the master was levelled as a whole, '
            "as music or noise is.</p>"
        )
    elif speech is not None:
        parts.append(_speech_table(speech))
    hum = stages.get("dehum")
    if hum is not None:
        parts.append(_hum_line(hum))
    if stages.get("denoise") is not None:
        parts.append(_denoise_line(stages["denoise"]))
    if excerpts:
        parts.append("<h3>Listen: before and after</h3>")
        parts.append('<div id="excerpts">')
        for clip in excerpts:
            parts.append(
                f'<figure class="excerpt" data-excerpt="{_e(clip.label)}">'
                f"<figcaption>{_e(clip.label.capitalize())}: {_clock(clip.master_s)} in the "
                f"recording, {_clock(clip.heard_s)} in the episode</figcaption>"
                f'<p>Before <audio controls preload="metadata" data-when="before" '
                f'src="{_data_uri(clip.before)}"></audio></p>'
                f'<p>After <audio controls preload="metadata" data-when="after" '
                f'src="{_data_uri(clip.after)}"></audio></p>'
                "</figure>"
            )
        parts.append("</div>")
    stretches = (speech or {}).get("stretches") or []
    if stretches:
        rows = "".join(
            f"<tr><td>{_clock(s['start_s'])}–{_clock(s['end_s'])}</td>"
            f"<td>{_signed(s['before_lufs'], 1)}</td><td>{_signed(s['after_lufs'], 1)}</td></tr>"
            for s in stretches
        )
        parts.append(
            f"<details><summary>Every stretch of speech ({len(stretches)})</summary>"
            '<div class="scroll"><table id="stretches"><thead><tr><th>in the recording</th>'
            "<th>as recorded (LUFS)</th><th>published, before the limiter (LUFS)</th>"
            "</tr></thead>"
            f"<tbody>{rows}</tbody></table></div></details>"
        )
    parts.append("</section>")
    return "".join(parts)


def _speech_table(speech: dict[str, Any]) -> str:
    def cell(key: str, unit: str = "", decimals: int = 1) -> str:
        value = speech.get(key)
        return "<td>—</td>" if value is None else f"<td>{_signed(value, decimals)}{unit}</td>"

    stretches = speech.get("stretches") or []
    levels = [s["before_lufs"] for s in stretches]
    loud = max(stretches, key=lambda s: s["before_lufs"]) if stretches else None
    quiet = min(stretches, key=lambda s: s["before_lufs"]) if stretches else None
    rows = [
        ("Speech (median stretch, LUFS)", cell("speech_before_lufs"), cell("speech_after_lufs")),
        (
            "Quiet to loud stretches (LU, 10th to 90th percentile)",
            cell("spread_before_lu"),
            cell("spread_after_lu"),
        ),
    ]
    if loud is not None and quiet is not None and levels:
        rows += [
            (
                f"Loudest stretch ({_clock(loud['start_s'])}, LUFS)",
                f"<td>{_signed(loud['before_lufs'], 1)}</td>",
                f"<td>{_signed(loud['after_lufs'], 1)}</td>",
            ),
            (
                f"Quietest stretch ({_clock(quiet['start_s'])}, LUFS)",
                f"<td>{_signed(quiet['before_lufs'], 1)}</td>",
                f"<td>{_signed(quiet['after_lufs'], 1)}</td>",
            ),
        ]
    rows += [
        ("Noise floor (LUFS)", cell("noise_floor_before_lufs"), cell("noise_floor_after_lufs")),
        (
            "Noise floor under the speech (dB)",
            cell("noise_gap_before_db"),
            cell("noise_gap_after_db"),
        ),
    ]
    body = "".join(f"<tr><th>{_e(label)}</th>{a}{b}</tr>" for label, a, b in rows)
    return (
        '<div class="scroll"><table id="speech-figures"><thead><tr><th></th>'
        "<th>as recorded</th><th>published</th></tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def _hum_line(hum: dict[str, Any]) -> str:
    harmonics = hum.get("harmonics_hz") or []
    if not harmonics:
        return '<p id="hum" data-mains="none">Mains hum: none found, nothing notched.</p>'
    frequency = hum.get("frequency_hz") or hum.get("mains_hz")
    removed = hum.get("removed_db")
    amount = f"; {removed:.1f} dB of it removed" if isinstance(removed, (int, float)) else ""
    how = "found" if hum.get("detected") else "as set"
    return (
        f'<p id="hum" data-mains="{_e(str(hum.get("mains_hz")))}">Mains hum ({how}): '
        f"{frequency:.2f} Hz and {len(harmonics) - 1} more harmonic(s) up to "
        f"{max(harmonics):.0f} Hz notched{amount}.</p>"
    )


def _denoise_line(found: dict[str, Any]) -> str:
    limit = found.get("attenuation_limit_db")
    strength = found.get("strength", "")
    bound = f"at most {limit:g} dB" if isinstance(limit, (int, float)) else "no limit"
    removed = found.get("removed_db")
    amount = f"; {removed:.1f} dB of energy removed" if isinstance(removed, (int, float)) else ""
    return (
        f'<p id="denoise" data-strength="{_e(str(strength))}">Noise reduction: '
        f"{_e(str(found.get('model', '')))}, {_e(str(strength))} ({bound}){amount}.</p>"
    )


def _data_uri(mp3: bytes) -> str:
    return "data:audio/mpeg;base64," + base64.b64encode(mp3).decode("ascii")


# --- the tables -------------------------------------------------------------------------------


def _figures_table(doc: dict[str, Any], verdicts: list[Check]) -> str:
    loud = doc["loudness"]
    measured = loud.get("mp3_measured")
    by_key = {c.key: c for c in verdicts}

    def figure(path: str) -> str:
        return _cell(path, _lookup(doc, path))

    def verdict(key: str) -> str:
        check = by_key[key]
        word = "pass" if check.passed else "fail"
        return (
            f'<td class="{word}" data-check="{key}" data-verdict="{word}" '
            f'data-judged="{_e(check.figure)}">{word}</td>'
        )

    none = '<td class="none">—</td>'
    mp3_integrated = (
        figure("loudness.mp3_measured.integrated_lufs")
        if measured
        else figure("loudness.expected_mp3_lufs")
    )
    rows = [
        (
            "Integrated loudness (LUFS)",
            [
                figure("loudness.source.integrated_lufs"),
                figure("loudness.before.integrated_lufs"),
                figure("loudness.after.integrated_lufs"),
                mp3_integrated,
                f"<td>{_e(by_key['integrated'].target)}</td>",
                verdict("integrated"),
            ],
        ),
        (
            "Loudness range (LU)",
            [
                figure("loudness.source.loudness_range_lu"),
                figure("loudness.before.loudness_range_lu"),
                figure("loudness.after.loudness_range_lu"),
                figure("loudness.mp3_measured.loudness_range_lu") if measured else none,
                none,
                none,
            ],
        ),
        (
            "True peak (dBTP)",
            [
                figure("loudness.source.true_peak_dbtp"),
                figure("loudness.before.true_peak_dbtp"),
                figure("loudness.after.true_peak_dbtp"),
                figure("loudness.mp3_measured.true_peak_dbtp") if measured else none,
                f"<td>{_e(by_key['true_peak'].target)}</td>",
                verdict("true_peak"),
            ],
        ),
        ("Gain (dB)", [none, none, figure("loudness.gain_db"), none, none, none]),
        (
            "Limiter: largest reduction (dB)",
            [none, none, figure("loudness.limiter_max_reduction_db"), none, none, none],
        ),
        (
            "Limiter: active (% of the time)",
            [none, none, figure("loudness.limiter_active_percent"), none, none, none],
        ),
        (
            "Codec loss (LU, the encoder's input less the MP3)",
            [none, none, none, figure("loudness.codec_loss_lu"), none, none],
        ),
    ]
    head = (
        "<tr><th>figure</th><th>source (the master)</th><th>before gain (the programme)</th>"
        "<th>result (fed to the encoder)</th>"
        f"<th>MP3 ({'measured' if measured else 'expected'})</th><th>target</th>"
        "<th>verdict</th></tr>"
    )
    body = "".join(f"<tr><th>{_e(name)}</th>{''.join(cells)}</tr>" for name, cells in rows)
    return f'<table id="figures-table"><thead>{head}</thead><tbody>{body}</tbody></table>'


def _edits_table(doc: dict[str, Any]) -> str:
    edits = doc["edits"]
    rows = [
        ("The recording", [_cell("edits.master_s", edits["master_s"], unit="s")]),
        ("Trimmed at the start", [_cell("edits.head_trimmed_s", edits["head_trimmed_s"], "s")]),
        ("Trimmed at the end", [_cell("edits.tail_trimmed_s", edits["tail_trimmed_s"], "s")]),
    ]
    for index, cut in enumerate(edits["cuts"]):
        rows.append(
            (
                f"Cut {index + 1} (in the recording)",
                [
                    _cell(f"edits.cuts.{index}.start_s", cut["start_s"], "s"),
                    _cell(f"edits.cuts.{index}.end_s", cut["end_s"], "s"),
                ],
            )
        )
    for index, kept in enumerate(edits["kept"]):
        rows.append(
            (
                f"Kept part {index + 1} (in the recording)",
                [
                    _cell(f"edits.kept.{index}.start_s", kept["start_s"], "s"),
                    _cell(f"edits.kept.{index}.end_s", kept["end_s"], "s"),
                ],
            )
        )
    for name in ("intro", "outro"):
        if edits[f"{name}_s"]:
            fade = "crossfade_in_s" if name == "intro" else "crossfade_out_s"
            rows.append(
                (
                    f"{name.capitalize()}: length, crossfade, level matched by (dB)",
                    [
                        _cell(f"edits.{name}_s", edits[f"{name}_s"], "s"),
                        _cell(f"edits.{fade}", edits[fade], "s"),
                        _cell(f"edits.{name}_matched_db", edits[f"{name}_matched_db"]),
                    ],
                )
            )
    rows.append(("The episode as heard", [_cell("duration_s", doc["duration_s"], "s")]))
    width = max(len(cells) for _, cells in rows)
    body = "".join(
        f"<tr><th>{_e(name)}</th>{''.join(cells)}{'<td></td>' * (width - len(cells))}</tr>"
        for name, cells in rows
    )
    return f'<table id="edits-table"><tbody>{body}</tbody></table>'


def _chapters_table(doc: dict[str, Any]) -> str:
    head = "<tr><th>#</th><th>title</th><th>in the recording</th><th>as heard</th></tr>"
    body = "".join(
        f"<tr><td>{index + 1}</td><td>{_e(chapter['title'])}</td>"
        f"{_cell(f'chapters.{index}.source_start_s', chapter['source_start_s'], 's')}"
        f"{_cell(f'chapters.{index}.start_s', chapter['start_s'], 's')}</tr>"
        for index, chapter in enumerate(doc["chapters"])
    )
    return f'<table id="chapters-table"><thead>{head}</thead><tbody>{body}</tbody></table>'


def _lookup(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _cell(path: str, value: float | None, unit: str = "") -> str:
    """A figure of the JSON document: its dotted path and value as data attributes, the value
    shown as the JSON has it (times also as a clock)."""
    if value is None:
        return f'<td class="none" data-figure="{path}" data-value="null">—</td>'
    shown = json.dumps(value).replace("-", "−")  # exactly the JSON's digits
    if unit == "s":
        shown = f"{shown} s" + (f" ({_duration(value)})" if value >= 60 else "")
    return f'<td class="num" data-figure="{path}" data-value="{json.dumps(value)}">{shown}</td>'


def _signed(value: float, decimals: int = 2) -> str:
    text = f"{value:.{decimals}f}"
    return text.replace("-", "−")


def _duration(seconds: float) -> str:
    whole, millis = divmod(round(seconds * 1000), 1000)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return (
        f"{hours}:{minutes:02d}:{secs:02d}.{millis:03d}"
        if hours
        else f"{minutes}:{secs:02d}.{millis:03d}"
    )


#: How the timeline draws a jingle, and the crossfade over its overlap with the speech.
_JINGLE = {"facecolor": "#b9e0c4", "edgecolor": "#4f9a65", "linewidth": 0.6, "alpha": 0.9}
_CROSSFADE = {"facecolor": "none", "edgecolor": "#4f9a65", "hatch": "xx", "linewidth": 0.0}


def _give_back_freed_memory() -> None:
    """Return the heap the two passes freed to the system (glibc's malloc_trim), so drawing the
    plots does not stack on top of it: the process's peak memory stays the render's."""
    import ctypes
    import gc
    import sys

    gc.collect()
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc (e.g. musl): nothing to give back this way


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


_CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d232a;
max-width:1180px;margin:1.5em auto;padding:0 1em}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.4em 0 .5em}h3{font-size:1em}
dl.about{display:grid;grid-template-columns:max-content 1fr;gap:.1em 1em;margin:.5em 0;
font-size:.9em;color:#4a525c}dl.about dt{font-weight:600}dl.about dd{margin:0;word-break:break-all}
#verdict{padding:.6em .9em;border-radius:6px;font-weight:600}
#verdict.pass{background:#e3f4e8;color:#1c6b34}#verdict.fail{background:#fbe4e1;color:#a93226}
#verdict.warn{background:#fdf1dc;color:#8a5300}#warnings li{margin:.3em 0}#warnings .fix{color:#4a525c}
#excerpts{display:flex;flex-wrap:wrap;gap:1em}figure.excerpt{margin:0}figure.excerpt audio{vertical-align:middle;max-width:100%}
figure.plot{margin:0}figure.plot svg{width:100%;height:auto}
figcaption{font-size:.85em;color:#4a525c;margin-top:.4em}
table{border-collapse:collapse;font-size:.9em;margin:.3em 0}
th,td{padding:.3em .7em;border-bottom:1px solid #e3e5e8;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}td.none{color:#9aa0a6;text-align:center}
td.pass{color:#1c6b34;font-weight:600}td.fail{color:#a93226;font-weight:600}
footer{margin-top:2em;font-size:.8em;color:#6b737d}
@media (max-width:700px){table{display:block;overflow-x:auto;max-width:100%}}
"""


__all__ = [
    "GIDS",
    "INTEGRATED_TOLERANCE_LU",
    "Check",
    "checks",
    "plot_svg",
    "process_document",
    "report_page",
    "report_path",
    "write_report_page",
]
