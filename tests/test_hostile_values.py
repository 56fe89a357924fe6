"""Hostile values that validated on main and broke later (issue #20, items 4, 9, 11, 13, 15): a
folder store over the network's own folders, text that is not UTF-8, image bombs, URLs with line
breaks, invisible bidi controls. Each is refused by `podcast validate` in one line naming the file
and the field, with exit 1, so `publish` stops before anything is uploaded."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pytest

from tests.conftest import REPO, edit, podcast
from tests.memory import podcast_peak_mb

EPISODE = "episodes/itsmwp/003-service-desk-metrics.md"
TOML = "episodes/network.toml"


def refused(root: Path, file: str, field: str, *args: str, exit_code: int = 1) -> str:
    """Run `podcast validate` (or `args`): exit 1 and one short line about `file: field`."""
    result = podcast(root, *(args or ("validate",)))
    assert result.exit_code == exit_code, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{file}: {field}: ")]
    assert len(lines) == 1, result.stderr
    assert all(len(line) < 400 for line in result.stderr.splitlines()), result.stderr[:2000]
    return lines[0]


def add_front_matter(root: Path, lines: str, file: str = EPISODE) -> None:
    edit(root / file, "number: 3\n", f"number: 3\n{lines}\n")


# --- 4: a folder store over the network folder, episodes/ or build/ -------------------------------


@pytest.mark.parametrize(
    ("storage", "words"),
    [
        ("file://.", "network folder"),
        ("file://..", "network folder"),
        ("file://episodes", "episodes/"),
        ("file://episodes/itsmwp", "episodes/"),
        ("file://build", "build/"),
        ("file://build/site", "build/"),
        ("file://templates", "templates/"),
        ("file://public/../episodes", "episodes/"),
    ],
)
def test_a_folder_store_over_the_network_is_refused(sample: Path, storage: str, words: str):
    edit(sample / TOML, 'storage = "file://public"', f'storage = "{storage}"')
    line = refused(sample, TOML, "network.storage")
    assert storage in line and words in line


def test_a_folder_store_linked_to_episodes_is_refused(sample: Path):
    (sample / "public").symlink_to(sample / "episodes", target_is_directory=True)
    line = refused(sample, TOML, "network.storage")
    assert "episodes/" in line


def can_bind_mount() -> bool:
    """A private mount namespace (unshare -m) where a bind mount may be made: root on Linux."""
    import shutil
    import subprocess

    if shutil.which("unshare") is None:
        return False
    trial = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return trial.returncode == 0


@pytest.mark.skipif(not can_bind_mount(), reason="needs unshare -m (root) for a bind mount")
@pytest.mark.parametrize(
    ("mounted", "storage", "words"),
    [
        ("build", "file://public", "is the network's build/ folder"),
        ("episodes", "file://public/new", "lies in the network's episodes/ folder"),
        (".", "file://public", "is the network folder"),
    ],
    ids=["build", "in-episodes", "network"],
)
def test_a_folder_store_that_is_the_same_folder_by_another_name_is_refused(
    sample: Path, tmp_path: Path, mounted: str, storage: str, words: str
):
    """A path that names a network folder without resolving to its path (a bind mount here; a
    differently cased name on a case-insensitive file system): the same folder all the same."""
    import subprocess
    import sys

    (sample / "build").mkdir(exist_ok=True)
    (sample / "public").mkdir()
    edit(sample / TOML, 'storage = "file://public"', f'storage = "{storage}"')
    script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    child = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(sample / mounted), str(sample / "public"),
         sys.executable, "-m", "podcast_tools", "--root", str(sample), "validate"],
        env={**os.environ, "PYTHONPATH": str(REPO), "PODCAST_NO_CACHE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert child.returncode == 1, child.stderr
    lines = [l for l in child.stderr.splitlines() if l.startswith(f"{TOML}: network.storage: ")]
    assert len(lines) == 1 and storage in lines[0] and words in lines[0], child.stderr


@pytest.mark.parametrize("state", ["file://build/state", "file://episodes/.state", "file://."])
def test_a_folder_state_over_the_network_is_refused(sample: Path, state: str):
    storage = 'storage = "file://public"'
    edit(sample / TOML, storage, f'storage = "file://public"\nstate = "{state}"')
    assert state in refused(sample, TOML, "network.state")


def test_a_store_beside_the_network_folder_is_fine(sample: Path):
    edit(sample / TOML, 'storage = "file://public"', 'storage = "file://../public"')
    result = podcast(sample, "validate")
    assert result.exit_code == 0, result.output


def test_publish_to_the_episodes_folder_stops_before_anything_is_written(sample: Path):
    edit(sample / TOML, 'storage = "file://public"', 'storage = "file://episodes"')
    before = sorted(p.relative_to(sample) for p in (sample / "episodes").rglob("*"))
    refused(sample, TOML, "network.storage", "publish", str(sample / EPISODE))
    assert sorted(p.relative_to(sample) for p in (sample / "episodes").rglob("*")) == before
    assert not (sample / "episodes.state").exists()


@pytest.mark.parametrize("storage", ["file://build", "file://episodes"])
def test_publish_storage_option_over_the_network_is_refused(sample: Path, storage: str):
    result = podcast(sample, "publish", str(sample / EPISODE), "--storage", storage)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"--storage {storage}: "), result.stderr
    assert not (sample / "build").exists() or not any((sample / "build").rglob("*.mp3"))


# --- 9: text that UTF-8 cannot carry (lone surrogates from YAML escapes) --------------------------


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        (r'location: {name: "L \udfff"}', "location.name"),
        (
            'soundbites:\n  - start: 1\n    duration: 5\n    title: "Bite \\ud800"',
            "soundbites[1].title",
        ),
        (r'summary: "A pair \ud83d\ude00 written as two escapes"', "summary"),
        (r'"\udfff": 1', "\\udfff"),
    ],
)
def test_a_lone_surrogate_in_front_matter_is_refused(sample: Path, lines: str, field: str):
    add_front_matter(sample, lines)
    line = refused(sample, EPISODE, field)
    assert "UTF-8" in line


def test_a_lone_surrogate_in_the_title_is_refused(sample: Path):
    edit(sample / EPISODE, "title: Service Desk Metrics That Matter", r'title: "Metrics \udfff"')
    assert "U+DFFF" in refused(sample, EPISODE, "title")


@pytest.mark.parametrize(
    "written",
    ["Service \\udfff Metrics", "Service \\uDFFF Metrics", "Service \udfff Metrics"],
    ids=["escape", "escape-upper-case", "raw-surrogate"],
)
def test_a_lone_surrogate_from_the_validation_cache_is_refused(sample: Path, written: str):
    import json

    assert podcast(sample, "validate").exit_code == 0
    cache = sample / "build" / ".cache" / "validation.json"
    data = json.loads(cache.read_text())
    [key] = [k for k in data["entries"] if k.startswith("front matter") and k.endswith(EPISODE)]
    entry = data["entries"][key]
    entry[1] = entry[1].replace("Service Desk Metrics", written)
    cache.write_text(json.dumps(data))
    assert "U+DFFF" in refused(sample, EPISODE, "title")


def test_a_surrogate_escape_in_network_toml_is_one_line(sample: Path):
    # TOML itself refuses "\uD800" (not a Unicode scalar value): one line naming the position
    edit(sample / TOML, 'name = "IT Service Management Weekly"', r'name = "IT \uD800"')
    result = podcast(sample, "validate")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{TOML}: line ") and "cannot parse TOML" in result.stderr


def test_publish_with_a_lone_surrogate_stops_before_anything_is_written(sample: Path):
    add_front_matter(sample, r'location: {name: "L \udfff"}')
    refused(sample, EPISODE, "location.name", "publish", str(sample / EPISODE))
    assert not (sample / "public").exists() and not (sample / "public.state").exists()


# --- 13: URLs with whitespace or control characters; base_url with a query ------------------------


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            'podcast_guid = "34e9535d',
            'enclosure_prefix = "https://op3.dev/e\\r\\nX: y/"\npodcast_guid = "34e9535d',
            "network.enclosure_prefix",
        ),
        (
            'podcast_guid = "34e9535d',
            'enclosure_prefix = "https://op3.dev/e /"\npodcast_guid = "34e9535d',
            "network.enclosure_prefix",
        ),
        (
            'podcast_guid = "34e9535d',
            'enclosure_prefix = "https://op3.dev/e/?x"\npodcast_guid = "34e9535d',
            "network.enclosure_prefix",
        ),
        (
            'base_url = "https://media.itsmweekly.example/"',
            'base_url = "https://media.itsmweekly.example/?v=1"',
            "network.base_url",
        ),
        (
            'base_url = "https://media.itsmweekly.example/"',
            'base_url = "https://media.itsmweekly.example/#top"',
            "network.base_url",
        ),
        (
            'base_url = "https://media.itsmweekly.example/"',
            'base_url = "https://media.itsmweekly.example/\\t"',
            "network.base_url",
        ),
        (
            'link = "https://itsmweekly.example/anz/"',
            'link = "https://itsmweekly.example/anz/\\u2028"',
            "shows.itsmwp-anz.link",
        ),
        (
            'link = "https://itsmweekly.example/row/"',
            'link = "https://itsmweekly.example/row/"\n'
            'platforms = { apple = "https://podcasts.apple.com/x\\ny" }',
            "shows.itsmwp-row.platforms.apple",
        ),
        (
            'link = "https://itsmweekly.example/row/"',
            'link = "https://itsmweekly.example/row/"\n'
            'funding = [{ url = "https://pay.example/ x" }]',
            "shows.itsmwp-row.funding[1].url",
        ),
    ],
)
def test_a_url_with_whitespace_control_or_query_is_refused(sample: Path, old, new, field):
    edit(sample / TOML, old, new)
    line = refused(sample, TOML, field)
    assert "\r" not in line and "\t" not in line


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        (
            'chapters:\n  - start: 0\n    title: A\n    url: "https://x.example/\\r\\nX: y"',
            "chapters[1].url",
        ),
        ('persons:\n  - name: Sam\n    href: "https://x.example/ sam"', "persons[1].href"),
    ],
)
def test_an_episode_url_with_a_line_break_or_space_is_refused(sample: Path, lines, field):
    text = (sample / EPISODE).read_text()
    start, end = text.index("chapters:"), text.index("---", 4)
    (sample / EPISODE).write_text(text[:start] + lines + "\n" + text[end:])
    refused(sample, EPISODE, field)


# --- 15: invisible bidi overrides, embeddings and isolates in one-line text -----------------------


@pytest.mark.parametrize("control", ["\u202e", "\u202a", "\u2066", "\u2069", "\ufeff"])
def test_a_bidi_control_in_an_episode_title_is_refused(sample: Path, control: str):
    edit(
        sample / EPISODE,
        "title: Service Desk Metrics That Matter",
        f"title: Service Desk {control}srettaM scirteM",
    )
    line = refused(sample, EPISODE, "title")
    assert f"U+{ord(control):04X}" in line
    assert control not in line  # shown as its code point, never reordering the terminal line


@pytest.mark.parametrize(
    ("file", "old", "new", "field"),
    [
        (
            TOML,
            'title = "IT Service Management Weekly Podcast"',
            'title = "IT Service \\u202EManagement"',
            "shows.itsmwp.title",
        ),
        (
            TOML,
            'author = "IT Service Management Weekly"',
            'author = "IT \\u202DWeekly"',
            "defaults.author",
        ),
        (
            EPISODE,
            "    title: Short surveys",
            '    title: "Short \\u2067surveys"',
            "chapters[3].title",
        ),
    ],
)
def test_a_bidi_control_in_any_one_line_text_is_refused(sample: Path, file, old, new, field):
    edit(sample / file, old, new)
    assert "U+20" in refused(sample, file, field)


def test_bidi_control_in_a_soundbite_title_or_person_is_refused(sample: Path):
    add_front_matter(
        sample,
        'soundbites:\n  - start: 1\n    duration: 5\n    title: "Bite \\u202e"\n'
        'persons:\n  - name: "Sam \\u2068Guest"',
    )
    result = podcast(sample, "validate")
    assert result.exit_code == 1
    assert f"{EPISODE}: soundbites[1].title: " in result.stderr
    assert f"{EPISODE}: persons[1].name: " in result.stderr


@pytest.mark.parametrize(
    ("title", "words"), [("Bidi \u202e title", "U+202E"), ("Bad \udcff", "UTF-8")]
)
def test_new_refuses_a_title_that_would_not_validate(sample: Path, title: str, words: str):
    result = podcast(sample, "new", "itsmwp", "--title", title)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("--title ") and words in result.stderr, result.stderr
    assert not list((sample / "episodes/itsmwp").glob("004-*"))


def test_right_to_left_titles_with_marks_still_validate(sample: Path):
    edit(
        sample / EPISODE,
        "title: Service Desk Metrics That Matter",
        'title: "مقاييس مكتب الخدمة \u200f(ITSM)\u200f"',
    )
    edit(sample / EPISODE, "    title: Introduction", '    title: "מבוא \u200e3\u200e"')
    edit(
        sample / TOML,
        'title = "IT Service Management Weekly: Rest of World"',
        'title = "ITSM Weekly: فارسی\u200cها '
        '🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"',  # England's flag
    )
    result = podcast(sample, "validate")
    assert result.exit_code == 0, result.output


# --- 11: image bombs, refused by their header before any pixel is decoded -------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(path: Path, width: int, height: int) -> None:
    """A real small PNG whose IHDR (CRC fixed) claims width × height pixels."""
    from PIL import Image

    Image.new("RGB", (8, 8)).save(path)
    data = bytearray(path.read_bytes())
    assert data[12:16] == b"IHDR"
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[8:33] = png_chunk(b"IHDR", ihdr)
    path.write_bytes(bytes(data))


def jpeg_claiming(path: Path, width: int, height: int) -> None:
    """A real small JPEG whose frame header (SOF0) claims width × height pixels."""
    from PIL import Image

    Image.new("RGB", (16, 16), (200, 10, 10)).save(path, "JPEG")
    data = bytearray(path.read_bytes())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))


def blank_png(path: Path, side: int) -> None:
    """A black side × side RGB PNG, written row by row (never the whole image in memory)."""
    compress = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * side)
    idat = b"".join(compress.compress(row) for _ in range(side)) + compress.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


BOMBS = {
    "png-30000": lambda path: png_claiming(path, 30000, 30000),
    "png-wide": lambda path: png_claiming(path, 200_000, 1400),
    "jpeg-65000": lambda path: jpeg_claiming(path, 65000, 65000),
}


def bomb_path(sample: Path, kind: str, name: str) -> Path:
    suffix = ".jpg" if kind.startswith("jpeg") else ".png"
    return sample / "episodes" / "itsmwp" / "art" / f"{name}{suffix}"


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_bomb_as_show_artwork_is_one_line(sample: Path, kind: str):
    path = bomb_path(sample, kind, "bomb")
    BOMBS[kind](path)
    edit(sample / TOML, 'artwork = "art/cover.png"', f'artwork = "itsmwp/art/{path.name}"')
    result = podcast(sample, "validate")
    assert result.exit_code == 1, result.output
    shown = path.relative_to(sample).as_posix()
    lines = [line for line in result.stderr.splitlines() if line.startswith(shown)]
    assert len(lines) == 1 and "px" in lines[0], result.stderr


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_a_bomb_as_episode_or_chapter_image_is_one_line(sample: Path, kind: str):
    image, chapter = bomb_path(sample, kind, "003"), bomb_path(sample, kind, "003-chapter")
    BOMBS[kind](image)
    BOMBS[kind](chapter)
    add_front_matter(sample, f"image: art/{image.name}")
    edit(
        sample / EPISODE,
        "    title: Short surveys",
        f"    title: Short surveys\n    image: art/{chapter.name}",
    )
    result = podcast(sample, "validate")
    assert result.exit_code == 1, result.output
    assert f"{EPISODE}: chapters[3].image: " in result.stderr
    shown = image.relative_to(sample).as_posix()
    assert any(line.startswith(shown) for line in result.stderr.splitlines()), result.stderr


def test_fix_artwork_leaves_a_bomb_alone(sample: Path):
    path = bomb_path(sample, "png", "bomb")
    png_claiming(path, 30000, 30000)
    edit(sample / TOML, 'artwork = "art/cover.png"', 'artwork = "itsmwp/art/bomb.png"')
    result = podcast(sample, "validate", "--fix-artwork")
    assert result.exit_code == 1
    assert "cannot be fixed" in result.stderr
    assert not list(path.parent.glob("bomb.fixed*"))


def peak_rss_mb(*args: str, tmp_path: Path) -> tuple[int, str, float]:
    """Run `podcast ARGS` in a child process: (exit code, stderr, its own peak RSS in MB)."""
    env = {"PYTHONPATH": str(REPO), "PODCAST_NO_CACHE": "1"}
    child, peak = podcast_peak_mb(*args, scratch=tmp_path, env=env)
    return child.returncode, child.stderr, peak


@pytest.mark.slow
@pytest.mark.parametrize("fix", [False, True], ids=["validate", "fix-artwork"])
def test_a_12000_px_png_is_refused_without_decoding_it(sample: Path, fix: bool, tmp_path: Path):
    path = sample / "episodes" / "art" / "cover.png"
    blank_png(path, 12000)
    assert path.stat().st_size < 1_000_000  # a few hundred KB that decode to 432 MB
    code, stderr, peak = peak_rss_mb(
        "--root", str(sample), "validate", *(["--fix-artwork"] if fix else []), tmp_path=tmp_path
    )
    assert code == 1, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("episodes/art/cover.png: ")]
    assert [line for line in lines if "12000×12000" in line] == lines[-1:], stderr
    assert not (path.parent / "cover.fixed.png").exists()
    assert peak < 200, f"validate peaked at {peak:.0f} MB"


def ico_holding(path: Path, png: bytes) -> None:
    """An ICO file whose one directory entry says 256×256 px but holds `png` (of any size)."""
    entry = struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 6 + 16)  # 0 means 256
    path.write_bytes(struct.pack("<HHH", 0, 1, 1) + entry + png)


@pytest.mark.slow
def test_an_ico_holding_a_12000_px_png_is_refused_without_decoding_it(sample: Path, tmp_path: Path):
    big = tmp_path / "big.png"
    blank_png(big, 12000)
    path = sample / "episodes" / "art" / "cover.png"
    ico_holding(path, big.read_bytes())
    code, stderr, peak = peak_rss_mb("--root", str(sample), "validate", tmp_path=tmp_path)
    assert code == 1, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("episodes/art/cover.png: ")]
    assert len(lines) == 1 and "is ICO data" in lines[0] and "PNG or JPEG" in lines[0], stderr
    assert peak < 200, f"validate peaked at {peak:.0f} MB"


@pytest.mark.slow
def test_an_eps_named_png_is_refused_without_starting_ghostscript(sample: Path, tmp_path: Path):
    bin_dir, started = tmp_path / "bin", tmp_path / "gs-started"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(f"#!/bin/sh\ntouch {started}\nexit 1\n")
    (bin_dir / "gs").chmod(0o755)
    path = sample / "episodes" / "art" / "cover.png"
    path.write_bytes(
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 2000 2000\n"
        b"newpath 0 0 moveto 2000 2000 lineto stroke\nshowpage\n%%EOF\n"
    )
    env = {"PYTHONPATH": str(REPO), "PODCAST_NO_CACHE": "1"}
    env["PATH"] = f"{bin_dir}:{os.environ['PATH']}"
    child, _ = podcast_peak_mb("--root", str(sample), "validate", scratch=tmp_path, env=env)
    assert child.returncode == 1, child.stderr
    lines = [l for l in child.stderr.splitlines() if l.startswith("episodes/art/cover.png: ")]
    assert len(lines) == 1 and "is EPS data" in lines[0], child.stderr
    assert not started.exists(), "Ghostscript was started on an untrusted file"
