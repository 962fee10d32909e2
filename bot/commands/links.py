"""``/raid link``: an item joins a milestone, depends on another item, or gets a tracker link;
``remove`` takes any of them off again. On Discord it is ``/project link``."""

from __future__ import annotations

from collections.abc import Mapping

from bot.commands import calls
from bot.commands.raid import USAGE, changed
from bot.domain import plan
from bot.domain.model import Kind, Ref
from bot.errors import UsageError
from bot.messages import Reply
from bot.services import items as svc
from bot.services import plan as plan_svc
from bot.services.items import Context
from bot.text.markup import typed_link
from bot.text.parsing import parse_ref
from bot.views.items import linked_text

_DEPENDS_WORDS = ("depends-on", "depends on", "depends", "after", "needs", "waits for")
_REMOVE_WORDS = ("remove", "unlink", "drop")


def _link_call(ref: Ref, rest: str, usage: str) -> calls.Link:
    text = " ".join(rest.split())
    lowered = text.lower()
    if not text:
        raise UsageError(
            f"Say what {ref} links to: a milestone (`M-1`), `depends-on B-2`, or a tracker key "
            "or address.",
            usage=usage,
        )
    for word in _REMOVE_WORDS:
        if lowered.startswith(word + " "):
            target = typed_link(text[len(word) :])
            found = Ref.parse(target)
            if found is not None:
                target = str(found)
            elif "://" not in target:
                target = target.upper()
            return calls.Link(ref, "remove", target)
    for word in _DEPENDS_WORDS:
        if lowered.startswith(word + " "):
            return calls.Link(ref, "depends-on", str(parse_ref(text[len(word) :].strip(), usage)))
    other = Ref.parse(text)
    if other is not None:
        if other.kind is Kind.MILESTONE:
            return calls.Link(ref, "milestone", str(other))
        raise UsageError(
            f"Say how {ref} relates to {other}: `/raid link {ref} depends-on {other}` "
            f"(it waits for {other}).",
            usage=usage,
        )
    try:
        return calls.Link(ref, "tracker", plan.parse_tracker_link(typed_link(text)))
    except plan.LinkError as e:
        raise UsageError(str(e), usage=usage) from None


def parse_link(ctx: Context, args: str) -> calls.Link:
    usage = USAGE["link"]
    words = args.strip().split(maxsplit=1)
    if not words:
        raise UsageError("Say which item, e.g. `B-3`.", usage=usage)
    return _link_call(parse_ref(words[0], usage), words[1] if len(words) > 1 else "", usage)


def convert_link(ctx: Context, options: Mapping[str, str]) -> calls.Link:
    usage = USAGE["link"]
    ref = parse_ref((options.get("ref") or "").split()[0] if options.get("ref") else "", usage)
    relation = (options.get("relation") or "").strip()
    target = (options.get("target") or "").strip()
    words = {"milestone": "", "depends-on": "depends-on ", "tracker": "", "remove": "remove "}
    return _link_call(ref, words.get(relation, "") + target, usage)


async def link(ctx: Context, call: calls.Link) -> Reply:
    item = await svc.load(ctx, call.ref)
    if call.relation == "remove":
        done = await plan_svc.unlink(ctx, item, call.target)
    elif call.relation == "milestone":
        done = await plan_svc.join_milestone(ctx, item, _ref(call.target))
    elif call.relation == "depends-on":
        done = await plan_svc.depend_on(ctx, item, _ref(call.target))
    else:
        done = await plan_svc.add_tracker_link(ctx, item, call.target)
    shown = [done.item] if done.other is None else [done.item, done.other]
    reply = await changed(ctx, "Linked", *shown)
    first = reply.text.split("\n", 1)
    rest = f"\n{first[1]}" if len(first) > 1 else ""
    return Reply(
        text=linked_text(done) + rest,
        visibility=reply.visibility,
        tone=reply.tone,
        cards=reply.cards,
        item_ref=str(done.item.ref),
    )


def _ref(text: str) -> Ref:
    ref = Ref.parse(text)
    if ref is None:  # pragma: no cover - the parser made it from a ref
        raise UsageError(f"`{text}` is not a ref.")
    return ref


__all__ = ["convert_link", "link", "parse_link"]
