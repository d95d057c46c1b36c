"""meetings: each publication's PDF as published, with its checksum (published_pdf)

Revision ID: 0014_published_pdf
Revises: 0013_bilag_files
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_published_pdf"
down_revision: str | None = "0013_bilag_files"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "published_pdf",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("closed_items", sa.String(length=2000), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["publication_id"], ["agenda_publication.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("publication_id", "public", "closed_items"),
    )
    op.create_index("ix_published_pdf_publication_id", "published_pdf", ["publication_id"])


def downgrade() -> None:
    op.drop_table("published_pdf")
