"""A deadline marked as met ("Frist overholdt"): the service and its audit event, the
reminders it cancels, the dashboard that stops counting the case overdue, the command line,
the case page's form and the API; bad input writes nothing."""

import re
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from servers import add_people, create_case, database_dump
from sqlmodel import select
from web_fixtures import (
    anonymous,
    as_role,
    bearer,
    days,
    make_case,
    page_csrf,
)

from cases import queries, services
from cases.db import make_engine, read_session, write_session
from cases.models import CaseEvent, Deadline
from cli.main import cli
from notifications.changes import notify_changed_cases
from notifications.models import CANCELLED, PENDING, Reminder
from views import dashboard as dash
from workflow.errors import InvalidInput, NotFound

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
TODAY = date(2026, 3, 2)


def add_deadline(engine, number: str, due: str, description: str = "KB-behandling") -> int:
    with write_session(engine) as session:
        return services.add_deadline(session, number, {"due_date": due,
                                                       "description": description},
                                     actor="test", now=NOW).id


def meet(engine, number: str, deadline_id: int, met_on="02-03-2026"):
    with write_session(engine) as session:
        return services.meet_deadline(session, number, deadline_id, met_on=met_on,
                                      actor="sekretariat", now=NOW)


def a_case_with_deadlines(engine) -> tuple[int, int]:
    """Case 26-001 (owner ejer@ballerup.dk, a manager of its centre) with two deadlines."""
    with write_session(engine) as session:
        add_people(session)
        create_case(session, now=NOW)
    return add_deadline(engine, "26-001", "30-11-2026"), \
        add_deadline(engine, "26-001", "15-12-2026", "Sendes til ministeriet")


# -- the service -------------------------------------------------------------------------------

def test_it_marks_a_deadline_met_with_an_audit_event(db):
    first, second = a_case_with_deadlines(db)
    meet(db, "26-001", first, met_on="27-02-2026")
    with read_session(db) as session:
        case = queries.get_case(session, "26-001")
        met = {d.id: d.met_on for d in queries.deadlines(session, case.id)}
        event = queries.events(session, case.id)[-1]
        marked = case.last_seq > case.notified_seq
    assert met == {first: date(2026, 2, 27), second: None}
    assert (event.trigger, event.actor, event.from_state, event.to_state) == (
        "meet_deadline", "sekretariat", "draft", "draft")
    assert event.payload == {"deadline_id": first, "due_date": "2026-11-30",
                             "description": "KB-behandling", "met_on": "2026-02-27"}
    assert marked  # the sweep will refresh the case's reminders


def _other_cases_deadline(engine) -> int:
    with write_session(engine) as session:
        create_case(session, number="26-002", title="En anden sag", now=NOW)
    return add_deadline(engine, "26-002", "30-11-2026")


BAD_INPUT = {
    "unknown deadline id": (lambda e, own: (own + 1000, "02-03-2026"), NotFound,
                            "ingen frist med id"),
    "another case's deadline": (lambda e, own: (_other_cases_deadline(e), "02-03-2026"),
                                NotFound, "ingen frist med id"),
    "malformed date": (lambda e, own: (own, "31-02-2026"), InvalidInput, "Ugyldig dato"),
    "not a date": (lambda e, own: (own, "i går"), InvalidInput, "Ugyldig dato"),
    "a day not yet come": (lambda e, own: (own, "03-03-2026"), InvalidInput, "i fremtiden"),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_it_refuses_bad_input_and_writes_nothing(db, case):
    own, _ = a_case_with_deadlines(db)
    make_input, error, message = BAD_INPUT[case]
    deadline_id, met_on = make_input(db, own)
    before = database_dump(db)
    with pytest.raises(error, match=message):
        meet(db, "26-001", deadline_id, met_on=met_on)
    assert database_dump(db) == before


def test_it_refuses_a_deadline_already_met_and_writes_nothing(db):
    own, _ = a_case_with_deadlines(db)
    meet(db, "26-001", own, met_on="01-03-2026")
    before = database_dump(db)
    with pytest.raises(InvalidInput, match="allerede overholdt 01-03-2026"):
        meet(db, "26-001", own, met_on="02-03-2026")
    assert database_dump(db) == before


def test_it_refuses_an_unknown_case(db):
    own, _ = a_case_with_deadlines(db)
    before = database_dump(db)
    with pytest.raises(NotFound, match="findes ikke"):
        meet(db, "26-999", own)
    assert database_dump(db) == before


# -- what follows from it ----------------------------------------------------------------------

def deadline_reminders(engine) -> dict[tuple[str, str, int], str]:
    """(kind, recipient, deadline id) → status, once the sweep has derived changed cases."""
    notify_changed_cases(engine, now=NOW)
    with read_session(engine) as session:
        return {(r.kind, r.recipient, r.context["deadline_id"]): r.status
                for r in session.exec(select(Reminder))
                if r.kind.startswith("deadline_")}


def test_it_cancels_the_met_deadlines_reminders_and_keeps_the_others(db):
    first, second = a_case_with_deadlines(db)
    before = deadline_reminders(db)
    assert before == {
        ("deadline_warning", "ejer@ballerup.dk", first): PENDING,
        ("deadline_overdue", "chef@ballerup.dk", first): PENDING,
        ("deadline_warning", "ejer@ballerup.dk", second): PENDING,
        ("deadline_overdue", "chef@ballerup.dk", second): PENDING,
    }
    meet(db, "26-001", first)
    assert deadline_reminders(db) == {
        ("deadline_warning", "ejer@ballerup.dk", first): CANCELLED,
        ("deadline_overdue", "chef@ballerup.dk", first): CANCELLED,
        ("deadline_warning", "ejer@ballerup.dk", second): PENDING,
        ("deadline_overdue", "chef@ballerup.dk", second): PENDING,
    }


def overdue_numbers(engine, today: date) -> tuple[list[str], list[str], dict]:
    """The dashboard's overdue figure (both ways it is computed) and the overdue dates."""
    org = services.current_organisation()
    with read_session(engine) as session:
        figure = next(f for f in dash.figures(session, org, dash.Filters(), today=today,
                                              now=NOW, stale_weeks=6) if f.key == "overdue")
        _, listed = dash.figure_cases(session, org, "overdue", dash.Filters(), today=today,
                                      now=NOW, stale_weeks=6, limit=50)
        case = queries.get_case(session, "26-001")
        dates = dash.overdue_deadlines(session, [case.id], today)
    return [c.number for c in figure.cases], [c.number for c in listed], dates


def test_it_stops_counting_the_case_overdue_on_the_dashboard(db):
    with write_session(db) as session:
        create_case(session, now=NOW)
    late = add_deadline(db, "26-001", "20-02-2026")
    add_deadline(db, "26-001", "30-11-2026")
    assert overdue_numbers(db, TODAY) == (["26-001"], ["26-001"],
                                          {queries_case_id(db): date(2026, 2, 20)})
    meet(db, "26-001", late, met_on="27-02-2026")  # late, but met: no longer overdue
    assert overdue_numbers(db, TODAY) == ([], [], {})


def queries_case_id(engine) -> int:
    with read_session(engine) as session:
        return queries.get_case(session, "26-001").id


# -- the command line --------------------------------------------------------------------------

@pytest.fixture
def run(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_it_marks_a_deadline_met_from_the_command_line(run, sqlite_url):
    assert run("case", "create", "--number", "RA-1", "--title", "Rammeaftale 2023-2024",
               "--centre", "Center for Voksne og Sundhed", "--decided-by", "KB",
               "--committee", "SU").exit_code == 0
    assert run("case", "add-deadline", "RA-1", "--date", "30-11-2022", "--kind", "external",
               "--description", "Behandlet i KB senest").exit_code == 0
    shown = run("case", "show", "RA-1").output
    assert "Frist 1: 30-11-2022 Behandlet i KB senest – ikke overholdt" in shown
    result = run("case", "meet-deadline", "RA-1", "1", "--date", "29-11-2022")
    assert result.exit_code == 0, result.output
    assert result.output == ("Frist 1 på sag RA-1 (Behandlet i KB senest) er overholdt "
                             "29-11-2022.\n")
    assert "Frist 1: 30-11-2022 Behandlet i KB senest – overholdt 29-11-2022" in \
        run("case", "show", "RA-1").output
    assert "Frist overholdt" in run("case", "history", "RA-1", "--events").output

    engine = make_engine(sqlite_url)
    before = database_dump(engine)
    for args, message in ((("1", "--date", "30-11-2022"), "allerede overholdt 29-11-2022"),
                          (("7", "--date", "30-11-2022"), "ingen frist med id 7"),
                          (("1", "--date", "30/11/2022"), "Ugyldig dato")):
        refused = CliRunner().invoke(cli, ["case", "meet-deadline", "RA-1", *args])
        assert refused.exit_code == 1 and message in refused.output, refused.output
    assert database_dump(engine) == before
    engine.dispose()


# -- the case page -----------------------------------------------------------------------------

def _deadline_ids(engine, number: str) -> list[int]:
    with read_session(engine) as session:
        case = queries.get_case(session, number)
        return [d.id for d in queries.deadlines(session, case.id)]


def _met_on(engine, deadline_id: int) -> date | None:
    with read_session(engine) as session:
        return session.get(Deadline, deadline_id).met_on


def test_it_marks_a_deadline_met_from_the_case_page(web_app, web_engine):
    number = make_case(web_engine, deadline=days(-3))
    [deadline_id] = _deadline_ids(web_engine, number)
    client = as_role(web_app, "secretariat")
    html = client.get(f"/sager/{number}").text
    action = f"/sager/{number}/frister/{deadline_id}/overholdt"
    assert f'action="{action}"' in html and "Frist overholdt" in html
    assert "Overskredet" in html
    response = client.post(action, data={"csrf_token": page_csrf(client),
                                         "met_on": days(-4).strftime("%d-%m-%Y")})
    assert response.status_code == 303 and response.headers["location"] == f"/sager/{number}"
    html = client.get(f"/sager/{number}").text
    assert "er overholdt" in html  # the flash message
    item = re.search(rf'<li id="frist-{deadline_id}".*?</li>', html, re.S).group(0)
    assert f"Overholdt {days(-4).strftime('%d-%m-%Y')}" in item
    assert "Overskredet" not in item and action not in html
    assert _met_on(web_engine, deadline_id) == days(-4)
    timeline = html.split('id="tidslinje"')[1]
    assert "Frist overholdt" in timeline and "meet_deadline" not in timeline


def test_it_lets_the_case_owner_mark_a_deadline_met(web_app, web_engine):
    number = make_case(web_engine, deadline=days(5))
    [deadline_id] = _deadline_ids(web_engine, number)
    client = as_role(web_app, "case_owner")
    client.post(f"/sager/{number}/frister/{deadline_id}/overholdt",
                data={"csrf_token": page_csrf(client), "met_on": ""})
    assert _met_on(web_engine, deadline_id) == days(0)  # no date given: today


@pytest.mark.parametrize("role", ["manager", "member"])
def test_it_refuses_the_roles_that_may_not_add_deadlines(web_app, web_engine, role):
    number = make_case(web_engine, deadline=days(5))
    [deadline_id] = _deadline_ids(web_engine, number)
    client = as_role(web_app, role)
    assert "Frist overholdt" not in client.get(f"/sager/{number}").text
    before = database_dump(web_engine)
    response = client.post(f"/sager/{number}/frister/{deadline_id}/overholdt",
                           data={"csrf_token": page_csrf(client), "met_on": "01-03-2026"})
    assert response.status_code == 403 and "tilføje frister" in response.text
    assert database_dump(web_engine) == before


def test_it_refuses_a_post_without_the_csrf_token_and_writes_nothing(web_app, web_engine):
    number = make_case(web_engine, deadline=days(5))
    [deadline_id] = _deadline_ids(web_engine, number)
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    path = f"/sager/{number}/frister/{deadline_id}/overholdt"
    assert client.post(path, data={"met_on": "01-03-2026"}).status_code == 403
    assert client.post(path, data={"met_on": "01-03-2026",
                                   "csrf_token": "x" * 43}).status_code == 403
    anonymous_post = anonymous(web_app).post(path, data={"met_on": "01-03-2026"})
    assert anonymous_post.status_code == 303 and "/login" in anonymous_post.headers["location"]
    assert database_dump(web_engine) == before


def test_it_shows_a_refused_mark_as_a_message(web_app, web_engine):
    number = make_case(web_engine, deadline=days(5))
    other = make_case(web_engine, deadline=days(5))
    [other_deadline] = _deadline_ids(web_engine, other)
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    response = client.post(f"/sager/{number}/frister/{other_deadline}/overholdt",
                           data={"csrf_token": page_csrf(client), "met_on": "01-03-2026"},
                           headers={"referer": f"http://testserver/sager/{number}"})
    assert response.status_code == 303
    assert "ingen frist med id" in client.get(f"/sager/{number}").text
    assert database_dump(web_engine) == before


# -- the API -----------------------------------------------------------------------------------

def test_it_marks_a_deadline_met_through_the_api(web_app, web_engine, api_tokens):
    number = make_case(web_engine, deadline=days(5))
    [deadline_id] = _deadline_ids(web_engine, number)
    api = anonymous(web_app)
    path = f"/api/cases/{number}/deadlines/{deadline_id}/met"
    refused = api.post(path, json={"met_on": "01-03-2026"}, headers=bearer(api_tokens["member"]))
    assert refused.status_code == 403
    bad = api.post(path, json={"met_on": "31-02-2026"}, headers=bearer(api_tokens["secretariat"]))
    assert bad.status_code == 400 and "Ugyldig dato" in bad.json()["detail"]
    assert _met_on(web_engine, deadline_id) is None
    done = api.post(path, json={"met_on": days(-1).strftime("%d-%m-%Y")},
                    headers=bearer(api_tokens["secretariat"]))
    assert done.status_code == 200
    assert done.json() == {"id": deadline_id, "due_date": days(5).isoformat(),
                           "met_on": days(-1).isoformat()}
    listed = api.get(f"/api/cases/{number}/deadlines", headers=bearer(api_tokens["manager"]))
    assert listed.json()[0]["met_on"] == days(-1).isoformat()
    with read_session(web_engine) as session:
        case = queries.get_case(session, number)
        triggers = list(session.exec(select(CaseEvent.trigger)
                                     .where(CaseEvent.case_id == case.id)))
    assert triggers[-1] == "meet_deadline"


def test_it_takes_the_day_in_copenhagen_not_in_utc(db):
    own, _ = a_case_with_deadlines(db)
    late_evening = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 2 March 00:30 in Copenhagen
    with write_session(db) as session:
        services.meet_deadline(session, "26-001", own, met_on="02-03-2026", actor="t",
                               now=late_evening)
    assert _met_on(db, own) == date(2026, 3, 2)


def test_it_lets_a_case_owner_mark_only_their_own_cases_deadlines(web_app, web_engine,
                                                                   api_tokens):
    """Marking a deadline met cancels its statutory reminders: a case owner may do it on the
    cases they may rework (workflow.access.may_change_case), not on another centre's."""
    from web_fixtures import OTHER_CENTRE

    number = make_case(web_engine, centre=OTHER_CENTRE, committees=("KMU",), deadline=days(-1))
    [deadline_id] = _deadline_ids(web_engine, number)
    client = as_role(web_app, "case_owner")
    refused = client.post(f"/sager/{number}/frister/{deadline_id}/overholdt",
                          data={"csrf_token": page_csrf(client), "met_on": ""})
    assert refused.status_code == 403 and "selv er sagsbehandler på" in refused.text
    api = anonymous(web_app)
    path = f"/api/cases/{number}/deadlines/{deadline_id}/met"
    assert api.post(path, json={"met_on": days(0).strftime("%d-%m-%Y")},
                    headers=bearer(api_tokens["case_owner"])).status_code == 403
    assert _met_on(web_engine, deadline_id) is None
    assert api.post(path, json={"met_on": days(0).strftime("%d-%m-%Y")},
                    headers=bearer(api_tokens["secretariat"])).status_code == 200
