"""`sagsgang serve`: the production profile on one machine. N web processes (uvicorn's
supervisor, a listening socket per process: cli.web_processes), a Celery worker with M
processes and exactly one beat, against DATABASE_URL and SAGSGANG_BROKER_URL; SIGTERM or
Ctrl-C drains and stops them all.

The children are those of `sagsgang run` (cli.mail.Children), without the demo and the
mail sink: the database must already be migrated (`sagsgang init-db` is a deploy step), and
mail goes to SAGSGANG_SMTP_HOST.
"""

import os
import shutil
import sys
from pathlib import Path

import click

from cases import settings
from cases.db import engine_for
from cli.mail import Children, _catch_stop_signals, _wait_for_stop
from notifications.health import check_database


def web_command(host: str, port: int, processes: int, grace: int) -> list[str]:
    # uvicorn's own supervisor, a listening socket per process (cli.web_processes): restarts
    # a process that dies; on SIGTERM each stops taking connections and finishes the
    # requests it has (at most `grace` seconds).
    return [sys.executable, "-m", "cli.web_processes", "web.app:app", "--host", host,
            "--port", str(port), "--processes", str(processes), "--grace", str(grace)]


def worker_command(processes: int) -> list[str]:
    # On SIGTERM a Celery worker shuts down warm: each process finishes its current message.
    return [sys.executable, "-m", "celery", "-A", "notifications.celery_app", "worker",
            f"--concurrency={processes}", "--loglevel=INFO", "--without-gossip",
            "--without-mingle"]


def beat_command(var) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "notifications.celery_app", "beat",
            "--loglevel=INFO", "-s", str(var / "celerybeat-schedule")]


def processes(count: int, kind: str = "") -> str:
    return f"{count} {kind}{'proces' if count == 1 else 'processer'}"


def fresh_metrics_dir(path: Path) -> Path:
    """Where every web and worker process writes its counts for /metrics (prometheus-client's
    multiprocess mode); emptied at start, as counts of processes gone must not add up."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@click.command("serve")
@click.option("--host", default="127.0.0.1", help="Webserverens adresse (0.0.0.0: alle).")
@click.option("--port", type=int, default=8000, help="Webserverens port.")
@click.option("--web", "web_processes", type=click.IntRange(1, 64), default=2,
              help="Antal webprocesser.")
@click.option("--workers", "worker_processes", type=click.IntRange(1, 64), default=2,
              help="Antal Celery-workerprocesser.")
@click.option("--grace", type=click.IntRange(1, 3600), default=60,
              help="Sekunder igangværende forespørgsler og e-mails får, når der stoppes.")
def serve(host, port, web_processes, worker_processes, grace):
    """Start driftsprofilen: N webprocesser, M Celery-workere og én beat."""
    # Here, not at the top: Celery and kombu take a noticeable part of a second to import,
    # and every other command should answer at once.
    from kombu import Connection

    from notifications.celery_app import prepare_embedded_broker

    stopping = _catch_stop_signals()
    current = settings.get_settings()
    database, schema = check_database(engine_for(current.database_url))
    for check in (database, schema):
        if not check.ok:
            click.echo(f"Fejl: {check.problem} ({check.detail})", err=True)
            sys.exit(1)
    logs = current.var_dir / "log"
    logs.mkdir(parents=True, exist_ok=True)
    prepare_embedded_broker()
    if stopping:
        click.echo("Stoppet.")
        return
    env = dict(os.environ)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(fresh_metrics_dir(current.var_dir / "metrics"))
    children = Children(env, logs)
    children.start("web", web_command(host, port, web_processes, grace))
    children.start("worker", worker_command(worker_processes))
    children.start("beat", beat_command(current.var_dir))
    broker = Connection(current.broker_url).as_uri()  # without its password
    click.echo(f"Sagsgang kører på http://{host}:{port}: {processes(web_processes, 'web')}, "
               f"Celery-worker med {processes(worker_processes)} og én beat.")
    click.echo(f"Kø: {broker}. Logfiler i {logs}. Stop med Ctrl-C eller SIGTERM.")
    died = _wait_for_stop(children, stopping)
    if died:
        click.echo(f"Fejl: {died} stoppede uventet; se {logs / (died + '.log')}", err=True)
    click.echo("Stopper (igangværende forespørgsler og e-mails gøres færdige) …")
    children.stop(grace + 10)
    click.echo("Stoppet.")
    if died:
        sys.exit(1)
