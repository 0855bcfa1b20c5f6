"""Feed state: HTTP validators, health and the next poll time, one row per feed.

The interval a feed's document asks for (RSS `<ttl>`, `sy:updatePeriod`) is kept in the
`meta` key/value table, one `feed_ttl:<feed id>` row per feed that asks: it must outlive
a 304 (no document to read it from) and needs no column of its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from watcher.storage import schema
from watcher.storage.engine import Database, from_db, to_db


@dataclass(frozen=True)
class FeedState:
    id: str
    url: str
    etag: str | None
    last_modified: str | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_kind: str | None
    consecutive_failures: int
    next_poll_at: datetime | None
    entries_seen: int
    retired: bool
    redirect_url: str | None = None  # a permanent redirect seen `redirect_count` polls in a row
    redirect_count: int = 0
    last_error_at: datetime | None = None
    newest_entry_at: datetime | None = None  # the newest entry's publication time seen
    median_gap: float | None = None  # seconds between entries: the feed's rhythm
    feed_ttl: float | None = None  # seconds its document asks between polls (<ttl>)


@dataclass(frozen=True)
class FetchOutcome:
    """What one poll of a feed did, as storage needs to remember it."""

    ok: bool
    at: datetime
    next_poll_at: datetime
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    error_kind: str | None = None
    new_url: str | None = None
    new_entries: int = 0
    retire: bool = False
    redirect_url: str | None = None  # pending permanent redirect (not yet followed)
    redirect_count: int = 0
    newest_entry_at: datetime | None = None  # None: keep what is stored
    median_gap: float | None = None  # None: keep what is stored
    feed_ttl: float | None = None  # what the document asks now (None: nothing); always stored


class FeedRepository:
    def __init__(self, db: Database):
        self._db = db

    def sync(self, feeds: list[tuple[str, str]]) -> None:
        """Make sure each configured (id, url) has a row. A URL changed in the config
        resets validators, redirects and retirement; a URL moved by repeated permanent
        redirects (`url` ≠ `configured_url`) is kept while the config is unchanged."""
        t = schema.feeds
        with self._db.transaction() as conn:
            known = {r.id: r.configured_url or r.url
                     for r in conn.execute(select(t.c.id, t.c.url, t.c.configured_url))}
            for feed_id, url in feeds:
                if feed_id not in known:
                    conn.execute(insert(t).values(id=feed_id, url=url, configured_url=url))
                elif known[feed_id] != url:
                    conn.execute(update(t).where(t.c.id == feed_id).values(
                        url=url, configured_url=url, etag=None, last_modified=None,
                        retired=False, redirect_url=None, redirect_count=0))
                    _set_ttl(conn, feed_id, None)  # another document: it will say its own

    def get(self, feed_id: str) -> FeedState | None:
        with self._db.transaction() as conn:
            row = conn.execute(select(schema.feeds).where(schema.feeds.c.id == feed_id)).first()
            ttl = conn.execute(select(_m.c.value).where(_m.c.key == _ttl_key(feed_id))).scalar()
        return None if row is None else _state(row, ttl)

    def all(self) -> list[FeedState]:
        with self._db.transaction() as conn:
            rows = conn.execute(select(schema.feeds).order_by(schema.feeds.c.id)).all()
            ttl_rows = conn.execute(select(_m.c.key, _m.c.value).where(
                _m.c.key.startswith(_TTL_PREFIX, autoescape=True)))
            ttls = {key: value for key, value in ttl_rows}
        return [_state(r, ttls.get(_ttl_key(r.id))) for r in rows]

    def record(self, feed_id: str, outcome: FetchOutcome) -> None:
        values: dict = {"last_poll_at": to_db(outcome.at),
                        "next_poll_at": to_db(outcome.next_poll_at)}
        if outcome.ok:
            values.update(last_success_at=to_db(outcome.at), consecutive_failures=0,
                          last_error=None, last_error_kind=None,
                          entries_seen=schema.feeds.c.entries_seen + outcome.new_entries)
            if outcome.etag is not None or outcome.last_modified is not None:
                values.update(etag=outcome.etag, last_modified=outcome.last_modified)
        else:
            values.update(last_error=outcome.error, last_error_kind=outcome.error_kind,
                          last_error_at=to_db(outcome.at),
                          consecutive_failures=schema.feeds.c.consecutive_failures + 1)
        values.update(redirect_url=outcome.redirect_url, redirect_count=outcome.redirect_count)
        if outcome.newest_entry_at is not None:
            values["newest_entry_at"] = to_db(outcome.newest_entry_at)
        if outcome.median_gap is not None:
            values["median_gap"] = outcome.median_gap
        if outcome.new_url:
            values["url"] = outcome.new_url
        if outcome.retire:
            values["retired"] = True
        with self._db.transaction() as conn:
            conn.execute(update(schema.feeds).where(schema.feeds.c.id == feed_id).values(**values))
            _set_ttl(conn, feed_id, outcome.feed_ttl)


_m = schema.meta
_TTL_PREFIX = "feed_ttl:"


def _ttl_key(feed_id: str) -> str:
    """`feed_ttl:<id>`; an id too long for the 64-character key is hashed (stable)."""
    key = _TTL_PREFIX + feed_id
    if len(key) <= 64:
        return key
    return _TTL_PREFIX + "#" + hashlib.sha256(feed_id.encode()).hexdigest()[:40]


def _set_ttl(conn: Connection, feed_id: str, seconds: float | None) -> None:
    key = _ttl_key(feed_id)
    conn.execute(delete(_m).where(_m.c.key == key))
    if seconds is not None:
        conn.execute(insert(_m).values(key=key, value=repr(float(seconds))))


def _state(row, ttl: str | None = None) -> FeedState:  # type: ignore[no-untyped-def]
    return FeedState(
        id=row.id, url=row.url, etag=row.etag, last_modified=row.last_modified,
        last_poll_at=from_db(row.last_poll_at), last_success_at=from_db(row.last_success_at),
        last_error=row.last_error, last_error_kind=row.last_error_kind,
        consecutive_failures=row.consecutive_failures, next_poll_at=from_db(row.next_poll_at),
        entries_seen=row.entries_seen, retired=bool(row.retired),
        redirect_url=row.redirect_url, redirect_count=row.redirect_count or 0,
        last_error_at=from_db(row.last_error_at), newest_entry_at=from_db(row.newest_entry_at),
        median_gap=row.median_gap, feed_ttl=float(ttl) if ttl is not None else None,
    )
