"""Upgrading watcher keeps the data: a database exactly as schema version 1 created it
(tests/data/schema_v1*.sql, frozen from v1's own DDL) is opened by the current code.

On SQLite, and on PostgreSQL when `WATCHER_TEST_POSTGRES_URL` is set.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.databases import BACKENDS, database_url
from watcher.exceptions import StorageError
from watcher.storage import FetchOutcome, Store, schema
from watcher.types import Claim, Entry

DATA = Path(__file__).parent / "data"
NOW = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


@pytest.fixture(params=BACKENDS)
def v1_database(request, tmp_path):
    """A URL to a version-1 database holding tests/data/schema_v1_data.sql."""
    with database_url(request.param, tmp_path) as url:
        ddl = "schema_v1.sql" if request.param == "sqlite" else "schema_v1.postgresql.sql"
        _run_script(url, (DATA / ddl).read_text() + (DATA / "schema_v1_data.sql").read_text())
        yield url


def _run_script(url: str, script: str) -> None:
    """Run SQL statements (separated by ';' at the end of a line) in one transaction."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in script.split(";\n"):
                if statement.strip() and not _only_comments(statement):
                    conn.execute(text(statement))
    finally:
        engine.dispose()


def _only_comments(statement: str) -> bool:
    return all(line.startswith("--") for line in statement.strip().splitlines())


def _version(store: Store) -> int:
    with store.transaction() as conn:
        return schema.current_version(conn)


def test_a_version_1_database_is_upgraded_and_keeps_its_history(v1_database):
    with Store(v1_database) as store:
        assert _version(store) == schema.SCHEMA_VERSION
        history = store.claims.history("dprk-troops", "killed")
        assert [(c.value, c.source, c.article.url if c.article else None) for c in history] == [
            (600, "the NIS", "https://news.example.org/nk-1"),
            (2000, "the NIS", "https://news.example.org/nk-2")]
        assert [(kind, alerted) for kind, alerted, _ in store.outbox.decisions("dprk-troops")] == [
            ("new", True), ("changed", True)]
        feed = store.feeds.get("wire")
        assert feed is not None and feed.etag == '"v7"' and feed.entries_seen == 2
        assert store.articles.find("wire", "nk-1") is not None


def test_deliveries_waiting_before_the_upgrade_are_still_sent_once(v1_database):
    with Store(v1_database) as store:
        backlog = store.outbox.backlog(["ops"])[0]
        assert (backlog.undigested, backlog.sent) == (1, 1)
        digest_id = store.outbox.batch("ops", NOW)
        [due] = store.outbox.due("ops", NOW)
        assert due.id == digest_id and [c.id for c in due.changes] == ["c2"]
        assert due.changes[0].previous and due.changes[0].previous.value == 600


def test_an_upgraded_database_takes_new_data_and_the_new_columns_work(v1_database):
    with Store(v1_database) as store:
        store.feeds.record("wire", FetchOutcome(
            ok=True, at=NOW, next_poll_at=NOW + timedelta(minutes=15),
            redirect_url="https://news.example.org/new.xml", redirect_count=1))
        assert store.feeds.get("wire").redirect_count == 1  # type: ignore[union-attr]
        entry = Entry(feed_id="wire", guid="nk-3", link="https://news.example.org/nk-3",
                      title="New", text="About 3,000 were killed.", published=NOW, lang="en")
        article = store.articles.add(entry, NOW)
        assert article.id == 3  # ids continue after the old rows
        claim = Claim("killed", 3000, None, "approx", None, entry.text, (6, 11), "en")
        claim_id = store.claims.add("dprk-troops", claim, article_id=article.id,
                                    published=NOW, now=NOW)
        assert claim_id == 3
        assert store.articles.prune_text(NOW - timedelta(days=90), NOW) == 2  # the two old ones
        assert store.articles.find("wire", "nk-1").text_pruned_at == NOW  # type: ignore[union-attr]
        assert store.articles.body(article.id) == "About 3,000 were killed."


def test_reopening_an_upgraded_database_migrates_nothing_again(v1_database):
    Store(v1_database).close()
    with Store(v1_database) as store:
        assert _version(store) == schema.SCHEMA_VERSION
        assert len(store.claims.history("dprk-troops", "killed")) == 2


def test_an_upgrade_interrupted_half_way_leaves_version_1_and_completes_next_time(
        v1_database, monkeypatch):
    last = schema.SCHEMA_VERSION
    real = schema.MIGRATIONS[last]

    def crash_after_the_work(conn):  # type: ignore[no-untyped-def]
        real(conn)
        raise StorageError("power cut during the last migration")

    monkeypatch.setitem(schema.MIGRATIONS, last, crash_after_the_work)
    with pytest.raises(StorageError, match="power cut"):
        Store(v1_database)
    engine = create_engine(v1_database)
    with engine.connect() as conn:  # the upgrade commits whole, or not at all
        assert schema.current_version(conn) == 1
    engine.dispose()
    monkeypatch.setitem(schema.MIGRATIONS, last, real)
    with Store(v1_database) as store:
        assert _version(store) == last
        assert [c.value for c in store.claims.history("dprk-troops", "killed")] == [600, 2000]
