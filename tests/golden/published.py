"""Golden publish: every byte `podcast publish` writes for the sample network, as sha256.

A restructuring keeps these unchanged (issue: "every published byte is unchanged"). The sample
network is published into a folder store; each public object (audio, artwork, chapters,
transcripts, feeds, pages, their metadata) is recorded by its sha256, and the state (manifest
and its history) with its one moment — `written_at` — left out. The audio's bytes depend on the
encoder, so the golden names the ffmpeg that made it; `tests/test_published_bytes.py` compares
with the same encoder only. After a change to the published bytes on purpose, regenerate and
review the diff:

    .venv/bin/python -m tests.golden.published
    git diff tests/golden/published.json
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from podcast_tools.ffmpeg import ffmpeg_exe
from tests.conftest import BUILD_EPOCH, podcast

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "published.json"


def encoder() -> str:
    """The first line of `ffmpeg -version` (its version and build) of the ffmpeg in use."""
    done = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[0]


def _without_moments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_moments(v) for k, v in value.items() if k != "written_at"}
    if isinstance(value, list):
        return [_without_moments(v) for v in value]
    return value


def _digest(path: Path, *, state: bool) -> str:
    data = path.read_bytes()
    if state and path.suffix == ".json":
        data = json.dumps(_without_moments(json.loads(data)), sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def published(work: Path) -> dict[str, Any]:
    """Publish a copy of the sample network under `work` into a folder store: the digest of
    everything written there, {"store": {key: sha256}, "state": {key: sha256}}."""
    root = work / "network"
    for folder in ("episodes", "templates"):
        shutil.copytree(REPO / folder, root / folder)
    # machine transcripts off: recognition's floats may differ between CPUs (the golden bytes
    # are this pipeline's; tests/test_machine_transcripts.py reads the sample's transcripts)
    toml = root / "episodes" / "network.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(text.replace("transcripts = { auto = true", "transcripts = { auto = false"))
    store = work / "store"
    # the feeds dated by a fixed clock (the tests' BUILD_EPOCH), not the second the run ends in
    podcast(
        root,
        "publish",
        "--storage",
        f"file://{store}",
        process=True,
        ok=True,
        timeout=900,
        env={"SOURCE_DATE_EPOCH": BUILD_EPOCH},
    )
    state = work / "store.state"
    return {
        "store": {
            p.relative_to(store).as_posix(): _digest(p, state=False)
            for p in sorted(store.rglob("*"))
            if p.is_file()
        },
        # the objects' metadata (type, cache, sha256) too; not the state's own metadata, which
        # holds the manifest's sha256 *with* its moment
        "state": {
            p.relative_to(state).as_posix(): _digest(p, state=True)
            for p in sorted(state.rglob("*"))
            if p.is_file() and p.relative_to(state).parts[0] != ".meta" and p.name != ".lock"
        },
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        digest = {"encoder": encoder(), **published(Path(work))}
    GOLDEN.write_text(json.dumps(digest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(REPO)}: {len(digest['store'])} objects")


if __name__ == "__main__":
    main()
