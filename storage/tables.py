"""The schema: SQLAlchemy declarative models, the single source for Alembic's autogenerate.

Rows are mapped to and from the core's frozen dataclasses in ``storage.repositories``; nothing
outside ``storage`` sees these classes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeEngine

from bot.domain.model import WORKDAYS
from storage.types import UTCDateTime

__all__ = [
    "HOLIDAY_CALENDAR",
    "NAMING_CONVENTION",
    "RUN_REASON",
    "Base",
    "CalendarTokenRow",
    "ChannelRow",
    "ItemEventRow",
    "ItemRow",
    "LessonRow",
    "RefCounterRow",
    "RunRow",
    "ScheduleRow",
    "SecretRow",
    "SeenRequestRow",
    "StandupAnswerRow",
    "StandupRow",
    "calendar_tokens",
    "channels",
    "item_events",
    "items",
    "lessons",
    "metadata",
    "raidline_secrets",
    "ref_counters",
    "runs",
    "schedules",
    "seen_requests",
    "standup_answers",
    "standups",
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
# A Slack message ts or a Discord message id, with room for a channel prefix.
MESSAGE_REF = 255
# "09:30"
LOCAL_TIME = 5
#: ``standup:`` and a standup's name (bot.commands.standup.MAX_NAME characters)
SCHEDULE_KIND = 48
# "DE-BY", "GB-SCT": a country and a region code
HOLIDAY_CALENDAR = 32
RUN_REASON = 255
#: The server default of ``channels.work_days``: ``bot.domain.model.WORKDAYS`` as JSON text.
WORKDAYS_JSON = json.dumps(list(WORKDAYS))


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
    # Server defaults fill rows that existed before these columns did (migration 0002).
    work_days: Mapped[list[str]] = mapped_column(
        JSONType, default=lambda: list(WORKDAYS), server_default=WORKDAYS_JSON
    )
    work_start: Mapped[str] = mapped_column(
        String(LOCAL_TIME), default="09:00", server_default="09:00"
    )
    work_end: Mapped[str] = mapped_column(
        String(LOCAL_TIME), default="18:00", server_default="18:00"
    )
    last_digest_at: Mapped[datetime | None]
    #: the public holidays kept (a ``holidays`` calendar code such as ``DE-BY``); None: none
    holidays: Mapped[str | None] = mapped_column(String(HOLIDAY_CALENDAR))
    #: further days off, local ISO dates; None: none
    days_off: Mapped[list[str] | None] = mapped_column(JSONType)
    #: tracker key prefix -> address pattern with ``{}`` for the key; None: none
    link_patterns: Mapped[dict[str, str] | None] = mapped_column(JSONType)
    #: ``/raid close-out`` started then; the project was closed then, by that person
    closing_since: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(PERSON))
    #: stakeholder updates: person -> the levels they get (``weekly``, ``decisions``,
    #: ``escalations``); None: nobody
    stakeholders: Mapped[dict[str, list[str]] | None] = mapped_column(JSONType)
    #: escalate a blocker this many working days overdue; None: the default (3)
    escalate_after_days: Mapped[int | None] = mapped_column(Integer)


class RefCounterRow(Base):
    """The last ref number handed out per channel and kind; numbers are never reused."""

    __tablename__ = "ref_counters"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_not_negative"),)

    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class ItemRow(Base):
    """A blocker, risk, decision, change request or milestone (``bot.domain.model.Item``)."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("channel_id", "kind", "number"),
        Index("ix_items_channel_id_status", "channel_id", "status"),
        # Digests and lists read one channel's open items of a kind, oldest first.
        Index(
            "ix_items_channel_id_kind_status_created_at",
            "channel_id",
            "kind",
            "status",
            "created_at",
        ),
        # The nudge sweep reads active items across channels by date.
        Index("ix_items_status_due_at", "status", "due_at"),
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
    nudge_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    last_nudged_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    #: how often the due date was moved from one date to another (digest warning signs);
    #: kept by ``add_event`` so a digest never reads an item's whole history
    date_moves: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: the milestone the item is part of (``M-1``); None: none
    milestone: Mapped[str | None] = mapped_column(String(32))
    #: refs of the items it depends on; None: none
    depends_on: Mapped[list[str] | None] = mapped_column(JSONType)
    #: tracker keys and http(s) URLs; None: none
    links: Mapped[list[str] | None] = mapped_column(JSONType)
    #: a deferred item: when to look at it again, and why it was put off
    revisit_at: Mapped[datetime | None]
    deferred_reason: Mapped[str | None] = mapped_column(Text)


#: Events that change no field but the note, the due date or the snooze: most of a history.
QUIET_CONDITION = "action NOT IN ('note', 're-dated', 'snoozed')"


class ItemEventRow(Base):
    """One entry of an item's history; ``changes`` is a list of ``{field, old, new}``."""

    __tablename__ = "item_events"
    __table_args__ = (
        Index("ix_item_events_item_id_id", "item_id", "id"),
        # "What changed since": one channel's recent events, without reading its history.
        Index("ix_item_events_channel_id_at", "channel_id", "at"),
        # The trend lines: the events that may change a status or an owner (not the notes,
        # re-datings and snoozes that make up most of a history): QUIET_CONDITION.
        Index(
            "ix_item_events_channel_id_at_changes",
            "channel_id",
            "at",
            sqlite_where=text(QUIET_CONDITION),
            postgresql_where=text(QUIET_CONDITION),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    #: the item's channel, repeated so a channel's events are found by an index on time
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(PERSON))
    action: Mapped[str] = mapped_column(String(64))
    changes: Mapped[list[dict[str, str | None]]] = mapped_column(JSONType, default=list)
    note: Mapped[str | None] = mapped_column(Text)


class ScheduleRow(Base):
    """A channel's standup or digest rule (``bot.domain.model.Schedule``); one per channel and kind.

    ``next_run_at`` is what the claim loop selects on, ``FOR UPDATE SKIP LOCKED``.
    """

    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("channel_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    #: ``standup``, ``digest``, or a named one: ``standup:retro`` (rows.stored_kind)
    kind: Mapped[str] = mapped_column(String(SCHEDULE_KIND))
    days: Mapped[list[str]] = mapped_column(JSONType, default=list)
    at: Mapped[str | None] = mapped_column(String(LOCAL_TIME))
    timezone: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean)
    next_run_at: Mapped[datetime | None] = mapped_column(index=True)
    questions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    members: Mapped[list[str]] = mapped_column(JSONType, default=list)
    window_minutes: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    skip_dates: Mapped[list[str]] = mapped_column(JSONType, default=list)
    away: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime]
    #: standup settings added after 0005, as JSON (``storage.repositories.rows``): late
    #: answers, reminders, optional members, observers, mentions; None: the defaults
    options: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class RunRow(Base):
    """One occurrence of scheduled work (``bot.domain.model.Run``): idempotency ledger and outbox.

    Inserting a run whose ``key`` exists does nothing; delivery claims ``pending`` rows that
    are due (and ``sending`` rows whose lease expired) by ``(status, due_at)``.
    """

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_runs_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    result_ref: Mapped[str | None] = mapped_column(String(MESSAGE_REF))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    #: the message the first attempt built (``storage.repositories.outbox``'s encoding):
    #: every retry sends exactly this
    message: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    #: when that message was built (a digest covers the changes up to this time)
    built_at: Mapped[datetime | None]
    #: when the latest attempt started to send: a run reclaimed after this may have been
    #: posted already
    send_started_at: Mapped[datetime | None]
    #: why it ended as it did (a run skipped on a day off: which day off)
    reason: Mapped[str | None] = mapped_column(String(RUN_REASON))


class StandupRow(Base):
    """One opened standup (``bot.domain.model.Standup``): one per schedule and local date."""

    __tablename__ = "standups"
    __table_args__ = (UniqueConstraint("schedule_id", "local_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    local_date: Mapped[str] = mapped_column(String(10))
    opened_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    questions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    members: Mapped[list[str]] = mapped_column(JSONType, default=list)
    away: Mapped[list[str]] = mapped_column(JSONType, default=list)
    mode: Mapped[str] = mapped_column(String(16))
    late_by_minutes: Mapped[int] = mapped_column(Integer, default=0)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    message_ref: Mapped[str | None] = mapped_column(String(MESSAGE_REF))
    #: the schedule's options as they were when it opened (optional members, observers,
    #: mentions, until when late answers are taken); None: the defaults
    options: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class SecretRow(Base):
    """A secret raidline made itself: on the embedded default, the key that encrypts stored
    Slack tokens when RAIDLINE_SECRET_KEY is not set."""

    __tablename__ = "raidline_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_utcnow)


class SeenRequestRow(Base):
    """A signed chat request already taken, kept until its signature expires: a replay of
    it, to any replica, is dropped."""

    __tablename__ = "seen_requests"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class StandupAnswerRow(Base):
    """One person's answers to one standup (``bot.domain.model.StandupAnswer``); replaced on edit.

    ``first_answered_at`` survives replacements, so answers keep the order people first gave
    them in.
    """

    __tablename__ = "standup_answers"
    __table_args__ = (UniqueConstraint("standup_id", "person"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    standup_id: Mapped[int] = mapped_column(ForeignKey("standups.id", ondelete="CASCADE"))
    person: Mapped[str] = mapped_column(String(PERSON))
    answers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    answered_at: Mapped[datetime]
    first_answered_at: Mapped[datetime]


class CalendarTokenRow(Base):
    """A calendar feed token (``bot.domain.model.CalendarToken``): one person's link to one
    channel's dates. Only the token's SHA-256 is stored; ``revoked_at`` ends it."""

    __tablename__ = "calendar_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        # "How many links does this person hold here", and revoking them.
        Index("ix_calendar_tokens_channel_id_user", "channel_id", "user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    user: Mapped[str] = mapped_column(String(PERSON))
    #: sha256 of the token, hex
    token_hash: Mapped[str] = mapped_column(String(64))
    #: the channel's name when the link was made (for the feed's titles)
    channel_name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LessonRow(Base):
    """A lesson learned (``/raid lesson``), ``bot.domain.model.Lesson``."""

    __tablename__ = "lessons"
    __table_args__ = (Index("ix_lessons_channel_id_id", "channel_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    author: Mapped[str] = mapped_column(String(PERSON))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


def _table(model: type[Base]) -> Table:
    table = model.__table__
    if not isinstance(table, Table):  # pragma: no cover - declarative always makes a Table
        raise TypeError(f"{model.__name__} is not mapped to a Table")
    return table


channels = _table(ChannelRow)
ref_counters = _table(RefCounterRow)
items = _table(ItemRow)
item_events = _table(ItemEventRow)
schedules = _table(ScheduleRow)
runs = _table(RunRow)
standups = _table(StandupRow)
standup_answers = _table(StandupAnswerRow)
raidline_secrets = _table(SecretRow)
seen_requests = _table(SeenRequestRow)
calendar_tokens = _table(CalendarTokenRow)
lessons = _table(LessonRow)


#: Tables other libraries own in the same database (slack_sdk's installation and OAuth state
#: stores create theirs at start); migrations and schema checks leave them alone.
FOREIGN_TABLE_PREFIXES = ("slack_",)


def is_raidline_table(name: str | None, type_: str, *_: object) -> bool:
    """Alembic ``include_name`` hook: compare only raidline's own tables."""
    return not (type_ == "table" and name is not None and name.startswith(FOREIGN_TABLE_PREFIXES))
