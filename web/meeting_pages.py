"""Meetings for the secretariat: place cases from the queue on the agenda, number and order
the items, mark closed items, publish, and record each item's decision after the meeting
(which fires the case's workflow: meetings.services.record_item_decision). After the
meeting the secretariat records who was absent (Fraværende) and sends the minutes for
approval, and each member of the body clicks "Godkendt" on the minutes page."""

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from cases.db import write_session
from cases.errors import InvalidInput
from cases.organisation import current_organisation
from web.auth import CurrentUser, db, form_with_csrf, require
from web.rendering import flash, page, redirect
from workflow import decisions

router = APIRouter(include_in_schema=False)


@router.get("/moeder")
def meetings_page(request: Request, organ: str = "",
                  user: CurrentUser = Depends(require("view_meetings")),
                  session: Session = Depends(db)):
    from meetings import queries as meeting_queries

    if organ:
        current_organisation().body(organ)
    found = meeting_queries.meetings(session, body_code=organ or None)
    return page(request, "meetings.html", user=user, meetings=found[-200:], organ=organ)


@router.get("/moeder/{meeting_id}")
def meeting_page(request: Request, meeting_id: int,
                 user: CurrentUser = Depends(require("view_meetings")),
                 session: Session = Depends(db)):
    from meetings import queries as meeting_queries
    from meetings.calendar import agenda_deadlines, local_day, rules_for

    org = current_organisation()
    meeting = meeting_queries.get_meeting(session, meeting_id)
    items = meeting_queries.items(session, meeting_id)
    waiting = [e for e in meeting_queries.agenda_queue(session, meeting.body_code)
               if e.placed_on is None] if user.can("manage_agenda") else []
    body = org.body(meeting.body_code)
    deadlines = agenda_deadlines(body, local_day(meeting.starts_at), rules_for(org, body.code))
    return page(request, "meeting.html", user=user, meeting=meeting, items=items,
                body=body, deadlines=deadlines, waiting=waiting,
                wordings=decisions.WORDINGS,
                committees=[b for b in org.bodies if b.is_committee])


def _item_meeting(session: Session, item_id: int) -> int:
    from meetings import queries as meeting_queries
    return meeting_queries.get_item(session, item_id).meeting_id


@router.post("/moeder/{meeting_id}/placer")
async def place_case(request: Request, meeting_id: int,
                     user: CurrentUser = Depends(require("manage_agenda"))):
    from meetings import services as meeting_services

    form = await form_with_csrf(request)
    with write_session(request.app.state.engine) as session:
        item = meeting_services.place_case(session, meeting_id, form.get("number"),
                                           late_reason=form.get("late_reason"),
                                           actor=user.username)
    flash(request, f"Sagen er sat på dagsordenen som punkt {item.number}.")
    return redirect(f"/moeder/{meeting_id}")


@router.post("/moeder/{meeting_id}/fast-punkt")
async def standing_item(request: Request, meeting_id: int,
                        user: CurrentUser = Depends(require("manage_agenda"))):
    from meetings import services as meeting_services

    form = await form_with_csrf(request)
    with write_session(request.app.state.engine) as session:
        meeting_services.add_standing_item(session, meeting_id, form.get("kind"))
    flash(request, "Punktet er tilføjet.")
    return redirect(f"/moeder/{meeting_id}")


@router.post("/moeder/{meeting_id}/flyt")
async def move_item(request: Request, meeting_id: int,
                    user: CurrentUser = Depends(require("manage_agenda"))):
    """Move one item up or down; the agenda is renumbered 1..n."""
    from meetings import queries as meeting_queries
    from meetings import services as meeting_services

    form = await form_with_csrf(request)
    with write_session(request.app.state.engine) as session:
        ids = [i.id for i in meeting_queries.items(session, meeting_id)]
        try:
            item_id = int(form.get("item_id"))
            index = ids.index(item_id)
        except ValueError:
            raise InvalidInput("Punktet findes ikke på dagsordenen.") from None
        target = index - 1 if form.get("direction") == "op" else index + 1
        if 0 <= target < len(ids):
            ids[index], ids[target] = ids[target], ids[index]
            meeting_services.order_items(session, meeting_id, ids, actor=user.username)
    return redirect(f"/moeder/{meeting_id}")


@router.post("/punkter/{item_id}/lukket")
async def set_closed(request: Request, item_id: int,
                     user: CurrentUser = Depends(require("manage_agenda"))):
    from meetings import services as meeting_services

    form = await form_with_csrf(request)
    with write_session(request.app.state.engine) as session:
        item = meeting_services.set_closed(session, item_id, form.get("closed") == "on")
        meeting_id = item.meeting_id
    flash(request, "Punktet er nu " + ("lukket." if form.get("closed") == "on" else "åbent."))
    return redirect(f"/moeder/{meeting_id}")


@router.post("/moeder/{meeting_id}/offentliggoer")
async def publish(request: Request, meeting_id: int,
                  user: CurrentUser = Depends(require("manage_agenda"))):
    from meetings import services as meeting_services

    form = await form_with_csrf(request)
    with write_session(request.app.state.engine) as session:
        publication = meeting_services.publish_agenda(session, meeting_id, actor=user.username,
                                                      late_reason=form.get("late_reason"))
        kind = "Tillægsdagsordenen" if publication.kind == "tillaeg" else "Dagsordenen"
    flash(request, f"{kind} er offentliggjort.")
    return redirect(f"/moeder/{meeting_id}")


@router.post("/punkter/{item_id}/beslutning")
async def record_decision(request: Request, item_id: int,
                          user: CurrentUser = Depends(require("record_decision"))):
    from meetings import services as meeting_services

    form = await form_with_csrf(request)
    with write_session(request.app.state.engine) as session:
        meeting_id = _item_meeting(session, item_id)
        meeting_services.record_item_decision(
            session, item_id, wording=form.get("wording"), actor=user.username,
            decision_text=form.get("decision_text"), minority=form.get("minority"),
            bodies=form.getlist("bodies") or None, reason=form.get("reason"))
    flash(request, "Beslutningen er registreret.")
    return redirect(f"/moeder/{meeting_id}")


# -- the minutes (referat): absences, approval ------------------------------------------------

@router.get("/moeder/{meeting_id}/referat")
def minutes_page(request: Request, meeting_id: int,
                 user: CurrentUser = Depends(require("view_meetings")),
                 session: Session = Depends(db)):
    from meetings import queries as meeting_queries
    from meetings.documents import meeting_context, public_view
    from web import access

    meeting = meeting_queries.get_meeting(session, meeting_id)
    doc = meeting_context(session, meeting, kind="referat")
    if not access.may_read_closed(user.viewer, {meeting.body_code}):
        doc = public_view(doc)  # a member of another body: closed items as number and title
    members = meeting_queries.members(session, meeting.body_code)
    approved = {a.user_id for a, _ in meeting_queries.approvals(session, meeting.id)}
    is_member = user.can("approve_minutes") and any(m.id == user.id for m in members)
    return page(request, "minutes.html", user=user, meeting=meeting, doc=doc,
                body=current_organisation().body(meeting.body_code), members=members,
                approved=approved, may_approve=is_member and user.id not in approved
                and meeting.minutes_status == "approval")


@router.post("/moeder/{meeting_id}/referat/godkend")
async def approve_minutes(request: Request, meeting_id: int,
                          user: CurrentUser = Depends(require("approve_minutes"))):
    from meetings import services as meeting_services

    await form_with_csrf(request)
    with write_session(request.app.state.engine) as session:
        # The service checks that the user is a member of this body.
        meeting_services.approve_minutes(session, meeting_id, username=user.username)
    flash(request, "Du har godkendt referatet.")
    return redirect(f"/moeder/{meeting_id}/referat")


@router.post("/moeder/{meeting_id}/fravaer")
async def record_absence(request: Request, meeting_id: int,
                         user: CurrentUser = Depends(require("manage_minutes"))):
    from meetings import services as meeting_services

    form = await form_with_csrf(request)
    with write_session(request.app.state.engine) as session:
        absence = meeting_services.record_absence(
            session, meeting_id, username=form.get("username") or None,
            name=form.get("name"), note=form.get("note"))
        name = absence.name
    flash(request, f"{name} er registreret som fraværende.")
    return redirect(f"/moeder/{meeting_id}/referat")


@router.post("/moeder/{meeting_id}/referat/send")
async def send_minutes(request: Request, meeting_id: int,
                       user: CurrentUser = Depends(require("manage_minutes"))):
    from meetings import services as meeting_services

    form = await form_with_csrf(request)
    with write_session(request.app.state.engine) as session:
        meeting = meeting_services.send_minutes_for_approval(
            session, meeting_id, objection_deadline=form.get("objection_deadline") or None)
        deadline = meeting.objection_deadline
    from cases.dates import format_date
    flash(request, f"Referatet er sendt til godkendelse; indsigelsesfrist {format_date(deadline)}.")
    return redirect(f"/moeder/{meeting_id}/referat")
