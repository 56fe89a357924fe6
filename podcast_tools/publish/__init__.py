"""Publishing: storage targets, the manifest, and the publish run (media first, feeds last)."""

from podcast_tools.publish.run import Publisher, PublishResult, select
from podcast_tools.publish.storage import StorageError, open_storage

__all__ = ["PublishResult", "Publisher", "StorageError", "open_storage", "select"]
