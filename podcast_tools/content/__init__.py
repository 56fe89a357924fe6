"""The producers' content: network, shows (with spin-off inheritance) and episodes."""

from podcast_tools.content.loader import (
    NETWORK_FILE,
    Network,
    feed_url,
    find_root,
    load_network,
    podcast_guid_for,
)
from podcast_tools.content.models import Episode, Show

__all__ = [
    "NETWORK_FILE",
    "Episode",
    "Network",
    "Show",
    "feed_url",
    "find_root",
    "load_network",
    "podcast_guid_for",
]
