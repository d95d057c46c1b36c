"""Postponement to a named meeting ("Udsat til næste møde", "Udsat til mødet den 08-11-2022"):
the case goes on that meeting's agenda, and its reminders follow (the owner is no longer
reminded to submit it for that meeting). Through the command line, the API and a meeting's
decision on an item, on SQLite and PostgreSQL."""

from datetime import timedelta

import pytest
from route_helpers import CENTRE, Both
from sqlmodel import select

from cases import services
from cases.dates import format_date
from cases.db import read_session, write_session
from cases.models import utcnow
from meetings import queries as meeting_queries
from meetings import services as meeting_services
from meetings.calendar import local_day
from meetings.models import AgendaItem, Meeting
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.models import CANCELLED, PENDING, Reminder


@pytest.fixture
def both(any_db_url, monkeypatch):
    b = Both(any_db_url, monkeypatch)
    yield b
    b.close()


TODAY = local_day(utcnow())


def su_case(both, number: str) -> None:
    with write_session(both.engine) as session:
        services.create_case(session, {
            "number": number, "title": "Udsættes", "centre": CENTRE, "deciding_body": "SU",
            "owner_name": "Ejer", "owner_email": "ejer@ballerup.dk"}, actor="test")
    both.cli("case", "submit", number)


def su_meetings(both, *offsets: int) -> list[int]:
    with write_session(both.engine) as session:
        return [meeting_services.create_meeting(session, body="SU",
                                                day=TODAY + timedelta(days=n)).id
                for n in offsets]


def agenda(both, meeting_id: int) -> list[str]:
    with read_session(both.engine) as session:
        return [i.title for i in meeting_queries.items(session, meeting_id)]


def submission_statuses(both) -> set[str]:
    notify_changed_cases(both.engine)
    notify_changed_meetings(both.engine)
    with read_session(both.engine) as session:
        return {r.status for r in session.exec(select(Reminder).where(
            Reminder.kind == "submission_due"))}


def test_the_cli_postpones_to_the_next_meeting_and_its_reminders_follow(both):
    su_case(both, "U-1")
    first, second = su_meetings(both, 40, 68)
    assert submission_statuses(both) == {PENDING}  # the owner is asked to submit for SU
    out = both.cli("case", "postpone", "U-1", "--body", "SU", "--date", format_date(TODAY),
                   "--to-meeting", "næste").output
    assert "Udsæt" in out
    assert agenda(both, first) == ["Udsættes"] and agenda(both, second) == []
    assert submission_statuses(both) == {CANCELLED}  # it is on the next agenda already
    history = both.cli("case", "history", "U-1").output
    day = format_date(TODAY + timedelta(days=40))
    assert f"Socialudvalget: Udsat – Udsat til mødet den {day}." in history


def test_the_api_postpones_to_a_named_meeting(both):
    su_case(both, "U-2")
    first, second = su_meetings(both, 41, 69)
    named = format_date(TODAY + timedelta(days=69))
    both.post("/api/cases/U-2/transitions", {"trigger": "postpone", "body": "SU",
                                             "meeting_date": format_date(TODAY),
                                             "to_meeting": named})
    assert agenda(both, first) == [] and agenda(both, second) == ["Udsættes"]
    history = both.get("/api/cases/U-2/history")
    assert history[-1]["decision"] == "Udsat"
    assert history[-1]["text"] == f"Udsat til mødet den {named}."
    with read_session(both.engine) as session:
        assert session.get(Meeting, second).changed_seq > session.get(Meeting, second).notified_seq


def test_the_api_decision_names_the_next_meeting_and_refuses_it_for_another_wording(both):
    su_case(both, "U-3")
    (first,) = su_meetings(both, 42)
    refused = both.post("/api/cases/U-3/decisions", {
        "body": "SU", "wording": "Godkendt", "meeting_date": format_date(TODAY),
        "to_meeting": "næste møde"}, status=400)
    assert "kun ved «Udsat»" in refused["detail"]
    assert agenda(both, first) == []
    both.post("/api/cases/U-3/decisions", {"body": "SU", "wording": "Udsat",
                                           "meeting_date": format_date(TODAY),
                                           "to_meeting": "næste møde"})
    assert agenda(both, first) == ["Udsættes"]


def test_no_later_meeting_is_a_clear_refusal_and_nothing_is_written(both):
    su_case(both, "U-4")
    out = both.cli("case", "postpone", "U-4", "--body", "SU", "--date", format_date(TODAY),
                   "--to-meeting", "næste", ok=False).output
    assert "SU har intet planlagt møde efter" in out
    assert both.get("/api/cases/U-4/history") == []


def test_a_meetings_decision_postpones_the_item_to_the_next_meeting(both):
    su_case(both, "U-5")
    held, following = su_meetings(both, 0, 43)
    both.cli("meeting", "place", str(held), "U-5", "--late-reason", "Hastesag")
    both.cli("meeting", "publish", str(held), "--late-reason", "Hastesag")
    both.cli("meeting", "decide", str(held), "1", "--decision", "Udsat", "--to-meeting",
             "næste")
    assert agenda(both, following) == ["Udsættes"]
    with read_session(both.engine) as session:
        old = session.exec(select(AgendaItem).where(AgendaItem.meeting_id == held)).one()
        day = format_date(TODAY + timedelta(days=43))
        assert (old.wording, old.decision_text) == ("udsat", f"Udsat til mødet den {day}.")


def test_the_pages_decision_form_postpones_to_a_chosen_meeting(web_app, web_engine):
    from test_web_meeting_decisions import decide, decision_form, held_meeting, registered_case
    from web_fixtures import as_role

    number = registered_case(web_engine, title="Udsættes fra siden")
    meeting_id, item_id = held_meeting(web_engine, number)
    with write_session(web_engine) as session:
        later = meeting_services.create_meeting(session, body="SU",
                                                day=TODAY + timedelta(days=44), at="16:17")
        later_id, later_day = later.id, format_date(later.starts_at)
    client = as_role(web_app, "secretariat")
    form = decision_form(client.get(f"/moeder/{meeting_id}").text, item_id)
    assert '<option value="næste møde">Næste møde</option>' in form
    assert f'<option value="{later_id}">{later_day}</option>' in form
    response = decide(client, meeting_id, item_id, wording="udsat", to_meeting=str(later_id))
    assert response.status_code == 303, response.text
    with read_session(web_engine) as session:
        placed = meeting_queries.items(session, later_id)
        assert [i.title for i in placed] == ["Udsættes fra siden"]
        assert placed[0].late_reason == ""  # in time for that meeting: no reason needed
