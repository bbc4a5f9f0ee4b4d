"""Lesson markdown: rendered once at import or edit time, sanitized, and cut into search chunks."""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

_TAGS = {
    "a", "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "img", "del",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"style"}, "td": {"style"}}


def render(markdown: str) -> str:
    """Markdown to safe HTML: raw HTML is escaped by the parser and the result is sanitized again."""
    html = _md.render(markdown)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        filter_style_properties={"text-align"},
    )


def plain_text(markdown: str) -> str:
    """Readable text for search and snippets: markdown syntax removed, whitespace collapsed."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^\s*\|?\s*:?-{3,}.*$", " ", text, flags=re.M)
    text = re.sub(r"[*_`#>|]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Chunk:
    heading: str
    text: str


def chunks(markdown: str, *, max_words: int = 220) -> list[Chunk]:
    """Cut a lesson at its `##` sections, then split long sections by paragraph.

    Chunks of a couple of hundred words rank well in full-text search and fit a coach prompt.
    """
    sections: list[tuple[str, str]] = []
    heading, lines = "", list[str]()
    for line in markdown.splitlines():
        match = re.match(r"^#{1,3}\s+(.*)$", line)
        if match:
            if "".join(lines).strip():
                sections.append((heading, "\n".join(lines)))
            heading, lines = match.group(1).strip(), []
        else:
            lines.append(line)
    if "".join(lines).strip():
        sections.append((heading, "\n".join(lines)))
    result: list[Chunk] = []
    for heading, body in sections:
        words: list[str] = []
        for paragraph in re.split(r"\n\s*\n", body):
            paragraph_words = plain_text(paragraph).split()
            if words and len(words) + len(paragraph_words) > max_words:
                result.append(Chunk(heading, " ".join(words)))
                words = []
            words.extend(paragraph_words)
        if words:
            result.append(Chunk(heading, " ".join(words)))
    return result
