"""/raid calendar [reset]: a personal link to the channel's calendar feed."""

from __future__ import annotations

from collections.abc import Mapping

from bot.commands import calls
from bot.errors import UsageError
from bot.messages import Reply
from bot.services import calendar as svc
from bot.services.items import Context
from bot.views import calendar as views

USAGE = "/raid calendar [reset]"
EXAMPLE = "/raid calendar"
SUMMARY = (
    "your private link to this channel's dates (due, review, decide-by, standups, digests) "
    "for Google Calendar or Outlook; `reset` turns your earlier links off"
)


def parse_calendar(ctx: Context, args: str) -> calls.Calendar:
    words = args.lower().split()
    if not words:
        return calls.Calendar()
    if words == ["reset"]:
        return calls.Calendar(reset=True)
    raise UsageError(
        f"`/raid calendar` takes nothing, or `reset`; not `{args.strip()}`.", usage=USAGE
    )


def convert_calendar(ctx: Context, options: Mapping[str, str]) -> calls.Calendar:
    return calls.Calendar(reset=options.get("reset") == "true")


async def calendar(ctx: Context, call: calls.Calendar) -> Reply:
    if ctx.links is None:
        raise UsageError(views.OFF)
    issued = await svc.issue_link(ctx, reset=call.reset)
    return views.link_reply(
        ctx.links.calendar_feed(issued.token),
        views.channel_label(ctx.channel, ctx.channel_name),
        reset=call.reset,
        revoked=issued.revoked,
    )


__all__ = ["EXAMPLE", "SUMMARY", "USAGE", "calendar", "convert_calendar", "parse_calendar"]
