"""A mail that cannot be built or sent fails on its own row and never stops the others: an old
row whose address holds CR/LF (from before addresses were checked where they enter), through a
real redis-server, Celery worker and beat, an aiosmtpd server and the web app under uvicorn;
and the stuck-claim sweeper counting what it takes back as an attempt."""

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner
from servers import (
    MailSink,
    RedisServer,
    WebServer,
    add_due_reminders,
    create_case,
    wait_for,
)
from sqlmodel import select
from test_celery_end_to_end import Setup

from cases.db import write_session
from cli.main import cli
from demo.users import ensure_demo_users
from notifications import outbox
from notifications.changes import skip_news
from notifications.models import FAILED, PENDING, SENT, Reminder
from notifications.rules import Person, ReminderRules, Wanted

POISONED = "part@example.org\r\nBcc: skjult@example.org"
RULES = ReminderRules(office_hours_only=False)


def add_poisoned_row(engine, now: datetime) -> None:
    """An outbox row as an old one would be: its address straight from the database, due
    before the others (so it is claimed first, and first in its task)."""
    with write_session(engine) as session:
        case = create_case(session, number="old-1", now=now)
        skip_news(session, case, now)  # the case's own reminders derived: only this row
    wanted = Wanted(key="old:poisoned", kind="hearing_request",
                    recipient=Person(POISONED, "Gammel part"),
                    due_at=now - timedelta(minutes=1), optional=False, case_id=case.id,
                    context={"hearing_id": 1, "party_id": 1, "party": "Gammel part",
                             "hearing_title": "Høring", "deadline": "2026-03-31"})
    with write_session(engine) as session:
        outbox.insert_missing(session, [wanted], now, RULES)


def log_in(client: httpx.Client, username: str, password: str) -> None:
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": csrf, "next": "/"})
    assert answer.status_code == 303, answer.text


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_poisoned_address_fails_alone_and_the_rest_of_its_batch_is_sent(
        tmp_path, monkeypatch):
    with MailSink() as sink, RedisServer(tmp_path / "redis") as redis:
        setup = Setup(tmp_path, sink, redis.url)
        now = datetime.now(UTC)
        add_poisoned_row(setup.engine, now)
        keys = add_due_reminders(setup.engine, 7, now=now, prefix="ok")
        with write_session(setup.engine) as session:
            ensure_demo_users(session)
        with setup.worker() as worker, setup.beat() as beat:
            try:
                wait_for(lambda: setup.statuses() == {SENT: 7, FAILED: 1}, 60, interval=0.2,
                         what="7 sent and the poisoned row failed")
            except TimeoutError:
                raise AssertionError(f"outbox: {setup.statuses()}\n{worker.tail()}\n"
                                     f"{beat.tail()}") from None
        assert setup.check_received(keys) == {}  # the 7, each once
        assert not any("skjult" in m.as_string() for m in sink.handler.messages)
        with write_session(setup.engine) as session:
            poisoned = session.exec(select(Reminder).where(Reminder.status == FAILED)).one()
        assert poisoned.last_error == (
            "Modtagerens adresse eller navn indeholder et linjeskift eller et andet "
            "styretegn: part@example.org\\r\\nBcc: skjult@example.org")

        # `sagsgang reminders failed` shows it, with its reason and the address written out.
        monkeypatch.setenv("DATABASE_URL", setup.url)
        shown = CliRunner().invoke(cli, ["reminders", "failed"], catch_exceptions=False)
        assert shown.exit_code == 0
        lines = shown.output.splitlines()
        assert len(lines) == 2, shown.output
        assert lines[0].split()[:2] == [str(poisoned.id), "fejlet"]
        assert lines[0].endswith("part@example.org\\r\\nBcc: skjult@example.org")
        assert lines[1].strip() == poisoned.last_error

        # The secretariat sees it on its front page in the web; a case owner does not.
        with WebServer({**setup.env}, tmp_path) as web:
            with httpx.Client(base_url=web.url) as secretariat:
                log_in(secretariat, "sekretariat", "sekretariat-demo")
                page = secretariat.get("/koer")
            assert page.status_code == 200
            section = page.text.split('id="fejlede-mails"', 1)[1]
            assert "part@example.org\\r\\nBcc: skjult@example.org" in section
            assert "indeholder et linjeskift eller et andet styretegn" in section
            with httpx.Client(base_url=web.url) as owner:
                log_in(owner, "sagsbehandler", "sagsbehandler-demo")
                assert 'id="fejlede-mails"' not in owner.get("/koer").text


# -- the stuck-claim sweeper -----------------------------------------------------------------

NOW = datetime(2026, 3, 30, 9, tzinfo=UTC)
TIMING = outbox.Timing(queue_timeout=timedelta(seconds=60),
                       send_timeout=timedelta(seconds=30), max_attempts=3)


def claim(engine, now):
    with write_session(engine) as session:
        return outbox.claim_due(session, now, 10)


def reminder(engine) -> Reminder:
    with write_session(engine) as session:
        return session.exec(select(Reminder)).one()


def test_a_claim_the_sweeper_takes_back_counts_as_an_attempt_and_the_last_fails(db):
    add_due_reminders(db, 1, now=NOW)
    now = NOW
    # 1: a worker takes the claim and never finishes (it died, or its task crashed).
    [(row_id, token)] = claim(db, now)
    with write_session(db) as session:
        assert outbox.take_claim(session, row_id, token, now) is not None
    now += TIMING.send_timeout + timedelta(seconds=1)
    with write_session(db) as session:
        assert outbox.release_stuck(session, now, TIMING) == 1
    found = reminder(db)
    assert (found.status, found.attempts) == (PENDING, 1)
    # 2: the claim is lost in the queue (Redis restarted): no worker ever took it.
    claim(db, now)
    now += TIMING.queue_timeout + timedelta(seconds=1)
    with write_session(db) as session:
        assert outbox.release_stuck(session, now, TIMING) == 1
    found = reminder(db)
    assert (found.status, found.attempts) == (PENDING, 2)
    # 3: stuck again, and out of attempts: failed for the secretariat, never claimed again.
    [(row_id, token)] = claim(db, now)
    with write_session(db) as session:
        outbox.take_claim(session, row_id, token, now)
    now += TIMING.send_timeout + timedelta(seconds=1)
    with write_session(db) as session:
        assert outbox.release_stuck(session, now, TIMING) == 1
    found = reminder(db)
    assert (found.status, found.attempts) == (FAILED, 3)
    assert found.last_error == "Opgivet efter 3 forsøg: afsendelsen gik i stå."
    assert claim(db, now + timedelta(hours=1)) == []
    with write_session(db) as session:
        assert [r.id for r in outbox.failed_rows(session)] == [row_id]
