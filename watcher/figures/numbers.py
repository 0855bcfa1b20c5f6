"""Number scanner: every number expression in a text, with its value and exact span.

Owns: the public entry, `find_numbers`, and what it returns (`NumberMention`): numbers
written as digits ("15.000", "15 000", "1,5"), digits with a scale word ("4mila",
"1,5 milioni", "15 тыс."), number words with compounds and case forms ("two thousand",
"duecentocinquanta", "двух тысяч", "п'ятеро") and ranges ("600–700", "tra 150 e 200",
"от 5 до 10 тысяч"), in every language that has a vocabulary file
`watcher/figures/data/numbers/<lang>.yaml` (its format is documented at the top of en.yaml;
adding a language is adding a file).

Does not own: deciding which numbers are figures. Years, dates, times, ages, money, units and
words that are often articles ("one", "un", "una", "один") are all returned faithfully; the
extractor (`watcher.figures.extract`) decides. Vague plurals ("thousands of", "centinaia",
"тисячі" alone) are not numbers and are not returned.

How: per language, one regular expression (compiled at first use, cached) finds the candidates
in the lower-cased text in one pass; small functions read each candidate's value (a run of
number words is split where it stops being one number: "one two" is two numbers) and join
neighbours into ranges. The parts, in reading order:

- `number_vocab.py`: the language's vocabulary file, compiled into the two scanners;
- `number_digits.py`: the value of digits ("15.000" is 15000 in Italian, 15.0 in English);
- `number_words.py`: the value of a run of number words;
- `number_ranges.py`: two neighbours written as one range.
"""

from __future__ import annotations

from dataclasses import dataclass

from watcher.figures.number_digits import read_digits
from watcher.figures.number_ranges import join_ranges
from watcher.figures.number_vocab import available_languages, number_language
from watcher.figures.number_words import read_words

__all__ = ["NumberMention", "available_languages", "find_numbers"]


@dataclass(frozen=True, slots=True)
class NumberMention:
    """One number expression: where it is, what it says, and how it was written."""

    start: int  # char offsets in the original text of the whole expression
    end: int
    value: float
    value_max: float | None  # upper bound when the expression itself is a range
    kind: str  # "digits" | "words" | "scaled" | "range"
    text: str


def find_numbers(text: str, lang: str) -> list[NumberMention]:
    """Every number expression in `text`, ordered by start, non-overlapping, longest first.

    `lang` is an ISO 639-1 code ("it", "en-US" is read as "en"); ValueError if there is no
    vocabulary for it (see `available_languages()`).
    """
    spec = number_language(lang.split("-")[0].split("_")[0].lower())
    low = _lower(text)
    atoms = [read_digits(m, text, spec) for m in spec.digit_scan.finditer(low)]
    # The word scan consumes the character before a word (so that the regex engine can skip
    # ahead to candidates fast); a leading space gives the first word one too.
    for m in spec.word_scan.finditer(" " + low):
        atoms.extend(read_words(m.start("w") - 1, m.end() - 1, low, spec))
    atoms.sort()
    return [
        NumberMention(start, end, value, value_max, kind, text[start:end])
        for start, end, value, value_max, kind, _ in join_ranges(atoms, low, spec)
    ]


def _lower(text: str) -> str:
    """Lower-cased text with the same length, so offsets carry over to the original."""
    low = text.lower()
    if len(low) == len(text):
        return low
    # A few characters (e.g. "İ") lower to two: keep those as they are.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)
