"""What a case action leaves for the sweep (notifications.changes): the action marks the case
(case.last_seq past case.notified_seq) in its own transaction, and the sweep's pass derives
its reminders and its followers' news once, case by case; on SQLite and PostgreSQL."""

import logging
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from servers import add_due_reminders, add_people, create_case
from sqlmodel import select

from cases import actions, services
from cases.db import alembic_config, make_engine, migrate, read_session, write_session
from cases.models import CaseEvent
from meetings.services import create_meeting
from notifications import delivery, outbox
from notifications.changes import notify_case, notify_changed_cases
from notifications.email import FOLLOW_CASE
from notifications.models import CANCELLED, PENDING, Reminder, Subscription
from notifications.rules import ReminderRules

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
RULES = ReminderRules(office_hours_only=False)
DEADLINE = {"due_date": "30-11-2026", "description": "KB-behandling"}


def seqs(engine, case_id: int) -> tuple[int, int]:
    """(last_seq, notified_seq) as stored."""
    with read_session(engine) as session:
        return tuple(session.connection().execute(
            sa.text('SELECT last_seq, notified_seq FROM "case" WHERE id = :id'),
            {"id": case_id}).one())


def outbox_snapshot(engine) -> list[tuple]:
    """Every outbox row, every column: a pass that changes nothing leaves this as it was."""
    with read_session(engine) as session:
        return [tuple(row) for row in session.connection().execute(
            sa.select(Reminder.__table__).order_by(Reminder.id))]


def rows_of(engine, case_id: int) -> dict[tuple[str, str], str]:
    """(kind, recipient) → status of the case's own rows."""
    with read_session(engine) as session:
        return {(r.kind, r.recipient): r.status
                for r in session.exec(select(Reminder).where(Reminder.case_id == case_id))}


def follow_keys(engine) -> list[str]:
    with read_session(engine) as session:
        return list(session.exec(select(Reminder.dedupe_key)
                                 .where(Reminder.kind == FOLLOW_CASE).order_by(Reminder.id)))


def follow(session, email: str, number: str) -> int:
    """A subscription to one case (as web.follow makes it)."""
    row = Subscription(email=email, case_id=services.queries.get_case(session, number).id,
                       created_at=NOW)
    session.add(row)
    session.flush()
    return row.id


def test_it_marks_the_case_in_the_actions_transaction_and_derives_its_reminders_once(db):
    with write_session(db) as session:
        add_people(session)
        case_id = create_case(session, now=NOW).id
    with write_session(db) as session:
        services.add_deadline(session, "26-001", DEADLINE, actor="test", now=NOW)
        actions.submit(session, "26-001", actor="test", now=NOW)
    with read_session(db) as session:
        events = session.exec(select(CaseEvent.seq).where(CaseEvent.case_id == case_id)).all()
    assert sorted(events) == [1, 2, 3]
    assert seqs(db, case_id) == (max(events), 0) == (len(events), 0)
    assert outbox_snapshot(db) == []  # the actions wrote no reminder themselves

    assert notify_changed_cases(db, now=NOW, rules=RULES) == 1
    assert seqs(db, case_id) == (3, 3)
    assert rows_of(db, case_id) == {("deadline_warning", "ejer@ballerup.dk"): PENDING,
                                    ("deadline_overdue", "chef@ballerup.dk"): PENDING}
    before = outbox_snapshot(db)
    assert notify_changed_cases(db, now=NOW + timedelta(hours=1), rules=RULES) == 0
    assert outbox_snapshot(db) == before
    assert seqs(db, case_id) == (3, 3)


def test_it_tells_a_follower_once_of_each_workflow_event_since_the_last_pass(db):
    with write_session(db) as session:
        create_case(session, now=NOW)
        subscription_id = follow(session, "sagen@example.org", "26-001")
    assert notify_changed_cases(db, now=NOW, rules=RULES) == 1
    assert follow_keys(db) == []  # creating a case is no workflow event
    with write_session(db) as session:
        submitted = actions.submit(session, "26-001", actor="test", now=NOW)
    with write_session(db) as session:
        services.add_deadline(session, "26-001", DEADLINE, actor="test", now=NOW)
    assert notify_changed_cases(db, now=NOW, rules=RULES) == 1
    prefix = f"follow:{subscription_id}:event:"
    assert follow_keys(db) == [f"{prefix}{submitted.id}"]
    with write_session(db) as session:
        services.add_deadline(session, "26-001", {**DEADLINE, "due_date": "31-12-2026"},
                              actor="test", now=NOW)
        withdrawn = actions.withdraw(session, "26-001", actor="test",
                                     reason="Erstattes af en ny sag.", now=NOW)
    assert notify_changed_cases(db, now=NOW, rules=RULES) == 1
    assert follow_keys(db) == [f"{prefix}{submitted.id}", f"{prefix}{withdrawn.id}"]
    before = outbox_snapshot(db)
    assert notify_changed_cases(db, now=NOW, rules=RULES) == 0
    assert outbox_snapshot(db) == before


def test_it_leaves_a_case_to_the_pass_that_took_it(db):
    with write_session(db) as session:
        case_id = create_case(session, now=NOW).id
        actions.submit(session, "26-001", actor="test", now=NOW)
    seen, upto = 0, 2
    assert seqs(db, case_id) == (upto, seen)  # what a slower pass read
    with write_session(db) as session:
        services.add_deadline(session, "26-001", DEADLINE, actor="test", now=NOW)
    assert notify_changed_cases(db, now=NOW, rules=RULES) == 1  # another pass took it to 3
    with write_session(db) as session:
        # Someone follows it since: had the slower pass gone on, they would hear of the
        # submission (seq 2) and the case would be marked again (notified_seq back to 2).
        follow(session, "ny@example.org", "26-001")
    before = outbox_snapshot(db)
    with write_session(db) as session:
        assert notify_case(session, case_id, seen=seen, upto=upto, now=NOW,
                           rules=RULES) is False
    assert seqs(db, case_id) == (3, 3)
    assert outbox_snapshot(db) == before


def test_it_derives_the_other_cases_when_one_fails_and_that_one_on_a_later_pass(db, caplog):
    with write_session(db) as session:
        add_people(session)
        ids = [create_case(session, number=number, now=NOW).id
               for number in ("26-001", "26-002", "26-003")]
        for number in ("26-001", "26-002", "26-003"):
            services.add_deadline(session, number, DEADLINE, actor="test", now=NOW)
        create_meeting(session, body="SU", day=date(2026, 4, 15), now=NOW)
        actions.submit(session, "26-002", actor="test", now=NOW)
    # The middle case waits for a body since removed from the organisation's configuration:
    # the rules cannot name its next meeting, and raise.
    with write_session(db) as session:
        session.connection().execute(sa.text(
            "UPDATE awaiting SET body_code = 'XX' WHERE case_id = :id"), {"id": ids[1]})
        session.connection().execute(sa.text("UPDATE meeting SET body_code = 'XX'"))
    with caplog.at_level(logging.ERROR, logger="notifications.changes"):
        assert notify_changed_cases(db, now=NOW, rules=RULES) == 2
    assert f"could not derive the reminders of case {ids[1]}" in caplog.text
    for case_id in (ids[0], ids[2]):
        assert seqs(db, case_id)[0] == seqs(db, case_id)[1]
        assert ("deadline_overdue", "chef@ballerup.dk") in rows_of(db, case_id)
    last, notified = seqs(db, ids[1])
    assert notified < last
    assert rows_of(db, ids[1]) == {}  # the failed pass left nothing behind

    with write_session(db) as session:  # the body is back
        session.connection().execute(sa.text("UPDATE awaiting SET body_code = 'SU'"))
        session.connection().execute(sa.text("UPDATE meeting SET body_code = 'SU'"))
    assert notify_changed_cases(db, now=NOW, rules=RULES) == 1
    assert seqs(db, ids[1]) == (last, last)
    rows = rows_of(db, ids[1])
    assert rows[("deadline_overdue", "chef@ballerup.dk")] == PENDING
    assert any(kind == "submission_due" for kind, _ in rows)


def test_it_gets_to_the_other_cases_when_failing_ones_fill_a_batch(db, caplog):
    with write_session(db) as session:
        add_people(session)
        failing, fine = (create_case(session, number=number, now=NOW).id
                         for number in ("26-001", "26-002"))
        create_meeting(session, body="SU", day=date(2026, 4, 15), now=NOW)
        actions.submit(session, "26-001", actor="test", now=NOW)
        # As above: it waits for a body no longer configured, and its refresh raises.
        session.connection().execute(sa.text(
            "UPDATE awaiting SET body_code = 'XX' WHERE case_id = :id"), {"id": failing})
        session.connection().execute(sa.text("UPDATE meeting SET body_code = 'XX'"))
    passes = 0
    with caplog.at_level(logging.CRITICAL, logger="notifications.changes"):
        while seqs(db, fine)[1] < seqs(db, fine)[0] and passes < 40:
            notify_changed_cases(db, now=NOW, rules=RULES, limit=1)
            passes += 1
    assert seqs(db, fine)[1] == seqs(db, fine)[0]  # the odds of 40 misses: 2**-40
    assert seqs(db, failing)[1] < seqs(db, failing)[0]


def test_it_cancels_a_reminder_an_action_made_obsolete_before_the_sweep_claims(db):
    [control] = add_due_reminders(db, 1, now=NOW, prefix="kontrol")  # due, and still wanted
    with write_session(db) as session:
        add_people(session)
        case_id = create_case(session, now=NOW).id
        services.add_hearing(session, "26-001", title="Høring om strategien", parties=["HR"],
                             deadline="31-03-2026", opened_on="02-03-2026", actor="test",
                             now=NOW)
    assert notify_changed_cases(db, now=NOW, rules=RULES) == 1
    later = NOW + timedelta(days=7)
    with read_session(db) as session:
        request = session.exec(select(Reminder).where(
            Reminder.case_id == case_id, Reminder.kind == "hearing_request")).one()
    assert request.status == PENDING and request.next_attempt_at <= later  # due by then
    with write_session(db) as session:
        actions.withdraw(session, "26-001", actor="test",
                         reason="Erstattes af en ny strategi.", now=NOW)
    enqueued: list[int] = []
    result = delivery.sweep(db, lambda row_ids, token: enqueued.extend(row_ids), now=later,
                            rules=RULES, timing=outbox.Timing(batch_size=1000))
    assert result == {"changed": 1, "changed_meetings": 0, "released": 0, "claimed": 1,
                      "enqueued": 1}
    with read_session(db) as session:
        control_id = session.exec(select(Reminder.id)
                                  .where(Reminder.dedupe_key == control)).one()
        assert session.get(Reminder, request.id).status == CANCELLED
    assert enqueued == [control_id]
    assert set(rows_of(db, case_id).values()) == {CANCELLED}


def test_it_backfills_the_seqs_of_existing_cases_as_notified(empty_url):
    # The revision before 0006_case_seq, which adds the seqs and fills them in.
    command.upgrade(alembic_config(empty_url), "0005_web_active_index")
    engine = make_engine(empty_url)
    try:
        case = ("INSERT INTO \"case\" (id, number, title, summary, background, presentation, "
                "economy, centre, owner_name, owner_email, deciding_body, committees, "
                "confidential, status, finance_statement, version, created_at, updated_at) "
                "VALUES (:id, :number, 'Udsattestrategi', '', '', '', '', "
                "'Center for Voksne og Sundhed', 'Sagsbehandler', 'ejer@ballerup.dk', 'SU', "
                "'[\"SU\"]', :no, 'draft', :no, 1, :at, :at)")
        event = ("INSERT INTO case_event (case_id, seq, at, actor, trigger, from_state, "
                 "to_state, body, reason, payload) VALUES (:case, :seq, :at, 'test', :trigger, "
                 "NULL, 'draft', NULL, '', '{}')")
        at = "2026-03-02 09:00:00"
        with engine.begin() as conn:
            for case_id, number in ((1, "26-001"), (2, "26-002"), (3, "26-003")):
                conn.execute(sa.text(case), {"id": case_id, "number": number, "no": False,
                                             "at": at})
            for seq, trigger in enumerate(("create", "add_deadline", "add_hearing"), start=1):
                conn.execute(sa.text(event), {"case": 1, "seq": seq, "at": at,
                                              "trigger": trigger})
            conn.execute(sa.text(event), {"case": 2, "seq": 1, "at": at, "trigger": "create"})
        engine.dispose()
        migrate(empty_url)
        assert seqs(engine, 1) == (3, 3)
        assert seqs(engine, 2) == (1, 1)
        assert seqs(engine, 3) == (0, 0)  # no event at all
        assert notify_changed_cases(engine, now=NOW, rules=RULES) == 0
        with write_session(engine) as session:  # the next event follows on from the backfill
            services.add_deadline(session, "26-001", DEADLINE, actor="test", now=NOW)
        assert seqs(engine, 1) == (4, 3)
    finally:
        engine.dispose()
