"""The Celery application of the reminder workers and beat, configured from celeryconfig.py.

    celery -A notifications.celery_app worker      (any number of these)
    celery -A notifications.celery_app beat        (exactly one)
"""

import fcntl
import logging
import os
from pathlib import Path

import redis
import sqlalchemy as sa
from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import setup_logging, worker_process_init

from cases import logs
from cases.settings import get_settings

log = logging.getLogger(__name__)

app = Celery("sagsgang", include=["notifications.tasks"])
app.config_from_object("celeryconfig")
app.conf.beat_scheduler = "notifications.celery_app:SingleBeat"

if get_settings().log_format == "json":
    # Connected, this signal replaces Celery's own logging setup (workers and beat alike).
    @setup_logging.connect
    def _json_logs(**kwargs):
        logs.setup_logging("json")

# The beat lock: held for LOCK_SECONDS and renewed every RENEW_SECONDS by the beat that sends;
# a beat without it asks again every WAIT_SECONDS. A holder killed without a goodbye is
# replaced within LOCK_SECONDS (one that stops cleanly lets go at once).
LOCK_SECONDS, RENEW_SECONDS, WAIT_SECONDS = 30.0, 10.0, 2.0
LOCK_NAME = "sagsgang:beat"


@worker_process_init.connect
def _fresh_connections_after_fork(**kwargs):
    # A pooled database connection must not be shared across prefork's fork(): the child
    # starts a new pool and leaves the parent's connections alone.
    from cases.db import get_engine

    get_engine().dispose(close=False)


# A worker's pool processes yield the CPU to the web processes beside them: rendering an
# agenda's PDFs or sending a batch of mail can wait a moment, a person on a page should not
# (on two shared cores they would otherwise take turns at the same priority).
WORKER_NICENESS = 10


@worker_process_init.connect
def _yield_to_the_web(**kwargs):
    os.nice(WORKER_NICENESS)


def is_embedded_broker(url: str | None = None) -> bool:
    return (url or app.conf.broker_url).startswith("sqla+sqlite")


def prepare_embedded_broker(url: str | None = None) -> None:
    """Create the embedded broker's tables and queue before any worker or beat starts:
    processes starting together on a fresh broker database race to create the queue
    (docs/engineering.md), and a beat that loses that race keeps a dead channel."""
    url = url or app.conf.broker_url
    if not is_embedded_broker(url):
        return
    path = url.split("///", 1)[1]

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with app.connection_for_write(url) as connection:
        channel = connection.default_channel
        channel._get_or_create(app.conf.task_default_queue)


def clean_embedded_broker(url: str | None = None) -> int:
    """Delete delivered messages, which kombu's SQLAlchemy transport never deletes."""
    url = url or app.conf.broker_url
    if not is_embedded_broker(url):
        return 0

    engine = sa.create_engine(url.removeprefix("sqla+"))
    try:
        with engine.begin() as connection:
            return connection.execute(
                sa.text("DELETE FROM kombu_message WHERE visible = 0")).rowcount
    finally:
        engine.dispose()


# -- exactly one beat --------------------------------------------------------------------------

class RedisBeatLock:
    """The beat lock in Redis, where the workers' queue is (redis-py's Lock: a key with a
    random token and an expiry, renewed only by its owner)."""

    def __init__(self, url: str):
        client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        self.lock = client.lock(LOCK_NAME, timeout=LOCK_SECONDS, thread_local=False)
        self.owned = False

    def held(self) -> bool:
        """Renew the lock if we have it, take it if it is free; whether we hold it now."""
        try:
            if self.owned:
                try:
                    self.lock.reacquire()
                    return True
                except redis.exceptions.LockError:  # expired, or Redis restarted empty
                    self.owned = False
            self.owned = self.lock.acquire(blocking=False)
        except redis.exceptions.RedisError as error:
            # No Redis, no queue: nothing could be sent anyway. Ask again later.
            log.warning("beat lock: Redis cannot be reached (%s)", error)
            self.owned = False
        return self.owned

    def release(self) -> None:
        if self.owned:
            try:
                self.lock.release()
            except redis.exceptions.RedisError:
                pass  # it expires by itself
            self.owned = False


class FileBeatLock:
    """The beat lock of the embedded broker, which lives on one machine: a file lock in the
    var directory, released by the system when its process ends, however it ends."""

    def __init__(self, path: Path):
        self.path, self.fd = path, None

    def held(self) -> bool:
        if self.fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            self.fd = fd
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing lets go of the lock
            self.fd = None


def beat_lock(url: str | None = None):
    url = url or app.conf.broker_url
    if url.startswith(("redis://", "rediss://")):
        return RedisBeatLock(url)
    return FileBeatLock(get_settings().var_dir / "beat.lock")


class SingleBeat(PersistentScheduler):
    """Celery beat that sends its tasks only while it holds the beat lock: a second beat
    started by mistake waits and sends nothing, and takes over when the first is gone.
    (The outbox's unique keys would make a second sweep harmless; this makes it absent.)"""

    def __init__(self, *args, **kwargs):
        self.lock = beat_lock()
        self.waiting = False
        super().__init__(*args, **kwargs)

    def tick(self, *args, **kwargs):
        if not self.lock.held():
            if not self.waiting:
                log.info("beat lock held by another beat: this one sends nothing and waits")
                self.waiting = True
            return WAIT_SECONDS
        if self.waiting:
            log.info("beat lock taken: this beat sends from now on")
            self.waiting = False
        return min(super().tick(*args, **kwargs), RENEW_SECONDS)

    def close(self):
        super().close()
        self.lock.release()
