"""Importing a register on real storage (SQLite and PostgreSQL): a dry run leaves nothing,
not even a used ref; an import with one wrong row leaves nothing; a good one is one
transaction whose refs follow the channel's."""

from __future__ import annotations

from bot.dispatcher import Core
from bot.domain.model import ChannelKey, Kind, Status
from bot.messages import Request, Tone
from tests.fakes import FixedClock
from tests.integration.conftest import UowFactory
from tests.unit.conftest import BASE

CHANNEL = ChannelKey("console", "local", "proj")

REGISTER = b"""\
kind;title;owner;due;likelihood;impact;status
blocker;Waiting on firewall change;@dana;2026-12-11;;;
risk;Vendor may slip;@bob;2026-12-20;high;medium;
decision;Pick the SSO vendor;@cio;2026-12-05;;;needed
change;Add CRM integration;@sponsor;;;schedule +2 weeks;
blocker;Old ticket;@dana;;;;resolved
"""


def import_request(data: bytes, *, apply: bool) -> Request:
    text = "import register.csv" + (" apply" if apply else "")
    return Request(CHANNEL, "ana", command="raid", text=text, attachments={"register.csv": data})


async def stored(uow_factory: UowFactory) -> dict[str, tuple[Status, int]]:
    async with uow_factory() as uow:
        items = await uow.items.list(CHANNEL)
        events = await uow.items.events([i.stored_id for i in items])
    return {str(i.ref): (i.status, len(events[i.stored_id])) for i in items}


async def test_dry_run_and_all_or_nothing_on_storage(uow_factory: UowFactory) -> None:
    core = Core(uow_factory, default_timezone="Europe/Berlin", clock=FixedClock(BASE))
    logged = await core.handle(Request(CHANNEL, "ana", command="blocker", text="Already here"))
    assert logged.tone is Tone.SUCCESS

    dry = await core.handle(import_request(REGISTER, apply=False))
    assert dry.tone is Tone.INFO, dry.text
    assert "row 2: B-2 Waiting on firewall change" in dry.sections[0].lines[0]
    assert await stored(uow_factory) == {"B-1": (Status.OPEN, 1)}

    wrong = REGISTER + b"blocker;Bad date;@dana;31/12;;;\n"
    refused = await core.handle(import_request(wrong, apply=True))
    assert refused.tone is Tone.ERROR
    assert refused.sections[0].lines[0].startswith("row 7: due: `31/12` is ambiguous")
    assert await stored(uow_factory) == {"B-1": (Status.OPEN, 1)}

    applied = await core.handle(import_request(REGISTER, apply=True))
    assert applied.tone is Tone.SUCCESS, applied.text
    # the refs the dry run showed: nothing was used up by the dry run or the refused import
    assert await stored(uow_factory) == {
        "B-1": (Status.OPEN, 1),
        "B-2": (Status.OPEN, 1),
        "R-1": (Status.OPEN, 1),
        "D-1": (Status.PENDING, 1),
        "C-1": (Status.PROPOSED, 1),
        "B-3": (Status.RESOLVED, 2),
    }
    async with uow_factory() as uow:
        b2 = await uow.items.get(CHANNEL, Kind.BLOCKER, 2)
        assert b2 is not None
        (event,) = (await uow.items.events([b2.stored_id]))[b2.stored_id]
    assert (event.action, event.actor, event.note) == (
        "imported", "ana", "from register.csv, row 2"
    )  # fmt: skip
    # the channel's next blocker follows the imported ones
    after = await core.handle(Request(CHANNEL, "ana", command="blocker", text="Next one"))
    assert after.item_ref == "B-4"
