"""web: single sign-on by OpenID Connect: the provider's issuer and subject on the user

Revision ID: 0012_oidc
Revises: 0011_sessions
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_oidc"
down_revision: str | None = "0011_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("oidc_issuer", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("oidc_subject", sa.String(length=255), nullable=True))
        batch.create_index("ix_user_oidc", ["oidc_issuer", "oidc_subject"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("user") as batch:
        batch.drop_index("ix_user_oidc")
        batch.drop_column("oidc_subject")
        batch.drop_column("oidc_issuer")
