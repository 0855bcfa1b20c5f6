"""Connections and transactions: one engine per database, migrated on open.

SQLite runs in WAL mode with a busy timeout so that `watcher status` can read while
the daemon writes. Every write happens inside `Database.transaction()`; the
repositories (feeds, articles, claims, outbox) borrow that connection, so a claim,
its change and its pending deliveries commit together or not at all.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, overload

from sqlalchemy import Connection, create_engine, event, insert, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from watcher.exceptions import StorageError
from watcher.storage import schema

_MIGRATION_LOCK = 0x77617463  # PostgreSQL advisory lock key of exclusive transactions ("watc")
_INSTANCE_LOCK = 0x77617464  # PostgreSQL advisory lock key held by the running daemon


@overload
def to_db(moment: datetime) -> str: ...
@overload
def to_db(moment: None) -> None: ...
def to_db(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime reached storage; watcher uses UTC-aware datetimes")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_db(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def clean(value: str | None) -> str | None:
    """Feed text as every backend can store it: PostgreSQL refuses NUL characters in text
    (feeds do carry them now and then); SQLite would keep them, so both drop them."""
    return None if value is None else value.replace("\x00", "")


def instance_lock_path(url: str) -> Path | None:
    """The lock file that keeps a second daemon off a SQLite database (None: not SQLite)."""
    parsed = make_url(url)
    if (parsed.get_backend_name() != "sqlite" or not parsed.database
            or parsed.database == ":memory:"):
        return None
    path = Path(parsed.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(path.name + ".lock")


class ServerInstanceLock:
    """One daemon per PostgreSQL database: a session advisory lock, held by a connection of
    its own for as long as the daemon runs (SQLite uses a lock file: `instance_lock_path`).

    `acquire()` raises StorageError when another process holds it; `release()` (or the
    process ending, or its connection dropping) frees it.
    """

    def __init__(self, url: str):
        self._engine = _make_engine(url)
        self._conn: Connection | None = None
        self._shown = make_url(url).render_as_string(hide_password=True)

    def acquire(self) -> None:
        try:
            conn = self._engine.connect()
            held = conn.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                {"key": _INSTANCE_LOCK}).scalar_one()
            conn.commit()
        except SQLAlchemyError as e:
            self._engine.dispose()
            raise StorageError(f"database {self._shown}: {_first_line(e)}") from e
        if not held:
            conn.close()
            self._engine.dispose()
            raise StorageError(f"another `watcher run` is already using {self._shown}; stop "
                               f"it first, or give this one another database")
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # ends the session, and with it the lock
            self._conn = None
        self._engine.dispose()


class FileInstanceLock:
    """One daemon per SQLite database: an exclusive flock on `<database>.lock`, which also
    holds the owner's pid so that a refusal can say who has it."""

    def __init__(self, path: Path, shown: str):
        self._path, self._shown = path, shown
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = open(self._path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "another process"
            handle.close()
            raise StorageError(f"another `watcher run` (pid {other}) is already using "
                               f"{self._shown}; stop it first, or give this one another "
                               f"database") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file drops the flock
            self._handle = None


def acquire_instance_lock(url: str) -> FileInstanceLock | ServerInstanceLock:
    """Take the one-daemon-per-database lock (a file for SQLite, an advisory lock on a
    server); raises StorageError naming the other daemon when it is taken."""
    path = instance_lock_path(url)
    shown = make_url(url).render_as_string(hide_password=True)
    lock = FileInstanceLock(path, shown) if path else ServerInstanceLock(url)
    lock.acquire()
    return lock


class Database:
    """A migrated database and the transaction in progress on this thread."""

    def __init__(self, url: str):
        self.url = url
        self.engine = _make_engine(url)
        self._local = threading.local()
        try:
            self._migrate()
        except BaseException:
            self.engine.dispose()  # a refused database leaves no connection open
            raise

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self, *, exclusive: bool = False) -> Iterator[Connection]:
        """Nested calls join the outer transaction; the outermost commits. `exclusive`:
        other processes' exclusive transactions wait until this one ends (migrations)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        try:
            with self.engine.begin() as conn:
                if exclusive:
                    self._lock(conn)
                self._local.conn = conn
                try:
                    yield conn
                finally:
                    self._local.conn = None
        except SQLAlchemyError as e:
            raise StorageError(
                f"database {self.display_url}: {_first_line(e)}{self._hint(e)}") from e

    def _lock(self, conn: Connection) -> None:
        if self.backend == "sqlite":  # the driver would begin only at the first INSERT, after DDL
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif self.backend == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})

    @property
    def backend(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def _hint(self, error: SQLAlchemyError) -> str:
        if self.backend == "sqlite" or not isinstance(error, OperationalError):
            return ""
        return (" (is the server running, and are the URL's host, port, user, password and "
                "database right?)")

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def _migrate(self) -> None:
        """Create a new database at the current version, or bring an older one forward
        (every step and its version stamp in one transaction); refuse a newer one."""
        with self.transaction(exclusive=True) as conn:  # two processes opening it: one migrates
            version = schema.current_version(conn)
            if version > schema.SCHEMA_VERSION:
                raise StorageError(
                    f"database {self.display_url} has schema version {version}, newer than this "
                    f"watcher ({schema.SCHEMA_VERSION}); upgrade watcher or use another database"
                )
            if version == 0:  # a new database: today's tables, no history to replay
                schema.metadata.create_all(conn)
                _set_version(conn, schema.SCHEMA_VERSION, first=True)
                return
            for target in range(version + 1, schema.SCHEMA_VERSION + 1):
                schema.MIGRATIONS[target](conn)
                _set_version(conn, target, first=False)


def _set_version(conn: Connection, version: int, first: bool) -> None:
    if first:
        conn.execute(insert(schema.meta).values(key="schema_version", value=str(version)))
    else:
        conn.execute(
            update(schema.meta).where(schema.meta.c.key == "schema_version")
            .values(value=str(version))
        )


def _make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StorageError(f"database URL {url!r} is not a SQLAlchemy URL "
                           "(e.g. sqlite:///data/watcher.db)") from e
    if parsed.drivername == "postgresql":  # the driver `pip install watcher[postgres]` brings
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return _server_engine(parsed)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _server_engine(parsed: URL) -> Engine:
    """A client/server database (PostgreSQL): its driver must be installed."""
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except ImportError as e:
        shown = parsed.render_as_string(hide_password=True)
        hint = ("run: pip install 'watcher[postgres]'" if parsed.get_backend_name() == "postgresql"
                else f"install the {parsed.get_driver_name()} driver")
        raise StorageError(f"database {shown}: its driver is not installed ({e.name}); "
                           f"{hint}") from e


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    _while_locked(lambda: cur.execute("PRAGMA journal_mode=WAL"))
    cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoint, safe on crash
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _while_locked(statement: Callable[[], object], patience: float = 30.0) -> None:
    """Run a statement, retrying while SQLite says the database is locked. Switching a new
    database to WAL needs it to itself for a moment, and SQLite answers "locked" at once
    instead of waiting out the busy timeout: two processes (or threads) opening a new
    database together would otherwise fail at random."""
    deadline = time.monotonic() + patience
    pause = 0.01
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)


def _first_line(error: Exception) -> str:
    return str(getattr(error, "orig", None) or error).splitlines()[0]
