"""Main text of an article page, for feeds with `full_text: true`. Pure: HTML in, text out.

Owns: choosing the article's own text on a web page (trafilatura, which drops menus,
footers, cookie banners and related-article lists), with a small fallback when
trafilatura is unavailable or finds nothing: the longest run of paragraphs under one
parent (the readability idea), else the page's whole visible text.

Does not own: fetching the page (`pipeline.fetch`, with the same limits and the SSRF
guard) or deciding which entries get their page fetched (the orchestrator).
"""

from __future__ import annotations

import logging
from html.parser import HTMLParser

from watcher.pipeline.html_text import collapse_whitespace, html_to_text

log = logging.getLogger("watcher.fulltext")

MIN_TEXT = 200  # characters: less than this is a teaser, a paywall or an error page
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "nav", "header",
                   "footer", "aside", "form", "iframe"})


def decode_page(body: bytes, content_type: str | None) -> str:
    """Bytes → text using the header's charset, else <meta charset>, else UTF-8."""
    charset = _charset(content_type or "") or _meta_charset(body[:4096]) or "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


def extract_main_text(html: str, url: str | None = None) -> str:
    """The article's main text ('' when the page has none worth keeping)."""
    text = _trafilatura(html, url)
    if len(text) < MIN_TEXT:
        text = max(text, paragraphs_text(html), key=len)
    return text if len(text) >= MIN_TEXT else ""


def _trafilatura(html: str, url: str | None) -> str:
    try:
        import trafilatura
    except ImportError:  # optional at run time: the fallback below still works
        return ""
    try:
        text = trafilatura.extract(html, url=url, include_comments=False, include_tables=False,
                                   favor_precision=True)
    except Exception as e:
        log.info("trafilatura failed on %s: %s", url, type(e).__name__)
        return ""
    return collapse_whitespace(text or "")


class _Paragraphs(HTMLParser):
    """Collects <p> texts grouped by their parent element's position in the document."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[int] = []  # ids of open elements
        self.next_id = 0
        self.skipping = 0
        self.current: list[str] | None = None
        self.current_parent = -1
        self.groups: dict[int, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        if tag == "p" and not self.skipping:
            self.current, self.current_parent = [], self.stack[-1] if self.stack else -1
        if tag not in ("p", "br", "img", "hr", "meta", "link", "input"):
            self.stack.append(self.next_id)
            self.next_id += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        if tag == "p" and self.current is not None:
            self.groups.setdefault(self.current_parent, []).append(" ".join(self.current))
            self.current = None
        elif tag not in ("p", "br", "img", "hr", "meta", "link", "input") and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.current is not None and not self.skipping:
            self.current.append(data)


def paragraphs_text(html: str) -> str:
    """The biggest group of sibling paragraphs, one per line; else all visible text."""
    parser = _Paragraphs()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):
        pass
    if parser.current is not None:
        parser.groups.setdefault(parser.current_parent, []).append(" ".join(parser.current))
    groups = [[collapse_whitespace(p) for p in g] for g in parser.groups.values()]
    best = max(groups, key=lambda g: sum(map(len, g)), default=[])
    text = "\n".join(p for p in best if p)
    return text if len(text) >= MIN_TEXT else html_to_text(html)


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value.strip(" \"'"):
            return value.strip(" \"'")
    return None


def _meta_charset(head: bytes) -> str | None:
    lowered = head.lower()
    at = lowered.find(b"charset=")
    if at < 0:
        return None
    value = lowered[at + 8 : at + 40].lstrip(b"\"' ")
    end = next((i for i, c in enumerate(value) if c in b"\"' ;/>"), len(value))
    return value[:end].decode("ascii", errors="ignore") or None
