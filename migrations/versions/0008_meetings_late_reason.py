"""meetings: why an agenda was published after its deadline

Revision ID: 0008_meetings_late_reason
Revises: 0007_case_event_index
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_meetings_late_reason"
down_revision: str | None = "0007_case_event_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing publications were not checked against the deadline: no reason recorded.
    with op.batch_alter_table("agenda_publication", schema=None) as batch_op:
        batch_op.add_column(sa.Column("late_reason", sa.Text(), nullable=False,
                                      server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("agenda_publication", schema=None) as batch_op:
        batch_op.drop_column("late_reason")
