"""Who may do what, and which changes an item's state allows (SPEC §3).

Pure functions over the acting user, the item and the channel's settings: each returns
quietly when the rule allows the change and raises (:class:`Forbidden`, :class:`Conflict`,
:class:`UsageError`) with the text that says who may, or why not, when it does not.
"""

from __future__ import annotations

from bot.domain.model import ChannelSettings, Item, Kind, Status, mention
from bot.errors import Conflict, Forbidden, UsageError

#: What to use instead, when a verb does not fit an item's kind.
KIND_HINTS = {
    Kind.RISK: " Use `close` or `occurred` for a risk.",
    Kind.DECISION: " Use `decide` or `reject` for a decision.",
    Kind.CHANGE: " Use `approve`, `reject` or `implemented` for a change request.",
}

#: The state each kind is reopened from (withdrawn items of these kinds reopen as well).
REOPENABLE = {Kind.BLOCKER: Status.RESOLVED, Kind.RISK: Status.CLOSED}


def _who(people: tuple[str, ...]) -> str:
    return ", ".join(mention(p) for p in people)


def _leads_text(settings: ChannelSettings) -> str:
    return f"a lead ({_who(settings.leads)})"


def owner_word(item: Item) -> str:
    return "decider" if item.kind is Kind.DECISION else "owner"


def require_manager(user: str, item: Item, settings: ChannelSettings, verb: str) -> None:
    """Resolving, closing, reassigning and re-dating: the owner, the reporter, or a lead."""
    if user in (item.owner, item.reporter) or settings.is_lead(user):
        return
    if item.kind is Kind.CHANGE and user in item.approvers:
        return
    who = []
    if item.owner:
        who.append(f"the {owner_word(item)} ({mention(item.owner)})")
    who.append(f"the reporter ({mention(item.reporter)})")
    who.append(_leads_text(settings))
    raise Forbidden(f"Only {', '.join(who[:-1])} or {who[-1]} may {verb} {item.ref}.")


def require_approver(user: str, item: Item, settings: ChannelSettings, verb: str) -> None:
    """A change request: its named approvers; only when none is named, a lead."""
    if item.approvers:
        if user in item.approvers:
            return
        raise Forbidden(f"Only {_who(item.approvers)} may {verb} {item.ref}.")
    if settings.is_lead(user):
        return
    raise Forbidden(f"{item.ref} names no approver, so only {_leads_text(settings)} may {verb} it.")


def require_decider(user: str, item: Item, settings: ChannelSettings, verb: str) -> None:
    """A pending decision: its named decider; only when none is named, a lead."""
    if item.owner:
        if user == item.owner:
            return
        raise Forbidden(f"Only the decider ({mention(item.owner)}) may {verb} {item.ref}.")
    if settings.is_lead(user):
        return
    raise Forbidden(f"{item.ref} names no decider, so only {_leads_text(settings)} may {verb} it.")


def require_lead(user: str, settings: ChannelSettings, what: str) -> None:
    if settings.is_lead(user):
        return
    raise Forbidden(f"Only a lead ({_who(settings.leads)}) may {what}.")


def require_status(item: Item, allowed: set[Status], verb: str) -> None:
    if item.status in allowed:
        return
    raise Conflict(f"{item.ref} is {item.status.label}, so it can't be {verb}.")


def require_kind(item: Item, kinds: set[Kind], verb: str, hint: str = "") -> None:
    if item.kind in kinds:
        return
    names = " or ".join(k.plural for k in sorted(kinds, key=lambda k: k.value))
    raise UsageError(f"Only {names} can be {verb}; {item.ref} is a {item.kind.label}.{hint}")


def require_active(item: Item, then: str) -> None:
    """Reassigning or re-dating a closed item: ``then`` says what to do first."""
    if not item.active:
        raise Conflict(f"{item.ref} is {item.status.label}; {then}.")


# --- the rules of each change, before any value is asked for (a form opens only if they hold) --


def check_resolve(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.BLOCKER}, "resolved", KIND_HINTS.get(item.kind, ""))
    require_manager(user, item, settings, "resolve")
    require_status(item, {Status.OPEN}, "resolved")


def check_implement(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.CHANGE}, "marked implemented")
    require_manager(user, item, settings, "mark implemented")
    require_status(item, {Status.APPROVED}, "marked implemented (only approved changes can)")


def check_close_risk(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.RISK}, "closed", KIND_HINTS.get(item.kind, ""))
    require_manager(user, item, settings, "close")
    require_status(item, {Status.OPEN}, "closed")


def check_occurred(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.RISK}, "marked occurred", KIND_HINTS.get(item.kind, ""))
    require_manager(user, item, settings, "mark occurred")
    require_status(item, {Status.OPEN}, "marked occurred")


def check_reopen(user: str, item: Item, settings: ChannelSettings) -> None:
    if item.kind not in REOPENABLE:
        raise UsageError(
            f"Only blockers and closed risks can be reopened; {item.ref} is a "
            f"{item.kind.label}. Log a new one instead."
        )
    require_manager(user, item, settings, "reopen")
    require_status(item, {REOPENABLE[item.kind], Status.WITHDRAWN}, "reopened")


def check_withdraw(user: str, item: Item, settings: ChannelSettings) -> None:
    require_manager(user, item, settings, "withdraw")
    if not item.active:
        raise Conflict(f"{item.ref} is already {item.status.label}; nothing to withdraw.")


def check_assign(user: str, item: Item, settings: ChannelSettings) -> None:
    if item.kind is Kind.CHANGE:
        require_manager(user, item, settings, "change the approvers of")
        require_status(item, {Status.PROPOSED}, "reassigned")
        return
    require_manager(user, item, settings, "reassign")
    require_active(item, "reopen it before reassigning")


def check_due(user: str, item: Item, settings: ChannelSettings) -> None:
    if item.kind is Kind.CHANGE:
        raise UsageError(f"Change requests have no date; {item.ref} can't be re-dated.")
    require_manager(user, item, settings, "re-date")
    require_active(item, "reopen it before re-dating")


def check_snooze(user: str, item: Item, settings: ChannelSettings) -> None:
    """Anyone the item waits on, or a manager, may snooze it while it is active."""
    if not (user == item.owner or user in item.approvers):
        require_manager(user, item, settings, "snooze")
    if not item.active:
        raise Conflict(f"{item.ref} is {item.status.label}; there is nothing to snooze.")


def check_approve(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.CHANGE}, "approved", KIND_HINTS.get(item.kind, ""))
    require_approver(user, item, settings, "approve")
    require_status(item, {Status.PROPOSED}, "approved")


def check_reject(user: str, item: Item, settings: ChannelSettings) -> None:
    if item.kind not in (Kind.CHANGE, Kind.DECISION):
        raise UsageError(
            f"Only change requests and pending decisions can be rejected; {item.ref} is a "
            f"{item.kind.label}.{KIND_HINTS.get(item.kind, '')}"
        )
    if item.kind is Kind.CHANGE:
        require_approver(user, item, settings, "reject")
        require_status(item, {Status.PROPOSED}, "rejected")
    else:
        require_decider(user, item, settings, "reject")
        require_status(item, {Status.PENDING}, "rejected")


def check_decide(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.DECISION}, "decided", KIND_HINTS.get(item.kind, ""))
    require_decider(user, item, settings, "decide")
    require_status(item, {Status.PENDING}, "decided")


def check_supersede(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.DECISION}, "superseded")
    require_manager(user, item, settings, "supersede")
    require_status(item, {Status.DECIDED}, "superseded (only decided decisions can)")
