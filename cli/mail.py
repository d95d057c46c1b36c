"""`sagsgang run`, `sagsgang reminders …` and `sagsgang mail …`.

`run` starts everything on embedded defaults: the database is migrated (and given the demo
data when empty), then a local mail sink, a Celery worker, exactly one beat and, when the web
application exists, uvicorn. Ctrl-C stops them all.
"""

import os
import signal
import subprocess
import sys
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

import click
from sqlmodel import func, select

from cases import settings
from cases.dates import format_instant
from cases.db import migrate, read_session, write_session
from cases.models import Case, User, utcnow
from demo import cases as demo
from demo.users import DEMO_USERS, demo_logins_text
from notifications import outbox
from notifications.config import current_rules
from notifications.email import written_out
from notifications.mailsink import saved_messages
from notifications.models import STATUSES, Reminder
from notifications.rules import KINDS

STATUS_LABELS = {"pending": "venter", "sending": "sendes", "sent": "sendt",
                 "failed": "fejlet", "cancelled": "annulleret"}


# -- sagsgang reminders ------------------------------------------------------------------------

@click.group("reminders")
def reminders():
    """Påmindelser: se udbakken, fejlede e-mails og send dem igen."""


def _echo_rows(rows: list[Reminder]) -> None:
    for row in rows:
        click.echo(f"{row.id:>6}  {STATUS_LABELS.get(row.status, row.status):<10} "
                   f"{format_instant(row.next_attempt_at):<16}  {KINDS.get(row.kind, row.kind):<32}"
                   f" {written_out(row.recipient)}")
        if row.last_error and row.status in ("failed", "pending"):
            click.echo(f"        {row.last_error}")


@reminders.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Kun denne status.")
@click.option("--limit", type=int, default=50, help="Højst så mange (nyeste først).")
def reminders_list(status, limit):
    """List påmindelser i udbakken."""
    with read_session() as session:
        query = select(Reminder).order_by(Reminder.next_attempt_at.desc()).limit(limit)
        if status:
            query = query.where(Reminder.status == status)
        rows = list(session.exec(query))
        counts = outbox.counts_by_status(session)
    _echo_rows(rows)
    click.echo("I alt: " + ", ".join(f"{STATUS_LABELS[s]} {counts.get(s, 0)}"
                                      for s in STATUSES))


@reminders.command("failed")
def reminders_failed():
    """Vis påmindelser, der ikke kunne sendes (til sekretariatet)."""
    with read_session() as session:
        rows = outbox.failed_rows(session)
    if not rows:
        click.echo("Ingen fejlede påmindelser.")
        return
    _echo_rows(rows)


@reminders.command("retry")
@click.argument("reminder_id", type=int)
def reminders_retry(reminder_id):
    """Send en fejlet påmindelse igen (fx efter rettet e-mailadresse)."""
    with write_session() as session:
        done = outbox.retry_failed(session, reminder_id, utcnow(), current_rules())
    if not done:
        click.echo(f"Fejl: påmindelse {reminder_id} findes ikke eller er ikke fejlet.", err=True)
        sys.exit(1)
    click.echo(f"Påmindelse {reminder_id} sendes igen ved næste gennemløb.")


# -- sagsgang mail -----------------------------------------------------------------------------

@click.group("mail")
def mail():
    """E-mails modtaget af den lokale postkasse (`sagsgang run`)."""


@mail.command("list")
def mail_list():
    """List modtagne e-mails, ældste først."""
    messages = saved_messages()
    if not messages:
        click.echo("Ingen e-mails modtaget endnu.")
    for number, (_, message) in enumerate(messages, start=1):
        click.echo(f"{number:>4}  {_sent(message['Date']):<16}  {message['To'] or '':<40} "
                   f"{message['Subject'] or ''}")


def _sent(header: str | None) -> str:
    """A mail's Date header as 04-10-2022 17:03, Copenhagen time (the header is English)."""
    try:
        return format_instant(parsedate_to_datetime(header))
    except (TypeError, ValueError):
        return header or ""


@mail.command("show")
@click.argument("number", type=int)
@click.option("--html", is_flag=True, help="Vis HTML-udgaven i stedet for teksten.")
def mail_show(number, html):
    """Vis e-mail nummer NUMBER fra `sagsgang mail list`."""
    messages = saved_messages()
    if not 1 <= number <= len(messages):
        click.echo(f"Fejl: der er ingen e-mail nummer {number} ({len(messages)} modtaget).",
                   err=True)
        sys.exit(1)
    path, message = messages[number - 1]
    for header in ("From", "To", "Date", "Subject", "Message-ID", "List-Unsubscribe"):
        if message[header]:
            click.echo(f"{header}: {message[header]}")
    click.echo(f"Fil: {path}")
    click.echo("")
    body = message.get_body(("html",) if html else ("plain",))
    click.echo(body.get_content() if body else "(ingen tekst)")


# -- sagsgang run ------------------------------------------------------------------------------

def _load_demo_if_empty() -> str | None:
    with read_session() as session:
        if session.exec(select(func.count()).select_from(Case)).one():
            return None
    import inspect

    if inspect.signature(demo.load_demo).parameters:
        with write_session() as session:
            demo.load_demo(session)
    else:
        demo.load_demo()
    return "Demodata indlæst."


def _var_dir() -> Path:
    return settings.get_settings().var_dir


class Children:
    """The child processes of `run`, each in its own session so that Ctrl-C reaches only us
    and we stop them in order."""

    def __init__(self, env: dict, log_dir: Path):
        self.env, self.log_dir = env, log_dir
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str]) -> None:
        log = open(self.log_dir / f"{name}.log", "ab")
        process = subprocess.Popen(command, env=self.env, cwd=str(settings.PROJECT_DIR),
                                   stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.running.append((name, process))

    def dead(self) -> str | None:
        for name, process in self.running:
            if process.poll() is not None:
                return name
        return None

    def stop(self, grace: float = 15) -> None:
        """SIGTERM to each (the web finishes its requests, a worker its message), and after
        `grace` seconds SIGKILL to any still running."""
        for _, process in reversed(self.running):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _, process in reversed(self.running):
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@click.command("run")
@click.option("--host", default="127.0.0.1", help="Webserverens adresse.")
@click.option("--port", type=int, default=8000, help="Webserverens port.")
@click.option("--smtp-port", type=int, default=8025, help="Den lokale postkasses port.")
def run(host, port, smtp_port):
    """Start web, Celery-worker, én beat og en lokal postkasse (Ctrl-C stopper alt)."""
    # Celery is imported here, not at the top: it takes a noticeable part of a second, and
    # only `run` needs it (every other command should answer at once).
    from notifications.celery_app import app, is_embedded_broker, prepare_embedded_broker

    # Ctrl-C and SIGTERM (`timeout`, a service manager) both mean "stop everything": catch
    # them before the first child starts, so none is left behind whenever they come.
    stopping = _catch_stop_signals()
    var = _var_dir()
    logs = var / "log"
    logs.mkdir(parents=True, exist_ok=True)
    migrate()
    loaded = _load_demo_if_empty()
    if loaded:
        click.echo(loaded)
    if stopping:  # stopped while the database was prepared: nothing started yet
        click.echo("Stoppet.")
        return
    env = dict(os.environ)
    env.setdefault("SAGSGANG_SITE_URL", f"http://{host}:{port}")
    own_sink = "SAGSGANG_SMTP_HOST" not in os.environ
    if own_sink:
        env.update({"SAGSGANG_SMTP_HOST": "127.0.0.1", "SAGSGANG_SMTP_PORT": str(smtp_port)})
        # The demo's mail goes to the local mail sink at once, evening and weekend too.
        env.setdefault("SAGSGANG_OFFICE_HOURS_ONLY", "false")
        os.environ.setdefault("SAGSGANG_OFFICE_HOURS_ONLY", "false")
        settings.get_settings.cache_clear()
    prepare_embedded_broker()
    python = sys.executable
    children = Children(env, logs)
    if own_sink:
        children.start("mail", [python, "-m", "notifications.mailsink", "--port",
                                str(smtp_port), "--dir", str(var / "mail")])
    children.start("worker", [python, "-m", "celery", "-A", "notifications.celery_app",
                              "worker", "--concurrency=2", "--loglevel=INFO",
                              "--without-gossip", "--without-mingle"])
    children.start("beat", [python, "-m", "celery", "-A", "notifications.celery_app", "beat",
                            "--loglevel=INFO", "-s", str(var / "celerybeat-schedule")])
    web = (settings.PROJECT_DIR / "web" / "app.py").exists()
    if web:
        children.start("web", [python, "-m", "uvicorn", "web.app:app", "--host", host,
                               "--port", str(port)])
    broker = "indlejret (SQLite)" if is_embedded_broker() else app.conf.broker_url
    if web:
        click.echo(_address_and_logins(f"http://{host}:{port}"))
    else:
        click.echo("Webdelen findes ikke endnu; kun påmindelser kører.")
    click.echo(f"Kø: {broker}; Celery-worker og én beat kører.")
    if own_sink:
        click.echo(f"Lokal postkasse på 127.0.0.1:{smtp_port}; læs post med `sagsgang mail "
                   f"list` og `sagsgang mail show N` (gemt i {var / 'mail'}).")
    rules = current_rules()
    if rules.office_hours_only:
        start, end = rules.office_hours
        click.echo(f"Påmindelser sendes på hverdage {start:%H:%M}-{end:%H:%M} "
                   "(office_hours_only i organisationens [reminders]).")
    else:
        click.echo("Påmindelser sendes med det samme, også uden for kontortid "
                   "(SAGSGANG_OFFICE_HOURS_ONLY=false).")
    click.echo(f"Logfiler i {logs}. Stop med Ctrl-C.")
    died = _wait_for_stop(children, stopping)
    if died:
        click.echo(f"Fejl: {died} stoppede uventet; se {logs / (died + '.log')}", err=True)
    click.echo("Stopper …")
    children.stop()
    click.echo("Stoppet.")
    if died:
        sys.exit(1)


def _catch_stop_signals() -> list:
    """A list that gets an entry on Ctrl-C or SIGTERM; our own handlers, also when started
    in the background where SIGINT is ignored."""
    stopping = []
    signal.signal(signal.SIGTERM, lambda *a: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *a: stopping.append(True))
    return stopping


def _wait_for_stop(children: Children, stopping: list) -> str | None:
    """Until Ctrl-C or SIGTERM (None), or until a child dies (its name)."""
    while not stopping:
        died = children.dead()
        if died:
            return died
        time.sleep(0.5)
    return None


def _address_and_logins(base_url: str) -> str:
    """The address, and the demo logins when the demo users are in this database."""
    with read_session() as session:
        present = session.exec(select(User.id).where(User.username == DEMO_USERS[0][0])).first()
    return demo_logins_text(base_url) if present else f"Sagsgang kører på {base_url}"
