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
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from rapidfuzz import fuzz

from watcher.config.models import AlertSettings
from watcher.types import FigureRecord

ALERTING = frozenset({"new", "changed", "conflict"})
APPROX_TOLERANCE = 0.10  # "about 600" covers ±10%
SAME_VALUE_TOLERANCE = 1e-9  # float noise only: 700,000 → 701,000 is a change (min_change decides)
SAME_SOURCE_SCORE = 80


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
    if _is_conflict(claim, current, _sources_of(current, history), alert):
        return Decision("conflict", current, f"{_who(claim)} disagrees with {_who(current)} "
                        f"within the conflict window ({_duration(alert.conflict_window)})")
    if claim.value < current.value and same_source(claim.source, current.source):
        return Decision("changed", current, f"revised down from {_who(current)} "
                        f"by {current.value - claim.value:,.0f}: a correction")
    return Decision("changed", current, f"differs from {_who(current)}")


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


def same_source(a: str | None, b: str | None) -> bool:
    """Unknown sources are not evidence of disagreement: treat them as the same."""
    if a is None or b is None:
        return True
    return fuzz.token_set_ratio(_fold(a), _fold(b)) >= SAME_SOURCE_SCORE


def _sources_of(current: FigureRecord, history: list[FigureRecord]) -> set[str]:
    """Who stands behind the current figure: every named source that gave the same figure.
    An unattributed copy repeating it must not hide who said it first."""
    return {r.source for r in history if r.source and same_figure(r, current)}


def _is_conflict(claim: FigureRecord, current: FigureRecord, sources: set[str],
                 alert: AlertSettings) -> bool:
    if claim.source is None or not sources:
        return False  # unknown sources are not evidence of disagreement
    if any(same_source(claim.source, s) for s in sources):
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
