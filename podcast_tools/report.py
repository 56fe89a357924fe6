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

import html
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podcast_tools import __version__
from podcast_tools.audio.master import LOUDNESS_TOLERANCE_LU, LoudnessCurves, MasteringReport
from podcast_tools.audio.meter import LoudnessFigures
from podcast_tools.fsutil import write_text_atomic

#: The integrated loudness of the MP3 must lie this close to the show's target (README, benchmark;
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
) -> Path:
    """Write the page (atomically) and return its path."""
    write_text_atomic(path, report_page(report, title=title, about=about, measured=measured))
    return path


def report_page(
    report: MasteringReport,
    *,
    title: str,
    about: Sequence[tuple[str, str]] = (),
    measured: LoudnessFigures | None = None,
) -> str:
    """The whole HTML page. `about`: (label, text) lines for its head (episode file, master…)."""
    doc = process_document(report, measured)
    verdicts = checks(doc)
    svg = plot_svg(report) if report.curves is not None else ""
    failed = [c for c in verdicts if not c.passed]
    verdict_text = (
        "Meets the show's targets."
        if not failed
        else "Misses the show's targets: " + "; ".join(c.label.lower() for c in failed) + "."
    )
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
        f'<p id="verdict" class="{"fail" if failed else "pass"}" '
        f'data-verdict="{"fail" if failed else "pass"}">{_e(verdict_text)}</p>',
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
        figure = Figure(figsize=(11.0, 7.0), layout=None)
        FigureCanvasSVG(figure)
        grid = figure.add_gridspec(
            3,
            1,
            height_ratios=(3.0, 1.1, 1.9),
            hspace=0.12,
            left=0.075,
            right=0.985,
            top=0.97,
            bottom=0.08,
        )
        loud = figure.add_subplot(grid[0])
        reduction = figure.add_subplot(grid[1], sharex=loud)
        timeline = figure.add_subplot(grid[2], sharex=loud)
        _draw_loudness(loud, report, curves)
        _draw_reduction(reduction, report, curves)
        _draw_timeline(timeline, report)
        end = max(report.duration_s, report.plan.master_frames / report.plan.sample_rate)
        loud.set_xlim(0.0, end)
        step = _time_step(end)
        from matplotlib.ticker import FuncFormatter, MultipleLocator

        timeline.xaxis.set_major_locator(MultipleLocator(step))
        timeline.xaxis.set_major_formatter(FuncFormatter(lambda s, _pos: _clock(s)))
        for axes in (loud, reduction):
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
    label = "Short-term loudness, limiter gain reduction and the edit timeline over time"
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
        "limiter's largest gain reduction around each point. Bottom: the episode as heard "
        "(jingles, crossfades hatched, kept speech, cut joins in red, numbered chapter marks) "
        "above the master recording in its own time (trimmed ends hatched, cuts in red, dotted "
        "chapter marks as written); the bands show where each kept part went."
    )


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
    "Check",
    "GIDS",
    "INTEGRATED_TOLERANCE_LU",
    "checks",
    "plot_svg",
    "process_document",
    "report_page",
    "report_path",
    "write_report_page",
]
