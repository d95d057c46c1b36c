"""The whole path with real processes: beat sweeps the outbox, a Celery worker sends over
SMTP to a real aiosmtpd server; through a real redis-server, and through the embedded broker.
Every fault test counts what the SMTP server received against the outbox."""

import time
from collections import Counter

import pytest
from servers import (
    CeleryProcess,
    MailSink,
    RedisServer,
    add_due_reminders,
    celery_env,
    organisation_file,
    wait_for,
)
from sqlmodel import select

from cases.db import make_engine, migrate, write_session
from notifications import outbox
from notifications.celery_app import clean_embedded_broker, prepare_embedded_broker
from notifications.email import message_id
from notifications.models import SENT, Reminder

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


class Setup:
    """A migrated database, a mail sink and the environment for worker and beat."""

    def __init__(self, tmp_path, sink: MailSink, broker_url: str):
        self.tmp_path = tmp_path
        self.sink = sink
        self.url = f"sqlite:///{tmp_path / 'sagsgang.db'}"
        migrate(self.url)
        self.engine = make_engine(self.url)
        self.env = celery_env(database_url=self.url, broker_url=broker_url,
                              smtp_port=sink.port, var_dir=tmp_path,
                              organisation=organisation_file(tmp_path))

    def worker(self, name="w1") -> CeleryProcess:
        return CeleryProcess("worker", self.env, self.tmp_path, name)

    def beat(self, name="beat") -> CeleryProcess:
        return CeleryProcess("beat", self.env, self.tmp_path, name)

    def statuses(self) -> dict:
        with write_session(self.engine) as session:
            return outbox.counts_by_status(session)

    def sent(self) -> int:
        return self.statuses().get(SENT, 0)

    def wait_all_sent(self, total: int, timeout: float = 90, *processes):
        try:
            wait_for(lambda: self.sent() == total, timeout, interval=0.2,
                     what=f"{total} reminders sent")
        except TimeoutError:
            logs = "\n\n".join(f"--- {p.name}\n{p.tail()}" for p in processes)
            raise AssertionError(f"outbox: {self.statuses()}\n{logs}") from None

    def check_received(self, keys: list[str]) -> Counter:
        """Every reminder arrived; returns the count of copies beyond the first."""
        received = self.sink.handler.message_ids()
        expected = {message_id(k) for k in keys}
        assert set(received) == expected, "lost or unexpected messages"
        with write_session(self.engine) as session:
            marked = set(session.exec(select(Reminder.message_id)
                                      .where(Reminder.status == SENT)))
        assert marked == expected
        return Counter({mid: n - 1 for mid, n in received.items() if n > 1})


@pytest.fixture
def sink():
    with MailSink() as server:
        yield server


@pytest.fixture
def redis(tmp_path):
    with RedisServer(tmp_path / "redis") as server:
        yield server


def test_it_delivers_due_reminders_through_redis(tmp_path, sink, redis):
    setup = Setup(tmp_path, sink, redis.url)
    keys = add_due_reminders(setup.engine, 60)
    with setup.worker() as worker, setup.beat() as beat:
        setup.wait_all_sent(60, 60, worker, beat)
    assert setup.check_received(keys) == Counter()


def test_it_delivers_due_reminders_through_the_embedded_broker(tmp_path, sink):
    broker = f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    setup = Setup(tmp_path, sink, broker)
    keys = add_due_reminders(setup.engine, 30)
    prepare_embedded_broker(broker)  # as `sagsgang run` does before starting them
    with setup.worker() as worker, setup.beat() as beat:
        setup.wait_all_sent(30, 60, worker, beat)
    assert setup.check_received(keys) == Counter()
    # Delivered messages stay in kombu's table until the periodic clean-up removes them.
    assert clean_embedded_broker(broker) >= 3
    assert clean_embedded_broker(broker) == 0


def test_it_loses_nothing_when_a_worker_is_killed_mid_batch(tmp_path, sink, redis):
    setup = Setup(tmp_path, sink, redis.url)
    keys = add_due_reminders(setup.engine, 150)
    with setup.beat() as beat:
        first = setup.worker("w1").start()
        wait_for(lambda: sink.handler.count() >= 20, 60, what="the first mails")
        first.kill()
        killed_at = sink.handler.count()
        assert killed_at < 150, "the batch finished before the kill"
        with setup.worker("w2") as second:
            setup.wait_all_sent(150, 90, second, beat)
        first.stop()
    duplicates = setup.check_received(keys)
    print(f"SIGKILL after {killed_at} mails: {sum(duplicates.values())} duplicate(s)")
    assert sum(duplicates.values()) <= 1, duplicates  # at most the one in flight


def test_it_loses_nothing_when_redis_restarts_mid_run(tmp_path, sink, redis):
    setup = Setup(tmp_path, sink, redis.url)
    keys = add_due_reminders(setup.engine, 150)
    with setup.worker() as worker, setup.beat() as beat:
        wait_for(lambda: sink.handler.count() >= 20, 60, what="the first mails")
        redis.restart()  # no persistence: every queued message is gone
        assert sink.handler.count() < 150, "the batch finished before the restart"
        setup.wait_all_sent(150, 120, worker, beat)
    assert setup.check_received(keys) == Counter()


def test_it_delivers_everything_after_smtp_refused_for_a_while(tmp_path, sink, redis):
    setup = Setup(tmp_path, sink, redis.url)
    keys = add_due_reminders(setup.engine, 40)
    sink.handler.refusing = True
    with setup.worker() as worker, setup.beat() as beat:
        wait_for(lambda: sink.handler.refused >= 10, 60, what="refusals")
        sink.handler.refusing = False
        setup.wait_all_sent(40, 60, worker, beat)
    assert setup.check_received(keys) == Counter()
    with write_session(setup.engine) as session:
        attempts = session.exec(select(Reminder.attempts)).all()
    assert max(attempts) > 1  # some were retried


def test_it_sends_once_with_two_beats_running(tmp_path, sink, redis):
    setup = Setup(tmp_path, sink, redis.url)
    keys = add_due_reminders(setup.engine, 100)
    with setup.worker("w1") as w1, setup.worker("w2") as w2, \
            setup.beat("beat1") as beat1, setup.beat("beat2") as beat2:
        setup.wait_all_sent(100, 60, w1, w2, beat1, beat2)
        time.sleep(1.5)  # a few more sweeps from both beats: still nothing sent twice
    assert setup.check_received(keys) == Counter()
