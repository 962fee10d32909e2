"""Runs keep what they send: the message built by the first attempt (``message``), when it was
built (``built_at``) and when a send last started (``send_started_at``).

A retry sends the stored message instead of building a new one, and a run reclaimed after a
send started is known to be a possible duplicate.

Expand-only: three nullable columns. The previous release neither reads nor writes them and
keeps working on this schema (its runs have none, and are built at delivery as before).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): three nullable columns on runs; the release before keeps
#: working (it ignores them and builds messages at delivery time).
schema_change = "expand"

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch_op:
        batch_op.add_column(sa.Column("message", JSON_TYPE, nullable=True))
        batch_op.add_column(sa.Column("built_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("send_started_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch_op:
        batch_op.drop_column("send_started_at")
        batch_op.drop_column("built_at")
        batch_op.drop_column("message")
