"""Reminders that come from meetings: the case owner before the submission deadline, the
secretariat before the agenda deadline, members when the agenda is out and the minutes await
approval. Real meeting actions (meetings/) and the periodic planner."""

from datetime import UTC, date, datetime

import pytest
from servers import add_people, create_case
from sqlmodel import select

from cases import services
from cases.db import make_engine, write_session
from meetings import services as meeting_services
from notifications.models import CANCELLED, PENDING, Reminder
from notifications.reminders import plan_periodic
from notifications.rules import MeetingFacts, Person, ReminderRules, meeting_reminders

# Monday 2026-03-16; SU meets Tuesday 2026-03-31 17:00, just after the spring DST change.
NOW = datetime(2026, 3, 16, 9, tzinfo=UTC)
RULES = ReminderRules()


@pytest.fixture
def db(any_db_url):
    engine = make_engine(any_db_url)
    yield engine
    engine.dispose()


def rows(engine, kind) -> list[Reminder]:
    with write_session(engine) as session:
        return list(session.exec(select(Reminder).where(Reminder.kind == kind)
                                 .order_by(Reminder.due_at)))


def case_in_su_queue(engine) -> int:
    with write_session(engine) as session:
        add_people(session)
        meeting = meeting_services.create_meeting(session, body="SU", day="31-03-2026",
                                                  now=NOW)
        create_case(session, now=NOW)
        services.fire_action(session, "26-001", "submit", actor="test", now=NOW)
    return meeting.id


def test_it_reminds_the_case_owner_before_the_submission_deadline(db):
    case_in_su_queue(db)
    due = rows(db, "submission_due")
    # SU: submission 9 weekdays before Tuesday 31-03 = Wednesday 18-03 (Easter is later).
    # Offsets 10, 5, 1 weekdays before that: 04-03 and 11-03 are past on 16-03 and skipped.
    assert [(r.context["weekdays"], r.due_at) for r in due] == [
        (1, datetime(2026, 3, 17, 7, tzinfo=UTC))]
    assert all(r.recipient == "ejer@ballerup.dk" for r in due)
    [passed] = rows(db, "submission_passed")
    assert passed.due_at == datetime(2026, 3, 19, 7, tzinfo=UTC)


def test_it_stops_the_submission_reminders_once_the_case_is_on_the_agenda(db):
    meeting_id = case_in_su_queue(db)
    with write_session(db) as session:
        meeting_services.place_case(session, meeting_id, "26-001", now=NOW)
        plan_periodic(session, NOW)
    assert {r.status for r in rows(db, "submission_due")} == {CANCELLED}
    assert {r.status for r in rows(db, "submission_passed")} == {CANCELLED}


def test_it_tells_members_the_agenda_is_out_and_asks_the_secretariat_before_that(db):
    meeting_id = case_in_su_queue(db)
    with write_session(db) as session:
        plan_periodic(session, NOW)
    [agenda_due] = rows(db, "agenda_due")
    assert agenda_due.recipient == "sekr@ballerup.dk"
    with write_session(db) as session:
        from cases.models import Membership, User

        member = session.exec(select(User).where(User.username == "hr1")).one()
        session.add(Membership(user_id=member.id, body_code="SU"))
        meeting_services.place_case(session, meeting_id, "26-001", now=NOW)
        meeting_services.publish_agenda(session, meeting_id, actor="test", now=NOW)
        plan_periodic(session, NOW)
    assert [r.status for r in rows(db, "agenda_due")] == [CANCELLED]
    [published] = rows(db, "agenda_published")
    assert (published.recipient, published.status) == ("hr1@example.org", PENDING)


def test_it_asks_members_who_have_not_approved_the_minutes():
    members = (Person("a@x.dk", "A"), Person("b@x.dk", "B"))
    facts = MeetingFacts(id=4, body_code="SU", body_name="Socialudvalget",
                         day=date(2026, 10, 20), agenda_out=date(2026, 10, 14),
                         cancelled=False, agenda_published_at=NOW, minutes_in_approval=True,
                         objection_deadline=date(2026, 10, 28), members=members,
                         approved=frozenset({"a@x.dk"}),
                         secretariat=(Person("sekr@x.dk", "S"),))
    wanted = meeting_reminders(facts, RULES, datetime(2026, 10, 22, 9, tzinfo=UTC))
    minutes = sorted((w.recipient.email, w.key) for w in wanted if w.kind == "minutes_approval")
    assert minutes == [("b@x.dk", "meeting:4:minutes:b@x.dk"),
                       ("sekr@x.dk", "meeting:4:minutes-missing:sekr@x.dk")]
    cancelled = MeetingFacts(**{**facts.__dict__, "cancelled": True})
    assert meeting_reminders(cancelled, RULES, NOW) == []


def test_it_tells_members_of_a_published_agenda_only_until_the_meeting_is_held():
    facts = MeetingFacts(id=5, body_code="SU", body_name="Socialudvalget",
                         day=date(2022, 10, 4), agenda_out=date(2022, 9, 28),
                         cancelled=False, agenda_published_at=datetime(2022, 9, 28, 10,
                                                                       tzinfo=UTC),
                         minutes_in_approval=False, objection_deadline=None,
                         members=(Person("a@x.dk", "A"),))
    before = meeting_reminders(facts, RULES, datetime(2022, 9, 28, 10, tzinfo=UTC))
    assert [w.kind for w in before] == ["agenda_published"]
    # An imported referat publishes an old agenda: no news to send about it.
    assert meeting_reminders(facts, RULES, datetime(2022, 10, 5, 9, tzinfo=UTC)) == []
