"""Persisted transitions per second, next to raw sqlite3, and memory per 100,000 flows.

    python -m bench.transitions [--cases 300] [--flows 100000]

1. The service layer: each case goes submit → SU treats → ØU sends it back to SU → SU treats →
   ØU treats → KB decides → close; every transition in its own write transaction with its
   audit event (and its treatment row, and the reminders refresh), SQLite file in WAL mode.
   Measured as shipped, and once with the reminders refresh switched off to show the core.
2. Raw sqlite3 on the same machine and the same pragmas: per transaction BEGIN IMMEDIATE, the
   compare-and-set UPDATE of the case and one INSERT into the audit log, COMMIT; and the same
   two statements through SQLAlchemy Core with our engine set-up (the floor of our stack:
   what is left is SQLAlchemy's own work per statement and per connection checkout).
3. Memory: 100,000 CaseFlow objects fired through the one module-level machine, measured with
   tracemalloc, and that the machine holds no per-case model; next to 1,000 objects that each
   get their own transitions Machine (the design we avoided).
"""

import argparse
import gc
import json
import sqlite3
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

from transitions import Machine

from cases import services
from cases.db import make_engine, migrate, write_connection, write_session
from workflow import machine as workflow

TARGET_RATIO = 0.25
ROUTE = [("submit", {}),
         ("treat", {"body": "SU", "wording": "anbefales"}),
         ("send_back", {"body": "ØU", "bodies": ["SU"], "reason": "Uddyb økonomien"}),
         ("treat", {"body": "SU", "wording": "anbefales"}),
         ("treat", {"body": "ØU", "wording": "indstilles_til_godkendelse"}),
         ("treat", {"body": "KB", "wording": "godkendt"}),
         ("close", {})]


# -- 1. the service layer ----------------------------------------------------------------------

@contextmanager
def reminders_off():
    """Swap the reminders refresh for a no-op, to measure the core without it."""
    original = services.refresh_case_reminders
    services.refresh_case_reminders = lambda session, case, now: None
    try:
        yield
    finally:
        services.refresh_case_reminders = original


def service_layer_rate(directory: Path, cases: int, label: str) -> dict:
    url = f"sqlite:///{directory / f'service-{label}.db'}"
    migrate(url)
    engine = make_engine(url)
    numbers = [f"B-{i}" for i in range(cases)]
    for number in numbers:
        with write_session(engine) as session:
            services.create_case(session, {"number": number, "title": "Benchmark",
                                           "centre": "Center for Voksne og Sundhed",
                                           "deciding_body": "KB", "committees": ["SU"]},
                                 actor="bench")
    started = time.perf_counter()
    for number in numbers:
        for trigger, arguments in ROUTE:
            with write_session(engine) as session:
                services.fire_action(session, number, trigger, actor="bench",
                                     meeting_date="04-10-2022", **arguments)
    elapsed = time.perf_counter() - started
    engine.dispose()
    transitions = cases * len(ROUTE)
    return {"transitions": transitions, "seconds": elapsed, "per_second": transitions / elapsed}


# -- 2. raw sqlite3 ----------------------------------------------------------------------------

def raw_sqlite_rate(directory: Path, transitions: int) -> dict:
    connection = sqlite3.connect(directory / "raw.db", isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "synchronous=NORMAL",
                   "foreign_keys=ON"):
        connection.execute(f"PRAGMA {pragma}")
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
    return {"transitions": transitions, "seconds": elapsed, "per_second": transitions / elapsed}


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
    return {"transitions": transitions, "seconds": elapsed, "per_second": transitions / elapsed}


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
        shipped = service_layer_rate(directory, args.cases, "shipped")
        with reminders_off():
            core = service_layer_rate(directory, args.cases, "core")
        raw = raw_sqlite_rate(directory, shipped["transitions"])
        floor = sqlalchemy_core_rate(directory, shipped["transitions"])
    for label, result in (("service layer, as shipped", shipped),
                          ("service layer, reminders refresh off", core),
                          ("SQLAlchemy Core UPDATE + INSERT", floor),
                          ("raw sqlite3 UPDATE + INSERT", raw)):
        print(f"  {label:<38} {result['per_second']:>9,.0f} /s   "
              f"({result['transitions']:,} in {result['seconds']:.2f} s, "
              f"{result['seconds'] / result['transitions'] * 1e6:,.0f} µs each)")
    for label, result in (("as shipped", shipped), ("reminders off", core),
                          ("Core floor", floor)):
        ratio = result["per_second"] / raw["per_second"]
        verdict = "meets" if ratio >= TARGET_RATIO else "below"
        print(f"  ratio {label:<14} {ratio:.3f} of raw ({verdict} the target "
              f"{TARGET_RATIO:.2f})")

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
