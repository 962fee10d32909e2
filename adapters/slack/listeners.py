"""Bolt listeners: each turns a payload into a core request and its reply into Slack calls.

- **Acknowledgement.** Commands, clicks and shortcuts are acknowledged first; the core runs
  after the ack. The ack waits for a place in the :class:`~adapters.slack.backlog.Backlog`,
  so that under a burst the replies keep up with the acks. A modal submission must be
  answered with its field errors, so the core runs before that ack, with a budget: if it
  takes longer the modal says so and the answer follows.
- **Errors.** Every listener's work goes through :func:`adapters.slack.app.guard`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks as kit
from adapters.slack import inbound
from adapters.slack.app import guard
from adapters.slack.backlog import ARRIVED, Backlog, Place
from adapters.slack.inbound import COMMANDS, PLATFORM, SHORTCUTS, Origin, Submission, Where
from adapters.slack.outbound import Outbound
from adapters.slack.people import TimeZones
from bot.dispatcher import Core
from bot.messages import Form, Reply, Tone, Visibility

log = logging.getLogger("raidline.slack")

#: Seconds a modal submission may spend in the core before Slack's 3-second limit is at risk.
SUBMIT_BUDGET = 2.3
#: How many opened modals remember the message they were opened from.
ORIGINS_KEPT = 512

_ANY = re.compile(".*")


class Listeners:
    """The listener set: commands, shortcuts, clicks, modal submissions and App Home."""

    def __init__(
        self,
        core: Core,
        outbound: Outbound,
        timezones: TimeZones,
        command_names: Mapping[str, str] | None = None,
    ) -> None:
        self.core = core
        #: the name Slack sends -> raidline's command (RAIDLINE_COMMAND_NAMES)
        self.commands = {
            (command_names or {}).get(command, f"/{command}"): command for command in COMMANDS
        }
        self.out = outbound
        self.timezones = timezones
        #: acknowledged requests in the core (commands, clicks, shortcuts)
        self.backlog = Backlog()
        #: view id -> the blocks of the message its modal was opened from
        self._originals: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()

    def register(self, app: AsyncApp) -> None:
        for name in self.commands:
            app.command(name)(self.on_command)
        for callback_id in SHORTCUTS:
            app.shortcut(callback_id)(self.on_shortcut)
        app.action({"type": "block_actions", "action_id": _ANY})(self.on_action)
        app.view({"type": "view_submission", "callback_id": _ANY})(self.on_view_submission)
        app.event("app_home_opened")(self.on_home_opened)

    async def _guard(
        self,
        client: AsyncWebClient,
        where: Where,
        work: Callable[[], Awaitable[Any]],
        *,
        trigger_id: str | None = None,
    ) -> None:
        """Run ``work`` through the edge guard; an apology goes to a modal on App Home
        (``trigger_id``), else privately to the person."""

        async def tell(reply: Reply) -> None:
            if trigger_id:
                await self.out.notice(client, trigger_id, reply)
            else:
                await self.out.post_private(client, reply, where)

        await guard(work, tell, what="in a Slack request", user=where.user, channel=where.key)

    async def _in_turn(
        self, ack: AsyncAck, context: AsyncBoltContext, work: Callable[[Place], Awaitable[None]]
    ) -> None:
        """Acknowledge once the backlog has a place, then ``work`` (which may leave it early)."""
        place = await self.backlog.enter(context.get(ARRIVED))
        try:
            await ack()
            await work(place)
        finally:
            place.leave()

    async def on_command(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await self._in_turn(ack, context, lambda place: self._command(body, context, place))

    async def _command(self, body: dict[str, Any], context: AsyncBoltContext, place: Place) -> None:
        workspace = inbound.workspace_of(context)
        if workspace is None:
            log.warning("slash command without a team id ignored")
            return
        where = inbound.command_where(body, workspace)
        client = context.client

        async def work() -> None:
            try:
                who = await self.timezones.person(client, workspace, where.user)
                reply = await self.core.handle(
                    inbound.command_request(
                        body, where, who.timezone, admin=who.is_admin, names=self.commands
                    )
                )
            finally:
                place.leave()  # posting the reply holds up nobody's work
            if reply.form is not None and reply.tone is not Tone.ERROR:
                origin = Origin("cmd", where.channel, response_url=where.response_url)
                await self.out.open_form(client, body.get("trigger_id"), reply.form, origin)
                return
            await self.out.deliver(client, reply, where)

        await self._guard(client, where, work)

    async def on_shortcut(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await self._in_turn(ack, context, lambda _: self._shortcut(body, context))

    async def _shortcut(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        shortcut = inbound.shortcut_from(body, inbound.workspace_of(context))
        if shortcut is None:
            log.warning("message shortcut without team, channel or user ignored")
            return
        where = shortcut.where
        client = context.client

        async def work() -> None:
            reply = await self.core.handle(shortcut.request)
            if reply.form is None:
                await self.out.deliver(client, reply, where)
                return
            permalink: str | None = None
            if shortcut.message_ts:
                try:
                    got = await client.chat_getPermalink(
                        channel=where.channel, message_ts=shortcut.message_ts
                    )
                    permalink = got.get("permalink")
                except SlackApiError as e:
                    log.warning("chat.getPermalink failed: %s", e.response.get("error"))
            prefill = kit.prefill_from_message(reply.form, shortcut.message_text)
            await self.out.open_form(
                client, shortcut.trigger_id, reply.form, shortcut.origin(permalink), prefill
            )

        await self._guard(client, where, work)

    async def on_action(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await self._in_turn(ack, context, lambda _: self._action(body, context))

    async def _action(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        workspace = inbound.workspace_of(context)
        click = inbound.click_from(body, workspace)
        if click is None:
            return
        if click.channel is None and click.names_channel:
            log.warning(
                "a button of workspace %s was clicked in %s", click.value.workspace, workspace
            )
        where = click.where
        client = context.client

        async def refuse(reply: Reply) -> None:
            if click.home:
                await self.out.notice(client, click.trigger_id, reply)
            else:
                await self.out.post_private(client, reply, where)

        async def work() -> None:
            if click.refusal is not None:
                await refuse(Reply(text=click.refusal, tone=Tone.ERROR))
                return
            who = await self.timezones.person(client, where.workspace, where.user)
            # A click goes to the core with no values; field errors mean "ask for the form".
            # So a click by someone the rules refuse is refused before any form opens,
            # whenever the core checks the rules before the values.
            reply = await self.core.handle(
                inbound.click_request(
                    where, click.value.action_id, who.timezone, admin=who.is_admin
                )
            )
            form: Form | None = None
            if reply.form is not None and reply.tone is not Tone.ERROR:
                form = reply.form
            elif reply.field_errors:
                form = click.value.form or kit.generic_form(
                    click.value.action_id, click.label, reply.field_errors
                )
            if form is not None:
                view_id = await self.out.open_form(client, click.trigger_id, form, click.origin())
                if view_id and click.blocks:
                    self._remember_original(view_id, click.blocks)
                return
            if reply.tone is Tone.ERROR:
                await refuse(reply)
                return
            if click.home:
                await self._after_home_change(client, reply, where)
                return
            await self.out.apply_click(
                client,
                reply,
                where,
                message_ts=click.message_ts,
                ephemeral=click.ephemeral,
                blocks=click.blocks,
                refs=kit.card_refs(click.blocks),
            )

        await self._guard(client, where, work, trigger_id=click.trigger_id if click.home else None)

    async def on_view_submission(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        submission = inbound.submission_from(body, inbound.workspace_of(context))
        if submission is None:
            await ack()
            return
        where = submission.where
        client = context.client

        async def run() -> Reply:
            who = await self.timezones.person(client, where.workspace, where.user)
            return await self.core.handle(submission.request(who.timezone, admin=who.is_admin))

        task = asyncio.ensure_future(run())
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), SUBMIT_BUDGET)
        except TimeoutError:
            # Slack closes the modal with an error after 3 s; say that the answer follows.
            await ack(
                response_action="update",
                view=kit.notice_view(
                    Reply(text="Still working on it; raidline answers in the channel shortly.")
                ),
            )
            await self._guard(
                client, where, lambda: self._finish_slow_submission(client, task, submission)
            )
            return
        except Exception:
            await ack()
            await self._guard(client, where, lambda: task)
            return
        if reply.field_errors:
            errors = kit.view_errors(reply.field_errors, submission.view)
            await ack(response_action="errors", errors=errors)
            return
        if reply.tone is Tone.ERROR:
            await ack(response_action="update", view=kit.notice_view(reply))
            return
        await ack()
        await self._guard(client, where, lambda: self._after_submission(client, reply, submission))

    async def _finish_slow_submission(
        self, client: AsyncWebClient, task: asyncio.Future[Reply], submission: Submission
    ) -> None:
        reply = await task
        if reply.tone is Tone.ERROR:
            await self.out.post_private(client, reply, submission.where)
            return
        await self._after_submission(client, reply, submission)

    async def _after_submission(
        self, client: AsyncWebClient, reply: Reply, submission: Submission
    ) -> None:
        origin, where = submission.origin, submission.where
        if origin.kind == "home":
            await self._after_home_change(client, reply, where)
            return
        if origin.kind == "msg":
            await self.out.apply_click(
                client,
                reply,
                replace(where, message_channel=origin.message_channel),
                message_ts=origin.ts,
                ephemeral=origin.ephemeral,
                blocks=self._originals.pop(str(submission.view.get("id")), None),
                refs=origin.refs,
            )
            return
        await self.out.deliver(client, reply, where)

    async def on_home_opened(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        workspace = inbound.workspace_of(context)
        user = inbound.home_opener(event)
        if workspace is None or user is None:
            return
        await guard(
            lambda: self._publish_home(context.client, workspace, user),
            None,
            what="publishing App Home",
            user=user,
        )

    async def _after_home_change(self, client: AsyncWebClient, reply: Reply, where: Where) -> None:
        await self._publish_home(client, where.workspace, where.user)
        if reply.visibility is Visibility.CHANNEL:
            try:
                await self.out.post_visible(client, reply, where)
            except SlackApiError as e:
                # The change is saved and App Home shows it; the channel could not be told.
                log.warning(
                    "couldn't post an App Home change to %s: %s",
                    where.channel,
                    e.response.get("error"),
                )

    async def _publish_home(self, client: AsyncWebClient, workspace: str, user: str) -> None:
        tz = await self.timezones.of(client, workspace, user)
        reply = await self.core.home(PLATFORM, workspace, user, tz)
        await self.out.publish_home(client, user, reply)

    def _remember_original(self, view_id: str, blocks: list[dict[str, Any]]) -> None:
        self._originals[view_id] = blocks
        while len(self._originals) > ORIGINS_KEPT:
            self._originals.popitem(last=False)


__all__ = ["SUBMIT_BUDGET", "Listeners"]
