"""The public portal in a real headless Chromium, at 320 px and at 1280 px: a citizen finds
last year's decision on a playground, once through the body, its year and the meeting, once
through the front page's search; every portal page passes axe-core (WCAG 2.1 AA) and nothing
scrolls sideways at 320 px."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from servers import app_in_thread
from test_a11y import axe
from test_browser import browser_type_launch_args  # noqa: F401  (a fixture)
from test_portal import held_meeting, su_case
from web_fixtures import today

from cases.db import make_engine, write_session
from demo.users import ensure_demo_users
from meetings.services import create_meeting, place_case, publish_agenda
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.rules import ReminderRules

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

DECISION = "Legepladsen ved Hedegården bygges i foråret med midler fra anlægspuljen."
LAST_YEAR = today().year - 1
HELD_ON = date(LAST_YEAR, 10, 4)


@pytest.fixture(scope="module")
def portal(tmp_path_factory, migrated_sqlite):
    """Socialudvalget: last year's meeting with the playground decided (and a closed item),
    and a meeting to come; indexed for search by the sweep, as in production."""
    url = migrated_sqlite(tmp_path_factory.mktemp("portal-browser") / "web.db")
    engine = make_engine(url)
    with write_session(engine) as session:
        ensure_demo_users(session)
    playground = su_case(engine, "Ny legeplads ved Hedegården",
                         "Forvaltningen foreslår en ny legeplads ved Hedegården.")
    closed = su_case(engine, "Personsag om hjælpemidler", "Lukket sagstekst.")
    held = held_meeting(engine, HELD_ON, [(playground, False, DECISION),
                                          (closed, True, "Ansøgningen imødekommes.")])
    coming_case = su_case(engine, "Budget for aktivitetscentre", "Et nyt budget.")
    with write_session(engine) as session:
        coming = create_meeting(session, body="SU", day=today() + timedelta(days=30),
                                place="Rådhuset").id
        place_case(session, coming, coming_case)
        publish_agenda(session, coming, actor="test")
    rules = ReminderRules(office_hours_only=False)
    notify_changed_cases(engine, rules=rules)
    notify_changed_meetings(engine, rules=rules)
    engine.dispose()
    with app_in_thread(url) as base:
        yield {"base": base, "held": held, "coming": coming}


def no_sideways_scroll(page, width: int) -> None:
    if width == 320:
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, page.url


def sees_the_decision(page, width: int) -> None:
    item = page.locator("section.punkt", has_text="Ny legeplads ved Hedegården")
    assert DECISION in item.locator("[data-section=Beslutning]").inner_text()
    assert page.locator(".dokumenttype").first.inner_text() == "Referat"
    assert "Lukket sagstekst" not in page.inner_text("main")
    no_sideways_scroll(page, width)


@pytest.mark.parametrize("width", [320, 1280])
def test_a_citizen_finds_last_years_decision_through_body_year_and_meeting(page, portal,
                                                                           width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{portal['base']}/offentlig")
    no_sideways_scroll(page, width)
    page.click("ul.organer a:text-is('Socialudvalget')")
    assert page.inner_text("h1") == "Socialudvalget"
    no_sideways_scroll(page, width)
    page.click(f"ul.aar a:has-text('{LAST_YEAR}')")
    assert page.inner_text("h1") == f"Socialudvalget: møder i {LAST_YEAR}"
    no_sideways_scroll(page, width)
    meeting = page.locator("li.moede", has_text=f"{HELD_ON:%d-%m-%Y}")
    assert "Referat" in meeting.inner_text() and "Dagsorden" in meeting.inner_text()
    meeting.locator("p.moede-tid a").click()
    sees_the_decision(page, width)
    # The breadcrumb leads back to the year.
    page.click(f"nav.broedkrumme a:text-is('{LAST_YEAR}')")
    assert page.inner_text("h1") == f"Socialudvalget: møder i {LAST_YEAR}"


@pytest.mark.parametrize("width", [320, 1280])
def test_a_citizen_finds_last_years_decision_through_the_search(page, portal, width):
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{portal['base']}/offentlig")
    page.fill("input[name=q]", "legepladsen")
    page.fill("input[name=aar]", str(LAST_YEAR))
    page.click("form[role=search] button:has-text('Søg')")
    page.wait_for_selector(".search-hit")
    no_sideways_scroll(page, width)
    hit = page.locator(".search-hit", has_text="Hedegården").first
    hit.locator("h2 a").click()
    assert f"/offentlig/moeder/{portal['held']}" in page.url
    sees_the_decision(page, width)


def test_every_portal_page_passes_axe_and_reflows(browser, portal, pytestconfig):
    shots = Path(pytestconfig.getoption("--output")).absolute() / "a11y" / "portal"
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(bypass_csp=True)  # the test's own axe is let in
    page = context.new_page()
    paths = ["/offentlig", "/offentlig/organ/SU", f"/offentlig/organ/SU/{LAST_YEAR}",
             f"/offentlig/organ/SU/{(today() + timedelta(days=30)).year}",
             f"/offentlig/moeder/{portal['held']}", f"/offentlig/moeder/{portal['coming']}",
             "/offentlig/tilgaengelighed", "/offentlig/soeg?q=legeplads",
             "/offentlig/organ/HR"]
    problems = []
    for path in paths:
        for width in (1280, 320):
            page.set_viewport_size({"width": width, "height": 900})
            response = page.goto(portal["base"] + path)
            assert response.status == 200, path
            problems += axe(page, f"{path} @{width}")
            wide = page.evaluate("document.documentElement.scrollWidth")
            if width == 320 and wide > 320:
                problems.append(f"{path} @320: scrolls sideways ({wide} px)")
            name = path.strip("/").replace("/", "_").replace("?", "_")
            page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
    context.close()
    assert problems == []
