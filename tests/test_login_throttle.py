"""Login throttling: wrong passwords slow down further tries per account and per client
address, with a Danish message saying how long to wait, never locking anyone out for good;
counted in the database, so two server processes count the same tries.

The client address is set with X-Forwarded-For, which uvicorn takes from a proxy on 127.0.0.1
(its default FORWARDED_ALLOW_IPS), as it does behind the production reverse proxy."""

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from live_web import SECRET, client, flashes, live_site, new_user, try_login
from servers import WebServer

from cases.db import write_session
from web import logins

ACCOUNT_FREE, ADDRESS_FREE = logins.ACCOUNT_FREE, logins.ADDRESS_FREE


def _waited(response) -> int:
    """The seconds the refusal asks to wait (and says in its Retry-After header)."""
    assert response.status_code == 429, response.text
    message = flashes(response.text)
    assert "For mange forkerte forsøg på at logge ind." in message
    seconds = int(re.search(r"Prøv igen om (\d+) sekund", message).group(1))
    assert response.headers["retry-after"] == str(seconds)
    return seconds


# -- against the running app -------------------------------------------------------------------

@pytest.mark.slow
def test_forty_wrong_passwords_then_the_right_one_waits_and_works_after_the_wait(
        tmp_path, migrated_sqlite):
    window = 12  # seconds; the setting is in minutes
    with live_site(tmp_path, migrated_sqlite,
                   SAGSGANG_LOGIN_WINDOW_MINUTES=str(window / 60)) as (server, engine):
        username, password, _ = new_user(engine)
        browser = client(server, **{"X-Forwarded-For": "192.0.2.10"})
        answers = [try_login(browser, username, f"forkert-{n}") for n in range(40)]
        assert [a.status_code for a in answers[:ACCOUNT_FREE]] == [400] * ACCOUNT_FREE
        assert "Forkert brugernavn eller adgangskode." in flashes(answers[0].text)
        assert {a.status_code for a in answers[ACCOUNT_FREE:]} == {429}
        right = try_login(browser, username, password)
        seconds = _waited(right)
        assert 0 < seconds <= window
        assert browser.get("/kalender").status_code == 303  # not logged in
        time.sleep(seconds + 0.5)
        assert try_login(browser, username, password).status_code == 303
        assert browser.get("/kalender").status_code == 200


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory, migrated_sqlite):
    """Two web servers (two processes, as production's workers) on one database, with the
    default 15-minute window."""
    directory = tmp_path_factory.mktemp("throttle")
    with live_site(directory, migrated_sqlite) as (first, engine):
        second_dir = directory / "second"
        second_dir.mkdir()
        with WebServer({"DATABASE_URL": str(engine.url), "SAGSGANG_VAR_DIR": directory,
                        "SAGSGANG_SECRET_KEY": SECRET}, second_dir) as second:
            yield first, second, engine


@pytest.mark.slow
def test_wrong_passwords_for_one_account_slow_it_down_from_any_address_and_process(
        two_servers):
    first, second, engine = two_servers
    username, password, _ = new_user(engine)
    for n in range(ACCOUNT_FREE):
        address = f"192.0.2.{20 + n}"
        wrong = try_login(client(first, **{"X-Forwarded-For": address}), username, "forkert")
        assert wrong.status_code == 400
    elsewhere = client(second, **{"X-Forwarded-For": "198.51.100.7"})
    assert _waited(try_login(elsewhere, username, password)) > 0
    other_username, other_password, _ = new_user(engine)  # other people are not slowed
    assert try_login(elsewhere, other_username, other_password).status_code == 303


@pytest.mark.slow
def test_wrong_passwords_from_one_address_slow_down_every_account_tried_from_it(two_servers):
    first, second, engine = two_servers
    username, password, _ = new_user(engine)
    guesser = client(first, **{"X-Forwarded-For": "192.0.2.99"})
    for n in range(ADDRESS_FREE):  # one try each at many accounts, known or not
        assert try_login(guesser, f"ukendt-{n}", "Sommer2024!").status_code == 400
    same_address = client(second, **{"X-Forwarded-For": "192.0.2.99"})
    assert _waited(try_login(same_address, username, password)) > 0
    other_address = client(second, **{"X-Forwarded-For": "198.51.100.8"})
    assert try_login(other_address, username, password).status_code == 303


# -- the schedule, with the default window, on SQLite and PostgreSQL -----------------------

def test_the_wait_doubles_with_each_wrong_password_and_never_outlasts_the_window(db):
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    expected = [0] * ACCOUNT_FREE + [30, 60, 120, 240, 480]
    seen = []
    with write_session(db) as session:
        for _ in expected:  # each try exactly when allowed, each wrong
            wait = logins.wait_seconds(session, "Bo", "192.0.2.1", now)
            seen.append(wait)
            now += timedelta(seconds=wait)
            logins.record_failure(session, "bo", "192.0.2.1", now)
        assert seen == expected
        # Many at once (tries at the same moment are all checked): the wait is the window
        # at most, and a window after the last wrong password the account is free again.
        for _ in range(12):
            logins.record_failure(session, "mia", "192.0.2.3", now)
        assert logins.wait_seconds(session, "mia", "192.0.2.4", now) == 15 * 60
        assert logins.wait_seconds(session, "mia", "192.0.2.4",
                                   now + timedelta(minutes=15)) == 0


def test_the_right_password_clears_the_accounts_count_but_not_the_addresss(db):
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with write_session(db) as session:
        for _ in range(ACCOUNT_FREE):
            logins.record_failure(session, "bo", "192.0.2.1", now)
        assert logins.wait_seconds(session, "bo", "192.0.2.9", now) == 30
        logins.forget_account(session, "bo")
        assert logins.wait_seconds(session, "bo", "192.0.2.9", now) == 0
        for n in range(ADDRESS_FREE):
            logins.record_failure(session, f"nogen-{n}", "192.0.2.1", now)
        logins.forget_account(session, "bo")
        assert logins.wait_seconds(session, "bo", "192.0.2.1", now) == 30
        assert logins.wait_seconds(session, "bo", "192.0.2.9", now) == 0


def test_the_wait_is_said_in_danish():
    assert logins.wait_message(1) == ("For mange forkerte forsøg på at logge ind. Prøv igen om "
                                      "1 sekund.")
    assert logins.wait_message(30).endswith("Prøv igen om 30 sekunder.")
    assert logins.wait_message(900).endswith("Prøv igen om 15 minutter.")
