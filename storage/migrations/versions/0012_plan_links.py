"""The plan: milestones, dependencies and tracker links. Each item may be part of a milestone
(``items.milestone``, its ref such as ``M-1``), depend on other items (``items.depends_on``,
JSON refs) and keep links to the team's tracker (``items.links``, JSON keys and URLs); a
channel keeps the address patterns of its tracker keys (``channels.link_patterns``, JSON).

Expand-only: four nullable columns. The previous release neither reads nor writes them and
keeps working on this schema (it shows a milestone's ``M-`` items as it can, and no links).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
#: Expand/contract (storage.migrate): four nullable columns; the release before keeps working.
schema_change = "expand"

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("items") as batch_op:
        batch_op.add_column(sa.Column("milestone", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("depends_on", JSON_TYPE, nullable=True))
        batch_op.add_column(sa.Column("links", JSON_TYPE, nullable=True))
    with op.batch_alter_table("channels") as batch_op:
        batch_op.add_column(sa.Column("link_patterns", JSON_TYPE, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch_op:
        batch_op.drop_column("link_patterns")
    with op.batch_alter_table("items") as batch_op:
        batch_op.drop_column("links")
        batch_op.drop_column("depends_on")
        batch_op.drop_column("milestone")
