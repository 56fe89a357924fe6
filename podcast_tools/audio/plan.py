"""Edit decisions: which parts of the master are kept, where jingles go, where chapters land.

All positions are sample frames at the output sample rate (the master is decoded at that rate).
Output layout::

    [ intro ··········)                                   (intro fades out over the overlap)
                [ speech: kept segments of the master, cut joins with 5 ms fades ····)
                                                             [ outro ··········]
    0           speech_start                 outro_start     speech_end    total
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from podcast_tools.audio.meter import integrated_loudness, short_window_lufs

JOIN_FADE_S = 0.005
_CONTENT_WINDOW_FRAMES = 5  # 50 ms windows decide what is silence


@dataclass(frozen=True)
class Segment:
    start: int  # master frame, inclusive
    end: int  # master frame, exclusive

    @property
    def length(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class ChapterMark:
    title: str
    source_s: float  # as the producer wrote it: a time in the master
    output_s: float  # where it is heard in the output


@dataclass(frozen=True)
class EditPlan:
    sample_rate: int
    master_frames: int
    segments: tuple[Segment, ...]
    cuts: tuple[Segment, ...]  # the producer's cuts that fell inside the kept part
    intro_frames: int = 0
    outro_frames: int = 0
    intro_overlap: int = 0
    outro_overlap: int = 0

    @property
    def speech_frames(self) -> int:
        return sum(segment.length for segment in self.segments)

    @property
    def speech_start(self) -> int:
        return self.intro_frames - self.intro_overlap

    @property
    def speech_end(self) -> int:
        return self.speech_start + self.speech_frames

    @property
    def outro_start(self) -> int:
        return self.speech_end - self.outro_overlap

    @property
    def total_frames(self) -> int:
        return self.outro_start + self.outro_frames if self.outro_frames else self.speech_end

    @property
    def head_trimmed_s(self) -> float:
        return self.segments[0].start / self.sample_rate

    @property
    def tail_trimmed_s(self) -> float:
        return (self.master_frames - self.segments[-1].end) / self.sample_rate

    def output_frame(self, master_frame: int) -> int | None:
        """Where a master position is heard; None when it was cut or trimmed away at the end."""
        if master_frame <= self.segments[0].start:
            return 0 if self.intro_frames else self.speech_start
        before = 0
        for segment in self.segments:
            if segment.start <= master_frame < segment.end:
                return self.speech_start + before + master_frame - segment.start
            before += segment.length
        return None

    def join_points(self) -> list[int]:
        """Output frames where two kept segments meet (cut joins)."""
        points, position = [], self.speech_start
        for segment in self.segments[:-1]:
            position += segment.length
            points.append(position)
        return points

    def speech_envelope(self, out_start: int, length: int) -> np.ndarray | None:
        """Gain of the speech for output frames [out_start, out_start + length); None when 1."""
        ramps: list[tuple[int, int, bool]] = []  # (first frame, frames, rising)
        if self.intro_overlap:
            ramps.append((self.speech_start, self.intro_overlap, True))
        if self.outro_overlap:
            ramps.append((self.speech_end - self.outro_overlap, self.outro_overlap, False))
        fade = max(1, round(JOIN_FADE_S * self.sample_rate))
        for point in self.join_points():
            ramps.append((point - fade, fade, False))
            ramps.append((point, fade, True))
        envelope = None
        for first, frames, rising in ramps:
            lo, hi = max(first, out_start), min(first + frames, out_start + length)
            if lo >= hi:
                continue
            if envelope is None:
                envelope = np.ones(length, dtype=np.float32)
            position = (np.arange(lo, hi) - first + 0.5) / frames
            ramp = position if rising else 1.0 - position
            envelope[lo - out_start : hi - out_start] *= ramp.astype(np.float32)
        return envelope


class PlanError(ValueError):
    """An edit decision cannot be carried out (the message says which and why)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def plan_edits(
    *,
    sample_rate: int,
    master_frames: int,
    frame_energy: np.ndarray,
    frame_len: int,
    trim_start_s: float | None,
    trim_end_s: float | None,
    cuts_s: list[tuple[float, float]],
    silence_pad_s: float,
    silence_threshold_lu: float,
    intro_frames: int = 0,
    outro_frames: int = 0,
    crossfade_s: float = 0.0,
) -> EditPlan:
    """Decide the kept segments: producer's trim, then silence at both ends (keeping a pad),
    then the producer's cuts; and the jingle overlaps."""
    to_frame = lambda seconds: min(master_frames, max(0, round(seconds * sample_rate)))  # noqa: E731
    keep_start = to_frame(trim_start_s or 0.0)
    keep_end = to_frame(trim_end_s) if trim_end_s is not None else master_frames

    content = find_content(frame_energy, frame_len, keep_start, keep_end, silence_threshold_lu)
    if content is None:
        raise PlanError("audio", "holds only silence (nothing above the silence threshold)")
    pad = round(silence_pad_s * sample_rate)
    keep_start, keep_end = max(keep_start, content[0] - pad), min(keep_end, content[1] + pad)

    segments: list[Segment] = []
    kept_cuts: list[Segment] = []
    position = keep_start
    for start_s, end_s in sorted(cuts_s):
        cut = Segment(max(to_frame(start_s), keep_start), min(to_frame(end_s), keep_end))
        if cut.length <= 0:
            continue  # the cut lies in silence that was trimmed anyway
        kept_cuts.append(cut)
        if cut.start > position:
            segments.append(Segment(position, cut.start))
        position = max(position, cut.end)
    if keep_end > position:
        segments.append(Segment(position, keep_end))
    if not segments:
        raise PlanError("cuts", "cut everything; nothing of the recording is left")

    speech = sum(segment.length for segment in segments)
    overlap = round(crossfade_s * sample_rate)
    intro_overlap = min(overlap, intro_frames, speech // 2) if intro_frames else 0
    outro_overlap = min(overlap, outro_frames, speech // 2) if outro_frames else 0
    return EditPlan(
        sample_rate=sample_rate,
        master_frames=master_frames,
        segments=tuple(segments),
        cuts=tuple(kept_cuts),
        intro_frames=intro_frames,
        outro_frames=outro_frames,
        intro_overlap=intro_overlap,
        outro_overlap=outro_overlap,
    )


def find_content(
    frame_energy: np.ndarray,
    frame_len: int,
    start_frame: int,
    end_frame: int,
    threshold_lu: float,
) -> tuple[int, int] | None:
    """First and last sample frame of programme between `start_frame` and `end_frame`: 50 ms
    windows louder than (the span's integrated loudness − `threshold_lu`). None if all silent.
    Looks from each end inwards a minute at a time, so it never copies the whole span."""
    first, last = start_frame // frame_len, math.ceil(end_frame / frame_len)
    loudness = integrated_loudness(frame_energy[first:last], frame_len)
    if not math.isfinite(loudness):
        return None
    threshold = loudness - threshold_lu
    step, reach = 6000, _CONTENT_WINDOW_FRAMES  # a minute of 10 ms frames; window overlap

    def loud_frames(lo: int, hi: int) -> tuple[int, np.ndarray]:
        origin = max(first, lo - reach)
        window = frame_energy[origin : min(last, hi + reach)]
        levels = short_window_lufs(window, frame_len, _CONTENT_WINDOW_FRAMES)
        inside = np.arange(window.size) + origin
        return origin, np.flatnonzero((levels > threshold) & (inside >= lo) & (inside < hi))

    begin = None
    for lo in range(first, last, step):
        origin, loud = loud_frames(lo, min(last, lo + step))
        if loud.size:
            begin = origin + int(loud[0])
            break
    if begin is None:
        return None
    end = begin
    for hi in range(last, begin, -step):
        origin, loud = loud_frames(max(begin, hi - step), hi)
        if loud.size:
            end = origin + int(loud[-1])
            break
    return max(begin * frame_len, start_frame), min((end + 1) * frame_len, end_frame)


def place_chapters(plan: EditPlan, chapters: list[tuple[float, str]]) -> list[ChapterMark]:
    """Map chapter starts (master seconds) to output seconds; PlanError if one cannot be heard."""
    marks: list[ChapterMark] = []
    for index, (start_s, title) in enumerate(chapters, 1):
        frame = plan.output_frame(round(start_s * plan.sample_rate))
        if frame is None:
            raise PlanError(
                f"chapters[{index}].start",
                f"{start_s:g} s is in a part that was cut or trimmed as silence at the end",
            )
        output_s = frame / plan.sample_rate
        if marks and output_s <= marks[-1].output_s:
            raise PlanError(
                f"chapters[{index}].start",
                f"lands at the same place as chapters[{index - 1}] once the silence before the "
                "speech is trimmed; move it later",
            )
        marks.append(ChapterMark(title=title, source_s=start_s, output_s=output_s))
    return marks
