"""The case workflow as one module-level `transitions` state machine.

Why this shape (docs/engineering.md): a SQLModel row cannot be a transitions model, and a
Machine per case costs ~60 KB. So there is one `MACHINE` with no models, fired as
`MACHINE.events[name].trigger(flow, ...)` on a `CaseFlow`: a small plain object holding what
the guards need. It is pure (no database, no I/O): the service layer copies a case row into a
CaseFlow, fires, and writes the result back with its audit event in one transaction.

Branching (which state comes next) is done with transition conditions. Policy guards that a
user must be told about (an open hearing, ØU's missing statement, a body that is not due)
raise TransitionRefused with a Danish reason from a `before` callback, which runs before the
state changes; so a refused action leaves the flow untouched. When replaying the audit log the
policy checks are skipped: they were checked when the event was recorded.
"""

from dataclasses import dataclass, field

from transitions import Machine, MachineError

from workflow.errors import TransitionRefused

DRAFT = "draft"
HEARING = "hearing"
COMMITTEE = "committee"
FINANCE = "finance"
COUNCIL = "council"
DECIDED = "decided"
INFORMING = "informing"
CLOSED = "closed"
WITHDRAWN = "withdrawn"
REPLACED = "replaced"

STATES = (DRAFT, HEARING, COMMITTEE, FINANCE, COUNCIL, DECIDED, INFORMING, CLOSED, WITHDRAWN,
          REPLACED)
ACTIVE = (DRAFT, HEARING, COMMITTEE, FINANCE, COUNCIL)
FINAL = (CLOSED, WITHDRAWN, REPLACED)

STATE_LABELS = {
    DRAFT: "Under forberedelse",
    HEARING: "I høring",
    COMMITTEE: "Til behandling i fagudvalg",
    FINANCE: "Til behandling i økonomiudvalget",
    COUNCIL: "Til beslutning i kommunalbestyrelsen",
    DECIDED: "Afgjort",
    INFORMING: "Sendt til orientering",
    CLOSED: "Afsluttet",
    WITHDRAWN: "Trukket tilbage",
    REPLACED: "Erstattet af ny sag",
}



def state_label(state: str, *, finance_name: str | None = None,
                council_name: str | None = None) -> str:
    """The state's Danish label; the finance and council stages name the municipality's own
    bodies when given (Aarhus: Magistraten and Byrådet, not økonomiudvalget)."""
    if state == FINANCE and finance_name:
        return f"Til behandling i {finance_name}"
    if state == COUNCIL and council_name:
        return f"Til beslutning i {council_name}"
    return STATE_LABELS.get(state, state or "")


TRIGGER_LABELS = {
    "submit": "Send til behandling",
    "send_to_hearing": "Send i høring",
    "end_hearing": "Afslut høring",
    "treat": "Registrér behandling",
    "postpone": "Udsæt",
    "send_back": "Send tilbage til fagudvalg",
    "refer": "Henvis til fagudvalg",
    "withdraw": "Træk sagen tilbage",
    "replace": "Erstat med ny sag",
    "send_for_information": "Send til orientering",
    "close": "Afslut sagen",
    "record_earlier": "Registrér tidligere behandling",
}

# The stage at which a case's route ends, from the deciding body's kind.
STAGE_FOR_KIND = {"standing_committee": COMMITTEE, "finance_committee": FINANCE,
                  "council": COUNCIL}


@dataclass
class CaseFlow:
    """What the workflow knows about one case. Plain data; the machine's adapter."""

    deciding_body: str
    deciding_stage: str  # COMMITTEE, FINANCE or COUNCIL: where the route ends
    committees: list[str]  # the standing committees on the route
    finance_body: str | None = None
    council_body: str | None = None
    require_finance_statement: bool = True
    # Joint competence: committees that decide together with deciding_body (all on the route).
    joint_bodies: list[str] = field(default_factory=list)
    state: str = DRAFT
    pending: list[str] = field(default_factory=list)  # committees still to treat this round
    finance_statement: bool = False  # the finance committee has treated it this round
    open_blocking_hearings: int = 0
    # A referral ("henvises til …") is under way: the stage the case returns to when the
    # committees it was referred to have treated it (FINANCE or COUNCIL), else None.
    return_stage: str | None = None
    replaying: bool = False

    # -- what the case waits for -------------------------------------------------------

    def awaiting_bodies(self) -> list[str]:
        """The bodies whose queue the case is in now."""
        if self.state == COMMITTEE:
            return list(self.pending)
        if self.state == FINANCE and self.finance_body:
            return [self.finance_body]
        if self.state == COUNCIL and self.council_body:
            return [self.council_body]
        return []

    # -- conditions (branching) ------------------------------------------------------------

    def has_committees(self, event) -> bool:
        return bool(self.committees)

    def is_last_pending(self, event) -> bool:
        return self.pending == [event.kwargs.get("body")]

    def ends_at_committee(self, event) -> bool:
        return self.deciding_stage == COMMITTEE

    def deciding_bodies(self) -> list[str]:
        """Who decides the case: its deciding body and those sharing the competence."""
        return [self.deciding_body, *self.joint_bodies]

    def ends_at_finance(self, event) -> bool:
        return self.deciding_stage == FINANCE

    def goes_via_finance(self, event) -> bool:
        return self.deciding_stage == COUNCIL and self.finance_body is not None

    def returns_to_finance(self, event) -> bool:
        return self.return_stage == FINANCE

    def returns_to_council(self, event) -> bool:
        return self.return_stage == COUNCIL

    # -- policy checks (raise with a reason a user can read) -----------------------------

    def _refuse(self, message: str) -> None:
        if not self.replaying:
            raise TransitionRefused(message)

    def check_no_blocking_hearing(self, event) -> None:
        if self.open_blocking_hearings and not event.kwargs.get("override_reason"):
            self._refuse(
                "Sagen har en åben høring, der skal afsluttes før behandling i udvalget. "
                "Angiv en begrundelse for at fortsætte alligevel."
            )

    def check_body_is_pending(self, event) -> None:
        body = event.kwargs.get("body")
        if body not in self.pending:
            waiting = ", ".join(self.pending) or "ingen"
            self._refuse(f"Sagen afventer ikke behandling i {body}. Afventer: {waiting}.")

    def check_finance_body(self, event) -> None:
        if event.kwargs.get("body") != self.finance_body:
            self._refuse(f"Sagen afventer behandling i {self.finance_body}, "
                         f"ikke i {event.kwargs.get('body')}.")

    def check_council_body(self, event) -> None:
        if event.kwargs.get("body") != self.council_body:
            self._refuse(f"Sagen afventer beslutning i {self.council_body}, "
                         f"ikke i {event.kwargs.get('body')}.")

    def check_finance_statement(self, event) -> None:
        if self.require_finance_statement and not self.finance_statement:
            self._refuse(f"{self.council_body} kan ikke træffe beslutning, før "
                         f"{self.finance_body or 'økonomiudvalget'} har afgivet sin udtalelse.")

    def check_stage_body(self, event) -> None:
        """The body acting on a case must be the one it waits for."""
        if self.state == COMMITTEE:
            self.check_body_is_pending(event)
        elif self.state == FINANCE:
            self.check_finance_body(event)
        elif self.state == COUNCIL:
            self.check_council_body(event)

    def check_send_back(self, event) -> None:
        self.check_stage_body(event)
        if not event.kwargs.get("bodies"):
            self._refuse("Angiv hvilke fagudvalg sagen sendes tilbage til.")
        if not event.kwargs.get("reason"):
            self._refuse("Angiv en begrundelse for at sende sagen tilbage.")

    def check_refer(self, event) -> None:
        self.check_stage_body(event)
        if not event.kwargs.get("bodies"):
            self._refuse("Angiv hvilke fagudvalg sagen henvises til.")

    def check_reason(self, event) -> None:
        if not event.kwargs.get("reason"):
            self._refuse("Angiv en begrundelse.")

    # -- effects (change only this object) ----------------------------------------------

    def start_committee_round(self, event) -> None:
        self.pending = list(self.committees)
        self.finance_statement = False

    def mark_committee_treated(self, event) -> None:
        self.pending = [b for b in self.pending if b != event.kwargs.get("body")]

    def give_finance_statement(self, event) -> None:
        self.finance_statement = True

    def clear_pending(self, event) -> None:
        self.pending = []

    def return_to_committees(self, event) -> None:
        bodies = list(dict.fromkeys(event.kwargs.get("bodies") or []))
        self.committees = self.committees + [b for b in bodies if b not in self.committees]
        # In route order, as the stored flow reads it back (a replay must give the same).
        self.pending = [b for b in self.committees if b in bodies]
        self.finance_statement = False
        self.return_stage = None

    def start_referral(self, event) -> None:
        """The committees named treat the case, then it returns to the body that referred it:
        to the finance committee, or to the council with the finance committee's statement
        kept unless the referral says it is to treat the case again (`finance_again`)."""
        referred_by_council = self.state == COUNCIL
        self.return_to_committees(event)
        if referred_by_council and not event.kwargs.get("finance_again"):
            self.finance_statement = True
            self.return_stage = COUNCIL
        else:
            self.return_stage = FINANCE if self.finance_body else COUNCIL

    def end_referral(self, event) -> None:
        self.return_stage = None


_committee_treat = ["check_no_blocking_hearing", "check_body_is_pending", "mark_committee_treated"]

TRANSITIONS = [
    # Into the committees (or straight to ØU for a case with no committee on its route).
    dict(trigger="submit", source=DRAFT, dest=COMMITTEE, conditions="has_committees",
         before=["check_no_blocking_hearing", "start_committee_round"]),
    dict(trigger="submit", source=DRAFT, dest=FINANCE, unless="has_committees",
         before="check_no_blocking_hearing"),
    # Hearing before the committees, or after a first committee round.
    dict(trigger="send_to_hearing", source=DRAFT, dest=HEARING, before="clear_pending"),
    dict(trigger="send_to_hearing", source=COMMITTEE, dest=HEARING,
         before=["check_body_is_pending", "clear_pending"]),
    dict(trigger="end_hearing", source=HEARING, dest=COMMITTEE, conditions="has_committees",
         before=["check_no_blocking_hearing", "start_committee_round"]),
    dict(trigger="end_hearing", source=HEARING, dest=FINANCE, unless="has_committees",
         before="check_no_blocking_hearing"),
    # A committee treats a case referred to it; the last one returns it to the referrer.
    dict(trigger="treat", source=COMMITTEE, dest=COUNCIL,
         conditions=["is_last_pending", "returns_to_council"],
         before=[*_committee_treat, "end_referral"]),
    dict(trigger="treat", source=COMMITTEE, dest=FINANCE,
         conditions=["is_last_pending", "returns_to_finance"],
         before=[*_committee_treat, "end_referral"]),
    # A committee treats the case; the last one on the route moves it on.
    dict(trigger="treat", source=COMMITTEE, dest=DECIDED,
         conditions=["is_last_pending", "ends_at_committee"], before=_committee_treat),
    dict(trigger="treat", source=COMMITTEE, dest=FINANCE,
         conditions=["is_last_pending", "goes_via_finance"], before=_committee_treat),
    dict(trigger="treat", source=COMMITTEE, dest=FINANCE,
         conditions=["is_last_pending", "ends_at_finance"], before=_committee_treat),
    dict(trigger="treat", source=COMMITTEE, dest=COUNCIL, conditions="is_last_pending",
         before=_committee_treat),
    dict(trigger="treat", source=COMMITTEE, dest=None, before=_committee_treat),
    # The finance committee gives its statement, or decides a case that is its own.
    dict(trigger="treat", source=FINANCE, dest=DECIDED, conditions="ends_at_finance",
         before=["check_finance_body", "give_finance_statement"]),
    dict(trigger="treat", source=FINANCE, dest=COUNCIL,
         before=["check_finance_body", "give_finance_statement"]),
    dict(trigger="treat", source=COUNCIL, dest=DECIDED,
         before=["check_council_body", "check_finance_statement"]),
    # Postponed (or discussed, or taken off the agenda): stays in the body's queue.
    dict(trigger="postpone", source=[COMMITTEE, FINANCE, COUNCIL], dest=None,
         before="check_stage_body"),
    dict(trigger="send_back", source=[FINANCE, COUNCIL], dest=COMMITTEE,
         before=["check_send_back", "return_to_committees"]),
    # Referred to committees ("henvises til …") by the finance committee or the council.
    dict(trigger="refer", source=[FINANCE, COUNCIL], dest=COMMITTEE,
         before=["check_refer", "start_referral"]),
    dict(trigger="withdraw", source=list(ACTIVE), dest=WITHDRAWN,
         before=["check_reason", "clear_pending"]),
    dict(trigger="replace", source=[*ACTIVE, DECIDED], dest=REPLACED,
         before=["check_reason", "clear_pending"]),
    dict(trigger="send_for_information", source=[DECIDED, INFORMING], dest=INFORMING),
    dict(trigger="close", source=[DECIDED, INFORMING], dest=CLOSED),
    # A treatment from before the case was registered here (Tidligere behandling).
    dict(trigger="record_earlier", source="*", dest=None),
]

MACHINE = Machine(model=None, states=list(STATES), transitions=TRANSITIONS, initial=None,
                  auto_transitions=False, send_event=True)

TRIGGERS = tuple(TRIGGER_LABELS)


def fire(flow: CaseFlow, trigger: str, **kwargs) -> tuple[str, str]:
    """Fire `trigger` on `flow`; return (from_state, to_state) or raise TransitionRefused."""
    if trigger not in MACHINE.events:
        raise TransitionRefused(f"Ukendt handling: {trigger!r}.")
    from_state = flow.state
    try:
        MACHINE.events[trigger].trigger(flow, **kwargs)
    except MachineError:
        possible = ", ".join(TRIGGER_LABELS[t] for t in available_triggers(flow.state)) or "ingen"
        raise TransitionRefused(
            f"«{TRIGGER_LABELS[trigger]}» er ikke mulig, når sagen er "
            f"«{STATE_LABELS[from_state]}». Mulige handlinger: {possible}."
        ) from None
    return from_state, flow.state


def available_triggers(state: str) -> list[str]:
    """The actions the machine offers in this state, in the order of TRIGGER_LABELS."""
    offered = set(MACHINE.get_triggers(state))
    return [t for t in TRIGGERS if t in offered]


def replay(start: CaseFlow, steps: list[tuple[str, dict]]) -> CaseFlow:
    """Rebuild a flow from its start and the recorded (trigger, arguments) steps."""
    flow = start
    flow.replaying = True
    for trigger, kwargs in steps:
        fire(flow, trigger, **kwargs)
    flow.replaying = False
    return flow


# The CaseFlow fields fixed when a case is registered; stored in its first audit event.
CASE_FLOW_START_FIELDS = ("deciding_body", "deciding_stage", "committees", "finance_body",
                          "council_body", "require_finance_statement", "joint_bodies")
