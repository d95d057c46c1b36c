"""Load test of the production profile: `sagsgang serve` on this machine under a mix of
people (Locust), at 1,000,000 cases on PostgreSQL and 100,000 on SQLite.

    python -m bench.load [--cases 1000000] [--dialects postgresql,sqlite] [--seconds 60]
                         [--users 40] [--busy-users 16]

The data (bench.loaddata): `--cases` cases with about ten audit events each, loaded by COPY
into a PostgreSQL database of our own (created on SAGSGANG_BENCH_PG_ADMIN_URL, default
postgres@127.0.0.1:5432, and dropped afterwards); SQLite gets a tenth of them. On top, made
through the real services: the demo users, cases in Socialudvalget's queue for the case
owners and the secretariat, published agendas, and the meetings the secretariat publishes.

The profile: `sagsgang serve` with 1 and then 2 web processes, one Celery worker and the
beat, Redis as broker, mail to an SMTP sink in this process; due reminders are queued before
each run, so the worker sends mail while the pages are served.

The people (bench/locustfile.py, each logged in through the login form): the public reading
/offentlig and agendas, members reading /moeder/N and case pages, managers on /overblik,
case owners editing their own cases, the secretariat recording decisions and publishing.

Printed for each dialect and number of web processes:
  mix: people pausing 1-3 s between pages (`--users`): requests/s, p50/p95/p99 per page,
       errors. Goals: p95 < 200 ms per page at 1M cases, no errors, within 3x of the floor.
  busy: `--busy-users` sending without pause: the throughput (goal: 2 web processes on the
       2 cores >= 1.7x one).
  floor: a bare FastAPI endpoint doing one indexed query (bench.floor) under the same users,
       started with the same server settings, measured in the same run: this machine is
       shared, and only figures taken side by side compare.
"""

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench import loaddata
from bench.servers import (
    PROJECT_DIR,
    ChildProcess,
    RedisServer,
    add_due_reminders,
    bench_database,
    celery_env,
    free_port,
    organisation_file,
    port_open,
    wait_for,
)
from cases.db import make_engine, write_session
from cli.serve import web_command

BIN = Path(sys.executable).parent
CENTRE = "Center for Voksne og Sundhed"
MIX = ("Public", "Member", "Manager", "CaseOwner", "Secretariat")
REMINDERS_PER_RUN = 1000
WARMUP = 15  # seconds of each Locust run left out of its figures
POOL_SIZE = 10  # per web process: the PostgreSQL server is shared with other work
LOGINS = {"member": ["medlem", "medlem-demo"], "manager": ["leder", "leder-demo"],
          "case_owner": ["sagsbehandler", "sagsbehandler-demo"],
          "secretariat": ["sekretariat", "sekretariat-demo"]}


# -- the data ----------------------------------------------------------------------------------


def load_archive(url: str, cases: int) -> dict:
    """The bulk rows; how long they took, how many and how big."""
    active = max(200, cases // 1000)
    generator = loaddata.Generator(cases, active, datetime.now(UTC))
    started = time.perf_counter()
    if url.startswith("sqlite"):
        loaddata.insert_sqlite(url, generator)
    else:
        loaddata.copy_postgresql(url, generator)
    seconds = time.perf_counter() - started
    return {"load_s": round(seconds, 1), "cases": cases, "events": generator.ids.event,
            "meetings": generator.calendar.next_id - 1, "agenda_items": generator.ids.item,
            "treatments": generator.ids.treatment, "active": active,
            "sample": generator.sample_numbers, "disk_mb": round(disk_bytes(url) / 2**20)}


def disk_bytes(url: str) -> int:
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql(
                "SELECT pg_database_size(current_database())").scalar_one()
    finally:
        engine.dispose()


def live_part(url: str, slots: int) -> dict:
    """What the real services make on top of the archive: users, the case owners' cases in
    Socialudvalget's queue, and four published SU agendas of the coming weeks."""
    from sqlmodel import select

    from cases.models import User
    from demo.users import ensure_demo_users
    from meetings import services as meeting_services

    engine = make_engine(url)
    try:
        with write_session(engine) as session:
            ensure_demo_users(session)
            owner = session.exec(select(User).where(User.username == "sagsbehandler")).one()
            owner_cases = [queued_case(session, f"L-E-{i}", owner) for i in range(slots)]
            live = []
            for week in range(4):
                meeting = meeting_services.create_meeting(
                    session, body="SU", day=datetime.now(UTC).date() + timedelta(weeks=week + 5),
                    at="16:30")
                for i in range(12):
                    meeting_services.place_case(session, meeting.id,
                                                queued_case(session, f"L-A{week}-{i}"),
                                                actor="bench")
                meeting_services.publish_agenda(session, meeting.id, actor="bench")
                live.append(meeting.id)
    finally:
        engine.dispose()
    return {"owner_cases": owner_cases, "live_meetings": live}


def run_part(url: str, run: int, slots: int) -> dict:
    """Fresh for each run: a case per secretariat user to record decisions on, and a draft
    SU meeting with ten queued cases per secretariat user to place and publish."""
    from meetings import services as meeting_services

    engine = make_engine(url)
    try:
        with write_session(engine) as session:
            decisions = [queued_case(session, f"L-D{run}-{i}") for i in range(slots)]
            publish = []
            for i in range(slots):
                meeting = meeting_services.create_meeting(
                    session, body="SU",
                    day=datetime.now(UTC).date() + timedelta(days=70 + run * slots + i),
                    at="07:15")  # an hour the archive's meetings (bench.loaddata) never use
                publish.append({"meeting": meeting.id, "cases": [
                    queued_case(session, f"L-P{run}-{i}-{k}") for k in range(10)]})
        add_due_reminders(engine, REMINDERS_PER_RUN, title="Belastningsprøve",
                          prefix=f"load{run}")
    finally:
        engine.dispose()
    return {"decision_cases": decisions, "publish_slots": publish}


def queued_case(session, number: str, owner=None) -> str:
    """A case registered and sent to Socialudvalget, through the services."""
    from cases import actions, services

    services.create_case(session, {
        "number": number, "title": f"Belastningsprøve {number}", "centre": CENTRE,
        "deciding_body": "SU", "owner_name": owner.name if owner else "",
        "owner_email": owner.email if owner else "",
        "summary": "Sagen bruges af belastningsprøven.",
        "proposals": ["Indstillingen godkendes."]}, actor="bench")
    actions.submit(session, number, actor="bench")
    return number


def public_meetings(url: str, count: int = 500) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            ids = connection.execute(sa.text(
                "SELECT id FROM meeting WHERE agenda_status = 'published'")).scalars().all()
    finally:
        engine.dispose()
    return random.Random(3).sample(list(ids), min(count, len(ids)))


# -- the processes -----------------------------------------------------------------------------

class MailCounter:
    """An SMTP sink in this process that only counts what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.count = 0
        self.lock = threading.Lock()
        self.port = free_port()
        counter = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with counter.lock:
                    counter.count += 1
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class Serve(ChildProcess):
    """`sagsgang serve` (or, for the floor, uvicorn with the same settings) in a child
    process; up when every one of its `web` processes has started (`started_log`)."""

    STARTED = "Application startup complete."

    def __init__(self, command: list[str], env: dict, log_path: Path, port: int, web: int,
                 started_log: Path):
        self.command, self.env, self.log_path, self.port = command, env, log_path, port
        self.web, self.started_log = web, started_log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Serve":
        self.started_before = self._started()
        self._spawn(self.command)
        # Not only the port: a process still starting would get none of the users'
        # keep-alive connections, opened at once, and the first would serve them all.
        wait_for(lambda: self._started() - self.started_before >= self.web
                 or self.process.poll() is not None, 120, what="the web processes")
        if self.process.poll() is not None or not port_open(self.port):
            raise RuntimeError(f"the server stopped at start:\n{self.tail()}")
        return self

    def _started(self) -> int:
        try:
            return self.started_log.read_text(errors="replace").count(self.STARTED)
        except OSError:
            return 0


def profile_env(url: str, broker: str, smtp_port: int, var: Path) -> dict:
    env = celery_env(database_url=url, broker_url=broker, smtp_port=smtp_port, var_dir=var,
                     organisation=organisation_file(var), SAGSGANG_SWEEP_SECONDS=2,
                     SAGSGANG_SECRET_KEY="l" * 40, SAGSGANG_DB_POOL_SIZE=POOL_SIZE)
    env["PYTHONPATH"] = str(PROJECT_DIR)
    return env


def sagsgang_serve(env: dict, var: Path, web: int) -> Serve:
    port = free_port()
    return Serve([str(BIN / "sagsgang"), "serve", "--host", "127.0.0.1", "--port", str(port),
                  "--web", str(web), "--workers", "1", "--grace", "5"],
                 env, var / f"serve-{web}.log", port, web, var / "log" / "web.log")


def floor_server(env: dict, var: Path, web: int) -> Serve:
    port = free_port()
    command = web_command("127.0.0.1", port, web, 5)
    command[command.index("web.app:app")] = "bench.floor:app"
    log = var / f"floor-{web}.log"
    return Serve(command, env, log, port, web, log)


# -- where the CPU goes ------------------------------------------------------------------------

PARTS = (("cli.web_processes", "web"), ("bench.floor", "web"), (" worker", "worker"),
         (" beat", "beat"), ("locust", "locust"), ("redis-server", "redis"),
         ("postgres", "postgresql"))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds_by_part() -> dict[str, float]:
    """CPU seconds (user + system) used so far by each part on this machine: a process counts
    for the first part its own command line or an ancestor's names (a web process is a child
    of cli.web_processes); this process (the SMTP sink) is "bench", anything else "other"."""
    stats, commands = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            commands[entry.name] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:  # gone meanwhile
            continue
        stats[entry.name] = (fields[1], (int(fields[11]) + int(fields[12])) / TICKS)
    totals: dict[str, float] = {}
    for pid, (_, seconds) in stats.items():
        part = _part(pid, stats, commands)
        totals[part] = totals.get(part, 0.0) + seconds
    return totals


def _part(pid: str, stats: dict, commands: dict) -> str:
    while pid in stats:
        if int(pid) == os.getpid():
            return "bench"
        for marker, part in PARTS:
            if marker in commands.get(pid, ""):
                return part
        pid = stats[pid][0]
    return "other"


def cores_used(before: dict, after: dict, seconds: float) -> dict[str, float]:
    """Cores each part kept busy between two readings (a part's processes that ended
    meanwhile are not counted: the readings are taken while the run is under way)."""
    return {part: round((after.get(part, 0.0) - before.get(part, 0.0)) / seconds, 2)
            for part in sorted(after, key=lambda p: -(after[p] - before.get(p, 0.0)))
            if after.get(part, 0.0) - before.get(part, 0.0) > 0.01 * seconds}


# -- Locust ------------------------------------------------------------------------------------

def locust(host: str, plan: Path, classes: tuple[str, ...], *, users: int, seconds: int,
           wait: str, out: Path) -> dict:
    """Run Locust headless as a child process for WARMUP + `seconds`; its figures per page
    from its CSV (those of the last `seconds` only)."""
    prefix = out / f"locust-{time.monotonic_ns()}"
    env = {**os.environ, "SAGSGANG_LOAD_PLAN": str(plan), "SAGSGANG_LOAD_WAIT": wait,
           "SAGSGANG_LOAD_WARMUP": str(WARMUP), "PYTHONPATH": str(PROJECT_DIR)}
    with open(f"{prefix}.log", "wb") as log:
        process = subprocess.Popen(
            [str(BIN / "locust"), "-f", str(PROJECT_DIR / "bench" / "locustfile.py"),
             "--headless", "-u", str(users), "-r", str(users), "-t", f"{seconds + WARMUP}s",
             "--stop-timeout", "10", "--host", host, "--csv", str(prefix), "--only-summary",
             "--loglevel", "WARNING", *classes],
            env=env, stdout=log, stderr=subprocess.STDOUT)
        # The CPU is read over the same window as the figures: after the warm-up, and
        # before Locust stops (its processes' time is gone once they end).
        time.sleep(WARMUP)
        before, started = cpu_seconds_by_part(), time.monotonic()
        time.sleep(seconds - 1)
        cores = cores_used(before, cpu_seconds_by_part(), time.monotonic() - started)
        process.wait(timeout=120)
    return {**read_stats(Path(f"{prefix}_stats.csv"), Path(f"{prefix}_failures.csv")),
            "cores": cores}


def read_stats(path: Path, failures: Path) -> dict:
    pages = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = "all" if row["Name"] == "Aggregated" else row["Name"]
            pages[name] = {"requests": int(row["Request Count"]),
                           "errors": int(row["Failure Count"]),
                           "rps": float(row["Requests/s"]),
                           **{p: _ms(row[f"{p}%"]) for p in ("50", "95", "99")}}
    reasons = []
    if failures.exists():
        with open(failures, newline="", encoding="utf-8") as f:
            reasons = [f"{r['Occurrences']}x {r['Name']}: {r['Error'][:160]}"
                       for r in csv.DictReader(f)]
    return {"pages": pages, "failures": reasons}


def _ms(value: str):
    return None if value in ("", "N/A") else float(value)


# -- one at a time ------------------------------------------------------------------------------

def alone(base: str, plan: dict, requests: int = 20) -> dict:
    """Each page read `requests` times one after the other, by one person at a time (the
    server otherwise idle): its median and slowest time in ms, the cost of the page itself."""
    import re
    import statistics

    import httpx

    rng = random.Random(5)

    def any_of(prefix: str, key: str):
        return lambda: f"{prefix}/{rng.choice(plan[key])}"

    pages = {
        None: [("/offentlig", lambda: "/offentlig"),
               ("/offentlig/moeder/[id]", any_of("/offentlig/moeder", "meetings"))],
        "member": [("/moeder/[id] (coming)", any_of("/moeder", "live_meetings")),
                   ("/moeder/[id] (held)", any_of("/moeder", "meetings")),
                   ("/sager/[nr]", any_of("/sager", "case_numbers"))],
        "manager": [("/overblik", lambda: "/overblik")],
        "case_owner": [("/sager/[nr]/rediger",
                        lambda: f"/sager/{rng.choice(plan['owner_cases'])}/rediger")],
    }
    found = {}
    for role, paths in pages.items():
        with httpx.Client(base_url=base, timeout=60) as client:
            if role:
                token = re.search(r'name="csrf_token" value="([^"]+)"',
                                  client.get("/login").text).group(1)
                username, password = LOGINS[role]
                client.post("/login", data={"username": username, "password": password,
                                            "csrf_token": token})
            for name, path in paths:
                client.get(path())  # its templates compiled, its caches warm
                times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.get(path())
                    times.append((time.perf_counter() - started) * 1000)
                    if response.status_code != 200:
                        raise RuntimeError(f"{name}: {response.status_code}")
                found[name] = {"median": round(statistics.median(times)),
                               "max": round(max(times))}
    return found


# -- a run -------------------------------------------------------------------------------------

def run_dialect(dialect: str, cases: int, args) -> list[dict]:
    results = []
    with tempfile.TemporaryDirectory(prefix="sagsgang-load-") as tmp, \
            bench_database(dialect, Path(tmp) / "load.db") as url:
        var = Path(tmp)
        print(f"{dialect}: loading {cases:,} cases ...", flush=True)
        data = load_archive(url, cases)
        print(f"{dialect}: {data['cases']:,} cases, {data['events']:,} events, "
              f"{data['meetings']:,} meetings with {data['agenda_items']:,} agenda items, "
              f"{data['treatments']:,} treatments, {data['active']:,} under way: loaded in "
              f"{data['load_s']} s; database {data['disk_mb']:,} MB", flush=True)
        # Users of one kind that change things (the case owners, 15 % of the people; the
        # secretariat, 10 %) each take a case or a meeting of their own.
        slots = max(args.users, args.busy_users) // 4 + 2
        base = {"logins": LOGINS, "case_numbers": data.pop("sample"),
                "meetings": public_meetings(url), **live_part(url, slots)}
        results.append({"dialect": dialect, "data": data})
        with RedisServer(var / "redis") as redis, MailCounter() as mail:
            env = profile_env(url, redis.url, mail.port, var)
            runs = [(web, phase, users, wait) for web in (1, 2)
                    for phase, users, wait in (("mix", args.users, "mix"),
                                               ("busy", args.busy_users, "none"))]
            for run, (web, phase, users, wait) in enumerate(runs):
                plan = var / f"plan-{web}-{phase}.json"
                plan.write_text(json.dumps({**base, **run_part(url, run, slots)}),
                                encoding="utf-8")
                sent_before = mail.count
                with sagsgang_serve(env, var, web) as server:
                    solo = alone(server.url, {**base, **json.loads(plan.read_text())}) \
                        if run == 0 else None
                    figures = locust(server.url, plan, MIX, users=users, wait=wait,
                                     seconds=args.seconds, out=var)
                with floor_server(env, var, web) as server:
                    floor = locust(server.url, plan, ("Floor",), users=users, wait=wait,
                                   seconds=args.seconds, out=var)
                row = {"dialect": dialect, "web": web, "phase": phase, "users": users,
                       "figures": figures, "floor": floor, "alone": solo,
                       "mails": mail.count - sent_before}
                results.append(row)
                print_run(row, flush=True)
        if args.keep:
            shutil.copytree(var, args.keep / dialect, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.db", "*.db-*", "redis"))
    return results


def print_run(row: dict, flush=True) -> None:
    pages, floor = row["figures"]["pages"], row["floor"]["pages"].get("all", {})
    total = pages.get("all", {})
    print(f"\n{row['dialect']}, {row['web']} web process(es), {row['phase']} "
          f"({row['users']} users): {total.get('rps', 0):.1f} requests/s, "
          f"{total.get('errors', 0)} errors of {total.get('requests', 0)}; "
          f"mails sent meanwhile: {row['mails']}")
    print(f"  {'page':<38} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50':>6} {'p95':>6} "
          f"{'p99':>6} ms")
    for name, p in sorted(pages.items(), key=lambda item: item[0] == "all"):
        print(f"  {name:<38} {p['requests']:>8} {p['errors']:>6} {p['rps']:>7.1f} "
              f"{_fmt(p['50'])} {_fmt(p['95'])} {_fmt(p['99'])}")
    if floor:
        print(f"  {'floor: one indexed query (bench.floor)':<38} {floor['requests']:>8} "
              f"{floor['errors']:>6} {floor['rps']:>7.1f} {_fmt(floor['50'])} "
              f"{_fmt(floor['95'])} {_fmt(floor['99'])}")
    print("  cores busy: " + ", ".join(f"{part} {n:.2f}" for part, n in
                                       row["figures"]["cores"].items())
          + " (floor: " + ", ".join(f"{part} {n:.2f}" for part, n in
                                    row["floor"]["cores"].items()) + ")")
    if row.get("alone"):
        print("  one request at a time (server otherwise idle), median / max ms: " + ", ".join(
            f"{name} {t['median']} / {t['max']}" for name, t in row["alone"].items()))
    for reason in row["figures"]["failures"][:10]:
        print(f"  failure: {reason}")
    print("", end="", flush=flush)


def _fmt(value) -> str:
    return f"{value:>6.0f}" if value is not None else f"{'-':>6}"


def print_summary(results: list[dict]) -> None:
    print("\nsummary (this machine is shared: figures are noisy; the floor ran in the same "
          "run, on the same data)")
    for dialect in dict.fromkeys(r["dialect"] for r in results):
        rows = {(r["web"], r["phase"]): r for r in results
                if r["dialect"] == dialect and "phase" in r}
        for web in (1, 2):
            mix = rows.get((web, "mix"))
            if mix:
                pages = {k: v for k, v in mix["figures"]["pages"].items() if k != "all"}
                worst = max(pages.items(), key=lambda item: item[1]["95"] or 0)
                floor95 = mix["floor"]["pages"].get("all", {}).get("95")
                print(f"  {dialect} {web} web: mix p95 worst page {worst[0]} "
                      f"{worst[1]['95']:.0f} ms (floor p95 {floor95} ms); errors "
                      f"{mix['figures']['pages'].get('all', {}).get('errors')}")
        one, two = rows.get((1, "busy")), rows.get((2, "busy"))
        if one and two:
            r1, r2 = (r["figures"]["pages"]["all"]["rps"] for r in (one, two))
            f1, f2 = (r["floor"]["pages"]["all"]["rps"] for r in (one, two))
            print(f"  {dialect} busy throughput: 1 web {r1:.1f}/s, 2 web {r2:.1f}/s = "
                  f"{r2 / r1 if r1 else 0:.2f}x (floor: {f1:.0f}/s, {f2:.0f}/s = "
                  f"{f2 / f1 if f1 else 0:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000,
                        help="cases on PostgreSQL; SQLite gets a tenth")
    parser.add_argument("--dialects", default="postgresql,sqlite")
    parser.add_argument("--seconds", type=int, default=60, help="per Locust run")
    parser.add_argument("--users", type=int, default=40, help="people in the mix")
    parser.add_argument("--busy-users", type=int, default=16,
                        help="users without pauses, for the throughput")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the logs and Locust's CSV files here")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    results = []
    for dialect in args.dialects.split(","):
        size = args.cases if dialect == "postgresql" else max(args.cases // 10, 1000)
        results += run_dialect(dialect.strip(), size, args)
    print_summary(results)
    if args.json:
        print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
