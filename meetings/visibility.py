"""Who may read a case: the one closed-item rule, wherever a case's text is served.

A case is a lukket punkt when it is confidential or any of its agenda items was closed; the
person may then read its text only if `workflow.access.may_read_closed` says so for the bodies
on the case's route. The case page, the API, feeds, follow emails and the agenda documents all
ask here, so the rule cannot drift between them.
"""

from sqlmodel import Session, select

from cases import queries
from cases.models import Case
from cases.organisation import Organisation
from meetings.models import AgendaItem
from workflow import access


def case_is_closed(session: Session, case: Case) -> bool:
    """Is the case a lukket punkt? It is when confidential, or when any agenda item of it was
    marked closed ("Gør til lukket punkt"): closing it on one agenda closes its text
    everywhere (case page, API, feeds, follow emails), not only on that agenda."""
    if case.confidential:
        return True
    closed_item = select(AgendaItem.id).where(AgendaItem.case_id == case.id,
                                              AgendaItem.closed.is_(True)).limit(1)
    return session.exec(closed_item).first() is not None


def case_bodies(org: Organisation, session: Session, case: Case) -> set[str]:
    finance, council = org.finance_committee, org.council
    return access.route_bodies(case.deciding_body, list(case.committees),
                               queries.awaiting_bodies(session, case.id),
                               finance.code if finance else None,
                               council.code if council else None)


def may_read(org: Organisation, session: Session, case: Case, viewer: access.Viewer) -> bool:
    return not case_is_closed(session, case) or access.may_read_closed(
        viewer, case_bodies(org, session, case))
