"""Show notes from a host's HTML to Markdown the notes renderer turns back into the same text.

Links, lists, emphasis, headings, quotes and code stay; scripts, styles, frames and images go
(images in notes are not shown by podcast apps, and the sanitiser drops them anyway). Text
without any tag (some hosts write plain text with line breaks) keeps its paragraphs and lines.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml import html as lxml_html

_DROPPED = frozenset(
    {"script", "style", "iframe", "object", "embed", "noscript", "head", "title", "img",
     "video", "audio", "source", "form", "input", "button", "svg", "math", "template"}
)  # fmt: skip
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "table", "tr", "figure", "dl", "dd"}
)
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_TAG = re.compile(r"<[a-zA-Z/!][^>]*>")
_SPECIAL = re.compile(r"([\\`*_\[\]<>])")
_LINE_START = re.compile(r"^(\s*)([#+\-=>]|\d+[.)])(?=\s|$)")
#: A line of only "-" or "=" would be a thematic break or a heading's underline.
_RULE_LINE = re.compile(r"^(\s*)([-=])(?=[-=\s]*$)")
_EDGE_BREAKS = re.compile(r"^(?:\s*\\(?:\n|$))+|(?<!\\)(?:\\\n?\s*)+$")


def html_to_markdown(fragment: str) -> str:
    """Markdown for an HTML fragment (or plain text).

    >>> html_to_markdown('<p>Hi <b>there</b>, see <a href="https://x.org/">x</a>.</p><ul><li>one</li><li>two</li></ul>')
    'Hi **there**, see [x](https://x.org/).\\n\\n- one\\n- two\\n'
    >>> html_to_markdown("Line one\\nLine two\\n\\nNew paragraph with *stars*")
    'Line one\\\\\\nLine two\\n\\nNew paragraph with \\\\*stars\\\\*\\n'
    """
    if not fragment.strip():
        return ""
    if not _TAG.search(fragment):
        return _plain_text(fragment)
    try:
        root = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return _plain_text(fragment)
    text = _blocks(_children_markdown(root))
    return text + "\n" if text else ""


def escaped_line(text: str) -> str:
    """One line of plain text as Markdown that renders as that text (`# 1`, `---`, `*x*` are
    no heading, rule or emphasis).

    >>> escaped_line("# 1")
    '\\\\# 1'
    """
    return _escape(" ".join(text.split()))


def _plain_text(text: str) -> str:
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    rendered = []
    for paragraph in paragraphs:
        lines = [_escape(" ".join(line.split())) for line in paragraph.splitlines()]
        rendered.append("\\\n".join(line for line in lines if line))
    return "\n\n".join(p for p in rendered if p) + "\n"


def _escape(text: str) -> str:
    escaped = _SPECIAL.sub(r"\\\1", text)
    escaped = _RULE_LINE.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), escaped)


def _blocks(text: str) -> str:
    """Tidy assembled Markdown: no spaces at line ends or starts of paragraphs, one blank line
    between blocks."""
    lines = [line.rstrip() for line in text.split("\n")]
    tidy = "\n".join(lines)
    tidy = re.sub(r"\n{3,}", "\n\n", tidy)
    return tidy.strip("\n")


def _children_markdown(element) -> str:
    parts = [_inline_text(element.text)]
    for child in element:
        parts.append(_element_markdown(child))
        parts.append(_inline_text(child.tail))
    return "".join(parts)


def _inline_text(text: str | None) -> str:
    if not text:
        return ""
    return _escape(re.sub(r"\s+", " ", text))


def _element_markdown(element) -> str:  # noqa: C901 - one branch per tag, flat
    if not isinstance(element.tag, str):  # comments, processing instructions
        return ""
    tag = element.tag.lower()
    if tag in _DROPPED:
        return ""
    if tag == "br":
        return "\\\n"
    if tag == "hr":
        return "\n\n---\n\n"
    if tag in ("ul", "ol"):
        return "\n\n" + _list(element, ordered=tag == "ol") + "\n\n"
    if tag == "pre":
        code = "".join(element.itertext()).strip("\n")
        fence = "````" if "```" in code else "```"
        return f"\n\n{fence}\n{code}\n{fence}\n\n"
    inner = _children_markdown(element)
    if tag in _BLOCKS:
        return f"\n\n{_paragraph(inner)}\n\n"
    if re.fullmatch(r"h[1-6]", tag):
        return f"\n\n{'#' * int(tag[1])} {' '.join(inner.split())}\n\n"
    if tag == "blockquote":
        quoted = _blocks(inner)
        return "\n\n" + "\n".join(f"> {line}".rstrip() for line in quoted.split("\n")) + "\n\n"
    if tag in ("strong", "b"):
        return _wrap(inner, "**")
    if tag in ("em", "i"):
        return _wrap(inner, "*")
    if tag == "code":
        code = "".join(element.itertext())
        return f"`{code}`" if "`" not in code else f"`` {code} ``"
    if tag == "a":
        return _link(element, inner)
    return inner  # span, font, u, small, …: their text


def _paragraph(inner: str) -> str:
    """A block's lines, without the hard breaks at its edges (a `<p><br></p>` is nothing)."""
    text = "\n".join(line.strip() for line in _blocks(inner).split("\n"))
    return _EDGE_BREAKS.sub("", text.strip()).strip()


def _wrap(inner: str, mark: str) -> str:
    stripped = inner.strip()
    if not stripped:
        return inner
    lead = " " if inner[:1].isspace() else ""
    trail = " " if inner[-1:].isspace() else ""
    return f"{lead}{mark}{stripped}{mark}{trail}"


def _link(element, inner: str) -> str:
    href = (element.get("href") or "").strip()
    text = " ".join(inner.split())
    if not href.lower().startswith(_LINK_SCHEMES):
        return inner
    target = href.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    if not text:
        return f"<{target}>"
    return f"[{text}]({target})"


def _list(element, *, ordered: bool) -> str:
    lines: list[str] = []
    number = 1
    for child in element:
        if not isinstance(child.tag, str) or child.tag.lower() != "li":
            continue
        marker = f"{number}. " if ordered else "- "
        number += 1
        body = _blocks(_children_markdown(child))
        if not any(isinstance(c.tag, str) and c.tag.lower() in _BLOCKS for c in child):
            body = re.sub(r"\n{2,}", "\n", body)  # a tight item: its nested list follows it
        body_lines = [
            line.strip() if not line.startswith(" ") else line for line in body.split("\n")
        ]
        indent = " " * len(marker)
        first, *rest = body_lines or [""]
        lines.append(marker + first.strip())
        lines.extend(indent + line if line else "" for line in rest)
    return "\n".join(lines)
