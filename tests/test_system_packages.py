"""tests/system-packages.sh, the first step of the README's test command, run with stand-ins for
id, sudo, apt-get, chromium and espeak-ng on a PATH of their own (nothing is installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).with_name("system-packages.sh")


def stand_in(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def run(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [shutil.which("sh"), str(SCRIPT)],
        env={"PATH": str(folder)},
        capture_output=True,
        text=True,
        timeout=30,
    )


def tools(tmp_path: Path, *, uid: int, sudo: bool, installs: bool = True) -> tuple[Path, Path]:
    folder, calls = tmp_path / "bin", tmp_path / "calls"
    folder.mkdir()
    for tool in ("env", "basename", "chmod"):  # what the stand-ins and the script use
        (folder / tool).symlink_to(shutil.which(tool))
    stand_in(folder, "id", f"echo {uid}")
    log = f'echo "$(basename "$0") $*" >> {calls}'
    if sudo:
        stand_in(folder, "sudo", f'{log}\nexec "$@"')
    make = " && ".join(
        f'printf "#!/bin/sh\\n" > {folder}/{tool} && chmod +x {folder}/{tool}'
        for tool in ("chromium", "espeak-ng", "git-lfs")
    )
    stand_in(
        folder,
        "apt-get",
        f'{log}\nif [ "$1" = install ] && {"true" if installs else "false"}; then {make}; fi',
    )
    return folder, calls


def test_nothing_is_done_when_all_are_there(tmp_path: Path):
    folder, calls = tools(tmp_path, uid=0, sudo=False)
    stand_in(folder, "chromium", "exit 0")
    stand_in(folder, "espeak-ng", "exit 0")
    stand_in(folder, "git-lfs", "exit 0")
    done = run(folder)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert not calls.exists()


def test_root_installs_what_is_missing_with_apt_get(tmp_path: Path):
    folder, calls = tools(tmp_path, uid=0, sudo=False)
    done = run(folder)
    assert done.returncode == 0, done.stderr
    assert calls.read_text().splitlines() == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends chromium espeak-ng git-lfs",
    ]
    assert (folder / "chromium").is_file() and (folder / "espeak-ng").is_file()
    assert run(folder).returncode == 0 and len(calls.read_text().splitlines()) == 2  # idempotent


def test_a_user_installs_it_through_sudo(tmp_path: Path):
    folder, calls = tools(tmp_path, uid=1000, sudo=True)
    assert run(folder).returncode == 0
    assert (
        calls.read_text().splitlines()[0]
        == "sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq"
    )


def test_a_user_without_sudo_is_told_what_to_install(tmp_path: Path):
    folder, calls = tools(tmp_path, uid=1000, sudo=False)
    done = run(folder)
    assert done.returncode == 1
    assert "install Debian's packages: chromium espeak-ng git-lfs" in done.stderr
    assert not calls.exists()


def test_an_install_that_gives_no_chromium_fails(tmp_path: Path):
    folder, _ = tools(tmp_path, uid=0, sudo=False, installs=False)
    done = run(folder)
    assert done.returncode == 1 and "not on PATH" in done.stderr


def test_only_the_missing_one_is_installed(tmp_path: Path):
    folder, calls = tools(tmp_path, uid=0, sudo=False)
    stand_in(folder, "chromium", "exit 0")
    stand_in(folder, "git-lfs", "exit 0")
    assert run(folder).returncode == 0
    assert calls.read_text().splitlines()[-1] == (
        "apt-get install -y -qq --no-install-recommends espeak-ng"
    )
