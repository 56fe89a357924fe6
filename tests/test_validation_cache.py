"""The validation cache (build/.cache/validation.json): `podcast validate` on an unchanged network
runs no ffmpeg at all, and any change to a file it remembers — new content of the same size, a
file cut short, a symlink pointed elsewhere — is checked again and its problem reported exactly as
without the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podcast_tools.factcache import CACHE_FILE, FactCache, file_identity
from podcast_tools.media_checks import load_checked_network

MASTER = "episodes/itsmwp/002-change-advisory-boards.mp3"
EPISODE = "episodes/itsmwp/002-change-advisory-boards.md"


def start_validate(root: Path, log: Path, *args: str, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "PODCAST_FFMPEG": str(log.parent / "ffmpeg-logged"), **env}
    if "PODCAST_NO_CACHE" not in env:
        environment.pop("PODCAST_NO_CACHE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "podcast_tools", "--root", str(root), "validate", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def validate(root: Path, log: Path, *args: str, **env: str) -> tuple[int, str, int]:
    """(exit code, output, ffmpeg runs) of one `podcast validate`."""
    log.unlink(missing_ok=True)
    done = start_validate(root, log, *args, **env)
    out, err = done.communicate(timeout=600)
    runs = len(log.read_text().splitlines()) if log.exists() else 0
    return done.returncode, out + err, runs


def damage_keeping_size(path: Path) -> None:
    """Overwrite the second half of the file with zeros in place: same size, same inode."""
    data = path.read_bytes()
    half = len(data) // 2
    path.write_bytes(data[:half] + bytes(len(data) - half))


@pytest.mark.slow
def test_warm_validate_runs_no_ffmpeg_and_says_the_same(sample: Path, logged_ffmpeg: Path):
    code, cold, cold_runs = validate(sample, logged_ffmpeg)
    assert code == 0, cold
    assert cold_runs >= 7  # every master's last second at least
    assert (sample / CACHE_FILE).is_file()

    code, warm, warm_runs = validate(sample, logged_ffmpeg)
    assert code == 0, warm
    assert warm_runs == 0, logged_ffmpeg.read_text()
    assert warm == cold


@pytest.mark.slow
def test_no_cache_option_and_variable_check_everything_again(sample: Path, logged_ffmpeg: Path):
    assert validate(sample, logged_ffmpeg)[0] == 0
    before = (sample / CACHE_FILE).stat().st_mtime_ns

    code, output, runs = validate(sample, logged_ffmpeg, "--no-cache")
    assert code == 0, output
    assert runs >= 7
    code, output, runs = validate(sample, logged_ffmpeg, PODCAST_NO_CACHE="1")
    assert code == 0, output
    assert runs >= 7
    assert (sample / CACHE_FILE).stat().st_mtime_ns == before  # neither read nor wrote it


@pytest.mark.slow
@pytest.mark.parametrize("keep_mtime", [False, True], ids=["new-mtime", "mtime-restored"])
def test_master_changed_in_place_with_the_same_size_is_checked_again(
    sample: Path, logged_ffmpeg: Path, keep_mtime: bool
):
    assert validate(sample, logged_ffmpeg)[0] == 0
    master = sample / MASTER
    before = master.stat()
    damage_keeping_size(master)
    if keep_mtime:  # a tool that restores the time: the change time still differs
        os.utime(master, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert master.stat().st_size == before.st_size

    code, cached, runs = validate(sample, logged_ffmpeg)
    assert code == 1, cached
    assert runs >= 1
    assert f"{EPISODE}: audio: {MASTER} " in cached
    code, fresh, _ = validate(sample, logged_ffmpeg, "--no-cache")
    assert (code, cached) == (1, fresh)


@pytest.mark.slow
def test_master_cut_short_after_a_good_run_is_caught(sample: Path, logged_ffmpeg: Path):
    assert validate(sample, logged_ffmpeg)[0] == 0
    master = sample / MASTER
    data = master.read_bytes()
    master.write_bytes(data[: len(data) // 2])

    code, output, _ = validate(sample, logged_ffmpeg)
    assert code == 1, output
    line = next(line for line in output.splitlines() if line.startswith(f"{EPISODE}: audio:"))
    assert "truncated" in line or "cannot be read" in line, line
    assert (code, output) == validate(sample, logged_ffmpeg, "--no-cache")[:2]


@pytest.mark.slow
def test_failures_are_remembered_until_the_file_is_fixed(sample: Path, logged_ffmpeg: Path):
    master = sample / MASTER
    good = master.read_bytes()
    master.write_bytes(good[: len(good) // 2])
    code, first, _ = validate(sample, logged_ffmpeg)
    assert code == 1
    code, second, runs = validate(sample, logged_ffmpeg)
    assert (code, second, runs) == (1, first, 0)  # the failure came from the cache

    master.write_bytes(good)
    code, output, _ = validate(sample, logged_ffmpeg)
    assert code == 0, output


@pytest.mark.slow
def test_symlink_pointed_at_another_file_is_checked_again(sample: Path, logged_ffmpeg: Path):
    master = sample / MASTER
    good = sample / "episodes/itsmwp/takes/good.mp3"
    bad = sample / "episodes/itsmwp/takes/bad.mp3"
    good.parent.mkdir()
    master.rename(good)
    bad.write_bytes(good.read_bytes())
    damage_keeping_size(bad)
    os.utime(bad, ns=(good.stat().st_atime_ns, good.stat().st_mtime_ns))  # same size and time
    master.symlink_to("takes/good.mp3")
    assert validate(sample, logged_ffmpeg)[0] == 0

    master.unlink()
    master.symlink_to("takes/bad.mp3")
    code, output, runs = validate(sample, logged_ffmpeg)
    assert code == 1, output
    assert runs >= 1
    assert f"{EPISODE}: audio: episodes/itsmwp/takes/bad.mp3 is truncated" in output
    assert (code, output) == validate(sample, logged_ffmpeg, "--no-cache")[:2]


@pytest.mark.slow
def test_garbage_or_truncated_cache_file_is_survived_and_rebuilt(sample: Path, logged_ffmpeg: Path):
    cache = sample / CACHE_FILE
    code, expected, _ = validate(sample, logged_ffmpeg)
    assert code == 0
    whole = cache.read_bytes()
    for damaged in (b"\x00\xffnot json at all{{", whole[: len(whole) // 2], b"[]", b""):
        cache.write_bytes(damaged)
        code, output, runs = validate(sample, logged_ffmpeg)
        assert (code, output) == (0, expected), damaged[:40]
        assert runs >= 7  # checked again, not trusted
        json.loads(cache.read_bytes())  # rebuilt whole
    # entries of the right shape but nonsense inside: checked again, not trusted
    document = json.loads(cache.read_bytes())
    for entry in document["entries"].values():
        entry[1] = {"s": "ten", "error": 3, "answer": [1, 2]}
    cache.write_text(json.dumps(document))
    code, output, runs = validate(sample, logged_ffmpeg)
    assert (code, output) == (0, expected)
    assert runs >= 7


@pytest.mark.slow
def test_two_validates_at_once_on_a_cold_cache_both_succeed(sample: Path, logged_ffmpeg: Path):
    first = start_validate(sample, logged_ffmpeg)
    second = start_validate(sample, logged_ffmpeg)
    for run in (first, second):
        out, err = run.communicate(timeout=600)
        assert run.returncode == 0, out + err
        assert "no problems found" in out
    document = json.loads((sample / CACHE_FILE).read_bytes())
    assert document["entries"]
    assert not list((sample / CACHE_FILE).parent.glob(".*"))  # no temp file left behind
    code, output, runs = validate(sample, logged_ffmpeg)
    assert (code, runs) == (0, 0), output


def test_an_edited_episode_file_is_parsed_again(sample: Path):
    load_checked_network(sample)
    episode = sample / EPISODE
    text = episode.read_text()
    episode.write_text(text.replace("title:", "title: [unclosed", 1))
    from podcast_tools.errors import ContentError

    with pytest.raises(ContentError) as caught:
        load_checked_network(sample)
    assert any(p.file == EPISODE and "YAML" in p.message for p in caught.value.problems)


def test_store_keeps_the_newest_entries_within_its_cap(tmp_path: Path, monkeypatch):
    from podcast_tools import factcache

    monkeypatch.setattr(factcache, "MAX_ENTRIES", 3)
    files = []
    for index in range(5):
        path = tmp_path / f"f{index}"
        path.write_text(str(index))
        files.append(path)
    store_path = tmp_path / "cache.json"
    for index, path in enumerate(files):  # one saving run per file, a second apart
        monkeypatch.setattr(factcache.time, "time", lambda index=index: 1_000 + index)
        store = FactCache(store_path, "v1")
        store.put("kind", path, file_identity(path), index)
        store.save()
    store = FactCache(store_path, "v1")
    remembered = [store.get("kind", path, file_identity(path)) for path in files]
    assert remembered == [factcache.MISS, factcache.MISS, 2, 3, 4]
    # another version of the checks trusts none of it
    assert FactCache(store_path, "v2").get("kind", files[4], file_identity(files[4])) is (
        factcache.MISS
    )
