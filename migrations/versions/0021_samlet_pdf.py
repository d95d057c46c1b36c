"""meetings: a publication's samlet dagsorden med bilag kept too (published_pdf.with_bilag,
with the ids of the Bilag it was made with, published_pdf.bilag)

Revision ID: 0021_samlet_pdf
Revises: 0020_onboarding
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_samlet_pdf"
down_revision: str | None = "0020_onboarding"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The unique constraint gains with_bilag. 0014 made it unnamed: PostgreSQL named it by this
# pattern, and the naming convention gives SQLite's (copied in batch mode) the same name, so
# one name drops it on both. published_pdf has no triggers for the copy to lose.
NAMES = {"uq": "%(table_name)s_%(column_0_N_name)s_key"}
OLD = ("publication_id", "public", "closed_items")
NEW = ("publication_id", "public", "with_bilag", "closed_items")


def name(columns: tuple[str, ...]) -> str:
    return f"published_pdf_{'_'.join(columns)}_key"


def upgrade() -> None:
    with op.batch_alter_table("published_pdf", naming_convention=NAMES) as batch:
        batch.add_column(sa.Column("with_bilag", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("bilag", sa.Text(), nullable=False, server_default=""))
        batch.drop_constraint(name(OLD), type_="unique")
        batch.create_unique_constraint(name(NEW), list(NEW))


def downgrade() -> None:
    # The samlet versions go: the old key cannot tell them from the documents.
    op.execute(sa.text("DELETE FROM published_pdf WHERE with_bilag"))
    with op.batch_alter_table("published_pdf", naming_convention=NAMES) as batch:
        batch.drop_constraint(name(NEW), type_="unique")
        batch.drop_column("bilag")
        batch.drop_column("with_bilag")
        batch.create_unique_constraint(name(OLD), list(OLD))
