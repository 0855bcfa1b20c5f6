"""Whose figure is it: does a claim count the topic's subject ("North Korean"), or someone
named in the same sentence?

This module owns subject binding. A figure is about the subject when its own noun phrase
(the words between the number and its metric word, and the modifiers right after them:
"1,200 *Russian* soldiers", "60 morts *à Brazzaville*", "soldati *russi*") names it; when
that phrase names someone else, it is not. A phrase that names no one ("600 killed") falls
back to the sentence: the subject must be mentioned outside the side remarks (", where
North Korean units are also deployed,", ", wohin viele Menschen aus Darfur geflohen sind,")
that do not hold the number. Like is compared with like: a place ("à Brazzaville") rivals
a subject mentioned as a place ("face à Kinshasa"), a people or body ("Russian soldiers") a
subject mentioned as one ("North Korean units"); so "North Korea lost 600 soldiers in Kursk"
is still North Korea's figure and "50 Palestinians were killed in Gaza" still Gaza's.

Language knowledge (nationality adjectives, place prepositions, relative words) comes from
the `subject:` section of `data/<lang>.yaml`. It does not find figures or their metrics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from watcher.figures.text import fold, words
from watcher.figures.vocab import LanguageVocab

_TOKEN = re.compile(r"\w+(?:['’ʼ-]\w+)*|[^\w\s]")
_WORD = re.compile(r"\w+(?:['’ʼ]\w+)*")  # as `words()`: "Etats-Unis" is two words
# words after the phrase that can still modify it ("in southern Turkey and northern Syria")
_MODIFIERS = 10
_CLAUSE_END = re.compile(r"[,;:()\[\]«»\"“”]")


@dataclass(frozen=True, slots=True)
class _Name:
    """A word of the number's phrase that names someone or somewhere."""

    word: str
    place: bool  # after a place preposition ("à Brazzaville")


class SubjectMatcher:
    """"is this figure about North Korean troops?": every word of one term, fuzzily."""

    def __init__(self, terms: Sequence[str]):
        self._terms = [[fold(w) for w in words(t)] for t in terms if words(t)]

    def matches(self, text: str) -> bool:
        have = {fold(w) for w in words(text)}
        return any(all(_word_in(w, have) for w in term) for term in self._terms)

    def about(self, text: str, sentence: tuple[int, int], number: tuple[int, int],
              metric_at: tuple[int, int], vocab: LanguageVocab) -> bool:
        """True when the figure at `number`, bound to the metric word at `metric_at`, counts
        the subject (see the module docstring)."""
        lo, hi = _phrase(text, sentence, number, metric_at)
        names, hi = _names(text, sentence[0], lo, hi, vocab)
        if self.matches(text[lo:hi]):
            return True
        rest = _outside_asides(text, sentence, number, vocab)
        mentions = set(self._mentions(rest, vocab))
        # like with like: a place rivals a subject named as a place ("à Brazzaville … face à
        # Kinshasa"), a people or body a subject named as one ("Russian soldiers … North Korean
        # units")
        return bool(mentions) and not any(n.place in mentions for n in names)

    def _mentions(self, text: str, vocab: LanguageVocab) -> list[bool]:
        """For each subject term the text mentions: whether it is mentioned as a place."""
        toks = [(m.start(), fold(m.group(0))) for m in _WORD.finditer(text)]
        have = {t for _, t in toks}
        out = []
        for term in self._terms:
            if not all(_word_in(w, have) for w in term):
                continue
            first = [pos for pos, t in toks if _word_in(term[0], {t})]
            out.append(any(_placed(text, p, vocab) for p in first))
        return out


def _phrase(text: str, sentence: tuple[int, int], number: tuple[int, int],
            metric_at: tuple[int, int]) -> tuple[int, int]:
    """The number and, when its metric word follows, the words up to it (not across punctuation)."""
    lo, hi = number
    if metric_at[0] >= hi:
        stop = _CLAUSE_END.search(text, hi, metric_at[0])
        hi = metric_at[1] if stop is None else hi
    return lo, min(hi, sentence[1])


def _names(text: str, floor: int, lo: int, hi: int,
           vocab: LanguageVocab) -> tuple[list[_Name], int]:
    """Names inside the phrase and in the modifiers right after it; and where the phrase ends."""
    names: list[_Name] = []
    # after "in"/"à"/"en", through articles, adjectives and "and": "in southern Turkey and
    # northern Syria"
    place = False
    head = False  # one unlisted noun may head the phrase: "five Palestinian gunmen in West Bank"
    plain = 0
    went_on = False  # a place phrase began: no head noun after it
    end = hi
    for m in _TOKEN.finditer(text, lo, min(len(text), hi + 160)):
        tok, inside = m.group(0), m.start() < hi
        if _ends_at(tok, inside):
            break
        if _is_place_word(text, m, vocab):
            place, plain, went_on = True, 0, True
        elif _is_name(tok, m.start() == floor, vocab):
            names.append(_Name(tok, place))
        elif tok[:1].isupper() and tok.lower() in vocab.stopwords:
            pass  # "La" of "La Paz"
        elif place and _article(tok, vocab):
            pass
        elif place and plain < 1 and _plain_word(tok, vocab):
            plain += 1  # one adjective or noun: "in southern Turkey", "in a raid on …"
        else:
            place = False
            if not inside and not vocab.people.fullmatch(tok):
                if head or went_on or not _plain_word(tok, vocab):
                    break
                head = True  # the noun the number counts, before any place phrase
        if not inside:
            end = m.end()
            if len(words(text[hi:end])) >= _MODIFIERS:
                break
    return names, end


def _ends_at(tok: str, inside: bool) -> bool:
    """Punctuation or another number ends the modifiers after the phrase."""
    return not inside and not tok[:1].isalpha()


def _is_place_word(text: str, m: re.Match[str], vocab: LanguageVocab) -> bool:
    """A place preposition ("in", "à", "près de") ending at this token."""
    return vocab.locatives.search(text, max(0, m.start() - 12), m.end()) is not None \
        and vocab.locatives.search(text, max(0, m.start() - 12), m.start()) is None


def _placed(text: str, pos: int, vocab: LanguageVocab) -> bool:
    """A mention named as a place: a place preposition before it, maybe across an article or an
    adjective ("face à Kinshasa", "on a West Bank refugee camp", "en Lima")."""
    before = list(_TOKEN.finditer(text, max(0, pos - 60), pos))[-3:]
    for m in reversed(before):
        if vocab.locatives.search(text, max(0, m.start() - 12), m.end()):
            return True
        if not (_article(m.group(0), vocab) or _plain_word(m.group(0), vocab)):
            return False
    return False


def _article(tok: str, vocab: LanguageVocab) -> bool:
    """A function word that may sit inside a place phrase ("in *a* raid on *the* West Bank")."""
    return tok.lower() in vocab.stopwords or vocab.source_strip.match(tok + " ") is not None


def _plain_word(tok: str, vocab: LanguageVocab) -> bool:
    """A lower-case word that is not a function word: maybe the phrase's noun."""
    return tok[:1].islower() and tok.lower() not in vocab.stopwords \
        and not _function_word(tok, vocab)


def _function_word(tok: str, vocab: LanguageVocab) -> bool:
    return bool(vocab.source_stop.fullmatch(tok) or vocab.source_skip.fullmatch(tok)
                or vocab.range_lead.match(tok + " ") or vocab.clause_break.fullmatch(tok))


def _is_name(tok: str, sentence_initial: bool, vocab: LanguageVocab) -> bool:
    """A nationality adjective, or a capitalised word where only names are capitalised."""
    low = tok.lower()
    if not tok[:1].isalpha() or low in vocab.stopwords or vocab.people.fullmatch(tok) \
            or _function_word(tok, vocab):
        return False
    if vocab.gentilics.fullmatch(tok):
        return True
    if vocab.capitalized_nouns or sentence_initial or not tok[:1].isupper():
        return False
    return not (vocab.locatives.fullmatch(tok) or vocab.relatives.search(", " + tok)
                or vocab.source_stop.fullmatch(tok)
                or next(iter(vocab.triggers.finditer(tok, 0, len(tok))), None))


def _outside_asides(text: str, sentence: tuple[int, int], number: tuple[int, int],
                    vocab: LanguageVocab) -> str:
    """The sentence without the relative clauses set off by commas that do not hold the number."""
    s, e = sentence
    out, pos = [], s
    for m in vocab.relatives.finditer(text, s, e):
        if m.start() < pos:
            continue
        end_m = _CLAUSE_END.search(text, m.end(), e)
        end = end_m.start() if end_m else e
        if m.start() <= number[0] < end:
            continue
        out.append(text[pos:m.start()])
        pos = end
    out.append(text[pos:e])
    return " ".join(out)


def _word_in(word: str, have: set[str]) -> bool:
    """Exact, or an inflected form: a shared stem of all but the last few letters."""
    if word in have:
        return True
    stem = max(4, len(word) - 3)
    if len(word) < 4:
        return False
    return any(len(h) >= 4 and h[:stem] == word[:stem] for h in have)
