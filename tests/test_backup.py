"""`sagsgang backup FILE` and `sagsgang restore FILE`: the demo's cases with their full
histories backed up, restored into a fresh database (pg_dump/pg_restore on PostgreSQL,
SQLite's online backup API), and found the same: every row of every table, every case's
replay of its audit log equal to its stored state, the schema at head."""

import pytest
from click.testing import CliRunner
from servers import database_dump
from sqlmodel import select

from cases import services
from cases.db import make_engine, read_session
from cases.models import Case
from cases.settings import current_organisation
from cli.main import cli
from demo.cases import load_demo
from notifications.health import check_database


def invoke(monkeypatch, url: str, *args: str):
    monkeypatch.setenv("DATABASE_URL", url)
    return CliRunner().invoke(cli, list(args))


def replays_equal_stored_state(engine) -> int:
    org = current_organisation()
    with read_session(engine) as session:
        cases = session.exec(select(Case)).all()
        for case in cases:
            assert services.flow_summary(services.replayed_flow(session, case)) == \
                services.flow_summary(services.current_flow(session, org, case)), case.number
    return len(cases)


@pytest.mark.slow
def test_a_backup_restored_into_a_fresh_database_is_the_same_database(
        request, empty_url, tmp_path, monkeypatch):
    source = request.getfixturevalue(
        "sqlite_url" if empty_url.startswith("sqlite") else "pg_url")
    engine = make_engine(source)
    load_demo(engine)
    file = tmp_path / "sagsgang.backup"

    made = invoke(monkeypatch, source, "backup", str(file))
    assert made.exit_code == 0, made.output
    assert made.output.startswith(f"Sikkerhedskopi gemt i {file}: ")
    again = invoke(monkeypatch, source, "backup", str(file))
    assert again.exit_code == 1 and "findes allerede" in again.output

    restored = invoke(monkeypatch, empty_url, "restore", str(file))
    assert restored.exit_code == 0, restored.output
    fresh = make_engine(empty_url)
    try:
        before, after = database_dump(engine), database_dump(fresh)
        assert {t: len(rows) for t, rows in after.items()} == \
            {t: len(rows) for t, rows in before.items()}
        assert after == before
        assert len(after["case"]) > 5 and len(after["case_event"]) > 20
        assert replays_equal_stored_state(fresh) == len(after["case"])
        assert all(check.ok for check in check_database(fresh))
        # Never over a database in use.
        twice = invoke(monkeypatch, empty_url, "restore", str(file))
        assert twice.exit_code == 1 and "ikke tom" in twice.output
        assert database_dump(fresh) == after
    finally:
        fresh.dispose()
        engine.dispose()


def test_restore_refuses_a_file_that_is_no_backup_of_that_kind(tmp_path, monkeypatch):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"PGDMP not really")
    result = invoke(monkeypatch, f"sqlite:///{tmp_path / 'new.db'}", "restore", str(junk))
    assert result.exit_code == 1
    assert "er ikke en SQLite-database" in result.output
    assert not (tmp_path / "new.db").exists()
