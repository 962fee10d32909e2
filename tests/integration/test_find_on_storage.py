"""``/raid find`` and ``/raid list @dana`` on real storage (SQLite and PostgreSQL): the search
is one query, ignores case, takes ``%`` and ``_`` literally and reads the history's notes."""

from __future__ import annotations

import pytest

from bot.dispatcher import Core
from bot.domain.model import ChannelKey
from bot.messages import Request, Tone
from tests.integration.conftest import UowFactory

CHANNEL = ChannelKey("console", "local", "proj")
OTHER = ChannelKey("console", "local", "elsewhere")


def say(line: str, user: str = "ana", channel: ChannelKey = CHANNEL) -> Request:
    command, _, text = line.lstrip("/").partition(" ")
    return Request(channel, user, command=command, text=text)


@pytest.mark.parametrize(
    ("words", "refs"),
    [
        (["FIREWALL"], ["B-1"]),
        (["100%"], ["B-2"]),
        (["staging_db"], ["B-3"]),
        (["confirmed", "vendor"], ["R-1"]),  # in a note of the history, both words
        (["scim"], ["D-1"]),  # in the details
        (["rollout"], ["B-4", "B-2"]),  # newest first
        (["nothing"], []),
    ],
)
async def test_search_in_one_query(
    uow_factory: UowFactory, words: list[str], refs: list[str]
) -> None:
    core = Core(uow_factory, default_timezone="Europe/Berlin")
    for line in (
        "/blocker Waiting on Firewall change @dana",
        "/blocker The 100% rollout plan",
        "/blocker Test data loaded into staging_db",
        "/risk Vendor may slip @bob",
        "/raid note R-1 vendor CONFIRMED the date",
        "/decision needed Pick an IdP @dana details needs SCIM support",
        "/blocker 1000 rollout plans",
        "/blocker stagingXdb is down",
    ):
        assert (await core.handle(say(line))).tone is Tone.SUCCESS, line
    await core.handle(say("/blocker Firewall elsewhere", channel=OTHER))
    async with uow_factory() as uow:
        found = await uow.items.search(CHANNEL, words)
    assert [str(i.ref) for i in found] == refs


async def test_find_and_list_of_a_plate_through_the_core(uow_factory: UowFactory) -> None:
    core = Core(uow_factory, default_timezone="Europe/Berlin")
    for line in (
        "/blocker Firewall rule for staging @dana",
        "/blocker Firewall rule for prod @bob",
        "/change Open the firewall impact scope +1 rule @dana",
        "/raid resolve B-1 merged",
    ):
        assert (await core.handle(say(line, user="dana"))).tone is Tone.SUCCESS, line
    found = await core.handle(say("/raid find firewall"))
    assert found.text.startswith("3 items mention “firewall”"), found.text
    lines = found.sections[0].lines
    assert [line.split()[0] for line in lines] == ["*C-1*", "*B-2*", "*B-1*"]
    plate = await core.handle(say("/raid list @dana all"))
    assert plate.text.startswith("Items on <@dana>'s plate: 2"), plate.text
