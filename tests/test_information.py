"""After the decision, a case is sent for information to councils and outside authorities
("sendes til orientering i Handicaprådet, Seniorrådet og Psykiatrirådet", the Rammeaftale to
Socialstyrelsen): who it went to is recorded with the event and shown on the case page; a
send-off naming nobody, an unknown body or an absurd name writes nothing."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from servers import database_dump
from sqlmodel import select
from web_fixtures import (
    as_role,
    logged_in,
    make_case,
    page_csrf,
)

from cases import actions, queries, services
from cases.db import make_engine, read_session, write_session
from cases.models import Membership, User
from cases.settings import current_organisation
from cli.main import cli
from demo.cases import load_demo
from notifications import delivery
from notifications.changes import notify_changed_cases
from notifications.models import PENDING, Reminder
from notifications.rules import ReminderRules
from web.app import create_app
from workflow.errors import InvalidInput, NotFound

HOSTILE = "<script>alert('x')</script> Styrelsen"
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def decided_case(engine, number: str, *, title: str = "Rammeaftale",
                 confidential: bool = False) -> str:
    """A committee-level case SU has decided: it may now be sent for information."""
    with write_session(engine) as session:
        services.create_case(session, {"number": number, "title": title,
                                       "centre": "Center for Voksne og Sundhed",
                                       "deciding_body": "SU", "committees": ["SU"],
                                       "confidential": confidential}, actor="test")
        actions.submit(session, number, actor="test")
        actions.record_decision(session, number, body="SU", wording="godkendt",
                                meeting_date="04-10-2022", actor="test",
                                decision_text="Rammeaftalen godkendes.")
    return number


def add_members(engine) -> None:
    """Members of Handicaprådet and Seniorrådet; one in both; one no longer active."""
    with write_session(engine) as session:
        for username, bodies, active in (("hr", ["HR"], True), ("sr", ["SR"], True),
                                         ("begge", ["HR", "SR"], True),
                                         ("stoppet", ["HR"], False)):
            user = User(username=username, name=username.title(), role="member",
                        email=f"{username}@example.org", password_hash="x", active=active)
            session.add(user)
            session.flush()
            session.add_all(Membership(user_id=user.id, body_code=code) for code in bodies)


def notices(engine) -> list[Reminder]:
    with read_session(engine) as session:
        return list(session.exec(select(Reminder).where(Reminder.kind == "case_information")
                                 .order_by(Reminder.recipient)))


def rendered(engine, row: Reminder) -> tuple[str, str, str]:
    with read_session(engine) as session:
        message = delivery.render_message(session, row, NOW)
    return (str(message["Subject"]), message.get_payload()[0].get_payload(decode=True).decode(),
            message.get_payload()[1].get_payload(decode=True).decode())


def send(engine, number: str, **arguments):
    with write_session(engine) as session:
        return actions.send_for_information(session, number, actor="test",
                                            **arguments)


def test_it_records_the_councils_and_authorities_a_case_is_sent_to(db):
    decided_case(db, "RA-1")
    event = send(db, "RA-1", bodies=["HR", "SR", "PR"],
                 recipients=[" Socialstyrelsen ", ""], reason="Orientering om aftalen.")
    assert (event.from_state, event.to_state) == ("decided", "informing")
    assert event.payload["bodies"] == ["HR", "SR", "PR"]
    assert event.payload["recipients"] == ["Socialstyrelsen"]
    assert services.information_recipients(current_organisation(), event.payload) == [
        "Handicaprådet", "Seniorrådet", "Psykiatrirådet", "Socialstyrelsen"]
    with read_session(db) as session:
        [stored] = [e for e in queries.events(session, queries.get_case(session, "RA-1").id)
                    if e.trigger == "send_for_information"]
    assert stored.payload == event.payload


BAD = {
    "nobody named": ({}, InvalidInput, "Angiv, hvem sagen sendes til orientering hos"),
    "only empty names": ({"recipients": ["  ", ""]}, InvalidInput, "Angiv, hvem"),
    "unknown body": ({"bodies": ["XYZ"]}, NotFound, "Ukendt organ"),
    "absurd name": ({"recipients": ["x" * 201]}, InvalidInput, "højst 200 tegn"),
}


@pytest.mark.parametrize("name", BAD)
def test_it_writes_nothing_when_the_send_off_is_bad(db, name):
    arguments, error, message = BAD[name]
    decided_case(db, "RA-2")
    before = database_dump(db)
    with pytest.raises(error, match=message):
        send(db, "RA-2", **arguments)
    assert database_dump(db) == before


def test_it_takes_outside_recipients_only_when_sending_for_information(db):
    with write_session(db) as session:
        services.create_case(session, {"number": "RA-3", "title": "Sag",
                                       "centre": "Center for Voksne og Sundhed",
                                       "deciding_body": "KB", "committees": ["SU"]},
                             actor="test")
    before = database_dump(db)
    with pytest.raises(InvalidInput, match="Eksterne modtagere angives kun ved «Send til "
                                           "orientering»"):
        with write_session(db) as session:
            actions.run_action(session, "RA-3", "submit", {"recipients": ["Socialstyrelsen"]},
                               actor="test")
    assert database_dump(db) == before


def test_it_sends_for_information_from_the_command_line(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    decided_case(make_engine(sqlite_url), "RA-4")
    runner = CliRunner()
    result = runner.invoke(cli, ["case", "send-for-information", "RA-4", "--to", "HR",
                                 "--to", "SR", "--recipient", "Socialstyrelsen"])
    assert result.exit_code == 0, result.output
    assert "Send til orientering" in result.output
    history = runner.invoke(cli, ["case", "history", "RA-4", "--events"]).output
    assert "Sendt til orientering" in history and "send_for_information" not in history
    with read_session(make_engine(sqlite_url)) as session:
        case = queries.get_case(session, "RA-4")
        payload = queries.events(session, case.id)[-1].payload
    assert (payload["bodies"], payload["recipients"]) == (["HR", "SR"], ["Socialstyrelsen"])
    refused = runner.invoke(cli, ["case", "close", "RA-4", "--recipient", "Socialstyrelsen"])
    assert refused.exit_code == 1 and "angives kun ved «Send til orientering»" in refused.output


def test_it_sends_for_information_from_the_case_page(web_app, web_engine):
    number = decided_case(web_engine, "RA-5")
    client = as_role(web_app, "secretariat")
    page = client.get(f"/sager/{number}").text
    assert "Til orientering i" in page and 'name="recipients"' in page
    response = client.post(f"/sager/{number}/handling", data={
        "csrf_token": page_csrf(client), "trigger": "send_for_information",
        "version": "3", "bodies": ["HR", "PR"], "recipients": f"Socialstyrelsen, {HOSTILE}"})
    assert response.status_code == 303
    html = client.get(f"/sager/{number}").text
    timeline = html.split('id="tidslinje"')[1]
    assert "hos Handicaprådet, Psykiatrirådet, Socialstyrelsen og &lt;script&gt;" in timeline
    assert "<script>alert(" not in html


def test_it_asks_who_when_the_page_names_nobody(web_app, web_engine):
    number = decided_case(web_engine, "RA-6")
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    response = client.post(f"/sager/{number}/handling", data={
        "csrf_token": page_csrf(client), "trigger": "send_for_information", "version": "3",
        "recipients": " "}, follow_redirects=True)
    assert "Angiv, hvem sagen sendes til orientering hos" in response.text
    assert database_dump(web_engine) == before


def timeline_codes(client, number: str) -> list[str]:
    """The timeline's labels that are internal codes (snake_case) rather than Danish."""
    timeline = client.get(f"/sager/{number}").text.split('id="tidslinje"')[1]
    labels = re.findall(r"</time> ([^<(:–]+)", timeline)
    assert labels, number
    return [label for label in labels if re.search(r"[a-z]+_[a-z]+", label)]


def test_it_names_every_event_of_the_demo_cases_in_danish(tmp_path, migrated_sqlite):
    url = migrated_sqlite(tmp_path / "demo.db")
    report = load_demo(url)
    client = logged_in(create_app(url), "sekretariat", "sekretariat-demo")
    assert {number: timeline_codes(client, number) for number in report.cases} == {
        number: [] for number in report.cases}


def test_it_names_agenda_deadline_and_edit_events_in_danish(web_app, web_engine):
    from meetings.services import create_meeting, place_case, remove_item

    number = make_case(web_engine, deadline=date.today() - timedelta(days=2))
    with write_session(web_engine) as session:
        meeting = create_meeting(session, body="SU", day=date.today() + timedelta(days=300))
        item = place_case(session, meeting.id, number, late_reason="test")
        remove_item(session, item.id)
        deadline = queries.deadlines(session, queries.get_case(session, number).id)[0]
        services.meet_deadline(session, number, deadline.id, met_on=date.today(),
                               actor="test")
        services.update_case(session, number, {"title": "Ny titel"}, actor="test")
        services.mark_delivered(session, number, "SU", actor="test")
        services.unmark_delivered(session, number, "SU", actor="test")
    client = as_role(web_app, "secretariat")
    html = client.get(f"/sager/{number}").text
    for label in ("Sat på dagsorden", "Taget af dagsorden", "Frist overholdt",
                  "Sag redigeret", "Afleveret til dagsorden", "fortrudt"):
        assert label in html.split('id="tidslinje"')[1]
    assert timeline_codes(client, number) == []


def test_it_tells_the_members_of_the_informed_bodies_once_with_the_decision(db):
    decided_case(db, "RA-7")
    add_members(db)
    send(db, "RA-7", bodies=["HR", "SR"], recipients=["Socialstyrelsen"],
         reason="Til orientering efter KB's beslutning.")
    assert notices(db) == []  # derived by the sweep, not in the action's transaction
    notify_changed_cases(db, now=NOW)
    rows = notices(db)
    assert [r.recipient for r in rows] == ["begge@example.org", "hr@example.org",
                                           "sr@example.org"]
    assert {r.status for r in rows} == {PENDING} and {r.case_id for r in rows} == {None}
    notify_changed_cases(db, now=NOW)  # and again: nothing twice
    with write_session(db) as session:  # a later change to the case cancels none of them
        actions.close(session, "RA-7", actor="test")
    notify_changed_cases(db, now=NOW)
    assert [(r.recipient, r.status) for r in notices(db)] == [
        (r.recipient, PENDING) for r in rows]
    subject, text, html = rendered(db, rows[0])
    assert subject == "Til orientering: sag RA-7 Rammeaftale"
    assert "sendes til orientering i Handicaprådet, Seniorrådet" in text
    assert "Socialudvalget 04-10-2022: Godkendt" in text
    assert "Rammeaftalen godkendes." in text and "Til orientering efter KB" in text
    assert "/sager/RA-7" in text and "Frameld" in text


def test_it_gives_only_number_and_title_of_a_closed_case(db):
    decided_case(db, "RA-8", title=HOSTILE, confidential=True)
    add_members(db)
    send(db, "RA-8", bodies=["HR"])
    notify_changed_cases(db, now=NOW)
    [first, *_] = notices(db)
    assert "decision_text" not in first.context or first.context["decision_text"] == ""
    subject, text, html = rendered(db, first)
    assert "lukket punkt" in text and "Rammeaftalen godkendes." not in text + html
    assert HOSTILE in text and "&lt;script&gt;" in html and "<script>" not in html


def test_it_sends_no_notice_when_the_municipality_turned_them_off(db):
    decided_case(db, "RA-9")
    add_members(db)
    send(db, "RA-9", bodies=["HR"])
    notify_changed_cases(db, now=NOW, rules=ReminderRules(case_information=False))
    assert notices(db) == []


def test_it_leaves_the_pages_other_actions_alone(web_app, web_engine):
    """The form's empty "Eksterne modtagere" field names nobody: withdrawing from the page
    works as before."""
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    response = client.post(f"/sager/{number}/handling", data={
        "csrf_token": page_csrf(client), "trigger": "withdraw", "version": "2",
        "reason": "Trukket af forvaltningen", "recipients": "", "confirmed": "ja"})
    assert response.status_code == 303
    with read_session(web_engine) as session:
        assert queries.get_case(session, number).status == "withdrawn"
