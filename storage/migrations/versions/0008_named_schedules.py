"""Several standups per channel: a named schedule keeps its name in ``schedules.kind``
(``standup:retro``), so the kind column is widened from 16 to 48 characters. The unique key
(channel, kind) stays as it is: the default standup and each named one are distinct kinds.

Expand-only: a wider type. The previous release keeps working on this schema; it knows only
the default standup and digest (``kind`` = ``standup`` / ``digest``) and must not run next to
a release that has stored named standups (it cannot read their kind).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): a wider column; the release before keeps working.
schema_change = "expand"


def upgrade() -> None:
    with op.batch_alter_table("schedules") as batch_op:
        batch_op.alter_column(
            "kind", existing_type=sa.String(16), type_=sa.String(48), existing_nullable=False
        )


def downgrade() -> None:
    # Named standups do not fit the old column: they are removed with their standups.
    bind = op.get_bind()
    named = sa.text("SELECT id FROM schedules WHERE kind LIKE '%:%'")
    ids = [row[0] for row in bind.execute(named)]
    for schedule_id in ids:
        bind.execute(
            sa.text(
                "DELETE FROM standup_answers WHERE standup_id IN "
                "(SELECT id FROM standups WHERE schedule_id = :id)"
            ),
            {"id": schedule_id},
        )
        bind.execute(sa.text("DELETE FROM standups WHERE schedule_id = :id"), {"id": schedule_id})
        bind.execute(sa.text("DELETE FROM schedules WHERE id = :id"), {"id": schedule_id})
    with op.batch_alter_table("schedules") as batch_op:
        batch_op.alter_column(
            "kind", existing_type=sa.String(48), type_=sa.String(16), existing_nullable=False
        )
