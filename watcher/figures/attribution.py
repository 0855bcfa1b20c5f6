"""Who says so: the source a sentence attributes a figure to, as written.

This module owns attribution: cues ("according to X", "secondo X", "по данным X"),
reporting verbs in both orders ("X said", ", ha riferito X", "wie X mitteilte"), and
trimming the phrase to the shortest name ("the regional governor" → "regional governor").
Attribution never crosses sentences: a figure in a sentence that names no one has no
source. It does not decide what is a figure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from watcher.figures.numbers import find_numbers
from watcher.figures.vocab import LanguageVocab

_TOKEN = re.compile(r"\w+(?:[-'’ʼ.]\w+)*['’ʼ]?|[^\w\s]")
_PUNCT_STOP = frozenset(",.;:!?()[]«»\"“”„–—|/-‘’‚‛'")
_MAX_WORDS = 8
_SKIPPABLE = 4  # stop words allowed between a subject and its verb
_POSTPOSED_TAIL = 4  # "told lawmakers on Wednesday" still closes the sentence
_NEXT_BREAK = re.compile(r"[,.;:!?]")
_AGENT_AT = re.compile(r"\s(?=\w)")  # word starts where an agent may be read
_AGENT_REACH = 4  # words between a cue and a participle's agent ("un décompte publié par")

# Ranks: a sentence-closing ", X said" covers the sentence; "according to X" covers its
# clause; a leading "X says (that)" covers what follows it.
_POSTPOSED, _PREFIX, _PREPOSED = 0, 1, 2
# "…, AFP reported, citing the UN refugee agency": the one relayed is the source, over all
_RELAYED = -1


@dataclass(frozen=True, slots=True)
class _Candidate:
    rank: int
    pos: int
    phrase: str


def find_source(text: str, sentence: tuple[int, int], clause: tuple[int, int],
                number_at: int, vocab: LanguageVocab,
                cache: dict[tuple[int, int], list[_Candidate]] | None = None) -> str | None:
    """The source of the figure at `number_at`, or None when the sentence names no one.
    `cache` (one per sentence) keeps the sentence's candidate sources between its figures."""
    cache = {} if cache is None else cache
    if clause not in cache:
        cache[clause] = _candidates(text, sentence, clause, vocab)
    cands = cache[clause]
    own = [c for c in cands if clause[0] <= c.pos < clause[1]]
    other = [c for c in cands
             if c not in own and (c.rank != _PREPOSED or _announces(text, c.pos, clause[0]))]
    for pool in (own, other):
        if pool:
            best = min(pool, key=lambda c: (c.rank, abs(c.pos - number_at)))
            return best.phrase
    return None


def _announces(text: str, pos: int, clause_start: int) -> bool:
    """"X ha rivisto la stima: i militari uccisi sarebbero 1.000": a leading "X says" whose
    clause ends in a colon covers the clause the colon opens."""
    return pos < clause_start and text.startswith(":", clause_start) \
        and not any(c in ";:" for c in text[pos:clause_start])


def _candidates(text: str, sentence: tuple[int, int], clause: tuple[int, int],
                vocab: LanguageVocab) -> list[_Candidate]:
    s, e = sentence
    out: list[_Candidate] = []
    for m in vocab.source_self.finditer(text, s, e):
        # "nach eigenen Angaben", "by its own account": the subject opening the clause, or
        # the one right before the cue when the clause opens with the figure ("Mehr als 600
        # Gefangene hat die Ukraine nach eigenen Angaben gemacht")
        floor = clause[0] if clause[0] <= m.start() < clause[1] else s
        opening = _TOKEN.findall(text[floor:m.start()])[:3]
        fronted = any(_is_number(t) for t in opening) or bool(opening and _hedged(opening, vocab))
        phrase = noun_phrase_before(text, m.start(), floor, vocab) if fronted \
            else noun_phrase_after(text, floor, m.start(), vocab)
        if phrase:
            out.append(_Candidate(_PREFIX, m.start(), phrase))
    own = {m.end() for m in vocab.source_self.finditer(text, s, e)}  # "eigenen Angaben zufolge"
    for m in vocab.source_postfix.finditer(text, s, e):
        # "der Polizei zufolge": the cue follows its source
        if m.end() in own:
            continue
        floor = clause[0] if clause[0] <= m.start() < clause[1] else s
        phrase = noun_phrase_before(text, m.start(), floor, vocab)
        if phrase:
            out.append(_Candidate(_PREFIX, m.start(), phrase))
    for m in vocab.source_prefix_named.finditer(text, s, e):
        # ", so die Feuerwehr", ", per the ministry": a cue that is also a common word counts
        # after punctuation (or opening the sentence) when a name or an article follows
        rest = text[_skip_space(text, m.end()):e]
        opens = not text[s:m.start()].strip() or _after_punctuation(text, s, m.start())
        if opens and (rest[:1].isupper() or vocab.source_strip.match(rest)):
            phrase = noun_phrase_after(text, m.end(), e, vocab)
            if phrase:
                out.append(_Candidate(_PREFIX, m.start(), phrase))
    for m in vocab.source_prefix.finditer(text, s, e):
        verb = vocab.source_verb.match(text, _skip_space(text, m.end()))  # "según informó X"
        at = verb.end() if verb else m.end()
        phrase = _agent_inside(text, at, e, vocab) or noun_phrase_after(text, at, e, vocab)
        if phrase:
            rank = _RELAYED if vocab.source_relay.fullmatch(m.group(0)) else _PREFIX
            out.append(_Candidate(rank, m.start(), phrase))
    for m in vocab.source_verb.finditer(text, s, e):
        cand = _verb_candidate(text, m, sentence, clause, vocab)
        if cand:
            out.append(cand)
    return out


def _hedged(tokens: list[str], vocab: LanguageVocab) -> bool:
    """The opening words are a hedge before a number ("Mehr als 600", "Oltre 600")."""
    return any(vocab.qualifier.search(" ".join(tokens[:i]) + " ")
               for i in range(1, len(tokens) + 1))


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _verb_candidate(text: str, m: re.Match[str], sentence: tuple[int, int],
                    clause: tuple[int, int], vocab: LanguageVocab) -> _Candidate | None:
    """", ha riferito X" (verb first) or "X said" (subject first)."""
    s, e = sentence
    before = text[max(s, m.start() - 40):m.start()]
    if vocab.source_prefix_end.search(before) or vocab.source_determiner.search(before):
        return None  # "según informó X" (the cue's), "la loro stima" (a noun, not a verb)
    agent = _agent(text, m.end(), e, vocab)
    if agent:  # "un bilan communiqué par la préfecture", "reported by the BBC"
        return _Candidate(_PREFIX, m.start(), agent)
    if _after_punctuation(text, s, m.start()):
        if vocab.source_prefix.match(text, _skip_space(text, m.end())):
            return None  # ", heißt es in einer Mitteilung der Polizei": the cue names the source
        phrase = noun_phrase_after(text, m.end(), e, vocab)
        return _Candidate(_POSTPOSED, m.start(), phrase) if phrase else None
    floor = clause[0] if clause[0] <= m.start() < clause[1] else s
    fronted = vocab.verb_second and _fronted_phrase(text, floor, m.start(), vocab)
    # "Am Abend meldete das Rote Kreuz …": the first place is not the subject's
    phrase = None if fronted else noun_phrase_before(text, m.start(), floor, vocab)
    if not phrase and not fronted and vocab.verb_final_clauses:
        # Verb-final clauses ("während Moskau die Verluste … schätzt"): the subject opens it.
        phrase = noun_phrase_after(text, floor, m.start(), vocab)
        if phrase and next(iter(vocab.triggers.finditer(phrase, 0, len(phrase))), None):
            phrase = None  # "Drei Tote sind bestätigt": the figure itself, not a source
    if not phrase and vocab.verb_second:
        # Verb-second main clauses ("Nach zuvor 2.000 Fällen meldet die WHO …"): the subject
        # follows.
        phrase = noun_phrase_after(text, m.end(), e, vocab)
    if not phrase:
        return None
    rank = _POSTPOSED if _closes_sentence(text, m.end(), e) else _PREPOSED
    return _Candidate(rank, m.start(), phrase)


def _agent(text: str, pos: int, end: int, vocab: LanguageVocab) -> str | None:
    """The agent after a reporting verb ("reported by the BBC"): a name or an article must
    follow, so "said by phone" and "indiqué par communiqué" name no one."""
    at = _skip_space(text, pos)
    agent = vocab.source_agent_articled.match(text, at)
    if agent is None:
        agent = vocab.source_agent.match(text, at)
        if agent is None:
            return None
        rest = text[_skip_space(text, agent.end()):end]
        if not (rest[:1].isupper() or vocab.source_strip.match(rest)):
            return None
    return noun_phrase_after(text, agent.end(), end, vocab)


def _agent_inside(text: str, pos: int, end: int, vocab: LanguageVocab) -> str | None:
    """"d'après un décompte publié par la mairie", "according to figures released by the UN":
    the agent of a participle within a few words after the cue is the source."""
    stop = _NEXT_BREAK.search(text, pos, end)
    hi = stop.start() if stop else end
    for m in _AGENT_AT.finditer(text, pos, hi):
        if len(text[pos:m.start()].split()) > _AGENT_REACH:
            break
        phrase = _agent(text, m.start(), end, vocab) if m.start() > pos else None
        if phrase:
            return phrase
    return None


def _fronted_phrase(text: str, floor: int, pos: int, vocab: LanguageVocab) -> bool:
    """The words before the verb (back to punctuation) open with a preposition: a fronted
    adverbial ("Am Abend", "Nach zuvor 2.000 Fällen"), after which the subject follows the verb."""
    head = text[floor:pos]
    cut = max(head.rfind(c) for c in ",;:(")
    first = _TOKEN.findall(head[cut + 1:])[:1]
    return bool(first) and vocab.source_preposition.fullmatch(first[0]) is not None


def _after_punctuation(text: str, floor: int, pos: int) -> bool:
    before = text[floor:pos].rstrip()
    return bool(before) and before[-1] in ",;:(–—"


def _closes_sentence(text: str, pos: int, end: int) -> bool:
    """The verb is followed by at most a few words, no number, then punctuation."""
    m = _NEXT_BREAK.search(text, pos, end)
    tail = text[pos:m.start() if m else end]
    return not any(c.isdigit() for c in tail) and len(tail.split()) <= _POSTPOSED_TAIL


def noun_phrase_after(text: str, pos: int, end: int, vocab: LanguageVocab) -> str | None:
    """The name right after a cue, up to punctuation, a number or a stop word."""
    chunk = text[pos:end].lstrip()
    chunk = vocab.source_strip.sub("", chunk)
    tokens = _TOKEN.findall(chunk)
    while tokens and vocab.source_skip.fullmatch(tokens[0]):  # "во вторник министерство"
        tokens = tokens[1:]
        while tokens and not vocab.source_strip.sub("", tokens[0] + " ").strip():
            tokens = tokens[1:]  # "hatte die IOM": an article after the skipped words
        if tokens:
            tokens[0] = vocab.source_strip.sub("", tokens[0] + " ").strip()
    kept: list[str] = []
    for i, tok in enumerate(tokens):
        if _ends_phrase(tok, kept, tokens[i + 1:i + 2], vocab):
            break
        kept.append(tok)
    return _finish(kept, vocab)


def noun_phrase_before(text: str, pos: int, floor: int, vocab: LanguageVocab) -> str | None:
    """The subject right before a reporting verb, back to punctuation or a stop word."""
    tokens = _TOKEN.findall(text[floor:pos])
    kept: list[str] = []
    skipped = 0
    for i in range(len(tokens) - 1, -1, -1):
        tok = tokens[i]
        if _is_number(tok) and kept:
            return None  # "das rund 10.000 Einwohner zählt": a counted noun, not a subject
        if tok in _PUNCT_STOP or _is_number(tok) or len(kept) >= _MAX_WORDS:
            break
        if not kept and skipped < _SKIPPABLE and vocab.source_skip.fullmatch(tok):
            skipped += 1  # "UNHCR am Donnerstag weiter mitteilte": adverbs before the verb
            continue
        if vocab.source_stop.fullmatch(tok) and not vocab.source_strip.match(tok + " ") \
                and not _link_inside_name(tokens, i, kept, vocab):
            break
        kept.insert(0, tok)
        if len(kept) > 1 and vocab.source_article.fullmatch(tok) \
                and not vocab.raw_links.fullmatch(tok) \
                and not (i > 0 and vocab.raw_links.fullmatch(tokens[i - 1])):
            break  # "Nel suo comunicato la Prefettura parla di": the article opens the subject
    phrase = vocab.source_strip.sub("", " ".join(kept))
    return _finish(phrase.split(), vocab)


def _link_inside_name(tokens: list[str], i: int, kept: list[str], vocab: LanguageVocab) -> bool:
    """"Gesundheitsministerium in Khartum": a link word between two capitalised words."""
    return bool(kept) and i > 0 and kept[0][:1].isupper() and tokens[i - 1][:1].isupper() \
        and vocab.raw_links.fullmatch(tokens[i]) is not None \
        and not vocab.source_stop.fullmatch(tokens[i - 1])


def _ends_phrase(tok: str, kept: list[str], nxt: list[str], vocab: LanguageVocab) -> bool:
    if tok in _PUNCT_STOP or _is_number(tok) or len(kept) >= _MAX_WORDS:
        return True
    if kept and _number_word(tok, vocab.lang):
        return True  # "… Beobachtungsstelle für Menschenrechte zwei Krankenschwestern": the count
    after_link = bool(kept) and vocab.raw_links.fullmatch(kept[-1]) is not None
    # "Ministry of Youth and Sports": a conjunction between two capitalised words is inside a name
    in_name = bool(kept and nxt) and kept[-1][:1].isupper() and nxt[0][:1].isupper() \
        and vocab.conjunctions.fullmatch(tok) is not None
    if kept and vocab.source_stop.fullmatch(tok) and not (after_link or in_name):
        return True
    if vocab.capitalized_nouns and kept and vocab.source_preposition.fullmatch(tok) \
            and not vocab.raw_links.fullmatch(tok):
        return True  # "die IOM vom Fund …": a preposition that is not part of a name
    if vocab.capitalized_nouns and kept and tok[:1].islower() and not after_link:
        # German: a lowercase word ends a name unless it is an adjective before a noun.
        return not (nxt and nxt[0][:1].isupper()) or vocab.source_stop.fullmatch(tok) is not None
    return False


@lru_cache(maxsize=4096)
def _number_word(tok: str, lang: str) -> bool:
    """A number written in words, two or more ("zwei", "трое"); "ein", "un" are articles."""
    if not tok[:1].isalpha():
        return False
    found = find_numbers(tok, lang)
    return len(found) == 1 and found[0].start == 0 and found[0].end == len(tok) \
        and found[0].value >= 2


def _is_number(tok: str) -> bool:
    return tok[:1].isdigit() and not any(c.isalpha() for c in tok)


def _finish(tokens: list[str], vocab: LanguageVocab) -> str | None:
    """Join, drop trailing link/filler words; refuse empty phrases and ones that are
    really dates or open with a metric word ("12 июля сообщил", "1,014 deaths were reported")."""
    while tokens and (vocab.raw_links.fullmatch(tokens[-1])
                      or vocab.source_stop.fullmatch(tokens[-1])):
        tokens = tokens[:-1]
    phrase = vocab.source_strip_end.sub("", " ".join(tokens)).strip(" '’")
    if not phrase or not any(c.isalpha() for c in phrase):
        return None
    if any(vocab.months.fullmatch(t) for t in tokens) or vocab.source_pronoun.fullmatch(phrase):
        return None
    first = next(iter(vocab.triggers.finditer(phrase, 0, len(phrase))), None)
    return None if first is not None and first[0] == 0 else phrase
