"""A year of history recorded through real agendas: every command run with `sagsgang --today`
on its day (create, submit, place, publish, decide), and one meeting entered afterwards
(efterregistreret). The history is as recorded, and the sweep, run afterwards in real time,
queues no mail about any of it; once on SQLite and once on PostgreSQL."""

import json
import os

import pytest
from click.testing import CliRunner
from servers import add_people
from sqlmodel import select

from cases import queries
from cases.dates import to_local
from cases.db import make_engine, write_session
from cases.models import Case, Membership, User
from cli.main import cli
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.delivery import plan
from notifications.models import Reminder, Subscription

CVS = "Center for Voksne og Sundhed"
FOLLOWER = "borger@example.org"


@pytest.fixture
def history(any_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", any_db_url)
    monkeypatch.delenv("SAGSGANG_TODAY", raising=False)
    engine = make_engine(any_db_url)
    with write_session(engine) as session:
        add_people(session)
        member = User(username="su1", name="Udvalgsmedlem", email="su1@example.org",
                      role="member")
        session.add(member)
        session.flush()
        session.add(Membership(user_id=member.id, body_code="SU"))
    yield History(engine)
    engine.dispose()


class History:
    def __init__(self, engine):
        self.engine = engine
        self.runner = CliRunner()

    def run(self, *args) -> str:
        result = self.runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    def on(self, day: str, *args) -> str:
        """The command as run on that day."""
        output = self.run("--today", day, *args)
        assert "SAGSGANG_TODAY" not in os.environ  # --today is for the one command
        return output

    def refused(self, *args) -> str:
        result = self.runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
        assert result.exit_code == 1, result.output
        return result.stderr

    def create(self, day: str | None, number: str, title: str):
        """A case created and submitted on that day (None: today)."""
        on = (lambda *args: self.on(day, *args)) if day else self.run
        on("case", "create", "--number", number, "--title", title, "--centre", CVS,
                "--decided-by", "SU", "--owner-name", "Sagsbehandler",
                "--owner-email", "ejer@ballerup.dk", "--proposal", "Forslaget godkendes.")
        on("case", "submit", number)

    def follow(self, number: str | None = None, body: str | None = None):
        with write_session(self.engine) as session:
            case_id = queries.get_case(session, number).id if number else None
            session.add(Subscription(email=FOLLOWER, case_id=case_id, body_code=body,
                                     created_at=session.exec(select(Case)).first().created_at))

    def decisions(self, number: str) -> list[tuple]:
        rows = json.loads(self.run("case", "history", number, "--json"))
        return [(r["date"], r["item"], r["decision"], r["afterwards"]) for r in rows]

    def events(self, number: str) -> list[tuple[str, str]]:
        with write_session(self.engine) as session:
            found = queries.events(session, queries.get_case(session, number).id)
            return [(e.trigger, to_local(e.at).date().isoformat()) for e in found]


def test_a_year_recorded_with_today_has_its_history_and_queues_no_mail(history):
    h = history
    h.create("2022-01-03", "22-001", "Budgetopfølgning")
    h.create("2022-01-03", "22-002", "Udsattestrategi")
    for day in ("01-02-2022", "01-03-2022", "07-06-2022", "06-12-2022"):
        h.on("2022-01-03", "meeting", "create", "--body", "SU", "--date", day)
    h.follow(body="SU")
    h.follow("22-001")
    h.follow("22-002")

    # February: both cases on the agenda, placed and published before the deadlines.
    h.on("2022-01-10", "meeting", "place", "SU:01-02-2022", "22-001")
    h.on("2022-01-10", "meeting", "place", "SU:01-02-2022", "22-002")
    h.on("2022-01-20", "meeting", "publish", "SU:01-02-2022")
    h.on("2022-02-01", "meeting", "decide", "SU:01-02-2022", 1, "--decision", "Godkendt",
         "--proposal", "1=Godkendt som indstillet")
    h.on("2022-02-01", "meeting", "decide", "SU:01-02-2022", 2, "--decision", "Udsat",
         "--to-meeting", "01-03-2022")
    # March: the postponed case goes out for hearing; Handicaprådet never answers.
    h.on("2022-02-21", "meeting", "publish", "SU:01-03-2022")
    h.on("2022-03-01", "meeting", "decide", "SU:01-03-2022", 1,
         "--decision", "Godkendt og sendes i høring", "--hearing-title", "Strategien",
         "--hearing-party", "HR", "--hearing-deadline", "01-04-2022")
    hearing_id = json.loads(h.run("case", "show", "22-002", "--json"))["hearings"][0]["id"]
    h.on("2022-05-02", "case", "close-hearing", hearing_id, "--date", "02-05-2022")
    # June: back on the agenda after the hearing, and decided.
    h.on("2022-05-16", "meeting", "place", "SU:07-06-2022", "22-002")
    h.on("2022-05-30", "meeting", "publish", "SU:07-06-2022")
    h.on("2022-06-07", "meeting", "decide", "SU:07-06-2022", 1, "--decision", "Godkendt")
    # December's meeting was not recorded on its day: it is entered afterwards, today.
    # A case left open with a hearing nobody answered: its reminders are all in the past.
    h.create("2022-09-01", "22-004", "Tilsynsrapport")
    h.on("2022-09-05", "case", "add-hearing", "22-004", "--title", "Rapporten", "--party",
         "HR", "--party", "Foreningen <forening@example.org>", "--deadline", "03-10-2022",
         "--opened", "05-09-2022")
    h.create("2022-09-01", "22-003", "Handicappolitik")
    h.follow("22-003")
    assert "Mødet er afholdt" in h.refused("meeting", "place", "SU:06-12-2022", "22-003")
    assert "registreret efterfølgende" in h.run("meeting", "place", "SU:06-12-2022", "22-003",
                                                 "--efterregistreret")
    h.run("meeting", "publish", "SU:06-12-2022")
    h.run("meeting", "decide", "SU:06-12-2022", 1, "--decision", "Godkendt")

    assert h.decisions("22-001") == [("01-02-2022", 1, "Godkendt", False)]
    assert h.decisions("22-002") == [
        ("01-02-2022", 2, "Udsat", False),
        ("01-03-2022", 1, "Godkendt og sendes i høring", False),
        ("07-06-2022", 1, "Godkendt", False)]
    assert h.decisions("22-003") == [("06-12-2022", 1, "Godkendt", True)]
    assert "(registreret efterfølgende)" in h.run("case", "history", "22-003")
    assert "sat på dagsordenen (socialudvalget) (registreret efterfølgende)" in \
        h.run("case", "history", "22-003", "--events").lower()
    # Each action is in the audit log on the day it was recorded for.
    assert h.events("22-002")[:4] == [
        ("create", "2022-01-03"), ("submit", "2022-01-03"),
        ("place_on_agenda", "2022-01-10"), ("postpone", "2022-02-01")]
    assert ("send_to_hearing", "2022-03-01") in h.events("22-002")
    assert h.events("22-002")[-1] == ("treat", "2022-06-07")

    # A case of today, followed: its news is the one mail the sweep may queue.
    h.create(None, "26-001", "Ny sag i dag")
    h.follow("26-001")
    h.run("case", "withdraw", "26-001", "--reason", "Trukket tilbage.")

    # The beat's work, in real time: nothing about the year recorded is queued.
    notify_changed_cases(h.engine)
    notify_changed_meetings(h.engine)
    plan(h.engine)
    with write_session(h.engine) as session:
        rows = session.exec(select(Reminder)).all()
        numbers = {c.id: c.number for c in session.exec(select(Case))}
    queued = sorted({(r.kind, numbers.get(r.case_id) or r.context.get("case_number", ""))
                     for r in rows if r.kind != "weekly_digest"})
    assert queued == [("follow-case", "26-001")], queued


def test_a_meeting_not_yet_held_is_not_entered_afterwards(history):
    h = history
    h.create("2099-01-05", "99-001", "Fremtiden")
    h.on("2099-01-05", "meeting", "create", "--body", "SU", "--date", "02-06-2099")
    assert "kun et afholdt møde registreres efterfølgende" in h.refused(
        "--today", "2099-01-05", "meeting", "place", "SU:02-06-2099", "99-001",
        "--efterregistreret")
    with write_session(h.engine) as session:
        assert session.exec(select(Reminder)).all() == []
        assert queries.events(session, queries.get_case(session, "99-001").id)[-1].trigger \
            == "submit"
