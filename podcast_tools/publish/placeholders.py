"""Placeholders never go out: a network published anywhere listeners can reach must not carry the
reserved example names a scaffold or a copied example starts with (RFC 2606 and RFC 6761:
`example.com`, `example.net`, `example.org` and every name under `.example`, `.test`,
`.invalid`, `.localhost`) — as the owner's email (Apple writes to it to verify the show), a link,
or the `base_url` every enclosure is built on.

A store on this machine (a folder, or an S3 server on the loopback address) is for trying things
out: placeholders are allowed there. Any other store gets one line per setting, naming the file
and the field, and nothing is uploaded.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from podcast_tools.content import Network
from podcast_tools.content.loader import BUILT_IN, DEFAULTS, NETWORK
from podcast_tools.errors import Problem

#: Second-level names reserved for documentation (RFC 2606 section 3).
RESERVED_NAMES = ("example.com", "example.net", "example.org")
#: Top-level names reserved for testing, documentation, errors and the local machine
#: (RFC 2606 section 2, RFC 6761).
RESERVED_TOP = ("example", "test", "invalid", "localhost")

_URL_IN_TEXT = re.compile(r"https?://(?:\[[0-9a-f:.]+\])?[^\s<>()\"'\]]*", re.IGNORECASE)
#: an address: a local part, "@", and a host with at least one dot or a reserved one-word name
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@((?:[\w-]+\.)+[\w-]+|localhost)\b")


def reserved_host(host: str | None) -> bool:
    """True for a host name reserved for examples and tests.

    >>> [reserved_host(h) for h in ("example.com", "media.itsmweekly.example", "EXAMPLE.org.")]
    [True, True, True]
    >>> [reserved_host(h) for h in ("example.co.uk", "notexample.com", "op3.dev", None)]
    [False, False, False, False]
    """
    if not host:
        return False
    name = host.lower().rstrip(".").strip("[]")
    try:
        if ipaddress.ip_address(name).is_loopback:  # http://127.0.0.1:8000/: a try-out's address
            return True
    except ValueError:
        pass
    if name.split(".")[-1] in RESERVED_TOP:
        return True
    return any(name == reserved or name.endswith("." + reserved) for reserved in RESERVED_NAMES)


def placeholder_in(value: str) -> str | None:
    """The first reserved host a URL or an email address in `value` names (a whole setting, or a
    URL or address inside free text), else None.

    >>> placeholder_in("Write to hi@example.com or see https://docs.example.org/")
    'example.com'
    >>> placeholder_in("We tested it @test, then went to example.com's rival") is None
    True
    """
    found = _placeholder(value)
    return found[1] if found else None


def _placeholder(value: str) -> tuple[str, str] | None:
    """(the URL or address as written, its reserved host) — the first in `value`."""
    hits = [(m.start(), m.group(0), urlsplit(m.group(0)).hostname) for m in _urls(value)]
    hits += [(m.start(), m.group(0), m.group(1).lower()) for m in _EMAIL_IN_TEXT.finditer(value)]
    for _, text, host in sorted(hits):
        if reserved_host(host):
            return text, host
    return None


def _urls(value: str) -> Iterator[re.Match]:
    for match in _URL_IN_TEXT.finditer(value):
        try:
            urlsplit(match.group(0)).hostname
        except ValueError:  # not a URL after all (an unclosed IPv6 bracket)
            continue
        yield match


def placeholder_problems(network: Network) -> list[Problem]:
    """One problem per setting or episode field that names a reserved example host."""
    toml = network.display(network.episodes_dir / "network.toml")
    found: dict[tuple[str, str], str] = {}
    settings = network.settings.model_dump(mode="json", exclude={"storage", "endpoint_url"})
    for field, value in _leaves(settings):
        _note(found, toml, f"network.{field}", value)
    for show_id, show in network.shows.items():
        origins = network.origins.get(show_id, {})
        for field, value in _leaves(show.model_dump(mode="json", exclude={"id"})):
            origin = _origin(origins, field)
            if origin is None:
                continue  # a network setting: named above
            own = {DEFAULTS: "defaults", "own": f"shows.{show_id}"}
            table = own.get(origin, f"shows.{origin}")
            _note(found, toml, f"{table}.{field}", value)
    for episode in network.episodes:
        if episode.draft:
            continue
        where = network.display(episode.path)
        front = episode.model_dump(mode="json", exclude={"path", "notes"})
        for field, value in _leaves(front):
            _note(found, where, field, value)
        _note(found, where, "notes", episode.notes)
    return [
        Problem(
            file,
            field,
            f"{value!r} names {host}, a reserved example name (RFC 2606): put in the real one — "
            "placeholders are published only to a folder or a store on this machine",
        )
        for (file, field), (value, host) in found.items()
    ]


def _origin(origins: dict[str, str], field: str) -> str | None:
    """Where a show's field came from: a show id, "[defaults]", or None for the network table or
    a built-in default (a list's item is named by its list)."""
    parts = field.split(".")
    for end in range(len(parts), 0, -1):
        origin = origins.get(".".join(parts[:end]))
        if origin is not None:
            return None if origin in (NETWORK, BUILT_IN) else origin
    return None


def _note(found: dict, file: str, field: str, value: Any) -> None:
    if isinstance(value, str) and (file, field) not in found:
        hit = _placeholder(value)
        if hit is not None:
            found[(file, field)] = hit


def _leaves(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, f"{prefix}[{index}]")
    else:
        yield prefix, data


__all__ = ["placeholder_in", "placeholder_problems", "reserved_host"]
