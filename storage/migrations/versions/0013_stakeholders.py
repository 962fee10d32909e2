"""Stakeholder updates: who gets which direct messages about a channel
(``channels.stakeholders``, JSON person -> levels) and after how many working days an
overdue blocker is escalated to them (``channels.escalate_after_days``; NULL: the default).

Expand-only: two nullable columns. The previous release neither reads nor writes them and
keeps working on this schema (it sends no stakeholder updates).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): two nullable columns; the release before keeps working.
schema_change = "expand"

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch_op:
        batch_op.add_column(sa.Column("stakeholders", JSON_TYPE, nullable=True))
        batch_op.add_column(sa.Column("escalate_after_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch_op:
        batch_op.drop_column("escalate_after_days")
        batch_op.drop_column("stakeholders")
