"""Reading what the other parts of the product keep: reminders sent (notifications' outbox)
and the planned route (meetings' planner). Each returns nothing if that part is absent, so
the case page shows what exists."""

from datetime import date

from sqlmodel import Session, select

from cases.models import Case
from cases.organisation import Organisation
from workflow.machine import ACTIVE


def reminders_sent(session: Session, case_id: int) -> list[dict]:
    try:
        from notifications.models import SENT, Reminder
    except ImportError:
        return []
    rows = session.exec(select(Reminder).where(Reminder.case_id == case_id,
                                               Reminder.status == SENT)
                        .order_by(Reminder.sent_at)).all()
    return [{"at": r.sent_at, "kind": r.kind, "recipient": r.recipient_name or r.recipient}
            for r in rows]


def route_plan(session: Session, org: Organisation, case: Case, today: date) -> dict | None:
    """The planner's latest route for the case against its earliest open deadline, or None
    (no deadline, nothing left to pass, or no meetings part)."""
    try:
        from meetings.services import plan_case
    except ImportError:
        return None
    if case.status not in ACTIVE:
        return None
    plan = plan_case(session, case.number, org=org)
    if plan is None:
        return None
    return {"deadline": plan.deadline, "fits": plan.fits(today), "problem": plan.problem,
            "infeasible_since": plan.no_longer_fits_since if plan.complete else None,
            "hearing_closes_by": plan.hearing_closes_by,
            "steps": [{"body": s.body_code, "meeting": s.meeting, "submission": s.submission,
                       "agenda_out": s.agenda_out} for s in plan.steps]}


def meeting_calendar(session: Session) -> dict[str, list[date]]:
    """Every body's meeting days (empty without a meetings part or meetings)."""
    try:
        from meetings.queries import calendar
    except ImportError:
        return {}
    return calendar(session)


def route_fits(org: Organisation, case: Case, pending: list[str], due: date,
               calendar: dict[str, list[date]], today: date) -> bool:
    """Does the case's remaining route still fit before `due`, by the route planner?"""
    from cases.services import start_flow
    from meetings.planner import plan_route, remaining_stages

    flow = start_flow(org, case)
    flow.state = case.status
    flow.pending = pending
    flow.finance_statement = case.finance_statement
    stages = remaining_stages(flow)
    if not stages:
        return True
    return plan_route(stages=stages, deadline=due, calendar=calendar, org=org).fits(today)


def next_meetings(session: Session, org: Organisation, body_code: str, today: date,
                  limit: int = 3) -> list[dict]:
    """A body's coming meetings with their agenda deadlines (submission, agenda out)."""
    try:
        from meetings.calendar import agenda_deadlines, local_day, local_instant, rules_for
        from meetings.models import CANCELLED, Meeting
    except ImportError:
        return []
    body = org.body(body_code)
    rows = session.exec(select(Meeting).where(
        Meeting.body_code == body_code, Meeting.starts_at >= local_instant(today),
        Meeting.status != CANCELLED).order_by(Meeting.starts_at).limit(limit)).all()
    found = []
    for meeting in rows:
        deadlines = agenda_deadlines(body, local_day(meeting.starts_at), rules_for(org, body_code))
        found.append({"id": meeting.id, "starts_at": meeting.starts_at, "place": meeting.place,
                      "agenda_status": meeting.agenda_status,
                      "submission": deadlines.submission, "agenda_out": deadlines.agenda_out,
                      "material": deadlines.material})
    return found
