"""Articles seen in feeds: one row per (feed, entry key), updated when the text is edited."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update

from watcher.storage import schema
from watcher.storage.engine import Database, clean, from_db, to_db
from watcher.types import Entry


@dataclass(frozen=True)
class StoredArticle:
    id: int
    feed_id: str
    key: str
    url: str | None
    title: str
    content_hash: str
    published: datetime | None
    first_seen: datetime
    text_pruned_at: datetime | None = None  # the body was emptied by retention then

    @property
    def effective_time(self) -> datetime:
        """Claims are ordered by publication time; an undated article by when we first saw it."""
        return self.published or self.first_seen


# Built once: every entry of every poll runs these, and building a statement costs more
# than executing it on SQLite.
_FIND = select(schema.articles.c.id, schema.articles.c.feed_id, schema.articles.c.key,
               schema.articles.c.url, schema.articles.c.title, schema.articles.c.content_hash,
               schema.articles.c.published, schema.articles.c.first_seen,
               schema.articles.c.text_pruned_at).where(
    schema.articles.c.feed_id == bindparam("feed_id"), schema.articles.c.key == bindparam("key"))
_FIND_MANY = select(*_FIND.selected_columns)
_ADD = insert(schema.articles)
_a, _c = schema.articles, schema.claims
_RECENT_WITH_CLAIMS = (
    select(_a.c.id, _a.c.feed_id, _a.c.text).distinct()
    .select_from(_a.join(_c, _c.c.article_id == _a.c.id))
    .where(_c.c.topic_id == bindparam("topic_id"), _c.c.superseded.is_(False),
           _a.c.first_seen >= bindparam("since"), _a.c.text_pruned_at.is_(None)))
_CHUNK = 500  # keys per IN (...): far below every backend's limit on bound parameters


class ArticleRepository:
    def __init__(self, db: Database):
        self._db = db

    def find(self, feed_id: str, key: str) -> StoredArticle | None:
        with self._db.transaction() as conn:
            row = conn.execute(_FIND, {"feed_id": feed_id, "key": clean(key)}).first()
        return None if row is None else _article(row)

    def find_many(self, feed_id: str, keys: Sequence[str]) -> dict[str, StoredArticle]:
        """The stored articles of one feed among `keys`, by key (a poll asks once per feed)."""
        a = schema.articles
        found: dict[str, StoredArticle] = {}
        cleaned = list(dict.fromkeys(clean(k) or "" for k in keys))
        with self._db.transaction() as conn:
            for start in range(0, len(cleaned), _CHUNK):
                query = _FIND_MANY.where(a.c.feed_id == feed_id,
                                         a.c.key.in_(cleaned[start:start + _CHUNK]))
                for row in conn.execute(query):
                    found[row.key] = _article(row)
        # Keys are stored cleaned (no NUL): look them up as the caller wrote them.
        return {k: found[c] for k in keys if (c := clean(k) or "") in found}

    def add(self, entry: Entry, now: datetime) -> StoredArticle:
        with self._db.transaction() as conn:
            inserted = conn.execute(_ADD, _values(entry, now)).inserted_primary_key
        assert inserted is not None  # an INSERT into a table with a primary key
        return StoredArticle(id=inserted[0], feed_id=entry.feed_id, key=clean(entry.key) or "",
                             url=clean(entry.link), title=clean(entry.title) or "",
                             content_hash=entry.content_hash, published=entry.published,
                             first_seen=_seconds(now))

    def add_many(self, entries: Sequence[Entry], now: datetime) -> None:
        """New articles in one statement (entries of no topic: nobody needs their ids)."""
        if entries:
            with self._db.transaction() as conn:
                conn.execute(_ADD, [_values(e, now) for e in entries])

    def replace_text(self, article_id: int, entry: Entry, now: datetime) -> StoredArticle:
        """The feed edited an entry we know: keep its identity and first-seen time."""
        with self._db.transaction() as conn:
            conn.execute(update(schema.articles).where(schema.articles.c.id == article_id).values(
                url=clean(entry.link), title=clean(entry.title), text=clean(entry.text),
                lang=entry.lang,
                content_hash=entry.content_hash, published=to_db(entry.published),
                updated_at=to_db(now), text_pruned_at=None,
            ))
        return self._get(article_id)

    def recent_with_claims(self, topic_id: str, since: datetime) -> list[tuple[int, str, str]]:
        """(id, feed, text) of articles with figures for a topic first seen since a time:
        the candidates a new article may be a syndicated copy of."""
        with self._db.transaction() as conn:
            rows = conn.execute(_RECENT_WITH_CLAIMS, {"topic_id": topic_id, "since": to_db(since)})
            return [(r.id, r.feed_id, r.text) for r in rows.all()]

    def prune_text(self, first_seen_before: datetime, now: datetime) -> int:
        """Retention: empty the bodies of articles first seen before a time (their title, URL,
        hash, claims and changes stay) and note when; how many were emptied."""
        a = schema.articles
        with self._db.transaction() as conn:
            result = conn.execute(update(a).where(
                a.c.first_seen < to_db(first_seen_before), a.c.text_pruned_at.is_(None))
                .values(text="", text_pruned_at=to_db(now)))
            return int(result.rowcount)

    def body(self, article_id: int) -> str:
        """An article's stored text ('' once pruned)."""
        with self._db.transaction() as conn:
            return conn.execute(select(schema.articles.c.text)
                                .where(schema.articles.c.id == article_id)).scalar_one()

    def _get(self, article_id: int) -> StoredArticle:
        with self._db.transaction() as conn:
            query = select(schema.articles).where(schema.articles.c.id == article_id)
            row = conn.execute(query).one()
        return _article(row)


def _values(entry: Entry, now: datetime) -> dict[str, object]:
    return dict(feed_id=entry.feed_id, key=clean(entry.key), url=clean(entry.link),
                title=clean(entry.title), text=clean(entry.text), lang=entry.lang,
                content_hash=entry.content_hash, published=to_db(entry.published),
                first_seen=to_db(now), updated_at=to_db(now))


def _seconds(moment: datetime) -> datetime:
    """A time as storage keeps it (whole seconds, UTC), so a fresh article reads the same
    as one loaded back."""
    return from_db(to_db(moment))  # type: ignore[return-value]


def _article(row) -> StoredArticle:  # type: ignore[no-untyped-def]
    return StoredArticle(
        id=row.id, feed_id=row.feed_id, key=row.key, url=row.url, title=row.title,
        content_hash=row.content_hash, published=from_db(row.published),
        first_seen=from_db(row.first_seen),  # type: ignore[arg-type]
        text_pruned_at=from_db(row.text_pruned_at),
    )
