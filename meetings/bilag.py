"""Who may read a Bilag: the one rule, wherever a Bilag is listed or served (case page, API,
agenda documents and PDFs, search).

A Bilag is read as its case is (meetings.visibility: a lukket punkt's Bilag only by those who
may read its closed text); a Bilag marked not public ("ikke offentligt") also only by them,
even when the case is open. Anyone else is told it does not exist (404), as for a case
number that does not.
"""

from sqlmodel import Session

from cases import files, queries
from cases.models import Attachment, Case
from cases.organisation import Organisation
from meetings.visibility import case_bodies, may_read, readable_cases
from workflow import access
from workflow.errors import NotFound

NOT_FOUND = "Bilaget findes ikke."


def may_read_attachment(org: Organisation, session: Session, case: Case,
                        attachment: Attachment, viewer: access.Viewer) -> bool:
    if not may_read(org, session, case, viewer):
        return False
    return attachment.public or access.may_read_closed(viewer, case_bodies(org, session, case))


def readable_of_many(org: Organisation, session: Session, cases: dict[int, Case],
                     attachments: list[Attachment], viewer: access.Viewer) -> list[Attachment]:
    """`may_read_attachment` for many Bilag at once (a page of the open data): which of
    their `cases` (by id) may be read is one query (visibility.readable_cases)."""
    readable = readable_cases(org, session, list(cases.values()), viewer)
    reads_closed: dict[int, bool] = {}  # per case: its route's bodies are one query

    def may_read_not_public(case_id: int) -> bool:
        if case_id not in reads_closed:
            reads_closed[case_id] = access.may_read_closed(
                viewer, case_bodies(org, session, cases[case_id]))
        return reads_closed[case_id]

    return [a for a in attachments
            if a.case_id in readable and (a.public or may_read_not_public(a.case_id))]


def readable_attachments(org: Organisation, session: Session, case: Case,
                         viewer: access.Viewer) -> list[Attachment]:
    """The case's Bilag the viewer may read, in order (the others are not even listed):
    readable_of_many for one case, so that ten Bilag cost the queries of one."""
    return readable_of_many(org, session, {case.id: case}, queries.attachments(session, case.id),
                            viewer)


def attachment_to_serve(org: Organisation, session: Session, attachment_id: int,
                        viewer: access.Viewer) -> tuple[Attachment, bytes]:
    """The Bilag's row and file, checked; NotFound alike when there is none, when it is a
    title only and when the viewer may not read it (its existence is not told)."""
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or not attachment.digest:
        raise NotFound(NOT_FOUND)
    case = session.get(Case, attachment.case_id)
    if not may_read_attachment(org, session, case, attachment, viewer):
        raise NotFound(NOT_FOUND)
    return attachment, files.open(session, attachment.digest)


def described(attachment: Attachment) -> dict:
    """A Bilag as pages and the API show it; `url` only when it has a file."""
    return {"id": attachment.id, "number": attachment.number, "title": attachment.title,
            "recommended": attachment.recommended, "public": attachment.public,
            "filename": attachment.filename, "media_type": attachment.media_type,
            "size": attachment.size,
            "url": f"/bilag/{attachment.id}" if attachment.digest else None}
