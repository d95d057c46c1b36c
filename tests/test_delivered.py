"""A case reported ready for a body's agenda ("Afleveret til dagsorden"): the service and its
audit event, the mark's life with the queue, the owner's submission reminders it cancels and
brings back, the command line, the case page's buttons and the queue page; bad input writes
nothing."""

import re
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from servers import add_people, create_case, database_dump
from sqlmodel import select
from test_reminder_meetings import case_in_su_queue
from web_fixtures import (
    CENTRE,
    OTHER_CENTRE,
    anonymous,
    as_role,
    make_case,
    page_csrf,
)

from cases import actions, queries, services
from cases.dates import local_to_utc, parse_date
from cases.db import make_engine, read_session, write_session
from cases.models import Awaiting
from cli.main import cli
from demo.users import DEMO_USERS
from notifications.changes import notify_changed_cases
from notifications.models import CANCELLED, PENDING, Reminder
from workflow.errors import InvalidInput, NotFound

NOW = datetime(2026, 3, 16, 9, tzinfo=UTC)  # as in test_reminder_meetings: SU meets 31-03
OWNER_EMAIL = next(f"{u}@demo.sagsgang.invalid" for u, _, _, role, _, _ in DEMO_USERS
                   if role == "case_owner")  # the demo case owner, "Bo Sagsbehandler"


def deliver(engine, number="26-001", body="SU", actor="sagsbehandler", now=NOW):
    with write_session(engine) as session:
        return services.mark_delivered(session, number, body, actor=actor, now=now)


def undeliver(engine, number="26-001", body="SU", actor="sekretariat", now=NOW):
    with write_session(engine) as session:
        return services.unmark_delivered(session, number, body, actor=actor, now=now)


def marks(engine, number="26-001") -> dict[str, tuple]:
    """body → (delivered_at, delivered_by) of the case's queue rows."""
    with read_session(engine) as session:
        case = queries.get_case(session, number)
        return {row.body_code: (row.delivered_at, row.delivered_by)
                for row in session.exec(select(Awaiting).where(Awaiting.case_id == case.id))}


def decide(engine, body, wording, number="26-001", meeting_date="31-03-2026", **arguments):
    """Recorded on the meeting's day, at its end: a decision is not recorded before."""
    when = local_to_utc(parse_date(meeting_date), 19)
    with write_session(engine) as session:
        actions.record_decision(session, number, body=body, wording=wording, actor="sekr",
                                meeting_date=meeting_date, now=when, **arguments)


def a_case_awaiting_su(engine, deciding_body="SU", committees=(), people=True) -> None:
    with write_session(engine) as session:
        if people:
            add_people(session)
        services.create_case(session, {
            "number": "26-001", "title": "Udsattestrategi", "centre": CENTRE,
            "deciding_body": deciding_body, "committees": list(committees),
            "owner_name": "Sagsbehandler", "owner_email": "ejer@ballerup.dk",
            "proposals": ["Strategien godkendes."]}, actor="test", now=NOW)
        actions.submit(session, "26-001", actor="test", now=NOW)


# -- the service -------------------------------------------------------------------------------

def test_it_marks_a_case_delivered_with_an_audit_event(db):
    a_case_awaiting_su(db)
    row = deliver(db)
    assert (row.body_code, row.delivered_at, row.delivered_by) == ("SU", NOW, "sagsbehandler")
    assert marks(db) == {"SU": (NOW, "sagsbehandler")}
    with read_session(db) as session:
        case = queries.get_case(session, "26-001")
        event = queries.events(session, case.id)[-1]
        marked = case.last_seq > case.notified_seq
    assert (event.trigger, event.actor, event.body, event.from_state, event.to_state) == (
        "mark_delivered", "sagsbehandler", "SU", "committee", "committee")
    assert event.payload == {"body": "SU"}
    assert marked  # the sweep will refresh the case's reminders


def test_it_withdraws_the_mark_with_an_audit_event(db):
    a_case_awaiting_su(db)
    deliver(db)
    later = datetime(2026, 3, 17, 10, tzinfo=UTC)
    row = undeliver(db, now=later)
    assert (row.delivered_at, row.delivered_by) == (None, None)
    assert marks(db) == {"SU": (None, None)}
    with read_session(db) as session:
        event = queries.events(session, queries.get_case(session, "26-001").id)[-1]
    assert (event.trigger, event.actor, event.body, event.at) == (
        "unmark_delivered", "sekretariat", "SU", later)
    assert event.payload == {"body": "SU", "delivered_at": NOW.isoformat(),
                             "delivered_by": "sagsbehandler"}
    assert event.reason == "Afleveret 16-03-2026 af sagsbehandler"
    deliver(db, actor="sekretariat")  # and it can be delivered again
    assert marks(db) == {"SU": (NOW, "sekretariat")}


BAD_INPUT = {
    "a body the case does not await": (lambda e: deliver(e, body="ØU"), InvalidInput,
                                       "afventer ikke behandling i Økonomiudvalget"),
    "an unknown body": (lambda e: deliver(e, body="XX"), NotFound, "Ukendt organ"),
    "an unknown case": (lambda e: deliver(e, number="26-999"), NotFound, "findes ikke"),
    "a second mark": (lambda e: deliver(e, actor="sekretariat"), InvalidInput,
                      "allerede afleveret til dagsorden i Socialudvalget "
                      r"\(16-03-2026 af sagsbehandler\)"),
    "withdrawing a mark not there": (lambda e: undeliver(e, body="ØU"), InvalidInput,
                                     "afventer ikke behandling"),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_it_refuses_bad_input_and_writes_nothing(db, case):
    a_case_awaiting_su(db)
    deliver(db)
    attempt, error, message = BAD_INPUT[case]
    before = database_dump(db)
    with pytest.raises(error, match=message):
        attempt(db)
    assert database_dump(db) == before


def test_it_refuses_to_withdraw_an_undelivered_case_and_writes_nothing(db):
    a_case_awaiting_su(db)
    before = database_dump(db)
    with pytest.raises(InvalidInput, match="ikke meldt afleveret til dagsorden i Socialud"):
        undeliver(db)
    assert database_dump(db) == before


def test_it_refuses_a_case_in_no_queue_and_writes_nothing(db):
    with write_session(db) as session:
        create_case(session, now=NOW)  # a draft: in no body's queue yet
    before = database_dump(db)
    with pytest.raises(InvalidInput, match="afventer ikke behandling i Socialudvalget"):
        deliver(db)
    assert database_dump(db) == before


# -- the mark lives with the queue -------------------------------------------------------------

def test_it_keeps_the_mark_over_a_postponement_and_drops_it_when_the_case_moves_on(db):
    a_case_awaiting_su(db, deciding_body="KB", committees=("SU",))
    deliver(db)
    decide(db, "SU", "udsat")  # postponed: still in SU's queue, still delivered
    assert marks(db) == {"SU": (NOW, "sagsbehandler")}
    decide(db, "SU", "anbefales", meeting_date="28-04-2026")  # treated: on to ØU
    assert marks(db) == {"ØU": (None, None)}
    deliver(db, body="ØU")
    decide(db, "ØU", "sendes_tilbage", meeting_date="05-05-2026", bodies=["SU"],
           reason="Mangler økonomi")
    # Back in SU: a new queue row, undelivered; ØU's row and its mark are gone.
    assert marks(db) == {"SU": (None, None)}


def test_it_drops_the_mark_when_the_case_is_withdrawn(db):
    a_case_awaiting_su(db)
    deliver(db)
    with write_session(db) as session:
        actions.withdraw(session, "26-001", actor="sekr", reason="Trukket",
                         now=NOW)
    assert marks(db) == {}


# -- the owner's submission reminders ----------------------------------------------------------

def submission_rows(engine) -> dict[str, set[str]]:
    """kind → the statuses of the owner's submission rows, once the sweep has run."""
    notify_changed_cases(engine, now=NOW)
    found: dict[str, set[str]] = {}
    with read_session(engine) as session:
        for row in session.exec(select(Reminder).where(Reminder.kind.in_(
                ["submission_due", "submission_passed"]))):
            assert row.recipient == "ejer@ballerup.dk"
            found.setdefault(row.kind, set()).add(row.status)
    return found


def test_it_cancels_the_submission_reminders_and_brings_them_back_when_withdrawn(db):
    case_in_su_queue(db)
    assert submission_rows(db) == {"submission_due": {PENDING}, "submission_passed": {PENDING}}
    deliver(db)
    assert submission_rows(db) == {"submission_due": {CANCELLED},
                                   "submission_passed": {CANCELLED}}
    undeliver(db)
    assert submission_rows(db) == {"submission_due": {PENDING}, "submission_passed": {PENDING}}


def passed_rows(engine) -> set[tuple[str, str]]:
    """(body name, status) of the owner's submission_passed rows, once the sweep has run."""
    notify_changed_cases(engine, now=NOW)
    with read_session(engine) as session:
        return {(r.context["body"], r.status) for r in session.exec(
            select(Reminder).where(Reminder.kind == "submission_passed"))}


def test_it_cancels_only_the_delivered_bodys_reminders(db):
    from meetings import services as meeting_services

    with write_session(db) as session:
        add_people(session)
        for body in ("SU", "BSU"):
            meeting_services.create_meeting(session, body=body, day="31-03-2026", now=NOW)
    a_case_awaiting_su(db, deciding_body="KB", committees=("SU", "BSU"), people=False)
    assert passed_rows(db) == {("Socialudvalget", PENDING), ("Børne- og Skoleudvalget", PENDING)}
    deliver(db, body="BSU")
    assert passed_rows(db) == {("Socialudvalget", PENDING),
                               ("Børne- og Skoleudvalget", CANCELLED)}


# -- the command line --------------------------------------------------------------------------

@pytest.fixture
def run(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_it_marks_a_case_delivered_from_the_command_line(run, sqlite_url):
    assert run("case", "create", "--number", "RA-1", "--title", "Rammeaftale 2023-2024",
               "--centre", CENTRE, "--decided-by", "KB", "--committee", "SU").exit_code == 0
    assert run("case", "submit", "RA-1").exit_code == 0
    result = run("case", "deliver", "RA-1", "--body", "SU", "--actor", "bo")
    assert result.exit_code == 0, result.output
    assert result.output == "Sag RA-1 er afleveret til dagsorden i Socialudvalget.\n"
    shown = run("case", "show", "RA-1").output
    assert re.search(r"Afleveret til dagsorden i SU: \d\d-\d\d-\d{4} \d\d:\d\d af bo", shown)
    events = run("case", "history", "RA-1", "--events").output
    assert "Afleveret til dagsorden (Socialudvalget)" in events

    engine = make_engine(sqlite_url)
    before = database_dump(engine)
    for args, message in ((("RA-1", "--body", "SU"), "allerede afleveret"),
                          (("RA-1", "--body", "ØU"), "afventer ikke behandling"),
                          (("RA-1", "--body", "XX"), "Ukendt organ"),
                          (("RA-9", "--body", "SU"), "findes ikke")):
        refused = CliRunner().invoke(cli, ["case", "deliver", *args])
        assert refused.exit_code == 1 and message in refused.output, refused.output
    assert database_dump(engine) == before

    result = run("case", "undeliver", "RA-1", "--body", "SU")
    assert result.exit_code == 0, result.output
    assert result.output == ("Afleveringen af sag RA-1 til dagsorden i Socialudvalget er "
                             "fortrudt.\n")
    assert "Afleveret til dagsorden" not in run("case", "show", "RA-1").output
    before = database_dump(engine)
    refused = CliRunner().invoke(cli, ["case", "undeliver", "RA-1", "--body", "SU"])
    assert refused.exit_code == 1 and "ikke meldt afleveret" in refused.output
    assert database_dump(engine) == before
    engine.dispose()


# -- the case page -----------------------------------------------------------------------------

def _item(html: str, body: str) -> str:
    return re.search(rf'<li id="aflevering-{body}">.*?</li>', html, re.S).group(0)


def _section(html: str) -> str:
    return re.search(r'<section class="card" id="aflevering">.*?</section>', html,
                     re.S).group(0)


def web_marks(engine, number) -> dict[str, str | None]:
    return {code: by for code, (_, by) in marks(engine, number).items()}


@pytest.mark.parametrize("role", ["case_owner", "secretariat"])
def test_it_lets_the_owner_and_the_secretariat_deliver_from_the_case_page(web_app, web_engine,
                                                                          role):
    number = make_case(web_engine, owner_email=OWNER_EMAIL)  # awaits SU and BSU
    client = as_role(web_app, role)
    html = client.get(f"/sager/{number}").text
    assert "Afleveret til dagsorden i Socialudvalget" in html
    assert "Afleveret til dagsorden i Børne- og Skoleudvalget" in html
    assert "ikke afleveret" in _item(html, "SU")
    response = client.post(f"/sager/{number}/afleveret",
                           data={"csrf_token": page_csrf(client), "body": "SU"})
    assert response.status_code == 303 and response.headers["location"] == f"/sager/{number}"
    username = {"case_owner": "sagsbehandler", "secretariat": "sekretariat"}[role]
    assert web_marks(web_engine, number) == {"SU": username, "BSU": None}
    html = client.get(f"/sager/{number}").text
    name = {"case_owner": "Bo Sagsbehandler", "secretariat": "Sara Sekretær"}[role]
    assert re.search(rf"Afleveret \d\d-\d\d-\d{{4}} af {name}", _item(html, "SU"))
    assert "Fortryd aflevering til Socialudvalget" in _item(html, "SU")
    assert "Afleveret til dagsorden i Børne- og Skoleudvalget" in _item(html, "BSU")
    assert "er afleveret til dagsorden i Socialudvalget" in html  # the flash message
    timeline = html.split('id="tidslinje"')[1]
    assert "Afleveret til dagsorden i Socialudvalget" in timeline
    assert "mark_delivered" not in timeline

    response = client.post(f"/sager/{number}/afleveret/fortryd",
                           data={"csrf_token": page_csrf(client), "body": "SU"})
    assert response.status_code == 303
    assert web_marks(web_engine, number) == {"SU": None, "BSU": None}
    html = client.get(f"/sager/{number}").text
    assert "Afleveringen af sag" in html and "Aflevering til dagsorden fortrudt" in html
    assert "Afleveret til dagsorden i Socialudvalget" in _item(html, "SU")


def test_it_refuses_a_member_and_another_centres_case_owner(web_app, web_engine):
    colleagues = make_case(web_engine, owner_email="kollega@ballerup.dk")
    other_centre = make_case(web_engine, centre=OTHER_CENTRE, committees=("KMU",))
    secretariat = as_role(web_app, "secretariat")
    secretariat.post(f"/sager/{colleagues}/afleveret",
                     data={"csrf_token": page_csrf(secretariat), "body": "BSU"})
    before = database_dump(web_engine)
    owner = as_role(web_app, "case_owner")
    for number, body in ((colleagues, "SU"), (other_centre, "KMU")):
        section = _section(owner.get(f"/sager/{number}").text)
        assert "<form" not in section and "Afleveret til dagsorden (" not in section
        for path, code in ((f"/sager/{number}/afleveret", body),
                           (f"/sager/{colleagues}/afleveret/fortryd", "BSU")):
            refused = owner.post(path, data={"csrf_token": page_csrf(owner), "body": code})
            assert refused.status_code == 403
            assert "selv er sagsbehandler på" in refused.text
    member = as_role(web_app, "member")
    assert "<form" not in _section(member.get(f"/sager/{colleagues}").text)
    for path, code in ((f"/sager/{other_centre}/afleveret", "KMU"),
                       (f"/sager/{colleagues}/afleveret/fortryd", "BSU")):
        refused = member.post(path, data={"csrf_token": page_csrf(member), "body": code})
        assert refused.status_code == 403 and "adgang" in refused.text
    assert database_dump(web_engine) == before


def test_it_refuses_a_post_without_the_csrf_token_and_writes_nothing(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    path = f"/sager/{number}/afleveret"
    assert client.post(path, data={"body": "SU"}).status_code == 403
    assert client.post(path, data={"body": "SU", "csrf_token": "x" * 43}).status_code == 403
    anonymous_post = anonymous(web_app).post(path, data={"body": "SU"})
    assert anonymous_post.status_code == 303 and "/login" in anonymous_post.headers["location"]
    assert database_dump(web_engine) == before


def test_it_shows_a_refused_mark_as_a_message(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    response = client.post(f"/sager/{number}/afleveret",
                           data={"csrf_token": page_csrf(client), "body": "ØU"},
                           headers={"referer": f"http://testserver/sager/{number}"})
    assert response.status_code == 303
    assert "afventer ikke behandling i Økonomiudvalget" in client.get(f"/sager/{number}").text
    assert database_dump(web_engine) == before


# -- the queue page ----------------------------------------------------------------------------

def test_it_shows_on_the_queue_page_which_cases_are_delivered(web_app, web_engine):
    delivered = make_case(web_engine, title="<script>alert(1)</script>", owner_email=OWNER_EMAIL)
    waiting = make_case(web_engine)
    owner = as_role(web_app, "case_owner")
    owner.post(f"/sager/{delivered}/afleveret", data={"csrf_token": page_csrf(owner),
                                                       "body": "SU"})
    html = as_role(web_app, "secretariat").get("/koer/SU").text
    assert "<th>Afleveret</th>" in html
    rows = {number: re.search(rf'<tr><td><a href="/sager/{number}">.*?</tr>', html,
                              re.S).group(0) for number in (delivered, waiting)}
    cell = re.search(r'<td class="delivered">(.*?)</td>', rows[delivered], re.S).group(1)
    assert re.fullmatch(r"\d\d-\d\d-\d{4} <small>Bo Sagsbehandler</small>", cell)
    assert '<td class="delivered"><span class="muted">Nej</span></td>' in rows[waiting]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    # BSU's queue: the same case is not delivered there.
    bsu = as_role(web_app, "secretariat").get("/koer/BSU").text
    row = re.search(rf'<tr><td><a href="/sager/{delivered}">.*?</tr>', bsu, re.S).group(0)
    assert "Nej" in row
