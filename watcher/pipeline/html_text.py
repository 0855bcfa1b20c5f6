"""HTML to plain text: an HTML fragment in, readable plain text out. No network, no clock.

Owns `html_to_text` (tags dropped, entities decoded, script/style/svg… skipped, block
elements such as p, li, br and h1 ending a line) and `collapse_whitespace` (runs of spaces
made one space, runs of line breaks one line break).

Does not own: reading feeds (`pipeline.parse`), finding an article's main text in a full
web page (`pipeline.fulltext`), or escaping text for display (`pipeline.digest`).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
    "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg"})


class _TextExtractor(HTMLParser):
    """Collects text; block boundaries become line breaks so sentences stay apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed.

    Block elements (p, li, br, h1…) end a line, so "<p>One</p><p>Two</p>" reads
    "One\\nTwo", not "OneTwo"; inside a line runs of whitespace become one space.
    """
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return collapse_whitespace(markup)
    parser = _TextExtractor()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):  # malformed markup deep in html.parser
        pass
    return collapse_whitespace("".join(parser.parts))


_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r"\s*\n\s*")


def collapse_whitespace(text: str) -> str:
    """Runs of spaces/tabs → one space; runs of line breaks (with blanks) → one '\\n'."""
    text = text.replace("\r", "\n").replace("\u00a0", " ")
    text = _SPACES.sub(" ", text)
    return _NEWLINES.sub("\n", text).strip()
