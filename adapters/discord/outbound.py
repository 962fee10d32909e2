"""Messages the bot sends on its own (standups, nudges, digests): a channel, a DM or a thread."""

from __future__ import annotations

import hashlib
import logging
import secrets

import discord
from discord.utils import MISSING

from adapters.discord import render as dr
from adapters.discord.components import build_view
from bot.messages import Outgoing

log = logging.getLogger("raidline.discord")


async def send(client: discord.Client, message: Outgoing) -> str | None:
    """Post to a channel (or a DM, or under a message's thread); returns the message id.

    discord.py waits out 429s itself; any other failure raises so the caller can retry.
    A resend (``message.resend``) carries the same nonces as the earlier attempt, so Discord
    drops it if that attempt's message arrived within its de-duplication window.
    """
    if message.edit:
        return await _edit(client, message, message.edit)
    if message.resend:
        log.info("sending %s again with its nonces: Discord drops a repeat", message.key)
    target: discord.abc.Messageable
    if message.to_user:
        user = await client.fetch_user(int(message.to_user))
        target = await user.create_dm()
    elif message.thread:
        target = await _thread(client, message)
    else:
        target = client.get_partial_messageable(
            int(message.channel.channel), guild_id=_int(message.channel.workspace)
        )
    first: str | None = None
    mentions = discord.AllowedMentions(everyone=False, roles=False, users=True)
    # A direct message's buttons carry the channel they act on (a DM has no guild of its own).
    place = message.channel if message.to_user else None
    for n, part in enumerate(dr.render_all(message.reply, place)):
        view = build_view(part.rows)
        files = part.discord_files()
        # Without a run key, a random nonce, as discord.py would make up itself.
        nonce: str | int = _nonce(message.key, n) or secrets.randbits(64)
        sent = await target.send(
            content=part.content or None,
            embeds=part.embeds,
            view=view if view is not None else MISSING,
            files=files if files else MISSING,
            allowed_mentions=mentions,
            nonce=nonce,
        )
        first = first or str(sent.id)
    return first


async def _edit(client: discord.Client, message: Outgoing, ref: str) -> str:
    """Replace the bot's earlier message ``ref`` in the channel in place (PATCH the message);
    a reply that renders as several messages keeps its first part there."""
    channel = client.get_partial_messageable(
        int(message.channel.channel), guild_id=_int(message.channel.workspace)
    )
    part = dr.render_all(message.reply, None)[0]
    view = build_view(part.rows)
    await channel.get_partial_message(int(ref)).edit(
        content=part.content or None,
        embeds=part.embeds,
        view=view,
        allowed_mentions=discord.AllowedMentions(everyone=False, roles=False, users=True),
    )
    return ref


async def _thread(client: discord.Client, message: Outgoing) -> discord.abc.Messageable:
    """The thread under message ``message.thread``: the existing one, or a new one."""
    thread_id = int(message.thread or 0)
    existing = client.get_channel(thread_id)
    if isinstance(existing, discord.Thread):
        return existing
    try:
        channel = await client.fetch_channel(thread_id)
    except discord.NotFound:
        channel = None
    if isinstance(channel, discord.Thread):
        return channel
    parent = client.get_partial_messageable(
        int(message.channel.channel), guild_id=_int(message.channel.workspace)
    )
    name = dr.clip(message.reply.text.splitlines()[0] if message.reply.text else "raidline", 100)
    return await parent.get_partial_message(thread_id).create_thread(name=name)


def _nonce(key: str | None, part: int) -> str | None:
    """A message nonce for one part of a scheduled message (at most 25 characters).

    discord.py sends it with ``enforce_nonce``, so Discord drops a second message with the same
    nonce sent within a few minutes: a run re-sent after a crash is posted once.
    """
    if key is None:
        return None
    return hashlib.sha256(f"{key}#{part}".encode()).hexdigest()[:25]


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None
