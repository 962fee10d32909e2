"""Secrets at rest and replay protection: the key raidline generates on the embedded default
(``raidline_secrets``), the signed requests already taken (``seen_requests``), and room for
encrypted tokens in slack_sdk's tables on PostgreSQL.

Expand-only: the previous release ignores both new tables, and a wider column takes
whatever it writes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): new tables and wider columns; the release before keeps
#: working.
schema_change = "expand"

UTC_DATETIME = sa.DateTime(timezone=True)

#: slack_sdk's token columns are VARCHAR(200); an encrypted refresh token is longer. SQLite
#: does not enforce the length; PostgreSQL does.
TOKEN_COLUMNS = {
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}


def upgrade() -> None:
    op.create_table(
        "raidline_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_raidline_secrets")),
    )
    op.create_table(
        "seen_requests",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_seen_requests")),
    )
    op.create_index(op.f("ix_seen_requests_expires_at"), "seen_requests", ["expires_at"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    inspector = sa.inspect(bind)
    for table, columns in TOKEN_COLUMNS.items():
        if not inspector.has_table(table):
            continue  # created wide by raidline's installation store
        present = {c["name"] for c in inspector.get_columns(table)}
        for column in columns:
            if column in present:
                op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(200))


def downgrade() -> None:
    # The token columns stay wide: narrowing them could cut an encrypted token.
    op.drop_index(op.f("ix_seen_requests_expires_at"), table_name="seen_requests")
    op.drop_table("seen_requests")
    op.drop_table("raidline_secrets")
