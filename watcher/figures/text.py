"""Text geometry for the extractor: sentences, clauses, words, and folding for comparison.

This module owns *where* things are in a text (offsets never change: we work on the
original string, so a claim's span points into what the user gave us). It does not
know about numbers or metrics; language knowledge comes in as a `LanguageVocab`.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from watcher.figures.vocab import LanguageVocab

# A sentence ends at . ! ? … (maybe followed by a closing quote) before whitespace and a
# capital, digit or opening quote; or at a blank line / line break.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"'»”)]*\s+(?=[\"'«“(]?[^\W_a-zа-яёіїєґ])|\n\s*", re.UNICODE)
_WORD = re.compile(r"\w+(?:['’ʼ]\w+)*")
_LAST_TOKEN = re.compile(r"(\w+(?:\.\w+)*)\.[\"'»”)]*\s*\Z")


@dataclass(frozen=True, slots=True)
class Sentence:
    start: int
    end: int


_NEAR = 400  # characters looked at first, backwards: most sentences are shorter
_REACH = 3000  # characters searched each way for a sentence's ends (longer: cut there)


def sentence_around(text: str, pos: int, vocab: LanguageVocab) -> Sentence:
    """The sentence holding offset `pos`, found without splitting the whole text."""
    hi = min(len(text), pos + _REACH)
    start = _start_before(text, pos, vocab)
    end = hi
    for m in _BOUNDARY.finditer(text, pos, hi):
        if m.group(0).startswith("\n") or not _is_abbreviation(text, pos, m, vocab):
            end = m.start()
            break
    while start < end and text[start].isspace():
        start += 1
    return Sentence(start, end)


def _start_before(text: str, pos: int, vocab: LanguageVocab) -> int:
    """Where the sentence holding `pos` starts: the last real boundary before it."""
    for reach in (_NEAR, _REACH):
        lo = max(0, pos - reach)
        found = [m for m in _BOUNDARY.finditer(text, lo, min(len(text), pos + 2))
                 if m.start() < pos]
        for m in reversed(found):  # +2 above: room for the boundary's lookahead
            if m.group(0).startswith("\n") or not _is_abbreviation(text, lo, m, vocab):
                return m.end()
        if lo == 0:
            return 0
    return max(0, pos - _REACH)


def _is_abbreviation(text: str, start: int, m: re.Match[str], vocab: LanguageVocab) -> bool:
    """True when the period before this boundary belongs to a word, not the sentence."""
    head = text[max(start, m.start() - 30):m.start() + 1]
    last = _LAST_TOKEN.search(head)
    if last is None:
        return False
    token = last.group(1).lower()
    if token in vocab.abbreviations or (len(token) == 1 and token.isalpha()):
        return True
    # "vom 1. bis 15. März": a day number followed by a month name is a date, not an end.
    return token.isdigit() and len(token) <= 2 and vocab.months.match(text, m.end()) is not None


class WordIndex:
    """Word positions of one sentence, for counting words between two offsets."""

    __slots__ = ("ends", "starts")

    def __init__(self, text: str, start: int, end: int):
        spans = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]

    def between(self, a: int, b: int) -> int:
        """Number of words lying entirely inside [a, b)."""
        if b <= a:
            return 0
        return max(0, bisect_right(self.ends, b) - bisect_left(self.starts, a))


def clause_bounds(text: str, start: int, end: int, vocab: LanguageVocab) -> list[int]:
    """Offsets where clauses start inside a sentence (first is `start`)."""
    cuts = [start]
    for m in vocab.clause_break.finditer(text, start, end):
        cuts.append(m.start())
    return cuts


def clause_of(cuts: list[int], end: int, pos: int) -> tuple[int, int]:
    """The clause [a, b) around `pos`, given the cuts of its sentence."""
    i = bisect_right(cuts, pos) - 1
    a = cuts[max(i, 0)]
    b = cuts[i + 1] if i + 1 < len(cuts) else end
    return a, b


def fold(s: str) -> str:
    """Case- and accent-insensitive form for comparing words ("Città" ~ "citta")."""
    decomposed = unicodedata.normalize("NFKD", s.casefold())
    # Keep Cyrillic й/ї (their diacritics make different letters), drop the rest.
    return "".join(c for c in decomposed if not unicodedata.combining(c) or c in "\u0306\u0308")


def words(s: str) -> list[str]:
    return _WORD.findall(s)
