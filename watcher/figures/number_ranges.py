"""Ranges the scanner reads: two neighbouring numbers written as one ("600–700", "tra 150 e
200", "от 5 до 10 тысяч"), and the `Atom`, a number as read before ranges are joined.

Owns: deciding from the gap between two numbers (a dash, or a language's `ranges` forms with
their intro words) whether they are one range, where it starts, and whether the lower bound
borrows the upper one's scale; telling ranges from dates and codes ("2022-02-24").

Does not own: ranges written with words the number vocabulary does not know ("between … and
…" left apart by the scanner), which the extractor joins (`extract.merge_ranges`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from watcher.figures.number_vocab import H_SPACE, HYPHENS, NumberLanguage

_DASH_GAP = re.compile(rf"{H_SPACE}*[{HYPHENS}]{H_SPACE}*")
_LINKED = re.compile(r"\d[-/.:]$|^[-/.:]\d")
_LONGEST_GAP = 12  # " e il ", " and ", " до ": joiners between the numbers of a range are short


class Atom(NamedTuple):
    """A number before range joining; `scale` is what a range's lower bound may borrow.

    A tuple (not a dataclass) because there is one per number and they must be cheap.
    """

    start: int
    end: int
    value: float
    value_max: float | None
    kind: str
    scale: float | None


def join_ranges(atoms: list[Atom], low: str, spec: NumberLanguage) -> list[Atom]:
    """Neighbours written as a range become one; word numbers inside a digits one
    ("mille" of "4 mille", already read with the 4) are dropped."""
    out: list[Atom] = []
    for atom in atoms:
        if out and atom.start < out[-1].end:
            continue
        joined = None
        if out and atom.start - out[-1].end <= _LONGEST_GAP:  # most neighbours are far apart
            floor = out[-2].end if len(out) > 1 else 0
            joined = _as_range(out[-1], atom, low, spec, floor)
        if joined is not None and out[-1].kind != "range":
            out[-1] = joined
        else:
            out.append(atom)
    return out


def _as_range(a: Atom, b: Atom, low: str, spec: NumberLanguage, floor: int) -> Atom | None:
    gap = low[a.end : b.start]
    start = _range_start(a, b, gap, low, spec, floor)
    if start is None:
        return None
    lo = a.value
    if b.scale and not a.scale and a.value <= b.value / b.scale:
        lo = a.value * b.scale  # "от 5 до 10 тысяч": the scale applies to both
    if lo > b.value:
        return None  # "1995-01", "3 to 1": not a range
    return Atom(start, b.end, lo, b.value, "range", None)


def _range_start(
    a: Atom, b: Atom, gap: str, low: str, spec: NumberLanguage, floor: int
) -> int | None:
    """Where the range written around a and b starts, or None if the gap joins no range."""
    if _DASH_GAP.fullmatch(gap):
        return None if _in_chain(a, b, low) else a.start
    for rng in spec.ranges:
        if not rng.joiner.fullmatch(gap):
            continue
        intro = rng.intro.search(low, max(floor, a.start - 40), a.start) if rng.intro else None
        if intro is not None:
            return intro.start()
        if not rng.intro_required:
            return a.start
    return None


def _in_chain(a: Atom, b: Atom, low: str) -> bool:
    """True for the parts of dates, phone numbers and codes: "2022-02-24", "+1-222-2222"."""
    before = low[max(0, a.start - 2) : a.start]
    after = low[b.end : b.end + 2]
    return bool(_LINKED.search(before) or _LINKED.search(after))
