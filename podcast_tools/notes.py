"""Show notes: Markdown → sanitised HTML → the network's Jinja2 templates; chapters JSON.

Templates are looked up per show: ``templates/<show>/``, then along the show's ``extends`` chain,
then ``templates/``, then the built-in ones shipped with the package. HTML and Markdown templates
autoescape (entities are valid Markdown); the page embeds the sanitised HTML of the notes, so raw
HTML in an episode never reaches a web page either.
The Markdown body is rendered with markdown-it-py and cleaned with nh3 to the tags podcast apps
accept; scripts, styles, event handlers and ``javascript:`` links never survive.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jinja2
import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

from podcast_tools.artifacts import transcript_source
from podcast_tools.content import Episode, Network
from podcast_tools.content.models import XML_CONTROL
from podcast_tools.content.timecode import format_timecode
from podcast_tools.errors import PodcastToolsError, Problem
from podcast_tools.fsutil import write_bytes_atomic, write_text_atomic

#: What Apple Podcasts and the common apps render in show notes.
ALLOWED_TAGS = frozenset(
    {
        "p",
        "br",
        "a",
        "strong",
        "b",
        "em",
        "i",
        "u",
        "ul",
        "ol",
        "li",
        "code",
        "pre",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "hr",
    }
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
TEMPLATE_NAMES = {"html": "episode.html.j2", "text": "episode.txt.j2", "page": "episode.md.j2"}
_BLOCK_END = re.compile(r"</(p|li|h[1-4]|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)


class NotesError(PodcastToolsError):
    """A template could not be rendered."""


@dataclass(frozen=True)
class ChapterNote:
    start_s: float
    title: str
    url: str | None = None
    image_url: str | None = None  # where publishing puts the chapter's image

    @property
    def time(self) -> str:
        return format_timecode(self.start_s, millis=False)


@dataclass(frozen=True)
class RenderedNotes:
    html: str  # description / content:encoded
    text: str  # summary: itunes:summary, ID3 comment
    page: str  # the web page (Markdown)
    chapters_json: str | None


def strip_control(text: str) -> str:
    """Remove characters XML cannot carry."""
    return XML_CONTROL.sub("", text)


def markdown_to_html(markdown: str) -> str:
    """Render Markdown and keep only the allowed tags, attributes and URL schemes."""
    renderer = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    rendered = renderer.render(strip_control(markdown))
    return sanitise(rendered)


def sanitise(fragment: str) -> str:
    return nh3.clean(
        strip_control(fragment),
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener",
        strip_comments=True,
    ).strip()


#: The tags Apple lists for an item's <description> (Apple Podcasts' RSS requirements); the
#: richer HTML stays in content:encoded.
APPLE_DESCRIPTION_TAGS = frozenset({"p", "ol", "ul", "li", "a"})
_BLOCKS_AS_PARAGRAPHS = re.compile(r"<(/?)(?:h[1-6]|blockquote|pre)>")
_EMPTY_PARAGRAPH = re.compile(r"<p>\s*</p>")


def apple_description(fragment: str) -> str:
    """A sanitised fragment reduced to Apple's description tags: headings, quotes and code
    blocks become paragraphs, inline markup keeps its text.

    >>> apple_description("<h2>Links</h2><p><strong>Bold</strong> <a href='https://x.org/'>x</a></p>")
    '<p>Links</p><p>Bold <a href="https://x.org/" rel="noopener">x</a></p>'
    """
    blocks = _BLOCKS_AS_PARAGRAPHS.sub(r"<\1p>", fragment)
    cleaned = nh3.clean(
        strip_control(blocks),
        tags=set(APPLE_DESCRIPTION_TAGS),
        attributes={"a": {"href"}},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener",
        strip_comments=True,
    )
    return _EMPTY_PARAGRAPH.sub("", cleaned).strip()


def html_to_text(fragment: str) -> str:
    """Plain text of a sanitised HTML fragment: one line per paragraph or list item."""
    with_breaks = _BLOCK_END.sub("\n", fragment)
    bare = nh3.clean(with_breaks, tags=set())
    lines = [" ".join(html.unescape(line).split()) for line in bare.splitlines()]
    return "\n".join(line for line in lines if line)


def template_environment(network: Network, show_id: str | None) -> jinja2.Environment:
    """Templates for a show: its own folder, its parents', the network's, the built-in ones
    (`show_id` None: the network's and the built-in ones, for pages of the whole network).
    A name may have folders (``site/episode.html.j2``): each folder of the chain is searched."""
    folders: list[Path] = []
    current = show_id
    while current is not None:
        folders.append(network.templates_dir / current)
        current = network.shows[current].extends
    folders.append(network.templates_dir)
    present = tuple(
        (str(folder), tuple(sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))))
        for folder in folders
        if folder.is_dir()
    )
    return _environment(present)


@functools.lru_cache(maxsize=64)
def _environment(folders: tuple[tuple[str, tuple[str, ...]], ...]) -> jinja2.Environment:
    """One environment per chain of template folders and the files they hold: templates are
    compiled once per process (Jinja reloads one whose file changed; a template added or removed
    makes another chain)."""
    loaders: list[jinja2.BaseLoader] = [
        jinja2.FileSystemLoader(folder) for folder, _files in folders
    ]
    loaders.append(jinja2.PackageLoader("podcast_tools", "templates"))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2", "md.j2", "html", "xml"), default=False
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_notes(network: Network, episode: Episode, chapters: list[ChapterNote]) -> RenderedNotes:
    """Render the three show-notes forms and the chapters JSON for `episode`."""
    show = network.shows[episode.show]
    notes_html = markdown_to_html(episode.notes)
    context = {
        "episode": episode,
        "show": show,
        "network": network.settings,
        "notes_html": Markup(notes_html),
        "notes_text": html_to_text(notes_html),
        "chapters": chapters,
        "persons": episode.persons,
    }
    environment = template_environment(network, episode.show)
    rendered = {}
    for kind, name in TEMPLATE_NAMES.items():
        try:
            rendered[kind] = environment.get_template(name).render(**context).strip() + "\n"
        except jinja2.TemplateError as exc:
            where = getattr(exc, "filename", None) or name
            line = getattr(exc, "lineno", None)
            raise NotesError(f"{where}{f':{line}' if line else ''}: {exc.message or exc}") from exc
    return RenderedNotes(
        html=sanitise(rendered["html"]),
        text=strip_control(rendered["text"]).strip(),
        page=strip_control(rendered["page"]),
        chapters_json=chapters_json(episode, chapters) if chapters else None,
    )


def chapter_notes(
    episode: Episode, starts: list[float], image_urls: list[str | None]
) -> list[ChapterNote]:
    """The episode's chapters at `starts` (seconds as heard, one per chapter), each with its
    link and the public URL its image is published at (`podcast_tools.record` names both)."""
    return [
        ChapterNote(start, chapter.title, chapter.url, image_url)
        for start, chapter, image_url in zip(starts, episode.chapters, image_urls)
    ]


#: Feeds carry at most this many bytes of show notes (Apple's limit for description).
NOTES_LIMIT = 4000
#: Markdown longer than this cannot render within the limit; it is refused before rendering.
_MARKDOWN_LIMIT = 64 * 1024


def notes_size_problem(
    network: Network,
    episode: Episode,
    chapters: list[ChapterNote],
    render: Callable[[], RenderedNotes] | None = None,
) -> Problem | None:
    """A problem when the episode's rendered notes (with `chapters`, as heard when known) exceed
    what a feed carries (`render`: the notes as the caller renders them, e.g. once per publish
    run; asked only when the Markdown is within the limit)."""
    file = network.display(episode.path)
    markdown = len(episode.notes.encode())
    if markdown > _MARKDOWN_LIMIT:
        return Problem(
            file,
            "notes",
            f"the show notes are {markdown} bytes of Markdown; feeds allow {NOTES_LIMIT} bytes "
            "of HTML: shorten them",
        )
    notes = render() if render is not None else render_notes(network, episode, chapters)
    return rendered_size_problem(file, notes.html)


def rendered_size_problem(file: str, html: str) -> Problem | None:
    """The one rule for the size of rendered notes (`html`, what a feed item carries)."""
    size = len(html.encode())
    if size > NOTES_LIMIT:
        return Problem(
            file,
            "notes",
            f"the rendered show notes are {size} bytes; feeds allow {NOTES_LIMIT}: shorten them",
        )
    return None


def chapters_json(episode: Episode, chapters: list[ChapterNote]) -> str:
    """Podcasting 2.0 JSON chapters (version 1.2.0)."""
    entries = []
    for chapter in chapters:
        entry: dict = {"startTime": round(chapter.start_s, 3), "title": chapter.title}
        if chapter.image_url:
            entry["img"] = chapter.image_url
        if chapter.url:
            entry["url"] = chapter.url
        entries.append(entry)
    document = {"version": "1.2.0", "title": episode.title, "chapters": entries}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class NotesFiles:
    html: Path
    text: Path
    page: Path
    chapters: Path | None
    transcript: Path | None


def write_notes(
    network: Network, episode: Episode, chapters: list[ChapterNote], out_dir: Path
) -> NotesFiles:
    """Render and write the notes beside the episode's MP3 (atomic writes); copy the transcript."""
    notes = render_notes(network, episode, chapters)
    stem = out_dir / episode.slug
    files = NotesFiles(
        html=stem.with_suffix(".html"),
        text=stem.with_suffix(".txt"),
        page=stem.with_suffix(".md"),
        chapters=out_dir / f"{episode.slug}.chapters.json" if notes.chapters_json else None,
        transcript=None,
    )
    write_text_atomic(files.html, notes.html)
    write_text_atomic(files.text, notes.text + "\n")
    write_text_atomic(files.page, notes.page)
    if files.chapters is not None and notes.chapters_json is not None:
        write_text_atomic(files.chapters, notes.chapters_json)
    source = transcript_source(episode)  # the episode's own: a derived one is in out_dir already
    if source is not None and source.path is not None:
        target = out_dir / f"{episode.slug}.transcript{source.suffix}"
        write_bytes_atomic(target, source.path.read_bytes())
        files = NotesFiles(files.html, files.text, files.page, files.chapters, target)
    return files
