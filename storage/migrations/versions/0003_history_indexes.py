"""Costs that grow with the work asked, not with the history kept: events carry their
channel (indexed with time, for "what changed since"), items count their date moves (digest
warning signs without reading history), and indexes for digests and the nudge sweep.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 21:00:00
"""

import json
from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): item_events.channel_id is NOT NULL without a default,
#: so the release before it, which does not write it, cannot add events (nothing older works).
schema_change = "contract"


def _date_moves(connection: sa.Connection) -> Counter[int]:
    """Per item, its events that moved the due date from one date to another."""
    events = sa.table(
        "item_events", sa.column("item_id", sa.Integer), sa.column("changes", sa.Text)
    )
    moves: Counter[int] = Counter()
    # Only events that mention due_at can move it; the JSON is read as text on both backends.
    query = sa.select(events.c.item_id, sa.cast(events.c.changes, sa.Text)).where(
        sa.cast(events.c.changes, sa.Text).like('%"due_at"%')
    )
    for item_id, changes in connection.execute(query):
        for change in json.loads(changes) if changes else []:
            if change.get("field") == "due_at" and change.get("old") is not None:
                moves[item_id] += 1
    return moves


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("item_events") as batch_op:
        batch_op.add_column(sa.Column("channel_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE item_events SET channel_id = "
        "(SELECT items.channel_id FROM items WHERE items.id = item_events.item_id)"
    )
    with op.batch_alter_table("item_events") as batch_op:
        batch_op.alter_column("channel_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(
            op.f("fk_item_events_channel_id_channels"), "channels", ["channel_id"], ["id"]
        )
        batch_op.create_index("ix_item_events_channel_id_at", ["channel_id", "at"])

    with op.batch_alter_table("items") as batch_op:
        batch_op.add_column(
            sa.Column("date_moves", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.create_index(
            "ix_items_channel_id_kind_status_created_at",
            ["channel_id", "kind", "status", "created_at"],
        )
        batch_op.create_index("ix_items_status_due_at", ["status", "due_at"])
    items = sa.table("items", sa.column("id", sa.Integer), sa.column("date_moves", sa.Integer))
    for item_id, count in _date_moves(connection).items():
        connection.execute(items.update().where(items.c.id == item_id).values(date_moves=count))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch_op:
        batch_op.drop_index("ix_items_status_due_at")
        batch_op.drop_index("ix_items_channel_id_kind_status_created_at")
        batch_op.drop_column("date_moves")
    with op.batch_alter_table("item_events") as batch_op:
        batch_op.drop_index("ix_item_events_channel_id_at")
        batch_op.drop_constraint(op.f("fk_item_events_channel_id_channels"), type_="foreignkey")
        batch_op.drop_column("channel_id")
