"""Who may read a case: the one closed-item rule, wherever a case's text is served.

A case is a lukket punkt when it is confidential or any of its agenda items was closed; the
person may then read its text only if `workflow.access.may_read_closed` says so for the bodies
on the case's route. The case page, the API, feeds, follow emails and the agenda documents all
ask here, so the rule cannot drift between them.

It is asked when something is served, never remembered from when it was made: a case can
become closed after its agenda was published, after a follower subscribed to its calendar,
or after its news was queued for mail. Within one transaction of a session the answer is
kept (`session.info`), so that a page asking it for its text, its Bilag and its history
costs one query; it is forgotten when the transaction ends, when the session flushes a
change, and whenever the session holds a change not yet flushed.
"""

from sqlalchemy import event
from sqlmodel import Session, select

from cases import queries
from cases.models import Case, Membership, User
from cases.organisation import Organisation
from meetings.models import AgendaItem
from meetings.queries import item_cases
from workflow import access


def case_is_closed(session: Session, case: Case) -> bool:
    """Is the case a lukket punkt? It is when confidential, or when any agenda item of it was
    marked closed ("Gør til lukket punkt"): closing it on one agenda closes its text
    everywhere (case page, API, feeds, follow emails), not only on that agenda."""
    return case.id in closed_cases(session, [case])


def closed_cases(session: Session, cases: list[Case]) -> set[int]:
    """The ids of those cases that are lukkede punkter (case_is_closed for many at once)."""
    on_agenda = _closed_on_an_agenda(session, [case.id for case in cases if not case.confidential])
    return {case.id for case in cases if case.confidential or case.id in on_agenda}


_KNOWN = "sagsgang.closed_on_an_agenda"  # session.info: case id -> closed on an agenda


def _closed_on_an_agenda(session: Session, case_ids: list[int]) -> set[int]:
    if not case_ids:
        return set()
    if session.new or session.dirty or session.deleted:
        _forget(session)  # an item's mark may be about to change: ask the database
    known = session.info.setdefault(_KNOWN, {})
    unknown = [case_id for case_id in case_ids if case_id not in known]
    if unknown:
        closed_items = select(AgendaItem.case_id).where(AgendaItem.case_id.in_(unknown),
                                                        AgendaItem.closed.is_(True)).distinct()
        closed = set(session.exec(closed_items))
        known.update((case_id, case_id in closed) for case_id in unknown)
    return {case_id for case_id in case_ids if known[case_id]}


# Also at each flush: SQLAlchemy flushes in a transaction of its own inside the session's.
@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, *_) -> None:
    session.info.pop(_KNOWN, None)


def readable_cases(org: Organisation, session: Session, cases: list[Case],
                   viewer: access.Viewer) -> set[int]:
    """The ids of the cases whose text the viewer may read: `may_read` for many cases at
    once (a search's hits), with one query for which of them are closed."""
    closed = closed_cases(session, cases)
    return {case.id for case in cases if case.id not in closed
            or access.may_read_closed(viewer, case_bodies(org, session, case))}


def item_is_closed(session: Session, item: AgendaItem, case: Case | None = None) -> bool:
    """Is the agenda item a lukket punkt? Marked so itself, or its case is closed (even if
    this item's own mark is off)."""
    if item.closed:
        return True
    case = case or (session.get(Case, item.case_id) if item.case_id else None)
    return closed_item(item, case, closed_cases(session, [case]) if case else set())


def closed_item(item: AgendaItem, case: Case | None, closed_case_ids: set[int]) -> bool:
    """item_is_closed with the closed cases known (closed_cases of a meeting's cases)."""
    return item.closed or (case is not None and case.id in closed_case_ids)


def open_items(session: Session, items: list[AgendaItem]) -> list[AgendaItem]:
    """The items that are not lukkede punkter, in order: item_is_closed for a meeting's items
    at once (one query for their cases, one for which of those are closed)."""
    cases = item_cases(session, [item for item in items if not item.closed])
    closed = closed_cases(session, list(cases.values()))
    return [item for item in items if not closed_item(item, cases.get(item.case_id), closed)]


def case_bodies(org: Organisation, session: Session, case: Case) -> set[str]:
    finance, council = org.finance_committee, org.council
    return access.route_bodies(case.deciding_body, list(case.committees),
                               queries.awaiting_bodies(session, case.id),
                               finance.code if finance else None,
                               council.code if council else None)


def may_read(org: Organisation, session: Session, case: Case, viewer: access.Viewer) -> bool:
    return not case_is_closed(session, case) \
        or access.may_read_closed(viewer, case_bodies(org, session, case))


def may_read_item(org: Organisation, session: Session, item: AgendaItem, body_code: str,
                  viewer: access.Viewer) -> bool:
    """May the viewer read this item's text on the agenda of `body_code`? A case's item as
    its case; a closed standing item (no case) only in the meeting's own body."""
    return item.id in readable_items(org, session, [item], body_code, viewer)


def readable_items(org: Organisation, session: Session, items: list[AgendaItem],
                   body_code: str, viewer: access.Viewer) -> set[int]:
    """The ids of the items whose text the viewer may read (may_read_item for a meeting's
    items at once: one query for which of their cases are closed)."""
    cases = {item.id: session.get(Case, item.case_id) for item in items if item.case_id}
    readable = readable_cases(org, session, [case for case in cases.values() if case], viewer)
    standing = access.may_read_closed(viewer, {body_code})
    return {item.id for item in items
            if (cases[item.id].id in readable if cases.get(item.id) is not None
                else not item.closed or standing)}


def viewer_of(session: Session, user: User | None) -> access.Viewer:
    """The user as the rule sees them now (their role, their bodies today); someone no longer
    active, or unknown, reads as the public."""
    if user is None or not user.active:
        return access.PUBLIC
    bodies = session.exec(select(Membership.body_code).where(Membership.user_id == user.id))
    return access.Viewer(role=user.role, bodies=frozenset(bodies))
