"""Reminders that come from meetings: the case owner before the submission deadline, the
secretariat before the agenda deadline, members when the agenda is out and the minutes await
approval. Real meeting actions (meetings/), each keeping the outbox in line in its own
transaction, the sweep's pass over changed cases after case actions, and the periodic
planner as the safety net for time passing."""

from datetime import UTC, date, datetime

import pytest
from servers import add_people, create_case
from sqlmodel import select

from cases import actions
from cases.db import write_session
from meetings import queries as meeting_queries
from meetings import services as meeting_services
from meetings.models import MINUTES_FINAL, Meeting
from notifications.changes import notify_changed_cases, notify_changed_meetings, notify_meeting
from notifications.models import CANCELLED, PENDING, Reminder
from notifications.reminders import plan_periodic
from notifications.rules import MeetingFacts, Person, ReminderRules, meeting_reminders
from workflow.errors import InvalidInput, TransitionRefused

# Monday 2026-03-16; SU meets Tuesday 2026-03-31 17:00, just after the spring DST change.
NOW = datetime(2026, 3, 16, 9, tzinfo=UTC)
RULES = ReminderRules()


def derive(engine, now=NOW) -> None:
    """What the beat's sweep does first: derive the outbox of changed cases and meetings."""
    notify_changed_cases(engine, now=now)
    notify_changed_meetings(engine, now=now)


def rows(engine, kind, now=NOW) -> list[Reminder]:
    """The rows of a kind once the sweep has derived what the actions changed."""
    derive(engine, now)
    with write_session(engine) as session:
        return list(session.exec(select(Reminder).where(Reminder.kind == kind)
                                 .order_by(Reminder.due_at)))


def case_in_su_queue(engine) -> int:
    with write_session(engine) as session:
        add_people(session)
        meeting = meeting_services.create_meeting(session, body="SU", day="31-03-2026",
                                                  now=NOW)
        create_case(session, now=NOW)
        actions.submit(session, "26-001", actor="test", now=NOW)
    notify_changed_cases(engine, now=NOW)
    return meeting.id


def test_it_reminds_the_case_owner_before_the_submission_deadline(db):
    case_in_su_queue(db)
    due = rows(db, "submission_due")
    # SU: submission 9 weekdays before Tuesday 31-03 = Wednesday 18-03 (Easter is later).
    # Offsets 10, 5, 1 weekdays before that: 04-03 and 11-03 are past on 16-03 and skipped.
    assert [(r.context["weekdays"], r.due_at) for r in due] == [
        (1, datetime(2026, 3, 17, 7, tzinfo=UTC))]
    assert all(r.recipient == "ejer@ballerup.dk" for r in due)
    # Late: the owner is reminded 1 and 5 weekdays after the submission deadline.
    assert [r.due_at for r in rows(db, "submission_passed")] == [
        datetime(2026, 3, 19, 7, tzinfo=UTC), datetime(2026, 3, 25, 7, tzinfo=UTC)]


def by_submission(engine, kind) -> dict[str, set[str]]:
    """submission date → the statuses of the owner's rows for it."""
    found: dict[str, set[str]] = {}
    for row in rows(engine, kind):
        found.setdefault(row.context["submission"], set()).add(row.status)
    return found


def in_transaction(session, kind) -> set[str]:
    """The statuses of a kind's rows as the action's own (uncommitted) transaction sees them:
    a meeting action writes none (it marks the meeting; the sweep derives the rows)."""
    return {r.status for r in session.exec(select(Reminder).where(Reminder.kind == kind))}


class Abandon(Exception):
    """Raised to roll a transaction back on purpose."""


def marks(engine, meeting_id) -> tuple[int, int]:
    with write_session(engine) as session:
        meeting = session.get(Meeting, meeting_id)
        return meeting.changed_seq, meeting.notified_seq


def test_it_cancels_the_submission_reminders_once_the_case_is_placed(db):
    meeting_id = case_in_su_queue(db)
    derive(db)
    marked = marks(db, meeting_id)
    with pytest.raises(Abandon), write_session(db) as session:
        meeting_services.place_case(session, meeting_id, "26-001", now=NOW)
        assert in_transaction(session, "submission_due") == {PENDING}  # not touched here
        raise Abandon  # the placing rolls back, and its mark with it
    assert marks(db, meeting_id) == marked
    assert {r.status for r in rows(db, "submission_due")} == {PENDING}
    with write_session(db) as session:
        item = meeting_services.place_case(session, meeting_id, "26-001", now=NOW)
    assert {r.status for r in rows(db, "submission_due")} == {CANCELLED}
    assert {r.status for r in rows(db, "submission_passed")} == {CANCELLED}
    with write_session(db) as session:
        meeting_services.remove_item(session, item.id, now=NOW)
    # Off the agenda again: the owner is reminded again (the same keys, pending once more).
    assert {r.status for r in rows(db, "submission_due")} == {PENDING}
    assert len(rows(db, "submission_passed")) == 2


def test_it_writes_no_outbox_row_when_a_meeting_action_is_refused(db):
    meeting_id = case_in_su_queue(db)
    with write_session(db) as session:
        before = {(r.dedupe_key, r.status) for r in session.exec(select(Reminder))}
    late = datetime(2026, 3, 20, 9, tzinfo=UTC)  # after SU's submission deadline 18-03
    with pytest.raises(TransitionRefused), write_session(db) as session:
        meeting_services.place_case(session, meeting_id, "26-001", now=late)
    with pytest.raises(InvalidInput), write_session(db) as session:
        meeting_services.move_meeting(session, meeting_id, day="14-04-2026", reason="",
                                      now=NOW)
    # One action done, the next refused: the transaction and both outbox changes roll back.
    with pytest.raises(InvalidInput), write_session(db) as session:
        meeting_services.place_case(session, meeting_id, "26-001", now=NOW)
        meeting_services.cancel_meeting(session, meeting_id, reason=" ", now=NOW)
    with write_session(db) as session:
        after = {(r.dedupe_key, r.status) for r in session.exec(select(Reminder))}
    assert after == before


def test_it_follows_the_next_meeting_when_meetings_are_created_moved_and_cancelled(db):
    with write_session(db) as session:
        add_people(session)
        create_case(session, now=NOW)
        actions.submit(session, "26-001", actor="test", now=NOW)
    assert rows(db, "submission_due") == []  # no SU meeting planned yet
    with write_session(db) as session:
        meeting = meeting_services.create_meeting(session, body="SU", day="31-03-2026",
                                                  now=NOW)
        assert in_transaction(session, "submission_due") == set()  # the sweep derives them
    assert by_submission(db, "submission_passed") == {"2026-03-18": {PENDING}}
    with write_session(db) as session:
        # Tuesday after Easter: 9 weekdays before it is Friday 27-03.
        meeting_services.move_meeting(session, meeting.id, day="14-04-2026",
                                      reason="Påske", now=NOW)
    assert by_submission(db, "submission_passed") == {"2026-03-18": {CANCELLED},
                                                      "2026-03-27": {PENDING}}
    assert by_submission(db, "submission_due")["2026-03-27"] == {PENDING}
    with write_session(db) as session:
        meeting_services.cancel_meeting(session, meeting.id, reason="Aflyst", now=NOW)
    assert {r.status for r in rows(db, "submission_passed")} == {CANCELLED}
    assert {r.status for r in rows(db, "submission_due")} == {CANCELLED}
    assert {r.status for r in rows(db, "agenda_due")} == {CANCELLED}


def sweep_meeting(engine, meeting_id) -> set[int]:
    """The ids of the queued cases the sweep refreshes for the meeting's latest changes."""
    seen = marks(engine, meeting_id)[1]
    with write_session(engine) as session:
        upto = session.get(Meeting, meeting_id).changed_seq
        return notify_meeting(session, meeting_id, seen=seen, upto=upto, now=NOW, rules=RULES)


def test_it_refreshes_the_queue_only_when_the_meeting_is_created_moved_or_cancelled(db):
    meeting_id = case_in_su_queue(db)
    with write_session(db) as session:
        create_case(session, "26-002", now=NOW)
        actions.submit(session, "26-002", actor="test", now=NOW)
    notify_changed_cases(db, now=NOW)
    queued = set(case_ids(db, "26-001", "26-002"))
    assert sweep_meeting(db, meeting_id) == queued  # created: its queue's next meeting
    with write_session(db) as session:
        meeting_services.place_case(session, meeting_id, "26-001", now=NOW)
        meeting_services.publish_agenda(session, meeting_id, actor="test", now=NOW)
    # The agenda changed, not when the meeting is: the placed case is refreshed by its own
    # audit event (place_on_agenda), the rest of the queue is untouched.
    assert sweep_meeting(db, meeting_id) == set()
    assert {r.status for r in rows(db, "submission_due") if r.case_id in
            case_ids(db, "26-001")} == {CANCELLED}
    with write_session(db) as session:
        meeting_services.move_meeting(session, meeting_id, day="01-04-2026", reason="Flyttet",
                                      now=NOW)
    assert sweep_meeting(db, meeting_id) == queued


def case_ids(engine, *numbers) -> list[int]:
    from cases.models import Case

    with write_session(engine) as session:
        return list(session.exec(select(Case.id).where(Case.number.in_(numbers))))


def add_su_member(session, username="hr1"):
    from cases.models import Membership, User

    member = session.exec(select(User).where(User.username == username)).one()
    session.add(Membership(user_id=member.id, body_code="SU"))
    session.flush()


def test_it_keeps_agenda_and_minutes_reminders_in_step_with_the_meeting(db):
    meeting_id = case_in_su_queue(db)
    [agenda_due] = rows(db, "agenda_due")  # from creating the meeting, no planner run
    assert (agenda_due.recipient, agenda_due.status) == ("sekr@ballerup.dk", PENDING)
    with write_session(db) as session:
        add_su_member(session)
        meeting_services.place_case(session, meeting_id, "26-001", now=NOW)
        meeting_services.publish_agenda(session, meeting_id, actor="test", now=NOW)
    assert [r.status for r in rows(db, "agenda_due")] == [CANCELLED]
    [published] = rows(db, "agenda_published")
    assert (published.recipient, published.status) == ("hr1@example.org", PENDING)

    held = datetime(2026, 3, 31, 18, tzinfo=UTC)
    with write_session(db) as session:
        [item] = meeting_queries.items(session, meeting_id)
        meeting_services.record_item_decision(session, item.id, wording="Godkendt",
                                              actor="test", now=held)
        meeting_services.send_minutes_for_approval(session, meeting_id, now=held)
        assert in_transaction(session, "minutes_approval") == set()
    [asked] = [r for r in rows(db, "minutes_approval", now=held)
               if r.recipient == "hr1@example.org"]
    assert asked.status == PENDING
    with write_session(db) as session:
        meeting_services.approve_minutes(session, meeting_id, username="hr1", now=held)
        assert session.get(Meeting, meeting_id).minutes_status == MINUTES_FINAL
    assert {r.status for r in rows(db, "minutes_approval", now=held)} == {CANCELLED}


def test_it_finalises_minutes_after_the_objection_deadline_in_the_periodic_safety_net(db):
    meeting_id = case_in_su_queue(db)
    held = datetime(2026, 3, 31, 18, tzinfo=UTC)
    with write_session(db) as session:
        add_su_member(session)
        meeting_services.place_case(session, meeting_id, "26-001", now=NOW)
        meeting_services.publish_agenda(session, meeting_id, actor="test", now=NOW)
        [item] = meeting_queries.items(session, meeting_id)
        meeting_services.record_item_decision(session, item.id, wording="Godkendt",
                                              actor="test", now=held)
        meeting_services.send_minutes_for_approval(session, meeting_id,
                                                   objection_deadline="07-04-2026", now=held)
    assert {r.status for r in rows(db, "minutes_approval", now=held)} == {PENDING}
    after = datetime(2026, 4, 8, 9, tzinfo=UTC)
    with write_session(db) as session:
        result = plan_periodic(session, after)
    assert result["minutes_final"] == 1
    assert {r.status for r in rows(db, "minutes_approval", now=after)} == {CANCELLED}


def test_it_publishes_an_agenda_even_when_its_reminders_cannot_be_derived(db, caplog,
                                                                         monkeypatch):
    """A fault in the reminder rules never blocks a meeting action: the agenda is published
    and the meeting stays marked until its reminders can be derived."""
    import logging

    from notifications import reminders

    meeting_id = case_in_su_queue(db)
    derive(db)

    def broken_rule(*args, **kwargs):  # a bug in the rules: cannot be provoked otherwise
        raise RuntimeError("a bug in the reminder rules")

    monkeypatch.setattr(reminders, "meeting_reminders", broken_rule)
    with write_session(db) as session:
        meeting_services.place_case(session, meeting_id, "26-001", now=NOW)
        publication = meeting_services.publish_agenda(session, meeting_id, actor="test",
                                                      now=NOW)
    assert publication.id is not None
    with caplog.at_level(logging.CRITICAL, logger="notifications.changes"):
        assert notify_changed_meetings(db, now=NOW) == 0
    changed, notified = marks(db, meeting_id)
    assert notified < changed
    monkeypatch.undo()
    assert notify_changed_meetings(db, now=NOW) == 1
    assert marks(db, meeting_id)[1] == marks(db, meeting_id)[0]
    assert {r.status for r in rows(db, "agenda_due")} == {CANCELLED}


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
