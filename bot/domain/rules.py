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
REOPENABLE = {
    Kind.BLOCKER: Status.RESOLVED,
    Kind.RISK: Status.CLOSED,
    Kind.MILESTONE: Status.DONE,
}


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


def require_not_own(user: str, item: Item, settings: ChannelSettings, verb: str) -> None:
    """Nobody approves or decides their own request unless they are a lead (SPEC §3).

    In a channel with no leads everyone may do what a lead may, so there the reporter may,
    and the approval is marked self-approved (:func:`self_approved`) like a lead's.
    """
    if user != item.reporter or settings.is_lead(user):
        return
    others = tuple(p for p in item.approvers if p != user)
    if item.kind is Kind.CHANGE and others:
        instead = f"{_who(others)} may {verb} it."
    else:
        role = "approver" if item.kind is Kind.CHANGE else "decider"
        instead = (
            f"A lead ({_who(settings.leads)}) may name another {role}: "
            f"`/raid assign {item.ref} @someone`."
        )
    raise Forbidden(
        f"You reported {item.ref}, so you can't {verb} it yourself: only a lead may {verb} "
        f"their own request. {instead}"
    )


def require_gatekeeper_change(user: str, item: Item, settings: ChannelSettings) -> None:
    """The approvers of a proposed change request and the decider of a pending decision are
    changed only by a lead or by the current approver/decider, never by the reporter alone."""
    current = item.approvers if item.kind is Kind.CHANGE else tuple(filter(None, [item.owner]))
    if settings.is_lead(user) or user in current:
        return
    role = "approver" if item.kind is Kind.CHANGE else "decider"
    what = f"the approvers of {item.ref}" if item.kind is Kind.CHANGE else f"who decides {item.ref}"
    if current:
        plural = "s" if len(current) > 1 else ""
        raise Forbidden(
            f"Only {_leads_text(settings)} or the {role}{plural} ({_who(current)}) may change "
            f"{what}."
        )
    raise Forbidden(f"{item.ref} names no {role}, so only {_leads_text(settings)} may name one.")


def self_approved(item: Item) -> bool:
    """Whether the person who asked for this change request or decision also approved or
    decided it (allowed only to a lead, and then shown as "self-approved").

    A decision recorded as already taken (decided when it was logged) is a record, not a
    request: it is not self-approved.
    """
    if item.decided_by is None or item.decided_by != item.reporter:
        return False
    if item.kind is Kind.CHANGE:
        return item.status in (Status.APPROVED, Status.IMPLEMENTED)
    if item.kind is Kind.DECISION:
        return (
            item.status in (Status.DECIDED, Status.SUPERSEDED)
            and item.decided_at is not None
            and item.decided_at > item.created_at
        )
    return False


#: The history actions that approve or decide a request (see :func:`self_approved`).
APPROVING_ACTIONS = frozenset({"approved", "decided"})


def platform_admins(settings: ChannelSettings) -> str:
    """Who, besides the leads, may always set a channel's leads, in the platform's words."""
    return {
        "slack": "a Slack workspace admin",
        "discord": "a Discord member with Manage Server",
    }.get(settings.channel.platform, "an operator (`raidline leads`)")


def check_set_leads(user: str, settings: ChannelSettings, *, admin: bool = False) -> None:
    """A lead, or a platform admin, may set a channel's leads (SPEC §3)."""
    if admin or settings.is_lead(user):
        return
    raise Forbidden(
        f"Only a lead ({_who(settings.leads)}) or {platform_admins(settings)} may change the leads."
    )


def require_lead(user: str, settings: ChannelSettings, what: str) -> None:
    if settings.is_lead(user):
        return
    raise Forbidden(f"Only a lead ({_who(settings.leads)}) may {what}.")


#: The state a change leads to: an item already in it was "already" changed so.
_REACHED = {
    "resolved": Status.RESOLVED,
    "closed": Status.CLOSED,
    "marked occurred": Status.OCCURRED,
    "approved": Status.APPROVED,
    "rejected": Status.REJECTED,
    "decided": Status.DECIDED,
    "superseded": Status.SUPERSEDED,
    "marked implemented": Status.IMPLEMENTED,
}


def state_refusal(item: Item, verb: str) -> str:
    """Why ``item`` cannot be ``verb`` (``approved``, ``marked implemented (only approved
    changes can)``) in its state, as a person would say it: ``C-1 is already approved.``"""
    action, _, why = verb.partition(" (")
    ref, status = item.ref, item.status
    if action == "resolved" and status is Status.DONE:
        return f"{ref} is already done."
    if _REACHED.get(action) is status or (action == "reopened" and item.active):
        if status is Status.OCCURRED:
            return f"{ref} has already occurred."
        return f"{ref} is already {status.label}."
    state = {Status.PENDING: "still needs a decision", Status.OCCURRED: "has occurred"}.get(
        status, f"is {status.label}"
    )
    if why:  # "only approved changes can)"
        return f"{ref} {state}, and {why.rstrip(')')} be {action}."
    if status is Status.WITHDRAWN:
        return f"{ref} was withdrawn; `/raid reopen {ref}` brings it back first."
    if status is Status.DEFERRED:
        return f"{ref} is deferred; `/raid reopen {ref}` brings it back first."
    if status is REOPENABLE.get(item.kind):
        return f"{ref} {state}; `/raid reopen {ref}` first if it still needs to be {action}."
    return f"{ref} {state}; it can no longer be {action}."


def require_status(item: Item, allowed: set[Status], verb: str) -> None:
    if item.status in allowed:
        return
    raise Conflict(state_refusal(item, verb))


def require_kind(item: Item, kinds: set[Kind], verb: str, hint: str = "") -> None:
    if item.kind in kinds:
        return
    names = " or ".join(k.plural for k in sorted(kinds, key=lambda k: k.value))
    raise UsageError(f"Only {names} can be {verb}; {item.ref} is a {item.kind.label}.{hint}")


def require_active(item: Item, then: str) -> None:
    """Reassigning or re-dating a closed item: ``then`` says what to do first."""
    if not item.active:
        raise Conflict(f"{item.ref} is {item.status.label}: {then}.")


# --- the rules of each change, before any value is asked for (a form opens only if they hold) --


def check_resolve(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.BLOCKER, Kind.MILESTONE}, "resolved", KIND_HINTS.get(item.kind, ""))
    require_status(item, {Status.OPEN}, "resolved")
    require_manager(user, item, settings, "resolve")


def check_implement(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.CHANGE}, "marked implemented")
    require_status(
        item,
        {Status.APPROVED},
        "marked implemented (only approved changes can)",
    )
    require_manager(user, item, settings, "mark implemented")


def check_close_risk(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.RISK}, "closed", KIND_HINTS.get(item.kind, ""))
    require_status(item, {Status.OPEN}, "closed")
    require_manager(user, item, settings, "close")


def check_occurred(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.RISK}, "marked occurred", KIND_HINTS.get(item.kind, ""))
    require_status(item, {Status.OPEN}, "marked occurred")
    require_manager(user, item, settings, "mark occurred")


def check_reopen(user: str, item: Item, settings: ChannelSettings) -> None:
    if item.status is Status.DEFERRED:
        require_manager(user, item, settings, "reopen")
        return
    if item.kind not in REOPENABLE:
        raise UsageError(
            f"Only blockers, closed risks and milestones can be reopened; {item.ref} is a "
            f"{item.kind.label}. Log a new one instead."
        )
    require_status(item, {REOPENABLE[item.kind], Status.WITHDRAWN}, "reopened")
    require_manager(user, item, settings, "reopen")


def check_withdraw(user: str, item: Item, settings: ChannelSettings) -> None:
    if not item.active:
        raise Conflict(f"{item.ref} is already {item.status.label}: there is nothing to withdraw.")
    require_manager(user, item, settings, "withdraw")


def check_defer(user: str, item: Item, settings: ChannelSettings) -> None:
    """Deferring: an item that still asks something of the team (or a deferred one, to a new
    date), by its owner, its reporter or a lead."""
    if not item.active and item.status is not Status.DEFERRED:
        raise Conflict(f"{item.ref} is already {item.status.label}: there is nothing to defer.")
    require_manager(user, item, settings, "defer")


def check_assign(user: str, item: Item, settings: ChannelSettings) -> None:
    if item.kind is Kind.CHANGE:
        require_status(item, {Status.PROPOSED}, "reassigned")
        require_gatekeeper_change(user, item, settings)
        return
    if item.kind is Kind.DECISION and item.status is Status.PENDING:
        require_gatekeeper_change(user, item, settings)
        return
    require_active(item, "reopen it before reassigning")
    require_manager(user, item, settings, "reassign")


def check_due(user: str, item: Item, settings: ChannelSettings) -> None:
    if item.kind is Kind.CHANGE:
        raise UsageError(f"Change requests have no date; {item.ref} can't be re-dated.")
    require_active(item, "reopen it before re-dating")
    require_manager(user, item, settings, "re-date")


def check_snooze(user: str, item: Item, settings: ChannelSettings) -> None:
    """Anyone the item waits on, or a manager, may snooze it while it is active."""
    if not item.active:
        raise Conflict(f"{item.ref} is already {item.status.label}: there is nothing to snooze.")
    if not (user == item.owner or user in item.approvers):
        require_manager(user, item, settings, "snooze")


def check_approve(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.CHANGE}, "approved", KIND_HINTS.get(item.kind, ""))
    require_status(item, {Status.PROPOSED}, "approved")
    require_approver(user, item, settings, "approve")
    require_not_own(user, item, settings, "approve")


def check_reject(user: str, item: Item, settings: ChannelSettings) -> None:
    if item.kind not in (Kind.CHANGE, Kind.DECISION):
        raise UsageError(
            f"Only change requests and pending decisions can be rejected; {item.ref} is a "
            f"{item.kind.label}.{KIND_HINTS.get(item.kind, '')}"
        )
    if item.kind is Kind.CHANGE:
        require_status(item, {Status.PROPOSED}, "rejected")
        require_approver(user, item, settings, "reject")
    else:
        require_status(item, {Status.PENDING}, "rejected")
        require_decider(user, item, settings, "reject")


def check_decide(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.DECISION}, "decided", KIND_HINTS.get(item.kind, ""))
    require_status(item, {Status.PENDING}, "decided")
    require_decider(user, item, settings, "decide")
    require_not_own(user, item, settings, "decide")


def check_supersede(user: str, item: Item, settings: ChannelSettings) -> None:
    require_kind(item, {Kind.DECISION}, "superseded")
    require_status(
        item,
        {Status.DECIDED},
        "superseded (only decided decisions can)",
    )
    require_manager(user, item, settings, "supersede")


def check_supersede_by(item: Item, by: Item, chain: dict[str, Item]) -> None:
    """``item`` superseded by ``by``: a decision, not ``item`` itself, and no loop.

    ``chain``: the channel's decisions by ref, to follow who superseded whom from ``by``.
    """
    if by.kind is not Kind.DECISION:
        raise UsageError(f"{by.ref} is not a decision; a decision is superseded by a decision.")
    if by.ref == item.ref:
        raise UsageError(
            f"A decision can't supersede itself. Log the new decision, then "
            f"`/raid supersede {item.ref} by D-…` with its ref."
        )
    seen = {str(by.ref)}
    step = by
    while step.status is Status.SUPERSEDED and step.linked_ref and step.linked_ref not in seen:
        if step.linked_ref == str(item.ref):
            raise Conflict(
                f"{by.ref} was superseded by {item.ref} (directly or through others), so "
                f"{item.ref} can't be superseded by {by.ref}: that would be a loop. Supersede it "
                "by the decision that stands now."
            )
        seen.add(step.linked_ref)
        nxt = chain.get(step.linked_ref)
        if nxt is None:
            break
        step = nxt


def check_edit(user: str, item: Item, settings: ChannelSettings) -> None:
    """Editing an item's fields: while it asks something of the team (a change request while
    it is proposed, as its approval is of what was asked), by its manager. The state is told
    before who may."""
    if item.kind is Kind.CHANGE and item.status is not Status.PROPOSED:
        raise Conflict(
            f"{item.ref} is {item.status.label}; it was decided as it was asked: request a new "
            "change instead."
        )
    if item.kind is Kind.DECISION and not item.active:
        already = "already " if item.status is Status.DECIDED else ""
        raise Conflict(
            f"{item.ref} is {already}{item.status.label}; its record stands: log the new "
            f"decision and `/raid supersede {item.ref} by D-…`."
        )
    require_active(item, "reopen it before editing")
    require_manager(user, item, settings, "edit")
