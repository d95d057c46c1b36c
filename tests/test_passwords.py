"""Passwords: production hashes with argon2-cffi's strong defaults. The tests hash with a cheap
hasher (conftest.py); these checks make sure that shortcut stays in the tests. And a password
that is easy to guess is refused, with a Danish message, wherever one is set."""

import subprocess
import sys
from html import unescape

import argon2
import pytest
from argon2.profiles import RFC_9106_LOW_MEMORY
from click.testing import CliRunner
from sqlmodel import select
from web_fixtures import as_role, logged_in, page_csrf

from cases.db import read_session, write_session
from cases.models import User
from cases.settings import PROJECT_DIR
from web import passwords, users
from workflow.errors import InvalidInput


def test_it_hashes_with_argon2id_and_the_strong_parameters_outside_the_tests():
    # A fresh interpreter imports the module as production does, without the tests' hasher.
    stored = subprocess.run(
        [sys.executable, "-c",
         "from web.passwords import hash_password; print(hash_password('et-langt-kodeord'))"],
        cwd=PROJECT_DIR, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    assert argon2.extract_parameters(stored) == RFC_9106_LOW_MEMORY  # id, t=3, 64 MiB, p=4
    assert passwords.verify_password(stored, "et-langt-kodeord")
    assert not passwords.verify_password(stored, "et-andet-kodeord")


def test_its_default_hasher_has_the_strong_parameters():
    hasher = passwords.DEFAULT_HASHER
    assert (hasher.type, hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        argon2.Type.ID, 3, 65536, 4)
    assert not passwords.verify_password(None, "et-langt-kodeord")


# -- passwords that are easy to guess are refused wherever a password is set -------------------

EASY = ["password123", "qwertyuiop", "1234567890", "sommer2024", "Kodeord2024!",
        "ballerup2024", "Velkommen1!", "iloveyou12", "trustno1trustno1"]
TOO_EASY = "Adgangskoden er for let at gætte"


@pytest.mark.parametrize("password", EASY)
def test_a_common_or_guessable_password_is_refused_in_danish(engine, password):
    with pytest.raises(InvalidInput) as refused, write_session(engine) as session:
        users.create_user(session, username="nina", name="Nina Ny", email="nina@kommune.dk",
                          role="member", password=password)
    assert refused.value.message.startswith(TOO_EASY)
    assert "Vælg en længere, fx nogle ord, der ikke hører sammen." in refused.value.message
    with read_session(engine) as session:
        assert session.exec(select(User)).all() == []


@pytest.mark.parametrize("password", ["nina-ny-2024", "NINA-NY-2024", "Nina-Ny-Nina",
                                      "nina@kommune.dk"])
def test_a_password_built_from_the_users_own_name_is_refused(engine, password):
    with pytest.raises(InvalidInput, match=TOO_EASY), write_session(engine) as session:
        users.create_user(session, username="nina-ny", name="Nina Ny", role="member",
                          email="nina@kommune.dk", password=password)


@pytest.mark.parametrize("password", ["gult tog over Ringsted", "et-langt-kodeord",
                                      "blå-cykel-under-broen", "x7#Lq9!vT2pW"])
def test_a_password_that_is_hard_to_guess_is_taken(engine, password):
    with write_session(engine) as session:
        created = users.create_user(session, username="nina", name="Nina Ny", role="member",
                                    email="nina@kommune.dk", password=password)
    assert passwords.verify_password(created.password_hash, password)
    assert not passwords.too_easy(password + "y" * 900)  # longer than zxcvbn takes: no error


def test_every_page_and_command_that_sets_a_password_refuses_an_easy_one(web_app, web_engine,
                                                                        sqlite_url,
                                                                        monkeypatch):
    from cli.main import cli

    admin = as_role(web_app, "admin")
    created = admin.post("/brugere/ny", data={
        "csrf_token": page_csrf(admin, "/brugere/ny"), "username": "ny-bruger", "name": "Ny",
        "email": "ny@kommune.dk", "role": "member", "password": "password123"})
    assert created.status_code == 400 and TOO_EASY in created.text
    target = _user_id(web_engine, "medlem")
    by_admin = admin.post(f"/brugere/{target}/adgangskode", data={
        "csrf_token": page_csrf(admin), "password": "qwertyuiop"})
    assert TOO_EASY in unescape(admin.get(by_admin.headers["location"]).text)
    member = as_role(web_app, "member")
    own = member.post("/adgangskode", data={
        "csrf_token": page_csrf(member, "/adgangskode"), "current": "medlem-demo",
        "password": "sommer2024", "repeated": "sommer2024"})
    assert own.status_code == 400 and TOO_EASY in unescape(own.text)
    assert logged_in(web_app, "medlem", "medlem-demo")  # nothing changed
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    added = runner.invoke(cli, ["user", "add", "ole", "--name", "Ole", "--email", "ole@x.dk",
                                "--role", "member", "--password", "Velkommen1!"])
    assert added.exit_code == 1 and TOO_EASY in added.output
    assert runner.invoke(cli, ["user", "add", "ole", "--name", "Ole", "--email", "ole@x.dk",
                               "--role", "member", "--password", "gult tog over Ringsted"]
                         ).exit_code == 0
    changed = runner.invoke(cli, ["user", "password", "ole", "--password", "ballerup2024"])
    assert changed.exit_code == 1 and TOO_EASY in changed.output


def _user_id(engine, username: str) -> int:
    with read_session(engine) as session:
        return session.exec(select(User.id).where(User.username == username)).one()
