"""Revocable sessions, against the web app in its own process: a cookie copied before logging
out, a new password (one's own, by an administrator, from the command line), deactivation and
reactivation no longer works afterwards, nor do the user's API keys after the last three; a
session unused for the idle time ends, one in use does not."""

import time

import pytest
from click.testing import CliRunner
from live_web import (
    api_key,
    api_works,
    copy_of,
    csrf,
    flashes,
    live_site,
    logged_in,
    login,
    new_user,
    try_login,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory, migrated_sqlite):
    with live_site(tmp_path_factory.mktemp("sessions"), migrated_sqlite) as running:
        yield running


def _ended_everywhere(*browsers) -> None:
    for browser in browsers:
        assert not logged_in(browser)


def test_logging_out_ends_every_session_of_the_user_a_copied_cookie_too(site):
    server, engine = site
    username, password, user_id = new_user(engine)
    browser = login(server, username, password)
    copied = copy_of(browser)
    other_device = login(server, username, password)
    key = api_key(engine, user_id)
    assert logged_in(copied) and logged_in(other_device)
    out = browser.post("/logout", data={"csrf_token": csrf(browser, "/kalender")})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    _ended_everywhere(copied, other_device)
    assert "Du er logget ud – alle steder" in flashes(browser.get("/login").text)
    _ended_everywhere(browser)
    assert "Du er logget ud, fordi du har logget ud et andet sted" in flashes(
        copied.get("/login").text)
    assert api_works(server, key)  # a system using the person's key goes on
    assert logged_in(login(server, username, password))


def test_changing_ones_own_password_ends_every_other_session_and_the_api_keys(site):
    server, engine = site
    username, password, user_id = new_user(engine)
    browser = login(server, username, password)
    copied, other_device = copy_of(browser), login(server, username, password)
    key = api_key(engine, user_id)
    assert api_works(server, key)
    assert browser.get("/adgangskode").status_code == 200
    new = "blå-cykel-under-ringsted-bro"
    changed = browser.post("/adgangskode", data={
        "csrf_token": csrf(browser, "/adgangskode"), "current": password, "password": new,
        "repeated": new})
    assert changed.status_code == 303, changed.text
    assert "Din adgangskode er skiftet" in flashes(browser.get("/adgangskode").text)
    assert logged_in(browser)  # the one who changed it goes on
    _ended_everywhere(copied, other_device)
    assert not api_works(server, key)
    assert try_login(copy_of(browser), username, password).status_code == 400
    assert logged_in(login(server, username, new))


def test_a_wrong_current_password_changes_nothing(site):
    server, engine = site
    username, password, user_id = new_user(engine)
    browser = login(server, username, password)
    copied = copy_of(browser)
    refused = browser.post("/adgangskode", data={
        "csrf_token": csrf(browser, "/adgangskode"), "current": "ikke-den-rigtige",
        "password": "blå-cykel-under-ringsted-bro", "repeated": "blå-cykel-under-ringsted-bro"})
    assert refused.status_code == 400
    assert "Den nuværende adgangskode er forkert." in flashes(refused.text)
    assert logged_in(copied)
    assert logged_in(login(server, username, password))


def test_a_new_password_set_by_an_administrator_ends_the_sessions_and_api_keys(site):
    server, engine = site
    username, password, user_id = new_user(engine)
    browser = login(server, username, password)
    key = api_key(engine, user_id)
    admin = login(server, "admin", "admin-demo")
    response = admin.post(f"/brugere/{user_id}/adgangskode", data={
        "csrf_token": csrf(admin, f"/brugere/{user_id}"),
        "password": "grøn-traktor-ved-vesterhavet"})
    assert response.status_code == 303
    assert not logged_in(browser)
    assert not api_works(server, key)
    assert "er logget ud alle steder" in flashes(admin.get(f"/brugere/{user_id}").text)
    assert logged_in(admin)
    assert logged_in(login(server, username, "grøn-traktor-ved-vesterhavet"))


def test_a_new_password_from_the_command_line_ends_the_sessions_and_api_keys(site, monkeypatch):
    from cli.main import cli

    server, engine = site
    username, password, user_id = new_user(engine)
    browser = login(server, username, password)
    key = api_key(engine, user_id)
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    result = CliRunner().invoke(cli, ["user", "password", username,
                                      "--password", "grøn-traktor-ved-vesterhavet"])
    assert result.exit_code == 0, result.output
    assert "er logget ud alle steder" in result.output
    assert not logged_in(browser)
    assert not api_works(server, key)
    assert logged_in(login(server, username, "grøn-traktor-ved-vesterhavet"))


def test_deactivating_and_reactivating_leaves_the_old_cookie_and_api_key_dead(site):
    server, engine = site
    username, password, user_id = new_user(engine)
    browser = login(server, username, password)
    copied = copy_of(browser)
    key = api_key(engine, user_id)
    admin = login(server, "admin", "admin-demo")
    for action in ("deaktiver", "aktiver"):
        response = admin.post(f"/brugere/{user_id}/{action}", data={
            "csrf_token": csrf(admin, f"/brugere/{user_id}")})
        assert response.status_code == 303, action
    _ended_everywhere(browser, copied)
    assert not api_works(server, key)
    again = login(server, username, password)
    assert logged_in(again)
    assert "Tilbagekaldt" in again.get("/api-noegler").text


def test_the_command_line_deactivates_and_reactivates_the_same_way(site, monkeypatch):
    from cli.main import cli

    server, engine = site
    username, password, user_id = new_user(engine)
    browser = login(server, username, password)
    key = api_key(engine, user_id)
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    runner = CliRunner()
    assert runner.invoke(cli, ["user", "deactivate", username]).exit_code == 0
    assert try_login(copy_of(browser), username, password).status_code == 400
    assert runner.invoke(cli, ["user", "activate", username]).exit_code == 0
    assert not logged_in(browser)
    assert not api_works(server, key)
    assert logged_in(login(server, username, password))
    unknown = runner.invoke(cli, ["user", "deactivate", "ingen-sådan"])
    assert unknown.exit_code == 1 and "ingen bruger med brugernavnet" in unknown.output


def test_a_session_unused_for_the_idle_time_ends_and_one_in_use_does_not(tmp_path,
                                                                           migrated_sqlite):
    idle = 6  # seconds; the setting is in minutes
    with live_site(tmp_path, migrated_sqlite,
                   SAGSGANG_SESSION_IDLE_MINUTES=str(idle / 60)) as (server, engine):
        username, password, _ = new_user(engine)
        browser = login(server, username, password)
        for _ in range(5):  # in use for longer than the idle time: it goes on
            assert logged_in(browser)
            time.sleep(idle / 3)
        assert logged_in(browser)
        copied = copy_of(browser)
        time.sleep(idle + 2)
        assert not logged_in(copied)
        assert "Du er logget ud, fordi du ikke har brugt sagsgang i 0,1 minutter" in flashes(
            copied.get("/login").text)
        assert not logged_in(browser)
        assert logged_in(login(server, username, password))
