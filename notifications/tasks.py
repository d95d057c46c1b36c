"""The Celery tasks: thin wrappers that give the plain functions in notifications.delivery
this process's engine, SMTP connection and queue."""

from cases.db import get_engine
from meetings import pdf
from notifications import delivery
from notifications.celery_app import app, clean_embedded_broker
from notifications.metrics import SWEEP_SECONDS

_mailer: delivery.Mailer | None = None


def mailer() -> delivery.Mailer:
    """One SMTP connection per worker process, made in the process that uses it."""
    global _mailer
    if _mailer is None:
        _mailer = delivery.default_mailer()
    return _mailer


@app.task(name="notifications.send_reminders", acks_late=True, ignore_result=True)
def send_reminders(row_ids: list[int], token: str) -> dict:
    return dict(delivery.deliver_batch(get_engine(), row_ids, token, mailer()))


@app.task(name="notifications.sweep", ignore_result=True)
def sweep() -> dict:
    with SWEEP_SECONDS.time():
        return delivery.sweep(get_engine(), enqueue)


@app.task(name="notifications.plan", ignore_result=True)
def plan() -> dict:
    return delivery.plan(get_engine())


@app.task(name="meetings.keep_pdfs", ignore_result=True)
def keep_pdfs() -> int:
    """Published agendas' PDFs, made here rather than in the publishing web request."""
    return pdf.keep_unkept(get_engine())


@app.task(name="notifications.clean_broker", ignore_result=True)
def clean_broker() -> int:
    return clean_embedded_broker()


def enqueue(row_ids: list[int], token: str) -> None:
    send_reminders.apply_async((row_ids, token), retry=False)
