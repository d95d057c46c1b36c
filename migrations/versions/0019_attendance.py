"""meetings: attendance (Deltog, Afbud, Fraværende, stedfortrædere) in place of absence; per
item who took no part (item_absence), votes (vote, vote_voter) and notes (item_note)

The absences recorded so far become attendance rows with the status Fraværende.

Revision ID: 0019_attendance
Revises: 0018_oparl
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_attendance"
down_revision: str | None = "0018_oparl"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("party", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("substitute_for", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "name"),
    )
    op.create_index("ix_attendance_meeting_id", "attendance", ["meeting_id"])
    op.execute("INSERT INTO attendance (meeting_id, user_id, name, party, status, "
               "substitute_for, note) SELECT meeting_id, user_id, name, '', 'fravaerende', "
               "'', note FROM absence")
    op.drop_index("ix_absence_meeting_id", table_name="absence")
    op.drop_table("absence")

    op.create_table(
        "item_absence",
        sa.Column("attendance_id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["attendance_id"], ["attendance.id"]),
        sa.ForeignKeyConstraint(["agenda_item_id"], ["agenda_item.id"]),
        sa.PrimaryKeyConstraint("attendance_id", "agenda_item_id"),
    )
    op.create_index("ix_item_absence_agenda_item_id", "item_absence", ["agenda_item_id"])
    op.create_table(
        "vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("proposal_number", sa.Integer(), nullable=True),
        sa.Column("votes_for", sa.Integer(), nullable=False),
        sa.Column("votes_against", sa.Integer(), nullable=False),
        sa.Column("abstentions", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agenda_item_id"], ["agenda_item.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agenda_item_id", "proposal_number"),
    )
    op.create_index("ix_vote_agenda_item_id", "vote", ["agenda_item_id"])
    op.create_table(
        "vote_voter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["vote_id"], ["vote.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_vote_voter_vote_id", "vote_voter", ["vote_id"])
    op.create_table(
        "item_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("who", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["agenda_item_id"], ["agenda_item.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_item_note_agenda_item_id", "item_note", ["agenda_item_id"])


def downgrade() -> None:
    op.drop_table("item_note")
    op.drop_table("vote_voter")
    op.drop_table("vote")
    op.drop_table("item_absence")
    op.create_table(
        "absence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("meeting_id", "name"),
    )
    op.create_index("ix_absence_meeting_id", "absence", ["meeting_id"])
    # Those not there (Afbud, Fraværende) go back; who took part had no table before.
    op.execute("INSERT INTO absence (meeting_id, user_id, name, note) SELECT meeting_id, "
               "user_id, name, note FROM attendance WHERE status <> 'deltog'")
    op.drop_table("attendance")
