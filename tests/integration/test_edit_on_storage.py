"""Edits on real storage (SQLite, and PostgreSQL when configured): the fields, one event per
edit with the score it moved, and a reopen's reason, as stored and read back."""

from __future__ import annotations

from bot.dispatcher import Core
from bot.domain.model import ChannelKey, Status
from bot.messages import Request, Tone
from tests.integration.conftest import UowFactory

CHANNEL = ChannelKey("console", "local", "proj")


def say(line: str, user: str = "ana") -> Request:
    command, _, text = line.lstrip("/").partition(" ")
    return Request(CHANNEL, user, command=command, text=text)


async def test_edits_are_stored_with_their_history(uow_factory: UowFactory) -> None:
    core = Core(uow_factory, default_timezone="Europe/Berlin")
    for line in (
        "/risk Vendor may slip likelihood high impact medium @bob",
        "/raid rescore R-1 very high high",
        "/raid edit R-1 mitigation weekly vendor call",
        "/blocker Waiting on @dana for the API keys",
        "/raid rename B-1 Waiting on @dana for the staging keys",
        "/raid edit B-1 waiting on NetOps",
        "/raid resolve B-1 keys arrived",
        "/raid reopen B-1 they were the production keys",
        "/change Add CRM impact schedule +2 weeks @sponsor",
        "/raid edit C-1 impact schedule +3 weeks, cost £5k",
    ):
        reply = await core.handle(say(line))
        assert reply.tone is Tone.SUCCESS, (line, reply.text)
    saved = await core.handle(
        Request(CHANNEL, "ana", action_id="edit:R-1", values={"title": "Vendor may slip SSO"})
    )
    assert saved.tone is Tone.SUCCESS, saved.text
    async with uow_factory() as uow:
        items = {str(i.ref): i for i in await uow.items.list(CHANNEL)}
        events = await uow.items.events([i.stored_id for i in items.values()])
    r1, b1, c1 = items["R-1"], items["B-1"], items["C-1"]
    assert (r1.title, r1.likelihood, r1.impact, r1.mitigation) == (
        "Vendor may slip SSO", 5, 4, "weekly vendor call"
    )  # fmt: skip
    assert (b1.title, b1.owner, b1.waiting_on, b1.status) == (
        "Waiting on <@dana> for the staging keys", "dana", "NetOps", Status.OPEN
    )  # fmt: skip
    assert dict(c1.impacts) == {"schedule": "+3 weeks", "cost": "£5k"}
    scores = [c.new for e in events[r1.stored_id] for c in e.changes if c.field == "score"]
    assert scores == ["12 (medium)", "20 (high)"]
    assert [e.action for e in events[r1.stored_id]] == ["created", "edited", "edited", "edited"]
    reopened = events[b1.stored_id][-1]
    assert (reopened.action, reopened.note) == ("reopened", "they were the production keys")
