"""The durable outbox: changes, their deliveries per channel, and digests being sent.

A change and its pending deliveries are written in the transaction that records the
claim (see `watcher.pipeline`). Sending happens in three steps, each committed:

1. `batch(channel)` gathers a channel's undigested deliveries into a new digest row.
   The digest id is fixed from then on: every retry resends the same changes with the
   same id (webhook-id / Message-ID), so a receiver can drop a repeat.
2. the deliverer sends the digest (outside any transaction);
3. `mark_sent` or `mark_failed` records the outcome. A crash between 2 and 3 resends
   the same digest with the same id: at-least-once on the wire, once for the user.

The feed-health summary a digest ends with is stored with it before its first attempt
(`keep_feed_health`), so that retries resend it unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, insert, select, update

from watcher.storage import schema
from watcher.storage.engine import Database, from_db, to_db
from watcher.types import ArticleRef, FeedWarning, FigureChange, FigureRecord

# Built once: every decision of every poll runs these, and building a statement costs
# more than executing it on SQLite.
_CHANGE_KNOWN = select(schema.changes.c.id).where(schema.changes.c.id == bindparam("id"))
_ADD_CHANGE = insert(schema.changes)
_ADD_DELIVERY = insert(schema.deliveries)


@dataclass(frozen=True)
class OutboxDigest:
    id: str
    channel_id: str
    created_at: datetime
    status: str  # pending / sent / dead
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    changes: tuple[FigureChange, ...]
    # the feed-health summary taken at the first attempt; None: not taken yet
    feed_health: tuple[FeedWarning, ...] | None = None


@dataclass(frozen=True)
class ChannelBacklog:
    channel_id: str
    undigested: int  # changes waiting for the channel's schedule
    pending: int  # digests due or waiting to retry
    dead: int  # digests that failed permanently
    sent: int
    last_error: str | None


@dataclass(frozen=True)
class RecordedChange:
    """A decision as recorded: when, whether it alerted, and what it said."""

    created_at: datetime
    kind: str
    alerted: bool
    change: FigureChange


class Outbox:
    def __init__(self, db: Database):
        self._db = db

    # -- changes ---------------------------------------------------------------------------
    def record_change(self, change: FigureChange, *, alert: bool, claim_id: int,
                      previous_claim_id: int | None, channels: list[str], now: datetime) -> bool:
        """Store a decision and, when it alerts, one delivery per channel. False if known."""
        with self._db.transaction() as conn:
            if conn.execute(_CHANGE_KNOWN, {"id": change.id}).first():
                return False
            conn.execute(_ADD_CHANGE, dict(
                id=change.id, topic_id=change.topic, metric=change.metric, kind=change.kind,
                alert=alert, claim_id=claim_id, previous_claim_id=previous_claim_id,
                reason=change.reason, created_at=to_db(now),
                payload=json.dumps(change_to_payload(change)),
            ))
            deliveries = [dict(id=_hash(change.id, channel), change_id=change.id,
                               channel_id=channel, created_at=to_db(now))
                          for channel in channels if alert]
            if deliveries:
                conn.execute(_ADD_DELIVERY, deliveries)
        return True

    def decisions(self, topic_id: str,
                  metric: str | None = None) -> list[tuple[str, bool, FigureChange]]:
        """(kind, alerted, change) for a topic, oldest first: what `figures --explain` shows."""
        c = schema.changes
        query = select(c).where(c.c.topic_id == topic_id)
        if metric:
            query = query.where(c.c.metric == metric)
        with self._db.transaction() as conn:
            rows = conn.execute(query.order_by(c.c.created_at, c.c.claim_id)).all()
        return [(r.kind, bool(r.alert), change_from_payload(json.loads(r.payload))) for r in rows]

    def recorded(self, topic_id: str | None = None,
                 since: datetime | None = None) -> list[RecordedChange]:
        """Every decision (optionally one topic's, recorded since a time), by topic, metric
        and recording time: what `watcher export --what changes` writes."""
        c = schema.changes
        query = select(c)
        if topic_id is not None:
            query = query.where(c.c.topic_id == topic_id)
        if since is not None:
            query = query.where(c.c.created_at >= to_db(since))
        query = query.order_by(c.c.topic_id, c.c.metric, c.c.created_at, c.c.claim_id)
        with self._db.transaction() as conn:
            rows = conn.execute(query).all()
        return [RecordedChange(from_db(r.created_at), r.kind, bool(r.alert),  # type: ignore[arg-type]
                               change_from_payload(json.loads(r.payload))) for r in rows]

    # -- digests ---------------------------------------------------------------------------
    def batch(self, channel_id: str, now: datetime) -> str | None:
        """Gather the channel's undigested deliveries into a digest; its id, or None."""
        d = schema.deliveries
        with self._db.transaction() as conn:
            ids = [r.id for r in conn.execute(
                select(d.c.id).where(d.c.channel_id == channel_id, d.c.digest_id.is_(None))
                .order_by(d.c.created_at, d.c.id))]
            if not ids:
                return None
            digest_id = _hash(channel_id, *ids)
            conn.execute(insert(schema.digests).values(
                id=digest_id, channel_id=channel_id, created_at=to_db(now), status="pending",
                attempts=0, next_attempt_at=to_db(now)))
            conn.execute(update(d).where(d.c.id.in_(ids)).values(digest_id=digest_id))
        return digest_id

    def oldest_undigested(self, channel_id: str) -> datetime | None:
        """When the channel's oldest change still waiting for a digest was queued (None:
        nothing waits): the daemon's catch-up for cron digests missed while it was down."""
        d = schema.deliveries
        with self._db.transaction() as conn:
            oldest = conn.execute(select(func.min(d.c.created_at)).where(
                d.c.channel_id == channel_id, d.c.digest_id.is_(None))).scalar()
        return from_db(oldest)

    def undigested(self, channel_id: str, now: datetime) -> OutboxDigest | None:
        """What `batch` would gather now, without writing anything (for previews)."""
        d, c = schema.deliveries, schema.changes
        with self._db.transaction() as conn:
            rows = conn.execute(
                select(d.c.id, c.c.payload).select_from(d.join(c, d.c.change_id == c.c.id))
                .where(d.c.channel_id == channel_id, d.c.digest_id.is_(None))
                .order_by(c.c.claim_id, d.c.id)).all()  # in the order the claims were read
        if not rows:
            return None
        return OutboxDigest(
            id=_hash(channel_id, *[r.id for r in rows]), channel_id=channel_id, created_at=now,
            status="preview", attempts=0, next_attempt_at=now, last_error=None,
            changes=tuple(change_from_payload(json.loads(r.payload)) for r in rows))

    def due(self, channel_id: str, now: datetime, *, include_waiting: bool = False,
            include_dead: bool = False) -> list[OutboxDigest]:
        g = schema.digests
        statuses = ["pending", "dead"] if include_dead else ["pending"]
        query = select(g).where(g.c.channel_id == channel_id, g.c.status.in_(statuses))
        if not include_waiting:
            query = query.where(g.c.next_attempt_at <= to_db(now))
        with self._db.transaction() as conn:
            rows = conn.execute(query.order_by(g.c.created_at, g.c.id)).all()
            return [self._digest(conn, r) for r in rows]

    def mark_sent(self, digest_id: str, now: datetime) -> None:
        self._set(digest_id, status="sent", sent_at=to_db(now), last_error=None,
                  attempts=schema.digests.c.attempts + 1)

    def mark_failed(self, digest_id: str, error: str, *, retry_at: datetime | None) -> None:
        """retry_at None: permanent failure (dead letter, `watcher digest --retry` revives)."""
        values: dict[str, object] = dict(last_error=error, attempts=schema.digests.c.attempts + 1)
        if retry_at is None:
            values["status"] = "dead"
        else:
            values.update(status="pending", next_attempt_at=to_db(retry_at))
        self._set(digest_id, **values)

    def keep_feed_health(self, digest_id: str,
                         warnings: tuple[FeedWarning, ...]) -> tuple[FeedWarning, ...]:
        """Record a digest's feed-health summary unless one is recorded already; return the
        recorded one (the first wins: every retry resends the same body)."""
        g = schema.digests
        payload = json.dumps([w.to_json() for w in warnings])
        with self._db.transaction() as conn:
            conn.execute(update(g).where(g.c.id == digest_id, g.c.feed_health.is_(None))
                         .values(feed_health=payload))
            stored = conn.execute(select(g.c.feed_health).where(g.c.id == digest_id)).scalar()
        return _feed_health(stored) or ()

    def backlog(self, channel_ids: list[str]) -> list[ChannelBacklog]:
        return [self._backlog(ch) for ch in channel_ids]

    def _backlog(self, channel_id: str) -> ChannelBacklog:
        d, g = schema.deliveries, schema.digests
        with self._db.transaction() as conn:
            undigested = conn.execute(select(func.count()).select_from(d).where(
                d.c.channel_id == channel_id, d.c.digest_id.is_(None))).scalar_one()
            counts: dict[str, int] = dict(conn.execute(select(g.c.status, func.count()).where(
                g.c.channel_id == channel_id).group_by(g.c.status)).all())
            last_error = conn.execute(select(g.c.last_error).where(and_(
                g.c.channel_id == channel_id, g.c.status != "sent", g.c.last_error.is_not(None)))
                .order_by(g.c.next_attempt_at.desc())).scalar()
        return ChannelBacklog(channel_id, undigested, counts.get("pending", 0),
                              counts.get("dead", 0), counts.get("sent", 0), last_error)

    def _set(self, digest_id: str, **values: object) -> None:
        with self._db.transaction() as conn:
            conn.execute(update(schema.digests).where(schema.digests.c.id == digest_id)
                         .values(**values))

    def _digest(self, conn, row) -> OutboxDigest:  # type: ignore[no-untyped-def]
        d, c = schema.deliveries, schema.changes
        payloads = conn.execute(
            select(c.c.payload).select_from(d.join(c, d.c.change_id == c.c.id))
            .where(d.c.digest_id == row.id).order_by(c.c.claim_id, d.c.id)).all()
        return OutboxDigest(
            id=row.id, channel_id=row.channel_id, created_at=from_db(row.created_at),  # type: ignore[arg-type]
            status=row.status, attempts=row.attempts,
            next_attempt_at=from_db(row.next_attempt_at),  # type: ignore[arg-type]
            last_error=row.last_error,
            changes=tuple(change_from_payload(json.loads(p.payload)) for p in payloads),
            feed_health=_feed_health(row.feed_health),
        )


def _feed_health(stored: str | None) -> tuple[FeedWarning, ...] | None:
    return None if stored is None else tuple(FeedWarning.from_json(w) for w in json.loads(stored))


def corroborating_articles(db: Database, change_id: str) -> list[ArticleRef]:
    """Articles whose claims corroborated the figure a change alerted about (syndicated
    copies, other outlets repeating it): the outlets a digest can count."""
    ch, later, c, a = (schema.changes, schema.changes.alias("later"), schema.claims,
                       schema.articles)
    query = (select(a.c.title, a.c.url, a.c.feed_id, a.c.published, a.c.first_seen)
             .select_from(ch.join(later, later.c.previous_claim_id == ch.c.claim_id)
                          .join(c, c.c.id == later.c.claim_id).join(a, a.c.id == c.c.article_id))
             .where(ch.c.id == change_id, later.c.kind == "corroborated",
                    later.c.metric == ch.c.metric, later.c.topic_id == ch.c.topic_id)
             .order_by(later.c.created_at, later.c.claim_id))
    with db.transaction() as conn:
        return [ArticleRef(title=r.title, url=r.url, feed=r.feed_id,
                           published=from_db(r.published or r.first_seen))  # type: ignore[arg-type]
                for r in conn.execute(query).all()]


def claim_reasons(db: Database, topic_id: str, metric: str) -> dict[int, str]:
    """claim id → the decision recorded for it ("changed: differs from 600 (…)")."""
    c = schema.changes
    with db.transaction() as conn:
        rows = conn.execute(select(c.c.claim_id, c.c.reason).where(
            c.c.topic_id == topic_id, c.c.metric == metric)).all()
    return {r.claim_id: r.reason for r in rows}


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


# -- FigureChange <-> JSON (what a digest is rebuilt from after a restart) -----------------
def change_to_payload(change: FigureChange) -> dict:
    return {
        "id": change.id, "topic": change.topic, "topic_name": change.topic_name,
        "metric": change.metric, "kind": change.kind, "reason": change.reason,
        "previous": None if change.previous is None else _record_payload(change.previous),
        "current": _record_payload(change.current),
    }


def change_from_payload(data: dict) -> FigureChange:
    return FigureChange(
        id=data["id"], topic=data["topic"], topic_name=data["topic_name"], metric=data["metric"],
        kind=data["kind"], reason=data.get("reason", ""),
        previous=None if data["previous"] is None else _record_from(data["previous"]),
        current=_record_from(data["current"]),
    )


def _record_payload(r: FigureRecord) -> dict:
    return {
        "value": r.value, "value_max": r.value_max, "qualifier": r.qualifier, "source": r.source,
        "published": to_db(r.published), "quote": r.quote, "lang": r.lang,
        "articles": [{"title": a.title, "url": a.url, "feed": a.feed,
                      "published": to_db(a.published)}
                     for a in r.articles],
    }


def _record_from(d: dict) -> FigureRecord:
    return FigureRecord(
        value=d["value"], value_max=d["value_max"], qualifier=d["qualifier"], source=d["source"],
        published=from_db(d["published"]), quote=d["quote"], lang=d.get("lang"),  # type: ignore[arg-type]
        articles=tuple(ArticleRef(title=a["title"], url=a["url"], feed=a["feed"],
                                  published=from_db(a["published"]))  # type: ignore[arg-type]
                       for a in d["articles"]),
    )
