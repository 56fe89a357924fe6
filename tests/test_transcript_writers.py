"""The transcript writers: cues written as WebVTT, SubRip and Podcasting 2.0 JSON read back with
the parsers (podcast_tools.transcript) as the same cues, times to the millisecond."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from podcast_tools.content.models import XML_CONTROL
from podcast_tools.transcript import (
    LINE_CHARS,
    Cue,
    Word,
    parse_json,
    parse_srt,
    parse_vtt,
    wrap_cue_text,
    write_json,
    write_srt,
    write_vtt,
)


def _clean(text: str) -> str:
    """Text as a cue holds it: no control characters, one space between words."""
    return " ".join(XML_CONTROL.sub("", text).split())


# Any text a cue holds, with the characters the formats treat specially mixed in.
_words = st.text(
    st.one_of(st.characters(codec="utf-8"), st.sampled_from("&<>;-->v #.,!?\"'")), max_size=120
).map(_clean)
_speakers = st.one_of(st.none(), _words.filter(bool))


@st.composite
def _cues(draw, text=_words, speakers=_speakers) -> list[Cue]:
    """Cues in order, times whole milliseconds (up to about 30 hours), each ending at or after
    its start."""
    cues = []
    at = draw(st.integers(0, 3_600_000))
    for _ in range(draw(st.integers(1, 8))):
        start = at + draw(st.integers(0, 20_000))
        end = start + draw(st.integers(0, 15_000))
        cues.append(Cue(start / 1000, end / 1000, draw(text), draw(speakers)))
        at = end
    return cues


@settings(max_examples=300, deadline=None)
@given(_cues())
def test_webvtt_reads_back_as_the_same_cues(cues):
    assert parse_vtt(write_vtt(cues, notes=["made here --> reviewed", "two\n\nlines"])) == cues


@settings(max_examples=300, deadline=None)
@given(_cues())
def test_subrip_reads_back_as_the_same_cues_without_speakers(cues):
    expected = [Cue(cue.start_s, cue.end_s, cue.text) for cue in cues]
    assert parse_srt(write_srt(cues)) == expected


@settings(max_examples=300, deadline=None)
@given(_cues(text=_words.map(lambda text: f"{text}.".lstrip())))
def test_json_reads_back_as_the_same_cues_when_each_ends_a_sentence(cues):
    assert parse_json(write_json(cues)) == cues


@settings(max_examples=200, deadline=None)
@given(_cues(speakers=st.none()))
def test_json_of_any_cues_keeps_the_text_and_the_starts(cues):
    """Segments of one speaker that do not end a sentence are joined when read: the text and
    the times stay, in order."""
    read = parse_json(write_json(cues))
    assert " ".join(cue.text for cue in read).split() == " ".join(c.text for c in cues).split()
    assert {cue.start_s for cue in read} <= {cue.start_s for cue in cues}
    assert read[0].start_s == cues[0].start_s


def test_json_of_words_has_a_segment_per_word_and_reads_back_as_sentences():
    words = [
        Word(0.52, 0.8, "Hello", "Sam"),
        Word(0.8, 1.1, "there.", "Sam"),
        Word(1.5, 1.9, "Fish", "Alex"),
        Word(1.9, 2.3, "&", "Alex"),
        Word(2.3, 2.9, "chips!", "Alex"),
    ]
    cues = [Cue(0.52, 1.1, "Hello there.", "Sam"), Cue(1.5, 2.9, "Fish & chips!", "Alex")]
    document = json.loads(write_json(cues, words=words))
    assert document["version"] == "1.0.0"
    assert [s["body"] for s in document["segments"]] == ["Hello", "there.", "Fish", "&", "chips!"]
    assert document["segments"][0] == {
        "speaker": "Sam",
        "startTime": 0.52,
        "endTime": 0.8,
        "body": "Hello",
    }
    assert parse_json(json.dumps(document)) == cues


def test_webvtt_escapes_markup_and_a_cue_end_marker():
    text = write_vtt([Cue(0, 1, "a <b> & c --> d", "R&D <x>")])
    assert "<v R&amp;D &lt;x&gt;>a &lt;b&gt; &amp; c --&gt; d" in text
    assert parse_vtt(text) == [Cue(0, 1, "a <b> & c --> d", "R&D <x>")]


def test_subrip_escapes_only_what_a_reader_would_take_for_markup():
    assert "Fish & chips, 3 > 2\n" in write_srt([Cue(0, 1, "Fish & chips, 3 > 2")])
    assert "say &lt;i&gt; &amp;amp;\n" in write_srt([Cue(0, 1, "say <i> &amp;")])


@given(_words)
def test_wrapping_keeps_the_text_on_two_lines_of_42_when_they_hold_it(text):
    lines = wrap_cue_text(text)
    assert " ".join(lines) == text
    fits = any(
        len(" ".join(text.split(" ")[:at])) <= LINE_CHARS
        and len(" ".join(text.split(" ")[at:])) <= LINE_CHARS
        for at in range(1, len(text.split(" ")))
    )
    if len(text) <= LINE_CHARS:
        assert lines == [text]
    elif fits:
        assert len(lines) == 2 and all(len(line) <= LINE_CHARS for line in lines)
    else:
        assert all(len(line) <= LINE_CHARS or " " not in line for line in lines)


def test_a_long_cue_is_wrapped_onto_two_even_lines():
    text = "and that is why we planted the beans before the frost came back"
    lines = wrap_cue_text(text)
    assert len(lines) == 2 and abs(len(lines[0]) - len(lines[1])) <= 8
    written = write_vtt([Cue(3, 7, text)])
    assert written.endswith(f"00:00:03.000 --> 00:00:07.000\n{lines[0]}\n{lines[1]}\n")


def test_a_cue_without_an_end_ends_where_the_next_starts():
    cues = [Cue(1, None, "One."), Cue(4, 5, "Two."), Cue(6, None, "Three.")]
    assert [(c.start_s, c.end_s) for c in parse_vtt(write_vtt(cues))] == [(1, 4), (4, 5), (6, 8)]
    assert [(c.start_s, c.end_s) for c in parse_srt(write_srt(cues))] == [(1, 4), (4, 5), (6, 8)]


def test_times_are_written_to_the_millisecond_past_an_hour():
    text = write_srt([Cue(3723.0456, 3725.9994, "late")])
    assert "01:02:03,046 --> 01:02:05,999" in text
    assert parse_srt(text)[0].start_s == 3723.046
