"""Benchmark of the meetings part: `python -m bench.meetings [--meetings N] [--cases N] [--pg URL]`.

Prints, never asserts:
1. the seed referat (../shared/seed): parse, import into an empty database, render;
2. N generated meetings (default 1,000) in the same text format: parse + import, render;
3. the queue query per body with M cases (default 100,000), built with bulk inserts:
   cases.queries.queue and meetings.queries.agenda_queue, on SQLite and, with --pg, on
   PostgreSQL (a database created for the run and dropped after it).
"""

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.servers import postgres_database
from cases import queries as case_queries
from cases.db import make_engine, migrate, read_session, write_session
from cases.models import Awaiting, Case
from cases.organisation import load_organisation
from cases.settings import PROJECT_DIR
from meetings import queries
from meetings.documents import render_meeting
from meetings.importer import import_referat
from meetings.models import AgendaItem, Meeting
from meetings.referat import MONTHS, parse_referat

SEED = PROJECT_DIR / ".." / "shared" / "seed" / "socialudvalget-2022-10-04.txt"
COMMITTEES = ("SU", "BSU", "SÆU", "KMU", "UGO", "BEU")
NAMES = {"SU": "Socialudvalget", "BSU": "Børne- og Skoleudvalget",
         "SÆU": "Sundheds- og Ældreudvalget", "KMU": "Klima- og Miljøudvalget",
         "UGO": "Udvalg for Grøn Omstilling", "BEU": "Beskæftigelses- og Erhvervsudvalget"}


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def fresh_sqlite(directory: Path, name: str) -> str:
    url = f"sqlite:///{directory / name}"
    migrate(url)
    return url


# -- 1. the seed -------------------------------------------------------------------------------

def bench_seed(directory: Path, org, rounds: int = 5) -> None:
    text = SEED.read_text(encoding="utf-8")
    parse_s, imports, renders = [], [], []
    for round_number in range(rounds):
        seconds, referat = timed(lambda: parse_referat(text))
        parse_s.append(seconds)
        engine = make_engine(fresh_sqlite(directory, f"seed{round_number}.db"))
        with write_session(engine) as session:
            seconds, report = timed(lambda s=session, r=referat: import_referat(s, r, org=org))
        imports.append(seconds)
        with read_session(engine) as session:
            seconds, html = timed(lambda s=session, m=report.meeting_id: render_meeting(
                s, m, kind="referat", org=org))
        renders.append(seconds)
        engine.dispose()
    print(f"seed ({len(referat.items)} punkter, {len(html):,} bytes HTML), median of {rounds}:")
    print(f"  parse  {statistics.median(parse_s) * 1000:8.1f} ms")
    print(f"  import {statistics.median(imports) * 1000:8.1f} ms (SQLite, one transaction)")
    print(f"  render {statistics.median(renders) * 1000:8.1f} ms (referat)")


# -- 2. generated meetings ---------------------------------------------------------------------

def generated_referat(rng: random.Random, body: str, day: date, serial: int, items: int) -> str:
    parts = [" Punkt 1 Meddelelser\n\nBeskrivelse\nOrientering om status. 1.\n\nBeslutning\n\n"
             "Taget til efterretning\n"]
    for number in range(2, items + 2):
        earlier = day - timedelta(days=28)
        parts.append(
            f"Punkt {number} Genereret sag {serial}-{number} om emne {rng.randint(1, 10**6)}\n\n"
            f"Tidligere behandling\n\n{NAMES[body]} den {earlier.day}. "
            f"{MONTHS[earlier.month - 1]} {earlier.year} Punkt {number}\n\n"
            "Indhold\n\nSammendrag\n\nEt kort sammendrag af sagen.\n\nBaggrund\n\n"
            + "Baggrunden for sagen beskrives her. " * 20 + "\n\nSagsfremstilling\n\n"
            + ("Sagsfremstillingen fylder typisk et par sider med tekst. " * 30 + "\n\n") * 3
            + "Økonomiske konsekvenser og finansiering\n\nIngen økonomiske konsekvenser\n\n"
            f"Bilag\n\n2 bilag, heraf 1 anbefales\n\nBeslutningen træffes af\n\n{NAMES[body]}\n\n"
            "Indstilling\n\nCenter for Voksne og Sundhed indstiller, at\n\n"
            "Orienteringen tages til efterretning. 1.\n\nForslaget godkendes.2.\n\n"
            "Beslutning\n\nGodkendt\n")
    parts.append(f"Punkt {items + 2} Godkendelse af referat (underskriftside)\n\n"
                 f"Beslutningen træffes af\n\n{NAMES[body]}\n\nIndstilling\n\n"
                 "Alle medlemmer godkender referatet.\n")
    return "\n".join(parts)


def bench_generated(directory: Path, org, meetings: int, items: int) -> None:
    rng = random.Random(7)
    engine = make_engine(fresh_sqlite(directory, "generated.db"))
    slots = [(body, date(2010, 1, 5) + timedelta(weeks=week))
             for week in range(meetings // len(COMMITTEES) + 1) for body in COMMITTEES]
    texts = [(body, day, generated_referat(rng, body, day, n, items))
             for n, (body, day) in enumerate(slots[:meetings])]
    parse_total = import_total = 0.0
    ids = []
    for body, day, text in texts:
        seconds, referat = timed(lambda t=text: parse_referat(t))
        parse_total += seconds
        with write_session(engine) as session:
            seconds, report = timed(lambda s=session, r=referat, b=body, d=day: import_referat(
                s, r, body_code=b, day=d, org=org))
        import_total += seconds
        ids.append(report.meeting_id)
    render_total = 0.0
    size = 0
    with read_session(engine) as session:
        for meeting_id in ids:
            seconds, html = timed(lambda s=session, m=meeting_id: render_meeting(
                s, m, kind="referat", org=org))
            render_total += seconds
            size += len(html)
    engine.dispose()
    count = len(texts)
    print(f"{count} generated meetings ({items + 2} punkter each, {count * items:,} cases, "
          f"{size / count / 1024:.0f} KB HTML each), SQLite:")
    print(f"  parse  total {parse_total:7.2f} s  = {parse_total / count * 1000:6.2f} ms/meeting")
    print(f"  import total {import_total:7.2f} s  = {import_total / count * 1000:6.2f} ms/meeting"
          " (one transaction per meeting)")
    print(f"  render total {render_total:7.2f} s  = {render_total / count * 1000:6.2f} ms/meeting")


# -- 3. the queue at scale ---------------------------------------------------------------------

def build_cases(engine, org, total: int, rng: random.Random, active: float) -> None:
    """Bulk-insert `total` cases; the `active` share is due at 2 committees, ØU or KB."""
    now = datetime(2022, 10, 4, tzinfo=UTC)
    case_table = Case.__table__
    awaiting_table = Awaiting.__table__
    batch = 10_000
    with engine.begin() as conn:
        meeting_ids = {}
        for body in (*COMMITTEES, "ØU", "KB"):
            result = conn.execute(sa.insert(Meeting.__table__).values(
                body_code=body, starts_at=now + timedelta(days=7), place="", status="planned",
                status_reason="", agenda_status="draft", minutes_status="none", created_at=now))
            meeting_ids[body] = result.inserted_primary_key[0]
        for start in range(0, total, batch):
            rows = []
            for n in range(start, min(start + batch, total)):
                rows.append(dict(
                    number=f"B-{n:07d}", title=f"Sag nummer {n}", summary="", background="",
                    presentation="", economy="", centre="Center for Voksne og Sundhed",
                    owner_name="", owner_email="", deciding_body="KB",
                    committees=list(rng.sample(COMMITTEES, 2)),
                    confidential=False, status="closed", finance_statement=False, version=1,
                    created_at=now, updated_at=now))
            conn.execute(sa.insert(case_table), rows)
        ids = conn.execute(sa.select(case_table.c.id, case_table.c.committees)).all()
        awaiting, items, statuses = [], [], []
        for case_id, committees in ids:
            if rng.random() > active:
                continue
            stage = rng.random()
            bodies = committees if stage < 0.7 else (["ØU"] if stage < 0.85 else ["KB"])
            statuses.append({"cid": case_id, "st": "committee" if stage < 0.7 else
                             ("finance" if stage < 0.85 else "council")})
            for body in bodies:
                since = now - timedelta(minutes=rng.randint(0, 500_000))
                awaiting.append(dict(case_id=case_id, body_code=body, since=since))
                if rng.random() < 0.05:  # a few are already on the next agenda
                    items.append(dict(meeting_id=meeting_ids[body], case_id=case_id,
                                      number=len(items) + 1, title="x", text="", closed=False,
                                      late_reason="", supplementary=False, attachments_note="",
                                      decision_text="", proposal_decisions=[], minority=""))
        for start in range(0, len(awaiting), batch):
            conn.execute(sa.insert(awaiting_table), awaiting[start:start + batch])
        if items:
            conn.execute(sa.insert(AgendaItem.__table__), items)
        conn.execute(sa.update(case_table).where(case_table.c.id == sa.bindparam("cid"))
                     .values(status=sa.bindparam("st")), statuses)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")


def bench_queue(url: str, org, total: int, label: str, active: float) -> None:
    engine = make_engine(url)
    seconds, _ = timed(lambda: build_cases(engine, org, total, random.Random(3), active))
    print(f"queue per body at {total:,} cases ({active:.0%} active) on {label} (built in "
          f"{seconds:.1f} s with bulk inserts), median of 5, a fresh session per call:")
    for body in (*COMMITTEES, "ØU", "KB"):
        plain, placed = [], []
        for _ in range(5):
            with read_session(engine) as session:
                seconds, found = timed(lambda b=body, s=session: case_queries.queue(s, b))
            plain.append(seconds)
            with read_session(engine) as session:
                seconds, entries = timed(lambda b=body, s=session: queries.agenda_queue(s, b))
                placed_count = sum(1 for e in entries if e.placed_on)
            placed.append(seconds)
        print(f"  {body:<4} {len(found):6,} cases  queue {statistics.median(plain) * 1000:7.1f}"
              f" ms   agenda_queue {statistics.median(placed) * 1000:7.1f} ms "
              f"({placed_count} placed)")
    engine.dispose()


def bench_queue_postgres(admin_url: str, org, total: int, active: float) -> None:
    with postgres_database(admin_url) as url:
        bench_queue(url, org, total, "PostgreSQL", active)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=1000)
    parser.add_argument("--items", type=int, default=5, help="case items per generated meeting")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--active", type=float, default=0.03,
                        help="share of the cases that are in some body's queue")
    parser.add_argument("--parts", default="seed,generated,queue",
                        help="which parts to run, comma-separated")
    parser.add_argument("--pg", default=None,
                        help="PostgreSQL admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1"
                             ":5432/postgres")
    args = parser.parse_args()
    org = load_organisation(PROJECT_DIR / "config" / "ballerup.toml")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        parts = args.parts.split(",")
        if "seed" in parts:
            bench_seed(directory, org)
        if "generated" in parts:
            bench_generated(directory, org, args.meetings, args.items)
        if "queue" in parts:
            bench_queue(fresh_sqlite(directory, "queue.db"), org, args.cases, "SQLite",
                        args.active)
    if args.pg and "queue" in args.parts:
        bench_queue_postgres(args.pg, org, args.cases, args.active)


if __name__ == "__main__":
    main()
