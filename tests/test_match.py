"""Topic matching as a user configures it: fuzzy, multilingual, and not fooled by lookalikes."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from watcher.config.models import MatchSettings, TopicSettings
from watcher.pipeline.match import TopicMatcher, normalize

# The founding topic of SPEC.md, as a user would write it.
DPRK = MatchSettings(
    all=[["North Korea", "North Korean", "DPRK", "Corea del Nord", "nordcoreani", "Pyongyang",
          "КНДР"]],
    any=["Ukraine", "Russia", "Kursk", "Ucraina", "Украина", "Курск"],
    exclude=["football"],
    min_score=85,
)


def matcher(match: MatchSettings = DPRK) -> TopicMatcher:
    return TopicMatcher(TopicSettings(id="dprk-troops", name="DPRK troops", match=match))


# (why, title, text, expected) for the DPRK topic above
CASES = [
    ("the founding Italian wire story", "Guerra in Ucraina",
     ("Secondo i servizi segreti sudcoreani, circa 600 militari nordcoreani sarebbero stati "
      "uccisi e oltre 4mila feriti."), True),
    ("Italian inflection: nordcoreano ~ nordcoreani", "Un soldato nordcoreano catturato",
     "Kiev: il prigioniero è stato catturato nel Kursk.", True),
    ("English, plural adjective", "North Koreans fighting for Russia",
     "Thousands of troops were deployed.", True),
    ("multi-word term with accents and caps", "COREA DEL NORD",
     "Truppe di Coréa del Nord in Ucraina.", True),
    ("hyphenated and curly-apostrophe spelling", "North-Korean units",
     "Advance towards Russia’s Kursk region.", True),
    ("Italian elision splits the word", "Pyongyang", "Soldati al fronte dell’Ucraina.", True),
    ("Russian, with case endings", "Солдаты КНДР", "Бои на Украине продолжаются.", True),
    ("Cyrillic abbreviation in mixed text", "Войска КНДР в Курске", "", True),
    ("a topic word is needed from every group", "North Korea tests a missile",
     "The launch was detected by Japan.", False),
    ("words of a multi-word term far apart", "South Korea says troops moved north",
     "Russia and Ukraine exchanged fire.", False),
    ("excluded words veto a match", "North Korea football team",
     "They beat Russia 2-1.", False),
    ("DPRK must not match 'park'", "Russian troops parade in the park",
     "Moscow and Kursk celebrate.", False),
    ("Russia must not match Prussia", "North Korean history", "Prussia in the 1800s.", False),
    ("unrelated article", "Weather", "Sunny in Rome, rain in Milan.", False),
]


@pytest.mark.parametrize(("why", "title", "text", "expected"), CASES,
                         ids=[c[0] for c in CASES])
def test_dprk_topic_table(why, title, text, expected):
    result = matcher().match(title, text)
    assert result.matched is expected, result.reason
    assert result.topic_id == "dprk-troops"
    if expected:
        assert result.score >= 85
    else:
        assert result.score == 0


def test_reason_names_the_terms_that_matched():
    result = matcher().match("Guerra in Ucraina", "circa 600 militari nordcoreani uccisi")
    assert result.reason == "all[0] 'nordcoreani' (100); any 'Ucraina' (100)"
    assert result.score == 100


def test_reason_shows_the_fuzzy_word_and_its_score():
    result = matcher().match("Soldato nordcoreano", "al fronte in Ucraina")
    assert result.reason.startswith("all[0] 'nordcoreani' ~ 'nordcoreano' (9")
    assert 85 <= result.score < 100


def test_reason_for_an_exclusion_and_a_missing_group():
    excluded = matcher().match("North Korea football", "Russia")
    assert excluded.reason == "exclude 'football' (100)"
    missing = matcher().match("Ukraine news", "Nothing about the topic.")
    assert missing.reason.startswith("all[0]: none of 'North Korea', 'North Korean'")


@pytest.mark.parametrize(("match", "title", "expected"), [
    (MatchSettings(all=[["Iran"]]), "Iraq elections", False),  # 4 letters: exact word only
    (MatchSettings(all=[["Iran"]]), "Iran elections", True),
    (MatchSettings(all=[["DPRK"]], min_score=50), "A walk in the park", False),
    (MatchSettings(all=[["Gaza"]], min_score=50), "Gazprom results", False),
    (MatchSettings(all=[["earthquake"], ["Turkey", "Syria"]]), "Earthquakes hit Turkey", True),
    (MatchSettings(all=[["earthquake"], ["Turkey", "Syria"]]), "Earthquake in Japan", False),
    (MatchSettings(any=["Derna", "Libya"]), "Floods in Libya", True),
    (MatchSettings(any=["Derna", "Libya"]), "Floods in Spain", False),
    (MatchSettings(all=[["Kakhovka dam"]]), "Kakhovka Dam destroyed", True),
    (MatchSettings(all=[["COVID-19"]]), "Covid 19 cases rise", True),
    (MatchSettings(all=[["Ёлки"]]), "ёлки и елки", True),
    (MatchSettings(all=[["Харків", "Харьков"]]), "Удар по Харкову", True),
    (MatchSettings(all=[["Zelensky"]]), "Zelenskyy says", True),
    (MatchSettings(all=[["Zelensky"]], min_score=100), "Zelenskyy says", False),
])
def test_small_topics(match, title, expected):
    result = matcher(match).match(title, "")
    assert result.matched is expected, result.reason


def test_topic_without_terms_matches_everything():
    result = matcher(MatchSettings()).match("anything", "at all")
    assert result.matched and result.score == 100


@pytest.mark.parametrize(("raw", "expected"), [
    ("Coréa  del\tNord", "corea del nord"),
    ("KYÏV", "kyiv"),
    ("Straße", "strasse"),
    ("Łódź", "lodz"),
    ("dell’Ucraina — ieri", "dell'ucraina - ieri"),
    ("Ёжик", "ежик"),  # ё is written as е interchangeably
    ("Йошкар-Ола", "йошкар-ола"),  # й is a letter of its own, kept
    ("Україна Їжак", "україна їжак"),  # Ukrainian ї kept
    ("ＤＰＲＫ", "dprk"),  # full-width letters
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def _normalize_letter_by_letter(text: str) -> str:
    """The rule of `normalize`, spelled out one character at a time (it takes shortcuts
    for ASCII and for text without Cyrillic): compatibility forms, casefold, accents off
    except on Cyrillic letters (but ё → е), curly apostrophes and dashes unified."""
    import unicodedata

    from watcher.pipeline import match
    text = (unicodedata.normalize("NFKC", text)
            .translate(match._APOSTROPHES).translate(match._DASHES))
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", text.casefold()):
        base = out[-1] if out else ""
        cyrillic = "\u0400" <= base <= "\u04ff"
        if unicodedata.combining(ch) and not (cyrillic and not (base == "е" and ch == "\u0308")):
            continue
        out.append(ch)
    text = unicodedata.normalize("NFC", "".join(out)).translate(match._LETTERS)
    return " ".join(text.split())


# Letters that make the shortcuts matter: accents (precomposed and combining), Cyrillic
# with й/ё/ї, compatibility forms, curly quotes and dashes, marks at the very start.
_TRICKY = st.text(alphabet=st.sampled_from(
    list("abcXYZ '`-\t") + list("éÉàçñüöŁøÆœß’‘—–") + list("еиіуЕИёйїўЁЙЇ") +
    ["\u0301", "\u0308", "\u0306", "\u0327", "\u064e", "Ｄ", "Ｐ", "𝐀", "\u00a0"]), max_size=40)


_ASCII = st.text(alphabet="abcXYZ '`-\t.", max_size=30)


@given(st.one_of(_ASCII, _TRICKY, st.text(max_size=40)))
def test_normalize_shortcuts_agree_with_the_letter_by_letter_rule(text):
    assert normalize(text) == _normalize_letter_by_letter(text)


@given(st.text(max_size=60))
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


def test_long_articles_against_many_topics_all_match():
    """Speed is measured by benchmarks/bench_poll.py, not here: this checks the answers."""
    rng = random.Random(7)
    vocab = ["soldiers", "killed", "wounded", "ministry", "said", "Ukraine", "forces", "region",
             "attack", "drone", "village", "officials", "reported", "earthquake", "rescue",
             "government", "police", "president", "election", "market", "Pyongyang", "Kyiv"]
    articles = [(f"Headline {i}", " ".join(rng.choice(vocab) for _ in range(400)))
                for i in range(300)]
    topics = [matcher(MatchSettings(all=[[f"term{t}", "North Korean troops", "Pyongyang"]],
                                    any=["Ukraine", "Russia"], exclude=["football"]))
              for t in range(10)]
    matched = sum(t.match(title, text).matched for title, text in articles for t in topics)
    assert matched == len(articles) * len(topics)  # every article has Pyongyang and Ukraine


@given(st.text(max_size=200), st.text(max_size=200))
def test_any_text_gives_a_decision_with_a_reason(title, text):
    result = matcher().match(title, text)
    assert result.reason and "\n" not in result.reason
    assert result.matched == (result.score >= 85)


@given(st.from_regex(r"[a-z]{2,12}( [a-z]{2,12}){0,2}", fullmatch=True),
       st.text(alphabet="abcdefg ", max_size=40))
def test_a_term_written_in_capitals_inside_any_text_matches(term, noise):
    topic = matcher(MatchSettings(all=[[term]], min_score=90))
    assert topic.match("", f"{noise} {term.upper()}. {noise}").matched
