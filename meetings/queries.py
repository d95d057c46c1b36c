"""Read-only lookups over meetings and agendas."""

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import defer
from sqlmodel import Session, select

from cases import queries as case_queries
from cases.models import Awaiting, Case, Hearing, HearingParty, HearingResponse, Membership, User
from cases.organisation import Organisation
from meetings.attendance import ATTENDED
from meetings.calendar import agenda_deadlines, end_of_day, local_day, local_instant, rules_for
from meetings.models import (
    AGENDA_PUBLISHED,
    CANCELLED,
    HELD_LABEL,
    MEETING_STATUSES,
    AgendaItem,
    AgendaPublication,
    Attendance,
    ItemAbsence,
    ItemNote,
    Meeting,
    MinutesApproval,
    Vote,
    VoteVoter,
)
from workflow.errors import NotFound


def get_meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(f"Mødet {meeting_id} findes ikke.")
    return meeting


def meeting_day(meeting: Meeting) -> date:
    """The meeting's calendar day in Copenhagen."""
    return local_day(meeting.starts_at)


def status_label(meeting: Meeting, today: date) -> str:
    """The meeting's status as people say it: "Afholdt" once its day has passed (a 2022
    meeting still "Planlagt" reads as a dead end), else as stored."""
    if meeting.status != CANCELLED and meeting_day(meeting) < today:
        return HELD_LABEL
    return MEETING_STATUSES[meeting.status]


def find_meeting(session: Session, body_code: str, day: date,
                 include_cancelled: bool = False) -> Meeting | None:
    """The body's meeting on a Copenhagen calendar day (the first, if there are several)."""
    query = (select(Meeting).where(Meeting.body_code == body_code,
                                   Meeting.starts_at >= local_instant(day),
                                   Meeting.starts_at <= end_of_day(day))
             .order_by(Meeting.starts_at))
    if not include_cancelled:
        query = query.where(Meeting.status != CANCELLED)
    return session.exec(query).first()


def meeting_by_body_day(session: Session, body_code: str, day: date) -> Meeting:
    found = find_meeting(session, body_code, day)
    if found is None:
        raise NotFound(f"{body_code} har intet møde den {day:%d-%m-%Y}.")
    return found


def meetings(session: Session, *, body_code: str | None = None, start: datetime | None = None,
             end: datetime | None = None, include_cancelled: bool = False,
             first: int | None = None, last: int | None = None) -> list[Meeting]:
    """The meetings in time order; `first` or `last`: only that many from the start or the
    end (counted by the database: twenty years hold tens of thousands)."""
    query = select(Meeting)
    if body_code:
        query = query.where(Meeting.body_code == body_code)
    if start:
        query = query.where(Meeting.starts_at >= start)
    if end:
        query = query.where(Meeting.starts_at <= end)
    if not include_cancelled:
        query = query.where(Meeting.status != CANCELLED)
    if last:
        latest = query.order_by(Meeting.starts_at.desc(), Meeting.body_code.desc()).limit(last)
        return list(reversed(session.exec(latest).all()))
    return list(session.exec(query.order_by(Meeting.starts_at, Meeting.body_code).limit(first)))


# Each body's meeting days, in order: what the route planner (meetings.planner) plans on.
Calendar = dict[str, list[date]]

_MEETING = Meeting.__table__
_CALENDAR = sa.select(_MEETING.c.body_code, _MEETING.c.starts_at) \
    .where(_MEETING.c.status != CANCELLED)


def calendar(session: Session, since: date | None = None) -> Calendar:
    """Every body's (not cancelled) meeting days, for the route planner; `since`: from that
    day on only (a route is planned from today). Two columns as plain rows, not meetings:
    twenty years hold tens of thousands, and a sweep refreshing many cases reads it once."""
    query = _CALENDAR
    if since:
        query = query.where(_MEETING.c.starts_at >= local_instant(since))
    days: Calendar = {}
    for body_code, starts_at in session.connection().execute(
            query.order_by(_MEETING.c.starts_at)):
        days.setdefault(body_code, []).append(local_day(starts_at))
    return days


def items(session: Session, meeting_id: int) -> list[AgendaItem]:
    return list(session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                             .order_by(AgendaItem.number)))


def item_cases(session: Session, items: list[AgendaItem]) -> dict[int, Case]:
    """The items' cases by id (one query)."""
    ids = {item.case_id for item in items if item.case_id}
    return {case.id: case for case in session.exec(select(Case).where(Case.id.in_(ids)))} \
        if ids else {}


def public_item_condition():
    """The items the public sees, as a condition on AgendaItem joined with its Meeting: on a
    published agenda, once published themselves; all of a meeting published before
    publications were kept (as web.public.published_items decides item by item)."""
    kept = sa.exists().where(AgendaPublication.meeting_id == Meeting.id)
    return sa.and_(Meeting.agenda_status == AGENDA_PUBLISHED,
                   sa.or_(AgendaItem.published_in.is_not(None), ~kept))


def get_item(session: Session, item_id: int) -> AgendaItem:
    item = session.get(AgendaItem, item_id)
    if item is None:
        raise NotFound(f"Dagsordenspunktet {item_id} findes ikke.")
    return item


def item_by_number(session: Session, meeting_id: int, number: int) -> AgendaItem:
    found = session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id,
                                                  AgendaItem.number == number)).first()
    if found is None:
        raise NotFound(f"Mødet har intet punkt {number}.")
    return found


def open_placement(session: Session, case_id: int, body_code: str) -> AgendaItem | None:
    """The case's undecided item on a (not cancelled) agenda of this body, if any."""
    query = (select(AgendaItem).join(Meeting, Meeting.id == AgendaItem.meeting_id)
             .where(AgendaItem.case_id == case_id, Meeting.body_code == body_code,
                    Meeting.status != CANCELLED, AgendaItem.decided_at.is_(None)))
    return session.exec(query).first()


@dataclass
class QueueEntry:
    case: Case
    since: datetime
    placed_on: Meeting | None  # the agenda it stands on now, None: still to be placed


def agenda_queue(session: Session, body_code: str) -> list[QueueEntry]:
    """The body's queue (cases.queries.queue) and, per case, the agenda it is placed on.

    A case on a cancelled meeting, or one postponed at a meeting, counts as not placed: it
    is back in the list of cases waiting for an agenda.
    """
    placed = dict(session.exec(
        select(AgendaItem.case_id, Meeting).join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .join(Awaiting, (Awaiting.case_id == AgendaItem.case_id)
              & (Awaiting.body_code == body_code))
        .where(Meeting.body_code == body_code, Meeting.status != CANCELLED,
               AgendaItem.decided_at.is_(None))).all())
    entries = [QueueEntry(case=case, since=awaiting.since, placed_on=placed.get(case.id))
               for case, awaiting in case_queries.queue(session, body_code)]
    return entries + heard_queue(session, body_code, {e.case.id for e in entries})


def heard_queue(session: Session, body_code: str, skip: set[int]) -> list[QueueEntry]:
    """The cases the body is to answer a hearing on (a council: at its own meeting), each
    with the agenda it stands on: its queue besides the workflow's."""
    answered = select(HearingResponse.id).where(HearingResponse.party_id == HearingParty.id)
    rows = session.exec(
        select(Case, Hearing.opened_on).join(Hearing, Hearing.case_id == Case.id)
        .join(HearingParty, HearingParty.hearing_id == Hearing.id)
        .where(HearingParty.body_code == body_code, Hearing.closed_on.is_(None),
               ~answered.exists()).order_by(Hearing.opened_on, Case.id)).all()
    found, seen = [], set(skip)
    for case, opened_on in rows:
        if case.id in seen:
            continue
        seen.add(case.id)
        placed = session.exec(
            select(Meeting).join(AgendaItem, AgendaItem.meeting_id == Meeting.id)
            .where(AgendaItem.case_id == case.id, Meeting.body_code == body_code,
                   Meeting.status != CANCELLED, AgendaItem.decided_at.is_(None))).first()
        found.append(QueueEntry(case=case, since=local_instant(opened_on), placed_on=placed))
    return found


def publications(session: Session, meeting_id: int) -> list[AgendaPublication]:
    """The meeting's publications in order, without the agenda each kept (`content`, the
    whole document as published: tens of kilobytes of JSON each, which the pages and
    feeds listing them never show; publication() reads one with it)."""
    return publications_of(session, [meeting_id])[meeting_id]


def publications_of(session: Session,
                    meeting_ids: list[int]) -> dict[int, list[AgendaPublication]]:
    """publications() of each of the meetings, in one query."""
    found: dict[int, list[AgendaPublication]] = {meeting_id: [] for meeting_id in meeting_ids}
    if meeting_ids:
        for publication in session.exec(
                select(AgendaPublication).options(defer(AgendaPublication.content))
                .where(AgendaPublication.meeting_id.in_(meeting_ids))
                .order_by(AgendaPublication.meeting_id, AgendaPublication.seq)):
            found[publication.meeting_id].append(publication)
    return found


def publication(session: Session, meeting_id: int, seq: int) -> AgendaPublication | None:
    """Publication `seq` of the meeting (1 = the agenda, 2.. = tillæg) with what it kept."""
    return session.exec(select(AgendaPublication).where(
        AgendaPublication.meeting_id == meeting_id, AgendaPublication.seq == seq)).first()


def item_is_published(item: AgendaItem, meeting: Meeting, publications_kept: bool) -> bool:
    """The one rule of what the public sees of an agenda: an item on a published agenda, once
    published itself (an item placed since waits for its tillægsdagsorden); on a meeting
    published before publications were kept (`publications_kept` False) every item."""
    if meeting.agenda_status != AGENDA_PUBLISHED:
        return False
    return item.published_in is not None or not publications_kept


def published_items(session: Session, meeting: Meeting,
                    publications: list[AgendaPublication] | None = None) -> list[AgendaItem]:
    """The meeting's items the public sees (item_is_published), in order; `publications`:
    the meeting's, when the caller has read them."""
    kept = None if publications is None else {meeting.id: publications}
    return published_items_of(session, [meeting], kept)[meeting.id]


def published_items_of(session: Session, meetings: list[Meeting],
                       kept: dict[int, list[AgendaPublication]] | None = None,
                       ) -> dict[int, list[AgendaItem]]:
    """published_items() of each of the meetings, in two queries (one if the caller has
    their publications, `kept`)."""
    out = [meeting for meeting in meetings if meeting.agenda_status == AGENDA_PUBLISHED]
    found: dict[int, list[AgendaItem]] = {meeting.id: [] for meeting in meetings}
    if not out:
        return found
    kept = kept if kept is not None else publications_of(session, [m.id for m in out])
    by_id = {meeting.id: meeting for meeting in out}
    for item in session.exec(select(AgendaItem).where(AgendaItem.meeting_id.in_(by_id))
                             .order_by(AgendaItem.meeting_id, AgendaItem.number)):
        meeting = by_id[item.meeting_id]
        if item_is_published(item, meeting, bool(kept[meeting.id])):
            found[meeting.id].append(item)
    return found


def attendance(session: Session, meeting_id: int) -> list[Attendance]:
    """The meeting's attendance list, in the order it was recorded."""
    return list(session.exec(select(Attendance).where(Attendance.meeting_id == meeting_id)
                             .order_by(Attendance.id)))


def absences(session: Session, meeting_id: int) -> list[Attendance]:
    """Those on the list who did not take part (Afbud, Fraværende), by name."""
    return list(session.exec(select(Attendance).where(Attendance.meeting_id == meeting_id,
                                                      Attendance.status != ATTENDED)
                             .order_by(Attendance.name)))


def not_under_items(session: Session, meeting_id: int) -> dict[int, list[int]]:
    """Per attendance row: the ids of the items the person took no part in."""
    rows = session.exec(select(ItemAbsence).join(
        Attendance, Attendance.id == ItemAbsence.attendance_id)
        .where(Attendance.meeting_id == meeting_id)).all()
    found: dict[int, list[int]] = {}
    for row in rows:
        found.setdefault(row.attendance_id, []).append(row.agenda_item_id)
    return found


def absent_from_items(session: Session, item_ids: list[int]) -> list[tuple[int, Attendance]]:
    """(item id, attendance row) for each who took no part in one of the items, whatever
    their meetings, in the order the attendance list was recorded."""
    if not item_ids:
        return []
    return list(session.exec(
        select(ItemAbsence.agenda_item_id, Attendance)
        .join(Attendance, Attendance.id == ItemAbsence.attendance_id)
        .where(ItemAbsence.agenda_item_id.in_(item_ids)).order_by(Attendance.id)).all())


def item_votes(session: Session, item_ids: list[int]) -> dict[int, list[tuple[Vote,
                                                                             list[VoteVoter]]]]:
    """Per item: its votes (the item as a whole first, then by proposal) with their voters."""
    if not item_ids:
        return {}
    votes = session.exec(select(Vote).where(Vote.agenda_item_id.in_(item_ids))
                         .order_by(Vote.agenda_item_id, Vote.proposal_number, Vote.id)).all()
    voters: dict[int, list[VoteVoter]] = {}
    if votes:
        for voter in session.exec(select(VoteVoter).where(
                VoteVoter.vote_id.in_([v.id for v in votes])).order_by(VoteVoter.id)):
            voters.setdefault(voter.vote_id, []).append(voter)
    found: dict[int, list] = {}
    for vote in sorted(votes, key=lambda v: (v.agenda_item_id, v.proposal_number or 0)):
        found.setdefault(vote.agenda_item_id, []).append((vote, voters.get(vote.id, [])))
    return found


def item_notes(session: Session, item_ids: list[int]) -> dict[int, list[ItemNote]]:
    """Per item: its minority statements, reservations and protocol notes, as recorded."""
    found: dict[int, list[ItemNote]] = {}
    if item_ids:
        for note in session.exec(select(ItemNote).where(ItemNote.agenda_item_id.in_(item_ids))
                                 .order_by(ItemNote.id)):
            found.setdefault(note.agenda_item_id, []).append(note)
    return found


def members(session: Session, body_code: str) -> list[User]:
    """The active members of a body (Membership rows)."""
    query = (select(User).join(Membership, Membership.user_id == User.id)
             .where(Membership.body_code == body_code, User.active).order_by(User.name))
    return list(session.exec(query))


def approvals(session: Session, meeting_id: int) -> list[tuple[MinutesApproval, User]]:
    query = (select(MinutesApproval, User).join(User, User.id == MinutesApproval.user_id)
             .where(MinutesApproval.meeting_id == meeting_id).order_by(User.name))
    return list(session.exec(query))


def next_meetings(session: Session, org: Organisation, body_code: str, today: date,
                  limit: int = 3) -> list[dict]:
    """A body's coming meetings with their agenda deadlines (submission, agenda out)."""
    body = org.body(body_code)
    rows = session.exec(select(Meeting).where(
        Meeting.body_code == body_code, Meeting.starts_at >= local_instant(today),
        Meeting.status != CANCELLED).order_by(Meeting.starts_at).limit(limit)).all()
    found = []
    for meeting in rows:
        deadlines = agenda_deadlines(body, local_day(meeting.starts_at), rules_for(org, body_code))
        found.append({"id": meeting.id, "starts_at": meeting.starts_at, "place": meeting.place,
                      "agenda_status": meeting.agenda_status,
                      "submission": deadlines.submission, "agenda_out": deadlines.agenda_out,
                      "material": deadlines.material})
    return found


def queued_cases(session: Session, body_code: str) -> list[Case]:
    """The cases in a body's queue: their submission reminders follow its next meeting."""
    return list(session.exec(select(Case).join(Awaiting, Awaiting.case_id == Case.id)
                             .where(Awaiting.body_code == body_code).order_by(Case.id)))
