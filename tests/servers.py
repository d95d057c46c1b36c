"""Real servers for the tests: an aiosmtpd server that records (or refuses) mail, and the
redis-server and Celery processes of bench/servers.py (which the benchmarks use without the
tests); people, cases and due reminders made through the service layer; a database dump.

Everything listens on 127.0.0.1 and is stopped by the caller (the fixtures use `with`).
"""

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default as default_policy

from aiosmtpd.controller import Controller

from bench import servers as bench_servers
from bench.servers import (  # noqa: F401  (the tests take them from here)
    CeleryProcess,
    RedisServer,
    WebServer,
    celery_env,
    free_port,
    organisation_file,
    port_open,
    wait_for,
)

# -- the web app in a thread (for the browser tests) --------------------------------------

@contextmanager
def app_in_thread(database_url: str) -> Iterator[str]:
    """The web app on `database_url` under uvicorn in a thread of this process, on a free
    port; yields its base URL. (Tests of processes use WebServer: the app in its own.)"""
    import uvicorn

    from web.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(database_url), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 20, what="uvicorn")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- SMTP --------------------------------------------------------------------------------------

class RecordingHandler:
    """Records every accepted message; refuses with 451 while `refusing` is set, and with
    550 for recipients in `reject`."""

    def __init__(self):
        self.messages: list = []
        self.lock = threading.Lock()
        self.refusing = False
        self.refused = 0
        self.reject: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refusing:
            self.refused += 1
            return "451 4.3.0 Try again later"
        message = message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted"

    def message_ids(self) -> Counter:
        with self.lock:
            return Counter(m["Message-ID"] for m in self.messages)

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


class MailSink:
    """A real aiosmtpd SMTP server on a free port."""

    def __init__(self, port: int | None = None):
        self.handler = RecordingHandler()
        self.port = port or free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


# -- Celery ------------------------------------------------------------------------------------

HOSTILE_TITLE = 'Ny <script>alert("x")</script> & "plan" for ældre'


def add_people(session) -> None:
    """A secretariat user, a manager of Center for Voksne og Sundhed and a member of HR."""
    from cases.models import Membership, User

    session.add(User(username="sekr", name="Sekretariatet", email="sekr@ballerup.dk",
                     role="secretariat"))
    session.add(User(username="chef", name="Centerchef", email="chef@ballerup.dk",
                     role="manager", centre="Center for Voksne og Sundhed"))
    member = User(username="hr1", name="Rådsmedlem", email="hr1@example.org", role="member")
    session.add(member)
    session.flush()
    session.add(Membership(user_id=member.id, body_code="HR"))
    session.flush()


def create_case(session, number: str = "26-001", title: str = "Udsattestrategi", now=None):
    from cases import services

    return services.create_case(session, {
        "number": number, "title": title, "centre": "Center for Voksne og Sundhed",
        "deciding_body": "SU", "owner_name": "Sagsbehandler",
        "owner_email": "ejer@ballerup.dk", "proposals": ["Strategien godkendes."],
    }, actor="test", now=now)


def add_due_reminders(engine, count: int, *, title: str = HOSTILE_TITLE, now=None,
                      prefix: str = "test") -> list[str]:
    """`count` due hearing requests on one case, each to its own address; their keys. The
    benchmark's, with a title that tests the escaping and keys of the tests' own."""
    return bench_servers.add_due_reminders(engine, count, title=title, now=now, prefix=prefix)


def database_dump(engine_or_url) -> dict:
    """Every row of every table, to prove that a refused action wrote nothing."""
    import sqlalchemy as sa

    engine = sa.create_engine(engine_or_url) if isinstance(engine_or_url, str) \
        else engine_or_url
    try:
        with engine.connect() as conn:
            return {name: sorted(repr(tuple(row)) for row in
                                 conn.execute(sa.text(f'SELECT * FROM "{name}"')).all())
                    for name in sa.inspect(conn).get_table_names()}
    finally:
        if engine is not engine_or_url:
            engine.dispose()


def row_counts(engine_or_url) -> dict:
    """The number of rows in each of our tables: to show that a run added nothing."""
    import sqlalchemy as sa
    from sqlmodel import SQLModel

    engine = sa.create_engine(engine_or_url) if isinstance(engine_or_url, str) \
        else engine_or_url
    try:
        with engine.connect() as conn:
            return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                    for t in SQLModel.metadata.sorted_tables}
    finally:
        if engine is not engine_or_url:
            engine.dispose()
