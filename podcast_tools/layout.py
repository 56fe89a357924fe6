"""Where published files live: object keys under the storage prefix, and their public URLs.

Media keys carry a hash of their content, so a changed file gets a new URL (caches and apps never
serve stale audio; Apple ignores an item whose enclosure URL repeats another's). Feeds keep one
stable key per show.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Container, Iterable
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import idna

HASH_CHARS = 12


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def audio_key(show_id: str, slug: str, sha256: str, suffix: str) -> str:
    """An episode's audio file in one output format (`suffix`: the format's, e.g. ".mp3")."""
    return f"{show_id}/episodes/{slug}-{sha256[:HASH_CHARS]}{suffix}"


def episode_file_key(show_id: str, slug: str, kind: str, sha256: str, suffix: str) -> str:
    """Chapters JSON, transcript or image of an episode (kind: chapters, transcript, image)."""
    return f"{show_id}/episodes/{slug}-{kind}-{sha256[:HASH_CHARS]}{suffix}"


def chapter_image_key(show_id: str, slug: str, sha256: str, suffix: str) -> str:
    return episode_file_key(show_id, slug, "chapter-image", sha256, suffix.lower())


def artwork_key(show_id: str, sha256: str, suffix: str) -> str:
    return f"{show_id}/art/cover-{sha256[:HASH_CHARS]}{suffix.lower()}"


def feed_key(show_id: str) -> str:
    return f"{show_id}/feed.xml"


def public_url(base_url: str, key: str) -> str:
    return base_url.rstrip("/") + "/" + key


def measured_url(prefix: str | None, url: str) -> str:
    """An audio URL as listeners' apps fetch it through a measurement service (OP3, Podtrac…):
    the prefix, then the URL without its ``https://`` — the rule both services document
    (``https://op3.dev/e/host/path``, ``https://dts.podtrac.com/redirect.mp3/host/path``). An
    ``http://`` URL keeps its scheme after the prefix (OP3's documented form for plain HTTP).
    The one home of the rule: feeds (enclosure, alternate enclosures, trailers) and the
    website's player use it, for audio only.

    >>> measured_url("https://op3.dev/e/", "https://media.example/show/ep-1a2b.mp3")
    'https://op3.dev/e/media.example/show/ep-1a2b.mp3'
    >>> measured_url("https://dts.podtrac.com/redirect.mp3/", "https://media.example/a.mp3")
    'https://dts.podtrac.com/redirect.mp3/media.example/a.mp3'
    >>> measured_url("https://op3.dev/e/", "http://media.example/a.mp3")
    'https://op3.dev/e/http://media.example/a.mp3'
    >>> measured_url(None, "https://media.example/a.mp3")
    'https://media.example/a.mp3'
    """
    if not prefix:
        return url
    return prefix + url.removeprefix("https://")


def unmeasured_url(prefix: str | None, url: str) -> str:
    """The audio URL behind `measured_url` (unchanged when it does not start with `prefix`).

    >>> unmeasured_url("https://op3.dev/e/", "https://op3.dev/e/media.example/a.mp3")
    'https://media.example/a.mp3'
    >>> unmeasured_url("https://op3.dev/e/", "https://op3.dev/e/http://media.example/a.mp3")
    'http://media.example/a.mp3'
    """
    if not prefix or not url.startswith(prefix):
        return url
    rest = url[len(prefix) :]
    return rest if rest.startswith(("http://", "https://")) else "https://" + rest


#: The network's publisher feed (Podcasting 2.0), beside the shows' folders.
PUBLISHER_FEED_KEY = "publisher.xml"

# --- the listeners' website: pages keep stable keys, its stylesheet and script carry a hash --

#: The network's home page.
SITE_INDEX_KEY = "index.html"
#: The site's icon where browsers and feed readers look for it unasked, at the site's root (the
#: pages name a PNG of it, `site_asset_key("icon", …, ".png")`).
FAVICON_KEY = "favicon.ico"


def show_page_key(show_id: str, page: int = 1) -> str:
    """A page of a show's episode list: the first is the show's page.

    >>> show_page_key("itsmwp"), show_page_key("itsmwp", 2)
    ('itsmwp/index.html', 'itsmwp/page/2/index.html')
    """
    return f"{show_id}/index.html" if page == 1 else f"{show_id}/page/{page}/index.html"


def episode_page_key(show_id: str, slug: str) -> str:
    return f"{show_id}/{slug}.html"


def episode_page_url(base_url: str, show_id: str, slug: str) -> str:
    """The public URL of an episode's web page, in the folder of its home show `show_id` (the
    website publishes one page per episode; its audio's tags and its feed items link to it).

    >>> episode_page_url("https://media.example/", "itsmwp", "001-incident-vs-problem")
    'https://media.example/itsmwp/001-incident-vs-problem.html'
    """
    return public_url(base_url, episode_page_key(show_id, slug))


#: What a URI keeps as it is (RFC 3986's reserved characters, and % of an existing %XX escape);
#: every other character outside ASCII's unreserved ones is percent-encoded as UTF-8.
_URI_KEEP = "!#$%&'()*+,/:;=?@[]~"
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def ascii_uri(url: str) -> str:
    """`url` as a plain-ASCII URI (what an ID3 URL frame, Latin-1 only, can hold and every reader
    reads): the host IDNA-encoded, everything else percent-encoded as UTF-8, keeping reserved
    characters and existing %XX escapes. An ASCII URI comes back as it is.

    >>> ascii_uri("https://медиа.example/itsmwp/café/")
    'https://xn--80ahcnr.example/itsmwp/caf%C3%A9/'
    >>> ascii_uri("https://ß.example/")
    'https://xn--zca.example/'
    >>> ascii_uri("https://a.example/x%20y?q=ü#t")
    'https://a.example/x%20y?q=%C3%BC#t'
    """
    if url.isascii() and url.isprintable() and " " not in url and not _LONE_PERCENT.search(url):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.hostname and not parts.hostname.isascii():
        user, at, hostport = netloc.rpartition("@")
        host, colon, port = hostport, "", ""
        if not hostport.startswith("[") and ":" in hostport:
            host, colon, port = hostport.rpartition(":")
        try:  # UTS #46, as browsers map it (ß stays ß: xn--zca, not "ss")
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):  # not a name IDNA takes: percent-encoded
            host = quote(host, safe="")
        netloc = f"{_escaped(user)}{at}{host}{colon}{port}"
    return urlunsplit(
        (
            parts.scheme,
            _escaped(netloc),
            _escaped(parts.path),
            _escaped(parts.query),
            _escaped(parts.fragment),
        )
    )


def _escaped(part: str) -> str:
    return _LONE_PERCENT.sub("%25", quote(part, safe=_URI_KEEP))


def page_show(shows: Iterable[str], known: Container[str]) -> str | None:
    """The show whose folder holds an episode's web page (`episode_page_url`'s `show_id`): of its
    `shows` (the home show first, then those it is cross-posted to), the first the network still
    has (`known`); None: none, and then it has no page.

    >>> page_show(["gone", "itsmwp", "anz"], {"itsmwp", "anz"})
    'itsmwp'
    """
    return next((show for show in shows if show in known), None)


def site_asset_key(name: str, sha256: str, suffix: str) -> str:
    """The website's stylesheet or script (`name` "site") or icon ("icon"), content-addressed."""
    return f"assets/{name}-{sha256[:HASH_CHARS]}{suffix}"


def show_folder_url(network, show_id: str) -> str:
    """A show's folder under the base URL: its website when network.toml names no `link`."""
    return public_url(network.settings.base_url, f"{show_id}/")


# --- a folder store: where it lies, and that it stays apart from the network's own files ---------

#: The network folder's own folders: the producers' files, the templates, and build/ (processed
#: episodes, previews, caches). No folder store (storage, state) may overlap them.
NETWORK_FOLDERS = ("episodes", "templates", "build")


def folder_store_problem(url: str, folder: str, root: Path, *, state: bool = False) -> str | None:
    """Why a folder store (`state`: the publisher's state) named `url`, at `folder`, must not be
    used with the network under `root`, or None: it is or holds the network folder, or it is,
    lies in or holds one of the network's own folders (symlinks resolved). A folder beside them
    (``file://public``) is fine. Paths are compared, and folders by identity (device and inode)
    too: on a case-insensitive file system ``file://Build`` is build/, and so is a bind mount."""
    where, network = os.path.realpath(folder), os.path.realpath(root)
    relation = _relation(where, network, _within)
    if relation is None:
        relation = _relation(where, network, _within_by_identity)
        if relation is None:
            return None
        relation += " (the same folder under another name)"
    elif where != folder:  # through a symlink: say where it leads
        inside = _within(where, network) and where != network
        relation += f" (it leads to {os.path.relpath(where, network) if inside else where})"
    if state:
        return (
            f"{url} {relation}; keep the publisher's state in a folder of its own "
            "(e.g. file://public.state), apart from the network's files"
        )
    return (
        f"{url} {relation}; publish to a folder of its own (e.g. file://public): listeners would "
        "read masters, drafts and scheduled episodes, and published pages would overwrite the "
        "network's files"
    )


def _relation(where: str, network: str, within) -> str | None:
    """How the folder `where` overlaps the network folder or its own folders, by `within`."""
    if within(network, where):
        same = within(where, network)
        return "is the network folder" if same else "holds the network folder"
    for name in NETWORK_FOLDERS:
        own = os.path.realpath(os.path.join(network, name))
        if within(where, own):
            return f"{'is' if within(own, where) else 'lies in'} the network's {name}/ folder"
        if within(own, where):
            return f"holds the network's {name}/ folder"
    return None


def _within(path: str, folder: str) -> bool:
    """`path` is `folder` or lies inside it (both resolved)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _within_by_identity(path: str, folder: str) -> bool:
    """`path`, or the nearest of its folders that exists, is `folder` or lies inside it, by the
    folders' identity (device, inode) rather than their names; False when `folder` is not there."""
    try:
        target = os.stat(folder)
    except OSError:
        return False
    current = path
    while True:
        try:
            here = os.stat(current)
        except OSError:
            here = None
        if here is not None and (here.st_dev, here.st_ino) == (target.st_dev, target.st_ino):
            return True
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent
