"""Delivering one reminder (the task body as a plain function) to a real aiosmtpd server."""

import asyncio
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from servers import HOSTILE_TITLE, MailSink, RecordingHandler, add_due_reminders
from sqlmodel import select

from cases.db import write_session
from notifications import delivery, outbox
from notifications.email import (
    message_id,
    read_unsubscribe_token,
    unsubscribe,
    unsubscribe_token,
)
from notifications.models import CANCELLED, FAILED, PENDING, SENT, Reminder
from notifications.rules import ReminderRules
from workflow.errors import InvalidInput

RULES = ReminderRules(office_hours_only=False)
TIMING = outbox.Timing(retry_base=timedelta(seconds=30), max_attempts=5)


@pytest.fixture
def sink():
    with MailSink() as server:
        yield server


@pytest.fixture
def mailer(sink):
    mailer = delivery.Mailer("127.0.0.1", sink.port, timeout=5)
    yield mailer
    mailer.close()


def claim_one(engine):
    with write_session(engine) as session:
        return outbox.claim_due(session, datetime.now(UTC), 1)[0]


def deliver(engine, claim, mailer):
    return delivery.deliver(engine, *claim, mailer, rules=RULES, timing=TIMING)


def row(engine, row_id) -> Reminder:
    with write_session(engine) as session:
        return session.get(Reminder, row_id)


def test_it_sends_a_danish_text_and_html_email_with_a_stable_message_id(engine, sink, mailer):
    [key] = add_due_reminders(engine, 1, title="Udsattestrategi")
    claim = claim_one(engine)
    assert deliver(engine, claim, mailer) == "sent"
    [received] = sink.handler.messages
    assert received["Message-ID"] == message_id(key)
    assert row(engine, claim[0]).status == SENT
    assert row(engine, claim[0]).message_id == message_id(key)
    assert received["Subject"] == ("Anmodning om høringssvar: Udsattestrategi – "
                                   "høringsfrist 31-03-2026")
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert "Høringsfristen er 31-03-2026" in text
    assert "http://127.0.0.1:8000/sager/test-1" in text
    assert 'href="http://127.0.0.1:8000/sager/test-1"' in html


def test_it_escapes_a_hostile_title_in_html_and_keeps_it_intact_in_text(engine, sink, mailer):
    add_due_reminders(engine, 1, title=HOSTILE_TITLE)
    deliver(engine, claim_one(engine), mailer)
    [received] = sink.handler.messages
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    assert HOSTILE_TITLE in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;plan&#34;" in html
    assert HOSTILE_TITLE in received["Subject"]


def test_it_sends_a_claim_only_once_however_often_the_task_arrives(engine, sink, mailer):
    add_due_reminders(engine, 1)
    claim = claim_one(engine)
    assert deliver(engine, claim, mailer) == "sent"
    assert deliver(engine, claim, mailer) == "skipped"
    assert sink.handler.count() == 1


def test_it_retries_a_temporary_smtp_refusal_later(engine, sink, mailer):
    add_due_reminders(engine, 1)
    claim = claim_one(engine)
    sink.handler.refusing = True
    before = datetime.now(UTC)
    assert deliver(engine, claim, mailer) == "retry"
    found = row(engine, claim[0])
    assert found.status == PENDING
    assert "451" in found.last_error
    assert found.next_attempt_at >= before + timedelta(seconds=29)
    assert found.attempts == 1
    assert sink.handler.count() == 0


def test_it_retries_when_the_smtp_server_is_down(engine):
    add_due_reminders(engine, 1)
    claim = claim_one(engine)
    closed = delivery.Mailer("127.0.0.1", 1, timeout=1)
    assert deliver(engine, claim, closed) == "retry"
    assert "forbindelsen" in row(engine, claim[0]).last_error


def test_it_marks_a_permanent_refusal_failed_for_the_secretariat(engine, sink, mailer):
    add_due_reminders(engine, 2)
    sink.handler.reject = {"part0@example.org"}
    with write_session(engine) as session:
        claims = outbox.claim_due(session, datetime.now(UTC), 2)
    assert sorted(deliver(engine, c, mailer) for c in claims) == ["failed", "sent"]
    with write_session(engine) as session:
        [failed] = outbox.failed_rows(session)
    assert failed.recipient == "part0@example.org"
    assert failed.status == FAILED
    assert "550" in failed.last_error
    assert sink.handler.count() == 1  # the connection recovered for the next message


def test_it_stops_an_optional_reminder_for_a_recipient_who_opted_out(engine, sink, mailer):
    add_due_reminders(engine, 1)
    with write_session(engine) as session:
        reminder = session.exec(select(Reminder)).one()
        reminder.optional = True
        session.add(reminder)
        token = unsubscribe_token(reminder.recipient, reminder.kind)
        assert unsubscribe(session, token, datetime.now(UTC)) == (reminder.recipient,
                                                                  reminder.kind)
        with pytest.raises(InvalidInput):
            unsubscribe(session, token + "x", datetime.now(UTC))
    claim = claim_one(engine)
    assert deliver(engine, claim, mailer) == "cancelled"
    assert row(engine, claim[0]).status == CANCELLED
    assert sink.handler.count() == 0


def test_it_puts_a_working_unsubscribe_link_in_optional_reminders(engine, sink, mailer):
    add_due_reminders(engine, 1)
    with write_session(engine) as session:
        reminder = session.exec(select(Reminder)).one()
        reminder.optional = True
        session.add(reminder)
    deliver(engine, claim_one(engine), mailer)
    [received] = sink.handler.messages
    link = received["List-Unsubscribe"].strip().strip("<>")
    token = link.rsplit("/", 1)[1]
    assert link in received.get_body(("plain",)).get_content()
    assert read_unsubscribe_token(token) == ("part0@example.org", "hearing_request")
    assert read_unsubscribe_token(token[:-2] + "xx") is None


def test_it_renders_every_kind_the_rules_can_create(engine):
    from cases.models import Case
    from notifications.rules import KINDS

    with write_session(engine) as session:
        from servers import create_case

        case = create_case(session)
        for kind in KINDS:
            reminder = Reminder(
                dedupe_key=f"k:{kind}", kind=kind, case_id=case.id, recipient="a@example.org",
                context={"hearing_id": 1, "party_id": 1, "party": "HR", "hearing_title": "H",
                         "deadline": "2026-03-31", "due_date": "2026-11-30",
                         "description": "KB", "weekdays": 5, "deadline_id": 1,
                         "centre": "Center for Voksne og Sundhed", "week": "2026-W14",
                         "body": "Socialudvalget", "meeting_day": "2026-03-31",
                         "submission": "2026-03-18", "agenda_out": "2026-03-25",
                         "objection_deadline": "2026-04-08", "plan": ["SU møde 31-03-2026"],
                         "case_number": case.number, "case_title": case.title,
                         "bodies": ["Handicaprådet"], "closed": False,
                         "decided_by": "Socialudvalget", "decided_on": "2026-03-31",
                         "decision": "Godkendt", "decision_text": "", "note": ""},
                due_at=datetime.now(UTC), next_attempt_at=datetime.now(UTC))
            built = delivery.render_message(session, reminder, datetime.now(UTC))
            message = message_from_bytes(built.as_bytes(), policy=default_policy)
            assert message["Subject"]
            text = message.get_body(("plain",)).get_content()
            html = message.get_body(("html",)).get_content()
            assert "Kære" in text and "Kære" in html
            assert session.get(Case, case.id).title in text or reminder.kind in (
                "weekly_digest", "agenda_due", "agenda_published", "minutes_approval")


def test_it_sends_a_task_of_several_reminders_each_marked_on_its_own(engine, sink, mailer):
    add_due_reminders(engine, 5)
    with write_session(engine) as session:
        claims = outbox.claim_due(session, datetime.now(UTC), 5)
    ids, token = [row_id for row_id, _ in claims], claims[0][1]
    outcomes = delivery.deliver_batch(engine, ids, token, mailer, rules=RULES, timing=TIMING)
    assert outcomes == {"sent": 5}
    assert delivery.deliver_batch(engine, ids, token, mailer, rules=RULES,
                                  timing=TIMING) == {"skipped": 5}
    assert sink.handler.count() == 5


def test_it_stops_a_task_early_when_the_smtp_server_is_unreachable(engine):
    add_due_reminders(engine, 4)
    with write_session(engine) as session:
        claims = outbox.claim_due(session, datetime.now(UTC), 4)
    closed = delivery.Mailer("127.0.0.1", 1, timeout=1)
    outcomes = delivery.deliver_batch(engine, [c[0] for c in claims], claims[0][1], closed,
                                      rules=RULES, timing=TIMING)
    assert outcomes == {"retry": 4}
    with write_session(engine) as session:
        assert outbox.counts_by_status(session) == {PENDING: 4}


# -- a mail that cannot be built or sent -------------------------------------------------------

def add_row(engine, recipient: str, name: str, *, with_case: bool = True) -> int:
    """An outbox row written straight to the table, as an old one would be, due before the
    reminders add_due_reminders makes (so it comes first in the task)."""
    from servers import create_case

    from notifications.rules import Person, Wanted

    now = datetime.now(UTC)
    with write_session(engine) as session:
        case = create_case(session, number=f"gl-{len(recipient)}-{len(name)}") \
            if with_case else None
        wanted = Wanted(key="old:row", kind="hearing_request", recipient=Person(recipient, name),
                        due_at=now - timedelta(minutes=1), optional=False,
                        case_id=case.id if case else None,
                        context={"hearing_id": 1, "party_id": 1, "party": name,
                                 "hearing_title": "Høring", "deadline": "2026-03-31"})
        outbox.insert_missing(session, [wanted], now, RULES)
        return session.exec(select(Reminder.id).where(Reminder.dedupe_key == "old:row")).one()


LINE_BREAK = "indeholder et linjeskift eller et andet styretegn"


@pytest.mark.parametrize("recipient, name, with_case, reason", [
    ("part@example.org\r\nBcc: skjult@example.org", "Part", True,
     f"Modtagerens adresse eller navn {LINE_BREAK}: part@example.org\\r\\nBcc: "
     "skjult@example.org"),
    ("part@example.org", "Part\r\nBcc: skjult@example.org", True,
     f"Modtagerens adresse eller navn {LINE_BREAK}: Part\\r\\nBcc: skjult@example.org"),
    ("Nogen <skjult@example.org>", "Nogen", True,
     "Modtagerens adresse er ikke én gyldig e-mailadresse: Nogen <skjult@example.org>"),
    ("bø@example.org", "Bo", True,
     "Modtagerens adresse indeholder æ, ø, å eller andre særlige tegn: bø@example.org"),
    ("part@example.org", "Part", False,  # its case is gone: the template cannot be rendered
     "Mailen kunne ikke dannes; fejlen står i arbejderens log."),
], ids=["cr-lf-in-address", "cr-lf-in-name", "not-one-address", "non-ascii", "no-case"])
def test_it_fails_a_mail_that_cannot_be_built_or_sent_and_sends_the_rest_of_the_task(
        engine, sink, mailer, recipient, name, with_case, reason):
    poisoned = add_row(engine, recipient, name, with_case=with_case)
    add_due_reminders(engine, 3)
    with write_session(engine) as session:
        claims = outbox.claim_due(session, datetime.now(UTC), 10)
    assert claims[0][0] == poisoned and len(claims) == 4
    outcomes = delivery.deliver_batch(engine, [c[0] for c in claims], claims[0][1], mailer,
                                      rules=RULES, timing=TIMING)
    assert outcomes == {"failed": 1, "sent": 3}
    found = row(engine, poisoned)
    assert (found.status, found.last_error) == (FAILED, reason)
    assert sink.handler.count() == 3
    assert not any("skjult" in m.as_string() for m in sink.handler.messages)


class SlowAtRecipient(RecordingHandler):
    """A server that takes 2 s to answer RCPT: each step well within smtplib's timeout."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await asyncio.sleep(2)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def test_it_cuts_off_a_send_that_would_outlive_its_claim_before_the_server_has_the_mail(
        engine):
    add_due_reminders(engine, 1)
    # The sweeper may take the claim back after 2 s: the worker must be done in 1.5 s.
    short = outbox.Timing(send_timeout=timedelta(seconds=2), retry_base=timedelta(seconds=30))
    slow = MailSink()
    slow.handler = slow.controller.handler = SlowAtRecipient()
    with slow:
        patient = delivery.Mailer("127.0.0.1", slow.port, timeout=10)
        claim = claim_one(engine)
        assert delivery.deliver(engine, *claim, patient, rules=RULES, timing=short) == "retry"
        patient.close()
    found = row(engine, claim[0])
    assert (found.status, found.last_error) == (
        PENDING, "SMTP-serveren svarede ikke i tide; prøves igen senere.")
    assert slow.handler.count() == 0


def test_it_sends_once_more_at_once_when_the_server_dropped_an_idle_connection(engine):
    add_due_reminders(engine, 2)
    with write_session(engine) as session:
        first, second = outbox.claim_due(session, datetime.now(UTC), 2)
    with MailSink() as before:
        mailer = delivery.Mailer("127.0.0.1", before.port, timeout=5)
        assert deliver(engine, first, mailer) == "sent"
    # The server restarted: the worker's open connection is dead before the next message.
    with MailSink(port=before.port) as after:
        assert deliver(engine, second, mailer) == "sent"
        mailer.close()
    assert (before.handler.count(), after.handler.count()) == (1, 1)


class DropsAfterTheMessage(RecordingHandler):
    """Takes the first message, then drops the connection instead of answering."""

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        if self.count() == 1:
            server.transport.close()
        return reply


def test_it_does_not_send_again_at_once_when_the_connection_drops_after_the_message(engine):
    add_due_reminders(engine, 1)
    dropping = MailSink()
    dropping.handler = dropping.controller.handler = DropsAfterTheMessage()
    with dropping:
        mailer = delivery.Mailer("127.0.0.1", dropping.port, timeout=5)
        claim = claim_one(engine)
        # The server may have the mail: later, with backoff (one repeat at most), not at once.
        assert deliver(engine, claim, mailer) == "retry"
        mailer.close()
    assert dropping.handler.count() == 1
    found = row(engine, claim[0])
    assert found.status == PENDING and found.last_error.startswith(
        "SMTP-forbindelsen blev afbrudt")
