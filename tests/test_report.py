"""The producer's mastering report (`<slug>.report.html`): written by `podcast process` beside the
MP3, self-contained, and its plots and tables say what the JSON report says — read back from the
drawing itself (the SVG's axes, lines and boxes), not from numbers the page states about itself.

One real run (real ffmpeg) on the sample network's episode 2 with a generated master in place of
its recording: a trim, the episode's cut and chapters, the show's intro and outro jingles, and
loud tone bursts that the limiter must take down."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from podcast_tools.audio.master import (
    MAX_CURVE_POINTS,
    EditDecisions,
    MasteringSettings,
    curve_grid,
    gain_reduction_series,
    master,
)
from podcast_tools.audio.meter import LoudnessFigures, loudness_range, short_term_series
from podcast_tools.cli import app
from podcast_tools.ffmpeg import ffmpeg_exe
from podcast_tools.report import checks, report_page, sound_warnings
from tests.audio_tools import synth
from tests.conftest import REPO, edit, podcast
from tests.test_json_schemas import assert_valid

EPISODE = "episodes/itsmwp/002-change-advisory-boards.md"  # a cut at 11.87–15.63 s, 3 chapters
PAGE = "build/itsmwp/002-change-advisory-boards.report.html"
SVG = "{http://www.w3.org/2000/svg}"
AUDIO_DATA = "data:audio/mpeg;base64,"
# 30 s: near-silence, then 2–28.5 s of a slowly swelling chord of voice-band tones (the "speech",
# about −27 LUFS) with a 1 kHz burst (20 ms, near full scale) every 6 s, far over the ceiling
# once the gain is applied.
VOICE = "+".join(f"sin(2*PI*{f}*t+{p})" for p, f in enumerate((150, 310, 520, 870, 1330, 2150)))
PROGRAMME = (
    f"(between(t,2,28.5)*0.025*(0.8+0.2*sin(2*PI*0.25*t))+0.0002)*({VOICE})*{{gain}}"
    "+between(t,2,28.5)*between(mod(t,6),3,3.02)*0.9*sin(2*PI*1000*t)"
)


def make_network(root: Path) -> Path:
    """A copy of the sample network whose episode 2 is a generated 30 s FLAC master (decoded by
    ffmpeg, as most masters are), trimmed to 1–29 s."""
    shutil.copytree(REPO / "episodes", root / "episodes")
    shutil.copytree(REPO / "templates", root / "templates")
    synth(
        root / "episodes/itsmwp/generated.flac",
        f"{PROGRAMME.format(gain=1)}|{PROGRAMME.format(gain=0.9)}",
        seconds=30,
        rate=44100,
        codec=("-c:a", "flac"),
    )
    edit(
        root / EPISODE,
        "audio: 002-change-advisory-boards.mp3",
        "audio: generated.flac\ntrim: { start: 1.0, end: 29.0 }",
    )
    return root


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> tuple[Path, dict[str, Any], str]:
    """(network root, the `process --json` document, the page) of one run."""
    root = make_network(tmp_path_factory.mktemp("report") / "network")
    result = CliRunner().invoke(
        app, ["--root", str(root), "process", str(root / EPISODE), "--json"]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    return root, doc, (root / PAGE).read_text(encoding="utf-8")


# --- reading the page back ----------------------------------------------------------------------


class Elements(HTMLParser):
    """Every start tag of an HTML document with its attributes, and the text of <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def elements(page: str) -> Elements:
    parser = Elements()
    parser.feed(page)
    parser.close()
    return parser


def svg_of(page: str) -> ET.Element:
    [start] = [m.start() for m in re.finditer("<svg", page)]
    return ET.fromstring(page[start : page.index("</svg>") + len("</svg>")])


def by_id(svg: ET.Element, gid: str) -> ET.Element:
    found = [e for e in svg.iter() if e.get("id") == gid]
    assert len(found) == 1, f"{len(found)} elements with id {gid!r}"
    return found[0]


def polylines(group: ET.Element) -> list[np.ndarray]:
    """The (x, y) vertices of the paths in a group, one array per run of M … L … (z dropped)."""
    runs: list[list[tuple[float, float]]] = []
    for path in group.iter(f"{SVG}path"):
        tokens = path.get("d", "").split()
        i = 0
        while i < len(tokens):
            command = tokens[i]
            if command == "z":
                i += 1
                continue
            assert command in ("M", "L"), command
            if command == "M":
                runs.append([])
            runs[-1].append((float(tokens[i + 1]), float(tokens[i + 2])))
            i += 3
    return [np.array(run) for run in runs]


def label_value(text: str) -> float:
    """A tick label: −20, 2.5, 0:05, 1:02:03."""
    text = text.replace("−", "-").strip()
    if ":" in text:
        sign = -1 if text.startswith("-") else 1
        value = 0.0
        for part in text.lstrip("-").split(":"):
            value = value * 60 + float(part)
        return sign * value
    return float(text)


def axis_mapping(axes: ET.Element, axis: str) -> tuple[float, float]:
    """(slope, intercept) from SVG coordinates to data, fitted to the labelled ticks of an axes
    group: each tick's mark position against the number its label shows."""
    positions, values = [], []
    for tick in axes.iter(f"{SVG}g"):
        if not (tick.get("id") or "").startswith(f"{axis}tick_"):
            continue
        texts = [t.text for t in tick.iter(f"{SVG}text") if t.text]
        uses = list(tick.iter(f"{SVG}use"))
        if not texts or not uses:
            continue
        positions.append(float(uses[0].get(axis)))
        values.append(label_value(texts[0]))
    assert len(positions) >= 3, f"too few labelled {axis} ticks"
    slope, intercept = np.polyfit(positions, values, 1)
    residual = np.abs(np.polyval((slope, intercept), positions) - values).max()
    assert residual < 1e-3, "the ticks are not on a linear scale"
    return slope, intercept


def to_data(mapping: tuple[float, float], coordinate: np.ndarray | float) -> Any:
    return mapping[0] * np.asarray(coordinate) + mapping[1]


def x_span(svg: ET.Element, gid: str, x_map) -> tuple[float, float]:
    [run] = polylines(by_id(svg, gid))
    xs = to_data(x_map, run[:, 0])
    return float(xs.min()), float(xs.max())


def curve(svg: ET.Element, gid: str, x_map, y_map) -> tuple[np.ndarray, np.ndarray]:
    """A plotted series as (time, value), NaN between the runs of its path."""
    times, values = [], []
    for run in polylines(by_id(svg, gid)):
        times += [*to_data(x_map, run[:, 0]), np.nan]
        values += [*to_data(y_map, run[:, 1]), np.nan]
    return np.array(times[:-1]), np.array(values[:-1])


def resampled(times: np.ndarray, values: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """The drawn polyline at every `step` seconds (matplotlib drops vertices on straight runs)."""
    keep = np.isfinite(times) & np.isfinite(values)
    grid = np.arange(math.ceil(times[keep].min() / step), times[keep].max() / step + 1e-6) * step
    return grid, np.interp(grid, times[keep], values[keep])


def energy(lufs: np.ndarray) -> np.ndarray:
    return 10.0 ** ((lufs + 0.691) / 10.0)


def lufs_of(mean_square: float) -> float:
    return -0.691 + 10.0 * math.log10(mean_square)


# --- the page is written, self-contained ------------------------------------------------------


@pytest.mark.slow
def test_process_writes_a_self_contained_page_beside_the_mp3(processed):
    root, doc, page = processed
    assert_valid("process", doc)  # report_html is a key since process/2
    assert doc["report_html"] == str(root / PAGE)
    assert Path(doc["output"]).parent == (root / PAGE).parent
    parsed = elements(page)
    names = [tag for tag, _ in parsed.tags]
    assert names[:2] == ["html", "head"] and "body" in names
    assert names.count("svg") == 1 and "path" in names and "text" in names  # inline drawing
    for tag in ("script", "link", "img", "iframe", "object", "embed", "image"):
        assert tag not in names, f"<{tag}> in the page"
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            value = value or ""
            if name.startswith("xmlns"):
                continue  # namespace names, never fetched
            if tag == "audio" and name == "src" and value.startswith(AUDIO_DATA):
                continue  # the excerpts: inside the page, as data
            assert name != "src", f"<{tag} src={value!r}>"
            if name.endswith("href"):
                assert value.startswith("#"), f"<{tag} {name}={value!r}>: not inside the page"
            assert "http:" not in value and "https:" not in value and "//" not in value, (tag, name)
    css = "".join(parsed.styles)
    assert "@import" not in css and not re.search(r"url\((?!#)", css)
    without_namespaces = re.sub(r'xmlns(:\w+)?="[^"]*"', "", page)
    without_namespaces = re.sub(f'src="{AUDIO_DATA}[A-Za-z0-9+/=]*"', "", without_namespaces)
    assert "http" not in without_namespaces and "//" not in without_namespaces.replace("<!--", "")


@pytest.mark.slow
def test_the_summary_names_the_page_and_a_second_run_writes_the_same_bytes(tmp_path: Path):
    root = make_network(tmp_path / "network")
    runs = []
    for _ in range(2):
        result = CliRunner().invoke(app, ["--root", str(root), "process", str(root / EPISODE)])
        assert result.exit_code == 0, result.output
        assert f"  report: {root / PAGE}" in result.stdout.splitlines()
        runs.append((root / PAGE).read_bytes())
    assert runs[0] == runs[1]
    assert b"<svg" in runs[0]


# --- the plots say what the JSON says ------------------------------------------------------------


@pytest.mark.slow
def test_target_and_ceiling_lines_sit_at_the_shows_targets(processed):
    _root, doc, page = processed
    svg = svg_of(page)
    axes = by_id(svg, "loudness-axes")
    y_map = axis_mapping(axes, "y")
    for gid, expected in (
        ("target-line", doc["loudness"]["target_lufs"]),
        ("ceiling-line", doc["loudness"]["true_peak_ceiling_dbtp"]),
    ):
        [run] = polylines(by_id(svg, gid))
        assert np.ptp(run[:, 1]) == 0  # horizontal
        assert to_data(y_map, run[0, 1]) == pytest.approx(expected, abs=0.01), gid


def test_the_result_curve_gives_the_jsons_integrated_loudness_and_range(processed):
    _root, doc, page = processed
    svg = svg_of(page)
    x_map = axis_mapping(by_id(svg, "timeline-axes"), "x")
    y_map = axis_mapping(by_id(svg, "loudness-axes"), "y")
    times, values = resampled(*curve(svg, "result-short-term", x_map, y_map), 0.1)
    after = doc["loudness"]["after"]
    # the curve covers the episode as heard
    assert times[0] == pytest.approx(0.0, abs=0.01)
    assert times[-1] == pytest.approx(doc["duration_s"], abs=0.15)
    # integrated loudness from the 3 s curve: BS.1770's gates on its points
    loud = values[values > -70.0]
    gate = lufs_of(float(energy(loud).mean())) - 10.0
    integrated = lufs_of(float(energy(loud[loud > gate]).mean()))
    assert integrated == pytest.approx(after["integrated_lufs"], abs=0.5)
    # loudness range (EBU Tech 3342: 3 s short-term blocks every 100 ms) from the points whose
    # window lies whole inside the programme
    whole = values[(times >= 1.5 - 1e-6) & (times <= doc["duration_s"] - 1.5)]
    levels = whole[whole > -70.0]
    levels = levels[levels > lufs_of(float(energy(levels).mean())) - 20.0]
    low, high = np.percentile(levels, [10, 95])
    assert high - low == pytest.approx(after["loudness_range_lu"], abs=0.3)


def test_the_master_curve_is_the_kept_speech_before_gain_where_it_is_heard(processed):
    _root, doc, page = processed
    svg = svg_of(page)
    x_map = axis_mapping(by_id(svg, "timeline-axes"), "x")
    y_map = axis_mapping(by_id(svg, "loudness-axes"), "y")
    master_t, master_v = curve(svg, "master-short-term", x_map, y_map)
    edits = doc["edits"]
    speech_start = edits["intro_s"] - edits["crossfade_in_s"]
    speech_end = doc["duration_s"] - edits["outro_s"] + edits["crossfade_out_s"]
    drawn = master_t[np.isfinite(master_t)]
    assert drawn.min() == pytest.approx(speech_start, abs=0.11)  # nothing over the intro
    assert drawn.max() == pytest.approx(speech_end, abs=0.11)  # nor over the outro
    # where the limiter rests and no jingle plays, result − master is the gain
    reduction_map = axis_mapping(by_id(svg, "gain-reduction-axes"), "y")
    grid = np.arange(speech_start + 1.6, speech_end - 1.6, 0.1)
    master_at = at(master_t, master_v, grid)
    result_at = at(*curve(svg, "result-short-term", x_map, y_map), grid)
    resting = at(*curve(svg, "gain-reduction", x_map, reduction_map), grid) < 0.01
    differences = (result_at - master_at)[resting]
    assert differences.size > 20
    assert float(np.median(differences)) == pytest.approx(doc["loudness"]["gain_db"], abs=0.2)


def at(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A drawn curve's values at the `grid` times (linear between its vertices)."""
    keep = np.isfinite(times) & np.isfinite(values)
    return np.interp(grid, times[keep], values[keep])


def test_the_gain_reduction_plot_shows_the_limiters_work(processed):
    _root, doc, page = processed
    svg = svg_of(page)
    x_map = axis_mapping(by_id(svg, "timeline-axes"), "x")
    y_map = axis_mapping(by_id(svg, "gain-reduction-axes"), "y")
    times, reduction = curve(svg, "gain-reduction", x_map, y_map)
    deepest = doc["loudness"]["limiter_max_reduction_db"]
    assert deepest > 3.0, "the bursts should make the limiter work"
    # per point the deepest 10 ms average of the gain: at most the limiter's deepest moment
    assert float(np.nanmax(reduction)) <= deepest + 0.02
    assert float(np.nanmax(reduction)) >= 0.5 * deepest
    # the bursts come every 6 s from 3 s of the master (1 s trimmed, then the intro shifts them)
    loud_at = times[np.isfinite(reduction) & (reduction > 0.5)]
    assert loud_at.size and float(np.nanmin(reduction)) == pytest.approx(0.0, abs=0.01)
    offset = edits_offset(doc)
    bursts = [3.0 + 6 * k for k in range(5) if 2.0 < 3.0 + 6 * k < 28.5]
    heard = [b + offset(b) for b in bursts if offset(b) is not None]
    for t in loud_at:
        assert min(abs(t - h) for h in heard) < 0.2, f"gain reduction at {t:.2f} s, no burst there"


def edits_offset(doc: dict[str, Any]):
    """Master time → shift to the time as heard (None where the master was cut or trimmed)."""
    edits = doc["edits"]
    speech_start = edits["intro_s"] - edits["crossfade_in_s"]

    def offset(t: float) -> float | None:
        heard = speech_start
        for kept in edits["kept"]:
            if kept["start_s"] <= t < kept["end_s"]:
                return heard + (t - kept["start_s"]) - t
            heard += kept["end_s"] - kept["start_s"]
        return None

    return offset


def test_the_timeline_draws_the_edits_and_chapters_where_the_json_has_them(processed):
    _root, doc, page = processed
    svg = svg_of(page)
    x_map = axis_mapping(by_id(svg, "timeline-axes"), "x")
    edits, duration = doc["edits"], doc["duration_s"]
    assert len(edits["cuts"]) == 1 and len(doc["chapters"]) == 3
    assert edits["head_trimmed_s"] > 0 and edits["tail_trimmed_s"] > 0
    # the master lane, in recording time
    assert x_span(svg, "trim-head", x_map) == pytest.approx(
        (0.0, edits["head_trimmed_s"]), abs=0.01
    )
    assert x_span(svg, "trim-tail", x_map) == pytest.approx(
        (edits["master_s"] - edits["tail_trimmed_s"], edits["master_s"]), abs=0.01
    )
    for index, cut in enumerate(edits["cuts"], 1):
        assert x_span(svg, f"cut-{index}", x_map) == pytest.approx(
            (cut["start_s"], cut["end_s"]), abs=0.01
        )
    for index, kept in enumerate(edits["kept"], 1):
        assert x_span(svg, f"kept-{index}", x_map) == pytest.approx(
            (kept["start_s"], kept["end_s"]), abs=0.01
        )
    for index, chapter in enumerate(doc["chapters"], 1):
        start, end = x_span(svg, f"chapter-source-{index}", x_map)
        assert start == end == pytest.approx(chapter["source_start_s"], abs=0.01)
    # the episode lane, as heard
    assert x_span(svg, "intro", x_map) == pytest.approx((0.0, edits["intro_s"]), abs=0.01)
    assert x_span(svg, "crossfade-in", x_map) == pytest.approx(
        (edits["intro_s"] - edits["crossfade_in_s"], edits["intro_s"]), abs=0.01
    )
    outro_start = duration - edits["outro_s"]
    assert x_span(svg, "outro", x_map) == pytest.approx((outro_start, duration), abs=0.01)
    assert x_span(svg, "crossfade-out", x_map) == pytest.approx(
        (outro_start, outro_start + edits["crossfade_out_s"]), abs=0.01
    )
    heard = edits["intro_s"] - edits["crossfade_in_s"]
    for index, kept in enumerate(edits["kept"], 1):
        length = kept["end_s"] - kept["start_s"]
        assert x_span(svg, f"heard-{index}", x_map) == pytest.approx(
            (heard, heard + length), abs=0.01
        )
        heard += length
        if index < len(edits["kept"]):
            start, end = x_span(svg, f"join-{index}", x_map)
            assert start == end == pytest.approx(heard, abs=0.01)  # where the cut is heard
    for index, chapter in enumerate(doc["chapters"], 1):
        start, end = x_span(svg, f"chapter-{index}", x_map)
        assert start == end == pytest.approx(chapter["start_s"], abs=0.01)


# --- the tables say what the JSON says ---------------------------------------------------------


def lookup(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


class Cells(HTMLParser):
    """Every <td> with a data-figure or data-check attribute: its attributes and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "td" and ("data-figure" in attributes or "data-check" in attributes):
            self._open, self._text = attributes, []

    def handle_data(self, data):
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._open is not None:
            self.cells.append((self._open, "".join(self._text)))
            self._open = None


def cells_of(page: str) -> list[tuple[dict[str, str | None], str]]:
    parser = Cells()
    parser.feed(page)
    return parser.cells


def shown_number(text: str) -> float | None:
    if text.strip() == "—":
        return None
    return float(text.replace("−", "-").split()[0])


def test_every_number_of_the_tables_is_the_jsons(processed):
    _root, doc, page = processed
    figures = {
        attrs["data-figure"]: text for attrs, text in cells_of(page) if "data-figure" in attrs
    }
    for attrs, text in cells_of(page):
        if "data-figure" not in attrs:
            continue
        path = attrs["data-figure"]
        value = lookup(doc, path)
        assert json.loads(attrs["data-value"]) == value, path
        assert shown_number(text) == value, (path, text)
    expected = {
        f"loudness.{stage}.{figure}"
        for stage in ("source", "before", "after")
        for figure in ("integrated_lufs", "true_peak_dbtp", "loudness_range_lu")
    } | {
        "loudness.expected_mp3_lufs",
        "loudness.gain_db",
        "loudness.limiter_max_reduction_db",
        "loudness.limiter_active_percent",
        "loudness.codec_loss_lu",
        "edits.head_trimmed_s",
        "edits.tail_trimmed_s",
        "edits.cuts.0.start_s",
        "edits.cuts.0.end_s",
        "edits.intro_s",
        "edits.outro_s",
        "edits.crossfade_in_s",
        "edits.crossfade_out_s",
        "duration_s",
        *(f"chapters.{i}.start_s" for i in range(3)),
        *(f"chapters.{i}.source_start_s" for i in range(3)),
    }
    assert expected <= set(figures), sorted(expected - set(figures))


def verdicts_of(page: str) -> dict[str, str]:
    return {
        attrs["data-check"]: attrs["data-verdict"]
        for attrs, _text in cells_of(page)
        if "data-check" in attrs
    }


def banner_of(page: str) -> str:
    [(tag, attrs)] = [(t, a) for t, a in elements(page).tags if a.get("id") == "verdict"]
    return attrs["data-verdict"]


def test_the_verdicts_of_a_real_run(processed):
    _root, doc, page = processed
    loud = doc["loudness"]
    integrated_ok = abs(loud["expected_mp3_lufs"] - loud["target_lufs"]) <= 0.3
    peak_ok = loud["after"]["true_peak_dbtp"] <= loud["true_peak_ceiling_dbtp"]
    assert integrated_ok and peak_ok  # what mastering is for
    assert verdicts_of(page) == {"integrated": "pass", "true_peak": "pass"}
    # On target; but this "speech" is a held chord with a click every 6 s: the stretches around
    # the clicks move as speech does, and between them the chord itself is what lies under the
    # "speech" — read as a floor 8 dB under it. The banner warns of that, and of nothing else.
    assert banner_of(page) == "warn"
    assert warnings_of(page) == ["noise-floor"]


def warnings_of(page: str) -> list[str]:
    return [attrs["data-warning"] for _tag, attrs in elements(page).tags if "data-warning" in attrs]


@pytest.fixture(scope="module")
def small_report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("small")
    source = synth(
        folder / "master.wav",
        f"{PROGRAMME.format(gain=1)}|{PROGRAMME.format(gain=0.9)}",
        seconds=12,
        rate=44100,
    )
    return master(source, folder / "out.mp3", MasteringSettings(), EditDecisions())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("after", "codec_loss", "measured", "verdicts"),
    [
        # expected MP3 loudness = the encoder's input less the codec loss
        ((-15.7, -1.6), 0.4, None, {"integrated": "pass", "true_peak": "pass"}),
        ((-15.4, -1.6), 0.3, None, {"integrated": "pass", "true_peak": "pass"}),  # +0.3: edge
        ((-15.29, -1.6), 0.4, None, {"integrated": "fail", "true_peak": "pass"}),  # +0.31
        ((-16.7, -1.6), 0.4, None, {"integrated": "fail", "true_peak": "pass"}),  # −0.7
        ((-15.7, -0.4), 0.4, None, {"integrated": "pass", "true_peak": "fail"}),  # over −1
        ((-15.7, -1.0), 0.4, None, {"integrated": "pass", "true_peak": "pass"}),  # at −1
        # with --verify the MP3 itself is judged
        ((-15.7, -1.6), 0.4, (-16.5, -1.2), {"integrated": "fail", "true_peak": "pass"}),
        ((-15.0, -0.2), 0.4, (-16.1, -1.1), {"integrated": "pass", "true_peak": "pass"}),
        ((-15.7, -1.6), 0.4, (-16.0, -0.8), {"integrated": "pass", "true_peak": "fail"}),
    ],
)
def test_verdicts_follow_the_figures(small_report, after, codec_loss, measured, verdicts):
    report = dataclasses.replace(
        small_report,
        after=LoudnessFigures(after[0], after[1], 5.0),
        codec_loss_lu=codec_loss,
    )
    figures = LoudnessFigures(measured[0], measured[1], 5.0) if measured else None
    page = report_page(report, title="Constructed", measured=figures)
    assert verdicts_of(page) == verdicts
    # a missed target fails; on target, what a producer would hear still warns (the chord under
    # the clicks reads as a floor 8 dB down: see the real run's test)
    assert [w.key for w in sound_warnings(report.as_dict(), [])] == ["noise-floor"]
    on_target = set(verdicts.values()) == {"pass"}
    assert banner_of(page) == ("warn" if on_target else "fail")
    doc = report.as_dict()
    if figures is not None:
        doc["loudness"]["mp3_measured"] = figures.as_dict()
    assert {c.key: ("pass" if c.passed else "fail") for c in checks(doc)} == verdicts
    # the MP3 column shows the figure judged
    shown = {a["data-figure"] for a, _ in cells_of(page) if "data-figure" in a}
    judged = "loudness.mp3_measured.integrated_lufs" if measured else "loudness.expected_mp3_lufs"
    assert judged in shown


def test_a_silent_measurement_fails_and_shows_a_dash(small_report):
    doc = small_report.as_dict()
    doc["loudness"]["mp3_measured"] = {
        "integrated_lufs": None,
        "true_peak_dbtp": None,
        "loudness_range_lu": None,
    }
    assert [c.passed for c in checks(doc)] == [False, False]
    page = report_page(
        small_report, title="Silent", measured=LoudnessFigures(-math.inf, -math.inf, math.nan)
    )
    assert verdicts_of(page) == {"integrated": "fail", "true_peak": "fail"}
    texts = {a["data-figure"]: t for a, t in cells_of(page) if "data-figure" in a}
    assert texts["loudness.mp3_measured.integrated_lufs"] == "—"


def test_titles_are_escaped(small_report):
    page = report_page(
        small_report, title='<script>alert("x")</script> & $5 $budget$', about=[("a<b", "c&d")]
    )
    assert "<script" not in page
    assert "&lt;script&gt;" in page and "a&lt;b" in page and "c&amp;d" in page


# --- the curves: small, from the passes' records, no pass of their own --------------------------


def test_curves_stay_small_whatever_the_length():
    frame_len, rate = 441, 44100
    for minutes, hop_s in ((0.5, 0.1), (19, 0.1), (20, 0.2), (60, 0.5), (180, 1.0), (600, 5.0)):
        hop, points = curve_grid(int(minutes * 60 * rate), frame_len)
        assert hop * 0.1 == pytest.approx(hop_s), minutes
        assert points <= MAX_CURVE_POINTS
        assert points == int(minutes * 60 / hop_s + 1e-9) + 1


def test_short_term_series_is_a_centred_3_s_window_of_the_10_ms_energies():
    frame_len = 441
    # 20 s: −20 LUFS for 10 s, then −30 LUFS (energy per 10 ms frame for a given loudness)
    per_frame = lambda lufs: frame_len * 10 ** ((lufs + 0.691) / 10)
    energy_frames = np.array([per_frame(-20.0)] * 1000 + [per_frame(-30.0)] * 1000, np.float32)
    series = short_term_series(energy_frames, frame_len, hop_groups=5, points=41)  # every 0.5 s
    assert series.dtype == np.float32 and series.size == 41
    assert series[0] == pytest.approx(-20.0, abs=0.01)  # the window cut to the signal
    assert series[17] == pytest.approx(-20.0, abs=0.01)  # 8.5 s: [7, 10) all loud
    mixed = 10 * math.log10((10 ** (-2.0) + 10 ** (-3.0)) / 2)  # 10 s: half and half
    assert series[20] == pytest.approx(mixed, abs=0.01)
    assert series[23] == pytest.approx(-30.0, abs=0.01)  # 11.5 s: [10, 13) all quiet
    assert series[40] == pytest.approx(-30.0, abs=0.01)
    # limited to a span: NaN outside it, windows cut to it
    spanned = short_term_series(energy_frames, frame_len, 5, 41, span=(50, 150))
    assert np.isnan(spanned[:10]).all() and np.isnan(spanned[31:]).all()
    assert spanned[10] == pytest.approx(-20.0, abs=0.01)
    # the same blocks as the loudness range (EBU Tech 3342) where windows are whole
    rng = np.random.default_rng(1)
    varied = (per_frame(-23.0) * rng.uniform(0.05, 2.0, 6000)).astype(np.float32)
    every = short_term_series(varied, frame_len, 1, 601)
    whole = every[15 : 600 - 15 + 1].astype(np.float64)
    levels = whole[whole > lufs_of(float(energy(whole).mean())) - 20.0]
    low, high = np.percentile(levels, [10, 95])
    assert high - low == pytest.approx(loudness_range(varied, frame_len), abs=0.01)


def test_gain_reduction_series_keeps_the_deepest_moment_around_each_point():
    gain_db = 6.0
    squares = np.full(1000, 10 ** (gain_db / 10), np.float32)  # 10 s, no limiting
    squares[503] = 10 ** ((gain_db - 4.0) / 10)  # 4 dB for 10 ms at 5.03 s
    squares[710] = 10 ** ((gain_db - 1.5) / 10)
    series = gain_reduction_series(squares, gain_db, hop_frames=10, points=101)
    assert series.dtype == np.float32
    assert series[50] == pytest.approx(4.0, abs=1e-4)  # the 100 ms around 5.0 s holds 5.03 s
    assert series[71] == pytest.approx(1.5, abs=1e-4)
    assert np.count_nonzero(series) == 2
    coarse = gain_reduction_series(squares, gain_db, hop_frames=100, points=11)
    assert coarse[5] == pytest.approx(4.0, abs=1e-4) and coarse[7] == pytest.approx(1.5, abs=1e-4)


def test_the_report_carries_small_float32_series(small_report):
    curves = small_report.curves
    assert curves is not None
    for series in (curves.master_short_term, curves.result_short_term, curves.gain_reduction_db):
        assert series.dtype == np.float32 and series.size == curves.times.size
    assert curves.times.size <= MAX_CURVE_POINTS
    assert curves.times[-1] <= small_report.duration_s + 1e-6
    assert "curves" not in small_report.as_dict()  # not in the JSON


@pytest.mark.slow
def test_no_third_read_of_the_master(tmp_path: Path):
    """`process` decodes the master as often as it did before the page: the validation's reads and
    mastering's two passes (analyse, render) — the page is drawn from what the passes kept; its
    two excerpts of the speech as recorded read 10 s each, no more."""
    root = make_network(tmp_path / "network")
    log = tmp_path / "ffmpeg.log"
    wrapper = tmp_path / "ffmpeg-logged"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{ffmpeg_exe()}" "$@"\n')
    wrapper.chmod(0o755)
    # validation's reads counted each time, as without the validation cache
    env = {"PODCAST_FFMPEG": str(wrapper), "PODCAST_NO_CACHE": "1"}

    def master_reads(*args: str) -> list[str]:
        log.unlink(missing_ok=True)
        podcast(root, *args, process=True, ok=True, env=env)
        return [line for line in log.read_text().splitlines() if "generated.flac" in line]

    validating = master_reads("validate")
    processing = master_reads("process", str(root / EPISODE))
    assert (root / PAGE).is_file()
    excerpts = [line for line in processing if "podcast-excerpt-" in line]
    assert len(excerpts) <= 2 and all(" -t 10 " in line for line in excerpts), excerpts
    whole = [line for line in processing if line not in excerpts]
    assert len(whole) == len(validating) + 2, processing
