"""The records the extractor's steps hand each other.

Owns: `MetricHit` (a metric word found in the text), `SentenceContext` (one sentence being
read, with what was computed about it once: its words, clause cuts, numbers and metric
words, shared by metric binding, the past-figure checks and attribution) and `Found` (a
claim with the sentence and metric word it came from, for the subject filter).

Does not own: computing any of it (`extract.py` builds them) or the user-facing `Claim`
(`watcher.types`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from watcher.figures.numbers import NumberMention
from watcher.figures.text import Sentence, WordIndex
from watcher.figures.vocab import LanguageVocab, Trigger
from watcher.types import Claim


@dataclass(frozen=True, slots=True)
class MetricHit:
    """A metric word found in a sentence."""

    start: int
    end: int
    trigger: Trigger


@dataclass(slots=True)
class SentenceContext:
    """One sentence being read, with what we computed about it once."""

    text: str
    sentence: Sentence
    vocab: LanguageVocab
    hits: list[MetricHit]  # the sentence's metric words
    words: WordIndex
    cuts: list[int]  # clause boundaries (`text.clause_bounds`)
    mentions: list[NumberMention]  # the numbers that passed `counts.is_count`
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
