"""Reading what the other parts of the product keep: reminders sent (notifications' outbox)
and the planned route (meetings' planner). Each returns nothing if that part is absent, so
the case page shows what exists."""

from datetime import date

from sqlmodel import Session, select

from cases.models import Case
from cases.organisation import Organisation


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
    """The planner's route for the case ({"steps": [...], "fits": bool, ...}) or None."""
    try:
        from meetings import planner
    except ImportError:
        return None
    plan_for_case = getattr(planner, "plan_for_case", None)
    if plan_for_case is None:
        return None
    return plan_for_case(session, case, today=today, org=org)


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
