"""The core on real storage: race-free refs, whole transactions, survival across restarts."""

from __future__ import annotations

import asyncio
import unicodedata

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.dispatcher import Core
from bot.domain.model import ChannelKey, Kind, Status
from bot.messages import Request, Tone
from storage.db import create_engine
from storage.uow import make_uow_factory
from tests.integration.conftest import UowFactory

CHANNEL = ChannelKey("console", "local", "proj")


def say(user: str, line: str) -> Request:
    command, _, text = line.lstrip("/").partition(" ")
    return Request(CHANNEL, user, command=command, text=text)


async def test_200_concurrent_blockers_get_b1_to_b200(uow_factory: UowFactory) -> None:
    core = Core(uow_factory, default_timezone="Europe/Berlin")
    replies = await asyncio.gather(
        *(core.handle(say(f"user{n}", f"/blocker Problem {n}")) for n in range(200))
    )
    assert all(r.tone is Tone.SUCCESS for r in replies), [r.text for r in replies][:3]
    refs = sorted(r.item_ref or "" for r in replies)
    assert refs == sorted(f"B-{n}" for n in range(1, 201))
    async with uow_factory() as uow:
        items = await uow.items.list(CHANNEL, kinds=[Kind.BLOCKER])
        events = await uow.items.events([i.stored_id for i in items])
    assert sorted(i.number for i in items) == list(range(1, 201))
    assert all(len(events[i.stored_id]) == 1 for i in items)


async def test_everything_survives_a_restart(migrated_url: str, engine: AsyncEngine) -> None:
    core = Core(make_uow_factory(engine), default_timezone="Europe/Berlin")
    for line in (
        "/blocker Waiting on firewall change @dana due friday",
        "/risk Vendor may slip likelihood high impact medium @bob review in 2 weeks",
        "/decision needed Pick the SSO vendor @cio by Dec 5",
        "/change Add CRM impact schedule +2 weeks @sponsor",
        "/raid resolve B-1 merged",
        "/raid settings timezone Europe/London",
    ):
        assert (await core.handle(say("ana", line))).tone is Tone.SUCCESS, line
    assert (await core.handle(say("sponsor", "/raid approve C-1"))).tone is Tone.SUCCESS

    fresh = create_engine(migrated_url)  # a new process would build a new engine
    try:
        again = Core(make_uow_factory(fresh))
        async with make_uow_factory(fresh)() as uow:
            items = {str(i.ref): i for i in await uow.items.list(CHANNEL)}
            settings = await uow.channels.get_settings(CHANNEL)
            events = await uow.items.events([items["B-1"].stored_id])
        assert set(items) == {"B-1", "R-1", "D-1", "C-1"}
        assert items["B-1"].status is Status.RESOLVED
        assert items["C-1"].status is Status.APPROVED
        assert items["R-1"].score == 12
        assert settings.timezone == "Europe/London"
        assert [e.action for e in events[items["B-1"].stored_id]] == ["created", "resolved"]
        history = await again.handle(say("ana", "/raid history B-1"))
        assert "resolved" in "\n".join(history.sections[0].lines)
    finally:
        await fresh.dispose()


async def test_a_refused_command_leaves_nothing_behind(uow_factory: UowFactory) -> None:
    core = Core(uow_factory)
    await core.handle(say("ana", "/raid settings leads @ana"))
    await core.handle(say("ana", "/blocker Creds @dana"))
    refused = await core.handle(say("zoe", "/raid resolve B-1"))
    assert refused.tone is Tone.ERROR
    async with uow_factory() as uow:
        item = await uow.items.get(CHANNEL, Kind.BLOCKER, 1)
        assert item is not None and item.status is Status.OPEN
        assert len((await uow.items.events([item.stored_id]))[item.stored_id]) == 1


# --- bad bytes: control characters from every surface ----------------------------------------

#: Text as a careless paste or a hostile client sends it: NUL, a bell, an escape sequence,
#: CR LF, a vertical tab, DEL and a C1 control; and a lone surrogate (not even UTF-8).
DIRTY = "a\x00b\x07 c\x1b[31m\r\nd\x0be\x7f\x85f\ud800"


def _controls(text: str) -> list[str]:
    return [c for c in text if (unicodedata.category(c) in ("Cc", "Cs")) and c not in "\t\n"]


async def _stored_texts(uow_factory: UowFactory) -> list[str]:
    async with uow_factory() as uow:
        items = await uow.items.list(CHANNEL)
        events = await uow.items.events([i.stored_id for i in items])
    texts = [
        value
        for item in items
        for value in (*vars(item).values(), *dict(item.impacts).values())
        if isinstance(value, str)
    ]
    for history in events.values():
        for event in history:
            texts += [event.note or ""]
            texts += [c.new or "" for c in event.changes]
    return texts


def _options(command: str, options: dict[str, str], sub: str | None = None) -> Request:
    return Request(CHANNEL, "ana", command=command, subcommand=sub, options=options)


def _form(action_id: str, values: dict[str, str]) -> Request:
    return Request(CHANNEL, "ana", action_id=action_id, values=values)


@pytest.mark.parametrize(
    ("dirty", "short", "long"),
    [
        pytest.param("a\x00b", "ab", "ab", id="nul"),
        pytest.param(DIRTY, "ab c[31m d e f\ufffd", "ab c[31m\nd e f\ufffd", id="every-control"),
    ],
)
async def test_control_characters_are_dropped_on_every_surface_sqlite_and_postgres(
    uow_factory: UowFactory, dirty: str, short: str, long: str
) -> None:
    """PostgreSQL refuses a NUL in text (and any lone surrogate); raidline drops them at its
    boundary, so a typed command, a form and Discord-style options all get a normal reply and
    store clean text."""
    core = Core(uow_factory, default_timezone="Europe/Berlin")
    requests = [
        say("ana", f"/blocker Creds {dirty} due friday details {dirty}"),
        _form(
            "new:risk",
            {"title": f"Vendor {dirty}", "likelihood": "4", "impact": "3", "mitigation": dirty},
        ),
        _options("decision", {"title": f"Pick {dirty}", "by": "friday", "rationale": dirty}),
        _options("change", {"title": f"CRM {dirty}", "impact": f"cost 5k {dirty}", "why": dirty}),
        _options("raid", {"ref": "B-1", "text": dirty}, sub="note"),
        _form("resolve:B-1", {"note": dirty}),
        say("ana", f"/raid withdraw R-1 {dirty}"),
    ]
    for request in requests:
        reply = await core.handle(request)
        assert reply.incident_id is None, reply.text
        assert reply.tone is Tone.SUCCESS, (request, reply.text)
    async with uow_factory() as uow:
        items = {str(i.ref): i for i in await uow.items.list(CHANNEL)}
    assert set(items) == {"B-1", "R-1", "D-1", "C-1"}
    # NUL, bell, escape, DEL go; CR LF is a line break; vertical tab and NEL are spaces
    assert items["B-1"].title == f"Creds {short}"
    assert items["R-1"].mitigation == long
    assert items["D-1"].rationale == long
    assert items["C-1"].impacts == {"cost": f"5k {short}"}
    assert items["B-1"].resolution == long
    assert [t for t in await _stored_texts(uow_factory) if _controls(t)] == []
