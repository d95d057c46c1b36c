"""The JSON API under /api/ (OpenAPI at /api/openapi.json, browsable at /api/docs).

Bearer tokens only (see web.auth); every endpoint names the permission it needs, and every
write to a case asks web.ownership.case_to_change (a case owner: own cases only). Errors are
`{"detail": "<Danish message>"}` with 400 (invalid), 401, 403, 404 or 409 (refused by the
workflow, or the case changed since its version was read).
"""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, Response, UploadFile
from pydantic import BaseModel, Field
from sqlmodel import Session, select

from cases import files, queries, services
from cases.dates import COPENHAGEN
from cases.models import Case, utcnow
from cases.schemas import CaseCreate, DeadlineIn
from cases.settings import current_organisation, get_settings
from meetings import bilag, pdf
from meetings import queries as meeting_queries
from meetings import services as meeting_services
from meetings.attendance import (
    VOTE_ABSTAIN,
    VOTE_AGAINST,
    VOTE_FOR,
    AttendanceEntry,
    NoteEntry,
    VoteEntry,
)
from meetings.documents import attendance_context, items_minutes, note_context, read_attendance
from meetings.models import AgendaItem, Meeting
from meetings.visibility import (
    closed_cases,
    closed_item,
    may_read,
    readable_cases,
    readable_items,
)
from views import case as views
from views import dashboard as dash
from web import bilag as bilag_http
from web.auth import CurrentUser, Forbidden, db, require, write
from web.ownership import case_to_change, hearing_case, item_case
from web.public import pdf_response
from workflow.access import refusal
from workflow.errors import NotFound
from workflow.machine import TRIGGER_LABELS, available_triggers

router = APIRouter(prefix="/api")


def today() -> date:
    return utcnow().astimezone(COPENHAGEN).date()


def api(permission: str):
    return Depends(require(permission, api=True))


# -- request bodies ----------------------------------------------------------------------------

class TransitionIn(BaseModel):
    trigger: str = Field(description="Handling: " + ", ".join(TRIGGER_LABELS))
    version: int | None = Field(default=None, description="Sagens version, som du læste den; "
                                                          "409 hvis den er ændret siden.")
    body: str | None = None
    bodies: list[str] = Field(default_factory=list)
    wording: str | None = None
    meeting_date: str | None = None
    item_number: int | None = None
    agenda_item_id: int | None = None
    decision_text: str | None = None
    minority: str | None = None
    reason: str | None = None
    override_reason: str | None = None
    replaced_by: str | None = None
    finance_again: bool | None = Field(default=None, description=(
        "Henvisning (refer) fra kommunalbestyrelsen: behandler økonomiudvalget sagen igen? "
        "Ikke angivet: organisationens indstilling."))
    to_meeting: str | None = Field(default=None, description=(
        "Udsæt til et møde (postpone): 'næste møde', en dato (08-11-2022) eller mødets id; "
        "sagen sættes på mødets dagsorden."))


class DecisionIn(BaseModel):
    body: str
    wording: str = Field(description="Beslutning, fx 'Anbefales' eller 'sendes_tilbage'")
    meeting_date: str
    version: int | None = None
    item_number: int | None = None
    agenda_item_id: int | None = None
    decision_text: str | None = None
    minority: str | None = None
    bodies: list[str] = Field(default_factory=list)
    reason: str | None = None
    override_reason: str | None = None
    finance_again: bool | None = Field(default=None, description=(
        "Ved «Henvist til fagudvalg» fra kommunalbestyrelsen: behandler økonomiudvalget sagen "
        "igen? Ikke angivet: organisationens indstilling."))
    to_meeting: str | None = Field(default=None, description=(
        "Ved «Udsat»: mødet, sagen udsættes til ('næste møde', en dato eller mødets id)."))


class DeadlineMetIn(BaseModel):
    met_on: str = Field(description="Den dag, fristen blev overholdt, fx 01-12-2022")


class HearingIn(BaseModel):
    title: str
    parties: list[str]
    deadline: str
    opened_on: str
    blocking: bool = True
    send_to_hearing: bool = Field(default=False, description="Flyt også sagen i høring")


class HearingResponseIn(BaseModel):
    party: str
    received_on: str
    text: str


class HearingCloseIn(BaseModel):
    closed_on: str


class AttachmentEditIn(BaseModel):
    title: str | None = Field(default=None, description="Bilagets titel")
    recommended: bool | None = Field(default=None, description="Anbefales")
    public: bool | None = Field(default=None, description="false: ikke offentligt (kun for "
                                                          "dem, der må læse sagens lukkede "
                                                          "oplysninger)")


class AttendanceEntryIn(BaseModel):
    name: str = ""
    username: str | None = Field(default=None, description="Medlemmets brugernavn")
    status: str = Field(default="deltog", description="deltog, afbud eller fravaerende")
    party: str = ""
    substitute_for: str = Field(default="", description="Stedfortræder for dette medlem")
    not_under: list[int] = Field(default_factory=list,
                                 description="Punkter, personen ikke deltog under")
    note: str = ""


class AttendanceIn(BaseModel):
    entries: list[AttendanceEntryIn] = Field(description="Hele fremmødelisten; erstatter "
                                                         "den registrerede.")


class VoteIn(BaseModel):
    proposal: int | None = Field(default=None, description="Indstillingens punkt; ikke "
                                                           "angivet: punktet som helhed")
    voted_for: list[str] = Field(default_factory=list, alias="for",
                                 description="Medlemmer eller partier, der stemte for")
    against: list[str] = Field(default_factory=list)
    abstain: list[str] = Field(default_factory=list)
    for_count: int | None = Field(default=None, description="Ikke angivet: tælles")
    against_count: int | None = None
    abstain_count: int | None = None


class NoteIn(BaseModel):
    kind: str = Field(description="mindretal, forbehold eller protokol")
    who: str
    text: str = ""


def _case_out(session: Session, case: Case, user: CurrentUser) -> dict:
    data = views.details(current_organisation(), session, case, user.viewer, today())
    data.pop("timeline", None)
    return data


# -- health ------------------------------------------------------------------------------------

@router.get("/health", tags=["drift"], summary="Kører tjenesten?")
def health(session: Session = Depends(db)):
    session.exec(select(1)).one()
    return {"status": "ok"}


# -- cases -------------------------------------------------------------------------------------

@router.get("/cases", tags=["sager"], summary="List sager")
def list_cases(status: str | None = None, centre: str | None = None, body: str | None = None,
               limit: int = 100, user: CurrentUser = api("view_cases"),
               session: Session = Depends(db)):
    limit = max(1, min(limit, 1000))
    if body:  # a body's queue: the same permission as /api/bodies/{code}/queue
        if not user.can("view_queues"):
            raise Forbidden(refusal("view_queues"))
        current_organisation().body(body)
        found = [c for c, _ in queries.queue(session, body)][:limit]
    else:
        found = queries.list_cases(session, status=status, centre=centre, limit=limit)
    # Asked for the whole list at once; each summary finds its answer kept (visibility).
    readable = readable_cases(current_organisation(), session, found, user.viewer)
    return [views.summary(session, c) | {"readable": c.id in readable} for c in found]


@router.post("/cases", tags=["sager"], summary="Registrér en sag", status_code=201)
def create_case(data: CaseCreate, request: Request, user: CurrentUser = api("create_case")):
    with write(request) as session:
        case = services.create_case(session, data, actor=f"api:{user.username}")
        return _case_out(session, case, user)


@router.get("/cases/{number:path}/actions", tags=["sager"],
            summary="De handlinger, sagens tilstand tillader nu")
def case_actions(number: str, user: CurrentUser = api("view_cases"),
                 session: Session = Depends(db)):
    case = queries.get_case(session, number)
    return [{"trigger": t, "label": TRIGGER_LABELS[t]} for t in available_triggers(case.status)]


@router.post("/cases/{number:path}/transitions", tags=["sager"],
             summary="Udfør en handling i sagsgangen")
def fire_transition(number: str, data: TransitionIn, request: Request,
                    user: CurrentUser = api("fire_transition")):
    arguments = data.model_dump(exclude={"trigger", "version"}, exclude_none=True)
    with write(request) as session:
        case_to_change(session, user, number, "fire_transition", "flytte")
        event = meeting_services.run_case_action(session, number, data.trigger, arguments,
                                   actor=f"api:{user.username}",
                                   expected_version=data.version)
        case = queries.get_case(session, number)
        return {"from": event.from_state, "to": event.to_state, "version": case.version}


@router.post("/cases/{number:path}/decisions", tags=["beslutninger"],
             summary="Registrér et organs beslutning (ordlyden vælger handlingen)")
def record_decision(number: str, data: DecisionIn, request: Request,
                    user: CurrentUser = api("record_decision")):
    arguments = data.model_dump(exclude={"body", "wording", "version"}, exclude_none=True)
    with write(request) as session:
        case_to_change(session, user, number, "record_decision", "registrere beslutninger på")
        event = meeting_services.record_case_decision(
            session, number, body=data.body, wording=data.wording,
            actor=f"api:{user.username}", expected_version=data.version, **arguments)
        case = queries.get_case(session, number)
        return {"trigger": event.trigger, "from": event.from_state, "to": event.to_state,
                "version": case.version}


@router.get("/cases/{number:path}/history", tags=["beslutninger"],
            summary="Beslutningshistorik")
def case_history(number: str, user: CurrentUser = api("view_cases"),
                 session: Session = Depends(db)):
    case = queries.get_case(session, number)
    # Votes and notes go with the case's text: not for those who may not read a closed case.
    return views.history(session, case.id, minutes=may_read(current_organisation(), session,
                                                             case, user.viewer))


@router.get("/cases/{number:path}/deadlines", tags=["frister"], summary="Sagens frister")
def case_deadlines(number: str, user: CurrentUser = api("view_cases"),
                   session: Session = Depends(db)):
    case = queries.get_case(session, number)
    return _case_out(session, case, user).get("deadlines", [])


@router.post("/cases/{number:path}/deadlines", tags=["frister"], summary="Tilføj en frist",
             status_code=201)
def add_deadline(number: str, data: DeadlineIn, request: Request,
                 user: CurrentUser = api("add_deadline")):
    with write(request) as session:
        case_to_change(session, user, number, "add_deadline", "tilføje frister til")
        deadline = services.add_deadline(session, number, data.model_dump(),
                                         actor=f"api:{user.username}")
        return {"id": deadline.id, "due_date": deadline.due_date, "kind": deadline.kind,
                "description": deadline.description}


@router.post("/cases/{number:path}/deadlines/{deadline_id}/met", tags=["frister"],
             summary="Markér en frist som overholdt")
def meet_deadline(number: str, deadline_id: int, data: DeadlineMetIn, request: Request,
                  user: CurrentUser = api("add_deadline")):
    with write(request) as session:
        case_to_change(session, user, number, "add_deadline",
                       "markere frister som overholdt på")
        deadline = services.meet_deadline(session, number, deadline_id, met_on=data.met_on,
                                          actor=f"api:{user.username}")
        return {"id": deadline.id, "due_date": deadline.due_date, "met_on": deadline.met_on}


@router.get("/cases/{number:path}/hearings", tags=["høringer"], summary="Sagens høringer")
def case_hearings(number: str, user: CurrentUser = api("view_cases"),
                  session: Session = Depends(db)):
    case = queries.get_case(session, number)
    return _case_out(session, case, user).get("hearings", [])


@router.post("/cases/{number:path}/hearings", tags=["høringer"], summary="Opret en høring",
             status_code=201)
def add_hearing(number: str, data: HearingIn, request: Request,
                user: CurrentUser = api("add_hearing")):
    common = dict(title=data.title, parties=data.parties, deadline=data.deadline,
                  opened_on=data.opened_on, actor=f"api:{user.username}")
    with write(request) as session:
        if data.send_to_hearing:
            case_to_change(session, user, number, "fire_transition", "flytte")
            hearing = services.send_to_hearing(session, number, **common)
        else:
            case_to_change(session, user, number, "add_hearing", "oprette høringer på")
            hearing = services.add_hearing(session, number, blocking=data.blocking, **common)
        return {"id": hearing.id, "deadline": hearing.deadline}


@router.post("/hearings/{hearing_id}/responses", tags=["høringer"],
             summary="Registrér et høringssvar", status_code=201)
def hearing_response(hearing_id: int, data: HearingResponseIn, request: Request,
                     user: CurrentUser = api("record_hearing_response")):
    with write(request) as session:
        case_to_change(session, user, hearing_case(session, hearing_id),
                       "record_hearing_response", "registrere høringssvar på")
        response = services.record_hearing_response(
            session, hearing_id, party=data.party, received_on=data.received_on,
            text=data.text, actor=f"api:{user.username}")
        return {"id": response.id, "received_on": response.received_on}


@router.post("/hearings/{hearing_id}/close", tags=["høringer"], summary="Afslut en høring")
def close_hearing(hearing_id: int, data: HearingCloseIn, request: Request,
                  user: CurrentUser = api("close_hearing")):
    with write(request) as session:
        case_to_change(session, user, hearing_case(session, hearing_id), "close_hearing",
                       "afslutte høringer på")
        hearing = services.close_hearing(session, hearing_id, closed_on=data.closed_on,
                                         actor=f"api:{user.username}")
        case = session.get(Case, hearing.case_id)
        return {"id": hearing.id, "closed_on": hearing.closed_on, "case_status": case.status}


@router.get("/cases/{number:path}/attachments", tags=["bilag"], summary="Sagens bilag")
def case_attachments(number: str, user: CurrentUser = api("view_cases"),
                     session: Session = Depends(db)):
    case = queries.get_case(session, number)
    return [bilag.described(a) for a in
            bilag.readable_attachments(current_organisation(), session, case, user.viewer)]


@router.post("/cases/{number:path}/attachments", tags=["bilag"], status_code=201,
             summary="Vedhæft en fil som bilag (PDF, DOCX, XLSX, ODT, PNG, JPEG, GIF)")
async def attach_file(number: str, request: Request,
                      file: Annotated[UploadFile, File(description="Filen; typen findes "
                                                                   "af indholdet")],
                      title: Annotated[str, Form(description="Bilagets titel")],
                      recommended: Annotated[bool, Form(description="Anbefales")] = False,
                      public: Annotated[bool, Form(description="false: ikke offentligt")] = True,
                      user: CurrentUser = api("edit_case")):
    filename, content = await bilag_http.uploaded_file(request)
    with write(request) as session:
        case_to_change(session, user, number, "edit_case", "vedhæfte bilag til")
        attachment = files.attach(session, number, filename=filename, content=content,
                                  title=title, recommended=recommended, public=public,
                                  actor=f"api:{user.username}")
        return bilag.described(attachment)


@router.post("/cases/{number:path}/attachments/{attachment_id}/remove", tags=["bilag"],
             summary="Fjern et bilag med fil fra sagen")
def remove_attachment(number: str, attachment_id: int, request: Request,
                      user: CurrentUser = api("edit_case")):
    with write(request) as session:
        case_to_change(session, user, number, "edit_case", "fjerne bilag fra")
        attachment = files.remove(session, number, attachment_id,
                                  actor=f"api:{user.username}")
        return {"id": attachment_id, "removed": True, "title": attachment.title}


@router.post("/cases/{number:path}/attachments/{attachment_id}", tags=["bilag"],
             summary="Ret et bilags titel, anbefaling og offentlighed")
def edit_attachment(number: str, attachment_id: int, data: AttachmentEditIn, request: Request,
                    user: CurrentUser = api("edit_case")):
    """Det, der ikke er angivet, er uændret. Et bilag, der gøres ikke offentligt, vises og
    udleveres straks kun til dem, der må læse sagens lukkede oplysninger."""
    with write(request) as session:
        case_to_change(session, user, number, "edit_case", "rette bilag på")
        attachment, changed = files.edit(session, number, attachment_id, title=data.title,
                                         recommended=data.recommended, public=data.public,
                                         actor=f"api:{user.username}")
        return {**bilag.described(attachment), "changed": changed}


@router.get("/attachments/{attachment_id}", tags=["bilag"], summary="Et bilags fil",
            response_class=Response)
def download_attachment(attachment_id: int, user: CurrentUser = api("view_cases"),
                        session: Session = Depends(db)):
    attachment, content = bilag.attachment_to_serve(current_organisation(), session,
                                                    attachment_id, user.viewer)
    return bilag_http.file_response(attachment, content)


@router.get("/cases/{number:path}", tags=["sager"], summary="En sag med alt")
def get_case(number: str, user: CurrentUser = api("view_cases"),
             session: Session = Depends(db)):
    return _case_out(session, queries.get_case(session, number), user)


# -- bodies, queues, dashboard -----------------------------------------------------------------

@router.get("/bodies", tags=["organer"], summary="Organisationens organer")
def bodies(user: CurrentUser = api("view_cases")):
    return [{"code": b.code, "name": b.name, "kind": b.kind}
            for b in current_organisation().bodies]


@router.get("/bodies/{code}/queue", tags=["organer"], summary="Et organs kø")
def body_queue(code: str, user: CurrentUser = api("view_queues"),
               session: Session = Depends(db)):
    current_organisation().body(code)
    # The workflow's queue and, for a council, the cases it is to answer a hearing on.
    return [{"number": e.case.number, "title": e.case.title, "status": e.case.status,
             "since": e.since} for e in meeting_queries.agenda_queue(session, code)]


@router.get("/dashboard", tags=["overblik"], summary="Ledelsens nøgletal")
def dashboard(centre: str | None = None, body: str | None = None,
              user: CurrentUser = api("view_dashboard"), session: Session = Depends(db)):
    org = current_organisation()
    if centre:
        org.check_centre(centre)
    if body:
        org.body(body)
    figures = dash.figures(session, org, dash.Filters(centre=centre, body=body),
                           today=today(), now=utcnow(),
                           stale_weeks=get_settings().stale_weeks, limit=50)
    return {f.key: {"label": f.label, "count": f.count,
                    "cases": [c.number for c in f.cases]} for f in figures}


# -- meetings and agendas ----------------------------------------------------------------------

@router.get("/meetings", tags=["møder"], summary="Møder")
def list_meetings(body: str | None = None, user: CurrentUser = api("view_meetings"),
                  session: Session = Depends(db)):
    query = select(Meeting)
    if body:
        current_organisation().body(body)
        query = query.where(Meeting.body_code == body)
    rows = session.exec(query.order_by(Meeting.starts_at.desc()).limit(500)).all()
    return [_meeting_out(m) for m in rows]


def _meeting_out(meeting) -> dict:
    return {"id": meeting.id, "body": meeting.body_code, "starts_at": meeting.starts_at,
            "place": meeting.place, "status": meeting.status,
            "agenda_status": meeting.agenda_status, "minutes_status": meeting.minutes_status}


@router.get("/meetings/{meeting_id}/agenda", tags=["møder"],
            summary="Et mødes dagsorden med beslutninger")
def meeting_agenda(meeting_id: int, user: CurrentUser = api("view_meetings"),
                   session: Session = Depends(db)):
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"Mødet {meeting_id} findes ikke.")
    org = current_organisation()
    items = []
    rows = session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                        .order_by(AgendaItem.number)).all()
    attendance = read_attendance(session, meeting)  # for the list and each item's minutes
    minutes = items_minutes(session, meeting, rows, attendance)
    cases = {item.id: session.get(Case, item.case_id) for item in rows if item.case_id}
    # Which are closed and which the user may read: asked once for all the items.
    closed = closed_cases(session, [case for case in cases.values() if case])
    readable_ids = readable_items(org, session, rows, meeting.body_code, user.viewer)
    for item in rows:
        case = cases.get(item.id)
        readable = item.id in readable_ids
        # A closed item's votes and notes only for those who may read its text.
        shown = minutes[item.id] if readable else {"votes": None, "notes": None,
                                                    "not_present": None}
        items.append({"id": item.id, "number": item.number, "title": item.title,
                      "closed": closed_item(item, case, closed),
                      "case": case.number if case else None, "wording": item.wording,
                      "decision_text": item.decision_text,
                      "text": item.text if readable else None,
                      "summary": case.summary if case and readable else None} | shown)
    return _meeting_out(meeting) | {
        "attendance": attendance_context(session, meeting, rows, attendance), "items": items}


@router.post("/meetings/{meeting_id}/attendance", tags=["møder"],
             summary="Registrér mødets fremmøde (Deltog, Afbud, Fraværende, stedfortrædere)")
def record_attendance(meeting_id: int, data: AttendanceIn, request: Request,
                      user: CurrentUser = api("manage_minutes")):
    with write(request) as session:
        meeting = meeting_queries.get_meeting(session, meeting_id)
        meeting_services.record_attendance(session, meeting, [
            AttendanceEntry(**entry.model_dump()) for entry in data.entries])
        return attendance_context(session, meeting)


@router.post("/items/{item_id}/votes", tags=["møder"],
             summary="Registrér afstemningen om et punkt eller et af indstillingens punkter")
def record_vote(item_id: int, data: VoteIn, request: Request,
                user: CurrentUser = api("record_decision")):
    entry = VoteEntry(proposal=data.proposal,
                      names={VOTE_FOR: data.voted_for, VOTE_AGAINST: data.against,
                             VOTE_ABSTAIN: data.abstain},
                      counts={VOTE_FOR: data.for_count, VOTE_AGAINST: data.against_count,
                              VOTE_ABSTAIN: data.abstain_count})
    with write(request) as session:
        case = item_case(session, item_id)
        if case is not None:
            case_to_change(session, user, case, "record_decision",
                           "registrere afstemninger på")
        item = meeting_queries.get_item(session, item_id)
        meeting_services.record_vote(session, item_id, entry)
        found = items_minutes(session, meeting_queries.get_meeting(session, item.meeting_id),
                              [item])[item.id]["votes"]
        return next(v for v in found if v["proposal"] == data.proposal)


@router.post("/items/{item_id}/notes", tags=["møder"], status_code=201,
             summary="Føj en mindretalsudtalelse, et forbehold eller en protokolbemærkning "
                     "til et punkt")
def add_item_note(item_id: int, data: NoteIn, request: Request,
                  user: CurrentUser = api("record_decision")):
    with write(request) as session:
        case = item_case(session, item_id)
        if case is not None:
            case_to_change(session, user, case, "record_decision",
                           "registrere bemærkninger på")
        note = meeting_services.add_item_note(session, item_id, NoteEntry(**data.model_dump()))
        return note_context(note)


@router.get("/meetings/{meeting_id}/pdf", tags=["møder"],
            summary="Et mødes dagsorden eller referat som PDF",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def meeting_pdf(meeting_id: int, publication: int | None = None, med_bilag: bool = False,
                user: CurrentUser = api("view_meetings"), session: Session = Depends(db)):
    """Nu (lukkede punkter, man ikke må læse, som nummer, titel og beslutning), eller en
    offentliggjort udgave som gemt (`publication` 1 = dagsordenen, 2.. = tillæg);
    `med_bilag=1`: samlet dagsorden med de bilag, man må læse, bagest under hvert punkt."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"Mødet {meeting_id} findes ikke.")
    content = pdf.viewer_pdf(session, meeting, user.viewer, publication=publication,
                             med_bilag=med_bilag)
    return pdf_response(content, pdf.filename(meeting, med_bilag))

