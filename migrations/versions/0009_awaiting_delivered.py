"""core: a case in a body's queue can be marked delivered for its agenda (afleveret)

Revision ID: 0009_awaiting_delivered
Revises: 0008_meetings_late_reason
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_awaiting_delivered"
down_revision: str | None = "0008_meetings_late_reason"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("awaiting") as batch:
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("delivered_by", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("awaiting") as batch:
        batch.drop_column("delivered_by")
        batch.drop_column("delivered_at")
