"""Button clicks and form submissions: ``verb:argument`` action ids with form values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

from bot.commands import raid
from bot.commands.log import submit_form
from bot.domain.model import Item, Kind
from bot.errors import FormInvalid, UsageError
from bot.messages import Action, Reply
from bot.services import items as svc
from bot.services.items import Context
from bot.text.dates import parse_date
from bot.text.parsing import parse_people, parse_ref
from bot.views import standups
from bot.views.items import assign_action, decide_action, due_action, reject_action


def _required(values: Mapping[str, str], name: str, message: str) -> str:
    value = (values.get(name) or "").strip()
    if not value:
        raise FormInvalid({name: message})
    return value


_FORM_VERBS: Mapping[str, tuple[Callable[[Context, Item], None], Callable[[Item], Action]]] = {
    "assign": (svc.check_assign, assign_action),
    "due": (svc.check_due, due_action),
    "decide": (svc.check_decide, lambda item: decide_action(str(item.ref))),
    "reject": (svc.check_reject, lambda item: reject_action(str(item.ref))),
}


def _number(text: str) -> int:
    if not text.isdigit():
        raise UsageError(f"`{text}` is not a number I expected here.")
    return int(text)


def _track_args(arg: str) -> tuple[int, str, int]:
    standup_id, _, rest = arg.partition(":")
    person, _, index = rest.rpartition(":")
    if not person:
        raise UsageError(f"`track:{arg}` is not an action I know.")
    return _number(standup_id), person, _number(index)


def _field(name: str, error: UsageError) -> FormInvalid:
    return FormInvalid({name: error.message})


async def run_action(ctx: Context, action_id: str, values: Mapping[str, str]) -> Reply:
    verb, _, arg = action_id.partition(":")
    if verb == "new":
        try:
            kind = Kind(arg)
        except ValueError:
            raise UsageError(f"`{action_id}` is not a form I know.") from None
        return await submit_form(ctx, kind, values)
    if verb == "list":
        filt, _, page = arg.rpartition(":")
        return await raid.list_items(ctx, f"{filt} page {page}" if page.isdigit() else arg)
    if verb == "standup_answer":
        standup_id = _number(arg)
        if not values:
            return await standups.open_answer_form(ctx, standup_id)
        return await standups.save_answer(ctx, standup_id, dict(values))
    if verb == "track":
        standup_id, person, index = _track_args(arg)
        return await standups.track(ctx, standup_id, person, index)
    if verb == "snooze":
        ref_text, _, span = arg.partition(":")
        item = await svc.load(ctx, parse_ref(ref_text))
        days = _number(span.rstrip("d") or "1")
        return raid.changed(ctx, "Snoozed", await svc.snooze(ctx, item, timedelta(days=days)))
    if verb not in raid.ACTION_HANDLERS:
        raise UsageError(f"`{action_id}` is not an action I know.")
    ref = parse_ref(arg.split(":")[0])
    item = await svc.load(ctx, ref)
    note = (values.get("note") or "").strip() or None
    if verb in _FORM_VERBS and not values:
        # A click: check who may first, so a refused click never opens a form; then ask.
        check, action = _FORM_VERBS[verb]
        check(ctx, item)
        form = action(item).form
        return Reply(text=form.title if form else str(item.ref), form=form)
    if verb == "assign":
        try:
            people = parse_people(_required(values, "owner", "Choose who."))
        except UsageError as e:
            raise _field("owner", e) from None
        item = await svc.assign(ctx, item, people)
        return raid.changed(ctx, "Assigned", item)
    if verb == "due":
        try:
            when = parse_date(_required(values, "due", "Give a date."), ctx.now, ctx.timezone)
        except UsageError as e:
            raise _field("due", e) from None
        return raid.changed(ctx, "Re-dated", await svc.set_due(ctx, item, when))
    if verb == "decide":
        outcome = _required(values, "outcome", "Say what was decided.")
        rationale = (values.get("rationale") or "").strip() or None
        return raid.changed(ctx, "Decided", await svc.decide(ctx, item, outcome, rationale))
    if verb == "reject":
        reason = (values.get("reason") or "").strip()
        if not reason:
            svc.check_reject(ctx, item)
            raise FormInvalid({"reason": "Say why it is rejected."})
        return raid.changed(ctx, "Rejected", await svc.reject(ctx, item, reason))
    text = f"{ref} {note or ''}".strip()
    return await raid.ACTION_HANDLERS[verb](ctx, text)
