"""May this user change this case: the one web helper every write to a case goes through.

The rule itself is workflow.access.may_change_case (the secretariat any case, a case owner
their own); this finds the case a request is about (by number, hearing or agenda item) and
refuses with 403 before anything is written. The role check of `require` runs first, when
the request arrives; this is the per-case check on top, inside the write transaction.
"""

from sqlmodel import Session

from cases import queries
from cases.models import Case, Hearing
from meetings import queries as meeting_queries
from web.auth import CurrentUser, Forbidden
from workflow import access
from workflow.errors import NotFound


def may_change(user: CurrentUser, case: Case, permission: str) -> bool:
    return access.may_change_case(user.role, permission, email=user.email, centre=user.centre,
                                  case_owner_email=case.owner_email, case_centre=case.centre)


def case_to_change(session: Session, user: CurrentUser, case: Case | str, permission: str,
                   doing: str) -> Case:
    """The case (a number, or the row) the user is about to change, or Forbidden. `doing`
    completes the case owner's refusal: "Du kan kun <doing> sager, som du selv er
    sagsbehandler på." """
    if isinstance(case, str):
        case = queries.get_case(session, case)
    if not user.can(permission):
        raise Forbidden(access.refusal(permission))
    if not may_change(user, case, permission):
        raise Forbidden(access.own_cases_only(doing))
    return case


def hearing_case(session: Session, hearing_id: int) -> Case:
    hearing = session.get(Hearing, hearing_id)
    if hearing is None:
        raise NotFound(f"Høringen {hearing_id} findes ikke.")
    return session.get(Case, hearing.case_id)


def item_case(session: Session, item_id: int) -> Case | None:
    """The case behind an agenda item; None for a standing item (Meddelelser, Eventuelt)."""
    item = meeting_queries.get_item(session, item_id)
    return session.get(Case, item.case_id) if item.case_id else None
