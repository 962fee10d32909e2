"""``raidline run`` killed with SIGKILL while it delivers a batch; after a restart each message
has arrived at the Slack stand-in exactly once.

The stand-in posts a message when the call arrives and answers ``delays`` seconds later, as
Slack does with a slow answer, so the process dies after Slack has the message but before it
heard back. The restarted process takes the run over once its lease has run out, logs it as
a possible duplicate, finds the earlier copy by the run key in its message metadata
(conversations.history), and does not post it again.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from bot.domain.model import ChannelKey, RunKind, RunStatus
from storage.db import create_engine
from storage.uow import make_uow_factory
from tests.adapters.discord.fake_discord import until
from tests.adapters.slack import wire
from tests.adapters.slack.fake_slack import FakeSlack
from tests.e2e.test_operability import (
    SLACK_TOKEN,
    Raidline,
    base_env,
    free_port,
    posts_to,
    seed_standups,
)

CHANNELS = ["C1", "C2", "C3"]


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    server = FakeSlack().start()
    yield server
    server.stop()


@pytest.mark.e2e
async def test_sigkill_mid_delivery_then_a_restart_posts_each_message_exactly_once(
    slack: FakeSlack, tmp_path: Path
) -> None:
    env = base_env(
        tmp_path,
        SLACK_BOT_TOKEN=SLACK_TOKEN,
        SLACK_SIGNING_SECRET=wire.SECRET,
        SLACK_API_URL=slack.api_url,
        RAIDLINE_DELIVERY_CONCURRENCY="1",  # one at a time: C1 sent, C2 in flight, C3 waiting
        RAIDLINE_RUN_LEASE_SECONDS="2",
    )
    url = env["DATABASE_URL"]
    await seed_standups(url, CHANNELS, datetime.now(UTC))
    slack.delays["chat.postMessage"] = 2.0

    first = Raidline(env)
    try:
        await until(
            lambda: posts_to(slack, "C2") or first.proc.poll() is not None,
            30,
            "the second standup to reach Slack",
        )
        assert first.proc.poll() is None, first.log
        first.proc.send_signal(signal.SIGKILL)  # while Slack has not answered C2's post yet
        assert first.proc.wait(10) == -signal.SIGKILL
    finally:
        first.kill()
    assert [posts_to(slack, c) for c in CHANNELS] == [1, 1, 0]
    states = await run_states(url)
    assert states["C1"] is RunStatus.DONE
    assert states["C2"] is RunStatus.SENDING and states["C3"] is RunStatus.SENDING

    slack.delays.clear()
    env["RAIDLINE_HTTP_PORT"] = str(free_port())
    second = Raidline(env)
    try:
        deadline = time.monotonic() + 30
        while set((await run_states(url)).values()) != {RunStatus.DONE}:
            assert second.proc.poll() is None, second.log
            assert time.monotonic() < deadline, f"not all done: {await run_states(url)}"
            await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as session:
            await second.until_ready(session)
        status, _ = await second.terminate()
    finally:
        second.kill()
    assert status == 0, second.log
    assert [posts_to(slack, c) for c in CHANNELS] == [1, 1, 1], second.log
    messages = [r["message"] for r in second.records()]
    # C2 was taken over after its send had started: logged, looked up, not posted again.
    duplicates = [m for m in messages if m.startswith("possible duplicate: standup_now:")]
    assert len(duplicates) == 1, messages
    assert any(m.startswith("not posting standup_now:") for m in messages), messages
    histories = slack.calls_to("conversations.history")
    assert [c.body.get("channel") for c in histories] == ["C2"]
    assert all(isinstance(c.body.get("metadata"), dict) for c in slack.calls_to("chat.postMessage"))


async def run_states(url: str) -> dict[str, RunStatus]:
    """The state of each channel's standup run."""
    engine = create_engine(url)
    try:
        async with make_uow_factory(engine)() as uow:
            return {
                channel: run.status
                for channel in CHANNELS
                for run in await uow.schedules.runs(
                    ChannelKey("slack", "T1", channel), RunKind.STANDUP_OPEN
                )
            }
    finally:
        await engine.dispose()
