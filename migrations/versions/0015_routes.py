"""routes: joint competence (case.joint_bodies), referral (case.referral_return), a hearing
answered at a council's meeting (hearingresponse.agenda_item_id)

Revision ID: 0015_routes
Revises: 0014_published_pdf
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_routes"
down_revision: str | None = "0014_published_pdf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("joint_bodies", sa.JSON(), nullable=False,
                                   server_default="[]"))
        batch.add_column(sa.Column("referral_return", sa.String(length=20), nullable=True))
    with op.batch_alter_table("hearingresponse") as batch:
        batch.add_column(sa.Column("agenda_item_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hearingresponse") as batch:
        batch.drop_column("agenda_item_id")
    with op.batch_alter_table("case") as batch:
        batch.drop_column("referral_return")
        batch.drop_column("joint_bodies")
