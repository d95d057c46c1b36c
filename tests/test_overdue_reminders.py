"""Reminders after a missed deadline to the party itself: a hearing party whose answer is
overdue, a case owner whose submission is late (notifications.rules, `overdue_weekdays`),
within office hours, each sent once. By the pure rules, through the outbox to an SMTP server,
and once with real Celery processes whose clock is set by SAGSGANG_TODAY."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from servers import (
    CeleryProcess,
    MailSink,
    add_people,
    celery_env,
    create_case,
    organisation_file,
    wait_for,
)
from sqlmodel import select

from cases import services
from cases.db import make_engine, migrate, write_session
from notifications import delivery
from notifications.celery_app import prepare_embedded_broker
from notifications.models import CANCELLED, SENT, Reminder
from notifications.rules import (
    CaseFacts,
    HearingFacts,
    PartyFacts,
    Person,
    ReminderRules,
    case_reminders,
    is_history,
    parse_rules,
)

RULES = ReminderRules()
HR = Person("hr@example.org", "Handicaprådet")
FORENING = Person("forening@example.org", "Foreningen")
OPENED = datetime(2026, 3, 2, 9, tzinfo=UTC)
DEADLINE = date(2026, 3, 27)  # a Friday, before Easter 2026
FIRST = datetime(2026, 3, 30, 6, tzinfo=UTC)  # Monday 08:00 summer time (DST on 29-03)
# Five weekdays after: 30-03, 31-03, 01-04, then Easter (02-04 to 06-04), 07-04, 08-04.
FIFTH = datetime(2026, 4, 8, 6, tzinfo=UTC)


def facts(*, hr_answered=False) -> CaseFacts:
    hearing = HearingFacts(id=7, title="Strategien", opened_on=date(2026, 3, 2),
                           deadline=DEADLINE, closed=False,
                           parties=(PartyFacts(1, "Handicaprådet", (HR,), hr_answered),
                                    PartyFacts(2, "Foreningen", (FORENING,), False)))
    return CaseFacts(id=1, number="26-001", title="Udsattestrategi", status="hearing",
                     centre="Center for Voksne og Sundhed", owner=None, hearings=(hearing,),
                     secretariat=(Person("sekr@ballerup.dk"),))


def overdue(wanted) -> list[tuple[str, datetime]]:
    return sorted((w.recipient.email, w.due_at) for w in wanted if w.kind == "hearing_overdue")


def test_a_silent_hearing_party_is_reminded_itself_after_its_deadline():
    wanted = case_reminders(facts(), RULES, OPENED)
    assert overdue(wanted) == [("forening@example.org", FIRST), ("forening@example.org", FIFTH),
                               ("hr@example.org", FIRST), ("hr@example.org", FIFTH)]
    assert len({w.key for w in wanted}) == len(wanted)  # each offset its own dedupe key
    # A party that has answered is not reminded; the others still are.
    assert overdue(case_reminders(facts(hr_answered=True), RULES, OPENED)) == [
        ("forening@example.org", FIRST), ("forening@example.org", FIFTH)]
    # The offsets come from the organisation file; none at all turns the reminder off.
    assert overdue(case_reminders(facts(), replace(RULES, overdue_weekdays=(2,)), OPENED)) \
        == [("forening@example.org", datetime(2026, 3, 31, 6, tzinfo=UTC)),
            ("hr@example.org", datetime(2026, 3, 31, 6, tzinfo=UTC))]
    assert overdue(case_reminders(facts(), replace(RULES, overdue_weekdays=()), OPENED)) == []


def test_the_overdue_offsets_and_the_history_horizon_are_read_and_checked():
    rules = parse_rules({"reminders": {"overdue_weekdays": [5, 1, 5], "stale_after_days": 30}})
    assert (rules.overdue_weekdays, rules.stale_after_days) == ((1, 5), 30)
    assert parse_rules({}).overdue_weekdays == (1, 5)
    for bad in ({"overdue_weekdays": [0]}, {"overdue_weekdays": 1},
                {"stale_after_days": 0}, {"stale_after_days": "14"}):
        with pytest.raises(ValueError, match="overdue_weekdays|stale_after_days"):
            parse_rules({"reminders": bad})


def test_what_is_older_than_the_horizon_is_history():
    now = datetime(2026, 3, 30, 9, tzinfo=UTC)
    assert not is_history(datetime(2026, 3, 16, 9, tzinfo=UTC), now, RULES)  # 14 days
    assert is_history(datetime(2026, 3, 16, 8, 59, tzinfo=UTC), now, RULES)


def open_hearing(engine) -> int:
    with write_session(engine) as session:
        add_people(session)
        create_case(session, now=OPENED)
        hearing = services.add_hearing(
            session, "26-001", title="Strategien",
            parties=["HR", "Foreningen <forening@example.org>"],
            deadline=DEADLINE, opened_on=OPENED.date(), actor="test", now=OPENED)
    return hearing.id


def sweep_and_send(engine, mailer, now: datetime) -> dict:
    claimed = []
    delivery.sweep(engine, lambda ids, token: claimed.append((ids, token)), now=now)
    for ids, token in claimed:
        delivery.deliver_batch(engine, ids, token, mailer)
    return {"claimed": sum(len(ids) for ids, _ in claimed)}


def overdue_mails(sink) -> list[tuple[str, str]]:
    return sorted((m["To"], m["Subject"]) for m in sink.handler.messages
                  if "er overskredet" in m["Subject"] and "Høringsfristen" in m["Subject"])


SUBJECT = "Høringsfristen 27-03-2026 er overskredet – Udsattestrategi"


def test_the_party_is_mailed_once_per_offset_through_the_outbox(db):
    hearing_id = open_hearing(db)
    with MailSink() as sink:
        mailer = delivery.Mailer("127.0.0.1", sink.port, timeout=5)
        # Friday evening after the deadline: outside office hours, nothing goes out.
        sweep_and_send(db, mailer, datetime(2026, 3, 27, 18, tzinfo=UTC))
        assert overdue_mails(sink) == []
        # Monday morning: each party once, by its own address (HR: its member).
        monday = datetime(2026, 3, 30, 7, 30, tzinfo=UTC)
        sweep_and_send(db, mailer, monday)
        assert overdue_mails(sink) == [("Foreningen <forening@example.org>", SUBJECT),
                                       ("Rådsmedlem <hr1@example.org>", SUBJECT)]
        text = [m for m in sink.handler.messages if m["Subject"] == SUBJECT][0] \
            .get_body(("plain",)).get_content()
        assert "vi har endnu ikke modtaget et høringssvar" in text
        # Swept again and again: nothing is sent twice.
        assert sweep_and_send(db, mailer, monday)["claimed"] == 0
        sweep_and_send(db, mailer, datetime(2026, 3, 31, 7, 30, tzinfo=UTC))
        assert len(overdue_mails(sink)) == 2
        # HR answers; only Foreningen gets the fifth weekday's reminder.
        with write_session(db) as session:
            services.record_hearing_response(session, hearing_id, party="HR",
                                             received_on="01-04-2026", text="Vi støtter det.",
                                             actor="test", now=datetime(2026, 4, 1, 8,
                                                                        tzinfo=UTC))
        sweep_and_send(db, mailer, datetime(2026, 4, 8, 7, 30, tzinfo=UTC))
        mailer.close()
    assert overdue_mails(sink) == [("Foreningen <forening@example.org>", SUBJECT)] * 2 + \
        [("Rådsmedlem <hr1@example.org>", SUBJECT)]
    with write_session(db) as session:
        rows = session.exec(select(Reminder).where(Reminder.kind == "hearing_overdue")).all()
    assert sorted((r.recipient, r.context["weekdays"], r.status) for r in rows) == [
        ("forening@example.org", 1, SENT), ("forening@example.org", 5, SENT),
        ("hr1@example.org", 1, SENT), ("hr1@example.org", 5, CANCELLED)]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_celery_mails_the_overdue_party_by_the_clock_it_is_set_to(tmp_path):
    """Beat and worker run as of Tuesday 31-03-2026 (SAGSGANG_TODAY): the parties get the
    first weekday's reminder over SMTP, not the fifth's; the hearing's opening, a month
    before, is history and mailed to nobody."""
    url = f"sqlite:///{tmp_path / 'sagsgang.db'}"
    migrate(url)
    engine = make_engine(url)
    open_hearing(engine)
    broker = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    prepare_embedded_broker(broker)
    with MailSink() as sink:
        env = celery_env(database_url=url, broker_url=broker, smtp_port=sink.port,
                         var_dir=tmp_path, organisation=organisation_file(tmp_path),
                         SAGSGANG_TODAY="2026-03-31")
        with CeleryProcess("worker", env, tmp_path, "w1") as worker, \
                CeleryProcess("beat", env, tmp_path, "beat") as beat:
            try:
                wait_for(lambda: len(overdue_mails(sink)) == 2, 90, interval=0.2,
                         what="the overdue reminders")
                wait_for(lambda: _pending(engine) == 0, 30, interval=0.2,
                         what="every due reminder sent")
            except TimeoutError:
                raise AssertionError(f"{worker.tail()}\n{beat.tail()}") from None
    assert overdue_mails(sink) == [("Foreningen <forening@example.org>", SUBJECT),
                                   ("Rådsmedlem <hr1@example.org>", SUBJECT)]
    with write_session(engine) as session:
        kinds = {(r.kind, r.context.get("weekdays"), r.status)
                 for r in session.exec(select(Reminder))}
    engine.dispose()
    assert ("hearing_overdue", 5, "pending") in kinds  # 08-04: not yet, by that clock
    assert not any(kind == "hearing_request" for kind, *_ in kinds)  # 02-03: history


def _pending(engine) -> int:
    """Rows due by 31-03-2026 not yet sent."""
    cutoff = datetime(2026, 3, 31, 22, tzinfo=UTC)
    with write_session(engine) as session:
        return len(session.exec(select(Reminder).where(Reminder.status != SENT,
                                                       Reminder.next_attempt_at < cutoff))
                   .all())
