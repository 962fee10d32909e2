"""A milestone's health on real storage (SQLite, and PostgreSQL when configured): it reads
the items linked to the milestone (part of it, or what it depends on), not the channel's
whole backlog, and still sees every one of them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.dispatcher import Core
from bot.domain.model import ACTIVE_STATUSES, ChannelKey, ItemFilter
from bot.messages import Request, Tone
from bot.views.plain import render_text
from tests.fakes import FixedClock
from tests.integration.conftest import UowFactory

CHANNEL = ChannelKey("console", "local", "proj")
# Wed 25 Nov 2026, 10:00 UTC
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def say(line: str, user: str = "ana") -> Request:
    command, _, text = line.lstrip("/").partition(" ")
    return Request(CHANNEL, user, command=command, text=text)


# The backlog every case starts from: two milestones far off, and items linked to neither.
BACKLOG = (
    "/milestone Design approved due 15 Mar @mo",
    "/milestone Go live due 30 Apr @mo",
    "/blocker Printer jammed @erin",
    "/risk Office move likelihood 5 impact 5 @erin",
)


@pytest.mark.parametrize(
    ("lines", "health"),
    [
        ([], "Health: on track"),
        (["/blocker Style guide missing @dana for M-1"], "Health: at risk: blocker B-2 is open"),
        (
            ["/blocker Style guide missing @dana for M-1", "/raid resolve B-2"],
            "Health: on track",
        ),
        # part of the other milestone: not M-1's
        (["/blocker Cutover plan missing @dana for M-2"], "Health: on track"),
        (["/raid link M-1 depends-on B-1"], "Health: at risk: blocker B-1 is open"),
        (["/raid link M-1 depends-on R-1"], "Health: at risk: risk R-1 scores 25"),
        (["/raid link M-1 depends-on B-1", "/raid resolve B-1"], "Health: on track"),
        (
            ["/risk Vendor slips likelihood 5 impact 3 for M-1", "/raid link M-1 depends-on B-1"],
            "Health: at risk: blocker B-1 is open",
        ),
    ],
)
async def test_a_milestones_health_sees_what_is_linked_to_it(
    uow_factory: UowFactory, lines: list[str], health: str
) -> None:
    core = Core(uow_factory, clock=FixedClock(NOW))
    for line in (*BACKLOG, *lines):
        reply = await core.handle(say(line))
        assert reply.tone is Tone.SUCCESS, (line, reply.text)
    shown = render_text(await core.handle(say("/raid show M-1")))
    assert health in shown, shown


async def test_items_of_some_milestones(uow_factory: UowFactory) -> None:
    core = Core(uow_factory, clock=FixedClock(NOW))
    for line in (
        *BACKLOG,
        "/blocker Style guide missing @dana for M-1",
        "/risk Vendor slips likelihood 2 impact 3 for M-2",
        "/decision needed Which CDN @mo for M-1",
    ):
        reply = await core.handle(say(line))
        assert reply.tone is Tone.SUCCESS, (line, reply.text)
    cases = {
        ("M-1",): {"B-2", "D-1"},
        ("M-2",): {"R-2"},
        ("M-1", "M-2"): {"B-2", "R-2", "D-1"},
        ("M-3",): set(),
    }
    async with uow_factory() as uow:
        for refs, expected in cases.items():
            where = ItemFilter(statuses=tuple(ACTIVE_STATUSES), milestones=refs)
            found = await uow.items.find(CHANNEL, where)
            assert {str(i.ref) for i in found} == expected, refs
