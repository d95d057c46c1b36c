"""open data (OParl): created and modified instants on the rows it serves, and the
tombstones of what it served that is gone (oparl_tombstone)

Revision ID: 0018_oparl
Revises: 0017_citizen_follow
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_oparl"
down_revision: str | None = "0017_citizen_follow"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMPED = ("agenda_item", "attachment", "user", "membership")
# The rows so far: their best known instants (a user or a membership has none: from now on).
BACKFILL = (
    "UPDATE meeting SET modified_at = COALESCE(minutes_final_at, created_at)",
    "UPDATE agenda_item SET created_at = (SELECT m.created_at FROM meeting m "
    "WHERE m.id = agenda_item.meeting_id)",
    "UPDATE agenda_item SET modified_at = COALESCE(decided_at, created_at)",
    'UPDATE attachment SET created_at = (SELECT c.created_at FROM "case" c '
    "WHERE c.id = attachment.case_id), modified_at = (SELECT c.updated_at FROM \"case\" c "
    "WHERE c.id = attachment.case_id)",
    'UPDATE "user" SET created_at = CURRENT_TIMESTAMP, modified_at = CURRENT_TIMESTAMP',
    "UPDATE membership SET created_at = CURRENT_TIMESTAMP, modified_at = CURRENT_TIMESTAMP",
)


def upgrade() -> None:
    with op.batch_alter_table("meeting") as batch:
        batch.add_column(sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True))
    for table in STAMPED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column("modified_at", sa.DateTime(timezone=True),
                                       nullable=True))
    for statement in BACKFILL:
        op.execute(statement)
    op.create_table(
        "oparl_tombstone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_oparl_tombstone_kind_key", "oparl_tombstone", ["kind", "key"])


def downgrade() -> None:
    op.drop_index("ix_oparl_tombstone_kind_key", table_name="oparl_tombstone")
    op.drop_table("oparl_tombstone")
    for table in reversed(STAMPED):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("modified_at")
            batch.drop_column("created_at")
    with op.batch_alter_table("meeting") as batch:
        batch.drop_column("modified_at")
