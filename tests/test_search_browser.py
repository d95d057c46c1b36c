"""In a real headless Chromium at 320 px: the public search page, its filters and a hit with
a long title, without sideways scrolling; the search typed and submitted as a person does."""

import pytest
from servers import app_in_thread
from test_browser import browser_type_launch_args  # noqa: F401  (a fixture)

from cases import actions, services
from cases.db import make_engine, write_session
from meetings.services import create_meeting, place_case, publish_agenda
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.rules import ReminderRules

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

LONG = ("Tillægsbevillingtilhandicapområdetsbotilbudogdaghjemogaflastningspladser "
        "i Socialudvalget efter udsættelsen")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, migrated_sqlite):

    from web_fixtures import days


    url = migrated_sqlite(tmp_path_factory.mktemp("search-browser") / "web.db")
    engine = make_engine(url)
    with write_session(engine) as session:
        services.create_case(session, {
            "number": "31-001", "title": LONG, "centre": "Center for Voksne og Sundhed",
            "deciding_body": "SU", "summary": "Sagen blev udsat på sidste møde."}, actor="test")
        actions.submit(session, "31-001", actor="test")
        meeting = create_meeting(session, body="SU", day=days(300))
        place_case(session, meeting.id, "31-001")
        publish_agenda(session, meeting.id, actor="test")
    rules = ReminderRules(office_hours_only=False)
    notify_changed_cases(engine, rules=rules)
    notify_changed_meetings(engine, rules=rules)
    engine.dispose()
    with app_in_thread(url) as base:
        yield base


def test_the_public_search_works_at_320_px(page, live_server):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(f"{live_server}/offentlig")
    page.click("nav a:has-text('Søg')")
    page.fill("input[name=q]", "udsatte")
    page.locator("select[name=organ]").select_option("SU")
    page.click("button:has-text('Søg')")
    page.wait_for_selector(".search-hit")
    hit = page.locator(".search-hit").first
    assert "udsat" in hit.locator("mark").first.inner_text()
    assert "Socialudvalget" in hit.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    box = page.locator("input[name=q]").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 320
