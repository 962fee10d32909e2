"""Close-out: a channel's closure (``channels.closing_since``, ``closed_at``, ``closed_by``),
deferred items (``items.revisit_at``, ``items.deferred_reason``) and the lessons learned
(a new ``lessons`` table).

Expand-only: five nullable columns and a new table. The previous release neither reads nor
writes them and keeps working on this schema (it shows a deferred item's state as stored).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): nullable columns and a new table; the release before
#: keeps working.
schema_change = "expand"

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch_op:
        batch_op.add_column(sa.Column("closing_since", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("closed_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("closed_by", sa.String(length=255), nullable=True))
    with op.batch_alter_table("items") as batch_op:
        batch_op.add_column(sa.Column("revisit_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("deferred_reason", sa.Text(), nullable=True))
    op.create_table(
        "lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_lessons_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessons")),
    )
    op.create_index("ix_lessons_channel_id_id", "lessons", ["channel_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lessons_channel_id_id", table_name="lessons")
    op.drop_table("lessons")
    with op.batch_alter_table("items") as batch_op:
        batch_op.drop_column("deferred_reason")
        batch_op.drop_column("revisit_at")
    with op.batch_alter_table("channels") as batch_op:
        batch_op.drop_column("closed_by")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("closing_since")
