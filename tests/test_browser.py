"""In a real headless Chromium: the secretariat records ØU's "sendes tilbage" and the case
is in each committee's queue; a manager sees an overdue case on the dashboard and opens it.

The app runs under uvicorn on a free loopback port, against a temporary SQLite database.
Chromium is Debian's (`make browser`); SAGSGANG_CHROMIUM overrides its path.
"""

import os

import pytest
from servers import app_in_thread

from cases import actions, services
from cases.db import make_engine, write_session
from demo.users import ensure_demo_users

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

CHROMIUM = os.environ.get("SAGSGANG_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync"]}


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, migrated_sqlite):
    from web_fixtures import days


    url = migrated_sqlite(tmp_path_factory.mktemp("browser") / "web.db")
    engine = make_engine(url)
    with write_session(engine) as session:
        ensure_demo_users(session)
        services.create_case(session, {
            "number": "22-011", "title": "Danmarkskort over kommunens tilbud",
            "centre": "Center for Voksne og Sundhed", "deciding_body": "KB",
            "committees": ["BSU", "SU", "SÆU"], "proposals": ["at Danmarkskortet drøftes"]},
            actor="test")
        actions.submit(session, "22-011", actor="test")
        for body, day in (("BSU", "06-09-2022"), ("SU", "06-09-2022"), ("SÆU", "13-09-2022")):
            actions.treat(session, "22-011", actor="test", body=body,
                          wording="anbefales", meeting_date=day)
        services.create_case(session, {
            "number": "22-099", "title": "Forsinket rammeaftale",
            "centre": "Center for Voksne og Sundhed", "deciding_body": "KB",
            "committees": ["SU"], "deadlines": [{"due_date": days(-4).isoformat(),
                                                 "description": "KB senest"}]}, actor="test")
        actions.submit(session, "22-099", actor="test")
    engine.dispose()

    with app_in_thread(url) as base:
        yield base


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Log ind')")


def test_it_sends_a_case_back_from_OU_into_each_committees_queue(page, live_server):
    log_in(page, live_server, "sekretariat", "sekretariat-demo")
    page.goto(f"{live_server}/sager/22-011")
    assert page.inner_text("#case-status") == "Til behandling i Økonomiudvalget"
    form = page.locator("#tilbage form")
    form.locator("select[name=body]").select_option("ØU")
    form.locator("input[name=meeting_date]").fill("20-09-2022")
    form.locator("input[name=reason]").fill("Sagen skal belyses yderligere i fagudvalgene")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/sager/22-011")
    assert "Sendes tilbage til fagudvalgene" in page.inner_text(".flash-ok")
    assert page.inner_text("#case-status") == "Til behandling i fagudvalg"
    assert "20-09-2022" in page.inner_text("#beslutningshistorik")
    page.goto(f"{live_server}/koer")
    for body in ("BSU", "SU", "SÆU"):
        assert "22-011" in page.inner_text(f"#koe-{body}"), body
    assert "22-011" not in page.inner_text("#koe-ØU")


def test_it_shows_a_manager_the_overdue_case_and_opens_it(page, live_server):
    log_in(page, live_server, "leder", "leder-demo")
    page.wait_for_url(f"{live_server}/overblik")
    figure = page.locator("#figur-overdue")
    assert "22-099" in figure.inner_text()
    figure.locator("a:has-text('22-099')").click()
    page.wait_for_url(f"{live_server}/sager/22-099")
    assert "Forsinket rammeaftale" in page.inner_text("h1")
    assert "Overskredet" in page.inner_text("#frister")
