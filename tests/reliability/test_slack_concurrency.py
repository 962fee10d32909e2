"""Hundreds of signed slash commands at once through raidline's Slack HTTP endpoint.

550 ``/blocker`` and ``/risk`` commands across 10 channels (55 each) are sent concurrently,
signed like Slack signs them, to the real ``POST /slack/events`` (slack-bolt ``AsyncApp`` on
aiohttp), with a real migrated database behind the core: SQLite (a file) and PostgreSQL (a
throwaway database, when ``RAIDLINE_TEST_POSTGRES_URL`` is set). Only Slack's Web API is a
stand-in. Afterwards:

- every command Slack would see acknowledged (HTTP 200) is stored exactly once;
- refs are gapless per channel and kind (B-1..B-50, R-1..R-5 in every channel), each item has
  one "created" event, and each channel's ref counter stands at the highest number;
- every sender got their own reply: one ``chat.postMessage`` in their channel naming the ref
  their item was stored under, crediting them; no error reached anyone.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.dispatcher import Handled
from storage import tables
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.adapters.slack.conftest import (  # noqa: F401 - fixtures used by name
    MakeSlack,
    blocks_text,
    clock,
    fake,
    make_slack,
)
from tests.adapters.slack.fake_slack import async_wait_for
from tests.integration.conftest import db_url  # noqa: F401 - fixture used by name

TEAM = "T1"
CHANNELS = [f"CCONC{n:02d}" for n in range(10)]
BLOCKERS_PER_CHANNEL = 50
RISKS_PER_CHANNEL = 5
USERS = [f"UCONC{n:02d}" for n in range(25)]
#: A generous deadline for all the work after the acks (a shared 2-core machine); the test
#: asserts no timing, it only refuses to wait forever.
DEADLINE = 240.0

LOGGED = re.compile(r"^Logged ([BR]-\d+): (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Sent:
    command: str
    channel: str
    user: str
    title: str
    status: int = 0
    ack: str = ""
    reply_to: str = ""  # the name of this command's response_url in the stand-in


def commands() -> list[Sent]:
    out: list[Sent] = []
    people = iter(USERS * 100)
    for c, channel in enumerate(CHANNELS):
        for n in range(BLOCKERS_PER_CHANNEL):
            out.append(Sent("/blocker", channel, next(people), f"Blocker {c} {n} concurrency"))
        for n in range(RISKS_PER_CHANNEL):
            out.append(Sent("/risk", channel, next(people), f"Risk {c} {n} concurrency"))
    random.Random(7).shuffle(out)  # channels and kinds interleave
    return out


def text_of(sent: Sent) -> str:
    if sent.command == "/risk":
        return f"{sent.title} likelihood high impact low"
    return sent.title


async def stored(engine: AsyncEngine) -> list[Any]:
    """(workspace, channel, kind, number, title, reporter, created events) of every item."""
    created = (
        sa.select(sa.func.count())
        .where(tables.item_events.c.item_id == tables.items.c.id)
        .where(tables.item_events.c.action == "created")
        .scalar_subquery()
        .label("created_events")
    )
    query = sa.select(
        tables.channels.c.workspace,
        tables.channels.c.external_id,
        tables.items.c.kind,
        tables.items.c.number,
        tables.items.c.title,
        tables.items.c.reporter,
        created,
    ).join(tables.channels, tables.channels.c.id == tables.items.c.channel_id)
    async with engine.connect() as conn:
        return list((await conn.execute(query)).all())


async def counters(engine: AsyncEngine) -> dict[tuple[str, str], int]:
    query = sa.select(
        tables.channels.c.external_id, tables.ref_counters.c.kind, tables.ref_counters.c.last_number
    ).join(tables.channels, tables.channels.c.id == tables.ref_counters.c.channel_id)
    async with engine.connect() as conn:
        return {(ch, kind): last for ch, kind, last in (await conn.execute(query)).all()}


async def test_concurrent_slash_commands_are_each_stored_once_with_gapless_refs(
    make_slack: MakeSlack,  # noqa: F811 - the fixture
    db_url: str,  # noqa: F811 - the fixture
) -> None:
    await asyncio.to_thread(upgrade, db_url)
    engine = create_engine(db_url)
    try:
        slack = await make_slack(uow_factory=make_uow_factory(engine))
        outcomes: Counter[str] = Counter()
        peak = 0

        def observe(handled: Handled) -> None:
            nonlocal peak
            outcomes[handled.outcome] += 1
            peak = max(peak, slack.core.in_flight)

        slack.core.observers.append(observe)

        async def send(sent: Sent) -> Sent:
            status, ack, reply_to = await slack.command(
                sent.command, text_of(sent), team=TEAM, channel=sent.channel, user=sent.user
            )
            return Sent(sent.command, sent.channel, sent.user, sent.title, status, ack, reply_to)

        plan = commands()
        results = await asyncio.gather(*(send(s) for s in plan))

        # Slack saw every command acknowledged in time, with an empty body (the reply follows).
        assert Counter((r.status, r.ack) for r in results) == {(200, ""): len(plan)}
        acked = [r for r in results if r.status == 200]

        # Wait until every command was answered one way or another (a post or a response_url).
        reply_names = {r.reply_to for r in results}

        def answered() -> bool:
            methods = slack.fake.methods()
            done = sum(1 for m in methods if m == "chat.postMessage" or m in reply_names)
            return done >= len(plan)

        await async_wait_for(answered, DEADLINE, interval=0.05)
        errors = [
            call.body.get("text")
            for name in sorted(reply_names)
            for call in slack.fake.calls_to(name)
        ]
        assert errors == [], f"{len(errors)} commands were answered with an error: {errors[:3]}"
        assert outcomes == {"ok": len(plan)}
        if not db_url.startswith("sqlite"):
            # On SQLite a command's unit of work runs without giving the event loop away (its
            # statements run in place, storage.sessions), so commands take turns there; the
            # arrival of 550 at once still races the acks, the gate and the ref counters.
            assert peak > 1, "the commands never overlapped in the core"
        print(f"\n{len(plan)} commands, at most {peak} in the core at once")

        # Stored: each acknowledged command exactly once, refs gapless per channel and kind.
        rows = await stored(engine)
        titles = Counter(row.title for row in rows)
        assert [t for t, n in titles.items() if n > 1] == [], "stored twice"
        assert {r.title for r in acked} == set(titles), "acknowledged but not stored (or extra)"
        assert {row.workspace for row in rows} == {TEAM}
        for channel in CHANNELS:
            numbers = {
                kind: sorted(r.number for r in rows if r.external_id == channel and r.kind == kind)
                for kind in ("blocker", "risk")
            }
            assert numbers["blocker"] == list(range(1, BLOCKERS_PER_CHANNEL + 1)), channel
            assert numbers["risk"] == list(range(1, RISKS_PER_CHANNEL + 1)), channel
        assert Counter(r.created_events for r in rows) == {1: len(plan)}, "one 'created' each"
        last = await counters(engine)
        for channel in CHANNELS:
            assert last[(channel, "blocker")] == BLOCKERS_PER_CHANNEL
            assert last[(channel, "risk")] == RISKS_PER_CHANNEL

        # Every sender saw their own reply, in their channel, with the ref their item got.
        ref_of = {
            (row.external_id, row.title): f"{row.kind[0].upper()}-{row.number}" for row in rows
        }
        posts: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for post in slack.fake.calls_to("chat.postMessage"):
            logged = LOGGED.search(str(post.body.get("text", "")))
            assert logged is not None, post.body.get("text")
            ref, title = logged.groups()
            key = (str(post.body["channel"]), title)
            posts.setdefault(key, []).append((ref, blocks_text(post.body["blocks"])))
        assert len(posts) == len(plan)
        for sent in acked:
            replies = posts.get((sent.channel, sent.title), [])
            assert len(replies) == 1, f"{sent} got {len(replies)} replies"
            ref, text = replies[0]
            assert ref == ref_of[(sent.channel, sent.title)], sent
            assert f"*{ref}*  {sent.title}" in text and f"by <@{sent.user}>" in text, sent
    finally:
        await engine.dispose()
