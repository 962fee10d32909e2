"""Button clicks and form submissions: an action id (see :mod:`bot.actions`) and the form's
values -> the same typed calls text and options give."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot import actions
from bot.commands import calls, log, raid
from bot.domain.model import Ref
from bot.errors import UsageError
from bot.messages import Form
from bot.services.items import Context
from bot.views.items import item_form


def _text(values: Mapping[str, str], name: str) -> str:
    return (values.get(name) or "").strip()


def click_call(ctx: Context, action_id: str, values: Mapping[str, str]) -> object:
    """The typed call behind a click (no values) or a form submission."""
    a = actions.parse(action_id)
    if a.kind is not None:  # new:<kind>
        return log.from_form(ctx, a.kind, values)
    if a.verb == "list":
        return raid.list_page(ctx, a.filter, a.page)
    if a.standup_id is not None and a.verb == "standup_answer":
        if not values:
            return calls.OpenStandupAnswer(a.standup_id)
        return calls.SaveStandupAnswer(a.standup_id, dict(values))
    if a.verb == "track" and a.standup_id is not None and a.person is not None:
        return calls.Track(a.standup_id, a.person, a.index or 0)
    ref = a.ref
    if ref is None:  # every other verb has a ref (actions.parse checked it)
        raise UsageError(f"`{action_id}` is not an action I know.")
    if a.verb == "snooze":
        return calls.Snooze(ref, a.days or 1)
    if a.verb == "edit":
        if not values:
            return calls.OpenEdit(ref)
        return calls.SaveEdit(
            ref,
            title=values.get("title"),
            details=values.get("details"),
            waiting_on=values.get("waiting_on"),
            likelihood=values.get("likelihood"),
            impact=values.get("impact"),
            response=values.get("response"),
            mitigation=values.get("mitigation"),
            rationale=values.get("rationale"),
            why=values.get("why"),
        )
    if a.verb in actions.FORM_VERBS and not values:
        return calls.OpenItemForm(a.verb, ref)
    if a.verb == "assign":
        return calls.Assign(ref, owner=_text(values, "owner"), from_form=True)
    if a.verb == "due":
        return calls.SetDue(ref, _text(values, "due"), from_form=True)
    if a.verb == "decide":
        rationale = _text(values, "rationale") or None
        return calls.Decide(ref, _text(values, "outcome"), rationale, from_form=True)
    if a.verb == "reject":
        return calls.Reject(ref, _text(values, "reason"), from_form=True)
    if a.verb == "defer":
        return calls.Defer(ref, _text(values, "until"), _text(values, "reason"), from_form=True)
    note = _text(values, "note") or None
    return _NOTED[a.verb](ref, note)


_NOTED: Mapping[str, Callable[[Ref, str | None], object]] = {
    "resolve": calls.Resolve,
    "approve": calls.Approve,
    "close": calls.Close,
    "occurred": calls.Occurred,
    "implemented": calls.Implement,
    "withdraw": calls.Withdraw,
    "note": lambda ref, note: calls.Note(ref, note or ""),
    "reopen": lambda ref, note: calls.Reopen(ref, note),
    "take": lambda ref, _note: calls.Take(ref),
}


def form_for(action_id: str) -> Form | None:
    """What clicking a button with ``action_id`` opens, from the id alone (no database): the
    item forms (assign, due, decide, reject) and the logging forms (``new:<kind>``). None for
    an action that opens no form, or one whose form needs the database (a standup answer)."""
    try:
        a = actions.parse(action_id)
    except UsageError:
        return None
    if a.kind is not None:
        return log.form_for(a.kind)
    if a.verb in actions.FORM_VERBS and a.ref is not None:
        return item_form(a.verb, a.ref)
    return None
