"""Every case action is followed by its reminders: the sweep's pass over changed cases
(notifications.changes) brings the outbox in line with what the action committed."""

from datetime import UTC, datetime

import pytest
from servers import add_people, create_case
from sqlmodel import select

from cases import actions, services
from cases.db import write_session
from notifications.changes import notify_changed_cases
from notifications.models import CANCELLED, PENDING, SENT, Reminder
from workflow.errors import InvalidInput

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)


def outbox_rows(engine) -> dict[tuple[str, str, str], str]:
    """(kind, recipient, party) → status, once the sweep has derived the changed cases."""
    notify_changed_cases(engine, now=NOW)
    with write_session(engine) as session:
        return {(r.kind, r.recipient, r.context.get("party", "")): r.status
                for r in session.exec(select(Reminder))}


def open_hearing(engine) -> int:
    with write_session(engine) as session:
        add_people(session)
        create_case(session, now=NOW)
        hearing = services.add_hearing(
            session, "26-001", title="Høring om strategien",
            parties=["HR", "Foreningen <forening@example.org>"],
            deadline="31-03-2026", opened_on="02-03-2026", actor="test", now=NOW)
    notify_changed_cases(engine, now=NOW)
    return hearing.id


def test_it_adds_the_hearing_reminders_when_a_hearing_opens(db):
    open_hearing(db)
    rows = outbox_rows(db)
    assert rows == {
        ("hearing_request", "hr1@example.org", "Handicaprådet"): PENDING,
        ("hearing_request", "forening@example.org", "Foreningen"): PENDING,
        ("hearing_reminder", "hr1@example.org", "Handicaprådet"): PENDING,
        ("hearing_reminder", "forening@example.org", "Foreningen"): PENDING,
        ("hearing_missing", "sekr@ballerup.dk", "Handicaprådet"): PENDING,
        ("hearing_missing", "sekr@ballerup.dk", "Foreningen"): PENDING,
        # The parties themselves once the høringsfrist is missed (1 and 5 weekdays after).
        ("hearing_overdue", "hr1@example.org", "Handicaprådet"): PENDING,
        ("hearing_overdue", "forening@example.org", "Foreningen"): PENDING,
    }


def test_it_cancels_a_partys_reminders_when_it_answers(db):
    hearing_id = open_hearing(db)
    with write_session(db) as session:
        services.record_hearing_response(session, hearing_id, party="HR",
                                         received_on="10-03-2026", text="Vi støtter forslaget.",
                                         actor="test", now=NOW)
    rows = outbox_rows(db)
    assert rows[("hearing_reminder", "hr1@example.org", "Handicaprådet")] == CANCELLED
    assert rows[("hearing_missing", "sekr@ballerup.dk", "Handicaprådet")] == CANCELLED
    assert rows[("hearing_request", "hr1@example.org", "Handicaprådet")] == PENDING
    assert rows[("hearing_reminder", "forening@example.org", "Foreningen")] == PENDING


def test_it_cancels_pending_reminders_but_keeps_sent_ones_when_the_case_is_withdrawn(db):
    open_hearing(db)
    with write_session(db) as session:
        sent = session.exec(select(Reminder).where(Reminder.kind == "hearing_request")).first()
        sent.status = SENT
        session.add(sent)
    with write_session(db) as session:
        actions.withdraw(session, "26-001", actor="test",
                         reason="Erstattes af en ny strategi.", now=NOW)
    statuses = sorted(outbox_rows(db).values())
    assert statuses == [CANCELLED] * 7 + [SENT]  # by kind, recipient and party


def test_it_never_duplicates_a_reminder_when_refreshed_again(db):
    open_hearing(db)
    before = outbox_rows(db)
    with write_session(db) as session:
        count_before = len(session.exec(select(Reminder)).all())
    with write_session(db) as session:
        services.add_deadline(session, "26-001", {"due_date": "30-11-2026",
                                                  "description": "KB-behandling"},
                              actor="test", now=NOW)
    after = outbox_rows(db)
    with write_session(db) as session:
        count = len(session.exec(select(Reminder)).all())
    assert {k: v for k, v in after.items() if k in before} == before
    assert count == count_before + 2  # the owner's warning and the manager's escalation
    assert after[("deadline_overdue", "chef@ballerup.dk", "")] == PENDING


def test_it_writes_no_reminder_when_the_action_is_refused(db):
    open_hearing(db)
    before = outbox_rows(db)
    with pytest.raises(InvalidInput), write_session(db) as session:
        services.add_hearing(session, "26-001", title="Ny høring", parties=["HR"],
                             deadline="01-03-2026", opened_on="02-03-2026", actor="test",
                             now=NOW)
    assert outbox_rows(db) == before


def test_it_stores_due_times_in_utc_inside_office_hours(db):
    open_hearing(db)
    with write_session(db) as session:
        rows = {r.kind: r for r in session.exec(select(Reminder)
                                                .where(Reminder.recipient == "hr1@example.org"))}
    # 3 weekdays before Tuesday 31-03-2026 is Thursday 26-03, 08:00 CET.
    assert rows["hearing_reminder"].due_at == datetime(2026, 3, 26, 7, tzinfo=UTC)
    assert rows["hearing_reminder"].next_attempt_at == rows["hearing_reminder"].due_at
    assert rows["hearing_request"].due_at == datetime(2026, 3, 2, 7, tzinfo=UTC)
