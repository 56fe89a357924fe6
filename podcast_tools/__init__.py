"""podcast_tools: from raw episode recordings to what listeners hear in their podcast apps."""

__version__ = "0.1.0"
