"""The web application's own tables: API tokens, personal feed tokens and followers.

Tokens are stored only as SHA-256 hashes: they are long random strings, so a fast hash is
enough (a slow password hash is for what people choose). A token is shown once, when made.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from cases.models import Case, instant_field


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


class FeedToken(SQLModel, table=True):
    """The secret in a person's private calendar address (their own deadlines)."""

    __tablename__ = "web_feed_token"
    user_id: int = Field(foreign_key="user.id", primary_key=True)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = instant_field()


class Subscription(SQLModel, table=True):
    """Someone follows a case or a body by email; ended by the unsubscribe link."""

    __tablename__ = "web_subscription"
    __table_args__ = (sa.Index("ix_web_subscription_body", "body_code"),)
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254)
    user_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    body_code: str | None = Field(default=None, max_length=20)
    created_at: datetime = instant_field()
    ended_at: datetime | None = instant_field(nullable=True)


# The managers' dashboard starts from the active cases (a few hundred, whatever the history):
# these make "active and not moved since ..." and "active in this centre" index range scans.
CASE_STATUS_UPDATED_INDEX = sa.Index("ix_web_case_status_updated", Case.status, Case.updated_at)
CASE_STATUS_CENTRE_INDEX = sa.Index("ix_web_case_status_centre", Case.status, Case.centre)

# The active cases only (a few hundred, whatever the archive): the dashboard's starting
# point. A partial index, so that SQLite's planner, which cannot see that "closed" holds
# 99 % of the rows, still starts there; queries must spell the same condition with literal
# values (web.dashboard.ACTIVE_CONDITION).
ACTIVE_STATES = ("draft", "hearing", "committee", "finance", "council")
CASE_ACTIVE_INDEX = sa.Index(
    "ix_web_case_active", Case.updated_at,
    sqlite_where=sa.text("status IN ('draft', 'hearing', 'committee', 'finance', 'council')"),
    postgresql_where=sa.text("status IN ('draft', 'hearing', 'committee', 'finance', "
                             "'council')"))
