"""The figure extractor: numbers in a text → the claims a careful reader would record.

This module owns the decisions: which numbers are figures (not years, times, money,
units, model names, ages, past figures quoted to compare), which metric each one counts
(the nearest metric word in its clause, on either side, never across another number),
and assembling `Claim`s. Reading numbers is `numbers.py`; hedges are `qualify.py`;
sources are `attribution.py`; sentence geometry is `text.py`; every word it looks for
comes from `data/<lang>.yaml` through `vocab.py`.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Collection
from dataclasses import dataclass, field

from watcher.figures.attribution import find_source
from watcher.figures.numbers import NumberMention, find_numbers
from watcher.figures.qualify import Hedge, qualify
from watcher.figures.text import (
    Sentence,
    WordIndex,
    clause_bounds,
    clause_of,
    sentence_around,
    words,
)
from watcher.figures.vocab import LanguageVocab, Trigger
from watcher.types import Claim

_LEFT_WINDOW = 10  # words: "Il numero dei morti nell'attacco al mercato … è salito a 34"
_RIGHT_WINDOW = 10  # words: "600 militari nordcoreani sarebbero stati uccisi"
_VERB_FINAL_WINDOW = 16  # "… Menschen sind laut UNHCR vor den Kämpfen im Sudan in Nachbarländer geflohen"
_AUXILIARIES_AFTER = 2  # "getötet worden sind": still the clause's last words
_CLAUSE_END = re.compile(r"[,;:.!?()]|\s[–—-]\s")
_PEOPLE_WINDOW = 4  # words after the number where "soldiers"/"persone" must appear
_YEAR = re.compile(r"\d{4}")
_GROUPED = re.compile(r"\d[.,'’\u00a0\u202f ]\d{3}(?!\d)")  # "23.418", "1,200": a quantity
_TIME = re.compile(r"\d{1,2}[.:h]\d{2}")
_GLUED_BEFORE = re.compile(r"(?:[^\W\d_]|\d)[-‐‑/]?\Z|[^\W\d_][-‐‑]\Z|[-‐‑/:]\d*\Z|[#№]\s*\Z")
_GLUED_AFTER = re.compile(r"\A(?:[^\W_]|[-‐‑/][^\W_]|[°ºª%:]|\.[\dªº])")
_APPOSITION_BEFORE = re.compile(r"[^\W\d_](?:,|\s?\()\s*\Z")  # "Stella Berry, 16," "Zainab Faksh (25)"
_APPOSITION_AFTER = re.compile(r"\s*[,)]|\s*\.?\s*\Z")
_ONE_WORD = re.compile(r"\s*[^\W\d_][\w'’-]*(?=\s)")
_WORD_AHEAD = re.compile(rf"(?:\W*\w+(?:['’]\w+)*){{1,{_PEOPLE_WINDOW}}}")  # the next few words
_DIGITS_AHEAD = re.compile(r"\d[\d.,'’\u00a0\u202f ]*")
_SMALL_WORD_NUMBER = 20  # "two earthquakes", "due pini": small number words need people nearby
_REACH_CHARS = 200  # a metric word farther than this from a number cannot be its metric
_BEFORE_CHARS = 30  # enough for the longest cue before a number ("im Alter von")
_PAST_GAP = 3  # words between "qui était" and its number ("jusqu'ici de")
_COMPARE_GAP = 2  # words between "up from an earlier estimate of" and its number
_LIST_SEPARATOR_END = re.compile(r",\s*\Z")
_CONJUNCTION_COST = 3  # "41 died and [about two thousand cholera cases]": a new phrase


@dataclass(frozen=True, slots=True)
class _Hit:
    """A metric word found in a sentence."""

    start: int
    end: int
    trigger: Trigger


@dataclass(slots=True)
class _Context:
    """One sentence being read, with what we computed about it once."""

    text: str
    sentence: Sentence
    vocab: LanguageVocab
    hits: list[_Hit]
    words: WordIndex
    cuts: list[int]
    mentions: list[NumberMention]
    walls: list[NumberMention]  # numbers a metric word cannot be reached across
    wall_starts: list[int]
    hit_starts: list[int]
    walls_ahead: list[NumberMention]  # the walls towards a metric word after the number
    walls_ahead_starts: list[int]
    sources: dict = field(default_factory=dict)  # attribution candidates per clause


@dataclass(frozen=True, slots=True)
class Found:
    """A claim with where it came from: its sentence and the metric word it was bound to."""

    claim: Claim
    sentence: Sentence
    metric_at: tuple[int, int]
    past_aside: bool = False  # in ", qui était de 120 morts,": past if the sentence updates it


def extract_claims(text: str, lang: str, vocab: LanguageVocab,
                   figures: Collection[str] | None = None) -> list[Found]:
    """Every claim in `text`, each with the sentence and metric word it came from."""
    hits = [_Hit(a, b, trig) for a, b, trig in vocab.triggers.finditer(text, 0, len(text))]
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
        numbers = merged[bisect_left(number_starts, sentence.start):bisect_left(number_starts, sentence.end)]
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
                     numbers: list[NumberMention], hits: list[_Hit], lang: str,
                     vocab: LanguageVocab) -> list[Found]:
    """Claims of one sentence: `numbers` are all its numbers, `candidates` the countable ones."""
    hits = [h for h in hits if h.end <= sentence.end]
    if not hits:
        return []  # no metric word in this sentence
    # a model name ("Su-34") or a measure ("binnen 24 Stunden", "in 3 villages") is no rival
    # count: a metric word can be reached across it
    walls = [m for m in numbers if not _glued(text[max(0, m.start - 40):m.start], text[m.end:m.end + 40], m)
             and not _unit_follows(text[m.end:m.end + 40], vocab)]
    # "Dreißig Menschen wurden bei dem Anschlag auf ein Konzert … verletzt": a word for one
    # that is an article does not keep a number from the verb that comes after it
    ahead = [m for m in walls if not _article(text, m, vocab)]
    ctx = _Context(text, sentence, vocab, hits, WordIndex(text, sentence.start, sentence.end),
                   clause_bounds(text, sentence.start, sentence.end, vocab), candidates, walls,
                   [w.start for w in walls], [h.start for h in hits], ahead, [w.start for w in ahead])
    claims: list[Found] = []
    for mention in ctx.mentions:
        claim = _claim_for(ctx, mention, lang, claims[-1] if claims else None)
        if claim is not None:
            claims.append(claim)
    # "Le bilan, qui était jusqu'ici de 120 morts, s'élève à 180 morts": the figure in the
    # aside is what the sentence's other figure of that metric replaces
    current = {f.claim.metric for f in claims if not f.past_aside}
    return [f for f in claims if not (f.past_aside and f.claim.metric in current)]


def _claim_for(ctx: _Context, mention: NumberMention, lang: str, previous: Found | None) -> Found | None:
    text, s = ctx.text, ctx.sentence
    hedge = qualify(text, mention.start, mention.value_max is not None, ctx.vocab, s.start, mention.end)
    if _quoted_to_compare(ctx, hedge.start):
        return None
    bound = bind_metric(ctx, mention, hedge) or _shared_verb(ctx, mention, hedge, previous)
    if bound is None:
        return None
    metric, metric_at = bound
    if metric_at[1] <= hedge.start and _things_carried(ctx, mention, hedge):
        return None
    clause = clause_of(ctx.cuts, s.end, mention.start)
    if _undone(ctx, metric, clause, hedge.start, mention.end):
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
# Which numbers are counts at all


def is_count(text: str, m: NumberMention, vocab: LanguageVocab, floor: int = 0) -> bool:
    """False for years, dates, times, money, units, ages, model names and ordinals."""
    if m.value <= 0 or m.value != int(m.value) or (m.value_max is not None and m.value_max < m.value):
        return False
    before = text[max(floor, m.start - _BEFORE_CHARS):m.start]
    after = text[m.end:m.end + 40]
    # cheapest and most often decisive first: a unit, a glued token, a year
    if _unit_follows(after, vocab) or _glued(before, after, m):
        return False
    if _is_year(m, after, vocab) or (m.kind != "scaled" and _TIME.fullmatch(m.text.strip())):
        return False
    if _APPOSITION_BEFORE.search(before) and _APPOSITION_AFTER.match(after):
        return False  # "Stella Berry, 16, was killed": an age in apposition
    cue = vocab.cues_before.search(before)
    if (cue is not None and _labels(before, cue, m, vocab)) or _is_date(before, after, vocab):
        return False
    return not _article(text, m, vocab)


def _labels(before: str, cue: re.Match[str], m: NumberMention, vocab: LanguageVocab) -> bool:
    """A cue before the number makes it a label ("week 12", "Seite 4", "aged 16") unless the
    number is written as a quantity ("23.418", "1,2 Millionen") or the cue has an article
    before it, which makes it a span of time ("binnen einer Woche 23.418 Neuinfektionen",
    "in a single day 300 people"); a currency sign always counts."""
    if not cue.group(0)[:1].isalnum():
        return True
    if m.kind == "scaled" or _GROUPED.search(m.text):
        return False
    prev = words(before[max(0, cue.start() - 20):cue.start()])[-2:]
    return not any(vocab.source_article.fullmatch(w) for w in prev)


def _article(text: str, m: NumberMention, vocab: LanguageVocab) -> bool:
    """"ein Konzert", "einem Chemiewerk", "un'auto": a word for one that is really an
    article (no person noun after it) is neither a figure nor a rival count."""
    return m.kind == "words" and m.value == 1 and not vocab.people.match(text, _skip_blank(text, m.end))


def _skip_blank(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _unit_follows(after: str, vocab: LanguageVocab) -> bool:
    """A unit or counted thing right after the number, or after one more word
    ("35 European nations", "12 scuole danneggiate"), or after a joined number ("18 e 21 anni")."""
    rest = _past_partner(after, vocab)
    if vocab.units_after.match(rest):
        return True
    skip = _ONE_WORD.match(rest)
    return skip is not None and vocab.units_after.match(rest, skip.end()) is not None


def _past_partner(after: str, vocab: LanguageVocab) -> str:
    """"di 18 e 21 anni": a number joined to the next one shares its unit; skip to it."""
    join = vocab.range_join.match(after)
    if join is None:
        return after
    rest = _DIGITS_AHEAD.match(after, join.end())
    return after[rest.end():] if rest else after


def _glued(before: str, after: str, m: NumberMention) -> bool:
    """Su-34, COVID-19, 155mm, 2.ª, 47-year-old, 14°, 2024-10-24: parts of other tokens."""
    if m.kind == "words":
        return bool(after) and after[0] in "-‐‑" and len(after) > 1 and after[1].isalpha()
    if m.kind == "range" and not m.text[:1].isdigit():
        return bool(_GLUED_AFTER.match(after))  # "tra 150 e 200": the opener is a word
    return bool(_GLUED_BEFORE.search(before) or _GLUED_AFTER.match(after))


def _is_date(before: str, after: str, vocab: LanguageVocab) -> bool:
    """A month name next to the number ("16 luglio", "February 24", "8 de marzo")."""
    prev = words(before[-20:])
    if prev and vocab.months.fullmatch(prev[-1]):
        return True
    nxt = words(after[:25])[:2]
    if nxt and vocab.months.fullmatch(nxt[0]):
        return True
    return len(nxt) == 2 and len(nxt[0]) <= 3 and vocab.months.fullmatch(nxt[1]) is not None


def _is_year(m: NumberMention, after: str, vocab: LanguageVocab) -> bool:
    """1900–2100 written as four plain digits, unless people are counted ("2000 soldiers");
    a range of two such numbers ("1966—1976") is a period."""
    if m.kind == "range":
        return all(v is not None and 1900 <= v <= 2100 and v == int(v) for v in (m.value, m.value_max)) \
            and not any(c in m.text for c in ".,  ")
    if not (m.kind == "digits" and _YEAR.fullmatch(m.text.strip()) and 1900 <= m.value <= 2100):
        return False
    return not vocab.people.match(after.lstrip())


def _quoted_to_compare(ctx: _Context, start: int) -> bool:
    """"up from an earlier estimate of 600": a past figure, not a claim."""
    clause_start, _ = clause_of(ctx.cuts, ctx.sentence.end, start)
    lo = max(clause_start, start - 45)
    return any(ctx.words.between(m.end(), start) <= _COMPARE_GAP
               for m in ctx.vocab.compare_before.finditer(ctx.text, lo, start))


def _past_aside(ctx: _Context, start: int) -> bool:
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


def merge_ranges(text: str, mentions: list[NumberMention], vocab: LanguageVocab) -> list[NumberMention]:
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


def _join(text: str, a: NumberMention, b: NumberMention, vocab: LanguageVocab) -> NumberMention | None:
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


# ----------------------------------------------------------------------------------------
# Which metric a number counts


def bind_metric(ctx: _Context, mention: NumberMention, hedge: Hedge) -> tuple[str, tuple[int, int]] | None:
    """The nearest usable metric word in the number's clause, either side: (metric, its span)."""
    lo, hi = clause_of(ctx.cuts, ctx.sentence.end, mention.start)
    left_wall = max(lo, _previous_number_end(ctx, mention))
    right_wall = min(hi, _next_number_start(ctx, mention))
    keys = _binding_keys(ctx, mention, hedge, (lo, hi), left_wall, right_wall)
    if not keys:
        # "le nombre de déplacés est le plus élevé : 2,8 millions", "Раненых — 27": a number
        # opening the clause a colon or dash starts is the value of what came before it
        before = _announced_by(ctx, lo, hedge.start)
        if before is not None:
            keys = _binding_keys(ctx, mention, hedge, (before, hi), before, right_wall)
    best = min(keys, default=None)
    if best is not None and best[1]:
        # "500 refugees, many of them children, have drowned": who they are yields to what
        # happened to them, said further on the same side
        beyond = [k for k in keys if not k[1] and k[3] == best[3] and k[2] > best[2]
                  and not _conjoined(ctx, best[5:], k[5:])]
        best = min(beyond, key=lambda k: k[2:]) if beyond else best
    beside = best is not None and (best[2] == 0 or (best[2] == 1 and best[3] == 0))
    if best is None or (not beside and _bare_small_number(ctx, mention)):
        return None
    return best[4], (best[5], best[6])


def _announced_by(ctx: _Context, lo: int, start: int) -> int | None:
    """Where the previous clause starts, when the number's clause is only ": <number>" or
    "— <number>" and that previous clause holds no number of its own (else "killed 45: 30
    in X and 15 in Y" would count its parts)."""
    head = ctx.text[lo:start]
    if head.strip(" \t\u00a0")[:1] not in (":", "–", "—", "-") or head.strip(" \t\u00a0:–—-"):
        return None
    i = bisect_left(ctx.cuts, lo)
    if i == 0:
        return None
    prev = ctx.cuts[i - 1]
    if any(prev <= w.start < lo for w in ctx.walls):
        return None
    return prev


def _binding_keys(ctx: _Context, mention: NumberMention, hedge: Hedge, clause: tuple[int, int],
                  left_wall: int, right_wall: int) -> list[tuple[int, int, int, int, str, int, int]]:
    lo, hi = clause
    keys: list[tuple[int, int, int, int, str, int, int]] = []
    only_right = mention.kind == "words" and mention.value == 1  # "one" is often an article
    # only metric words between the neighbouring numbers can bind (keeps long tables linear)
    near = ctx.hits[bisect_left(ctx.hit_starts, left_wall):bisect_right(ctx.hit_starts, right_wall)]
    for hit in near:
        if (only_right and hit.start < mention.end) or _vague(ctx, hit):
            continue
        dist = _distance(ctx, hit, hedge.start, mention.end, left_wall, right_wall)
        if dist is None or not _needs_met(ctx, hit.trigger, mention, (lo, hi)):
            continue
        # "120 morts … et fait état de 26 000 déplacés": a metric word in the number's own
        # coordinate (no conjunction or comma in between) beats one from a previous coordinate;
        # a noun naming who (refugees, hostages) yields; on a tie, "600 morti" (after) beats
        # "… 600" (before).
        apart = 1 if _crosses_coordinate(ctx, hit, hedge.start, mention.end) else 0
        who = 1 if ctx.vocab.who.fullmatch(ctx.text, hit.start, hit.end) else 0
        side = 0 if hit.start >= mention.end else 1
        keys.append((apart, who, dist, side, hit.trigger.metric, hit.start, hit.end))
    return keys


def _undone(ctx: _Context, metric: str, clause: tuple[int, int], start: int, end: int) -> bool:
    """A word undoing the metric ("released", "in exchange for") in the number's coordinate:
    no comma or conjunction between ("detuvo a 12 personas y liberó a 3 rehenes" keeps 12)."""
    veto = ctx.vocab.unless.get(metric)
    if veto is None:
        return False
    for m in veto.finditer(ctx.text, *clause):
        a, b = (m.end(), start) if m.end() <= start else (end, m.start())
        if a <= b and "," not in ctx.text[a:b] and ctx.vocab.conjunctions.search(ctx.text, a, b) is None:
            return True
    return False


def _conjoined(ctx: _Context, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """A conjunction between two metric words: "435 Flüchtlingen und den Leichen von zwei …"."""
    lo, hi = (a[1], b[0]) if a[1] <= b[0] else (b[1], a[0])
    return ctx.vocab.conjunctions.search(ctx.text, lo, hi) is not None


def _crosses_coordinate(ctx: _Context, hit: _Hit, expr_start: int, expr_end: int) -> bool:
    """A conjunction or a comma between the metric word and the number."""
    a, b = (hit.end, expr_start) if hit.end <= expr_start else (expr_end, hit.start)
    return a < b and ("," in ctx.text[a:b] or ctx.vocab.conjunctions.search(ctx.text, a, b) is not None)


def _things_carried(ctx: _Context, mention: NumberMention, hedge: Hedge) -> bool:
    """"arrestato con 6 collanine": after "with", a number whose metric word came before it
    counts what someone had, unless people follow ("arrested with 6 others")."""
    lo = max(ctx.sentence.start, hedge.start - 15)
    if ctx.vocab.with_before.search(ctx.text, lo, hedge.start) is None:
        return False
    # "mit mindestens 1790 an(gegeben)": no noun after it, the number is the figure itself
    noun = _noun_after(ctx, mention.end)
    return noun is not None and not ctx.vocab.people.fullmatch(noun)


def _shared_verb(ctx: _Context, mention: NumberMention, hedge: Hedge,
                 previous: Found | None) -> tuple[str, tuple[int, int]] | None:
    """"killed 5 soldiers and 3 civilians": a number listed right after a figure whose metric
    word came before it (a shared verb) counts the same thing, if a noun follows it."""
    if previous is None or previous.metric_at[1] > previous.claim.span[0]:
        return None
    gap = ctx.text[previous.claim.span[1]:hedge.start]
    if any(c.isdigit() or c in ";:.()" for c in gap) or len(words(gap)) > _PEOPLE_WINDOW + 1:
        return None
    # the list's separator comes right before this number: "…, and six", "и 3", not "e non 119"
    tail = gap.rstrip()
    if not _LIST_SEPARATOR_END.search(gap) \
            and not any(m.end() == len(tail) for m in ctx.vocab.conjunctions.finditer(tail)):
        return None
    if ctx.vocab.clause_break.search(gap):
        return None
    noun = _noun_after(ctx, mention.end)
    if noun is None or not (_people_after(ctx, mention.end) or _people_after(ctx, previous.claim.span[1])):
        return None
    return previous.claim.metric, previous.metric_at


def _noun_after(ctx: _Context, pos: int) -> str | None:
    """The word right after a number, unless it is a function word ("in", "an", "come")."""
    nxt = words(ctx.text[pos:min(ctx.sentence.end, pos + 40)])[:1]
    if not nxt or nxt[0].lower() in ctx.vocab.stopwords or ctx.vocab.source_stop.fullmatch(nxt[0]):
        return None
    return nxt[0]


def _people_after(ctx: _Context, pos: int) -> bool:
    """A person noun among the two words after a number ("5 soldiers", "4 aid workers")."""
    after = words(ctx.text[pos:min(ctx.sentence.end, pos + 40)])[:2]
    return any(ctx.vocab.people.fullmatch(w) for w in after)


def _bare_small_number(ctx: _Context, mention: NumberMention) -> bool:
    """"Two earthquakes killed…": a small number word counts people only when it says so
    (a person noun follows) or sits next to its metric word ("killed five", "трое были ранены")."""
    if mention.kind != "words" or mention.value >= _SMALL_WORD_NUMBER:
        return False
    after = ctx.text[mention.end:min(ctx.sentence.end, mention.end + 60)]
    return not any(ctx.vocab.people.fullmatch(w) for w in words(after)[:_PEOPLE_WINDOW - 1])


def _distance(ctx: _Context, hit: _Hit, expr_start: int, expr_end: int,
              left_wall: int, right_wall: int) -> int | None:
    """Words between a metric word and the number (plus the cost of a conjunction)."""
    if hit.end <= expr_start and hit.start >= left_wall:
        d = ctx.words.between(hit.end, expr_start) + _gap_cost(ctx, hit.end, expr_start)
        return d if d <= _LEFT_WINDOW else None
    if hit.start >= expr_end and hit.end <= right_wall:
        d = ctx.words.between(expr_end, hit.start) + _gap_cost(ctx, expr_end, hit.start)
        if d <= _RIGHT_WINDOW:
            return d
        return d if d <= _VERB_FINAL_WINDOW and _clause_final(ctx, hit) else None
    if hit.start < expr_start and hit.end > expr_end:
        return 0  # a split verb around its object: "nahm die Polizei 390 Personen fest"
    return None


def _clause_final(ctx: _Context, hit: _Hit) -> bool:
    """In a verb-final language, a metric word closing its clause (an auxiliary at most after
    it) is the predicate of the number opening it: "Rund 1,2 Millionen Menschen sind laut
    UNHCR vor den Kämpfen im Sudan in Nachbarländer geflohen."."""
    if not ctx.vocab.verb_final_clauses:
        return False
    stop = _CLAUSE_END.search(ctx.text, hit.end, ctx.sentence.end)
    return ctx.words.between(hit.end, stop.start() if stop else ctx.sentence.end) <= _AUXILIARIES_AFTER


def _vague(ctx: _Context, hit: _Hit) -> bool:
    """"des milliers de victimes": that metric word belongs to a vague quantity."""
    m = ctx.vocab.vague_before.search(ctx.text, max(ctx.sentence.start, hit.start - 30), hit.start)
    # "21 тысячи умерли": the same word after a number is a scale, not a vague plural
    return m is not None and not any(w.start <= m.start() < w.end for w in ctx.walls)


def _gap_cost(ctx: _Context, a: int, b: int) -> int:
    """Extra distance for a conjunction or comma between a metric word and a number."""
    cost = _CONJUNCTION_COST if ctx.vocab.conjunctions.search(ctx.text, a, b) else 0
    return cost + ctx.text.count(",", a, b)


def _previous_number_end(ctx: _Context, mention: NumberMention) -> int:
    i = bisect_left(ctx.wall_starts, mention.start) - 1
    while i >= 0 and ctx.walls[i].end > mention.start:
        i -= 1
    return ctx.walls[i].end if i >= 0 else ctx.sentence.start


def _next_number_start(ctx: _Context, mention: NumberMention) -> int:
    i = bisect_left(ctx.walls_ahead_starts, mention.end)
    return ctx.walls_ahead[i].start if i < len(ctx.walls_ahead) else ctx.sentence.end


def _needs_met(ctx: _Context, trig: Trigger, mention: NumberMention, clause: tuple[int, int]) -> bool:
    """"sent 15,000 soldiers", "lost 1,340 troops", "3,215 cases of cholera"."""
    if trig.needs is None:
        return True
    if trig.needs == "disease":
        return ctx.vocab.disease.search(ctx.text, clause[0], clause[1]) is not None
    pattern = ctx.vocab.troops if trig.needs == "troops" else ctx.vocab.people
    hi = min(clause[1], mention.end + 80)
    # among the next few words, a term of one word or more ("soldiers", "cascos azules")
    first = _WORD_AHEAD.match(ctx.text, mention.end, hi)
    reach = first.end() if first else mention.end
    found = pattern.search(ctx.text, mention.end, hi)
    return found is not None and found.start() < reach

