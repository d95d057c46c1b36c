"""Benchmark of the reminder path.

1. N due reminders delivered by two Celery worker processes through a real redis-server to
   a local aiosmtpd server, next to plain smtplib sending the same N messages over one
   connection to the same server; rates, ratio, duplicates and losses.
2. The sweep's time to find the due rows in an outbox of 1,000,000 rows, for several numbers
   of due rows and two table sizes: it must follow the due rows, not the table.

    python -m bench.reminders [--count 10000] [--table-rows 1000000]
"""

import argparse
import os
import signal
import smtplib
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.servers import (
    PROJECT_DIR,
    CeleryProcess,
    RedisServer,
    add_due_reminders,
    celery_env,
    free_port,
    organisation_file,
    port_open,
    wait_for,
)

# -- a counting SMTP server in its own process --------------------------------------------------

def serve_smtp(port: int, out: Path) -> None:
    """Accept everything; append each Message-ID to `out` (one line per message)."""
    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.file = open(out, "a", buffering=1)
            self.lock = threading.Lock()

        async def handle_DATA(self, server, session, envelope):
            message_id = b""
            for line in envelope.content.split(b"\r\n"):
                if line.lower().startswith(b"message-id:"):
                    message_id = line.split(b":", 1)[1].strip()
                    break
                if not line:
                    break
            with self.lock:
                self.file.write(message_id.decode() + "\n")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    stop.wait()
    controller.stop()


def received(out: Path) -> list[str]:
    return out.read_text().splitlines() if out.exists() else []


# -- 1. delivery rate --------------------------------------------------------------------------

def prebuilt_messages(engine, count: int) -> list:
    """The same kind of message the workers send, rendered once, for plain smtplib."""
    from sqlmodel import select

    from cases.db import write_session
    from notifications.delivery import render_message
    from notifications.models import Reminder

    add_due_reminders(engine, count, prefix="plain", title="Udsattestrategi")
    now = datetime.now(UTC)
    with write_session(engine) as session:
        rows = session.exec(select(Reminder).where(Reminder.dedupe_key.startswith("plain:")))
        messages = [render_message(session, row, now) for row in rows]
        session.execute(Reminder.__table__.delete().where(
            Reminder.__table__.c.dedupe_key.startswith("plain:")))
    return messages


def plain_smtplib(port: int, messages: list, out: Path) -> float:
    before = len(received(out))
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for message in messages:
            smtp.send_message(message)
    wait_for(lambda: len(received(out)) - before >= len(messages), 60)
    return time.perf_counter() - started


def celery_path(tmp: Path, engine, url: str, smtp_port: int, count: int, out: Path) -> dict:
    from cases.db import write_session
    from notifications import outbox
    from notifications.email import message_id

    keys = add_due_reminders(engine, count, prefix="bench", title="Udsattestrategi")
    expected = {message_id(k) for k in keys}
    with RedisServer(tmp / "redis") as redis:
        env = celery_env(database_url=url, broker_url=redis.url, smtp_port=smtp_port,
                         var_dir=tmp, organisation=organisation_file(tmp),
                         SAGSGANG_SWEEP_SECONDS="0.2", SAGSGANG_SWEEP_BATCH="400",
                         SAGSGANG_QUEUE_TIMEOUT_SECONDS="120",
                         SAGSGANG_SEND_TIMEOUT_SECONDS="60")
        workers = [CeleryProcess("worker", env, tmp, f"bench{i}", "--loglevel=WARNING")
                   for i in (1, 2)]
        for worker in workers:
            worker.start()
        time.sleep(3)  # let both workers connect before the clock starts
        beat = CeleryProcess("beat", env, tmp, "bench-beat", "--loglevel=WARNING")
        started = time.perf_counter()
        beat.start()

        def sent() -> int:
            with write_session(engine) as session:
                return outbox.counts_by_status(session).get("sent", 0)

        try:
            wait_for(lambda: sent() >= count, 1800, interval=0.1, what="all reminders sent")
            elapsed = time.perf_counter() - started
            time.sleep(2)  # anything sent twice would arrive by now
        finally:
            beat.stop()
            for worker in workers:
                worker.stop()
    got = [m for m in received(out) if m in expected]
    return {"seconds": elapsed, "duplicates": len(got) - len(set(got)),
            "lost": len(expected - set(got))}


def delivery_benchmark(count: int, database_url: str | None) -> None:
    from cases.db import make_engine, migrate

    with tempfile.TemporaryDirectory(prefix="sagsgang-bench-") as directory:
        tmp = Path(directory)
        url = database_url or f"sqlite:///{tmp / 'bench.db'}"
        migrate(url)
        engine = make_engine(url)
        port, out = free_port(), tmp / "received.txt"
        sink = subprocess.Popen([sys.executable, "-m", "bench.reminders", "--serve-smtp",
                                 str(port), str(out)], cwd=str(PROJECT_DIR))
        try:
            wait_for(lambda: port_open(port), 10, what="the SMTP server")
            messages = prebuilt_messages(engine, count)
            plain = plain_smtplib(port, messages, out)
            celery = celery_path(tmp, engine, url, port, count, out)
        finally:
            sink.terminate()
            sink.wait(10)
            engine.dispose()
    plain_rate, celery_rate = count / plain, count / celery["seconds"]
    print(f"Delivery of {count} reminders to a local aiosmtpd server ({url.split(':')[0]}):")
    print(f"  plain smtplib, one connection:    {plain:7.2f} s  {plain_rate:8.0f} mails/s")
    print(f"  outbox + beat + 2 workers, Redis: {celery['seconds']:7.2f} s  "
          f"{celery_rate:8.0f} mails/s")
    print(f"  ratio (outbox / plain):           {celery_rate / plain_rate:7.2f}  (target >= 0.50)")
    print(f"  duplicates: {celery['duplicates']}   lost: {celery['lost']}")


# -- 2. the sweep's query on a big outbox ------------------------------------------------------

def fill_outbox(path: Path, rows: int, due: int, now: datetime) -> None:
    """`rows` reminders, `due` of them pending and due; the rest sent, or pending later."""
    connection = sqlite3.connect(path)
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    past = (now - timedelta(hours=1)).strftime(fmt)
    future = (now + timedelta(days=30)).strftime(fmt)
    stamp = now.strftime(fmt)

    def generate():
        for i in range(rows):
            if i < due:
                status, at = "pending", past
            elif i % 10 == 0:
                status, at = "pending", future  # not yet due
            else:
                status, at = "sent", past  # the history that piles up
            yield (f"bench:{i}", "hearing_request", f"p{i}@example.org", "", 0, "{}", status,
                   at, at, 0, "", "", stamp, stamp)

    connection.execute("DELETE FROM reminder")
    connection.executemany(
        "INSERT INTO reminder (dedupe_key, kind, recipient, recipient_name, optional, context,"
        " status, due_at, next_attempt_at, attempts, last_error, message_id, created_at,"
        " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", generate())
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def sweep_benchmark(table_rows: int) -> None:
    from cases.db import make_engine, migrate, write_session
    from notifications import outbox

    now = datetime.now(UTC)
    print("\nSweep: finding the due reminders (status pending, next_attempt_at <= now, "
          "oldest first) on SQLite:")
    print(f"  {'table rows':>12} {'due rows':>9} {'find all due':>13} {'per due row':>12}")
    with tempfile.TemporaryDirectory(prefix="sagsgang-sweep-") as directory:
        path = Path(directory) / "sweep.db"
        url = f"sqlite:///{path}"
        migrate(url)
        for rows in sorted({table_rows // 10, table_rows}):
            for due in (100, 1_000, 10_000):
                fill_outbox(path, rows, due, now)
                engine = make_engine(url)
                timings = []
                for _ in range(5):
                    with write_session(engine) as session:
                        started = time.perf_counter()
                        found = outbox.due_ids(session, now, limit=due + 1)
                        timings.append(time.perf_counter() - started)
                assert len(found) == due, (len(found), due)
                best = min(timings)
                print(f"  {rows:>12,} {due:>9,} {best * 1000:>10.2f} ms "
                      f"{best / due * 1e6:>9.2f} µs")
                if rows == table_rows and due == 1_000:
                    plan = explain(engine, now)
                engine.dispose()
    print(f"  query plan: {plan}")


def explain(engine, now: datetime) -> str:
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT id FROM reminder WHERE status = 'pending' AND "
            "next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 1000",
            (now.strftime("%Y-%m-%d %H:%M:%S.%f"),)).all()
    return "; ".join(row[-1] for row in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="reminders to deliver")
    parser.add_argument("--table-rows", type=int, default=1_000_000,
                        help="outbox size for the sweep benchmark")
    parser.add_argument("--database-url", default=None,
                        help="database for the delivery run (default: a temporary SQLite)")
    parser.add_argument("--skip-delivery", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument("--serve-smtp", nargs=2, metavar=("PORT", "FILE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_smtp:
        serve_smtp(int(args.serve_smtp[0]), Path(args.serve_smtp[1]))
        return
    os.environ.setdefault("SAGSGANG_SITE_URL", "http://127.0.0.1:8000")
    if not args.skip_delivery:
        delivery_benchmark(args.count, args.database_url)
    if not args.skip_sweep:
        sweep_benchmark(args.table_rows)


if __name__ == "__main__":
    main()
