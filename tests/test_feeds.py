"""iCalendar feeds (read back with the icalendar parser) and the public side: closed items
never show their text in public."""

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from query_count import queries_during
from web_fixtures import anonymous, days, make_case

from cases import queries
from cases.db import write_session
from cases.models import utcnow
from meetings.models import AGENDA_PUBLISHED, AgendaItem, Meeting
from web.tokens import new_feed_token


def parse(response) -> Calendar:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def events(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


@pytest.fixture(scope="module")
def published_meeting(web_engine):
    """An SU meeting with a published agenda: an open item, a closed item, and an open item
    on a confidential case; each closed text holds a unique marker."""
    open_case = make_case(web_engine, title="Åben sag om stier", summary="ÅBEN-TEKST",
                          committees=("SU",))
    closed_case = make_case(web_engine, title="Lukket personsag", summary="LUKKET-MARKØR-1",
                            committees=("SU",))
    confidential = make_case(web_engine, title="Fortrolig titel", summary="LUKKET-MARKØR-2",
                             committees=("SU",), confidential=True)
    with write_session(web_engine) as session:
        meeting = Meeting(body_code="SU", starts_at=datetime.now(UTC) + timedelta(days=3),
                          place="Mødelokale 1", agenda_status=AGENDA_PUBLISHED,
                          created_at=utcnow())
        session.add(meeting)
        session.flush()
        for number, (case_number, closed) in enumerate(
                [(open_case, False), (closed_case, True), (confidential, False)], start=1):
            case = queries.get_case(session, case_number)
            session.add(AgendaItem(meeting_id=meeting.id, case_id=case.id, number=number,
                                   title=case.title, closed=closed, wording="godkendt",
                                   decision_text=f"Beslutning {number}",
                                   text="LUKKET-MARKØR-3" if closed else ""))
        return meeting.id


def test_it_serves_a_cases_deadlines_as_a_valid_calendar(web_app, web_engine):
    number = make_case(web_engine, title="Rammeaftale", deadline=days(30))
    calendar = parse(anonymous(web_app).get(f"/feeds/sag/{number}.ics"))
    found = events(calendar)
    assert len(found) == 1
    assert found[0].decoded("dtstart") == days(30)
    assert number in str(found[0]["summary"])


def test_it_has_no_public_feed_for_a_closed_case(web_app, web_engine):
    number = make_case(web_engine, confidential=True, deadline=days(30))
    response = anonymous(web_app).get(f"/feeds/sag/{number}.ics")
    assert response.status_code == 404
    assert "findes ikke" in response.text


def test_it_lists_a_bodys_meetings_without_closed_items(web_app, published_meeting):
    response = anonymous(web_app).get("/feeds/organ/SU.ics")
    calendar = parse(response)
    meeting = [e for e in events(calendar) if str(e["uid"]) == f"meeting-{published_meeting}"
               "@sagsgang"]
    assert len(meeting) == 1
    description = str(meeting[0]["description"])
    assert "Punkt 1: Åben sag om stier" in description
    assert "Lukket personsag" not in response.text
    assert "Fortrolig titel" not in response.text
    assert "LUKKET-MARKØR" not in response.text


def test_it_serves_a_persons_own_deadlines_behind_a_secret_address(web_app, web_engine):
    mine = make_case(web_engine, title="Min sag", deadline=days(12),
                     owner_email="sagsbehandler@demo.sagsgang.invalid")
    theirs = make_case(web_engine, title="Andens sag", deadline=days(12),
                       owner_email="someone@else.invalid")
    from sqlmodel import select

    from cases.models import User
    with write_session(web_engine) as session:
        user_id = session.exec(select(User.id).where(User.username == "sagsbehandler")).one()
        token = new_feed_token(session, user_id)
    client = anonymous(web_app)
    text = client.get(f"/feeds/personlig/{token}.ics")
    summaries = [str(e["summary"]) for e in events(parse(text))]
    assert any(mine in s for s in summaries)
    assert not any(theirs in s for s in summaries)
    assert client.get("/feeds/personlig/not-a-token.ics").status_code == 404
    with write_session(web_engine) as session:
        new_feed_token(session, user_id)
    assert client.get(f"/feeds/personlig/{token}.ics").status_code == 404


def test_it_shows_the_public_agenda_with_closed_items_as_number_title_decision(
        web_app, published_meeting):
    client = anonymous(web_app)
    listing = client.get("/offentlig").text
    assert f"/offentlig/moeder/{published_meeting}" in listing
    html = client.get(f"/offentlig/moeder/{published_meeting}").text
    def title(number, text):  # the item's heading (templates/documents/_punkt.html)
        return f'Punkt {number} <span class="titel">{text}</span>'

    assert title(1, "Åben sag om stier") in html and "ÅBEN-TEKST" in html
    assert title(2, "Lukket personsag") in html and "Beslutning 2" in html
    assert title(3, "Fortrolig titel") in html and "Beslutning 3" in html
    assert "LUKKET-MARKØR" not in html


def test_it_hides_unpublished_agendas_from_the_public(web_app, web_engine):
    with write_session(web_engine) as session:
        meeting = Meeting(body_code="BSU", starts_at=datetime.now(UTC) + timedelta(days=9),
                          created_at=utcnow())
        session.add(meeting)
        session.flush()
        meeting_id = meeting.id
    assert anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}").status_code == 404


def test_it_shows_the_planned_route_and_flags_it_when_it_no_longer_fits(web_app, web_engine):
    """With a meeting calendar the case page shows the planner's route, and the dashboard's
    "at risk" follows the planner (in its own body calendar: SU, ØU, KB)."""
    from datetime import timedelta

    from web_fixtures import as_role

    from meetings.services import create_meeting

    start = days(0) + timedelta(days=(7 - days(0).weekday()))  # next Monday
    with write_session(web_engine) as session:
        for week in range(0, 12):
            monday = start + timedelta(weeks=week)
            create_meeting(session, body="SU", day=monday + timedelta(days=1))
            create_meeting(session, body="ØU", day=monday + timedelta(days=8))
            create_meeting(session, body="KB", day=monday + timedelta(days=13))
    fits = make_case(web_engine, committees=("SU",), deadline=start + timedelta(weeks=10))
    too_late = make_case(web_engine, committees=("SU",), deadline=start + timedelta(days=3))
    client = as_role(web_app, "secretariat")
    html = client.get(f"/sager/{fits}").text
    route = html.split('id="rute"')[1].split("</section>")[0]
    assert "Socialudvalget" in route and "Økonomiudvalget" in route
    assert "Kommunalbestyrelsen" in route
    assert "når ikke frem" not in route
    at_risk = as_role(web_app, "manager").get("/overblik/sager",
                                              params={"figur": "at_risk"}).text
    assert too_late in at_risk and fits not in at_risk


def test_at_risk_tells_apart_cases_alike_but_for_the_committee_they_wait_for(web_app,
                                                                            web_engine):
    """Two cases on one route with one deadline share a plan only while they wait for the
    same committees: one waiting for SU (which meets in time) fits, one waiting for BSU
    (which does not meet before the deadline) is at risk."""
    from datetime import timedelta

    import sqlalchemy as sa
    from web_fixtures import as_role

    from cases.models import Awaiting
    from meetings.services import create_meeting

    start = days(0) + timedelta(days=(7 - days(0).weekday()))  # next Monday
    with write_session(web_engine) as session:  # at 9 (the test above has 17 on these days)
        for week in range(0, 12):
            monday = start + timedelta(weeks=week)
            create_meeting(session, body="SU", day=monday + timedelta(days=1), at="09:00")
            create_meeting(session, body="ØU", day=monday + timedelta(days=8), at="09:00")
            create_meeting(session, body="KB", day=monday + timedelta(days=13), at="09:00")
        create_meeting(session, body="BSU", day=start + timedelta(weeks=20), at="09:00")
    due = start + timedelta(weeks=10)
    waits_for_su, waits_for_bsu = (make_case(web_engine, committees=("SU", "BSU"), deadline=due)
                                   for _ in range(2))
    with write_session(web_engine) as session:  # each treated by the other committee already
        for number, treated_by in ((waits_for_su, "BSU"), (waits_for_bsu, "SU")):
            session.execute(sa.delete(Awaiting).where(
                Awaiting.case_id == queries.get_case(session, number).id,
                Awaiting.body_code == treated_by))
    at_risk = as_role(web_app, "manager").get("/overblik/sager",
                                              params={"figur": "at_risk"}).text
    assert waits_for_bsu in at_risk and waits_for_su not in at_risk


def test_it_has_no_public_feed_for_a_case_closed_on_an_agenda(web_app, web_engine):
    from web_fixtures import close_on_agenda

    number = make_case(web_engine, committees=("SU",), deadline=days(30))
    assert anonymous(web_app).get(f"/feeds/sag/{number}.ics").status_code == 200
    close_on_agenda(web_engine, number)
    response = anonymous(web_app).get(f"/feeds/sag/{number}.ics")
    assert response.status_code == 404
    assert "findes ikke" in response.text


def test_it_lists_only_published_items_of_a_published_meeting(web_app, web_engine):
    """An item placed after publication waits for its tillægsdagsorden, as on the public
    page."""
    from meetings.services import create_meeting, place_case, publish_agenda

    shown = make_case(web_engine, title="Offentliggjort punkt", committees=("BSU",))
    waiting = make_case(web_engine, title="Venter på tillæg", committees=("BSU",))
    with write_session(web_engine) as session:
        meeting = create_meeting(session, body="BSU", day=days(120))
        place_case(session, meeting.id, shown)
        publish_agenda(session, meeting.id, actor="test")
        place_case(session, meeting.id, waiting, late_reason="test")
        meeting_id = meeting.id
    calendar = parse(anonymous(web_app).get("/feeds/organ/BSU.ics"))
    [event] = [e for e in events(calendar) if str(e["uid"]) == f"meeting-{meeting_id}@sagsgang"]
    description = str(event["description"])
    assert "Offentliggjort punkt" in description
    assert "Venter på tillæg" not in description
    public = anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}").text
    assert "Offentliggjort punkt" in public and "Venter på tillæg" not in public


def test_a_followers_calendar_drops_a_case_that_became_closed_to_them(web_app, web_engine):
    """Decided when the calendar is fetched, with its owner's rights: a followed case that
    becomes a lukket punkt leaves the calendar of a member of another body, and stays in that
    of a member of a body on its route."""
    from sqlmodel import select
    from web_fixtures import close_on_agenda

    from cases import services
    from cases.models import User
    from notifications.models import Subscription

    number = make_case(web_engine, committees=("SU",), deadline=days(30))
    tokens = {}
    with write_session(web_engine) as session:
        services.add_hearing(session, number, title="HØRING-MARKØR", parties=["HR"],
                             deadline=days(20), opened_on=days(0), blocking=False,
                             actor="test")
        case_id = queries.get_case(session, number).id
        for username in ("medlem", "bsu-medlem"):  # a member of SU, a member of BSU only
            user = session.exec(select(User).where(User.username == username)).one()
            session.add(Subscription(email=user.email, user_id=user.id, case_id=case_id,
                                     created_at=utcnow()))
            tokens[username] = new_feed_token(session, user.id)

    def feed(username: str) -> str:
        response = anonymous(web_app).get(f"/feeds/personlig/{tokens[username]}.ics")
        return "".join(str(e["summary"]) + str(e.get("description", ""))
                       for e in events(parse(response)))

    for username in tokens:
        assert number in feed(username) and "HØRING-MARKØR" in feed(username)
    close_on_agenda(web_engine, number)
    assert number not in feed("bsu-medlem") and "HØRING-MARKØR" not in feed("bsu-medlem")
    assert number in feed("medlem") and "HØRING-MARKØR" in feed("medlem")


def test_a_bodys_calendar_costs_the_same_queries_whatever_its_meetings_and_items(
        web_app, web_engine):
    """Feed readers poll a body's calendar: a year of meetings with two dozen items each must
    not cost queries per item or per meeting."""
    def add_meeting(days: int) -> int:
        with write_session(web_engine) as session:
            meeting = Meeting(body_code="UGO", starts_at=datetime.now(UTC) + timedelta(days=days),
                              agenda_status=AGENDA_PUBLISHED, created_at=utcnow())
            session.add(meeting)
            session.flush()
            return meeting.id

    def add_items(count: int, start: int, meeting_id: int) -> None:
        numbers = [make_case(web_engine, title=f"UGO-sag {start + i}", committees=("UGO",))
                   for i in range(count)]
        with write_session(web_engine) as session:
            for i, number in enumerate(numbers):
                case = queries.get_case(session, number)
                session.add(AgendaItem(meeting_id=meeting_id, case_id=case.id,
                                       number=start + i, title=case.title))

    def queries_for_calendar() -> tuple[int, str]:
        count, response = queries_during(lambda: anonymous(web_app).get("/feeds/organ/UGO.ics"))
        assert response.status_code == 200
        return count, response.text

    meeting_id = add_meeting(5)
    add_items(1, 1, meeting_id)
    one, _ = queries_for_calendar()
    add_items(5, 2, meeting_id)
    six, text = queries_for_calendar()
    assert six == one
    assert "Punkt 6: UGO-sag 6" in text.replace("\r\n ", "")
    add_items(1, 1, add_meeting(12))
    add_items(1, 1, add_meeting(19))
    three_meetings, text = queries_for_calendar()
    assert three_meetings == one
    assert text.replace("\r\n ", "").count("Punkt 1: UGO-sag 1") == 3
