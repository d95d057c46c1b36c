"""`sagsgang serve`, the production profile, started as it runs in production: 2 web
processes, a Celery worker and one beat on a real PostgreSQL and a real redis-server, mail
to an aiosmtpd server. A case carried to a reminder delivered; a second beat that sends
nothing twice; SIGTERM during a request, which completes, and during a send, which
finishes once."""

import asyncio
import signal
import subprocess
import sys
import threading

import httpx
import pytest
import sqlalchemy as sa
from live_web import SECRET, api_key, new_user
from servers import (
    CeleryProcess,
    MailSink,
    RecordingHandler,
    RedisServer,
    celery_env,
    create_case,
    free_port,
    organisation_file,
    port_open,
    wait_for,
)

from cases import actions, services
from cases.db import make_engine, write_session

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(240)]
SUBJECT = "Anmodning om høringssvar: Plan for ældre"


def start_serve(env: dict, port: int) -> subprocess.Popen:
    command = [sys.executable, "-c", "from cli.main import main; main()", "serve",
               "--port", str(port), "--web", "2", "--workers", "1", "--grace", "30"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def print_logs(directory) -> None:
    for log in sorted(directory.glob("*.log")):
        print(f"--- {log.name} (the end)\n{log.read_text()[-4000:]}")


def add_hearing(engine, number: str, party: str) -> None:
    with write_session(engine) as session:
        create_case(session, number=number, title="Plan for ældre")
        actions.submit(session, number, actor="test")
        services.add_hearing(session, number, title="Høring", parties=[party],
                             deadline="30-04-2030", opened_on="01-01-2026", actor="test")


def mails_to(sink: MailSink, address: str) -> list:
    with sink.handler.lock:
        return [m for m in sink.handler.messages if address in (m["To"] or "")]


def publish_one_case(engine, number: str) -> int:
    """An SU agenda with one case on it, published (as the web does it, without the PDFs)."""
    from datetime import date, timedelta

    from meetings.services import create_meeting, place_case, publish_agenda

    with write_session(engine) as session:
        create_case(session, number, title="Dagsorden til PDF")
        actions.submit(session, number, actor="test")
        meeting = create_meeting(session, body="SU", day=date.today() + timedelta(days=40))
        place_case(session, meeting.id, number)
        return publish_agenda(session, meeting.id, actor="test").id


def descendants(root: int) -> list[tuple[str, int]]:
    """(command line, niceness) of every process under `root`, from /proc."""
    from pathlib import Path

    found, parents = [], {root}
    processes = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            args = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        processes.append((int(stat.parent.name), int(fields[1]), int(fields[16]), args))
    for _ in range(4):  # serve -> uvicorn / celery -> their children
        for pid, ppid, nice, args in processes:
            if ppid in parents and pid not in parents:
                parents.add(pid)
                found.append((args, nice))
    return found


def kept_pdfs(engine, publication_id: int) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT count(*) FROM published_pdf WHERE publication_id = :id"),
            {"id": publication_id}).scalar_one()


def sweeps(scraped: str) -> float:
    line = next(line for line in scraped.splitlines()
                if line.startswith("sagsgang_sweep_duration_seconds_count"))
    return float(line.split()[-1])


def listening_sockets(port: int) -> list[str]:
    """The inodes of the sockets listening on 127.0.0.1:`port` (Linux's /proc/net/tcp)."""
    with open("/proc/net/tcp", encoding="ascii") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return [row[9] for row in rows if row[1] == f"0100007F:{port:04X}" and row[3] == "0A"]


def waiting_on_lock(engine) -> bool:
    with engine.connect() as connection:
        return bool(connection.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%FROM \"case\"%'")).scalar())


def test_the_production_profile_delivers_has_one_beat_and_drains_on_sigterm(tmp_path, pg_url):
    port = free_port()
    engine = make_engine(pg_url)
    with MailSink() as sink, RedisServer(tmp_path / "redis") as redis:
        env = celery_env(database_url=pg_url, broker_url=redis.url, smtp_port=sink.port,
                         var_dir=tmp_path, organisation=organisation_file(tmp_path),
                         SAGSGANG_SECRET_KEY=SECRET)
        runner = start_serve(env, port)
        try:
            ready = wait_for(lambda: port_open(port) and (r := httpx.get(
                f"http://127.0.0.1:{port}/readyz", timeout=10)).status_code == 200 and r,
                90, interval=0.5, what="the profile ready")
            assert ready.json()["klar"] is True
            # Each web process listens on a socket of its own (cli.web_processes), so the
            # kernel spreads the connections over both.
            wait_for(lambda: len(listening_sockets(port)) == 2, 60, interval=0.5,
                     what="both web processes listening")

            # A case carried to its hearing: the party's request is delivered.
            add_hearing(engine, "26-301", "Foreningen <forening@example.org>")
            wait_for(lambda: mails_to(sink, "forening@example.org"), 60, interval=0.3,
                     what="the hearing request")
            assert mails_to(sink, "forening@example.org")[0]["Subject"].startswith(SUBJECT)
            # The pool processes of the worker (one sent that mail) yield the CPU to the web.
            running = descendants(runner.pid)
            assert {nice for args, nice in running if " worker " in args} == {0, 10}
            web = [nice for args, nice in running
                   if "cli.web_processes" in args or "multiprocessing.spawn" in args]
            assert len(web) == 3 and set(web) == {0}  # uvicorn's supervisor and its two

            # An agenda published: the worker makes and keeps its PDFs (members', public,
            # public samlet), not the web request.
            publication_id = publish_one_case(engine, "26-303")
            wait_for(lambda: kept_pdfs(engine, publication_id) == 3, 90, interval=0.5,
                     what="the published agenda's PDFs kept by the worker")

            # A second beat started by mistake: it waits, and nothing is sent twice.
            with CeleryProcess("beat", env, tmp_path, "second-beat") as second:
                wait_for(lambda: "this one sends nothing" in second.log_path.read_text(), 60,
                         interval=0.3, what="the second beat waiting")
                add_hearing(engine, "26-302", "Rådet <raadet@example.org>")
                wait_for(lambda: mails_to(sink, "raadet@example.org"), 60, interval=0.3,
                         what="the second hearing request")
                assert "Sending due task" not in second.log_path.read_text()
            assert set(sink.handler.message_ids().values()) == {1}

            # The worker's sweeps and the outbox on the web's /metrics (multiprocess mode).
            scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            assert sweeps(scraped) > 0
            assert 'sagsgang_outbox_reminders{status="failed"} 0.0' in scraped

            # SIGTERM while a request is in flight (held up by a lock on the case table):
            # the web process waits for it, and it is answered in full.
            _, _, uid = new_user(engine)
            key = api_key(engine, uid)
            answers = []
            locker = engine.connect()
            transaction = locker.begin()
            locker.execute(sa.text('LOCK TABLE "case" IN ACCESS EXCLUSIVE MODE'))
            request = threading.Thread(target=lambda: answers.append(httpx.get(
                f"http://127.0.0.1:{port}/api/cases", timeout=60,
                headers={"Authorization": f"Bearer {key}"})))
            request.start()
            wait_for(lambda: waiting_on_lock(engine), 30, interval=0.2,
                     what="the request waiting for the case table")
            runner.send_signal(signal.SIGTERM)
            web_log = tmp_path / "log" / "web.log"
            wait_for(lambda: "Waiting for connections to close" in web_log.read_text(), 30,
                     interval=0.2, what="uvicorn draining")
            transaction.commit()
            locker.close()
            request.join(60)
            assert answers and answers[0].status_code == 200, answers
            assert {case["number"] for case in answers[0].json()} == {"26-301", "26-302", "26-303"}
            output, _ = runner.communicate(timeout=90)
        finally:
            if runner.poll() is None:
                runner.send_signal(signal.SIGTERM)
                runner.communicate(timeout=90)
            engine.dispose()
            print_logs(tmp_path / "log")  # shown by pytest when the test failed
    assert runner.returncode == 0, output
    assert "2 webprocesser, Celery-worker med 1 proces og én beat" in output
    assert "Stoppet." in output
    assert not port_open(port)


class SlowHandler(RecordingHandler):
    """Holds each message's DATA until `go` is set: a send in progress."""

    def __init__(self):
        super().__init__()
        self.sending, self.go = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.sending.set()
        while not self.go.is_set():
            await asyncio.sleep(0.05)
        return await super().handle_DATA(server, session, envelope)


def test_sigterm_during_a_send_lets_the_worker_finish_it_once(tmp_path, pg_url):
    port = free_port()
    engine = make_engine(pg_url)
    sink = MailSink()
    sink.handler = SlowHandler()
    sink.controller.handler = sink.handler
    with sink, RedisServer(tmp_path / "redis") as redis:
        env = celery_env(database_url=pg_url, broker_url=redis.url, smtp_port=sink.port,
                         var_dir=tmp_path, organisation=organisation_file(tmp_path),
                         SAGSGANG_SECRET_KEY=SECRET, SAGSGANG_SEND_TIMEOUT_SECONDS=60)
        runner = start_serve(env, port)
        try:
            wait_for(lambda: port_open(port), 90, interval=0.5, what="the web")
            add_hearing(engine, "26-401", "Foreningen <forening@example.org>")
            assert sink.handler.sending.wait(60), "no send began"
            runner.send_signal(signal.SIGTERM)
            worker_log = tmp_path / "log" / "worker.log"
            wait_for(lambda: "Warm shutdown" in worker_log.read_text(), 30, interval=0.2,
                     what="the worker's warm shutdown")
            sink.handler.go.set()  # the server accepts the message only now
            output, _ = runner.communicate(timeout=90)
        finally:
            sink.handler.go.set()
            if runner.poll() is None:
                runner.send_signal(signal.SIGTERM)
                runner.communicate(timeout=90)
        assert runner.returncode == 0, output
        assert [m["To"] for m in sink.handler.messages] == \
            ["Foreningen <forening@example.org>"]
        with engine.connect() as connection:
            statuses = connection.execute(sa.text(
                "SELECT status FROM reminder WHERE recipient = 'forening@example.org' "
                "AND kind = 'hearing_request'")).all()
        engine.dispose()
    assert [s for (s,) in statuses] == ["sent"]
