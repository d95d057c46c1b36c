"""Who may do what: the role matrix, and who may read a closed item (lukket punkt).

Pure functions over plain values, so the matrix is tested without a server. Every route
names the permission it needs; the check runs on the server for every request.
"""

from dataclasses import dataclass

SECRETARIAT = "secretariat"
CASE_OWNER = "case_owner"
MANAGER = "manager"
MEMBER = "member"
ADMIN = "admin"
ALL_ROLES = (SECRETARIAT, CASE_OWNER, MANAGER, MEMBER, ADMIN)
STAFF = (SECRETARIAT, CASE_OWNER, MANAGER, ADMIN)

PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view_cases": ALL_ROLES,
    "view_queues": STAFF,
    "view_dashboard": (MANAGER, SECRETARIAT, ADMIN),
    "create_case": (SECRETARIAT, CASE_OWNER, ADMIN),
    "edit_case": (SECRETARIAT, CASE_OWNER, ADMIN),  # a case owner: their own cases only
    "add_deadline": (SECRETARIAT, CASE_OWNER, ADMIN),
    "add_hearing": (SECRETARIAT, CASE_OWNER, ADMIN),
    "record_hearing_response": (SECRETARIAT, CASE_OWNER, ADMIN),
    "close_hearing": (SECRETARIAT, ADMIN),
    "fire_transition": (SECRETARIAT, ADMIN),
    "record_decision": (SECRETARIAT, ADMIN),
    "manage_agenda": (SECRETARIAT, ADMIN),
    "manage_meetings": (SECRETARIAT, ADMIN),
    "manage_minutes": (SECRETARIAT, ADMIN),
    "approve_minutes": (MEMBER,),
    "view_meetings": ALL_ROLES,
    "follow": ALL_ROLES,
    "manage_users": (ADMIN,),
    "view_failed_mail": (SECRETARIAT, ADMIN),
}

PERMISSION_LABELS = {
    "view_cases": "se sager",
    "view_queues": "se organernes køer",
    "view_dashboard": "se ledelsens overblik",
    "create_case": "oprette sager",
    "edit_case": "redigere sager",
    "add_deadline": "tilføje frister",
    "add_hearing": "oprette høringer",
    "record_hearing_response": "registrere høringssvar",
    "close_hearing": "afslutte høringer",
    "fire_transition": "flytte sager i sagsgangen",
    "record_decision": "registrere beslutninger",
    "manage_agenda": "sætte dagsordener",
    "manage_meetings": "oprette, flytte og aflyse møder",
    "manage_minutes": "registrere fremmøde og sende referater til godkendelse",
    "approve_minutes": "godkende referater",
    "view_meetings": "se møder",
    "follow": "følge sager",
    "manage_users": "administrere brugere",
    "view_failed_mail": "se e-mails, der ikke kunne sendes",
}


def allowed(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]


def refusal(permission: str) -> str:
    return f"Du har ikke adgang til at {PERMISSION_LABELS[permission]}."


def may_change_case(role: str, permission: str, *, email: str, centre: str | None,
                    case_owner_email: str, case_centre: str) -> bool:
    """May this person do `permission` to this one case (add a deadline, a hearing, a
    response, rework its text, report it delivered, move it)? The one rule every write to a
    case goes through, on top of the role matrix: the role must have the permission; the
    secretariat (and admin) may then act on any case, a case owner only on their own: the
    cases they are sagsbehandler on, and a case of their own centre that names no
    sagsbehandler (registered without one, someone in the centre that owns it must write it).
    """
    if not allowed(role, permission):
        return False
    if role != CASE_OWNER:
        return True
    if case_owner_email:
        return bool(email) and email.strip().lower() == case_owner_email.strip().lower()
    return centre is not None and centre == case_centre


def own_cases_only(doing: str) -> str:
    """A case owner's refusal on another's case; `doing` says what, ending in the word that
    takes "sager": "tilføje frister til", "redigere"."""
    return f"Du kan kun {doing} sager, som du selv er sagsbehandler på."


@dataclass(frozen=True)
class Viewer:
    """What the closed-item rule needs to know about the person looking."""

    role: str | None  # None: the public
    bodies: frozenset[str] = frozenset()  # the bodies the person is a member of


PUBLIC = Viewer(role=None)


def route_bodies(deciding_body: str, committees: list[str], awaiting: list[str],
                 finance_body: str | None, council_body: str | None) -> set[str]:
    """Every body that treats or will treat the case."""
    bodies = {deciding_body, *committees, *awaiting}
    if deciding_body == council_body:
        bodies |= {b for b in (finance_body, council_body) if b}
    return bodies


def may_read_closed(viewer: Viewer, case_bodies: set[str]) -> bool:
    """A closed item's text: staff may read it; a member only in a body of their own."""
    if viewer.role is None:
        return False
    if viewer.role == MEMBER:
        return bool(viewer.bodies & case_bodies)
    return True
