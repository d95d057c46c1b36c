"""meetings: a meeting action marks the meeting for the sweep (changed_seq/notified_seq), and
an agenda publication remembers when its followers were told

Revision ID: 0010_meeting_changes
Revises: 0009_awaiting_delivered
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_meeting_changes"
down_revision: str | None = "0009_awaiting_delivered"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("changed_seq", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("notified_seq", sa.Integer(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("agenda_publication") as batch:
        batch.add_column(sa.Column("followers_notified_at", sa.DateTime(timezone=True),
                                   nullable=True))
    # Until now a publication told its followers in its own transaction: all were told.
    op.execute("UPDATE agenda_publication SET followers_notified_at = published_at")


def downgrade() -> None:
    with op.batch_alter_table("agenda_publication") as batch:
        batch.drop_column("followers_notified_at")
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("notified_seq")
        batch.drop_column("changed_seq")
