"""Where the publisher's private state lives, apart from what listeners read.

Listeners read what ``base_url`` serves: the storage location (media and feeds). The state — the
manifest, and for a folder also the lock, the objects' metadata and the temp files of copies in
progress — lives in a *state location* that is not under it:

- ``[network] state`` in network.toml (``--state URL`` for one run), else
- beside the storage location, with ``.state`` appended:
  ``s3://bucket/prefix`` → ``s3://bucket/prefix.state`` (a bucket policy granting public read on
  ``arn:aws:s3:::bucket/prefix/*`` does not match ``prefix.state/…``), and ``file://dir`` →
  ``file://dir.state`` (a folder beside the one a web server serves).

A whole bucket (``s3://bucket``) is all public, so nothing beside it is private: there ``state``
must be set, to another bucket. A state inside the storage location (listeners could read it),
containing it, or of another kind (``file://`` with ``s3://``) is refused in one line naming
network.toml and the field, or the command-line option.

State an older version left in the public place (its ``manifest.json``; a folder's ``.lock`` and
``.meta/``) is moved to the state location by the next publish, which says so once.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

from podcast_tools.content import NETWORK_FILE, Network
from podcast_tools.errors import ContentError, Problem, UsageError
from podcast_tools.layout import folder_store_problem
from podcast_tools.mediatypes import JSON_TYPE
from podcast_tools.publish.manifest import (
    MANIFEST_CACHE,
    MANIFEST_KEY,
    Manifest,
    read_manifest,
)
from podcast_tools.publish.storage import (
    STATE_SUFFIX,
    Place,
    PreconditionFailed,
    Storage,
    StorageURLError,
    backend_for,
    parse_storage_url,
)


def beside(storage: Place) -> Place | None:
    """The default state location: the storage location + ".state", beside it (None when
    there is no such place that listeners cannot read: a whole bucket, the root folder)."""
    return storage.beside(STATE_SUFFIX)


def default_state_url(storage_url: str, root: Path) -> str | None:
    """The state location the rule gives for a storage URL, or None (a whole bucket).

    >>> default_state_url("s3://media/net", Path("/n"))
    's3://media/net.state'
    >>> default_state_url("file://public", Path("/n"))
    'file:///n/public.state'
    """
    found = beside(parse_storage_url(storage_url, root))
    return found.url if found else None


@dataclass(frozen=True)
class Locations:
    storage: Place  # public: what base_url serves
    state: Place  # private


def locate(
    network: Network, *, storage_url: str | None = None, state_url: str | None = None
) -> Locations:
    """The storage and state locations of a run: the command line's, else network.toml's;
    the state by the rule when not given. Refuses a state that listeners could read."""
    settings = network.settings
    for option, value in (("--storage", storage_url), ("--state", state_url)):
        if value is not None and not value.strip():  # an unset CI variable: never fall back
            raise UsageError(f"{option} is empty; give s3://bucket/prefix or file://dir")
    storage_option = storage_url is not None and storage_url != settings.storage
    storage_url = storage_url or settings.storage
    state_option = state_url is not None
    if state_url is None and not storage_option:
        state_url = getattr(settings, "state", None)

    def refuse(message: str, *, about_storage: bool = False) -> Exception:
        if state_option and not about_storage:
            return UsageError(f"--state {state_url}: {message}")
        if storage_option:
            return UsageError(f"--storage {storage_url}: {message}")
        field = "network.storage" if about_storage else "network.state"
        return ContentError([Problem(NETWORK_FILE.as_posix(), field, message)])

    def apart(storage: Place, state: Place) -> Locations:
        # a folder store stays off the network's own folders (as `validate` checks network.toml)
        for place, url, is_state in ((storage, storage_url, False), (state, state_url, True)):
            problem = place.syntax.local and folder_store_problem(
                url or place.url, place.path, network.root, state=is_state
            )
            if problem:
                raise refuse(problem, about_storage=not is_state)
        return Locations(storage, state)

    try:
        storage = parse_storage_url(storage_url, network.root)
    except StorageURLError as exc:
        raise refuse(exc.reason, about_storage=True) from None
    if state_url is None:
        state = beside(storage)
        if state is None:
            what = "it is" if storage_option else f"storage {storage.url} is"
            advice = "add --state URL" if storage_option else storage.syntax.state_example
            raise refuse(storage.syntax.nothing_beside(what, advice))
        return apart(storage, state)
    try:
        state = parse_storage_url(state_url, network.root)
    except StorageURLError as exc:
        raise refuse(exc.reason) from None
    if state.kind != storage.kind:
        raise refuse(
            f"{state.url} is not the same kind of storage as {storage.url}; "
            "use an s3:// state with s3:// storage, a file:// one with file://"
        )
    if storage.contains(state):
        suggestion = beside(storage)
        raise refuse(
            f"{state.url} lies inside the public storage {storage.url}, so listeners could read "
            "it; put it beside, "
            + (f"e.g. {suggestion.url}" if suggestion else "in another bucket")
        )
    if state.contains(storage):
        raise refuse(f"{state.url} holds the public storage {storage.url}; keep them apart")
    return apart(storage, state)


def open_locations(network: Network, locations: Locations) -> tuple[Storage, Storage]:
    """(public storage, state storage) for a run."""
    settings = network.settings
    options = {
        "endpoint_url": settings.endpoint_url,
        "region": settings.region,
        "state_folder": Path(locations.state.path),  # (a folder's sidecars go there)
    }
    backend = backend_for(locations.storage)  # the state is of the same kind (`locate`)
    return backend.at(locations.storage, **options), backend.at(locations.state, **options)


def state_beside(storage: Storage) -> Storage:
    """The state store by the default rule, for a library user who opened only the storage."""
    return storage.default_state()


def check_apart(storage: Storage, state: Storage) -> None:
    """For library users who open both stores themselves: the state must not be public."""
    public, private = storage.description.rstrip("/"), state.description.rstrip("/")
    if private == public or private.startswith(public + "/"):
        raise UsageError(
            f"{private}: the state lies inside the public storage {public}; put it beside"
        )


def read_state(public: Storage, state: Storage, say, *, dry_run: bool = False) -> Manifest:
    """The manifest, from the state location — after moving there what an older version kept in
    the public place (its manifest.json; a folder's .lock and .meta/), said once."""
    old = public.get(MANIFEST_KEY)
    if old is None:
        moved = [] if dry_run else public.move_legacy_sidecars()
        if moved:
            say(
                f"moved the publisher's state out of the public folder {public.description} "
                f"({', '.join(moved)}) to {getattr(public, 'private', state.description)}"
            )
        return read_manifest(state)
    source = f"{public.description}/{MANIFEST_KEY}"
    target = f"{state.description}/{MANIFEST_KEY}"
    current = state.head(MANIFEST_KEY)
    if dry_run:
        say(f"would move the manifest from {source}, where listeners can read it, to {target}")
        return read_manifest(state) if current is not None else _parsed(old, source)
    if current is None:
        _parsed(old, source)  # a damaged one is reported, not moved
        try:
            state.put_bytes(
                MANIFEST_KEY,
                old[0],
                content_type=JSON_TYPE,
                cache_control=MANIFEST_CACHE,
                if_absent=True,
            )
        except PreconditionFailed:
            pass  # another publisher moved it first
    public.delete(MANIFEST_KEY)
    moved = [MANIFEST_KEY, *public.move_legacy_sidecars()]
    if public.capabilities.private_sidecars:
        say(
            f"moved the publisher's state out of the public folder {public.description} "
            f"({', '.join(moved)}) to {state.description}"
        )
    else:
        say(
            f"moved the manifest from {source}, where listeners could read it, to {target}"
            if current is None
            else f"deleted the old public copy of the manifest, {source}; {target} is current"
        )
    return read_manifest(state)


def _parsed(found: tuple[bytes, str], where: str) -> Manifest:
    return Manifest.from_bytes(found[0], None, where=where)  # ManifestDamaged names the key


def relative_url(locations: Locations, base_url: str, name: str) -> str | None:
    """Where the state file `name` would be if base_url reached the state location (the state
    seen from the storage location, applied to base_url), or None when it cannot (another
    bucket)."""
    relative = locations.storage.relative(locations.state)
    if relative is None:
        return None
    return urljoin(base_url, posixpath.normpath(posixpath.join(relative, name)))
