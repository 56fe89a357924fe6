"""Artwork checks (Apple's rules) and, on request, fixed copies.

Apple Podcasts wants show and episode art as JPEG or PNG (matching the file's extension), RGB,
square, 1400 to 3000 pixels a side. An image larger than DECODE_MAX_PX a side is refused from its
header, never decoded (a 400 kB PNG can decode to gigabytes). Only Pillow's JPEG and PNG readers
ever see an input image: a file of another format (an ICO whose directory understates the PNG it
holds, an EPS that Ghostscript would render) is named from its first bytes and never decoded.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from PIL import Image, UnidentifiedImageError

from podcast_tools.mediatypes import IMAGE_TYPES

MIN_PX, MAX_PX = 1400, 3000
#: Larger than this a side, an image (artwork, episode or chapter image) is refused by its header
#: alone: decoding holds every pixel in memory (6000² RGB: 108 MB). Twice Apple's maximum leaves
#: --fix-artwork a large export to shrink.
DECODE_MAX_PX = 2 * MAX_PX
_FORMATS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
IMAGE_FORMATS = _FORMATS  # what each image file extension must hold
_MIME = {pillow: IMAGE_TYPES[suffix] for suffix, pillow in _FORMATS.items()}
#: The only readers an input image is opened with (Image.open would try every format it knows).
READABLE = ("JPEG", "PNG")


@contextmanager
def open_image(source: Path | IO[bytes]) -> Iterator[Image.Image]:
    """An input image opened by the JPEG or PNG reader only; UnidentifiedImageError for any other
    format. A header or a load() past Pillow's bomb limit raises (DecompressionBombError, or the
    DecompressionBombWarning made an error), never a warning that lets the decode go on."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(source, formats=READABLE) as image:
            yield image


def format_of(path: Path) -> str | None:
    """The image format Pillow sees in the file's first bytes (its readers' signature checks
    only: nothing is parsed), None when it knows none."""
    try:
        with path.open("rb") as file:
            prefix = file.read(16)
    except OSError:
        return None
    Image.init()
    for name in Image.ID:
        accept = Image.OPEN[name][1]
        try:
            if accept is not None and accept(prefix):
                return name
        except (SyntaxError, IndexError, TypeError, struct.error):  # as Image.open: not this one
            continue
    return None


@dataclass(frozen=True)
class ArtworkFacts:
    format: str  # JPEG or PNG, as Pillow reads the content
    mode: str  # RGB, RGBA, CMYK, L, P …
    width: int
    height: int

    @property
    def mime(self) -> str:
        return _MIME.get(self.format, "application/octet-stream")


def inspect(path: Path) -> ArtworkFacts:
    """What the image really is; ValueError when it is not a JPEG or PNG Pillow can read, or when
    its header claims more than DECODE_MAX_PX a side (then no pixel is decoded)."""
    too_large = (
        f"; it is not decoded: export it at {MAX_PX}×{MAX_PX} px or smaller "
        f"(at most {DECODE_MAX_PX} px a side are read)"
    )
    try:
        with warnings.catch_warnings():  # Pillow warns of a bomb's size: we say it in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=READABLE) as image:
                facts = ArtworkFacts(image.format or "?", image.mode, image.width, image.height)
    except Image.DecompressionBombError as exc:
        raise ValueError(
            f"claims far more than {DECODE_MAX_PX}×{DECODE_MAX_PX} px in its header{too_large}"
        ) from exc
    except (UnidentifiedImageError, OSError) as exc:
        other = format_of(path)
        if other is not None and other not in READABLE:
            expected = _FORMATS.get(path.suffix.lower())
            if expected is None:
                raise ValueError(f"is {other} data; export it as PNG or JPEG") from exc
            raise ValueError(
                f"is {other} data in a {path.suffix} file; save it as {expected} "
                "(only PNG or JPEG images are read)"
            ) from exc
        raise ValueError("is not a JPEG or PNG image") from exc
    if max(facts.width, facts.height) > DECODE_MAX_PX:
        raise ValueError(f"is {facts.width}×{facts.height} px{too_large}")
    try:
        with open_image(path) as image:
            image.load()  # decode every pixel: a truncated file opens fine and fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"decodes to more pixels than its header says{too_large}") from exc
    except (OSError, ValueError, UnidentifiedImageError) as exc:
        raise ValueError(
            f"is truncated or damaged ({exc}); export or copy the image again"
        ) from exc
    return facts


def artwork_problems(path: Path) -> list[str]:
    """Everything Apple would object to in this artwork file, as messages (empty when fine)."""
    try:
        facts = inspect(path)
    except ValueError as exc:
        return [str(exc)]
    problems = []
    expected = _FORMATS.get(path.suffix.lower())
    if expected is None:
        problems.append(f'extension "{path.suffix}" is not .jpg, .jpeg or .png')
    elif facts.format != expected:
        problems.append(f"is {facts.format} data in a {path.suffix} file; the extension must match")
    if facts.format not in ("JPEG", "PNG"):
        problems.append(f"is {facts.format}; Apple needs JPEG or PNG")
    # --fix-artwork converts and shrinks a square image; art too small or not square needs new art
    # (and is never told to try it: the fix would say it cannot)
    fixable = facts.width == facts.height and facts.width >= MIN_PX
    if facts.mode != "RGB":
        hint = " (use --fix-artwork for a converted copy)" if fixable else ""
        problems.append(f"is {facts.mode}; Apple needs RGB{hint}")
    size_ok = MIN_PX <= facts.width <= MAX_PX and MIN_PX <= facts.height <= MAX_PX
    if facts.width != facts.height or not size_ok:
        hint = (
            " (use --fix-artwork for a resized copy)"
            if fixable and facts.width > MAX_PX
            else "; it needs new art"
            if not fixable
            else ""
        )
        problems.append(
            f"{facts.width}×{facts.height} px; Apple needs {MIN_PX}–{MAX_PX} px square{hint}"
        )
    return problems


def fixed_copy(path: Path) -> Path | None:
    """Write an RGB, at most 3000 px square copy beside `path` (``<name>.fixed<ext>``) when
    converting or shrinking fixes it; None when it cannot be fixed that way (too small, not
    square, or too large to decode). The original is left as it is."""
    try:
        facts = inspect(path)
    except ValueError:
        return None
    if facts.width != facts.height or facts.width < MIN_PX:
        return None
    target = path.with_name(f"{path.stem}.fixed{path.suffix.lower()}")
    fmt = _FORMATS.get(path.suffix.lower(), "PNG")
    with open_image(path) as image:
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.width > MAX_PX:
            image = image.resize((MAX_PX, MAX_PX), Image.Resampling.LANCZOS)
        temp = target.with_name(f".{target.name}.tmp")
        image.save(temp, fmt, **({"quality": 92} if fmt == "JPEG" else {"optimize": True}))
        temp.replace(target)
    return target


#: The sides of the website's icons: the PNG the pages name (browsers scale it down for a tab,
#: phones show it on a home screen) and the sizes inside /favicon.ico.
ICON_PX = 180
FAVICON_PX = (16, 32, 48)


def site_icons(source: Path | IO[bytes]) -> tuple[bytes, bytes]:
    """The website's icons made from a show's artwork: (a square PNG of ICON_PX, a favicon.ico
    holding FAVICON_PX). The same artwork gives the same bytes. ValueError when the artwork is
    not a JPEG or PNG Pillow can read."""
    try:
        with open_image(source) as image:
            image.load()
            # a palette, grey or RGB image may be transparent through a key colour (tRNS)
            clear = "A" in image.getbands() or "transparency" in image.info
            rgb = image.convert("RGBA" if clear else "RGB")
    except (OSError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"cannot make an icon of it: {exc}") from exc
    side = min(rgb.size)
    left, top = (rgb.width - side) // 2, (rgb.height - side) // 2
    square = rgb.crop((left, top, left + side, top + side))
    icon = square.resize((ICON_PX, ICON_PX), Image.Resampling.LANCZOS)
    png, ico = io.BytesIO(), io.BytesIO()
    icon.save(png, format="PNG", optimize=True)
    icon.save(ico, format="ICO", sizes=[(px, px) for px in FAVICON_PX])
    return png.getvalue(), ico.getvalue()
