"""Numbers written with digits: "15.000", "15 000", "1,5", and digits with a scale word or
mark ("4mila", "1,5 milioni", "3 milioni e mezzo", "15 тыс.", "2.5k").

Owns: the value of a digits candidate the scanner found (which separator groups thousands
and which is the decimal point, in this language) and whether the word or mark after it is
a scale here ("100m" is metres, "5 k" is not a thousand).

Does not own: finding the candidates (the scanner in `number_vocab.py`) or deciding whether
a number is a figure (the extractor).
"""

from __future__ import annotations

import re

from watcher.figures.number_ranges import Atom
from watcher.figures.number_vocab import THIN_SPACES, NumberLanguage, normalise_form

_GROUP_SPACES = re.compile(rf"[ {THIN_SPACES}'’]")


def read_digits(match: re.Match[str], text: str, spec: NumberLanguage) -> Atom:
    """The number a match of the digits scanner says, scaled when a scale follows."""
    value = _digits_value(match.group("num"), spec)
    if match.group("sc") is not None:
        factor = _scale_factor(match, text, spec)
        if factor is not None:
            if match.group("half"):  # "3 milioni e mezzo"
                value += 0.5
                return Atom(match.start(), match.end(), value * factor, None, "scaled", None)
            end = match.end("sc")
            return Atom(match.start(), end, value * factor, None, "scaled", factor)
    return Atom(match.start(), match.end("num"), value, None, "digits", None)


def _digits_value(token: str, spec: NumberLanguage) -> float:
    """'15.000' → 15000 in Italian, 15.0 in English; '1.234,5' → 1234.5; '15 000' → 15000."""
    if token.isdigit():
        return float(token)
    digits = _GROUP_SPACES.sub("", token)
    seps = [i for i, c in enumerate(digits) if c in ".,"]
    if not seps:
        return float(digits)
    last = seps[-1]
    char, tail = digits[last], digits[last + 1 :]
    same = all(digits[i] == char for i in seps)
    # The last separator groups only when 3 digits follow and the language (or the
    # repetition, "1.234.567" in English) says so; otherwise it is the decimal point.
    groups = len(tail) == 3 and same and (len(seps) > 1 or char in spec.group)
    whole = re.sub(r"[.,]", "", digits[:last])
    return float(whole + tail) if groups else float(f"{whole}.{tail}")


def _scale_factor(match: re.Match[str], text: str, spec: NumberLanguage) -> float | None:
    """The scale after digits, or None when it is not one here ("100m" is metres)."""
    word = spec.words.get(normalise_form(match.group("sc")))
    if word is not None:
        return word.value
    original = text[match.start("sc") : match.end("sc")]
    glued = match.start("sc") == match.end("num")
    if len(original.rstrip(".")) == 1 and not glued:
        return None  # one-letter marks are scales only glued to the digits: "5 k" is not
    return spec.abbreviations.get(original)
