"""core: drop the case_event index on case_id, which UNIQUE (case_id, seq) already covers

Revision ID: 0007_case_event_index
Revises: 0006_case_seq
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0007_case_event_index"
down_revision: str | None = "0006_case_seq"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_case_event_case_id", table_name="case_event")


def downgrade() -> None:
    op.create_index("ix_case_event_case_id", "case_event", ["case_id"], unique=False)
