"""Many API writers at once against the web app in its own process (uvicorn, its own
connection pool), on SQLite and on PostgreSQL: nobody gets a 500, every decision on its own
case is recorded, and of one decision sent by twenty clients at once without `version`
exactly one is recorded and the others are refused with 409.

A request that cannot get a database connection in time is answered 503 with Retry-After,
provoked for real: SQLite's write lock held by the test keeps the one pooled connection busy.
"""

import sqlite3
import threading
from datetime import date

import httpx
import pytest
from servers import wait_for

from bench.writers import POSTPONED, decision, fire_together, prepare, recorded_decisions, web_app

pytestmark = pytest.mark.slow  # each test starts the web app in its own process

CLIENTS = 20
DAY = date(2026, 10, 6)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request):
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


def test_twenty_decisions_at_once_on_their_own_cases_are_all_recorded(url, tmp_path):
    token, numbers = prepare(url, CLIENTS)
    with web_app(url, tmp_path) as server:
        statuses = fire_together(server.url, token,
                                 [(number, decision(POSTPONED, DAY)) for number in numbers])
    assert statuses == [200] * CLIENTS
    assert [recorded_decisions(url, number) for number in numbers] == [1] * CLIENTS


def test_one_decision_sent_by_twenty_clients_without_version_is_recorded_once(url, tmp_path):
    token, (number,) = prepare(url, 1)
    with web_app(url, tmp_path) as server:
        statuses = fire_together(server.url, token, [(number, decision(POSTPONED, DAY))] * CLIENTS)
        with httpx.Client(base_url=server.url) as client:
            refused = client.post(f"/api/cases/{number}/decisions",
                                  json=decision(POSTPONED, DAY),
                                  headers={"Authorization": f"Bearer {token}"})
    assert sorted(statuses) == [200] + [409] * (CLIENTS - 1)
    assert recorded_decisions(url, number) == 1
    assert refused.status_code == 409
    assert refused.json()["detail"] == (f"Socialudvalget har allerede truffet beslutning i sagen "
                                        f"{number} på mødet 06-10-2026.")


def test_a_request_that_gets_no_connection_in_time_is_told_to_try_again(sqlite_url, tmp_path):
    token, (number,) = prepare(sqlite_url, 1)
    headers = {"Authorization": f"Bearer {token}"}
    with web_app(sqlite_url, tmp_path, SAGSGANG_DB_POOL_SIZE=1,
                 SAGSGANG_DB_POOL_TIMEOUT_SECONDS=0.5) as server:
        lock = sqlite3.connect(sqlite_url.split("///", 1)[1], isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")  # the write lock: the app's one connection waits on it
        answers = {}

        def write():
            with httpx.Client(base_url=server.url, timeout=60) as client:
                answers["write"] = client.post(f"/api/cases/{number}/decisions",
                                               json=decision(POSTPONED, DAY), headers=headers)

        writer = threading.Thread(target=write)
        writer.start()
        with httpx.Client(base_url=server.url, timeout=60) as client:
            # Once the writer holds the connection, a reader finds none free. (The health
            # check reads only: until the writer has its turn, it is answered at once.)
            busy = wait_for(lambda: (r := client.get("/api/health")).status_code == 503 and r,
                            timeout=20, what="a 503")
            lock.execute("COMMIT")
            writer.join(timeout=60)
            after = client.get("/api/cases", headers=headers)
        lock.close()
    assert busy.headers["retry-after"] == "5"
    assert busy.json() == {"detail": "Systemet har travlt lige nu. Prøv igen om et øjeblik."}
    assert answers["write"].status_code == 200  # it waited for the lock and was recorded
    assert after.status_code == 200
    assert recorded_decisions(sqlite_url, number) == 1
