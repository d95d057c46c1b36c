"""The open data as OParl 1.1 objects (the standard of council information systems, so that
existing OParl clients can read the municipality): what each object holds, and which rows
the public may see. web.oparl serves them; nothing here knows HTTP.

The mapping:

* System: this installation; Body: the municipality; Organization: each configured body
  (Kommunalbestyrelsen, Økonomiudvalget, the committees, the councils); LegislativeTerm: the
  four-year election periods.
* Person: a user who is a member of a body (Membership), by name only: no email, no username.
* Meeting: every meeting of the plan, as the public calendar feed shows them; a cancelled one
  is `cancelled: true` (it is not deleted: the meeting was planned and called off).
* AgendaItem: an item of a published agenda, once published itself. A lukket punkt keeps its
  number, title and decision (`public: false`, no Bilag). An item that "Udgår" stays, with
  that decision, as on the published agenda.
* Paper: a case that stands on a published agenda (reference = sagsnummer); Consultation: each
  of its items on a published agenda (the body that treats it; authoritative for the deciding
  body).
* File: a Bilag with a file that the public may read (meetings.bilag.may_read_attachment with
  the public viewer, for a page at once: readable_of_many), downloaded from the site's own
  /bilag/{id}.
* Location: a meeting's place (one per meeting: the place is a text on the meeting).

Deleted objects (`deleted: true`, with id, type, created and modified) are what the public
could read and that is gone: a Bilag with a file taken off its case, an ended membership
(cases.models.Tombstone), a person no longer active. A Bilag that stops being readable for
another reason (its case becomes a lukket punkt, it is marked not public) is not told at all:
its existence is not told to the public (meetings.bilag), so it is simply absent.

Who may read what is asked of meetings.visibility and meetings.bilag as the public viewer,
whoever asks: the open data is the same for everyone.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import quote

import sqlalchemy as sa
from sqlmodel import Session, select

from cases.dates import COPENHAGEN
from cases.models import Attachment, Case, Membership, Tombstone, User, membership_key
from cases.organisation import COUNCIL, FINANCE_COMMITTEE, HEARING_COUNCIL, Organisation
from meetings import queries as meeting_queries
from meetings.bilag import readable_of_many
from meetings.models import AGENDA_PUBLISHED, CANCELLED, MEETING_STATUSES, AgendaItem, Meeting
from meetings.visibility import may_read_item, readable_cases
from workflow import access
from workflow.decisions import BY_CODE

SCHEMA = "https://schema.oparl.org/1.1/"
BODY_KEY = "kommune"  # one installation serves one municipality: the one Body
ORGANIZATION_TYPES = {COUNCIL: "Kommunalbestyrelse", FINANCE_COMMITTEE: "Økonomiudvalg",
                      HEARING_COUNCIL: "Råd"}
FIRST_TERM = 2010  # Danish municipal election periods: four years from 1 January 2010 on


@dataclass(frozen=True)
class Urls:
    """The addresses of the open data: `site` is the public address of the installation."""

    site: str

    @property
    def system(self) -> str:
        return f"{self.site}/oparl/v1"

    @property
    def body(self) -> str:
        return f"{self.system}/body/{BODY_KEY}"

    def of(self, kind: str, key) -> str:
        return f"{self.system}/{kind}/{quote(str(key), safe='')}"

    def body_list(self, kind: str) -> str:
        return f"{self.body}/{kind}"


@dataclass(frozen=True)
class Window:
    """The list filters of OParl: created_since/until, modified_since/until (inclusive)."""

    created_since: datetime | None = None
    created_until: datetime | None = None
    modified_since: datetime | None = None
    modified_until: datetime | None = None

    def where(self, created, modified) -> list:
        """The conditions on a table's created and modified columns."""
        found = []
        if self.created_since:
            found.append(created >= self.created_since)
        if self.created_until:
            found.append(created <= self.created_until)
        if self.modified_since:
            found.append(modified >= self.modified_since)
        if self.modified_until:
            found.append(modified <= self.modified_until)
        return found

    def admits(self, created: datetime, modified: datetime) -> bool:
        """The same, for an object made in Python (configured bodies, tombstones)."""
        return all((self.created_since is None or created >= self.created_since,
                    self.created_until is None or created <= self.created_until,
                    self.modified_since is None or modified >= self.modified_since,
                    self.modified_until is None or modified <= self.modified_until))


def stamp(instant: datetime | None) -> str | None:
    """An instant as OParl writes it: ISO 8601 with the offset, in Copenhagen time."""
    return instant.astimezone(COPENHAGEN).isoformat() if instant else None


def _base(kind: str, url: str, created: datetime, modified: datetime | None) -> dict:
    return {"id": url, "type": SCHEMA + kind, "created": stamp(created),
            "modified": stamp(modified or created)}


def deleted(kind: str, url: str, created: datetime, modified: datetime) -> dict:
    return {**_base(kind, url, created, modified), "deleted": True}


# -- the configured ones: system, body, organizations, legislative terms -----------------------

def system(urls: Urls, configured: datetime) -> dict:
    return {**_base("System", urls.system, configured, configured),
            "oparlVersion": SCHEMA, "body": f"{urls.system}/body",
            "name": "Sagsgang – åbne data", "website": f"{urls.site}/offentlig"}


def body(org: Organisation, urls: Urls, configured: datetime, today: date) -> dict:
    lists = {name: urls.body_list(name.lower()) for name in (
        "organization", "person", "meeting", "paper", "agendaItem", "consultation", "file",
        "membership")}
    return {**_base("Body", urls.body, configured, configured), "system": urls.system,
            "name": org.name, "shortName": org.name, "website": f"{urls.site}/offentlig",
            "classification": "Kommune", **lists,
            "locationList": urls.body_list("location"),
            "legislativeTermList": urls.body_list("legislativeterm"),
            "legislativeTerm": [legislative_term(urls, year, configured)
                                for year in term_years(today)],
            "web": f"{urls.site}/offentlig"}


def term_years(today: date) -> list[int]:
    return list(range(FIRST_TERM, today.year + 1, 4))


def legislative_term(urls: Urls, year: int, configured: datetime) -> dict:
    return {**_base("LegislativeTerm", urls.of("legislativeterm", year), configured,
                    configured),
            "body": urls.body, "name": f"Valgperioden {year}-{year + 3}",
            "startDate": date(year, 1, 1).isoformat(),
            "endDate": date(year + 3, 12, 31).isoformat()}


def organization(org: Organisation, urls: Urls, code: str, configured: datetime,
                 memberships: list[Membership]) -> dict:
    found = org.body(code)
    return {**_base("Organization", urls.of("organization", code), configured, configured),
            "body": urls.body, "name": found.name, "shortName": found.code,
            "organizationType": ORGANIZATION_TYPES.get(found.kind, "Udvalg"),
            "classification": ORGANIZATION_TYPES.get(found.kind, "Udvalg"),
            "membership": [urls.of("membership", membership_key(m.user_id, m.body_code))
                           for m in memberships]}


def body_memberships(session: Session, code: str) -> list[Membership]:
    return list(session.exec(select(Membership).join(User, User.id == Membership.user_id)
                             .where(Membership.body_code == code, User.active)
                             .order_by(Membership.user_id)))


# -- people: a member of a body, by name only --------------------------------------------------

def person(urls: Urls, user: User, memberships: list[Membership]) -> dict:
    created = user.created_at or _epoch()
    if not user.active:
        return deleted("Person", urls.of("person", user.id), created,
                       user.modified_at or created)
    # The name as kept (no given and family name: "Henrik Holm (Handicaprådet)" is one).
    return {**_base("Person", urls.of("person", user.id), created, user.modified_at),
            "body": urls.body, "name": user.name,
            "membership": [membership(urls, m) for m in memberships]}


def membership(urls: Urls, row: Membership) -> dict:
    created = row.created_at or _epoch()
    return {**_base("Membership", urls.of("membership",
                                          membership_key(row.user_id, row.body_code)),
                    created, row.modified_at),
            "person": urls.of("person", row.user_id),
            "organization": urls.of("organization", row.body_code), "role": "Medlem"}


def _epoch() -> datetime:
    """For a row made before the open data stamped rows, by a bulk statement."""
    return datetime(2000, 1, 1, tzinfo=UTC)


def members_condition():
    """The users the open data shows: those who are (or were) a member of a body."""
    return sa.exists().where(Membership.user_id == User.id)


# -- meetings, agenda items, papers, consultations, files --------------------------------------

@dataclass
class Related:
    """What the objects of one page need besides their own rows, fetched once for the page:
    the cases, which of them the public may read, their Bilag the public may read, and the
    public items of each case (its consultations)."""

    cases: dict[int, Case] = field(default_factory=dict)
    readable: set[int] = field(default_factory=set)
    files: dict[int, list[Attachment]] = field(default_factory=dict)
    consultations: dict[int, list[tuple[AgendaItem, Meeting]]] = field(default_factory=dict)


def related(org: Organisation, session: Session, case_ids: set[int], *,
            consultations: bool = False) -> Related:
    found = Related()
    if not case_ids:
        return found
    # Without their texts: the open data shows none of them, and a case's text can be long.
    shown = sa.orm.load_only(Case.id, Case.number, Case.title, Case.confidential,
                             Case.deciding_body, Case.committees, Case.joint_bodies,
                             Case.created_at, Case.updated_at)
    found.cases = {c.id: c for c in session.exec(select(Case).options(shown)
                                                 .where(Case.id.in_(case_ids)))}
    found.readable = readable_cases(org, session, list(found.cases.values()), access.PUBLIC)
    bilag = session.exec(select(Attachment).where(Attachment.case_id.in_(found.readable),
                                                  Attachment.digest.is_not(None))
                         .order_by(Attachment.case_id, Attachment.number)).all()
    open_cases = {i: c for i, c in found.cases.items() if i in found.readable}
    for attachment in readable_of_many(org, session, open_cases, list(bilag), access.PUBLIC):
        found.files.setdefault(attachment.case_id, []).append(attachment)
    if consultations:
        rows = session.exec(select(AgendaItem, Meeting)
                            .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                            .where(AgendaItem.case_id.in_(case_ids),
                                   meeting_queries.public_item_condition())
                            .order_by(Meeting.starts_at, AgendaItem.id))
        for item, meeting in rows:
            found.consultations.setdefault(item.case_id, []).append((item, meeting))
    return found


def public_items(org: Organisation, session: Session, items: list[tuple[AgendaItem, Meeting]],
                 context: Related) -> set[int]:
    """The ids of the items whose text the public may read: a case's item as its case
    (visibility.readable_cases, fetched for the page); a standing item by may_read_item."""
    return {item.id for item, meeting in items
            if (item.case_id in context.readable if item.case_id
                else may_read_item(org, session, item, meeting.body_code, access.PUBLIC))}


def meeting_object(org: Organisation, urls: Urls, meeting: Meeting,
                   items: list[dict] | None) -> dict:
    """`items`: its agenda's public items as objects; None while the agenda is unpublished."""
    body_ = org.body(meeting.body_code)
    day = meeting.starts_at.astimezone(COPENHAGEN)
    found = {**_base("Meeting", urls.of("meeting", meeting.id), meeting.created_at,
                     meeting.modified_at),
             "name": f"{body_.name}, møde {day:%d-%m-%Y}",
             "meetingState": MEETING_STATUSES.get(meeting.status, meeting.status),
             "cancelled": meeting.status == CANCELLED, "start": stamp(meeting.starts_at),
             "organization": [urls.of("organization", meeting.body_code)]}
    if meeting.place:
        found["location"] = location(urls, meeting)
    if items is not None:
        found["agendaItem"] = items
        found["web"] = f"{urls.site}/offentlig/moeder/{meeting.id}"
    return found


def location(urls: Urls, meeting: Meeting) -> dict:
    return {**_base("Location", urls.of("location", meeting.id), meeting.created_at,
                    meeting.modified_at),
            "description": meeting.place, "meetings": [urls.of("meeting", meeting.id)]}


def agenda_item(urls: Urls, item: AgendaItem, meeting: Meeting, readable: bool,
                context: Related) -> dict:
    """An item as the public sees it: number, title and decision always; its Bilag only when
    it may read the item (`readable`)."""
    created = item.created_at or meeting.created_at
    found = {**_base("AgendaItem", urls.of("agendaitem", item.id), created, item.modified_at),
             "meeting": urls.of("meeting", meeting.id), "number": str(item.number),
             "order": item.number, "name": item.title, "public": readable}
    if item.case_id:
        found["consultation"] = urls.of("consultation", item.id)
    if item.wording:
        found["result"] = BY_CODE[item.wording].label if item.wording in BY_CODE \
            else item.wording
    if item.decision_text:
        found["resolutionText"] = item.decision_text
    if readable and item.case_id:
        files = context.files.get(item.case_id, [])
        if files:
            found["auxiliaryFile"] = [file_object(urls, a) for a in files]
    found["web"] = f"{urls.site}/offentlig/moeder/{meeting.id}#punkt-{item.number}"
    return found


def consultation(urls: Urls, item: AgendaItem, meeting: Meeting, case: Case) -> dict:
    created = item.created_at or meeting.created_at
    deciding = meeting.body_code == case.deciding_body or \
        meeting.body_code in (case.joint_bodies or [])
    return {**_base("Consultation", urls.of("consultation", item.id), created,
                    item.modified_at),
            "paper": urls.of("paper", case.id), "agendaItem": urls.of("agendaitem", item.id),
            "meeting": urls.of("meeting", meeting.id),
            "organization": [urls.of("organization", meeting.body_code)],
            "authoritative": deciding, "role": "Beslutning" if deciding else "Indstilling"}


def paper(urls: Urls, case: Case, context: Related) -> dict:
    """A case on a published agenda: its number and title (public even when it is a lukket
    punkt), its consultations, and the Bilag the public may read."""
    found = {**_base("Paper", urls.of("paper", case.id), case.created_at, case.updated_at),
             "body": urls.body, "name": case.title, "reference": case.number,
             "date": case.created_at.astimezone(COPENHAGEN).date().isoformat(),
             "paperType": "Sag",
             "consultation": [consultation(urls, item, meeting, case)
                              for item, meeting in context.consultations.get(case.id, [])]}
    if case.id in context.readable:
        files = context.files.get(case.id, [])
        if files:
            found["auxiliaryFile"] = [file_object(urls, a) for a in files]
    return found


def file_object(urls: Urls, attachment: Attachment) -> dict:
    created = attachment.created_at or _epoch()
    download = f"{urls.site}/bilag/{attachment.id}"
    found = {**_base("File", urls.of("file", attachment.id), created, attachment.modified_at),
             "name": attachment.title, "fileName": attachment.filename or "bilag",
             "accessUrl": download, "downloadUrl": download,
             "date": created.astimezone(COPENHAGEN).date().isoformat(),
             "paper": [urls.of("paper", attachment.case_id)]}
    if attachment.media_type:
        found["mimeType"] = attachment.media_type
    if attachment.size is not None:
        found["size"] = attachment.size
    return found


def tombstones(session: Session, kind: str, window: Window) -> list[Tombstone]:
    query = select(Tombstone).where(Tombstone.kind == kind,
                                    *window.where(Tombstone.created_at, Tombstone.deleted_at))
    return list(session.exec(query.order_by(Tombstone.id)))


# -- lists -------------------------------------------------------------------------------------

def count(session: Session, query) -> int:
    return session.exec(select(sa.func.count()).select_from(query.subquery())).one()


def meeting_rows(window: Window):
    return select(Meeting).where(*window.where(Meeting.created_at, Meeting.modified_at))


def item_shown():
    """An item's columns the open data shows or asks the rules with (not its texts)."""
    return sa.orm.load_only(AgendaItem.id, AgendaItem.meeting_id, AgendaItem.case_id,
                            AgendaItem.number, AgendaItem.title, AgendaItem.closed,
                            AgendaItem.standing, AgendaItem.wording, AgendaItem.decision_text,
                            AgendaItem.published_in, AgendaItem.created_at,
                            AgendaItem.modified_at)


def item_rows(window: Window):
    """The public items, with their meetings."""
    return (select(AgendaItem, Meeting).options(item_shown())
            .join(Meeting, Meeting.id == AgendaItem.meeting_id)
            .where(meeting_queries.public_item_condition(),
                   *window.where(AgendaItem.created_at, AgendaItem.modified_at)))


def paper_rows(window: Window):
    """The cases that stand on a published agenda."""
    on_agenda = (select(AgendaItem.id).join(Meeting, Meeting.id == AgendaItem.meeting_id)
                 .where(AgendaItem.case_id == Case.id, meeting_queries.public_item_condition())
                 .exists())
    return select(Case).where(on_agenda, *window.where(Case.created_at, Case.updated_at))


def file_rows(window: Window):
    """The Bilag with a file of the cases on a published agenda (whether the public may read
    each is asked of meetings.bilag when the page is made)."""
    on_agenda = (select(AgendaItem.id).join(Meeting, Meeting.id == AgendaItem.meeting_id)
                 .where(AgendaItem.case_id == Attachment.case_id,
                        meeting_queries.public_item_condition()).exists())
    return select(Attachment).where(Attachment.digest.is_not(None), on_agenda,
                                    *window.where(Attachment.created_at,
                                                  Attachment.modified_at))


def meetings_objects(org: Organisation, session: Session, urls: Urls,
                     meetings: list[Meeting]) -> list[dict]:
    """Meetings with their agendas' public items, for a page in a few queries."""
    published = [m.id for m in meetings if m.agenda_status == AGENDA_PUBLISHED]
    by_meeting: dict[int, list[AgendaItem]] = {}
    if published:
        by_id = {m.id: m for m in meetings}
        items = session.exec(select(AgendaItem).options(item_shown())
                             .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                             .where(AgendaItem.meeting_id.in_(published),
                                    meeting_queries.public_item_condition())
                             .order_by(AgendaItem.meeting_id, AgendaItem.number)).all()
        rows = [(item, by_id[item.meeting_id]) for item in items]
        for item, _ in rows:
            by_meeting.setdefault(item.meeting_id, []).append(item)
        objects = dict(zip([item.id for item, _ in rows],
                           items_objects(org, session, urls, rows), strict=True))
    found = []
    for meeting in meetings:
        items = None
        if meeting.id in published:
            items = [objects[item.id] for item in by_meeting.get(meeting.id, [])]
        found.append(meeting_object(org, urls, meeting, items))
    return found


def items_objects(org: Organisation, session: Session, urls: Urls,
                  rows: list[tuple[AgendaItem, Meeting]]) -> list[dict]:
    context = related(org, session, {item.case_id for item, _ in rows if item.case_id})
    readable = public_items(org, session, rows, context)
    return [agenda_item(urls, item, meeting, item.id in readable, context)
            for item, meeting in rows]


def papers_objects(org: Organisation, session: Session, urls: Urls,
                   cases: list[Case]) -> list[dict]:
    context = related(org, session, {c.id for c in cases}, consultations=True)
    return [paper(urls, context.cases[c.id], context) for c in cases]


def readable_files(org: Organisation, session: Session,
                   attachments: list[Attachment]) -> list[Attachment]:
    context = related(org, session, {a.case_id for a in attachments})
    readable = {a.id for found in context.files.values() for a in found}
    return [a for a in attachments if a.id in readable]


def person_rows(window: Window):
    return select(User).where(members_condition(),
                              *window.where(User.created_at, User.modified_at))


def people_objects(session: Session, urls: Urls, users: list[User]) -> list[dict]:
    memberships: dict[int, list[Membership]] = {}
    if users:
        for row in session.exec(select(Membership)
                                .where(Membership.user_id.in_([u.id for u in users]))
                                .order_by(Membership.body_code)):
            memberships.setdefault(row.user_id, []).append(row)
    return [person(urls, user, memberships.get(user.id, [])) for user in users]


def membership_rows(window: Window):
    return (select(Membership).join(User, User.id == Membership.user_id)
            .where(User.active, *window.where(Membership.created_at, Membership.modified_at)))


# -- the export of one meeting (CSV and JSON) --------------------------------------------------

EXPORT_COLUMNS = ("punkt", "titel", "sagsnummer", "lukket", "beslutning", "beslutningstekst")


def export_rows(org: Organisation, session: Session, meeting: Meeting) -> list[dict]:
    """The public items of a published agenda: number, title, case number, whether it is a
    lukket punkt, and the decision (public also for a lukket punkt)."""
    items = [(item, meeting) for item in session.exec(
        select(AgendaItem).join(Meeting, Meeting.id == AgendaItem.meeting_id)
        .where(AgendaItem.meeting_id == meeting.id, meeting_queries.public_item_condition())
        .order_by(AgendaItem.number))]
    context = related(org, session, {item.case_id for item, _ in items if item.case_id})
    readable = public_items(org, session, items, context)
    found = []
    for item, _ in items:
        case = context.cases.get(item.case_id)
        wording = BY_CODE[item.wording].label if item.wording in BY_CODE else ""
        found.append({"punkt": item.number, "titel": item.title,
                      "sagsnummer": case.number if case else "",
                      "lukket": "ja" if item.id not in readable else "nej",
                      "beslutning": wording, "beslutningstekst": item.decision_text})
    return found
