"""Days off: a channel's public holiday calendar (``channels.holidays``, a ``holidays`` code
such as ``DE-BY``) and its further days off (``channels.days_off``, JSON local dates); and why a
run ended as it did (``runs.reason``: a run skipped on a day off says which).

Expand-only: three nullable columns. The previous release neither reads nor writes them and
keeps working on this schema (it fires on holidays, as it always did).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): three nullable columns; the release before keeps working.
schema_change = "expand"

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch_op:
        batch_op.add_column(sa.Column("holidays", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("days_off", JSON_TYPE, nullable=True))
    with op.batch_alter_table("runs") as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("channels") as batch_op:
        batch_op.drop_column("days_off")
        batch_op.drop_column("holidays")
