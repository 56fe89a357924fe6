"""The CI publishing workflow and the pip requirements file it installs podcast_tools from.

One template (`data/publish.yml.in`) renders both workflows there are: a network repository's
(written by `podcast init`, rewritten by `podcast upgrade-workflow`), which installs podcast_tools
at the exact version that wrote it from `podcast-tools.txt`, and this project's own
`.github/workflows/publish.yml`, which installs the checkout (tests/test_workflow.py checks that it
equals its rendering, so the two never drift).

A network's workflow starts with a header naming the version and a sha256 of everything else in
the file: a file whose content no longer matches it was edited by hand, and `upgrade-workflow`
leaves it alone without --force.

>>> text = render_network_workflow("1.2.3")
>>> header_of(text)
('1.2.3', True)
>>> header_of(text.replace("hourly", "every hour"))
('1.2.3', False)
>>> requirement_line("podcast_tools[transcribe] == 0.9  # ours")
('[transcribe]', '0.9')
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path

from podcast_tools import __version__
from podcast_tools.errors import UsageError
from podcast_tools.fsutil import write_text_atomic

WORKFLOW_FILE = Path(".github/workflows/publish.yml")
REQUIREMENTS_FILE = Path("podcast-tools.txt")
NETWORK_INSTALL = "python -m pip install -r podcast-tools.txt"
#: How this project's own workflow installs the tool: from the checkout, with its pins.
CHECKOUT_INSTALL = (
    "python -m pip install -c constraints.txt '.[transcribe]'  # + offline speech recognition"
)
TRANSCRIBE_EXTRA = "transcribe"

_MARK = "# podcast_tools-workflow:"
_MARK_LINE = re.compile(r"^# podcast_tools-workflow: (\S+) sha256:([0-9a-f]{64})$", re.M)
_REQUIREMENT = re.compile(r"^\s*podcast[-_.]tools\s*(\[[^\]]*\])?\s*==\s*([^\s;#]+)", re.I | re.M)
_PINS_BEGIN = "# -- the versions of its dependencies podcast_tools"
_PINS_END = "# -- end of the tested versions"


def _template() -> str:
    return (resources.files("podcast_tools") / "data" / "publish.yml.in").read_text("utf-8")


def _render(header: str, install: str, install_file: str, push_paths: list[str]) -> str:
    also = "".join(f" or {p}" for p in push_paths[2:])
    values = {
        "HEADER": header,
        "PUSH_ALSO": also,
        "PUSH_PATHS": ", ".join(f'"{p}"' for p in push_paths),
        "INSTALL_FILE": install_file,
        "INSTALL": install,
    }
    text = re.sub(r"@@([A-Z_]+)@@", lambda m: values[m.group(1)], _template())
    assert "@@" not in text
    return text


def render_checkout_workflow() -> str:
    """This project's own `.github/workflows/publish.yml` (it publishes the sample network)."""
    header = (
        "# Rendered from podcast_tools/data/publish.yml.in (as `podcast init` writes a network's,\n"
        "# installing this checkout instead of a released version); tests/test_workflow.py checks\n"
        "# that it is. Edit the template, then:\n"
        "#   python -c 'import podcast_tools.workflow as w; w.write_checkout_workflow(\".\")'"
    )
    return _render(header, CHECKOUT_INSTALL, "constraints.txt", ["episodes/**", "templates/**"])


def write_checkout_workflow(repository: str | Path) -> Path:
    path = Path(repository) / WORKFLOW_FILE
    write_text_atomic(path, render_checkout_workflow())
    return path


def render_network_workflow(version: str = __version__) -> str:
    """A network repository's workflow, for podcast_tools `version`, with its header."""
    header = (
        f"# Written by podcast_tools {version}. `podcast upgrade-workflow` rewrites it (and\n"
        f"# {REQUIREMENTS_FILE}) for the version you run; it leaves a file edited by hand alone\n"
        "# unless you pass --force (then make your edits again)."
    )
    body = _render(
        header,
        f"{NETWORK_INSTALL}  # the version that wrote this file",
        REQUIREMENTS_FILE.as_posix(),
        ["episodes/**", "templates/**", REQUIREMENTS_FILE.as_posix()],
    )
    return f"{_MARK} {version} sha256:{_digest(body)}\n{body}"


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def header_of(text: str) -> tuple[str, bool] | None:
    """(the version that wrote a network workflow, whether it is as written); None: no header."""
    match = _MARK_LINE.match(text)
    if not match:
        return None
    body = text[match.end() + 1 :]
    return match.group(1), _digest(body) == match.group(2)


# -- podcast-tools.txt ---------------------------------------------------------------------------


def requirement_line(text: str) -> tuple[str, str] | None:
    """The extras ("[transcribe]" or "") and version of the podcast_tools line of a requirements
    file; None when there is none."""
    match = _REQUIREMENT.search(text)
    return (match.group(1) or "", match.group(2)) if match else None


def dependency_pins(extras: set[str]) -> list[str]:
    """NAME==VERSION of each dependency podcast_tools (with `extras`) brings in, at the versions
    its tests ran with (the constraints shipped in the package); only those installs need."""
    pins = {}
    text = (resources.files("podcast_tools") / "data" / "constraints.txt").read_text("utf-8")
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            pins[_canonical(name)] = f"{name.strip()}=={version.strip()}"
    needed = _closure(extras)
    if needed is None:  # podcast_tools' metadata is not installed: every pin, as tested
        return sorted(pins.values(), key=str.lower)
    return sorted((pins[name] for name in needed if name in pins), key=str.lower)


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def _closure(extras: set[str]) -> set[str] | None:
    """The distributions podcast_tools[extras] needs, from the installed packages' metadata
    (requirement markers evaluated here; a distribution that is not installed ends its branch)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:
        return None
    seen: set[str] = set()
    todo: list[tuple[str, set[str]]] = [("podcast_tools", extras)]
    while todo:
        name, wanted = todo.pop()
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            if name == "podcast_tools":
                return None
            continue
        for line in requires:
            requirement = Requirement(line)
            markers = [{"extra": extra} for extra in wanted or {""}]
            if requirement.marker and not any(requirement.marker.evaluate(m) for m in markers):
                continue
            dependency = _canonical(requirement.name)
            if dependency == "podcast-tools":  # podcast_tools[test] → podcast_tools[transcribe]
                continue
            if dependency not in seen:
                seen.add(dependency)
                todo.append((dependency, set(requirement.extras)))
    return seen


def network_extras(root: Path) -> set[str]:
    """The extras a network needs: [transcribe] when network.toml turns machine transcripts on
    (read leniently: a file that does not parse needs nothing more)."""
    try:
        data = tomllib.loads((root / "episodes" / "network.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    tables = [data.get("defaults", {}), *data.get("shows", {}).values()]
    for table in tables:
        transcripts = table.get("transcripts") if isinstance(table, dict) else None
        if isinstance(transcripts, dict) and transcripts.get("auto") is True:
            return {TRANSCRIBE_EXTRA}
    return set()


def render_requirements(extras: set[str], version: str = __version__, kept: str = "") -> str:
    """podcast-tools.txt: the podcast_tools line, the tested pins, then `kept` (the team's lines)."""
    extra = f"[{','.join(sorted(extras))}]" if extras else ""
    pins = "\n".join(dependency_pins(extras))
    return (
        "# What CI installs (.github/workflows/publish.yml runs\n"
        f"#   python -m pip install -r {REQUIREMENTS_FILE}):\n"
        "# podcast_tools at the version that wrote the workflow, and the versions of its\n"
        "# dependencies it was tested with. `podcast upgrade-workflow` rewrites the podcast_tools\n"
        "# line and the tested versions for the version you run; lines you add below are kept.\n"
        "# No --hash lines: pip checks hashes all or nothing, and the hash of podcast_tools' own\n"
        "# wheel cannot be known when this file is written (offline, maybe before its upload).\n"
        f"podcast_tools{extra}=={version}\n"
        f"{_PINS_BEGIN} {version} was tested with\n"
        f"{pins}\n"
        f"{_PINS_END}\n"
        f"{kept}"
    )


def _kept_lines(text: str) -> str:
    """The lines of an existing podcast-tools.txt that upgrade-workflow did not write."""
    lines = text.splitlines(keepends=True)
    if any(line.startswith(_PINS_END) for line in lines):
        end = next(i for i, line in enumerate(lines) if line.startswith(_PINS_END))
        ours = lines[: end + 1]
        rest = lines[end + 1 :]
        # before the generated block: anything but our comments and the podcast_tools line
        added = [
            line
            for line in ours
            if not line.startswith("#") and not _REQUIREMENT.match(line) and "==" not in line
        ]
        return "".join(added + rest)
    return "".join(line for line in lines if not _REQUIREMENT.match(line))


# -- writing and upgrading -----------------------------------------------------------------------


def write_network_files(root: Path, extras: set[str]) -> list[Path]:
    """The workflow and podcast-tools.txt of a new network (`podcast init`)."""
    written = []
    for relative, text in (
        (WORKFLOW_FILE, render_network_workflow()),
        (REQUIREMENTS_FILE, render_requirements(extras)),
    ):
        write_text_atomic(root / relative, text)
        written.append(root / relative)
    return written


@dataclass
class Upgrade:
    """What `upgrade-workflow` did: each changed file with its old and new version."""

    changed: list[tuple[Path, str | None, str]] = field(default_factory=list)


def upgrade_workflow(root: Path, *, force: bool = False) -> Upgrade:
    """Rewrite a network's workflow and podcast-tools.txt for the running version (nothing is
    written when either cannot be: a hand-edited workflow without `force`)."""
    workflow_path, requirements_path = root / WORKFLOW_FILE, root / REQUIREMENTS_FILE
    old_workflow = _read(workflow_path)
    old_requirements = _read(requirements_path)
    header = header_of(old_workflow) if old_workflow is not None else None
    new_workflow = render_network_workflow()
    if old_workflow is not None and old_workflow != new_workflow and not force:
        if header is None:
            raise UsageError(
                f"{WORKFLOW_FILE}: not written by podcast_tools (no header line); "
                "nothing changed (--force replaces it)"
            )
        if not header[1]:
            raise UsageError(
                f"{WORKFLOW_FILE}: edited by hand since podcast_tools {header[0]} wrote it; "
                "nothing changed (--force replaces it: make your edits again after)"
            )
    line = requirement_line(old_requirements or "")
    extras = set(re.findall(r"[\w.-]+", line[0])) if line else set()
    extras |= network_extras(root)
    new_requirements = render_requirements(extras, kept=_kept_lines(old_requirements or ""))
    upgrade = Upgrade()
    if old_workflow != new_workflow:
        write_text_atomic(workflow_path, new_workflow)
        upgrade.changed.append((WORKFLOW_FILE, header[0] if header else None, __version__))
    if old_requirements != new_requirements:
        write_text_atomic(requirements_path, new_requirements)
        upgrade.changed.append((REQUIREMENTS_FILE, line[1] if line else None, __version__))
    return upgrade


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc}); nothing changed") from exc


__all__ = [
    "REQUIREMENTS_FILE",
    "WORKFLOW_FILE",
    "Upgrade",
    "header_of",
    "network_extras",
    "render_checkout_workflow",
    "render_network_workflow",
    "render_requirements",
    "requirement_line",
    "dependency_pins",
    "upgrade_workflow",
    "write_checkout_workflow",
    "write_network_files",
]
