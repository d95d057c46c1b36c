"""cases: partial index on the events that sent a case back (the dashboard's "Sendt tilbage")

Revision ID: 0023_send_back_index
Revises: 0022_meeting_schedule_seq
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_send_back_index"
down_revision: str | None = "0022_meeting_schedule_seq"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEND_BACK = "trigger = 'send_back'"


def upgrade() -> None:
    op.create_index("ix_case_event_send_back", "case_event", ["case_id"], unique=False,
                    sqlite_where=sa.text(SEND_BACK), postgresql_where=sa.text(SEND_BACK))


def downgrade() -> None:
    op.drop_index("ix_case_event_send_back", table_name="case_event")
