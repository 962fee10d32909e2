"""Scheduled work: nudge state on items, working hours and digests on channels, schedules,
the run ledger/outbox, standups and their answers.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): new tables, and new columns that default themselves;
#: the release before keeps working.
schema_change = "expand"

# Frozen copies of the model's types: a migration must keep meaning what it meant when written.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
UTC_DATETIME = sa.DateTime(timezone=True)
WORKDAYS_JSON = '["mon", "tue", "wed", "thu", "fri"]'


def upgrade() -> None:
    # Batch mode: SQLite adds columns in place (ALTER TABLE ADD COLUMN) and re-creates the
    # table only where it has to. NOT NULL columns get server defaults for existing rows.
    with op.batch_alter_table("items") as batch_op:
        batch_op.add_column(
            sa.Column("nudge_count", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch_op.add_column(sa.Column("last_nudged_at", UTC_DATETIME, nullable=True))
        batch_op.add_column(sa.Column("snoozed_until", UTC_DATETIME, nullable=True))

    with op.batch_alter_table("channels") as batch_op:
        batch_op.add_column(
            sa.Column("work_days", JSON, server_default=WORKDAYS_JSON, nullable=False)
        )
        batch_op.add_column(
            sa.Column("work_start", sa.String(length=5), server_default="09:00", nullable=False)
        )
        batch_op.add_column(
            sa.Column("work_end", sa.String(length=5), server_default="18:00", nullable=False)
        )
        batch_op.add_column(sa.Column("last_digest_at", UTC_DATETIME, nullable=True))

    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("days", JSON, nullable=False),
        sa.Column("at", sa.String(length=5), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("next_run_at", UTC_DATETIME, nullable=True),
        sa.Column("questions", JSON, nullable=False),
        sa.Column("members", JSON, nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("skip_dates", JSON, nullable=False),
        sa.Column("away", JSON, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_schedules_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("channel_id", "kind", name=op.f("uq_schedules_channel_id_kind")),
    )
    op.create_index(op.f("ix_schedules_next_run_at"), "schedules", ["next_run_at"])

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("result_ref", sa.String(length=255), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_runs_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("key", name=op.f("uq_runs_key")),
    )
    op.create_index("ix_runs_status_due_at", "runs", ["status", "due_at"])

    op.create_table(
        "standups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.String(length=10), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("closes_at", UTC_DATETIME, nullable=False),
        sa.Column("questions", JSON, nullable=False),
        sa.Column("members", JSON, nullable=False),
        sa.Column("away", JSON, nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("late_by_minutes", sa.Integer(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("message_ref", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_standups_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"], ["schedules.id"], name=op.f("fk_standups_schedule_id_schedules")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standups")),
        sa.UniqueConstraint(
            "schedule_id", "local_date", name=op.f("uq_standups_schedule_id_local_date")
        ),
    )

    op.create_table(
        "standup_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("standup_id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=255), nullable=False),
        sa.Column("answers", JSON, nullable=False),
        sa.Column("answered_at", UTC_DATETIME, nullable=False),
        sa.Column("first_answered_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["standup_id"],
            ["standups.id"],
            name=op.f("fk_standup_answers_standup_id_standups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standup_answers")),
        sa.UniqueConstraint(
            "standup_id", "person", name=op.f("uq_standup_answers_standup_id_person")
        ),
    )


def downgrade() -> None:
    op.drop_table("standup_answers")
    op.drop_table("standups")
    op.drop_index("ix_runs_status_due_at", table_name="runs")
    op.drop_table("runs")
    op.drop_index(op.f("ix_schedules_next_run_at"), table_name="schedules")
    op.drop_table("schedules")

    # On SQLite this re-creates both tables (copy and move); foreign keys are off during
    # migrations (storage.migrate), so re-creating channels and items cascades nothing.
    with op.batch_alter_table("channels") as batch_op:
        batch_op.drop_column("last_digest_at")
        batch_op.drop_column("work_end")
        batch_op.drop_column("work_start")
        batch_op.drop_column("work_days")

    with op.batch_alter_table("items") as batch_op:
        batch_op.drop_column("snoozed_until")
        batch_op.drop_column("last_nudged_at")
        batch_op.drop_column("nudge_count")
