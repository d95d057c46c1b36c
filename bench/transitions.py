"""Persisted transitions per second, next to raw sqlite3, and memory per 100,000 flows.

    python -m bench.transitions [--cases 300] [--flows 100000]

1. The service layer: each case goes submit → SU treats → ØU sends it back to SU → SU treats →
   ØU treats → KB decides → close; every transition in its own write transaction with its
   audit event (and its treatment row and queue rows), SQLite file in WAL mode. Then, apart,
   what the beat's sweep does afterwards for those cases (notifications.changes: reminders
   and follow news derived from the audit log), so the work moved out of the transition is
   shown, not hidden.
2. Raw sqlite3 on the same machine and the same pragmas, two ways:
   a. the same statements: every statement the service layer sent to SQLite (recorded in a
      run of its own), replayed transaction by transaction with the sqlite3 module on a copy
      of the same database — what the database itself needs for exactly these writes;
   b. the minimal pair: per transaction the compare-and-set UPDATE of a case and one INSERT
      into an audit log on two bare tables (no indexes besides the keys, no treatment or
      queue rows); and the same pair through SQLAlchemy Core with our engine set-up.
3. Memory: 100,000 CaseFlow objects fired through the one module-level machine, measured with
   tracemalloc, and that the machine holds no per-case model; next to 1,000 objects that each
   get their own transitions Machine (the design we avoided).
"""

import argparse
import gc
import json
import shutil
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

from sqlalchemy import event
from transitions import Machine

from cases import actions, services
from cases.db import make_engine, migrate, write_connection, write_session
from notifications.changes import notify_changed_cases
from workflow import machine as workflow

TARGET_RATIO = 0.25
DAY = "04-10-2022"
ROUTE = [("submit", {}),
         ("treat", {"body": "SU", "wording": "anbefales", "meeting_date": DAY}),
         ("send_back", {"body": "ØU", "bodies": ["SU"], "reason": "Uddyb økonomien",
                        "meeting_date": DAY}),
         ("treat", {"body": "SU", "wording": "anbefales", "meeting_date": DAY}),
         ("treat", {"body": "ØU", "wording": "indstilles_til_godkendelse",
                    "meeting_date": DAY}),
         ("treat", {"body": "KB", "wording": "godkendt", "meeting_date": DAY}),
         ("close", {})]
PRAGMAS = ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL", "foreign_keys=ON")


def rate(count: int, seconds: float, **more) -> dict:
    return {"transitions": count, "seconds": seconds, "per_second": count / seconds, **more}


# -- 1. the service layer ----------------------------------------------------------------------

def prepared_database(path: Path, cases: int) -> list[str]:
    """A migrated database with `cases` registered cases; their numbers."""
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    numbers = [f"B-{i}" for i in range(cases)]
    for number in numbers:
        with write_session(engine) as session:
            services.create_case(session, {"number": number, "title": "Benchmark",
                                           "centre": "Center for Voksne og Sundhed",
                                           "deciding_body": "KB", "committees": ["SU"]},
                                 actor="bench")
    engine.dispose()
    return numbers


def run_route(engine, numbers: list[str]) -> None:
    for number in numbers:
        for trigger, arguments in ROUTE:
            with write_session(engine) as session:
                actions.run_action(session, number, trigger, arguments, actor="bench")


def service_layer_rate(path: Path, numbers: list[str]) -> tuple[dict, dict]:
    engine = make_engine(f"sqlite:///{path}")
    started = time.perf_counter()
    run_route(engine, numbers)
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    derived = notify_changed_cases(engine, limit=len(numbers) + 1)
    derive_seconds = time.perf_counter() - started
    assert derived == len(numbers)
    engine.dispose()
    return (rate(len(numbers) * len(ROUTE), elapsed),
            {"cases": len(numbers), "seconds": derive_seconds})


def recorded_statements(path: Path, numbers: list[str]) -> list[list[tuple]]:
    """Every statement the service layer sends, per transaction (a run of its own: the
    listener that records them costs time)."""
    engine = make_engine(f"sqlite:///{path}")
    transactions: list[list[tuple]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):
        transactions[-1].append((statement, parameters, executemany))

    @event.listens_for(engine, "begin")
    def begin(conn):
        transactions.append([])

    run_route(engine, numbers)
    engine.dispose()
    return transactions


# -- 2. raw sqlite3 ----------------------------------------------------------------------------

def raw_connection(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        connection.execute(f"PRAGMA {pragma}")
    return connection


def raw_replay_rate(path: Path, transactions: list[list[tuple]]) -> dict:
    connection = raw_connection(path)
    statements = sum(len(t) for t in transactions)
    started = time.perf_counter()
    for transaction in transactions:
        connection.execute("BEGIN IMMEDIATE")
        for statement, parameters, many in transaction:
            if many:
                connection.executemany(statement, parameters)
            else:
                connection.execute(statement, parameters).fetchall()
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return rate(len(transactions), elapsed, statements=statements / len(transactions))


def raw_sqlite_rate(directory: Path, transitions: int) -> dict:
    connection = raw_connection(directory / "raw.db")
    connection.execute("CREATE TABLE case_ (id INTEGER PRIMARY KEY, status TEXT NOT NULL, "
                       "version INTEGER NOT NULL, updated_at TEXT NOT NULL)")
    connection.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL "
                       "REFERENCES case_(id), seq INTEGER NOT NULL, at TEXT NOT NULL, "
                       "trigger TEXT NOT NULL, from_state TEXT, to_state TEXT NOT NULL, "
                       "payload TEXT NOT NULL, UNIQUE (case_id, seq))")
    cases = 300
    connection.executemany("INSERT INTO case_ VALUES (?, 'committee', 1, '')",
                           [(i,) for i in range(cases)])
    payload = json.dumps({"body": "SU", "wording": "anbefales", "meeting_date": "2022-10-04"})
    started = time.perf_counter()
    for n in range(transitions):
        case_id, version = n % cases, n // cases + 1
        connection.execute("BEGIN IMMEDIATE")
        updated = connection.execute(
            "UPDATE case_ SET status = 'committee', version = version + 1, updated_at = ? "
            "WHERE id = ? AND version = ?", ("2022-10-04 17:00:00", case_id, version)).rowcount
        assert updated == 1
        connection.execute("INSERT INTO event (case_id, seq, at, trigger, from_state, to_state, "
                           "payload) VALUES (?, ?, ?, 'treat', 'committee', 'committee', ?)",
                           (case_id, version, "2022-10-04 17:00:00", payload))
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return rate(transitions, elapsed)


def sqlalchemy_core_rate(directory: Path, transitions: int) -> dict:
    """The same two statements through SQLAlchemy Core and our engine set-up: the floor of
    our stack, between raw sqlite3 and the ORM service layer."""
    import sqlalchemy as sa

    engine = make_engine(f"sqlite:///{directory / 'core.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE case_ (id INTEGER PRIMARY KEY, status TEXT NOT NULL, "
                             "version INTEGER NOT NULL, updated_at TEXT NOT NULL)")
        conn.exec_driver_sql("CREATE TABLE event (id INTEGER PRIMARY KEY, case_id INTEGER NOT "
                             "NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, trigger TEXT NOT "
                             "NULL, from_state TEXT, to_state TEXT NOT NULL, payload TEXT NOT "
                             "NULL, UNIQUE (case_id, seq))")
        for i in range(300):
            conn.exec_driver_sql(f"INSERT INTO case_ VALUES ({i}, 'committee', 1, '')")
    update = sa.text("UPDATE case_ SET status = 'committee', version = version + 1, "
                     "updated_at = :at WHERE id = :id AND version = :version")
    insert = sa.text("INSERT INTO event (case_id, seq, at, trigger, from_state, to_state, "
                     "payload) VALUES (:id, :version, :at, 'treat', 'committee', 'committee', "
                     ":payload)")
    payload = json.dumps({"body": "SU", "wording": "anbefales", "meeting_date": "2022-10-04"})
    started = time.perf_counter()
    for n in range(transitions):
        values = {"id": n % 300, "version": n // 300 + 1, "at": "2022-10-04 17:00:00",
                  "payload": payload}
        with write_connection(engine) as conn:
            assert conn.execute(update, values).rowcount == 1
            conn.execute(insert, values)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return rate(transitions, elapsed)


# -- 3. memory ---------------------------------------------------------------------------------

def flows_memory(count: int) -> dict:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    flows = [workflow.CaseFlow(deciding_body="KB", deciding_stage=workflow.COUNCIL,
                               committees=["BSU", "SU"], finance_body="ØU", council_body="KB")
             for _ in range(count)]
    for flow in flows:
        workflow.fire(flow, "submit")
        workflow.fire(flow, "treat", body="SU")
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert all(flow.pending == ["BSU"] for flow in flows)
    models = len(workflow.MACHINE.models)
    del flows
    return {"count": count, "bytes": held, "bytes_per_case": held / count,
            "machine_models": models}


class _Model:
    pass


def machine_per_object_memory(count: int) -> dict:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    machines = []
    for _ in range(count):
        model = _Model()
        machines.append(Machine(model=model, states=list(workflow.STATES),
                                transitions=workflow.TRANSITIONS, initial=workflow.DRAFT,
                                auto_transitions=False, send_event=True))
    elapsed = time.perf_counter() - started
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del machines
    return {"count": count, "bytes_per_case": held / count, "ms_per_case": elapsed / count * 1e3}


# -- report ------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.transitions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=300,
                        help=f"cases run through the route ({len(ROUTE)} transitions each)")
    parser.add_argument("--flows", type=int, default=100_000, help="flows held in memory")
    args = parser.parse_args(argv)

    print("Transitions (SQLite, WAL, synchronous=NORMAL; one transaction per transition)")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        numbers = prepared_database(directory / "service.db", args.cases)
        for copy in ("recorded.db", "replayed.db"):
            shutil.copy(directory / "service.db", directory / copy)
        recorded = recorded_statements(directory / "recorded.db", numbers)
        shipped, derived = service_layer_rate(directory / "service.db", numbers)
        same = raw_replay_rate(directory / "replayed.db", recorded)
        pair = raw_sqlite_rate(directory, shipped["transitions"])
        floor = sqlalchemy_core_rate(directory, shipped["transitions"])
    assert len(recorded) == shipped["transitions"]
    for label, result in (("service layer, as shipped", shipped),
                          ("raw sqlite3, the same statements", same),
                          ("raw sqlite3, minimal UPDATE + INSERT", pair),
                          ("SQLAlchemy Core, minimal UPDATE + INSERT", floor)):
        print(f"  {label:<42} {result['per_second']:>9,.0f} /s   "
              f"({result['transitions']:,} in {result['seconds']:.2f} s, "
              f"{result['seconds'] / result['transitions'] * 1e6:,.0f} µs each)")
    print(f"  (the service layer sends {same['statements']:.1f} statements per transition: "
          "the case, its audit event, its treatment and queue rows)")
    for label, result, raw in (("service layer / raw, same statements", shipped, same),
                               ("service layer / raw, minimal pair", shipped, pair),
                               ("Core minimal pair / raw minimal pair", floor, pair)):
        ratio = result["per_second"] / raw["per_second"]
        verdict = "meets" if ratio >= TARGET_RATIO else "below"
        print(f"  ratio {label:<38} {ratio:.3f} ({verdict} the target {TARGET_RATIO:.2f})")
    print(f"  afterwards, the sweep derives those {derived['cases']:,} cases' reminders and "
          f"follow news: {derived['seconds'] * 1e3 / derived['cases']:.2f} ms per case "
          f"(its {len(ROUTE)} transitions at once)")

    print(f"Memory of {args.flows:,} cases held in the workflow (tracemalloc)")
    flows = flows_memory(args.flows)
    print(f"  CaseFlow objects                        {flows['bytes'] / 2**20:>9,.1f} MiB   "
          f"({flows['bytes_per_case']:,.0f} bytes per case)")
    print(f"  per-case models registered on MACHINE   {flows['machine_models']:>9}"
          "   (no per-case machine objects)")
    per_object = machine_per_object_memory(1_000)
    print(f"  for comparison, one Machine per case    {per_object['bytes_per_case']:>9,.0f} "
          f"bytes and {per_object['ms_per_case']:.2f} ms per case (1,000 measured)")


if __name__ == "__main__":
    main()
