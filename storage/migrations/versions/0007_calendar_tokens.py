"""Calendar feed tokens (``/raid calendar``): one row per personal link, its token kept as a
SHA-256 only, revoked by ``/raid calendar reset``.

Expand-only: one new table. The previous release neither reads nor writes it and keeps working
on this schema.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): a new table; the release before keeps working.
schema_change = "expand"

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "calendar_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("channel_name", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("revoked_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["channels.id"],
            name=op.f("fk_calendar_tokens_channel_id_channels"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_tokens_token_hash")),
    )
    op.create_index(
        "ix_calendar_tokens_channel_id_user",
        "calendar_tokens",
        ["channel_id", "user"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_calendar_tokens_channel_id_user", table_name="calendar_tokens")
    op.drop_table("calendar_tokens")
