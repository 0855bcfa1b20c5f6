"""Storage: the only package that speaks SQL (SQLAlchemy Core; SQLite by default).

`Store` bundles one migrated `Database` with its repositories:

    store.feeds     FeedRepository     validators, health, next poll per feed
    store.articles  ArticleRepository  entries seen (dedupe by feed + entry key)
    store.claims    ClaimRepository    every claim per topic and metric
    store.outbox    Outbox             changes, deliveries per channel, digests

Use `with store.transaction():` to make several repository calls atomic.
Errors from the database surface as `watcher.exceptions.StorageError`.
"""

from __future__ import annotations

from watcher.storage.articles import ArticleRepository, StoredArticle
from watcher.storage.claims import ClaimRepository, StoredClaim
from watcher.storage.engine import Database
from watcher.storage.feeds import FeedRepository, FeedState, FetchOutcome
from watcher.storage.outbox import ChannelBacklog, Outbox, OutboxDigest, RecordedChange

__all__ = [
    "ChannelBacklog",
    "FeedState",
    "FetchOutcome",
    "OutboxDigest",
    "RecordedChange",
    "Store",
    "StoredArticle",
    "StoredClaim",
]


class Store:
    def __init__(self, url: str):
        self.db = Database(url)
        self.feeds = FeedRepository(self.db)
        self.articles = ArticleRepository(self.db)
        self.claims = ClaimRepository(self.db)
        self.outbox = Outbox(self.db)

    def transaction(self):  # type: ignore[no-untyped-def]
        return self.db.transaction()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
