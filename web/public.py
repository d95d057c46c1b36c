"""The public side: a meeting's published agenda or minutes and their PDFs, and the
unsubscribe links (the portal's other pages: web.portal).

No login. What an agenda shows the public is decided by meetings.documents.public_view: a
closed item (lukket punkt) keeps its number, title and decision only, so its text never
reaches the template.
"""

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session

from cases.dates import to_local
from cases.models import Case, utcnow
from cases.settings import current_organisation
from meetings import pdf
from meetings import queries as meeting_queries
from meetings.documents import document_kind, meeting_context
from meetings.models import AGENDA_PUBLISHED, Meeting
from notifications.citizens import described
from notifications.email import read_unsubscribe_token
from notifications.email import unsubscribe as opt_out
from notifications.outbox import is_opted_out
from notifications.rules import KINDS
from web.auth import CurrentUser, db, optional_user, write
from web.follow import end, subscription_for_token
from web.rendering import page
from workflow.access import PUBLIC
from workflow.errors import InvalidInput, NotFound

router = APIRouter(include_in_schema=False)


def public_document(session: Session, meeting, publications: list | None = None) -> dict:
    """The published agenda with its decisions (the minutes once there are any), as
    meetings.documents shows it to the public (`public_view`: closed items as number, title
    and decision): one place decides that. `publications`: the meeting's, when read."""
    items = meeting_queries.published_items(session, meeting, publications)
    return meeting_context(session, meeting, public=True, items=items,
                           kind=document_kind(meeting, items))


@router.get("/offentlig/moeder/{meeting_id}")
def public_meeting(request: Request, meeting_id: int, session: Session = Depends(db),
                   user: CurrentUser | None = Depends(optional_user)):
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.agenda_status != AGENDA_PUBLISHED:
        raise NotFound("Mødet findes ikke, eller dagsordenen er ikke offentliggjort.")
    publications = meeting_queries.publications(session, meeting.id)
    return page(request, "public_meeting.html", user=user, meeting=meeting,
                body=current_organisation().body(meeting.body_code),
                year=to_local(meeting.starts_at).year,
                doc=public_document(session, meeting, publications),
                publications=publications)


@router.get("/offentlig/moeder/{meeting_id}/pdf")
def public_meeting_pdf(meeting_id: int, udgivelse: int | None = None, med_bilag: bool = False,
                       session: Session = Depends(db)):
    """The public PDF: the document now, or a publication (udgivelse 1, 2..) as kept;
    `med_bilag=1`: the samlet version with the public Bilag of the open items."""
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.agenda_status != AGENDA_PUBLISHED:
        raise NotFound("Mødet findes ikke, eller dagsordenen er ikke offentliggjort.")
    if udgivelse is None:
        doc = public_document(session, meeting)
        content = pdf.render_pdf(doc)
        if med_bilag:
            content = pdf.with_bilag(session, content, doc, PUBLIC)
    else:
        content = pdf.publication_pdf(session, pdf.find_publication(session, meeting, udgivelse),
                                      public=True, bilag_for=PUBLIC if med_bilag else None)
    return pdf_response(content, pdf.filename(meeting, med_bilag))


def pdf_response(content: bytes, name: str) -> Response:
    return Response(content, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"'})


# -- unsubscribe (no login: the signed link is the permission) --------------------------------
# A GET only shows what would stop (mail scanners and link previews fetch links); the POST
# does it. Both kinds of link use notifications.email's one token scheme.

def _invalid_link(request: Request):
    return page(request, "error.html", user=None, status_code=404, title="Ugyldigt link",
                message="Afmeldingslinket er ugyldigt eller beskadiget.")


@router.get("/afmeld/{token}")
def unsubscribe_form(request: Request, token: str, session: Session = Depends(db)):
    try:
        found = subscription_for_token(session, token)
    except NotFound:
        return _invalid_link(request)
    return page(request, "unsubscribe.html", user=None, action=f"/afmeld/{token}",
                email=found.email, what=_describe(session, found),
                done=found.ended_at is not None)


@router.post("/afmeld/{token}")
def unsubscribe(request: Request, token: str):
    try:
        with write(request) as session:
            found = subscription_for_token(session, token)
            end(session, found)
            what = _describe(session, found)
    except NotFound:
        return _invalid_link(request)
    return page(request, "unsubscribe.html", user=None, action=f"/afmeld/{token}",
                email=found.email, what=what, done=True)


@router.get("/paamindelser/afmeld/{token}")
def reminders_unsubscribe_form(request: Request, token: str, session: Session = Depends(db)):
    found = read_unsubscribe_token(token)
    if found is None:
        return _invalid_link(request)
    email, kind = found
    return page(request, "unsubscribe.html", user=None, action=f"/paamindelser/afmeld/{token}",
                email=email, what=_reminder_kind(kind),
                done=is_opted_out(session, email, kind))


@router.post("/paamindelser/afmeld/{token}")
def reminders_unsubscribe(request: Request, token: str):
    try:
        with write(request) as session:
            email, kind = opt_out(session, token, utcnow())
    except InvalidInput:
        return _invalid_link(request)
    return page(request, "unsubscribe.html", user=None, action=f"/paamindelser/afmeld/{token}",
                email=email, what=_reminder_kind(kind), done=True)


def _reminder_kind(kind: str) -> str:
    if kind == "*":
        return "valgfrie påmindelser"
    return f"påmindelser af typen »{KINDS[kind]}«"


def _describe(session: Session, subscription) -> str:
    if subscription.public:  # signed up without an account (web.citizens)
        return described(subscription)
    if subscription.case_id:
        case = session.get(Case, subscription.case_id)
        return f"sag {case.number}" if case else "sagen"
    body = current_organisation().body(subscription.body_code)
    return body.name
