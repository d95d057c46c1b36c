"""Real servers for the reminder benchmark and the tests: a redis-server on a free port,
Celery workers and beat as subprocesses, the web app under uvicorn in its own process, and
the due reminders they send.

A benchmark runs without the test suite, so this lives here; the tests take these from here
too (tests/servers.py adds what only they need: the SMTP sink, people, case dumps).
Everything listens on 127.0.0.1 and is stopped by the caller (`with`, or stop()).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cli.web_processes import HEALTHCHECK_SECONDS

PROJECT_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# -- Redis -------------------------------------------------------------------------------------

class RedisServer:
    """A throwaway redis-server without persistence: a restart loses every queued message."""

    def __init__(self, directory: Path, port: int | None = None):
        self.port = port or free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        executable = shutil.which("redis-server")
        if executable is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), 10, what="redis-server")
        return self

    def restart(self, down_seconds: float = 0.5) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# -- Celery ------------------------------------------------------------------------------------

def organisation_file(directory: Path, **overrides) -> Path:
    """The shipped organisation file with some [reminders] settings changed (benchmark and
    tests send at any hour: office_hours_only = false)."""
    import tomllib

    source = PROJECT_DIR / "config" / "ballerup.toml"
    data = tomllib.loads(source.read_text(encoding="utf-8"))
    settings = {"office_hours_only": False, **overrides}
    text = source.read_text(encoding="utf-8")
    head, _, _ = text.partition("[reminders]")
    lines = []
    for key, value in {**data.get("reminders", {}), **settings}.items():
        lines.append(f"{key} = {_toml(value)}")
    path = directory / "organisation.toml"
    path.write_text(head + "[reminders]\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def celery_env(*, database_url: str, broker_url: str, smtp_port: int, var_dir: Path,
               organisation: Path, **extra) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url,
        "SAGSGANG_BROKER_URL": broker_url,
        "SAGSGANG_SMTP_HOST": "127.0.0.1",
        "SAGSGANG_SMTP_PORT": str(smtp_port),
        "SAGSGANG_VAR_DIR": str(var_dir),
        "SAGSGANG_ORGANISATION": str(organisation),
        "SAGSGANG_SWEEP_SECONDS": "0.3",
        "SAGSGANG_SWEEP_BATCH": "50",
        "SAGSGANG_QUEUE_TIMEOUT_SECONDS": "4",
        "SAGSGANG_SEND_TIMEOUT_SECONDS": "4",
        "SAGSGANG_RETRY_BASE_SECONDS": "0.3",
        "SAGSGANG_RETRY_MAX_SECONDS": "1",
        "SAGSGANG_MAX_ATTEMPTS": "100",
        "SAGSGANG_SMTP_TIMEOUT_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


class ChildProcess:
    """A child process of ours that logs to `log_path`: started by a subclass's start()
    (`_spawn`), stopped with SIGTERM (then SIGKILL), its log's tail for a failed test."""

    log_path: Path
    env: dict
    process: subprocess.Popen | None = None

    def _spawn(self, command: list[str]) -> None:
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(command, env=self.env, cwd=str(PROJECT_DIR),
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no chance to finish, acknowledge or clean up."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()
            self.log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class CeleryProcess(ChildProcess):
    """`celery worker` or `celery beat` as a child process, logging to a file."""

    def __init__(self, kind: str, env: dict, log_dir: Path, name: str, *args: str):
        self.kind, self.env, self.name = kind, env, name
        self.log_path = log_dir / f"{name}.log"
        self.args = list(args)
        self.process: subprocess.Popen | None = None

    def command(self) -> list[str]:
        base = [sys.executable, "-m", "celery", "-A", "notifications.celery_app"]
        if self.kind == "worker":
            return base + ["worker", "--pool=solo", "--concurrency=1", "--without-gossip",
                           "--without-mingle", "--without-heartbeat", "-n",
                           f"{self.name}@%h", "--loglevel=INFO", *self.args]
        schedule = Path(self.env["SAGSGANG_VAR_DIR"]) / f"{self.name}-schedule"
        return base + ["beat", "--loglevel=INFO", "-s", str(schedule), *self.args]

    def start(self) -> "CeleryProcess":
        self._spawn(self.command())
        return self


# -- web -------------------------------------------------------------------------------------

class WebServer(ChildProcess):
    """The web app under uvicorn in a child process on a free port, as it runs in production:
    its own process, its own connection pool, its settings from the environment `env`
    (DATABASE_URL and the rest, on top of os.environ). Logs go to `log_dir/web.log`."""

    def __init__(self, env: dict, log_dir: Path, *, workers: int = 1, port: int | None = None):
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **{k: str(v) for k, v in env.items()}}
        self.port = port or free_port()
        self.workers = workers
        self.log_path = log_dir / "web.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "WebServer":
        self._spawn([sys.executable, "-m", "uvicorn", "web.app:app", "--host", "127.0.0.1",
                     "--port", str(self.port), "--log-level", "warning",
                     "--workers", str(self.workers),
                     "--timeout-worker-healthcheck", str(HEALTHCHECK_SECONDS)])
        try:
            wait_for(lambda: port_open(self.port) or self.process.poll() is not None, 30,
                     what="uvicorn")
        except TimeoutError:
            self.stop()
            raise
        if self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"uvicorn stopped at start:\n{self.tail()}")
        return self


# -- PostgreSQL ------------------------------------------------------------------------------

# The server the benchmarks create their own PostgreSQL databases on.
PG_ADMIN_URL = os.environ.get("SAGSGANG_BENCH_PG_ADMIN_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@contextmanager
def bench_database(dialect: str, path: Path) -> Iterator[str]:
    """A migrated database for a benchmark run: SQLite at `path`, or PostgreSQL of our own
    (postgres_database on PG_ADMIN_URL); its URL."""
    if dialect == "sqlite":
        from cases.db import migrate

        url = f"sqlite:///{path}"
        migrate(url)
        yield url
        return
    with postgres_database(PG_ADMIN_URL) as url:
        yield url


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A migrated PostgreSQL database of our own on the server of `admin_url`; its URL.
    Dropped afterwards, whatever happened."""
    import sqlalchemy as sa

    from cases.db import migrate

    name = f"sagsgang_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
        migrate(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


# -- data --------------------------------------------------------------------------------------

def add_due_reminders(engine, count: int, *, title: str, now=None,
                      prefix: str = "bench") -> list[str]:
    """`count` due hearing requests on one case, each to its own address; their keys."""
    from datetime import UTC, datetime, timedelta

    from cases import services
    from cases.db import write_session
    from notifications import outbox
    from notifications.changes import skip_news
    from notifications.rules import Person, ReminderRules, Wanted

    now = now or datetime.now(UTC)
    rules = ReminderRules(office_hours_only=False)
    with write_session(engine) as session:
        case = services.create_case(session, {
            "number": f"{prefix}-{count}", "title": title,
            "centre": "Center for Voksne og Sundhed", "deciding_body": "SU",
            "owner_name": "Sagsbehandler", "owner_email": "ejer@ballerup.dk",
            "proposals": ["Strategien godkendes."]}, actor="bench", now=now)
        skip_news(session, case, now)  # its own reminders derived: the rows below stay
        wanted = [Wanted(key=f"{prefix}:{i}", kind="hearing_request",
                         recipient=Person(f"part{i}@example.org", f"Part {i}"),
                         due_at=now - timedelta(seconds=1), optional=False, case_id=case.id,
                         context={"hearing_id": 1, "party_id": i, "party": f"Part {i}",
                                  "hearing_title": "Høring", "deadline": "2026-03-31"})
                  for i in range(count)]
        for start in range(0, count, 1000):
            outbox.insert_missing(session, wanted[start:start + 1000], now, rules)
    return [w.key for w in wanted]
