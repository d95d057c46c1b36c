"""The outbox's compare-and-set steps: claim, take, finish, give back; on SQLite and PostgreSQL."""

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
from servers import MailSink, RecordingHandler, add_due_reminders
from sqlmodel import select

from cases.db import write_session
from notifications import delivery, outbox
from notifications.models import FAILED, PENDING, SENDING, SENT, Reminder
from notifications.rules import ReminderRules

RULES = ReminderRules(office_hours_only=False)
TIMING = outbox.Timing(batch_size=1000, queue_timeout=timedelta(seconds=60),
                       send_timeout=timedelta(seconds=30), retry_base=timedelta(seconds=10),
                       max_attempts=3)
NOW = datetime(2026, 3, 30, 9, tzinfo=UTC)


def statuses(engine) -> dict[str, int]:
    with write_session(engine) as session:
        return outbox.counts_by_status(session)


def claim(engine, now=NOW, limit=1000):
    with write_session(engine) as session:
        return outbox.claim_due(session, now, limit)


def test_it_claims_only_due_rows_and_each_only_once(db):
    add_due_reminders(db, 5, now=NOW)
    assert claim(db, now=NOW - timedelta(minutes=5)) == []
    first = claim(db)
    assert len(first) == 5
    assert claim(db) == []
    assert statuses(db) == {SENDING: 5}


def test_it_lets_two_concurrent_sweeps_share_the_due_rows_without_overlap(db):
    add_due_reminders(db, 400, now=NOW)
    results: list[list] = [[], []]
    barrier = threading.Barrier(2)

    def sweep(slot):
        barrier.wait()
        for _ in range(10):
            results[slot] += claim(db, limit=50)

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [row_id for row_id, _ in results[0] + results[1]]
    assert len(ids) == 400
    assert len(set(ids)) == 400


def test_it_lets_only_one_worker_take_a_claim(db):
    add_due_reminders(db, 1, now=NOW)
    [(row_id, token)] = claim(db)
    with write_session(db) as session:
        assert outbox.take_claim(session, row_id, "not-the-token", NOW) is None
        assert outbox.take_claim(session, row_id, token, NOW) is not None
    with write_session(db) as session:
        assert outbox.take_claim(session, row_id, token, NOW) is None  # redelivered message


def test_it_gives_back_claims_lost_in_the_queue_or_left_by_a_dead_worker(db):
    add_due_reminders(db, 3, now=NOW)
    claims = claim(db)
    with write_session(db) as session:
        outbox.take_claim(session, claims[0][0], claims[0][1], NOW)  # worker then dies
    with write_session(db) as session:
        assert outbox.release_stuck(session, NOW + timedelta(seconds=20), TIMING) == 0
    with write_session(db) as session:
        # After the send timeout the dead worker's row returns; the others wait in the queue.
        assert outbox.release_stuck(session, NOW + timedelta(seconds=31), TIMING) == 1
    with write_session(db) as session:
        assert outbox.release_stuck(session, NOW + timedelta(seconds=61), TIMING) == 2
    assert statuses(db) == {PENDING: 3}
    # A late message for an old claim is ignored.
    with write_session(db) as session:
        assert outbox.take_claim(session, claims[1][0], claims[1][1], NOW) is None


def test_it_retries_with_growing_backoff_and_then_gives_up(db):
    add_due_reminders(db, 1, now=NOW)
    now = NOW
    waits = []
    for _ in range(TIMING.max_attempts):
        [(row_id, token)] = claim(db, now=now)
        with write_session(db) as session:
            row = outbox.take_claim(session, row_id, token, now)
            outbox.mark_retry(session, row, token, now, "451 prøv igen", TIMING, RULES)
        with write_session(db) as session:
            row = session.get(Reminder, row_id)
            if row.status == PENDING:
                waits.append(row.next_attempt_at - now)
                now = row.next_attempt_at
    assert waits == [timedelta(seconds=10), timedelta(seconds=20)]
    assert row.status == FAILED
    assert "Opgivet efter 3 forsøg" in row.last_error


def test_it_gives_claims_back_at_once_when_the_queue_cannot_be_reached(db):
    add_due_reminders(db, 4, now=NOW)
    calls = []

    def broken_enqueue(row_ids, token):
        calls.append(row_ids)
        if len(calls) > 1:
            raise ConnectionError("broker down")

    one_per_task = outbox.Timing(task_size=1)
    result = delivery.sweep(db, broken_enqueue, now=NOW, rules=RULES, timing=one_per_task)
    assert result == {"changed": 0, "changed_meetings": 0, "released": 0, "claimed": 4,
                      "enqueued": 1}
    assert statuses(db) == {SENDING: 1, PENDING: 3}


def test_it_claims_nothing_outside_office_hours(db):
    add_due_reminders(db, 2, now=NOW)
    office = ReminderRules()
    saturday = datetime(2026, 3, 28, 10, tzinfo=UTC)
    assert delivery.sweep(db, lambda *a: None, now=saturday, rules=office,
                          timing=TIMING)["claimed"] == 0
    assert delivery.sweep(db, lambda *a: None, now=NOW, rules=office,
                          timing=TIMING)["claimed"] == 2


def test_it_keeps_at_most_a_batch_waiting_in_the_queue(db):
    add_due_reminders(db, 30, now=NOW)
    small = outbox.Timing(batch_size=10, queue_timeout=timedelta(minutes=10))
    assert delivery.sweep(db, lambda *a: None, now=NOW, rules=RULES, timing=small)["claimed"] == 10
    assert delivery.sweep(db, lambda *a: None, now=NOW, rules=RULES, timing=small)["claimed"] == 0


def test_it_lists_failed_reminders_and_can_send_them_again(db):
    add_due_reminders(db, 1, now=NOW)
    [(row_id, token)] = claim(db)
    with write_session(db) as session:
        outbox.take_claim(session, row_id, token, NOW)
        outbox.mark_failed(session, row_id, token, NOW, "550 ukendt modtager")
    with write_session(db) as session:
        [failed] = outbox.failed_rows(session)
        assert failed.last_error == "550 ukendt modtager"
        assert outbox.retry_failed(session, row_id, NOW, RULES)
    with write_session(db) as session:
        assert session.exec(select(Reminder.status)).one() == PENDING


class SlowRelay(RecordingHandler):
    """A relay that takes 20 s (on the test's clock) per message, each well under the send
    timeout; it holds the second message until the test lets it through."""

    def __init__(self, clock: list[datetime]):
        super().__init__()
        self.clock = clock
        self.second_arrived = threading.Event()
        self.let_through = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.clock[0] += timedelta(seconds=20)
        if self.count() == 1 and not self.second_arrived.is_set():
            self.second_arrived.set()
            # Wait off the event loop, so that the relay serves the other worker meanwhile.
            await asyncio.get_running_loop().run_in_executor(None, self.let_through.wait, 10)
        return await super().handle_DATA(server, session, envelope)


@pytest.mark.timeout(60)
def test_it_sends_each_reminder_once_when_a_batch_outlasts_the_send_timeout(db):
    add_due_reminders(db, 3, now=NOW)
    [(_, token), *_] = claims = claim(db)
    clock = [NOW]
    relay = SlowRelay(clock)
    sink = MailSink()
    sink.handler = sink.controller.handler = relay
    with sink:
        first, second = (delivery.Mailer("127.0.0.1", sink.port, timeout=20) for _ in "12")
        worker = threading.Thread(target=delivery.deliver_batch, args=(
            db, [row_id for row_id, _ in claims], token, first),
            kwargs={"now": lambda: clock[0], "rules": RULES, "timing": TIMING})
        worker.start()
        assert relay.second_arrived.wait(10)
        # The batch was taken 45 s ago (send timeout 30 s), but its second message has been
        # in flight for only 20 s: the sweep may give back the third, never the second.
        swept_at = clock[0] + timedelta(seconds=5)
        later = []
        delivery.sweep(db, lambda ids, t: later.append((ids, t)), now=swept_at, rules=RULES,
                       timing=TIMING)
        for ids, later_token in later:
            delivery.deliver_batch(db, ids, later_token, second, now=lambda: swept_at,
                                   rules=RULES, timing=TIMING)
        relay.let_through.set()
        worker.join(30)
        first.close()
        second.close()
    assert not worker.is_alive()
    assert sorted(relay.message_ids().values()) == [1, 1, 1]
    assert statuses(db) == {SENT: 3}


class ReclaimingRelay(RecordingHandler):
    """A relay so slow with the first message that, while it takes it, the send timeout
    passes on the test's clock and a sweep takes the claim back and claims the row again."""

    def __init__(self, db, clock: list[datetime]):
        super().__init__()
        self.db, self.clock = db, clock
        self.later: list[tuple[list[int], str]] = []

    async def handle_DATA(self, server, session, envelope):
        if self.count() == 0:
            self.clock[0] += TIMING.send_timeout + timedelta(seconds=1)
            await asyncio.get_running_loop().run_in_executor(None, self.sweep)
        return await super().handle_DATA(server, session, envelope)

    def sweep(self):
        delivery.sweep(self.db, lambda ids, token: self.later.append((ids, token)),
                       now=self.clock[0], rules=RULES, timing=TIMING)


@pytest.mark.timeout(60)
def test_it_sends_a_reminder_once_when_its_send_outlives_the_claim(db):
    add_due_reminders(db, 1, now=NOW)
    [(row_id, token)] = claim(db)
    clock = [NOW]
    relay = ReclaimingRelay(db, clock)
    sink = MailSink()
    sink.handler = sink.controller.handler = relay
    with sink:
        first, second = (delivery.Mailer("127.0.0.1", sink.port, timeout=20) for _ in "12")
        sent = delivery.deliver_batch(db, [row_id], token, first, now=lambda: clock[0],
                                      rules=RULES, timing=TIMING)
        # The sweep took the slow claim back and claimed the row again; the first worker's
        # mail went out all the same and is recorded, so the new claim sends nothing.
        [(ids, new_token)] = relay.later
        again = delivery.deliver_batch(db, ids, new_token, second, now=lambda: clock[0],
                                       rules=RULES, timing=TIMING)
        first.close()
        second.close()
    assert (sent, again) == ({"sent": 1}, {"skipped": 1})
    assert relay.count() == 1
    assert statuses(db) == {SENT: 1}
