"""The voices in recognised speech, from the samples: where each word's voice starts and ends
(Silero VAD, as faster-whisper ships it), the words kept in order, and who speaks — each phrase's
pitch (median F0 by normalised autocorrelation), two speakers when the phrases fall into two
groups clearly apart (Otsu's split of log2 F0), none named otherwise.

Arrays of 16 kHz mono float32 in, words out; no files, no model loading (`audio.recognition`
does that).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

import numpy as np

from podcast_tools.transcript import Word

SAMPLE_RATE = 16000


def in_order(words: list[Word]) -> list[Word]:
    """`words` with none starting before the one before it starts, nor before it ends (a word
    that does is shortened: an end moved back to the next word's start), so cues never overlap.

    >>> in_order([Word(0.0, 1.2, "a"), Word(1.0, 1.5, "b"), Word(0.9, 2.0, "c")])
    [Word(start_s=0.0, end_s=1.0, text='a', speaker=None), Word(start_s=1.0, end_s=1.0, text='b', speaker=None), Word(start_s=1.0, end_s=2.0, text='c', speaker=None)]
    """
    ordered: list[Word] = []
    for word in words:
        if ordered:
            last = ordered[-1]
            start = max(word.start_s, last.start_s)
            if start < last.end_s:
                ordered[-1] = Word(last.start_s, start, last.text, last.speaker)
            if start != word.start_s:
                word = Word(start, max(word.end_s, start), word.text, word.speaker)
        ordered.append(word)
    return ordered


_FRAME_S = 0.01


def snapped_to_voice(
    found: list[list[Word]], window: np.ndarray, offset_s: float
) -> list[list[Word]]:
    """The words of `found` (a list per segment; times in the source, `window` starting at
    `offset_s`) with their edges on the voice (`_voiced_frames`).

    Whisper stretches a word over the pause before or after it (the first word of a
    voice-activity chunk starts at the chunk's padded start; a word at a turn may span the
    pause), or puts a phrase's first word late. A word starts at its first voiced 10 ms when
    silence of _SILENT_S or more comes first (or a pause before it), and a word after a pause
    starts where the voice before it begins (not before the word before); its end likewise."""
    loud = _voiced_frames(window)
    if loud is None:
        return found
    flat = [w for segment in found for w in segment]
    frames = [
        (max(0, round((w.start_s - offset_s) / _FRAME_S)), round((w.end_s - offset_s) / _FRAME_S))
        for w in flat
    ]
    snapped: dict[int, Word] = {}
    for index, word in enumerate(flat):
        lo, hi = frames[index][0], min(loud.size, max(frames[index][1], frames[index][0] + 1))
        before = frames[index - 1][1] if index else 0
        after = frames[index + 1][0] if index + 1 < len(flat) else loud.size
        start, end = _voice_edges(loud, lo, hi, max(before, 0), min(after, loud.size))
        if (start, end) != (lo, hi):
            at = offset_s + start * _FRAME_S
            snapped[id(word)] = Word(
                round(at, 3), round(max(offset_s + end * _FRAME_S, at), 3), word.text
            )
    return [[snapped.get(id(w), w) for w in segment] for segment in found]


_SILENT_S = 0.15  # silence at a word's edge longer than a stop consonant's
_PAUSE_FRAMES = 5  # 50 ms between two words: a pause
_BRIDGE_FRAMES = 10  # gaps of voice up to 0.1 s are inside a word or between words of a phrase


def _voice_edges(loud: np.ndarray, lo: int, hi: int, before: int, after: int) -> tuple[int, int]:
    """A word's frames [lo, hi) moved onto the voice (`loud`), not past the words around it:
    the previous ends at frame `before`, the next starts at `after`."""
    voiced = np.flatnonzero(loud[lo:hi])
    if voiced.size == 0:
        return lo, hi
    silent = round(_SILENT_S / _FRAME_S)
    start, end = lo, hi
    if voiced[0] >= silent or lo - before > _PAUSE_FRAMES:
        start = lo + int(voiced[0])
    if (hi - lo - 1 - voiced[-1]) >= silent or after - hi > _PAUSE_FRAMES:
        end = lo + int(voiced[-1]) + 1
    if start - before > _PAUSE_FRAMES:  # after a pause: back to where the voice before it starts
        while start > before and loud[max(before, start - _BRIDGE_FRAMES) : start].any():
            start -= 1
            while start > before and not loud[start]:
                start -= 1
    if after - end > _PAUSE_FRAMES:
        while end < after and loud[end : min(after, end + _BRIDGE_FRAMES)].any():
            end += 1
            while end < after and not loud[end - 1]:
                end += 1
    return start, end


def _voiced_frames(window: np.ndarray) -> np.ndarray | None:
    """Per 10 ms of `window`: speech, by faster-whisper's Silero VAD without padding (robust to
    noise and room tone, as a level threshold is not); None for a window too short to tell."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    frame = int(_FRAME_S * SAMPLE_RATE)
    count = window.shape[0] // frame
    if count < 10:
        return None
    options = VadOptions(min_silence_duration_ms=100, speech_pad_ms=30)
    speech = np.zeros(count, dtype=bool)
    for chunk in get_speech_timestamps(window, options, sampling_rate=SAMPLE_RATE):
        speech[chunk["start"] // frame : -(-chunk["end"] // frame)] = True
    return speech


_F0_RANGE_HZ = (60.0, 400.0)
#: Two groups of phrases are two voices when their pitches differ by this many octaves or more
#: and by at least 3 times the spread within the groups.
_MIN_SEPARATION_OCTAVES = 0.35
_PHRASE_GAP_S = 0.3
_MIN_SHARE = 0.1  # of the words with a pitch: the fewest a second voice speaks


def word_pitch(window: np.ndarray, word: Word, offset_s: float) -> float:
    """Median F0 (Hz) of the voiced 40 ms frames of `word`; NaN when none is voiced."""
    lo = max(0, int((word.start_s - offset_s) * SAMPLE_RATE))
    hi = min(window.shape[0], int((word.end_s - offset_s) * SAMPLE_RATE))
    frame, hop = SAMPLE_RATE // 25, SAMPLE_RATE // 100
    f0s = [
        f0
        for at in range(lo, hi - frame + 1, hop)
        if not math.isnan(f0 := _frame_f0(window[at : at + frame]))
    ]
    return float(np.median(f0s)) if f0s else math.nan


def _frame_f0(frame: np.ndarray) -> float:
    """The frame's fundamental (Hz) by normalised autocorrelation, NaN when it is not voiced."""
    x = frame.astype(np.float64) - float(np.mean(frame))
    energy = float(np.dot(x, x))
    if energy < 1e-6:
        return math.nan
    spectrum = np.fft.rfft(x, 2 * x.size)
    corr = np.fft.irfft(spectrum * np.conj(spectrum))[: x.size] / energy
    low = int(SAMPLE_RATE / _F0_RANGE_HZ[1])
    high = int(SAMPLE_RATE / _F0_RANGE_HZ[0])
    window = corr[low:high]
    best = float(np.max(window))
    if best < 0.5:
        return math.nan
    # the shortest lag nearly as alike as the best: a period's multiples are alike too
    peaks = np.flatnonzero(
        (window[1:-1] >= 0.9 * best) & (window[1:-1] >= window[:-2]) & (window[1:-1] >= window[2:])
    )
    lag = low + 1 + int(peaks[0]) if peaks.size else low + int(np.argmax(window))
    return SAMPLE_RATE / lag


def _phrases(words: list[Word], breaks: list[int]) -> list[range]:
    """Runs of words without a pause of _PHRASE_GAP_S between them, split at segment breaks."""
    starts = set(breaks) | {
        i for i in range(1, len(words)) if words[i].start_s - words[i - 1].end_s >= _PHRASE_GAP_S
    }
    edges = sorted(starts | {0, len(words)})
    return [range(a, b) for a, b in itertools.pairwise(edges) if b > a]


def with_speakers(words: list[Word], pitches: list[float], breaks: list[int]) -> list[Word]:
    """`words` with "Speaker 1", "Speaker 2" by phrase when the phrases' pitches form two clearly
    separate groups; unchanged (speaker None) otherwise."""
    phrases = _phrases(words, breaks)
    levels = []
    for phrase in phrases:
        voiced = [pitches[i] for i in phrase if not math.isnan(pitches[i])]
        levels.append(math.log2(float(np.median(voiced))) if voiced else math.nan)
    groups = split_two(levels, weights=[len(phrase) for phrase in phrases])
    if groups is None:
        return words
    labelled = list(words)
    names: dict[int, str] = {}
    for index, phrase in enumerate(phrases):
        group = groups[index]
        if group is None:  # no pitch (too short, unvoiced): the nearest phrase's in time
            group = _nearest_group(phrases, groups, index, words)
        if group is None:
            continue
        name = names.setdefault(group, f"Speaker {len(names) + 1}")
        for i in phrase:
            labelled[i] = Word(words[i].start_s, words[i].end_s, words[i].text, name)
    return labelled


def _nearest_group(
    phrases: list[range], groups: list[int | None], index: int, words: list[Word]
) -> int | None:
    """The group of the phrase nearest in time to phrases[index] that has one."""
    start, end = words[phrases[index][0]].start_s, words[phrases[index][-1]].end_s

    def distance(other: int) -> float:
        return max(words[phrases[other][0]].start_s - end, start - words[phrases[other][-1]].end_s)

    known = [i for i, group in enumerate(groups) if group is not None]
    return groups[min(known, key=distance)] if known else None


def split_two(
    levels: Iterable[float], weights: Iterable[float] | None = None
) -> list[int | None] | None:
    """Each value's group (0 low, 1 high; None for NaN) when the values fall into two groups
    clearly apart: their (weighted) means _MIN_SEPARATION_OCTAVES or more and three spreads
    apart, the smaller group holding _MIN_SHARE of the weight at least (one odd phrase is not
    a second voice). Else None.

    >>> split_two([7.0, 7.1, 8.0, 6.95, 7.9, float("nan")])
    [0, 0, 1, 0, 1, None]
    >>> split_two([7.0, 7.1, 7.05, 6.95]) is None
    True
    >>> split_two([7.0, 7.1, 8.0], weights=[40, 40, 3]) is None
    True
    >>> split_two([6.9, 6.9, 6.9]) is None
    True
    """
    values = np.asarray(list(levels), dtype=np.float64)
    weight = np.ones_like(values) if weights is None else np.asarray(list(weights), np.float64)
    known = ~np.isnan(values)
    order = np.argsort(values[known], kind="stable")
    v, w = values[known][order], weight[known][order]
    if v.size < 2:
        return None
    # Otsu: the split with the most variance between the groups (cumulative sums)
    low_w, low_wv = np.cumsum(w)[:-1], np.cumsum(w * v)[:-1]
    high_w, high_wv = w.sum() - low_w, (w * v).sum() - low_wv
    between = low_w * high_w * (high_wv / high_w - low_wv / low_w) ** 2
    split = int(np.argmax(between))
    threshold = (v[split] + v[split + 1]) / 2
    low, high = v < threshold, v >= threshold
    if v[0] == v[-1] or not low.any() or not high.any() or w[low].sum() <= 0 or w[high].sum() <= 0:
        return None  # one value (or no weight on a side): no second voice
    means = [float(np.average(v[side], weights=w[side])) for side in (low, high)]
    spreads = [
        float(np.sqrt(np.average((v[side] - mean) ** 2, weights=w[side])))
        for side, mean in zip((low, high), means, strict=True)
    ]
    gap = means[1] - means[0]
    share = min(w[low].sum(), w[high].sum()) / w.sum()
    if gap < _MIN_SEPARATION_OCTAVES or gap < 3 * max(*spreads, 0.02) or share < _MIN_SHARE:
        return None
    return [None if math.isnan(x) else int(x >= threshold) for x in values]
