"""The figure extractor: numbers in a text → the claims a careful reader would record.

This module owns the order of the steps and the claim they add up to: find the metric words
(one scan per text; a text without one costs nothing more), the numbers (`numbers.py`) and
the ranges the number reader left apart ("tra i 16.000 e i 18.000"), keep the counts
(`counts.py`), delimit only the sentences holding one (`text.py`), then per number: its
hedge (`qualify.py`), whether it is a past figure quoted to compare or set in an aside
(decided here), its metric (`binding.py`) and its source (`attribution.py`), assembled into
a `Claim`. Every word it looks for comes from `data/<lang>.yaml` through `vocab.py`; the
records the steps share are in `context.py`.

It does not choose the language or filter by subject (`watcher.figures.Extractor`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection

from watcher.figures.attribution import find_source
from watcher.figures.binding import bind_metric, shared_verb, things_carried, undone
from watcher.figures.context import Found, MetricHit, SentenceContext
from watcher.figures.counts import is_article, is_count, is_glued, unit_follows
from watcher.figures.numbers import NumberMention, find_numbers
from watcher.figures.qualify import qualify
from watcher.figures.text import Sentence, WordIndex, clause_bounds, clause_of, sentence_around
from watcher.figures.vocab import LanguageVocab
from watcher.types import Claim

__all__ = ["extract_claims", "merge_ranges"]

_REACH_CHARS = 200  # a metric word farther than this from a number cannot be its metric
_PAST_GAP = 3  # words between "qui était" and its number ("jusqu'ici de")
_COMPARE_GAP = 2  # words between "up from an earlier estimate of" and its number


def extract_claims(text: str, lang: str, vocab: LanguageVocab,
                   figures: Collection[str] | None = None) -> list[Found]:
    """Every claim in `text`, each with the sentence and metric word it came from."""
    hits = [MetricHit(a, b, trig) for a, b, trig in vocab.triggers.finditer(text, 0, len(text))]
    if not hits:
        return []  # no metric word anywhere: the cheap common case
    mentions = find_numbers(text, lang)
    if not mentions:
        return []
    merged = merge_ranges(text, mentions, vocab)
    starts = [h.start for h in hits]
    countable = [m for m in merged if _near_hit(starts, m) and is_count(text, m, vocab)]
    number_starts = [m.start for m in merged]
    out: list[Found] = []
    for sentence, group in _by_sentence(text, countable, vocab):
        near = hits[bisect_left(starts, sentence.start):bisect_left(starts, sentence.end)]
        numbers = merged[bisect_left(number_starts, sentence.start):
                         bisect_left(number_starts, sentence.end)]
        out += _sentence_claims(text, sentence, group, numbers, near, lang, vocab)
    if figures is not None:
        out = [f for f in out if f.claim.metric in figures]
    return out


def _near_hit(starts: list[int], m: NumberMention) -> bool:
    """A metric word within reach of the number (checked before anything costlier)."""
    i = bisect_left(starts, m.start - _REACH_CHARS)
    return i < len(starts) and starts[i] <= m.end + _REACH_CHARS


def _by_sentence(text: str, mentions: list[NumberMention],
                 vocab: LanguageVocab) -> list[tuple[Sentence, list[NumberMention]]]:
    """Candidates grouped by sentence; only sentences holding one are ever delimited."""
    groups: list[tuple[Sentence, list[NumberMention]]] = []
    for m in mentions:
        if groups and m.start < groups[-1][0].end:
            groups[-1][1].append(m)
        else:
            groups.append((sentence_around(text, m.start, vocab), [m]))
    return groups


def _sentence_claims(text: str, sentence: Sentence, candidates: list[NumberMention],
                     numbers: list[NumberMention], hits: list[MetricHit], lang: str,
                     vocab: LanguageVocab) -> list[Found]:
    """Claims of one sentence: `numbers` are all its numbers, `candidates` the countable ones."""
    hits = [h for h in hits if h.end <= sentence.end]
    if not hits:
        return []  # no metric word in this sentence
    ctx = _read_sentence(text, sentence, candidates, numbers, hits, vocab)
    claims: list[Found] = []
    for mention in ctx.mentions:
        claim = _claim_for(ctx, mention, lang, claims[-1] if claims else None)
        if claim is not None:
            claims.append(claim)
    # "Le bilan, qui était jusqu'ici de 120 morts, s'élève à 180 morts": the figure in the
    # aside is what the sentence's other figure of that metric replaces
    current = {f.claim.metric for f in claims if not f.past_aside}
    return [f for f in claims if not (f.past_aside and f.claim.metric in current)]


def _read_sentence(text: str, sentence: Sentence, candidates: list[NumberMention],
                   numbers: list[NumberMention], hits: list[MetricHit],
                   vocab: LanguageVocab) -> SentenceContext:
    """What every number of the sentence needs: its words, clauses and walls."""
    # a model name ("Su-34") or a measure ("binnen 24 Stunden", "in 3 villages") is no rival
    # count: a metric word can be reached across it
    walls = [m for m in numbers
             if not is_glued(text[max(0, m.start - 40):m.start], text[m.end:m.end + 40], m)
             and not unit_follows(text[m.end:m.end + 40], vocab)]
    # "Dreißig Menschen wurden bei dem Anschlag auf ein Konzert … verletzt": a word for one
    # that is an article does not keep a number from the verb that comes after it
    ahead = [m for m in walls if not is_article(text, m, vocab)]
    return SentenceContext(text, sentence, vocab, hits,
                           WordIndex(text, sentence.start, sentence.end),
                           clause_bounds(text, sentence.start, sentence.end, vocab),
                           candidates, walls, [w.start for w in walls], [h.start for h in hits],
                           ahead, [w.start for w in ahead])


def _claim_for(ctx: SentenceContext, mention: NumberMention, lang: str,
               previous: Found | None) -> Found | None:
    text, s = ctx.text, ctx.sentence
    hedge = qualify(text, mention.start, mention.value_max is not None, ctx.vocab, s.start,
                    mention.end)
    if _quoted_to_compare(ctx, hedge.start):
        return None
    bound = bind_metric(ctx, mention, hedge) or shared_verb(ctx, mention, hedge, previous)
    if bound is None:
        return None
    metric, metric_at = bound
    if metric_at[1] <= hedge.start and things_carried(ctx, mention, hedge):
        return None
    clause = clause_of(ctx.cuts, s.end, mention.start)
    if undone(ctx, metric, clause, hedge.start, mention.end):
        return None  # "released 39 prisoners in exchange for 13 hostages": no longer held
    source = find_source(text, (s.start, s.end), clause, mention.start, ctx.vocab, ctx.sources)
    claim = Claim(metric=metric, value=mention.value, value_max=mention.value_max,
                  qualifier=hedge.qualifier,  # type: ignore[arg-type]
                  source=source, quote=text[s.start:s.end].strip(),
                  span=_number_span(mention, ctx.vocab), lang=lang)
    return Found(claim, s, metric_at, _past_aside(ctx, hedge.start))


def _number_span(mention: NumberMention, vocab: LanguageVocab) -> tuple[int, int]:
    """Offsets of the number itself: a range's span starts at its first number, after
    "between"/"tra"/"от"."""
    text = mention.text
    lead = len(text) - len(text.lstrip())
    if mention.kind == "range":
        opener = vocab.range_lead.match(text, lead)
        lead = opener.end() if opener else lead
    return mention.start + lead, mention.end


# ----------------------------------------------------------------------------------------
# Past figures: quoted to compare, or set in an aside


def _quoted_to_compare(ctx: SentenceContext, start: int) -> bool:
    """"up from an earlier estimate of 600": a past figure, not a claim."""
    clause_start, _ = clause_of(ctx.cuts, ctx.sentence.end, start)
    lo = max(clause_start, start - 45)
    return any(ctx.words.between(m.end(), start) <= _COMPARE_GAP
               for m in ctx.vocab.compare_before.finditer(ctx.text, lo, start))


def _past_aside(ctx: SentenceContext, start: int) -> bool:
    """"Le bilan, qui était jusqu'ici de 120 morts, s'élève à 180": a number in a relative
    clause set off by commas, a few words after a past copula ("était", "which had stood
    at"), may be what the figure used to be."""
    s = ctx.sentence
    for m in ctx.vocab.relatives.finditer(ctx.text, s.start, start):
        if ctx.text.find(",", m.end(), start) >= 0:
            continue
        # the copula governs the number: "était jusqu'ici de 120", not "were treating 40 wounded"
        if any(ctx.words.between(p.end(), start) <= _PAST_GAP
               for p in ctx.vocab.past_in_aside.finditer(ctx.text, m.end(), start)):
            return True
    return False


# ----------------------------------------------------------------------------------------
# Ranges the number reader left apart ("tra i 16.000 e i 18.000")


def merge_ranges(text: str, mentions: list[NumberMention],
                 vocab: LanguageVocab) -> list[NumberMention]:
    """Join "between A and B" / "A-B" pairs into one range mention; drop the "from" of a trend."""
    out: list[NumberMention] = []
    i = 0
    while i < len(mentions):
        a = mentions[i]
        b = mentions[i + 1] if i + 1 < len(mentions) else None
        joined = _join(text, a, b, vocab) if b is not None else None
        if joined is not None:
            out.append(joined)
            i += 2
        else:
            out.append(a)
            i += 1
    return out


def _join(text: str, a: NumberMention, b: NumberMention,
          vocab: LanguageVocab) -> NumberMention | None:
    if a.value_max is not None or b.value_max is not None or b.value <= a.value:
        return None
    gap = vocab.range_join.fullmatch(text, a.end, b.start)
    if gap is None:
        return None
    opener = vocab.range_open.search(text, max(0, a.start - 25), a.start)
    dash = gap.group(0).strip()[:1] in "-–—"
    if opener is None and not dash:
        return None
    start = opener.start() if opener is not None else a.start
    if opener is not None and vocab.trend_before.search(text, max(0, start - 30), start):
        return None  # "rose from 300 to 350": a change, the later number is the figure
    return NumberMention(start, b.end, a.value, b.value, "range", text[start:b.end])
