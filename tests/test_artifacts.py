"""Derived artifacts (podcast_tools.artifacts): a producer registered through the registry makes a
file from each processed episode; the build report, the record, the manifest, the uploader, the
feed and the website carry it; a re-tag keeps it; it is made again only when its own fingerprint
changes. And the one transcript resolver: the producer's hand-made transcript wins over a machine
one.

The producer here writes a small Podcasting 2.0 JSON transcript derived from the processed audio
(its duration, the audio fingerprint and its own version), and counts what it makes. Publishing
is the real thing (real ffmpeg, a folder store), in this process so the registry is shared
(workers=1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podcast_tools import artifacts
from podcast_tools.artifacts import Artifact, ArtifactInputs, Producer, transcript_source
from podcast_tools.content import Episode
from podcast_tools.layout import file_hash, public_url
from podcast_tools.media_checks import load_checked_network
from podcast_tools.pipeline.previews import local_objects, local_records
from podcast_tools.pipeline.process import process_episode
from podcast_tools.publish import Publisher, open_storage
from podcast_tools.publish.manifest import MANIFEST_KEY, Manifest
from podcast_tools.record import EpisodeRecord
from tests.conftest import edit

SHOW = "itsmwp-row"
MACHINE = "episodes/itsmwp-row/001-outsourcing-the-service-desk.md"  # no transcript of its own
BY_HAND = "episodes/itsmwp-row/002-knowledge-management.md"  # given a hand-made one below
HAND_MADE = "WEBVTT\n\n00:00.000 --> 00:02.000\nKnowledge management, by hand.\n"


class Counting:
    """A transcript producer for one show; `made` lists the slug of every file it wrote."""

    def __init__(self, version: str = "1") -> None:
        self.made: list[str] = []
        self.version = version

    def make(self, inputs: ArtifactInputs, target: Path) -> None:
        self.made.append(inputs.episode.slug)
        assert all(path.is_file() for path in inputs.audio.values())
        body = (
            f"{inputs.duration_s:.3f} seconds of audio {inputs.audio_fingerprint[:12]}, "
            f"made by version {self.version}."
        )
        segment = {"speaker": "Machine", "startTime": 0, "endTime": inputs.duration_s}
        document = {"version": "1.0.0", "segments": [{**segment, "body": body}]}
        target.write_text(json.dumps(document), encoding="utf-8")

    def producer(self) -> Producer:
        return Producer(
            kind="transcript",
            version=self.version,
            mime="application/json",
            suffix=".json",
            make=self.make,
            applies=lambda network, episode: episode.show == SHOW,
            inputs=lambda network, episode: {"model": "test-model-1"},
        )


@pytest.fixture
def registered(monkeypatch, sample: Path) -> Counting:
    """The counting producer, registered for the test only and alone: the built-in machine
    transcripts are out of the registry meanwhile, and the sample network (the tests' copy)
    turns them off (a spawned worker registers them again)."""
    toml = sample / "episodes" / "network.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            "transcripts = { auto = true", "transcripts = { auto = false"
        ),
        encoding="utf-8",
    )
    counting = Counting()
    producer = counting.producer()
    for kind in list(artifacts.PRODUCERS):
        monkeypatch.delitem(artifacts.PRODUCERS, kind)
    monkeypatch.setitem(artifacts.PRODUCERS, producer.kind, producer)
    return counting


def publish(root: Path, store: Path, workers: int = 1):
    network = load_checked_network(root)
    episodes = [e for e in network.episodes if e.show == SHOW]
    storage = open_storage(f"file://{store}", root)
    result = Publisher(network, storage, workers=workers).run(episodes)
    manifest = Manifest.from_bytes(storage_state_bytes(store), None)
    return network, result, manifest


def storage_state_bytes(store: Path) -> bytes:
    [path] = [p for p in store.parent.rglob(MANIFEST_KEY) if "history" not in p.parts]
    return path.read_bytes()


def stored_type(store: Path, key: str) -> str | None:
    info = open_storage(f"file://{store}", store.parent).head(key)
    return info.content_type if info is not None else None


def entry_of(manifest: Manifest, network, path: str) -> dict:
    [episode] = [e for e in network.episodes if network.display(e.path) == path]
    return manifest.episodes[episode.guid]


@pytest.mark.slow
def test_an_artifact_is_made_recorded_uploaded_kept_and_made_again(
    sample: Path, tmp_path: Path, registered: Counting
):
    (sample / BY_HAND).with_suffix(".vtt").write_text(HAND_MADE, encoding="utf-8")
    edit(sample / BY_HAND, "intro: false", "transcript: 002-knowledge-management.vtt\nintro: false")
    store = tmp_path / "store"
    network, _, manifest = publish(sample, store)
    assert sorted(registered.made) == [
        "001-outsourcing-the-service-desk",
        "002-knowledge-management",
    ]
    base = network.settings.base_url

    # the build report records it, with its own fingerprint, and its file is what it says
    report = json.loads(
        (sample / "build" / SHOW / "001-outsourcing-the-service-desk.json").read_text()
    )
    [made] = report["artifacts"]
    built = sample / "build" / SHOW / made["file"]
    assert (made["kind"], made["type"]) == ("transcript", "application/json")
    assert made["sha256"] == file_hash(built) and made["bytes"] == built.stat().st_size
    assert made["fingerprint"] != report["fingerprint"]  # its own, not the audio's

    # the manifest and the record list it; the store holds it with its MIME type
    entry = entry_of(manifest, network, MACHINE)
    [stored] = entry["artifacts"]
    assert stored["sha256"] == made["sha256"] and stored["fingerprint"] == made["fingerprint"]
    record = EpisodeRecord.from_entry("g", entry)
    assert [a.kind for a in record.artifacts] == ["transcript"]
    assert stored["key"] in record.keys()
    assert (store / stored["key"]).read_bytes() == built.read_bytes()
    assert stored_type(store, stored["key"]) == "application/json"

    # no transcript of its own: the feed and the website name the machine one
    url = public_url(base, stored["key"])
    feed = (store / SHOW / "feed.xml").read_text(encoding="utf-8")
    assert f'<podcast:transcript url="{url}" type="application/json"' in feed
    assert entry["transcript"] == {"key": stored["key"], "type": "application/json"}
    pages = [p.read_text(encoding="utf-8") for p in store.rglob("*.html")]
    assert any(url in page and "made by version 1" in page for page in pages)

    # a hand-made transcript wins: the feed names it; the machine one is still published
    own = entry_of(manifest, network, BY_HAND)
    [machine] = own["artifacts"]
    assert own["transcript"]["type"] == "text/vtt" and own["transcript"]["key"] != machine["key"]
    assert f'url="{public_url(base, own["transcript"]["key"])}" type="text/vtt"' in feed
    assert f'url="{public_url(base, machine["key"])}"' not in feed
    assert (store / machine["key"]).is_file()

    # `podcast preview` (the build folder as publishing lays it out) serves the same object
    served = local_objects(network, sample / "build", base_url=base, include_scheduled=True)
    assert served[stored["key"]].type == "application/json"
    assert served[stored["key"]].path == built
    [guid] = [e.guid for e in network.episodes if network.display(e.path) == MACHINE]
    [local] = local_records(network, sample / "build")[guid].artifacts
    assert (local.sha256, local.fingerprint, local.path) == (
        made["sha256"],
        made["fingerprint"],
        built,
    )

    # a publish with no change: nothing made, nothing uploaded
    _, again, manifest = publish(sample, store)
    assert registered.made == ["001-outsourcing-the-service-desk", "002-knowledge-management"]
    assert again.uploads == [] and entry_of(manifest, network, MACHINE) == entry

    # a title fix re-tags the audio and keeps the artifact as it is
    edit(sample / MACHINE, "title: Should You", "title: Should you")
    network, retagged, manifest = publish(sample, store)
    assert MACHINE in retagged.retagged
    assert len(registered.made) == 2
    assert entry_of(manifest, network, MACHINE)["artifacts"] == [stored]

    # a new version of the producer is a new fingerprint: made again, the audio is not mastered
    newer = Counting(version="2")
    artifacts.register(newer.producer())
    network, remade, manifest = publish(sample, store)
    assert sorted(newer.made) == ["001-outsourcing-the-service-desk", "002-knowledge-management"]
    assert MACHINE in remade.reused  # the build's audio, not a new render
    [changed] = entry_of(manifest, network, MACHINE)["artifacts"]
    assert changed["fingerprint"] != stored["fingerprint"]
    assert changed["sha256"] != stored["sha256"]  # its text names the version
    assert b"made by version 2" in (store / changed["key"]).read_bytes()
    assert entry_of(manifest, network, MACHINE)["transcript"]["key"] == changed["key"]


@pytest.mark.slow
def test_a_retag_from_a_build_made_without_the_producer_keeps_the_artifact(
    sample: Path, tmp_path: Path, registered: Counting, monkeypatch
):
    """`podcast process` run where no producer is registered leaves a build whose report lists
    no artifact; a title fix re-tags that build and the manifest still lists the artifact — the
    published one, not made again (a re-tag never re-makes an artifact: a producer whose bytes
    differ run to run would publish a new key)."""
    store = tmp_path / "store"
    network, _, manifest = publish(sample, store)
    [stored] = entry_of(manifest, network, MACHINE)["artifacts"]
    monkeypatch.delitem(artifacts.PRODUCERS, "transcript")
    [episode] = [e for e in network.episodes if network.display(e.path) == MACHINE]
    process_episode(network, episode, sample / "build" / SHOW)
    report = sample / "build" / SHOW / "001-outsourcing-the-service-desk.json"
    assert "artifacts" not in json.loads(report.read_text(encoding="utf-8"))
    monkeypatch.setitem(artifacts.PRODUCERS, "transcript", registered.producer())

    edit(sample / MACHINE, "title: Should You", "title: Should you")
    network, retagged, manifest = publish(sample, store)
    assert MACHINE in retagged.retagged
    assert entry_of(manifest, network, MACHINE)["artifacts"] == [stored]
    assert registered.made.count("001-outsourcing-the-service-desk") == 1  # the first publish's
    assert "artifacts" not in json.loads(report.read_text(encoding="utf-8"))  # build/ holds none


@pytest.mark.slow
def test_episodes_mastered_in_worker_processes_get_their_artifacts(
    sample: Path, tmp_path: Path, registered: Counting
):
    """A worker process (spawned) knows no producer registered in the publishing process: the
    artifacts of what the workers mastered are made here, from their files, before the upload."""
    store = tmp_path / "store"
    network, result, manifest = publish(sample, store, workers=2)
    assert len(result.processed) == 2 and not result.reused
    assert sorted(registered.made) == [
        "001-outsourcing-the-service-desk",
        "002-knowledge-management",
    ]
    for path in (MACHINE, BY_HAND):
        [stored] = entry_of(manifest, network, path)["artifacts"]
        assert stored_type(store, stored["key"]) == "application/json"
        assert entry_of(manifest, network, path)["transcript"]["key"] == stored["key"]


def episode_of(root: Path, path: str) -> Episode:
    network = load_checked_network(root)
    [episode] = [e for e in network.episodes if network.display(e.path) == path]
    return episode


def test_the_hand_made_transcript_wins_over_a_machine_one(sample: Path):
    machine = Artifact("transcript", "application/json", ".json", "ab" * 32, 10, "f")
    other = Artifact("waveform", "application/json", ".json", "cd" * 32, 10, "f")
    plain = episode_of(sample, MACHINE)
    assert transcript_source(plain) is None
    assert transcript_source(plain, (other,)) is None
    found = transcript_source(plain, (other, machine))
    assert found is not None and found.artifact == machine
    assert (found.type, found.field, found.suffix) == (
        "application/json",
        "artifacts.transcript",
        ".json",
    )

    (sample / BY_HAND).with_suffix(".vtt").write_text(HAND_MADE, encoding="utf-8")
    edit(sample / BY_HAND, "intro: false", "transcript: 002-knowledge-management.vtt\nintro: false")
    own = transcript_source(episode_of(sample, BY_HAND), (machine,))
    assert own is not None and own.artifact is None
    assert (own.type, own.field, own.path) == (
        "text/vtt",
        "transcript",
        sample / BY_HAND.replace(".md", ".vtt"),
    )


def test_an_artifact_round_trips_through_the_report_and_the_manifest(tmp_path: Path):
    path = tmp_path / "ep.transcript-derived.json"
    path.write_text("{}")
    made = Artifact("transcript", "application/json", ".json", file_hash(path), 2, "fp", path)
    assert made.intact()
    assert Artifact.from_dict(made.report_entry(), tmp_path) == made
    stored = made.manifest_entry("show", "ep")
    assert stored["key"] == made.key("show", "ep")
    assert stored["key"].startswith("show/episodes/ep-transcript-") and stored["key"].endswith(
        ".json"
    )
    assert Artifact.from_dict(stored) == Artifact(
        "transcript", "application/json", ".json", made.sha256, 2, "fp"
    )
    path.write_text("{} ")
    assert not made.intact()


def test_a_kind_must_be_a_plain_name():
    before = dict(artifacts.PRODUCERS)  # the built-in machine transcripts, when imported
    bad = Counting().producer()
    with pytest.raises(ValueError, match="a kind is lower-case"):
        artifacts.register(Producer("Transcript!", "1", "text/vtt", ".vtt", bad.make))
    with pytest.raises(ValueError, match="a transcript is one of"):
        artifacts.register(Producer("transcript", "1", "text/html", ".html", bad.make))
    with pytest.raises(ValueError, match="a suffix is one dot"):  # read back as ".json" alone
        artifacts.register(Producer("words", "1", "application/json", ".vtt.json", bad.make))
    assert artifacts.PRODUCERS == before
