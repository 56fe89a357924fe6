"""Create things producers start from: a whole new network (`init`) and a new episode (`new`)."""

from __future__ import annotations

import io
import os
import re
import tomllib
import unicodedata
import uuid
import wave
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from podcast_tools.content.loader import (
    NETWORK_FILE,
    display_path,
    feed_url,
    podcast_guid_for,
    publisher_feed_url,
)
from podcast_tools.content.models import XML_CONTROL, line_text_problem
from podcast_tools.errors import UsageError
from podcast_tools.fsutil import copy_file_atomic, write_bytes_atomic, write_text_atomic
from podcast_tools.workflow import REQUIREMENTS_FILE, WORKFLOW_FILE, write_network_files

SCAFFOLD_BASE_URL = "https://media.example.com/"

_NETWORK_TOML = """\
# The network: shows, their shared defaults, and where published files go.
# Paths (artwork, intro, outro) are relative to this episodes/ folder.

[network]
name = "My Podcast Network"
base_url = "{base_url}"     # public URL that published object keys are appended to
storage = "file://public"   # or s3://bucket/prefix
podcast_guid = "{network_guid}"  # the network's publisher feed; keep it for ever

[defaults]                  # inherited by every show unless it sets its own
author = "My Podcast Network"
owner = {{ name = "Producer Name", email = "producer@example.com" }}
language = "en"
category = "Technology"
explicit = false
artwork = "art/cover.png"
copyright = "© {year} My Podcast Network"
loudness = {{ target_lufs = -16.0, true_peak_dbtp = -1.0 }}
mp3 = {{ bitrate = 128, channels = 2, sample_rate = 44100 }}
# produced sound: even out the speakers (leveler); denoise = "light" | "strong" for a noisy room,
# dehum = "auto" | 50 | 60 for mains hum — here, per show, or in an episode's front matter
mastering = {{ leveler = true, denoise = "off", dehum = "off" }}

[shows.main]
title = "My Podcast"
description = "What the show is about, in a sentence or two."
link = "https://example.com/"
podcast_guid = "{main_guid}"

[shows.main-regional]       # a regional spin-off: inherits everything it does not set
extends = "main"
title = "My Podcast (Regional Edition)"
description = "The regional edition of My Podcast."
language = "en-au"
podcast_guid = "{regional_guid}"
"""

#: Audio masters are large binaries: Git LFS keeps them out of every clone's history.
MASTER_PATTERNS = (
    "*.wav",
    "*.flac",
    "*.aif",
    "*.aiff",
    "*.m4a",
    "*.mp3",
    "*.ogg",
    "*.opus",
    "*.w64",
)

_GITATTRIBUTES = (
    "# Audio masters are stored with Git LFS (https://git-lfs.com): run `git lfs install` once.\n"
    "# Without LFS a checkout holds small pointer files; CI checks out without them and fetches\n"
    "# only the masters a run needs (.github/workflows/publish.yml).\n"
    + "".join(f"{pattern} filter=lfs diff=lfs merge=lfs -text\n" for pattern in MASTER_PATTERNS)
)

_GITIGNORE = """\
# Written by `podcast process`, `podcast feed` and local publishing; never committed.
/build/
/public/
/public.state/
# a virtual environment to install podcast_tools in (pip install -r podcast-tools.txt)
.venv/
__pycache__/
"""

#: The repository's own files `init` writes besides the network (never over a team's own).
_REPOSITORY_FILES = (
    ".gitattributes",
    ".gitignore",
    "README.md",
    WORKFLOW_FILE.as_posix(),
    REQUIREMENTS_FILE.as_posix(),
)

_WELCOME_NOTES = """\
Welcome to the show! This is where the **show notes** go, written in Markdown.

- Links work: [our website](https://example.com/)
- So do lists and *emphasis*.
"""


@dataclass(frozen=True)
class NewEpisode:
    path: Path
    guid: str
    number: int
    draft: bool = False


def init_network(target: Path) -> list[Path]:
    """Scaffold a network in `target` that validates as created; return the files written."""
    target = target.resolve()
    if (target / NETWORK_FILE).exists():
        raise UsageError(f"{target / NETWORK_FILE}: a network already exists here; nothing changed")
    present = [name for name in _REPOSITORY_FILES if (target / name).exists()]
    if present:
        raise UsageError(
            f"{target}: already holds {', '.join(present)}; nothing written "
            "(init makes a new network repository: run it in an empty folder)"
        )
    written: list[Path] = []

    def write(relative: str, data: bytes) -> None:
        path = target / relative
        write_bytes_atomic(path, data)
        written.append(path)

    toml = _NETWORK_TOML.format(
        base_url=SCAFFOLD_BASE_URL,
        year=datetime.now().year,
        network_guid=podcast_guid_for(publisher_feed_url(SCAFFOLD_BASE_URL)),
        main_guid=podcast_guid_for(feed_url(SCAFFOLD_BASE_URL, "main")),
        regional_guid=podcast_guid_for(feed_url(SCAFFOLD_BASE_URL, "main-regional")),
    )
    write(NETWORK_FILE.as_posix(), toml.encode())
    write(".gitattributes", _GITATTRIBUTES.encode())
    write(".gitignore", _GITIGNORE.encode())
    write(
        "README.md", (resources.files("podcast_tools") / "data" / "network-README.md").read_bytes()
    )
    written += write_network_files(target, extras=set())
    write("episodes/art/cover.png", _placeholder_artwork())
    write("episodes/main/001-welcome.wav", _tone_wav(seconds=6.0))
    templates = resources.files("podcast_tools") / "templates"
    for template in sorted(templates.iterdir(), key=lambda t: t.name):
        if template.name.endswith(".j2"):
            write(f"templates/{template.name}", template.read_bytes())
    episode = new_episode(
        target,
        "main",
        title="Welcome",
        audio=target / "episodes/main/001-welcome.wav",
        link=True,
        notes=_WELCOME_NOTES,
        chapters=[{"start": 0, "title": "Hello"}, {"start": 3, "title": "What's coming"}],
        example=True,
    )
    written.append(episode.path)
    return written


def new_episode(
    root: Path,
    show_id: str,
    *,
    title: str,
    audio: Path | None = None,
    link: bool = False,
    date: datetime | None = None,
    notes: str | None = None,
    chapters: list[dict] | None = None,
    example: bool = False,
) -> NewEpisode:
    """Write `episodes/<show>/<NNN>-<slug>.md` with a fresh guid and the next episode number.

    With `audio`, the recording is copied next to the episode as `<NNN>-<slug>.<ext>` (so it
    travels with the repository), or with `link` referenced where it is, which must be inside the
    network. Without `audio` the episode is a draft (`draft: true`) that names where its
    recording is expected. An `example` (the one `init` writes) is a draft too: placeholders are
    never published by accident.
    """
    shows = _declared_shows(root)
    if show_id not in shows:
        known = ", ".join(sorted(shows)) or "none"
        raise UsageError(f'unknown show "{show_id}"; the network\'s shows are: {known}')
    if not title.strip():
        raise UsageError("--title must not be empty")
    if XML_CONTROL.search(title):
        raise UsageError("--title contains a control character, which feeds cannot carry")
    problem = line_text_problem(title)
    if problem:
        raise UsageError(f"--title {problem}")
    if not _is_utf8(title):
        raise UsageError("--title is not UTF-8 text; type it again (or set a UTF-8 locale)")
    root = root.resolve()
    folder = root / "episodes" / show_id
    number = _next_number(folder)
    slug = f"{number:03d}-{slugify(title)}"[:60].rstrip("-")
    path = folder / f"{slug}.md"
    if path.exists():
        raise UsageError(f"{display_path(path, root)} already exists; choose another title")
    if audio is not None:
        audio = audio.resolve()
        if not audio.is_file():
            raise UsageError(f"--audio {audio}: no such file")
        _check_recording(audio)
        if link and not audio.is_relative_to(root):
            raise UsageError(
                f"--audio {audio} --link: the recording lies outside the network folder {root}; "
                "leave out --link to copy it in"
            )
    copy_to = folder / f"{slug}{audio.suffix.lower()}" if audio and not link else None
    if copy_to is not None and copy_to.exists():
        raise UsageError(f"{display_path(copy_to, root)} already exists; nothing was written")

    when = (date or datetime.now().astimezone()).replace(microsecond=0)
    if when.tzinfo is None:
        when = when.astimezone()  # a date typed without an offset means local time
    if audio is None:
        audio_ref = f"{slug}.wav"
    elif copy_to is not None:
        audio_ref = copy_to.name
    else:
        audio_ref = Path(os.path.relpath(audio, folder)).as_posix()
    guid = str(uuid.uuid4())
    front: dict = {"title": title, "guid": guid, "date": "__DATE__", "number": number}
    season = _current_season(folder)
    if season is not None:  # every episode of the show has one: so does the next
        front["season"] = season
    front["audio"] = audio_ref
    if audio is None or example:
        front["draft"] = True
    if chapters:
        front["chapters"] = chapters
    text = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
    text = text.replace("date: __DATE__", f"date: {when.isoformat()}")
    if example:
        text = text.replace(
            "draft: true\n",
            "draft: true  # an example, never published: delete this episode (and its audio), or "
            "this line to publish it\n",
        )
    elif audio is None:
        text = text.replace(
            "draft: true\n",
            "draft: true  # put the recording at the audio path above, then delete this line\n",
        )
    body = notes or "Show notes in Markdown: what the episode covers, guests, links.\n"
    if copy_to is not None:
        copy_file_atomic(audio, copy_to)
    try:
        write_text_atomic(path, f"---\n{text}---\n\n{body}")
    except BaseException:
        if copy_to is not None:
            copy_to.unlink(missing_ok=True)
        raise
    return NewEpisode(path=path, guid=guid, number=number, draft=audio is None or example)


def _check_recording(audio: Path) -> None:
    """A recording `new` would copy in must be audio at all (its header read, its length known):
    a damaged file is refused here, in one line, before anything is written."""
    from podcast_tools.audio.probe import probe_duration
    from podcast_tools.errors import AudioInputError

    try:
        probe_duration(audio)
    except AudioInputError as exc:
        raise UsageError(f"--audio {audio}: {exc.reason}; nothing was written") from None


def slugify(title: str) -> str:
    """A file-name slug from a title.

    >>> slugify("Social Media & the Service Desk!")
    'social-media-the-service-desk'
    >>> slugify("Ça va? Über-cool")
    'ca-va-uber-cool'
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug or "episode"


def _is_utf8(text: str) -> bool:
    """False for text UTF-8 cannot carry (a lone surrogate: bytes that were not UTF-8 in argv)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _declared_shows(root: Path) -> set[str]:
    # Read leniently: `new` must work even while other files of the network have problems.
    toml_path = root / NETWORK_FILE
    try:
        return set(tomllib.loads(toml_path.read_text(encoding="utf-8")).get("shows", {}))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{toml_path}: cannot read it ({exc}); run `podcast validate`") from exc


def _next_number(folder: Path) -> int:
    highest = 0
    for path in folder.glob("*.md"):
        front = front_matter_leniently(path)
        number = front.get("number")
        if isinstance(number, int):
            highest = max(highest, number)
        else:
            match = re.match(r"^(\d+)-", path.stem)
            if match:
                highest = max(highest, int(match.group(1)))
    return highest + 1


def _current_season(folder: Path) -> int | None:
    """The show's current season — the highest its episodes have — when every episode of the
    show has one (else None: a show without seasons, or one where some episodes have none)."""
    seasons = [front_matter_leniently(path).get("season") for path in folder.glob("*.md")]
    if not seasons or not all(isinstance(season, int) for season in seasons):
        return None
    return max(seasons)


def front_matter_leniently(path: Path) -> dict:
    """An episode file's front matter as a dict, {} when it cannot be read (for numbering and
    guids while other files of the network may have problems)."""
    try:
        parts = path.read_text(encoding="utf-8").split("\n---", 1)
        data = yaml.safe_load(parts[0].removeprefix("---")) if len(parts) == 2 else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _tone_wav(seconds: float, sample_rate: int = 44100) -> bytes:
    """A short stereo WAV: a gentle two-note chime with quiet pauses (a stand-in recording)."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    pitch = np.where((t % 1.0) < 0.5, 440.0, 554.37)
    envelope = np.clip(np.sin(np.pi * (t % 1.0) / 0.8), 0.0, None) * ((t % 1.0) < 0.8)
    signal = 0.25 * envelope * np.sin(2 * np.pi * pitch * t)
    pcm = (np.stack([signal, signal], axis=1) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def _placeholder_artwork(size: int = 1400) -> bytes:
    """A plain square PNG that meets Apple's artwork rules; replace it with the real cover."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (32, 64, 128))
    draw = ImageDraw.Draw(image)
    draw.ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=(240, 180, 40))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


__all__ = ["NewEpisode", "front_matter_leniently", "init_network", "new_episode", "slugify"]
