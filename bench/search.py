"""Benchmark of the search: `python -m bench.search [--items N] [--bilag N] [--pg URL]`.

Prints, never asserts. Twenty years of a large municipality, generated: N agenda items
(default 100,000), each with its case (so 2N texts), and M Bilag texts (default 20,000, about
600 words each), in SQLite and, with --pg, in a PostgreSQL database created for the run and
dropped after it. For each query: p50 and p95 of meetings.search.search (parse, full-text
match with title hits first, filters, the closed-item rule per hit, snippets) next to the
floor: a bare full-text query for the same words on the same index (ids of the 20 best).
"""

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from bench.servers import postgres_database
from cases.db import make_engine, migrate, read_session, write_session
from cases.models import Attachment, Case
from cases.organisation import load_organisation
from cases.settings import PROJECT_DIR
from meetings import search, searchtext
from meetings.models import AGENDA_PUBLISHED, AgendaItem, Meeting
from workflow import access

BODIES = ("SU", "BSU", "SÆU", "KMU", "UGO", "BEU", "ØU", "KB")
YEARS = range(2006, 2026)
STEMS = ("budget", "botilbud", "plejehjem", "handicapråd", "ældreråd", "skole", "daginstitution",
         "vandløb", "lokalplan", "kommuneplan", "cykelsti", "vej", "bolig", "borger", "tilsyn",
         "udbud", "kontrakt", "anlæg", "regnskab", "takst", "rammeaftale", "strategi", "politik",
         "høring", "indstilling", "beslutning", "bevilling", "tillægsbevilling", "ansøgning",
         "tilskud", "forening", "idræt", "kultur", "bibliotek", "sundhed", "forebyggelse",
         "misbrug", "beskæftigelse", "integration", "klima", "affald", "spildevand", "trafik",
         "parkering", "byggeri", "renovering", "energi", "digitalisering", "personale", "leder")
SUFFIXES = ("", "", "", "en", "et", "er", "erne", "ets", "ens", "s")
FILLER = ("og", "i", "at", "det", "til", "for", "med", "af", "den", "som", "på", "der",
          "sagen", "forslaget", "udvalget", "forvaltningen", "kommunen", "godkendes",
          "indstiller", "udsat", "udsatte", "behandlet", "vedtaget", "orientering", "økonomi")
QUERIES = [("udsatte", {}), ("handicaprådets høring", {}), ('"tilsyn med plejehjem"', {}),
           ("botilbud", {}), ("vandløb -spildevand", {}), ("budget", {"body": "SU", "year": 2015}),
           ("tillægsbevilling OR rammeaftale", {"state": "closed"}),
           ("kommuneplan", {"public": True})]


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def words(rng: random.Random, n: int) -> str:
    out = []
    for _ in range(n):
        if rng.random() < 0.55:
            out.append(rng.choice(FILLER))
        else:
            # Zipf-like: the first stems are far more common than the last.
            stem = STEMS[min(int(rng.paretovariate(1.1)) - 1, len(STEMS) - 1)] \
                if rng.random() < 0.7 else rng.choice(STEMS)
            out.append(stem + rng.choice(SUFFIXES))
    return " ".join(out)


def build(engine, org, items: int, bilag: int, rng: random.Random) -> None:
    """Meetings, cases, one agenda item per case, Bilag, and their index, in bulk."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    meetings, number = [], 0
    for year in YEARS:
        for month in range(1, 12):
            for body in BODIES:
                day = date(year, month, 1 + BODIES.index(body) * 3)
                meetings.append({"body_code": body, "day": day})
    per_meeting = max(1, items // len(meetings))
    with write_session(engine) as session:
        connection = session.connection()
        connection.execute(sa.insert(Meeting.__table__), [
            {"body_code": m["body_code"], "place": "", "status": "planned", "status_reason": "",
             "agenda_status": AGENDA_PUBLISHED, "minutes_status": "final", "created_at": now,
             "starts_at": datetime(m["day"].year, m["day"].month, m["day"].day, 15,
                                   tzinfo=UTC), "changed_seq": 0, "notified_seq": 0}
            for m in meetings])
        meeting_ids = connection.execute(sa.select(Meeting.id).order_by(Meeting.id)) \
            .scalars().all()
    made = 0
    for meeting_index, meeting_id in enumerate(meeting_ids):
        if made >= items:
            break
        meeting = meetings[meeting_index]
        count = min(per_meeting + (1 if meeting_index < items % len(meetings) else 0),
                    items - made)
        cases, docs = [], []
        for _n in range(count):
            number += 1
            title = words(rng, 6).capitalize()
            cases.append({"number": f"{meeting['day'].year}-{number:06d}", "title": title,
                          "summary": words(rng, 40), "background": words(rng, 30),
                          "presentation": "", "economy": "", "centre": "Center for Test",
                          "owner_name": "", "owner_email": "", "deciding_body":
                          meeting["body_code"], "committees": [meeting["body_code"]],
                          "confidential": False, "status": "closed",
                          "finance_statement": False, "version": 1, "last_seq": 0,
                          "notified_seq": 0,
                          "created_at": now, "updated_at": now})
        with write_session(engine) as session:
            connection = session.connection()
            case_ids = connection.execute(sa.insert(Case.__table__).returning(
                Case.__table__.c.id, sort_by_parameter_order=True), cases).scalars().all()
            item_rows = [{"meeting_id": meeting_id, "case_id": case_id, "number": n + 1,
                          "title": case["title"], "text": "", "closed": rng.random() < 0.05,
                          "late_reason": "", "supplementary": False, "attachments_note": "",
                          "proposal_decisions": [], "decision_text": "", "minority": ""}
                         for n, (case_id, case) in enumerate(zip(case_ids, cases, strict=True))]
            item_ids = connection.execute(sa.insert(AgendaItem.__table__).returning(
                AgendaItem.__table__.c.id, sort_by_parameter_order=True), item_rows) \
                .scalars().all()
            day, year = meeting["day"], meeting["day"].year
            bodies = f" {meeting['body_code']} "
            for case_id, case, item_id in zip(case_ids, cases, item_ids, strict=True):
                common = {"case_id": case_id, "bodies": bodies, "year": year, "on": day,
                          "state": "closed"}
                docs.append({**common, "kind": "case", "source_id": case_id,
                             "meeting_id": None, "title": case["title"],
                             "text": case["summary"] + "\n\n" + case["background"]})
                docs.append({**common, "kind": "item", "source_id": item_id,
                             "meeting_id": meeting_id, "title": case["title"], "text": ""})
            wanted = round(bilag * (made + count) / items) - round(bilag * made / items)
            chosen = rng.sample(list(zip(case_ids, cases, strict=True)), min(wanted, count))
            if chosen:
                attachment_ids = connection.execute(sa.insert(Attachment.__table__).returning(
                    Attachment.__table__.c.id, sort_by_parameter_order=True), [
                        {"case_id": case_id, "number": 1, "title": f"Bilag: {words(rng, 4)}",
                         "recommended": False} for case_id, _ in chosen]).scalars().all()
                for attachment_id, (case_id, _) in zip(attachment_ids, chosen, strict=True):
                    docs.append({"case_id": case_id, "bodies": bodies, "year": year,
                                 "on": day, "state": "closed", "kind": "bilag",
                                 "source_id": attachment_id, "meeting_id": None,
                                 "title": f"Bilag {attachment_id}", "text": words(rng, 600)})
            search.insert_docs(session, docs)
        made += count
    with engine.connect() as connection:  # fresh statistics for the planner
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def floor_query(connection, text: str, filters: search.Filters) -> list:
    """The 20 best ids for the words and the filters' tags: the full-text engine alone."""
    wanted = search.tags({"bodies": filters.body or "", "year": filters.year,
                          "state": filters.state or ""}).split()
    if connection.dialect.name == "sqlite":
        match = searchtext.fts5_match(searchtext.parse(text))
        if wanted:
            match = f"({match}) AND tags : (" + " AND ".join(f'"{t}"' for t in wanted) + ")"
        return connection.execute(sa.text(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH :q ORDER BY rank LIMIT 20"),
            {"q": match}).all()
    tagged = " AND tags @@ to_tsquery('simple', :tags)" if wanted else ""
    return connection.execute(sa.text(
        "SELECT id FROM search_fts, websearch_to_tsquery('danish', :q) q WHERE doc @@ q"
        + tagged + " ORDER BY ts_rank(doc, q) DESC LIMIT 20"),
        {"q": text, "tags": " & ".join(wanted)}).all()


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, round(len(ordered) * 0.95) - 1)]


def bench(url: str, org, items: int, bilag: int, rounds: int, label: str) -> None:
    engine = make_engine(url)
    seconds, _ = timed(lambda: build(engine, org, items, bilag, random.Random(11)))
    with read_session(engine) as session:
        total = session.connection().execute(sa.text("SELECT count(*) FROM search_doc")).scalar()
    print(f"{label}: {items:,} agenda items + their cases + {bilag:,} Bilag = {total:,} texts "
          f"(built in {seconds:.0f} s); ms per query over {rounds} runs, a fresh session each:")
    print(f"  {'query':<42} {'hits':>4} {'p50':>7} {'p95':>7}   {'floor p50':>9} {'p95':>7}"
          f"  {'p95/floor':>9}")
    staff = access.Viewer(role=access.SECRETARIAT)
    for text, options in QUERIES:
        options = dict(options)
        viewer = access.PUBLIC if options.pop("public", False) else staff
        filters = search.Filters(**options)
        full, floor = [], []
        for _ in range(rounds):
            with read_session(engine) as session:
                seconds, results = timed(lambda s=session, t=text, v=viewer, f=filters:
                                         search.search(org, s, t, v, f))
            full.append(seconds * 1000)
            with read_session(engine) as session:
                seconds, _ = timed(lambda s=session, t=text, f=filters:
                                   floor_query(s.connection(), t, f))
            floor.append(seconds * 1000)
        (p50, p95), (f50, f95) = percentiles(full), percentiles(floor)
        shown = text + "".join(f" {k}={v}" for k, v in options.items()) + \
            (" (offentlig)" if viewer is access.PUBLIC else "")
        print(f"  {shown:<42} {len(results.hits):>4} {p50:7.1f} {p95:7.1f}   {f50:9.1f} "
              f"{f95:7.1f}  {p95 / f95 if f95 else 0:9.1f}")
    engine.dispose()


def bench_postgres(admin_url: str, org, items: int, bilag: int, rounds: int) -> None:
    with postgres_database(admin_url) as url:
        bench(url, org, items, bilag, rounds, "PostgreSQL")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--bilag", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--pg", default=None,
                        help="PostgreSQL admin URL, e.g. postgresql+psycopg://postgres@127.0.0.1"
                             ":5432/postgres")
    parser.add_argument("--no-sqlite", action="store_true")
    args = parser.parse_args()
    org = load_organisation(PROJECT_DIR / "config" / "ballerup.toml")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'search.db'}"
            migrate(url)
            bench(url, org, args.items, args.bilag, args.rounds, "SQLite")
    if args.pg:
        bench_postgres(args.pg, org, args.items, args.bilag, args.rounds)


if __name__ == "__main__":
    main()
