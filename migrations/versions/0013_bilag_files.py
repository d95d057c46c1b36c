"""cases: Bilag as files (attachment's file columns, attachment_blob for the database store)

Revision ID: 0013_bilag_files
Revises: 0012_oidc
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_bilag_files"
down_revision: str | None = "0012_oidc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The Bilag so far are titles only: public, no file.
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("public", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("filename", sa.String(length=255), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("media_type", sa.String(length=100), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("text", sa.Text(), nullable=False, server_default=""))
    op.create_table(
        "attachment_blob",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )


def downgrade() -> None:
    op.drop_table("attachment_blob")
    with op.batch_alter_table("attachment") as batch:
        for column in ("text", "size", "media_type", "filename", "digest", "public"):
            batch.drop_column(column)
