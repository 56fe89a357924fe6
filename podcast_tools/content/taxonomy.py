"""The Podcast Taxonomy: the roles and groups a ``podcast:person`` may name.

The list is package data (``podcast_tools/data/person-taxonomy.json``), copied unchanged from
``taxonomy-en.json`` of the Podcast Index's namespace repository
(https://github.com/Podcastindex-org/podcast-namespace, commit c0ff5ca, 2026-05-13), which the
namespace's ``person`` tag documentation names as the authority. Roles and groups compare
case-insensitively ("Host" is "host"), as that documentation says.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

from podcast_tools.content.hints import did_you_mean, quote_cut

TAXONOMY_FILE = "person-taxonomy.json"


@functools.cache
def roles_by_group() -> dict[str, tuple[str, ...]]:
    """Lower-case group → its lower-case roles, in the taxonomy's order."""
    data = json.loads(
        (resources.files("podcast_tools") / "data" / TAXONOMY_FILE).read_text("utf-8")
    )
    groups: dict[str, list[str]] = {}
    for entry in data:
        groups.setdefault(entry["group"].lower(), []).append(entry["role"].lower())
    return {group: tuple(roles) for group, roles in groups.items()}


def check_group(group: str) -> None:
    """ValueError unless `group` is a group of the taxonomy.

    >>> check_group("Cast")
    >>> check_group("band")
    Traceback (most recent call last):
    ...
    ValueError: "band" is not a group of the Podcast Taxonomy; use one of: ...
    """
    groups = roles_by_group()
    if group.lower() not in groups:
        hint = did_you_mean(group.lower(), groups)
        raise ValueError(
            f"{quote_cut(group)} is not a group of the Podcast Taxonomy{hint}; use one of: "
            + ", ".join(groups)
        )


def check_role(group: str, role: str) -> None:
    """ValueError unless `role` is a role of `group` in the taxonomy.

    >>> check_role("cast", "Guest")
    >>> check_role("cast", "cohost")
    Traceback (most recent call last):
    ...
    ValueError: "cohost" is not a role of the group "cast" in the Podcast Taxonomy; did you mean "co-host"?
    """
    roles = roles_by_group().get(group.lower(), ())
    if role.lower() in roles:
        return
    hint = did_you_mean(role.lower(), roles)
    elsewhere = [g for g, members in roles_by_group().items() if role.lower() in members]
    if hint:
        detail = hint
    elif elsewhere:
        detail = f'; it belongs to the group "{elsewhere[0]}": set group: {elsewhere[0]}'
    else:
        detail = "; its roles are: " + ", ".join(roles)
    raise ValueError(
        f'{quote_cut(role)} is not a role of the group "{group}" in the Podcast Taxonomy{detail}'
    )
