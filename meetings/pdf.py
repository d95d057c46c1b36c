"""The agenda and minutes as PDF: the same HTML as on screen (meetings.documents), rendered by
WeasyPrint with a cover, the table of contents with page numbers, one bookmark per item,
"Side x af y" and PDF/UA tagging (pdf_variant "pdf/ua-1", which tags the structure).

What a PDF may show is decided before it is rendered, by the same contexts as the HTML
(`public_view`, `viewer_context`): the PDF of the public never receives a closed item's text.

A publication's PDFs are kept as published (table published_pdf) with their SHA-256 checksum,
made by the worker (`keep_unkept`, from the beat's schedule) and not by the publishing request:
rendering takes seconds of one core, which a web process would take from every other request.
Until they are kept, a PDF asked for is made from the publication, as it will be kept; once
kept, served from there (`publication_pdf`), checked against it. The
public one is kept with the numbers of the items closed when it was made; once another item
is closed (a case can become a lukket punkt later), it is made anew from the publication.
The public samlet version is kept too, with the ids of the Bilag it was made with: it is
served only while the public may read exactly those now (one made not public or removed
since: made anew). The members' samlet version is made when asked for (not kept).

The "samlet dagsorden med bilag" (`with_bilag`): the document with each item's Bilag PDFs
appended by pypdf, each as a bookmark under its item's. Which Bilag: those the context lists
(already reduced for the reader) that the reader may read now (meetings.bilag's rule, asked
again for each file); the public reader is `access.PUBLIC`. A Bilag that is not a PDF stays
listed in the document only; one whose file cannot be read is left out, with a note in its
bookmark, never an error.
"""

import hashlib
import io
import logging
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from pypdf import PdfReader, PdfWriter
from sqlmodel import Session, select

from cases import files
from cases.dates import format_date
from cases.db import read_session, write_session
from cases.models import Attachment, Case, utcnow
from cases.organisation import Organisation
from cases.settings import current_organisation
from meetings import bilag, queries
from meetings.documents import (
    closed_now,
    document_kind,
    public_view,
    render_context,
    viewer_context,
)
from meetings.models import AgendaPublication, Meeting, PublishedPdf
from meetings.visibility import readable_items
from workflow import access
from workflow.errors import NotFound

PDF_OPTIONS = {"pdf_variant": "pdf/ua-1", "pdf_tags": True}
DAMAGED_NOTE = "filen kan ikke læses og er ikke med"
log = logging.getLogger("sagsgang.pdf")


def render_pdf(context: dict, org: Organisation | None = None) -> bytes:
    """The document of `context` as PDF (as it is: decide what it may show first)."""
    org = org or current_organisation()
    logo = Path(org.logo).as_uri() if org.logo and Path(org.logo).is_file() else ""
    html = render_context(context, pdf=True, logo=logo)
    from weasyprint import HTML  # here: it takes a while to import, and few commands need it

    return HTML(string=html, base_url=str(Path.cwd())).write_pdf(**PDF_OPTIONS)


def with_bilag(session: Session, content: bytes, context: dict, viewer: access.Viewer,
               org: Organisation | None = None,
               appended: list[list[Attachment]] | None = None) -> bytes:
    """The samlet dagsorden med bilag: `content` (render_pdf of `context`) with each item's
    Bilag PDFs that `viewer` may read appended (`appended`, if asked already: samlet_bilag),
    one bookmark each under the item's."""
    org = org or current_organisation()
    if appended is None:
        appended = samlet_bilag(session, context, viewer, org)
    writer = PdfWriter(clone_from=io.BytesIO(content))
    reader = PdfReader(io.BytesIO(content))
    starts = [reader.get_destination_page_number(entry) for entry in reader.outline]
    if len(starts) != len(context["items"]):  # one bookmark per item (templates' _pdf.css)
        raise ValueError("the document's bookmarks do not match its items")
    titles = [entry.title for entry in reader.outline]
    # The bookmarks are made anew: pypdf adds children only to bookmarks it made itself.
    del writer.root_object["/Outlines"]
    for pdfs, start, title in zip(appended, starts, titles, strict=True):
        parent = writer.add_outline_item(title=title, page_number=start)
        for attachment in pdfs:
            label = f"Bilag {attachment.number}: {attachment.title}"
            first = len(writer.pages)
            try:
                appended = PdfReader(io.BytesIO(files.open(session, attachment.digest)))
                for page in appended.pages:  # read them all first: a bad one adds none
                    page.get_contents()
                writer.append(appended, import_outline=False)
            # Whatever pypdf fails on in a file someone uploaded (a "PDF" is only its first
            # bytes), that Bilag is left out, not the whole document.
            except Exception as error:  # noqa: BLE001
                log.warning("Bilag %s left out of the samlet PDF: %s", attachment.id, error)
                writer.add_outline_item(title=f"{label} ({DAMAGED_NOTE})", page_number=start,
                                        parent=parent)
                continue
            writer.add_outline_item(title=label, page_number=first, parent=parent)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def samlet_bilag(session: Session, context: dict, viewer: access.Viewer,
                 org: Organisation | None = None) -> list[list[Attachment]]:
    """Per item of `context`, the Bilag PDFs its samlet version for `viewer` appends."""
    org = org or current_organisation()
    return [_item_pdfs(session, org, item, viewer) for item in context["items"]]


def bilag_key(appended: list[list[Attachment]]) -> str:
    """The Bilag a samlet PDF is made with, as kept with it ("12,15"); a damaged file is
    in it too (the PDF notes it): what the reader may read decides, not what pypdf could."""
    return ",".join(str(attachment.id) for pdfs in appended for attachment in pdfs)


def _item_pdfs(session: Session, org: Organisation, item: dict,
               viewer: access.Viewer) -> list[Attachment]:
    """The item's Bilag PDFs the context lists and the viewer may read now."""
    if not item.get("case"):
        return []
    found = []
    for shown in item["case"].get("attachments", []):
        attachment = session.get(Attachment, shown["id"])
        if attachment is None or not attachment.digest \
                or attachment.media_type != files.PDF.media_type:
            continue
        case = session.get(Case, attachment.case_id)
        if case is not None and bilag.may_read_attachment(org, session, case, attachment,
                                                          viewer):
            found.append(attachment)
    return found


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def closed_key(context: dict) -> str:
    return ",".join(str(item["number"]) for item in context["items"] if item["closed"])


def _public_context(session: Session, publication: AgendaPublication) -> dict:
    return public_view(closed_now(session, publication.content))


def publication_pdfs(session: Session, publication: AgendaPublication,
                     org: Organisation | None = None) -> list[PublishedPdf]:
    """The publication's PDFs not kept yet, the members' and the public's, and the public's
    samlet version (made from the public one), made (unsaved: rendering takes seconds, so
    it happens outside the write transaction that keeps them)."""
    org = org or current_organisation()
    made = []
    for public in (False, True):
        context = _public_context(session, publication) if public else publication.content
        key = closed_key(context)
        row = _stored(session, publication.id, public, key)
        if row is None:
            row = _made(publication, public, key, render_pdf(context, org))
            made.append(row)
        # The members' samlet version is not kept: the public's is the one downloaded most,
        # and each kept one holds all its Bilag's pages again.
        if public and _stored(session, publication.id, True, key, with_bilag=True) is None:
            appended = samlet_bilag(session, context, access.PUBLIC, org)
            content = with_bilag(session, _checked(row), context, access.PUBLIC, org, appended)
            made.append(_made(publication, True, key, content, bilag=bilag_key(appended)))
    return made


def _made(publication: AgendaPublication, public: bool, key: str, content: bytes,
          bilag: str | None = None) -> PublishedPdf:
    """A PDF to keep; `bilag` (the ids of its Bilag) for a samlet version."""
    return PublishedPdf(publication_id=publication.id, public=public, closed_items=key,
                        with_bilag=bilag is not None, bilag=bilag or "",
                        sha256=checksum(content), size=len(content), content=content,
                        created_at=utcnow())


def keep(session: Session, made: list[PublishedPdf]) -> list[PublishedPdf]:
    """Keep the PDFs made (in the caller's write transaction); one kept meanwhile stays."""
    kept = [row for row in made if _stored(session, row.publication_id, row.public,
                                           row.closed_items, row.with_bilag) is None]
    session.add_all(kept)
    session.flush()
    return kept


# Publications this old without kept PDFs are left to be made when asked for: what could not
# be made for days (a rendering that fails every time) is not tried every half minute forever.
KEEP_WITHIN = timedelta(days=7)


def unkept(session: Session, now: datetime, limit: int) -> list[int]:
    """Recent publications with no PDF kept yet, oldest first."""
    kept = sa.exists().where(PublishedPdf.publication_id == AgendaPublication.id)
    return list(session.exec(select(AgendaPublication.id).where(
        ~kept, AgendaPublication.published_at >= now - KEEP_WITHIN)
        .order_by(AgendaPublication.id).limit(limit)))


def keep_publication(engine: sa.Engine, publication_id: int) -> int:
    """Make the publication's PDFs not kept yet while reading, and keep them in a short write
    transaction of their own (no write waits for the rendering); how many were kept."""
    with read_session(engine) as session:
        made = publication_pdfs(session, session.get(AgendaPublication, publication_id))
    with write_session(engine) as session:
        return len(keep(session, made))


def keep_unkept(engine: sa.Engine, now: datetime | None = None, limit: int = 3) -> int:
    """The worker's part: keep the PDFs of up to `limit` publications without any; one that
    fails is logged and the others still made. How many publications got theirs."""
    with read_session(engine) as session:
        waiting = unkept(session, now or utcnow(), limit)
    done = 0
    for publication_id in waiting:
        try:
            keep_publication(engine, publication_id)
            done += 1
        except Exception:  # one failing publication must not stop the others
            log.exception("The PDFs of publication %s could not be kept", publication_id)
    return done


def store_publication(session: Session, publication: AgendaPublication,
                      org: Organisation | None = None) -> list[PublishedPdf]:
    """Make and keep the publication's PDFs in one transaction (tests, small agendas)."""
    return keep(session, publication_pdfs(session, publication, org))


def _stored(session: Session, publication_id: int, public: bool, key: str,
            with_bilag: bool = False) -> PublishedPdf | None:
    return session.exec(select(PublishedPdf).where(
        PublishedPdf.publication_id == publication_id, PublishedPdf.public.is_(public),
        PublishedPdf.with_bilag.is_(with_bilag), PublishedPdf.closed_items == key)).first()


def _checked(row: PublishedPdf) -> bytes:
    """A kept PDF's bytes; refused when they do not match its checksum (never served)."""
    if checksum(row.content) != row.sha256 or len(row.content) != row.size:
        raise NotFound("Den gemte PDF passer ikke med sin kontrolsum; den kan ikke udleveres.")
    return row.content


def publication_pdf(session: Session, publication: AgendaPublication, *, public: bool,
                    org: Organisation | None = None,
                    bilag_for: access.Viewer | None = None) -> bytes:
    """The publication's PDF as kept (its checksum checked), or made from the publication
    when none is kept for what is closed now; `bilag_for`: with the Bilag that viewer may
    read appended (with_bilag; the public's when `public`, kept too: served only while the
    public may read exactly the Bilag it was made with)."""
    org = org or current_organisation()
    context = _public_context(session, publication) if public else publication.content
    key = closed_key(context)
    if bilag_for is None:
        return _document(session, publication, public, key, context, org)
    reader = access.PUBLIC if public else bilag_for
    appended = samlet_bilag(session, context, reader, org)
    if public:
        samlet = _stored(session, publication.id, True, key, with_bilag=True)
        if samlet is not None and samlet.bilag == bilag_key(appended):
            return _checked(samlet)
    document = _document(session, publication, public, key, context, org)
    return with_bilag(session, document, context, reader, org, appended)


def _document(session: Session, publication: AgendaPublication, public: bool, key: str,
              context: dict, org: Organisation) -> bytes:
    """The publication's document as kept for `key`, else made from `context`."""
    row = _stored(session, publication.id, public, key)
    return render_pdf(context, org) if row is None else _checked(row)


def stored_pdfs(session: Session, publication_id: int) -> list[PublishedPdf]:
    return list(session.exec(select(PublishedPdf).where(
        PublishedPdf.publication_id == publication_id).order_by(PublishedPdf.id)))


def viewer_pdf(session: Session, meeting: Meeting, viewer: access.Viewer, *,
               publication: int | None = None, org: Organisation | None = None,
               med_bilag: bool = False) -> bytes:
    """The PDF a signed-in person may read: the document now (each closed item they may not
    read reduced), or publication number `publication` as kept — the members' version if
    they may read everything on it (_reads_all), else the public one; `med_bilag`: the samlet
    version, with the Bilag they may read."""
    org = org or current_organisation()
    if publication is None:
        items = queries.items(session, meeting.id)
        context = viewer_context(session, meeting, viewer, org=org,
                                 kind=document_kind(meeting, items))
        content = render_pdf(context, org)
        return with_bilag(session, content, context, viewer, org) if med_bilag else content
    kept = find_publication(session, meeting, publication)
    return publication_pdf(session, kept, public=not _reads_all(session, org, meeting, kept,
                                                                   viewer),
                           org=org, bilag_for=viewer if med_bilag else None)


def _reads_all(session: Session, org: Organisation, meeting: Meeting,
               publication: AgendaPublication, viewer: access.Viewer) -> bool:
    """May the viewer read everything the members' version of the publication shows: every
    closed item of the meeting, and every Bilag it lists (a not-public one is listed there
    by title)? Anyone else gets the public version. (Everyone reads an open item, so "every
    closed item" is "every item".)"""
    items = queries.items(session, meeting.id)
    if len(readable_items(org, session, items, meeting.body_code, viewer)) != len(items):
        return False
    listed = [shown["id"] for item in publication.content["items"]
              for shown in (item.get("case") or {}).get("attachments", [])]
    attachments = [a for a in (session.get(Attachment, i) for i in listed) if a is not None]
    cases = {case.id: case for case in (session.get(Case, a.case_id) for a in attachments)
             if case is not None}
    return len(bilag.readable_of_many(org, session, cases, attachments, viewer)) == len(listed)


def find_publication(session: Session, meeting: Meeting, seq: int) -> AgendaPublication:
    found = queries.publication(session, meeting.id, seq)
    if found is None:
        raise NotFound(f"Mødet har ingen offentliggjort udgave {seq}.")
    return found


def filename(meeting: Meeting, med_bilag: bool = False) -> str:
    """A plain file name: "moede-SU-04-10-2022.pdf" ("…-med-bilag.pdf", the samlet one)."""
    code = "".join(c for c in meeting.body_code if c.isascii() and c.isalnum()) or "organ"
    return f"moede-{code}-{format_date(meeting.starts_at)}{'-med-bilag' if med_bilag else ''}.pdf"
