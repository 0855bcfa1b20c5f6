"""Parsing feed documents: bytes in, `Entry` records out. No network, no clock.

Owns: RSS 0.9x/1.0/2.0 and Atom via feedparser (always handed bytes in a `BytesIO`,
never a string or URL, which it could treat as a local path, and only after the document
is defused by `pipeline.xml_defuse`), gzip documents saved as-is (inflation capped), JSON
Feed 1.0/1.1 read here with `json`, and turning each item into an `Entry`: title and body
as plain text (via `pipeline.html_text`), links made absolute and limited to http(s),
dates as UTC, language from the entry, the feed or the caller's default; and what the
document says about how often to poll it (RSS `<ttl>`).

Does not own: removing DOCTYPEs and transcoding wide encodings (`pipeline.xml_defuse`),
HTML to plain text (`pipeline.html_text`), fetching (`pipeline.fetch`), deduplication
across polls (storage uses `Entry.key`), deciding relevance (`pipeline.match`), guessing
languages from text, or deciding when to poll (`pipeline.health`).
"""

from __future__ import annotations

import calendar
import io
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import feedparser

from watcher.exceptions import ParseError
from watcher.pipeline.html_text import collapse_whitespace, html_to_text
from watcher.pipeline.xml_defuse import strip_doctype, to_ascii_compatible, wide_encoding
from watcher.types import Entry

# Feeds that put "1 Jan 1970" in every item mean "no date"; treating it as a date would
# order their figures before everything else ever seen.
_EPOCH_PLACEHOLDER = datetime(1970, 1, 2, tzinfo=UTC)
MAX_INFLATED = 32 * 1024 * 1024  # gzip-compressed documents may not inflate past this


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    entries: tuple[Entry, ...]
    warning: str | None  # why feedparser found the feed malformed, when it was still readable
    ttl: float | None = None  # seconds the document asks between polls (RSS <ttl>)


def parse_feed(body: bytes, feed_id: str, *, headers: Mapping[str, str] | None = None,
               base_url: str | None = None, default_lang: str | None = None) -> ParsedFeed:
    """Read an RSS/Atom/JSON Feed document; ParseError only when nothing can be read."""
    if body[:2] == b"\x1f\x8b":  # a gzip file saved as-is (file:// feeds, archives)
        body = _gunzip(body, feed_id)
    if not body or not body.strip():
        raise ParseError(f"feed {feed_id}: the document is empty")
    if _looks_like_json(body):
        return _parse_json_feed(body, feed_id, base_url, default_lang)
    return _parse_xml_feed(body, feed_id, headers or {}, base_url, default_lang)


def _gunzip(body: bytes, feed_id: str) -> bytes:
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, MAX_INFLATED + 1)
    except zlib.error as e:
        raise ParseError(f"feed {feed_id}: corrupt gzip data ({e})") from e
    if len(data) > MAX_INFLATED:
        raise ParseError(f"feed {feed_id}: gzip data inflates past {MAX_INFLATED} bytes")
    return data


# -- XML feeds ------------------------------------------------------------------------------
def _parse_xml_feed(body: bytes, feed_id: str, headers: Mapping[str, str],
                    base_url: str | None, default_lang: str | None) -> ParsedFeed:
    base_url = _web_base(base_url)
    data = strip_doctype(to_ascii_compatible(body))
    transcoded = wide_encoding(body) is not None
    # We reduce all markup to plain text ourselves (script/style dropped), so feedparser's
    # sanitizer and relative-URI rewriting inside content would only cost time (~40%).
    result = feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False,
                              response_headers=_feedparser_headers(headers, base_url, transcoded))
    if not result.entries and not result.get("version"):
        reason = _bozo_reason(result) or "no RSS, Atom or JSON Feed structure found"
        raise ParseError(f"feed {feed_id}: not a readable feed ({reason})")
    feed = result.get("feed", {})
    base = base_url or feed.get("link")
    feed_lang = _lang(feed.get("language"))
    entries = _entries(feed_id, (_xml_item(e, base, feed_lang or default_lang)
                                 for e in result.entries))
    title = _plain_or_none(feed.get("title"))
    return ParsedFeed(title=title, entries=entries, warning=_bozo_reason(result),
                      ttl=feed_ttl(feed))


def feed_ttl(feed: Mapping[str, Any]) -> float | None:
    """Seconds a feed asks between polls, from feedparser's `feed`: RSS 2.0 `<ttl>`
    (minutes). None when it says nothing usable (absent, zero, negative, not a number).
    The syndication module's `sy:updatePeriod` is not read: WordPress writes "hourly"
    into every feed whatever the site publishes, so it says nothing about the feed."""
    minutes = _positive(feed.get("ttl"))
    return None if minutes is None else minutes * 60


def _positive(value: object) -> float | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if 0 < number < float("inf") else None


def _feedparser_headers(headers: Mapping[str, str], base_url: str | None,
                        transcoded: bool) -> dict[str, str]:
    out = {k.lower(): v for k, v in headers.items()}
    if transcoded or "content-type" not in out:
        # application/xml without a charset lets the XML declaration decide (RFC 7303);
        # no header at all would make feedparser flag every file:// feed as malformed.
        out["content-type"] = "application/xml"
    if base_url and "content-location" not in out:
        out["content-location"] = base_url  # feedparser resolves relative links against it
    return out


def _bozo_reason(result: Any) -> str | None:
    if not result.get("bozo"):
        return None
    exc = result.get("bozo_exception")
    text = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass(frozen=True)
class _Item:
    """One item's raw fields, whichever format it came from."""

    guid: str | None
    link: str | None
    title: str
    bodies: tuple[tuple[str, bool], ...]  # (text, is_html)
    published: datetime | None
    lang: str | None


def _xml_item(e: Any, base: str | None, lang: str | None) -> _Item:
    bodies = [(c.get("value", ""), _is_html(c.get("type"))) for c in e.get("content", [])]
    detail = e.get("summary_detail") or {}
    if e.get("summary"):
        bodies.append((e["summary"], _is_html(detail.get("type"))))
    entry_lang = _lang(detail.get("language")) or _lang(
        (e.get("content") or [{}])[0].get("language"))
    return _Item(
        guid=_clean_id(e.get("id")),
        link=normalize_link(e.get("link"), base),
        title=html_to_text(e.get("title", "")),
        bodies=tuple(bodies),
        published=_struct_time(e.get("published_parsed") or e.get("updated_parsed")),
        lang=entry_lang or lang,
    )


def _is_html(content_type: str | None) -> bool:
    return content_type is None or "html" in content_type


def _struct_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:  # feedparser's struct_time is already UTC
        moment = datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None
    return None if moment < _EPOCH_PLACEHOLDER else moment


# -- JSON Feed --------------------------------------------------------------------------
def _looks_like_json(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _parse_json_feed(body: bytes, feed_id: str, base_url: str | None,
                     default_lang: str | None) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ParseError(f"feed {feed_id}: invalid JSON Feed ({e})") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
        raise ParseError(f"feed {feed_id}: JSON document is not a JSON Feed (no \"items\" list)")
    base = _web_base(base_url) or _str(doc.get("home_page_url")) or _str(doc.get("feed_url"))
    lang = _lang(_str(doc.get("language"))) or default_lang
    items = (_json_item(i, base, lang) for i in doc["items"] if isinstance(i, dict))
    warning = None if str(doc.get("version", "")).startswith("https://jsonfeed.org/") else \
        "JSON Feed without a jsonfeed.org version"
    return ParsedFeed(title=_plain_or_none(_str(doc.get("title"))),
                      entries=_entries(feed_id, items), warning=warning)


def _json_item(item: dict[str, Any], base: str | None, lang: str | None) -> _Item:
    bodies = [(_str(item.get("content_html")), True), (_str(item.get("content_text")), False),
              (_str(item.get("summary")), True)]
    raw_id = item.get("id")
    return _Item(
        guid=_clean_id(str(raw_id) if isinstance(raw_id, (str, int)) else None),
        link=normalize_link(_str(item.get("url")) or _str(item.get("external_url")), base),
        title=html_to_text(_str(item.get("title"))),
        bodies=tuple(b for b in bodies if b[0]),
        published=_iso_date(_str(item.get("date_published")) or _str(item.get("date_modified"))),
        lang=_lang(_str(item.get("language"))) or lang,
    )


def _iso_date(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:  # JSON Feed requires an offset; assume UTC when missing
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return None if moment < _EPOCH_PLACEHOLDER else moment


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


# -- items → entries ----------------------------------------------------------------------
def _entries(feed_id: str, items: Iterable[_Item]) -> tuple[Entry, ...]:
    out = []
    for item in items:
        text = _best_text(item.bodies)
        if not (item.title or text or item.link or item.guid):
            continue  # an empty <item/> carries nothing to keep
        out.append(Entry(feed_id=feed_id, guid=item.guid, link=item.link, title=item.title,
                         text=text, published=item.published, lang=item.lang))
    return tuple(out)


def _best_text(bodies: tuple[tuple[str, bool], ...]) -> str:
    """The longest of content/summary as plain text: full text beats a teaser."""
    texts = [html_to_text(value) if is_html else collapse_whitespace(value)
             for value, is_html in bodies]
    return max(texts, key=len, default="")


def _clean_id(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _lang(value: str | None) -> str | None:
    """'en-US' → 'en'; the extractor's vocabularies are per primary language."""
    if not value:
        return None
    primary = re.split(r"[-_\s]", value.strip(), maxsplit=1)[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def _plain_or_none(value: str | None) -> str | None:
    return html_to_text(value) or None if value else None


def _web_base(url: str | None) -> str | None:
    """Only an http(s) address can anchor relative links; a file:// feed uses its own <link>."""
    return url if url and urlsplit(url).scheme.lower() in ("http", "https") else None


def normalize_link(link: str | None, base: str | None) -> str | None:
    """Absolute http(s) URL with lower-case scheme and host, or None (javascript:, data:…)."""
    link = (link or "").strip()
    if not link:
        return None
    try:
        parts = urlsplit(urljoin(base, link) if base else link)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    netloc = parts.netloc.rsplit("@", 1)
    host = netloc[-1].lower()
    netloc_out = f"{netloc[0]}@{host}" if len(netloc) == 2 else host
    return urlunsplit((parts.scheme.lower(), netloc_out, parts.path or "/", parts.query,
                       parts.fragment))
