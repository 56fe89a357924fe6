"""The MIME types of what is published beside the audio (the audio's are in `formats.py`)."""

from __future__ import annotations

#: Artwork, episode images and chapter images, by file suffix.
IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
#: Transcripts the Podcasting 2.0 namespace lists, by file suffix: only types browsers show as
#: text or download. Never an HTML (or SVG, XHTML …) one: published on the website's origin, its
#: scripts would run there.
TRANSCRIPT_TYPES = {
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".json": "application/json",
    ".txt": "text/plain",
}


def transcript_published(mime: str | None) -> bool:
    """Whether a transcript recorded with type `mime` may be named in a feed or on a page (a
    manifest of an older version may record an HTML one: never).

    >>> transcript_published("text/vtt"), transcript_published("text/html")
    (True, False)
    """
    return mime in TRANSCRIPT_TYPES.values()


CHAPTERS_TYPE = "application/json+chapters"
RSS_TYPE = "application/rss+xml"
FEED_TYPE = f"{RSS_TYPE}; charset=utf-8"  # the Content-Type feeds are uploaded with
JSON_TYPE = "application/json"
#: The listeners' website: its pages, stylesheet and script.
HTML_TYPE = "text/html; charset=utf-8"
CSS_TYPE = "text/css; charset=utf-8"
JS_TYPE = "text/javascript; charset=utf-8"
PNG_TYPE = "image/png"
ICO_TYPE = "image/x-icon"  # what browsers and servers call /favicon.ico


def image_type(suffix: str) -> str:
    return IMAGE_TYPES[suffix.lower()]


def transcript_upload_type(mime: str) -> str:
    """The Content-Type a transcript of type `mime` is uploaded with: plain text says it is
    UTF-8 (browsers would guess otherwise); WebVTT, SRT and JSON transcripts are UTF-8 by
    definition.

    >>> transcript_upload_type("text/plain"), transcript_upload_type("text/vtt")
    ('text/plain; charset=utf-8', 'text/vtt')
    """
    return f"{mime}; charset=utf-8" if mime == "text/plain" else mime
