"""The databases storage tests run on: a SQLite file, and PostgreSQL when one is given.

PostgreSQL tests need a real server: set `WATCHER_TEST_POSTGRES_URL` to a
`postgresql+psycopg://user:pass@127.0.0.1:PORT/db` URL whose role may create databases
(`scripts/pg_test_server.sh start DIR` starts such a server and prints the URL; `.ci/run`
does it for you). Without it the PostgreSQL cases skip, saying so. Each PostgreSQL test
gets a database of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ENV = "WATCHER_TEST_POSTGRES_URL"

needs_postgres = pytest.mark.skipif(
    not os.environ.get(ENV),
    reason=f"PostgreSQL tests need {ENV} (scripts/pg_test_server.sh start DIR prints one)")

# `@pytest.fixture(params=BACKENDS)`: every test runs on SQLite and on PostgreSQL.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=needs_postgres)]


@contextmanager
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of this backend, removed after the block."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'watcher.db'}"
        return
    with fresh_postgres_database(os.environ[ENV]) as url:
        yield url


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create a uniquely named database on the server, yield its URL, drop it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"watcher_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def use_database(config: Path, url: str) -> Path:
    """Point a test config file (tests/support/scenario.py) at another database."""
    lines = config.read_text(encoding="utf-8").splitlines(keepends=True)
    config.write_text("".join(f"database: {url}\n" if line.startswith("database:") else line
                              for line in lines), encoding="utf-8")
    return config
