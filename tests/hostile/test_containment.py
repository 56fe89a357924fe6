"""Uploads read files through the containment check: a file swapped after validation for a link
to something outside the network folder is never uploaded (issue 11, item 1).

`podcast validate` resolves every path and refuses one outside the network folder, but the upload
comes later. These tests swap the transcript for a symlink at three moments: after validation
(before any upload), in the middle of the run (after the check of every file, while the episode's
MP3 is uploading), and after the transcript was opened. Real SeaweedFS, real ffmpeg; the swap is
made by wrapping the moment (a method of the run, or a storage call) — the store itself is real.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from podcast_tools.errors import ContentError
from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish import Publisher
from podcast_tools.publish.run import Publisher as RunPublisher
from podcast_tools.publish.storage import S3Storage
from tests.conftest import edit
from tests.hostile.helpers import ROW1, error_lines, keys, publish, read

TRANSCRIPT = "episodes/itsmwp-row/001-outsourcing-the-service-desk.vtt"
#: The start of the keys of ROW1's transcript, each form (other episodes may have machine ones).
OWN_FORMS = "itsmwp-row/episodes/001-outsourcing-the-service-desk-transcript-"
WEBVTT = b"WEBVTT\n\n00:00.000 --> 00:05.000\nWelcome to the Rest of World edition.\n"
SECRET = b"SECRET-OUTSIDE-THE-NETWORK-FOLDER 7f3c9a\n"


@pytest.fixture
def with_transcript(sample: Path, tmp_path: Path) -> Path:
    """The sample with a transcript for ROW1, and a secret file outside the network folder."""
    (sample / TRANSCRIPT).write_bytes(WEBVTT)
    edit(
        sample / ROW1,
        "audio: 001-outsourcing-the-service-desk.ogg\n",
        "audio: 001-outsourcing-the-service-desk.ogg\n"
        "transcript: 001-outsourcing-the-service-desk.vtt\n",
    )
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/secret.vtt").write_bytes(SECRET)
    return sample


def swap(root: Path, target: Path) -> None:
    path = root / TRANSCRIPT
    path.unlink()
    path.symlink_to(target)


def no_secret_anywhere(s3_server, bucket: str) -> None:
    for key in keys(s3_server, bucket):
        assert SECRET not in read(s3_server, bucket, key), key


@pytest.mark.parametrize("target", ["secret", "/etc/hostname"])
def test_a_transcript_swapped_after_validation_is_refused_before_any_upload(
    with_transcript: Path, tmp_path: Path, s3_server, bucket: str, monkeypatch, target: str
):
    outside = tmp_path / "outside/secret.vtt" if target == "secret" else Path(target)
    if not outside.exists():
        pytest.skip(f"{outside} does not exist here")
    real_process = RunPublisher._process

    def process_then_swap(self, *args):  # validation is over; no upload yet
        built = real_process(self, *args)
        swap(with_transcript, outside)
        return built

    monkeypatch.setattr(RunPublisher, "_process", process_then_swap)
    result = publish(with_transcript, bucket)

    assert result.exit_code == 1, result.output
    assert error_lines(result) == [
        f"{ROW1}: transcript: {TRANSCRIPT} now resolves to {outside.resolve()}, outside "
        f"{with_transcript.resolve()}; nothing of it was uploaded"
    ]
    assert keys(s3_server, bucket) == []  # nothing at all: not the secret, no media, no feed


def test_a_swap_while_the_run_uploads_is_refused_when_the_file_is_opened(
    with_transcript: Path, tmp_path: Path, s3_server, bucket: str
):
    """Swapped after the check of every file, while the episode's MP3 uploads: the transcript's
    own opening finds the link; nothing of the secret is uploaded, no manifest, no feed."""

    class SwapDuringMp3(S3Storage):
        def put_file(self, key, source, **kwargs):
            etag = super().put_file(key, source, **kwargs)
            if key.startswith("itsmwp-row/episodes/001-") and key.endswith(".mp3"):
                swap(with_transcript, tmp_path / "outside/secret.vtt")
            return etag

    network = load_checked_network(with_transcript)
    storage = SwapDuringMp3(bucket, "net")
    with pytest.raises(ContentError) as caught:
        Publisher(network, storage, workers=1).run(list(network.episodes))
    assert [str(p) for p in caught.value.problems] == [
        f"{ROW1}: transcript: {TRANSCRIPT} now resolves to "
        f"{(tmp_path / 'outside/secret.vtt').resolve()}, outside {with_transcript.resolve()}; "
        "nothing of it was uploaded"
    ]
    stored = keys(s3_server, bucket)
    assert not [k for k in stored if OWN_FORMS in k]
    assert not [k for k in stored if k.endswith(("feed.xml", "manifest.json", "publisher.xml"))]
    no_secret_anywhere(s3_server, bucket)


def test_a_swap_after_the_file_was_opened_uploads_what_was_opened(
    with_transcript: Path, tmp_path: Path, s3_server, bucket: str
):
    """The transcript is read through the handle that was checked: swapping the name afterwards
    changes nothing that is uploaded."""

    class SwapAfterOpening(S3Storage):
        def head(self, key):
            own = OWN_FORMS in key and key.endswith(".vtt")  # the file itself, being uploaded
            if own and not os.path.islink(with_transcript / TRANSCRIPT):
                swap(with_transcript, tmp_path / "outside/secret.vtt")
            return super().head(key)

    network = load_checked_network(with_transcript)
    Publisher(network, SwapAfterOpening(bucket, "net"), workers=1).run(list(network.episodes))
    transcripts = [k for k in keys(s3_server, bucket) if OWN_FORMS in k]
    assert len(transcripts) == 3  # the file, and the SRT and JSON made from it
    [vtt] = [key for key in transcripts if key.endswith(".vtt")]
    assert read(s3_server, bucket, vtt) == WEBVTT
    no_secret_anywhere(s3_server, bucket)


def test_a_transcript_swapped_for_a_fifo_is_refused_without_hanging(
    with_transcript: Path, s3_server, bucket: str, monkeypatch
):
    real_process = RunPublisher._process

    def process_then_fifo(self, *args):
        built = real_process(self, *args)
        (with_transcript / TRANSCRIPT).unlink()
        os.mkfifo(with_transcript / TRANSCRIPT)  # opening it to read would block
        return built

    monkeypatch.setattr(RunPublisher, "_process", process_then_fifo)
    result = publish(with_transcript, bucket)
    assert result.exit_code == 1, result.output
    assert error_lines(result) == [
        f"{ROW1}: transcript: {TRANSCRIPT} is not a regular file any more; "
        "nothing of it was uploaded"
    ]
    assert keys(s3_server, bucket) == []
