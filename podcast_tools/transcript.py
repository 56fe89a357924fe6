"""Transcripts as cues: SRT, WebVTT and the Podcasting 2.0 JSON form, parsed into timed text.

The parsers take text (or bytes) and give cues in the file's order, or raise one
`TranscriptError` that says where and what is wrong — never another exception, whatever the
input (tests/test_site.py fuzzes them). They are lenient where real files differ harmlessly
(CRLF or CR line ends, a byte-order mark, a missing cue number, `.` or `,` before the
milliseconds, one to three digits of them, cue settings, an SRT cue whose text runs over a blank
line) and strict where the times would be wrong (minutes or seconds over 59, an end before its
start, no cue at all).

Formats: SubRip as commonly written; WebVTT (W3C WebVTT, "WEBVTT" header, NOTE/STYLE/REGION
blocks skipped, `<v Speaker>` voice spans kept as the speaker, other tags dropped);
JSON as in the Podcasting 2.0 transcript spec (`{"version", "segments": [{"speaker",
"startTime", "endTime", "body"}]}`), whose word- or phrase-level segments are joined into one cue
per sentence of one speaker.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from podcast_tools.content.models import XML_CONTROL
from podcast_tools.errors import PodcastToolsError
from podcast_tools.mediatypes import TRANSCRIPT_TYPES


class TranscriptError(PodcastToolsError):
    """A transcript that cannot be read as cues; `line` is where (1-based), when known."""

    def __init__(self, message: str, line: int | None = None):
        self.reason = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float | None  # None: the JSON segment gave no end
    text: str  # plain text (tags dropped, entities decoded), lines joined by a space
    speaker: str | None = None


@dataclass(frozen=True)
class Word:
    """One recognised word and when it is spoken (seconds; in the master, or as heard once mapped
    through the edit plan); `text` keeps its punctuation, without the leading space."""

    start_s: float
    end_s: float
    text: str
    speaker: str | None = None


_TIME = r"(?:(\d{1,9}):)?(\d{1,2}):(\d{1,2})(?:[,.](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:[ \t].*)?$")
_TAG = re.compile(r"<[^>]*>")
_VOICE = re.compile(r"^\s*<v(?:\.[^\s>]*)?[ \t]+([^>]*)>")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
#: A cue longer than this is split when JSON segments are joined, even mid-sentence.
JOINED_CUE_LIMIT_S = 30.0


def _decode(data: bytes | str) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise TranscriptError(
                f"is not UTF-8 text (byte {exc.start}); save it as UTF-8"
            ) from None
    text = data.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _seconds(groups: tuple[str | None, ...], line: int, shown: str) -> float:
    hours, minutes, secs, fraction = groups
    if int(minutes) > 59 or int(secs) > 59:
        raise TranscriptError(f'"{shown}" is not a time: minutes and seconds go up to 59', line)
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(secs)
    millis = int(fraction) * 10 ** (3 - len(fraction)) if fraction else 0
    return (value * 1000 + millis) / 1000  # 27.702, not 27 + 0.702 = 27.701999999999998


def _timing(text: str, line: int) -> tuple[float, float] | None:
    """(start, end) of a timing line `00:00:01,000 --> 00:00:04,000`, None if it is not one."""
    match = _TIMING.match(text)
    if match is None:
        return None
    groups = match.groups()
    shown = text.strip()[:60]
    start = _seconds(groups[:4], line, shown)
    end = _seconds(groups[4:8], line, shown)
    if end < start:
        raise TranscriptError(f'"{shown}": the cue ends before it starts', line)
    return start, end


def _plain(lines: list[str]) -> tuple[str, str | None]:
    """The cue's text without tags, entities decoded, and the speaker of a leading <v> span."""
    speaker = None
    if lines:
        voice = _VOICE.match(lines[0])
        if voice:
            name = XML_CONTROL.sub("", html.unescape(voice.group(1)))
            speaker = " ".join(name.split()) or None
    words = " ".join(html.unescape(_TAG.sub("", line)) for line in lines)
    return " ".join(XML_CONTROL.sub("", words).split()), speaker


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` (split at "\n"), one at a time: a long file is never held twice."""
    start = 0
    while (end := text.find("\n", start)) >= 0:
        yield text[start:end]
        start = end + 1
    yield text[start:]


def _blocks(text: str) -> Iterator[tuple[int, list[str]]]:
    """Runs of non-blank lines, each with the (1-based) number of its first line."""
    current: list[str] = []
    first = 0
    for number, line in enumerate(_lines(text), start=1):
        if line.strip():
            if not current:
                first = number
            current.append(line)
        elif current:
            yield first, current
            current = []
    if current:
        yield first, current


def _shown(line: str) -> str:
    text = line.strip()
    return text if len(text) <= 40 else text[:39] + "…"


def _some(cues: Iterator[Cue]) -> Iterator[Cue]:
    """`cues`, or one TranscriptError at their end when there were none."""
    found = False
    for cue in cues:
        found = True
        yield cue
    if not found:
        raise TranscriptError("holds no cues")


def parse_srt(data: bytes | str) -> list[Cue]:
    """Cues of a SubRip file.

    >>> parse_srt("1\\n00:00:01,000 --> 00:00:02,500\\n<i>Hello</i> &amp; welcome\\n")
    [Cue(start_s=1.0, end_s=2.5, text='Hello & welcome', speaker=None)]
    >>> parse_srt("1\\n00:00:01,000 -> 00:00:02,500\\nHello\\n")
    Traceback (most recent call last):
    ...
    podcast_tools.transcript.TranscriptError: line 2: expected a time range like "00:00:01,000 --> 00:00:04,000", found "00:00:01,000 -> 00:00:02,500"
    """
    return list(_some(_srt_cues(data)))


def _srt_cues(data: bytes | str) -> Iterator[Cue]:
    last: Cue | None = None  # held until the next timing line: blank lines may split its text
    pending: list[str] = []  # text of the last cue, extended by blocks without a timing line
    for first, lines in _blocks(_decode(data)):
        index = 0
        if lines[0].strip().isdigit() and len(lines) > 1:
            index = 1  # the cue number
        timing = _timing(lines[index], first + index)
        if timing is None:
            if last is None:
                raise TranscriptError(
                    'expected a time range like "00:00:01,000 --> 00:00:04,000", '
                    f'found "{_shown(lines[index])}"',
                    first + index,
                )
            pending += lines  # the last cue's text went on after a blank line
            last = Cue(last.start_s, last.end_s, _plain(pending)[0], last.speaker)
            continue
        if last is not None:
            yield last
        pending = lines[index + 1 :]
        last = Cue(timing[0], timing[1], *_plain(pending))
    if last is not None:
        yield last


def parse_vtt(data: bytes | str) -> list[Cue]:
    """Cues of a WebVTT file.

    >>> parse_vtt("WEBVTT\\n\\nNOTE made by hand\\n\\nintro\\n00:01.000 --> 00:04.000 align:start\\n"
    ...           "<v Alex Host>Welcome to the show\\n")
    [Cue(start_s=1.0, end_s=4.0, text='Welcome to the show', speaker='Alex Host')]
    >>> parse_vtt("1\\n00:01.000 --> 00:04.000\\nHello\\n")
    Traceback (most recent call last):
    ...
    podcast_tools.transcript.TranscriptError: line 1: a WebVTT file starts with the line "WEBVTT"
    """
    return list(_some(_vtt_cues(data)))


def _vtt_cues(data: bytes | str) -> Iterator[Cue]:
    blocks = _blocks(_decode(data))
    header = next(blocks, None)
    if header is None or header[0] != 1 or not re.match(r"WEBVTT(?:[ \t]|$)", header[1][0]):
        raise TranscriptError('a WebVTT file starts with the line "WEBVTT"', 1)
    for first, lines in blocks:
        if re.match(r"(?:NOTE|STYLE|REGION)(?:[ \t]|$)", lines[0]):
            continue
        at = next((i for i, line in enumerate(lines[:2]) if "-->" in line), None)
        if at is None:
            if any("-->" in line for line in lines):
                where = next(i for i, line in enumerate(lines) if "-->" in line)
                raise TranscriptError(
                    "a cue has one identifier line at most before its times", first + where
                )
            continue  # not a cue: WebVTT parsers skip such a block
        timing = _timing(lines[at], first + at)
        if timing is None:
            raise TranscriptError(
                'expected a time range like "00:01.000 --> 00:04.000", '
                f'found "{_shown(lines[at])}"',
                first + at,
            )
        yield Cue(timing[0], timing[1], *_plain(lines[at + 1 :]))


def parse_json(data: bytes | str) -> list[Cue]:
    """Cues of a Podcasting 2.0 JSON transcript: consecutive segments of one speaker are joined
    into a cue per sentence (at most `JOINED_CUE_LIMIT_S` long).

    >>> parse_json('{"version": "1.0.0", "segments": ['
    ...            '{"speaker": "Sam", "startTime": 0.5, "endTime": 0.9, "body": "Hi"},'
    ...            '{"speaker": "Sam", "startTime": 1, "endTime": 1.4, "body": "there."},'
    ...            '{"speaker": "Alex", "startTime": 2, "body": "Hello."}]}')
    [Cue(start_s=0.5, end_s=1.4, text='Hi there.', speaker='Sam'), Cue(start_s=2.0, end_s=None, text='Hello.', speaker='Alex')]
    """
    text = _decode(data)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"is not JSON: {exc.msg}", exc.lineno) from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise TranscriptError(f"is not JSON a transcript holds: {exc}") from None
    except RecursionError:
        raise TranscriptError("is not JSON a transcript holds: nested too deeply") from None
    segments = document.get("segments") if isinstance(document, dict) else None
    if not isinstance(segments, list):
        raise TranscriptError('a JSON transcript is an object with a "segments" list')
    cues: list[Cue] = []
    open_cue = False  # the last cue may take the next segment of its speaker
    for index, segment in enumerate(segments, start=1):
        where = f"segments[{index}]"
        if not isinstance(segment, dict):
            raise TranscriptError(f"{where} is not an object")
        start = _number(segment.get("startTime"), f"{where}.startTime")
        end = segment.get("endTime")
        end = None if end is None else _number(end, f"{where}.endTime")
        if end is not None and end < start:
            raise TranscriptError(f"{where}: endTime comes before startTime")
        body = segment.get("body")
        if not isinstance(body, str):
            raise TranscriptError(f"{where}.body is not text")
        speaker = segment.get("speaker")
        if speaker is not None and not isinstance(speaker, str):
            raise TranscriptError(f"{where}.speaker is not text")
        body = " ".join(XML_CONTROL.sub("", body).split())
        speaker = " ".join(XML_CONTROL.sub("", speaker or "").split()) or None
        last = cues[-1] if cues else None
        if (
            open_cue
            and last is not None
            and last.speaker == speaker
            and start - last.start_s <= JOINED_CUE_LIMIT_S
        ):
            joined = f"{last.text} {body}".strip()
            cues[-1] = Cue(last.start_s, end if end is not None else last.end_s, joined, speaker)
        else:
            cues.append(Cue(start, end, body, speaker))
        open_cue = not _SENTENCE_END.search(cues[-1].text)
    return list(_some(iter(cues)))


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TranscriptError(f"{where} is not a number of seconds")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds) or seconds < 0:
        raise TranscriptError(f"{where} must be zero or more seconds (and finite)")
    return seconds


#: The parser of each transcript type that has cues (a plain-text transcript is linked, not
#: parsed).
PARSERS: dict[str, Callable[[bytes | str], list[Cue]]] = {
    TRANSCRIPT_TYPES[".srt"]: parse_srt,
    TRANSCRIPT_TYPES[".vtt"]: parse_vtt,
    TRANSCRIPT_TYPES[".json"]: parse_json,
}


#: The cues of SRT and WebVTT one at a time (a JSON document is read whole).
_CUE_READERS: dict[str, Callable[[bytes | str], Iterator[Cue]]] = {
    TRANSCRIPT_TYPES[".srt"]: _srt_cues,
    TRANSCRIPT_TYPES[".vtt"]: _vtt_cues,
    TRANSCRIPT_TYPES[".json"]: lambda data: iter(parse_json(data)),
}


def parse_transcript(data: bytes, mime: str) -> list[Cue] | None:
    """The cues of a transcript of type `mime`; None for a type without cues (plain text, which
    must still be UTF-8: it is published as such).

    >>> parse_transcript("Welcome.".encode(), "text/plain") is None
    True
    """
    cues = transcript_cues(data, mime)
    return None if cues is None else list(cues)


def transcript_cues(data: bytes, mime: str) -> Iterator[Cue] | None:
    """`parse_transcript`'s cues one at a time, each read when it is asked for (a long SRT or
    WebVTT is never held as cues whole); the TranscriptError of a fault comes when the reading
    reaches it. None for a type without cues."""
    reader = _CUE_READERS.get(mime)
    if reader is None:
        if mime == TRANSCRIPT_TYPES[".txt"]:
            _decode(data)
        return None
    return _some(reader(data))


# Writers: cues (and words) as WebVTT, SubRip and Podcasting 2.0 JSON. Each parses back with
# the parsers above to the same cues, times to the millisecond (tests/test_transcript_writers.py).

#: A cue's text is wrapped onto lines of at most this many characters ...
LINE_CHARS = 42
#: ... and at most this many lines, when its words fit in them (else onto more lines).
CUE_LINES = 2
#: The end given to a cue that has none (a JSON segment without endTime) and no next cue.
_OPEN_END_S = 2.0


def _milliseconds(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _clock(seconds: float, decimal: str) -> str:
    """`HH:MM:SS.mmm` (WebVTT, decimal ".") or `HH:MM:SS,mmm` (SubRip, decimal ",")."""
    total = _milliseconds(seconds)
    hours, rest = divmod(total, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _ends(cues: list[Cue]) -> Iterator[tuple[Cue, float]]:
    """Each cue with its end: its own, else the next cue's start (or a short while after its
    own start when that is not later)."""
    for index, cue in enumerate(cues):
        end = cue.end_s
        if end is None:
            following = cues[index + 1].start_s if index + 1 < len(cues) else None
            late = following is not None and following > cue.start_s
            end = following if late else cue.start_s + _OPEN_END_S
        yield cue, max(end, cue.start_s)


def _balanced_split(words: list[str]) -> list[str] | None:
    """Two lines of at most LINE_CHARS, as even as the words allow; None when none fit."""
    best: tuple[int, list[str]] | None = None
    for at in range(1, len(words)):
        first, second = " ".join(words[:at]), " ".join(words[at:])
        if len(first) <= LINE_CHARS and len(second) <= LINE_CHARS:
            spread = abs(len(first) - len(second))
            if best is None or spread < best[0]:
                best = (spread, [first, second])
    return None if best is None else best[1]


def wrap_cue_text(text: str) -> list[str]:
    """`text` on lines that join back with a space: one line when it fits, else two even lines
    of at most LINE_CHARS, else as many lines of at most LINE_CHARS as it needs (a word longer
    than a line stays whole).

    >>> wrap_cue_text("So this week we talk about the garden, and what grew in it.")
    ['So this week we talk about the', 'garden, and what grew in it.']
    """
    words = text.split(" ")
    if len(text) <= LINE_CHARS or len(words) < 2:
        return [text]
    if (two := _balanced_split(words)) is not None and len(two) <= CUE_LINES:
        return two
    lines = [words[0]]
    for word in words[1:]:
        if len(lines[-1]) + 1 + len(word) <= LINE_CHARS:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(text: str) -> str:
    return " ".join(XML_CONTROL.sub("", text).split())


def write_vtt(cues: list[Cue] | tuple[Cue, ...], notes: tuple[str, ...] | list[str] = ()) -> str:
    """A WebVTT file of `cues`: `<v Speaker>` before the text of a cue that has a speaker, `&`,
    `<` and `>` escaped, the text wrapped (`wrap_cue_text`); each of `notes` a NOTE block.

    >>> print(write_vtt([Cue(1, 4.5, "Fish & chips", "Sam")], notes=["made here"]), end="")
    WEBVTT
    <BLANKLINE>
    NOTE made here
    <BLANKLINE>
    00:00:01.000 --> 00:00:04.500
    <v Sam>Fish &amp; chips
    """
    blocks = ["WEBVTT"]
    for note in notes:
        lines = [line.strip().replace("-->", "->") for line in note.splitlines()]
        text = "\n".join(line for line in lines if line)
        if text:
            blocks.append(f"NOTE {text}" if "\n" not in text else f"NOTE\n{text}")
    for cue, end in _ends(list(cues)):
        lines = [_escape(line) for line in wrap_cue_text(_one_line(cue.text))]
        speaker = _one_line(cue.speaker or "")
        if speaker:
            lines[0] = f"<v {_escape(speaker)}>{lines[0]}"
        timing = f"{_clock(cue.start_s, '.')} --> {_clock(end, '.')}"
        blocks.append("\n".join([timing, *(line for line in lines if line)]))
    return "\n\n".join(blocks) + "\n"


def _srt_text(text: str) -> str:
    """SubRip has no escapes: text is written as it is unless a reader would take part of it
    for a tag or an entity; then `&`, `<` and `>` are escaped as players that read them expect."""
    return text if html.unescape(_TAG.sub("", text)) == text else _escape(text)


def write_srt(cues: list[Cue] | tuple[Cue, ...]) -> str:
    """A SubRip file of `cues`, numbered from 1, the text wrapped (`wrap_cue_text`). SubRip has
    no speakers: they are left out (the WebVTT and JSON forms keep them).

    >>> print(write_srt([Cue(0, 2.25, "Hello"), Cue(2.5, 3, "again")]), end="")
    1
    00:00:00,000 --> 00:00:02,250
    Hello
    <BLANKLINE>
    2
    00:00:02,500 --> 00:00:03,000
    again
    """
    blocks = []
    for number, (cue, end) in enumerate(_ends(list(cues)), start=1):
        lines = [_srt_text(line) for line in wrap_cue_text(_one_line(cue.text))]
        timing = f"{_clock(cue.start_s, ',')} --> {_clock(end, ',')}"
        blocks.append("\n".join([str(number), timing, *(line for line in lines if line)]))
    return "\n\n".join(blocks) + "\n"


def _segment(start_s: float, end_s: float | None, body: str, speaker: str | None) -> dict:
    segment: dict[str, object] = {}
    if speaker:
        segment["speaker"] = speaker
    segment["startTime"] = _milliseconds(start_s) / 1000
    if end_s is not None:
        segment["endTime"] = _milliseconds(max(end_s, start_s)) / 1000
    segment["body"] = body
    return segment


def write_json(
    cues: list[Cue] | tuple[Cue, ...], words: list[Word] | tuple[Word, ...] | None = None
) -> str:
    """A Podcasting 2.0 JSON transcript (version "1.0.0"): one segment per word when `words`
    are given (their times are what the form is for), else one per cue.

    Read back, consecutive segments of one speaker are joined into sentences (`parse_json`):
    cues that each end a sentence come back as they went.

    >>> print(write_json([Cue(0.5, 1.25, "Hi.", "Sam")]))
    {"version": "1.0.0", "segments": [{"speaker": "Sam", "startTime": 0.5, "endTime": 1.25, "body": "Hi."}]}
    """
    if words is not None:
        segments = [
            _segment(w.start_s, w.end_s, _one_line(w.text), _one_line(w.speaker or "") or None)
            for w in words
            if _one_line(w.text)
        ]
    else:
        segments = [
            _segment(c.start_s, c.end_s, _one_line(c.text), _one_line(c.speaker or "") or None)
            for c in cues
        ]
    return json.dumps({"version": "1.0.0", "segments": segments}, ensure_ascii=False)
