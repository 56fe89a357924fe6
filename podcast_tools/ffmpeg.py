"""The one place that finds and runs ffmpeg.

Lookup order: the ``PODCAST_FFMPEG`` environment variable, then ``ffmpeg`` on PATH, then the binary
shipped by the ``imageio-ffmpeg`` package (so ``pip install`` alone gives a working tool). Commands are
argument lists (never a shell), always with ``-nostdin`` and a timeout; input paths are passed as
``file:`` URLs so names that begin with ``-`` or contain ``:`` are read as files. An ffmpeg dies
with the process that started it, however that ends (kill -9 included): on Linux it asks for
SIGKILL when its parent ends (``PR_SET_PDEATHSIG``, see `die_with_parent`).
"""

from __future__ import annotations

import functools
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from pathlib import Path

import numpy as np

from podcast_tools.errors import AudioInputError, ToolError

DEFAULT_TIMEOUT_S = 600.0


@functools.cache
def ffmpeg_exe() -> str:
    """Return the path of the ffmpeg binary to use; raise ToolError when there is none."""
    configured = os.environ.get("PODCAST_FFMPEG")
    if configured:
        if not (Path(configured).is_file() and os.access(configured, os.X_OK)):
            raise ToolError(f"PODCAST_FFMPEG={configured} is not an executable file")
        return configured
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # the package is a dependency; this is a broken install
        raise ToolError(
            "ffmpeg not found: install ffmpeg, set PODCAST_FFMPEG, or reinstall podcast_tools "
            f"(imageio-ffmpeg: {exc})"
        ) from exc


@functools.cache
def _encoders_of(exe: str) -> frozenset[str]:  # `exe` is the cache key; run() uses it
    result = run(["-encoders"], timeout_s=60)
    names = set()
    for line in result.stdout.decode("utf-8", "replace").splitlines():
        # " A....D aac   AAC (Advanced Audio Coding)": six capability flags, then the name; the
        # legend above the "------" line has the same shape, so its "=" rows are skipped
        parts = line.split()
        if len(parts) >= 2 and len(parts[0]) == 6 and parts[0][0] in "VAS" and parts[1] != "=":
            names.add(parts[1])
    return frozenset(names)


def encoders() -> frozenset[str]:
    """The encoders the ffmpeg in use was built with (``ffmpeg -encoders``, asked once a binary)."""
    return _encoders_of(ffmpeg_exe())


def require_encoder(codec: str, *, label: str) -> None:
    """Raise ToolError (one line: the format, the encoder, the binary) when ffmpeg lacks `codec`."""
    if codec not in encoders():
        raise ToolError(
            f"{label} needs ffmpeg's {codec} encoder, which {ffmpeg_exe()} was built without: "
            "install an ffmpeg that has it, or point PODCAST_FFMPEG at one"
        )


def input_url(path: Path | str) -> str:
    """An ffmpeg input argument that is always read as a local file, whatever its name."""
    return "file:" + str(Path(path).absolute())


def run(
    args: Sequence[str],
    *,
    about: Path | str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg with `args` (without the binary name); raise ToolError naming `about` on failure."""
    command = [ffmpeg_exe(), "-nostdin", "-hide_banner", *args]
    try:
        proc = _popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise ToolError(f"cannot run ffmpeg ({exc})", file=about) from exc
    with proc:  # what subprocess.run does, the process started by _popen
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise ToolError(f"ffmpeg took longer than {timeout_s:g} s", file=about) from None
        except BaseException:
            proc.kill()
            raise
    result = subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)
    if check and result.returncode != 0:
        raise ToolError(
            f"ffmpeg failed (exit {result.returncode})",
            file=about,
            stderr_tail=stderr_tail(result.stderr),
        )
    return result


def stderr_tail(stderr: bytes, lines: int = 3) -> str:
    """The last few meaningful lines of ffmpeg's stderr, joined on one line."""
    text = stderr.decode("utf-8", "replace").strip().splitlines()
    return " | ".join(line.strip() for line in text[-lines:] if line.strip())


# -- dying with the parent -------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl on Linux (looked up once, before any fork), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_parent() -> bool:
    """Linux: have this process killed (SIGKILL) when its parent ends, however it ends; False
    where the system has no such request. The "parent" is the *thread* that started this
    process (``PR_SET_PDEATHSIG``): it must last as long as this process is wanted."""
    prctl = _prctl()
    return prctl is not None and prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0


def _dying_with(parent: int, prctl: Callable[..., int], niceness: int) -> Callable[[], None]:
    """A `preexec_fn`: the new process (before it runs ffmpeg) takes `niceness` (that of the
    thread that asked for it: the launcher's is not the caller's), asks for SIGKILL when `parent`
    ends, and ends at once if `parent` already has (it would never get the signal)."""

    def preexec() -> None:
        if os.getpriority(os.PRIO_PROCESS, 0) != niceness:
            try:
                os.setpriority(os.PRIO_PROCESS, 0, niceness)
            except OSError:
                pass  # a lower niceness than the launcher's needs privilege: keep the launcher's
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(127)

    return preexec


_launcher_lock = threading.Lock()
_launcher: tuple[int, queue.SimpleQueue] | None = None  # (the process it serves, its requests)


def _popen(command: list[str], **options) -> subprocess.Popen:
    """Start ffmpeg. On Linux every ffmpeg is started by one thread that lasts as long as this
    process ("ffmpeg-launcher"): the parent-death signal is tied to the thread that forked, so an
    ffmpeg started by a short-lived thread (the render thread, a probe pool's) would be killed when
    that thread ends; started by the launcher, it dies with this process and only then. It runs
    at the niceness of the thread that called (the render's decoder at the render's lower
    priority), as if that thread had started it; only a niceness below the launcher's (that of
    the thread that started the first ffmpeg, the main thread in practice) is out of reach."""
    global _launcher
    prctl = _prctl()
    if prctl is None:
        return subprocess.Popen(command, **options)
    with _launcher_lock:
        if _launcher is None or _launcher[0] != os.getpid():  # none yet, or a forked copy's
            requests: queue.SimpleQueue = queue.SimpleQueue()
            thread = threading.Thread(
                target=_launch, args=(requests, prctl), name="ffmpeg-launcher", daemon=True
            )
            thread.start()
            _launcher = (os.getpid(), requests)
        requests = _launcher[1]
    niceness = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())  # this thread's
    started: Future = Future()
    requests.put((started, command, options, niceness))
    try:
        return started.result()
    except BaseException:  # interrupted while waiting (Ctrl-C): what starts is not left running
        started.add_done_callback(_kill_unclaimed)
        raise


def _kill_unclaimed(started: Future) -> None:
    if not started.cancelled() and started.exception() is None:
        with started.result() as process:  # leaving closes its pipes and waits for it
            process.kill()


def _launch(requests: queue.SimpleQueue, prctl: Callable[..., int]) -> None:
    while True:
        started, command, options, niceness = requests.get()
        try:
            process = subprocess.Popen(
                command, preexec_fn=_dying_with(os.getpid(), prctl, niceness), **options
            )
        except BaseException as exc:  # handed to the thread that asked
            started.set_exception(exc)
        else:
            started.set_result(process)


class _Process:
    """A running ffmpeg with stderr collected in a temp file and a deadline that kills it."""

    def __init__(self, args: Sequence[str], *, about: Path | str, timeout_s: float, stdin: bool):
        self.about = about
        self._stderr = tempfile.TemporaryFile()
        # -nostdin only stops ffmpeg reading keyboard commands; a pipe:0 input still works
        command = [ffmpeg_exe(), "-nostdin", "-hide_banner", "-v", "error", *args]
        try:
            self.proc = _popen(
                command,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE if not stdin else subprocess.DEVNULL,
                stderr=self._stderr,
            )
        except OSError as exc:
            self._stderr.close()
            raise ToolError(f"cannot run ffmpeg ({exc})", file=about) from exc
        self.timed_out = False
        self._timer = threading.Timer(timeout_s, self._kill_for_time)
        self._timer.daemon = True
        self._timer.start()
        self.timeout_s = timeout_s

    def _kill_for_time(self) -> None:
        self.timed_out = True
        self.proc.kill()

    def stderr_tail(self) -> str:
        self._stderr.seek(0)
        return stderr_tail(self._stderr.read()[-4000:])

    def finish(self) -> int:
        """Wait for the exit code; always cleans up."""
        try:
            return self.proc.wait()
        finally:
            self._timer.cancel()

    def kill(self) -> None:
        self._timer.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        self._stderr.close()


def decode_pcm(
    path: Path,
    *,
    sample_rate: int,
    channels: int,
    chunk_frames: int = 1 << 16,
    timeout_s: float = DEFAULT_TIMEOUT_S * 6,
) -> Iterator[np.ndarray]:
    """Decode any audio file to float32 PCM (frames × channels) at `sample_rate`, chunk by chunk.

    ffmpeg resamples and up/down-mixes; nothing but one chunk is held in memory. Raises AudioInputError naming `path` when ffmpeg cannot decode it, ToolError when ffmpeg
    fails otherwise.
    """
    args = [
        "-i",
        input_url(path),
        "-vn",
        "-sn",
        "-dn",
        "-map",
        "0:a:0",
        "-f",
        "f32le",
        "-ac",
        str(channels),
        "-ar",
        str(sample_rate),
        "pipe:1",
    ]
    process = _Process(args, about=path, timeout_s=timeout_s, stdin=False)
    bytes_per_chunk = chunk_frames * channels * 4
    frame_bytes = channels * 4
    leftover = b""
    completed = False
    try:
        assert process.proc.stdout is not None
        while True:
            data = process.proc.stdout.read(bytes_per_chunk)
            if not data:
                break
            data = leftover + data
            usable = len(data) // frame_bytes * frame_bytes
            leftover = data[usable:]
            if usable:
                yield np.frombuffer(data[:usable], dtype="<f4").reshape(-1, channels)
        completed = True
    finally:
        if not completed:
            process.kill()
        code = process.finish()
        tail = process.stderr_tail()
        process.close()
    if process.timed_out:
        raise ToolError(f"decoding took longer than {process.timeout_s:g} s", file=path)
    if code != 0:
        raise AudioInputError(
            f"cannot be decoded as audio (ffmpeg said: {tail or f'exit {code}'})", file=path
        )


def decode_clip(path: Path, *, sample_rate: int, channels: int) -> np.ndarray:
    """Decode a short clip (a jingle) whole."""
    chunks = list(decode_pcm(path, sample_rate=sample_rate, channels=channels))
    if not chunks:
        raise AudioInputError("holds no audio", file=path)
    return np.concatenate(chunks)


class Encoder:
    """Pipe float32 PCM into an ffmpeg encoder; the encoded file goes to `output`.

    `output_args` are the format's encoder and container options (`formats.OutputFormat
    .encoder_args`); `label` names the format in errors. The pipe is widened to 1 MiB (Linux),
    about 3 s of audio, so the caller renders ahead while the encoder works; writes block only
    when the encoder is that far behind. Use as a context manager: leaving the block normally
    finishes the file; an exception kills the encoder (the caller removes the partial file).
    """

    PIPE_BYTES = 1 << 20

    def __init__(
        self,
        output: Path,
        *,
        sample_rate: int,
        channels: int,
        output_args: Sequence[str],
        label: str = "audio",
        timeout_s: float = DEFAULT_TIMEOUT_S * 6,
    ):
        self.output = output
        self.label = label
        args = [
            "-f",
            "f32le",
            "-ar",
            str(sample_rate),
            "-ac",
            str(channels),
            "-i",
            "pipe:0",
            *output_args,
            "-y",
            input_url(output),
        ]
        self._process = _Process(args, about=output, timeout_s=timeout_s, stdin=True)
        _widen_pipe(self._process.proc.stdin, self.PIPE_BYTES)

    def write(self, pcm: np.ndarray) -> None:
        if not pcm.shape[0]:
            return
        stdin = self._process.proc.stdin
        assert stdin is not None
        try:
            stdin.write(np.ascontiguousarray(pcm, dtype="<f4").data)
        except (BrokenPipeError, OSError):
            self._process.kill()
            tail = self._process.stderr_tail()
            raise ToolError(
                f"the {self.label} encoder stopped", file=self.output, stderr_tail=tail
            ) from None

    def __enter__(self) -> Encoder:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        process = self._process
        if exc_type is not None:
            process.kill()
            process.close()
            return
        try:
            assert process.proc.stdin is not None
            process.proc.stdin.close()
        except OSError:
            pass
        code = process.finish()
        tail = process.stderr_tail()
        process.close()
        if process.timed_out:
            raise ToolError(f"encoding took longer than {process.timeout_s:g} s", file=self.output)
        if code != 0:
            raise ToolError(
                f"the {self.label} encoder failed (exit {code})", file=self.output, stderr_tail=tail
            )


def _widen_pipe(stream, size: int) -> None:
    """Ask Linux for a bigger pipe buffer (F_SETPIPE_SZ); elsewhere keep the default."""
    if stream is None or not sys.platform.startswith("linux"):
        return
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), 1031, size)  # F_SETPIPE_SZ
    except OSError:
        pass
