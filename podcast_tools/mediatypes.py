"""The MIME types of what is published beside the audio (the audio's are in `formats.py`)."""

from __future__ import annotations

#: Artwork, episode images and chapter images, by file suffix.
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
#: Transcripts the Podcasting 2.0 namespace lists, by file suffix.
TRANSCRIPT_TYPES = {
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".html": "text/html",
    ".json": "application/json",
}
CHAPTERS_TYPE = "application/json+chapters"
RSS_TYPE = "application/rss+xml"
FEED_TYPE = f"{RSS_TYPE}; charset=utf-8"  # the Content-Type feeds are uploaded with
JSON_TYPE = "application/json"
#: The listeners' website: its pages, stylesheet and script.
HTML_TYPE = "text/html; charset=utf-8"
CSS_TYPE = "text/css; charset=utf-8"
JS_TYPE = "text/javascript; charset=utf-8"


def image_type(suffix: str) -> str:
    return IMAGE_TYPES[suffix.lower()]
