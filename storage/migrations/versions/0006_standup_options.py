"""Standups that respect people's time: their newer settings (late answers, reminders,
optional members, observers, mentions) in ``schedules.options``, and an opened standup's
copy of them in ``standups.options``, both JSON.

Expand-only: two nullable columns. The previous release neither reads nor writes them and
keeps working on this schema (its standups run with the defaults: no late answers, one
reminder at 75 %, everyone counted, mentions on).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): two nullable columns; the release before keeps working.
schema_change = "expand"

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("schedules") as batch_op:
        batch_op.add_column(sa.Column("options", JSON_TYPE, nullable=True))
    with op.batch_alter_table("standups") as batch_op:
        batch_op.add_column(sa.Column("options", JSON_TYPE, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("standups") as batch_op:
        batch_op.drop_column("options")
    with op.batch_alter_table("schedules") as batch_op:
        batch_op.drop_column("options")
