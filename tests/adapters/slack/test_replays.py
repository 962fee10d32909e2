"""Replays: a signed request Slack sent once is taken once, over HTTP and Socket Mode, and
with PostgreSQL on any replica; Slack's own retries are acknowledged, not processed twice."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.migrate import upgrade
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, MakeSlack, blocks_text
from tests.adapters.slack.fake_slack import FakeSlack, async_wait_for
from tests.integration.conftest import POSTGRES_SKIP, postgres_base_url, postgres_database


async def test_the_same_signed_command_twice_is_one_item_and_one_reply(slack: Harness) -> None:
    url, _ = slack.new_response_url()
    body = wire.slash("/blocker", "Replayed blocker", response_url=url)
    signed = wire.sign(body)
    assert await slack.post(body, wire.FORM, headers=signed) == (200, "")
    assert await slack.post(body, wire.FORM, headers=signed) == (200, "")
    # The same body newly signed (a later timestamp) is another request: it is taken.
    resigned = wire.sign(body, ts=int(time.time()) + 1)
    assert await slack.post(body, wire.FORM, headers=resigned) == (200, "")
    posts = await slack.wait("chat.postMessage", 2)
    await async_wait_for(lambda: len(slack.items()) == 2)
    assert [i.title for i in slack.items()] == ["Replayed blocker", "Replayed blocker"]
    assert len(posts) == 2 and "Replayed blocker" in blocks_text(posts[0].body["blocks"])


async def test_slack_retrying_an_event_is_acknowledged_not_processed_twice(
    slack: Harness,
) -> None:
    body = wire.home_opened()
    assert await slack.event(body) == (200, "")
    await slack.wait("views.publish")
    # Slack's retry: the same event, newly signed, with X-Slack-Retry-Num.
    retry = {**wire.sign(body, ts=int(time.time()) + 1), "X-Slack-Retry-Num": "1"}
    assert await slack.post(body, wire.JSON, headers=retry) == (200, "")
    # Another event is taken.
    other = json.loads(body)
    other["event_id"] = other["event_id"] + "-other"
    assert await slack.event(json.dumps(other).encode()) == (200, "")
    assert len(await slack.wait("views.publish", 2)) == 2
    await asyncio.sleep(0)
    assert len(slack.fake.calls_to("views.publish")) == 2


async def test_a_socket_mode_envelope_sent_again_is_acknowledged_once_processed(
    make_slack: MakeSlack, fake: FakeSlack
) -> None:
    slack = await make_slack(SLACK_APP_TOKEN="xapp-test", SLACK_SIGNING_SECRET="")
    await async_wait_for(lambda: fake.open_sockets == 1)
    payload = dict(parse_qsl(wire.slash("/blocker", "Over the socket").decode()))
    envelope = fake.push("slash_commands", payload)
    assert await async_wait_for(lambda: fake.ack_for(envelope)) == {"envelope_id": envelope}
    await slack.wait("chat.postMessage")
    with fake._lock:
        del fake.acks[envelope]
    fake.push("slash_commands", payload, envelope_id=envelope, retry_attempt=1)
    assert await async_wait_for(lambda: fake.ack_for(envelope)) == {"envelope_id": envelope}
    again = fake.push("slash_commands", {**payload, "text": "Another one"})
    await async_wait_for(lambda: fake.ack_for(again))
    posts = await slack.wait("chat.postMessage", 2)
    assert [i.title for i in slack.items()] == ["Over the socket", "Another one"]
    assert len(posts) == 2


@pytest.fixture
async def postgres_engine() -> AsyncIterator[AsyncEngine]:
    base = postgres_base_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP)
    with postgres_database(base) as url:
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()


async def test_postgres_a_replay_sent_to_another_replica_is_dropped(
    make_slack: MakeSlack, postgres_engine: AsyncEngine
) -> None:
    first = await make_slack(engine=postgres_engine)
    second = await make_slack(engine=postgres_engine)
    url, _ = first.new_response_url()
    body = wire.slash("/blocker", "Replayed across replicas", response_url=url)
    signed = wire.sign(body)
    assert await first.post(body, wire.FORM, headers=signed) == (200, "")
    await async_wait_for(lambda: len(first.items()) == 1)
    assert await second.post(body, wire.FORM, headers=signed) == (200, "")
    resigned = wire.sign(body, ts=int(time.time()) + 1)
    assert await second.post(body, wire.FORM, headers=resigned) == (200, "")
    await async_wait_for(lambda: len(second.items()) >= 1)
    assert len(second.items()) == 1 and len(first.items()) == 1
