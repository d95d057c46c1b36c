"""Shared fixtures: a migrated database per test (SQLite file, or a real PostgreSQL database
created for this test run and dropped after it), and the web tests' fixtures."""

import os
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from web_fixtures import api_tokens, web_app, web_db, web_engine  # noqa: F401  (fixtures)

from cases.db import make_engine, migrate
from cases.organisation import load_organisation
from cases.settings import PROJECT_DIR, get_settings
from web import passwords

PG_ADMIN_URL = os.environ.get("SAGSGANG_TEST_PG_ADMIN_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

# A full argon2 hash or check takes a quarter of a second, and the tests log in over a hundred
# times. Production keeps argon2-cffi's defaults (test_passwords.py checks that).
passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture(autouse=True)
def fresh_settings():
    """Each test reads the environment as it finds it (monkeypatch.setenv included), and
    leaves no settings of its own behind for the next."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def org():
    return load_organisation(PROJECT_DIR / "config" / "ballerup.toml")


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory):
    """`migrated_sqlite(path)` puts a migrated SQLite database at `path` and returns its URL.

    The migrations run once per test run, into a template that each test gets a copy of:
    running them all costs far more than copying a file. The tests about migrating itself
    (the backfill, `sagsgang init-db`) run them for real."""
    template = tmp_path_factory.mktemp("migrated") / "template.db"
    migrate(f"sqlite:///{template}")
    # Alembic's engine is disposed; fold anything left in the WAL into the file so that the
    # file alone is the whole database.
    connection = sqlite3.connect(template)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    assert not Path(f"{template}-wal").exists()

    def copy(path) -> str:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"

    return copy


@pytest.fixture
def sqlite_url(tmp_path, migrated_sqlite):
    return migrated_sqlite(tmp_path / "sagsgang.db")


@pytest.fixture(scope="session")
def pg_database():
    """A PostgreSQL database of our own for this test run: created, migrated, dropped."""
    name = f"sagsgang_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    yield url
    sa.create_engine(url).dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def pg_url(pg_database):
    """The run's PostgreSQL database, emptied before each test."""
    engine = sa.create_engine(pg_database)
    with engine.begin() as conn:
        tables = conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' "
            "AND tablename <> 'alembic_version'").scalars().all()
        if tables:
            # The audit log refuses DELETE by trigger; TRUNCATE is the test's reset.
            conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                 + " RESTART IDENTITY CASCADE")
    engine.dispose()
    return pg_database


# The PostgreSQL run carries the marker, so that -m "not postgres" deselects it.
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request):
    """Runs a test once on SQLite and once on a real PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def db(any_db_url):
    """An engine on a migrated database, once on SQLite and once on PostgreSQL."""
    engine = make_engine(any_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(sqlite_url):
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    """A database with no schema yet: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'before.db'}"
        return
    name = f"sagsgang_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()
