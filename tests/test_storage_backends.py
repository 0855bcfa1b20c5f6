"""What differs between SQLite and PostgreSQL, and must not show: odd feed text, connection
errors a user can act on, two processes opening a new database at once.

The PostgreSQL cases need a real server (`WATCHER_TEST_POSTGRES_URL`, see
tests/support/databases.py) and skip without one.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import BACKENDS, ENV, database_url, needs_postgres, use_database
from tests.support.feed_server import FeedServer
from tests.support.scenario import Item, dprk_config, rss
from watcher.app import make_watcher
from watcher.config.loader import load_settings
from watcher.exceptions import StorageError
from watcher.storage import Store
from watcher.storage.engine import ServerInstanceLock
from watcher.storage.schema import SCHEMA_VERSION, current_version

T0 = datetime(2025, 10, 20, 9, tzinfo=timezone.utc)


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


def test_feed_text_with_nul_characters_and_any_script_is_stored(tmp_path, database):
    text = ("Около 600 северокорейских военных погибли в Курске\x00, сообщила разведка "
            "Южной Кореи. About 600 North Korean soldiers have been killed in Kursk, South "
            "Korea's intelligence service said 🇰🇷.")
    with FeedServer() as feeds:
        feeds.set("/wire.xml", rss([Item("a", "North Korea\x00 losses", text, T0)]))
        config = use_database(dprk_config(tmp_path, feed_url=feeds.url("/wire.xml")), database)
        w = make_watcher(load_settings(config, env={}), clock=lambda: T0)
        try:
            report = w.poll()
            history = w.store.claims.history("dprk-troops", "killed")
            body = w.store.articles.body(history[0].article_id)  # type: ignore[arg-type]
        finally:
            w.close()
    assert report.failed == [] and report.total("new_entries") == 1
    assert [c.value for c in history] == [600]
    assert "\x00" not in body and "Курске" in body and "🇰🇷" in body


@needs_postgres
def test_a_wrong_password_names_the_database_but_not_the_password():
    url = make_url(os.environ[ENV]).set(password="not-the-password-42")
    with pytest.raises(StorageError) as error:
        Store(url.render_as_string(hide_password=False))
    message = str(error.value)
    assert "not-the-password-42" not in message and "***" in message
    assert "password authentication failed" in message and "\n" not in message


def test_an_unreachable_server_says_what_to_check():
    with pytest.raises(StorageError, match=r"127\.0\.0\.1.*is the server running") as error:
        Store("postgresql+psycopg://watcher:s3cret@127.0.0.1:1/watcher")
    assert "s3cret" not in str(error.value)


@needs_postgres
def test_a_plain_postgresql_url_uses_the_installed_driver(tmp_path):
    with database_url("postgresql", tmp_path) as url:
        plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with Store(plain) as store:
            assert store.db.backend == "postgresql"


def test_processes_opening_a_new_database_at_once_all_succeed(database):
    def open_and_read(_: int) -> int:
        with Store(database) as store, store.transaction() as conn:
            return current_version(conn)

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(open_and_read, range(4))) == [SCHEMA_VERSION] * 4


def test_many_openers_of_a_brand_new_sqlite_file_never_see_database_is_locked(tmp_path):
    """Switching a new file to WAL makes SQLite answer "locked" at once (no busy wait); before
    opening retried it, about 1 opener in 70 failed when six started together."""
    def open_and_read(url: str) -> int:
        with Store(url) as store, store.transaction() as conn:
            return current_version(conn)

    with ThreadPoolExecutor(6) as pool:
        for round_ in range(25):
            url = f"sqlite:///{tmp_path / f'new-{round_}.db'}"
            assert list(pool.map(open_and_read, [url] * 6)) == [SCHEMA_VERSION] * 6


@needs_postgres
def test_one_daemon_per_postgresql_database(tmp_path):
    with database_url("postgresql", tmp_path) as url:
        first, second = ServerInstanceLock(url), ServerInstanceLock(url)
        first.acquire()
        try:
            with pytest.raises(StorageError, match="another `watcher run` is already using"):
                second.acquire()
        finally:
            first.release()
        second.acquire()  # free again once the first daemon stops
        second.release()
