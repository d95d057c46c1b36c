"""web: revocable sessions (user.session_epoch) and the wrong passwords that throttle logins
(web_login_failure)

Revision ID: 0011_sessions
Revises: 0010_meeting_changes
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_sessions"
down_revision: str | None = "0010_meeting_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Cookies made before this carry no epoch, so they end here: they could not be revoked.
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.create_table(
        "web_login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_login_failure_username", "web_login_failure", ["username", "at"])
    op.create_index("ix_web_login_failure_address", "web_login_failure", ["address", "at"])
    op.create_index("ix_web_login_failure_at", "web_login_failure", ["at"])


def downgrade() -> None:
    op.drop_table("web_login_failure")
    with op.batch_alter_table("user") as batch:
        batch.drop_column("session_epoch")
