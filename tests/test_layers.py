"""The layers of the package (docs/architecture.md): a module imports only from its own layer or
the layers below it — every import, also those inside functions, read from the source."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "podcast_tools"

#: Bottom to top. A module's layer is that of its longest listed prefix.
LAYERS: list[tuple[str, ...]] = [
    (
        "podcast_tools",  # the package's face: __version__ only
        "podcast_tools.errors",
        "podcast_tools.fsutil",
        "podcast_tools.factcache",  # pure storage: the validation cache's file
        "podcast_tools.layout",
        "podcast_tools.locations",  # storage URLs: the one parser (validation and publish)
        "podcast_tools.mediatypes",
        "podcast_tools.jsonout",
        "podcast_tools.clihelp",
        "podcast_tools.artwork",
        "podcast_tools.ffmpeg",  # the one ffmpeg adapter: the tag writers (M4A chapters) run it
        "podcast_tools.formats",  # the format table: content validates bitrates with it
        "podcast_tools.workflow",  # the CI workflow's template and podcast-tools.txt
        "podcast_tools.lfs",  # Git LFS pointers: content accepts them for masters and jingles
    ),
    ("podcast_tools.content",),
    ("podcast_tools.artifacts",),  # derived files and the one transcript resolver
    ("podcast_tools.tags", "podcast_tools.notes", "podcast_tools.transcript"),
    ("podcast_tools.audio", "podcast_tools.feed"),
    ("podcast_tools.record",),
    ("podcast_tools.search",),  # the website's search index (Pagefind), from plain records
    ("podcast_tools.site",),  # the website's pages from records (pipeline serves them)
    (
        "podcast_tools.media_checks",
        "podcast_tools.pipeline",  # the package's docstring; its modules are the layers below
        "podcast_tools.report",
        "podcast_tools.scaffold",
        "podcast_tools.importer",  # `podcast import`: a show moved in from another host
    ),
    # the pipeline's modules, each importing only those before it
    ("podcast_tools.pipeline.settings",),
    ("podcast_tools.pipeline.fingerprints",),
    ("podcast_tools.pipeline.transcripts",),  # machine transcripts: producers + recognition
    ("podcast_tools.pipeline.builds",),
    ("podcast_tools.pipeline.process",),
    ("podcast_tools.pipeline.previews",),
    ("podcast_tools.pipeline.drafts",),
    ("podcast_tools.publish", "podcast_tools.preview"),
    ("podcast_tools.cli", "podcast_tools.__main__"),
]


def layer_of(module: str) -> int:
    best, found = -1, None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    assert found is not None, f"{module} is in no layer: add it to LAYERS and docs/architecture.md"
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "podcast_tools":
                # `from podcast_tools import x`: x may be a module
                for alias in node.names:
                    candidate = PACKAGE / alias.name
                    if candidate.with_suffix(".py").is_file() or candidate.is_dir():
                        found.append((node.lineno, f"podcast_tools.{alias.name}"))
                    else:
                        found.append((node.lineno, "podcast_tools"))
            elif node.module.startswith("podcast_tools."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name) for a in node.names if a.name.startswith("podcast_tools")
            ]
    return found


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = module_name(path)
        own = layer_of(name)
        for line, target in imports_of(path):
            if layer_of(target) > own:
                upward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
    assert upward == [], "imports that point up a layer:\n" + "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path: Path):
    # the test above would catch one: the content layer importing the audio layer
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from podcast_tools.audio.probe import probe_duration\n")
    [(line, target)] = imports_of(probe)
    assert (line, target) == (2, "podcast_tools.audio.probe")
    assert layer_of(target) > layer_of("podcast_tools.content.loader")
