"""core: the case's latest audit seq and the seq its notifications are derived up to

Revision ID: 0006_case_seq
Revises: 0005_web_active_index
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_case_seq"
down_revision: str | None = "0005_web_active_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNNOTIFIED = "notified_seq < last_seq"


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("last_seq", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("notified_seq", sa.Integer(), nullable=False,
                                   server_default="0"))
    # Existing cases had their reminders and follow news made in their own transactions.
    op.execute('UPDATE "case" SET last_seq = (SELECT coalesce(max(seq), 0) FROM case_event '
               'WHERE case_event.case_id = "case".id)')
    op.execute('UPDATE "case" SET notified_seq = last_seq')
    op.create_index("ix_case_unnotified", "case", ["id"], unique=False,
                    sqlite_where=sa.text(UNNOTIFIED), postgresql_where=sa.text(UNNOTIFIED))


def downgrade() -> None:
    op.drop_index("ix_case_unnotified", table_name="case")
    with op.batch_alter_table("case") as batch:
        batch.drop_column("notified_seq")
        batch.drop_column("last_seq")
