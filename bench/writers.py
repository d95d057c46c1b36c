"""Concurrent API writers and anonymous readers against the web app in its own process.

    python -m bench.writers [--writers 50] [--seconds 30] [--readers 5]
                            [--dialects sqlite,postgresql]

What a busy Monday does: N secretariat clients record decisions through the API at once —
each on a case of its own ("Udsat" for the next meeting, again and again), and every few
seconds all of them the same decision on one case without `version` (a conflicting set:
exactly one may be recorded, the others must get 409) — while anonymous readers load the
public front page. The web app runs under uvicorn in its own process (bench.servers.WebServer),
as in production, on the embedded SQLite default or on PostgreSQL.

Printed per dialect: requests per second, p50/p95/p99 latency of writes and of reads, the
count of answers by status (the goal is no 5xx at all at 50 writers), and for each
conflicting set how many decisions were recorded (the goal: exactly one). The floor printed
beside them is one writer alone, measured in the same run.

PostgreSQL: a database of our own is created on SAGSGANG_BENCH_PG_ADMIN_URL (default
postgres@127.0.0.1:5432) and dropped afterwards.
"""

import argparse
import statistics
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx
import sqlalchemy as sa

from bench.servers import WebServer, bench_database
from cases import actions, services
from cases.db import make_engine, write_session

CENTRE = "Center for Voksne og Sundhed"
POSTPONED = "udsat"  # keeps the case in the committee's queue: it can be postponed again


# -- the data ----------------------------------------------------------------------------------

def prepare(url: str, cases: int, prefix: str = "W") -> tuple[str, list[str]]:
    """Cases in Socialudvalget's queue and a secretariat API token: (token, case numbers)."""
    from sqlmodel import select

    from cases.models import User
    from demo.users import ensure_demo_users
    from web.tokens import new_api_token

    engine = make_engine(url)
    numbers = [f"{prefix}-{i}" for i in range(1, cases + 1)]
    try:
        with write_session(engine) as session:
            ensure_demo_users(session)
            user_id = session.exec(select(User.id).where(User.role == "secretariat")).first()
            token = new_api_token(session, user_id, "belastningsprøve")
            for number in numbers:
                services.create_case(session, {
                    "number": number, "title": "Belastningsprøve", "centre": CENTRE,
                    "deciding_body": "SU", "proposals": ["Indstillingen godkendes."]},
                    actor="bench")
                actions.submit(session, number, actor="bench")
    finally:
        engine.dispose()
    return token, numbers


def recorded_decisions(url: str, number: str, wording: str = POSTPONED) -> int:
    """How many times `wording` was recorded on the case (its treatment rows)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text(
                "SELECT count(*) FROM treatment JOIN "
                "\"case\" ON \"case\".id = treatment.case_id "
                "WHERE \"case\".number = :number AND treatment.wording = :wording"),
                {"number": number, "wording": wording}).scalar_one()
    finally:
        engine.dispose()


def decision(wording: str, day: date, version: int | None = None) -> dict:
    body = {"body": "SU", "wording": wording, "meeting_date": day.strftime("%d-%m-%Y")}
    if version is not None:
        body["version"] = version
    return body


# -- firing ------------------------------------------------------------------------------------

@dataclass
class Answers:
    """Every answer's status and latency, gathered from many threads."""
    statuses: Counter = field(default_factory=Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"write": [], "read": []})
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.latencies[kind].append(seconds)

    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


def timed(client: httpx.Client, answers: Answers, kind: str, method: str, path: str,
          **kwargs) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = client.request(method, path, **kwargs)
    except httpx.HTTPError:  # no answer at all counts as a server error
        answers.add(kind, 599, time.perf_counter() - started)
        return None
    answers.add(kind, response.status_code, time.perf_counter() - started)
    return response


def fire_together(base: str, token: str, requests: list[tuple[str, dict]],
                  answers: Answers | None = None) -> list[int]:
    """Post every (case number, decision) at once, each from its own thread released by one
    barrier; the statuses in the order given."""
    answers = answers or Answers()
    statuses: list[int] = [0] * len(requests)
    barrier = threading.Barrier(len(requests))

    def one(index: int, number: str, body: dict) -> None:
        with httpx.Client(base_url=base, timeout=120,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            barrier.wait(timeout=60)
            response = timed(client, answers, "write", "POST",
                             f"/api/cases/{number}/decisions", json=body)
            statuses[index] = response.status_code if response is not None else 599

    threads = [threading.Thread(target=one, args=(i, n, b)) for i, (n, b) in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def load(base: str, token: str, numbers: list[str], *, writers: int, readers: int,
         seconds: float, conflict_every: float = 3.0) -> tuple[Answers, list[tuple[str, int]]]:
    """`writers` threads postponing their own case over and over, `readers` anonymous
    readers of the public front page, and every `conflict_every` seconds one conflicting set
    (every writer the same decision on one fresh case). The answers, and the conflicting sets
    as (case number, how many of the set were answered 200)."""
    answers = Answers()
    stop = time.monotonic() + seconds
    own, spare = numbers[:writers], iter(numbers[writers:])
    sets: list[tuple[str, int]] = []

    def writer(number: str) -> None:
        day = date(2000, 1, 3)  # meetings held: a decision is recorded from its day on
        with httpx.Client(base_url=base, timeout=120,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            while time.monotonic() < stop:
                day += timedelta(days=7)
                timed(client, answers, "write", "POST", f"/api/cases/{number}/decisions",
                      json=decision(POSTPONED, day))

    def reader() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            while time.monotonic() < stop:
                timed(client, answers, "read", "GET", "/offentlig")

    def conflicts() -> None:
        while time.monotonic() + conflict_every < stop:
            time.sleep(conflict_every)
            number = next(spare, None)
            if number is None:
                return
            body = decision(POSTPONED, date(1999, 12, 6))
            statuses = fire_together(base, token, [(number, body)] * writers, answers)
            sets.append((number, statuses.count(200)))

    threads = ([threading.Thread(target=writer, args=(n,)) for n in own]
               + [threading.Thread(target=reader) for _ in range(readers)]
               + [threading.Thread(target=conflicts)])
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, sets


# -- the app in its own process -----------------------------------------------------------------

@contextmanager
def web_app(url: str, directory: Path, **env):
    environment = {"DATABASE_URL": url, "SAGSGANG_VAR_DIR": str(directory),
                   "SAGSGANG_SECRET_KEY": "b" * 40, **env}
    with WebServer(environment, directory) as server:
        yield server



def percentiles(values: list[float]) -> str:
    if len(values) < 2:
        return "-"
    cuts = statistics.quantiles(values, n=100)
    return " / ".join(f"{cuts[p - 1] * 1000:.0f}" for p in (50, 95, 99))


def run(dialect: str, writers: int, readers: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            bench_database(dialect, Path(tmp) / "writers.db") as url:
        conflict_sets = int(seconds // 3) + 1
        token, numbers = prepare(url, writers + conflict_sets + 1)
        with web_app(url, Path(tmp)) as server:
            floor, _ = load(server.url, token, numbers[-1:], writers=1, readers=0,
                            seconds=min(5.0, seconds))
            answers, sets = load(server.url, token, numbers[:-1], writers=writers,
                                 readers=readers, seconds=seconds)
        recorded = [recorded_decisions(url, number) for number, _ in sets]
    total = sum(answers.statuses.values())
    print(f"{dialect}: {writers} writers + {readers} readers for {seconds:.0f} s: "
          f"{total / seconds:.0f} requests/s "
          f"(one writer alone: {sum(floor.statuses.values()) / min(5.0, seconds):.0f}/s)")
    print(f"  write p50/p95/p99 ms: {percentiles(answers.latencies['write'])}"
          f"   (one writer alone: {percentiles(floor.latencies['write'])})")
    print(f"  read  p50/p95/p99 ms: {percentiles(answers.latencies['read'])}")
    print(f"  answers by status: {dict(sorted(answers.statuses.items()))}; "
          f"5xx: {answers.server_errors()}")
    print(f"  conflicting sets of {writers}: {len(sets)}; answered 200 per set: "
          f"{[ok for _, ok in sets]}; recorded per set: {recorded}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--readers", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--dialects", default="sqlite,postgresql")
    args = parser.parse_args()
    for dialect in args.dialects.split(","):
        run(dialect.strip(), args.writers, args.readers, args.seconds)


if __name__ == "__main__":
    main()
