"""The case register's tables.

Instants are timezone-aware UTC (`UTCDateTime`); calendar facts (a meeting day, a
høringsfrist, a statutory deadline) are plain dates, read in Europe/Copenhagen.
Table models do not validate on construction: input is validated by the models in
cases/schemas.py before rows are built.
"""

from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cases import clock
from workflow.machine import ACTIVE


class UTCDateTime(sa.types.TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store instants as aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The product's now: the one clock (cases.clock), which a setting can move to another
    day. Logins, sessions and tokens keep the wall clock (cases.clock.wall_now)."""
    return clock.now()


def instant_field(nullable: bool = False, index: bool = False):
    return Field(default=None,
                 sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


# A case whose audit log has moved on since its reminders and follow news were derived
# (notifications.changes): what the beat's sweep looks for, by index, every half minute.
UNNOTIFIED = "notified_seq < last_seq"


class Case(SQLModel, table=True):
    __tablename__ = "case"
    __table_args__ = (sa.Index("ix_case_unnotified", "id", sqlite_where=sa.text(UNNOTIFIED),
                               postgresql_where=sa.text(UNNOTIFIED)),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=40, sa_column_kwargs={"unique": True})  # sagsnummer
    title: str = Field(max_length=300)
    summary: str = Field(default="", sa_type=sa.Text)  # Sammendrag
    background: str = Field(default="", sa_type=sa.Text)  # Baggrund
    presentation: str = Field(default="", sa_type=sa.Text)  # Sagsfremstilling
    economy: str = Field(default="", sa_type=sa.Text)  # Økonomiske konsekvenser og finansiering
    centre: str = Field(max_length=200)
    owner_name: str = Field(default="", max_length=200)
    owner_email: str = Field(default="", max_length=254)
    deciding_body: str = Field(max_length=20)  # Beslutningen træffes af
    # Joint competence ("Beslutningskompetence: KNU og TMU"): the committees that decide with
    # deciding_body; the case is decided when each of them has.
    joint_bodies: list[str] = Field(default_factory=list,
                                    sa_column=Column(JSON, nullable=False, server_default="[]"))
    committees: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    confidential: bool = False  # lukket punkt: the public sees number, title and decision only
    status: str = Field(default="draft", max_length=20, index=True)
    finance_statement: bool = False  # the finance committee has treated it this round
    # A referral under way: the stage (finance, council) it returns to from the committees.
    referral_return: str | None = Field(default=None, max_length=20)
    version: int = 1  # compare-and-set counter; see cases/services.py
    replaced_by_id: int | None = Field(default=None, foreign_key="case.id")
    last_seq: int = 0  # the seq of the case's latest audit event
    notified_seq: int = 0  # the latest event whose reminders and follow news are in the outbox
    created_at: datetime = instant_field()
    updated_at: datetime = instant_field()


class Proposal(SQLModel, table=True):
    """One numbered proposal of the Indstilling ("Center X indstiller, at 1. ...")."""

    __table_args__ = (sa.UniqueConstraint("case_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    number: int
    text: str = Field(sa_type=sa.Text)


class Attachment(SQLModel, table=True):
    """Bilag: title and whether it is recommended reading; with a file (cases.files) when
    `digest` is set, else a title only (as the imported and older Bilag are)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    number: int
    title: str = Field(max_length=300)
    recommended: bool = False
    public: bool = True  # False: only those who may read the case's closed text see it
    digest: str | None = Field(default=None, max_length=64)  # sha256 of the file, hex
    filename: str = Field(default="", max_length=255)  # as uploaded, made safe
    media_type: str = Field(default="", max_length=100)  # found from the content
    size: int | None = None  # bytes
    text: str = Field(default="", sa_type=sa.Text)  # extracted from PDF and DOCX, for search
    created_at: datetime | None = instant_field(nullable=True)  # stamped (see stamp_changes)
    modified_at: datetime | None = instant_field(nullable=True)


class Blob(SQLModel, table=True):
    """A Bilag's file in the database store (cases.files.DatabaseStore), by its sha256."""

    __tablename__ = "attachment_blob"
    digest: str = Field(primary_key=True, max_length=64)
    content: bytes = Field(sa_type=sa.LargeBinary)


class CaseLink(SQLModel, table=True):
    """A link to another case: the one this replaces ("ny sag") or an earlier one."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    linked_case_id: int | None = Field(default=None, foreign_key="case.id")
    kind: str = Field(max_length=20)  # "replaces", "earlier"
    note: str = Field(default="", max_length=500)


DEADLINE_KINDS = {"statutory": "Lovbestemt frist", "external": "Ekstern frist",
                  "internal": "Intern frist"}


class Deadline(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    due_date: date = Field(index=True)
    kind: str = Field(max_length=20)  # a key of DEADLINE_KINDS
    description: str = Field(max_length=300)
    legal_basis: str = Field(default="", max_length=300)  # "retssikkerhedsloven § 79 b"
    met_on: date | None = None


class Hearing(SQLModel, table=True):
    """A høring: parties are asked to answer before the høringsfrist."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    title: str = Field(max_length=300)
    deadline: date = Field(index=True)  # høringsfrist
    blocking: bool = True  # the committees may not treat the case while it is open
    opened_on: date
    closed_on: date | None = None


class HearingParty(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    hearing_id: int = Field(foreign_key="hearing.id", index=True)
    body_code: str | None = Field(default=None, max_length=20)
    name: str = Field(max_length=200)
    email: str = Field(default="", max_length=254)


class HearingResponse(SQLModel, table=True):
    """A høringssvar from one party."""

    id: int | None = Field(default=None, primary_key=True)
    hearing_id: int = Field(foreign_key="hearing.id", index=True)
    party_id: int = Field(foreign_key="hearingparty.id", index=True)
    received_on: date
    text: str = Field(sa_type=sa.Text)
    # Given at the party's own meeting (a council's decision on its agenda item).
    agenda_item_id: int | None = None


class Awaiting(SQLModel, table=True):
    """The case is in this body's queue: due for treatment there, not yet treated.

    Derived from the workflow after every transition; one row per body, so that parallel
    committees and a body's queue are plain indexed lookups.

    `delivered_at`/`delivered_by`: the case owner (or the secretariat) has reported the case
    ready for this body's agenda ("afleveret til dagsorden"). The mark lives and dies with the
    row: a case that leaves the queue loses it, one that comes back starts undelivered, and a
    postponed case (it stays in the queue) keeps it (cases.services.mark_delivered).
    """

    __table_args__ = (sa.Index("ix_awaiting_body_since", "body_code", "since"),)
    case_id: int = Field(foreign_key="case.id", primary_key=True)
    body_code: str = Field(max_length=20, primary_key=True)
    since: datetime = instant_field()
    delivered_at: datetime | None = instant_field(nullable=True)
    delivered_by: str | None = Field(default=None, max_length=100)  # the actor, as in the log


class CaseEvent(SQLModel, table=True):
    """The append-only audit log: one row per workflow action, written with the change."""

    __tablename__ = "case_event"
    # Its index also serves every look-up by case: a second index on case_id alone would only
    # cost each appended event one more page write.
    __table_args__ = (sa.UniqueConstraint("case_id", "seq"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    seq: int
    at: datetime = instant_field(index=True)
    actor: str = Field(max_length=100)
    trigger: str = Field(max_length=40)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str = Field(max_length=20)
    body: str | None = Field(default=None, max_length=20)
    reason: str = Field(default="", sa_type=sa.Text)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Written by the onboarding import (cases.onboarding): history carried over from the
    # municipality's earlier system, at its historical times, not lived here.
    imported: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Treatment(SQLModel, table=True):
    """One treatment of the case by a body: the source of its Beslutningshistorik."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    event_id: int = Field(foreign_key="case_event.id")
    body_code: str | None = Field(default=None, max_length=20)  # None: a body no longer existing
    body_name: str = Field(max_length=200)
    meeting_date: date
    item_number: int | None = None
    agenda_item_id: int | None = Field(default=None, index=True)
    wording: str = Field(max_length=40)  # a code of workflow.decisions.WORDINGS
    decision_text: str = Field(default="", sa_type=sa.Text)
    proposal_decisions: list[dict] = Field(default_factory=list,
                                           sa_column=Column(JSON, nullable=False))
    minority: str = Field(default="", sa_type=sa.Text)  # mindretal, dissens


ROLES = {
    "secretariat": "Sekretariat",
    "case_owner": "Sagsbehandler",
    "manager": "Leder",
    "member": "Medlem",
    "admin": "Administrator",
}


class User(SQLModel, table=True):
    # One user per person at the identity provider (NULLs, the local users, never clash).
    __table_args__ = (sa.Index("ix_user_oidc", "oidc_issuer", "oidc_subject", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    role: str = Field(max_length=20)  # a key of ROLES
    centre: str | None = Field(default=None, max_length=200)
    password_hash: str | None = Field(default=None, max_length=300)
    active: bool = True
    # Every session cookie carries the epoch it was made in; moving it on (logout, a new
    # password, deactivation, reactivation) ends every earlier session at once (web.auth).
    session_epoch: int = 0
    # Single sign-on (web.oidc): the provider's issuer and its stable subject ("sub") for this
    # person, the one thing a login matches on (names, addresses and usernames change).
    oidc_issuer: str | None = Field(default=None, max_length=300)
    oidc_subject: str | None = Field(default=None, max_length=255)
    created_at: datetime | None = instant_field(nullable=True)  # stamped (see stamp_changes)
    modified_at: datetime | None = instant_field(nullable=True)


class Tombstone(SQLModel, table=True):
    """Something the open data (OParl, views.oparl) listed that is gone: a Bilag with a file
    taken off its case, a membership ended. OParl clients copy the data and follow it by
    `modified_since`, so a deletion must be served (`deleted: true`) for them to drop it."""

    __tablename__ = "oparl_tombstone"
    __table_args__ = (sa.Index("ix_oparl_tombstone_kind_key", "kind", "key"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # "file", "membership"
    key: str = Field(max_length=100)  # the id in its OParl address
    created_at: datetime = instant_field()  # when the thing itself was made
    deleted_at: datetime = instant_field()


class Membership(SQLModel, table=True):
    """A user is a member of a body (receives its agendas, approves its minutes)."""

    user_id: int = Field(foreign_key="user.id", primary_key=True)
    body_code: str = Field(max_length=20, primary_key=True)
    created_at: datetime | None = instant_field(nullable=True)  # stamped (see stamp_changes)
    modified_at: datetime | None = instant_field(nullable=True)


# The managers' dashboard starts from the active cases (a few hundred, whatever the history):
# these make "active and not moved since ..." and "active in this centre" index range scans.
CASE_STATUS_UPDATED_INDEX = sa.Index("ix_web_case_status_updated", Case.status, Case.updated_at)
CASE_STATUS_CENTRE_INDEX = sa.Index("ix_web_case_status_centre", Case.status, Case.centre)

# The active cases only (a few hundred, whatever the archive): the dashboard's starting
# point. A partial index, so that SQLite's planner, which cannot see that "closed" holds
# 99 % of the rows, still starts there; queries must spell the same condition with literal
# values (views.dashboard.ACTIVE_CONDITION).
_ACTIVE_SQL = "status IN (" + ", ".join(f"'{state}'" for state in ACTIVE) + ")"
CASE_ACTIVE_INDEX = sa.Index("ix_web_case_active", Case.updated_at,
                             sqlite_where=sa.text(_ACTIVE_SQL),
                             postgresql_where=sa.text(_ACTIVE_SQL))

# The events that sent a case back, by case (a few among millions): the dashboard's "Sendt
# tilbage" asks it of every active case. Without it PostgreSQL answered by reading the whole
# audit log (57 of the page's 90 ms at 100,000 cases with a thousand under way); queries
# spell the trigger as a literal (views.dashboard), as for the active cases.
SEND_BACK_SQL = "trigger = 'send_back'"
CASE_EVENT_SEND_BACK_INDEX = sa.Index("ix_case_event_send_back", CaseEvent.case_id,
                                      sqlite_where=sa.text(SEND_BACK_SQL),
                                      postgresql_where=sa.text(SEND_BACK_SQL))


# API and feed tokens: stored only as SHA-256 hashes. They are long random strings, so a
# fast hash is enough (a slow password hash is for what people choose); shown once, when made.


class ApiToken(SQLModel, table=True):
    """A bearer token for a system that integrates through /api/; acts as its user."""

    __tablename__ = "web_api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=200)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = instant_field()
    last_used_at: datetime | None = instant_field(nullable=True)
    revoked_at: datetime | None = instant_field(nullable=True)


class LoginFailure(SQLModel, table=True):
    """One wrong password: the account typed and the client's address (web.logins counts
    them per account and per address within a window; rows older than it are deleted)."""

    __tablename__ = "web_login_failure"
    __table_args__ = (sa.Index("ix_web_login_failure_username", "username", "at"),
                      sa.Index("ix_web_login_failure_address", "address", "at"),
                      sa.Index("ix_web_login_failure_at", "at"))
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100)  # as typed, lowercased; also names nobody has
    address: str = Field(max_length=64)
    at: datetime = instant_field()


class FeedToken(SQLModel, table=True):
    """The secret in a person's private calendar address (their own deadlines)."""

    __tablename__ = "web_feed_token"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = instant_field()


# -- created, modified, deleted: stamped at every flush ----------------------------------------

def stamp_changes(session, flush_context, instances) -> None:
    """Every row of a table with `modified_at` gets its created and modified instants when it
    is flushed, and a tombstone when it is deleted and was open data: one listener, so that no
    action can forget it (the open data's `modified_since` depends on it). Bulk statements
    pass by; the actions that use them (a meeting's mark) set `modified_at` themselves."""
    now = utcnow()
    for row in session.new:
        if hasattr(type(row), "modified_at"):
            if getattr(row, "created_at", now) is None:
                row.created_at = now
            if row.modified_at is None:
                row.modified_at = now
    for row in session.dirty:
        if hasattr(type(row), "modified_at") and session.is_modified(row):
            row.modified_at = now
    for row in list(session.deleted):
        tombstone = _tombstone(row, now)
        if tombstone is not None:
            session.add(tombstone)


def _tombstone(row, now: datetime) -> Tombstone | None:
    if isinstance(row, Attachment) and row.digest and row.public:
        return Tombstone(kind="file", key=str(row.id), created_at=row.created_at or now,
                         deleted_at=now)
    if isinstance(row, Membership):
        return Tombstone(kind="membership", key=membership_key(row.user_id, row.body_code),
                         created_at=row.created_at or now, deleted_at=now)
    return None


def membership_key(user_id: int, body_code: str) -> str:
    return f"{user_id}-{body_code}"


sa.event.listen(sa.orm.Session, "before_flush", stamp_changes)
