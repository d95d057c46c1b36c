"""The public portal, as the citizen is shown it: the meeting plan, a body's members and
years, the meetings of a year with what was published about each, and a body's news (the
Atom feed). Used by the portal's pages and its feed alike.

What the public reads of an agenda is the one rule in meetings.queries (published_items);
closed items are decided by meetings.visibility. Nothing here shows an unpublished agenda:
a meeting whose agenda is not out is shown with its time and place only.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, select

from cases.dates import to_local
from cases.models import ROLES
from cases.organisation import HEARING_COUNCIL, Body, Organisation
from meetings import queries
from meetings.calendar import agenda_deadlines, local_instant, rules_for
from meetings.documents import KINDS, document_kind
from meetings.models import AGENDA_PUBLISHED, CANCELLED, MINUTES_FINAL, Meeting
from meetings.visibility import open_items


@dataclass
class Document:
    """One thing published about a meeting: its agenda, a tillægsdagsorden, its minutes."""

    label: str  # Dagsorden, Tillægsdagsorden, Referat
    on: datetime | None  # when it was published (None: an agenda from before that was kept)
    pdf: str  # its public PDF
    note: str = ""


@dataclass
class PortalMeeting:
    meeting: Meeting
    body: Body
    upcoming: bool
    published: bool
    agenda_out: date | None = None  # not yet published: the day it is published at the latest
    documents: list[Document] = field(default_factory=list)

    @property
    def link(self) -> str:
        return f"/offentlig/moeder/{self.meeting.id}" if self.published else ""


def body_groups(org: Organisation) -> list[tuple[str, list[Body]]]:
    """The bodies as the portal lists them: the council and committees, then the councils
    (råd) that are heard."""
    groups = [("Kommunalbestyrelse og udvalg",
               [b for b in org.bodies if b.kind != HEARING_COUNCIL]),
              ("Råd", org.bodies_of_kind(HEARING_COUNCIL))]
    return [(title, bodies) for title, bodies in groups if bodies]


def documents(meeting: Meeting, publications: list, items: list) -> list[Document]:
    """What the public can read of the meeting, each with its PDF: every publication as it
    went out (`publications`), and the minutes once there are decisions (final, or still to
    be approved) among its published `items`."""
    if meeting.agenda_status != AGENDA_PUBLISHED:
        return []
    base = f"/offentlig/moeder/{meeting.id}/pdf"
    found = [Document(KINDS[p.kind], p.published_at, f"{base}?udgivelse={p.seq}")
             for p in publications]
    if not found:
        found.append(Document(KINDS["dagsorden"], None, base))
    if document_kind(meeting, items) == "referat":
        if meeting.minutes_status == MINUTES_FINAL:
            found.append(Document(KINDS["referat"], meeting.minutes_final_at, base))
        else:
            decided = [i.decided_at for i in items if i.decided_at]
            found.append(Document(KINDS["referat"], max(decided) if decided else None, base,
                                  note="endnu ikke godkendt af medlemmerne"))
    return found


def portal_meetings(session: Session, org: Organisation, meetings: list[Meeting],
                    now: datetime) -> list[PortalMeeting]:
    """The meetings as the portal lists them, their publications and items read together
    (a page of meetings costs two queries, not two per meeting)."""
    kept = queries.publications_of(session, [m.id for m in meetings])
    items = queries.published_items_of(session, meetings, kept)
    return [_portal_meeting(org, meeting, now, documents(meeting, kept[meeting.id],
                                                         items[meeting.id]))
            for meeting in meetings]


def _portal_meeting(org: Organisation, meeting: Meeting, now: datetime,
                    found: list[Document]) -> PortalMeeting:
    body = org.body(meeting.body_code)
    published = meeting.agenda_status == AGENDA_PUBLISHED
    day = to_local(meeting.starts_at).date()
    return PortalMeeting(
        meeting=meeting, body=body, upcoming=meeting.starts_at >= now, published=published,
        agenda_out=None if published else agenda_deadlines(
            body, day, rules_for(org, body.code)).agenda_out,
        documents=found)


def upcoming(session: Session, org: Organisation, now: datetime, *,
             body_code: str | None = None, limit: int = 8) -> list[PortalMeeting]:
    """The coming meetings (from the start of today), soonest first: the meeting plan."""
    start = local_instant(to_local(now).date())
    found = queries.meetings(session, body_code=body_code, start=start, first=limit)
    return portal_meetings(session, org, list(found), now)


def _published(body_code: str, *columns):
    """The body's meetings (not cancelled) whose agenda is published."""
    return select(*(columns or (Meeting,))).where(Meeting.body_code == body_code,
                                                  Meeting.agenda_status == AGENDA_PUBLISHED,
                                                  Meeting.status != CANCELLED)


def held_years(session: Session, body_code: str, now: datetime) -> list[int]:
    """The years (Copenhagen) in which the body held a meeting with a published agenda,
    newest first."""
    starts = session.exec(_published(body_code, Meeting.starts_at)
                          .where(Meeting.starts_at < now)).all()
    return sorted({to_local(start).year for start in starts}, reverse=True)


def year_meetings(session: Session, org: Organisation, body_code: str, year: int,
                  now: datetime) -> list[PortalMeeting]:
    """The body's meetings with a published agenda in the year: the coming ones first
    (soonest first), then those held (latest first)."""
    found = session.exec(_published(body_code).where(
        Meeting.starts_at >= local_instant(date(year, 1, 1)),
        Meeting.starts_at < local_instant(date(year + 1, 1, 1)))
        .order_by(Meeting.starts_at)).all()
    coming = [m for m in found if m.starts_at >= now]
    held = [m for m in reversed(found) if m.starts_at < now]
    return portal_meetings(session, org, coming + held, now)


def members(session: Session, body_code: str) -> list[tuple[str, str]]:
    """The body's members as the public may know them: name and role, nothing else."""
    return [(user.name, ROLES.get(user.role, "")) for user in queries.members(session, body_code)]


@dataclass
class News:
    """An entry of a body's feed: an agenda, a tillægsdagsorden or minutes published."""

    key: str  # stable: the same publication is the same entry
    title: str
    updated: datetime
    meeting: Meeting
    pdf: str
    lines: list[str]  # "Punkt 3: Titel", open items only


def news(session: Session, org: Organisation, body_code: str, limit: int = 50) -> list[News]:
    """What the body published, newest first: each publication of an agenda and each set of
    final minutes. Like the body's calendar, it lists open items only."""
    body = org.body(body_code)
    meetings = list(session.exec(_published(body_code).order_by(Meeting.starts_at.desc())
                                 .limit(limit)))
    kept = queries.publications_of(session, [m.id for m in meetings])
    published = queries.published_items_of(session, meetings, kept)
    # The closed rule asked once for all the meetings' items (it reads their cases).
    still_open = {item.id for item in open_items(
        session, [item for meeting in meetings for item in published[meeting.id]])}
    found = []
    for meeting in meetings:
        day = f"{to_local(meeting.starts_at):%d-%m-%Y}"
        items = [item for item in published[meeting.id] if item.id in still_open]
        base = f"/offentlig/moeder/{meeting.id}/pdf"
        for publication in kept[meeting.id]:
            label = KINDS[publication.kind]
            found.append(News(
                key=f"udgivelse-{publication.id}", title=f"{label}: {body.name} {day}",
                updated=publication.published_at, meeting=meeting,
                pdf=f"{base}?udgivelse={publication.seq}",
                lines=[f"Punkt {i.number}: {i.title}" for i in items
                       if i.published_in == publication.id]))
        if meeting.minutes_status == MINUTES_FINAL and meeting.minutes_final_at:
            found.append(News(key=f"referat-{meeting.id}", title=f"Referat: {body.name} {day}",
                              updated=meeting.minutes_final_at, meeting=meeting, pdf=base,
                              lines=[f"Punkt {i.number}: {i.title}" for i in items]))
    return sorted(found, key=lambda entry: entry.updated, reverse=True)[:limit]
