"""Acknowledged requests in the core at a time are bounded (adapters.slack.backlog): under a
burst the next ack waits for a place, so replies keep up with the acks."""

from __future__ import annotations

import asyncio

from adapters.slack.backlog import Backlog


async def test_the_request_past_the_limit_is_acknowledged_once_a_place_is_free() -> None:
    backlog = Backlog(limit=2, patience=30)
    first, second = await backlog.enter(), await backlog.enter()
    third = asyncio.create_task(backlog.enter())
    for _ in range(10):
        await asyncio.sleep(0)
    assert not third.done()
    first.leave()
    place = await asyncio.wait_for(third, 5)
    assert backlog.working == 2
    first.leave()  # leaving twice gives nothing away twice
    assert backlog.working == 2
    second.leave()
    place.leave()
    assert backlog.working == 0


async def test_places_go_in_the_order_they_were_asked_for() -> None:
    backlog = Backlog(limit=1, patience=30)
    held = await backlog.enter()
    served: list[int] = []

    async def ask(n: int) -> None:
        place = await backlog.enter()
        served.append(n)
        place.leave()

    waiting = [asyncio.create_task(ask(n)) for n in range(4)]
    for _ in range(10):
        await asyncio.sleep(0)
    held.leave()
    await asyncio.gather(*waiting)
    assert served == [0, 1, 2, 3]
    assert backlog.working == 0


async def test_past_its_patience_a_request_goes_in_over_the_limit() -> None:
    backlog = Backlog(limit=1, patience=0)
    held = await backlog.enter()
    over = await backlog.enter()  # Slack's 3 seconds come first
    over.leave()
    assert backlog.working == 1
    held.leave()
    assert backlog.working == 0


async def test_a_request_given_up_while_waiting_frees_its_turn() -> None:
    backlog = Backlog(limit=1, patience=30)
    held = await backlog.enter()
    gone = asyncio.create_task(backlog.enter())
    for _ in range(5):
        await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    held.leave()
    assert backlog.working == 0
    again = await asyncio.wait_for(backlog.enter(), 5)
    again.leave()


async def test_the_wait_ends_in_time_for_slacks_three_seconds_counted_from_arrival() -> None:
    backlog = Backlog(limit=1, patience=1)
    held = await backlog.enter()
    arrived_long_ago = asyncio.get_running_loop().time() - 5  # a busy server got to it late
    over = await asyncio.wait_for(backlog.enter(arrived_long_ago), 5)
    over.leave()
    held.leave()
    assert backlog.working == 0
