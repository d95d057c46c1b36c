"""Exactly one beat: a second beat started by mistake sends nothing, and takes over when the
first one stops (notifications.celery_app.SingleBeat), against a real redis-server."""

import pytest
from servers import CeleryProcess, RedisServer, celery_env, free_port, organisation_file, wait_for

from notifications.celery_app import FileBeatLock

SENT = "Scheduler: Sending due task"


def log_of(beat: CeleryProcess) -> str:
    return beat.log_path.read_text(errors="replace") if beat.log_path.exists() else ""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_second_beat_sends_nothing_until_the_first_is_gone(tmp_path, sqlite_url):
    with RedisServer(tmp_path / "redis") as redis:
        env = celery_env(database_url=sqlite_url, broker_url=redis.url, smtp_port=free_port(),
                         var_dir=tmp_path, organisation=organisation_file(tmp_path))
        with CeleryProcess("beat", env, tmp_path, "first") as first:
            wait_for(lambda: log_of(first).count(SENT) >= 3, 60, interval=0.2,
                     what="the first beat sending")
            with CeleryProcess("beat", env, tmp_path, "second") as second:
                wait_for(lambda: "this one sends nothing" in log_of(second), 60, interval=0.2,
                         what="the second beat waiting")
                sent_before = log_of(first).count(SENT)
                # The sweep runs every 0.3 s: the first beat goes on sending meanwhile.
                wait_for(lambda: log_of(first).count(SENT) >= sent_before + 10, 30,
                         interval=0.2, what="the first beat sending on")
                assert SENT not in log_of(second), second.tail()
                first.stop()
                wait_for(lambda: SENT in log_of(second), 30, interval=0.2,
                         what="the second beat taking over")
                assert "beat lock taken: this beat sends from now on" in log_of(second)


def test_the_file_lock_of_the_embedded_broker_admits_one_holder(tmp_path):
    one, two = FileBeatLock(tmp_path / "beat.lock"), FileBeatLock(tmp_path / "beat.lock")
    assert one.held() and one.held()
    assert not two.held()
    one.release()
    assert two.held()
    two.release()
