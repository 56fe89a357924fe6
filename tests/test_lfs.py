"""Masters in Git LFS: a checkout without them (every master a pointer) validates, publishes a
title fix without fetching anything, and names exactly the files a run needs — `publish --plan
--json` lists them, `git lfs pull --include` fetches only those — or stops before uploading with
the command that fetches them (docs/lfs.md).

Real git and git-lfs (3.x: a file:// remote uses its standalone file transfer), real publishing
to a folder store; nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from podcast_tools.content.loader import load_network
from podcast_tools.lfs import (
    POINTER_START,
    PointerError,
    include_argument,
    include_pattern,
    is_pointer,
    parse_pointer,
    pull_command,
)
from podcast_tools.pipeline.fingerprints import fingerprint
from podcast_tools.scaffold import MASTER_PATTERNS
from tests.audio_tools import synth
from tests.conftest import REPO, edit, ffmpeg_logged, podcast
from tests.test_json_schemas import assert_valid
from tests.test_retag import packets

TITLE_FIX = "episodes/itsmwp/002-change-advisory-boards.md"
JINGLES = ("episodes/art/intro.mp3", "episodes/art/outro.mp3")  # the main show's
SHA = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393"
POINTER = f"version https://git-lfs.github.com/spec/v1\noid sha256:{SHA}\nsize 12345\n"


def git(cwd: Path, *args: str, skip_smudge: bool = True) -> str:
    env = {**os.environ, "GIT_LFS_SKIP_SMUDGE": "1" if skip_smudge else "0"}
    identity = ["-c", "user.name=Producer", "-c", "user.email=producer@test.invalid"]
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def audio_files(root: Path) -> list[Path]:
    """Every master and jingle of a checkout (the files Git LFS tracks)."""
    suffixes = {pattern.removeprefix("*") for pattern in MASTER_PATTERNS}
    return sorted(p for p in (root / "episodes").rglob("*") if p.suffix in suffixes)


def real_pointer(path: Path) -> str:
    """The pointer git-lfs itself writes for the file."""
    done = subprocess.run(
        ["git", "lfs", "pointer", f"--file={path}"], capture_output=True, text=True, check=True
    )
    return done.stdout


# --- the pointer itself -------------------------------------------------------------------------


def test_the_fingerprint_is_the_same_from_a_pointer_as_from_the_audio(sample: Path):
    """What lets an episode be current without its master: git-lfs's pointer names the sha256
    of the content, and every audio fingerprint reads it from there."""
    before = load_network(sample, checks=None)
    wanted = {e.guid: fingerprint(before, e) for e in before.episodes}
    for path in audio_files(sample):
        path.write_text(real_pointer(path))
    after = load_network(sample, checks=None)
    assert all(is_pointer(e.resolve(e.audio)) for e in after.episodes)
    assert {e.guid: fingerprint(after, e) for e in after.episodes} == wanted


MALFORMED = {
    "a short oid": (POINTER.replace(SHA, SHA[:40]), "oid is not sha256:<64 lowercase hex digits>"),
    "an upper-case oid": (POINTER.replace(SHA, SHA.upper()), "oid is not sha256"),
    "no size": (POINTER.replace("size 12345\n", ""), 'has no "size" line'),
    "no oid": (POINTER.replace(f"oid sha256:{SHA}\n", ""), 'has no "oid" line'),
    "a size that is no number": (POINTER.replace("12345", "12k"), "size is not a number"),
    "another version": (POINTER.replace("spec/v1", "spec/v2"), "does not start with version"),
    "keys out of order": (
        POINTER.replace(f"oid sha256:{SHA}\nsize 12345\n", f"size 12345\noid sha256:{SHA}\n"),
        "keys out of order",
    ),
    "Windows line breaks": (POINTER.replace("\n", "\r\n"), 'is not "key value"'),
    "no last line break": (POINTER.rstrip("\n"), "does not end with a line break"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_pointer_is_one_line_naming_the_file(sample: Path, case: str):
    text, reason = MALFORMED[case]
    master = sample / "episodes/itsmwp/001-incident-vs-problem.flac"
    master.write_bytes(text.encode())
    with pytest.raises(Exception) as caught:
        load_network(sample, checks=None)
    [problem] = caught.value.problems
    assert (problem.file, problem.field) == ("episodes/itsmwp/001-incident-vs-problem.md", "audio")
    assert problem.message.startswith(
        "episodes/itsmwp/001-incident-vs-problem.flac is a malformed Git LFS pointer: it "
    )
    assert reason in problem.message


def test_a_well_formed_pointer_parses_and_its_size_is_not_checked():
    # a pointer's size cannot be checked against content that is not there: only its form
    assert parse_pointer(POINTER.encode()).sha256 == SHA
    assert parse_pointer(POINTER.encode()).size == 12345
    extended = POINTER.replace("oid ", "ext-0-foo sha256:" + "b" * 64 + "\noid ")
    assert parse_pointer(extended.encode()).sha256 == SHA  # keys git-lfs may add, in order


@settings(max_examples=300, deadline=None)
@given(
    tail=st.one_of(
        st.binary(max_size=300),
        st.text(alphabet="v1\n\r :abcdefghijklmnopqrstuvwxyz0123456789-.", max_size=300).map(
            str.encode
        ),
    )
)
def test_anything_that_starts_like_a_pointer_parses_or_says_why(tail: bytes):
    """Whatever follows the first bytes of a pointer: a Pointer or one PointerError, nothing
    else (validation turns the error into one line)."""
    data = POINTER_START + tail
    try:
        pointer = parse_pointer(data)
    except PointerError as exc:
        assert str(exc)
    else:
        assert len(pointer.sha256) == 64 and pointer.size >= 0


# --- include patterns ---------------------------------------------------------------------------


def test_include_patterns_escape_what_git_lfs_reads_as_a_pattern():
    assert include_pattern("episodes/itsmwp/004-x.wav") == "episodes/itsmwp/004-x.wav"
    assert include_pattern("a/b*[1]?.wav") == r"a/b\*\[1]\?.wav"
    assert include_pattern("a/back\\slash.wav") == r"a/back\\slash.wav"
    assert include_pattern("!a.wav") == r"\!a.wav"
    assert include_argument(["a.wav", "b c.wav"]) == "a.wav,b c.wav"
    assert include_argument([]) == ""
    assert pull_command(["episodes/a.wav"]) == 'git lfs pull --include "episodes/a.wav"'
    assert pull_command(["a*.wav"]) == "git lfs pull --include 'a\\*.wav'"
    for impossible in ("a,b.wav", "a\nb.wav", " a.wav", "a.wav "):
        with pytest.raises(ValueError, match="rename the file"):
            include_pattern(impossible)


NAMES = ["plain.wav", "with space.wav", "star*.wav", "brackets[1].wav", "question?.wav", "ä.wav"]


@pytest.mark.slow
def test_each_pattern_fetches_exactly_its_file(tmp_path: Path):
    """git-lfs itself, on names with the characters its patterns treat specially."""
    work, origin = tmp_path / "work", tmp_path / "origin.git"
    work.mkdir()
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(work, "init", "-q", "-b", "main")
    git(work, "lfs", "install", "--local")
    git(work, "lfs", "track", "*.wav")
    for index, name in enumerate(NAMES):
        (work / "d").mkdir(exist_ok=True)
        (work / "d" / name).write_bytes(bytes([index]) * 2000)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "masters")
    git(work, "push", "-q", f"file://{origin}", "main")
    for name in NAMES:
        clone = tmp_path / f"clone-{NAMES.index(name)}"
        git(tmp_path, "clone", "-q", f"file://{origin}", str(clone))
        git(clone, "lfs", "pull", "--include", include_argument([f"d/{name}"]))
        fetched = [n for n in NAMES if not is_pointer(clone / "d" / n)]
        assert fetched == [name]


# --- a network whose masters live in Git LFS ------------------------------------------------------


@pytest.fixture(scope="module")
def lfs_origin(tmp_path_factory):
    """A repository holding the sample network with its audio in Git LFS (pushed to a bare
    repository on a file:// path), published once from a full checkout to a folder store."""
    base = tmp_path_factory.mktemp("lfs")
    work, origin = base / "work", base / "origin.git"
    shutil.copytree(REPO / "episodes", work / "episodes")
    shutil.copytree(REPO / "templates", work / "templates")
    (work / ".gitignore").write_text("/build/\n")
    git(base, "init", "-q", "--bare", "-b", "main", str(origin))
    git(work, "init", "-q", "-b", "main")
    git(work, "lfs", "install", "--local")
    git(work, "lfs", "track", *MASTER_PATTERNS)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "the network")
    git(work, "remote", "add", "origin", f"file://{origin}")
    git(work, "push", "-q", "origin", "main")
    tracked = git(work, "lfs", "ls-files", "--name-only").split()
    assert len(tracked) == len(audio_files(work)) == 11  # 7 masters, 4 jingles
    store, state = base / "store", base / "state"
    podcast(work, "publish", "--all", *where(store, state), ok=True)
    return origin, store, state


def where(store: Path, state: Path) -> list[str]:
    return ["--storage", f"file://{store}", "--state", f"file://{state}"]


@pytest.fixture
def checkout(lfs_origin, tmp_path: Path):
    """A clone without smudging (every master a pointer), as CI checks out with `lfs: false`,
    and a copy of the published store: (clone, --storage/--state arguments, store, state)."""
    shared, store, state = lfs_origin
    origin = tmp_path / "origin.git"  # this test's own: it may push to it
    shutil.copytree(shared, origin)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", f"file://{origin}", str(clone))
    shutil.copytree(store, tmp_path / "store")
    shutil.copytree(state, tmp_path / "state")
    assert all(is_pointer(path) for path in audio_files(clone))
    return clone, where(tmp_path / "store", tmp_path / "state"), tmp_path / "store"


def plan_of(clone: Path, args: list[str], *selection: str) -> dict:
    done = podcast(clone, "publish", "--plan", "--json", *selection, *args, ok=True)
    doc = json.loads(done.stdout)
    assert_valid("publish-plan", doc)
    return doc


def listing(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_validate_and_a_dry_run_pass_with_every_master_a_pointer(checkout, logged_ffmpeg: Path):
    clone, args, _ = checkout
    done = podcast(clone, "validate", ok=True, process=True, env=ffmpeg_logged(logged_ffmpeg))
    assert not logged_ffmpeg.exists()  # no pointer is decoded
    notes = [line for line in done.output.splitlines() if "Git LFS" in line]
    assert notes == [
        "note: 7 masters and 4 jingles are Git LFS pointers (not checked out): each is checked "
        "when a run needs its audio (`podcast publish --plan` lists what a run needs)"
    ]
    assert "no problems found" in done.stdout
    dry = podcast(clone, "publish", "--dry-run", "--all", *args, ok=True)
    assert "unchanged: 7 episode(s)" in dry.output
    halves = [plan_of(clone, args, "--all", "--shard", f"{k}/2") for k in (1, 2)]
    assert [h["fetch"] for h in halves] == [[], []]
    assert sorted(e["file"] for h in halves for e in h["episodes"]) == sorted(
        p.relative_to(clone).as_posix() for p in (clone / "episodes").glob("*/*.md")
    )
    assert {e["action"] for h in halves for e in h["episodes"]} == {"unchanged"}
    both = podcast(clone, "publish", "--plan", "--dry-run", *args)
    assert both.exit_code == 2 and "--plan runs nothing" in both.stderr


@pytest.mark.slow
def test_a_title_fix_fetches_nothing_and_publishes_with_transcripts_on(checkout):
    """The sample network makes machine transcripts: they are published and current, so
    nothing is recognised; the title fix re-tags the published audio fetched from storage."""
    clone, args, store = checkout
    assert "auto = true" in (clone / "episodes/network.toml").read_text()
    manifest = json.loads((store.parent / "state" / "manifest.json").read_text())
    entry = next(
        e for e in manifest["episodes"].values() if e["slug"] == "002-change-advisory-boards"
    )
    mp3 = store / next(a["key"] for a in entry["audio"] if a["key"].endswith(".mp3"))
    frames = packets(mp3)
    edit(clone / TITLE_FIX, "\ntitle: ", "\ntitle: Fixed — ")
    git(clone, "commit", "-q", "-am", "title fix")

    plan = plan_of(clone, args, "--changed-since", "HEAD~1")
    assert (plan["fetch"], plan["lfs_include"], plan["pointers"]) == ([], "", [])
    assert [(e["file"], e["action"], e["needs"]) for e in plan["episodes"]] == [
        (TITLE_FIX, "retag", [])
    ]
    human = podcast(clone, "publish", "--plan", "--changed-since", "HEAD~1", *args, ok=True)
    assert "nothing to fetch" in human.stdout

    done = podcast(clone, "publish", "--changed-since", "HEAD~1", *args, "--json", ok=True)
    summary = json.loads(done.stdout)
    assert summary["episodes_retagged"] == [TITLE_FIX] and summary["episodes_processed"] == []
    feed = (store / "itsmwp" / "feed.xml").read_text()
    assert "<title>Fixed — Do We Still Need a Change Advisory Board?" in feed
    manifest = json.loads((store.parent / "state" / "manifest.json").read_text())
    entry = next(
        e for e in manifest["episodes"].values() if e["slug"] == "002-change-advisory-boards"
    )
    retagged = store / next(a["key"] for a in entry["audio"] if a["key"].endswith(".mp3"))
    assert retagged != mp3 and packets(retagged) == frames  # the audio frames, byte for byte
    assert all(is_pointer(path) for path in audio_files(clone))  # nothing was fetched


def add_episode(clone: Path, tmp_path: Path) -> str:
    """A new episode of the main show (it has jingles), its generated master committed through
    Git LFS and pushed: its episode file."""
    recording = synth(
        tmp_path / "recording.wav",
        "0.3*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*3*t))",
        seconds=6,
        rate=44100,
    )
    git(clone, "lfs", "install", "--local")
    done = podcast(
        clone, "new", "itsmwp", "--title", "Fresh", "--audio", str(recording),
        "--date", "2026-12-01T09:00:00+00:00", ok=True,
    )  # fmt: skip
    episode = Path(done.stdout.strip().splitlines()[0])
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "-m", "a new episode")
    git(clone, "push", "-q", "origin", "HEAD:main")
    return episode.relative_to(clone).as_posix()


@pytest.fixture
def with_new_episode(checkout, tmp_path: Path):
    """A fresh clone (no smudging) of the repository after a new episode was pushed to it."""
    first, args, store = checkout
    episode = add_episode(first, tmp_path)
    clone = tmp_path / "again"
    git(tmp_path, "clone", "-q", git(first, "remote", "get-url", "origin").strip(), str(clone))
    master = episode.replace(".md", ".wav")
    assert is_pointer(clone / master)
    return clone, args, store, episode, master


@pytest.mark.slow
def test_a_new_episode_needs_exactly_its_master_and_jingles(with_new_episode):
    clone, args, store, episode, master = with_new_episode
    plan = plan_of(clone, args, "--changed-since", "HEAD~1")
    assert plan["fetch"] == sorted([master, *JINGLES])
    assert plan["pointers"] == plan["fetch"]
    assert plan["lfs_include"] == ",".join(plan["fetch"])
    assert plan["episodes"] == [
        {
            "file": episode,
            "action": "master",
            "reason": "not published yet",
            "needs": [master, *JINGLES],
        }
    ]

    git(clone, "lfs", "pull", "--include", plan["lfs_include"])
    fetched = {p.relative_to(clone).as_posix() for p in audio_files(clone) if not is_pointer(p)}
    assert fetched == set(plan["fetch"])  # every other master is still a pointer

    done = podcast(clone, "publish", "--changed-since", "HEAD~1", *args, "--json", ok=True)
    assert json.loads(done.stdout)["episodes_processed"] == [episode]
    assert "<title>Fresh</title>" in (store / "itsmwp" / "feed.xml").read_text()


@pytest.mark.slow
def test_publishing_a_new_episode_without_its_master_stops_before_uploading(with_new_episode):
    clone, args, store, episode, master = with_new_episode
    before = listing(store) | {f"state/{k}": v for k, v in listing(store.parent / "state").items()}
    dry = podcast(clone, "publish", "--dry-run", "--changed-since", "HEAD~1", *args, ok=True)
    include = ",".join(sorted([master, *JINGLES]))
    assert (
        f'needs the audio of 3 Git LFS pointer(s) first: git lfs pull --include "{include}"'
        in dry.output.splitlines()
    )
    done = podcast(clone, "publish", "--changed-since", "HEAD~1", *args)
    assert done.exit_code == 1
    lines = [line for line in done.stderr.splitlines() if not line.startswith("note: feeds")]
    assert lines[:3] == [
        f'{path}: a Git LFS pointer, not the audio; this run needs it: git lfs pull --include "{path}"'
        for path in sorted([master, *JINGLES])
    ]
    assert lines[3:] == ["3 problems in 3 file(s); nothing was written."]
    after = listing(store) | {f"state/{k}": v for k, v in listing(store.parent / "state").items()}
    assert after == before  # nothing uploaded, no manifest written


@pytest.mark.slow
@pytest.mark.parametrize("command", ["process", "transcribe"])
def test_process_and_transcribe_name_the_command_that_fetches_a_pointer(checkout, command: str):
    clone, _, _ = checkout
    master = "episodes/itsmwp/003-service-desk-metrics.opus"
    done = podcast(clone, command, "episodes/itsmwp/003-service-desk-metrics.md")
    assert done.exit_code == 1
    lines = done.stderr.strip().splitlines()
    assert [line for line in lines if "Git LFS" in line] == [
        f"{path}: a Git LFS pointer, not the audio; this run needs it: "
        f'git lfs pull --include "{path}"'
        for path in sorted([master, *JINGLES])
    ]
    assert not (clone / "build").exists() or not any((clone / "build").rglob("*.mp3"))
