"""Topic matching: does an article belong to a tracked topic? Pure, fast, explainable.

Owns: text normalisation for matching (case, accents, apostrophes, dashes), the fuzzy
comparison of topic terms with an article's words and word n-grams (rapidfuzz), and
the rule set of `match:` in the config (every `all` group, one `any` term when given,
no `exclude` term), with a one-line reason for every decision.

Does not own: which sentences a figure belongs to (`subject:` is the extractor's), nor
language detection. An article is normalised once per poll (`prepare`, cached), then
checked against every topic.

Rules that keep fuzzy matching honest:
- a term of ≤ 4 characters ("DPRK", "КНДР", "Iran") must appear as a whole word;
  "DPRK" never matches "park";
- a longer term matches a word (or n words, for an n-word term) whose rapidfuzz ratio
  reaches `min_score` and which starts with the same letter — inflections live at the
  end of words ("nordcoreani" ~ "nordcoreano"), so "Russia" does not match "Prussia".
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache

from rapidfuzz import fuzz, process

from watcher.config.models import TopicSettings

SHORT_TERM = 4  # terms this short (after normalisation) must match exactly

_APOSTROPHES = dict.fromkeys(map(ord, "\u2019\u2018\u02bc\u02bb`\u00b4\u2032\uff07"), "'")
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")
_LETTERS = {ord("ł"): "l", ord("ø"): "o", ord("đ"): "d", ord("ħ"): "h", ord("ı"): "i",
            ord("æ"): "ae", ord("œ"): "oe", ord("þ"): "th", ord("ð"): "d"}
_BREVE, _DIAERESIS = "\u0306", "\u0308"
_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")
_CYRILLIC = re.compile("[\u0400-\u04ff]")


def normalize(text: str) -> str:
    """Matching form of a text: casefolded, accents dropped, punctuation unified.

    Latin accents go (Coréa → corea, Kyïv → kyiv); Cyrillic keeps its letters: й stays
    й (й and и are different letters), ё becomes е (the two are written
    interchangeably). Curly apostrophes become ', dashes become -, whitespace collapses.
    """
    if text.isascii():  # most English text: no accents, no compatibility forms
        return _SPACES.sub(" ", text.translate(_APOSTROPHES).lower()).strip()
    # Compatibility forms first (𝐀, ｆｕｌｌ-width), so that casefolding sees plain letters.
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).translate(_DASHES)
    text = unicodedata.normalize("NFKD", text.casefold())
    if _CYRILLIC.search(text):  # some marks stay: judge each one
        out: list[str] = []
        for ch in text:
            if unicodedata.combining(ch) and not _keep_mark(out[-1] if out else "", ch):
                continue
            out.append(ch)
        text = "".join(out)
    else:  # every mark goes, at C speed
        text = text.translate(_no_marks())
    text = unicodedata.normalize("NFC", text).translate(_LETTERS)
    return _SPACES.sub(" ", text).strip()


@cache
def _no_marks() -> dict[int, None]:
    """Every combining mark of this Python's Unicode database, to be deleted (built on
    first use: a tenth of a second)."""
    return dict.fromkeys(c for c in range(sys.maxunicode + 1) if unicodedata.combining(chr(c)))


def _keep_mark(base: str, mark: str) -> bool:
    """Combining marks survive only on Cyrillic letters, except ё's diaeresis."""
    if not ("\u0400" <= base <= "\u04ff"):
        return False
    return not (base == "е" and mark == _DIAERESIS)


def tokens(normalized: str) -> list[str]:
    """Words of a normalised text; apostrophes and hyphens split (dell'Ucraina → dell, ucraina)."""
    return _WORD.findall(normalized)


# -- the article side ----------------------------------------------------------------------
@dataclass
class PreparedText:
    """An article's words, indexed for fast lookup; n-grams are built on first use."""

    words: list[str]
    exact: set[str] = field(default_factory=set)
    _grams: dict[int, set[str]] = field(default_factory=dict)
    _by_initial: dict[int, dict[str, list[str]]] = field(default_factory=dict)

    def grams(self, n: int) -> set[str]:
        """Distinct n-word sequences of the text."""
        if n == 1:
            return self.exact
        if n not in self._grams:
            self._grams[n] = _ngrams(self.words, n)
        return self._grams[n]

    def candidates(self, n: int, initial: str) -> list[str]:
        """Distinct n-word sequences of the text that start with `initial`."""
        if n not in self._by_initial:
            self._by_initial[n] = _index(self.grams(n))
        return self._by_initial[n].get(initial, [])

    def has(self, phrase: str, n: int) -> bool:
        return phrase in self.exact if n == 1 else phrase in self.candidates(n, phrase[0])


def _ngrams(words: list[str], n: int) -> set[str]:
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def _index(grams: set[str]) -> dict[str, list[str]]:
    by_initial: dict[str, list[str]] = defaultdict(list)
    for gram in grams:
        by_initial[gram[0]].append(gram)
    return dict(by_initial)


@lru_cache(maxsize=512)
def prepare(title: str, text: str) -> PreparedText:
    """Normalise an article once; every topic's matcher reuses the cached result."""
    words = tokens(normalize(f"{title}\n{text}"))
    return PreparedText(words=words, exact=set(words))


# -- the topic side ------------------------------------------------------------------------
@dataclass(frozen=True)
class TopicMatch:
    topic_id: str
    matched: bool
    score: float  # the weakest required group's best score; 0 when not matched
    reason: str


@dataclass(frozen=True)
class _Term:
    label: str  # as written in the config, for reasons
    phrase: str  # normalised words joined by one space
    n: int  # number of words

    @property
    def short(self) -> bool:
        return len(self.phrase) <= SHORT_TERM


@dataclass(frozen=True)
class _Hit:
    term: _Term
    found: str
    score: float

    def describe(self) -> str:
        same = self.found == self.term.phrase
        found = "" if same else f" ~ '{self.found}'"
        return f"'{self.term.label}'{found} ({self.score:.0f})"


def _terms(labels: list[str]) -> tuple[_Term, ...]:
    out = []
    for label in labels:
        words = tokens(normalize(label))
        if words:  # a term of punctuation only can never match anything
            out.append(_Term(label=label, phrase=" ".join(words), n=len(words)))
    return tuple(out)


class TopicMatcher:
    """Decides whether an article belongs to one topic; build once per topic per config."""

    def __init__(self, topic: TopicSettings):
        self.topic_id = topic.id
        self.min_score = float(topic.match.min_score)
        self.all_groups = tuple(_terms(group) for group in topic.match.all)
        self.any_terms = _terms(topic.match.any)
        self.exclude = _terms(topic.match.exclude)
        # Reasons for a miss, written once: most articles miss most topics.
        self._missing = tuple(f"all[{i}]: none of {_labels(g)} found"
                              for i, g in enumerate(self.all_groups))
        self._missing_any = f"any: none of {_labels(self.any_terms)} found"

    def match(self, title: str, text: str) -> TopicMatch:
        doc = prepare(title, text)
        excluded = self._best(self.exclude, doc)
        if excluded:
            return self._result(False, 0.0, f"exclude {excluded.describe()}")
        hits: list[str] = []
        scores: list[float] = []
        for i, group in enumerate(self.all_groups):
            hit = self._best(group, doc)
            if hit is None:
                return self._result(False, 0.0, self._missing[i])
            hits.append(f"all[{i}] {hit.describe()}")
            scores.append(hit.score)
        if self.any_terms:
            hit = self._best(self.any_terms, doc)
            if hit is None:
                return self._result(False, 0.0, self._missing_any)
            hits.append(f"any {hit.describe()}")
            scores.append(hit.score)
        reason = "; ".join(hits) or "no terms configured: every article matches"
        return self._result(True, min(scores, default=100.0), reason)

    def _result(self, matched: bool, score: float, reason: str) -> TopicMatch:
        return TopicMatch(topic_id=self.topic_id, matched=matched, score=score, reason=reason)

    def _best(self, terms: tuple[_Term, ...], doc: PreparedText) -> _Hit | None:
        """The best-scoring term of `terms` in the article, or None below the threshold."""
        best: _Hit | None = None
        for term in terms:
            hit = self._find(term, doc)
            if hit and (best is None or hit.score > best.score):
                best = hit
                if hit.score >= 100:
                    break  # cannot do better than an exact word
        return best

    def _find(self, term: _Term, doc: PreparedText) -> _Hit | None:
        if doc.has(term.phrase, term.n):
            return _Hit(term, term.phrase, 100.0)
        if term.short:
            return None
        found = process.extractOne(term.phrase, doc.candidates(term.n, term.phrase[0]),
                                   scorer=fuzz.ratio, score_cutoff=self.min_score)
        return _Hit(term, found[0], float(found[1])) if found else None


# -- many topics at once ---------------------------------------------------------------------
_MAX_LENGTH_KEYS = 64  # a term whose fuzzy length range is wider is keyed by its initial only


class TopicIndex:
    """Which topics could match an article, found in one pass over its words.

    A prefilter, never the judge: `candidates` returns a superset of the topics whose
    `TopicMatcher.match` would say yes, and the matcher still decides. Each topic is keyed
    by one group of terms at least one of which every match needs (an `all` group, else
    `any`): a short term by its exact phrase, a longer one by (words, initial, length) for
    every length a fuzzy ratio of `min_score` allows — ratio = 100·(1 − d/(L+l)) with an
    edit distance d ≥ |L − l|. An article's n-grams are looked up in those keys.
    """

    def __init__(self, matchers: Sequence[TopicMatcher]):
        self.size = len(matchers)
        self._always: set[int] = set()  # topics without a required term: every article
        self._keys: dict[str | tuple[int, str, int], set[int]] = defaultdict(set)
        self._initials: dict[tuple[int, str], set[int]] = defaultdict(set)
        self._sizes: set[int] = set()  # n of the indexed terms
        for i, m in enumerate(matchers):
            groups = [*m.all_groups, m.any_terms] if m.any_terms else list(m.all_groups)
            if not groups:
                self._always.add(i)
                continue
            for term in min(groups, key=lambda g: _cost(g, m.min_score)):
                self._add(i, term, m.min_score)
        self._keys, self._initials = dict(self._keys), dict(self._initials)

    def _add(self, topic: int, term: _Term, min_score: float) -> None:
        self._sizes.add(term.n)
        if term.short:
            self._keys[term.phrase].add(topic)
            return
        lengths = _fuzzy_lengths(len(term.phrase), min_score)
        if lengths is None:
            self._initials[(term.n, term.phrase[0])].add(topic)
            return
        for length in lengths:
            self._keys[(term.n, term.phrase[0], length)].add(topic)

    def candidates(self, title: str, text: str) -> list[int]:
        """Positions (in the matchers' order) of the topics the article could match."""
        if len(self._always) == self.size:
            return list(range(self.size))
        doc = prepare(title, text)
        found = set(self._always)
        keys, initials = self._keys, self._initials
        for n in self._sizes:
            for gram in doc.grams(n):
                hit = keys.get(gram)
                if hit:
                    found |= hit
                hit = keys.get((n, gram[0], len(gram)))
                if hit:
                    found |= hit
                if initials:
                    hit = initials.get((n, gram[0]))
                    if hit:
                        found |= hit
        return sorted(found)


def _fuzzy_lengths(length: int, min_score: float) -> range | None:
    """Lengths l of a text whose fuzz.ratio with a term of `length` may reach min_score:
    |L − l| ≤ (1 − s/100)(L + l), in exact arithmetic (scaled by 100); None when unbounded."""
    slack = 100 - min_score
    if slack >= 100 or length * (100 + slack) > _MAX_LENGTH_KEYS * (100 - slack):
        return None  # hi would exceed _MAX_LENGTH_KEYS
    lo = next(x for x in range(1, length + 1) if (length - x) * 100 <= slack * (length + x))
    hi = max(x for x in range(length, _MAX_LENGTH_KEYS + 1)
             if (x - length) * 100 <= slack * (length + x))
    return range(lo, hi + 1)


def _cost(group: tuple[_Term, ...], min_score: float) -> int:
    """How many keys a group would add: fewer keys, fewer false candidates."""
    cost = 0
    for term in group:
        lengths = None if term.short else _fuzzy_lengths(len(term.phrase), min_score)
        cost += 1 if term.short else (1000 if lengths is None else len(lengths))
    return cost


def _labels(terms: tuple[_Term, ...], limit: int = 4) -> str:
    shown = ", ".join(f"'{t.label}'" for t in terms[:limit])
    return shown + (f" (+{len(terms) - limit} more)" if len(terms) > limit else "")
