"""meetings: the mark of the last action that changed when a meeting is (created, moved,
cancelled), so that the sweep refreshes the body's queue only after such a change

Revision ID: 0022_meeting_schedule_seq
Revises: 0021_samlet_pdf
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_meeting_schedule_seq"
down_revision: str | None = "0021_samlet_pdf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("schedule_seq", sa.Integer(), nullable=False,
                                   server_default="0"))
    # A meeting still marked for the sweep gets its queue refreshed, as before.
    op.execute("UPDATE meeting SET schedule_seq = changed_seq")


def downgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("schedule_seq")
