"""The agenda and minutes as PDF: the same HTML as on screen (meetings.documents), rendered by
WeasyPrint with a cover, the table of contents with page numbers, one bookmark per item,
"Side x af y" and PDF/UA tagging (pdf_variant "pdf/ua-1", which tags the structure).

What a PDF may show is decided before it is rendered, by the same contexts as the HTML
(`public_view`, `viewer_context`): the PDF of the public never receives a closed item's text.

A publication's PDFs are kept as published (`store_publication`, table published_pdf) with
their SHA-256 checksum, and served from there (`publication_pdf`), checked against it. The
public one is kept with the numbers of the items closed when it was made; once another item
is closed (a case can become a lukket punkt later), it is made anew from the publication.

Hook for the Bilag files (the "samlet dagsorden med bilag"): append each public Bilag's PDF
under its item's bookmark with pypdf after `render_pdf`; not built here.
"""

import hashlib
from pathlib import Path

from sqlmodel import Session, select

from cases.dates import format_date
from cases.models import utcnow
from cases.organisation import Organisation
from cases.settings import current_organisation
from meetings import queries
from meetings.documents import (
    closed_now,
    document_kind,
    public_view,
    render_context,
    viewer_context,
)
from meetings.models import AgendaPublication, Meeting, PublishedPdf
from meetings.visibility import item_is_closed, may_read_item
from workflow import access
from workflow.errors import NotFound

PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_tags": True}


def render_pdf(context: dict, org: Organisation | None = None) -> bytes:
    """The document of `context` as PDF (as it is: decide what it may show first)."""
    org = org or current_organisation()
    logo = Path(org.logo).as_uri() if org.logo and Path(org.logo).is_file() else ""
    html = render_context(context, pdf=True, logo=logo)
    from weasyprint import HTML  # here: it takes a while to import, and few commands need it

    return HTML(string=html, base_url=str(Path.cwd())).write_pdf(**PDF_OPTIONS)


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def closed_key(context: dict) -> str:
    return ",".join(str(item["number"]) for item in context["items"] if item["closed"])


def _public_context(session: Session, publication: AgendaPublication) -> dict:
    return public_view(closed_now(session, publication.content))


def publication_pdfs(session: Session, publication: AgendaPublication,
                     org: Organisation | None = None) -> list[PublishedPdf]:
    """The publication's PDFs not kept yet, the members' and the public's, made (unsaved:
    rendering takes seconds, so it happens outside the write transaction that keeps them)."""
    made = []
    for public in (False, True):
        context = _public_context(session, publication) if public else publication.content
        key = closed_key(context)
        if _stored(session, publication.id, public, key) is not None:
            continue
        content = render_pdf(context, org)
        made.append(PublishedPdf(publication_id=publication.id, public=public,
                                 closed_items=key, sha256=checksum(content),
                                 size=len(content), content=content, created_at=utcnow()))
    return made


def keep(session: Session, made: list[PublishedPdf]) -> list[PublishedPdf]:
    """Keep the PDFs made (in the caller's write transaction); one kept meanwhile stays."""
    kept = [row for row in made
            if _stored(session, row.publication_id, row.public, row.closed_items) is None]
    session.add_all(kept)
    session.flush()
    return kept


def store_publication(session: Session, publication: AgendaPublication,
                      org: Organisation | None = None) -> list[PublishedPdf]:
    """Make and keep the publication's PDFs in one transaction (tests, small agendas)."""
    return keep(session, publication_pdfs(session, publication, org))


def _stored(session: Session, publication_id: int, public: bool, key: str):
    return session.exec(select(PublishedPdf).where(
        PublishedPdf.publication_id == publication_id, PublishedPdf.public.is_(public),
        PublishedPdf.closed_items == key)).first()


def publication_pdf(session: Session, publication: AgendaPublication, *, public: bool,
                    org: Organisation | None = None) -> bytes:
    """The publication's PDF as kept (its checksum checked), or made from the publication
    when none is kept for what is closed now."""
    context = _public_context(session, publication) if public else publication.content
    row = _stored(session, publication.id, public, closed_key(context))
    if row is None:
        return render_pdf(context, org)
    if checksum(row.content) != row.sha256 or len(row.content) != row.size:
        raise NotFound("Den gemte PDF passer ikke med sin kontrolsum; den kan ikke udleveres.")
    return row.content


def stored_pdfs(session: Session, publication_id: int) -> list[PublishedPdf]:
    return list(session.exec(select(PublishedPdf).where(
        PublishedPdf.publication_id == publication_id).order_by(PublishedPdf.id)))


def viewer_pdf(session: Session, meeting: Meeting, viewer: access.Viewer, *,
               publication: int | None = None, org: Organisation | None = None) -> bytes:
    """The PDF a signed-in person may read: the document now (each closed item they may not
    read reduced), or publication number `publication` as kept — the members' version if
    they may read every closed item on it, else the public one."""
    org = org or current_organisation()
    if publication is None:
        items = queries.items(session, meeting.id)
        return render_pdf(viewer_context(session, meeting, viewer, org=org,
                                         kind=document_kind(meeting, items)), org)
    kept = find_publication(session, meeting, publication)
    readable = all(may_read_item(org, session, item, meeting.body_code, viewer)
                   for item in queries.items(session, meeting.id) if item_is_closed(session, item))
    return publication_pdf(session, kept, public=not readable, org=org)


def find_publication(session: Session, meeting: Meeting, seq: int) -> AgendaPublication:
    for found in queries.publications(session, meeting.id):
        if found.seq == seq:
            return found
    raise NotFound(f"Mødet har ingen offentliggjort udgave {seq}.")


def filename(meeting: Meeting) -> str:
    """A plain file name: "moede-SU-04-10-2022.pdf"."""
    code = "".join(c for c in meeting.body_code if c.isascii() and c.isalnum()) or "organ"
    return f"moede-{code}-{format_date(meeting.starts_at)}.pdf"
