"""The schema: SQLAlchemy declarative models, the single source for Alembic's autogenerate.

Rows are mapped to and from the core's frozen dataclasses in ``storage.repositories``; nothing
outside ``storage`` sees these classes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from storage.types import UTCDateTime

__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "ChannelRow",
    "ItemEventRow",
    "ItemRow",
    "RefCounterRow",
    "channels",
    "item_events",
    "items",
    "metadata",
    "ref_counters",
]

# SQLite's batch mode can only drop or alter constraints that have names, and stable names
# keep autogenerate diffs empty on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONType: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")

# Platform user ids are short (Slack U…, Discord snowflakes); console names are free text.
PERSON = 255


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


metadata = Base.metadata


class ChannelRow(Base):
    """A channel of a workspace on a platform, with its settings."""

    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("platform", "workspace", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    workspace: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    leads: Mapped[list[str]] = mapped_column(JSONType, default=list)
    nudges_enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=_utcnow)


class RefCounterRow(Base):
    """The last ref number handed out per channel and kind; numbers are never reused."""

    __tablename__ = "ref_counters"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_not_negative"),)

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class ItemRow(Base):
    """A blocker, risk, decision or change request (``bot.model.Item``)."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("channel_id", "kind", "number"),
        Index("ix_items_channel_id_status", "channel_id", "status"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("likelihood BETWEEN 1 AND 5", name="likelihood_range"),
        CheckConstraint("impact BETWEEN 1 AND 5", name="impact_range"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[str | None] = mapped_column(Text)
    reporter: Mapped[str] = mapped_column(String(PERSON))
    owner: Mapped[str | None] = mapped_column(String(PERSON))
    due_at: Mapped[datetime | None]
    waiting_on: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text)
    likelihood: Mapped[int | None] = mapped_column(Integer)
    impact: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(String(16))
    mitigation: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    rationale: Mapped[str | None] = mapped_column(Text)
    impacts: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    approvers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str | None] = mapped_column(String(PERSON))
    decided_at: Mapped[datetime | None]
    linked_ref: Mapped[str | None] = mapped_column(String(32))
    source_url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ItemEventRow(Base):
    """One entry of an item's history; ``changes`` is a list of ``{field, old, new}``."""

    __tablename__ = "item_events"
    __table_args__ = (Index("ix_item_events_item_id_id", "item_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(PERSON))
    action: Mapped[str] = mapped_column(String(64))
    changes: Mapped[list[dict[str, str | None]]] = mapped_column(JSONType, default=list)
    note: Mapped[str | None] = mapped_column(Text)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    if not isinstance(table, Table):  # pragma: no cover - declarative always makes a Table
        raise TypeError(f"{model.__name__} is not mapped to a Table")
    return table


channels = _table(ChannelRow)
ref_counters = _table(RefCounterRow)
items = _table(ItemRow)
item_events = _table(ItemEventRow)
