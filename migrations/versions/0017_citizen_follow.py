"""citizen follow: a subscription without an account (public, confirmed_at, search_phrase)
and the sign-up throttle's table (web_follow_signup)

Revision ID: 0017_citizen_follow
Revises: 0016_search
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_citizen_follow"
down_revision: str | None = "0016_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_subscription") as batch:
        # The rows there are of accounts: not public, and needing no confirmation.
        batch.add_column(sa.Column("public", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("search_phrase", sa.String(length=200), nullable=True))
    op.create_table(
        "web_follow_signup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_follow_signup_email", "web_follow_signup", ["email", "at"])
    op.create_index("ix_web_follow_signup_address", "web_follow_signup", ["address", "at"])
    op.create_index("ix_web_follow_signup_at", "web_follow_signup", ["at"])


def downgrade() -> None:
    op.drop_table("web_follow_signup")
    with op.batch_alter_table("web_subscription") as batch:
        batch.drop_column("search_phrase")
        batch.drop_column("confirmed_at")
        batch.drop_column("public")
