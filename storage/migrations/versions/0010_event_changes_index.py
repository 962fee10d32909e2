"""The dashboard's trend lines: one channel's recent events that may change an item's status
or owner, without reading the notes, re-datings and snoozes that make up most of a history.

A partial index on ``item_events (channel_id, at)`` for every action but ``note``,
``re-dated`` and ``snoozed`` (the query repeats that condition, so both backends use it).

Expand-only: one new index. The previous release neither knows nor needs it and keeps
working on this schema.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): a new index; the release before keeps working.
schema_change = "expand"

_WHERE = sa.text("action NOT IN ('note', 're-dated', 'snoozed')")


def upgrade() -> None:
    op.create_index(
        "ix_item_events_channel_id_at_changes",
        "item_events",
        ["channel_id", "at"],
        sqlite_where=_WHERE,
        postgresql_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_item_events_channel_id_at_changes", table_name="item_events")
