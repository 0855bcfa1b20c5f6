"""Storage on a real SQLite file and a real PostgreSQL server (when `WATCHER_TEST_POSTGRES_URL`
is set, see tests/support/databases.py): schema versions, the outbox's once-only guarantees."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from tests.support.databases import BACKENDS, database_url
from watcher.exceptions import StorageError
from watcher.storage import Store
from watcher.storage.schema import SCHEMA_VERSION
from watcher.types import Claim, FigureChange, FigureRecord

NOW = datetime(2025, 10, 24, 12, tzinfo=timezone.utc)


@pytest.fixture(params=BACKENDS)
def url(request, tmp_path):
    with database_url(request.param, tmp_path) as empty:
        yield empty


@pytest.fixture
def store(url):
    with Store(url) as s:
        yield s


def _change(store: Store, change_id: str, value: float, channels=("desk", "ops")) -> None:
    claim = Claim("killed", value, None, "approx", "NIS", "quote", (0, 3), "en")
    with store.transaction():
        claim_id = store.claims.add("dprk", claim, article_id=None, published=NOW, now=NOW)
        record = FigureRecord(value, None, "approx", "NIS", NOW, "quote")
        change = FigureChange(change_id, "dprk", "DPRK troops", "killed", "new", None, record,
                              "first")
        store.outbox.record_change(change, alert=True, claim_id=claim_id, previous_claim_id=None,
                                   channels=list(channels), now=NOW)


def test_reopening_a_database_keeps_its_data_and_version(url):
    with Store(url) as s:
        _change(s, "c1", 600)
    with Store(url) as s:
        assert [c.value for c in s.claims.history("dprk", "killed")] == [600]
        with s.transaction() as conn:
            assert conn.execute(text("SELECT value FROM meta")).scalar() == str(SCHEMA_VERSION)


def test_a_database_from_a_newer_watcher_is_refused_with_advice(url):
    with Store(url) as s, s.transaction() as conn:
        conn.execute(text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(StorageError, match="newer than this watcher"):
        Store(url)


def test_a_change_gets_one_delivery_per_channel_and_is_recorded_once(store):
    _change(store, "c1", 600)
    _change(store, "c1", 600)  # the same change again (e.g. reprocessing) adds nothing
    assert [(b.channel_id, b.undigested) for b in store.outbox.backlog(["desk", "ops"])] == [
        ("desk", 1), ("ops", 1)]


def test_a_failed_transaction_leaves_neither_claim_nor_delivery(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            _change(store, "c1", 600)
            raise RuntimeError("crash between claim and commit")
    assert store.claims.history("dprk", "killed") == []
    assert store.outbox.backlog(["desk"])[0].undigested == 0


def test_a_digest_keeps_its_id_and_content_across_retries(store):
    _change(store, "c1", 600)
    digest_id = store.outbox.batch("desk", NOW)
    _change(store, "c2", 2000)  # arrives while the first digest is failing
    store.outbox.mark_failed(digest_id, "451 try later", retry_at=NOW + timedelta(minutes=1))
    assert store.outbox.due("desk", NOW) == []  # waiting for its retry time
    retry = store.outbox.due("desk", NOW + timedelta(minutes=2))
    assert [d.id for d in retry] == [digest_id]
    assert [c.id for c in retry[0].changes] == ["c1"]  # the new change goes in a later digest
    second = store.outbox.batch("desk", NOW)
    assert second and second != digest_id


def test_a_digest_not_marked_sent_is_due_again_after_a_crash(url):
    with Store(url) as s:
        _change(s, "c1", 600)
        digest_id = s.outbox.batch("desk", NOW)
        # the process dies here, after sending and before mark_sent
    with Store(url) as s:
        assert [d.id for d in s.outbox.due("desk", NOW)] == [digest_id]
        s.outbox.mark_sent(digest_id, NOW)
        assert s.outbox.due("desk", NOW) == []
        assert s.outbox.backlog(["desk"])[0].sent == 1


def test_permanent_failures_are_dead_letters_until_retried(store):
    _change(store, "c1", 600)
    digest_id = store.outbox.batch("desk", NOW)
    store.outbox.mark_failed(digest_id, "550 mailbox unknown", retry_at=None)
    assert store.outbox.due("desk", NOW + timedelta(days=1)) == []
    backlog = store.outbox.backlog(["desk"])[0]
    assert backlog.dead == 1 and "550" in (backlog.last_error or "")
    assert [d.id for d in store.outbox.due("desk", NOW, include_dead=True)] == [digest_id]
