"""Packaging, tested as installed: the sdist and the wheel carry everything the package needs at
run time, the wheel declares every dependency it imports, and the non-editable install in a fresh
venv (with the pinned versions of constraints.txt) runs `init`, `validate` and `publish` from
outside the checkout."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.installed import CONSTRAINTS, REPO, Installed, check_published, installed_package

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
# The platform constraints.txt is made for (and the CI workflow runs on).
PINNED_FOR = {
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "os_name": "posix",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "extra": "",
}


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Installed:
    return installed_package(tmp_path_factory)


def package_files() -> list[str]:
    """Every file of the package in the checkout (tracked by git), as paths like
    "podcast_tools/templates/episode.html.j2"."""
    done = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--", "podcast_tools"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode == 0 and done.stdout:
        return sorted(name for name in done.stdout.split("\0") if name)
    return sorted(  # not a git checkout: every file but caches
        p.relative_to(REPO).as_posix()
        for p in (REPO / "podcast_tools").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


def test_package_files_include_the_builtin_templates():
    files = package_files()
    assert "podcast_tools/templates/episode.html.j2" in files
    assert "podcast_tools/templates/episode.txt.j2" in files


@pytest.mark.slow
def test_wheel_ships_every_package_file(installed):
    with zipfile.ZipFile(installed.wheel) as wheel:
        shipped = set(wheel.namelist())
    missing = [name for name in package_files() if name not in shipped]
    assert not missing, f"not in {installed.wheel.name}: {missing}"


@pytest.mark.slow
def test_sdist_ships_every_package_file_and_the_project_files(installed):
    with tarfile.open(installed.sdist) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        shipped = {name.removeprefix(f"{top}/") for name in sdist.getnames()}
    wanted = [*package_files(), "pyproject.toml", "README.md"]
    missing = [name for name in wanted if name not in shipped]
    assert not missing, f"not in {installed.sdist.name}: {missing}"


def test_package_data_patterns_cover_future_data_folders():
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["podcast_tools"]
    for folder, example in (("templates", "x.j2"), ("schemas", "x.json"), ("data", "x.bin")):
        assert any(
            Path(f"{folder}/{example}").match(p) or p.startswith(f"{folder}/**") for p in patterns
        ), f"package-data of podcast_tools does not include {folder}/{example}: {patterns}"


def test_installed_wheel_declares_every_module_it_imports(installed):
    """Each third-party module imported anywhere in the installed package comes from a
    distribution named in the wheel's own run-time requirements — or in an extra (the speech
    recognition of `[transcribe]`) when every import of it is inside a function, so that every
    command works without the extra."""
    script = r"""
import ast, importlib.metadata as md, json, sys
from pathlib import Path
import podcast_tools

LAZY = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)

def imported(node):
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return {node.module.split(".")[0]}
    return set()

def on_import(node):
    # what runs when the module is imported: not the bodies of functions
    found = imported(node)
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, LAZY):
            found |= on_import(child)
    return found

package = Path(podcast_tools.__file__).parent
modules, eager = set(), set()
for source in package.rglob("*.py"):
    tree = ast.parse(source.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        modules |= imported(node)
    eager |= on_import(tree)
modules -= set(sys.stdlib_module_names) | {"podcast_tools"}
providers = md.packages_distributions()
print(json.dumps({
    "unknown": sorted(m for m in modules if m not in providers),
    "imports": {m: providers.get(m, []) for m in sorted(modules)},
    "eager": sorted(eager & modules),
    "requires": md.requires("podcast_tools") or [],
}))
"""
    done = installed.run("python", "-c", script)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert not found["unknown"], f"imported but not installed: {found['unknown']}"
    declared, optional = set(), set()
    for line in found["requires"]:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            declared.add(canonicalize_name(requirement.name))
        elif requirement.marker.evaluate({"extra": "transcribe"}):
            optional.add(canonicalize_name(requirement.name))
    undeclared = {
        module: providers
        for module, providers in found["imports"].items()
        if not declared & {canonicalize_name(p) for p in providers}
        and (module in found["eager"] or not optional & {canonicalize_name(p) for p in providers})
    }
    assert "faster_whisper" in found["imports"]  # the check above saw the lazy import
    assert not undeclared, (
        f"imported by podcast_tools but not in [project] dependencies: {undeclared}"
    )


def test_runtime_dependencies_have_lower_bounds():
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.name == "audioop-lts":  # a backport: any version will do
            continue
        assert any(spec.operator == ">=" for spec in requirement.specifier), line


def test_metadata_says_where_it_runs():
    classifiers = PYPROJECT["project"]["classifiers"]
    for wanted in (
        "Programming Language :: Python :: 3.11",
        "Environment :: Console",
        "Topic :: Multimedia :: Sound/Audio",
    ):
        assert wanted in classifiers
    assert any(c.startswith("Operating System ::") for c in classifiers)
    assert PYPROJECT["project"]["license"] == "MIT"


def test_installed_package_is_imported_from_its_venv(installed):
    done = installed.run("python", "-c", "import podcast_tools; print(podcast_tools.__file__)")
    assert done.returncode == 0, done.stderr
    location = Path(done.stdout.strip()).resolve()
    assert installed.venv.resolve() in location.parents, location
    assert REPO not in location.parents
    direct_url = subprocess.run(  # a real install, not an editable one pointing at the checkout
        [str(installed.python), "-m", "pip", "show", "-f", "podcast_tools"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "__editable__" not in direct_url
    assert "podcast_tools/templates/episode.html.j2" in direct_url


def test_pip_check_finds_no_broken_requirements(installed):
    done = installed.run("python", "-m", "pip", "check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_version(installed):
    done = installed.run("podcast", "--version")
    assert done.returncode == 0, done.stderr
    version = re.search(
        r'__version__ = "([^"]+)"', (REPO / "podcast_tools/__init__.py").read_text()
    )
    assert version and done.stdout.split() == ["podcast_tools", version.group(1)]


def test_init_then_validate(installed, tmp_path):
    done = installed.run("podcast", "init", tmp_path / "my-network", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    network = tmp_path / "my-network"
    for name in ("episode.html.j2", "episode.md.j2", "episode.txt.j2"):
        assert (network / "templates" / name).is_file(), name
    assert (network / "episodes" / "network.toml").is_file()
    done = installed.run("podcast", "validate", cwd=network)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_publish_the_sample_network(installed, tmp_path):
    root = tmp_path / "network"
    shutil.copytree(REPO / "episodes", root / "episodes")
    shutil.copytree(REPO / "templates", root / "templates")
    done = installed.run("podcast", "publish", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "processed 7" in done.stdout, done.stdout
    check_published(root, root / "public")
    again = installed.run("podcast", "publish", cwd=root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing changed; nothing uploaded" in again.stdout


def constraint_pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version, f"constraints.txt: {line!r} is not NAME==VERSION"
            pins[canonicalize_name(name)] = version
    return pins


def test_constraints_say_how_to_regenerate():
    header = CONSTRAINTS.read_text(encoding="utf-8").split("\n\n")[0]
    assert "pip freeze" in header and "python3.11" in header.replace(" ", "")


def test_constraints_pin_every_runtime_dependency():
    pins = constraint_pins()
    assert canonicalize_name("podcast_tools") not in pins
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(PINNED_FOR):
            continue  # not installed on Python 3.11 / Linux
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned in constraints.txt"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside {line!r}"
        )


def test_constraints_pin_exactly_what_installs(installed):
    """The venv installed with -c constraints.txt holds exactly the pinned versions: nothing
    unpinned (a transitive dependency missing from the file), nothing pinned that is not used."""
    done = installed.run("python", "-m", "pip", "freeze", "--exclude", "podcast_tools")
    assert done.returncode == 0, done.stderr
    frozen = {}
    for line in done.stdout.splitlines():
        name, _, version = line.partition("==")
        frozen[canonicalize_name(name)] = version
    pins = constraint_pins()
    if sys.version_info[:2] == (3, 11):
        assert frozen == pins, (
            f"not pinned: {sorted(set(frozen) - set(pins))}; "
            f"pinned but not installed: {sorted(set(pins) - set(frozen))}; "
            "regenerate constraints.txt as its header says"
        )
    else:  # other Pythons may need other packages; the pinned ones still hold
        assert {n: v for n, v in frozen.items() if n in pins} == {
            n: v for n, v in pins.items() if n in frozen
        }
