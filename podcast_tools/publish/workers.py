"""Mastering in worker processes, one episode at a time per worker, every core busy.

The render is Python (the limiter, the meter): threads of one process would share one core
through the interpreter lock, so `publish` masters in worker processes started with the
"spawn" method (no copy of the parent's threads or locks). Each worker receives the validated
`Network` once, pickled (a few kB, far cheaper than loading and checking the network again),
then episode after episode; its encoders are ffmpeg processes of its own. Progress and "started"
events come back to the parent through one queue, and the parent draws them.

Stopping (Ctrl-C): each worker makes itself the leader of a process group holding it and its
ffmpeg processes, and ignores SIGINT — the parent decides. The parent sends SIGTERM to every
worker's group: ffmpeg exits, the worker's SIGTERM handler raises `Stopped` in its main thread,
and mastering unwinds the way it does on any error (temp files removed, nothing renamed into
place). A worker still there after a grace period is killed with its whole group (SIGKILL), and
the temp files of the episodes it was mastering are removed by the parent.

Dying with the parent (kill -9 of `publish`): a worker left running would master on, holding the
parent's stdout and stderr open (a CI step or `| tee` waiting for end of file would hang), and with
it the multiprocessing resource tracker (which ends when no process holds its pipe — the workers
inherit it). So each worker watches a pipe whose only writing end the parent holds (a thread
blocked reading it: end of file means the parent is gone) and then kills its group — itself and
its ffmpeg processes; on Linux it also asks for SIGKILL when the parent ends (`PR_SET_PDEATHSIG`),
as every ffmpeg does (`podcast_tools.ffmpeg`). The tracker is needed (the queues' locks are named
semaphores under "spawn"; it removes those a killed run leaves) and ends with the last worker.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import wait as wait_for_exits
from pathlib import Path
from typing import Any

from podcast_tools.content import Episode, Network
from podcast_tools.errors import ContentError
from podcast_tools.ffmpeg import die_with_parent
from podcast_tools.record import ProcessedAudio

#: How long workers get to stop cleanly after SIGTERM before they are killed.
STOP_GRACE_S = 5.0
#: At most this many progress events a second per episode cross to the parent.
PROGRESS_PER_S = 8.0

Progress = Callable[[str, float, float], None]


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, where the system has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Job:
    """One episode to master: what a worker needs besides the network it already holds."""

    episode_path: Path
    slug: str
    out_dir: Path
    fingerprint: str


def progress_label(episode: Episode, stage: str) -> str:
    return f"master {episode.show}/{episode.slug}: {stage}"


# -- the worker's side -----------------------------------------------------------------------------

_network: Network | None = None
_events: Any = None


class Stopped(BaseException):
    """The publisher asked this worker to stop (SIGTERM): mastering unwinds, leaving nothing."""


def _stop(_signum: int, _frame: Any) -> None:
    raise Stopped()


def start_worker(network_pickle: bytes, events: Any, lifeline: Any) -> None:
    """Runs once in each new worker process."""
    global _network, _events
    try:
        os.setpgrp()  # the worker and its ffmpeg processes: one group, stopped together
    except (AttributeError, OSError):
        pass
    die_with_parent()  # Linux; the pool is started by the thread that waits for it to finish
    threading.Thread(target=_watch, args=(lifeline,), name="lifeline", daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, _stop)
    _network = pickle.loads(network_pickle)
    _events = events
    events.put(("worker", os.getpid()))


def _watch(lifeline: Any) -> None:
    """Block reading the parent's pipe, which it never writes: end of file means the parent has
    ended (or closed it, once every job is done). Then the worker's group goes: it and its ffmpeg
    processes (only when the group is the worker's own: never the parent's)."""
    try:
        lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    if getattr(os, "getpgrp", None) is not None and os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def master_in_worker(job: Job) -> ProcessedAudio:
    """Master one episode (in a worker process) as `podcast process` does."""
    from podcast_tools.pipeline.process import process_episode

    network = _network
    assert network is not None, "start_worker runs first"
    episode = next(e for e in network.episodes if e.path == job.episode_path)
    _events.put(("start", str(job.episode_path), os.getpid()))
    _report, processed = process_episode(
        network,
        episode,
        job.out_dir,
        progress=_throttled_progress(episode),
        fingerprint_value=job.fingerprint,
        note=lambda line: _events.put(("note", line)),
    )
    return processed


def _throttled_progress(episode: Episode) -> Callable[[str, float, float], None]:
    last = {"stage": "", "at": 0.0}

    def update(stage: str, done: float, total: float) -> None:
        now = time.monotonic()
        finished = bool(total) and done >= total
        if stage == last["stage"] and not finished and now - last["at"] < 1 / PROGRESS_PER_S:
            return
        last["stage"], last["at"] = stage, now
        _events.put(("progress", progress_label(episode, stage), done, total))

    return update


# -- the parent's side -----------------------------------------------------------------------------


class WorkerPool:
    """Master `jobs` in up to `workers` processes; `started(episode_path)` is called (on a relay
    thread) as each begins, `progress(label, done, total)` as it goes, `finished(episode_path)`
    when it is mastered, `said(line)` with each note a worker has for the producer."""

    def __init__(
        self,
        network: Network,
        workers: int,
        *,
        started: Callable[[Path], None],
        finished: Callable[[Path], None] | None = None,
        progress: Progress | None = None,
        said: Callable[[str], None] | None = None,
    ):
        self.network = network
        self.workers = workers
        self.started = started
        self.finished = finished
        self.progress = progress
        self.said = said
        self._context = multiprocessing.get_context("spawn")
        self._pids: set[int] = set()
        self._lock = threading.Lock()

    def run(self, jobs: list[Job]) -> dict[Path, ProcessedAudio]:
        """Every job's result, by episode path. One failed episode does not stop the others (what
        they made is reused by the next run); once all are done, the content problems of every
        failed one are raised together (any other error: the first, in job order). On
        KeyboardInterrupt (or any BaseException in the parent) the workers are stopped first and
        nothing of theirs is left half-written."""
        # SimpleQueue: put() writes to the pipe at once, so a worker's events are all in the pipe
        # before its result reaches us, and the end marker put after the results comes last.
        events = self._context.SimpleQueue()
        relay = threading.Thread(target=self._relay, args=(events,), name="worker-events")
        relay.daemon = True
        relay.start()
        # the workers' lifeline: they hold the reading end, only this process the writing end
        lifeline, held = self._context.Pipe(duplex=False)
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(jobs)),
            mp_context=self._context,
            initializer=start_worker,
            initargs=(pickle.dumps(self.network), events, lifeline),
        )
        futures: dict[Future, Job] = {}
        try:
            try:
                # workers are started by the thread that submits (here): the one that waits
                for job in jobs:
                    future = pool.submit(master_in_worker, job)
                    future.add_done_callback(partial(self._done, job))
                    futures[future] = job
                wait(futures)
            except BaseException:
                self._stop(pool, [job for future, job in futures.items() if not future.done()])
                raise
            pool.shutdown(wait=True)
        finally:
            held.close()
            lifeline.close()
        events.put(None)
        relay.join(timeout=10)
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors and all(isinstance(error, ContentError) for error in errors):
            raise ContentError([p for error in errors for p in error.problems])
        if errors:
            raise errors[0]
        return {job.episode_path: future.result() for future, job in futures.items()}

    @property
    def pids(self) -> set[int]:
        """The worker processes started so far."""
        with self._lock:
            return set(self._pids)

    def _done(self, job: Job, future: Future) -> None:
        if self.finished is not None and not future.cancelled() and future.exception() is None:
            self.finished(job.episode_path)

    def _relay(self, events: Any) -> None:
        while True:
            try:
                event = events.get()
            except (EOFError, OSError, pickle.UnpicklingError):
                return
            if event is None:
                return
            kind = event[0]
            try:
                if kind == "worker":
                    with self._lock:
                        self._pids.add(event[1])
                elif kind == "start":
                    self.started(Path(event[1]))
                elif kind == "progress" and self.progress is not None:
                    self.progress(event[1], event[2], event[3])
                elif kind == "note" and self.said is not None:
                    self.said(event[1])
            except Exception:  # drawing must never stop the relay (and so the workers)
                continue

    def _stop(self, pool: ProcessPoolExecutor, unfinished: list[Job]) -> None:
        """Stop every worker and its ffmpeg processes; remove what the unfinished jobs left. A
        second Ctrl-C meanwhile is ignored, so the stop is never itself cut short."""
        masked = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if masked else None
        try:
            self._stop_workers(pool, unfinished)
        finally:
            if masked:
                signal.signal(signal.SIGINT, previous)

    def _stop_workers(self, pool: ProcessPoolExecutor, unfinished: list[Job]) -> None:
        pool.shutdown(wait=False, cancel_futures=True)
        processes = dict(getattr(pool, "_processes", None) or {})
        with self._lock:
            pids = set(self._pids) | set(processes)
        for pid in pids:
            _signal_group(pid, signal.SIGTERM)
        sentinels = []
        for process in processes.values():
            try:
                sentinels.append(process.sentinel)
            except ValueError:  # already closed
                continue
        deadline = time.monotonic() + STOP_GRACE_S
        while sentinels and time.monotonic() < deadline:
            for ready in wait_for_exits(sentinels, timeout=max(0.0, deadline - time.monotonic())):
                sentinels.remove(ready)
        killed = bool(sentinels)
        for pid in pids:  # whatever is left of a group (a worker, an ffmpeg): killed
            _signal_group(pid, signal.SIGKILL)
        if sentinels:
            wait_for_exits(sentinels, timeout=STOP_GRACE_S)
        for job in unfinished:
            remove_temp_files(job)
        if killed:  # a killed worker may have been writing the analysis cache
            cache = self.network.root / "build" / ".cache" / "analysis"
            for leftover in cache.glob(".analysis-*.tmp"):
                leftover.unlink(missing_ok=True)


def _signal_group(pid: int, signum: int) -> None:
    """Signal a worker's process group, or the worker alone if it has no group of its own yet."""
    try:
        os.killpg(pid, signum)
        return
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def remove_temp_files(job: Job) -> None:
    """The temp files mastering an episode writes beside its outputs (`fsutil.atomic_path`:
    `.<name>.<random>.tmp<suffix>`), left by a worker that was killed."""
    for leftover in job.out_dir.glob(f".{job.slug}.*.tmp*"):
        try:
            leftover.unlink()
        except OSError:
            continue
