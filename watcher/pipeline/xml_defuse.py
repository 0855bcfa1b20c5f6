"""Defusing XML feed documents before an XML parser sees them. Bytes in, bytes out.

Owns transcoding UTF-16/32 documents to UTF-8 (with a matching declaration, so the
prolog scanner sees ASCII-compatible bytes) and removing DOCTYPE declarations, and with
them every entity declaration, from the prolog: internal entities are how billion-laughs
and quadratic-blowup documents expand a small feed into gigabytes.

Does not own: parsing the feed (`pipeline.parse`, via feedparser), gzip inflation limits
(`pipeline.parse`), or fetching (`pipeline.fetch`).
"""

from __future__ import annotations

import codecs
import re

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WIDE_PREFIXES = (
    (b"<\x00\x00\x00", "utf-32-le"), (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"),
)
_XML_DECL_ENCODING = re.compile(rb"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])[^\"']*\2")


def to_ascii_compatible(body: bytes) -> bytes:
    """UTF-16/32 documents → UTF-8 with a matching declaration; others unchanged.

    The DOCTYPE scanner works on ASCII-compatible bytes; a wide encoding would hide
    a hostile DOCTYPE from it.
    """
    encoding = wide_encoding(body)
    if encoding is None:
        return body
    text = body.decode(encoding, errors="replace").lstrip("\ufeff")
    data = text.encode("utf-8")
    return _XML_DECL_ENCODING.sub(rb"\1\2utf-8\2", data, count=1)


def wide_encoding(body: bytes) -> str | None:
    for bom, name in _BOMS:  # UTF-32 BOMs first: UTF-32-LE starts with the UTF-16-LE BOM
        if body.startswith(bom):
            return name
    for prefix, name in _WIDE_PREFIXES:
        if body.startswith(prefix):
            return name
    return None


def strip_doctype(body: bytes) -> bytes:
    """Remove DOCTYPE declarations (and with them every entity declaration) from the prolog.

    Internal entities are how billion-laughs and quadratic-blowup documents make a
    small feed expand into gigabytes; feeds never need them. The prolog is walked by a
    linear scanner (comments and processing instructions skipped, so a comment that
    mentions "<!DOCTYPE" is left alone), not a regex a hostile prolog could make slow.
    """
    kept: list[bytes] = []
    i, n = 0, len(body)
    while i < n:
        if body.startswith(b"\xef\xbb\xbf", i):
            j = i + 3
        elif ws := _PROLOG_SPACE.match(body, i):
            j = ws.end()
        elif body.startswith(b"<?", i):
            j = _after(body, b"?>", i + 2)
        elif body.startswith(b"<!--", i):
            j = _after(body, b"-->", i + 4)
        elif body[i : i + 9].upper() == b"<!DOCTYPE":
            i = _end_of_doctype(body, i)
            continue  # dropped
        else:
            break  # the root element (or garbage): the prolog is over
        kept.append(body[i:j])
        i = j
    return b"".join(kept) + body[i:]


_PROLOG_SPACE = re.compile(rb"[ \t\r\n]+")


def _after(body: bytes, token: bytes, start: int) -> int:
    end = body.find(token, start)
    return len(body) if end < 0 else end + len(token)


def _end_of_doctype(body: bytes, start: int) -> int:
    quote: int | None = None
    in_subset = False
    i, n = start + 9, len(body)
    while i < n:
        c = body[i]
        if quote is not None:
            quote = None if c == quote else quote
        elif in_subset and body.startswith(b"<!--", i):
            end = body.find(b"-->", i + 4)
            i = n if end < 0 else end + 2
        elif c in (0x22, 0x27):  # " '
            quote = c
        elif c == 0x5B:  # [
            in_subset = True
        elif c == 0x5D:  # ]
            in_subset = False
        elif c == 0x3E and not in_subset:  # >
            return i + 1
        i += 1
    return n
