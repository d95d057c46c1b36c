"""`sagsgang check` (is everything ready, before a deploy), `sagsgang backup FILE` and
`sagsgang restore FILE`.

A backup is the database's own: `pg_dump --format=custom` for PostgreSQL (restored by
`pg_restore`), or for SQLite a copy made by SQLite's online backup API (consistent while the
application writes). A restore goes into an empty database only, never over one in use.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import sqlalchemy as sa

from cases.db import engine_for
from cases.settings import current_organisation, get_settings
from notifications.health import Check, readiness

LABELS = {"konfiguration": "Konfiguration", "database": "Database", "skema": "Skema",
          "kø": "Kø", "smtp": "Mailserver"}


def check_configuration() -> tuple[Check, list[str]]:
    """The settings were checked when the command started (cli.main); here what they point
    at: the organisation file. Also what is allowed but unwise in production (notes)."""
    settings = get_settings()
    try:
        current_organisation()
    except (OSError, ValueError) as error:
        return Check("konfiguration", f"Organisationsfilen {settings.organisation_file} kan "
                     f"ikke bruges: {error}"), []
    notes = []
    if settings.database_url.startswith("sqlite"):
        notes.append("DATABASE_URL er SQLite: fint på én maskine; PostgreSQL til flere.")
    if settings.broker_url.startswith("sqla+"):
        notes.append("SAGSGANG_BROKER_URL er ikke sat: den indlejrede kø er til udvikling; "
                     "brug Redis i drift.")
    if not settings.secret_key:
        notes.append("SAGSGANG_SECRET_KEY er ikke sat: nøglen i var-mappen bruges, så alle "
                     "maskiner skal dele den mappe.")
    return Check("konfiguration", None), notes


@click.command("check")
def check():
    """Tjek konfiguration, database, skema, kø og mailserver før en udrulning."""
    configuration, notes = check_configuration()
    checks = [configuration]
    if configuration.ok:
        checks += readiness(engine_for(get_settings().database_url))
    for item in checks:
        if item.ok:
            click.echo(f"{LABELS[item.name]}: ok")
        else:
            detail = f" ({item.detail})" if item.detail else ""
            click.echo(f"{LABELS[item.name]}: FEJL – {item.problem}{detail}")
    for note in notes:
        click.echo(f"Bemærk: {note}")
    failed = [item for item in checks if not item.ok]
    if failed:
        click.echo(f"Ikke klar: {len(failed)} fejl.", err=True)
        sys.exit(1)
    click.echo("Alt er klar.")


# -- backup and restore ------------------------------------------------------------------------

SQLITE_HEADER, PG_DUMP_HEADER = b"SQLite format 3\0", b"PGDMP"


def _fail(message: str):
    click.echo(f"Fejl: {message}", err=True)
    sys.exit(1)


def _libpq(url: sa.URL) -> tuple[str, dict]:
    """A connection string for pg_dump/pg_restore, and the environment that carries the
    password (never on the command line, where `ps` shows it)."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _program(name: str) -> str:
    found = shutil.which(name)
    if not found:
        _fail(f"{name} findes ikke på maskinen (PostgreSQL' klientprogrammer).")
    return found


def _run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        _fail(f"{Path(command[0]).name} fejlede: {result.stderr.strip()}")


def _sqlite_path(url: sa.URL) -> Path:
    return Path(url.database)


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return sa.inspect(connection).get_table_names()
    finally:
        engine.dispose()


def _counts(url: str) -> tuple[int, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar()
                         for table in ("case", "case_event"))
    finally:
        engine.dispose()


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup(file: Path):
    """Tag en sikkerhedskopi af databasen til FILE (mens systemet kører)."""
    url = sa.make_url(get_settings().database_url)
    if file.exists():
        _fail(f"{file} findes allerede; vælg et nyt filnavn.")
    if url.get_backend_name() == "postgresql":
        conninfo, env = _libpq(url)
        _run([_program("pg_dump"), "--format=custom", "--no-owner", "--file", str(file),
              conninfo], env)
    elif url.get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(file)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        _fail(f"Sikkerhedskopi af {url.get_backend_name()} understøttes ikke.")
    cases, events = _counts(get_settings().database_url)
    click.echo(f"Sikkerhedskopi gemt i {file}: {cases} sager, {events} hændelser.")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(file: Path):
    """Gendan en sikkerhedskopi fra FILE i en tom database (DATABASE_URL)."""
    settings = get_settings()
    url = sa.make_url(settings.database_url)
    with open(file, "rb") as f:
        header = f.read(16)
    backend = url.get_backend_name()
    if backend == "postgresql" and not header.startswith(PG_DUMP_HEADER):
        _fail(f"{file} er ikke en sikkerhedskopi fra PostgreSQL (pg_dump --format=custom).")
    if backend == "sqlite" and header != SQLITE_HEADER:
        _fail(f"{file} er ikke en SQLite-database.")
    if backend not in ("postgresql", "sqlite"):
        _fail(f"Gendannelse til {backend} understøttes ikke.")
    if _tables(settings.database_url):
        _fail("Databasen i DATABASE_URL er ikke tom; gendan i en ny, tom database.")
    if backend == "postgresql":
        conninfo, env = _libpq(url)
        _run([_program("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction",
              "--dbname", conninfo, str(file)], env)
    else:
        source = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        target = sqlite3.connect(_sqlite_path(url))
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
    cases, events = _counts(settings.database_url)
    click.echo(f"Gendannet fra {file}: {cases} sager, {events} hændelser.")
