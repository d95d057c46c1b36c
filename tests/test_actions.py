"""The workflow's use cases (cases.actions): each function takes exactly its input model's
fields and stores that model's dump as its audit event's payload; a wrong field or type is
refused with a Danish message and writes nothing, whether the action is called by its
function or by name (`run_action`)."""

import inspect
from datetime import date

import pytest
from servers import database_dump

from cases import actions, queries, services
from cases.db import make_engine, read_session, write_session
from cases.schemas import ACTION_INPUTS, validated
from workflow.errors import InvalidInput
from workflow.machine import MACHINE

ACTOR = "sekretariat"
CVS = "Center for Voksne og Sundhed"
COMMON = {"session", "number", "actor", "expected_version", "org", "now"}


def case_in(session, number: str, state: str) -> str:
    """A case (with two proposals) brought to `state` through the actions themselves."""
    services.create_case(session, {
        "number": number, "title": f"Sag {number}", "centre": CVS,
        "deciding_body": "SU" if state == "decided" else "KB", "committees": ["SU"],
        "proposals": ["Første punkt", "Andet punkt"]}, actor=ACTOR)
    if state == "hearing":
        actions.send_to_hearing(session, number, actor=ACTOR)
    if state in ("committee", "finance", "council", "decided"):
        actions.submit(session, number, actor=ACTOR)
    if state in ("finance", "council", "decided"):
        actions.treat(session, number, actor=ACTOR, body="SU", wording="godkendt",
                      meeting_date="06-09-2022")
    if state == "council":
        actions.treat(session, number, actor=ACTOR, body="ØU", wording="anbefales",
                      meeting_date="13-09-2022")
    return number


# Per action: the state its case is in, and every argument it takes, given as callers give
# them (labels, Danish dates, numbers as text, padded text), with the payload they make.
FULL = {
    "submit": ("draft", {"override_reason": " Haster ", "reason": "Klar"},
               {"override_reason": "Haster", "reason": "Klar"}),
    "send_to_hearing": ("draft", {
        "body": "SU", "wording": "Godkendt og sendes i høring", "meeting_date": "04-10-2022",
        "item_number": "5", "agenda_item_id": 41, "decision_text": "Sendes i høring.",
        "proposal_decisions": [{"number": 2, "text": " I høring "}], "minority": "Ingen",
        "reason": "Høring først"}, {
        "body": "SU", "wording": "godkendt_til_hoering", "meeting_date": "2022-10-04",
        "item_number": 5, "agenda_item_id": 41, "decision_text": "Sendes i høring.",
        "proposal_decisions": [{"number": 2, "text": " I høring "}], "minority": "Ingen",
        "reason": "Høring først"}),
    "end_hearing": ("hearing", {"override_reason": "Svarene er kommet", "reason": ""},
                    {"override_reason": "Svarene er kommet"}),
    "treat": ("committee", {
        "body": "SU", "wording": "Godkendt", "meeting_date": date(2022, 10, 4),
        "item_number": 7, "agenda_item_id": 12, "decision_text": "  Godkendt.  ",
        "proposal_decisions": [{"number": 1, "text": "Godkendt"}],
        "minority": "A stemte imod", "reason": "Efter drøftelse", "override_reason": None}, {
        "body": "SU", "wording": "godkendt", "meeting_date": "2022-10-04", "item_number": 7,
        "agenda_item_id": 12, "decision_text": "Godkendt.",
        "proposal_decisions": [{"number": 1, "text": "Godkendt"}],
        "minority": "A stemte imod", "reason": "Efter drøftelse"}),
    "postpone": ("committee", {
        "body": "SU", "meeting_date": "2022-10-04", "wording": None, "item_number": 3,
        "agenda_item_id": None, "decision_text": "Udsat til næste møde.",
        "proposal_decisions": [], "minority": "", "reason": "Mangler bilag",
        "to_meeting_date": "08-11-2022"}, {
        "body": "SU", "wording": "udsat", "meeting_date": "2022-10-04", "item_number": 3,
        "decision_text": "Udsat til næste møde.", "reason": "Mangler bilag",
        "to_meeting_date": "2022-11-08"}),
    "send_back": ("finance", {
        "body": "ØU", "bodies": ["SU"], "reason": "Uddyb økonomien",
        "meeting_date": "20.09.2022", "wording": "Sendes tilbage til fagudvalgene",
        "item_number": 9, "agenda_item_id": None, "decision_text": None,
        "proposal_decisions": None, "minority": None}, {
        "body": "ØU", "bodies": ["SU"], "reason": "Uddyb økonomien",
        "meeting_date": "2022-09-20", "wording": "sendes_tilbage", "item_number": 9}),
    "refer": ("council", {
        "body": "KB", "bodies": ["SU", "BSU"], "finance_again": False,
        "meeting_date": "24-10-2022", "wording": "Henvist til fagudvalg", "item_number": 4,
        "agenda_item_id": None, "decision_text": "Henvises til SU og BSU.",
        "proposal_decisions": None, "minority": None, "reason": None}, {
        "body": "KB", "bodies": ["SU", "BSU"], "finance_again": False,
        "meeting_date": "2022-10-24", "wording": "henvist", "item_number": 4,
        "decision_text": "Henvises til SU og BSU."}),
    "withdraw": ("committee", {"reason": " Forældet "}, {"reason": "Forældet"}),
    "replace": ("committee", {
        "replaced_by": "NY-1", "reason": "Samtidig behandling", "body": "SU",
        "wording": "ny_sag", "meeting_date": "04-10-2022", "item_number": 8,
        "agenda_item_id": None, "decision_text": "En ny sag forelægges.",
        "proposal_decisions": None, "minority": None}, {
        "replaced_by": "NY-1", "reason": "Samtidig behandling", "body": "SU",
        "wording": "ny_sag", "meeting_date": "2022-10-04", "item_number": 8,
        "decision_text": "En ny sag forelægges."}),
    "send_for_information": ("decided", {
        "body": "HR", "bodies": ["SR", "PR"], "recipients": [" Socialstyrelsen ", ""],
        "reason": "Til orientering"}, {
        "body": "HR", "bodies": ["SR", "PR"], "recipients": ["Socialstyrelsen"],
        "reason": "Til orientering"}),
    "close": ("decided", {"reason": "Færdigbehandlet"}, {"reason": "Færdigbehandlet"}),
    "record_earlier": ("draft", {
        "wording": "droeftet", "meeting_date": "02-03-2021", "body": None,
        "body_name": "Social- og Sundhedsudvalget", "item_number": 12, "agenda_item_id": None,
        "decision_text": "Drøftet.", "proposal_decisions": None, "minority": None,
        "reason": None}, {
        "wording": "droeftet", "meeting_date": "2021-03-02",
        "body_name": "Social- og Sundhedsudvalget", "item_number": 12,
        "decision_text": "Drøftet."}),
}


def test_every_trigger_has_one_action_with_one_model():
    assert set(actions.ACTIONS) == set(MACHINE.events) == set(ACTION_INPUTS) == set(FULL)
    for trigger, action in actions.ACTIONS.items():
        assert action.model is ACTION_INPUTS[trigger]
        assert action.model.trigger == trigger == action.function.__name__


@pytest.mark.parametrize("trigger", FULL)
def test_each_function_takes_exactly_its_models_fields(trigger):
    action = actions.ACTIONS[trigger]
    parameters = inspect.signature(action.function).parameters
    assert all(p.kind == p.KEYWORD_ONLY for name, p in parameters.items()
               if name not in ("session", "number"))
    assert set(parameters) - COMMON == set(action.model.model_fields)
    assert set(FULL[trigger][1]) == set(action.model.model_fields)


@pytest.mark.parametrize("trigger", FULL)
def test_each_function_stores_its_models_dump_as_the_payload(engine, trigger):
    state, arguments, payload = FULL[trigger]
    action = actions.ACTIONS[trigger]
    assert validated(action.model, arguments).model_dump(mode="json",
                                                         exclude_none=True) == payload
    with write_session(engine) as session:
        case_in(session, "NY-1", "draft")
        by_function = case_in(session, "A-1", state)
        by_name = case_in(session, "A-2", state)
        if trigger == "replace":
            arguments = {**arguments, "replaced_by": "NY-1"}
        event = action.function(session, by_function, actor=ACTOR, **arguments)
        named = actions.run_action(session, by_name, trigger, arguments, actor=ACTOR)
    assert event.payload == named.payload == payload
    assert event.trigger == trigger
    with read_session(engine) as session:
        for number in (by_function, by_name):
            stored = queries.events(session, queries.get_case(session, number).id)[-1]
            assert (stored.trigger, stored.payload) == (trigger, payload)
            assert stored.body == payload.get("body")
            assert stored.reason == (payload.get("reason") or payload.get("override_reason", ""))


# -- refused input -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def staged(tmp_path_factory, migrated_sqlite):
    """One database with a case in each state: a refused action writes nothing, so the
    tests below can share it (each compares the whole database before and after)."""
    engine = make_engine(migrated_sqlite(tmp_path_factory.mktemp("actions") / "sagsgang.db"))
    with write_session(engine) as session:
        for state in ("draft", "hearing", "committee", "finance", "council", "decided"):
            case_in(session, state.upper(), state)
    yield engine
    engine.dispose()


WRONG_FOR_EVERY_ACTION = {
    "unknown key": ({"colour": "red"}, "Ukendte oplysninger: colour."),
    "reason not text": ({"reason": 5}, "begrundelse: skal være tekst"),
    "absurd reason": ({"reason": "x" * 20_001}, "begrundelse: højst 20000 tegn"),
}
WRONG = {
    "submit": {"recipients for another action": (
        {"recipients": ["Socialstyrelsen"]},
        "Eksterne modtagere angives kun ved «Send til orientering».")},
    "send_to_hearing": {"a wording without its body": (
        {"body": None}, "Angiv organet, der har behandlet sagen.")},
    "end_hearing": {"absurd override reason": (
        {"override_reason": "x" * 20_001},
        "begrundelse for at fortsætte trods åben høring: højst 20000 tegn")},
    "treat": {
        "no body": ({"body": None}, "organ: skal udfyldes"),
        "no meeting date": ({"meeting_date": ""}, "Angiv mødedatoen for behandlingen."),
        "impossible date": ({"meeting_date": "31-02-2022"}, "mødedato: ugyldig dato"),
        "item 1000": ({"item_number": 1000}, "punktnummer: må højst være 999"),
        "item as words": ({"item_number": "syv"}, "punktnummer: skal være et helt tal"),
        "wording of another action": ({"wording": "Udsat"}, "«Udsat» passer ikke til "
                                                             "handlingen"),
        "unknown wording": ({"wording": "vedtaget måske"}, "beslutning: ukendt beslutning"),
        "malformed proposal decision": ({"proposal_decisions": [{"number": 1}]},
                                        "hvert punkt skal have et nummer og en tekst"),
        "absurd proposal decision": (
            {"proposal_decisions": [{"number": 1, "text": "x" * 20_001}]},
            "beslutning pr. indstillingspunkt: punkt 1: højst 20000 tegn"),
        "bodies of a send-back": ({"bodies": ["SU"]}, "Organer angives kun ved «Send tilbage "
                                                      "til fagudvalg», «Henvis til fagudvalg», "
                                                      "«Send til orientering»."),
    },
    "postpone": {"absurd minority": ({"minority": "x" * 20_001}, "mindretal: højst 20000 tegn")},
    "send_back": {"bodies as text": ({"bodies": "SU"}, "organer: skal være en liste")},
    "refer": {"finance again not yes or no": ({"finance_again": "måske"},
                                              "økonomiudvalget behandler sagen igen: skal "
                                              "være ja eller nej")},
    "withdraw": {"a meeting date": ({"meeting_date": "04-10-2022"},
                                    "Mødedato angives kun ved «Send i høring»")},
    "replace": {"no new case": ({"replaced_by": " "}, "Angiv sagsnummeret på den nye sag")},
    "send_for_information": {
        "nobody": ({"body": None, "bodies": [], "recipients": [""]},
                   "Angiv, hvem sagen sendes til orientering hos"),
        "too many recipients": ({"recipients": [f"Modtager {n}" for n in range(31)]},
                                "eksterne modtagere: højst 30 elementer"),
    },
    "close": {"a replacing case": ({"replaced_by": "NY-1"},
                                   "Den nye sags nummer angives kun ved «Erstat med ny sag».")},
    "record_earlier": {"neither body nor name": ({"body_name": None},
                                                 "Angiv organet, der har behandlet sagen.")},
}
CASE_FOR = {trigger: state.upper() for trigger, (state, *_) in FULL.items()}  # in `staged`
REFUSALS = [(trigger, name, *wrong) for trigger in FULL
            for name, wrong in {**WRONG_FOR_EVERY_ACTION, **WRONG[trigger]}.items()]


@pytest.mark.parametrize("trigger, name, change, message", REFUSALS,
                         ids=[f"{t}-{n}" for t, n, *_ in REFUSALS])
def test_each_model_refuses_a_wrong_field_in_danish_and_nothing_is_written(
        staged, trigger, name, change, message):
    action = actions.ACTIONS[trigger]
    arguments = {**FULL[trigger][1], **change}
    if trigger == "replace":
        arguments.setdefault("replaced_by", "DRAFT")
    calls = [lambda session: actions.run_action(session, CASE_FOR[trigger], trigger,
                                                arguments, actor=ACTOR)]
    if set(arguments) <= set(action.model.model_fields):  # a typed call can name them
        calls.append(lambda session: action.function(session, CASE_FOR[trigger], actor=ACTOR,
                                                     **arguments))
    before = database_dump(staged)
    for call in calls:
        with pytest.raises(InvalidInput) as raised:
            with write_session(staged) as session:
                call(session)
        assert message in raised.value.message
        assert not any(english in raised.value.message
                       for english in ("Input should", "Field required", "Value error"))
    assert database_dump(staged) == before


def test_the_full_arguments_are_valid_where_the_refusals_are_tried(staged):
    """The refusals above come from the one wrong field: with the full arguments, each
    action runs on its case (and is rolled back here)."""
    for trigger, (_, arguments, payload) in FULL.items():
        if trigger == "replace":
            arguments = {**arguments, "replaced_by": "DRAFT"}
        with pytest.raises(_RolledBack):
            with write_session(staged) as session:
                event = actions.run_action(session, CASE_FOR[trigger], trigger, arguments,
                                           actor=ACTOR)
                assert event.payload == {**payload, **({"replaced_by": "DRAFT"}
                                                       if trigger == "replace" else {})}
                raise _RolledBack


class _RolledBack(Exception):
    pass


def test_a_decision_chooses_its_action_and_refuses_what_that_action_does_not_take(staged):
    before = database_dump(staged)
    with pytest.raises(InvalidInput, match="Organer angives kun ved"):
        with write_session(staged) as session:
            actions.record_decision(session, "COMMITTEE", actor=ACTOR, body="SU",
                                    wording="Godkendt", meeting_date="04-10-2022",
                                    bodies=["SU"])
    with pytest.raises(InvalidInput, match="Ukendt beslutning"):
        with write_session(staged) as session:
            actions.record_decision(session, "COMMITTEE", actor=ACTOR, body="SU",
                                    wording="Vedtaget måske", meeting_date="04-10-2022")
    assert database_dump(staged) == before
