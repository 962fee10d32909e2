"""How a nudge reads: to the person it waits on, or to the channel (SPEC §4)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from bot import actions as action_ids
from bot.domain.model import ChannelSettings, Item
from bot.messages import Action, Outgoing, Reply, Tone, Visibility
from bot.services.nudges import APPROVAL_WORKING_DAYS, ESCALATE_AFTER, Reason
from bot.text.dates import format_datetime, format_relative
from bot.text.parsing import mention
from bot.views.items import card, due_action, take_action, was


def snooze_action(item: Item) -> Action:
    return Action("Snooze 1 day", action_ids.snooze(item.ref, 1))


def message(
    item: Item,
    why: Reason,
    settings: ChannelSettings,
    tz: str,
    now: datetime,
    baseline: datetime | None = None,
) -> Outgoing:
    """The nudge: a direct message to the person it waits on, or the channel when nobody is
    named or after ``ESCALATE_AFTER`` nudges without change (then with the leads).
    ``baseline``: an overdue blocker's first date, shown (``was Fri 27 Nov``) once it moved."""
    ref = str(item.ref)
    when = (
        f"{format_datetime(item.due_at, tz, now)}, {format_relative(item.due_at, now)}"
        if item.due_at
        else ""
    )
    person: str | None = item.owner
    actions: list[Action]
    if why == Reason.OVERDUE:
        moved = was(item, baseline, tz, now)
        when += f" ({moved})" if moved else ""
        text = f"{ref} “{item.title}” was due {when}. Can you resolve it or set a new date?"
        actions = [
            Action("Resolve", action_ids.resolve(ref), "primary"),
            snooze_action(item),
            due_action(item),
        ]
    elif why == Reason.UNOWNED:
        age = format_relative(item.created_at, now)
        text = f"{ref} “{item.title}” was logged {age} and still has no owner. Who takes it?"
        actions = [take_action(ref), snooze_action(item)]
        person = None
    elif why == Reason.DECISION_LATE:
        text = f"{ref} “{item.title}” needed a decision by {when}."
        decide = next(a for a in card(item, tz, now).actions if a.label == "Decide")
        actions = [decide, snooze_action(item), due_action(item)]
    elif why == Reason.APPROVAL_WAITING:
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
        cards=(dataclasses.replace(card(item, tz, now, baseline=baseline), actions=()),),
        actions=tuple(actions),
        item_ref=ref,
    )
    return Outgoing(settings.channel, reply, to_user=person)
