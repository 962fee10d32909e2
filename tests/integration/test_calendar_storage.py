"""Calendar feed tokens on SQLite and PostgreSQL: stored as a hash, found until revoked,
kept apart per channel and person; and the feed read back from real storage."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.links import PublicLinks
from adapters.runtime.config import load_settings
from bot.dispatcher import Core
from bot.domain.model import CalendarToken, ChannelKey
from bot.messages import Request, Tone
from bot.services.calendar import token_hash
from storage.backup import encode_backup, export_all
from storage.uow import make_uow_factory
from tests.fakes import FixedClock
from tests.integration.conftest import UowFactory

APOLLO = ChannelKey("slack", "T1", "C_APOLLO")
ZEUS = ChannelKey("slack", "T1", "C_ZEUS")
OTHER_WORKSPACE = ChannelKey("slack", "T2", "C_APOLLO")
T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def token(channel: ChannelKey, user: str, secret: str) -> CalendarToken:
    return CalendarToken(
        channel=channel,
        user=user,
        token_hash=token_hash(secret),
        created_at=T0,
        channel_name="apollo",
    )


async def test_a_token_is_found_by_its_hash_until_revoked(uow_factory: UowFactory) -> None:
    async with uow_factory() as uow:
        stored = await uow.calendars.add(token(APOLLO, "U_ANA", "secret-one"))
        await uow.calendars.add(token(APOLLO, "U_ANA", "secret-two"))
        await uow.calendars.add(token(APOLLO, "U_BOB", "secret-bob"))
        await uow.calendars.add(token(ZEUS, "U_ANA", "secret-zeus"))
        await uow.calendars.add(token(OTHER_WORKSPACE, "U_ANA", "secret-t2"))
        await uow.commit()
    assert stored.id is not None
    async with uow_factory() as uow:
        found = await uow.calendars.find(token_hash("secret-one"))
        assert found == stored
        assert await uow.calendars.find(token_hash("never-issued")) is None
        assert await uow.calendars.active_count(APOLLO, "U_ANA") == 2
        assert await uow.calendars.active_count(APOLLO, "U_NOBODY") == 0
        assert await uow.calendars.active_count(ChannelKey("slack", "T9", "C9"), "U_ANA") == 0
        assert await uow.calendars.revoke(APOLLO, "U_ANA", T0 + timedelta(hours=1)) == 2
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.calendars.find(token_hash("secret-one")) is None
        assert await uow.calendars.find(token_hash("secret-two")) is None
        assert await uow.calendars.active_count(APOLLO, "U_ANA") == 0
        # Another person, another channel, another workspace: untouched.
        for kept in ("secret-bob", "secret-zeus", "secret-t2"):
            assert await uow.calendars.find(token_hash(kept)) is not None, kept
        zeus = await uow.calendars.find(token_hash("secret-zeus"))
        assert zeus is not None and zeus.channel == ZEUS
        assert await uow.calendars.revoke(APOLLO, "U_ANA", T0) == 0  # nothing left to revoke


async def test_the_table_holds_hashes_not_tokens(engine: AsyncEngine) -> None:
    core = Core(make_uow_factory(engine), clock=FixedClock(T0), default_timezone="UTC")
    core.links = PublicLinks(load_settings({"RAIDLINE_PUBLIC_URL": "https://raid.example.com"}))
    reply = await core.handle(Request(APOLLO, "U_ANA", command="raid", text="calendar"))
    assert reply.tone is Tone.SUCCESS, reply.text
    issued = re.search(r"/calendar/([A-Za-z0-9_-]+)\.ics", reply.text)
    assert issued is not None
    async with engine.connect() as connection:
        rows = (await connection.execute(sa.text("SELECT * FROM calendar_tokens"))).mappings().all()
    assert len(rows) == 1
    assert rows[0]["token_hash"] == token_hash(issued.group(1))
    assert issued.group(1) not in str(dict(rows[0]))
    assert rows[0]["revoked_at"] is None


async def test_the_feed_from_real_storage(uow_factory: UowFactory) -> None:
    core = Core(uow_factory, clock=FixedClock(T0), default_timezone="Europe/Berlin")
    core.links = PublicLinks(load_settings({}))

    async def say(channel: ChannelKey, line: str, name: str) -> str:
        command, _, text = line.lstrip("/").partition(" ")
        reply = await core.handle(
            Request(channel, "U_ANA", command=command, text=text, channel_name=name)
        )
        assert reply.tone is Tone.SUCCESS, reply.text
        return reply.text

    await say(APOLLO, "/blocker Firewall change due friday", "apollo")
    await say(APOLLO, "/digest weekly fri 16:00", "apollo")
    await say(ZEUS, "/blocker Zeus only due friday", "zeus")
    text = await say(APOLLO, "/raid calendar", "apollo")
    issued = re.search(r"http://localhost:3000/calendar/([A-Za-z0-9_-]+)\.ics", text)
    assert issued is not None, text
    body = await core.calendar_feed(issued.group(1))
    assert body is not None
    summaries = sorted(str(e["summary"]) for e in Calendar.from_ical(body).walk("VEVENT"))
    assert summaries == ["#apollo · B-1 due: Firewall change", "#apollo · Digest"]
    reset = await say(APOLLO, "/raid calendar reset", "apollo")
    assert "Your 1 earlier calendar link for #apollo no longer works." in reset
    assert await core.calendar_feed(issued.group(1)) is None


@pytest.mark.parametrize("secret", ["dup"])
async def test_a_hash_is_stored_once(uow_factory: UowFactory, secret: str) -> None:
    from bot.errors import RaidlineError

    async with uow_factory() as uow:
        await uow.calendars.add(token(APOLLO, "U_ANA", secret))
        await uow.commit()
    with pytest.raises((RaidlineError, sa.exc.IntegrityError)):
        async with uow_factory() as uow:
            await uow.calendars.add(token(APOLLO, "U_BOB", secret))
            await uow.commit()


async def test_a_backup_holds_no_calendar_link(uow_factory: UowFactory) -> None:
    core = Core(uow_factory, clock=FixedClock(T0), default_timezone="UTC")
    core.links = PublicLinks(load_settings({}))
    await core.handle(Request(APOLLO, "U_ANA", command="blocker", text="Creds due friday"))
    reply = await core.handle(Request(APOLLO, "U_ANA", command="raid", text="calendar"))
    issued = re.search(r"/calendar/([A-Za-z0-9_-]+)\.ics", reply.text)
    assert issued is not None, reply.text
    async with uow_factory() as uow:
        document = encode_backup(await export_all(uow, T0)).decode()
    assert "Creds" in document  # the backup holds the channel...
    assert issued.group(1) not in document  # ...but neither the token
    assert token_hash(issued.group(1)) not in document  # nor its hash
    assert "calendar" not in document
