"""The web pages on the product's clock: each meeting shows its deadlines, a meeting held by
that clock takes no more items, and a login keeps to the wall clock whatever day is set."""

from datetime import timedelta

from web_fixtures import as_role, days, make_case, page_csrf

from cases.dates import format_date
from cases.db import write_session
from cases.settings import get_settings
from meetings.calendar import agenda_deadlines, rules_for
from meetings.services import create_meeting


def test_each_meeting_shows_its_agenda_deadline_on_its_page_and_in_the_list(web_app,
                                                                          web_engine, org):
    day = days(120)
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=day).id
    due = agenda_deadlines(org.body("SU"), day, rules_for(org, "SU"))
    member = as_role(web_app, "member")
    html = member.get(f"/moeder/{meeting_id}").text
    assert f'id="agenda-out">{format_date(due.agenda_out)}<' in html
    assert f'id="submission-deadline">{format_date(due.submission)}<' in html
    listed = member.get("/moeder?organ=SU").text.split("<tbody>")[1]
    row = listed[listed.index(f'href="/moeder/{meeting_id}"'):]
    assert f"<td>{format_date(due.agenda_out)}</td>" in row[:row.index("</tr>")]


def test_the_pages_follow_the_set_clock_and_the_login_the_wall_clock(web_app, web_engine,
                                                                    monkeypatch):
    number = make_case(web_engine, committees=("SU",))
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(30)).id
    client = as_role(web_app, "secretariat")
    # Ten years on by the product's clock: the login, an hour old at most, still holds, and
    # the meeting is held by then.
    monkeypatch.setenv("SAGSGANG_TODAY", (days(30) + timedelta(days=3650)).isoformat())
    get_settings.cache_clear()
    response = client.post(f"/moeder/{meeting_id}/placer",
                           data={"csrf_token": page_csrf(client), "number": number},
                           follow_redirects=True)
    assert "Mødet er afholdt" in response.text
    assert client.get("/moeder").status_code == 200


def test_the_secretariat_enters_a_held_meeting_afterwards(web_app, web_engine):
    number = make_case(web_engine, committees=("SU",))
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(-40)).id
    client = as_role(web_app, "secretariat")
    html = client.get(f"/moeder/{meeting_id}").text
    assert 'id="efterregistrering"' in html and 'id="koe"' not in html
    refused = client.post(f"/moeder/{meeting_id}/placer",
                          data={"csrf_token": page_csrf(client), "number": number},
                          follow_redirects=True)
    assert "Mødet er afholdt" in refused.text
    placed = client.post(f"/moeder/{meeting_id}/placer",
                         data={"csrf_token": page_csrf(client), "number": number,
                               "efterregistreret": "1"}, follow_redirects=True)
    assert "punkt 1 (registreret efterfølgende)" in placed.text
    case_page = client.get(f"/sager/{number}").text
    assert "Sat på dagsordenen i Socialudvalget (registreret efterfølgende)" in case_page
