"""core: a case in a body's queue can be marked delivered for its agenda (afleveret)

Revision ID: 0007_awaiting_delivered
Revises: 0006_case_event_index
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cases.models import UTCDateTime

revision: str = "0007_awaiting_delivered"
down_revision: str | None = "0006_case_event_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("awaiting") as batch:
        batch.add_column(sa.Column("delivered_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("delivered_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("awaiting") as batch:
        batch.drop_column("delivered_by")
        batch.drop_column("delivered_at")
