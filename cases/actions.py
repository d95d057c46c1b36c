"""The workflow's use cases: one function per action on a case, with typed keyword arguments.

Each runs inside the caller's write transaction (`cases.db.write_session()`) and goes through
`cases.services.transition`: its input model (cases.schemas) validates the arguments and
gives the audit event's payload, the service checks what needs the organisation or the
register, fires the machine and writes the case, the event and its treatment row. A refused
action raises a UserError with a Danish message and the caller's transaction writes nothing.

The functions are thin on purpose: a caller that has a trigger's name and a dict (the command
line's command per trigger, the API's transitions, the page's "Andre handlinger") calls
`run_action`, which goes the same way with the same model (`ACTIONS`); `record_decision`
chooses the action from a body's decision wording.

Common keyword arguments: `actor` (who, for the audit log), `expected_version` (the version
the caller showed; Conflict if the case changed since), `org` and `now` (tests, the demo's
historical times).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from cases import services
from cases.models import CaseEvent
from cases.organisation import Organisation
from cases.schemas import (
    ActionIn,
    CloseIn,
    EndHearingIn,
    PostponeIn,
    RecordEarlierIn,
    ReferIn,
    ReplaceIn,
    SendBackIn,
    SendForInformationIn,
    SendToHearingIn,
    SubmitIn,
    TreatIn,
    WithdrawIn,
)
from workflow import decisions
from workflow.errors import InvalidInput, TransitionRefused

Day = str | date  # 04-10-2022, 2022-10-04 or a date


def submit(session: Session, number: str, *, actor: str, override_reason: str | None = None,
           reason: str | None = None, expected_version: int | None = None,
           org: Organisation | None = None, now: datetime | None = None) -> CaseEvent:
    """Send a draft to its committees (or to the finance committee when it has none);
    `override_reason` to go on although a blocking hearing is open."""
    return services.transition(session, number, SubmitIn, {
        "override_reason": override_reason, "reason": reason},
        actor=actor, expected_version=expected_version, org=org, now=now)


def send_to_hearing(session: Session, number: str, *, actor: str, body: str | None = None,
                    wording: str | None = None, meeting_date: Day | None = None,
                    item_number: int | None = None, agenda_item_id: int | None = None,
                    decision_text: str | None = None,
                    proposal_decisions: list[dict] | None = None, minority: str | None = None,
                    reason: str | None = None, expected_version: int | None = None,
                    org: Organisation | None = None, now: datetime | None = None) -> CaseEvent:
    """Move the case into hearing: from a draft, or on a committee's decision (`body` and
    `meeting_date`). The hearing's row (parties, høringsfrist) is opened with it by
    `cases.services.send_to_hearing`; this alone is a referat's decision that names none."""
    return services.transition(session, number, SendToHearingIn, {
        "body": body, "wording": wording, "meeting_date": meeting_date,
        "item_number": item_number, "agenda_item_id": agenda_item_id,
        "decision_text": decision_text, "proposal_decisions": proposal_decisions,
        "minority": minority, "reason": reason},
        actor=actor, expected_version=expected_version, org=org, now=now)


def end_hearing(session: Session, number: str, *, actor: str,
                override_reason: str | None = None, reason: str | None = None,
                expected_version: int | None = None, org: Organisation | None = None,
                now: datetime | None = None) -> CaseEvent:
    """The hearing is over: the case goes on to its committees (closing its last blocking
    hearing does this by itself, `cases.services.close_hearing`)."""
    return services.transition(session, number, EndHearingIn, {
        "override_reason": override_reason, "reason": reason},
        actor=actor, expected_version=expected_version, org=org, now=now)


def treat(session: Session, number: str, *, actor: str, body: str, wording: str,
          meeting_date: Day, item_number: int | None = None, agenda_item_id: int | None = None,
          decision_text: str | None = None, proposal_decisions: list[dict] | None = None,
          minority: str | None = None, reason: str | None = None,
          override_reason: str | None = None, expected_version: int | None = None,
          org: Organisation | None = None, now: datetime | None = None) -> CaseEvent:
    """The body the case waits for treats it (Godkendt, Anbefales, Taget til efterretning,
    …): the last committee of a round moves it on, the deciding body decides it."""
    return services.transition(session, number, TreatIn, {
        "body": body, "wording": wording, "meeting_date": meeting_date,
        "item_number": item_number, "agenda_item_id": agenda_item_id,
        "decision_text": decision_text, "proposal_decisions": proposal_decisions,
        "minority": minority, "reason": reason, "override_reason": override_reason},
        actor=actor, expected_version=expected_version, org=org, now=now)


def postpone(session: Session, number: str, *, actor: str, body: str, meeting_date: Day,
             wording: str | None = None, item_number: int | None = None,
             agenda_item_id: int | None = None, decision_text: str | None = None,
             proposal_decisions: list[dict] | None = None, minority: str | None = None,
             reason: str | None = None, to_meeting_date: Day | None = None,
             expected_version: int | None = None, org: Organisation | None = None,
             now: datetime | None = None) -> CaseEvent:
    """The body postpones the case (Udsat, Udgår, Drøftet): it stays in the body's queue.
    `to_meeting_date` records the meeting it is postponed to; placing it on that agenda is
    the meeting layer's (meetings.services.run_case_action)."""
    return services.transition(session, number, PostponeIn, {
        "body": body, "wording": wording, "meeting_date": meeting_date,
        "item_number": item_number, "agenda_item_id": agenda_item_id,
        "decision_text": decision_text, "proposal_decisions": proposal_decisions,
        "minority": minority, "reason": reason, "to_meeting_date": to_meeting_date},
        actor=actor, expected_version=expected_version, org=org, now=now)


def send_back(session: Session, number: str, *, actor: str, body: str, bodies: list[str],
              reason: str, meeting_date: Day, wording: str | None = None,
              item_number: int | None = None, agenda_item_id: int | None = None,
              decision_text: str | None = None, proposal_decisions: list[dict] | None = None,
              minority: str | None = None, expected_version: int | None = None,
              org: Organisation | None = None, now: datetime | None = None) -> CaseEvent:
    """The finance committee or the council sends the case back to standing committees
    (`bodies`), with a reason: a new committee round."""
    return services.transition(session, number, SendBackIn, {
        "body": body, "bodies": bodies, "wording": wording, "meeting_date": meeting_date,
        "item_number": item_number, "agenda_item_id": agenda_item_id,
        "decision_text": decision_text, "proposal_decisions": proposal_decisions,
        "minority": minority, "reason": reason},
        actor=actor, expected_version=expected_version, org=org, now=now)


def refer(session: Session, number: str, *, actor: str, body: str, bodies: list[str],
          meeting_date: Day, finance_again: bool | None = None, wording: str | None = None,
          item_number: int | None = None, agenda_item_id: int | None = None,
          decision_text: str | None = None, proposal_decisions: list[dict] | None = None,
          minority: str | None = None, reason: str | None = None,
          expected_version: int | None = None, org: Organisation | None = None,
          now: datetime | None = None) -> CaseEvent:
    """The council or the finance committee refers the case to committees (`bodies`); when
    they have treated it, it returns to the referrer. From the council, `finance_again` says
    whether the finance committee treats it again on the way back (None: the organisation's
    default); unlike send_back, its statement otherwise stands."""
    return services.transition(session, number, ReferIn, {
        "body": body, "bodies": bodies, "finance_again": finance_again, "wording": wording,
        "meeting_date": meeting_date, "item_number": item_number,
        "agenda_item_id": agenda_item_id, "decision_text": decision_text,
        "proposal_decisions": proposal_decisions, "minority": minority, "reason": reason},
        actor=actor, expected_version=expected_version, org=org, now=now)


def withdraw(session: Session, number: str, *, actor: str, reason: str,
             expected_version: int | None = None, org: Organisation | None = None,
             now: datetime | None = None) -> CaseEvent:
    """Withdraw an active case from every queue, with a reason."""
    return services.transition(session, number, WithdrawIn, {"reason": reason},
                               actor=actor, expected_version=expected_version, org=org,
                               now=now)


def replace(session: Session, number: str, *, actor: str, replaced_by: str, reason: str,
            body: str | None = None, wording: str | None = None,
            meeting_date: Day | None = None, item_number: int | None = None,
            agenda_item_id: int | None = None, decision_text: str | None = None,
            proposal_decisions: list[dict] | None = None, minority: str | None = None,
            expected_version: int | None = None, org: Organisation | None = None,
            now: datetime | None = None) -> CaseEvent:
    """The case is replaced by a new, registered one (`replaced_by`; Ny sag forelægges when
    a body decides it), and the two are linked."""
    return services.transition(session, number, ReplaceIn, {
        "replaced_by": replaced_by, "reason": reason, "body": body, "wording": wording,
        "meeting_date": meeting_date, "item_number": item_number,
        "agenda_item_id": agenda_item_id, "decision_text": decision_text,
        "proposal_decisions": proposal_decisions, "minority": minority},
        actor=actor, expected_version=expected_version, org=org, now=now)


def send_for_information(session: Session, number: str, *, actor: str,
                         body: str | None = None, bodies: list[str] | None = None,
                         recipients: list[str] | None = None, reason: str | None = None,
                         expected_version: int | None = None,
                         org: Organisation | None = None,
                         now: datetime | None = None) -> CaseEvent:
    """Send a decided case for information to bodies (`body`, `bodies`: councils,
    committees) and outside recipients by name (Socialstyrelsen); at least one."""
    return services.transition(session, number, SendForInformationIn, {
        "body": body, "bodies": bodies, "recipients": recipients, "reason": reason},
        actor=actor, expected_version=expected_version, org=org, now=now)


def close(session: Session, number: str, *, actor: str, reason: str | None = None,
          expected_version: int | None = None, org: Organisation | None = None,
          now: datetime | None = None) -> CaseEvent:
    """Close a decided case."""
    return services.transition(session, number, CloseIn, {"reason": reason},
                               actor=actor, expected_version=expected_version, org=org,
                               now=now)


def record_earlier(session: Session, number: str, *, actor: str, wording: str,
                   meeting_date: Day, body: str | None = None, body_name: str | None = None,
                   item_number: int | None = None, agenda_item_id: int | None = None,
                   decision_text: str | None = None,
                   proposal_decisions: list[dict] | None = None, minority: str | None = None,
                   reason: str | None = None, expected_version: int | None = None,
                   org: Organisation | None = None, now: datetime | None = None) -> CaseEvent:
    """Record a treatment from before the case was registered here (Tidligere behandling),
    by a body (`body`) or one known only by its name (`body_name`); no state change."""
    return services.transition(session, number, RecordEarlierIn, {
        "body": body, "body_name": body_name, "wording": wording,
        "meeting_date": meeting_date, "item_number": item_number,
        "agenda_item_id": agenda_item_id, "decision_text": decision_text,
        "proposal_decisions": proposal_decisions, "minority": minority, "reason": reason},
        actor=actor, expected_version=expected_version, org=org, now=now)


# -- by name -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Action:
    model: type[ActionIn]  # its arguments, and its audit event's payload
    function: Callable[..., CaseEvent]  # its typed function above


ACTIONS: dict[str, Action] = {model.trigger: Action(model, function) for model, function in (
    (SubmitIn, submit), (SendToHearingIn, send_to_hearing), (EndHearingIn, end_hearing),
    (TreatIn, treat), (PostponeIn, postpone), (SendBackIn, send_back), (ReferIn, refer),
    (WithdrawIn, withdraw), (ReplaceIn, replace),
    (SendForInformationIn, send_for_information), (CloseIn, close),
    (RecordEarlierIn, record_earlier))}


def run_action(session: Session, number: str, trigger: str, data: dict, *, actor: str,
               expected_version: int | None = None, org: Organisation | None = None,
               now: datetime | None = None) -> CaseEvent:
    """The action named `trigger`, its arguments in `data` (a form's or a request's fields;
    empty ones are left out, unknown ones refused): the same as calling its function above
    with those keyword arguments, validated by the same model."""
    action = ACTIONS.get(trigger)
    if action is None:
        raise TransitionRefused(f"Ukendt handling: {trigger!r}.")
    return services.transition(session, number, action.model, data, actor=actor,
                               expected_version=expected_version, org=org, now=now)


def record_decision(session: Session, number: str, *, actor: str, body: str, wording: str,
                    meeting_date: Day | None = None, item_number: int | None = None,
                    agenda_item_id: int | None = None, decision_text: str | None = None,
                    proposal_decisions: list[dict] | None = None, minority: str | None = None,
                    bodies: list[str] | None = None, reason: str | None = None,
                    override_reason: str | None = None, replaced_by: str | None = None,
                    to_meeting_date: Day | None = None, finance_again: bool | None = None,
                    expected_version: int | None = None, org: Organisation | None = None,
                    now: datetime | None = None) -> CaseEvent:
    """Record a body's decision on a case; the wording (a code or its Danish label) chooses
    the action: Godkendt treats, Udsat postpones, Sendes tilbage sends back (`bodies`,
    `reason`), Henvist til fagudvalg refers (`bodies`, `finance_again`), Godkendt og sendes
    i høring sends to hearing, Ny sag forelægges replaces
    (`replaced_by`). What the chosen action does not take is refused."""
    found = decisions.wording(wording or "")
    if found is None:
        known = ", ".join(w.label for w in decisions.WORDINGS)
        raise InvalidInput(f"Ukendt beslutning: {wording!r}. Kendte: {known}.")
    if found.trigger not in ACTIONS:  # a hearing party's answer: at its own meeting's item
        raise InvalidInput(f"«{found.label}» registreres på høringspartens eget møde, som "
                           "beslutningen på dets dagsordenspunkt.")
    return run_action(session, number, found.trigger, {
        "body": body, "wording": found.code, "meeting_date": meeting_date,
        "item_number": item_number, "agenda_item_id": agenda_item_id,
        "decision_text": decision_text, "proposal_decisions": proposal_decisions,
        "minority": minority, "bodies": bodies, "reason": reason,
        "override_reason": override_reason, "replaced_by": replaced_by,
        "to_meeting_date": to_meeting_date, "finance_again": finance_again},
        actor=actor, expected_version=expected_version, org=org, now=now)
