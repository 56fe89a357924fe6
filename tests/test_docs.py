"""The user guide (docs/, MkDocs with Material) stays whole and true: it builds with
`mkdocs build --strict` (every internal link and anchor checked), every page is in the nav, the
README — the front door — stays short and links into every section of the guide, and the reference
pages name every command, option and setting the code has."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
README = REPO / "README.md"
README_MAX_LINES = 300


def load_config() -> dict:
    return yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))


def nav_pages(entries: list) -> list[str]:
    """Every page file the nav names, in order."""
    found = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        found.extend(nav_pages(value) if isinstance(value, list) else [value])
    return found


def guide_pages() -> list[str]:
    """Every Markdown page under docs/ that MkDocs builds (docs/tools/ is excluded)."""
    return sorted(
        path.relative_to(DOCS).as_posix()
        for path in DOCS.rglob("*.md")
        if path.relative_to(DOCS).parts[0] != "tools"
    )


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def reference_module():
    spec = importlib.util.spec_from_file_location("docs_reference", DOCS / "tools" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the build ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_guide_builds_strict_and_offline(tmp_path: Path):
    site = tmp_path / "site"
    result = mkdocs_build(REPO / "mkdocs.yml", site)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" not in result.stderr, result.stderr[-3000:]
    for page in nav_pages(load_config()["nav"]):
        # use_directory_urls: content.md is content/index.html, index.md is index.html
        built = site / page.removesuffix(".md").removesuffix("index") / "index.html"
        assert built.is_file(), f"{page} was not built"
    # Nothing a page loads comes from elsewhere: no web fonts, no CDN scripts or styles.
    outside = re.compile(r"<(?:script|link)\b[^>]*(?:src|href)=\"(?:https?:)?//", re.I)
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert not outside.search(text), f"{html.relative_to(site)} loads something from elsewhere"
        assert "fonts.googleapis" not in text and "fonts.gstatic" not in text, html


@pytest.mark.slow
def test_a_broken_link_or_anchor_fails_the_build(tmp_path: Path):
    """The strict build is what catches broken links: prove it does, on a copy of the guide with
    a link to a missing page and one to a missing anchor."""
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    page = tmp_path / "docs" / "index.md"
    broken = "[gone](no-such-page.md) and [gone too](content.md#no-such-anchor)"
    page.write_text(page.read_text(encoding="utf-8") + f"\n{broken}\n", encoding="utf-8")
    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0, "broken links did not fail the build"
    assert "'no-such-page.md'" in result.stderr, result.stderr[-2000:]
    assert "'#no-such-anchor'" in result.stderr, result.stderr[-2000:]


def test_the_build_fetches_nothing():
    """Material's own search only; no plugin that fetches (social cards, privacy downloads, git
    revision dates), and no web fonts."""
    config = load_config()
    assert config["plugins"] == ["search"]
    assert config["theme"]["name"] == "material"
    assert config["theme"]["font"] is False
    assert config["docs_dir"] == "docs"
    validation = config["validation"]
    assert validation["links"]["not_found"] == validation["links"]["anchors"] == "warn"
    assert validation["nav"]["omitted_files"] == "warn"


# --- the pages and the README ------------------------------------------------------------------


def test_every_page_is_in_the_nav():
    named = nav_pages(load_config()["nav"])
    assert sorted(set(named)) == sorted(named), "a page is in the nav twice"
    missing = sorted(set(guide_pages()) - set(named))
    assert missing == [], f"pages in docs/ but not in mkdocs.yml's nav: {missing}"
    absent = sorted(set(named) - set(guide_pages()))
    assert absent == [], f"the nav names pages that do not exist: {absent}"


def readme_links() -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(r"\]\((docs/[^)#\s]+)(?:#[^)]*)?\)", text)


def test_the_readme_is_the_front_door():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines (at most 300)"
    for link in readme_links():
        assert (REPO / link).is_file(), f"README.md links to {link}, which does not exist"


def test_the_readme_links_to_every_section_of_the_guide():
    linked = {link.removeprefix("docs/") for link in readme_links()}
    for entry in load_config()["nav"]:
        ((title, value),) = entry.items()
        pages = nav_pages(value) if isinstance(value, list) else [value]
        assert linked & set(pages), f"README.md links to no page of the guide's section {title!r}"


def test_the_readmes_images_are_the_screenshots_in_docs():
    text = README.read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', text)
    assert len(images) == 4
    for image in images:
        assert image.startswith("docs/") and (REPO / image).is_file(), image


# --- the reference -----------------------------------------------------------------------------


def command_sections() -> dict[str, str]:
    """`podcast <path>` → the text of its section in docs/reference/commands.md."""
    text = (DOCS / "reference" / "commands.md").read_text(encoding="utf-8")
    parts = re.split(r"^## (podcast(?: [a-z-]+)*)\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def all_commands() -> list[tuple[str, object]]:
    import typer.main

    from podcast_tools.cli import app

    root = typer.main.get_command(app)
    found = [("podcast", root)]

    def walk(group, prefix):
        for name, command in group.commands.items():
            if not getattr(command, "hidden", False):
                found.append((f"{prefix} {name}", command))
                if hasattr(command, "commands"):
                    walk(command, f"{prefix} {name}")

    walk(root, "podcast")
    return found


def test_the_command_reference_names_every_command_and_option():
    sections = command_sections()
    commands = all_commands()
    assert len(commands) > 10
    for path, command in commands:
        assert path in sections, f"docs/reference/commands.md has no section for `{path}`"
        for param in command.params:
            if param.param_type_name == "argument":
                name = param.metavar or param.name.upper()
                assert name in sections[path], f"`{path}`: argument {name} is not described"
            else:
                for option in param.opts + param.secondary_opts:
                    assert f"`{option}" in sections[path], f"`{path}`: {option} is not described"


def test_the_settings_reference_names_every_field():
    from podcast_tools.content import models

    text = (DOCS / "reference" / "settings.md").read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    sections = dict(zip(parts[1::2], parts[2::2]))
    wanted = {
        "`[network]`": models.NetworkSettings,
        "Shows: `[shows.<id>]` and `[defaults]`": models.Show,
        "An episode's front matter": models.Episode,
    }
    for title, model in wanted.items():
        assert title in sections, f"docs/reference/settings.md has no section {title!r}"
        for field in model.model_fields:
            assert f"| `{field}` |" in sections[title], f"{model.__name__}.{field} is not described"


def test_the_reference_pages_are_written_from_the_code():
    """docs/tools/reference.py writes the two pages; they must be what it writes today."""
    reference = reference_module()
    for path, text in reference.pages().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"{path.relative_to(REPO)} differs from the code: run python docs/tools/reference.py"
        )
