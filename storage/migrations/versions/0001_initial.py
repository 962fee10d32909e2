"""Initial schema: channels, ref counters, items and their events.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): the first schema; nothing older exists.
schema_change = "contract"

# Frozen copies of the model's types: a migration must keep meaning what it meant when written.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("leads", JSON, nullable=False),
        sa.Column("nudges_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint(
            "platform",
            "workspace",
            "external_id",
            name=op.f("uq_channels_platform_workspace_external_id"),
        ),
    )
    op.create_table(
        "ref_counters",
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "last_number >= 0", name=op.f("ck_ref_counters_last_number_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_ref_counters_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("channel_id", "kind", name=op.f("pk_ref_counters")),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("reporter", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("due_at", UTC_DATETIME, nullable=True),
        sa.Column("waiting_on", sa.Text(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("likelihood", sa.Integer(), nullable=True),
        sa.Column("impact", sa.Integer(), nullable=True),
        sa.Column("response", sa.String(length=16), nullable=True),
        sa.Column("mitigation", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.Column("impacts", JSON, nullable=False),
        sa.Column("approvers", JSON, nullable=False),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.Column("decided_at", UTC_DATETIME, nullable=True),
        sa.Column("linked_ref", sa.String(length=32), nullable=True),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.CheckConstraint("number >= 1", name=op.f("ck_items_number_positive")),
        sa.CheckConstraint("likelihood BETWEEN 1 AND 5", name=op.f("ck_items_likelihood_range")),
        sa.CheckConstraint("impact BETWEEN 1 AND 5", name=op.f("ck_items_impact_range")),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_items_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_items")),
        sa.UniqueConstraint(
            "channel_id", "kind", "number", name=op.f("uq_items_channel_id_kind_number")
        ),
    )
    op.create_index("ix_items_channel_id_status", "items", ["channel_id", "status"])
    op.create_table(
        "item_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("changes", JSON, nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_events_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_events")),
    )
    op.create_index("ix_item_events_item_id_id", "item_events", ["item_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_item_events_item_id_id", table_name="item_events")
    op.drop_table("item_events")
    op.drop_index("ix_items_channel_id_status", table_name="items")
    op.drop_table("items")
    op.drop_table("ref_counters")
    op.drop_table("channels")
