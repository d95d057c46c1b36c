"""The seed meeting's flows end to end through the service layer, and bad input.

Each action runs in its own write transaction, as the web and the command line do. Every test
runs on SQLite and on a real PostgreSQL (`any_db_url`).
"""

from datetime import date

import pytest
from servers import database_dump

from cases import actions, queries, services
from cases.db import read_session, write_session
from workflow.errors import InvalidInput, NotFound, TransitionRefused, UserError

ACTOR = "sekretariat"
CVS = "Center for Voksne og Sundhed"


def create(engine, number, *, deciding_body, committees=(), **fields):
    data = {"number": number, "title": fields.pop("title", f"Sag {number}"),
            "centre": fields.pop("centre", CVS), "deciding_body": deciding_body,
            "committees": list(committees), **fields}
    with write_session(engine) as session:
        return services.create_case(session, data, actor=ACTOR)


def act(engine, number, trigger, *, expected_version=None, **arguments):
    with write_session(engine) as session:
        return actions.run_action(session, number, trigger, arguments, actor=ACTOR,
                                  expected_version=expected_version)


def decide(engine, number, body, wording, meeting_date, **arguments):
    with write_session(engine) as session:
        return actions.record_decision(session, number, body=body, wording=wording,
                                       actor=ACTOR, meeting_date=meeting_date, **arguments)


def case_state(engine, number) -> dict:
    """What the register says about a case now, as plain data."""
    with read_session(engine) as session:
        case = queries.get_case(session, number)
        return {"status": case.status, "version": case.version,
                "committees": case.committees,
                "awaiting": sorted(queries.awaiting_bodies(session, case.id)),
                "history": [(t.body_name, t.meeting_date.strftime("%d-%m-%Y"), t.item_number,
                             t.wording) for t in queries.decision_history(session, case.id)],
                "events": [(e.seq, e.trigger, e.from_state, e.to_state, e.body)
                           for e in queries.events(session, case.id)]}


def assert_replay_equals_stored(engine, number):
    with read_session(engine) as session:
        case = queries.get_case(session, number)
        org = services.current_organisation()
        stored = services.flow_summary(services.current_flow(session, org, case))
        assert services.flow_summary(services.replayed_flow(session, case)) == stored


def queue_numbers(engine, body) -> list[str]:
    with read_session(engine) as session:
        return [case.number for case, _ in queries.queue(session, body)]


# -- the seed's flows ------------------------------------------------------------------------

def test_it_carries_danmarkskort_through_its_full_route_with_the_send_back(db):
    create(db, "DK-2022", deciding_body="KB", committees=["BSU", "SU", "SÆU"],
           proposals=["Orienteringen tages til efterretning.",
                      "Der udarbejdes ikke handleplaner."],
           deadlines=[{"due_date": "31-12-2022", "kind": "statutory",
                       "description": "KB behandler Danmarkskortet inden årets udgang",
                       "legal_basis": "retssikkerhedsloven § 79 b"}])
    act(db, "DK-2022", "submit")
    assert queue_numbers(db, "BSU") == queue_numbers(db, "SU") == ["DK-2022"]
    decide(db, "DK-2022", "BSU", "Taget til efterretning", "06-09-2022", item_number=4)
    decide(db, "DK-2022", "SU", "taget_til_efterretning", "06-09-2022")
    assert case_state(db, "DK-2022")["awaiting"] == ["SÆU"]
    decide(db, "DK-2022", "SÆU", "Taget til efterretning", "13-09-2022", item_number=15)
    assert case_state(db, "DK-2022")["status"] == "finance"
    assert queue_numbers(db, "ØU") == ["DK-2022"]

    decide(db, "DK-2022", "ØU", "sendes_tilbage", "20-09-2022",
           bodies=["SÆU", "SU", "BSU"], reason="Ny lov: KB skal tage stilling til handleplaner")
    state = case_state(db, "DK-2022")
    assert state["status"] == "committee"
    assert state["awaiting"] == ["BSU", "SU", "SÆU"]
    assert queue_numbers(db, "ØU") == []
    for body in ("BSU", "SU", "SÆU"):
        assert queue_numbers(db, body) == ["DK-2022"]

    decide(db, "DK-2022", "SU", "Indstilles til godkendelse", "04-10-2022", item_number=11,
           proposal_decisions=[{"number": 1, "text": "Indstilles"},
                               {"number": 2, "text": "Indstilles"}])
    assert case_state(db, "DK-2022")["awaiting"] == ["BSU", "SÆU"]
    with pytest.raises(TransitionRefused, match="afventer ikke behandling i ØU"):
        decide(db, "DK-2022", "ØU", "Indstilles til godkendelse", "18-10-2022")
    decide(db, "DK-2022", "BSU", "anbefales", "04-10-2022")
    decide(db, "DK-2022", "SÆU", "anbefales", "11-10-2022")
    decide(db, "DK-2022", "ØU", "indstilles_til_godkendelse", "25-10-2022")
    assert queue_numbers(db, "KB") == ["DK-2022"]
    decide(db, "DK-2022", "KB", "godkendt", "31-10-2022")
    act(db, "DK-2022", "send_for_information", body="HR")
    act(db, "DK-2022", "close")

    state = case_state(db, "DK-2022")
    assert state["status"] == "closed"
    assert state["awaiting"] == []
    assert state["history"] == [
        ("Børne- og Skoleudvalget", "06-09-2022", 4, "taget_til_efterretning"),
        ("Socialudvalget", "06-09-2022", None, "taget_til_efterretning"),
        ("Sundheds- og Ældreudvalget", "13-09-2022", 15, "taget_til_efterretning"),
        ("Økonomiudvalget", "20-09-2022", None, "sendes_tilbage"),
        ("Socialudvalget", "04-10-2022", 11, "indstilles_til_godkendelse"),
        ("Børne- og Skoleudvalget", "04-10-2022", None, "anbefales"),
        ("Sundheds- og Ældreudvalget", "11-10-2022", None, "anbefales"),
        ("Økonomiudvalget", "25-10-2022", None, "indstilles_til_godkendelse"),
        ("Kommunalbestyrelsen", "31-10-2022", None, "godkendt"),
    ]
    assert [e[1] for e in state["events"]] == [
        "create", "submit", "treat", "treat", "treat", "send_back", "treat", "treat", "treat",
        "treat", "treat", "send_for_information", "close"]
    assert [e[0] for e in state["events"]] == list(range(1, 14))
    assert state["version"] == 13
    with read_session(db) as session:
        case = queries.get_case(session, "DK-2022")
        (deadline,) = queries.deadlines(session, case.id)
        assert (deadline.due_date, deadline.legal_basis) == (
            date(2022, 12, 31), "retssikkerhedsloven § 79 b")
        send_back = queries.events(session, case.id)[5]
        assert send_back.reason == "Ny lov: KB skal tage stilling til handleplaner"
        assert send_back.payload["bodies"] == ["SÆU", "SU", "BSU"]
        su = queries.decision_history(session, case.id)[4]
        assert su.proposal_decisions[1] == {"number": 2, "text": "Indstilles"}
    assert_replay_equals_stored(db, "DK-2022")


def test_it_replaces_uuc_maglemosen_by_a_new_case_for_simultaneous_treatment(db):
    create(db, "UUC-1", deciding_body="KB", committees=["SU", "BSU"])
    act(db, "UUC-1", "submit")
    create(db, "UUC-2", deciding_body="KB", committees=["BSU", "SU"], replaces="UUC-1")
    decide(db, "UUC-1", "SU", "Ny sag forelægges", "04-10-2022", item_number=8,
           decision_text="En ny sag behandles samtidig i BSU og SU i november.",
           reason="Samtidig behandling i BSU og SU", replaced_by="UUC-2")
    old = case_state(db, "UUC-1")
    assert old["status"] == "replaced"
    assert old["awaiting"] == []
    assert old["history"] == [("Socialudvalget", "04-10-2022", 8, "ny_sag")]

    act(db, "UUC-2", "submit")
    assert case_state(db, "UUC-2")["awaiting"] == ["BSU", "SU"]
    assert queue_numbers(db, "BSU") == queue_numbers(db, "SU") == ["UUC-2"]
    decide(db, "UUC-2", "BSU", "anbefales", "22-11-2022")
    decide(db, "UUC-2", "SU", "anbefales", "22-11-2022")
    assert case_state(db, "UUC-2")["status"] == "finance"

    with read_session(db) as session:
        new, old_case = queries.get_case(session, "UUC-2"), queries.get_case(session, "UUC-1")
        assert old_case.replaced_by_id == new.id
        assert [(link.kind, other.number) for link, other in queries.links(session, new.id)] \
            == [("replaces", "UUC-1")]
    assert_replay_equals_stored(db, "UUC-1")


def test_it_sends_the_udsattestrategi_to_hearing_and_back_to_su(db):
    create(db, "UDS-1", deciding_body="SU", centre="Center for Arbejdsmarked",
           proposals=["Første udkast drøftes.", "Den videre proces godkendes."])
    act(db, "UDS-1", "record_earlier", body="SU", wording="godkendt",
        meeting_date="09-08-2022", item_number=7)
    act(db, "UDS-1", "submit")
    with write_session(db) as session:
        hearing = services.send_to_hearing(
            session, "UDS-1", title="Høring over udsattestrategien", parties=["HR", "SR", "PR"],
            deadline="01-11-2022", opened_on="05-10-2022", actor=ACTOR, body="SU",
            meeting_date="04-10-2022", item_number=5,
            proposal_decisions=[{"number": 1, "text": "Godkendt med rettelser; sendes i høring"},
                                {"number": 2, "text": "Godkendt; tilbage til SU i november"}])
        hearing_id = hearing.id
    state = case_state(db, "UDS-1")
    assert state["status"] == "hearing"
    assert state["awaiting"] == []
    assert state["history"] == [("Socialudvalget", "09-08-2022", 7, "godkendt"),
                                ("Socialudvalget", "04-10-2022", 5, "godkendt_til_hoering")]
    with pytest.raises(TransitionRefused, match="ikke mulig"):
        decide(db, "UDS-1", "SU", "godkendt", "08-11-2022")

    with write_session(db) as session:
        services.record_hearing_response(session, hearing_id, party="HR",
                                         received_on="25-10-2022", text="Rådet bakker op.",
                                         actor=ACTOR)
        services.close_hearing(session, hearing_id, closed_on="01-11-2022", actor=ACTOR)
    assert case_state(db, "UDS-1")["awaiting"] == ["SU"]
    decide(db, "UDS-1", "SU", "godkendt", "08-11-2022")
    state = case_state(db, "UDS-1")
    assert state["status"] == "decided"
    assert [e[1] for e in state["events"]] == [
        "create", "record_earlier", "submit", "send_to_hearing", "hearing_response",
        "close_hearing", "end_hearing", "treat"]
    assert_replay_equals_stored(db, "UDS-1")


def test_it_keeps_the_rammeaftale_deadlines_and_waits_for_bsu(db):
    create(db, "RA-2023", deciding_body="KB", committees=["SU", "BSU"],
           deadlines=[{"due_date": "30-11-2022", "kind": "external",
                       "description": "Behandlet i KB senest"},
                      {"due_date": "01-12-2022", "kind": "external",
                       "description": "Sendes til Socialstyrelsen"}])
    act(db, "RA-2023", "submit")
    decide(db, "RA-2023", "SU", "Indstilles til godkendelse", "04-10-2022", item_number=10)
    state = case_state(db, "RA-2023")
    assert (state["status"], state["awaiting"]) == ("committee", ["BSU"])
    with read_session(db) as session:
        case = queries.get_case(session, "RA-2023")
        assert [(d.due_date, d.description) for d in queries.deadlines(session, case.id)] == [
            (date(2022, 11, 30), "Behandlet i KB senest"),
            (date(2022, 12, 1), "Sendes til Socialstyrelsen")]


def test_it_records_handicapraadets_hearing_answer_before_su_takes_note(db):
    create(db, "RBT-1", deciding_body="SU")
    with write_session(db) as session:
        hearing = services.send_to_hearing(session, "RBT-1", title="Risikobaseret tilsyn",
                                           parties=["HR"], deadline="05-09-2022",
                                           opened_on="22-08-2022", actor=ACTOR)
        hearing_id = hearing.id
    assert case_state(db, "RBT-1")["status"] == "hearing"
    with write_session(db) as session:
        services.record_hearing_response(
            session, hearing_id, party="Handicaprådet", received_on="05-09-2022",
            text="Rådet er bekymret for medicinhåndteringen.", actor=ACTOR)
        services.close_hearing(session, hearing_id, closed_on="05-09-2022", actor=ACTOR)
    assert case_state(db, "RBT-1")["awaiting"] == ["SU"]
    decide(db, "RBT-1", "SU", "Taget til efterretning", "04-10-2022", item_number=9)
    assert case_state(db, "RBT-1")["status"] == "decided"
    with read_session(db) as session:
        case = queries.get_case(session, "RBT-1")
        (hearing,) = queries.hearings(session, case.id)
        (response,) = queries.hearing_responses(session, hearing.id)
        assert (response.received_on, response.text) == (
            date(2022, 9, 5), "Rådet er bekymret for medicinhåndteringen.")
        assert hearing.closed_on == date(2022, 9, 5)
    assert_replay_equals_stored(db, "RBT-1")


def test_it_records_hjemloesetaellingens_earlier_treatments_by_the_former_committee(db):
    create(db, "HJ-2022", deciding_body="SU", centre="Center for Arbejdsmarked")
    for when, item, wording in (("01-10-2019", 2, "taget_til_efterretning"),
                                ("02-03-2021", 12, "droeftet")):
        act(db, "HJ-2022", "record_earlier", body_name="Social- og Sundhedsudvalget",
            meeting_date=when, item_number=item, wording=wording)
    act(db, "HJ-2022", "submit")
    decide(db, "HJ-2022", "SU", "Taget til efterretning", "04-10-2022", item_number=6)
    state = case_state(db, "HJ-2022")
    assert state["status"] == "decided"
    assert state["history"] == [
        ("Social- og Sundhedsudvalget", "01-10-2019", 2, "taget_til_efterretning"),
        ("Social- og Sundhedsudvalget", "02-03-2021", 12, "droeftet"),
        ("Socialudvalget", "04-10-2022", 6, "taget_til_efterretning")]
    with read_session(db) as session:
        history = queries.decision_history(session, queries.get_case(session, "HJ-2022").id)
        assert [t.body_code for t in history] == [None, None, "SU"]


def test_it_records_a_decision_per_proposal_and_a_minority(db):
    create(db, "KLIMA", deciding_body="KB", committees=["KMU", "SU", "BSU"],
           proposals=["at udvalget afgiver bemærkninger", "at målet er 85 pct."])
    act(db, "KLIMA", "submit")
    decide(db, "KLIMA", "SU", "Godkendt", "04-10-2022", item_number=12,
           proposal_decisions=[{"number": 1, "text": "Godkendt med bemærkninger"},
                               {"number": 2, "text": "Ingen yderligere anbefalinger"}],
           minority="Tre medlemmer (A) anbefaler 87 pct. CO2-reduktion.")
    with read_session(db) as session:
        (treatment,) = queries.decision_history(session, queries.get_case(session, "KLIMA").id)
        assert treatment.minority == "Tre medlemmer (A) anbefaler 87 pct. CO2-reduktion."
        assert [p["number"] for p in treatment.proposal_decisions] == [1, 2]
    assert case_state(db, "KLIMA")["awaiting"] == ["BSU", "KMU"]


def test_it_withdraws_a_case_from_every_queue(db):
    create(db, "W-1", deciding_body="KB", committees=["SU", "BSU"])
    act(db, "W-1", "submit")
    act(db, "W-1", "withdraw", reason="Sagen er forældet")
    state = case_state(db, "W-1")
    assert (state["status"], state["awaiting"]) == ("withdrawn", [])
    assert queue_numbers(db, "SU") == []
    with read_session(db) as session:
        event = queries.events(session, queries.get_case(session, "W-1").id)[-1]
        assert (event.trigger, event.reason, event.actor) == ("withdraw", "Sagen er forældet",
                                                              ACTOR)
    with pytest.raises(TransitionRefused, match="Trukket tilbage"):
        act(db, "W-1", "submit")


def test_it_keeps_a_postponed_case_in_the_queue(db):
    create(db, "P-1", deciding_body="KB", committees=["SU"])
    act(db, "P-1", "submit")
    decide(db, "P-1", "SU", "udsat", "04-10-2022", item_number=3)
    assert queue_numbers(db, "SU") == ["P-1"]
    decide(db, "P-1", "SU", "anbefales", "01-11-2022")
    decide(db, "P-1", "ØU", "Udsat", "15-11-2022")
    assert queue_numbers(db, "ØU") == ["P-1"]
    state = case_state(db, "P-1")
    assert state["status"] == "finance"
    assert [h[3] for h in state["history"]] == ["udsat", "anbefales", "udsat"]


def test_it_overrides_an_open_hearing_only_with_a_recorded_reason(db):
    create(db, "OV-1", deciding_body="SU")
    act(db, "OV-1", "submit")
    with write_session(db) as session:
        services.add_hearing(session, "OV-1", title="Høring", parties=["HR"],
                             deadline="20-10-2022", opened_on="01-10-2022", actor=ACTOR)
    with pytest.raises(TransitionRefused, match="åben høring"):
        decide(db, "OV-1", "SU", "godkendt", "04-10-2022")
    decide(db, "OV-1", "SU", "godkendt", "04-10-2022", override_reason="Kan ikke vente")
    with read_session(db) as session:
        event = queries.events(session, queries.get_case(session, "OV-1").id)[-1]
        assert (event.trigger, event.reason) == ("treat", "Kan ikke vente")


# -- bad input writes nothing ----------------------------------------------------------------

@pytest.fixture
def committee_case(db):
    create(db, "BAD-1", deciding_body="KB", committees=["SU", "BSU"])
    act(db, "BAD-1", "submit")
    return db


BAD_ACTIONS = {
    "unknown case": (NotFound, "findes ikke",
                     lambda e: decide(e, "NOPE", "SU", "godkendt", "04-10-2022")),
    "unknown body": (NotFound, "Ukendt organ",
                     lambda e: decide(e, "BAD-1", "XYZ", "godkendt", "04-10-2022")),
    "invalid transition": (TransitionRefused, "er ikke mulig",
                           lambda e: act(e, "BAD-1", "close")),
    "body not due": (TransitionRefused, "afventer ikke",
                     lambda e: decide(e, "BAD-1", "ØU", "godkendt", "04-10-2022")),
    "malformed date": (InvalidInput, "mødedato: ugyldig dato",
                       lambda e: decide(e, "BAD-1", "SU", "godkendt", "4/10/22")),
    "impossible date": (InvalidInput, "mødedato: ugyldig dato",
                        lambda e: decide(e, "BAD-1", "SU", "godkendt", "31-02-2022")),
    "unknown wording": (InvalidInput, "Ukendt beslutning",
                        lambda e: decide(e, "BAD-1", "SU", "vedtaget måske", "04-10-2022")),
    "wording for another action": (InvalidInput, "passer ikke",
                                   lambda e: act(e, "BAD-1", "treat", body="SU",
                                                 wording="udsat", meeting_date="04-10-2022")),
    "a meeting date with a withdrawal": (InvalidInput, "Mødedato angives kun ved «Send i "
                                         "høring»",
                                         lambda e: act(e, "BAD-1", "withdraw", reason="x",
                                                       meeting_date="30-02-2022")),
    "decision on a proposal the case does not have": (
        InvalidInput, "intet punkt 1", lambda e: decide(
            e, "BAD-1", "SU", "godkendt", "04-10-2022",
            proposal_decisions=[{"number": 1, "text": "Godkendt"}])),
    "missing date": (InvalidInput, "mødedatoen",
                     lambda e: act(e, "BAD-1", "treat", body="SU", wording="godkendt")),
    "item number not a number": (InvalidInput, "punktnummer: skal være et helt tal",
                                 lambda e: decide(e, "BAD-1", "SU", "godkendt", "04-10-2022",
                                                  item_number="elleve")),
    "absurd decision text": (InvalidInput, "højst 20000",
                             lambda e: decide(e, "BAD-1", "SU", "godkendt", "04-10-2022",
                                              decision_text="x" * 20_001)),
    "unknown argument": (InvalidInput, "Ukendte oplysninger",
                         lambda e: act(e, "BAD-1", "postpone", body="SU", colour="red")),
    "send back to a council": (InvalidInput, "ikke et fagudvalg",
                               lambda e: act(e, "BAD-1", "send_back", body="ØU",
                                             bodies=["HR"], reason="x",
                                             meeting_date="04-10-2022")),
    "replace by itself": (InvalidInput, "erstatte sig selv",
                          lambda e: act(e, "BAD-1", "replace", reason="x",
                                        replaced_by="BAD-1")),
    "replace by unknown": (NotFound, "findes ikke",
                           lambda e: act(e, "BAD-1", "replace", reason="x",
                                         replaced_by="NOPE")),
    "stale version": (UserError, "ændret af en anden",
                      lambda e: act(e, "BAD-1", "postpone", body="SU", expected_version=1)),
    "hearing with no parties": (InvalidInput, "høringspart",
                                lambda e: _hearing(e, parties=[])),
    "hearing deadline before opening": (InvalidInput, "før høringen åbner",
                                        lambda e: _hearing(e, deadline="01-09-2022")),
    "hearing impossible date": (InvalidInput, "Ugyldig dato",
                                lambda e: _hearing(e, deadline="30-02-2023")),
    "deadline with bad date": (InvalidInput, "ugyldig dato",
                               lambda e: _deadline(e, due_date="32-12-2022")),
    "deadline with unknown kind": (InvalidInput, "type",
                                   lambda e: _deadline(e, kind="someday")),
    "response to unknown hearing": (NotFound, "Høringen 999",
                                    lambda e: _response(e, 999)),
}


def _hearing(engine, **changes):
    args = {"title": "Høring", "parties": ["HR"], "deadline": "01-11-2022",
            "opened_on": "05-10-2022", **changes}
    with write_session(engine) as session:
        services.add_hearing(session, "BAD-1", actor=ACTOR, **args)


def _deadline(engine, **changes):
    data = {"due_date": "30-11-2022", "kind": "statutory", "description": "Frist", **changes}
    with write_session(engine) as session:
        services.add_deadline(session, "BAD-1", data, actor=ACTOR)


def _response(engine, hearing_id):
    with write_session(engine) as session:
        services.record_hearing_response(session, hearing_id, party="HR",
                                         received_on="05-09-2022", text="Svar", actor=ACTOR)


@pytest.mark.parametrize("name", BAD_ACTIONS)
def test_it_writes_nothing_on_bad_input(committee_case, name):
    error, message, action = BAD_ACTIONS[name]
    before = database_dump(committee_case)
    with pytest.raises(error) as raised:
        action(committee_case)
    assert message in raised.value.message
    assert database_dump(committee_case) == before


BAD_CASES = {
    "empty title": ({"title": "  "}, "titel: må ikke være tom"),
    "absurdly long title": ({"title": "x" * 301}, "titel: højst 300 tegn"),
    "absurdly long summary": ({"summary": "x" * 50_001}, "sammendrag: højst 50000 tegn"),
    "empty number": ({"number": ""}, "sagsnummer"),
    "number with spaces": ({"number": "A B"}, "sagsnummer"),
    "unknown deciding body": ({"deciding_body": "XYZ"}, "Ukendt organ"),
    "hearing council decides": ({"deciding_body": "HR"}, "kan ikke træffe beslutning"),
    "council on the route": ({"committees": ["KB"]}, "er ikke et fagudvalg"),
    "unknown centre": ({"centre": "Center for Alting"}, "Ukendt center"),
    "bad email": ({"owner_email": "ikke-en-mail"}, "gyldig e-mailadresse"),
    "empty proposal": ({"proposals": ["Godkendes", " "]}, "indstilling"),
    "impossible deadline": ({"deadlines": [{"due_date": "29-02-2022",
                                            "description": "Frist"}]}, "ugyldig dato"),
    "unknown field": ({"colour": "red"}, "ukendt felt"),
    "duplicate number": ({"number": "BAD-1"}, "findes allerede"),
    "replaces unknown": ({"replaces": "NOPE"}, "findes ikke"),
}


@pytest.mark.parametrize("name", BAD_CASES)
def test_it_refuses_a_bad_new_case_and_writes_nothing(committee_case, name):
    changes, message = BAD_CASES[name]
    data = {"number": "NEW-1", "title": "Ny sag", "centre": CVS, "deciding_body": "KB",
            "committees": ["SU"], **changes}
    before = database_dump(committee_case)
    with pytest.raises(UserError) as raised:
        with write_session(committee_case) as session:
            services.create_case(session, data, actor=ACTOR)
    assert message in raised.value.message
    assert database_dump(committee_case) == before


def test_it_stores_a_hostile_title_verbatim(db):
    title = '<script>alert("x")</script> & «Ø»'
    create(db, "XSS-1", deciding_body="SU", title=title, summary="<b>fed</b>")
    with read_session(db) as session:
        case = queries.get_case(session, "XSS-1")
        assert (case.title, case.summary) == (title, "<b>fed</b>")


def test_it_rolls_back_the_whole_transaction_when_a_later_step_fails(db):
    create(db, "TX-1", deciding_body="SU")
    before = database_dump(db)
    with pytest.raises(TransitionRefused):
        with write_session(db) as session:
            actions.submit(session, "TX-1", actor=ACTOR)
            actions.close(session, "TX-1", actor=ACTOR)
    assert database_dump(db) == before
    assert db.dialect.name in ("sqlite", "postgresql")


def test_it_counts_one_version_per_workflow_action_only(db):
    create(db, "V-1", deciding_body="SU")
    with write_session(db) as session:
        services.add_deadline(session, "V-1", {"due_date": "30-11-2022",
                                               "description": "Frist"}, actor=ACTOR)
    act(db, "V-1", "submit")
    with read_session(db) as session:
        case = queries.get_case(session, "V-1")
        assert case.version == 2
        assert [e.trigger for e in queries.events(session, case.id)] == [
            "create", "add_deadline", "submit"]
