"""Operations: `/healthz` (alive, no database), `/readyz` (database, schema, broker, mail
server) and `sagsgang check`, against real parts: uvicorn in its own process, a real
redis-server stopped and started again, an aiosmtpd server."""

import httpx
import pytest
from click.testing import CliRunner
from live_web import live_site
from servers import MailSink, RedisServer, free_port, wait_for

from cli.main import cli


def ready(server) -> httpx.Response:
    return httpx.get(f"{server.url}/readyz", timeout=30)


@pytest.mark.slow
def test_readyz_fails_while_redis_is_down_and_recovers_when_it_returns(tmp_path,
                                                                       migrated_sqlite):
    with MailSink() as sink, RedisServer(tmp_path / "redis") as redis, \
            live_site(tmp_path, migrated_sqlite, SAGSGANG_BROKER_URL=redis.url,
                      SAGSGANG_SMTP_HOST="127.0.0.1", SAGSGANG_SMTP_PORT=sink.port) as (server, _):
        first = ready(server)
        assert first.status_code == 200, first.text
        assert first.json() == {"klar": True, "fejl": [], "tjek": {
            "database": "ok", "skema": "ok", "kø": "ok", "smtp": "ok"}}
        redis.stop()
        down = ready(server)
        assert down.status_code == 503
        assert down.json()["fejl"] == ["Køen (Redis) kan ikke nås."]
        assert down.json()["tjek"]["database"] == "ok"
        assert str(redis.port) not in down.text  # public: no addresses, only what failed
        assert httpx.get(f"{server.url}/healthz").status_code == 200  # alive all the same
        redis.start()
        back = wait_for(lambda: (r := ready(server)).status_code == 200 and r, 30,
                        interval=0.5, what="/readyz to recover")
        assert back.json()["klar"] is True


@pytest.mark.slow
def test_healthz_needs_no_database_and_readyz_names_the_one_that_is_missing(tmp_path):
    from servers import WebServer

    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/sagsgang"
    with MailSink() as sink, WebServer({"DATABASE_URL": nowhere, "SAGSGANG_VAR_DIR": tmp_path,
                                        "SAGSGANG_SMTP_HOST": "127.0.0.1",
                                        "SAGSGANG_SMTP_PORT": sink.port}, tmp_path) as server:
        alive = httpx.get(f"{server.url}/healthz", timeout=30)
        assert alive.status_code == 200 and alive.json() == {"status": "ok"}
        answer = ready(server)
        assert answer.status_code == 503
        assert answer.json()["fejl"] == ["Databasen kan ikke nås.",
                                         "Databasens skema kan ikke læses."]
        assert answer.json()["tjek"]["smtp"] == "ok"


def check_env(monkeypatch, tmp_path, url: str, smtp_port: int) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SAGSGANG_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("SAGSGANG_BROKER_URL", raising=False)  # the embedded broker
    monkeypatch.setenv("SAGSGANG_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SAGSGANG_SMTP_PORT", str(smtp_port))


def test_check_reports_every_part_and_exits_zero_when_all_is_ready(tmp_path, sqlite_url,
                                                                    monkeypatch):
    with MailSink() as sink:
        check_env(monkeypatch, tmp_path, sqlite_url, sink.port)
        result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0, result.output
    for line in ("Konfiguration: ok", "Database: ok", "Skema: ok", "Kø: ok", "Mailserver: ok",
                 "Alt er klar."):
        assert line in result.output
    assert "Bemærk: SAGSGANG_BROKER_URL er ikke sat" in result.output
    assert sink.handler.count() == 0  # asked, nothing sent


def test_check_fails_on_a_schema_behind_and_a_mail_server_that_is_not_there(tmp_path,
                                                                             monkeypatch):
    check_env(monkeypatch, tmp_path, f"sqlite:///{tmp_path / 'never-migrated.db'}",
              free_port())
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "Database: ok" in result.output
    assert "Skema: FEJL – Databasens skema er ikke opdateret (kør `sagsgang init-db`)." \
        in result.output
    assert "Mailserver: FEJL – Mailserveren kan ikke nås." in result.output
    assert "Ikke klar: 2 fejl." in result.output


def test_check_names_an_organisation_file_that_cannot_be_used(tmp_path, sqlite_url,
                                                              monkeypatch):
    check_env(monkeypatch, tmp_path, sqlite_url, free_port())
    monkeypatch.setenv("SAGSGANG_ORGANISATION", str(tmp_path / "missing.toml"))
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "Konfiguration: FEJL – Organisationsfilen" in result.output
