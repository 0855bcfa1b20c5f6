"""How sure a figure is: the hedge before a number → exact | approx | at_least | at_most | range.

This module owns qualifier rules: a hedge applies to the number it directly precedes
("oltre 4mila"), a negation flips a bound ("no more than", "non abbiano superato"),
and a trend verb turns a bound into a destination ("зросла до 26" is exact 26).
It does not find numbers or decide what they count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from watcher.figures.vocab import LanguageVocab, fold_key, qualifier_kind

_LOOKBACK = 60  # characters: enough for "non abbiano superato i" / "no fewer than"
# a number within two words after it: the hedge opens the next figure ("9 morts et plus de 40")
_DIGIT_SOON = re.compile(r"\s*(?:[^\s\d,;:.]+\s+){0,2}\d")
_FLIP = {"at_least": "at_most", "at_most": "at_least"}


@dataclass(frozen=True, slots=True)
class Hedge:
    qualifier: str
    start: int  # where the hedged expression begins (the hedge word, or the number)


def qualify(text: str, start: int, is_range: bool, vocab: LanguageVocab, floor: int = 0,
            end: int | None = None) -> Hedge:
    """Qualifier of the number starting at `start` (and ending at `end`); `floor` bounds the
    look-back (sentence start)."""
    if is_range:
        return Hedge("range", start)
    lo = max(floor, start - _LOOKBACK)
    m = vocab.qualifier.search(text, lo, start)
    kind = qualifier_kind(vocab, m.group("cue")) if m is not None else None
    if m is None or kind is None:
        return Hedge(_after(text, end, vocab) or "exact", start)
    before = text[max(lo, m.start() - 30):m.start()]
    if kind == "at_most" and vocab.trend_before.search(before):
        return Hedge("exact", start)
    if kind in _FLIP and _negated(before, vocab):
        kind = _FLIP[kind]
    return Hedge(kind, m.start())


def _after(text: str, end: int | None, vocab: LanguageVocab) -> str | None:
    """A hedge right after the number, or after its noun ("35.000 circa", "400 человек с
    лишним", "50 people or more"), unless a number follows within two words ("9 morts et plus
    de 40")."""
    if end is None:
        return None
    m = vocab.qualifier_after.match(text, end, min(len(text), end + 40))
    if m is None or _DIGIT_SOON.match(text, m.end()):
        return None
    return vocab.qualifier_after_kind.get(fold_key(m.group("cue")))


def _negated(before: str, vocab: LanguageVocab) -> bool:
    """A negation among the two words before the hedge ("no más de", "не более")."""
    tail = " ".join(before.split()[-2:])
    return vocab.negation_before.search(tail) is not None
