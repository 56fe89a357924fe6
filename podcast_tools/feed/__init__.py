"""Feeds: one RSS per show (iTunes + Podcasting 2.0), built with feedgen and our own extension."""

from podcast_tools.feed.build import (
    BuiltFeed,
    EpisodeMedia,
    FeedInputs,
    build_feed,
    check_feed,
    write_feed,
)

__all__ = ["BuiltFeed", "EpisodeMedia", "FeedInputs", "build_feed", "check_feed", "write_feed"]
