"""`/raid list` reads the open items only, not the channel's whole history.

Items are never deleted, so a busy channel keeps thousands of closed ones. The soak
(tests/reliability/soak.py) showed `/raid list` slowing from ~30 to ~100 ms over ten minutes
while the open items stayed at a dozen: it loaded every item and dropped the closed ones in
Python, and under SQLite's one-writer gate every other request waited behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from bot.domain.model import ChannelKey, Item
from tests.fakes import _Items
from tests.unit.conftest import Chat


@pytest.fixture
def rows_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many items each ``uow.items.list`` call returned."""
    read: list[int] = []
    original = _Items.list

    async def counting(self: _Items, channel: ChannelKey, **kw: Any) -> Iterable[Item]:
        found = await original(self, channel, **kw)
        read.append(len(found))
        return found

    monkeypatch.setattr(_Items, "list", counting)
    return read


async def test_list_reads_the_open_items_and_list_all_the_history(
    chat: Chat, rows_read: list[int]
) -> None:
    for n in range(1, 21):
        await chat.say(f"/blocker Old blocker number {n}")
        await chat.say(f"/raid resolve B-{n} done")
    await chat.say("/blocker Still open")
    rows_read.clear()

    assert (await chat.say("/raid list")).text == "Open items: 1"
    assert (await chat.say("/raid list blockers")).text == "Open blockers: 1"
    assert rows_read == [1, 1]

    rows_read.clear()
    everything = await chat.say("/raid list blockers all")
    assert everything.text.startswith("Blockers: 21")
    assert rows_read == [21]
