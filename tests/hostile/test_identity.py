"""One episode, one guid; one number per feed (issue 11, item 3).

Repros: changing a published episode's `guid` gave two items for one episode; four checkouts that
each ran `podcast new` gave four "episode 4"s in one feed. Now `publish` refuses both (exit 1, one
line each, nothing uploaded) — checked against the stored manifest, not only the checkout.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from podcast_tools.errors import ContentError
from podcast_tools.media_checks import load_checked_network
from podcast_tools.publish import Publisher, open_storage
from tests.conftest import edit
from tests.hostile.helpers import (
    CAB,
    ROW1,
    ROW1_GUID,
    error_lines,
    feed,
    podcast,
    publish,
    snapshot,
)

NEW_GUID = "0e0f6a2c-5d8b-4f6e-9a61-1c2d3e4f5a6b"


def checkout(sample: Path, where: Path) -> Path:
    shutil.copytree(sample / "episodes", where / "episodes")
    shutil.copytree(sample / "templates", where / "templates")
    return where


def numbers_in_feed(s3_server, bucket: str, show: str) -> list[int]:
    return sorted(e["number"] for e in feed(s3_server, bucket, show)["episodes"] if e.get("number"))


def test_a_new_guid_for_a_published_episode_is_refused(sample: Path, s3_server, bucket: str):
    assert publish(sample, bucket).exit_code == 0
    before = snapshot(s3_server, bucket)
    edit(sample / ROW1, f"guid: {ROW1_GUID}", f"guid: {NEW_GUID}")
    result = publish(sample, bucket)
    assert result.exit_code == 1, result.output
    assert error_lines(result) == [
        f'{ROW1}: guid: "{NEW_GUID}" is not "{ROW1_GUID}", the guid '
        "itsmwp-row/001-outsourcing-the-service-desk was published with: guids never change "
        f'(apps would list it twice); put "{ROW1_GUID}" back — or, if this is another episode, '
        f"give it another file name (or take the old one down first: podcast unpublish {ROW1_GUID})"
    ]
    assert snapshot(s3_server, bucket) == before


def new_episode(root: Path, title: str) -> str:
    recording = root.parent / f"{root.name}.ogg"
    shutil.copy(root / "episodes/itsmwp-row/001-outsourcing-the-service-desk.ogg", recording)
    made = podcast(root, "new", "itsmwp", "--title", title, "--audio", str(recording))
    assert made.exit_code == 0, made.output
    return Path(made.stdout.strip()).resolve().relative_to(root.resolve()).as_posix()


def test_four_checkouts_with_a_new_episode_4_give_the_feed_one(
    sample: Path, tmp_path: Path, s3_server, bucket: str
):
    assert publish(sample, bucket).exit_code == 0
    roots = [checkout(sample, tmp_path / f"c{n}") for n in range(4)]
    files = [new_episode(root, f"Four from checkout {n}") for n, root in enumerate(roots)]
    assert all(Path(f).name.startswith("004-") for f in files)

    assert publish(roots[0], bucket).exit_code == 0
    for root, file in zip(roots[1:], files[1:]):
        before = snapshot(s3_server, bucket)
        result = publish(root, bucket)
        assert result.exit_code == 1, result.output
        [line] = error_lines(result)
        assert line.startswith(
            f'{file}: number: 4 is already the number of "Four from checkout 0" '
            f"(itsmwp/004-four-from-checkout-0, guid "
        ), line
        assert line.endswith(  # `new` gave it the show's season: every itsmwp episode has one
            ', published) in season 1 in the feed of "itsmwp"; give this episode the next free '
            "number"
        )
        assert snapshot(s3_server, bucket) == before  # nothing uploaded
    assert numbers_in_feed(s3_server, bucket, "itsmwp") == [1, 2, 3, 4]


def test_four_checkouts_publishing_at_once_give_the_feed_one_episode_4(
    sample: Path, tmp_path: Path, s3_server, bucket: str
):
    assert publish(sample, bucket).exit_code == 0
    roots = [checkout(sample, tmp_path / f"c{n}") for n in range(4)]
    for n, root in enumerate(roots):
        new_episode(root, f"Four at once {n}")
    outcomes: list[object] = []

    def run(root: Path) -> None:
        network = load_checked_network(root)
        try:
            Publisher(network, open_storage(f"s3://{bucket}/net", root), workers=1).run(
                list(network.episodes)
            )
            outcomes.append("published")
        except ContentError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=run, args=(root,)) for root in roots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("published") == 1, outcomes
    refused = [o for o in outcomes if isinstance(o, ContentError)]
    assert len(refused) == 3
    for error in refused:
        [problem] = error.problems
        assert (problem.field, problem.message.split(" is already")[0]) == ("number", "4")
    assert numbers_in_feed(s3_server, bucket, "itsmwp") == [1, 2, 3, 4]


def test_a_cross_post_numbered_for_a_show_must_not_take_a_published_number(
    sample: Path, tmp_path: Path, s3_server, bucket: str
):
    """Cross-posted episodes are unnumbered in other feeds (no clash with the ANZ edition's own
    episode 2), unless `numbers:` gives them one — which must then be free in that feed, also
    among episodes this checkout does not have."""
    assert publish(sample, bucket).exit_code == 0
    assert numbers_in_feed(s3_server, bucket, "itsmwp-anz") == [1, 2]
    other = checkout(sample, tmp_path / "other")
    for name in ("001-major-incidents.md", "001-major-incidents.m4a"):
        (other / "episodes/itsmwp-anz" / name).unlink()  # this checkout lacks the ANZ episode 1
    edit(
        other / CAB,
        "shows: [itsmwp-anz]",
        "numbers:\n  itsmwp-anz:\n    number: 1\nshows: [itsmwp-anz]",
    )
    before = snapshot(s3_server, bucket)
    result = publish(other, bucket)
    assert result.exit_code == 1, result.output
    [line] = error_lines(result)
    assert line.startswith(f'{CAB}: numbers.itsmwp-anz.number: 1 is already the number of "'), line
    assert "(itsmwp-anz/001-major-incidents, guid 59cdfa7b-3bed-4b48-8190-903387edc90c" in line
    assert snapshot(s3_server, bucket) == before


def test_a_duplicate_number_from_before_does_not_block_other_changes(
    sample: Path, tmp_path: Path, s3_server, bucket: str
):
    """Two episodes published with the same number before these checks existed: publishing goes
    on (the duplicate is not new); only a new claim on a taken number is refused."""
    import json

    root = checkout(sample, tmp_path / "c")
    new_episode(root, "Four the first")
    assert publish(root, bucket).exit_code == 0
    stored = json.loads(
        s3_server.client().get_object(Bucket=bucket, Key="net.state/manifest.json")["Body"].read()
    )
    [(guid, entry)] = [(g, e) for g, e in stored["episodes"].items() if e["meta"]["number"] == 4]
    twin = json.loads(json.dumps(entry))
    twin["slug"], twin["meta"]["title"] = "004-four-the-twin", "Four the twin"
    stored["episodes"][NEW_GUID] = twin  # what an older podcast_tools let through
    s3_server.client().put_object(
        Bucket=bucket, Key="net.state/manifest.json", Body=json.dumps(stored).encode()
    )
    edit(root / ROW1, "knowledge transfer matter too", "knowledge transfer matter as much")
    result = publish(root, bucket)
    assert result.exit_code == 0, result.output
    assert numbers_in_feed(s3_server, bucket, "itsmwp") == [1, 2, 3, 4, 4]
    assert guid != NEW_GUID
