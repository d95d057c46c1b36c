"""`sagsgang user add` and `sagsgang user demo`: people who can log in."""

from click.testing import CliRunner
from sqlmodel import select

from cases.db import make_engine, read_session
from cases.models import Membership, User
from cli.main import cli
from web.passwords import verify_password


def test_it_adds_a_user_who_can_log_in_and_refuses_bad_input(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    ok = runner.invoke(cli, ["user", "add", "ole", "--name", "Ole", "--email", "ole@x.dk",
                             "--role", "member", "--member-of", "SU",
                             "--password", "langt-kodeord"])
    assert ok.exit_code == 0, ok.output
    short = runner.invoke(cli, ["user", "add", "bo", "--name", "Bo", "--email", "b@x.dk",
                                "--role", "admin", "--password", "kort"])
    assert short.exit_code == 1 and "mindst 10 tegn" in short.output
    engine = make_engine(sqlite_url)
    with read_session(engine) as session:
        user = session.exec(select(User).where(User.username == "ole")).one()
        assert verify_password(user.password_hash, "langt-kodeord")
        assert session.exec(select(Membership.body_code)).all() == ["SU"]
        assert session.exec(select(User).where(User.username == "bo")).first() is None
    engine.dispose()


def test_it_creates_the_demo_users_once_and_prints_their_logins(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    first = runner.invoke(cli, ["user", "demo"])
    second = runner.invoke(cli, ["user", "demo"])
    assert first.exit_code == second.exit_code == 0
    assert "sekretariat-demo" in first.output and "leder-demo" in first.output
    engine = make_engine(sqlite_url)
    with read_session(engine) as session:
        assert len(session.exec(select(User)).all()) == 5
    engine.dispose()
