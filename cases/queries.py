"""Read-only lookups over the case register."""

from sqlmodel import Session, func, select

from cases.models import (
    Attachment,
    Awaiting,
    Case,
    CaseEvent,
    CaseLink,
    Deadline,
    Hearing,
    HearingParty,
    HearingResponse,
    Proposal,
    Treatment,
    User,
)
from workflow.errors import NotFound


def get_case(session: Session, number: str) -> Case:
    case = session.exec(select(Case).where(Case.number == number)).first()
    if case is None:
        raise NotFound(f"Sagen {number!r} findes ikke.")
    return case


def list_cases(session: Session, *, status: str | None = None, centre: str | None = None,
               limit: int = 500) -> list[Case]:
    query = select(Case)
    if status:
        query = query.where(Case.status == status)
    if centre:
        query = query.where(Case.centre == centre)
    return list(session.exec(query.order_by(Case.number).limit(limit)))


def queue(session: Session, body_code: str) -> list[tuple[Case, Awaiting]]:
    """The cases due at this body and not yet treated there, oldest first."""
    query = (select(Case, Awaiting).join(Awaiting, Awaiting.case_id == Case.id)
             .where(Awaiting.body_code == body_code).order_by(Awaiting.since, Case.number))
    return list(session.exec(query))


def awaiting_bodies(session: Session, case_id: int) -> list[str]:
    rows = session.exec(select(Awaiting.body_code).where(Awaiting.case_id == case_id))
    return list(rows)


def awaiting_rows(session: Session, case_id: int) -> list[Awaiting]:
    """The case's queue rows (with their delivered marks), by body code."""
    return list(session.exec(select(Awaiting).where(Awaiting.case_id == case_id)
                             .order_by(Awaiting.body_code)))


def user_names(session: Session, usernames) -> dict[str, str]:
    """username → name, for actors recorded by username; an unknown actor (cli) is left out."""
    wanted = {name for name in usernames if name}
    if not wanted:
        return {}
    return dict(session.exec(select(User.username, User.name)
                             .where(User.username.in_(sorted(wanted)))).all())


def events(session: Session, case_id: int) -> list[CaseEvent]:
    return list(session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)))


# The payload flag of an agenda placement recorded after its meeting was held (meetings.
# services.place_case with afterwards): the meeting is entered afterwards (efterregistreret).
RECORDED_AFTERWARDS = "recorded_afterwards"


def items_recorded_afterwards(session: Session, case_id: int) -> set[int]:
    """The agenda items of the case placed on a meeting after it was held: what was decided
    on them is history entered afterwards, news to nobody."""
    placed = session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id,
                                                  CaseEvent.trigger == "place_on_agenda"))
    return {event.payload.get("agenda_item_id") for event in placed
            if event.payload.get(RECORDED_AFTERWARDS)}


def decision_history(session: Session, case_id: int) -> list[Treatment]:
    """The Beslutningshistorik: every treatment, oldest first."""
    return list(session.exec(select(Treatment).where(Treatment.case_id == case_id)
                             .order_by(Treatment.meeting_date, Treatment.id)))


def grouped(session: Session, column, ids, *order) -> dict[int, list]:
    """The rows whose `column` (Treatment.case_id, say) is one of `ids`, in one query, by
    that value, each list in `order`: a meeting's items read together, not one query per
    item and table."""
    found: dict[int, list] = {value: [] for value in ids}
    if found:
        for row in session.exec(select(column.class_).where(column.in_(list(found)))
                                .order_by(*order)):
            found[getattr(row, column.key)].append(row)
    return found


def proposals(session: Session, case_id: int) -> list[Proposal]:
    return list(session.exec(select(Proposal).where(Proposal.case_id == case_id)
                             .order_by(Proposal.number)))


def attachments(session: Session, case_id: int) -> list[Attachment]:
    return list(session.exec(select(Attachment).where(Attachment.case_id == case_id)
                             .order_by(Attachment.number)))


def deadlines(session: Session, case_id: int) -> list[Deadline]:
    return list(session.exec(select(Deadline).where(Deadline.case_id == case_id)
                             .order_by(Deadline.due_date)))


def links(session: Session, case_id: int) -> list[tuple[CaseLink, Case | None]]:
    query = (select(CaseLink, Case).join(Case, Case.id == CaseLink.linked_case_id, isouter=True)
             .where(CaseLink.case_id == case_id).order_by(CaseLink.id))
    return list(session.exec(query))


def hearings(session: Session, case_id: int) -> list[Hearing]:
    return list(session.exec(select(Hearing).where(Hearing.case_id == case_id)
                             .order_by(Hearing.deadline, Hearing.id)))


def hearing_parties(session: Session, hearing_id: int) -> list[HearingParty]:
    return list(session.exec(select(HearingParty).where(HearingParty.hearing_id == hearing_id)
                             .order_by(HearingParty.id)))


def hearing_responses(session: Session, hearing_id: int) -> list[HearingResponse]:
    return list(session.exec(select(HearingResponse)
                             .where(HearingResponse.hearing_id == hearing_id)
                             .order_by(HearingResponse.received_on, HearingResponse.id)))


def case_hearing_responses(session: Session,
                           case_id: int) -> list[tuple[HearingResponse, HearingParty]]:
    """Every høringssvar on the case, each with the party that gave it, in order received."""
    return list(session.exec(
        select(HearingResponse, HearingParty)
        .join(HearingParty, HearingParty.id == HearingResponse.party_id)
        .join(Hearing, Hearing.id == HearingResponse.hearing_id)
        .where(Hearing.case_id == case_id)
        .order_by(HearingResponse.received_on, HearingResponse.id)))


def open_blocking_hearings(session: Session, case_id: int) -> int:
    return session.exec(select(func.count()).select_from(Hearing).where(
        Hearing.case_id == case_id, Hearing.blocking, Hearing.closed_on.is_(None))).one()
