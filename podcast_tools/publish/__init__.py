"""Publishing: storage targets, the manifest, and the publish run (media first, feeds last).

The names below are loaded when first used, so that a mastering worker process
(`podcast_tools.publish.workers`) does not import the storage clients it never needs."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podcast_tools.publish.run import Publisher, PublishResult, select
    from podcast_tools.publish.storage import StorageError, open_storage

_WHERE = {
    "Publisher": "run",
    "PublishResult": "run",
    "select": "run",
    "StorageError": "storage",
    "open_storage": "storage",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = ["PublishResult", "Publisher", "StorageError", "open_storage", "select"]
