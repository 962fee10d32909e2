"""Nudges: who is reminded of what, and what the reminder says (SPEC §4)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import actions as action_ids
from bot.domain.model import ChannelSettings, Item, Kind, Status
from bot.domain.schedules import working_days_between
from bot.messages import Action, Outgoing, Reply, Tone, Visibility
from bot.text.dates import format_datetime, format_relative
from bot.text.parsing import mention
from bot.views.items import card, due_action, take_action

#: A blocker with no owner for this long is raised with the channel.
UNOWNED_AFTER = timedelta(days=1)
#: Change requests waiting more than this many working days for an answer.
APPROVAL_WORKING_DAYS = 2
#: From this many unanswered nudges on, the next one also mentions the leads.
ESCALATE_AFTER = 3


def reason(item: Item, settings: ChannelSettings, tz: str, now: datetime) -> str | None:
    """Why ``item`` deserves a nudge now, or None. Level-triggered: no memory of the past."""
    if not item.active or (item.snoozed_until and item.snoozed_until > now):
        return None
    if item.kind is Kind.BLOCKER:
        if item.owner and item.due_at and item.due_at < now:
            return "overdue"
        if not item.owner and now - item.created_at >= UNOWNED_AFTER:
            return "unowned"
    elif item.kind is Kind.DECISION:
        if item.status is Status.PENDING and item.due_at and item.due_at < now:
            return "decision_late"
    elif item.kind is Kind.CHANGE:
        if item.status is Status.PROPOSED and _waited_too_long(item, settings, tz, now):
            return "approval_waiting"
    elif item.kind is Kind.RISK and item.due_at and item.due_at < now:
        return "review_due"
    return None


def _waited_too_long(item: Item, settings: ChannelSettings, tz: str, now: datetime) -> bool:
    days = working_days_between(item.created_at, now, tz, settings.work_days)
    if days != APPROVAL_WORKING_DAYS:
        return days > APPROVAL_WORKING_DAYS
    zone = ZoneInfo(tz)
    return now.astimezone(zone).time() > item.created_at.astimezone(zone).time()


def snooze_action(item: Item) -> Action:
    return Action("Snooze 1 day", action_ids.snooze(item.ref, 1))


def message(item: Item, why: str, settings: ChannelSettings, tz: str, now: datetime) -> Outgoing:
    """The nudge: a direct message to the person it waits on, or the channel when nobody is
    named or after ``ESCALATE_AFTER`` nudges without change (then with the leads)."""
    ref = str(item.ref)
    when = (
        f"{format_datetime(item.due_at, tz, now)}, {format_relative(item.due_at, now)}"
        if item.due_at
        else ""
    )
    person: str | None = item.owner
    actions: list[Action]
    if why == "overdue":
        text = f"{ref} “{item.title}” was due {when}. Can you resolve it or set a new date?"
        actions = [
            Action("Resolve", action_ids.resolve(ref), "primary"),
            snooze_action(item),
            due_action(item),
        ]
    elif why == "unowned":
        age = format_relative(item.created_at, now)
        text = f"{ref} “{item.title}” was logged {age} and still has no owner. Who takes it?"
        actions = [take_action(ref), snooze_action(item)]
        person = None
    elif why == "decision_late":
        text = f"{ref} “{item.title}” needed a decision by {when}."
        decide = next(a for a in card(item, tz, now).actions if a.label == "Decide")
        actions = [decide, snooze_action(item), due_action(item)]
    elif why == "approval_waiting":
        text = (
            f"{ref} “{item.title}” has waited more than {APPROVAL_WORKING_DAYS} working days "
            "for a yes or no."
        )
        actions = [a for a in card(item, tz, now).actions] + [snooze_action(item)]
        person = item.approvers[0] if len(item.approvers) == 1 else None
        if len(item.approvers) > 1:
            text = " ".join(mention(p) for p in item.approvers) + " " + text
    else:  # review_due
        text = f"{ref} “{item.title}” was due for review {when}. Still a risk?"
        actions = [
            Action("Close", action_ids.close(ref), "primary"),
            snooze_action(item),
            due_action(item),
        ]
    escalate = item.nudge_count >= ESCALATE_AFTER and settings.leads
    if escalate:
        leads = " ".join(mention(p) for p in settings.leads)
        who = mention(person) + " " if person else ""
        text = f"{who}{text} (reminder {item.nudge_count + 1}; leads: {leads})"
        person = None
    elif person:
        text = f"{mention(person)}: {text}"
    reply = Reply(
        text=text,
        visibility=Visibility.CHANNEL,
        tone=Tone.INFO,
        cards=(dataclasses.replace(card(item, tz, now), actions=()),),
        actions=tuple(actions),
        item_ref=ref,
    )
    return Outgoing(settings.channel, reply, to_user=person)
