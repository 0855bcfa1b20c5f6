"""Compare a new claim with the known history of its topic and metric.

Pure: records in, a `Decision` out (no storage, no clock). SPEC.md "Changes and
digests" defines the kinds; two more are kept for the record but never alerted:

    new           the first figure for that metric                         → alert
    changed       differs from the current figure by more than min_change  → alert
    conflict      another source, inside conflict_window, an inconsistent
                  figure (their intervals do not overlap)                   → alert
    corroborated  the same figure again ("about 600" = "600")             → counted
    late          published before the current figure: history only       → counted
    below_threshold  a difference no larger than min_change                → counted

Each figure is read as an interval so that qualifiers are respected: "about 600"
is [540, 660], "more than 4,000" is [4000, ∞). A later "4,700" from another source
overlaps "more than 4,000", so it is a change (a refinement), not a conflict.

Sources are compared by name, fuzzily ("South Korea's NIS" = "the NIS"). Names the
config's `sources:` lists under one entry (`AlertSettings.source_names`) are one source
in any language ("servizi segreti sudcoreani" = "South Korea's spy agency"); names under
two entries are two sources, however alike they read. A name matches an entry's name
when the same-source check says so *and* each of its words has a close counterpart there
("North Korea's spy agency" is not "South Korea's spy agency"; "intelligence" alone is not
"South Korean intelligence"). The reason says when an alias made two names one source.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType

from rapidfuzz import fuzz

from watcher.config.models import AlertSettings, source_words
from watcher.types import FigureRecord

_NO_NAMES: Mapping[str, str] = MappingProxyType({})
ALERTING = frozenset({"new", "changed", "conflict"})
APPROX_TOLERANCE = 0.10  # "about 600" covers ±10%
SAME_VALUE_TOLERANCE = 1e-9  # float noise only: 700,000 → 701,000 is a change (min_change decides)
SAME_SOURCE_SCORE = 80
ONE_SOURCE = " read as one source"  # marks the part of a reason that names an alias


@dataclass(frozen=True)
class Decision:
    kind: str
    previous: FigureRecord | None  # the current figure the claim was compared with
    reason: str

    @property
    def alert(self) -> bool:
        return self.kind in ALERTING


def decide(claim: FigureRecord, history: list[FigureRecord], alert: AlertSettings) -> Decision:
    """Classify `claim` against `history` (oldest first by publication time)."""
    if not history:
        return Decision("new", None, "first figure for this metric")
    current = history[-1]
    if claim.published < current.published:
        return Decision("late", current, f"published {claim.published:%Y-%m-%d %H:%M}, before the "
                        f"current figure ({current.published:%Y-%m-%d %H:%M}): history only")
    if same_figure(claim, current):
        return Decision("corroborated", current, f"same figure as {_who(current)}")
    threshold = _threshold(alert.min_change, current.value)
    difference = abs(claim.value - current.value)
    if threshold and difference <= threshold:
        return Decision("below_threshold", current,
                        f"differs by {difference:g}, not more than min_change {alert.min_change}")
    names = alert.source_names
    backers = _sources_of(current, history)
    if _is_conflict(claim, current, backers, alert):
        return Decision("conflict", current, f"{_who(claim)} disagrees with {_who(current)} "
                        f"within the conflict window ({_duration(alert.conflict_window)})")
    alias = _alias_note(claim.source, backers, names)
    if claim.value < current.value and same_source(claim.source, current.source, names):
        return Decision("changed", current, f"revised down from {_who(current)} "
                        f"by {current.value - claim.value:,.0f}: a correction{alias}")
    return Decision("changed", current, f"differs from {_who(current)}{alias}")


def same_figure(a: FigureRecord, b: FigureRecord) -> bool:
    """Equal values and equal upper bounds; qualifier-only differences are equal."""
    if not _close(a.value, b.value):
        return False
    if a.value_max is None or b.value_max is None:
        return a.value_max is None and b.value_max is None
    return _close(a.value_max, b.value_max)


def interval(r: FigureRecord) -> tuple[float, float]:
    if r.qualifier == "approx":
        return r.value * (1 - APPROX_TOLERANCE), r.value * (1 + APPROX_TOLERANCE)
    if r.qualifier == "at_least":
        return r.value, math.inf
    if r.qualifier == "at_most":
        return 0.0, r.value
    return r.value, r.value_max if r.value_max is not None else r.value


def same_source(a: str | None, b: str | None, names: Mapping[str, str] = _NO_NAMES) -> bool:
    """Whether two names, as written, stand for one source.

    Unknown sources are not evidence of disagreement: treat them as the same. Two names
    that both belong to `names` (the config's `sources:`, name → canonical name) are one
    source exactly when their canonical names are; otherwise the names are compared
    fuzzily, case, accents and wording aside.
    """
    if a is None or b is None:
        return True
    known_a, known_b = canonical_source(a, names), canonical_source(b, names)
    if known_a is not None and known_b is not None:
        return known_a == known_b
    return _alike(a, b)


def canonical_source(name: str, names: Mapping[str, str]) -> str | None:
    """The canonical name of the configured source `name` stands for, or None.

    The same words as a configured name decide at once; otherwise `name` must resemble
    the names of exactly one source (a name close to two sources belongs to neither).
    """
    words = source_words(name)
    exact = {canonical for written, canonical in names.items() if source_words(written) == words}
    if not exact:
        exact = {canonical for written, canonical in names.items() if _resembles(name, written)}
    return exact.pop() if len(exact) == 1 else None


def _alike(a: str, b: str) -> bool:
    """The fuzzy same-source check: case, accents and wording aside ("the NIS" = "NIS")."""
    return fuzz.token_set_ratio(_fold(a), _fold(b)) >= SAME_SOURCE_SCORE


def _resembles(name: str, written: str) -> bool:
    """`_alike`, and no word on either side without a close counterpart on the other: a
    spelling may vary ("sudcoreana" / "sudcoreani"), a word that tells sources apart may
    not differ or be missing ("North" / "South", "intelligence" / "South Korean intelligence")."""
    if not _alike(name, written):
        return False
    mine, theirs = source_words(name), source_words(written)
    return bool(mine and theirs) and _paired(mine, theirs) and _paired(theirs, mine)


def _paired(words: frozenset[str], others: frozenset[str]) -> bool:
    return all(any(fuzz.ratio(w, o) >= SAME_SOURCE_SCORE for o in others) for w in words)


def _alias_note(claim_source: str | None, backers: set[str], names: Mapping[str, str]) -> str:
    """'; X and Y read as one source: Z (…)' when only an alias made X and Y one source."""
    canonical = canonical_source(claim_source, names) if claim_source and names else None
    if claim_source is None or canonical is None:
        return ""
    for backer in sorted(backers):
        if canonical_source(backer, names) == canonical and not _alike(claim_source, backer):
            known_as = "" if canonical in (claim_source, backer) else f": {canonical}"
            return f"; {claim_source} and {backer}{ONE_SOURCE}{known_as} (aliases under `sources:`)"
    return ""


def alias_note(reason: str) -> str | None:
    """The part of a decision's reason that says an alias made two names one source."""
    parts = reason.split("; ")
    for i, part in enumerate(parts):
        if ONE_SOURCE in part:
            return "; ".join(parts[i:])
    return None


def _sources_of(current: FigureRecord, history: list[FigureRecord]) -> set[str]:
    """Who stands behind the current figure: every named source that gave the same figure.
    An unattributed copy repeating it must not hide who said it first."""
    return {r.source for r in history if r.source and same_figure(r, current)}


def _is_conflict(claim: FigureRecord, current: FigureRecord, sources: set[str],
                 alert: AlertSettings) -> bool:
    if claim.source is None or not sources:
        return False  # unknown sources are not evidence of disagreement
    if any(same_source(claim.source, s, alert.source_names) for s in sources):
        return False
    if claim.published - current.published > alert.conflict_window:
        return False
    (lo1, hi1), (lo2, hi2) = interval(claim), interval(current)
    return hi1 < lo2 or hi2 < lo1


def _threshold(min_change: float | str, current: float) -> float:
    if isinstance(min_change, str):
        return abs(current) * float(min_change.rstrip("%")) / 100
    return float(min_change)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= SAME_VALUE_TOLERANCE * max(abs(a), abs(b))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _who(r: FigureRecord) -> str:
    source = r.source or "an unattributed report"
    return f"{_fmt(r)} ({source}, {r.published:%Y-%m-%d})"


def _duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _fmt(r: FigureRecord) -> str:
    if r.value_max is not None:
        return f"{r.value:,.0f}–{r.value_max:,.0f}"
    return f"{r.value:,.0f}" if float(r.value).is_integer() else f"{r.value:,}"
