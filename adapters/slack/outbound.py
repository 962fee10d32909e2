"""The core's replies -> Slack Web API calls, and the rules of where each one goes.

- A reply to a person's command: visible changes in the channel, everything else privately
  (``response_url``, else chat.postEphemeral).
- A click's reply replaces the message it came from (or its card) in place.
- A message raidline sends on its own (:meth:`Outbound.send`) uses the bot token of the
  channel's workspace and opens a direct message when it is for one person. When Slack
  refuses the token (revoked, uninstalled), the app is told (:meth:`WebApi.refused`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import blocks as kit
from adapters.slack.inbound import Origin, Where
from bot.domain.model import ChannelKey
from bot.messages import File, Form, Outgoing, Reply, Tone, Visibility

log = logging.getLogger("raidline.slack")

#: The message metadata event type that marks a message raidline sent for a run; its payload
#: is ``{"key": <run key>}``, so a retry can find the earlier copy (conversations.history).
RUN_EVENT = "raidline_run"
#: How many recent messages a retry looks through for its earlier copy.
LOOK_BACK = 100

#: Web API errors that mean the bot cannot post into that conversation by itself.
_CANNOT_POST = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
)


class WebApi(Protocol):
    """What the sender needs from the app: per-workspace clients and response_url clients."""

    async def client_for(self, workspace: str) -> AsyncWebClient: ...

    def webhook(self, url: str) -> AsyncWebhookClient: ...

    async def refused(self, workspace: str, token: str | None, error: str) -> None:
        """Slack answered a call made with ``token`` with ``error``."""


class Outbound:
    """Sends replies to Slack. Listeners pass the request's own client; :meth:`send` finds one."""

    def __init__(self, api: WebApi) -> None:
        self._api = api

    async def send(self, message: Outgoing) -> str | None:
        """Post a message raidline sends on its own; raises when Slack refuses it."""
        client = await self._api.client_for(message.channel.workspace)
        try:
            return await self._send(client, message)
        except SlackApiError as e:
            error = str(e.response.get("error", ""))
            await self._api.refused(message.channel.workspace, client.token, error)
            raise

    async def _send(self, client: AsyncWebClient, message: Outgoing) -> str | None:
        channel = message.channel.channel
        origin: ChannelKey | None = None
        if message.to_user:
            opened = await client.conversations_open(users=message.to_user)
            channel = str(opened["channel"]["id"])
            origin = message.channel  # a DM's buttons name the items' channel
        reply = message.reply
        if message.edit:
            # Replace the earlier message in place (a standup summary with a late answer).
            await client.chat_update(
                channel=channel,
                ts=message.edit,
                text=kit.message_text(reply),
                blocks=kit.message_blocks(reply, origin=origin),
            )
            return message.edit
        if message.key and message.resend:
            earlier = await self._earlier_copy(client, channel, message.thread, message.key)
            if earlier is not None:
                log.warning(
                    "not posting %s again: Slack already has it (ts %s)", message.key, earlier
                )
                return earlier
        response = await client.chat_postMessage(
            channel=channel,
            text=kit.message_text(reply),
            blocks=kit.message_blocks(reply, origin=origin),
            thread_ts=message.thread,
            unfurl_links=False,
            unfurl_media=False,
            metadata=(
                {"event_type": RUN_EVENT, "event_payload": {"key": message.key}}
                if message.key
                else None
            ),
        )
        ts = str(response.get("ts") or "") or None
        # Files (a weekly digest's chart) go into the message's own thread, not beside it.
        for file in reply.files:
            await self.upload(client, channel, file, thread_ts=message.thread or ts)
        return ts

    async def _earlier_copy(
        self, client: AsyncWebClient, channel: str, thread: str | None, key: str
    ) -> str | None:
        """The ts of a message raidline already posted for run ``key`` in the conversation (or
        under ``thread``), from its message metadata; None when there is none, or when Slack
        will not show the history (then the run is sent again: a possible duplicate)."""
        try:
            if thread:
                found = await client.conversations_replies(
                    channel=channel, ts=thread, include_all_metadata=True, limit=LOOK_BACK
                )
            else:
                found = await client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=LOOK_BACK
                )
        except SlackApiError as e:
            log.warning(
                "cannot look for an earlier copy of %s (Slack said %s); posting it again",
                key,
                e.response.get("error"),
            )
            return None
        for posted in found.get("messages") or []:
            metadata = posted.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == RUN_EVENT and payload.get("key") == key:
                return str(posted["ts"])
        return None

    async def open_form(
        self,
        client: AsyncWebClient,
        trigger_id: str | None,
        form: Form,
        origin: Origin,
        prefill: Mapping[str, str] | None = None,
    ) -> str | None:
        """Open ``form`` as a modal; returns the view id."""
        view = kit.form_view(form, metadata=origin.encode(), prefill=prefill)
        response = await client.views_open(trigger_id=trigger_id, view=view)
        opened = response.get("view") or {}
        return str(opened["id"]) if opened.get("id") else None

    async def notice(self, client: AsyncWebClient, trigger_id: str | None, reply: Reply) -> None:
        """A reply shown in a modal (for App Home, which has no place for messages)."""
        if trigger_id:
            await client.views_open(trigger_id=trigger_id, view=kit.notice_view(reply))

    async def publish_home(self, client: AsyncWebClient, user: str, reply: Reply) -> None:
        await client.views_publish(user_id=user, view=kit.home_view(reply))

    async def deliver(self, client: AsyncWebClient, reply: Reply, where: Where) -> None:
        """A reply to a person's command: visible changes in the channel, the rest privately.

        A private reply's files (an export) are uploaded to the channel before it is shown; a
        visible reply's files (``/digest now chart``) go into the thread of the posted message.
        """
        if reply.visibility is not Visibility.CHANNEL or reply.tone is Tone.ERROR:
            if await self._upload_files(client, reply, where, where.thread_ts):
                await self.post_private(client, reply, where)
            return
        try:
            ts = await self.post_visible(client, reply, where)
        except SlackApiError as e:
            # Saved, but the channel can't be told: the person gets it, and why.
            error = e.response.get("error") or e.response.status_code
            log.warning("couldn't post in %s: %s", where.channel, error)
            note = f"I couldn't post this in the channel (Slack said {error}):\n"
            await self.post_private(client, replace(reply, text=note + reply.text), where)
            return
        await self._upload_files(client, reply, where, where.thread_ts or ts)

    async def _upload_files(
        self, client: AsyncWebClient, reply: Reply, where: Where, thread_ts: str | None
    ) -> bool:
        """Upload ``reply``'s files to the channel (under ``thread_ts``); False, and the person
        told privately why, when Slack refuses one."""
        for file in reply.files:
            try:
                await self.upload(client, where.channel, file, thread_ts=thread_ts)
            except SlackApiError as e:
                error = e.response.get("error")
                log.warning("file upload to %s failed: %s", where.channel, error)
                failed = Reply(
                    text=f"I couldn't upload {file.filename} to this channel ({error}). "
                    "Invite raidline to the channel (`/invite @raidline`) and try again.",
                    tone=Tone.ERROR,
                )
                await self.post_private(client, failed, where)
                return False
        return True

    async def post_visible(self, client: AsyncWebClient, reply: Reply, where: Where) -> str | None:
        """Post ``reply`` in the channel; returns the message's ts (None when it went through
        the command's response_url, which tells none)."""
        blocks = kit.message_blocks(reply, actor=where.user)
        text = kit.message_text(reply)
        try:
            response = await client.chat_postMessage(
                channel=where.channel,
                text=text,
                blocks=blocks,
                thread_ts=where.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
            return str(response.get("ts") or "") or None
        except SlackApiError as e:
            error = str(e.response.get("error", ""))
            if error not in _CANNOT_POST or not where.response_url or where.thread_ts:
                raise
            log.info(
                "chat.postMessage to %s: %s; answering through response_url", where.channel, error
            )
        # A private channel or a DM the bot is not in: the command's response_url still
        # reaches it, visibly.
        await self.respond(
            where.response_url,
            {"response_type": "in_channel", "text": text, "blocks": blocks},
        )
        return None

    async def post_private(self, client: AsyncWebClient, reply: Reply, where: Where) -> None:
        blocks = kit.message_blocks(reply)
        text = kit.message_text(reply)
        if where.response_url:
            try:
                await self.respond(
                    where.response_url,
                    {
                        "response_type": "ephemeral",
                        "replace_original": False,
                        "text": text,
                        "blocks": blocks,
                    },
                )
                return
            except (SlackClientError, aiohttp.ClientError, OSError) as e:
                log.info("response_url failed (%s); trying chat.postEphemeral", type(e).__name__)
        await client.chat_postEphemeral(
            channel=where.conversation,
            user=where.user,
            text=text,
            blocks=blocks,
            thread_ts=where.thread_ts,
        )

    async def apply_click(
        self,
        client: AsyncWebClient,
        reply: Reply,
        where: Where,
        *,
        message_ts: str | None,
        ephemeral: bool,
        blocks: Sequence[Mapping[str, Any]] | None,
        refs: Sequence[str],
    ) -> None:
        """A successful click: the message it came from shows the result in place."""
        text = kit.message_text(reply)
        if ephemeral:
            # The clicker's private copy (a list page, a `show` card) is replaced...
            await self.respond(
                where.response_url,
                {
                    "replace_original": True,
                    "text": text,
                    "blocks": kit.message_blocks(reply, origin=where.away),
                },
            )
            if reply.visibility is Visibility.CHANNEL:
                # ...and a change is also posted where the team sees it.
                await self.post_visible(
                    client, reply, Where(where.workspace, where.channel, where.user)
                )
            return
        if reply.visibility is not Visibility.CHANNEL:
            # Something only for the clicker must not replace a message everybody sees.
            await self.post_private(client, reply, where)
            return
        new_blocks = kit.updated_message(blocks, refs, reply, actor=where.user, origin=where.away)
        if new_blocks is None or not message_ts:
            # The message doesn't show this item: answer in its thread, leave it as it is.
            thread = Where(where.workspace, where.conversation, where.user, thread_ts=message_ts)
            await self.post_visible(client, reply, thread)
            return
        try:
            await client.chat_update(
                channel=where.conversation, ts=message_ts, text=text, blocks=new_blocks
            )
            return
        except SlackApiError as e:
            if not where.response_url:
                raise
            log.info("chat.update failed (%s); using response_url", e.response.get("error"))
        await self.respond(
            where.response_url, {"replace_original": True, "text": text, "blocks": new_blocks}
        )

    async def upload(
        self, client: AsyncWebClient, channel: str, file: File, *, thread_ts: str | None = None
    ) -> None:
        await client.files_upload_v2(
            channel=channel,
            content=file.content,
            filename=file.filename,
            title=file.title or file.filename,
            thread_ts=thread_ts,
        )

    async def respond(self, url: str | None, body: dict[str, Any]) -> None:
        """Answer through a ``response_url``; raises when there is none or it fails."""
        if not url:
            raise LookupError("no response_url to answer through")
        response = await self._api.webhook(url).send_dict(body)
        if response.status_code != 200:
            raise SlackClientError(f"response_url answered {response.status_code}: {response.body}")
