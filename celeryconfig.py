"""Celery configuration for the reminder workers and beat (notifications.celery_app).

The broker comes from SAGSGANG_BROKER_URL: Redis in production
(redis://host:6379/0); by default an embedded SQLite broker under var/, so that `make run`
needs no server (its caveats, in docs/engineering.md, are handled in
notifications.celery_app). Times are Europe/Copenhagen; due work is found by an interval
sweep of the outbox, never by ETA/countdown tasks or crontabs.
"""

from datetime import timedelta

from cases.settings import load_settings

# Read and checked when worker or beat starts: a bad setting stops it with its message.
_settings = load_settings()

broker_url = _settings.broker_url
broker_connection_retry_on_startup = True
# Results are not used: the outbox row is the record of what happened.
task_ignore_result = True
result_backend = None

timezone = "Europe/Copenhagen"
enable_utc = True

# An email task is acknowledged after it ran and a worker holds one message at a time, so a
# dying worker loses at most the one it holds; the outbox's sweeper recovers even that.
task_acks_late = True
worker_prefetch_multiplier = 1
task_serializer = "json"
accept_content = ["json"]
worker_hijack_root_logger = False

beat_schedule_filename = str(_settings.var_dir / "celerybeat-schedule")
# A sweep (or PDF pass) that waited in the queue longer than its interval is useless: a newer
# one is behind it and does its work. Dropped, it leaves the worker to the mail the sweeps
# queued, which a backlog of stale sweeps would otherwise hold up (a few seconds' grace for a
# short interval).
_STALE_AFTER = max(_settings.sweep_seconds, 5)
beat_schedule = {
    "sweep-reminders": {
        "task": "notifications.sweep",
        "schedule": timedelta(seconds=_settings.sweep_seconds),
        "options": {"expires": _STALE_AFTER},
    },
    # A published agenda's PDFs (meetings.pdf.keep_unkept): a PDF asked for meanwhile is made
    # from the publication, as it will be kept.
    "keep-pdfs": {
        "task": "meetings.keep_pdfs",
        "schedule": timedelta(seconds=_settings.sweep_seconds),
        "options": {"expires": _STALE_AFTER},
    },
    "plan-reminders": {
        "task": "notifications.plan",
        "schedule": timedelta(seconds=_settings.plan_seconds),
    },
    "clean-embedded-broker": {
        "task": "notifications.clean_broker",
        "schedule": timedelta(minutes=10),
    },
}
