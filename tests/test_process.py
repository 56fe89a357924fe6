"""Mastering end to end on short generated masters, measured by ffmpeg's own meter."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from podcast_tools.audio.master import EditDecisions, MasteringSettings, master
from podcast_tools.audio.synth import speech_like_master
from podcast_tools.cli import app
from podcast_tools.errors import AudioInputError
from podcast_tools.media_checks import load_checked_network
from tests.audio_tools import decode, ffmpeg_loudness, synth
from tests.conftest import edit

STEREO = MasteringSettings()
MONO = MasteringSettings(target_lufs=-19.0, channels=1, bitrate_kbps=64)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("settings", "rate", "channels", "level_db"),
    [
        pytest.param(STEREO, 44100, 2, 6.0, id="stereo-44k-loud-peaks-need-limiting"),
        pytest.param(STEREO, 48000, 2, -14.0, id="stereo-48k-quiet"),
        pytest.param(MONO, 48000, 1, 0.0, id="mono-48k-to-mono"),
        pytest.param(MONO, 44100, 2, -6.0, id="stereo-44k-to-mono"),
    ],
)
def test_output_meets_loudness_and_true_peak_targets(
    tmp_path: Path, settings, rate, channels, level_db
):
    source = speech_like_master(
        tmp_path / "master.wav",
        40,
        sample_rate=rate,
        channels=channels,
        level_db=level_db,
        silence_s=3,
    )
    out = tmp_path / "out.mp3"
    report = master(source, out, settings)
    measured = ffmpeg_loudness(out)
    assert measured["I"] == pytest.approx(settings.target_lufs, abs=0.3)
    assert measured["TP"] <= settings.true_peak_dbtp
    assert measured["LRA"] == pytest.approx(ffmpeg_loudness(source)["LRA"], abs=1.0)
    assert report.after.true_peak_dbtp <= settings.true_peak_dbtp
    assert report.bytes == out.stat().st_size
    # silence trimmed down to the pad at both ends
    assert report.plan.head_trimmed_s == pytest.approx(3 - 0.5, abs=0.15)
    assert report.plan.tail_trimmed_s == pytest.approx(3 - 0.5, abs=0.15)
    if level_db > 0:
        assert report.limiter_max_reduction_db > 1.0  # the loud one needed the limiter


@pytest.mark.slow
def test_trims_cuts_and_jingles_give_the_expected_duration(tmp_path: Path):
    source = speech_like_master(
        tmp_path / "master.flac", 30, silence_s=2, codec_args=("-c:a", "flac")
    )
    intro = synth(
        tmp_path / "intro.mp3",
        "0.3*sin(2*PI*440*t)|0.3*sin(2*PI*660*t)",
        seconds=3,
        codec=("-c:a", "libmp3lame"),
    )
    outro = synth(
        tmp_path / "outro.ogg", "0.3*sin(2*PI*330*t)", seconds=2, codec=("-c:a", "libopus")
    )
    edits = EditDecisions(
        trim_start_s=1.0,
        trim_end_s=27.0,
        cuts_s=((10.0, 12.0), (20.0, 20.5)),
        intro=intro,
        outro=outro,
    )
    out = tmp_path / "out.mp3"
    report = master(source, out, MasteringSettings(crossfade_s=0.5), edits)
    # speech: 2 s of silence at the start, trimmed to the pad: keep 1.5 … 27, minus 2.5 s of cuts
    speech = (27.0 - 1.5) - 2.5
    expected = 3.0 + speech + 2.0 - 0.5 - 0.5
    assert report.duration_s == pytest.approx(expected, abs=0.02)
    assert decode(out).shape[0] / 44100 == pytest.approx(expected, abs=0.02)


def test_chapters_stay_on_the_right_words(tmp_path: Path):
    # A 2 kHz beep at 12 s of the master marks "the words"; the chapter must land on it.
    noise = "0.05*sin(2*PI*150*t)*between(t,2,22)"
    beep = "0.5*sin(2*PI*2000*t)*between(t,12,12.1)"
    source = synth(
        tmp_path / "master.wav", f"{noise}+{beep}|{noise}+{beep}", seconds=24, rate=44100
    )
    intro = synth(
        tmp_path / "intro.wav", "0.2*sin(2*PI*440*t)|0.2*sin(2*PI*440*t)", seconds=3, rate=44100
    )
    edits = EditDecisions(
        cuts_s=((5.0, 8.0),), chapters=((0.0, "Start"), (12.0, "Beep")), intro=intro
    )
    out = tmp_path / "out.mp3"
    report = master(source, out, MasteringSettings(crossfade_s=0.5), edits)
    chapter = report.chapters[1].output_s
    kept_from = report.plan.head_trimmed_s  # about 2 s of silence − 0.5 s pad
    assert kept_from == pytest.approx(1.5, abs=0.03)
    assert chapter == pytest.approx(3.0 - 0.5 + (12.0 - kept_from) - 3.0, abs=0.001)
    pcm = decode(out)[:, 0]
    spectrum_window = 441
    frames = pcm[: pcm.size // spectrum_window * spectrum_window].reshape(-1, spectrum_window)
    tone = np.sin(2 * np.pi * 2000 * np.arange(spectrum_window) / 44100)
    beep_energy = np.abs(frames @ tone)
    onset = np.flatnonzero(beep_energy > beep_energy.max() / 2)[0] * spectrum_window / 44100
    assert onset == pytest.approx(chapter, abs=0.02)
    assert report.chapters[0].output_s == 0.0


def test_file_names_that_look_like_options_or_urls(tmp_path: Path):
    folder = tmp_path / "odd:folder"
    folder.mkdir()
    source = speech_like_master(folder / "-master:1.wav", 6, silence_s=1)
    intro = synth(
        folder / "-i intro.wav", "0.2*sin(2*PI*440*t)|0.2*sin(2*PI*440*t)", seconds=2, rate=44100
    )
    out = folder / "-out:put.mp3"
    report = master(source, out, STEREO, EditDecisions(intro=intro))
    assert out.is_file() and report.intro_s == pytest.approx(2.0, abs=0.01)


def bad_inputs(tmp_path: Path):
    cases = {}
    (tmp_path / "empty.wav").write_bytes(b"")
    cases["empty"] = (tmp_path / "empty.wav", None, "empty")
    full = speech_like_master(tmp_path / "full.wav", 10, silence_s=1)
    data = full.read_bytes()
    (tmp_path / "truncated.wav").write_bytes(data[: len(data) // 3])
    cases["truncated"] = (tmp_path / "truncated.wav", None, "truncated")
    (tmp_path / "text.wav").write_text("this is not audio\n" * 100)
    cases["text-named-wav"] = (tmp_path / "text.wav", None, "audio")
    silent = synth(tmp_path / "silent.wav", "0", seconds=5)
    cases["pure-silence"] = (silent, None, "silent")
    short = synth(tmp_path / "short.wav", "0.3*sin(2*PI*440*t)", seconds=0.5)
    cases["shorter-than-1s"] = (short, None, "at least 1 s")
    cases["missing-intro"] = (full, tmp_path / "no-such-intro.wav", "not found")
    return cases


@pytest.mark.parametrize(
    "case",
    ["empty", "truncated", "text-named-wav", "pure-silence", "shorter-than-1s", "missing-intro"],
)
def test_bad_input_is_one_clear_error_and_no_output(tmp_path: Path, case: str):
    source, intro, words = bad_inputs(tmp_path)[case]
    out = tmp_path / "out" / "episode.mp3"
    with pytest.raises(AudioInputError) as caught:
        master(source, out, STEREO, EditDecisions(intro=intro))
    blamed = intro if case == "missing-intro" else source
    assert caught.value.file == str(blamed)
    assert words in str(caught.value)
    assert not out.exists()
    assert not list(out.parent.glob("*")) if out.parent.exists() else True


@pytest.mark.slow
def test_process_command_on_the_sample_network(sample: Path):
    runner = CliRunner()
    episode = sample / "episodes/itsmwp/002-change-advisory-boards.md"
    result = runner.invoke(app, ["--root", str(sample), "process", str(episode), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    mp3 = sample / "build/itsmwp/002-change-advisory-boards.mp3"
    assert Path(report["output"]) == mp3 and mp3.is_file()
    saved = json.loads((sample / "build/itsmwp/002-change-advisory-boards.json").read_text())
    assert saved["sha256"] == report["sha256"]
    assert saved["guid"] == "96437e99-b727-4e6c-99f1-172d9e7e5d4a"
    assert report["edits"]["cuts"] and report["edits"]["intro_s"] == pytest.approx(3.0, abs=0.05)
    assert [c["title"] for c in report["chapters"]][0] == "Introduction"
    assert ffmpeg_loudness(mp3)["I"] == pytest.approx(-16.0, abs=0.3)


INCIDENT = "episodes/itsmwp/001-incident-vs-problem.md"


def left_in(folder: Path) -> list[str]:
    """What a failed run left in the output folder (temp files included); the validation cache
    (build/.cache/) is no output."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.rglob("*") if ".cache" not in p.relative_to(folder).parts)


def test_process_command_reports_a_master_validation_refuses(sample: Path):
    episode = sample / INCIDENT
    (sample / "episodes/itsmwp/broken.wav").write_bytes(b"RIFF" + b"\0" * 400)
    edit(episode, "audio: 001-incident-vs-problem.flac", "audio: broken.wav")
    result = CliRunner().invoke(app, ["--root", str(sample), "process", str(episode)])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    # the loader's line: the episode file, its field, then the master as the network names it
    assert line.startswith(f"{INCIDENT}: audio: episodes/itsmwp/broken.wav "), line
    assert left_in(sample / "build") == []


@pytest.mark.parametrize(
    ("case", "expression"),
    [("silent", "0"), ("near-silent", "0.0005*sin(2*PI*300*t)")],  # about -70 dBFS: +50 dB
)
def test_process_command_reports_a_master_that_fails_in_mastering(
    sample: Path, case: str, expression: str
):
    """Whole, decodable masters, long enough for the episode's chapters: validation accepts
    them; only mastering finds there is nothing to bring to -16 LUFS."""
    episode = sample / INCIDENT
    synth(sample / f"episodes/itsmwp/{case}.wav", f"{expression}|{expression}", seconds=25)
    edit(episode, "audio: 001-incident-vs-problem.flac", f"audio: {case}.wav")
    load_checked_network(sample)  # validation passes
    result = CliRunner().invoke(app, ["--root", str(sample), "process", str(episode)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = result.stderr.splitlines()
    if case == "silent":  # the episode's audio field and the master, as validation names them
        assert line.startswith(f"{INCIDENT}: audio: episodes/itsmwp/{case}.wav is silent "), line
    else:  # the episode's audio field, and what to do
        assert line.startswith(f"{INCIDENT}: audio: the recording measures "), line
        assert "max_gain_db" in line, line
    assert left_in(sample / "build") == []



def float_master(path: Path, seconds: float, value: float, at_s: float | None) -> Path:
    """A speech-like 44.1 kHz stereo float WAV (pcm_f32le) with `value` (NaN, infinity) written
    over every sample, or over the left sample at `at_s` — as a broken plug-in or export leaves
    one. The samples are found by walking the RIFF chunks to "data"."""
    speech_like_master(path, seconds, silence_s=1, codec_args=("-c:a", "pcm_f32le"))
    data = bytearray(path.read_bytes())
    at = 12  # after "RIFF", the size, "WAVE"
    while data[at : at + 4] != b"data":
        at += 8 + int.from_bytes(data[at + 4 : at + 8], "little")
        at += at % 2  # chunks are padded to an even size
    start = at + 8
    samples = np.frombuffer(bytes(data[start:]), dtype="<f4").copy()
    if at_s is None:
        samples[:] = value
    else:
        samples[round(at_s * 44100) * 2] = value
    data[start:] = samples.tobytes()
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    ("case", "value", "at_s", "words"),
    [
        ("all-nan", math.nan, None, "holds NaN (not-a-number) samples (the first at 0.00 s)"),
        ("one-nan", math.nan, 12.0, "holds NaN (not-a-number) samples (the first at 12.00 s)"),
        ("one-infinity", math.inf, 12.0, "holds infinite samples (the first at 12.00 s)"),
    ],
)
def test_process_command_names_samples_that_are_not_numbers(
    sample: Path, case: str, value: float, at_s: float | None, words: str
):
    """All NaN read as "is silent"; after one NaN or infinity among speech, the rest read as
    silence to trim (here: "a chapter is in a part trimmed as silence"; else the encoder failed,
    exit 4). Validation decodes only the recording's end, so mastering is where it is found; one
    line names the episode file, its audio field and the master."""
    episode = sample / INCIDENT
    float_master(sample / f"episodes/itsmwp/{case}.wav", 25, value, at_s)
    edit(episode, "audio: 001-incident-vs-problem.flac", f"audio: {case}.wav")
    load_checked_network(sample)  # validation passes
    result = CliRunner().invoke(app, ["--root", str(sample), "process", str(episode)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{INCIDENT}: audio: episodes/itsmwp/{case}.wav {words}"), line
    assert "silent" not in line
    assert left_in(sample / "build") == []


@pytest.mark.slow
def test_processed_episode_is_tagged_with_notes_beside_it(sample: Path):
    from podcast_tools.tags import read_tags

    episode = sample / "episodes/itsmwp/001-incident-vs-problem.md"
    result = CliRunner().invoke(app, ["--root", str(sample), "process", str(episode)])
    assert result.exit_code == 0, result.output
    build = sample / "build/itsmwp"
    tags = read_tags(build / "001-incident-vs-problem.mp3")
    assert tags.version[:2] == (2, 3)
    assert tags.fields["title"] == "Incident vs. Problem Management"
    assert tags.fields["album"] == "IT Service Management Weekly Podcast"
    assert tags.fields["artist"] == "Alex Host"  # the episode's host
    assert tags.fields["guid"] == "ac4558b4-65d3-4301-a7a3-5754683e9fdf"
    assert tags.fields["feed_url"] == "https://media.itsmweekly.example/itsmwp/feed.xml"
    assert tags.fields["cover"].mime == "image/png"  # the show's artwork
    report = json.loads((build / "001-incident-vs-problem.json").read_text())
    assert [c.start_ms for c in tags.chapters] == [
        round(c["start_s"] * 1000) for c in report["chapters"]
    ]
    assert (
        tags.chapters[-1].end_ms == tags.fields["length_ms"] == round(report["duration_s"] * 1000)
    )
    assert report["bytes"] == (build / "001-incident-vs-problem.mp3").stat().st_size  # tagged file
    for suffix in (".html", ".txt", ".md", ".chapters.json"):
        assert (build / f"001-incident-vs-problem{suffix}").is_file()
    chapters = json.loads((build / "001-incident-vs-problem.chapters.json").read_text())
    assert [c["startTime"] for c in chapters["chapters"]] == [
        c["start_s"] for c in report["chapters"]
    ]


@pytest.mark.slow
def test_notes_command_previews(sample: Path):
    """Before processing, the preview shows the master's chapter times and says so; after,
    the times as heard — shifted by the trimmed start and the 3 s intro — read from the
    processing's report, the same times the MP3's chapter tags carry."""
    from mutagen.id3 import ID3

    runner = CliRunner()
    episode = sample / "episodes/itsmwp/003-service-desk-metrics.md"
    titles = ["Introduction", "First contact resolution", "Short surveys"]
    written = [0.0, 6.13, 11.29]  # the episode file's chapter starts (master time)

    def preview(folder: str) -> tuple[list[float], str, str]:
        out = sample / folder
        result = runner.invoke(
            app, ["--root", str(sample), "notes", str(episode), "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
        html = (out / "003-service-desk-metrics.html").read_text()
        assert html.startswith("<p>First contact")
        chapters = json.loads((out / "003-service-desk-metrics.chapters.json").read_text())
        assert [c["title"] for c in chapters["chapters"]] == titles
        return [c["startTime"] for c in chapters["chapters"]], html, result.stderr

    def listed(times: list[float]) -> list[str]:  # as the notes template lists them
        return [f"<li>00:00:{round(t):02d} · {title}</li>" for t, title in zip(times, titles)]

    starts, html, said = preview("before")
    assert "times are the master's" in said
    assert starts == written
    assert all(line in html for line in listed(written))

    result = runner.invoke(app, ["--root", str(sample), "process", str(episode)])
    assert result.exit_code == 0, result.output
    tags = ID3(sample / "build/itsmwp/003-service-desk-metrics.mp3")
    chap = sorted(tags.getall("CHAP"), key=lambda frame: frame.start_time)
    heard = [frame.start_time / 1000 for frame in chap]
    assert heard[0] == 0.0
    assert all(h - w > 0.5 for h, w in zip(heard[1:], written[1:]))  # really shifted
    assert {round(h) for h in heard[1:]}.isdisjoint({round(w) for w in written[1:]})

    starts, html, said = preview("after")
    assert "times are the master's" not in said
    assert starts == pytest.approx(heard, abs=0.001)
    assert all(line in html for line in listed(heard)), html
    assert not any(line in html for line in listed(written)[1:]), html
