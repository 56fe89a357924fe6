"""The one place that finds and runs ffmpeg.

Lookup order: the ``PODCAST_FFMPEG`` environment variable, then ``ffmpeg`` on PATH, then the binary
shipped by the ``imageio-ffmpeg`` package (so ``pip install`` alone gives a working tool). Commands are
argument lists (never a shell), always with ``-nostdin`` and a timeout; input paths are passed as
``file:`` URLs so names that begin with ``-`` or contain ``:`` are read as files.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from podcast_tools.errors import ToolError

DEFAULT_TIMEOUT_S = 600.0


@functools.cache
def ffmpeg_exe() -> str:
    """Return the path of the ffmpeg binary to use; raise ToolError when there is none."""
    configured = os.environ.get("PODCAST_FFMPEG")
    if configured:
        if not (Path(configured).is_file() and os.access(configured, os.X_OK)):
            raise ToolError(f"PODCAST_FFMPEG={configured} is not an executable file")
        return configured
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # the package is a dependency; this is a broken install
        raise ToolError(
            "ffmpeg not found: install ffmpeg, set PODCAST_FFMPEG, or reinstall podcast_tools "
            f"(imageio-ffmpeg: {exc})"
        ) from exc


def input_url(path: Path | str) -> str:
    """An ffmpeg input argument that is always read as a local file, whatever its name."""
    return "file:" + str(Path(path).absolute())


def run(
    args: Sequence[str],
    *,
    about: Path | str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with `args` (without the binary name); raise ToolError naming `about` on failure."""
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", *args]
    try:
        result = subprocess.run(command, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise ToolError(f"ffmpeg took longer than {timeout_s:g} s", file=about) from None
    except OSError as exc:
        raise ToolError(f"cannot run ffmpeg ({exc})", file=about) from exc
    if check and result.returncode != 0:
        raise ToolError(
            f"ffmpeg failed (exit {result.returncode})",
            file=about,
            stderr_tail=stderr_tail(result.stderr),
        )
    return result


def stderr_tail(stderr: bytes, lines: int = 3) -> str:
    """The last few meaningful lines of ffmpeg's stderr, joined on one line."""
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())
