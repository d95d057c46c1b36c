"""A decision is recorded from its meeting's day on, never before (cases.services.
check_decision_day): the item's decision (the meeting page, `sagsgang meeting decide`), a
case's decision (its page, the API, `sagsgang case treat`) on a meeting not yet held is
refused in Danish and writes nothing; the meeting page offers the decision form (and the
minutes page the votes) only from the meeting's day, and before it says from when. The day
is the product's clock (cases.clock), so moving the clock to the meeting's day opens it."""

from datetime import timedelta
from itertools import count

import pytest
from click.testing import CliRunner
from servers import database_dump
from web_fixtures import anonymous, as_role, bearer, days, make_case, page_csrf

from cases import queries
from cases.db import make_engine, read_session, write_session
from cases.settings import get_settings
from meetings import queries as meeting_queries
from meetings.services import create_meeting, place_case, publish_agenda, record_item_decision
from workflow.errors import TransitionRefused

_days_ahead = count(40, 7)  # each test its own SU meeting day, weeks apart


def coming_meeting(engine, number: str, ahead: int | None = None) -> tuple[int, int]:
    """An SU meeting `ahead` days from today with the case on its published agenda:
    (meeting, item)."""
    with write_session(engine) as session:
        meeting = create_meeting(session, body="SU",
                                 day=days(next(_days_ahead) if ahead is None else ahead))
        item = place_case(session, meeting.id, number, late_reason="Hastesag")
        publish_agenda(session, meeting.id, actor="test", late_reason="Hastesag")
        return meeting.id, item.id


def meeting_day(engine, meeting_id: int):
    with read_session(engine) as session:
        return meeting_queries.meeting_day(meeting_queries.get_meeting(session, meeting_id))


def refusal(day) -> str:
    return f"Beslutningen kan først registreres på mødedagen ({day:%d-%m-%Y})."


def written(engine) -> dict:
    """Every row but the API tokens' (a request through the API notes its token's use)."""
    return {table: rows for table, rows in database_dump(engine).items()
            if table != "web_api_token"}


def set_today(monkeypatch, day) -> None:
    monkeypatch.setenv("SAGSGANG_TODAY", day.isoformat())
    get_settings.cache_clear()


# -- the service -------------------------------------------------------------------------------

def test_the_service_refuses_a_decision_before_the_meeting_and_writes_nothing(web_engine):
    number = make_case(web_engine, deciding_body="SU", committees=("SU",))
    meeting_id, item_id = coming_meeting(web_engine, number)
    before = database_dump(web_engine)
    with pytest.raises(TransitionRefused) as refused, write_session(web_engine) as session:
        record_item_decision(session, item_id, wording="Godkendt", actor="test")
    assert refused.value.message == refusal(meeting_day(web_engine, meeting_id))
    assert database_dump(web_engine) == before


def test_the_service_records_it_on_the_meetings_day_by_the_products_clock(web_engine,
                                                                          monkeypatch):
    number = make_case(web_engine, deciding_body="SU", committees=("SU",))
    meeting_id, item_id = coming_meeting(web_engine, number)
    set_today(monkeypatch, meeting_day(web_engine, meeting_id))
    with write_session(web_engine) as session:
        record_item_decision(session, item_id, wording="Godkendt", actor="test")
    with read_session(web_engine) as session:
        case = queries.get_case(session, number)
        treatment = queries.decision_history(session, case.id)[-1]
    assert (case.status, treatment.wording, treatment.meeting_date) == (
        "decided", "godkendt", meeting_day(web_engine, meeting_id))


# -- the meeting page --------------------------------------------------------------------------

def test_the_meeting_page_offers_the_form_only_from_the_meetings_day(web_app, web_engine,
                                                                      monkeypatch):
    number = make_case(web_engine, deciding_body="SU", committees=("SU",))
    meeting_id, item_id = coming_meeting(web_engine, number)
    day = meeting_day(web_engine, meeting_id)
    client = as_role(web_app, "secretariat")
    before = client.get(f"/moeder/{meeting_id}").text
    assert f'action="/punkter/{item_id}/beslutning"' not in before
    assert "Registrér beslutning" not in before
    assert f"Beslutningerne kan registreres fra mødedagen, {day:%d-%m-%Y}." in before
    assert f'action="/punkter/{item_id}/afstemning"' not in \
        client.get(f"/moeder/{meeting_id}/referat").text
    # The day before the meeting: still not; on its day: the form, and no line about when.
    set_today(monkeypatch, day - timedelta(days=1))
    assert f'action="/punkter/{item_id}/beslutning"' not in \
        client.get(f"/moeder/{meeting_id}").text
    set_today(monkeypatch, day)
    on_the_day = client.get(f"/moeder/{meeting_id}").text
    assert f'action="/punkter/{item_id}/beslutning"' in on_the_day
    assert 'id="beslutning-fra"' not in on_the_day
    assert f'action="/punkter/{item_id}/afstemning"' in \
        client.get(f"/moeder/{meeting_id}/referat").text


def test_a_meeting_of_today_has_the_form_at_once(web_app, web_engine):
    number = make_case(web_engine, deciding_body="SU", committees=("SU",))
    meeting_id, item_id = coming_meeting(web_engine, number, ahead=0)
    html = as_role(web_app, "secretariat").get(f"/moeder/{meeting_id}").text
    assert f'action="/punkter/{item_id}/beslutning"' in html
    assert 'id="beslutning-fra"' not in html


def test_a_decision_posted_before_the_day_is_refused_in_danish(web_app, web_engine):
    number = make_case(web_engine, deciding_body="SU", committees=("SU",))
    meeting_id, item_id = coming_meeting(web_engine, number)
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    response = client.post(f"/punkter/{item_id}/beslutning",
                           data={"csrf_token": page_csrf(client, f"/moeder/{meeting_id}"),
                                 "wording": "godkendt"},
                           headers={"referer": f"http://testserver/moeder/{meeting_id}"})
    assert response.status_code == 303
    assert database_dump(web_engine) == before
    assert refusal(meeting_day(web_engine, meeting_id)) in \
        client.get(f"/moeder/{meeting_id}").text


# -- a case's decision: its page and the API ---------------------------------------------------

def test_the_case_page_refuses_a_decision_of_a_meeting_not_yet_held(web_app, web_engine):
    number = make_case(web_engine, deciding_body="SU", committees=("SU",))
    client = as_role(web_app, "secretariat")
    with read_session(web_engine) as session:
        version = queries.get_case(session, number).version
    before = database_dump(web_engine)
    response = client.post(f"/sager/{number}/beslutning", data={
        "csrf_token": page_csrf(client, f"/sager/{number}"), "version": version, "body": "SU",
        "wording": "godkendt", "meeting_date": f"{days(3):%d-%m-%Y}"})
    assert response.status_code == 409
    assert refusal(days(3)) in response.text
    assert database_dump(web_engine) == before


def test_the_api_refuses_a_decision_of_a_meeting_not_yet_held(web_app, web_engine,
                                                              api_tokens):
    number = make_case(web_engine, deciding_body="SU", committees=("SU",))
    client = anonymous(web_app)
    headers = bearer(api_tokens["secretariat"])
    before = written(web_engine)
    refused = client.post(f"/api/cases/{number}/decisions", headers=headers, json={
        "body": "SU", "wording": "Godkendt", "meeting_date": f"{days(1):%d-%m-%Y}"})
    assert refused.status_code == 409
    assert refused.json()["detail"] == refusal(days(1))
    assert written(web_engine) == before
    today = client.post(f"/api/cases/{number}/decisions", headers=headers, json={
        "body": "SU", "wording": "Godkendt", "meeting_date": f"{days(0):%d-%m-%Y}"})
    assert today.status_code == 200, today.text
    assert today.json()["to"] == "decided"


# -- the command line --------------------------------------------------------------------------

@pytest.fixture
def cli_engine(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def run(*args):
    from cli.main import cli

    return CliRunner().invoke(cli, [str(a) for a in args])


def test_the_command_line_refuses_it_before_the_day_and_records_it_on_the_day(cli_engine):
    number = make_case(cli_engine, deciding_body="SU", committees=("SU",))
    meeting_id, _ = coming_meeting(cli_engine, number)
    day = meeting_day(cli_engine, meeting_id)
    ref = f"SU:{day:%d-%m-%Y}"
    before = database_dump(cli_engine)
    refused = [run("meeting", "decide", ref, 1, "--decision", "Godkendt"),
               run("case", "treat", number, "--body", "SU", "--date", f"{day:%d-%m-%Y}",
                   "--decision", "Godkendt")]
    assert [r.exit_code for r in refused] == [1, 1]
    assert all(r.stderr == f"Fejl: {refusal(day)}\n" for r in refused), \
        [r.output for r in refused]
    assert database_dump(cli_engine) == before
    # `--today` moves the product's clock for one command: on the meeting's day it is taken.
    done = run("--today", day.isoformat(), "meeting", "decide", ref, 1, "--decision", "Godkendt")
    assert done.exit_code == 0, done.output
    with read_session(cli_engine) as session:
        assert queries.get_case(session, number).status == "decided"
