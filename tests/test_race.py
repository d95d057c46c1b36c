"""Two OS processes racing on one case: exactly one wins, the other gets the Conflict error,
and the audit log stays consistent. On SQLite and on a real PostgreSQL.

Each racer waits at a barrier and then fires; with `hold_read` it also pauses right after
reading the case, so that on PostgreSQL both have surely read the same version before either
writes (the compare-and-set, not luck, must then decide).
"""

import multiprocessing
import time

import pytest

from cases import actions, queries, services
from cases.db import make_engine, read_session, write_session

pytestmark = pytest.mark.slow  # every test starts two racing processes

ROUNDS = 4
CONFLICT = ("Sagen {} er ændret af en anden, siden du hentede den. "
            "Hent sagen igen og prøv på ny.")


def racer(url, body, numbers, expected_version, hold_read, barrier, results):
    """One racing process: in each round, treat that round's case as `body`."""
    from workflow.errors import Conflict

    if hold_read:
        read_flow = services.current_flow

        def slow_current_flow(*args, **kwargs):
            flow = read_flow(*args, **kwargs)
            time.sleep(0.3)
            return flow

        services.current_flow = slow_current_flow
    engine = make_engine(url)
    for number in numbers:
        barrier.wait(timeout=60)
        try:
            with write_session(engine) as session:
                actions.treat(session, number, actor=f"racer-{body}",
                              expected_version=expected_version, body=body,
                              wording="anbefales", meeting_date="04-10-2022")
            results.put((number, body, "won", ""))
        except Conflict as error:
            results.put((number, body, "conflict", error.message))
        except Exception as error:  # reported to the test, which fails on it
            results.put((number, body, "error", repr(error)))
    engine.dispose()


def prepare_cases(url) -> list[str]:
    engine = make_engine(url)
    numbers = [f"RACE-{i}" for i in range(1, ROUNDS + 1)]
    for number in numbers:
        with write_session(engine) as session:
            services.create_case(session, {"number": number, "title": "Kapløb",
                                           "centre": "Center for Voksne og Sundhed",
                                           "deciding_body": "KB",
                                           "committees": ["SU", "BSU"]}, actor="test")
            actions.submit(session, number, actor="test")
    engine.dispose()
    return numbers


def race(url, numbers, *, expected_version, hold_read) -> dict[str, list[tuple]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    processes = [context.Process(target=racer, args=(url, body, numbers, expected_version,
                                                     hold_read, barrier, results))
                 for body in ("SU", "BSU")]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in range(2 * len(numbers))]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    by_case = {number: [] for number in numbers}
    for number, body, outcome, message in outcomes:
        by_case[number].append((body, outcome, message))
    return by_case


def assert_log_consistent(url, number, treatments: int):
    engine = make_engine(url)
    with read_session(engine) as session:
        case = queries.get_case(session, number)
        log = queries.events(session, case.id)
        assert [e.seq for e in log] == list(range(1, len(log) + 1))
        assert [e.trigger for e in log] == ["create", "submit"] + ["treat"] * treatments
        assert case.version == len(log)
        assert len(queries.decision_history(session, case.id)) == treatments
        org = services.current_organisation()
        assert services.flow_summary(services.replayed_flow(session, case)) == \
            services.flow_summary(services.current_flow(session, org, case))
    engine.dispose()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("hold_read", [False, True], ids=["barrier", "barrier+held-read"])
def test_it_lets_exactly_one_of_two_processes_win(any_db_url, hold_read):
    numbers = prepare_cases(any_db_url)
    outcomes = race(any_db_url, numbers, expected_version=2, hold_read=hold_read)
    for number, results in outcomes.items():
        assert sorted(outcome for _, outcome, _ in results) == ["conflict", "won"], results
        (message,) = [m for _, outcome, m in results if outcome == "conflict"]
        assert message == CONFLICT.format(number)
        (winner,) = [body for body, outcome, _ in results if outcome == "won"]
        engine = make_engine(any_db_url)
        with read_session(engine) as session:
            case = queries.get_case(session, number)
            assert queries.awaiting_bodies(session, case.id) == [
                {"SU": "BSU", "BSU": "SU"}[winner]]
            (treatment,) = queries.decision_history(session, case.id)
            assert treatment.body_code == winner
        engine.dispose()
        assert_log_consistent(any_db_url, number, treatments=1)


@pytest.mark.timeout(300)
@pytest.mark.postgres
def test_it_never_overwrites_silently_without_an_expected_version(pg_url):
    """Both read version 2 before either writes; the second UPDATE finds a newer version."""
    numbers = prepare_cases(pg_url)
    outcomes = race(pg_url, numbers, expected_version=None, hold_read=True)
    for number, results in outcomes.items():
        assert sorted(outcome for _, outcome, _ in results) == ["conflict", "won"], results
        assert_log_consistent(pg_url, number, treatments=1)


@pytest.mark.timeout(300)
def test_it_serialises_sqlite_writers_so_both_valid_actions_apply(sqlite_url):
    """On SQLite, BEGIN IMMEDIATE queues the second writer behind the first; it then reads the
    new version, and its action (still valid) applies on top: nothing is lost either way."""
    numbers = prepare_cases(sqlite_url)
    outcomes = race(sqlite_url, numbers, expected_version=None, hold_read=True)
    for number, results in outcomes.items():
        assert [outcome for _, outcome, _ in results] == ["won", "won"], results
        engine = make_engine(sqlite_url)
        with read_session(engine) as session:
            assert queries.get_case(session, number).status == "finance"
        engine.dispose()
        assert_log_consistent(sqlite_url, number, treatments=2)
