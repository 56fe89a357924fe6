"""The media checks behind `podcast validate`, and the loader every command uses.

``podcast_tools.content`` reads and checks text only; it takes the checks that decode audio and
images from here (:data:`MEDIA_CHECKS`), so the content layer never imports the audio or artwork
code above it.
"""

from __future__ import annotations

from pathlib import Path

from podcast_tools.artwork import IMAGE_FORMATS, artwork_problems
from podcast_tools.artwork import inspect as inspect_image
from podcast_tools.audio.probe import check_whole, probe_duration
from podcast_tools.content.loader import FileChecks, Network, load_network


def chapter_image_problem(path: Path) -> str | None:
    """What is wrong with a chapter image (the words after its path), None when it is fine: it
    must be an image that decodes whole, holding what its extension says."""
    try:
        facts = inspect_image(path)
    except ValueError as exc:
        return str(exc)
    expected = IMAGE_FORMATS.get(path.suffix.lower())
    if facts.format != expected:
        return f"is {facts.format} data in a {path.suffix} file; save it as {expected}"
    return None


#: The real checks: durations and whole-file decoding by ffmpeg/mutagen, artwork by Pillow.
MEDIA_CHECKS = FileChecks(
    duration=probe_duration,
    whole=check_whole,
    artwork=artwork_problems,
    chapter_image=chapter_image_problem,
)


def load_checked_network(root: Path) -> Network:
    """Load and validate the network under `root` with every check, media files included;
    raise ContentError listing all problems."""
    return load_network(root, checks=MEDIA_CHECKS)
