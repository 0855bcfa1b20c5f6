"""The claim history: every figure ever read for a topic and metric, with where from.

The current figure of a topic/metric is derived from this history (the latest claim
by publication time), never stored separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update

from watcher.storage import schema
from watcher.storage.engine import Database, clean, from_db, to_db
from watcher.types import ArticleRef, Claim, FigureRecord, Qualifier


@dataclass(frozen=True)
class StoredClaim:
    id: int
    topic_id: str
    metric: str
    value: float
    value_max: float | None
    qualifier: Qualifier
    source: str | None
    quote: str
    lang: str | None
    published: datetime
    article_id: int | None
    article: ArticleRef | None
    superseded: bool

    def record(self) -> FigureRecord:
        return FigureRecord(
            value=self.value, value_max=self.value_max, qualifier=self.qualifier,
            source=self.source, published=self.published, quote=self.quote,
            articles=(self.article,) if self.article else (), lang=self.lang,
        )


class ClaimRepository:
    def __init__(self, db: Database):
        self._db = db

    def add(self, topic_id: str, claim: Claim, *, article_id: int | None,
            published: datetime, now: datetime) -> int:
        with self._db.transaction() as conn:
            result = conn.execute(_ADD, dict(
                topic_id=topic_id, metric=claim.metric, value=claim.value,
                value_max=claim.value_max, qualifier=claim.qualifier, source=clean(claim.source),
                quote=clean(claim.quote), lang=claim.lang, article_id=article_id,
                published=to_db(published), recorded_at=to_db(now),
            ))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def history(self, topic_id: str, metric: str, *,
                include_superseded: bool = False) -> list[StoredClaim]:
        """Claims oldest first (publication time, then arrival order)."""
        query = _HISTORY_ALL if include_superseded else _HISTORY
        with self._db.transaction() as conn:
            rows = conn.execute(query, {"topic_id": topic_id, "metric": metric}).all()
        return [_claim(r) for r in rows]

    def for_article(self, article_id: int) -> list[StoredClaim]:
        with self._db.transaction() as conn:
            return [_claim(r) for r in conn.execute(_FOR_ARTICLE, {"article_id": article_id}).all()]

    def supersede(self, claim_ids: list[int]) -> None:
        if not claim_ids:
            return
        with self._db.transaction() as conn:
            conn.execute(update(schema.claims).where(schema.claims.c.id.in_(claim_ids))
                         .values(superseded=True))

    def every(self, topic_id: str | None = None,
              since: datetime | None = None) -> list[StoredClaim]:
        """The whole history (superseded claims left out), by topic, metric and publication
        time; optionally one topic's, and only claims published since a time (exports)."""
        c = schema.claims
        query = _select().where(c.c.superseded.is_(False))
        if topic_id is not None:
            query = query.where(c.c.topic_id == topic_id)
        if since is not None:
            query = query.where(c.c.published >= to_db(since))
        with self._db.transaction() as conn:
            rows = conn.execute(query.order_by(c.c.topic_id, c.c.metric, c.c.published, c.c.id))
            return [_claim(r) for r in rows.all()]

    def topics_and_metrics(self) -> list[tuple[str, str]]:
        c = schema.claims
        with self._db.transaction() as conn:
            rows = conn.execute(select(c.c.topic_id, c.c.metric).distinct()
                                .order_by(c.c.topic_id, c.c.metric)).all()
        return [(r.topic_id, r.metric) for r in rows]


def _select():  # type: ignore[no-untyped-def]
    c, a = schema.claims, schema.articles
    return select(c, a.c.title.label("a_title"), a.c.url.label("a_url"),
                  a.c.feed_id.label("a_feed"), a.c.published.label("a_published"),
                  a.c.first_seen.label("a_first_seen")).select_from(
        c.outerjoin(a, c.c.article_id == a.c.id))


# Built once: every claim of every poll runs these, and building a statement costs more
# than executing it on SQLite.
_c = schema.claims
_ADD = insert(_c)
_HISTORY_ALL = (_select().where(_c.c.topic_id == bindparam("topic_id"),
                                _c.c.metric == bindparam("metric"))
                .order_by(_c.c.published, _c.c.id))
_HISTORY = _HISTORY_ALL.where(_c.c.superseded.is_(False))
_FOR_ARTICLE = (_select().where(_c.c.article_id == bindparam("article_id"),
                                _c.c.superseded.is_(False)).order_by(_c.c.id))


def _claim(row) -> StoredClaim:  # type: ignore[no-untyped-def]
    article = None
    if row.article_id is not None:
        article = ArticleRef(title=row.a_title, url=row.a_url, feed=row.a_feed,
                             published=from_db(row.a_published or row.a_first_seen))  # type: ignore[arg-type]
    return StoredClaim(
        id=row.id, topic_id=row.topic_id, metric=row.metric, value=row.value,
        value_max=row.value_max, qualifier=row.qualifier, source=row.source, quote=row.quote,
        lang=row.lang, published=from_db(row.published),  # type: ignore[arg-type]
        article_id=row.article_id, article=article, superseded=bool(row.superseded),
    )
