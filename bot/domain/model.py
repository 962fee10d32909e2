"""The vocabulary of raidline: channels, item kinds and states, refs, items and their events.

Everything here is a frozen dataclass or an enum; services build new values with
``dataclasses.replace`` and the storage layer maps them to rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


def mention(person: str) -> str:
    """How a person is written in every text the core produces (and in stored event values)."""
    return f"<@{person}>"


class Kind(StrEnum):
    BLOCKER = "blocker"
    RISK = "risk"
    DECISION = "decision"
    CHANGE = "change"
    MILESTONE = "milestone"

    @property
    def prefix(self) -> str:
        return _PREFIX[self]

    @property
    def label(self) -> str:
        return "change request" if self is Kind.CHANGE else self.value

    @property
    def plural(self) -> str:
        return "change requests" if self is Kind.CHANGE else self.value + "s"

    @classmethod
    def from_prefix(cls, prefix: str) -> Kind:
        return _BY_PREFIX[prefix.upper()]


_PREFIX = {
    Kind.BLOCKER: "B",
    Kind.RISK: "R",
    Kind.DECISION: "D",
    Kind.CHANGE: "C",
    Kind.MILESTONE: "M",
}
_BY_PREFIX = {v: k for k, v in _PREFIX.items()}


class Status(StrEnum):
    OPEN = "open"  # blockers, risks
    RESOLVED = "resolved"  # blockers
    CLOSED = "closed"  # risks
    OCCURRED = "occurred"  # risks that happened (a linked blocker was opened)
    PENDING = "pending"  # decisions that are needed
    DECIDED = "decided"  # decisions
    SUPERSEDED = "superseded"  # decisions replaced by a later one
    PROPOSED = "proposed"  # change requests
    APPROVED = "approved"  # change requests
    IMPLEMENTED = "implemented"  # change requests
    REJECTED = "rejected"  # decisions and change requests
    WITHDRAWN = "withdrawn"  # any item taken back by its people; kept in history
    DONE = "done"  # milestones reached
    #: put off, with a reason and a date to revisit (``/raid defer B-3 until 1 Mar because …``);
    #: it no longer asks anything of the team, nor blocks a close-out
    DEFERRED = "deferred"

    @property
    def label(self) -> str:
        return "needs a decision" if self is Status.PENDING else self.value


#: States in which an item still asks something of the team.
ACTIVE_STATUSES = frozenset({Status.OPEN, Status.PENDING, Status.PROPOSED, Status.APPROVED})

IMPACT_AREAS = ("scope", "schedule", "cost", "quality")
#: A risk's likelihood and impact, 1-5, in words.
LEVEL_NAMES = {1: "very low", 2: "low", 3: "medium", 4: "high", 5: "very high"}
RESPONSES = ("avoid", "mitigate", "transfer", "accept")


@dataclass(frozen=True, order=True)
class ChannelKey:
    """One channel of one workspace on one platform: the unit that owns items and settings."""

    platform: str  # "slack", "discord", "console"
    workspace: str  # Slack team / enterprise id, Discord guild id, "local" for the console
    channel: str  # the platform's channel id (a thread's parent channel)

    def __str__(self) -> str:
        return f"{self.platform}:{self.workspace}:{self.channel}"


_REF_RE = re.compile(r"^#?([BRDCMbrdcm])-?(\d{1,9})$")


@dataclass(frozen=True, order=True)
class Ref:
    kind: Kind
    number: int

    @classmethod
    def parse(cls, text: str) -> Ref | None:
        """``B-7``, ``b7``, ``#B-7`` -> Ref; anything else -> None."""
        m = _REF_RE.match(text.strip())
        if not m:
            return None
        number = int(m.group(2))
        if number < 1:
            return None
        return cls(Kind.from_prefix(m.group(1)), number)

    def __str__(self) -> str:
        return f"{self.kind.prefix}-{self.number}"


@dataclass(frozen=True)
class Item:
    """A blocker, risk, decision or change request.

    ``owner`` is the person the item waits on: a blocker's or risk's owner, a decision's
    decider. A change request's approvers are in ``approvers``. ``due_at`` is the item's one
    date: a blocker's need-by, a risk's next review, a decision's decide-by.
    """

    channel: ChannelKey
    kind: Kind
    number: int
    status: Status
    title: str
    reporter: str
    created_at: datetime
    updated_at: datetime
    details: str | None = None
    owner: str | None = None
    due_at: datetime | None = None
    waiting_on: str | None = None  # blocker: a person id or free text
    resolution: str | None = None  # blocker resolution note; risk closing note
    likelihood: int | None = None  # risk 1-5
    impact: int | None = None  # risk 1-5
    response: str | None = None  # risk: avoid / mitigate / transfer / accept
    mitigation: str | None = None  # risk
    outcome: str | None = None  # decision: what was decided
    rationale: str | None = None  # decision: why; change request: why it is asked for
    impacts: Mapping[str, str] = field(default_factory=dict)  # change: area -> text
    approvers: tuple[str, ...] = ()  # change request
    decision_note: str | None = None  # change request approve/reject note; decision reject note
    decided_by: str | None = None
    decided_at: datetime | None = None
    linked_ref: str | None = None  # risk that occurred <-> blocker it became; superseding decision
    source_url: str | None = None  # permalink of the chat message it was logged from
    nudge_count: int = 0  # nudges since the item last changed
    last_nudged_at: datetime | None = None
    snoozed_until: datetime | None = None  # no nudges before this
    #: a deferred item: when to look at it again, and why it was put off
    revisit_at: datetime | None = None
    deferred_reason: str | None = None
    #: times the due date was moved from one date to another; kept by storage with the
    #: history (``Event.moves_date``), never set by the core
    date_moves: int = 0
    #: the milestone this item is part of (``M-1``), as ``/blocker … for M-1`` or
    #: ``/raid link B-3 M-1`` set it
    milestone: str | None = None
    #: refs of the items and milestones this one waits for (``/raid link B-4 depends-on B-2``)
    depends_on: tuple[str, ...] = ()
    #: the team's tracker: keys (``JIRA-123``) and http(s) URLs, as given
    links: tuple[str, ...] = ()
    id: int | None = None

    @property
    def ref(self) -> Ref:
        return Ref(self.kind, self.number)

    @property
    def stored_id(self) -> int:
        """The storage id of an item that has been stored."""
        if self.id is None:
            raise ValueError(f"{self.ref} has not been stored yet")
        return self.id

    @property
    def score(self) -> int | None:
        if self.likelihood is None or self.impact is None:
            return None
        return self.likelihood * self.impact

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def overdue(self, now: datetime) -> bool:
        if self.due_at is None or not self.active:
            return False
        if self.kind is Kind.CHANGE:
            return False
        return self.due_at < now

    def waits_on(self, person: str) -> bool:
        """Whether this item is ``person``'s to act on (``list mine``)."""
        if not self.active:
            return False
        if self.kind is Kind.CHANGE:
            return self.status is Status.PROPOSED and person in self.approvers
        return self.owner == person

    def involves(self, person: str) -> bool:
        """Whether ``person`` owns, decides or approves this item (``list @dana``: what is
        on Dana's plate), whatever its state."""
        return self.owner == person or person in self.approvers


@dataclass(frozen=True)
class ItemFilter:
    """Which of a channel's items a query wants; every condition given must hold.

    Storage answers it with indexed SQL; :meth:`matches` is the same rule in Python.
    """

    kinds: tuple[Kind, ...] | None = None
    statuses: tuple[Status, ...] | None = None
    #: only items with a due date before this
    due_before: datetime | None = None
    #: only items nobody owns
    unowned: bool = False
    #: only items without a date
    undated: bool = False
    #: only items whose due date was moved at least this often
    min_date_moves: int = 0
    #: only items logged at or before this
    created_by: datetime | None = None
    #: only items logged after this
    created_after: datetime | None = None
    #: only risks of this likelihood, of this impact (1-5)
    likelihood: int | None = None
    impact: int | None = None
    #: True: only items with both a likelihood and an impact; False: only those missing one
    scored: bool | None = None
    #: only items that are part of one of these milestones (refs, ``M-1``)
    milestones: tuple[str, ...] | None = None

    def matches(self, item: Item) -> bool:
        return (
            (self.created_by is None or item.created_at <= self.created_by)
            and (self.created_after is None or item.created_at > self.created_after)
            and (self.likelihood is None or item.likelihood == self.likelihood)
            and (self.impact is None or item.impact == self.impact)
            and (self.scored is None or (item.score is not None) is self.scored)
            and (self.kinds is None or item.kind in self.kinds)
            and (self.statuses is None or item.status in self.statuses)
            and (
                self.due_before is None
                or (item.due_at is not None and item.due_at < self.due_before)
            )
            and (not self.unowned or item.owner is None)
            and (not self.undated or item.due_at is None)
            and item.date_moves >= self.min_date_moves
            and (self.milestones is None or item.milestone in self.milestones)
        )


class ItemOrder(StrEnum):
    #: oldest first (created_at, then number)
    CREATED = "created"
    #: newest first
    RECENT = "recent"
    #: highest risk score (likelihood × impact) first, unscored last, then oldest
    SCORE = "score"


@dataclass(frozen=True)
class Change:
    """One field that changed: values are shown to users as they are."""

    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Event:
    """One entry in an item's history. Appended in the same transaction as the change."""

    at: datetime
    actor: str
    action: str  # created, updated, resolved, note, assigned, ...
    changes: tuple[Change, ...] = ()
    note: str | None = None

    @property
    def moves_date(self) -> bool:
        """Whether this event moved the due date from one date to another."""
        return any(c.field == "due_at" and c.old is not None for c in self.changes)


#: What a stakeholder can ask for (``/raid stakeholders add @cfo weekly decisions``): the
#: weekly digest; a direct message when a decision is needed and when one is taken; and
#: escalations (a risk occurred, a blocker long overdue, a milestone at risk).
STAKEHOLDER_LEVELS = ("weekly", "decisions", "escalations")
#: ``ChannelSettings.escalate_after_days``: the default, and the most it may be (at least 1).
DEFAULT_ESCALATE_AFTER_DAYS = 3
MAX_ESCALATE_AFTER_DAYS = 60

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKDAYS = WEEKDAYS[:5]


@dataclass(frozen=True)
class ChannelSettings:
    channel: ChannelKey
    timezone: str | None = None
    leads: tuple[str, ...] = ()
    nudges_enabled: bool = True
    #: working hours for nudges, in the channel's time zone
    work_days: tuple[str, ...] = WORKDAYS
    work_start: str = "09:00"
    work_end: str = "18:00"
    #: when the channel's last digest was posted ("what changed since")
    last_digest_at: datetime | None = None
    #: the public holidays the channel keeps: a ``holidays`` calendar code (``DE-BY``, ``US``)
    holidays: str | None = None
    #: further days off (local ISO dates), besides the holidays and the days outside the
    #: work week (``work_days``)
    days_off: tuple[str, ...] = ()
    #: stakeholder updates (``/raid stakeholders``): person -> the levels they get
    #: (:data:`STAKEHOLDER_LEVELS`), each by direct message
    stakeholders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: a blocker more than this many working days overdue is escalated to the channel's
    #: ``escalations`` stakeholders (``/raid settings escalations 3``)
    escalate_after_days: int = DEFAULT_ESCALATE_AFTER_DAYS
    #: tracker key prefixes and the address each key goes to, ``{}`` standing for the key
    #: (``JIRA`` -> ``https://acme.atlassian.net/browse/{}``)
    link_patterns: Mapping[str, str] = field(default_factory=dict)
    #: ``/raid close-out`` was started then (the project is closing)
    closing_since: datetime | None = None
    #: the project was closed then, by that person: no new items, no scheduled runs
    closed_at: datetime | None = None
    closed_by: str | None = None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def is_lead(self, person: str) -> bool:
        """In a channel with no leads set, everyone may do what a lead may do."""
        return not self.leads or person in self.leads


class ScheduleKind(StrEnum):
    STANDUP = "standup"
    DIGEST = "digest"


DEFAULT_QUESTIONS = (
    "What changed since the last standup?",
    "What is blocked?",
    "What decision is needed?",
)


@dataclass(frozen=True)
class Schedule:
    """A channel's standup or digest: a rule (weekday names, local time, zone) and its settings.

    ``next_run_at`` is derived from the rule (UTC) and recomputed after every run and every
    change of the rule; it is None while the schedule is off.
    """

    channel: ChannelKey
    kind: ScheduleKind
    days: tuple[str, ...] = ()
    at: str | None = None  # "09:30", local to ``timezone``
    timezone: str = "UTC"
    enabled: bool = False
    next_run_at: datetime | None = None
    # standups only
    questions: tuple[str, ...] = DEFAULT_QUESTIONS
    members: tuple[str, ...] = ()
    window_minutes: int = 120
    mode: str = "thread"  # thread | dm
    skip_dates: tuple[str, ...] = ()  # local dates (ISO) not to run on
    away: Mapping[str, str] = field(default_factory=dict)  # person -> last away day (ISO)
    updated_at: datetime | None = None
    id: int | None = None
    #: how long after the close answers are still taken, marked late (0: not at all)
    late_minutes: int = 0
    #: when members who have not answered are reminded (:data:`REMINDERS`)
    reminder: str = "75%"
    #: members who are asked but never counted (or listed) as missing; also in ``members``
    optional: tuple[str, ...] = ()
    #: people who get the summary, are never asked and never counted as missing
    observers: tuple[str, ...] = ()
    #: the summary mentions (pings) who did not answer; off: their names only
    mentions: bool = True
    #: a named standup (``/standup add retro``); None: the channel's default one. With the
    #: channel and kind, the schedule's identity: one schedule per channel, kind and name.
    name: str | None = None
    #: ``/standup mode dm local``: each member is asked at ``at`` in their own time zone
    local_times: bool = False
    #: members' own time zones (``/standup tz``), kept on the channel's default standup
    zones: Mapping[str, str] = field(default_factory=dict)
    #: 1: every week on ``days``; 2: every other week, the weeks of ``week_anchor``
    every_weeks: int = 1
    #: the ISO date of a Monday whose week runs (every other week)
    week_anchor: str | None = None
    #: monthly on the first/second/third/fourth/last of ``days[0]``
    nth: str | None = None
    #: monthly on this day of the month
    month_day: int | None = None

    @property
    def stored_id(self) -> int:
        if self.id is None:
            raise ValueError("schedule has not been stored yet")
        return self.id

    @property
    def lead(self) -> timedelta:
        """How long before its time an occurrence is claimed (``next_run_at`` is that much
        earlier): ``LOCAL_LEAD`` for a standup that asks each member at their own local
        time ("dm local"), so members up to that far east are asked on time; else none."""
        if self.kind is ScheduleKind.STANDUP and self.mode == "dm" and self.local_times:
            return LOCAL_LEAD
        return timedelta(0)


#: A "dm local" standup is prepared this long before its time in the channel's zone.
LOCAL_LEAD = timedelta(hours=14)

#: ``Schedule.reminder`` -> when reminders go out, as fractions of the answer window.
REMINDERS: Mapping[str, tuple[float, ...]] = {
    "off": (),
    "50%": (0.5,),
    "75%": (0.75,),
    "twice": (0.5, 0.85),
}


class RunStatus(StrEnum):
    PENDING = "pending"  # to be delivered at due_at
    SENDING = "sending"  # claimed by a worker until lease_until
    DONE = "done"
    MISSED = "missed"  # the bot was down past the occurrence's window
    SKIPPED = "skipped"  # nothing to say, or no longer relevant
    FAILED = "failed"  # gave up after retries


class RunKind(StrEnum):
    STANDUP_OPEN = "standup_open"
    STANDUP_REMIND = "standup_remind"
    STANDUP_CLOSE = "standup_close"
    #: a late answer came in: the posted summary is edited in place
    STANDUP_UPDATE = "standup_update"
    DIGEST = "digest"
    NUDGE = "nudge"
    #: a direct message to one stakeholder about one event (``/raid stakeholders``)
    STAKEHOLDER = "stakeholder"


@dataclass(frozen=True)
class Run:
    """One occurrence of scheduled work: the exactly-once ledger entry and the outbox row.

    ``key`` is unique: ``standup_open:<schedule>:<local date>``, ``nudge:<item>:<local date>``...
    Inserting a run whose key exists does nothing, which is what makes every occurrence
    happen once across restarts and replicas.
    """

    key: str
    kind: RunKind
    channel: ChannelKey
    due_at: datetime
    status: RunStatus = RunStatus.PENDING
    payload: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0
    lease_until: datetime | None = None
    result_ref: str | None = None
    created_at: datetime | None = None
    id: int | None = None
    #: when its message was first built (and stored): a retry sends that message again
    built_at: datetime | None = None
    #: when an attempt last started to send it: claimed again after this, it may be a duplicate
    send_started_at: datetime | None = None
    #: why it ended as it did, when that is worth telling (a skipped run: "Christmas Day")
    reason: str | None = None

    @property
    def stored_id(self) -> int:
        if self.id is None:
            raise ValueError("run has not been stored yet")
        return self.id


@dataclass(frozen=True)
class Standup:
    """One standup that was opened: its questions and members as they were then."""

    schedule_id: int
    channel: ChannelKey
    local_date: str  # ISO date in the schedule's zone
    opened_at: datetime
    closes_at: datetime
    questions: tuple[str, ...]
    members: tuple[str, ...]
    away: tuple[str, ...] = ()
    mode: str = "thread"
    late_by_minutes: int = 0
    closed: bool = False
    message_ref: str | None = None
    id: int | None = None
    #: asked, but not counted as missing (a subset of ``members``)
    optional: tuple[str, ...] = ()
    #: get the summary; never asked, never missing
    observers: tuple[str, ...] = ()
    #: the summary pings who did not answer
    mentions: bool = True
    #: answers are taken until then, after ``closes_at`` marked late (None: no late answers)
    late_until: datetime | None = None

    @property
    def stored_id(self) -> int:
        if self.id is None:
            raise ValueError("standup has not been stored yet")
        return self.id

    def takes_answers(self, now: datetime) -> bool:
        """Whether an answer given ``now`` is taken (on time, or late within the late time)."""
        if not self.closed and now < self.closes_at:
            return True
        return self.late_until is not None and now < self.late_until

    def is_late(self, answered_at: datetime) -> bool:
        return answered_at >= self.closes_at


@dataclass(frozen=True)
class StandupAnswer:
    standup_id: int
    person: str
    answers: tuple[str, ...]
    answered_at: datetime


@dataclass(frozen=True)
class Lesson:
    """A lesson learned, logged with ``/raid lesson`` (answers to the close-out's lessons
    standup are read from that standup)."""

    channel: ChannelKey
    author: str
    text: str
    created_at: datetime
    id: int | None = None


@dataclass(frozen=True)
class CalendarToken:
    """One person's subscription to one channel's calendar feed (``/raid calendar``).

    Only the token's SHA-256 (``token_hash``, hex) is kept: the token itself is shown once,
    in the link, and a stored row cannot be turned back into a working link. A token is
    valid until ``revoked_at`` is set (``/raid calendar reset``). ``channel_name`` is the
    channel's name as the platform gave it when the link was made, for the feed's titles.
    """

    channel: ChannelKey
    user: str
    token_hash: str
    created_at: datetime
    channel_name: str | None = None
    revoked_at: datetime | None = None
    id: int | None = None
