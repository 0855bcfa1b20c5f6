"""Language data for the figure extractor: load `data/<lang>.yaml`, compile it once.

This module owns the file format (documented at the top of `data/en.yaml` and in
docs/extraction.md) and turns each file into a `LanguageVocab` of precompiled regexes.
It knows nothing about how the extractor uses them: no language is named in code here,
so adding a language is adding a YAML file.

Term syntax, used by every word list:
  - words separated by spaces match any run of whitespace;
  - `*` at the end (or start) of a word matches any word ending (or beginning): `kill*`;
  - an apostrophe matches ' ’ and ʼ; everything else is literal, case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

_APOSTROPHES = "['’ʼ‘]"
_FLAGS = re.IGNORECASE


_ANY_WORDS = r"(?:\S+\s+){0,8}?"  # a lone "*": up to eight words ("nahm * fest")


def term_pattern(term: str) -> str:
    """One term of a word list → a regex source (no boundaries)."""
    out = ""
    for i, word in enumerate(w for w in term.strip().split() if w):
        sep = "" if i == 0 or out.endswith(_ANY_WORDS) else r"\s+"
        out += sep + (_ANY_WORDS if word == "*" else _word_pattern(word))
    return out


def _word_pattern(word: str) -> str:
    head = r"\w*" if word.startswith("*") and len(word) > 1 else ""
    tail = r"\w*" if word.endswith("*") and len(word) > 1 else ""
    core = word.strip("*") if len(word) > 1 else word
    literal = re.sub("['’ʼ‘]", lambda _: _APOSTROPHES, re.escape(core))
    return head + literal + tail


def _atoms(term: str) -> list[str]:
    """A term as regex atoms (one literal character or one special piece each), for the trie."""
    atoms: list[str] = []
    for i, word in enumerate(w for w in term.strip().split() if w):
        if i and atoms[-1] != _ANY_WORDS:
            atoms.append(r"\s+")
        if word == "*":
            atoms.append(_ANY_WORDS)
            continue
        if word.startswith("*") and len(word) > 1:
            atoms.append(r"\w*")
        for ch in word.strip("*") if len(word) > 1 else word:
            atoms.append(_APOSTROPHES if ch in "'’ʼ‘" else re.escape(ch.lower()))
        if word.endswith("*") and len(word) > 1:
            atoms.append(r"\w*")
    return atoms


def trie_alternation(terms: Iterable[str]) -> str:
    """All terms as one regex shaped like a trie: shared prefixes are tried once, which keeps
    a few hundred metric words fast (a flat alternation retries every word at every position)."""
    root: dict[str, dict] = {}
    for term in terms:
        node = root
        for atom in _atoms(term):
            node = node.setdefault(atom, {})
        node[""] = {}
    return _emit(root) or r"(?!x)x"


def _emit(node: dict[str, dict]) -> str:
    # literal continuations before open ones (`\w*`, a lone `*`): "убитыми и ранеными" is
    # tried before "убит*" reads "убитыми" alone; every branch still ends at a word boundary
    ordered = sorted((a for a in node if a), key=lambda a: a in (r"\w*", _ANY_WORDS))
    branches = [atom + _emit(node[atom]) for atom in ordered]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:  # a term ends here, longer ones continue: try them first
        return f"(?:{body})?"
    return body


def alternation(terms: Iterable[str]) -> str:
    """Terms as one alternation; as a trie, longer terms first ("killed or wounded" > "killed")."""
    return trie_alternation(t for t in terms if t and t.strip())


def word_regex(terms: Iterable[str], *, anchor_end: bool = False) -> re.Pattern[str]:
    """Whole-word matcher for a list; `anchor_end` matches only at the end of the text."""
    end = r"\s*\Z" if anchor_end else ""
    return re.compile(rf"(?<!\w)(?:{alternation(terms)})(?!\w){end}", _FLAGS)


@dataclass(frozen=True, slots=True)
class Trigger:
    """What a metric word means: which metric, and what it needs around the number."""

    metric: str
    needs: str | None  # None, "people", "troops" or "disease"


@dataclass(slots=True)
class LanguageVocab:
    """Everything the extractor knows about one language, compiled."""

    lang: str
    script: str
    stopwords: frozenset[str]
    letters: str
    triggers: TriggerFinder
    people: re.Pattern[str]
    troops: re.Pattern[str]
    who: re.Pattern[str]
    disease: re.Pattern[str]
    qualifier: re.Pattern[str]
    qualifier_kind: dict[str, str]
    qualifier_after: re.Pattern[str]
    qualifier_after_kind: dict[str, str]
    negation_before: re.Pattern[str]
    trend_before: re.Pattern[str]
    range_open: re.Pattern[str]
    range_join: re.Pattern[str]
    units_after: re.Pattern[str]
    cues_before: re.Pattern[str]
    months: re.Pattern[str]
    compare_before: re.Pattern[str]
    vague_before: re.Pattern[str]
    clause_break: re.Pattern[str]
    conjunctions: re.Pattern[str]
    verb_final_clauses: bool
    verb_second: bool
    source_prefix: re.Pattern[str]
    source_prefix_end: re.Pattern[str]
    source_prefix_named: re.Pattern[str]
    source_relay: re.Pattern[str]
    source_postfix: re.Pattern[str]
    source_determiner: re.Pattern[str]
    source_preposition: re.Pattern[str]
    source_agent: re.Pattern[str]
    source_agent_articled: re.Pattern[str]
    source_article: re.Pattern[str]
    source_self: re.Pattern[str]
    source_skip: re.Pattern[str]
    source_pronoun: re.Pattern[str]
    range_lead: re.Pattern[str]
    source_verb: re.Pattern[str]
    source_strip: re.Pattern[str]
    source_strip_end: re.Pattern[str]
    source_stop: re.Pattern[str]
    raw_links: re.Pattern[str]
    capitalized_nouns: bool
    abbreviations: frozenset[str]
    gentilics: re.Pattern[str]
    locatives: re.Pattern[str]
    relatives: re.Pattern[str]
    past_in_aside: re.Pattern[str]
    with_before: re.Pattern[str]
    unless: dict[str, re.Pattern[str]]  # metric → words that, in the number's clause, undo it
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)


def _lst(data: Mapping[str, Any], *keys: str) -> list[str]:
    """A nested list from the YAML, [] when absent (every section is optional)."""
    node: Any = data
    for key in keys:
        node = node.get(key, {}) if isinstance(node, Mapping) else {}
    return [str(x) for x in node] if isinstance(node, list) else []


def _metric_terms(data: Mapping[str, Any],
                  extra: Mapping[str, Sequence[str]]) -> list[tuple[str, Trigger]]:
    """(term, Trigger) pairs from `metrics:` plus custom figures' terms."""
    pairs: list[tuple[str, Trigger]] = []
    for metric, spec in (data.get("metrics") or {}).items():
        spec = spec or {}
        pairs += [(t, Trigger(metric, None)) for t in _lst(spec, "terms")]
        for need in ("people", "troops", "disease"):
            pairs += [(t, Trigger(metric, need)) for t in _lst(spec, f"with_{need}")]
    for metric, terms in extra.items():
        pairs += [(str(t), Trigger(metric, None)) for t in terms]
    return pairs


class TriggerFinder:
    """Finds metric words in a span of text and says which metric each one names."""

    def __init__(self, pairs: list[tuple[str, Trigger]]):
        terms = trie_alternation(t for t, _ in pairs)
        self._regex = re.compile(rf"(?<!\w)(?:{terms})(?!\w)", _FLAGS)
        ordered = sorted(pairs, key=lambda p: len(p[0]), reverse=True)
        self._terms = [(re.compile(term_pattern(t), _FLAGS), trig) for t, trig in ordered]
        self._known: dict[str, Trigger | None] = {}

    def finditer(self, text: str, start: int, end: int) -> Iterable[tuple[int, int, Trigger]]:
        for m in self._regex.finditer(text, start, end):
            trig = self._identify(m.group(0))
            if trig is not None:
                yield m.start(), m.end(), trig

    def _identify(self, surface: str) -> Trigger | None:
        """The longest term that reads `surface`; cached, since the same words recur."""
        key = " ".join(surface.lower().split())
        if key not in self._known:
            reads = (trig for rx, trig in self._terms if rx.fullmatch(surface))
            self._known[key] = next(reads, None)
        return self._known[key]


def _qualifier_regex(data: Mapping[str, Any]) -> tuple[re.Pattern[str], dict[str, str]]:
    """Hedge words that end right before a number (an article may sit between)."""
    kinds: dict[str, str] = {}
    for kind in ("approx", "at_least", "at_most"):
        for term in _lst(data, "qualifiers", kind):
            kinds[fold_key(term)] = kind
    arts = alternation(_lst(data, "qualifiers", "articles"))
    cues = alternation(kinds)
    src = rf"(?<!\w)(?P<cue>{cues})(?:\s+(?:{arts}))?\s*\Z"
    return re.compile(src, _FLAGS), kinds


def _qualifier_after_regex(data: Mapping[str, Any]) -> tuple[re.Pattern[str], dict[str, str]]:
    """Hedges right after a number, or after one word (its noun): "35.000 circa", "or more"."""
    kinds = {fold_key(t): kind for kind in ("approx", "at_least", "at_most")
             for t in _lst(data, "qualifiers", "after", kind)}
    src = rf"\s+(?:[^\W\d]+\s+)?(?P<cue>{alternation(kinds)})(?!\w)"
    return re.compile(src, _FLAGS), kinds


def fold_key(term: str) -> str:
    return " ".join(term.lower().replace("’", "'").replace("ʼ", "'").split())


def qualifier_kind(vocab: LanguageVocab, cue_text: str) -> str | None:
    """The kind of a matched cue; stems (`*`) fall back to a prefix comparison."""
    key = fold_key(cue_text)
    if key in vocab.qualifier_kind:
        return vocab.qualifier_kind[key]
    for term, kind in vocab.qualifier_kind.items():
        if "*" in term and re.fullmatch(term_pattern(term), key, _FLAGS):
            return kind
    return None


def compile_vocab(lang: str, data: Mapping[str, Any],
                  extra_terms: Mapping[str, Sequence[str]] | None = None) -> LanguageVocab:
    """YAML mapping → LanguageVocab. `extra_terms`: custom metric id → terms."""
    trig = TriggerFinder(_metric_terms(data, extra_terms or {}))
    qual, kinds = _qualifier_regex(data)
    qual_after, kinds_after = _qualifier_after_regex(data)
    nf = lambda key: _lst(data, "not_figures", key)
    src = lambda key: _lst(data, "attribution", key)
    aux = alternation(src("auxiliaries"))
    arts = alternation(_lst(data, "qualifiers", "articles"))
    opens = alternation(_lst(data, "ranges", "open"))
    joins = alternation(_lst(data, "ranges", "join"))
    breaks = alternation(_lst(data, "clause_breaks"))
    relatives = alternation(_lst(data, "subject", "relatives"))
    metrics = data.get("metrics") or {}
    return LanguageVocab(
        lang=lang, script=str(data.get("script", "latin")),
        stopwords=frozenset(w.lower() for w in _lst(data, "stopwords")),
        letters=str(data.get("letters", "")),
        triggers=trig,
        people=word_regex(_lst(data, "people") + _lst(data, "troops") + _lst(data, "who")),
        who=word_regex(_lst(data, "who")),
        troops=word_regex(_lst(data, "troops")),
        disease=word_regex(_lst(data, "diseases")),
        qualifier=qual, qualifier_kind=kinds,
        qualifier_after=qual_after, qualifier_after_kind=kinds_after,
        negation_before=word_regex(_lst(data, "qualifiers", "negation")),
        trend_before=word_regex(_lst(data, "qualifiers", "trend"), anchor_end=True),
        range_open=re.compile(rf"(?<!\w)(?:{opens})(?:\s+(?:{arts}))?\s*\Z", _FLAGS),
        range_join=re.compile(
            rf"\s*(?:[-–—]|(?<!\w)(?:{joins})(?!\w))\s*(?:(?:{arts})\s+)?", _FLAGS),
        units_after=re.compile(rf"\A[\s(]*(?:{alternation(nf('units_after'))})(?!\w)", _FLAGS),
        cues_before=re.compile(
            rf"(?:(?<!\w)(?:{alternation(nf('cues_before'))})|[$€£¥₴₽])\s*\Z", _FLAGS),
        months=word_regex(nf("months")),
        compare_before=word_regex(nf("compare_before")),
        vague_before=word_regex(nf("vague_before"), anchor_end=True),
        clause_break=re.compile(rf"[;:]|\s[–—-]\s|(?<!\w)(?:{breaks})(?!\w)", _FLAGS),
        source_prefix=word_regex(src("prefix") + src("relay")),
        source_prefix_end=word_regex(src("prefix") + src("relay") + src("prefix_named"),
                                     anchor_end=True),
        source_relay=word_regex(src("relay")),
        source_prefix_named=word_regex(src("prefix_named")),
        source_postfix=word_regex(src("postfix")),
        source_determiner=word_regex(src("determiners"), anchor_end=True),
        source_preposition=word_regex(src("prepositions")),
        source_agent=re.compile(rf"(?:{alternation(src('agents'))})(?!\w)", _FLAGS),
        source_article=word_regex(src("articles")),
        source_agent_articled=re.compile(
            rf"(?:{alternation(src('agents_articled'))})(?:(?!\w)|(?<=['’]))", _FLAGS),
        source_self=word_regex(src("self")),
        source_skip=word_regex(src("skip") + src("auxiliaries")),
        source_pronoun=word_regex(src("pronouns")),
        range_lead=re.compile(rf"\A(?:{opens})(?:\s+(?:{arts}))?\s+", _FLAGS),
        source_verb=re.compile(
            rf"(?<!\w)(?:(?:{aux})\s+)?(?:{alternation(src('verbs'))})(?!\w)", _FLAGS),
        source_strip=re.compile(
            rf"\A(?:(?:{alternation(src('strip'))})(?:\s+|\Z|(?<=['’ʼ])))+", _FLAGS),
        source_strip_end=re.compile(rf"(?:\s+(?:{alternation(src('strip_end'))}))+\Z", _FLAGS),
        source_stop=word_regex(src("stop")),
        raw_links=word_regex(src("links")),
        capitalized_nouns=bool(data.get("capitalized_nouns", False)),
        verb_final_clauses=bool(data.get("verb_final_clauses", False)),
        verb_second=bool(data.get("verb_second", False)),
        conjunctions=word_regex(_lst(data, "conjunctions")),
        abbreviations=frozenset(a.lower() for a in _lst(data, "abbreviations")),
        gentilics=word_regex(_lst(data, "subject", "gentilics")),
        locatives=word_regex(_lst(data, "subject", "locatives"), anchor_end=True),
        relatives=re.compile(rf",\s*(?:{relatives})(?!\w)", _FLAGS),
        past_in_aside=word_regex(nf("past_in_aside")),
        with_before=word_regex(nf("with_before"), anchor_end=True),
        unless={metric: word_regex(_lst(spec, "unless")) for metric, spec in metrics.items()
                if _lst(spec or {}, "unless")},
        raw=data,
    )


def available_languages() -> tuple[str, ...]:
    """Every `data/<lang>.yaml` shipped, in a stable order (en first)."""
    names = [p.name[:-5] for p in resources.files("watcher.figures.data").iterdir()
             if p.name.endswith(".yaml")]
    return tuple(sorted(names, key=lambda n: (n != "en", n)))


@cache
def load_data(lang: str) -> Mapping[str, Any]:
    """The raw YAML of one language; KeyError-like ValueError when it is not shipped."""
    path = resources.files("watcher.figures.data").joinpath(f"{lang}.yaml")
    if not path.is_file():
        raise ValueError(f"no figure vocabulary for language {lang!r}; "
                         f"add watcher/figures/data/{lang}.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@lru_cache(maxsize=64)
def _cached(lang: str, extra_key: tuple[tuple[str, tuple[str, ...]], ...]) -> LanguageVocab:
    return compile_vocab(lang, load_data(lang), dict(extra_key))


def get_vocab(lang: str, extra_terms: Mapping[str, Sequence[str]] | None = None) -> LanguageVocab:
    """Compiled vocabulary of `lang`, with custom metric terms added; cached."""
    key = tuple(sorted((m, tuple(t)) for m, t in (extra_terms or {}).items()))
    return _cached(lang, key)

