"""Button clicks and form submissions: ``verb:argument`` action ids with form values."""

from __future__ import annotations

from collections.abc import Mapping

from bot.commands import raid
from bot.commands.log import submit_form
from bot.commands.parsing import parse_people, parse_ref
from bot.dates import parse_date
from bot.errors import FormInvalid, UsageError
from bot.messages import Reply
from bot.model import Kind
from bot.services import items as svc
from bot.services.items import Context


def _required(values: Mapping[str, str], name: str, message: str) -> str:
    value = (values.get(name) or "").strip()
    if not value:
        raise FormInvalid({name: message})
    return value


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
    if verb not in raid.ACTION_HANDLERS:
        raise UsageError(f"`{action_id}` is not an action I know.")
    ref = parse_ref(arg.split(":")[0])
    item = await svc.load(ctx, ref)
    note = (values.get("note") or "").strip() or None
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
            # The permission and state checks come first so a refused click changes nothing
            # and says who may, before asking for a reason.
            if item.kind is Kind.CHANGE:
                svc.require_approver(ctx, item, "reject")
            else:
                svc.require_decider(ctx, item, "reject")
            raise FormInvalid({"reason": "Say why it is rejected."})
        return raid.changed(ctx, "Rejected", await svc.reject(ctx, item, reason))
    text = f"{ref} {note or ''}".strip()
    return await raid.ACTION_HANDLERS[verb](ctx, text)
