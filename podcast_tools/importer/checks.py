"""What an import stages, checked as `podcast validate` will check it, before anything is moved
into place: each episode's front matter against the model (FrontMatter), its chapters against
its audio's length, and artwork against Apple's rules.

A problem of an optional field (image, transcript, chapters, persons) leaves the field out in
one warning line; a title over the limit is cut to it in one line; anything else (a title or
guid with control characters, a date the model refuses) refuses the item in one line, so a
successful import never leaves a network that `podcast validate` refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from podcast_tools.artwork import artwork_problems
from podcast_tools.audio.probe import probe_duration
from podcast_tools.content.hints import one_line, quote_cut
from podcast_tools.content.models import TITLE_LIMIT, FrontMatter
from podcast_tools.errors import AudioInputError, Problem

Warn = Callable[[str], None]
#: Fields an episode does without: a problem with one leaves it out instead of the episode.
OPTIONAL_FIELDS = ("image", "transcript", "chapters", "persons")


def checked_front(
    front: dict[str, Any], folder: Path, root: Path, where: str, warn: Warn
) -> list[Problem]:
    """Check (and repair in place) the front matter `front` of an episode staged in `folder`
    (the staged network's episodes are under `root`); return the problems that refuse it."""
    title = front.get("title")
    if isinstance(title, str) and len(title) > TITLE_LIMIT:
        front["title"] = title[:TITLE_LIMIT].rstrip()
        warn(
            f"{where}: title: is {len(title):,} characters; cut to the {TITLE_LIMIT} "
            "Apple Podcasts allows"
        )
    _chapters_within_audio(front, folder, where, warn)
    context = {"base": folder, "base_label": "the episode file", "root": root}
    for _ in range(len(OPTIONAL_FIELDS) + 1):
        try:
            FrontMatter.model_validate(front, context=context)
        except ValidationError as exc:
            refused: list[Problem] = []
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else ""
                message = one_line(str(error["msg"]).removeprefix("Value error, "))
                if name in OPTIONAL_FIELDS:
                    if front.pop(name, None) is not None:
                        warn(f"{where}: {_field(error['loc'])}: {message}; left out")
                else:
                    refused.append(Problem(where, _field(error["loc"]), message))
            if refused:
                return refused
            continue
        return []
    return [Problem(where, "", "its front matter cannot be made valid")]


def _field(loc: tuple) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".")


def _chapters_within_audio(front: dict[str, Any], folder: Path, where: str, warn: Warn) -> None:
    """Leave out chapters that start no later than the one before them (starts must increase)
    or at or after the end of the episode's audio, in one line each."""
    chapters = front.get("chapters")
    if not chapters:
        return
    kept: list[dict[str, Any]] = []
    for chapter in chapters:
        if kept and chapter["start"] <= kept[-1]["start"]:
            warn(
                f"{where}: chapters: {quote_cut(str(chapter.get('title', '')))} starts at "
                f"{chapter['start']:g} s, not after the chapter before it; left out"
            )
            continue
        kept.append(chapter)
    try:
        duration = probe_duration(folder / front["audio"])
    except (AudioInputError, OSError):
        duration = None  # the audio's own check says what is wrong with it
    if duration is not None and any(c["start"] >= duration for c in kept):
        late = [c for c in kept if c["start"] >= duration]
        kept = [c for c in kept if c["start"] < duration]
        warn(
            f"{where}: chapters: {len(late)} start at or after the end of the audio "
            f"({duration:.1f} s); left out"
        )
    if kept:
        front["chapters"] = kept
    else:
        front.pop("chapters")


def artwork_refusal(path: Path) -> str | None:
    """Why artwork at `path` cannot be used (one line), None when Apple would take it."""
    problems = artwork_problems(path)
    return "; ".join(one_line(p) for p in problems) if problems else None
