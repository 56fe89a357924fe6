"""Pass 1's results kept between runs: a settings change (target, jingles, cuts, formats) renders
without measuring the master again.

One file per analysis, `<key>.npz` in the cache folder (`build/.cache/analysis/` of the network),
keyed by the master's content hash, the analysis's version, the sample rate and channel count it
was made at. Written to a temp file and renamed (two runs storing the same analysis at once both
succeed, and a reader never sees half a file); a file that cannot be read is a miss and is
removed. The folder is capped (oldest used first out): a hit refreshes the file's time.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from podcast_tools.audio.meter import LoudnessFigures
from podcast_tools.layout import content_hash

#: Bump when what pass 1 records, or how, changes: older entries are then never read.
ANALYSIS_VERSION = 1
#: Default cap of the folder: about 700 hours of masters' analyses (≈ 1.5 MB per hour).
DEFAULT_CAP_BYTES = 1 << 30


@dataclass
class CacheCounts:
    hits: int = 0
    misses: int = 0


@dataclass
class AnalysisCache:
    folder: Path
    cap_bytes: int = DEFAULT_CAP_BYTES
    counts: CacheCounts = field(default_factory=CacheCounts)

    def key(self, master_sha256: str, sample_rate: int, channels: int, excerpts: int) -> str:
        return content_hash(
            f"{ANALYSIS_VERSION}:{master_sha256}:{sample_rate}:{channels}:{excerpts}".encode()
        )

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def load(self, key: str) -> dict[str, object] | None:
        """The stored arrays and figures of `key`, or None (a miss)."""
        path = self.path(key)
        try:
            with np.load(path, allow_pickle=False) as stored:
                found = {name: stored[name] for name in stored.files}
            figures = found.pop("source_figures")
            excerpts = [found.pop(name) for name in sorted(found) if name.startswith("excerpt_")]
            result = {
                "master_frames": int(found["master_frames"]),
                "source_figures": LoudnessFigures(*(float(v) for v in figures)),
                "energy": found["energy"],
                "frame_peaks": found["frame_peaks"],
                "excerpts": excerpts,
            }
        except FileNotFoundError:
            self.counts.misses += 1
            return None
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile, EOFError):
            path.unlink(missing_ok=True)  # damaged: measured again and stored anew
            self.counts.misses += 1
            return None
        try:
            os.utime(path)  # recently used: the last to go when the folder is over its cap
        except OSError:
            pass
        self.counts.hits += 1
        return result

    def store(
        self,
        key: str,
        *,
        master_frames: int,
        source_figures: LoudnessFigures,
        energy: np.ndarray,
        frame_peaks: np.ndarray,
        excerpts: list[np.ndarray],
    ) -> None:
        """Keep an analysis (best effort: a full disk or a read-only folder only loses the
        cache, never the run)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=".analysis-", suffix=".npz.tmp", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as handle:
                    np.savez(
                        handle,
                        master_frames=np.int64(master_frames),
                        source_figures=np.array(
                            [
                                source_figures.integrated_lufs,
                                source_figures.true_peak_dbtp,
                                source_figures.loudness_range_lu,
                            ]
                        ),
                        energy=energy,
                        frame_peaks=frame_peaks,
                        **{f"excerpt_{i:03d}": chunk for i, chunk in enumerate(excerpts)},
                    )
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
