"""One exception hierarchy for the whole package.

Every error names the file (and, where it applies, the field) it is about, so the CLI can print it
as one line and a library user can act on it without parsing messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Process exit codes of the `podcast` command."""

    OK = 0
    CONTENT = 1  # the producers' files have problems (validation, bad audio input)
    USAGE = 2  # wrong command-line usage
    STORAGE = 3  # storage or network failure after retries
    TOOL = 4  # an external tool (ffmpeg) failed or is missing
    INTERRUPTED = 130  # Ctrl-C (SIGINT), as shells report a command that SIGINT ended


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one field of one file, and what to do about it."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        if self.field:
            return f"{self.file}: {self.field}: {self.message}"
        return f"{self.file}: {self.message}"


class PodcastToolsError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code: ExitCode = ExitCode.CONTENT

    def lines(self) -> list[str]:
        """The error as the one-line-per-problem text the CLI prints."""
        return [str(self)]

    def __reduce__(self):
        # Pickled as it is (message and attributes), not by calling __init__ again with the
        # message: errors cross from mastering worker processes to the publisher this way.
        return _rebuilt, (type(self), self.args, dict(self.__dict__))


def _rebuilt(cls: type[PodcastToolsError], args: tuple, state: dict) -> PodcastToolsError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ContentError(PodcastToolsError):
    """The network's content has one or more problems; all of them are listed."""

    exit_code = ExitCode.CONTENT

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=_problem_order(problems))
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def _problem_order(problems: list[Problem]):
    """Keep problems grouped by file in the order they were found within a file."""
    first_seen: dict[Problem, int] = {}
    for index, problem in enumerate(problems):
        first_seen.setdefault(problem, index)
    return lambda p: (p.file, first_seen[p])


class NotANetworkError(PodcastToolsError):
    """No episodes/network.toml was found where one was expected."""

    exit_code = ExitCode.USAGE


class UsageError(PodcastToolsError):
    """The command was asked to do something it cannot (bad argument values)."""

    exit_code = ExitCode.USAGE


class ToolError(PodcastToolsError):
    """An external program (ffmpeg) is missing or failed."""

    exit_code = ExitCode.TOOL

    def __init__(self, message: str, *, file: Path | str | None = None, stderr_tail: str = ""):
        self.file = str(file) if file is not None else None
        self.stderr_tail = stderr_tail
        text = f"{self.file}: {message}" if self.file else message
        if stderr_tail:
            text += f" (ffmpeg said: {stderr_tail})"
        super().__init__(text)


class AudioInputError(PodcastToolsError):
    """An audio input (master, jingle) cannot be used."""

    exit_code = ExitCode.CONTENT

    def __init__(self, message: str, *, file: Path | str):
        self.file = str(file)
        self.reason = message
        super().__init__(f"{self.file}: {message}")


class WriteError(PodcastToolsError, OSError):
    """A local file or folder cannot be written (a read-only folder, a full disk, a file where a
    folder should be): one line naming the path and the system's reason. An OSError too, so that
    what works around an unwritable cache still catches it."""

    exit_code = ExitCode.STORAGE

    def __init__(self, path: Path | str, error: OSError):
        self.path = str(path)
        self.reason = error.strerror or str(error)
        OSError.__init__(self, error.errno, self.reason, self.path)

    @classmethod
    def of(cls, error: OSError, path: Path | str) -> WriteError:
        """`error` as a WriteError (itself if it is one) naming its file, else `path`."""
        return error if isinstance(error, WriteError) else cls(error.filename or path, error)

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}"

    def __reduce__(self):
        return _rebuilt_write_error, (self.path, self.errno, self.reason)


def _rebuilt_write_error(path: str, errno: int | None, reason: str) -> WriteError:
    return WriteError(path, OSError(errno, reason))
