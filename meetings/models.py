"""The meeting tables: meetings, agenda items, published agendas, attendance, votes,
approvals.

A meeting's start is an aware UTC instant computed from its Copenhagen date and time
(`meetings.calendar.local_instant`). Decisions on case items are also recorded as the case's
Treatment rows (cases.models) by `cases.actions.record_decision`; the copy on the agenda item
is what the minutes show, and the only record for a standing item without a case.
"""

from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cases.models import instant_field
from meetings.attendance import ATTENDED

PLANNED = "planned"
MOVED = "moved"
CANCELLED = "cancelled"
MEETING_STATUSES = {PLANNED: "Planlagt", MOVED: "Flyttet", CANCELLED: "Aflyst"}
# Not stored: a meeting (planned or moved) whose day has passed reads as held
# (meetings.queries.status_label).
HELD_LABEL = "Afholdt"

# The agenda: assembled (draft), locked (no more changes before publishing), published.
AGENDA_DRAFT = "draft"
AGENDA_LOCKED = "locked"
AGENDA_PUBLISHED = "published"
AGENDA_STATUSES = {AGENDA_DRAFT: "Under udarbejdelse", AGENDA_LOCKED: "Låst",
                   AGENDA_PUBLISHED: "Offentliggjort"}

# The minutes: none yet, out for the members' approval, final.
MINUTES_NONE = "none"
MINUTES_APPROVAL = "approval"
MINUTES_FINAL = "final"
MINUTES_STATUSES = {MINUTES_NONE: "Intet referat", MINUTES_APPROVAL: "Til godkendelse",
                    MINUTES_FINAL: "Endeligt"}

# Standing items without a case, and their titles on the agenda.
STANDING_ITEMS = {"meddelelser": "Meddelelser",
                  "godkendelse_af_referat": "Godkendelse af referat",
                  # A body's own matter without a route (a council's orientation, an
                  # information item): its own title, as many as the agenda needs.
                  "orientering": "Orientering"}
ONCE_PER_AGENDA = ("meddelelser", "godkendelse_af_referat")


class Meeting(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("body_code", "starts_at"),)
    id: int | None = Field(default=None, primary_key=True)
    body_code: str = Field(max_length=20, index=True)
    starts_at: datetime = instant_field(index=True)
    place: str = Field(default="", max_length=300)
    status: str = Field(default=PLANNED, max_length=20)
    status_reason: str = Field(default="", sa_type=sa.Text)  # why moved or cancelled
    agenda_status: str = Field(default=AGENDA_DRAFT, max_length=20)
    minutes_status: str = Field(default=MINUTES_NONE, max_length=20)
    objection_deadline: date | None = None  # the minutes are final after this day
    minutes_final_at: datetime | None = instant_field(nullable=True)
    created_at: datetime = instant_field()
    # Stamped by cases.models.stamp_changes, and by the meeting's mark (any change of its
    # agenda): what the open data's `modified` and `modified_since` read.
    modified_at: datetime | None = instant_field(nullable=True)
    # What the reminders were derived up to (as case.last_seq/notified_seq): every meeting
    # action moves changed_seq in its own transaction, the beat's sweep derives the meeting's
    # reminders and its queued cases' and then moves notified_seq (notifications.changes).
    changed_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    notified_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The changed_seq of the last action that changed when the meeting is (created, moved,
    # cancelled): only then can the reminders of the cases in its body's queue change (their
    # next meeting, their route); placing a case or publishing the agenda does not touch them.
    schedule_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class AgendaItem(SQLModel, table=True):
    """One punkt: a case at a meeting, or a standing item (case_id None)."""

    __tablename__ = "agenda_item"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    standing: str | None = Field(default=None, max_length=40)  # a key of STANDING_ITEMS
    number: int
    title: str = Field(max_length=300)
    text: str = Field(default="", sa_type=sa.Text)  # a standing item's description
    closed: bool = False  # lukket punkt
    late_reason: str = Field(default="", sa_type=sa.Text)  # placed after the deadline: why
    supplementary: bool = False  # added after the agenda was published (tillægsdagsorden)
    attachments_note: str = Field(default="", sa_type=sa.Text)  # an imported "Bilag" text
    published_in: int | None = Field(default=None, foreign_key="agenda_publication.id")
    # The decision, as the minutes show it.
    wording: str | None = Field(default=None, max_length=40)  # workflow.decisions code
    decision_text: str = Field(default="", sa_type=sa.Text)
    proposal_decisions: list[dict] = Field(default_factory=list,
                                           sa_column=Column(JSON, nullable=False))
    minority: str = Field(default="", sa_type=sa.Text)
    decided_at: datetime | None = instant_field(nullable=True)
    created_at: datetime | None = instant_field(nullable=True)  # cases.models.stamp_changes
    modified_at: datetime | None = instant_field(nullable=True)


class AgendaPublication(SQLModel, table=True):
    """An agenda (or supplementary agenda) as it was published: kept as is, never changed.

    `content` holds the document context the agenda was rendered from, so the publication can
    be shown again exactly, whatever happened to the cases since.
    """

    __tablename__ = "agenda_publication"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    seq: int  # 1 = the agenda, 2.. = tillægsdagsordener
    kind: str = Field(max_length=20)  # "dagsorden" or "tillaeg"
    published_at: datetime = instant_field()
    actor: str = Field(max_length=100)
    late_reason: str = Field(default="", sa_type=sa.Text)  # published after the deadline: why
    # When the body's followers were told (by the sweep); None: not yet.
    followers_notified_at: datetime | None = instant_field(nullable=True)
    content: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Attendance(SQLModel, table=True):
    """One person on a meeting's attendance list: Deltog, Afbud or Fraværende. A member of
    the body (user_id) where known, else a name; a stedfortræder/suppleant is listed as
    taking part, with the name of the member they stood in for."""

    __table_args__ = (sa.UniqueConstraint("meeting_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    name: str = Field(max_length=200)
    party: str = Field(default="", max_length=100)  # "A", "Socialdemokratiet"
    # A key of meetings.attendance.ATTENDANCE_STATUSES.
    status: str = Field(default=ATTENDED, max_length=20)
    substitute_for: str = Field(default="", max_length=200)  # the member's name
    note: str = Field(default="", max_length=500)


class ItemAbsence(SQLModel, table=True):
    """"Deltog ikke under punkt 20": someone at the meeting who took no part in one item."""

    __tablename__ = "item_absence"
    attendance_id: int = Field(foreign_key="attendance.id", primary_key=True)
    agenda_item_id: int = Field(foreign_key="agenda_item.id", primary_key=True, index=True)


class Vote(SQLModel, table=True):
    """Afstemning on one proposal of an item's Indstilling (proposal_number None: on the
    item as a whole), with how many voted each way."""

    __table_args__ = (sa.UniqueConstraint("agenda_item_id", "proposal_number"),)
    id: int | None = Field(default=None, primary_key=True)
    agenda_item_id: int = Field(foreign_key="agenda_item.id", index=True)
    proposal_number: int | None = None
    votes_for: int = 0
    votes_against: int = 0
    abstentions: int = 0


class VoteVoter(SQLModel, table=True):
    """Who voted how in a Vote: a member (user_id) or a person on the attendance list, or a
    party by its name."""

    __tablename__ = "vote_voter"
    id: int | None = Field(default=None, primary_key=True)
    vote_id: int = Field(foreign_key="vote.id", index=True)
    choice: str = Field(max_length=10)  # a key of meetings.attendance.VOTE_CHOICES
    name: str = Field(max_length=200)
    user_id: int | None = Field(default=None, foreign_key="user.id")


class ItemNote(SQLModel, table=True):
    """A mindretalsudtalelse, forbehold or protokolbemærkning on an item, and whose."""

    __tablename__ = "item_note"
    id: int | None = Field(default=None, primary_key=True)
    agenda_item_id: int = Field(foreign_key="agenda_item.id", index=True)
    kind: str = Field(max_length=20)  # a key of meetings.attendance.NOTE_KINDS
    who: str = Field(max_length=300)  # "Enhedslisten (Ø)", "Anna Andersen (A)"
    text: str = Field(default="", sa_type=sa.Text)


class MinutesApproval(SQLModel, table=True):
    """A member has clicked "Godkendt" on the minutes."""

    __tablename__ = "minutes_approval"
    meeting_id: int = Field(foreign_key="meeting.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    approved_at: datetime = instant_field()


class PublishedPdf(SQLModel, table=True):
    """A publication's PDF as it was made when published, with its SHA-256 checksum.

    `public`: the public version; `closed_items` the numbers of the items that were closed
    when it was made ("3,7"). The public version is served only while the same items are
    closed (a case can become a lukket punkt later: then it is made anew, meetings.pdf).
    `with_bilag`: the samlet dagsorden med bilag, `bilag` the ids of the Bilag PDFs it was
    made with ("12,15"); served only while the reader may read exactly those.
    """

    __tablename__ = "published_pdf"
    __table_args__ = (
        sa.UniqueConstraint("publication_id", "public", "with_bilag", "closed_items"),)
    id: int | None = Field(default=None, primary_key=True)
    publication_id: int = Field(foreign_key="agenda_publication.id", index=True)
    public: bool
    with_bilag: bool = False
    closed_items: str = Field(default="", max_length=2000)
    bilag: str = Field(default="", sa_type=sa.Text)  # an agenda can have hundreds of Bilag
    sha256: str = Field(max_length=64)
    size: int
    content: bytes = Field(sa_column=Column(sa.LargeBinary, nullable=False))
    created_at: datetime = instant_field()


# -- search (meetings.search) ------------------------------------------------------------------

# The full-text index itself is made by the migration alone, as no model can declare it: on
# SQLite the FTS5 table `search_fts` (and the shadow tables SQLite keeps for it, search_fts_*),
# on PostgreSQL the table `search_fts` of tsvectors with its GIN index. Schema comparisons
# (the migration tests, `alembic check`) skip these names.
SEARCH_INDEX = "search_fts"


def made_by_migration_only(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's include_name: False for the search index's own tables."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_INDEX))


class SearchDoc(SQLModel, table=True):
    """One searchable text: a case, an agenda item, a decision (treatment), a Bilag or a
    høringssvar, with what the filters and the closed-item rule need. Who may read it is not
    stored: it is decided when a hit is served (meetings.visibility), as a case can become
    closed later."""

    __tablename__ = "search_doc"
    __table_args__ = (sa.UniqueConstraint("kind", "source_id"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # a key of meetings.search.KINDS
    source_id: int  # the row of its kind (case, agendaitem, treatment, attachment, response)
    case_id: int | None = Field(default=None, index=True)
    meeting_id: int | None = Field(default=None, index=True)
    bodies: str = Field(default="", max_length=400)  # " SU BU ": the bodies it belongs to
    year: int | None = None
    on: date | None = None  # the meeting day (or the day the case was registered)
    state: str = Field(default="", max_length=20)  # the case's state
    title: str = Field(max_length=300)
    text: str = Field(default="", sa_type=sa.Text)
