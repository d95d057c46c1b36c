"""What Prometheus is told about the reminders: the sweep's duration (measured where the
sweep runs, in a worker), and the outbox as it stands (counted from the database when
scraped, so every web process reports the same numbers whichever one is asked)."""

from datetime import datetime

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlmodel import func, select

from cases.db import read_session
from cases.models import utcnow
from notifications import outbox
from notifications.models import FAILED, PENDING, STATUSES, Reminder

# Our own registry, not prometheus-client's global one: a module imported anew (as
# tests/test_imports.py does) makes its metrics anew instead of clashing with the old ones.
# With PROMETHEUS_MULTIPROC_DIR set, the values go to that directory whatever the registry.
REGISTRY = CollectorRegistry()

SWEEP_SECONDS = Histogram("sagsgang_sweep_duration_seconds",
                          "How long one sweep of the outbox took (derive, release, claim).",
                          buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
                          registry=REGISTRY)


def oldest_due_age(session, now: datetime) -> float:
    """Seconds since the oldest reminder still waiting became due (0 when none waits)."""
    oldest = session.exec(select(func.min(Reminder.next_attempt_at)).where(
        Reminder.status == PENDING, Reminder.next_attempt_at <= now)).one()
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # SQLite's MIN() gives the stored text back without its type
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return max((now - oldest).total_seconds(), 0.0)


class OutboxCollector:
    """A Prometheus collector that reads the outbox when scraped."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def collect(self):
        now = utcnow()
        with read_session(self.engine) as session:
            counts = outbox.counts_by_status(session)
            age = oldest_due_age(session, now)
        depth = GaugeMetricFamily("sagsgang_outbox_reminders",
                                  "Reminders in the outbox by status.", labels=["status"])
        for status in STATUSES:
            depth.add_metric([status], counts.get(status, 0))
        yield depth
        yield GaugeMetricFamily("sagsgang_oldest_due_reminder_age_seconds",
                                "How long the oldest due reminder has waited to be sent.",
                                value=age)
        yield GaugeMetricFamily("sagsgang_failed_mails",
                                "Reminders that could not be sent (the secretariat's list).",
                                value=counts.get(FAILED, 0))
