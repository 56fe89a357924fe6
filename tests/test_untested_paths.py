"""Paths no other test reached: a damaged or newer manifest in a folder, the folder's conditional
writes under two writers, `process --verify` and `--id3v24`, exit code 4, 24- and 32-bit WAV
masters, and feeds built from what the manifest holds for episodes a checkout does not have.

Everything runs for real: ffmpeg on generated audio, publishing to file:// folders."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from podcast_tools.audio.synth import speech_like_master
from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish import Publisher, open_storage
from podcast_tools.publish.storage import PreconditionFailed
from tests.audio_tools import ffmpeg_loudness
from tests.conftest import REPO, Ran, edit, podcast

INCIDENT = "episodes/itsmwp/001-incident-vs-problem.md"
CAB = "episodes/itsmwp/002-change-advisory-boards.md"
SDM = "episodes/itsmwp/003-service-desk-metrics.md"
GUIDS = {
    INCIDENT: "ac4558b4-65d3-4301-a7a3-5754683e9fdf",
    CAB: "96437e99-b727-4e6c-99f1-172d9e7e5d4a",
    SDM: "04bab1e0-bca4-48be-9c8b-6e3eff69f280",
}


def tree_of(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too) and its bytes."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if not line.startswith("note:")]


def items_of(xml: bytes) -> dict[str, bytes]:
    """Each <item> of a feed, byte for byte as written, by guid."""
    found = {}
    for item in re.findall(rb"<item>.*?</item>", xml, flags=re.DOTALL):
        guid = re.search(rb"<guid[^>]*>([^<]+)</guid>", item).group(1).decode()
        found[guid] = item
    return found


# --- a damaged manifest, or one a newer version wrote, in a folder -------------------------------


def _not_json(document: dict) -> bytes:
    return json.dumps(document).encode()[:300]


def _episodes_a_list(document: dict) -> bytes:
    return json.dumps({**document, "episodes": []}).encode()


def _newer(document: dict) -> bytes:
    return json.dumps({**document, "version": document["version"] + 1}).encode()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (_not_json, ": is damaged: not JSON ("),
        (_episodes_a_list, ": is damaged at episodes: must be an object, not an array"),
        (_newer, ": was written by a newer podcast_tools (format {newer}); upgrade"),
    ],
    ids=["not-json", "episodes-a-list", "newer-format"],
)
def test_a_damaged_or_newer_manifest_in_a_folder_stops_before_anything_is_written(
    sample: Path, tmp_path: Path, damage, words: str
):
    """The S3 cases are in tests/hostile/test_manifest_damage.py; here the folder's, with a
    change waiting to be published, so that "nothing uploaded" is something a broken check
    would violate: one line naming the manifest, exit 3, neither folder touched, nothing
    mastered."""
    store, state = tmp_path / "store", tmp_path / "store.state"
    first = podcast(sample, "publish", "--storage", f"file://{store}", SDM)
    assert first.exit_code == 0, first.output
    document = json.loads((state / "manifest.json").read_bytes())
    (state / "manifest.json").write_bytes(damage(document))
    words = words.format(newer=document["version"] + 1)  # the format after today's
    edit(sample / SDM, "  start: 1.0", "  start: 2.0")  # new audio: to be mastered and uploaded
    built = sample / "build/itsmwp/003-service-desk-metrics.mp3"
    before = {"store": tree_of(store), "state": tree_of(state), "mp3": built.read_bytes()}
    result = podcast(sample, "publish", "--storage", f"file://{store}", SDM)
    assert result.exit_code == 3, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"file://{state}/manifest.json{words}"), lines[0]
    assert {"store": tree_of(store), "state": tree_of(state), "mp3": built.read_bytes()} == before


# --- the folder's conditional writes --------------------------------------------------------------


def test_a_folder_refuses_a_write_based_on_what_another_writer_replaced(tmp_path: Path):
    first = open_storage(f"file://{tmp_path / 'store'}", tmp_path)
    second = open_storage(f"file://{tmp_path / 'store'}", tmp_path)  # another process's view
    put = {"content_type": "application/json", "cache_control": "no-cache"}

    # both find the key absent; only the first "only if absent" write lands
    assert first.get("doc.json") is None and second.get("doc.json") is None
    etag = first.put_bytes("doc.json", b'["first"]', if_absent=True, **put)
    with pytest.raises(PreconditionFailed):
        second.put_bytes("doc.json", b'["second"]', if_absent=True, **put)
    assert second.get("doc.json") == (b'["first"]', etag)

    # both read the same version; the second's write on it loses and changes nothing
    data, read_etag = second.get("doc.json")
    assert first.put_bytes("doc.json", b'["first", "again"]', if_match=read_etag, **put)
    with pytest.raises(PreconditionFailed):
        second.put_bytes("doc.json", b'["first", "second"]', if_match=read_etag, **put)
    assert first.get("doc.json")[0] == b'["first", "again"]'

    # the loser reads again, merges and writes on the version it now holds
    data, fresh = second.get("doc.json")
    merged = json.dumps([*json.loads(data), "second"]).encode()
    second.put_bytes("doc.json", merged, if_match=fresh, **put)
    assert json.loads(first.get("doc.json")[0]) == ["first", "again", "second"]
    with pytest.raises(PreconditionFailed):  # a version that never was
        first.put_bytes("doc.json", b"[]", if_match="0" * 64, **put)


def test_two_processes_updating_one_object_in_a_folder_lose_no_update(tmp_path: Path):
    """Two processes each add 40 entries to one JSON list, read-modify-write with If-Match and
    a retry on every precondition failure: the flock-guarded compare-and-replace loses none."""
    script = textwrap.dedent(
        """
        import json, sys, time
        from pathlib import Path
        from podcast_tools.publish import open_storage
        from podcast_tools.publish.storage import PreconditionFailed

        name, folder = sys.argv[1], Path(sys.argv[2])
        storage = open_storage(f"file://{folder}", folder.parent)
        (folder.parent / f"ready-{name}").touch()  # start together: both imported and ready
        while not all((folder.parent / f"ready-{n}").exists() for n in "ab"):
            time.sleep(0.005)
        conflicts = 0
        for index in range(40):
            while True:
                found = storage.get("counter.json")
                entries = json.loads(found[0]) if found else []
                time.sleep(0.002)  # widen the window between the read and the write
                data = json.dumps([*entries, f"{name}-{index}"]).encode()
                try:
                    storage.put_bytes(
                        "counter.json", data, content_type="application/json",
                        cache_control="no-cache", if_match=found[1] if found else None,
                        if_absent=found is None,
                    )
                    break
                except PreconditionFailed:
                    conflicts += 1
        print(conflicts)
        """
    )
    folder = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, name, str(folder)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in ("a", "b")
    ]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    for writer, (_, err) in zip(writers, outputs):
        assert writer.returncode == 0, err
    assert sum(int(out) for out, _ in outputs) > 0  # they did collide (dozens of times, usually)
    entries = json.loads((folder / "counter.json").read_bytes())
    assert sorted(entries) == sorted(f"{n}-{i}" for n in "ab" for i in range(40))
    for name in "ab":  # each writer's own entries in its order
        assert [e for e in entries if e.startswith(name)] == [f"{name}-{i}" for i in range(40)]


@pytest.mark.slow
def test_a_publisher_that_loses_the_manifest_write_in_a_folder_merges_and_retries(
    sample: Path, tmp_path: Path
):
    """Publisher A reads the (empty) manifest; while it uploads, publisher B publishes another
    episode to the same folder. A's only-if-absent manifest write then fails; it reads B's,
    lays its own change over it and writes the next generation: both episodes are in the
    manifest and the feed."""
    store = tmp_path / "store"
    network = load_checked_network(sample)
    by_path = {network.display(e.path): e for e in network.episodes}
    said_by_a: list[str] = []
    b_ran = []

    def run_b() -> None:
        Publisher(
            load_checked_network(sample), open_storage(f"file://{store}", sample), workers=1
        ).run([by_path[SDM]])
        b_ran.append(True)

    def say_a(message: str) -> None:
        said_by_a.append(message)
        if message.startswith("uploading itsmwp/episodes/001-") and not b_ran:
            run_b()  # after A read the manifest, before A writes it

    Publisher(network, open_storage(f"file://{store}", sample), workers=1, say=say_a).run(
        [by_path[INCIDENT]]
    )
    assert b_ran
    assert "the manifest changed meanwhile (another publisher): merging and retrying" in said_by_a
    state = tmp_path / "store.state"
    manifest = json.loads((state / "manifest.json").read_bytes())
    assert manifest["generation"] == 2
    assert set(manifest["episodes"]) == {GUIDS[INCIDENT], GUIDS[SDM]}
    history = sorted(p.name for p in (state / "history").iterdir())
    assert history == ["manifest-00000001.json", "manifest-00000002.json"]
    assert set(json.loads((state / "history" / history[0]).read_bytes())["episodes"]) == {
        GUIDS[SDM]
    }  # B's generation, kept
    feed = (store / "itsmwp/feed.xml").read_bytes()
    assert set(items_of(feed)) == {GUIDS[INCIDENT], GUIDS[SDM]}


# --- process --verify and --id3v24 ----------------------------------------------------------------


@pytest.mark.slow
def test_process_verify_measures_the_mp3_and_id3v24_writes_version_4_tags(sample: Path):
    from mutagen.id3 import ID3

    mp3 = sample / "build/itsmwp/003-service-desk-metrics.mp3"
    result = podcast(sample, "process", SDM, "--verify", "--id3v24")
    assert result.exit_code == 0, result.output
    tags = ID3(mp3)
    assert tags.version == (2, 4, 0)
    assert str(tags["TIT2"]) == "Service Desk Metrics That Matter"
    assert len(tags.getall("CHAP")) == 3
    report = json.loads((sample / "build/itsmwp/003-service-desk-metrics.json").read_text())
    assert report["id3_version"] == "2.4"

    reference = ffmpeg_loudness(mp3)
    line = next(line for line in result.stdout.splitlines() if "measured in the MP3" in line)
    found = re.search(
        r"measured in the MP3: (-?[\d.]+) LUFS, true peak (-?[\d.]+) dBTP, LRA ([\d.]+) LU", line
    )
    assert found, line
    lufs, peak, lra = map(float, found.groups())
    assert lufs == pytest.approx(reference["I"], abs=0.2)
    assert lufs == pytest.approx(-16.0, abs=0.3)
    assert peak == pytest.approx(reference["TP"], abs=0.3) and peak <= -1.0
    assert lra == pytest.approx(reference["LRA"], abs=0.5)

    as_json = podcast(sample, "process", SDM, "--verify", "--json")
    assert as_json.exit_code == 0, as_json.output
    measured = json.loads(as_json.stdout)["loudness"]["mp3_measured"]
    assert ID3(mp3).version == (2, 3, 0)  # the default again
    assert measured["integrated_lufs"] == pytest.approx(ffmpeg_loudness(mp3)["I"], abs=0.2)
    assert measured["true_peak_dbtp"] <= -1.0
    without = podcast(sample, "process", SDM, "--json")
    assert "mp3_measured" not in json.loads(without.stdout)["loudness"]
    assert "measured in the MP3" not in podcast(sample, "process", SDM).stdout


# --- exit code 4: ffmpeg missing or failing -----------------------------------------------------


def run_cli(root: Path, env: dict[str, str], *args: str) -> Ran:
    return podcast(root, *args, process=True, env=env, timeout=300)


def outputs_in(build: Path) -> list[str]:
    """What a run wrote to build/ besides the validation cache (build/.cache/)."""
    return sorted(p.name for p in build.iterdir() if p.name != ".cache") if build.exists() else []


@pytest.mark.slow
def test_exit_code_4_when_ffmpeg_is_missing_or_cannot_run(sample: Path, tmp_path: Path):
    """A fresh process each (the binary is looked up once per process): PODCAST_FFMPEG naming
    no executable, and naming an executable file that is no program the system can run."""
    missing = tmp_path / "no-ffmpeg-here"
    not_a_program = tmp_path / "ffmpeg"
    not_a_program.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 57)  # a header and nothing else
    not_a_program.chmod(0o755)
    cases = [
        ({"PODCAST_FFMPEG": str(missing)}, f"PODCAST_FFMPEG={missing} is not an executable file"),
        ({"PODCAST_FFMPEG": str(not_a_program)}, "cannot run ffmpeg"),
    ]
    for env, words in cases:
        for args in (("validate",), ("process", str(sample / SDM))):
            done = run_cli(sample, env, *args)
            assert done.exit_code == 4, (args, done.stdout, done.stderr)
            [line] = done.stderr.splitlines()
            assert words in line, line
            assert "Traceback" not in done.stderr
    assert outputs_in(sample / "build") == []
    fine = run_cli(sample, {}, "validate")  # the same network, with ffmpeg found
    assert fine.exit_code == 0, fine.stderr


# --- 24-bit, 32-bit integer and 32-bit float WAV masters ----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("codec", ["pcm_s24le", "pcm_s32le", "pcm_f32le"])
@pytest.mark.parametrize("rate", [44100, 48000], ids=["read-directly", "through-ffmpeg"])
def test_wav_masters_of_every_sample_format_reach_the_target(sample: Path, codec: str, rate: int):
    """At the show's rate and channels a WAV is read without ffmpeg; at another rate ffmpeg
    decodes it. Either way the master measures what ffmpeg measures, and the MP3 lands on the
    show's target."""
    master = speech_like_master(
        sample / "episodes/itsmwp/master.wav",
        20,
        sample_rate=rate,
        silence_s=2,
        level_db=-3,
        codec_args=("-c:a", codec),
    )
    edit(sample / SDM, "audio: 003-service-desk-metrics.opus", "audio: master.wav")
    result = podcast(sample, "process", SDM, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    source = ffmpeg_loudness(master)
    assert report["loudness"]["source"]["integrated_lufs"] == pytest.approx(source["I"], abs=0.2)
    assert report["edits"]["master_s"] == pytest.approx(20.0, abs=0.01)
    mp3 = Path(report["output"])
    measured = ffmpeg_loudness(mp3)
    assert measured["I"] == pytest.approx(-16.0, abs=0.3)
    assert measured["TP"] <= -1.0
    assert measured["LRA"] == pytest.approx(source["LRA"], abs=1.5)


# --- feeds from what the manifest holds ---------------------------------------------------------


@pytest.mark.slow
def test_a_checkout_without_some_episodes_keeps_them_in_the_feed_byte_for_byte(
    sample: Path, tmp_path: Path
):
    """Checkout A publishes the three itsmwp episodes. Checkout B has only episode 1 and
    changes its notes. B's publish rewrites the feeds from the manifest: A's other episodes
    stay, each <item> the same bytes as A wrote it and as A's episode files give it (the
    local preview); only episode 1's item changes."""
    store = tmp_path / "store"
    first = podcast(sample, "publish", "--storage", f"file://{store}", INCIDENT, CAB, SDM)
    assert first.exit_code == 0, first.output
    before = {show: (store / show / "feed.xml").read_bytes() for show in ("itsmwp", "itsmwp-anz")}
    assert set(items_of(before["itsmwp"])) == set(GUIDS.values())
    assert set(items_of(before["itsmwp-anz"])) == {GUIDS[CAB]}
    # what the episode files themselves give (the local preview, built from the content)
    preview = podcast(sample, "feed", "itsmwp", "itsmwp-anz", "--out", str(tmp_path / "preview"))
    assert preview.exit_code == 0, preview.output
    from_content = items_of((tmp_path / "preview/itsmwp/feed.xml").read_bytes())
    assert from_content == items_of(before["itsmwp"])

    other = tmp_path / "other"
    shutil.copytree(REPO / "episodes", other / "episodes")
    shutil.copytree(REPO / "templates", other / "templates")
    for name in (CAB, SDM):
        (other / name).unlink()
    edit(other / INCIDENT, "This week we untangle the two.", "This week we untangle both.")
    assert len(load_checked_network(other).episodes_of("itsmwp")) == 1
    second = podcast(other, "publish", "--storage", f"file://{store}", INCIDENT, "--json")
    assert second.exit_code == 0, second.output
    summary = json.loads(second.stdout)
    assert summary["manifest_written"] and "itsmwp/feed.xml" in summary["feeds_written"]
    assert summary["episodes_skipped"] == [INCIDENT]  # the audio is unchanged: not mastered
    assert outputs_in(other / "build") == []

    after = {show: (store / show / "feed.xml").read_bytes() for show in ("itsmwp", "itsmwp-anz")}
    items_before, items_after = items_of(before["itsmwp"]), items_of(after["itsmwp"])
    assert set(items_after) == set(GUIDS.values())
    for name in (CAB, SDM):  # the episodes B does not have: as their files say, byte for byte
        assert items_after[GUIDS[name]] == items_before[GUIDS[name]], name
        assert items_after[GUIDS[name]] == from_content[GUIDS[name]], name
    assert b"untangle both" in items_after[GUIDS[INCIDENT]]
    assert items_after[GUIDS[INCIDENT]] != items_before[GUIDS[INCIDENT]]
    assert after["itsmwp-anz"] == before["itsmwp-anz"]  # unchanged: the cross-post stays
