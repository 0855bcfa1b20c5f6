"""How sure a figure is: the hedge before a number → exact | approx | at_least | at_most | range.

This module owns qualifier rules: a hedge applies to the number it directly precedes
("oltre 4mila"), a negation flips a bound ("no more than", "non abbiano superato"),
and a trend verb turns a bound into a destination ("зросла до 26" is exact 26).
It does not find numbers or decide what they count.
"""

from __future__ import annotations

from dataclasses import dataclass

from watcher.figures.vocab import LanguageVocab, qualifier_kind

_LOOKBACK = 60  # characters: enough for "non abbiano superato i" / "no fewer than"
_FLIP = {"at_least": "at_most", "at_most": "at_least"}


@dataclass(frozen=True, slots=True)
class Hedge:
    qualifier: str
    start: int  # where the hedged expression begins (the hedge word, or the number)


def qualify(text: str, start: int, is_range: bool, vocab: LanguageVocab, floor: int = 0) -> Hedge:
    """Qualifier of the number starting at `start`; `floor` bounds the look-back (sentence start)."""
    if is_range:
        return Hedge("range", start)
    lo = max(floor, start - _LOOKBACK)
    m = vocab.qualifier.search(text, lo, start)
    if m is None:
        return Hedge("exact", start)
    kind = qualifier_kind(vocab, m.group("cue"))
    if kind is None:
        return Hedge("exact", start)
    before = text[max(lo, m.start() - 30):m.start()]
    if kind == "at_most" and vocab.trend_before.search(before):
        return Hedge("exact", start)
    if kind in _FLIP and _negated(before, vocab):
        kind = _FLIP[kind]
    return Hedge(kind, m.start())


def _negated(before: str, vocab: LanguageVocab) -> bool:
    """A negation among the two words before the hedge ("no más de", "не более")."""
    tail = " ".join(before.split()[-2:])
    return vocab.negation_before.search(tail) is not None
