"""Random sequences of actions, valid and invalid, through the service layer on a real SQLite
database: a case never becomes inconsistent, and replaying its audit log gives its stored state.
"""

import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from cases import actions, queries, services
from cases.db import make_engine, read_session, write_session
from workflow import decisions
from workflow.errors import UserError
from workflow.machine import COMMITTEE, MACHINE, TRIGGERS, available_triggers

COMMITTEES = ["SU", "BSU", "SÆU"]
BODIES = COMMITTEES + ["ØU", "KB", "HR", "XYZ"]
NUMBERS = itertools.count(1)
# Plausible actions favour moving the case on, so that random runs reach ØU, KB and beyond.
FORWARD_WEIGHT = {"submit": 6, "end_hearing": 6, "treat": 8, "send_back": 4,
                  "send_for_information": 2, "close": 2}


def case_snapshot(session, number: str) -> dict:
    case = queries.get_case(session, number)
    return {"status": case.status, "version": case.version, "committees": case.committees,
            "finance_statement": case.finance_statement,
            "awaiting": sorted(queries.awaiting_bodies(session, case.id)),
            "events": len(queries.events(session, case.id)),
            "treatments": len(queries.decision_history(session, case.id)),
            "hearings": [(h.id, h.closed_on) for h in queries.hearings(session, case.id)]}


class CaseWorkflow(RuleBasedStateMachine):
    cases = Bundle("cases")

    def __init__(self, engine):
        super().__init__()
        self.engine = engine
        self.org = services.current_organisation()
        self.workflow_actions = {}  # case number -> successful workflow actions so far

    def _try(self, number: str, action) -> bool:
        """Run one write; on a refusal, check that the case did not change at all."""
        with read_session(self.engine) as session:
            before = case_snapshot(session, number)
        try:
            with write_session(self.engine) as session:
                action(session)
        except UserError as error:
            assert error.message
            with read_session(self.engine) as session:
                assert case_snapshot(session, number) == before
            return False
        return True

    @initialize(target=cases)
    def first_case(self):
        return self._create("KB", ["BSU", "SU"])

    @precondition(lambda self: len(self.workflow_actions) < 3)
    @rule(target=cases, deciding=st.sampled_from(["KB", "SU", "ØU"]),
          committees=st.lists(st.sampled_from(COMMITTEES), unique=True, max_size=3))
    def create(self, deciding, committees):
        return self._create(deciding, committees)

    def _create(self, deciding, committees) -> str:
        number = f"H-{next(NUMBERS)}"
        with write_session(self.engine) as session:
            services.create_case(session, {"number": number, "title": "Sag",
                                           "centre": "Center for Voksne og Sundhed",
                                           "deciding_body": deciding,
                                           "committees": committees}, actor="hypothesis")
        self.workflow_actions[number] = 0
        return number

    def fire_anything(self, number, rng):
        """Any action with any arguments: mostly refused, and then nothing may change."""
        trigger = rng.choice(TRIGGERS)
        body = rng.choice([None, *BODIES])
        arguments = {"body": body, "bodies": rng.sample(COMMITTEES + ["HR"], rng.randint(0, 3)),
                     "reason": rng.choice([None, "Begrundelse"]),
                     "override_reason": rng.choice([None, "Haster"]),
                     "meeting_date": rng.choice(["04-10-2022", "31-02-2022"])}
        fitting = decisions.wordings_for(trigger)
        if rng.random() < 0.5 and fitting:
            arguments["wording"] = fitting[0].code
        if trigger == "record_earlier" and body is None:
            arguments["body_name"] = "Social- og Sundhedsudvalget"
            arguments["wording"] = "taget_til_efterretning"
        if trigger == "replace":
            arguments["replaced_by"] = self._other_case(number)
        if self._try(number, lambda s: actions.run_action(s, number, trigger, arguments,
                                                          actor="hypothesis")):
            self.workflow_actions[number] += 1

    @rule(number=cases, rng=st.randoms(use_true_random=False))
    def advance(self, number, rng):
        """Mostly plausible actions (ones the machine offers now, by a body the case waits
        for), sometimes anything at all. Chosen with a seeded Random, because hypothesis's
        own draws repeat the same choice too often to get cases far along their route."""
        for _ in range(rng.randint(1, 15)):
            self._advance_once(number, rng)

    def _advance_once(self, number, rng):
        if rng.random() < 0.2:
            return self.fire_anything(number, rng)
        with read_session(self.engine) as session:
            case = queries.get_case(session, number)
            waiting = queries.awaiting_bodies(session, case.id)
        # record_earlier is always possible and changes little: the random `fire` covers it.
        offered = [t for t in available_triggers(case.status) if t != "record_earlier"]
        if not offered:
            return None
        if case.status in ("draft", "committee", "hearing"):
            offered += ["open_hearing", "open_non_blocking_hearing", "close_hearing"]
        pool = [t for t in offered for _ in range(FORWARD_WEIGHT.get(t, 1))]
        trigger = rng.choice(pool)
        if trigger.endswith("_hearing") and trigger != "send_to_hearing":
            return self.hearing(number, trigger)
        arguments = {"reason": "Begrundelse", "meeting_date": "04-10-2022",
                     "body": rng.choice(waiting) if waiting else None,
                     "override_reason": rng.choice([None, "Haster"])}
        if trigger == "send_back":
            # Any subset, in any order: the queue must not depend on the order named.
            arguments["bodies"] = rng.sample(COMMITTEES, rng.randint(1, 3))
        if trigger == "replace":
            arguments["replaced_by"] = self._other_case(number)
        if trigger == "record_earlier":
            arguments["body"] = "SU"
        if arguments["body"] and decisions.wordings_for(trigger):
            arguments["wording"] = decisions.wordings_for(trigger)[0].code
        # Of these, only what the action takes: the others are refused (fire_anything).
        taken = actions.ACTIONS[trigger].model.model_fields
        arguments = {key: value for key, value in arguments.items() if key in taken}
        if trigger == "send_to_hearing":
            self.send_to_hearing(number)
        elif self._try(number, lambda s: actions.run_action(s, number, trigger, arguments,
                                                            actor="hypothesis")):
            self.workflow_actions[number] += 1

    def _other_case(self, number: str) -> str | None:
        others = [n for n in self.workflow_actions if n != number]
        return others[0] if others else None

    def hearing(self, number, choice):
        if choice == "close_hearing":
            self.close_a_hearing(number)
        else:
            self.add_hearing(number, blocking=choice == "open_hearing")

    def add_hearing(self, number, blocking):
        self._try(number, lambda s: services.add_hearing(
            s, number, title="Høring", parties=["HR"], deadline="01-11-2022",
            opened_on="05-10-2022", actor="hypothesis", blocking=blocking))

    def send_to_hearing(self, number):
        with read_session(self.engine) as session:
            case = queries.get_case(session, number)
            waiting = queries.awaiting_bodies(session, case.id)
        body = waiting[0] if case.status == COMMITTEE and waiting else None
        if self._try(number, lambda s: services.send_to_hearing(
                s, number, title="Høring", parties=["HR", "SR"], deadline="01-11-2022",
                opened_on="05-10-2022", actor="hypothesis", body=body,
                meeting_date="04-10-2022")):
            self.workflow_actions[number] += 1

    def close_a_hearing(self, number):
        with read_session(self.engine) as session:
            case = queries.get_case(session, number)
            hearings = queries.hearings(session, case.id)
            open_ones = [h for h in hearings if h.closed_on is None]
            blocking_left = [h for h in open_ones[1:] if h.blocking]
            status = case.status
        if not hearings:
            return
        hearing_id = open_ones[0].id if open_ones else hearings[0].id
        closed = self._try(number, lambda s: services.close_hearing(
            s, hearing_id, closed_on="01-11-2022", actor="hypothesis"))
        if closed and status == "hearing" and not blocking_left:
            self.workflow_actions[number] += 1  # the case left the hearing: end_hearing

    @invariant()
    def every_case_is_consistent(self):
        with read_session(self.engine) as session:
            for number, actions in self.workflow_actions.items():
                case = queries.get_case(session, number)
                flow = services.current_flow(session, self.org, case)
                stored = services.flow_summary(flow)
                assert sorted(queries.awaiting_bodies(session, case.id)) == \
                    sorted(flow.awaiting_bodies())
                assert set(flow.pending) <= set(flow.committees)
                assert case.version == actions + 1
                log = queries.events(session, case.id)
                assert [e.seq for e in log] == list(range(1, len(log) + 1))
                assert len([e for e in log if e.trigger in MACHINE.events
                            and e.trigger != "create"]) == actions
                assert services.flow_summary(services.replayed_flow(session, case)) == stored


@pytest.mark.slow  # 30 runs of 30 steps, every case replayed after each: the longest test
@pytest.mark.timeout(240)
def test_it_never_leaves_a_case_inconsistent(sqlite_url):
    engine = make_engine(sqlite_url)
    try:
        run_state_machine_as_test(
            lambda: CaseWorkflow(engine),
            settings=settings(max_examples=30, stateful_step_count=30, deadline=None,
                              suppress_health_check=[HealthCheck.too_slow],
                              derandomize=False, database=None))
    finally:
        engine.dispose()
