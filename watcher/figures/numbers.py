"""Number scanner: every number expression in a text, with its value and exact span.

Owns: reading numbers written as digits ("15.000", "15 000", "1,5"), digits with a scale word
("4mila", "1,5 milioni", "15 тыс."), number words with compounds and case forms ("two thousand",
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
neighbours into ranges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data" / "numbers"

_APOSTROPHES = "'’ʼ‘"
_HYPHENS = r"\-‐‑–—"  # for character classes
_THIN_SPACES = "\u00a0\u202f\u2009"  # always group digits: nobody separates two numbers with them
_SP = r"[^\S\n]"  # horizontal white space: a number never spans a line break
_WORD_SEP = rf"(?:{_SP}+|{_SP}*[{_HYPHENS}]{_SP}*)"
_NOT_WORD_BEFORE = rf"(?<![\w{_APOSTROPHES}])"
_NOT_WORD_AFTER = rf"(?![\w{_APOSTROPHES}])"
_CHUNK = re.compile(rf"[^\s{_HYPHENS}]+")
_DASH_GAP = re.compile(rf"{_SP}*[{_HYPHENS}]{_SP}*")
_GROUP_SPACES = re.compile(rf"[ {_THIN_SPACES}'’]")
_LINKED = re.compile(r"\d[-/.:]$|^[-/.:]\d")
_MAX_RUN = 48  # words in one run of number words; the longest real ones have about 40
_LONGEST_GAP = 12  # " e il ", " and ", " до ": joiners between the numbers of a range are short
_APOSTROPHE_TABLE = str.maketrans({c: "'" for c in _APOSTROPHES})


@dataclass(frozen=True, slots=True)
class NumberMention:
    """One number expression: where it is, what it says, and how it was written."""

    start: int  # char offsets in the original text of the whole expression
    end: int
    value: float
    value_max: float | None  # upper bound when the expression itself is a range
    kind: str  # "digits" | "words" | "scaled" | "range"
    text: str


@dataclass(frozen=True, slots=True)
class _Word:
    """What one vocabulary form means to the word parser."""

    value: float
    kind: str  # "unit" (0-99) | "hundreds" | "mult" (<1000) | "scale" (>=1000) | "half" | "and"
    counted: bool = False  # needs a count before it ("trois cents", "тысяч")
    needs_scale: bool = False  # a number only before a multiplier/scale ("a hundred")
    glued_only: bool = False  # an elided form, only glued to the next word ("vent|uno")
    rule: str = ""  # connectors: how they join two parts of one number


@dataclass(frozen=True, slots=True)
class _Range:
    joiner: re.Pattern[str]  # the gap between the two numbers, fullmatched
    intro: re.Pattern[str] | None  # the words before the first number, ending at it
    intro_required: bool


@dataclass(frozen=True)
class _Lang:
    code: str
    group: str  # separators that group thousands in this language
    words: dict[str, _Word]  # normalised form -> meaning
    alone: dict[str, tuple[float, float | None]]  # form -> (value, scale) of one-word numbers
    abbreviations: dict[str, float]  # case-sensitive scale marks after digits
    vigesimal: frozenset[float]
    ranges: tuple[_Range, ...]
    digit_scan: re.Pattern[str]  # digits with an optional scale: "15.000", "4mila", "1,5 млн"
    word_scan: re.Pattern[str]  # a run of number words, after one non-word character
    form_lengths: tuple[int, ...] = field(default=())  # longest first, for glued words
    max_form_words: int = 1


class _Atom(NamedTuple):
    """A number before range joining; `scale` is what a range's lower bound may borrow.

    A tuple (not a dataclass) because there is one per number and they must be cheap.
    """

    start: int
    end: int
    value: float
    value_max: float | None
    kind: str
    scale: float | None


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    word: _Word
    glued_to_next: bool


def available_languages() -> list[str]:
    """Languages with a vocabulary file, e.g. ["de", "en", …]."""
    return sorted(p.stem for p in DATA_DIR.glob("*.yaml"))


def find_numbers(text: str, lang: str) -> list[NumberMention]:
    """Every number expression in `text`, ordered by start, non-overlapping, longest first.

    `lang` is an ISO 639-1 code ("it", "en-US" is read as "en"); ValueError if there is no
    vocabulary for it (see `available_languages()`).
    """
    spec = _language(lang.split("-")[0].split("_")[0].lower())
    low = _lower(text)
    atoms = [_read_digits(m, text, spec) for m in spec.digit_scan.finditer(low)]
    # The word scan consumes the character before a word (so that the regex engine can skip
    # ahead to candidates fast); a leading space gives the first word one too.
    for m in spec.word_scan.finditer(" " + low):
        atoms.extend(_read_words(m.start("w") - 1, m.end() - 1, low, spec))
    atoms.sort()
    return [
        NumberMention(start, end, value, value_max, kind, text[start:end])
        for start, end, value, value_max, kind, _ in _join_ranges(atoms, low, spec)
    ]


def _lower(text: str) -> str:
    """Lower-cased text with the same length, so offsets carry over to the original."""
    low = text.lower()
    if len(low) == len(text):
        return low
    # A few characters (e.g. "İ") lower to two: keep those as they are.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


# --- digits -----------------------------------------------------------------------------


def _read_digits(match: re.Match[str], text: str, spec: _Lang) -> _Atom:
    value = _digits_value(match.group("num"), spec)
    if match.group("sc") is not None:
        factor = _scale_factor(match, text, spec)
        if factor is not None:
            if match.group("half"):  # "3 milioni e mezzo"
                value += 0.5
                return _Atom(match.start(), match.end(), value * factor, None, "scaled", None)
            end = match.end("sc")
            return _Atom(match.start(), end, value * factor, None, "scaled", factor)
    return _Atom(match.start(), match.end("num"), value, None, "digits", None)


def _digits_value(token: str, spec: _Lang) -> float:
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


def _scale_factor(match: re.Match[str], text: str, spec: _Lang) -> float | None:
    """The scale after digits, or None when it is not one here ("100m" is metres)."""
    word = spec.words.get(_normalise(match.group("sc")))
    if word is not None:
        return word.value
    original = text[match.start("sc") : match.end("sc")]
    glued = match.start("sc") == match.end("num")
    if len(original.rstrip(".")) == 1 and not glued:
        return None  # one-letter marks are scales only glued to the digits: "5 k" is not
    return spec.abbreviations.get(original)


# --- words ------------------------------------------------------------------------------


def _normalise(form: str) -> str:
    """The dictionary key of a form: lower case, one apostrophe, separators as one space."""
    form = form.lower().translate(_APOSTROPHE_TABLE)
    return " ".join(_CHUNK.findall(form))


def _read_words(start: int, end: int, low: str, spec: _Lang) -> list[_Atom]:
    alone = spec.alone.get(low[start:end])
    if alone is not None:  # the common case: one word ("due", "ein", "тысяча")
        value, scale = alone
        return [_Atom(start, end, value, None, "words", scale)]
    return _parse_tokens(_tokenize(low, start, end, spec), spec)


def _alone(words: dict[str, _Word]) -> dict[str, tuple[float, float | None]]:
    """Forms that are a number all by themselves, with the scale a range may borrow."""
    return {
        form: (w.value, w.value if w.kind == "scale" else None)
        for form, w in words.items()
        if w.kind in ("unit", "hundreds", "mult", "scale")
        and not (w.counted or w.needs_scale or w.glued_only)
    }


def _tokenize(low: str, start: int, end: int, spec: _Lang) -> list[_Token]:
    chunks = [(m.start(), m.end()) for m in _CHUNK.finditer(low, start, end)]
    tokens: list[_Token] = []
    k = 0
    while k < len(chunks):
        taken = _multiword(low, chunks, k, spec)
        if taken:
            n, word = taken
            tokens.append(_Token(chunks[k][0], chunks[k + n - 1][1], word, False))
            k += n
            continue
        pieces = _segment(low[chunks[k][0] : chunks[k][1]].translate(_APOSTROPHE_TABLE), spec)
        base = chunks[k][0]
        for i, (a, b, word) in enumerate(pieces or ()):
            tokens.append(_Token(base + a, base + b, word, i + 1 < len(pieces or ())))
        k += 1
    return tokens


def _multiword(
    low: str, chunks: list[tuple[int, int]], k: int, spec: _Lang
) -> tuple[int, _Word] | None:
    """A form spanning several chunks ("quatre-vingt", "half a"), longest first."""
    for n in range(min(spec.max_form_words, len(chunks) - k), 1, -1):
        key = _normalise(" ".join(low[a:b] for a, b in chunks[k : k + n]))
        if key in spec.words:
            return n, spec.words[key]
    return None


def _segment(chunk: str, spec: _Lang) -> list[tuple[int, int, _Word]] | None:
    """Split a glued chunk into forms, longest first with backtracking:
    "centotto" → cent + otto, not cento + "tto"."""
    failed: set[int] = set()

    def from_(i: int) -> list[tuple[int, int, _Word]] | None:
        if i == len(chunk):
            return []
        if i in failed:
            return None
        for length in spec.form_lengths:
            word = spec.words.get(chunk[i : i + length])
            if word is not None and " " not in chunk[i : i + length]:
                rest = from_(i + length)
                if rest is not None:
                    return [(i, i + length, word), *rest]
        failed.add(i)
        return None

    return from_(0)


@dataclass(slots=True)
class _Acc:
    """The number being read: finished scale groups in `parts`, the group below in `current`."""

    parts: list[tuple[float, float]] = field(default_factory=list)  # (scale, amount), largest first
    current: float = 0.0
    prev: _Word | None = None
    scale: float | None = None  # set while the number is exactly "<count> <scale>"

    @property
    def value(self) -> float:
        return sum(amount for _, amount in self.parts) + self.current


def _parse_tokens(tokens: list[_Token], spec: _Lang) -> list[_Atom]:
    atoms: list[_Atom] = []
    i = 0
    while i < len(tokens):
        used, atom = _parse_number(tokens, i, spec)
        if atom is not None:
            atoms.append(atom)
        i += max(used, 1)
    return atoms


def _parse_number(tokens: list[_Token], i: int, spec: _Lang) -> tuple[int, _Atom | None]:
    """Read one number from tokens[i:]; returns (tokens used, the number or None)."""
    acc, j, used = _Acc(), i, 0
    while j < len(tokens):
        via = ""
        if tokens[j].word.kind == "and":
            if acc.prev is None or j + 1 >= len(tokens):
                break
            via, j = tokens[j].word.rule, j + 1
        nxt = tokens[j + 1].word if j + 1 < len(tokens) else None
        if not _usable(tokens[j], nxt) or not _step(acc, tokens[j].word, via, spec):
            break
        j += 1
        used = j - i
    if acc.prev is None:
        return 1, None
    last = tokens[i + used - 1]
    return used, _Atom(tokens[i].start, last.end, acc.value, None, "words", acc.scale)


def _usable(token: _Token, nxt: _Word | None) -> bool:
    word = token.word
    if word.glued_only and not token.glued_to_next:
        return False
    if word.needs_scale:
        return nxt is not None and nxt.kind in ("mult", "scale")
    return True


def _step(acc: _Acc, word: _Word, via: str, spec: _Lang) -> bool:
    """Add `word` to the number if it can continue it; False ends the number before it."""
    ok = _STEPS[word.kind](acc, word, via, spec)
    if ok:
        if word.kind != "scale":
            acc.scale = None
        acc.prev = word
    return ok


def _add_unit(acc: _Acc, word: _Word, via: str, spec: _Lang) -> bool:
    ok = any(_unit_fits(acc, word.value, rule, spec) for rule in via.split() or [""])
    if ok:
        acc.current += word.value
    return ok


def _unit_fits(acc: _Acc, v: float, rule: str, spec: _Lang) -> bool:
    """Can a unit word worth `v` continue the number, after connector `rule` if any?"""
    prev, low2 = acc.prev, acc.current % 100
    if prev is None:
        return not rule
    if rule == "units_tens":  # de "ein|und|zwanzig"
        return prev.kind == "unit" and prev.value < 10 and _is_tens(v)
    if rule == "tens_units":  # es "treinta y tres", fr "vingt et un", "soixante et onze"
        vigesimal = low2 in spec.vigesimal and v < 20
        return prev.kind == "unit" and _is_tens(prev.value, 10) and (v < 10 or vigesimal)
    if rule == "after_scale":  # en "hundred and five", de "tausendundzwölf"
        return prev.kind != "unit" and low2 == 0
    return (
        (acc.current == 0 and prev.kind == "scale")
        or (low2 == 0 and acc.current > 0 and prev.kind != "unit")
        or (v < 10 and _is_tens(low2) and prev.kind == "unit")
        or (low2 in spec.vigesimal and 10 <= v < 20)
    )


def _is_tens(v: float, lowest: int = 20) -> bool:
    return lowest <= v <= 90 and v % 10 == 0


def _add_hundreds(acc: _Acc, word: _Word, via: str, spec: _Lang) -> bool:
    after_scale = acc.prev is None or acc.prev.kind == "scale"
    ok = acc.current == 0 and via in ("", "after_scale") and after_scale
    if ok:
        acc.current = word.value
    return ok


def _add_mult(acc: _Acc, word: _Word, via: str, spec: _Lang) -> bool:
    prev = acc.prev
    ok = not via and acc.current < 100 and (prev is None or prev.kind in ("unit", "scale"))
    ok = ok and not (word.counted and acc.current == 0)
    if ok:
        acc.current = (acc.current or 1) * word.value
    return ok


def _add_scale(acc: _Acc, word: _Word, via: str, spec: _Lang) -> bool:
    s = word.value
    if via or (word.counted and acc.value == 0) or any(scale == s for scale, _ in acc.parts):
        return False
    higher = [p for p in acc.parts if p[0] > s]
    lower = sum(amount for scale, amount in acc.parts if scale < s)
    if acc.current == 0 and acc.parts and not lower:
        return False  # "million thousand": a smaller scale needs a count of its own
    # A larger scale after smaller ones multiplies them: es "cincuenta mil doscientos
    # millones" = 50 200 millones, but only below any larger scale ("tres billones …").
    amount = (lower + acc.current or 1) * s
    acc.scale = None if higher or lower else s
    acc.parts = [*higher, (s, amount)]
    acc.current = 0.0
    return True


def _add_half(acc: _Acc, word: _Word, via: str, spec: _Lang) -> bool:
    """ "un milione e mezzo" = 1 500 000; "два с половиной миллиона" = 2 500 000."""
    prev = acc.prev
    if via or prev is None:
        return False
    if prev.kind == "scale" and acc.current == 0:
        scale, amount = acc.parts[-1]
        acc.parts[-1] = (scale, amount + scale / 2)
        return True
    if prev.kind == "unit" and 0 < acc.current < 100 and float(acc.current).is_integer():
        acc.current += 0.5
        return True
    return False


_STEPS = {
    "unit": _add_unit,
    "hundreds": _add_hundreds,
    "mult": _add_mult,
    "scale": _add_scale,
    "half": _add_half,
}


# --- ranges -----------------------------------------------------------------------------


def _join_ranges(atoms: list[_Atom], low: str, spec: _Lang) -> list[_Atom]:
    """Neighbours written as a range become one; word numbers inside a digits one
    ("mille" of "4 mille", already read with the 4) are dropped."""
    out: list[_Atom] = []
    for atom in atoms:
        if out and atom.start < out[-1].end:
            continue
        joined = None
        if out and atom.start - out[-1].end <= _LONGEST_GAP:  # most neighbours are far apart
            floor = out[-2].end if len(out) > 1 else 0
            joined = _as_range(out[-1], atom, low, spec, floor)
        if joined is not None and out[-1].kind != "range":
            out[-1] = joined
        else:
            out.append(atom)
    return out


def _as_range(a: _Atom, b: _Atom, low: str, spec: _Lang, floor: int) -> _Atom | None:
    gap = low[a.end : b.start]
    start = _range_start(a, b, gap, low, spec, floor)
    if start is None:
        return None
    lo = a.value
    if b.scale and not a.scale and a.value <= b.value / b.scale:
        lo = a.value * b.scale  # "от 5 до 10 тысяч": the scale applies to both
    if lo > b.value:
        return None  # "1995-01", "3 to 1": not a range
    return _Atom(start, b.end, lo, b.value, "range", None)


def _range_start(a: _Atom, b: _Atom, gap: str, low: str, spec: _Lang, floor: int) -> int | None:
    """Where the range written around a and b starts, or None if the gap joins no range."""
    if _DASH_GAP.fullmatch(gap):
        return None if _in_chain(a, b, low) else a.start
    for rng in spec.ranges:
        if not rng.joiner.fullmatch(gap):
            continue
        intro = rng.intro.search(low, max(floor, a.start - 40), a.start) if rng.intro else None
        if intro is not None:
            return intro.start()
        if not rng.intro_required:
            return a.start
    return None


def _in_chain(a: _Atom, b: _Atom, low: str) -> bool:
    """True for the parts of dates, phone numbers and codes: "2022-02-24", "+1-222-2222"."""
    before = low[max(0, a.start - 2) : a.start]
    after = low[b.end : b.end + 2]
    return bool(_LINKED.search(before) or _LINKED.search(after))


# --- vocabulary -------------------------------------------------------------------------


@cache
def _language(code: str) -> _Lang:
    path = DATA_DIR / f"{code}.yaml"
    if not path.is_file():
        raise ValueError(
            f"no number vocabulary for language {code!r}: add {path} "
            f"(have: {', '.join(available_languages())})"
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    words = _vocabulary(data)
    abbreviations = {str(k): float(v) for k, v in (data.get("abbreviations") or {}).items()}
    group = "".join(data.get("group") or [])
    keys = [k for k in words if " " not in k]
    return _Lang(
        code=code,
        group=group,
        words=words,
        alone=_alone(words),
        abbreviations=abbreviations,
        vigesimal=frozenset(float(v) for v in data.get("vigesimal") or ()),
        ranges=tuple(_range(r) for r in data.get("ranges") or ()),
        digit_scan=_digits_scanner(words, abbreviations, group),
        word_scan=_words_scanner(words),
        form_lengths=tuple(sorted({len(k) for k in keys}, reverse=True)),
        max_form_words=max(k.count(" ") + 1 for k in words),
    )


def _vocabulary(data: dict) -> dict[str, _Word]:
    words: dict[str, _Word] = {}

    def add(forms, word: _Word) -> None:
        for form in forms or ():
            words.setdefault(_normalise(str(form)), word)

    for value, forms in (data.get("units") or {}).items():
        add(forms, _Word(float(value), "unit"))
    for value, forms in (data.get("hundreds") or {}).items():
        add(forms, _Word(float(value), "hundreds"))
    for section, kind in (("multipliers", "mult"), ("scales", "scale")):
        for value, forms in (data.get(section) or {}).items():
            add(forms.get("bare"), _Word(float(value), kind))
            add(forms.get("counted"), _Word(float(value), kind, counted=True))
    for value, forms in (data.get("needs_scale") or {}).items():
        add(forms, _Word(float(value), "unit", needs_scale=True))
    for value, forms in (data.get("glued") or {}).items():
        kind = "mult" if float(value) == 100 else "unit"
        add(forms, _Word(float(value), kind, glued_only=True))
    add(data.get("and_a_half"), _Word(0.5, "half"))
    for form, rule in (data.get("connectors") or {}).items():
        add([form], _Word(0.0, "and", rule=rule))
    return words


def _range(entry: dict) -> _Range:
    article = entry.get("article")
    art = rf"(?:(?:{article}){_SP}*)?" if article else ""
    intro = entry.get("intro")
    return _Range(
        joiner=re.compile(rf"{_SP}+(?:{entry['joiner']}){_SP}+{art}"),
        intro=re.compile(rf"{_NOT_WORD_BEFORE}(?:{intro}){_SP}*{art}$") if intro else None,
        intro_required=bool(entry.get("intro_required")),
    )


def _digits_scanner(words: dict[str, _Word], abbreviations: dict, group: str) -> re.Pattern[str]:
    """Digits, grouped or not, with a decimal part and a scale: "15 000", "1,5 milioni".

    No look-behind: the pattern starts with a digit so the engine jumps from digit to digit,
    and a match never starts inside a run of digits because every branch takes the whole run.
    """
    scales = [k for k, w in words.items() if w.kind in ("mult", "scale") and not w.glued_only]
    halves = [k for k, w in words.items() if w.kind == "half"]
    marks = _trie(scales + [a.lower() for a in abbreviations])
    grp = re.escape("".join(sorted(set(group) | set(_THIN_SPACES))))
    # Two or more equal separators each before 3 digits group in any language ("1.234.567" and
    # "1 234 567" in English). The leading \d outside the alternation lets the engine skip
    # from digit to digit.
    number = (
        rf"\d(?:\d{{0,2}}(?:[{grp}]\d{{3}})+(?!\d)|\d{{0,2}}(?:\.\d{{3}}){{2,}}(?!\d)"
        rf"|\d{{0,2}}(?:,\d{{3}}){{2,}}(?!\d)|\d{{0,2}}(?: \d{{3}}){{2,}}(?!\d)|\d*)"
    )
    half = rf"(?:{_SP}+(?P<half>{_trie(halves)}){_NOT_WORD_AFTER})?" if halves else ""
    scale = rf"(?:[ {_THIN_SPACES}]?(?P<sc>{marks})(?![^\W\d_]){half})?"
    return re.compile(rf"(?P<num>(?:{number})(?:[.,]\d+)?){scale}")


def _words_scanner(words: dict[str, _Word]) -> re.Pattern[str]:
    """A run of number words ("two thousand", "duecentocinquanta") after a non-word character.

    Starting with that character class lets the engine skip the insides of words quickly.
    """
    plain = [k for k, w in words.items() if not (w.needs_scale or w.glued_only or w.kind == "and")]
    scales = [k for k, w in words.items() if w.kind in ("mult", "scale") and not w.glued_only]
    needs = [k for k, w in words.items() if w.needs_scale]
    glued = [k for k, w in words.items() if w.glued_only]
    connectors = [k for k, w in words.items() if w.kind == "and"]
    plain_re = _trie(plain)
    one = [plain_re]
    if needs:
        one.append(rf"{_trie(needs)}(?={_WORD_SEP}{_trie(scales)}{_NOT_WORD_AFTER})")
    if glued:
        one.append(rf"{_trie(glued)}(?={plain_re})")
    # One look at the first letter spares trying the three alternatives on most words.
    first = re.escape("".join(sorted({form[0] for form in words})))
    word = f"(?=[{first}])(?:" + "|".join(one) + ")"
    joint = rf"{_WORD_SEP}?"
    if connectors:
        around = rf"(?:{_SP}|[{_HYPHENS}])*"  # "vingt et un", "vingt-et-un", "einundzwanzig"
        joint = rf"(?:{_WORD_SEP}|{around}(?:{_trie(connectors)}){around})?"
    # A number is at most a few dozen words; the bound keeps odd inputs ("one one one …") linear.
    run = rf"{word}(?:{joint}{word}){{0,{_MAX_RUN}}}"
    return re.compile(rf"[^\w{_APOSTROPHES}](?P<w>{run}){_NOT_WORD_AFTER}")


def _trie(forms: list[str]) -> str:
    """One regex alternation for many words, shared prefixes factored out (fast to scan)."""
    root: dict = {}
    for form in forms:
        node = root
        for char in form:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_node(root) or "(?!)"


def _trie_node(node: dict) -> str:
    alternatives = [_trie_char(c) + _trie_node(child) for c, child in sorted(node.items()) if c]
    if not alternatives:
        return ""
    body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
    return f"(?:{body})?" if "" in node else body


def _trie_char(char: str) -> str:
    if char == " ":
        return _WORD_SEP
    if char == "'":
        return f"[{_APOSTROPHES}]"
    return re.escape(char)
