"""Dashboard and case page server time at 1,000 and 100,000 cases, SQLite and PostgreSQL.

    python -m bench.web [--sizes 1000,100000] [--events-per-case 10] [--requests 100]
                        [--dialects sqlite,postgresql]

The data is bulk-inserted with SQLAlchemy Core: N cases with 10 audit events each (1,000,000
events at 100,000 cases), a deadline, two proposals and a treatment per case. A fixed number
of cases is under way (ACTIVE_CASES) and the rest is history (closed): a municipality has a
few hundred cases under way whatever the size of its archive, and the dashboard's cost is
meant to follow those, not the archive. Requests go through the whole ASGI app in process
(routing, session cookie, authentication, queries, template) with a logged-in user; the
time measured is the server's: from request in to response out.

PostgreSQL: a database of our own is created on SAGSGANG_BENCH_PG_ADMIN_URL (default
postgres@127.0.0.1:5432) and dropped afterwards.
"""

import argparse
import json
import os
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from bench.servers import postgres_database
from cases.db import engine_for, make_engine, migrate, write_session
from cases.models import (
    Awaiting,
    Case,
    CaseEvent,
    Deadline,
    Hearing,
    HearingParty,
    Proposal,
    Treatment,
)
from cases.settings import current_organisation

ACTIVE_CASES = 500
CHUNK = 20_000
PG_ADMIN_URL = os.environ.get("SAGSGANG_BENCH_PG_ADMIN_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ACTIVE_STATES = ("draft", "hearing", "committee", "committee", "committee", "finance", "council")
TRIGGERS = ("treat", "postpone", "treat", "send_back", "treat", "add_deadline", "treat",
            "hearing_response", "treat", "close")


def generate(engine: sa.Engine, n_cases: int, events_per_case: int, seed: int = 7) -> None:
    """Bulk-insert the cases and their rows with Core, in chunks."""
    rng = random.Random(seed)
    org = current_organisation()
    centres = list(org.centres)
    committees = [b.code for b in org.bodies if b.is_committee]
    now = datetime.now(UTC)
    today = now.date()
    active = set(rng.sample(range(n_cases), min(ACTIVE_CASES, n_cases)))
    case_table = Case.__table__
    with engine.begin() as conn:
        for start in range(0, n_cases, CHUNK):
            ids = range(start + 1, min(start + CHUNK, n_cases) + 1)
            cases, events, deadlines, proposals, treatments, awaiting = [], [], [], [], [], []
            for case_id in ids:
                is_active = (case_id - 1) in active
                status = rng.choice(ACTIVE_STATES) if is_active else "closed"
                route = rng.sample(committees, rng.choice((1, 1, 2, 3)))
                created = now - timedelta(days=rng.randint(10, 5 * 365))
                updated = now - timedelta(days=rng.randint(0, 120)) if is_active else created
                cases.append(dict(
                    id=case_id, number=f"B-{case_id:07d}", title=f"Sag nummer {case_id}",
                    summary="Sammendrag " * 20, background="", presentation="", economy="",
                    centre=rng.choice(centres), owner_name="", owner_email="",
                    deciding_body=rng.choice(("KB", route[0])), committees=route,
                    confidential=rng.random() < 0.05, status=status, finance_statement=False,
                    version=events_per_case, replaced_by_id=None, created_at=created,
                    updated_at=updated))
                deciding = cases[-1]["deciding_body"]
                start_payload = {
                    "deciding_body": deciding, "committees": route,
                    "deciding_stage": "council" if deciding == "KB" else "committee",
                    "finance_body": "ØU", "council_body": "KB",
                    "require_finance_statement": True}
                for seq in range(1, events_per_case + 1):
                    trigger = "create" if seq == 1 else TRIGGERS[(seq - 2) % len(TRIGGERS)]
                    events.append(dict(
                        id=(case_id - 1) * events_per_case + seq, case_id=case_id, seq=seq,
                        at=created + timedelta(hours=seq),
                        actor="bench", trigger=trigger, from_state=None if seq == 1 else
                        "committee", to_state=status, body=route[0], reason="",
                        payload=start_payload if seq == 1 else {}))
                due = today + timedelta(days=rng.randint(-30, 120)) if is_active else \
                    created.date() + timedelta(days=60)
                deadlines.append(dict(case_id=case_id, due_date=due, kind="statutory",
                                      description="KB senest", legal_basis="",
                                      met_on=None))
                proposals += [dict(case_id=case_id, number=i, text=f"at punkt {i} godkendes")
                              for i in (1, 2)]
                treatments.append(dict(
                    case_id=case_id, event_id=(case_id - 1) * events_per_case + 1,
                    body_code=route[0], body_name=route[0],
                    meeting_date=created.date() + timedelta(days=14), item_number=3,
                    agenda_item_id=None, wording="anbefales", decision_text="Anbefales.",
                    proposal_decisions=[], minority=""))
                if status == "committee":
                    awaiting += [dict(case_id=case_id, body_code=c, since=updated)
                                 for c in route]
            conn.execute(sa.insert(case_table), cases)
            conn.execute(sa.insert(CaseEvent.__table__), events)
            conn.execute(sa.insert(Deadline.__table__), deadlines)
            conn.execute(sa.insert(Proposal.__table__), proposals)
            conn.execute(sa.insert(Treatment.__table__), treatments)
            if awaiting:
                conn.execute(sa.insert(Awaiting.__table__), awaiting)
        hearing_cases = [i + 1 for i in sorted(active)][: ACTIVE_CASES // 5]
        for case_id in hearing_cases:
            hearing_id = conn.execute(sa.insert(Hearing.__table__).returning(
                Hearing.__table__.c.id), dict(
                case_id=case_id, title="Høring", deadline=today - timedelta(days=rng.randint(
                    -20, 20)), blocking=True, opened_on=today - timedelta(days=30),
                closed_on=None)).scalar_one()
            conn.execute(sa.insert(HearingParty.__table__), [
                dict(hearing_id=hearing_id, body_code="HR", name="Handicaprådet", email=""),
                dict(hearing_id=hearing_id, body_code="SR", name="Seniorrådet", email="")])
        if engine.dialect.name == "postgresql":
            for table in ("case", "case_event", "deadline", "hearing", "awaiting", "treatment"):
                conn.exec_driver_sql(f'ANALYZE "{table}"')
            for table in ("case", "case_event", "deadline", "hearing", "hearingparty",
                          "proposal", "treatment"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                    f"(SELECT max(id) FROM \"{table}\"))")
        else:
            conn.exec_driver_sql("ANALYZE")


def measure(url: str, n_cases: int, requests: int) -> dict:
    """Median and p95 server time of the dashboard and of case pages."""
    from fastapi.testclient import TestClient

    from demo.users import ensure_demo_users
    from web.app import create_app

    engine = make_engine(url)
    with write_session(engine) as session:
        ensure_demo_users(session)
    engine.dispose()
    app = create_app(url)
    timings: dict[str, list[float]] = {"dashboard": [], "case page": []}

    @app.middleware("http")
    async def server_time(request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        key = "dashboard" if request.url.path == "/overblik" else "case page"
        timings[key].append((time.perf_counter() - started) * 1000)
        return response

    client = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    client.post("/login", data={"username": "leder", "password": "leder-demo",
                                "csrf_token": token})
    timings["dashboard"].clear()
    timings["case page"].clear()
    rng = random.Random(11)
    for _ in range(5):  # warm up caches and the template compiler
        client.get("/overblik")
        client.get(f"/sager/B-{rng.randint(1, n_cases):07d}")
    timings["dashboard"].clear()
    timings["case page"].clear()
    for _ in range(requests):
        assert client.get("/overblik").status_code == 200
        response = client.get(f"/sager/B-{rng.randint(1, n_cases):07d}")
        assert response.status_code == 200, response.text[:300]
    app.state.engine.dispose()
    return {key: {"median_ms": round(statistics.median(values), 1),
                  "p95_ms": round(statistics.quantiles(values, n=20)[-1], 1)}
            for key, values in timings.items()}


def run_sqlite(n_cases: int, events_per_case: int, requests: int) -> dict:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/bench.db"
        migrate(url)
        return _load_and_measure(url, n_cases, events_per_case, requests)


def run_postgresql(n_cases: int, events_per_case: int, requests: int) -> dict:
    with postgres_database(PG_ADMIN_URL) as url:
        try:
            return _load_and_measure(url, n_cases, events_per_case, requests)
        finally:
            engine_for(url).dispose()


def _load_and_measure(url: str, n_cases: int, events_per_case: int, requests: int) -> dict:
    engine = make_engine(url)
    started = time.perf_counter()
    generate(engine, n_cases, events_per_case)
    load_seconds = time.perf_counter() - started
    engine.dispose()
    result = measure(url, n_cases, requests)
    result["load_s"] = round(load_seconds, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--events-per-case", type=int, default=10)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--dialects", default="sqlite,postgresql")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    runners = {"sqlite": run_sqlite, "postgresql": run_postgresql}
    results = []
    for dialect in args.dialects.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            figures = runners[dialect](size, args.events_per_case, args.requests)
            results.append({"dialect": dialect, "cases": size,
                            "events": size * args.events_per_case, **figures})
            row = results[-1]
            print(f"{dialect:<10} {size:>7} cases {row['events']:>8} events "
                  f"(load {row['load_s']:>5} s) | dashboard median "
                  f"{row['dashboard']['median_ms']:>6} ms p95 {row['dashboard']['p95_ms']:>6} ms"
                  f" | case page median {row['case page']['median_ms']:>6} ms p95 "
                  f"{row['case page']['p95_ms']:>6} ms", flush=True)
    print(f"({ACTIVE_CASES} cases under way in every run; {args.requests} requests per page; "
          f"server time per request, ASGI in process; target p95 < 100 ms at 100,000 cases; "
          f"run on {date.today().isoformat()})")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
