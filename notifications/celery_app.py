"""The Celery application of the reminder workers and beat, configured from celeryconfig.py.

    celery -A notifications.celery_app worker      (any number of these)
    celery -A notifications.celery_app beat        (exactly one)
"""

from pathlib import Path

import sqlalchemy as sa
from celery import Celery
from celery.signals import worker_process_init

app = Celery("sagsgang", include=["notifications.tasks"])
app.config_from_object("celeryconfig")


@worker_process_init.connect
def _fresh_connections_after_fork(**kwargs):
    # A pooled database connection must not be shared across prefork's fork(): the child
    # starts a new pool and leaves the parent's connections alone.
    from cases.db import get_engine

    get_engine().dispose(close=False)


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
