"""Which numbers are counts at all: the checks a number must pass before any metric word is
looked for.

Owns: dropping years, dates, times, money, units and counted things, ages, model names and
codes glued to letters ("Su-34", "COVID-19", "155mm"), ordinals, labels after a cue
("week 12", "aged 16") and a word for "one" that is an article ("ein Konzert"). The words it
looks for are `not_figures.*` in `data/<lang>.yaml`, through `vocab.py`.

Does not own: which metric a count counts (`binding.py`), or past figures quoted to compare
(`extract.py`). A number that is no count here may still stand between a metric word and
another number (`extract.py` builds those walls with `is_glued`, `unit_follows`, `is_article`).
"""

from __future__ import annotations

import re

from watcher.figures.numbers import NumberMention
from watcher.figures.text import words
from watcher.figures.vocab import LanguageVocab

_BEFORE_CHARS = 30  # enough for the longest cue before a number ("im Alter von")
_YEAR = re.compile(r"\d{4}")
_GROUPED = re.compile(r"\d[.,'’\u00a0\u202f ]\d{3}(?!\d)")  # "23.418", "1,200": a quantity
_TIME = re.compile(r"\d{1,2}[.:h]\d{2}")
_GLUED_BEFORE = re.compile(r"(?:[^\W\d_]|\d)[-‐‑/]?\Z|[^\W\d_][-‐‑]\Z|[-‐‑/:]\d*\Z|[#№]\s*\Z")
_GLUED_AFTER = re.compile(r"\A(?:[^\W_]|[-‐‑/][^\W_]|[°ºª%:]|\.[\dªº])")
# "Stella Berry, 16," "Zainab Faksh (25)"
_APPOSITION_BEFORE = re.compile(r"[^\W\d_](?:,|\s?\()\s*\Z")
_APPOSITION_AFTER = re.compile(r"\s*[,)]|\s*\.?\s*\Z")
_ONE_WORD = re.compile(r"\s*[^\W\d_][\w'’-]*(?=\s)")
_DIGITS_AHEAD = re.compile(r"\d[\d.,'’\u00a0\u202f ]*")


def is_count(text: str, m: NumberMention, vocab: LanguageVocab, floor: int = 0) -> bool:
    """False for years, dates, times, money, units, ages, model names and ordinals."""
    if m.value <= 0 or m.value != int(m.value) \
            or (m.value_max is not None and m.value_max < m.value):
        return False
    before = text[max(floor, m.start - _BEFORE_CHARS):m.start]
    after = text[m.end:m.end + 40]
    # cheapest and most often decisive first: a unit, a glued token, a year
    if unit_follows(after, vocab) or is_glued(before, after, m):
        return False
    if _is_year(m, after, vocab) or (m.kind != "scaled" and _TIME.fullmatch(m.text.strip())):
        return False
    if _APPOSITION_BEFORE.search(before) and _APPOSITION_AFTER.match(after):
        return False  # "Stella Berry, 16, was killed": an age in apposition
    cue = vocab.cues_before.search(before)
    if (cue is not None and _labels(before, cue, m, vocab)) or _is_date(before, after, vocab):
        return False
    return not is_article(text, m, vocab)


def _labels(before: str, cue: re.Match[str], m: NumberMention, vocab: LanguageVocab) -> bool:
    """A cue before the number makes it a label ("week 12", "Seite 4", "aged 16") unless the
    number is written as a quantity ("23.418", "1,2 Millionen") or the cue has an article
    before it, which makes it a span of time ("binnen einer Woche 23.418 Neuinfektionen",
    "in a single day 300 people"); a currency sign always counts."""
    if not cue.group(0)[:1].isalnum():
        return True
    if m.kind == "scaled" or _GROUPED.search(m.text):
        return False
    prev = words(before[max(0, cue.start() - 20):cue.start()])[-2:]
    return not any(vocab.source_article.fullmatch(w) for w in prev)


def is_article(text: str, m: NumberMention, vocab: LanguageVocab) -> bool:
    """"ein Konzert", "einem Chemiewerk", "un'auto": a word for one that is really an
    article (no person noun after it) is neither a figure nor a rival count."""
    return m.kind == "words" and m.value == 1 \
        and not vocab.people.match(text, _skip_blank(text, m.end))


def _skip_blank(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def unit_follows(after: str, vocab: LanguageVocab) -> bool:
    """A unit or counted thing right after the number, or after one more word
    ("35 European nations", "12 scuole danneggiate"), or after a joined number ("18 e 21 anni")."""
    rest = _past_partner(after, vocab)
    if vocab.units_after.match(rest):
        return True
    skip = _ONE_WORD.match(rest)
    return skip is not None and vocab.units_after.match(rest, skip.end()) is not None


def _past_partner(after: str, vocab: LanguageVocab) -> str:
    """"di 18 e 21 anni": a number joined to the next one shares its unit; skip to it."""
    join = vocab.range_join.match(after)
    if join is None:
        return after
    rest = _DIGITS_AHEAD.match(after, join.end())
    return after[rest.end():] if rest else after


def is_glued(before: str, after: str, m: NumberMention) -> bool:
    """Su-34, COVID-19, 155mm, 2.ª, 47-year-old, 14°, 2024-10-24: parts of other tokens."""
    if m.kind == "words":
        return bool(after) and after[0] in "-‐‑" and len(after) > 1 and after[1].isalpha()
    if m.kind == "range" and not m.text[:1].isdigit():
        return bool(_GLUED_AFTER.match(after))  # "tra 150 e 200": the opener is a word
    return bool(_GLUED_BEFORE.search(before) or _GLUED_AFTER.match(after))


def _is_date(before: str, after: str, vocab: LanguageVocab) -> bool:
    """A month name next to the number ("16 luglio", "February 24", "8 de marzo")."""
    prev = words(before[-20:])
    if prev and vocab.months.fullmatch(prev[-1]):
        return True
    nxt = words(after[:25])[:2]
    if nxt and vocab.months.fullmatch(nxt[0]):
        return True
    return len(nxt) == 2 and len(nxt[0]) <= 3 and vocab.months.fullmatch(nxt[1]) is not None


def _is_year(m: NumberMention, after: str, vocab: LanguageVocab) -> bool:
    """1900–2100 written as four plain digits, unless people are counted ("2000 soldiers");
    a range of two such numbers ("1966—1976") is a period."""
    if m.kind == "range":
        return all(v is not None and 1900 <= v <= 2100 and v == int(v)
                   for v in (m.value, m.value_max)) \
            and not any(c in m.text for c in ".,  ")
    if not (m.kind == "digits" and _YEAR.fullmatch(m.text.strip()) and 1900 <= m.value <= 2100):
        return False
    return not vocab.people.match(after.lstrip())
