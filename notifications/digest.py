"""The weekly digest for a centre's managers, read from the register when it is sent."""

from datetime import datetime, timedelta

from sqlmodel import Session, select

from cases.dates import COPENHAGEN
from cases.models import Case, CaseEvent, Deadline, Hearing, HearingParty, HearingResponse
from notifications.rules import FINISHED_STATES
from workflow.machine import ACTIVE

AT_RISK_DAYS = 14  # a deadline this close, with the case not yet decided, is "at risk"


def digest_context(session: Session, centre: str, now: datetime) -> dict:
    today = now.astimezone(COPENHAGEN).date()
    active = select(Case.id).where(Case.centre == centre, Case.status.not_in(FINISHED_STATES))
    deadlines = list(session.exec(
        select(Deadline, Case).join(Case, Case.id == Deadline.case_id)
        .where(Deadline.case_id.in_(active), Deadline.met_on.is_(None),
               Deadline.due_date <= today + timedelta(days=AT_RISK_DAYS))
        .order_by(Deadline.due_date, Case.number)))
    sent_back = list(session.exec(
        select(CaseEvent, Case).join(Case, Case.id == CaseEvent.case_id)
        .where(Case.centre == centre, CaseEvent.trigger == "send_back",
               CaseEvent.at >= now - timedelta(days=7))
        .order_by(CaseEvent.at)))
    return {
        "centre": centre,
        "today": today,
        "overdue": [(d, c) for d, c in deadlines if d.due_date < today],
        "at_risk": [(d, c) for d, c in deadlines
                    if d.due_date >= today and c.status in ACTIVE],
        "sent_back": sent_back,
        "missing_responses": _missing_responses(session, active, today),
    }


def _missing_responses(session: Session, active, today) -> list[tuple[Case, Hearing, str]]:
    answered = select(HearingResponse.party_id)
    rows = session.exec(
        select(Case, Hearing, HearingParty)
        .join(Hearing, Hearing.case_id == Case.id)
        .join(HearingParty, HearingParty.hearing_id == Hearing.id)
        .where(Case.id.in_(active), Hearing.closed_on.is_(None), Hearing.deadline < today,
               HearingParty.id.not_in(answered))
        .order_by(Hearing.deadline, Case.number))
    return [(case, hearing, party.name) for case, hearing, party in rows]
