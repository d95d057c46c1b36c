"""Meetings in the browser: the secretariat creates, moves and cancels meetings with the same
services (and so the same rules and messages) as `sagsgang meeting create/move/cancel`."""

import re
from datetime import date

import pytest
from servers import database_dump
from web_fixtures import (
    as_role,
    days,
    make_case,
    page_csrf,
)

from cases import queries
from cases.dates import to_local
from cases.db import read_session, write_session
from meetings import queries as meeting_queries
from meetings.services import create_meeting, place_case


def post(client, path: str, back: str = "/moeder", **fields):
    """A form post as the browser sends it: the page's CSRF token, the page as referer."""
    return client.post(path, data={"csrf_token": page_csrf(client, back), **fields},
                       headers={"referer": f"http://testserver{back}"})


def meeting_with_case(engine, day_offset: int, title: str) -> tuple[int, str]:
    number = make_case(engine, title=title, committees=("SU",), deciding_body="SU")
    with write_session(engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(day_offset)).id
        place_case(session, meeting_id, number, late_reason="Hastesag")
    return meeting_id, number


def test_it_creates_a_meeting_from_the_meetings_page(web_app, web_engine):
    client = as_role(web_app, "secretariat")
    html = client.get("/moeder").text
    form = html[html.index('action="/moeder/ny"'):]
    form = form[:form.index("</form>")]
    assert '<option value="SU">Socialudvalget</option>' in form
    assert 'value="HR"' not in form  # a hearing council holds no meetings here
    day = days(90)
    response = post(client, "/moeder/ny", body="SU", date=f"{day:%d-%m-%Y}", time="16:30",
                    place="Rådhuset, lokale 1 <script>alert(1)</script>")
    assert response.status_code == 303
    meeting_id = int(re.fullmatch(r"/moeder/(\d+)", response.headers["location"]).group(1))
    with read_session(web_engine) as session:
        meeting = meeting_queries.get_meeting(session, meeting_id)
    assert (meeting.body_code, to_local(meeting.starts_at).date(),
            f"{to_local(meeting.starts_at):%H:%M}") == ("SU", day, "16:30")
    assert meeting.place == "Rådhuset, lokale 1 <script>alert(1)</script>"
    page = client.get(f"/moeder/{meeting_id}").text
    assert f"Mødet er oprettet: SU {day:%d-%m-%Y} kl. 16:30." in page
    assert "Rådhuset, lokale 1 &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page and "<script>alert(1)" not in client.get("/moeder").text

    # Without a time: the body's own meeting time (SU: 17:00), as on the command line.
    response = post(client, "/moeder/ny", body="SU", date=f"{days(91):%d-%m-%Y}")
    assert response.status_code == 303
    assert f"Mødet er oprettet: SU {days(91):%d-%m-%Y} kl. 17:00." in client.get(
        response.headers["location"]).text
    admin = as_role(web_app, "admin")
    assert post(admin, "/moeder/ny", body="BSU", date=f"{days(92):%d-%m-%Y}").status_code == 303
    with read_session(web_engine) as session:
        assert meeting_queries.find_meeting(session, "BSU", days(92)) is not None


BAD_MEETINGS = {
    "a malformed date": ({"body": "SU", "date": "31-02-2030"},
                         "Ugyldig dato: &#39;31-02-2030&#39;. Skriv datoen som dd-mm-åååå"),
    "a malformed time": ({"body": "SU", "date": "01-03-2030", "time": "25"},
                         "Ugyldigt klokkeslæt &#39;25&#39;; skriv fx 17:00."),
    "an unknown body": ({"body": "XX", "date": "01-03-2030"}, "Ukendt organ: &#39;XX&#39;."),
    "a second meeting at the same time": ({"body": "SU", "date": "05-03-2030",
                                           "time": "17:00"},
                                          "SU har allerede et møde 05-03-2030 kl. 17:00."),
}


@pytest.mark.parametrize("fields, message", BAD_MEETINGS.values(), ids=BAD_MEETINGS.keys())
def test_it_refuses_a_bad_meeting_with_the_clis_message_and_writes_nothing(
        web_app, web_engine, fields, message):
    with write_session(web_engine) as session:
        if not meeting_queries.find_meeting(session, "SU", date(2030, 3, 5)):
            create_meeting(session, body="SU", day="05-03-2030")
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    response = post(client, "/moeder/ny", **fields)
    assert response.status_code == 303
    assert database_dump(web_engine) == before
    assert message in client.get("/moeder").text


def test_it_moves_a_meeting_and_its_agenda_follows(web_app, web_engine):
    meeting_id, number = meeting_with_case(web_engine, 120, "Sag på et møde, der flyttes")
    path = f"/moeder/{meeting_id}"
    client = as_role(web_app, "secretariat")
    form = client.get(path).text
    form = form[form.index('id="flyt-moedet"'):]
    assert f'name="date" value="{days(120):%d-%m-%Y}"' in form and 'value="17:00"' in form

    before = database_dump(web_engine)
    refused = post(client, f"{path}/flyt-moedet", back=path, date=f"{days(122):%d-%m-%Y}",
                   time="10:00", reason="")
    assert refused.status_code == 303 and database_dump(web_engine) == before
    assert "Angiv en begrundelse for at flytte mødet." in client.get(path).text

    reason = "Sammenfald med budgetseminar <script>x</script>"
    response = post(client, f"{path}/flyt-moedet", back=path, date=f"{days(122):%d-%m-%Y}",
                    time="10:00", place="Byrådssalen", reason=reason)
    assert response.status_code == 303
    with read_session(web_engine) as session:
        meeting = meeting_queries.get_meeting(session, meeting_id)
        [item] = meeting_queries.items(session, meeting_id)
        events = [e for e in queries.events(session, queries.get_case(session, number).id)
                  if e.trigger == "move_on_agenda"]
    assert (to_local(meeting.starts_at).date(), f"{to_local(meeting.starts_at):%H:%M}",
            meeting.place, meeting.status, meeting.status_reason) == (
        days(122), "10:00", "Byrådssalen", "moved", reason)
    assert item.case_id is not None and [e.reason for e in events] == [reason]
    assert events[0].actor == "sekretariat"
    html = client.get(path).text
    assert f"Mødet er flyttet til {days(122):%d-%m-%Y} kl. 10:00." in html
    assert "Sammenfald med budgetseminar &lt;script&gt;x&lt;/script&gt;" in html


def test_it_cancels_a_meeting_and_keeps_its_cases_in_the_queue(web_app, web_engine):
    meeting_id, number = meeting_with_case(web_engine, 130, "Sag på et møde, der aflyses")
    path = f"/moeder/{meeting_id}"
    client = as_role(web_app, "secretariat")
    assert f'action="/moeder/{meeting_id}/aflys"' in client.get(path).text

    before = database_dump(web_engine)
    refused = post(client, f"{path}/aflys", back=path, reason=" ")
    assert refused.status_code == 303 and database_dump(web_engine) == before
    assert "Angiv en begrundelse for at aflyse mødet." in client.get(path).text

    response = post(client, f"{path}/aflys", back=path,
                    reason="Udvalget er ikke beslutningsdygtigt", confirmed="ja")
    assert response.status_code == 303
    html = client.get(path).text
    assert f"Mødet er aflyst. Tilbage i køen: {number}." in html
    assert 'id="meeting-status">Aflyst' in html
    assert "Mødet er aflyst: <span class=\"text\">Udvalget er ikke beslutningsdygtigt" in html
    assert 'href="/koer/SU">SUs kø</a>' in html
    assert f'action="/moeder/{meeting_id}/aflys"' not in html  # nothing more to change
    assert f'action="/moeder/{meeting_id}/placer"' not in html
    with read_session(web_engine) as session:
        meeting = meeting_queries.get_meeting(session, meeting_id)
        [entry] = [e for e in meeting_queries.agenda_queue(session, "SU")
                   if e.case.number == number]
    assert meeting.status == "cancelled" and entry.placed_on is None
    assert number in client.get("/koer/SU").text
    assert f'href="/moeder/{meeting_id}"' not in client.get("/moeder?organ=SU").text
    assert f'href="/moeder/{meeting_id}"' in client.get("/moeder?organ=SU&aflyste=1").text

    before = database_dump(web_engine)
    again = post(client, f"{path}/aflys", back=path, reason="Igen")
    assert again.status_code == 303 and database_dump(web_engine) == before
    assert "Mødet er aflyst." in client.get(path).text


@pytest.mark.parametrize("role", ["member", "manager", "case_owner"])
def test_it_lets_only_the_secretariat_and_admin_manage_meetings(web_app, web_engine, role):
    meeting_id, _ = meeting_with_case(web_engine, 140 + len(role), f"Sag ({role})")
    path = f"/moeder/{meeting_id}"
    client = as_role(web_app, role)
    assert 'action="/moeder/ny"' not in client.get("/moeder").text
    page = client.get(path).text
    assert "flyt-moedet" not in page and "/aflys" not in page
    before = database_dump(web_engine)
    refused = [
        post(client, "/moeder/ny", body="SU", date=f"{days(150):%d-%m-%Y}"),
        post(client, f"{path}/flyt-moedet", back=path, date=f"{days(151):%d-%m-%Y}",
             reason="Forsøg"),
        post(client, f"{path}/aflys", back=path, reason="Forsøg")]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert "Du har ikke adgang til at oprette, flytte og aflyse møder." in refused[0].text
    assert database_dump(web_engine) == before


def test_it_refuses_a_meeting_post_without_the_sessions_csrf_token(web_app, web_engine):
    meeting_id, _ = meeting_with_case(web_engine, 160, "Sag (CSRF)")
    path = f"/moeder/{meeting_id}"
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    forged = {"csrf_token": "x" * 43}
    refused = [
        client.post("/moeder/ny", data={**forged, "body": "SU",
                                        "date": f"{days(161):%d-%m-%Y}"}),
        client.post(f"{path}/flyt-moedet", data={**forged, "date": f"{days(162):%d-%m-%Y}",
                                                 "reason": "Falsk"}),
        client.post(f"{path}/aflys", data={**forged, "reason": "Falsk"}),
        client.post(f"{path}/aflys", data={"reason": "Uden token"})]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert database_dump(web_engine) == before
