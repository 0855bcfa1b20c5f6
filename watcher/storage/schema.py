"""The database schema and its numbered migrations.

The schema is described once with SQLAlchemy Core `Table`s (used by every query in
this package) and created by migrations, each a list of statements applied in one
transaction. `meta.schema_version` records how far a database has been migrated;
opening an older database migrates it forward, opening a newer one is refused.

Timestamps are stored as ISO-8601 UTC text ("2025-10-24T10:00:00+00:00") so that
they sort correctly and read the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)

metadata = MetaData()

meta = Table(
    "meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

feeds = Table(
    "feeds", metadata,
    Column("id", String(64), primary_key=True),
    Column("url", Text, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_poll_at", String(32)),
    Column("last_success_at", String(32)),
    Column("last_error", Text),
    Column("last_error_kind", String(32)),
    Column("consecutive_failures", Integer, nullable=False, server_default="0"),
    Column("next_poll_at", String(32)),
    Column("entries_seen", Integer, nullable=False, server_default="0"),
    Column("retired", Boolean, nullable=False, server_default="0"),
    # migration 2: polling health and politeness
    Column("configured_url", Text),  # the config's URL; `url` may differ after a move
    Column("redirect_url", Text),  # where the last polls were permanently redirected
    Column("redirect_count", Integer, nullable=False, server_default="0"),  # ...how many in a row
    Column("last_error_at", String(32)),
    Column("newest_entry_at", String(32)),  # the newest entry's publication time seen
    Column("median_gap", Float),  # seconds between the feed's entries (its rhythm)
)

articles = Table(
    "articles", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("feed_id", String(64), nullable=False),
    Column("key", Text, nullable=False),  # Entry.key: guid → link → content hash
    Column("url", Text),
    Column("title", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("lang", String(8)),
    Column("content_hash", String(48), nullable=False),
    Column("published", String(32)),  # as stated by the feed, None when absent
    Column("first_seen", String(32), nullable=False),
    Column("updated_at", String(32), nullable=False),
    UniqueConstraint("feed_id", "key", name="uq_articles_feed_key"),
    # migration 3: retention. The body is emptied after `retention.article_text`; the
    # title, URL, hash and every claim and change stay.
    Column("text_pruned_at", String(32)),  # when the body was emptied; None: still kept
    Index("ix_articles_first_seen", "first_seen"),
)

claims = Table(
    "claims", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic_id", String(64), nullable=False),
    Column("metric", String(64), nullable=False),
    Column("value", Float, nullable=False),
    Column("value_max", Float),
    Column("qualifier", String(16), nullable=False),
    Column("source", Text),
    Column("quote", Text, nullable=False),
    Column("lang", String(8)),
    Column("article_id", Integer, ForeignKey("articles.id")),  # None for baselines
    Column("published", String(32), nullable=False),  # article's date, else first seen
    Column("recorded_at", String(32), nullable=False),
    Column("superseded", Boolean, nullable=False, server_default="0"),  # article was edited
    Index("ix_claims_topic_metric", "topic_id", "metric", "published"),
)

changes = Table(
    "changes", metadata,
    Column("id", String(64), primary_key=True),  # stable: same claim → same id
    Column("topic_id", String(64), nullable=False),
    Column("metric", String(64), nullable=False),
    # new/changed/conflict/corroborated/late/below_threshold
    Column("kind", String(16), nullable=False),
    Column("alert", Boolean, nullable=False),
    Column("claim_id", Integer, ForeignKey("claims.id"), nullable=False),
    Column("previous_claim_id", Integer, ForeignKey("claims.id")),
    Column("reason", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("payload", Text, nullable=False),  # FigureChange as JSON, what digests render
)

digests = Table(
    "digests", metadata,
    Column("id", String(64), primary_key=True),  # webhook-id / Message-ID: fixed at first attempt
    Column("channel_id", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # pending / sent / dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", String(32), nullable=False),
    Column("last_error", Text),
    Column("sent_at", String(32)),
    # migration 4: the feed-health summary (JSON list) the digest carries, taken at its
    # first attempt and resent unchanged by every retry; None until then
    Column("feed_health", Text),
)

deliveries = Table(
    "deliveries", metadata,
    Column("id", String(64), primary_key=True),
    Column("change_id", String(64), ForeignKey("changes.id"), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("digest_id", String(64), ForeignKey("digests.id")),  # None until batched
    Column("created_at", String(32), nullable=False),
    Index("ix_deliveries_channel_digest", "channel_id", "digest_id"),
)

SCHEMA_VERSION = 4


def _v1_create_all(conn: Connection) -> None:
    metadata.create_all(conn)


_V2_FEED_COLUMNS = ("configured_url", "redirect_url", "redirect_count", "last_error_at",
                    "newest_entry_at", "median_gap")


def _v2_feed_health(conn: Connection) -> None:
    """Feed health and redirect tracking. A database created at version 1 by this code
    already has the columns (create_all uses the current tables), so add only what lacks."""
    present = {c["name"] for c in inspect(conn).get_columns("feeds")}
    for name in _V2_FEED_COLUMNS:
        if name in present:
            continue
        column = feeds.c[name]
        kind = column.type.compile(dialect=conn.dialect)
        default = " NOT NULL DEFAULT 0" if name == "redirect_count" else ""
        conn.execute(text(f"ALTER TABLE feeds ADD COLUMN {name} {kind}{default}"))
    conn.execute(text("UPDATE feeds SET configured_url = url WHERE configured_url IS NULL"))


def _v3_article_retention(conn: Connection) -> None:
    """Article bodies can be pruned after a retention period (`articles.text_pruned_at`)."""
    if "text_pruned_at" not in {c["name"] for c in inspect(conn).get_columns("articles")}:
        kind = articles.c.text_pruned_at.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE articles ADD COLUMN text_pruned_at {kind}"))
    if "ix_articles_first_seen" not in {i["name"] for i in inspect(conn).get_indexes("articles")}:
        conn.execute(text("CREATE INDEX ix_articles_first_seen ON articles (first_seen)"))


def _v4_digest_feed_health(conn: Connection) -> None:
    """Digests keep the feed-health summary they were first sent with (`digests.feed_health`)."""
    if "feed_health" not in {c["name"] for c in inspect(conn).get_columns("digests")}:
        kind = digests.c.feed_health.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE digests ADD COLUMN feed_health {kind}"))


# Migration N brings a database from version N-1 to N. Append, never edit.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _v1_create_all,
    2: _v2_feed_health,
    3: _v3_article_retention,
    4: _v4_digest_feed_health,
}


def current_version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, "meta"):
        return 0
    row = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).first()
    return int(row[0]) if row else 0
