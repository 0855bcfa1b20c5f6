"""The number scanner: what a reader sees as numbers in a text, in seven languages.

Three kinds of evidence:
- hand-written cases (tests/data/numbers_cases.yaml), one table per language;
- third-party test corpora under /work/shared/corpora/numbers (Duckling, number-parser,
  Microsoft Recognizers-Text), restricted to counts, with a pass-rate floor per corpus and
  language that may only go up (run this file as a script to print the rates);
- a property test: any text, no crash, spans consistent.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sys
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.figures.numbers import NumberMention, available_languages, find_numbers

HERE = Path(__file__).resolve().parent
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPORA = SHARED / "corpora" / "numbers"
CASES = yaml.safe_load((HERE / "data" / "numbers_cases.yaml").read_text(encoding="utf-8"))
LANGS = ("en", "it", "fr", "de", "es", "ru", "uk")


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _seen(mention: NumberMention) -> tuple:
    return (mention.text, mention.value, mention.value_max, mention.kind)


def _matches(expected: list, mention: NumberMention) -> bool:
    """expected: [surface, value] | [surface, value, kind] | [surface, lo, hi, "range"]."""
    surface, value, *rest = expected
    value_max = rest[0] if len(rest) == 2 else None
    kind = rest[-1] if rest else mention.kind
    return (
        mention.text == surface
        and _same(mention.value, value)
        and _same(mention.value_max, value_max)
        and mention.kind == kind
    )


# --- hand-written cases ------------------------------------------------------------------


def _case_params():
    for lang in LANGS:
        for case in CASES[lang]:
            case_id = f"{lang}:{case['text'][:40]}"
            yield pytest.param(lang, case["text"], case["numbers"], id=case_id)


@pytest.mark.parametrize(("lang", "text", "expected"), list(_case_params()))
def test_hand_written_cases(lang: str, text: str, expected: list) -> None:
    found = find_numbers(text, lang)
    assert len(found) == len(expected) and all(map(_matches, expected, found)), (
        f"{text!r}: got {[_seen(m) for m in found]}, expected {expected}"
    )


def test_every_language_has_at_least_15_cases() -> None:
    assert {lang: len(CASES[lang]) >= 15 for lang in LANGS} == dict.fromkeys(LANGS, True)


def test_the_seven_languages_ship_and_regional_codes_fall_back() -> None:
    assert set(LANGS) <= set(available_languages())
    assert [m.value for m in find_numbers("15,000 troops", "en-US")] == [15000]


def test_unknown_language_says_how_to_add_it() -> None:
    with pytest.raises(ValueError, match=r"xx\.yaml"):
        find_numbers("12", "xx")


def test_offsets_are_in_the_original_text_even_when_lowercasing_changes_length() -> None:
    text = "İİ 3 тысячи İ"  # "İ".lower() is two characters
    [mention] = find_numbers(text, "ru")
    assert text[mention.start : mention.end] == "3 тысячи" and mention.value == 3000


def test_the_founding_case() -> None:
    text = (
        "circa 15.000 soldati; secondo i servizi segreti sudcoreani, circa 600 militari "
        "nordcoreani sarebbero stati uccisi e oltre 4mila feriti"
    )
    assert [(m.text, m.value) for m in find_numbers(text, "it")] == [
        ("15.000", 15000),
        ("600", 600),
        ("4mila", 4000),
    ]


# --- third-party corpora -----------------------------------------------------------------

# What we count as a count: not negative, not a fraction, ordinal, exponent, SI or Indian
# scale, spoken decimal or vague quantity (those are out of scope, see the module docstring
# of watcher.figures.numbers); a non-integer only with a scale ("1.2M", "1,5 milioni").
_NOT_A_COUNT = re.compile(
    r"""(?ix)
    ^\s*- | \s-\s*\d | \b(minus|negative|negativo|negativ|meno|moins|menos|минус|мінус)\b
    | [/^½¼¾⅓⅔⅙⅛°(] | \d\s*e[+-]?\d | \d\s*[gг]\b | \.\d+[gг]
    | \b(lakhs?|lkhs?|lac|crores?|cr|koti|krores?|kr|l)\b
    | \b(point|punto|virgola|komma|coma|con|точка|крапка|половиной)\b
    | \b(a\ few|few|a\ couple|a\ pair|single|nil|keiner|keinen|нисколько|nulla)\b
    | ^(zero|cero)\s
    | (th|ths|fifths?|thirds?|quarters?|fourths?|eighths?|halves|half|firsts?|over|out\ of)\b
    | (esim[oi]|quint[oi]|terz[oi]|quart[oi]|mezz[oi]|ottav[oi]|decim[oi]|\bsu\b|dozzin)
    | (i[eè]me|\bdemi|tiers|\bquarts?\b|\bsur\b)
    | (avos?\b|[eé]sim[oa]s?\b|quint[oa]s\b|tercios?\b|cuartos?\b|medios?\b|octavos?\b)
    | (\bsobre\b|mitad|\bdoc|\bdoz|\bdz\b)
    | (tel\b|halb)
    """
)
_SCALED = re.compile(r"(?i)\d\s*[^\W\d_]|mil|bil|tril|mio|mrd|тыс|тис|млн|милл|мільй|k\b")


def _is_count(text: str, value: float) -> bool:
    if value < 0 or _NOT_A_COUNT.search(text):
        return False
    return float(value).is_integer() or bool(_SCALED.search(text))


def _single_number_cases() -> dict[tuple[str, str], list[tuple[str, float]]]:
    """(corpus, lang) -> [(text, value)] from the corpora whose texts are one number each."""
    cases: dict[tuple[str, str], list[tuple[str, float]]] = {}

    def add(corpus: str, lang: str, text: str, value: float) -> None:
        if _is_count(text, value):
            cases.setdefault((corpus, lang), []).append((text, value))

    for row in json.loads((CORPORA / "duckling-numeral" / "numeral_examples.json").read_text()):
        add("duckling", row["lang"], row["text"], row["value"])
    pairs = CORPORA / "number-parser-tests" / "number_parser_unit_pairs.json"
    for row in json.loads(pairs.read_text(encoding="utf-8")):
        add("number-parser", row["lang"], row["text"], row["value"])
    for path in sorted((CORPORA / "number-parser-tests").glob("*.csv")):
        with path.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                text = " ".join(row["text"].split())  # the files have double spaces
                add("number-parser", path.name[:2], text, float(row["number"]))
    return cases


def _single_number_passes(text: str, value: float, lang: str) -> bool:
    found = find_numbers(text, lang)
    return len(found) == 1 and found[0].text == text.strip() and _same(found[0].value, value)


_RECOGNIZERS_LANGS = {
    "en": "English", "it": "Italian", "fr": "French", "de": "German", "es": "Spanish",
}


def _recognizers_value(raw: str) -> float:
    return float(raw.replace(",", "."))  # values are written with the culture's decimal mark


def _recognizers_cases(lang: str) -> list[tuple[str, list[tuple[int, int, float, float | None]]]]:
    """[(sentence, [(start, end, low, high)])] for the counts and plain ranges of one language."""
    cases = []
    name = _RECOGNIZERS_LANGS[lang]
    for model in ("NumberModel", "NumberRangeModel"):
        path = CORPORA / "recognizers-text-specs" / f"{name}_{model}.json"
        for row in json.loads(path.read_text(encoding="utf-8-sig")):
            spans = [_recognizers_span(r, row["Input"]) for r in row["Results"]]
            if row["Results"] and all(spans):
                cases.append((row["Input"], spans))
    return cases


def _recognizers_span(result: dict, sentence: str):
    text, raw = result["Text"], result["Resolution"].get("value") or ""
    start = result.get("Start", sentence.lower().find(text.lower()))  # a few rows lack it
    end = start + len(text)
    if start < 0 or sentence[start:end].lower() != text.lower():
        return None
    if result["TypeName"] == "number":
        value = _recognizers_value(raw)
        return (start, end, value, None) if _is_count(text, value) else None
    bounds = re.fullmatch(r"\[([\d.,]+),([\d.,]+)\)", raw)  # "[20,30)": "between 20 and 30"
    if result["TypeName"] != "numberrange" or not bounds or _NOT_A_COUNT.search(text):
        return None
    return (start, end, _recognizers_value(bounds[1]), _recognizers_value(bounds[2]))


def _recognizers_passes(sentence: str, spans: list, lang: str) -> bool:
    found = [(m.start, m.end, m.value, m.value_max) for m in find_numbers(sentence, lang)]
    return len(found) == len(spans) and all(
        f[:2] == s[:2] and _same(f[2], s[2]) and _same(f[3], s[3]) for f, s in zip(found, spans)
    )


def corpus_pass_rates() -> dict[tuple[str, str], tuple[int, int]]:
    """(corpus, lang) -> (passed, total)."""
    rates = {}
    for (corpus, lang), cases in sorted(_single_number_cases().items()):
        passed = sum(_single_number_passes(t, v, lang) for t, v in cases)
        rates[(corpus, lang)] = (passed, len(cases))
    for lang in _RECOGNIZERS_LANGS:
        cases = _recognizers_cases(lang)
        passed = sum(_recognizers_passes(s, spans, lang) for s, spans in cases)
        rates[("recognizers", lang)] = (passed, len(cases))
    return rates


# Pass-rate floors on the count subsets; raise them when the scanner improves, never lower.
FLOORS = {
    ("duckling", "en"): 0.96,
    ("duckling", "it"): 1.00,
    ("duckling", "fr"): 0.97,
    ("duckling", "de"): 1.00,
    ("duckling", "es"): 0.91,
    ("duckling", "ru"): 1.00,
    ("duckling", "uk"): 1.00,
    ("number-parser", "en"): 1.00,
    ("number-parser", "es"): 1.00,
    ("number-parser", "ru"): 1.00,
    ("number-parser", "uk"): 1.00,
    ("recognizers", "en"): 0.78,
    ("recognizers", "it"): 0.90,
    ("recognizers", "fr"): 0.81,
    ("recognizers", "de"): 0.85,
    ("recognizers", "es"): 0.95,
}


@pytest.fixture(scope="module")
def rates() -> dict[tuple[str, str], tuple[int, int]]:
    if not CORPORA.is_dir():
        pytest.skip(f"{CORPORA} is absent: third-party corpora are not shipped with the repo")
    return corpus_pass_rates()


@pytest.mark.parametrize("key", list(FLOORS), ids=lambda k: f"{k[0]}:{k[1]}")
def test_corpus_pass_rate_floor(rates: dict, key: tuple[str, str]) -> None:
    passed, total = rates[key]
    assert total > 0 and passed / total >= FLOORS[key], f"{key}: {passed}/{total}"


# --- properties --------------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    list("0123456789 .,'’-–\u00a0\u202f\u2009\nkKMİ")
    + ["one", "two", "thousand", "million", "half a", "and", "to", "between", "tra", "e", "mila",
       "duecento", "cent", "vingt", "et", "un", "und", "zwei", "тысяч", "от", "до", "п'ять", "y",
       "dozen", "a", "Mio.", "тыс.", "de", "à", "bis"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join), st.sampled_from(LANGS))
def test_never_crashes_and_spans_are_consistent(text: str, lang: str) -> None:
    found = find_numbers(text, lang)
    for mention in found:
        assert 0 <= mention.start < mention.end <= len(text)
        assert text[mention.start : mention.end] == mention.text
        assert mention.kind in ("digits", "words", "scaled", "range")
        assert mention.value_max is None or mention.value <= mention.value_max
    assert all(a.end <= b.start for a, b in pairwise(found))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.sampled_from(LANGS))
def test_never_crashes_on_any_unicode(text: str, lang: str) -> None:
    found = find_numbers(text, lang)
    assert all(text[m.start : m.end] == m.text for m in found)
    assert all(a.end <= b.start for a, b in pairwise(found))


if __name__ == "__main__":  # python tests/test_numbers.py: print the corpus pass rates
    sys.path.insert(0, str(HERE.parent))
    for (corpus, lang), (passed, total) in corpus_pass_rates().items():
        print(f"{corpus:14} {lang}  {passed:4}/{total:<4} {passed / total:6.1%}")
