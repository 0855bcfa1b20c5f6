"""The domain types users see: feeds' entries, claims, figure changes, digests.

All are frozen dataclasses; every datetime is timezone-aware UTC. Records that only
pass between two stages live next to those stages, not here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

Qualifier = Literal["exact", "approx", "at_least", "at_most", "range"]
# The first three alert; the others are kept in the history for the record (see compare.py).
ChangeKind = Literal["new", "changed", "conflict", "corroborated", "late", "below_threshold",
                     "baseline"]

BUILTIN_METRICS: tuple[str, ...] = (
    "killed", "wounded", "casualties", "missing", "captured",
    "deployed", "displaced", "evacuated", "arrested", "infected",
)


def _number(value: float) -> int | float:
    """15000.0 → 15000 so JSON shows integers as integers."""
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True, slots=True)
class Claim:
    """One figure a text states: what, how much, how sure, who says so, where.

    Produced by `watcher.figures.extract`; its JSON form is SPEC.md "Claim JSON".
    """

    metric: str
    value: float
    value_max: float | None
    qualifier: Qualifier
    source: str | None
    quote: str
    span: tuple[int, int]
    lang: str

    def to_json(self) -> dict:
        return {
            "metric": self.metric,
            "value": _number(self.value),
            "value_max": None if self.value_max is None else _number(self.value_max),
            "qualifier": self.qualifier,
            "source": self.source,
            "quote": self.quote,
            "span": list(self.span),
            "lang": self.lang,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed entry as parsed, before storage. `text` is plain text (HTML stripped)."""

    feed_id: str
    guid: str | None
    link: str | None
    title: str
    text: str
    published: datetime | None
    lang: str | None = None

    @property
    def content_hash(self) -> str:
        digest = hashlib.sha256(f"{self.title}\n{self.text}".encode()).hexdigest()
        return f"v1:{digest[:32]}"

    @property
    def key(self) -> str:
        """Identity used to dedupe entries of one feed: guid → link → content hash."""
        if self.guid:
            return f"guid:{self.guid}"
        if self.link:
            return f"link:{self.link}"
        return f"hash:{self.content_hash}"


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """Where a claim was read: shown as a link in digests."""

    title: str
    url: str | None
    feed: str
    published: datetime


@dataclass(frozen=True, slots=True)
class FigureRecord:
    """A claim placed in a topic's history: one point of the figure over time."""

    value: float
    value_max: float | None
    qualifier: Qualifier
    source: str | None
    published: datetime
    quote: str
    articles: tuple[ArticleRef, ...] = ()
    lang: str | None = None

    def to_json(self, with_quote: bool = True) -> dict:
        out: dict[str, object] = {
            "value": _number(self.value),
            "value_max": None if self.value_max is None else _number(self.value_max),
            "qualifier": self.qualifier,
            "source": self.source,
            "published": iso(self.published),
        }
        if with_quote:
            out["quote"] = self.quote
            out["articles"] = [
                {"title": a.title, "url": a.url, "feed": a.feed, "published": iso(a.published)}
                for a in self.articles
            ]
        return out


@dataclass(frozen=True, slots=True)
class FigureChange:
    """A new claim compared with the known history of its topic and metric."""

    id: str  # stable: derived from topic, metric, claim — the same change has the same id
    topic: str
    topic_name: str
    metric: str
    kind: ChangeKind
    previous: FigureRecord | None
    current: FigureRecord
    reason: str = ""  # which rule fired, for `watcher figures --explain`

    @property
    def delta(self) -> float | None:
        if self.previous is None:
            return None
        return _number(self.current.value - self.previous.value)

    @property
    def delta_pct(self) -> float | None:
        if self.previous is None or self.previous.value == 0:
            return None
        return round((self.current.value - self.previous.value) / self.previous.value * 100, 1)

    def to_json(self) -> dict:
        return {
            "topic": self.topic,
            "topic_name": self.topic_name,
            "metric": self.metric,
            "kind": self.kind,
            "previous": None if self.previous is None else self.previous.to_json(with_quote=False),
            "current": self.current.to_json(with_quote=True),
            "delta": self.delta,
            "delta_pct": self.delta_pct,
        }


@dataclass(frozen=True, slots=True)
class FeedWarning:
    """A feed a digest warns about: failing, stale or retired (see `watcher.pipeline.health`).

    `reason` is one human line ("3 failed polls in a row, last success 2 days ago: HTTP
    503"); it may carry server-provided text, so it is escaped wherever it is shown.
    """

    feed: str
    state: str  # failing / stale / retired
    reason: str
    last_success: datetime | None
    consecutive_failures: int

    def to_json(self) -> dict:
        return {"feed": self.feed, "state": self.state, "reason": self.reason,
                "last_success": iso(self.last_success),
                "consecutive_failures": self.consecutive_failures}

    @classmethod
    def from_json(cls, data: dict) -> FeedWarning:
        last = data.get("last_success")
        return cls(feed=data["feed"], state=data["state"], reason=data["reason"],
                   last_success=None if last is None else datetime.fromisoformat(last),
                   consecutive_failures=int(data.get("consecutive_failures", 0)))


@dataclass(frozen=True, slots=True)
class Digest:
    """What one delivery carries to one channel: one or more changes.

    `history` maps (topic, metric) to that figure's records, oldest first, for the
    "history at a glance" row in emails. `feeds_needing_attention` is the feed-health
    summary shown after the changes (empty when every feed is healthy); it is taken once,
    at the first attempt, so that every retry carries the same body.
    """

    id: str  # stable across retries: webhook `id`/`webhook-id`, email Message-ID
    channel: str
    generated_at: datetime
    changes: tuple[FigureChange, ...]
    history: dict[tuple[str, str], tuple[FigureRecord, ...]] = field(default_factory=dict)
    feeds_needing_attention: tuple[FeedWarning, ...] = ()

    def to_json(self) -> dict:
        """The webhook body of SPEC.md, plus `feeds_needing_attention` (an additive field,
        present only when some feed is failing, stale or retired; see the README)."""
        body: dict[str, object] = {
            "type": "watcher.digest",
            "version": 1,
            "id": self.id,
            "generated_at": iso(self.generated_at),
            "changes": [c.to_json() for c in self.changes],
        }
        if self.feeds_needing_attention:
            body["feeds_needing_attention"] = [w.to_json() for w in self.feeds_needing_attention]
        return body


def iso(moment: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, as in SPEC.md."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
