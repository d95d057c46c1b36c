"""What the case page and the case API show, gathered in one place.

The closed-item rule is applied here, once: whoever may not read a lukket punkt gets its
number, title, state and decisions only.
"""

from datetime import date

from sqlmodel import Session, select

from cases import queries, services
from cases.models import Case
from cases.organisation import Organisation
from cases.settings import current_organisation
from meetings import bilag
from meetings.documents import minutes_of_items
from meetings.services import plan_case
from meetings.visibility import case_is_closed, may_read
from notifications.models import SENT, Reminder
from workflow import access, decisions
from workflow.machine import ACTIVE, available_triggers


def history(session: Session, case_id: int, *, minutes: bool = False) -> list[dict]:
    """The Beslutningshistorik; `minutes`: each treatment at a meeting with its item's votes,
    notes and who took no part (for those who may read the case's text: a closed item's
    votes and notes are no more public than its text)."""
    treatments = queries.decision_history(session, case_id)
    item_ids = sorted({t.agenda_item_id for t in treatments if t.agenda_item_id is not None})
    items = minutes_of_items(session, item_ids) if minutes else {}
    rows = []
    afterwards = queries.items_recorded_afterwards(session, case_id)
    for t in treatments:
        found = decisions.BY_CODE.get(t.wording)
        row = {"body": t.body_name, "body_code": t.body_code, "date": t.meeting_date,
               "item": t.item_number, "wording": t.wording,
               "decision": found.label if found else t.wording, "text": t.decision_text,
               "proposals": t.proposal_decisions, "minority": t.minority,
               "afterwards": t.agenda_item_id is not None and t.agenda_item_id in afterwards}
        if minutes:
            row |= items.get(t.agenda_item_id) or {"votes": [], "notes": [], "not_present": []}
        rows.append(row)
    return rows


def summary(session: Session, case: Case, *, minutes: bool = False) -> dict:
    """What anyone allowed to see the case at all may see; `minutes`: its history with the
    votes and notes (history), for those who may read its text."""
    return {"number": case.number, "title": case.title, "status": case.status,
            "status_label": current_organisation().state_label(case.status),
            "version": case.version, "closed_item": case_is_closed(session, case),
            "deciding_body": case.deciding_body,
            "deciding_bodies": [case.deciding_body, *(case.joint_bodies or [])],
            "committees": list(case.committees),
            "awaiting": queries.awaiting_bodies(session, case.id),
            "history": history(session, case.id, minutes=minutes)}


def deliveries(org: Organisation, session: Session, case: Case) -> list[dict]:
    """Per body whose queue the case is in: is it delivered for its agenda, when and by whom
    (the user's name where the actor is a user)."""
    rows = queries.awaiting_rows(session, case.id)
    names = queries.user_names(session, [row.delivered_by for row in rows])
    return [{"body": row.body_code, "body_name": org.body_name(row.body_code),
             "delivered_at": row.delivered_at,
             "delivered_by": names.get(row.delivered_by, row.delivered_by or "")}
            for row in rows]


def details(org: Organisation, session: Session, case: Case, viewer: access.Viewer,
            today: date) -> dict:
    readable = may_read(org, session, case, viewer)
    data = summary(session, case, minutes=readable) | {"readable": readable}
    data["actions"] = available_triggers(case.status)
    if not readable:
        return data
    hearings = []
    for hearing in queries.hearings(session, case.id):
        parties = queries.hearing_parties(session, hearing.id)
        responses = queries.hearing_responses(session, hearing.id)
        answered = {r.party_id for r in responses}
        names = {p.id: p.name for p in parties}
        hearings.append({
            "id": hearing.id, "title": hearing.title, "deadline": hearing.deadline,
            "opened_on": hearing.opened_on, "closed_on": hearing.closed_on,
            "blocking": hearing.blocking, "parties": [p.name for p in parties],
            "missing": [p.name for p in parties if p.id not in answered],
            "overdue": hearing.closed_on is None and hearing.deadline < today,
            "responses": [{"party": names.get(r.party_id, ""), "received_on": r.received_on,
                           "text": r.text} for r in responses]})
    data.update({
        "summary": case.summary, "background": case.background,
        "presentation": case.presentation, "economy": case.economy, "centre": case.centre,
        "owner": {"name": case.owner_name, "email": case.owner_email},
        "proposals": [{"number": p.number, "text": p.text}
                      for p in queries.proposals(session, case.id)],
        "attachments": [bilag.described(a)
                        for a in bilag.readable_attachments(org, session, case, viewer)],
        "deadlines": [{"id": d.id, "due_date": d.due_date, "kind": d.kind,
                       "description": d.description, "legal_basis": d.legal_basis,
                       "met_on": d.met_on, "overdue": d.met_on is None and d.due_date < today}
                      for d in queries.deadlines(session, case.id)],
        "hearings": hearings,
        "deliveries": deliveries(org, session, case),
        "links": [{"kind": link.kind, "number": other.number if other else None,
                   "title": other.title if other else link.note}
                  for link, other in queries.links(session, case.id)],
        "timeline": timeline(org, session, case, hearings),
        "reminders": reminders_sent(session, case.id),
        "plan": route_plan(session, org, case, today),
    })
    return data


# What happened, in the past tense ("Sendt i høring hos ..."), never the command's name.
PAST_TENSE = {
    "create": "Sagen blev oprettet",
    "add_deadline": "Frist tilføjet",
    "add_hearing": "Høring oprettet",
    "hearing_response": "Høringssvar modtaget",
    "close_hearing": "Høringen blev afsluttet",
    "edit_case": "Sag redigeret",
    "meet_deadline": "Frist overholdt",
    "place_on_agenda": "Sat på dagsordenen",
    "move_on_agenda": "Flyttet på dagsordenen",
    "remove_from_agenda": "Taget af dagsordenen",
    "publish_agenda_late": "Dagsordenen blev offentliggjort efter fristen",
    "mark_delivered": "Afleveret til dagsorden",
    "unmark_delivered": "Aflevering til dagsorden fortrudt",
    "submit": "Sendt til behandling",
    "send_to_hearing": "Sendt i høring",
    "end_hearing": "Høringen blev afsluttet, og sagen gik videre",
    "treat": "Behandlet",
    "postpone": "Udsat",
    "send_back": "Sendt tilbage",
    "withdraw": "Sagen blev trukket tilbage",
    "replace": "Erstattet af en ny sag",
    "send_for_information": "Sendt til orientering",
    "close": "Sagen blev afsluttet",
    "record_earlier": "Tidligere behandling registreret",
}


# The events whose sentence does not say where the case went.
SAYS_NOT_WHERE = ("submit", "treat", "postpone", "send_back", "end_hearing", "record_earlier",
                  "create")


def and_list(names: list[str]) -> str:
    """"A, B og C" """
    names = [n for n in names if n]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " og " + names[-1] \
        if names else ""


def timeline(org: Organisation, session: Session, case: Case, hearings: list[dict]) -> list:
    """Each audit event as a sentence of what happened, by whom (the user's name)."""
    log = queries.events(session, case.id)
    names = queries.user_names(session, [e.actor for e in log])
    rows = []
    for e in log:
        text = PAST_TENSE.get(e.trigger, e.trigger)
        if e.trigger == "send_to_hearing":
            opened = [h for h in hearings if h["opened_on"] <= e.at.date()] or hearings
            parties = opened[-1]["parties"] if opened else []
            text += f" hos {and_list(parties)}" if parties else ""
        elif e.trigger == "add_hearing":
            text += f" hos {and_list(e.payload.get('parties', []))}" \
                if e.payload.get("parties") else ""
        elif e.trigger == "send_back":
            bodies = [org.body_name(code) for code in e.payload.get("bodies", [])]
            text += f" fra {org.body_name(e.body)}" if e.body else ""
            text += f" til {and_list(bodies)}" if bodies else ""
        elif e.trigger == "send_for_information":
            text += f" hos {and_list(services.information_recipients(org, e.payload))}"
        elif e.body and e.trigger in ("treat", "postpone", "record_earlier", "replace",
                                      "submit", "place_on_agenda", "mark_delivered"):
            text += f" i {org.body_name(e.body)}"
        elif e.body:
            text += f" ({org.body_name(e.body)})"
        if e.payload.get(queries.RECORDED_AFTERWARDS):
            text += " (registreret efterfølgende)"
        if e.from_state != e.to_state and e.trigger in SAYS_NOT_WHERE:
            text += f" – nu: {org.state_label(e.to_state)}"
        rows.append({"at": e.at, "text": text, "reason": e.reason,
                     "actor": names.get(e.actor, e.actor), "imported": e.imported})
    return rows


def reminders_sent(session: Session, case_id: int) -> list[dict]:
    rows = session.exec(select(Reminder).where(Reminder.case_id == case_id,
                                               Reminder.status == SENT)
                        .order_by(Reminder.sent_at)).all()
    return [{"at": r.sent_at, "kind": r.kind, "recipient": r.recipient_name or r.recipient}
            for r in rows]


def route_plan(session: Session, org: Organisation, case: Case, today: date) -> dict | None:
    """The planner's latest route for the case against its earliest open deadline, or None
    (no deadline, or nothing left to pass)."""
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
