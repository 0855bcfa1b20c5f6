"""Which metric a number counts: the metric word it is bound to, or none.

Owns: binding a number to the nearest usable metric word in its clause, on either side
(`bind_metric`: windows in words, walls at other numbers and clause breaks, a number's own
coordinate first, vague quantities, words that count only with company, small number words,
a number announced by a colon or dash); a number listed after a figure sharing its verb
(`shared_verb`: "killed 5 soldiers and 3 civilians"); and the two vetoes after binding:
things carried ("arrestato con 6 collanine", `things_carried`) and a word undoing the
metric ("released 39 prisoners", `undone`). docs/extraction.md step 4 describes the rules.

Does not own: whether a number is a count at all (`counts.py`), past figures (`extract.py`),
or the metric words themselves (`metrics.<id>` in `data/<lang>.yaml`, via `vocab.py`).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right

from watcher.figures.context import Found, MetricHit, SentenceContext
from watcher.figures.numbers import NumberMention
from watcher.figures.qualify import Hedge
from watcher.figures.text import clause_of, words
from watcher.figures.vocab import Trigger

_LEFT_WINDOW = 10  # words: "Il numero dei morti nell'attacco al mercato … è salito a 34"
_RIGHT_WINDOW = 10  # words: "600 militari nordcoreani sarebbero stati uccisi"
# "… Menschen sind laut UNHCR vor den Kämpfen im Sudan in Nachbarländer geflohen"
_VERB_FINAL_WINDOW = 16
_AUXILIARIES_AFTER = 2  # "getötet worden sind": still the clause's last words
_CLAUSE_END = re.compile(r"[,;:.!?()]|\s[–—-]\s")
_PEOPLE_WINDOW = 4  # words after the number where "soldiers"/"persone" must appear
_WORD_AHEAD = re.compile(rf"(?:\W*\w+(?:['’]\w+)*){{1,{_PEOPLE_WINDOW}}}")  # the next few words
_SMALL_WORD_NUMBER = 20  # "two earthquakes", "due pini": small number words need people nearby
_LIST_SEPARATOR_END = re.compile(r",\s*\Z")
_CONJUNCTION_COST = 3  # "41 died and [about two thousand cholera cases]": a new phrase


def bind_metric(ctx: SentenceContext, mention: NumberMention,
                hedge: Hedge) -> tuple[str, tuple[int, int]] | None:
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


def _announced_by(ctx: SentenceContext, lo: int, start: int) -> int | None:
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


def _binding_keys(ctx: SentenceContext, mention: NumberMention, hedge: Hedge,
                  clause: tuple[int, int], left_wall: int,
                  right_wall: int) -> list[tuple[int, int, int, int, str, int, int]]:
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


def _distance(ctx: SentenceContext, hit: MetricHit, expr_start: int, expr_end: int,
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


def _clause_final(ctx: SentenceContext, hit: MetricHit) -> bool:
    """In a verb-final language, a metric word closing its clause (an auxiliary at most after
    it) is the predicate of the number opening it: "Rund 1,2 Millionen Menschen sind laut
    UNHCR vor den Kämpfen im Sudan in Nachbarländer geflohen."."""
    if not ctx.vocab.verb_final_clauses:
        return False
    stop = _CLAUSE_END.search(ctx.text, hit.end, ctx.sentence.end)
    clause_end = stop.start() if stop else ctx.sentence.end
    return ctx.words.between(hit.end, clause_end) <= _AUXILIARIES_AFTER


def _gap_cost(ctx: SentenceContext, a: int, b: int) -> int:
    """Extra distance for a conjunction or comma between a metric word and a number."""
    cost = _CONJUNCTION_COST if ctx.vocab.conjunctions.search(ctx.text, a, b) else 0
    return cost + ctx.text.count(",", a, b)


def _crosses_coordinate(ctx: SentenceContext, hit: MetricHit, expr_start: int,
                        expr_end: int) -> bool:
    """A conjunction or a comma between the metric word and the number."""
    a, b = (hit.end, expr_start) if hit.end <= expr_start else (expr_end, hit.start)
    return a < b and ("," in ctx.text[a:b]
                      or ctx.vocab.conjunctions.search(ctx.text, a, b) is not None)


def _conjoined(ctx: SentenceContext, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """A conjunction between two metric words: "435 Flüchtlingen und den Leichen von zwei …"."""
    lo, hi = (a[1], b[0]) if a[1] <= b[0] else (b[1], a[0])
    return ctx.vocab.conjunctions.search(ctx.text, lo, hi) is not None


def _vague(ctx: SentenceContext, hit: MetricHit) -> bool:
    """"des milliers de victimes": that metric word belongs to a vague quantity."""
    m = ctx.vocab.vague_before.search(ctx.text, max(ctx.sentence.start, hit.start - 30), hit.start)
    # "21 тысячи умерли": the same word after a number is a scale, not a vague plural
    return m is not None and not any(w.start <= m.start() < w.end for w in ctx.walls)


def _needs_met(ctx: SentenceContext, trig: Trigger, mention: NumberMention,
               clause: tuple[int, int]) -> bool:
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


def _bare_small_number(ctx: SentenceContext, mention: NumberMention) -> bool:
    """"Two earthquakes killed…": a small number word counts people only when it says so
    (a person noun follows) or sits next to its metric word ("killed five", "трое были ранены")."""
    if mention.kind != "words" or mention.value >= _SMALL_WORD_NUMBER:
        return False
    after = ctx.text[mention.end:min(ctx.sentence.end, mention.end + 60)]
    return not any(ctx.vocab.people.fullmatch(w) for w in words(after)[:_PEOPLE_WINDOW - 1])


def _previous_number_end(ctx: SentenceContext, mention: NumberMention) -> int:
    i = bisect_left(ctx.wall_starts, mention.start) - 1
    while i >= 0 and ctx.walls[i].end > mention.start:
        i -= 1
    return ctx.walls[i].end if i >= 0 else ctx.sentence.start


def _next_number_start(ctx: SentenceContext, mention: NumberMention) -> int:
    i = bisect_left(ctx.walls_ahead_starts, mention.end)
    return ctx.walls_ahead[i].start if i < len(ctx.walls_ahead) else ctx.sentence.end


# ----------------------------------------------------------------------------------------
# A number listed after a figure, sharing its verb ("killed 5 soldiers and 3 civilians")


def shared_verb(ctx: SentenceContext, mention: NumberMention, hedge: Hedge,
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
    if noun is None or not (_people_after(ctx, mention.end)
                            or _people_after(ctx, previous.claim.span[1])):
        return None
    return previous.claim.metric, previous.metric_at


def _noun_after(ctx: SentenceContext, pos: int) -> str | None:
    """The word right after a number, unless it is a function word ("in", "an", "come")."""
    nxt = words(ctx.text[pos:min(ctx.sentence.end, pos + 40)])[:1]
    if not nxt or nxt[0].lower() in ctx.vocab.stopwords or ctx.vocab.source_stop.fullmatch(nxt[0]):
        return None
    return nxt[0]


def _people_after(ctx: SentenceContext, pos: int) -> bool:
    """A person noun among the two words after a number ("5 soldiers", "4 aid workers")."""
    after = words(ctx.text[pos:min(ctx.sentence.end, pos + 40)])[:2]
    return any(ctx.vocab.people.fullmatch(w) for w in after)


# ----------------------------------------------------------------------------------------
# Vetoes after binding: things carried, a metric undone


def things_carried(ctx: SentenceContext, mention: NumberMention, hedge: Hedge) -> bool:
    """"arrestato con 6 collanine": after "with", a number whose metric word came before it
    counts what someone had, unless people follow ("arrested with 6 others")."""
    lo = max(ctx.sentence.start, hedge.start - 15)
    if ctx.vocab.with_before.search(ctx.text, lo, hedge.start) is None:
        return False
    # "mit mindestens 1790 an(gegeben)": no noun after it, the number is the figure itself
    noun = _noun_after(ctx, mention.end)
    return noun is not None and not ctx.vocab.people.fullmatch(noun)


def undone(ctx: SentenceContext, metric: str, clause: tuple[int, int], start: int,
           end: int) -> bool:
    """A word undoing the metric ("released", "in exchange for") in the number's coordinate:
    no comma or conjunction between ("detuvo a 12 personas y liberó a 3 rehenes" keeps 12)."""
    veto = ctx.vocab.unless.get(metric)
    if veto is None:
        return False
    for m in veto.finditer(ctx.text, *clause):
        a, b = (m.end(), start) if m.end() <= start else (end, m.start())
        if a <= b and "," not in ctx.text[a:b] \
                and ctx.vocab.conjunctions.search(ctx.text, a, b) is None:
            return True
    return False
