"""The outbox of reminder emails and the recipients who stopped optional ones.

One row per reminder that is (or was) due, keyed by a unique dedupe key, so that a second
refresh, a second beat or a redelivered task can never make a second row or a second send
(docs/engineering.md, "Celery and Redis").
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import JSON, Column, Field, SQLModel

from cases.models import instant_field

# Statuses, as named constants (pretix's OutgoingMail style).
PENDING = "pending"  # waiting for next_attempt_at
SENDING = "sending"  # claimed by a sweep and handed to the queue (and maybe to a worker)
SENT = "sent"
FAILED = "failed"  # permanent SMTP error or too many attempts: shown to the secretariat
CANCELLED = "cancelled"  # no longer wanted (the case moved on) or the recipient opted out
STATUSES = (PENDING, SENDING, SENT, FAILED, CANCELLED)


class Reminder(SQLModel, table=True):
    __tablename__ = "reminder"
    __table_args__ = (
        # The sweep asks "pending and due by now": an index range over the due rows only,
        # whatever the size of the table (status equality first, then the time range).
        sa.Index("ix_reminder_status_next_attempt", "status", "next_attempt_at"),
        # The stuck-claim sweeper asks "sending and claimed before t".
        sa.Index("ix_reminder_status_claimed", "status", "claimed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=400, sa_column_kwargs={"unique": True})
    kind: str = Field(max_length=40)  # a key of notifications.rules.KINDS
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    recipient: str = Field(max_length=254)  # email address
    recipient_name: str = Field(default="", max_length=200)
    optional: bool = True  # the recipient may stop it (unsubscribe link)
    context: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=PENDING, max_length=20)
    due_at: datetime = instant_field()  # when the rule wants it sent (UTC)
    next_attempt_at: datetime = instant_field()  # due_at, moved by office hours and backoff
    attempts: int = 0  # SMTP attempts made
    last_error: str = Field(default="", sa_type=sa.Text)
    claim_token: str | None = Field(default=None, max_length=40)  # set by the claiming sweep
    claimed_at: datetime | None = instant_field(nullable=True)
    started_at: datetime | None = instant_field(nullable=True)  # a worker took the claim
    sent_at: datetime | None = instant_field(nullable=True)
    message_id: str = Field(default="", max_length=200)
    created_at: datetime = instant_field()
    updated_at: datetime = instant_field()


class ReminderOptOut(SQLModel, table=True):
    """A recipient stopped optional reminders of one kind ("*": all optional ones)."""

    __tablename__ = "reminder_optout"
    email: str = Field(max_length=254, primary_key=True)
    kind: str = Field(max_length=40, primary_key=True)
    created_at: datetime = instant_field()


class Subscription(SQLModel, table=True):
    """Someone follows a case or a body by email; ended by the unsubscribe link.

    A citizen without an account (`public`, signed up on /offentlig/foelg) follows a body's
    published agendas and minutes, or a search phrase (`search_phrase`, within `body_code`
    when given), and gets only what the public portal shows. Their subscription counts from
    `confirmed_at`, when the link of the one confirmation mail was used (double opt-in);
    an account's subscription needs no confirming: the address is the account's.
    """

    __tablename__ = "web_subscription"
    __table_args__ = (sa.Index("ix_web_subscription_body", "body_code"),)
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    body_code: str | None = Field(default=None, max_length=20)
    created_at: datetime = instant_field()
    ended_at: datetime | None = instant_field(nullable=True)
    public: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    confirmed_at: datetime | None = instant_field(nullable=True)
    search_phrase: str | None = Field(default=None, max_length=200)


class FollowSignup(SQLModel, table=True):
    """One sign-up on /offentlig/foelg, kept for the throttle's window (web.citizens): the
    address typed and the client's address, so both are counted in every web process."""

    __tablename__ = "web_follow_signup"
    __table_args__ = (sa.Index("ix_web_follow_signup_email", "email", "at"),
                      sa.Index("ix_web_follow_signup_address", "address", "at"),
                      sa.Index("ix_web_follow_signup_at", "at"))
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)  # lowercased
    address: str = Field(max_length=64)
    at: datetime = instant_field()
