"""The database engine, sessions and migrations.

SQLite (the default) runs in WAL mode with a busy timeout; a write transaction starts with
BEGIN IMMEDIATE so that two writers queue for the lock instead of failing halfway (a
deferred transaction that read first cannot upgrade once another writer committed).
PostgreSQL is used when DATABASE_URL says so.

A web request uses one pooled connection for its whole life (`RequestConnection`): its reads
and its write run on it one after the other. A request that held a read connection while it
waited for a second one for its write could deadlock the pool under load (every connection
held by a request waiting for another). The pool's size and how long a request waits for a
connection are settings; a request that waits longer gets `DatabaseBusy`.
"""

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlmodel import Session

from cases.settings import PROJECT_DIR, get_settings

MIGRATIONS_DIR = PROJECT_DIR / "migrations"
SQLITE_BUSY_SECONDS = 30  # how long a writer waits for SQLite's write lock
_WRITE_LOCKS: "weakref.WeakKeyDictionary[sa.Engine, threading.Lock]" = weakref.WeakKeyDictionary()


class DatabaseBusy(Exception):
    """No database connection came free in time, or SQLite's write lock did not: the request
    can be tried again shortly (the web answers 503 with Retry-After)."""


def make_engine(url: str) -> sa.Engine:
    settings = get_settings()
    pool = {"pool_size": settings.db_pool_size, "max_overflow": 0,
            "pool_timeout": settings.db_pool_timeout_seconds}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS},
                                      **pool)
        else:
            engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS})
        _setup_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **pool)


def _setup_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, connection_record):
        # Let SQLAlchemy, not the driver, decide when transactions begin (see do_begin below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    def do_begin(dbapi_connection):
        # A transaction that _immediate_connection() began IMMEDIATE is left as it is.
        driver = dbapi_connection.driver_connection
        if not driver.in_transaction:
            driver.execute("BEGIN")

    # The dialect's own hook, not a "begin" event listener: any Connection-level listener
    # makes SQLAlchemy dispatch events around every statement, which costs a persisted
    # transition more than SQLite's own work for it (bench/transitions.py).
    engine.dialect.do_begin = do_begin


@lru_cache(maxsize=8)
def engine_for(url: str) -> sa.Engine:
    return make_engine(url)


def get_engine() -> sa.Engine:
    return engine_for(get_settings().database_url)


@contextmanager
def _immediate_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection whose transaction, on SQLite, is begun IMMEDIATE (`_write_turn`)."""
    with engine.connect() as connection:
        with _write_turn(engine, connection):
            yield connection


@contextmanager
def _write_turn(engine: sa.Engine, connection: sa.Connection) -> Iterator[None]:
    """On SQLite, a write transaction begins IMMEDIATE: two writers queue for the lock at
    BEGIN instead of the later one failing when it first writes. The writers of one process
    first take turns on a lock of their own: SQLite's busy handler polls with growing sleeps,
    which under fifty writers let some wait twenty seconds while others went again and
    again (bench/writers.py); a thread lock hands the turn on at once."""
    if engine.dialect.name != "sqlite":
        yield
        return
    lock = _WRITE_LOCKS.setdefault(engine, threading.Lock())  # one dict operation: atomic
    if not lock.acquire(timeout=SQLITE_BUSY_SECONDS):
        raise DatabaseBusy()
    try:
        try:
            connection.connection.driver_connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:  # another process kept the lock too long
            raise DatabaseBusy() from error
        yield
    finally:
        lock.release()


@contextmanager
def write_connection(engine: sa.Engine | None = None) -> Iterator[sa.Connection]:
    """One write transaction on a plain connection: committed when the block ends, rolled
    back on any error."""
    with _immediate_connection(engine or get_engine()) as connection:
        with connection.begin():
            yield connection


@contextmanager
def write_session(engine: sa.Engine | None = None) -> Iterator[Session]:
    """One write transaction: committed when the block ends, rolled back on any error."""
    with _immediate_connection(engine or get_engine()) as connection:
        with Session(connection, expire_on_commit=False) as session:
            with session.begin():
                yield session


@contextmanager
def read_session(engine: sa.Engine | None = None) -> Iterator[Session]:
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        yield session


class RequestConnection:
    """One pooled connection for one web request, taken when the request first needs the
    database and given back when it ends (`close`). `read()` is the request's read session;
    `write()` is one write transaction on the same connection, which first ends the read
    transaction (its loaded rows stay usable), so that on SQLite it can begin IMMEDIATE and
    on PostgreSQL it sees what was committed meanwhile."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._connection: sa.Connection | None = None
        self._read: Session | None = None

    def connection(self) -> sa.Connection:
        if self._connection is None:
            try:
                self._connection = self.engine.connect()
            except sa.exc.TimeoutError as error:
                raise DatabaseBusy() from error
        return self._connection

    def read(self) -> Session:
        if self._read is None:
            self._read = Session(self.connection(), expire_on_commit=False)
        return self._read

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back on any error."""
        if self._read is not None:
            self._read.commit()  # only ends the read transaction: a read session writes nothing
        connection = self.connection()
        if connection.in_transaction():  # a plain connection read outside the session
            connection.commit()
        with _write_turn(self.engine, connection):
            with Session(connection, expire_on_commit=False) as session:
                with session.begin():
                    yield session

    def close(self) -> None:
        if self._read is not None:
            self._read.close()
            self._read = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def alembic_config(url: str):
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str | None = None) -> None:
    """Bring the schema up to date (the one line of migrations: `head`), on a connection
    made like every other of the application's (make_engine: on SQLite, foreign keys on and
    each step in a real transaction)."""
    url = url or get_settings().database_url
    config = alembic_config(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
