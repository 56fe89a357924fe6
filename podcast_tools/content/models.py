"""Typed models of the producers' files: network.toml and episode front matter.

Field validators check values on their own (types, ranges, Apple's categories, language codes, paths
that must exist); rules that span files (unique guids, known shows, times inside the recording) live
in :mod:`podcast_tools.content.loader`. Paths are checked against the directory given in the
validation context as ``base`` (``episodes/`` for network.toml, the episode's folder for episodes).
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal
from urllib.parse import SplitResult, urlsplit

import langcodes
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_serializer,
    model_validator,
)

from podcast_tools.content.apple import check_category
from podcast_tools.content.hints import HIDDEN_CONTROLS, did_you_mean, quote_cut
from podcast_tools.content.taxonomy import check_group, check_role
from podcast_tools.content.timecode import parse_timecode
from podcast_tools.formats import FORMATS, PRIMARY, Bitrates, OutputFormat
from podcast_tools.lfs import MAX_POINTER_BYTES, PointerError, is_pointer, read_pointer
from podcast_tools.locations import StorageURLError, parse_storage_url
from podcast_tools.mediatypes import TRANSCRIPT_TYPES

ID_PATTERN = re.compile(r"^[a-z0-9-]+\Z")  # \Z: "$" would take "x\n"
#: Characters XML 1.0 cannot carry (feeds, tags): the one definition, used by every layer.
XML_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
#: Invisible controls that reorder or hide one-line text (titles, names): bidi embeddings,
#: overrides and isolates and their kin. Right-to-left text needs none of them; the marks
#: U+200E/U+200F/U+061C and the joiners U+200C/U+200D stay allowed.
HIDDEN_CONTROL = re.compile(f"[{HIDDEN_CONTROLS}]")
#: What no URL may hold as written: whitespace, control characters and invisible format
#: characters (urlsplit drops CR, LF and tab silently while a feed would carry them).
_URL_UNSAFE = re.compile(rf"[\s\x00-\x1f\x7f-\x9f\u200b-\u200f\u2060-\u2064{HIDDEN_CONTROLS}]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TIMEZONE_EXAMPLE = "2011-04-22T09:00:00+01:00"
TRANSCRIPT_SUFFIXES = tuple(TRANSCRIPT_TYPES)
#: Transcripts browsers would open as a page of the site (and run its scripts): refused.
_PAGE_SUFFIXES = (".html", ".htm", ".xhtml", ".xht", ".svg", ".xml")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


# --- field types ------------------------------------------------------------------------------


def _identifier(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise ValueError(
            f'{quote_cut(value)} may only use lowercase letters, digits and "-" (e.g. "itsmwp-anz")'
        )
    return value


def _clean_text(value: str) -> str:
    match = XML_CONTROL.search(value)
    if match:
        raise ValueError(
            f"contains the control character {match.group()!r}, which feeds cannot carry; remove it"
        )
    if not value.strip():
        raise ValueError("is empty; write some text")
    return value


def code_point(char: str) -> str:
    """A character as messages name it: "U+202E RIGHT-TO-LEFT OVERRIDE", "U+000D"."""
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}" if name else f"U+{ord(char):04X}"


def line_text_problem(value: str) -> str | None:
    """What one-line text (a title, a name) must not hold, as the words after its name, or None:
    an invisible control that reorders or hides the text around it."""
    match = HIDDEN_CONTROL.search(value)
    if match:
        return (
            f"contains {code_point(match.group())}, an invisible control that reorders or hides "
            "the text around it (in pages, feeds and apps); remove it (right-to-left text needs "
            "no such control)"
        )
    return None


def _one_line_text(value: str) -> str:
    problem = line_text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def url_text_problem(value: str, *, space_ok: bool = False) -> str | None:
    """What makes `value` no URL as written (the words after it) — whitespace or a control
    character, which urlsplit would drop or keep unnoticed — or None. `space_ok`: a plain space
    may stand (a storage URL names a folder as it is spelt)."""
    for match in _URL_UNSAFE.finditer(value):
        if not (space_ok and match.group() == " "):
            return (
                f"contains {code_point(match.group())}; a URL has no spaces, line breaks or "
                "control characters (write a space as %20)"
            )
    return None


def _url_parts(value: str, *, space_ok: bool = False) -> SplitResult:
    """The parts of a URL, checked as written (url_text_problem)."""
    problem = url_text_problem(value, space_ok=space_ok)
    if problem:
        raise ValueError(f"{quote_cut(value)} {problem}")
    return urlsplit(value)


def _url_base(value: str) -> str:
    """A URL that paths are appended to (base_url, a measurement prefix): no ? or # part
    (looked for as written: urlsplit reads "…/?" as no query), ending in "/"."""
    if "?" in value or "#" in value:
        raise ValueError(
            f'{quote_cut(value)} has a "?" or "#" part; paths are appended to this URL, so it '
            'ends with its path, e.g. "https://media.example/podcasts/"'
        )
    return value if value.endswith("/") else value + "/"


def _http_url(value: str) -> str:
    parts = _url_parts(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f'{quote_cut(value)} is not an absolute http(s) URL, e.g. "https://example.com/"'
        )
    return value


def _https_url(value: str) -> str:
    parts = _url_parts(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(
            f'{quote_cut(value)} is not an absolute https URL, e.g. "https://podcasts.apple.com/…"'
        )
    return value


def _platform_name(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise ValueError(
            f'{quote_cut(value)} is not a platform name; use lowercase letters, digits and "-" '
            '(e.g. "apple", "spotify", "pocket-casts")'
        )
    return value


def _language(value: str) -> str:
    if not langcodes.tag_is_valid(value):
        raise ValueError(
            f"{quote_cut(value)} is not a language code; use ISO 639 with an optional region, "
            'e.g. "en", "en-au", "de-ch"'
        )
    return value.lower()


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError(f"{quote_cut(value)} is not an email address")
    return value


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(
            f'{quote_cut(value)} is not a UUID, e.g. "9b024349-ccf0-5f69-a609-6b82873eab3c"'
        )


def _timecode(value: Any) -> float:
    return parse_timecode(value)


#: The fields whose file may be a Git LFS pointer (a master, a jingle): its sha256 is in the
#: pointer, and what needs the audio itself asks for it when a run needs it.
POINTER_FIELDS = frozenset({"audio", "intro", "outro"})


def is_lfs_pointer(path: Path) -> bool:
    """True when `path` is a Git LFS pointer file instead of the content it stands for."""
    return is_pointer(path)


def _existing_path(value: str, info: ValidationInfo) -> str:
    """Check that a relative path names a file under the context's ``base`` directory that lies
    inside the network folder (``root``; symlinks followed) and is not a Git LFS pointer —
    except a well-formed one for a master or a jingle (`POINTER_FIELDS`).

    A draft episode (context ``draft``) may name an `audio` file that does not exist yet.
    Done with strings and one stat (it runs for every file of 10,000 episodes)."""
    context = info.context or {}
    base: Path | None = context.get("base")
    absolute = value.startswith("/") if os.name == "posix" else Path(value).is_absolute()
    if absolute:
        raise ValueError(
            f"{quote_cut(value)} must be a path relative to {context.get('base_label', 'its file')}"
        )
    if base is None:
        return value
    joined = os.path.join(os.fspath(base), value)
    root: Path | None = context.get("root")
    if root is not None:
        resolve = context.get("resolve") or _resolved_text
        target = resolve(joined)
        inside = resolve(os.fspath(root)).rstrip(os.sep) + os.sep
        if not (target + os.sep).startswith(inside):
            raise ValueError(
                f"{quote_cut(value)} resolves to {target}, outside the network folder; "
                "keep every file inside it (podcast new --audio copies a recording in)"
            )
    try:
        info_ = os.stat(joined)
        is_file = stat.S_ISREG(info_.st_mode)
    except OSError as exc:  # as Path.is_file: a missing file is no file, other errors raise
        if exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP):
            raise
        is_file = False
    except ValueError:
        is_file = False
    if not is_file:
        path = base / value
        if context.get("draft") and info.field_name == "audio" and not path.exists():
            return value
        shown = context.get("display", lambda p: p)(path)
        raise ValueError(f"file not found: {shown}{_nearby(base, value)}")
    if info_.st_size <= MAX_POINTER_BYTES and is_pointer(base / value):
        _check_pointer(base / value, info.field_name, context.get("display", lambda p: p))
    return value


def _nearby(base: Path, value: str) -> str:
    """'; did you mean "art/cover.png"?' for a file name written nearly as one that is there
    (another case, a typo), as the setting would be written; '' when none is close."""
    folder = (base / value).parent
    try:
        names = [entry.name for _, entry in zip(range(2000), folder.iterdir())]
    except OSError:
        return ""
    hint = did_you_mean(PurePosixPath(value).name, names)
    if not hint:
        return ""
    name = hint.split('"')[1]
    return f'; did you mean "{(PurePosixPath(value).parent / name).as_posix()}"?'


def _check_pointer(path: Path, field_name: str | None, display: Callable[[Path], Any]) -> None:
    """A Git LFS pointer stands for a master or a jingle when it is well formed; any other file
    must be there itself (it is uploaded or read as it is)."""
    if field_name not in POINTER_FIELDS:
        raise ValueError(
            f"{display(path)} is a Git LFS pointer, not the file; run "
            f'git lfs pull --include "{display(path)}" (in CI: fetch it before this step)'
        )
    try:
        read_pointer(path)
    except PointerError as exc:
        raise ValueError(
            f"{display(path)} is a malformed Git LFS pointer: it {exc}; check the audio out "
            "again (git checkout, then git lfs pull) or commit the audio itself"
        ) from None


def _resolved_text(path: str) -> str:
    return str(Path(path).resolve())


def _false_means_none(value: Any) -> Any:
    # TOML has no null: `intro = false` switches off an inherited jingle.
    return None if value is False or value == "" else value


#: Apple Podcasts shows at most 255 characters of a show or episode title.
TITLE_LIMIT = 255


def _apple_title(value: str) -> str:
    if len(value) > TITLE_LIMIT:
        raise ValueError(
            f"is {len(value)} characters; Apple Podcasts allows at most {TITLE_LIMIT}: shorten it"
        )
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]
CleanText = Annotated[str, AfterValidator(_clean_text)]
#: One line of text: a name, a title (not a description): no invisible bidi controls either.
LineText = Annotated[str, AfterValidator(_clean_text), AfterValidator(_one_line_text)]
Title = Annotated[LineText, AfterValidator(_apple_title)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
#: A URL that object keys are appended to.
BaseUrl = Annotated[HttpUrl, AfterValidator(_url_base)]
HttpsUrl = Annotated[str, AfterValidator(_https_url)]
PlatformName = Annotated[str, AfterValidator(_platform_name)]
Language = Annotated[str, AfterValidator(_language)]
Email = Annotated[str, AfterValidator(_email)]
Uuid = Annotated[str, AfterValidator(_uuid)]
Seconds = Annotated[float, BeforeValidator(_timecode)]
ExistingPath = Annotated[str, AfterValidator(_existing_path)]
OptionalClip = Annotated[ExistingPath | None, BeforeValidator(_false_means_none)]


class _Strict(BaseModel):
    """Unknown keys are errors (typo protection); models are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- network.toml ------------------------------------------------------------------------------


class NetworkSettings(_Strict):
    name: LineText
    base_url: BaseUrl = Field(description="public URL that object keys are appended to")
    storage: str = Field(description="s3://bucket/prefix, file://relative/dir or file:///abs/dir")
    state: str | None = Field(None, description="private: the manifest; default beside storage")
    endpoint_url: HttpUrl | None = None
    region: str | None = None
    # The network as a publisher (Podcasting 2.0 publisher feed). Required, like a show's; the
    # loader reports it missing with the value to add (so it is None only in a failed load).
    podcast_guid: Uuid | None = Field(
        None, description="podcast:guid of the network's publisher feed (UUIDv5 of its URL)"
    )
    description: CleanText | None = Field(None, description="for the publisher feed")
    link: HttpUrl | None = Field(None, description="the network's website")
    enclosure_prefix: MeasurementPrefix | None = Field(
        None, description="every show's measurement prefix of audio URLs unless a show sets its own"
    )

    @field_validator("storage", "state")
    @classmethod
    def _storage_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        _url_parts(value, space_ok=True)
        try:  # the one parser publishing uses (a relative folder's root does not matter here)
            parse_storage_url(value, Path("/"))
        except StorageURLError as exc:
            words = {
                "bucket": "names no bucket; write s3://bucket/prefix",
                "directory": "names no directory; write file://relative/dir",
                "scheme": "is not a storage URL; use s3://bucket/prefix or file://relative/dir",
            }.get(exc.missing or "")
            raise ValueError(f"{quote_cut(value)} {words}" if words else exc.reason) from None
        return value


class Owner(_Strict):
    name: LineText
    email: Email


class Loudness(_Strict):
    target_lufs: float = Field(-16.0, ge=-40.0, le=-5.0)
    true_peak_dbtp: float = Field(-1.0, ge=-9.0, le=0.0)


def _bitrate_of(bitrates: Bitrates):
    def check(value: int | None) -> int | None:
        problem = None if value is None else bitrates.problem(value)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


class _PrimarySettings(_Strict):
    """The primary format's settings (the MP3, the feed's enclosure); its channels and sample rate
    are every format's."""

    @property
    def bitrate_kbps(self) -> int:
        """The bitrate to encode at: as set, else 128 kbps stereo / 64 kbps mono."""
        default = PRIMARY.bitrates.default(self.channels)  # type: ignore[attr-defined]
        return self.bitrate if self.bitrate is not None else default  # type: ignore[attr-defined]


#: The primary format's fields after its bitrate, in this order.
_PRIMARY_EXTRAS: dict[str, Any] = {
    "channels": (Literal[1, 2], 2),
    "sample_rate": (Literal[22050, 24000, 32000, 44100, 48000], 44100),
}


def format_settings_models(table: Mapping[str, OutputFormat]) -> dict[str, type[BaseModel]]:
    """A settings model per row of the format table, named after it (`Mp3Settings`, …): the
    bitrate, checked against the row's bitrates; the first row's (the primary's) also has the
    channels and the sample rate."""
    generated: dict[str, type[BaseModel]] = {}
    for name, row in table.items():
        primary = not generated
        rates = row.bitrates
        description = f"kbps, {row.bitrate_note}; default {rates.stereo} stereo, {rates.mono} mono"
        bitrate = (Annotated[int | None, _bitrate_of(rates)], Field(None, description=description))
        generated[name] = create_model(  # type: ignore[call-overload]
            f"{name.capitalize()}Settings",
            __base__=_PrimarySettings if primary else _Strict,
            __module__=__name__,
            bitrate=bitrate,
            **(_PRIMARY_EXTRAS if primary else {}),
        )
    return generated


#: Each format's settings model, generated from its row of `formats.FORMATS`.
FORMAT_SETTINGS = format_settings_models(FORMATS)
# each under its name in this module, as a class statement would put it (so that settings pickle,
# e.g. to publish's worker processes)
globals().update({model.__name__: model for model in FORMAT_SETTINGS.values()})
Mp3Settings = FORMAT_SETTINGS[PRIMARY.name]

FormatName = Literal[tuple(FORMATS)]  # type: ignore[valid-type]


class StageSettings(_Strict):
    """What every audio stage's table (`[mastering.stages.<name>]`) holds; a stage's own
    settings model adds its fields."""

    enabled: bool = Field(True, description="false: off (e.g. a show turning off its network's)")


#: The audio stages a show may turn on, name → settings model, in chain order. Filled by
#: `podcast_tools.audio.stages.register_stage`, beside the stage's code (in the audio layer).
STAGE_SETTINGS: dict[str, type[StageSettings]] = {}


def _stage_tables(value: Any) -> dict[str, StageSettings]:
    """`mastering.stages`: each table checked against its stage's settings model (every bad one
    named, in one line)."""
    if not isinstance(value, dict):
        raise ValueError("must be a table of stages, e.g. [mastering.stages.<name>]")
    checked: dict[str, StageSettings] = {}
    wrong: list[str] = []
    for name, table in value.items():
        model = STAGE_SETTINGS.get(name)
        if model is None:
            hint = (
                did_you_mean(str(name), STAGE_SETTINGS)
                or f" (known: {', '.join(STAGE_SETTINGS) or 'none'})"
            )
            wrong.append(f"{quote_cut(str(name))} is no audio stage{hint}")
        elif isinstance(table, model):
            checked[name] = table
        else:
            try:
                checked[name] = model.model_validate(table)
            except ValidationError as exc:
                wrong.append(_stage_problem(name, model, exc.errors()[0]))
    if wrong:
        raise ValueError("; ".join(wrong))
    return checked


def _stage_problem(name: str, model: type[StageSettings], error: Any) -> str:
    where = ".".join(str(part) for part in (name, *error["loc"]))
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key; known keys: {', '.join(model.model_fields)}"
    if error["type"] == "model_type":
        return f"{where}: must be a table, e.g. [mastering.stages.{name}]"
    got = quote_cut(repr(error.get("input")), quotes=False)
    return f"{where}: {error['msg'][0].lower()}{error['msg'][1:]}, got {got}"


#: The produced-sound settings (docs/mastering.md, "Produced sound"): each turns on one built-in audio stage.
Denoise = Literal["off", "light", "strong"]
Dehum = Literal["off", "auto", 50, 60]
_LEVELER_HELP = (
    "even out the speakers: speech-aware leveling (voice activity), before the gain is solved"
)
_DENOISE_HELP = 'speech denoiser (DeepFilterNet3): "light" removes at most 12 dB, "strong" all'
_DEHUM_HELP = 'mains hum: "auto" finds 50 or 60 Hz (and harmonics) and notches it out'


class ProducedSound(_Strict):
    """An episode's own produced-sound settings (front matter `mastering:`): each one set here
    wins over its show's (a guest's noisy line is one episode's problem)."""

    leveler: bool | None = Field(None, description=_LEVELER_HELP)
    denoise: Denoise | None = Field(None, description=_DENOISE_HELP)
    dehum: Dehum | None = Field(None, description=_DEHUM_HELP)


class Mastering(_Strict):
    """How episodes are edited before encoding."""

    silence_pad_s: float = Field(0.5, ge=0.0, le=10.0, description="silence kept at each end")
    silence_threshold_lu: float = Field(
        25.0, ge=6.0, le=60.0, description="quieter than the programme by this much is silence"
    )
    crossfade_s: float = Field(0.5, ge=0.0, le=10.0, description="jingle/speech overlap")
    max_gain_db: float = Field(
        24.0, ge=0.0, le=60.0, description="more gain than this stops mastering (near-silence)"
    )
    leveler: bool = Field(False, description=_LEVELER_HELP)
    denoise: Denoise = Field("off", description=_DENOISE_HELP)
    dehum: Dehum = Field("off", description=_DEHUM_HELP)
    stages: Annotated[dict[str, Any], BeforeValidator(_stage_tables)] = Field(
        {}, description="audio stages run on the master first, [mastering.stages.<name>]"
    )

    @model_serializer(mode="wrap")
    def _no_empty_stages(self, handler: Any) -> dict[str, Any]:
        """Without stages or produced sound, the settings read as they did before those existed
        (`shows --json`)."""
        data = handler(self)
        if not self.stages:
            data.pop("stages", None)
        for key, off in (("leveler", False), ("denoise", "off"), ("dehum", "off")):
            if data.get(key) == off:
                data.pop(key, None)
        return data

    def with_episode(self, own: ProducedSound | None) -> Mastering:
        """These settings with an episode's own produced-sound settings over them."""
        if own is None:
            return self
        mine = own.model_dump(exclude_none=True)
        return self.model_copy(update=mine) if mine else self


#: The speech models `transcripts.model` names without a path (docs/transcripts.md).
TRANSCRIPT_MODELS = ("tiny.en", "base")


class Transcripts(_Strict):
    """Machine transcripts (`transcripts = { auto = true, model = "base" }`): made offline from
    the master of every episode that names no transcript of its own, when it is published."""

    auto: bool = Field(
        False,
        description="transcribe every episode without a transcript of its own when publishing",
    )
    model: LineText = Field(
        "base",
        description='"tiny.en", "base" or the folder of a CTranslate2 Whisper model (relative '
        "to episodes/ or absolute)",
    )
    language: Language | None = Field(
        None, description="the language spoken (Whisper's code, e.g. en); the show's by default"
    )

    @model_serializer(mode="wrap")
    def _only_when_on(self, handler: Any) -> dict[str, Any]:
        """Off and untouched, the settings read as they did before transcripts existed."""
        data = handler(self)
        if data.get("language") is None:
            data.pop("language", None)
        return data


class Category(_Strict):
    name: str
    subcategory: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text_or_list(cls, value: Any) -> Any:
        # `category = "Technology"` or `category = ["Business", "Management"]`
        if isinstance(value, str):
            return {"name": value}
        if isinstance(value, (list, tuple)):
            if not 1 <= len(value) <= 2 or not all(isinstance(v, str) for v in value):
                raise ValueError(
                    'write "Category" or ["Category", "Subcategory"], e.g. ["Business", "Management"]'
                )
            return {"name": value[0], "subcategory": value[1] if len(value) == 2 else None}
        return value

    @model_validator(mode="after")
    def _apple_list(self) -> Category:
        check_category(self.name, self.subcategory)
        return self

    def __str__(self) -> str:
        return f"{self.name} > {self.subcategory}" if self.subcategory else self.name


class Person(_Strict):
    """A podcast:person. `group` and `role` come from the Podcast Taxonomy (case-insensitive)."""

    name: LineText
    group: str = "cast"
    role: str = "host"
    href: HttpUrl | None = None
    img: HttpUrl | None = None

    @field_validator("group")
    @classmethod
    def _taxonomy_group(cls, value: str) -> str:
        check_group(value)
        return value

    @field_validator("role")
    @classmethod
    def _taxonomy_role(cls, value: str, info: ValidationInfo) -> str:
        group = info.data.get("group")
        if group is not None:  # a bad group is reported on its own
            check_role(group, value)
        return value


class Funding(_Strict):
    url: HttpUrl
    text: LineText = "Support the show"


# --- Podcasting 2.0 tags (docs/tags/*.md of the podcast namespace) ------------------------------

#: A Lightning node's public key: 33 bytes, compressed (02/03 prefix), hex (value-recipient.md).
_NODE_PUBKEY = re.compile(r"^0[23][0-9a-fA-F]{64}$")
_LN_ADDRESS = re.compile(r"^[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
#: SPDX-style license identifier (letters, digits, ".", "+", "-"), e.g. "CC-BY-4.0".
_LICENSE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]*$")
#: RFC 5870 geo URI as the namespace writes it: "geo:lat,lon" (an optional altitude).
_GEO = re.compile(r"^geo:(-?\d+(?:\.\d+)?),(-?\d+(?:\.\d+)?)(?:,-?\d+(?:\.\d+)?)?$")
_OSM = re.compile(r"^[NWR][0-9]+(?:#[0-9]+)?$")
_RRULE_FREQ = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
_RRULE_PARTS = frozenset(
    {
        "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
        "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST",
    }
)  # fmt: skip
#: The namespace's limit on most node values ("may be truncated by aggregators").
NODE_TEXT_LIMIT = 128
#: podcast:txt's limit (txt.md).
TXT_LIMIT = 4000


def _at_most(limit: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"is {len(value)} characters; the namespace allows at most {limit}")
        return value

    return check


ShortText = Annotated[LineText, AfterValidator(_at_most(NODE_TEXT_LIMIT))]
PositiveInt = Annotated[int, Field(strict=True, gt=0)]


def _measurement_prefix(value: str) -> str:
    parts = _url_parts(value)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(
            f"{quote_cut(value)} is not an absolute https URL prefix, e.g. "
            '"https://op3.dev/e/" or "https://dts.podtrac.com/redirect.mp3/"'
        )
    return value


MeasurementPrefix = Annotated[str, AfterValidator(_measurement_prefix), AfterValidator(_url_base)]
OptionalPrefix = Annotated[MeasurementPrefix | None, BeforeValidator(_false_means_none)]


class ValueRecipient(_Strict):
    """A podcast:valueRecipient (value-recipient.md): who receives `split` shares of a payment."""

    name: ShortText | None = None
    type: Literal["node", "lnaddress"] = "node"
    address: str
    split: PositiveInt
    custom_key: ShortText | None = None
    custom_value: ShortText | None = None
    fee: bool = False

    @model_validator(mode="after")
    def _address_form(self) -> ValueRecipient:
        if self.type == "node" and not _NODE_PUBKEY.match(self.address):
            raise ValueError(
                f"address {quote_cut(self.address)} is not a Lightning node public key "
                "(66 hex characters starting 02 or 03)"
            )
        if self.type == "lnaddress" and not _LN_ADDRESS.match(self.address):
            raise ValueError(
                f'address {quote_cut(self.address)} is not a Lightning Address, e.g. "alice@getalby.com"'
            )
        if (self.custom_key is None) != (self.custom_value is None):
            raise ValueError("custom_key and custom_value go together; set both or neither")
        return self


class Value(_Strict):
    """A podcast:value block (value.md): payments over Lightning keysend, split by shares."""

    type: Literal["lightning"] = "lightning"
    method: Literal["keysend"] = "keysend"
    suggested: (
        Annotated[Decimal, PlainSerializer(lambda amount: format(amount, "f"), when_used="json")]
        | None
    ) = Field(None, gt=0, description="per payment, in BTC")
    recipients: list[ValueRecipient] = Field(min_length=1)

    @field_validator("suggested", mode="before")
    @classmethod
    def _decimal_text(cls, value: Any) -> Any:
        # TOML and YAML read 0.00000005 as a float: keep the digits as written
        return str(value) if isinstance(value, float) else value


class License(_Strict):
    """A podcast:license (license.md): an SPDX-style identifier; a custom one also needs `url`."""

    name: ShortText
    url: HttpUrl | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not _LICENSE_ID.match(value):
            raise ValueError(
                f'{quote_cut(value)} is not a license identifier, e.g. "CC-BY-4.0" (a custom '
                "license: a short name without spaces, and its url)"
            )
        return value


def _geo_uri(value: str) -> str:
    match = _GEO.match(value)
    if not match or not (
        -90 <= float(match.group(1)) <= 90 and -180 <= float(match.group(2)) <= 180
    ):
        raise ValueError(
            f'{quote_cut(value)} is not a geo URI; write "geo:LATITUDE,LONGITUDE", e.g. '
            '"geo:-33.8688,151.2093" (latitude -90…90, longitude -180…180)'
        )
    return value


def _osm_id(value: str) -> str:
    if not _OSM.match(value):
        raise ValueError(
            f'{quote_cut(value)} is not an OpenStreetMap id; write N, W or R and the number, e.g. "R5750005"'
        )
    return value


class Location(_Strict):
    """A podcast:location (location.md): a place's name, with its geo URI and OSM id."""

    name: ShortText
    geo: Annotated[str, AfterValidator(_geo_uri)] | None = None
    osm: Annotated[str, AfterValidator(_osm_id)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class Soundbite(_Strict):
    """A podcast:soundbite (soundbite.md), in seconds of the published audio (the enclosure)."""

    start: Seconds
    duration: Seconds
    title: ShortText | None = None

    @field_validator("duration")
    @classmethod
    def _some(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0 seconds (the namespace recommends 15 to 120)")
        return value


class Txt(_Strict):
    """A podcast:txt (txt.md): free text, e.g. a directory's ownership token (purpose "verify")."""

    text: Annotated[str, AfterValidator(_clean_text), AfterValidator(_at_most(TXT_LIMIT))]
    purpose: ShortText | None = None


def _rrule(value: str) -> str:
    parts: dict[str, str] = {}
    for part in value.split(";"):
        key, sep, item = part.partition("=")
        if not sep or not item or key.upper() not in _RRULE_PARTS:
            raise ValueError(
                f"{quote_cut(value)} is not an RFC 5545 recurrence rule; write NAME=VALUE parts "
                'separated by ";", e.g. "FREQ=WEEKLY;BYDAY=TU"'
            )
        parts[key.upper()] = item
    if parts.get("FREQ", "").upper() not in _RRULE_FREQ:
        raise ValueError(
            f'{quote_cut(value)} needs FREQ= one of {", ".join(_RRULE_FREQ)}, e.g. "FREQ=WEEKLY"'
        )
    return value


def _iso_moment(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, str):
        try:
            (datetime if "T" in value else date).fromisoformat(value)
        except ValueError:
            raise ValueError(
                f'{quote_cut(value)} is not an ISO 8601 date or time, e.g. "2026-10-06T09:00:00+01:00"'
            ) from None
    return value


class UpdateFrequency(_Strict):
    """A podcast:updateFrequency (update-frequency.md): the release schedule, as text and rule."""

    text: ShortText
    rrule: Annotated[str, AfterValidator(_rrule)] | None = None
    complete: bool = False
    dtstart: Annotated[str, BeforeValidator(_iso_moment)] | None = None

    @model_validator(mode="after")
    def _count_needs_start(self) -> UpdateFrequency:
        if self.rrule and "COUNT=" in self.rrule.upper() and self.dtstart is None:
            raise ValueError("dtstart is required when the rrule has a COUNT (update-frequency.md)")
        return self


class Show(_Strict):
    """One show after inheritance from [defaults] and its `extends` chain is resolved."""

    id: Identifier
    title: Title
    description: CleanText
    author: LineText
    owner: Owner
    language: Language
    category: Category
    artwork: ExistingPath
    podcast_guid: Uuid
    explicit: bool = False
    type: Literal["episodic", "serial"] = "episodic"
    link: HttpUrl | None = None
    copyright: LineText | None = None
    loudness: Loudness = Loudness()
    formats: list[FormatName] = Field(
        ["mp3"],
        description='the audio files of every episode, e.g. ["mp3", "m4a", "opus"]; mp3 is the '
        "feed's enclosure and always one of them",
    )
    # The settings of each format, here and in the table's order, as if written out here:
    # `mp3: Mp3Settings = Mp3Settings()`, `m4a: M4aSettings = M4aSettings()`, … (a class body's
    # namespace and annotations are plain dicts, read by pydantic when the class is made)
    __annotations__.update(FORMAT_SETTINGS)
    locals().update({name: model() for name, model in FORMAT_SETTINGS.items()})
    mastering: Mastering = Mastering()
    transcripts: Transcripts = Transcripts()
    intro: OptionalClip = None
    outro: OptionalClip = None
    extends: Identifier | None = None
    # Feed settings
    moved_to: HttpUrl | None = Field(
        None,
        description="the show moved away: its feed at the new host (itunes:new-feed-url; "
        "podcast:locked off so that host may import it)",
    )
    new_feed_url: HttpUrl | None = Field(
        None, description="the older name of moved_to (the same setting, always equal to it)"
    )
    block: bool = Field(False, description="itunes:block: keep the show out of Apple's directory")
    complete: bool = Field(False, description="itunes:complete: no more episodes will come")
    locked: bool = Field(True, description="podcast:locked: other hosts may not import the feed")
    medium: Literal["podcast", "music", "video", "film", "audiobook", "newsletter", "blog"] = (
        "podcast"
    )
    funding: list[Funding] = []
    persons: list[Person] = []
    # The website's subscribe links: directory name → the show's page there. Like podcast_guid
    # it names this show's own listing, so spin-offs never inherit it.
    platforms: dict[PlatformName, HttpsUrl] = Field(
        {},
        description='the show in podcast directories, e.g. apple = "https://podcasts.apple.com/…"',
    )
    # Reach: measurement and Podcasting 2.0 channel tags
    enclosure_prefix: OptionalPrefix = Field(
        None,
        description="measurement prefix of audio URLs, e.g. https://op3.dev/e/ (false: none)",
    )
    value: Value | None = Field(None, description="podcast:value: Lightning payments")
    license: License | None = Field(None, description="podcast:license of the show's audio")
    location: Location | None = Field(None, description="podcast:location: what it is about")
    txt: list[Txt] = Field([], description="podcast:txt, e.g. a directory's verify token")
    update_frequency: UpdateFrequency | None = Field(
        None, description="podcast:updateFrequency: the release schedule"
    )

    @model_validator(mode="before")
    @classmethod
    def _one_move(cls, data: Any) -> Any:
        """`moved_to` and its older name `new_feed_url` are one setting: either sets both; a
        show that moved is unlocked (the new host imports its feed)."""
        if not isinstance(data, dict):
            return data
        moved, older = data.get("moved_to"), data.get("new_feed_url")
        if not (moved or older):
            return data
        return {**data, "moved_to": moved or older, "new_feed_url": older or moved, "locked": False}

    @field_validator("new_feed_url")
    @classmethod
    def _same_move(cls, value: str | None, info: ValidationInfo) -> str | None:
        moved = info.data.get("moved_to")
        if value and moved and value != moved:
            raise ValueError(
                f'"{value}" differs from moved_to "{moved}"; they are one setting '
                "(new_feed_url is its older name): keep moved_to only"
            )
        return value

    @field_validator("description")
    @classmethod
    def _apple_description_limit(cls, value: str) -> str:
        size = len(value.encode("utf-8"))
        if size > 4000:
            raise ValueError(f"is {size} bytes; Apple allows at most 4000")
        return value

    @field_validator("formats")
    @classmethod
    def _mp3_and_no_twice(cls, value: list[str]) -> list[str]:
        if "mp3" not in value:
            raise ValueError(
                'must include "mp3": the MP3 is the feed\'s enclosure, every app plays it'
            )
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"names {', '.join(twice)} twice")
        return value

    def bitrate_of(self, format_name: str) -> int:
        """The kbps the show encodes `format_name` at: as set, else the format's default for
        the show's channels."""
        settings = getattr(self, format_name)
        if settings.bitrate is not None:
            return settings.bitrate
        return FORMATS[format_name].bitrates.default(self.mp3.channels)


#: Show fields that belong to one show and are never inherited from [defaults] or a parent.
PER_SHOW_FIELDS = frozenset(
    {"id", "podcast_guid", "extends", "moved_to", "new_feed_url", "platforms", "txt"}
)

#: Show tables that describe one thing (a person, a category, a license, a place, a payment
#: split, a release schedule): a show that sets one replaces the inherited table whole, as the
#: keys of London's location or of another owner would be wrong beside its own. Every other
#: table (loudness, format settings, mastering, transcripts) is a set of independent settings
#: and merges key by key.
WHOLE_TABLES = frozenset({"owner", "category", "license", "location", "value", "update_frequency"})


class NetworkFile(_Strict):
    network: NetworkSettings
    defaults: dict[str, Any] = {}
    shows: dict[str, dict[str, Any]]


# --- episode front matter ----------------------------------------------------------------------


def _aware_datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{quote_cut(value)} is not a date and time, e.g. {TIMEZONE_EXAMPLE}"
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"needs a timezone, e.g. {TIMEZONE_EXAMPLE}")
        return value
    if isinstance(value, date):
        raise ValueError(f"needs a time and a timezone, e.g. {TIMEZONE_EXAMPLE}")
    raise ValueError(f"is not a date and time, e.g. {TIMEZONE_EXAMPLE}")


AwareDatetime = Annotated[datetime, BeforeValidator(_aware_datetime)]


class Chapter(_Strict):
    start: Seconds
    title: LineText
    url: HttpUrl | None = None
    image: ExistingPath | None = None

    @field_validator("image")
    @classmethod
    def _image_format(cls, value: str | None) -> str | None:
        if value is not None and Path(value).suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(
                f"{quote_cut(value)} is not an image apps show; use a .jpg or .png file"
            )
        return value


class Trim(_Strict):
    """Keep the master between `start` and `end` (positions in the master, seconds)."""

    start: Seconds | None = None
    end: Seconds | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Trim:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"start ({self.start:g} s) must come before end ({self.end:g} s)")
        return self


class Cut(_Strict):
    """Remove the master between `start` and `end` (positions in the master, seconds)."""

    start: Seconds
    end: Seconds

    @model_validator(mode="after")
    def _ordered(self) -> Cut:
        if self.start >= self.end:
            raise ValueError(f"start ({self.start:g} s) must come before end ({self.end:g} s)")
        return self


class ShowNumbers(_Strict):
    """An episode's numbers in the feed of a show it is cross-posted to."""

    number: int | None = Field(None, ge=1)
    season: int | None = Field(None, ge=1)


class FrontMatter(_Strict):
    """The YAML keys a producer writes at the top of an episode file."""

    title: Title
    guid: LineText
    date: AwareDatetime
    audio: ExistingPath
    draft: bool = Field(
        False, description="not ready: validated, but not processed or published; may lack audio"
    )
    mastered: bool = Field(
        False,
        description="the audio is a finished MP3: published as it is (re-tagged, never "
        "re-encoded); no trim, cuts, jingles, mastering or loudness normalisation",
    )
    number: int | None = Field(None, ge=1)
    season: int | None = Field(None, ge=1)
    type: Literal["full", "trailer", "bonus"] = "full"
    explicit: bool | None = None
    summary: CleanText | None = None
    shows: list[Identifier] = Field(default_factory=list)
    # numbers in the feeds of the shows in `shows` (without them a cross-post is unnumbered there)
    numbers: dict[Identifier, ShowNumbers] = Field(default_factory=dict)
    chapters: list[Chapter] = Field(default_factory=list)
    trim: Trim = Trim()
    cuts: list[Cut] = Field(default_factory=list)
    image: ExistingPath | None = None
    transcript: ExistingPath | None = None
    persons: list[Person] = Field(default_factory=list)  # factories: no copy per episode
    # Podcasting 2.0 item tags; value, license and location override the show's for this episode
    soundbites: list[Soundbite] = Field(default_factory=list)
    value: Value | None = None
    license: License | None = None
    location: Location | None = None

    @field_validator("transcript")
    @classmethod
    def _transcript_format(cls, value: str | None) -> str | None:
        suffix = Path(value).suffix.lower() if value is not None else ""
        if value is not None and suffix in _PAGE_SUFFIXES:
            raise ValueError(
                f"{quote_cut(value)} is a page browsers would open on the website and run its "
                "scripts; save the transcript as .srt or .vtt (timed cues) or .txt (plain text)"
            )
        if value is not None and suffix not in TRANSCRIPT_SUFFIXES:
            raise ValueError(
                f"{quote_cut(value)} is not a transcript format apps read; use .srt, .vtt, .json or .txt"
            )
        return value

    mastering: ProducedSound | None = Field(
        None, description="this episode's own leveler, denoise and dehum (over its show's)"
    )
    # None: the show's jingle; false: none for this episode; a path: this episode's own.
    intro: ExistingPath | Literal[False] | None = None
    outro: ExistingPath | Literal[False] | None = None


class Episode(FrontMatter):
    """One episode: its front matter plus where it lives and its show notes."""

    slug: Identifier
    show: Identifier = Field(description="the show whose folder holds the episode")
    path: Path = Field(description="the episode file")
    notes: str = Field("", description="the Markdown body: show notes")

    def numbers_in(self, show_id: str) -> tuple[int | None, int | None]:
        """(number, season) in the feed of `show_id`: the episode's own in its home show, the ones
        given under `numbers` in a show it is cross-posted to, else none (a number of one show
        would clash with another's)."""
        if show_id == self.show:
            return self.number, self.season
        given = self.numbers.get(show_id)
        return (given.number, given.season) if given is not None else (None, None)

    def number_needed(self, show_id: str, show_type: str) -> tuple[str, str] | None:
        """Apple's rule for a serial show — every item of its feed has an episode number — as
        (field, message) when this episode breaks it in the feed of `show_id`; else None. The one
        home of the rule: validation and every feed built apply it."""
        if show_type != "serial" or self.numbers_in(show_id)[0] is not None:
            return None
        field = "number" if show_id == self.show else f"numbers.{show_id}.number"
        return field, f'is needed: "{show_id}" is a serial show (Apple requires episode numbers)'

    @property
    def all_shows(self) -> list[str]:
        """The home show first, then the shows it is cross-posted to."""
        return [self.show] + [s for s in self.shows if s != self.show]

    @property
    def folder(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """A path from the front matter, relative to the episode file."""
        return self.folder / relative
