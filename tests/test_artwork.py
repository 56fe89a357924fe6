"""Artwork rules (JPEG/PNG matching the extension, RGB, square, 1400–3000 px) and --fix-artwork."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from podcast_tools.artwork import artwork_problems, fixed_copy, site_icons
from podcast_tools.cli import app
from tests.conftest import find_problem, problems_of

TOML = "episodes/network.toml"


def image(path: Path, size: tuple[int, int], mode: str = "RGB", fmt: str | None = None) -> Path:
    colour = {
        "RGB": (10, 120, 200),
        "RGBA": (10, 120, 200, 255),
        "CMYK": (0, 50, 100, 0),
        "L": 128,
    }[mode]
    Image.new(mode, size, colour).save(path, fmt or ("PNG" if path.suffix == ".png" else "JPEG"))
    return path


@pytest.mark.parametrize(
    ("name", "size", "mode", "fmt", "words"),
    [
        ("small.png", (1200, 1200), "RGB", None, "1200×1200 px; Apple needs 1400–3000 px square"),
        ("wide.jpg", (2000, 1500), "RGB", None, "2000×1500 px"),
        ("huge.png", (3200, 3200), "RGB", None, "use --fix-artwork"),
        ("cmyk.jpg", (1400, 1400), "CMYK", None, "is CMYK; Apple needs RGB"),
        ("alpha.png", (1400, 1400), "RGBA", None, "is RGBA"),
        ("liar.png", (1400, 1400), "RGB", "JPEG", "JPEG data in a .png file"),
    ],
)
def test_each_rule(tmp_path: Path, name, size, mode, fmt, words):
    problems = artwork_problems(image(tmp_path / name, size, mode, fmt))
    assert any(words in p for p in problems), problems


def test_good_art_has_no_problems(tmp_path: Path):
    assert artwork_problems(image(tmp_path / "ok.jpg", (1400, 1400))) == []
    assert artwork_problems(image(tmp_path / "ok.png", (3000, 3000))) == []


def test_not_an_image(tmp_path: Path):
    path = tmp_path / "cover.png"
    path.write_text("no")
    assert artwork_problems(path) == ["is not a JPEG or PNG image"]


def test_validate_names_the_image_file(sample: Path):
    image(sample / "episodes/itsmwp-anz/art/cover.jpg", (1200, 1200))
    problem = find_problem(problems_of(sample), "episodes/itsmwp-anz/art/cover.jpg", "")
    assert (
        str(problem) == "episodes/itsmwp-anz/art/cover.jpg: 1200×1200 px; Apple needs 1400–3000 px "
        "square; it needs new art"
    )


def test_episode_image_is_checked(sample: Path):
    image(sample / "episodes/itsmwp/ep1.png", (1400, 1400), "L")
    episode = sample / "episodes/itsmwp/001-incident-vs-problem.md"
    episode.write_text(episode.read_text().replace("number: 1\n", "number: 1\nimage: ep1.png\n"))
    assert (
        "is L; Apple needs RGB"
        in find_problem(problems_of(sample), "episodes/itsmwp/ep1.png", "").message
    )


def test_fix_artwork_writes_a_copy_never_touches_the_original(sample: Path):
    original = image(sample / "episodes/itsmwp-anz/art/cover.jpg", (3200, 3200), "CMYK")
    before = original.read_bytes()
    result = CliRunner().invoke(app, ["--root", str(sample), "validate", "--fix-artwork"])
    assert result.exit_code == 1  # still invalid until network.toml points at the copy
    fixed = sample / "episodes/itsmwp-anz/art/cover.fixed.jpg"
    assert "wrote episodes/itsmwp-anz/art/cover.fixed.jpg" in result.stderr
    assert original.read_bytes() == before
    assert artwork_problems(fixed) == []
    toml = sample / TOML
    toml.write_text(
        toml.read_text().replace("itsmwp-anz/art/cover.jpg", "itsmwp-anz/art/cover.fixed.jpg")
    )
    assert CliRunner().invoke(app, ["--root", str(sample), "validate"]).exit_code == 0


def test_small_art_cannot_be_fixed(tmp_path: Path):
    assert fixed_copy(image(tmp_path / "small.png", (800, 800))) is None


def test_art_fix_artwork_cannot_fix_is_never_sent_to_it(sample: Path):
    """Small CMYK art: `--fix-artwork` says it cannot fix it, and the same run must not then tell
    the producer to use --fix-artwork for it (it said both)."""
    image(sample / "episodes/itsmwp-anz/art/cover.jpg", (1000, 1000), "CMYK")
    result = CliRunner().invoke(app, ["--root", str(sample), "validate", "--fix-artwork"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "art/cover.jpg" in line]
    assert any("needs new art" in line for line in lines), lines
    assert not [line for line in lines if "use --fix-artwork" in line], lines


@pytest.mark.parametrize("mode", ["P", "L", "RGB"])
def test_an_icon_keeps_the_transparency_of_a_key_colour(tmp_path: Path, mode: str):
    """Review of issue 25 item 10: a palette (or grey, or RGB) PNG whose transparency is a key
    colour (tRNS) lost it in the site's icon: its clear corners turned black."""
    art = Image.new("RGB", (400, 400), (0, 0, 0))
    art.paste((200, 30, 30), (100, 100, 300, 300))  # an opaque square on a clear field
    if mode == "P":
        art = art.quantize(colors=4)
        key = art.getpixel((0, 0))
    else:
        art = art.convert(mode)
        key = art.getpixel((0, 0))
    path = tmp_path / "cover.png"
    art.save(path, transparency=key)
    with Image.open(path) as check:
        assert check.mode == mode and "transparency" in check.info
    png, ico = site_icons(path)
    for data in (png, ico):
        with Image.open(io.BytesIO(data)) as icon:
            rgba = icon.convert("RGBA")
            assert rgba.getpixel((2, 2))[3] == 0, mode  # clear corner
            middle = rgba.width // 2
            assert rgba.getpixel((middle, middle))[3] == 255, mode
