"""A language's number vocabulary, compiled for scanning.

Owns: loading `watcher/figures/data/numbers/<lang>.yaml` (format at the top of en.yaml) into a
table of forms and their meanings (`NumberWord`), the range forms ("tra … e …", "от … до …"),
and the two regular expressions that find candidates in one pass: digits with an optional
scale ("15.000", "4mila", "1,5 млн") and runs of number words ("two thousand",
"duecentocinquanta"); also the character classes the readers share (apostrophes, hyphens,
spaces that group digits). Compiled at first use per language and cached.

Does not own: reading a candidate's value (`number_digits.py`, `number_words.py`) or
joining neighbours into ranges (`number_ranges.py`); the public entry is `numbers.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data" / "numbers"

APOSTROPHES = "'’ʼ‘"
HYPHENS = r"\-‐‑–—"  # for character classes
THIN_SPACES = "\u00a0\u202f\u2009"  # always group digits: nobody separates two numbers with them
H_SPACE = r"[^\S\n]"  # horizontal white space: a number never spans a line break
WORD_SEP = rf"(?:{H_SPACE}+|{H_SPACE}*[{HYPHENS}]{H_SPACE}*)"
NOT_WORD_BEFORE = rf"(?<![\w{APOSTROPHES}])"
NOT_WORD_AFTER = rf"(?![\w{APOSTROPHES}])"
CHUNK = re.compile(rf"[^\s{HYPHENS}]+")  # one word of a run, between spaces and hyphens
APOSTROPHE_TABLE = str.maketrans({c: "'" for c in APOSTROPHES})
_MAX_RUN = 48  # words in one run of number words; the longest real ones have about 40


@dataclass(frozen=True, slots=True)
class NumberWord:
    """What one vocabulary form means to the word parser."""

    value: float
    kind: str  # "unit" (0-99) | "hundreds" | "mult" (<1000) | "scale" (>=1000) | "half" | "and"
    counted: bool = False  # needs a count before it ("trois cents", "тысяч")
    needs_scale: bool = False  # a number only before a multiplier/scale ("a hundred")
    glued_only: bool = False  # an elided form, only glued to the next word ("vent|uno")
    rule: str = ""  # connectors: how they join two parts of one number


@dataclass(frozen=True, slots=True)
class RangeForm:
    """One way the language writes a range of two numbers ("tra 150 e 200")."""

    joiner: re.Pattern[str]  # the gap between the two numbers, fullmatched
    intro: re.Pattern[str] | None  # the words before the first number, ending at it
    intro_required: bool


@dataclass(frozen=True)
class NumberLanguage:
    """Everything the scanner knows about one language's numbers."""

    code: str
    group: str  # separators that group thousands in this language
    words: dict[str, NumberWord]  # normalised form -> meaning
    alone: dict[str, tuple[float, float | None]]  # form -> (value, scale) of one-word numbers
    abbreviations: dict[str, float]  # case-sensitive scale marks after digits
    vigesimal: frozenset[float]
    ranges: tuple[RangeForm, ...]
    digit_scan: re.Pattern[str]  # digits with an optional scale: "15.000", "4mila", "1,5 млн"
    word_scan: re.Pattern[str]  # a run of number words, after one non-word character
    form_lengths: tuple[int, ...] = field(default=())  # longest first, for glued words
    max_form_words: int = 1


def available_languages() -> list[str]:
    """Languages with a vocabulary file, e.g. ["de", "en", …]."""
    return sorted(p.stem for p in DATA_DIR.glob("*.yaml"))


def normalise_form(form: str) -> str:
    """The dictionary key of a form: lower case, one apostrophe, separators as one space."""
    form = form.lower().translate(APOSTROPHE_TABLE)
    return " ".join(CHUNK.findall(form))


@cache
def number_language(code: str) -> NumberLanguage:
    """The compiled vocabulary of `code`; ValueError if it has no file."""
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
    return NumberLanguage(
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


def _vocabulary(data: dict) -> dict[str, NumberWord]:
    words: dict[str, NumberWord] = {}

    def add(forms, word: NumberWord) -> None:
        for form in forms or ():
            words.setdefault(normalise_form(str(form)), word)

    for value, forms in (data.get("units") or {}).items():
        add(forms, NumberWord(float(value), "unit"))
    for value, forms in (data.get("hundreds") or {}).items():
        add(forms, NumberWord(float(value), "hundreds"))
    for section, kind in (("multipliers", "mult"), ("scales", "scale")):
        for value, forms in (data.get(section) or {}).items():
            add(forms.get("bare"), NumberWord(float(value), kind))
            add(forms.get("counted"), NumberWord(float(value), kind, counted=True))
    for value, forms in (data.get("needs_scale") or {}).items():
        add(forms, NumberWord(float(value), "unit", needs_scale=True))
    for value, forms in (data.get("glued") or {}).items():
        kind = "mult" if float(value) == 100 else "unit"
        add(forms, NumberWord(float(value), kind, glued_only=True))
    add(data.get("and_a_half"), NumberWord(0.5, "half"))
    for form, rule in (data.get("connectors") or {}).items():
        add([form], NumberWord(0.0, "and", rule=rule))
    return words


def _alone(words: dict[str, NumberWord]) -> dict[str, tuple[float, float | None]]:
    """Forms that are a number all by themselves, with the scale a range may borrow."""
    return {
        form: (w.value, w.value if w.kind == "scale" else None)
        for form, w in words.items()
        if w.kind in ("unit", "hundreds", "mult", "scale")
        and not (w.counted or w.needs_scale or w.glued_only)
    }


def _range(entry: dict) -> RangeForm:
    article = entry.get("article")
    art = rf"(?:(?:{article}){H_SPACE}*)?" if article else ""
    intro = entry.get("intro")
    return RangeForm(
        joiner=re.compile(rf"{H_SPACE}+(?:{entry['joiner']}){H_SPACE}+{art}"),
        intro=re.compile(rf"{NOT_WORD_BEFORE}(?:{intro}){H_SPACE}*{art}$") if intro else None,
        intro_required=bool(entry.get("intro_required")),
    )


def _digits_scanner(
    words: dict[str, NumberWord], abbreviations: dict, group: str
) -> re.Pattern[str]:
    """Digits, grouped or not, with a decimal part and a scale: "15 000", "1,5 milioni".

    No look-behind: the pattern starts with a digit so the engine jumps from digit to digit,
    and a match never starts inside a run of digits because every branch takes the whole run.
    """
    scales = [k for k, w in words.items() if w.kind in ("mult", "scale") and not w.glued_only]
    halves = [k for k, w in words.items() if w.kind == "half"]
    marks = _trie(scales + [a.lower() for a in abbreviations])
    grp = re.escape("".join(sorted(set(group) | set(THIN_SPACES))))
    # Two or more equal separators each before 3 digits group in any language ("1.234.567" and
    # "1 234 567" in English). The leading \d outside the alternation lets the engine skip
    # from digit to digit.
    number = (
        rf"\d(?:\d{{0,2}}(?:[{grp}]\d{{3}})+(?!\d)|\d{{0,2}}(?:\.\d{{3}}){{2,}}(?!\d)"
        rf"|\d{{0,2}}(?:,\d{{3}}){{2,}}(?!\d)|\d{{0,2}}(?: \d{{3}}){{2,}}(?!\d)|\d*)"
    )
    half = rf"(?:{H_SPACE}+(?P<half>{_trie(halves)}){NOT_WORD_AFTER})?" if halves else ""
    scale = rf"(?:[ {THIN_SPACES}]?(?P<sc>{marks})(?![^\W\d_]){half})?"
    return re.compile(rf"(?P<num>(?:{number})(?:[.,]\d+)?){scale}")


def _words_scanner(words: dict[str, NumberWord]) -> re.Pattern[str]:
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
        one.append(rf"{_trie(needs)}(?={WORD_SEP}{_trie(scales)}{NOT_WORD_AFTER})")
    if glued:
        one.append(rf"{_trie(glued)}(?={plain_re})")
    # One look at the first letter spares trying the three alternatives on most words.
    first = re.escape("".join(sorted({form[0] for form in words})))
    word = f"(?=[{first}])(?:" + "|".join(one) + ")"
    joint = rf"{WORD_SEP}?"
    if connectors:
        around = rf"(?:{H_SPACE}|[{HYPHENS}])*"  # "vingt et un", "vingt-et-un", "einundzwanzig"
        joint = rf"(?:{WORD_SEP}|{around}(?:{_trie(connectors)}){around})?"
    # A number is at most a few dozen words; the bound keeps odd inputs ("one one one …") linear.
    run = rf"{word}(?:{joint}{word}){{0,{_MAX_RUN}}}"
    return re.compile(rf"[^\w{APOSTROPHES}](?P<w>{run}){NOT_WORD_AFTER}")


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
        return WORD_SEP
    if char == "'":
        return f"[{APOSTROPHES}]"
    return re.escape(char)
