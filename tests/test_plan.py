"""Edit decisions: silence trim with pad, producer's trim and cuts, jingle overlaps, chapters."""

from __future__ import annotations

import numpy as np
import pytest

from podcast_tools.audio.plan import PlanError, place_chapters, plan_edits

RATE = 44100
FRAME = 441  # 10 ms


def energies(loud_from_s: float, loud_to_s: float, total_s: float) -> np.ndarray:
    """10 ms frame energies: programme at -20 LUFS between the two times, near-silence around."""
    frames = int(total_s * 100)
    loud = 10 ** ((-20 + 0.691) / 10) * FRAME
    quiet = 10 ** ((-80 + 0.691) / 10) * FRAME
    result = np.full(frames, quiet)
    result[int(loud_from_s * 100) : int(loud_to_s * 100)] = loud
    return result


def plan(**overrides):
    arguments = dict(
        sample_rate=RATE,
        master_frames=20 * RATE,
        frame_energy=energies(3, 17, 20),
        frame_len=FRAME,
        trim_start_s=None,
        trim_end_s=None,
        cuts_s=[],
        silence_pad_s=0.5,
        silence_threshold_lu=25,
    )
    arguments.update(overrides)
    return plan_edits(**arguments)


def test_silence_at_both_ends_is_trimmed_to_the_pad():
    result = plan()
    # 3 s of silence at each end, 0.5 s kept; the 50 ms detection window may start 25 ms early
    assert result.head_trimmed_s == pytest.approx(2.5, abs=0.03)
    assert result.tail_trimmed_s == pytest.approx(2.5, abs=0.03)
    assert result.speech_frames / RATE == pytest.approx(15.0, abs=0.06)


def test_producer_trim_and_cuts():
    result = plan(trim_start_s=4.0, trim_end_s=16.0, cuts_s=[(6.0, 8.0), (10.0, 10.5)])
    kept = [(s.start / RATE, s.end / RATE) for s in result.segments]
    assert kept == [(4.0, 6.0), (8.0, 10.0), (10.5, 16.0)]
    assert result.speech_frames / RATE == pytest.approx(9.5)


def test_cut_in_the_trimmed_silence_is_dropped():
    result = plan(cuts_s=[(0.5, 1.5)])
    assert result.cuts == ()
    assert len(result.segments) == 1


def test_jingles_overlap_by_the_crossfade():
    result = plan(intro_frames=3 * RATE, outro_frames=2 * RATE, crossfade_s=0.5)
    assert result.speech_start == int(2.5 * RATE)
    assert (
        result.total_frames == 3 * RATE + result.speech_frames + 2 * RATE - RATE
    )  # two 0.5 s overlaps


def test_chapters_follow_the_words():
    result = plan(cuts_s=[(6.0, 8.0)], intro_frames=3 * RATE, crossfade_s=0.5)
    marks = place_chapters(
        result, [(0.0, "Start"), (5.0, "Before the cut"), (9.0, "After the cut")]
    )
    speech_start = 2.5  # intro 3 s − 0.5 s crossfade
    keep_start = result.segments[0].start / RATE  # about 3 s of silence − 0.5 s pad
    assert [m.output_s for m in marks] == pytest.approx(
        [0.0, speech_start + 5.0 - keep_start, speech_start + 9.0 - keep_start - 2.0], abs=1e-4
    )


def test_chapter_in_trimmed_tail_is_an_error():
    with pytest.raises(PlanError) as caught:
        place_chapters(plan(), [(0.0, "Start"), (19.0, "Too late")])
    assert caught.value.field == "chapters[2].start"


def test_two_chapters_in_the_leading_silence_collide():
    with pytest.raises(PlanError, match="same place"):
        place_chapters(plan(), [(0.0, "A"), (1.0, "B")])


def test_all_silence_is_an_error():
    with pytest.raises(PlanError, match="silence"):
        plan(frame_energy=np.zeros(2000))
