"""onboarding: audit events written by the import of a municipality's cases under way
(case_event.imported)

Revision ID: 0020_onboarding
Revises: 0019_attendance
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_onboarding"
down_revision: str | None = "0019_attendance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, never a batch: SQLite's batch mode copies the table and would lose the
# triggers that keep the audit log append-only (0001_core).
def upgrade() -> None:
    op.add_column("case_event", sa.Column("imported", sa.Boolean(), nullable=False,
                                          server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("case_event", "imported")
