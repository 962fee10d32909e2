"""The item use cases: log, change, resolve, approve, decide... with the rules of who may.

Every change appends an event in the caller's unit of work, so the item and its history are
committed together or not at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.domain import rules
from bot.domain.kinds import EDIT_FIELDS, KINDS
from bot.domain.limits import (
    MAX_DETAILS_CHARS,
    MAX_TITLE_CHARS,
    TEXT_LIMITS,
    check_length,
    is_blank,
)
from bot.domain.model import (
    LEVEL_NAMES,
    Change,
    ChannelKey,
    ChannelSettings,
    Event,
    Item,
    Kind,
    Ref,
    Status,
    mention,
)
from bot.domain.schedules import ZoneTimetable
from bot.domain.scores import score_text
from bot.errors import Conflict, NotFound, UsageError
from bot.ports import ChartDrawer, DashboardLinks, Links, Timetable, UnitOfWork
from bot.services import stakeholder_updates


@dataclass
class Context:
    """Everything one request needs: who, where, when, and the open unit of work."""

    uow: UnitOfWork
    settings: ChannelSettings
    user: str
    now: datetime
    timezone: str
    source_url: str | None = None
    #: the platform says the user administers the workspace (may always set the leads)
    user_is_admin: bool = False
    #: display names of people, by id, from the platform (ids it cannot name are left out)
    names: Callable[[Sequence[str]], Awaitable[dict[str, str]]] | None = None
    #: work a handler leaves for after its transaction (look-ups on the platform, which must
    #: not hold the database): the dispatcher awaits it and its result is the reply
    finish: Callable[[], Awaitable[Any]] | None = None
    #: files that came with the request, by file name
    attachments: Mapping[str, bytes] = dataclasses.field(default_factory=dict)
    #: the channel's name as the platform shows it (``apollo``), when it said
    channel_name: str | None = None
    #: the addresses of raidline's web pages; None where no web server serves them
    links: Links | None = None
    #: when schedules run next, and which days are holidays
    timetable: Timetable = field(default_factory=ZoneTimetable)
    #: hands out dashboard links; None when the dashboard is off
    dashboard_links: DashboardLinks | None = None
    #: draws charts for chat (digests); None when no chart can be drawn
    charts: ChartDrawer | None = None

    @property
    def channel(self) -> Any:
        return self.settings.channel

    async def people_names(self, people: Sequence[str]) -> dict[str, str]:
        """Display names of ``people`` by id; nobody is named without a directory."""
        if self.names is None or not people:
            return {}
        return await self.names(people)


#: The fields :func:`edit` changes, per kind (owner and date have their own use cases).
KINDS_EDITABLE = {
    kind: frozenset(EDIT_FIELDS[kind]) - {"owner", "approvers", "due_at"} for kind in EDIT_FIELDS
}


def _value(field: str, value: object) -> str | None:
    """How a field's value is written into an event (dates in ISO 8601 UTC, people as ids)."""
    if value is None or value == "" or value == () or value == {}:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        if field in ("depends_on", "links"):
            return ", ".join(value)
        return " ".join(mention(p) for p in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k} {v}" for k, v in value.items())
    if field in ("owner", "decided_by", "reporter"):
        return mention(str(value))
    if field in ("likelihood", "impact") and isinstance(value, int):
        return f"{LEVEL_NAMES[value]} ({value})"
    if isinstance(value, Status):
        return value.label
    return str(value)


_BOOKKEEPING = frozenset(
    {"channel", "kind", "number", "created_at", "updated_at", "id", "reporter", "source_url",
     "nudge_count", "last_nudged_at", "date_moves"}
)  # fmt: skip


def diff(old: Item, new: Item) -> tuple[Change, ...]:
    """What changed from ``old`` to ``new``; a risk whose score moved also gets a ``score``
    change (``6 (medium)`` to ``15 (high)``), so its history shows how it was scored."""
    changes = []
    for f in dataclasses.fields(Item):
        if f.name in ("updated_at", "id", "channel", "nudge_count", "last_nudged_at"):
            continue
        before, after = getattr(old, f.name), getattr(new, f.name)
        if before != after:
            changes.append(Change(f.name, _value(f.name, before), _value(f.name, after)))
    if new.kind is Kind.RISK and old.score != new.score:
        changes.append(
            Change(
                "score",
                None if old.score is None else score_text(old.likelihood, old.impact),
                None if new.score is None else score_text(new.likelihood, new.impact),
            )
        )
    return tuple(changes)


def validate_title(title: str) -> str:
    title = " ".join(title.split())
    if is_blank(title):
        raise UsageError("An item needs a title: say what it is, e.g. `Waiting on API keys`.")
    return check_length(title, MAX_TITLE_CHARS, "title")


def validate_details(details: str | None) -> str | None:
    if details is None or not details.strip():
        return None
    return check_length(details.strip(), MAX_DETAILS_CHARS, "details text")


async def log_item(
    ctx: Context,
    kind: Kind,
    title: str,
    *,
    action: str = "created",
    note: str | None = None,
    **fields: Any,
) -> Item:
    """Create an item with the next ref of its kind and its first event: ``created``, or
    ``action`` with ``note`` (an import says ``imported`` and from where)."""
    require_open_project(ctx.settings)
    title = validate_title(title)
    fields["details"] = validate_details(fields.get("details"))
    status = fields.pop("status", None) or KINDS[kind].initial_status
    if kind is Kind.DECISION and status is Status.DECIDED:
        status = _recorded_decision(ctx, fields)
    item = Item(
        channel=ctx.settings.channel,
        kind=kind,
        number=0,  # the next of its kind: storage allocates it as it stores the item
        status=status,
        title=title,
        reporter=ctx.user,
        created_at=ctx.now,
        updated_at=ctx.now,
        source_url=ctx.source_url,
        **fields,
    )
    # A "created" event lists every field that was set, from nothing to its value.
    changes = tuple(
        Change(f.name, None, value)
        for f in dataclasses.fields(Item)
        if f.name not in _BOOKKEEPING
        and (value := _value(f.name, getattr(item, f.name))) is not None
    )
    if item.kind is Kind.RISK and item.score is not None:
        changes += (Change("score", None, score_text(item.likelihood, item.impact)),)
    event = Event(ctx.now, ctx.user, action, changes, note)
    item = await ctx.uow.items.create(item, event)
    if action == "created":  # an imported register is history, not news
        await stakeholder_updates.item_changed(ctx.uow, ctx.settings, None, item, ctx.user, ctx.now)
    return item


def _recorded_decision(ctx: Context, fields: dict[str, Any]) -> Status:
    """A decision recorded as taken is decided by the person who records it (SPEC §3).

    Naming someone else as its decider never shows them as having decided: it becomes a
    pending decision for them, which only they can decide.
    """
    decider = fields.get("owner") or ctx.user
    if decider != ctx.user:
        fields.update(owner=decider, decided_by=None, decided_at=None)
        return Status.PENDING
    fields.update(owner=ctx.user, decided_by=ctx.user, decided_at=ctx.now)
    return Status.DECIDED


async def load(ctx: Context, ref: Ref, *, lock: bool = True) -> Item:
    """The item ``ref`` names, held for this request (``lock``) so that a concurrent change
    to it waits for this one and then sees its result. Only what merely shows the item
    passes ``lock=False``."""
    item = await ctx.uow.items.get(ctx.settings.channel, ref.kind, ref.number, lock=lock)
    if item is None:
        raise NotFound(
            f"There is no {ref} in this channel. `/raid list {ref.kind.plural}` shows them."
        )
    return item


def baseline_due(events: Sequence[Event]) -> datetime | None:
    """The first date an item was given (its baseline), from its history: the first due
    date any event set or moved away from."""
    for event in events:
        for c in event.changes:
            if c.field != "due_at":
                continue
            first = c.old if c.old is not None else c.new
            if first is not None:
                try:
                    return datetime.fromisoformat(first)
                except ValueError:
                    return None
    return None


async def baselines(
    ctx: Context, items: Sequence[Item], *, just_changed: bool = False
) -> dict[int, datetime]:
    """Item id -> the baseline due date, for the items whose date has moved: see
    :func:`read_baselines`."""
    return await read_baselines(ctx.uow, items, just_changed=just_changed)


async def read_baselines(
    uow: UnitOfWork, items: Sequence[Item], *, just_changed: bool = False
) -> dict[int, datetime]:
    """Item id -> the baseline due date, for the items whose date has moved (one read of
    their histories; items never re-dated are not read). ``just_changed``: the items come
    from a change in this request, whose ``date_moves`` does not count it yet, so every
    item with a date is read. Cards, lists, nudges and digests all ask this."""
    moved = [
        i.stored_id
        for i in items
        if i.id is not None and (i.date_moves or (just_changed and i.due_at is not None))
    ]
    if not moved:
        return {}
    histories = await uow.items.events(moved)
    found = {item_id: baseline_due(events) for item_id, events in histories.items()}
    return {item_id: when for item_id, when in found.items() if when is not None}


async def change(
    ctx: Context, item: Item, action: str, note: str | None = None, **updates: Any
) -> Item:
    """Apply ``updates`` to ``item`` and append one event saying what changed.

    ``item`` is as :func:`load` read it; only the fields that differ from it are written. If
    it changed since (it was read without the lock), nothing is: ``ChangedMeanwhile``."""
    if action != "snoozed":
        # a change is an answer: the count of unanswered nudges starts again
        updates.setdefault("nudge_count", 0)
    new = dataclasses.replace(item, updated_at=ctx.now, **updates)
    changes = diff(item, new)
    if not changes and note is None:
        return item
    await ctx.uow.items.save_change(item, new)
    await ctx.uow.items.add_event(item.stored_id, Event(ctx.now, ctx.user, action, changes, note))
    await stakeholder_updates.item_changed(
        ctx.uow, ctx.settings, item, new, ctx.user, ctx.now, note
    )
    return new


# --- who may do what (SPEC §3): the rules live in bot.domain.rules --------------------------


def require_open_project(settings: ChannelSettings) -> None:
    """A closed project's channel takes no new items (a lead may reopen it)."""
    if settings.closed_at is None:
        return
    raise Conflict(
        "This project is closed, so nothing new is logged here. A lead can reopen it with "
        "`/raid reopen-project`; the register is still there (`/raid list all`, "
        "`/raid export md`)."
    )


def require_lead(ctx: Context, what: str) -> None:
    rules.require_lead(ctx.user, ctx.settings, what)


def check_assign(ctx: Context, item: Item) -> None:
    rules.check_assign(ctx.user, item, ctx.settings)


def check_due(ctx: Context, item: Item) -> None:
    rules.check_due(ctx.user, item, ctx.settings)


def check_edit(ctx: Context, item: Item) -> None:
    rules.check_edit(ctx.user, item, ctx.settings)


def check_reject(ctx: Context, item: Item) -> None:
    rules.check_reject(ctx.user, item, ctx.settings)


def check_decide(ctx: Context, item: Item) -> None:
    rules.check_decide(ctx.user, item, ctx.settings)


# --- the use cases ---------------------------------------------------------------------------


async def resolve(ctx: Context, item: Item, note: str | None) -> Item:
    if item.kind is Kind.CHANGE:
        return await implement(ctx, item, note)
    rules.check_resolve(ctx.user, item, ctx.settings)
    if item.kind is Kind.MILESTONE:
        return await change(
            ctx, item, "done", resolution=validate_details(note), status=Status.DONE
        )
    return await change(
        ctx, item, "resolved", resolution=validate_details(note), status=Status.RESOLVED
    )


async def implement(ctx: Context, item: Item, note: str | None) -> Item:
    rules.check_implement(ctx.user, item, ctx.settings)
    return await change(ctx, item, "implemented", note=note, status=Status.IMPLEMENTED)


async def close_risk(ctx: Context, item: Item, note: str | None) -> Item:
    rules.check_close_risk(ctx.user, item, ctx.settings)
    return await change(
        ctx, item, "closed", resolution=validate_details(note), status=Status.CLOSED
    )


async def risk_occurred(ctx: Context, item: Item, note: str | None) -> tuple[Item, Item]:
    """A risk that happened is marked occurred and becomes a linked blocker."""
    rules.check_occurred(ctx.user, item, ctx.settings)
    details = f"Risk {item.ref} occurred." + (f" {note}" if note else "")
    blocker = await log_item(
        ctx,
        Kind.BLOCKER,
        item.title,
        owner=item.owner,
        details=details,
        linked_ref=str(item.ref),
    )
    risk = await change(
        ctx,
        item,
        "occurred",
        note=note,
        status=Status.OCCURRED,
        linked_ref=str(blocker.ref),
    )
    return risk, blocker


async def reopen(ctx: Context, item: Item, reason: str | None = None) -> Item:
    """Reopen a resolved blocker or a closed risk, or bring a deferred item back to the state
    it was deferred from; ``reason`` is kept in the history."""
    rules.check_reopen(ctx.user, item, ctx.settings)
    reason = validate_details(reason)
    if item.status is Status.DEFERRED:
        return await change(
            ctx,
            item,
            "reopened",
            note=reason,
            status=await _before_deferral(ctx, item),
            revisit_at=None,
            deferred_reason=None,
        )
    return await change(ctx, item, "reopened", note=reason, status=Status.OPEN, resolution=None)


_BY_LABEL = {s.label: s for s in Status}


async def _before_deferral(ctx: Context, item: Item) -> Status:
    """The state ``item`` had before it was (first) deferred, from its history."""
    history = (await ctx.uow.items.events([item.stored_id])).get(item.stored_id, [])
    for event in reversed(history):
        for c in event.changes:
            if c.field == "status" and c.new == Status.DEFERRED.label and c.old:
                found = _BY_LABEL.get(c.old)
                if found is not None and found is not Status.DEFERRED:
                    return found
    return KINDS[item.kind].initial_status


async def defer(ctx: Context, item: Item, until: datetime, reason: str) -> Item:
    """Put ``item`` off until ``until`` because ``reason``: it no longer asks anything of the
    team (no nudges, not open in lists and digests) and no longer blocks a close-out."""
    rules.check_defer(ctx.user, item, ctx.settings)
    reason = " ".join(reason.split())
    if not reason:
        raise UsageError(
            f"Say why it is deferred: `/raid defer {item.ref} until 1 Mar because the vendor "
            "moved the release`."
        )
    check_length(reason, MAX_DETAILS_CHARS, "reason")
    return await change(
        ctx,
        item,
        "deferred",
        status=Status.DEFERRED,
        revisit_at=until,
        deferred_reason=reason,
    )


async def withdraw(ctx: Context, item: Item, note: str | None) -> Item:
    rules.check_withdraw(ctx.user, item, ctx.settings)
    return await change(ctx, item, "withdrawn", note=note, status=Status.WITHDRAWN)


async def assign(ctx: Context, item: Item, people: list[str]) -> Item:
    check_assign(ctx, item)
    if not people:
        raise UsageError(f"Say who: `/raid assign {item.ref} @erin`.")
    if item.kind is Kind.CHANGE:
        return await change(ctx, item, "assigned", approvers=tuple(people))
    if len(people) > 1:
        raise UsageError(f"{item.ref} has one {rules.owner_word(item)}; mention just one person.")
    return await change(ctx, item, "assigned", owner=people[0])


async def set_due(ctx: Context, item: Item, due: datetime) -> Item:
    check_due(ctx, item)
    return await change(ctx, item, "re-dated", due_at=due)


async def edit(ctx: Context, item: Item, **updates: Any) -> Item:
    """Change an item's own fields (title, details, what it waits on, a risk's likelihood,
    impact, response and mitigation, a decision's rationale, a change request's impact and
    why) in one ``edited`` event. Its owner and date change with :func:`assign` and
    :func:`set_due`; its state with the verbs."""
    rules.check_edit(ctx.user, item, ctx.settings)
    allowed = KINDS_EDITABLE[item.kind]
    for name, value in list(updates.items()):
        if name not in allowed:
            raise UsageError(f"A {item.kind.label} has no {name.replace('_', ' ')} to edit.")
        if name == "title":
            updates[name] = validate_title(str(value))
        elif isinstance(value, str):
            text = value.strip()
            limit = TEXT_LIMITS.get(name)
            if limit is not None:
                check_length(text, limit.chars, limit.label)
            updates[name] = None if is_blank(text) else text
    return await change(ctx, item, "edited", **updates)


async def snooze(ctx: Context, item: Item, span: timedelta) -> Item:
    """No nudges about ``item`` for ``span``; anyone it waits on, or a manager, may snooze."""
    rules.check_snooze(ctx.user, item, ctx.settings)
    if span > timedelta(days=14):
        raise UsageError("Snooze for at most 14 days; set a new date instead.")
    return await change(ctx, item, "snoozed", snoozed_until=ctx.now + span)


async def add_note(ctx: Context, item: Item, note: str) -> Item:
    note = note.strip()
    if not note:
        raise UsageError(f"Say what to note: `/raid note {item.ref} vendor confirmed the date`.")
    check_length(note, MAX_DETAILS_CHARS, "note")
    return await change(ctx, item, "note", note=note)


async def approve(ctx: Context, item: Item, note: str | None) -> Item:
    rules.check_approve(ctx.user, item, ctx.settings)
    return await change(
        ctx,
        item,
        "approved",
        status=Status.APPROVED,
        decision_note=validate_details(note),
        decided_by=ctx.user,
        decided_at=ctx.now,
    )


async def reject(ctx: Context, item: Item, reason: str) -> Item:
    reason = reason.strip()
    check_reject(ctx, item)
    if not reason:
        raise UsageError(f"Say why: `/raid reject {item.ref} no budget this quarter`.")
    return await change(
        ctx,
        item,
        "rejected",
        status=Status.REJECTED,
        decision_note=validate_details(reason),
        decided_by=ctx.user,
        decided_at=ctx.now,
    )


async def decide(ctx: Context, item: Item, outcome: str, rationale: str | None) -> Item:
    check_decide(ctx, item)
    outcome = outcome.strip()
    if not outcome:
        raise UsageError(
            f"Say what was decided: `/raid decide {item.ref} Okta, best SCIM support`."
        )
    check_length(outcome, MAX_TITLE_CHARS, "outcome")
    return await change(
        ctx,
        item,
        "decided",
        status=Status.DECIDED,
        outcome=outcome,
        rationale=validate_details(rationale) or item.rationale,
        decided_by=ctx.user,
        decided_at=ctx.now,
    )


async def supersede(ctx: Context, item: Item, by: Item | None) -> Item:
    rules.check_supersede(ctx.user, item, ctx.settings)
    if by is not None:
        decisions = await ctx.uow.items.list(ctx.settings.channel, kinds=[Kind.DECISION])
        rules.check_supersede_by(item, by, {str(d.ref): d for d in decisions})
    return await change(
        ctx,
        item,
        "superseded",
        status=Status.SUPERSEDED,
        linked_ref=str(by.ref) if by else item.linked_ref,
    )


async def update_settings(ctx: Context, **updates: Any) -> ChannelSettings:
    new = dataclasses.replace(ctx.settings, **updates)
    await ctx.uow.channels.save_settings(new)
    ctx.settings = new
    return new


async def set_leads(ctx: Context, people: Sequence[str]) -> ChannelSettings:
    """``/raid settings leads``: a lead, or a platform admin, sets the channel's leads (none
    clears them); whoever sets the first leads must include themselves, except a platform
    admin, who may always set them (and so can always undo a lockout)."""
    rules.check_set_leads(ctx.user, ctx.settings, admin=ctx.user_is_admin)
    leads = tuple(dict.fromkeys(people))
    if leads and not ctx.settings.leads and ctx.user not in leads and not ctx.user_is_admin:
        named = " ".join(mention(p) for p in [ctx.user, *leads])
        raise UsageError(
            f"Whoever sets the first leads must include themselves: `/raid settings leads {named}`."
        )
    return await update_settings(ctx, leads=leads)


async def channel_settings(uow: UnitOfWork, channel: ChannelKey) -> ChannelSettings:
    """A channel's settings, as ``raidline leads --show`` prints them."""
    return await uow.channels.get_settings(channel)


async def operator_set_leads(
    uow: UnitOfWork, channel: ChannelKey, people: Sequence[str]
) -> ChannelSettings:
    """``raidline leads --set``: the operator of the installation sets a channel's leads (none
    clears them). Nobody in chat is acting, so no rule of who may applies; the caller commits."""
    settings = await uow.channels.get_settings(channel)
    new = dataclasses.replace(settings, leads=tuple(dict.fromkeys(people)))
    await uow.channels.save_settings(new)
    return new


def require_found(item: Item | None, ref: Ref) -> Item:
    if item is None:
        raise NotFound(f"There is no {ref} in this channel.")
    return item
