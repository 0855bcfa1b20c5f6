"""The figure extractor as a desk uses it: what was counted, how many, how sure, who says so.

Expected values are what a careful reader records from each sentence (SPEC.md "Claim JSON").
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watcher.config.models import CustomFigure
from watcher.figures import SUPPORTED_LANGUAGES, Extractor, extract, guess_language
from watcher.figures.batch import run_batch
from watcher.types import BUILTIN_METRICS

SHARED = Path(__file__).resolve().parents[2] / "shared"
QUALIFIERS = {"exact", "approx", "at_least", "at_most", "range"}


def facts(text: str, lang: str | None = None, **kw) -> set[tuple]:
    """(metric, value, value_max, qualifier, source) of every claim, for set comparison."""
    return {(c.metric, c.value, c.value_max, c.qualifier, c.source)
            for c in Extractor().extract(text, lang, **kw)}


def test_seed_article_gives_exactly_the_three_founding_figures():
    path = SHARED / "seed-article.txt"
    if not path.exists():
        pytest.skip("shared seed article not available")
    claims = Extractor().extract(path.read_text(encoding="utf-8"), "it")
    got = {(c.metric, c.value, c.qualifier, c.source) for c in claims}
    assert got == {
        ("deployed", 15000, "approx", None),
        ("killed", 600, "approx", "servizi segreti sudcoreani"),
        ("wounded", 4000, "at_least", "servizi segreti sudcoreani"),
    }


@pytest.mark.parametrize("text, lang, expected", [
    # one subject shared by two figures, metric words on either side of the numbers
    ("Officials said 600 soldiers were killed and more than 4,000 wounded.", "en",
     {("killed", 600, None, "exact", "Officials"), ("wounded", 4000, None, "at_least", "Officials")}),
    ("L'esplosione ha ucciso 12 operai e ne ha feriti altri 30, secondo i vigili del fuoco.", "it",
     {("killed", 12, None, "exact", "vigili del fuoco"), ("wounded", 30, None, "exact", "vigili del fuoco")}),
    # number words, scaled numbers and local digit grouping
    ("Près de trois mille personnes ont fui la ville, selon la Croix-Rouge.", "fr",
     {("displaced", 3000, None, "approx", "Croix-Rouge")}),
    ("Laut Behörden wurden 2,5 Millionen Menschen vertrieben.", "de",
     {("displaced", 2500000, None, "exact", "Behörden")}),
    ("По данным спасателей, погибли 1 204 человека.", "ru",
     {("killed", 1204, None, "exact", "спасателей")}),
])
def test_figures_with_metric_value_and_source(text, lang, expected):
    assert facts(text, lang) == expected


@pytest.mark.parametrize("text, lang, qualifier, value_max", [
    ("About 300 people were evacuated.", "en", "approx", None),
    ("Nearly 300 people were evacuated.", "en", "approx", None),
    ("At least 300 people were evacuated.", "en", "at_least", None),
    ("Up to 300 people were evacuated.", "en", "at_most", None),
    ("No more than 300 people were evacuated.", "en", "at_most", None),  # negated "more than"
    ("Between 300 and 400 people were evacuated.", "en", "range", 400),
    ("Sono stati evacuati tra i 300 e i 400 residenti.", "it", "range", 400),
    ("Число погибших выросло до 300.", "ru", "exact", None),  # "rose to", not "up to"
    ("Эвакуированы до 300 жителей.", "ru", "at_most", None),
])
def test_hedges_become_qualifiers(text, lang, qualifier, value_max):
    (claim,) = Extractor().extract(text, lang)
    assert (claim.value, claim.qualifier, claim.value_max) == (300, qualifier, value_max)


@pytest.mark.parametrize("text, lang", [
    ("The war began on February 24, 2022 and the Su-34 flew at 4:15 a.m.", "en"),
    ("Il governo ha stanziato 4 milioni di euro, il 70% dei fondi, per 12 scuole.", "it"),
    ("Un homme de 47 ans a été blessé à 3 km du centre.", "fr"),
    ("Seit 2021 sind die Preise um 40 Prozent gestiegen; 2.000 Haushalte wurden befragt.", "de"),
    ("El sismo de magnitud 7,1 dejó daños por 300 millones de dólares.", "es"),
    ("Десятки человек погибли, сотни ранены.", "ru"),  # vague plurals are not figures
    ("19-річний студент отримав поранення о 04:20.", "uk"),
])
def test_numbers_that_are_not_figures_are_ignored(text, lang):
    assert Extractor().extract(text, lang) == []


@pytest.mark.parametrize("text, values", [
    ("The war of 2014 killed 300 soldiers.", [300]),  # a year is not a count…
    ("The 2022 offensive killed 1,200 soldiers.", [1200]),
    ("La guerra del 2014 ha ucciso 300 soldati.", [300]),
    ("2000 soldiers were killed in the attack.", [2000]),  # …unless people are counted
])
def test_years_are_not_figures_but_people_counted_in_year_like_numbers_are(text, values):
    lang = "it" if "guerra" in text else "en"
    assert [c.value for c in Extractor().extract(text, lang)] == values


def test_a_ship_carrying_passengers_is_not_a_toll_for_the_missing():
    got = facts("Seven people died and 19 remain missing after a ferry carrying 230 passengers sank.", "en")
    assert {(m, v) for m, v, *_ in got} == {("killed", 7), ("missing", 19)}


def test_attribution_stays_in_its_sentence():
    text = "The toll rose to 34 dead. The wounded number 150, a hospital spokesman said."
    got = {(c.metric, c.source) for c in Extractor().extract(text, "en")}
    assert got == {("killed", None), ("wounded", "hospital spokesman")}


def test_each_side_of_a_contrast_keeps_its_own_source():
    text = ("Kyiv said Russia lost 1,100 troops in a day, while Moscow claimed "
            "Ukrainian losses exceeded 400.")
    got = {(c.value, c.qualifier, c.source) for c in Extractor().extract(text, "en")}
    assert got == {(1100, "exact", "Kyiv"), (400, "at_least", "Moscow")}


def test_span_points_at_the_number_and_quote_is_the_sentence():
    text = "Roma. Secondo la Protezione civile, circa 4mila persone sono state evacuate."
    (claim,) = Extractor().extract(text, "it")
    assert text[claim.span[0]:claim.span[1]] == "4mila"
    assert claim.quote == "Secondo la Protezione civile, circa 4mila persone sono state evacuate."


def test_subject_keeps_only_sentences_about_the_topic_in_any_inflection():
    text = ("Sarebbero stati uccisi 600 soldati nordcoreani. "
            "Nello stesso giorno 12 civili russi sono stati feriti.")
    got = Extractor().extract(text, "it", subject=["nordcoreano", "Corea del Nord"])
    assert [(c.metric, c.value) for c in got] == [("killed", 600)]


def test_figures_filter_keeps_only_the_topic_metrics():
    text = "At least 20 people were killed and 45 injured."
    got = Extractor().extract(text, "en", figures={"wounded"})
    assert [(c.metric, c.value) for c in got] == [("wounded", 45)]


def test_custom_figure_terms_add_a_metric():
    fig = CustomFigure(id="rescued", terms={"en": ["rescued"], "it": ["tratti in salvo", "salvati"]})
    ex = Extractor(custom_figures=[fig])
    assert [(c.metric, c.value) for c in ex.extract("Rescuers said 85 migrants were rescued.", "en")] \
        == [("rescued", 85)]
    assert [(c.metric, c.value) for c in ex.extract("Sono stati tratti in salvo 85 migranti.", "it")] \
        == [("rescued", 85)]


@pytest.mark.parametrize("text, lang", [
    ("Secondo la Protezione civile, circa 4mila persone sono state evacuate dalle loro case.", "it"),
    ("Selon le ministère, plus de 40 personnes ont été blessées dans la nuit.", "fr"),
    ("Nach Angaben der Polizei wurden bei dem Unfall drei Menschen verletzt.", "de"),
    ("Según el Ministerio de Salud, más de dos mil personas han muerto por el brote.", "es"),
    ("The ministry said more than 40 people were injured overnight.", "en"),
    ("По данным МЧС, погибли 17 человек.", "ru"),
    ("За даними ДСНС, загинули 17 людей.", "uk"),
])
def test_guess_language(text, lang):
    assert guess_language(text) == lang
    assert extract(text) == Extractor().extract(text, lang)


def test_supported_languages_are_the_seven_shipped():
    assert set(SUPPORTED_LANGUAGES) == {"en", "it", "fr", "de", "es", "ru", "uk"}


def test_batch_writes_claims_with_ids_and_names_bad_lines():
    lines = [
        json.dumps({"id": "a", "lang": "en", "text": "At least 12 people were killed."}),
        "{not json",
        json.dumps({"id": "c", "text": "Secondo l'Onu, 300 persone sono state evacuate."}),
        json.dumps({"id": "d", "lang": "en"}),
    ]
    out, err = io.StringIO(), io.StringIO()
    bad = run_batch(lines, out, Extractor(), err=err)
    claims = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(c["id"], c["metric"], c["value"]) for c in claims] == [("a", "killed", 12), ("c", "evacuated", 300)]
    assert bad == 2
    assert "line 2" in err.getvalue() and "line 4" in err.getvalue()


_ARTICLE_BITS = st.sampled_from([
    "killed", "wounded", "circa", "oltre", "between", "and", "–", "-", "000", "4mila", "1,5 млн",
    "тыс.", "погибли", "по данным", "according to", "said", ",", ".", ";", " ", "\u00a0", "’",
    "Su-34", "COVID-19", "2024", "15.30", "%", "deux mille", "zweitausend", "dos mil", "дві тисячі",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_ARTICLE_BITS, st.text(max_size=8), st.integers(0, 10**7).map(str)), max_size=30),
       st.sampled_from(list(SUPPORTED_LANGUAGES) + [None]))
def test_never_crashes_and_claims_are_always_valid(parts, lang):
    text = " ".join(parts)
    for c in Extractor().extract(text, lang):
        assert c.metric in BUILTIN_METRICS and c.qualifier in QUALIFIERS
        assert 0 <= c.span[0] < c.span[1] <= len(text)
        surface = text[c.span[0]:c.span[1]]
        assert any(ch.isdigit() or ch.isalpha() for ch in surface)
        assert c.value > 0 and (c.value_max is None or c.value_max >= c.value)
        assert c.lang in SUPPORTED_LANGUAGES


def test_regional_language_tags_and_unknown_languages():
    text = "Secondo la Protezione civile, 300 persone sono state evacuate."
    assert Extractor().extract(text, "it-CH") == Extractor().extract(text, "it")
    assert Extractor().extract(text, "xx") == Extractor().extract(text, "it")  # guessed instead


def test_a_long_table_of_numbers_stays_fast():
    # 2,000 numbers and 2,000 metric words with no sentence end: must stay linear, not quadratic
    import time
    text = " ".join(f"{i * 7 + 3000} killed" for i in range(2000))  # no year-like numbers
    start = time.perf_counter()
    claims = Extractor().extract(text, "en")
    assert len(claims) == 2000
    assert time.perf_counter() - start < 5


def _regressions() -> list[dict]:
    import yaml
    data = yaml.safe_load((Path(__file__).parent / "data" / "extract_cases.yaml").read_text(encoding="utf-8"))
    return data["regressions"]


@pytest.mark.parametrize("case", _regressions(), ids=lambda c: c["id"])
def test_regression_cases_give_exactly_their_claims(case):
    """tests/data/extract_cases.yaml `regressions`: mechanisms fixed after a scenario found them."""
    want = {(c["metric"], c["value"], c["value_max"], c["qualifier"], c["source"]) for c in case["claims"]}
    assert facts(case["text"], case["lang"], subject=case.get("subject", ())) == want
