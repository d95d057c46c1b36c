"""The workflow state machine on its own: plain CaseFlow objects, no database.

The expected legal moves are written out here by hand (not read from the machine), so that a
change to the machine's transition table makes these tests fail.
"""

from dataclasses import asdict, replace

import pytest

from cases.organisation import load_organisation
from cases.settings import PROJECT_DIR
from workflow.errors import TransitionRefused
from workflow.machine import (
    COMMITTEE,
    COUNCIL,
    DECIDED,
    DRAFT,
    FINANCE,
    HEARING,
    INFORMING,
    MACHINE,
    STAGE_FOR_KIND,
    STATE_LABELS,
    STATES,
    TRIGGER_LABELS,
    TRIGGERS,
    CaseFlow,
    available_triggers,
    fire,
    replay,
)

CLOSED, WITHDRAWN, REPLACED = "closed", "withdrawn", "replaced"

# state -> {trigger: expected destination} for a KB case routed via BSU and SU.
LEGAL = {
    DRAFT: {"submit": COMMITTEE, "send_to_hearing": HEARING, "withdraw": WITHDRAWN,
            "replace": REPLACED, "record_earlier": DRAFT},
    HEARING: {"end_hearing": COMMITTEE, "withdraw": WITHDRAWN, "replace": REPLACED,
              "record_earlier": HEARING},
    COMMITTEE: {"send_to_hearing": HEARING, "treat": COMMITTEE, "postpone": COMMITTEE,
                "withdraw": WITHDRAWN, "replace": REPLACED, "record_earlier": COMMITTEE},
    FINANCE: {"treat": COUNCIL, "postpone": FINANCE, "send_back": COMMITTEE,
              "refer": COMMITTEE, "withdraw": WITHDRAWN, "replace": REPLACED,
              "record_earlier": FINANCE},
    COUNCIL: {"treat": DECIDED, "postpone": COUNCIL, "send_back": COMMITTEE,
              "refer": COMMITTEE, "withdraw": WITHDRAWN, "replace": REPLACED,
              "record_earlier": COUNCIL},
    DECIDED: {"send_for_information": INFORMING, "close": CLOSED, "replace": REPLACED,
              "record_earlier": DECIDED},
    INFORMING: {"send_for_information": INFORMING, "close": CLOSED,
                "record_earlier": INFORMING},
    CLOSED: {"record_earlier": CLOSED},
    WITHDRAWN: {"record_earlier": WITHDRAWN},
    REPLACED: {"record_earlier": REPLACED},
}

# The arguments a user gives for each action on the standard flow in each state.
ACTING_BODY = {COMMITTEE: "SU", FINANCE: "ØU", COUNCIL: "KB"}


def arguments(state: str, trigger: str) -> dict:
    args = {"body": ACTING_BODY.get(state), "reason": "Begrundelse",
            "meeting_date": "2022-10-04", "wording": "godkendt"}
    if trigger in ("send_back", "refer"):
        args["bodies"] = ["SU"]
    if trigger == "record_earlier":
        args = {"body_name": "Social- og Sundhedsudvalget", "meeting_date": "2019-10-01"}
    return {k: v for k, v in args.items() if v is not None}


@pytest.fixture(scope="module")
def ballerup():
    return load_organisation(PROJECT_DIR / "config" / "ballerup.toml")


@pytest.fixture(scope="module")
def aarhus():
    return load_organisation(PROJECT_DIR / "config" / "aarhus.toml")


def new_flow(org, deciding: str, committees: list[str], **changes) -> CaseFlow:
    """A flow as the service layer starts it, from the organisation's configuration."""
    finance, council = org.finance_committee, org.council
    route = list(committees)
    if org.body(deciding).is_committee and deciding not in route:
        route.append(deciding)
    flow = CaseFlow(deciding_body=deciding, deciding_stage=STAGE_FOR_KIND[org.body(deciding).kind],
                    committees=route, finance_body=finance.code if finance else None,
                    council_body=council.code if council else None,
                    require_finance_statement=org.require_finance_statement)
    for name, value in changes.items():
        setattr(flow, name, value)
    return flow


def flow_in(org, state: str) -> CaseFlow:
    """The standard KB case (BSU and SU in parallel) standing in `state`, consistently."""
    flow = new_flow(org, "KB", ["BSU", "SU"], state=state)
    if state == COMMITTEE:
        flow.pending = ["BSU", "SU"]
    if state in (COUNCIL, DECIDED, INFORMING, CLOSED):
        flow.finance_statement = True
    return flow


def refusal(flow: CaseFlow, trigger: str, **kwargs) -> str:
    """Fire an action that must be refused; check it changed nothing; return the reason."""
    before = asdict(flow)
    with pytest.raises(TransitionRefused) as refused:
        fire(flow, trigger, **kwargs)
    assert asdict(flow) == before
    return refused.value.message


# -- every state × every trigger ---------------------------------------------------------------

def test_it_covers_every_state_and_trigger():
    assert set(LEGAL) == set(STATES)
    assert set(TRIGGERS) == set(MACHINE.events)


@pytest.mark.parametrize("state", STATES)
def test_it_offers_exactly_the_legal_actions(ballerup, state):
    assert set(available_triggers(state)) == set(LEGAL[state])


@pytest.mark.parametrize("state,trigger,dest",
                         [(s, t, d) for s, moves in LEGAL.items() for t, d in moves.items()])
def test_it_fires_every_legal_transition(ballerup, state, trigger, dest):
    flow = flow_in(ballerup, state)
    assert fire(flow, trigger, **arguments(state, trigger)) == (state, dest)
    assert flow.state == dest


@pytest.mark.parametrize("state,trigger",
                         [(s, t) for s in STATES for t in TRIGGERS if t not in LEGAL[s]])
def test_it_refuses_every_illegal_transition_in_danish(ballerup, state, trigger):
    flow = flow_in(ballerup, state)
    message = refusal(flow, trigger, **arguments(state, trigger))
    assert f"«{TRIGGER_LABELS[trigger]}» er ikke mulig" in message
    assert f"«{STATE_LABELS[state]}»" in message
    for possible in LEGAL[state]:
        assert TRIGGER_LABELS[possible] in message


def test_it_refuses_an_unknown_action(ballerup):
    assert "Ukendt handling" in refusal(flow_in(ballerup, DRAFT), "approve_everything")


# -- the route -------------------------------------------------------------------------------

def test_it_walks_a_council_case_through_committees_finance_and_council(ballerup):
    flow = new_flow(ballerup, "KB", ["SU"])
    assert fire(flow, "submit") == (DRAFT, COMMITTEE)
    assert flow.awaiting_bodies() == ["SU"]
    assert fire(flow, "treat", body="SU") == (COMMITTEE, FINANCE)
    assert flow.awaiting_bodies() == ["ØU"]
    assert fire(flow, "treat", body="ØU") == (FINANCE, COUNCIL)
    assert flow.finance_statement
    assert flow.awaiting_bodies() == ["KB"]
    assert fire(flow, "treat", body="KB") == (COUNCIL, DECIDED)
    assert flow.awaiting_bodies() == []
    assert fire(flow, "send_for_information") == (DECIDED, INFORMING)
    assert fire(flow, "close") == (INFORMING, CLOSED)


def test_it_moves_on_only_when_every_parallel_committee_has_treated(ballerup):
    flow = new_flow(ballerup, "KB", ["BSU", "SU", "SÆU"])
    fire(flow, "submit")
    assert flow.awaiting_bodies() == ["BSU", "SU", "SÆU"]
    assert fire(flow, "treat", body="SU") == (COMMITTEE, COMMITTEE)
    assert flow.awaiting_bodies() == ["BSU", "SÆU"]
    assert fire(flow, "treat", body="BSU") == (COMMITTEE, COMMITTEE)
    assert flow.awaiting_bodies() == ["SÆU"]
    assert fire(flow, "treat", body="SÆU") == (COMMITTEE, FINANCE)


def test_it_refuses_finance_before_every_committee_has_treated(ballerup):
    flow = new_flow(ballerup, "KB", ["BSU", "SU"])
    fire(flow, "submit")
    fire(flow, "treat", body="SU")
    message = refusal(flow, "treat", body="ØU")
    assert message == "Sagen afventer ikke behandling i ØU. Afventer: BSU."


def test_it_refuses_a_committee_treating_twice_in_one_round(ballerup):
    flow = new_flow(ballerup, "KB", ["BSU", "SU"])
    fire(flow, "submit")
    fire(flow, "treat", body="SU")
    assert "afventer ikke behandling i SU" in refusal(flow, "treat", body="SU")


def test_it_refuses_a_committee_not_on_the_route(ballerup):
    flow = new_flow(ballerup, "KB", ["SU"])
    fire(flow, "submit")
    assert refusal(flow, "treat", body="KMU") == ("Sagen afventer ikke behandling i KMU. "
                                                  "Afventer: SU.")


def test_it_ends_a_committee_case_at_its_committee(ballerup):
    flow = new_flow(ballerup, "SU", [])
    assert flow.committees == ["SU"]
    fire(flow, "submit")
    assert fire(flow, "treat", body="SU") == (COMMITTEE, DECIDED)
    assert flow.awaiting_bodies() == []
    assert not flow.finance_statement


def test_it_ends_a_committee_case_after_all_its_committees(ballerup):
    flow = new_flow(ballerup, "SU", ["BSU"])
    fire(flow, "submit")
    assert fire(flow, "treat", body="SU") == (COMMITTEE, COMMITTEE)
    assert fire(flow, "treat", body="BSU") == (COMMITTEE, DECIDED)


def test_it_ends_a_finance_committee_case_at_the_finance_committee(ballerup):
    flow = new_flow(ballerup, "ØU", ["SU"])
    fire(flow, "submit")
    assert fire(flow, "treat", body="SU") == (COMMITTEE, FINANCE)
    assert fire(flow, "treat", body="ØU") == (FINANCE, DECIDED)


def test_it_sends_a_case_without_committees_straight_to_finance(ballerup):
    flow = new_flow(ballerup, "KB", [])
    assert fire(flow, "submit") == (DRAFT, FINANCE)
    assert flow.awaiting_bodies() == ["ØU"]


def test_it_refuses_the_wrong_body_at_finance_and_council(ballerup):
    flow = flow_in(ballerup, FINANCE)
    assert refusal(flow, "treat", body="KB") == "Sagen afventer behandling i ØU, ikke i KB."
    assert refusal(flow, "postpone", body="SU") == "Sagen afventer behandling i ØU, ikke i SU."
    flow = flow_in(ballerup, COUNCIL)
    assert refusal(flow, "treat", body="ØU") == "Sagen afventer beslutning i KB, ikke i ØU."


# -- postponement ----------------------------------------------------------------------------

@pytest.mark.parametrize("state,body", [(COMMITTEE, "SU"), (FINANCE, "ØU"), (COUNCIL, "KB")])
def test_it_keeps_a_postponed_case_in_the_bodys_queue(ballerup, state, body):
    flow = flow_in(ballerup, state)
    queued = flow.awaiting_bodies()
    assert fire(flow, "postpone", body=body) == (state, state)
    assert flow.awaiting_bodies() == queued
    assert body in queued


def test_it_refuses_postponing_at_a_body_the_case_is_not_waiting_for(ballerup):
    flow = flow_in(ballerup, COMMITTEE)
    fire(flow, "treat", body="SU")
    assert "afventer ikke behandling i SU" in refusal(flow, "postpone", body="SU")


# -- sent back -------------------------------------------------------------------------------

def test_it_sends_back_from_finance_to_all_committees(ballerup):
    # Danmarkskort: BSU, SU, SÆU treated; ØU sent it back to all three; round two.
    flow = new_flow(ballerup, "KB", ["BSU", "SU", "SÆU"])
    fire(flow, "submit")
    for body in ("BSU", "SU", "SÆU"):
        fire(flow, "treat", body=body)
    fire(flow, "send_back", body="ØU", bodies=["SÆU", "SU", "BSU"],
         reason="Ny lovgivning kræver stillingtagen til handleplaner")
    assert flow.state == COMMITTEE
    assert sorted(flow.awaiting_bodies()) == ["BSU", "SU", "SÆU"]
    assert not flow.finance_statement
    fire(flow, "treat", body="SU")
    assert refusal(flow, "treat", body="ØU").startswith("Sagen afventer ikke behandling i ØU")
    fire(flow, "treat", body="BSU")
    assert fire(flow, "treat", body="SÆU") == (COMMITTEE, FINANCE)
    assert fire(flow, "treat", body="ØU") == (FINANCE, COUNCIL)
    assert fire(flow, "treat", body="KB") == (COUNCIL, DECIDED)


def test_it_sends_back_to_some_committees_only(ballerup):
    flow = flow_in(ballerup, FINANCE)
    fire(flow, "send_back", body="ØU", bodies=["SU"], reason="SU skal se på økonomien")
    assert flow.awaiting_bodies() == ["SU"]
    assert flow.committees == ["BSU", "SU"]
    assert fire(flow, "treat", body="SU") == (COMMITTEE, FINANCE)


def test_it_sends_back_from_the_council_via_finance_again(ballerup):
    flow = flow_in(ballerup, COUNCIL)
    fire(flow, "send_back", body="KB", bodies=["BSU"], reason="Mangler børneperspektivet")
    assert flow.awaiting_bodies() == ["BSU"]
    assert not flow.finance_statement
    assert fire(flow, "treat", body="BSU") == (COMMITTEE, FINANCE)
    # The council may not decide on the old statement: ØU must treat it again.
    flow.state = COUNCIL
    assert "har afgivet sin udtalelse" in refusal(flow, "treat", body="KB")


def test_it_queues_sent_back_committees_in_route_order(ballerup):
    # ØU named them SÆU, SU, BSU; the stored queue reads them back in route order, and a
    # replay of the audit log must give the same flow.
    flow = new_flow(ballerup, "KB", ["BSU", "SU", "SÆU"], state=FINANCE)
    fire(flow, "send_back", body="ØU", bodies=["SÆU", "SU", "BSU"], reason="x")
    assert flow.pending == ["BSU", "SU", "SÆU"]


def test_it_adds_a_committee_sent_back_to_that_was_not_on_the_route(ballerup):
    flow = flow_in(ballerup, FINANCE)
    fire(flow, "send_back", body="ØU", bodies=["SÆU"], reason="Også et ældreperspektiv")
    assert flow.committees == ["BSU", "SU", "SÆU"]
    assert flow.awaiting_bodies() == ["SÆU"]


def test_it_requires_bodies_and_a_reason_to_send_back(ballerup):
    flow = flow_in(ballerup, FINANCE)
    assert refusal(flow, "send_back", body="ØU", reason="x") == (
        "Angiv hvilke fagudvalg sagen sendes tilbage til.")
    assert refusal(flow, "send_back", body="ØU", bodies=["SU"]) == (
        "Angiv en begrundelse for at sende sagen tilbage.")
    assert refusal(flow, "send_back", body="SU", bodies=["SU"], reason="x") == (
        "Sagen afventer behandling i ØU, ikke i SU.")


# -- hearings --------------------------------------------------------------------------------

def test_it_refuses_committee_treatment_while_a_blocking_hearing_is_open(ballerup):
    flow = flow_in(ballerup, COMMITTEE)
    flow.open_blocking_hearings = 1
    message = refusal(flow, "treat", body="SU")
    assert message.startswith("Sagen har en åben høring")
    assert "Angiv en begrundelse" in message


def test_it_allows_committee_treatment_during_a_hearing_with_a_stated_reason(ballerup):
    flow = flow_in(ballerup, COMMITTEE)
    flow.open_blocking_hearings = 1
    assert fire(flow, "treat", body="SU", override_reason="Fristen kan ikke vente") == (
        COMMITTEE, COMMITTEE)
    assert flow.pending == ["BSU"]


def test_it_refuses_ending_a_hearing_that_is_still_open(ballerup):
    flow = flow_in(ballerup, HEARING)
    flow.open_blocking_hearings = 2
    assert refusal(flow, "end_hearing").startswith("Sagen har en åben høring")
    flow.open_blocking_hearings = 0
    assert fire(flow, "end_hearing") == (HEARING, COMMITTEE)
    assert flow.pending == ["BSU", "SU"]


def test_it_refuses_submitting_while_a_blocking_hearing_is_open(ballerup):
    flow = new_flow(ballerup, "KB", ["SU"], open_blocking_hearings=1)
    assert refusal(flow, "submit").startswith("Sagen har en åben høring")


def test_it_sends_to_hearing_after_a_first_committee_round(ballerup):
    # The udsattestrategi: SU approves the draft for hearing; after it, back to SU.
    flow = new_flow(ballerup, "SU", [])
    fire(flow, "submit")
    assert fire(flow, "send_to_hearing", body="SU") == (COMMITTEE, HEARING)
    assert flow.awaiting_bodies() == []
    assert fire(flow, "end_hearing") == (HEARING, COMMITTEE)
    assert flow.awaiting_bodies() == ["SU"]
    assert fire(flow, "treat", body="SU") == (COMMITTEE, DECIDED)


def test_it_refuses_sending_to_hearing_from_a_committee_not_waited_for(ballerup):
    flow = new_flow(ballerup, "SU", [])
    fire(flow, "submit")
    assert "afventer ikke behandling i KMU" in refusal(flow, "send_to_hearing", body="KMU")


def test_it_sends_a_case_without_committees_from_hearing_to_finance(ballerup):
    flow = new_flow(ballerup, "KB", [], state=HEARING)
    assert fire(flow, "end_hearing") == (HEARING, FINANCE)


# -- the finance committee's statement ------------------------------------------------------

def test_it_refuses_a_council_decision_without_the_finance_statement(ballerup):
    flow = flow_in(ballerup, COUNCIL)
    flow.finance_statement = False
    assert refusal(flow, "treat", body="KB") == (
        "KB kan ikke træffe beslutning, før ØU har afgivet sin udtalelse.")


def test_it_allows_a_council_decision_without_statement_when_not_required(ballerup):
    flow = flow_in(ballerup, COUNCIL)
    flow.finance_statement = False
    flow.require_finance_statement = False
    assert fire(flow, "treat", body="KB") == (COUNCIL, DECIDED)


# -- withdrawal and replacement --------------------------------------------------------------

@pytest.mark.parametrize("trigger", ["withdraw", "replace"])
def test_it_requires_a_reason_to_withdraw_or_replace(ballerup, trigger):
    assert refusal(flow_in(ballerup, COMMITTEE), trigger) == "Angiv en begrundelse."


@pytest.mark.parametrize("trigger,dest", [("withdraw", WITHDRAWN), ("replace", REPLACED)])
def test_it_empties_every_queue_when_withdrawn_or_replaced(ballerup, trigger, dest):
    flow = flow_in(ballerup, COMMITTEE)
    fire(flow, trigger, reason="Ny sag forelægges")
    assert flow.state == dest
    assert flow.pending == []
    assert flow.awaiting_bodies() == []


def test_it_records_earlier_treatments_without_moving_the_case(ballerup):
    flow = flow_in(ballerup, COMMITTEE)
    before = asdict(flow)
    assert fire(flow, "record_earlier", body_name="Social- og Sundhedsudvalget") == (
        COMMITTEE, COMMITTEE)
    assert asdict(flow) == before


# -- replay --------------------------------------------------------------------------------

def test_it_replays_recorded_steps_to_the_same_flow(ballerup):
    start = new_flow(ballerup, "KB", ["BSU", "SU", "SÆU"])
    steps = [("submit", {}), ("treat", {"body": "BSU"}), ("treat", {"body": "SU"}),
             ("treat", {"body": "SÆU"}),
             ("send_back", {"body": "ØU", "bodies": ["BSU", "SU", "SÆU"], "reason": "x"}),
             ("treat", {"body": "SU"}), ("postpone", {"body": "BSU"})]
    live = replace(start)
    for trigger, kwargs in steps:
        fire(live, trigger, **kwargs)
    replayed = replay(replace(start, committees=list(start.committees)), steps)
    assert asdict(replayed) == asdict(live)
    assert replayed.replaying is False
    assert replayed.awaiting_bodies() == ["BSU", "SÆU"]


def test_it_replays_past_policy_checks_that_held_when_recorded(ballerup):
    # An override of an open hearing was accepted then; the replay must not refuse it now.
    start = new_flow(ballerup, "SU", [], open_blocking_hearings=1)
    flow = replay(start, [("submit", {"override_reason": "Haster"}), ("treat", {"body": "SU"})])
    assert flow.state == DECIDED


def test_it_keeps_no_machine_state_per_case():
    flows = [CaseFlow(deciding_body="KB", deciding_stage=COUNCIL, committees=["SU"],
                      finance_body="ØU", council_body="KB") for _ in range(100)]
    for flow in flows:
        fire(flow, "submit")
    assert MACHINE.models == []
    assert not hasattr(flows[0], "trigger")


# -- another municipality, by configuration alone --------------------------------------------

def test_it_routes_an_aarhus_case_through_magistraten_to_byraadet(aarhus):
    assert aarhus.council.code == "BR"
    assert aarhus.finance_committee.code == "MAG"
    flow = new_flow(aarhus, "BR", ["SOCB"])
    fire(flow, "submit")
    assert flow.awaiting_bodies() == ["SOCB"]
    assert fire(flow, "treat", body="SOCB") == (COMMITTEE, FINANCE)
    assert flow.awaiting_bodies() == ["MAG"]
    assert refusal(flow, "treat", body="BR") == "Sagen afventer behandling i MAG, ikke i BR."
    assert fire(flow, "treat", body="MAG") == (FINANCE, COUNCIL)
    assert fire(flow, "treat", body="BR") == (COUNCIL, DECIDED)


def test_it_names_each_municipalitys_own_finance_committee_and_council(aarhus, ballerup):
    assert aarhus.state_label(FINANCE) == "Til behandling i Magistraten"
    assert aarhus.state_label(COUNCIL) == "Til beslutning i Byrådet"
    assert ballerup.state_label(FINANCE) == "Til behandling i Økonomiudvalget"
    assert ballerup.state_label(COUNCIL) == "Til beslutning i Kommunalbestyrelsen"
    assert aarhus.state_label(COMMITTEE) == "Til behandling i fagudvalg"
    assert aarhus.state_change(COMMITTEE, FINANCE) == (
        "Til behandling i fagudvalg → Til behandling i Magistraten")


def test_it_refuses_byraadet_before_magistratens_statement(aarhus):
    flow = new_flow(aarhus, "BR", ["SOCB"], state=COUNCIL)
    assert refusal(flow, "treat", body="BR") == (
        "BR kan ikke træffe beslutning, før MAG har afgivet sin udtalelse.")


def test_it_sends_an_aarhus_case_back_from_magistraten(aarhus):
    flow = new_flow(aarhus, "BR", ["SOCB"], state=FINANCE)
    fire(flow, "send_back", body="MAG", bodies=["SOCB"], reason="Uddyb økonomien")
    assert flow.awaiting_bodies() == ["SOCB"]


def test_it_ends_an_aarhus_committee_case_at_its_committee(aarhus):
    flow = new_flow(aarhus, "SOCB", [])
    fire(flow, "submit")
    assert fire(flow, "treat", body="SOCB") == (COMMITTEE, DECIDED)


# -- referral ("henvises til …") -------------------------------------------------------------

def test_a_council_referral_returns_to_the_council_with_the_statement_standing(ballerup):
    flow = flow_in(ballerup, COUNCIL)
    assert fire(flow, "refer", body="KB", bodies=["SU", "BSU"]) == (COUNCIL, COMMITTEE)
    assert flow.awaiting_bodies() == ["BSU", "SU"] and flow.finance_statement
    assert fire(flow, "treat", body="SU") == (COMMITTEE, COMMITTEE)
    assert fire(flow, "treat", body="BSU") == (COMMITTEE, COUNCIL)
    assert flow.return_stage is None
    assert fire(flow, "treat", body="KB") == (COUNCIL, DECIDED)  # no new ØU round


def test_a_council_referral_with_a_new_finance_round(ballerup):
    flow = flow_in(ballerup, COUNCIL)
    fire(flow, "refer", body="KB", bodies=["SU"], finance_again=True)
    assert not flow.finance_statement
    assert fire(flow, "treat", body="SU") == (COMMITTEE, FINANCE)
    assert fire(flow, "treat", body="ØU") == (FINANCE, COUNCIL)
    assert fire(flow, "treat", body="KB") == (COUNCIL, DECIDED)


def test_a_finance_referral_returns_to_the_finance_committee(ballerup):
    flow = flow_in(ballerup, FINANCE)
    fire(flow, "refer", body="ØU", bodies=["KMU"])
    assert flow.committees == ["BSU", "SU", "KMU"] and flow.awaiting_bodies() == ["KMU"]
    assert fire(flow, "treat", body="KMU") == (COMMITTEE, FINANCE)


def test_a_referral_names_its_committees_and_comes_from_the_body_in_turn(ballerup):
    assert "henvises til" in refusal(flow_in(ballerup, COUNCIL), "refer", body="KB")
    assert "afventer beslutning i KB" in refusal(flow_in(ballerup, COUNCIL), "refer",
                                                 body="ØU", bodies=["SU"])


def test_send_back_still_clears_the_statement_and_forces_a_finance_round(ballerup):
    flow = flow_in(ballerup, COUNCIL)
    fire(flow, "send_back", body="KB", bodies=["SU"], reason="Mangler")
    assert not flow.finance_statement and flow.return_stage is None
    assert fire(flow, "treat", body="SU") == (COMMITTEE, FINANCE)
