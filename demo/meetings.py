"""The demo's meetings: called by demo.cases.load_meetings after the demo's cases are loaded.

Loads the autumn 2022 meeting plan (config/moedeplan-2022.toml, so the route planner has a
calendar) and puts the data file's items on their meeting's agenda, published, with each
case's decision at that meeting copied from the case's own treatment (the demo replayed it
through the service layer already; nothing is fired twice). The standing items (Meddelelser,
Godkendelse af referat) have no case, as in the published referat. The minutes are left out for
the members' approval (no objection deadline: the demo shows members clicking "Godkendt").
Idempotent: a meeting that already has items is left alone.
"""

from datetime import time

from sqlmodel import Session, select

from cases import queries as case_queries
from cases.dates import parse_date
from cases.models import Treatment
from cases.organisation import Organisation
from cases.settings import PROJECT_DIR
from meetings import queries, services
from meetings.calendar import add_weekdays, local_instant, rules_for
from meetings.models import MINUTES_APPROVAL, STANDING_ITEMS, AgendaItem
from meetings.plan import load_plan
from workflow.errors import InvalidInput

PLAN_FILE = PROJECT_DIR / "config" / "moedeplan-2022.toml"


def load_demo_meetings(session: Session, meetings: list[dict], *, org: Organisation) -> int:
    """Create the plan's meetings and fill the data file's agendas; returns meetings created."""
    created, _ = services.import_plan(session, load_plan(PLAN_FILE, org), org=org)
    for spec in meetings:
        day = parse_date(spec["date"])
        meeting = queries.find_meeting(session, spec["body"], day)
        if meeting is None:
            meeting = services.create_meeting(session, body=spec["body"], day=day,
                                              at=spec.get("time"), org=org)
            created.append(meeting)
        if queries.items(session, meeting.id):
            continue
        for entry in sorted(spec["items"], key=lambda e: e["item"]):
            session.add(_agenda_item(session, meeting, entry))
        session.flush()
        # Published on the body's agenda-out day, at noon.
        body = org.body(meeting.body_code)
        published_at = local_instant(add_weekdays(day, -body.agenda_weekdays,
                                                  rules_for(org, body.code)), time(12, 0))
        services.publish_agenda(session, meeting.id, actor="sekretariat", org=org, now=published_at)
        standing = {e["item"]: e for e in spec["items"] if "standing" in e}
        for item in queries.items(session, meeting.id):
            if item.standing:
                _standing_decision(meeting, item, standing[item.number])
            else:
                _copy_decision(session, meeting, item, day)
        meeting.minutes_status = MINUTES_APPROVAL
        session.add(meeting)
        session.flush()
    return len(created)


def _agenda_item(session: Session, meeting, entry: dict) -> AgendaItem:
    """A case's item, or a standing item (Meddelelser, Godkendelse af referat) without one."""
    if "standing" in entry:
        if entry["standing"] not in STANDING_ITEMS:
            raise InvalidInput(f"Demodata: ukendt fast punkt {entry['standing']!r}.")
        return AgendaItem(meeting_id=meeting.id, standing=entry["standing"],
                          number=entry["item"], title=STANDING_ITEMS[entry["standing"]],
                          text=entry.get("text", ""),
                          attachments_note=entry.get("attachments_note", ""))
    case = case_queries.get_case(session, entry["case"])
    return AgendaItem(meeting_id=meeting.id, case_id=case.id, number=entry["item"],
                      title=case.title[:300], closed=case.confidential)


def _standing_decision(meeting, item: AgendaItem, entry: dict) -> None:
    """Meddelelser are taken note of; Godkendelse af referat is the members' own approval."""
    if entry.get("wording"):
        item.wording = entry["wording"]
        item.decided_at = meeting.starts_at


def _copy_decision(session: Session, meeting, item: AgendaItem, day) -> None:
    treatment = session.exec(select(Treatment).where(
        Treatment.case_id == item.case_id, Treatment.body_code == meeting.body_code,
        Treatment.meeting_date == day).order_by(Treatment.id.desc())).first()
    if treatment is None:
        return
    item.wording = treatment.wording
    item.decision_text = treatment.decision_text
    item.proposal_decisions = treatment.proposal_decisions
    item.minority = treatment.minority
    item.decided_at = meeting.starts_at
    session.add(item)
