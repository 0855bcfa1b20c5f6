"""Number words: reading a run of them ("two thousand", "duecentocinquanta", "двух тысяч",
"quatre-vingt-dix") into one or more numbers.

Owns: splitting a run into vocabulary forms (several words: "half a"; glued: "cent|otto",
with backtracking), and the small grammar that adds units, hundreds, multipliers, scales
and halves into one value, ending a number where the next word cannot continue it ("one
two" is two numbers).

Does not own: finding the runs (the scanner in `number_vocab.py`), digits (`number_digits.py`)
or ranges (`number_ranges.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from watcher.figures.number_ranges import Atom
from watcher.figures.number_vocab import (
    APOSTROPHE_TABLE,
    CHUNK,
    NumberLanguage,
    NumberWord,
    normalise_form,
)


@dataclass(frozen=True, slots=True)
class _Token:
    start: int
    end: int
    word: NumberWord
    glued_to_next: bool


def read_words(start: int, end: int, low: str, spec: NumberLanguage) -> list[Atom]:
    """The numbers in the run of number words low[start:end] (usually one)."""
    alone = spec.alone.get(low[start:end])
    if alone is not None:  # the common case: one word ("due", "ein", "тысяча")
        value, scale = alone
        return [Atom(start, end, value, None, "words", scale)]
    return _parse_tokens(_tokenize(low, start, end, spec), spec)


def _tokenize(low: str, start: int, end: int, spec: NumberLanguage) -> list[_Token]:
    chunks = [(m.start(), m.end()) for m in CHUNK.finditer(low, start, end)]
    tokens: list[_Token] = []
    k = 0
    while k < len(chunks):
        taken = _multiword(low, chunks, k, spec)
        if taken:
            n, word = taken
            tokens.append(_Token(chunks[k][0], chunks[k + n - 1][1], word, False))
            k += n
            continue
        pieces = _segment(low[chunks[k][0] : chunks[k][1]].translate(APOSTROPHE_TABLE), spec)
        base = chunks[k][0]
        for i, (a, b, word) in enumerate(pieces or ()):
            tokens.append(_Token(base + a, base + b, word, i + 1 < len(pieces or ())))
        k += 1
    return tokens


def _multiword(
    low: str, chunks: list[tuple[int, int]], k: int, spec: NumberLanguage
) -> tuple[int, NumberWord] | None:
    """A form spanning several chunks ("quatre-vingt", "half a"), longest first."""
    for n in range(min(spec.max_form_words, len(chunks) - k), 1, -1):
        key = normalise_form(" ".join(low[a:b] for a, b in chunks[k : k + n]))
        if key in spec.words:
            return n, spec.words[key]
    return None


def _segment(chunk: str, spec: NumberLanguage) -> list[tuple[int, int, NumberWord]] | None:
    """Split a glued chunk into forms, longest first with backtracking:
    "centotto" → cent + otto, not cento + "tto"."""
    failed: set[int] = set()

    def from_(i: int) -> list[tuple[int, int, NumberWord]] | None:
        if i == len(chunk):
            return []
        if i in failed:
            return None
        for length in spec.form_lengths:
            word = spec.words.get(chunk[i : i + length])
            if word is not None and " " not in chunk[i : i + length]:
                rest = from_(i + length)
                if rest is not None:
                    return [(i, i + length, word), *rest]
        failed.add(i)
        return None

    return from_(0)


@dataclass(slots=True)
class _Acc:
    """The number being read: finished scale groups in `parts`, the group below in `current`."""

    parts: list[tuple[float, float]] = field(default_factory=list)  # (scale, amount), largest first
    current: float = 0.0
    prev: NumberWord | None = None
    scale: float | None = None  # set while the number is exactly "<count> <scale>"

    @property
    def value(self) -> float:
        return sum(amount for _, amount in self.parts) + self.current


def _parse_tokens(tokens: list[_Token], spec: NumberLanguage) -> list[Atom]:
    atoms: list[Atom] = []
    i = 0
    while i < len(tokens):
        used, atom = _parse_number(tokens, i, spec)
        if atom is not None:
            atoms.append(atom)
        i += max(used, 1)
    return atoms


def _parse_number(tokens: list[_Token], i: int, spec: NumberLanguage) -> tuple[int, Atom | None]:
    """Read one number from tokens[i:]; returns (tokens used, the number or None)."""
    acc, j, used = _Acc(), i, 0
    while j < len(tokens):
        via = ""
        if tokens[j].word.kind == "and":
            if acc.prev is None or j + 1 >= len(tokens):
                break
            via, j = tokens[j].word.rule, j + 1
        nxt = tokens[j + 1].word if j + 1 < len(tokens) else None
        if not _usable(tokens[j], nxt) or not _step(acc, tokens[j].word, via, spec):
            break
        j += 1
        used = j - i
    if acc.prev is None:
        return 1, None
    last = tokens[i + used - 1]
    return used, Atom(tokens[i].start, last.end, acc.value, None, "words", acc.scale)


def _usable(token: _Token, nxt: NumberWord | None) -> bool:
    word = token.word
    if word.glued_only and not token.glued_to_next:
        return False
    if word.needs_scale:
        return nxt is not None and nxt.kind in ("mult", "scale")
    return True


def _step(acc: _Acc, word: NumberWord, via: str, spec: NumberLanguage) -> bool:
    """Add `word` to the number if it can continue it; False ends the number before it."""
    ok = _STEPS[word.kind](acc, word, via, spec)
    if ok:
        if word.kind != "scale":
            acc.scale = None
        acc.prev = word
    return ok


def _add_unit(acc: _Acc, word: NumberWord, via: str, spec: NumberLanguage) -> bool:
    ok = any(_unit_fits(acc, word.value, rule, spec) for rule in via.split() or [""])
    if ok:
        acc.current += word.value
    return ok


def _unit_fits(acc: _Acc, v: float, rule: str, spec: NumberLanguage) -> bool:
    """Can a unit word worth `v` continue the number, after connector `rule` if any?"""
    prev, low2 = acc.prev, acc.current % 100
    if prev is None:
        return not rule
    if rule == "units_tens":  # de "ein|und|zwanzig"
        return prev.kind == "unit" and prev.value < 10 and _is_tens(v)
    if rule == "tens_units":  # es "treinta y tres", fr "vingt et un", "soixante et onze"
        vigesimal = low2 in spec.vigesimal and v < 20
        return prev.kind == "unit" and _is_tens(prev.value, 10) and (v < 10 or vigesimal)
    if rule == "after_scale":  # en "hundred and five", de "tausendundzwölf"
        return prev.kind != "unit" and low2 == 0
    return (
        (acc.current == 0 and prev.kind == "scale")
        or (low2 == 0 and acc.current > 0 and prev.kind != "unit")
        or (v < 10 and _is_tens(low2) and prev.kind == "unit")
        or (low2 in spec.vigesimal and 10 <= v < 20)
    )


def _is_tens(v: float, lowest: int = 20) -> bool:
    return lowest <= v <= 90 and v % 10 == 0


def _add_hundreds(acc: _Acc, word: NumberWord, via: str, spec: NumberLanguage) -> bool:
    after_scale = acc.prev is None or acc.prev.kind == "scale"
    ok = acc.current == 0 and via in ("", "after_scale") and after_scale
    if ok:
        acc.current = word.value
    return ok


def _add_mult(acc: _Acc, word: NumberWord, via: str, spec: NumberLanguage) -> bool:
    prev = acc.prev
    ok = not via and acc.current < 100 and (prev is None or prev.kind in ("unit", "scale"))
    ok = ok and not (word.counted and acc.current == 0)
    if ok:
        acc.current = (acc.current or 1) * word.value
    return ok


def _add_scale(acc: _Acc, word: NumberWord, via: str, spec: NumberLanguage) -> bool:
    s = word.value
    if via or (word.counted and acc.value == 0) or any(scale == s for scale, _ in acc.parts):
        return False
    higher = [p for p in acc.parts if p[0] > s]
    lower = sum(amount for scale, amount in acc.parts if scale < s)
    if acc.current == 0 and acc.parts and not lower:
        return False  # "million thousand": a smaller scale needs a count of its own
    # A larger scale after smaller ones multiplies them: es "cincuenta mil doscientos
    # millones" = 50 200 millones, but only below any larger scale ("tres billones …").
    amount = (lower + acc.current or 1) * s
    acc.scale = None if higher or lower else s
    acc.parts = [*higher, (s, amount)]
    acc.current = 0.0
    return True


def _add_half(acc: _Acc, word: NumberWord, via: str, spec: NumberLanguage) -> bool:
    """ "un milione e mezzo" = 1 500 000; "два с половиной миллиона" = 2 500 000."""
    prev = acc.prev
    if via or prev is None:
        return False
    if prev.kind == "scale" and acc.current == 0:
        scale, amount = acc.parts[-1]
        acc.parts[-1] = (scale, amount + scale / 2)
        return True
    if prev.kind == "unit" and 0 < acc.current < 100 and float(acc.current).is_integer():
        acc.current += 0.5
        return True
    return False


_STEPS = {
    "unit": _add_unit,
    "hundreds": _add_hundreds,
    "mult": _add_mult,
    "scale": _add_scale,
    "half": _add_half,
}

