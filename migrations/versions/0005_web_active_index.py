"""web: partial index on the active cases (dashboard)

Revision ID: 0005_web_active_index
Revises: 0004_web
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_web_active_index"
down_revision: str | None = "0004_web"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('draft', 'hearing', 'committee', 'finance', 'council')"


def upgrade() -> None:
    op.create_index("ix_web_case_active", "case", ["updated_at"], unique=False,
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade() -> None:
    op.drop_index("ix_web_case_active", table_name="case")
