"""Pass 1's results kept between runs: a settings change (target, jingles, cuts, formats) renders
without measuring the master again.

One file per analysis, `<key>.npz` in the cache folder (`build/.cache/analysis/` of the network),
keyed by the master's content hash, the analysis's version, the sample rate and channel count it
was made at. Written to a temp file and renamed (two runs storing the same analysis at once both
succeed, and a reader never sees half a file). The folder is capped (oldest used first out): a hit
refreshes the file's time.

The folder may come from elsewhere (CI restores `build/.cache` from a shared cache), so an entry is
checked before use (`lookup`). Before any array is read (`read_entry`): the file's size, its
members' names (only the arrays below; at most the excerpts the master's analysis keeps), each
member's unpacked size in the zip's directory and its .npy header's type and shape, all within what
an analysis of this master can hold (its header's duration, else 24 h) — a member inflating to
gigabytes or a header claiming 10¹³ values is never decompressed or allocated. Then: its own
checksum (a sha256 of every array, stored inside it when it is written), the arrays it must hold and
nothing else, their types and shapes against each other and against the master (its rate, channels
and the duration its header gives), finite values, physical ranges (a 10 ms energy no larger than
K-weighted PCM of the entry's own peaks can make; peaks within ±24 dBFS) and its figures (computed
again from its energies). An entry failing any of these is damaged: it is removed and the master is
measured again, never used.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from podcast_tools.audio.meter import (
    LoudnessFigures,
    channel_weights,
    frame_length,
    integrated_loudness,
    k_weighting_sos,
    loudness_range,
)
from podcast_tools.audio.pcm import CHUNK_FRAMES
from podcast_tools.audio.sosfilt import sosfilt
from podcast_tools.layout import content_hash

#: Bump when what pass 1 records, or how, changes: older entries are then never read.
#: 2: entries hold their own checksum and the chunk index of each excerpt.
ANALYSIS_VERSION = 2
#: Default cap of the folder: about 700 hours of masters' analyses (≈ 1.5 MB per hour).
DEFAULT_CAP_BYTES = 1 << 30
#: The largest sample peak an entry may record (+24 dBFS: no decoded master comes near it).
MAX_PEAK = 16.0

_ARRAYS = ("master_frames", "source_figures", "energy", "frame_peaks", "excerpt_index")
_EXCERPT = re.compile(r"excerpt_\d{3}")


@dataclass
class CacheCounts:
    hits: int = 0
    misses: int = 0
    damaged: int = 0


@dataclass(frozen=True)
class Expected:
    """What the analysis of one master must look like: made at `sample_rate` and `channels`,
    of a master whose header gives `header_s` (None: it gives none)."""

    sample_rate: int
    channels: int
    header_s: float | None = None
    excerpt_limit: int = 8


class Damaged(Exception):
    """An entry that must not be used; the message says why."""


@dataclass(frozen=True)
class Lookup:
    """What `lookup` found: the analysis (None: a miss), and why an entry was removed."""

    found: dict[str, object] | None
    damage: str | None = None


@dataclass
class AnalysisCache:
    folder: Path
    cap_bytes: int = DEFAULT_CAP_BYTES
    counts: CacheCounts = field(default_factory=CacheCounts)

    def key(
        self,
        master_sha256: str,
        sample_rate: int,
        channels: int,
        excerpts: int,
        chain: list[dict[str, object]] | None = None,
    ) -> str:
        """The entry of a master's analysis at these settings; `chain`: what the stage chain the
        master runs through depends on (`stages.chain_identity`) — none, the key of before."""
        text = f"{ANALYSIS_VERSION}:{master_sha256}:{sample_rate}:{channels}:{excerpts}"
        if chain:
            text += ":" + json.dumps(chain, sort_keys=True)
        return content_hash(text.encode())

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def load(self, key: str, expected: Expected | None = None) -> dict[str, object] | None:
        """The stored arrays and figures of `key`, or None (a miss; a damaged entry is removed)."""
        return self.lookup(key, expected).found

    def lookup(self, key: str, expected: Expected | None = None) -> Lookup:
        """The stored analysis of `key`, checked (see the module's doc; with `expected`, also
        against the master). A damaged entry is removed: a miss, with the reason."""
        path = self.path(key)
        try:
            result = checked(read_entry(path, expected), expected)
        except FileNotFoundError:
            self.counts.misses += 1
            return Lookup(None)
        except Damaged as exc:
            return self._evict(path, str(exc))
        except _UNREADABLE as exc:
            return self._evict(path, f"not a readable .npz file ({type(exc).__name__})")
        try:
            os.utime(path)  # recently used: the last to go when the folder is over its cap
        except OSError:
            pass
        self.counts.hits += 1
        return Lookup(result)

    def evict(self, key: str, reason: str) -> None:
        """Remove an entry found wrong in use (e.g. the render did not land where it said)."""
        self._evict(self.path(key), reason)

    def _evict(self, path: Path, reason: str) -> Lookup:
        try:
            path.unlink(missing_ok=True)  # damaged: measured again and stored anew
        except OSError:
            pass  # a read-only cache: the entry stays, and is found damaged again
        self.counts.misses += 1
        self.counts.damaged += 1
        return Lookup(None, reason)

    def store(
        self,
        key: str,
        *,
        master_frames: int,
        source_figures: LoudnessFigures,
        energy: np.ndarray,
        frame_peaks: np.ndarray,
        excerpts: list[np.ndarray],
        excerpt_index: list[int] | None = None,
    ) -> None:
        """Keep an analysis (best effort: a full disk or a read-only folder only loses the
        cache, never the run). `excerpt_index`: the master chunk each excerpt is (default: the
        first chunks)."""
        arrays = {
            "master_frames": np.int64(master_frames),
            "source_figures": np.array(
                [
                    source_figures.integrated_lufs,
                    source_figures.true_peak_dbtp,
                    source_figures.loudness_range_lu,
                ]
            ),
            "energy": energy,
            "frame_peaks": frame_peaks,
            "excerpt_index": np.array(
                range(len(excerpts)) if excerpt_index is None else excerpt_index, dtype=np.int64
            ),
            **{f"excerpt_{i:03d}": chunk for i, chunk in enumerate(excerpts)},
        }
        arrays["checksum"] = np.frombuffer(checksum(arrays), dtype=np.uint8)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".analysis-", suffix=".npz.tmp", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    np.savez(handle, **arrays)
                os.replace(name, self.path(key))
            finally:
                Path(name).unlink(missing_ok=True)
            self._trim()
        except OSError:
            pass

    def _trim(self) -> None:
        """Remove the least recently used analyses until the folder is within its cap."""
        entries = []
        for path in self.folder.glob("*.npz"):
            try:
                stat = path.stat()
            except OSError:
                continue  # removed by another run meanwhile
            entries.append((stat.st_mtime_ns, stat.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.cap_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size


#: What reading a crafted .npz may raise (MemoryError: numpy's own, for a shape past the limits).
_UNREADABLE = (
    OSError,
    ValueError,
    KeyError,
    TypeError,
    EOFError,
    MemoryError,
    NotImplementedError,  # a compression method zipfile does not know
    RuntimeError,  # an encrypted member
    zipfile.BadZipFile,
    zlib.error,
)
#: Room for one .npy header (numpy writes 128 bytes; it reads at most 10000).
_NPY_HEADER_BYTES = 10_000
#: The longest master an entry may describe when the master's header gives no duration.
_LONGEST_S = 24 * 3600.0
#: Channels an entry may hold without an `Expected` saying how many.
_MAX_CHANNELS = 8


def _value_limits(expected: Expected | None) -> dict[str, int]:
    """How many values each array of an entry may hold, from what the master is: its arrays are
    read only within these (a crafted entry may claim or inflate to gigabytes)."""
    header_s = expected.header_s if expected is not None else None
    seconds = 1.02 * header_s + 1.0 if header_s else _LONGEST_S
    channels = expected.channels if expected is not None else _MAX_CHANNELS
    excerpts = expected.excerpt_limit if expected is not None else 8
    frames_10ms = math.ceil(seconds * 100) + 1  # energies and peaks: one a 10 ms frame
    return {
        "master_frames": 1,
        "source_figures": 16,
        "energy": frames_10ms,
        "frame_peaks": frames_10ms,
        "excerpt_index": max(excerpts, 16),
        "checksum": 32,
        "excerpt": CHUNK_FRAMES * channels,
        "excerpts": excerpts,
    }


def read_entry(path: Path, expected: Expected | None) -> dict[str, np.ndarray]:
    """The arrays in the .npz at `path`, each read only after its name, its unpacked size (the
    zip's directory) and its .npy header (type and shape) are within what the master allows;
    Damaged otherwise. Nothing larger than those limits is ever decompressed or allocated."""
    limits = _value_limits(expected)

    def values_allowed(name: str) -> int:
        return limits["excerpt" if _EXCERPT.fullmatch(name) else name]

    allowed = {*_ARRAYS, "checksum"}
    most_bytes = sum(8 * limits[name] + _NPY_HEADER_BYTES for name in allowed)
    most_bytes += limits["excerpts"] * (8 * limits["excerpt"] + _NPY_HEADER_BYTES)
    if path.stat().st_size > most_bytes:
        raise Damaged(f"it is {path.stat().st_size} bytes, at most {most_bytes}")
    found: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        names = [info.filename.removesuffix(".npy") for info in members]
        for info, name in zip(members, names):
            if not info.filename.endswith(".npy") or not (
                name in allowed or _EXCERPT.fullmatch(name)
            ):
                raise Damaged(f"it holds an unknown array {name}")
        excerpts = sum(1 for name in names if _EXCERPT.fullmatch(name))
        if excerpts > limits["excerpts"]:
            raise Damaged(f"it holds {excerpts} excerpts, at most {limits['excerpts']}")
        for info, name in zip(members, names):
            most = 8 * values_allowed(name)
            if info.file_size > most + _NPY_HEADER_BYTES:
                raise Damaged(f"{name} unpacks to {info.file_size} bytes, at most {most}")
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                read_header = {
                    (1, 0): np.lib.format.read_array_header_1_0,
                    (2, 0): np.lib.format.read_array_header_2_0,
                }.get(version)
                if read_header is None:
                    raise Damaged(f"{name} is an .npy file of version {version}")
                shape, _, dtype = read_header(member)
            values = math.prod(shape)
            if dtype.hasobject or values * dtype.itemsize > most:
                raise Damaged(f"{name} claims {values} values of {dtype}, at most {most} bytes")
            with archive.open(info) as member:
                found[name] = np.lib.format.read_array(member, allow_pickle=False)
    return found


def checksum(arrays: dict[str, object]) -> bytes:
    """sha256 of every array but "checksum": names, types, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        if name == "checksum":
            continue
        array = np.asarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}\n".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.digest()


def checked(found: dict[str, np.ndarray], expected: Expected | None) -> dict[str, object]:
    """The analysis `found` in an entry, as `analyse` uses it; Damaged when it must not be used."""
    excerpt_names = sorted(name for name in found if _EXCERPT.fullmatch(name))
    for name in (*_ARRAYS, "checksum"):
        if name not in found:
            raise Damaged(f"it lacks {name}")
    unknown = sorted(set(found) - {*_ARRAYS, "checksum", *excerpt_names})
    if unknown:
        raise Damaged(f"it holds an unknown array {unknown[0]}")
    stored_sum = found["checksum"]
    if stored_sum.dtype != np.uint8 or stored_sum.shape != (32,):
        raise Damaged("its checksum is not a sha256")
    if stored_sum.tobytes() != checksum(found):
        raise Damaged("its checksum does not match its contents")

    master_frames = _array(found, "master_frames", np.int64, 0)
    figures = _array(found, "source_figures", np.float64, 1)
    energy = _array(found, "energy", np.float32, 1)
    peaks = _array(found, "frame_peaks", np.float32, 1)
    index = _array(found, "excerpt_index", np.int64, 1)
    excerpts = [_array(found, name, np.float32, 2) for name in excerpt_names]
    frames = int(master_frames)
    if frames <= 0:
        raise Damaged(f"master_frames is {frames}")
    if figures.shape != (3,):
        raise Damaged(f"source_figures holds {figures.size} values, not 3")
    if peaks.shape != energy.shape:
        raise Damaged(f"frame_peaks holds {peaks.size} values, energy {energy.size}")
    if index.size != len(excerpts):
        raise Damaged(f"excerpt_index names {index.size} excerpts, it holds {len(excerpts)}")
    for name, values in (("energy", energy), ("frame_peaks", peaks)):
        if values.size and not (np.isfinite(values).all() and values.min() >= 0.0):
            raise Damaged(f"{name} holds values that are negative, NaN or infinite")
    for name, chunk in zip(excerpt_names, excerpts):
        if chunk.shape[0] == 0 or chunk.shape[0] > CHUNK_FRAMES:
            raise Damaged(f"{name} holds {chunk.shape[0]} frames")
        if not np.isfinite(chunk).all():
            raise Damaged(f"{name} holds NaN or infinite samples")
    if index.size and (index[0] != 0 or (np.diff(index) <= 0).any()):
        raise Damaged("excerpt_index is not an increasing series from 0")

    source_figures = LoudnessFigures(*(float(v) for v in figures))
    if expected is not None:
        _check_against(expected, frames, energy, peaks, index, excerpts, source_figures)
    return {
        "master_frames": frames,
        "source_figures": source_figures,
        "energy": energy,
        "frame_peaks": peaks,
        "excerpts": excerpts,
        "excerpt_index": [int(i) for i in index],
    }


def _check_against(
    expected: Expected,
    frames: int,
    energy: np.ndarray,
    peaks: np.ndarray,
    index: np.ndarray,
    excerpts: list[np.ndarray],
    figures: LoudnessFigures,
) -> None:
    """Damaged unless the analysis fits the master it is keyed by and is physically possible."""
    rate, channels = expected.sample_rate, expected.channels
    frame_len = frame_length(rate)
    seconds = frames / rate
    if energy.size != frames // frame_len:
        raise Damaged(
            f"energy holds {energy.size} frames of 10 ms, the master's {seconds:.2f} s make "
            f"{frames // frame_len}"
        )
    header_s = expected.header_s
    if header_s and not 0.98 * header_s - 0.1 <= seconds <= 1.02 * header_s + 0.1:
        raise Damaged(f"it says the master lasts {seconds:.2f} s, its header {header_s:.2f} s")
    if len(excerpts) > expected.excerpt_limit:
        raise Damaged(f"it holds {len(excerpts)} excerpts, at most {expected.excerpt_limit}")
    chunks = -(-frames // CHUNK_FRAMES)
    if index.size and int(index[-1]) >= chunks:
        raise Damaged(f"excerpt_index names chunk {int(index[-1])} of a master of {chunks}")
    for number, chunk in enumerate(excerpts):
        if chunk.shape[1] != channels:
            raise Damaged(f"excerpt_{number:03d} has {chunk.shape[1]} channels, not {channels}")
    if peaks.size:
        peak = float(peaks.max())
        if peak > MAX_PEAK:
            raise Damaged(f"frame_peaks reaches {peak:.3g}, above +24 dBFS")
        largest = float(energy.max())
        if largest > max_frame_energy(rate, channels, peak):
            raise Damaged(
                f"energy reaches {largest:.3g}, more than PCM of its peaks ({peak:.3g}) can hold"
            )
    integrated = integrated_loudness(energy, frame_len)
    if not math.isfinite(integrated):
        raise Damaged("its energies hold only silence")
    measured = (integrated, loudness_range(energy, frame_len))
    stored = (figures.integrated_lufs, figures.loudness_range_lu)
    if not all(math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6) for a, b in zip(measured, stored)):
        raise Damaged(
            f"its figures ({stored[0]:.2f} LUFS, LRA {stored[1]:.2f} LU) are not those of its "
            f"energies ({measured[0]:.2f} LUFS, LRA {measured[1]:.2f} LU)"
        )


def max_frame_energy(sample_rate: int, channels: int, peak: float) -> float:
    """The largest 10 ms energy the meter can record of PCM whose samples stay within ±`peak`:
    each K-weighted sample is at most the filter's impulse response's L1 norm × `peak`."""
    gain = _k_weighting_l1(sample_rate)
    weights = float(channel_weights(channels).sum())
    return 1.01 * weights * frame_length(sample_rate) * (gain * peak) ** 2 + 1e-12


def _array(found: dict[str, np.ndarray], name: str, dtype: type, ndim: int) -> np.ndarray:
    array = found[name]
    if array.dtype != np.dtype(dtype) or array.ndim != ndim:
        raise Damaged(
            f"{name} is {array.ndim}-D {array.dtype}, not {ndim}-D {np.dtype(dtype).name}"
        )
    return array


@functools.cache
def _k_weighting_l1(sample_rate: int) -> float:
    """The L1 norm of the K-weighting filter's impulse response (its largest gain on any
    signal), at `sample_rate`; one second of it holds all but a vanishing tail."""
    impulse = np.zeros(sample_rate, dtype=np.float32)
    impulse[0] = 1.0
    sos = k_weighting_sos(sample_rate).astype(np.float32)
    response, _ = sosfilt(sos, impulse, np.zeros((sos.shape[0], 2), dtype=np.float32))
    return float(np.abs(response, dtype=np.float64).sum())
