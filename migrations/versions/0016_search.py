"""search: the searchable texts (search_doc) and their Danish full-text index (search_fts:
FTS5 over stems on SQLite, tsvectors with a GIN index on PostgreSQL)

Revision ID: 0016_search
Revises: 0015_routes
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_search"
down_revision: str | None = "0015_routes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_doc",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("bodies", sa.String(length=400), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("on", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "source_id"),
    )
    with op.batch_alter_table("search_doc") as batch:
        batch.create_index("ix_search_doc_case_id", ["case_id"], unique=False)
        batch.create_index("ix_search_doc_meeting_id", ["meeting_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # The stems of title and text (meetings.searchtext.stemmed) and the filters' tags
        # (meetings.search.tags); rowid = search_doc.id. Diacritics kept: "år" is not "ar".
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5("
                   "title, body, tags, tokenize = 'unicode61 remove_diacritics 0')")
    else:
        op.execute("CREATE TABLE search_fts ("
                   "id integer PRIMARY KEY REFERENCES search_doc (id) ON DELETE CASCADE, "
                   "title tsvector NOT NULL, doc tsvector NOT NULL, tags tsvector NOT NULL)")
        op.execute("CREATE INDEX search_fts_doc ON search_fts USING gin (doc)")


def downgrade() -> None:
    op.execute("DROP TABLE search_fts")
    with op.batch_alter_table("search_doc") as batch:
        batch.drop_index("ix_search_doc_meeting_id")
        batch.drop_index("ix_search_doc_case_id")
    op.drop_table("search_doc")
