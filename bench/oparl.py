"""The open data (OParl) and the public portal at twenty years of meetings:

    python -m bench.oparl [--items 100000] [--bilag 20000] [--requests 30] [--pg ADMIN_URL]

Prints, never asserts. Generated in bulk with SQLAlchemy Core: eight bodies meeting eleven
times a year for twenty years (1,760 meetings), N agenda items (default 100,000) each with its
case, every agenda published (one publication per meeting), 5 % of the items lukkede punkter,
and M Bilag with a file (default 20,000; the rows only, no file is read). Requests go through
the whole ASGI app in process (routing, rate limit, queries, the closed-item and Bilag rules,
JSON or template, ETag); the time is the server's, from request in to response out. Next to
each page: the floor, the same rows fetched bare with plain SQL on the engine (the page's
count and rows, no rules, no mapping, no rendering).
"""

import argparse
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.servers import postgres_database
from cases.db import make_engine, migrate, write_session
from cases.models import Attachment, Case
from meetings.models import AGENDA_PUBLISHED, AgendaItem, AgendaPublication, Meeting

BODIES = ("SU", "BSU", "SÆU", "KMU", "UGO", "BEU", "ØU", "KB")
YEARS = range(2006, 2026)
LIMITS = {"meeting": 20, "agendaitem": 100, "paper": 100}  # web.oparl's default page sizes


def build(engine, items: int, bilag: int, rng: random.Random) -> list[int]:
    """The meetings, publications, cases, items and Bilag; returns the meeting ids."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    days = [(body, date(year, month, 1 + BODIES.index(body) * 3))
            for year in YEARS for month in range(1, 12) for body in BODIES]
    with write_session(engine) as session:
        connection = session.connection()
        meeting_ids = connection.execute(sa.insert(Meeting.__table__).returning(
            Meeting.__table__.c.id, sort_by_parameter_order=True), [
            {"body_code": body, "place": "Rådhuset, mødesal 1", "status": "planned",
             "status_reason": "", "agenda_status": AGENDA_PUBLISHED, "minutes_status": "final",
             "starts_at": datetime(day.year, day.month, day.day, 15, tzinfo=UTC),
             "created_at": _at(day, -30), "modified_at": _at(day, 1), "changed_seq": 0,
             "notified_seq": 0} for body, day in days]).scalars().all()
        publication_ids = connection.execute(sa.insert(AgendaPublication.__table__).returning(
            AgendaPublication.__table__.c.id, sort_by_parameter_order=True), [
            {"meeting_id": m, "seq": 1, "kind": "dagsorden", "published_at": now,
             "actor": "bench", "late_reason": "", "content": {}} for m in meeting_ids]) \
            .scalars().all()
    per_meeting, extra = divmod(items, len(meeting_ids))
    number = 0
    for index, (meeting_id, publication_id) in enumerate(zip(meeting_ids, publication_ids,
                                                             strict=True)):
        body, day = days[index]
        count = per_meeting + (1 if index < extra else 0)
        cases = []
        for _ in range(count):
            number += 1
            cases.append({"number": f"{day.year}-{number:06d}", "title": f"Sag nr. {number}",
                          "summary": "Sammendrag.", "background": "", "presentation": "",
                          "economy": "", "centre": "Center for Test", "owner_name": "",
                          "owner_email": "", "deciding_body": body, "committees": [body],
                          "joint_bodies": [], "confidential": False, "status": "closed",
                          "finance_statement": False, "version": 1, "last_seq": 0,
                          "notified_seq": 0, "created_at": _at(day, -40),
                          "updated_at": _at(day, 1)})
        with write_session(engine) as session:
            connection = session.connection()
            case_ids = connection.execute(sa.insert(Case.__table__).returning(
                Case.__table__.c.id, sort_by_parameter_order=True), cases).scalars().all()
            connection.execute(sa.insert(AgendaItem.__table__), [
                {"meeting_id": meeting_id, "case_id": case_id, "number": n + 1,
                 "title": case["title"], "text": "", "closed": rng.random() < 0.05,
                 "late_reason": "", "supplementary": False, "attachments_note": "",
                 "published_in": publication_id, "wording": "godkendt",
                 "decision_text": "Godkendt.", "proposal_decisions": [], "minority": "",
                 "decided_at": _at(day, 0), "created_at": _at(day, -20),
                 "modified_at": _at(day, 0)}
                for n, (case_id, case) in enumerate(zip(case_ids, cases, strict=True))])
            wanted = round(bilag * (number) / items) - round(bilag * (number - count) / items)
            chosen = rng.sample(case_ids, min(wanted, count))
            if chosen:
                connection.execute(sa.insert(Attachment.__table__), [
                    {"case_id": case_id, "number": 1, "title": "Bilag", "recommended": False,
                     "public": rng.random() < 0.9, "digest": "0" * 64, "filename": "bilag.pdf",
                     "media_type": "application/pdf", "size": 1000, "text": "",
                     "created_at": _at(day, -30), "modified_at": _at(day, -30)}
                    for case_id in chosen])
    with engine.connect() as connection:  # fresh statistics for the planner
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
    return list(meeting_ids)


def _at(day: date, offset_days: int) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(days=offset_days)


# The floors: the page's count and rows, bare. The item and paper conditions are those of
# meetings.queries.public_item_condition (every meeting here has its publication).
PUBLIC_ITEM = ("m.agenda_status = 'published' AND (i.published_in IS NOT NULL OR NOT EXISTS "
               "(SELECT 1 FROM agenda_publication p WHERE p.meeting_id = m.id))")
FLOORS = {
    "meeting": ["SELECT count(*) FROM meeting",
                "SELECT * FROM meeting ORDER BY id LIMIT :limit OFFSET :offset",
                # its agendas' items, for the embedded agendaItem
                "SELECT i.* FROM agenda_item i WHERE i.meeting_id IN (SELECT id FROM meeting "
                "ORDER BY id LIMIT :limit OFFSET :offset)"],
    "meeting_since": [
        "SELECT count(*) FROM meeting WHERE modified_at >= :since",
        "SELECT * FROM meeting WHERE modified_at >= :since ORDER BY id LIMIT :limit "
        "OFFSET :offset",
        "SELECT i.* FROM agenda_item i WHERE i.meeting_id IN (SELECT id FROM meeting "
        "WHERE modified_at >= :since ORDER BY id LIMIT :limit OFFSET :offset)"],
    "agendaitem": [f"SELECT count(*) FROM agenda_item i JOIN meeting m ON m.id = i.meeting_id "
                   f"WHERE {PUBLIC_ITEM}",
                   f"SELECT i.*, m.* FROM agenda_item i JOIN meeting m ON m.id = i.meeting_id "
                   f"WHERE {PUBLIC_ITEM} ORDER BY i.id LIMIT :limit OFFSET :offset"],
    "paper": [f'SELECT count(*) FROM "case" c WHERE EXISTS (SELECT 1 FROM agenda_item i '
              f"JOIN meeting m ON m.id = i.meeting_id WHERE i.case_id = c.id AND {PUBLIC_ITEM})",
              f'SELECT * FROM "case" c WHERE EXISTS (SELECT 1 FROM agenda_item i '
              f"JOIN meeting m ON m.id = i.meeting_id WHERE i.case_id = c.id AND {PUBLIC_ITEM}) "
              f"ORDER BY c.id LIMIT :limit OFFSET :offset"],
    "offentlig": ["SELECT * FROM meeting WHERE agenda_status = 'published' "
                  "ORDER BY starts_at DESC LIMIT 200"],
    "moede": ["SELECT * FROM meeting WHERE id = :meeting",
              "SELECT * FROM agenda_item WHERE meeting_id = :meeting ORDER BY number",
              "SELECT * FROM agenda_publication WHERE meeting_id = :meeting"],
}


def floor(engine, kind: str, params: dict) -> float:
    started = time.perf_counter()
    with engine.connect() as connection:
        for statement in FLOORS[kind]:
            connection.execute(sa.text(statement), params).all()
    return (time.perf_counter() - started) * 1000


def pages(meeting_ids: list[int], items: int, rng: random.Random) -> list[tuple[str, str, dict]]:
    """(label, path, floor parameters) of the pages measured."""
    meeting = rng.choice(meeting_ids)
    found = []
    for kind, limit in LIMITS.items():
        rows = len(meeting_ids) if kind == "meeting" else items
        for page in (1, rows // limit // 2):
            found.append((f"OParl {kind} side {page} ({limit})",
                          f"/oparl/v1/body/kommune/{kind}?page={page}",
                          {"kind": kind, "limit": limit, "offset": (page - 1) * limit}))
    found.append(("OParl meeting modified_since 2025",
                  "/oparl/v1/body/kommune/meeting?modified_since=2025-01-01T00:00:00%2B01:00",
                  {"kind": "meeting_since", "limit": LIMITS["meeting"], "offset": 0,
                   "since": datetime(2024, 12, 31, 23, tzinfo=UTC)}))
    found.append(("/offentlig", "/offentlig", {"kind": "offentlig"}))
    found.append((f"/offentlig/moeder/{meeting}", f"/offentlig/moeder/{meeting}",
                  {"kind": "moede", "meeting": meeting}))
    return found


def measure(url: str, meeting_ids: list[int], items: int, requests: int, label: str) -> None:
    from fastapi.testclient import TestClient

    from cases.settings import get_settings
    from web.app import create_app

    os.environ["SAGSGANG_OPARL_REQUESTS_PER_MINUTE"] = "100000"  # the bench is one client
    get_settings.cache_clear()
    app = create_app(url)
    timings: list[float] = []

    @app.middleware("http")
    async def server_time(request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        timings.append((time.perf_counter() - started) * 1000)
        return response

    client = TestClient(app, follow_redirects=False)
    engine = make_engine(url)
    print(f"{label}: {len(meeting_ids):,} meetings, {items:,} agenda items and cases; ms per "
          f"request over {requests} requests (page sizes in brackets)")
    print(f"  {'page':<40} {'p50':>7} {'p95':>7}   {'floor p50':>9} {'p95':>7}  {'p95/floor':>9}")
    for name, path, params in pages(meeting_ids, items, random.Random(5)):
        kind = params.pop("kind")
        for _ in range(3):  # warm up caches and the template compiler
            assert client.get(path).status_code == 200, (path, client.get(path).text[:300])
            floor(engine, kind, params)
        timings.clear()
        floors = []
        for _ in range(requests):
            client.get(path)
            floors.append(floor(engine, kind, params))
        full = sorted(timings)
        (p50, p95), (f50, f95) = percentiles(full), percentiles(floors)
        print(f"  {name:<40} {p50:7.1f} {p95:7.1f}   {f50:9.1f} {f95:7.1f}  "
              f"{p95 / f95 if f95 else 0:9.1f}", flush=True)
    engine.dispose()
    app.state.engine.dispose()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, round(len(ordered) * 0.95) - 1)]


def run(url: str, items: int, bilag: int, requests: int, label: str) -> None:
    engine = make_engine(url)
    started = time.perf_counter()
    meeting_ids = build(engine, items, bilag, random.Random(11))
    engine.dispose()
    print(f"({label}: generated in {time.perf_counter() - started:.0f} s)")
    measure(url, meeting_ids, items, requests, label)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--bilag", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--pg", default=None,
                        help="PostgreSQL admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1"
                             ":5432/postgres")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'oparl.db'}"
            migrate(url)
            run(url, args.items, args.bilag, args.requests, "SQLite")
    if args.pg:
        with postgres_database(args.pg) as url:
            run(url, args.items, args.bilag, args.requests, "PostgreSQL")


if __name__ == "__main__":
    main()
