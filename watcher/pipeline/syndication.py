"""Is a new article a copy of one we already read? (the same wire story in another feed)

Syndicated copies carry other titles, a different first line, a few words changed or
cut. We compare article bodies, normalised (case, accents, punctuation), with
rapidfuzz's `token_set_ratio`: it ignores word order and tolerates words added or
removed, and runs in C, so comparing a new article with the topic's recent articles
costs microseconds each. Shingling (MinHash) would only pay off with many thousands of
candidates per article; topics see far fewer. Two guards keep it honest:
a copy must be at least half as long as its original (a three-line brief is not a copy
of a long feature just because its words appear in it), and must have enough words to
tell (short texts share words by chance).

Pure: texts in, the id of the original (or None) out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from watcher.pipeline.match import normalize

COPY_SCORE = 90
MIN_WORDS = 12
MIN_LENGTH_RATIO = 0.5
COMPARED_CHARS = 2000  # the lead of a story is where copies agree; the tail is often cut


@dataclass(frozen=True)
class Candidate:
    article_id: int
    feed_id: str
    text: str


def find_original(text: str, candidates: Iterable[Candidate], *, feed_id: str) -> Candidate | None:
    """The earlier article from another feed that `text` is a copy of, if any."""
    mine = _normal(text[:COMPARED_CHARS])
    if len(mine.split()) < MIN_WORDS:
        return None
    best, best_score = None, 0.0
    for candidate in candidates:
        if candidate.feed_id == feed_id:
            continue  # a feed repeating itself is an edit or a duplicate entry, handled by key
        theirs = _normal(candidate.text[:COMPARED_CHARS])
        if min(len(mine), len(theirs)) < MIN_LENGTH_RATIO * max(len(mine), len(theirs)):
            continue
        score = fuzz.token_set_ratio(mine, theirs, score_cutoff=COPY_SCORE)
        if score > best_score:
            best, best_score = candidate, score
    return best


@lru_cache(maxsize=4096)  # at most ~8 MB of leads
def _normal(lead: str) -> str:
    """Cached: every new article of a topic is compared with the same recent articles."""
    return normalize(lead)
