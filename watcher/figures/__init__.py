"""Figures in news text: what was counted, how many, how sure, who says so.

The public face of the extractor: `Extractor` (custom figures, topic subject and figure
filters), the `extract` shortcut, `guess_language` and `SUPPORTED_LANGUAGES`. The work is
done in `extract.py` and its helpers; this module only chooses the language and filters.
It does not store, compare or deliver anything.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from functools import cache, lru_cache

from watcher.config.models import CustomFigure
from watcher.figures.context import Found
from watcher.figures.extract import extract_claims
from watcher.figures.subject import SubjectMatcher
from watcher.figures.text import words
from watcher.figures.vocab import available_languages, get_vocab, load_data
from watcher.types import Claim

__all__ = ["SUPPORTED_LANGUAGES", "Extractor", "extract", "guess_language"]

SUPPORTED_LANGUAGES: tuple[str, ...] = available_languages()

_SAMPLE = 4000  # characters looked at to guess a language: plenty, and cheap
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[A-Za-zÀ-ɏ]")


class Extractor:
    """Reads claims out of texts; one instance per configuration, reusable and thread-safe."""

    def __init__(self, custom_figures: Sequence[CustomFigure] = ()):
        self._custom: dict[str, dict[str, list[str]]] = {}
        for fig in custom_figures:
            for lang, terms in fig.terms.items():
                self._custom.setdefault(lang, {})[fig.id] = list(terms)

    def extract(self, text: str, lang: str | None = None, *, subject: Sequence[str] = (),
                figures: Collection[str] | None = None) -> list[Claim]:
        """Claims in `text` in reading order; `subject`/`figures` keep only a topic's claims."""
        lang = _supported(lang) or guess_language(text)
        vocab = get_vocab(lang, self._custom.get(lang))
        found = extract_claims(text, lang, vocab, figures)
        if subject:
            matcher = SubjectMatcher(subject)
            found = [f for f in found if matcher.about(text, (f.sentence.start, f.sentence.end),
                                                       _number_at(f), f.metric_at, vocab)]
        return [f.claim for f in found]


def _number_at(found: Found) -> tuple[int, int]:
    return found.claim.span[0], found.claim.span[1]


def _supported(lang: str | None) -> str | None:
    """"it", "IT", "it-IT", "it_CH" → "it"; an unsupported or missing language → None."""
    code = (lang or "").replace("_", "-").split("-")[0].lower()
    return code if code in SUPPORTED_LANGUAGES else None


def guess_language(text: str) -> str:
    """One of SUPPORTED_LANGUAGES from alphabet and stopword counts; "en" when unsure."""
    sample = text[:_SAMPLE]
    cyr = len(_CYRILLIC.findall(sample))
    if cyr > len(_LATIN.findall(sample)):
        return _best_by_letters(sample) or "en"
    return _best_by_stopwords(sample) or "en"


def _best_by_letters(sample: str) -> str | None:
    """Among Cyrillic languages: their own letters (і ї є / ы э ъ) weigh most, then stopwords."""
    tokens = [w.lower() for w in words(sample)]
    scores = {lang: 3 * sum(sample.count(c) for c in str(load_data(lang).get("letters", "")))
              + sum(1 for w in tokens if w in _stopwords(lang))
              for lang in SUPPORTED_LANGUAGES if load_data(lang).get("script") == "cyrillic"}
    return max(scores, key=lambda k: scores[k], default=None)


def _best_by_stopwords(sample: str) -> str | None:
    tokens = [w.lower() for w in words(sample)]
    scores = {lang: sum(1 for w in tokens if w in _stopwords(lang))
              for lang in SUPPORTED_LANGUAGES if load_data(lang).get("script", "latin") == "latin"}
    best = max(scores, key=lambda k: scores[k], default=None)
    return best if best and scores[best] > 0 else None


@cache
def _stopwords(lang: str) -> frozenset[str]:
    return frozenset(str(w).lower() for w in load_data(lang).get("stopwords", []))


@lru_cache(maxsize=1)
def _default() -> Extractor:
    return Extractor()


def extract(text: str, lang: str | None = None) -> list[Claim]:
    """Claims in `text` with the built-in metrics only (a cached default Extractor)."""
    return _default().extract(text, lang)
