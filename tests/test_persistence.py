"""What the database keeps, and what it refuses, on SQLite and on a real PostgreSQL."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from cases import actions, queries, services
from cases.dates import COPENHAGEN, local_to_utc
from cases.db import read_session, write_session
from cases.models import Case, CaseEvent
from workflow.errors import Conflict
from workflow.machine import fire

ACTOR = "sekretariat"
CVS = "Center for Voksne og Sundhed"


def new_case(engine, number="P-1", **fields):
    data = {"number": number, "title": "Rammeaftale 2023-2024", "centre": CVS,
            "deciding_body": "KB", "committees": ["SU", "BSU"], **fields}
    with write_session(engine) as session:
        return services.create_case(session, data, actor=ACTOR)


def act(engine, number, trigger, *, expected_version=None, **arguments):
    with write_session(engine) as session:
        return actions.run_action(session, number, trigger, arguments, actor=ACTOR,
                                  expected_version=expected_version)


def test_it_keeps_every_field_of_a_case(db):
    registered = datetime(2022, 9, 1, 9, 30, tzinfo=COPENHAGEN)
    data = {
        "number": "22/14-ÆØÅ", "title": "Danmarkskort over omgjorte sager – 2021",
        "summary": "Kort sammendrag.\nTo linjer.", "background": "Baggrund",
        "presentation": "Sagsfremstilling", "economy": "Ingen økonomiske konsekvenser",
        "centre": CVS, "owner_name": "Søren Ærø", "owner_email": "soren@example.org",
        "deciding_body": "KB", "committees": ["SÆU", "SU", "BSU"], "confidential": True,
        "proposals": ["Orienteringen tages til efterretning.",
                      "Der udarbejdes ikke handleplaner."],
        "attachments": [{"title": "Læsevejledning", "recommended": True},
                        {"title": "Notat"}],
        "deadlines": [{"due_date": "31-12-2022", "kind": "statutory",
                       "description": "KB behandler kortet",
                       "legal_basis": "retssikkerhedsloven § 79 b"}],
    }
    with write_session(db) as session:
        services.create_case(session, data, actor=ACTOR, now=registered)
    with read_session(db) as session:
        case = queries.get_case(session, "22/14-ÆØÅ")
        for key in ("title", "summary", "background", "presentation", "economy", "centre",
                    "owner_name", "owner_email", "deciding_body", "committees",
                    "confidential"):
            assert getattr(case, key) == data[key], key
        assert (case.status, case.version) == ("draft", 1)
        assert case.created_at == registered
        assert case.created_at.tzinfo is not None
        assert case.created_at.utcoffset().total_seconds() == 0
        assert [(p.number, p.text) for p in queries.proposals(session, case.id)] == [
            (1, "Orienteringen tages til efterretning."),
            (2, "Der udarbejdes ikke handleplaner.")]
        assert [(a.number, a.title, a.recommended)
                for a in queries.attachments(session, case.id)] == [
            (1, "Læsevejledning", True), (2, "Notat", False)]
        (deadline,) = queries.deadlines(session, case.id)
        assert (deadline.due_date, deadline.kind, deadline.legal_basis) == (
            date(2022, 12, 31), "statutory", "retssikkerhedsloven § 79 b")
        (event,) = queries.events(session, case.id)
        assert (event.seq, event.trigger, event.to_state, event.actor) == (
            1, "create", "draft", ACTOR)
        assert event.payload["committees"] == ["SÆU", "SU", "BSU"]


def test_it_keeps_a_treatment_and_its_audit_event_together(db):
    new_case(db, proposals=["at rammeaftalen godkendes"])
    act(db, "P-1", "submit")
    at = local_to_utc(date(2022, 10, 4), 19, 5)
    with write_session(db) as session:
        actions.record_decision(
            session, "P-1", body="SU", wording="Indstilles til godkendelse", actor="anna",
            meeting_date="04-10-2022", item_number=10, decision_text="Indstilles.",
            proposal_decisions=[{"number": 1, "text": "Indstilles – «Ø»"}],
            minority="Ingen", now=at)
    with read_session(db) as session:
        case = queries.get_case(session, "P-1")
        event = queries.events(session, case.id)[-1]
        (treatment,) = queries.decision_history(session, case.id)
        assert treatment.event_id == event.id
        assert (event.at, event.actor, event.body, event.from_state, event.to_state) == (
            at, "anna", "SU", "committee", "committee")
        assert event.at == datetime(2022, 10, 4, 17, 5, tzinfo=UTC)
        assert (treatment.body_code, treatment.body_name, treatment.meeting_date,
                treatment.item_number, treatment.wording, treatment.decision_text,
                treatment.minority) == (
            "SU", "Socialudvalget", date(2022, 10, 4), 10, "indstilles_til_godkendelse",
            "Indstilles.", "Ingen")
        assert treatment.proposal_decisions == [{"number": 1, "text": "Indstilles – «Ø»"}]
        assert case.updated_at == at
        assert queries.awaiting_bodies(session, case.id) == ["BSU"]


@pytest.mark.parametrize("statement", [
    "UPDATE case_event SET actor = 'mallory'",
    "UPDATE case_event SET to_state = 'closed' WHERE seq = 2",
    "DELETE FROM case_event",
    "DELETE FROM case_event WHERE seq = 1",
])
def test_it_refuses_to_change_or_delete_the_audit_log(db, statement):
    new_case(db)
    act(db, "P-1", "submit")
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        with db.begin() as conn:
            conn.exec_driver_sql(statement)
    with read_session(db) as session:
        log = queries.events(session, queries.get_case(session, "P-1").id)
        assert [(e.seq, e.actor, e.to_state) for e in log] == [
            (1, ACTOR, "draft"), (2, ACTOR, "committee")]


def test_it_refuses_two_events_with_the_same_sequence_number(db):
    case = new_case(db)
    with pytest.raises(sa.exc.IntegrityError):
        with write_session(db) as session:
            session.add(CaseEvent(case_id=case.id, seq=1, at=datetime.now(UTC), actor="x",
                                  trigger="submit", to_state="committee", payload={}))


def test_it_refuses_two_cases_with_the_same_number_in_the_database_itself(db):
    case = new_case(db)
    with pytest.raises(sa.exc.IntegrityError):
        with write_session(db) as session:
            session.add(Case(number="P-1", title="Dublet", centre=CVS, deciding_body="SU",
                             committees=["SU"], created_at=case.created_at,
                             updated_at=case.created_at))


def test_it_refuses_a_naive_datetime(db):
    case = new_case(db)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        with write_session(db) as session:
            session.add(CaseEvent(case_id=case.id, seq=2, at=datetime(2022, 10, 4, 17),
                                  actor="x", trigger="submit", to_state="committee",
                                  payload={}))


def test_it_refuses_to_store_over_a_newer_version(db):
    """The compare-and-set itself: a writer that saw version 2 loses after another wrote."""
    new_case(db)
    act(db, "P-1", "submit")
    org = services.current_organisation()
    with read_session(db) as session:
        stale_case = queries.get_case(session, "P-1")
        stale_flow = services.current_flow(session, org, stale_case)
    act(db, "P-1", "treat", body="SU", wording="anbefales", meeting_date="04-10-2022")
    fire(stale_flow, "treat", body="BSU")
    with pytest.raises(Conflict, match="ændret af en anden"):
        with write_session(db) as session:
            case = queries.get_case(session, "P-1")
            case_seen_at_2 = case.version - 1
            services._store_flow(session, case, stale_flow, seen_version=case_seen_at_2,
                                 now=datetime.now(UTC))
    with read_session(db) as session:
        case = queries.get_case(session, "P-1")
        assert (case.version, case.status) == (3, "committee")
        assert queries.awaiting_bodies(session, case.id) == ["BSU"]


def test_it_refuses_an_action_with_a_stale_expected_version(db):
    new_case(db)
    act(db, "P-1", "submit")
    with pytest.raises(Conflict) as conflict:
        act(db, "P-1", "postpone", body="SU", meeting_date="04-10-2022", expected_version=1)
    assert conflict.value.message == ("Sagen P-1 er ændret af en anden, siden du hentede den. "
                                      "Hent sagen igen og prøv på ny.")
    act(db, "P-1", "postpone", body="SU", meeting_date="04-10-2022", expected_version=2)


def test_it_replays_the_audit_log_to_the_stored_state(db):
    new_case(db, committees=["SU", "BSU", "SÆU"])
    steps = [("submit", {}), ("treat", {"body": "SU"}), ("postpone", {"body": "BSU"}),
             ("treat", {"body": "BSU"}), ("treat", {"body": "SÆU"}),
             ("send_back", {"body": "ØU", "bodies": ["SU", "KMU"], "reason": "Mere viden"}),
             ("treat", {"body": "KMU"})]
    org = services.current_organisation()
    for week, (trigger, arguments) in enumerate(steps):
        if "body" in arguments:  # a body decides a case once a meeting: a meeting a week
            day = date(2022, 10, 4) + timedelta(weeks=week)
            arguments |= {"meeting_date": day.isoformat(),
                          "wording": {"treat": "anbefales"}.get(trigger)}
        act(db, "P-1", trigger, **arguments)
        with read_session(db) as session:
            case = queries.get_case(session, "P-1")
            assert services.flow_summary(services.replayed_flow(session, case)) == \
                services.flow_summary(services.current_flow(session, org, case))
    with read_session(db) as session:
        case = queries.get_case(session, "P-1")
        assert case.committees == ["SU", "BSU", "SÆU", "KMU"]
        assert queries.awaiting_bodies(session, case.id) == ["SU"]
        assert case.version == len(steps) + 1


def test_it_lists_a_bodys_queue_oldest_first(db):
    for number, hour in (("Q-2", 10), ("Q-1", 9), ("Q-3", 11)):
        new_case(db, number=number, committees=["SU"])
        with write_session(db) as session:
            actions.submit(session, number, actor=ACTOR,
                           now=local_to_utc(date(2022, 9, 1), hour))
    with read_session(db) as session:
        assert [c.number for c, _ in queries.queue(session, "SU")] == ["Q-1", "Q-2", "Q-3"]
        assert [c.number for c in queries.list_cases(session, status="committee")] == [
            "Q-1", "Q-2", "Q-3"]
