"""Request -> Reply: find the command, run it in one unit of work, classify every error."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from bot import views
from bot.commands.actions import run_action
from bot.commands.parsing import check_command_length
from bot.commands.registry import COMMANDS, did_you_mean, help_reply
from bot.dates import check_timezone
from bot.errors import (
    Conflict,
    Forbidden,
    FormInvalid,
    NotFound,
    RaidlineError,
    Unavailable,
    UsageError,
)
from bot.messages import File, Reply, Request, Suggestion, Tone, Visibility
from bot.model import ChannelKey
from bot.ports import Clock, SystemClock, UnitOfWorkFactory
from bot.services import export
from bot.services.items import Context

log = logging.getLogger("raidline.core")


class Core:
    """The one entry point every adapter calls."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        clock: Clock | None = None,
        default_timezone: str = "UTC",
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock or SystemClock()
        self.default_timezone = default_timezone
        #: called after a command changed a schedule, so the scheduler can look at once
        self.on_schedule_change: Callable[[], None] | None = None

    async def handle(self, request: Request) -> Reply:
        """Never raises: every failure becomes a reply the user can act on."""
        try:
            return await self._handle(request)
        except FormInvalid as e:
            return Reply(text=e.message, tone=Tone.ERROR, field_errors=e.errors)
        except Unavailable as e:
            return Reply(text=e.message, tone=Tone.ERROR)
        except (UsageError, NotFound, Forbidden, Conflict, RaidlineError) as e:
            return Reply(text=e.message, tone=Tone.ERROR, usage=e.usage)
        except Exception:
            incident = secrets.token_hex(4)
            log.exception(
                "unexpected error handling %s",
                request.command or request.action_id,
                extra={"incident_id": incident, "channel": str(request.channel)},
            )
            return Reply(
                text=(
                    "Sorry, something went wrong on our side and nothing was changed. "
                    f"If it happens again, tell your admin the incident id {incident}."
                ),
                tone=Tone.ERROR,
                incident_id=incident,
            )

    async def _handle(self, request: Request) -> Reply:
        command = request.command.strip().lstrip("/").lower()
        if request.action_id is None:
            check_command_length(request.text)
            if command in ("help", "?"):
                return help_reply(request.text)
            spec = COMMANDS.get(command)
            if spec is None:
                hint = did_you_mean(command, list(COMMANDS))
                raise UsageError(
                    f"`/{command}` is not a raidline command.{hint} `/raid help` lists them all.",
                    usage=COMMANDS["raid"].usage,
                )
            if not request.text.strip() and spec.form is not None:
                return Reply(text=f"Fill in the form: {spec.form.title}.", form=spec.form)
        async with self.uow_factory() as uow:
            settings = await uow.channels.get_settings(request.channel)
            ctx = Context(
                uow=uow,
                settings=settings,
                user=request.user,
                now=self.clock.now(),
                timezone=self._timezone(request.user_timezone, settings.timezone),
                source_url=request.source_url,
            )
            if request.action_id is not None:
                reply = await run_action(ctx, request.action_id, request.values)
            else:
                reply = await COMMANDS[command].handler(ctx, request.text.strip())
            await uow.commit()
        if command in ("standup", "digest") and self.on_schedule_change is not None:
            self.on_schedule_change()
        return reply

    def _timezone(self, user_tz: str | None, channel_tz: str | None) -> str:
        for tz in (user_tz, channel_tz):
            if tz:
                try:
                    return check_timezone(tz)
                except UsageError:
                    log.warning("ignoring unknown time zone %r", tz)
        return self.default_timezone

    async def home(
        self, platform: str, workspace: str, user: str, user_timezone: str | None = None
    ) -> Reply:
        """What waits on ``user`` across one workspace's channels (Slack's App Home)."""
        try:
            async with self.uow_factory() as uow:
                items = await uow.items.active_in_workspace(platform, workspace)
        except Unavailable as e:
            return Reply(text=e.message, tone=Tone.ERROR)
        tz = self._timezone(user_timezone, None)
        return views.home(items, user, tz, self.clock.now())

    async def autocomplete(
        self, channel: ChannelKey, typed: str, limit: int = 25
    ) -> list[Suggestion]:
        """Refs of this channel matching what was typed, open items first."""
        typed = typed.strip().lstrip("#").lower().replace("-", "")
        try:
            async with self.uow_factory() as uow:
                items = await uow.items.list(channel)
        except Unavailable:
            return []
        matches = [
            i
            for i in items
            if not typed
            or str(i.ref).lower().replace("-", "").startswith(typed)
            or typed in i.title.lower()
        ]
        matches.sort(key=lambda i: (not i.active, -i.created_at.timestamp()))
        return [
            Suggestion(str(i.ref), f"{i.ref} {i.title} ({i.status.label})"[:100])
            for i in matches[:limit]
        ]

    async def export_channel(self, channel: ChannelKey, fmt: str) -> File:
        async with self.uow_factory() as uow:
            settings = await uow.channels.get_settings(channel)
            tz = self._timezone(None, settings.timezone)
            return await export.export_channel(uow, channel, fmt, tz, self.clock.now())


__all__ = ["Core", "Visibility"]
