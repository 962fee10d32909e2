"""A workspace that removes raidline (uninstall, revoked token, or Slack refusing the token
when raidline sends) gets nothing more: its standups, digests and nudges stop, with a log
line, and the refused token is not tried again. Other workspaces go on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.app import TokenRefused
from bot.domain.model import ChannelKey, ScheduleKind
from bot.messages import Outgoing, Reply
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, MakeSlack
from tests.adapters.slack.fake_slack import FakeSlack
from tests.integration.conftest import POSTGRES_SKIP, postgres_base_url, postgres_database

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

OAUTH = {
    "SLACK_CLIENT_ID": "111.222",
    "SLACK_CLIENT_SECRET": "client-secret",
    "RAIDLINE_SECRET_KEY": "r" * 24 + "-removed-key-of-raidline",
}
NINE = ChannelKey("slack", "T9", "C9")
ONE = ChannelKey("slack", "T1", "C1")


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'raidline.db'}"
        return
    base = postgres_base_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP)
    with postgres_database(base) as url:
        yield url


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    await asyncio.to_thread(upgrade, db_url)
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


async def two_workspaces(make_slack: MakeSlack, fake: FakeSlack, engine: AsyncEngine) -> Harness:
    """T1 (the configured token's) and T9 (installed), each with a standup and a digest."""
    slack = await make_slack(engine=engine, uow_factory=make_uow_factory(engine), **OAUTH)
    fake.tokens["xoxb-t9"] = "T9"
    store = slack.adapter.installation_store
    assert store is not None
    await store.async_save(
        Installation(
            app_id="A1",
            team_id="T9",
            bot_token="xoxb-t9",
            bot_id="BBOTT9",
            bot_user_id="UBOTT9",
            user_id="U9",
            bot_scopes=["commands", "chat:write"],
        )
    )
    for key in (ONE, NINE):
        for line in ("/standup schedule weekdays 09:30", "/digest daily 16:00"):
            command, _, text = line.partition(" ")
            posted = len(fake.calls_to("chat.postMessage"))
            where = {"team": key.workspace, "channel": key.channel}
            _, _, answer = await slack.command(command, text, **where)
            # Each command's answer is out before the test scripts Slack's next one.
            deadline = asyncio.get_running_loop().time() + 5
            while len(fake.calls_to("chat.postMessage")) == posted and not fake.calls_to(answer):
                assert asyncio.get_running_loop().time() < deadline, f"{line} got no answer"
                await asyncio.sleep(0.01)
    deadline = asyncio.get_running_loop().time() + 5
    while await running(slack, ONE) != (True,) * 3 or await running(slack, NINE) != (True,) * 3:
        assert asyncio.get_running_loop().time() < deadline, "the schedules were not saved"
        await asyncio.sleep(0.02)
    return slack


async def running(slack: Harness, channel: ChannelKey) -> tuple[bool, bool, bool]:
    """(standup on, digest on, nudges on) in ``channel``."""
    async with slack.core.uow_factory() as uow:
        standup = await uow.schedules.get(channel, ScheduleKind.STANDUP)
        digest = await uow.schedules.get(channel, ScheduleKind.DIGEST)
        settings = await uow.channels.get_settings(channel)
    return (
        standup is not None and standup.enabled and standup.next_run_at is not None,
        digest is not None and digest.enabled and digest.next_run_at is not None,
        settings.nudges_enabled,
    )


def stopped_logged(caplog: pytest.LogCaptureFixture, why: str) -> bool:
    return any(
        "Slack workspace T9 can't be reached" in r.getMessage()
        and why in r.getMessage()
        and "2 standup/digest schedules and nudges in 1 channels turned off" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )


async def send_to_nine(slack: Harness) -> str | None:
    return await slack.adapter.send(Outgoing(NINE, Reply("Digest: nothing changed")))


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOTT9"]}},
    ],
    ids=["app_uninstalled", "tokens_revoked"],
)
async def test_an_uninstall_stops_that_workspaces_schedules(
    make_slack: MakeSlack,
    fake: FakeSlack,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    event: dict[str, Any],
) -> None:
    slack = await two_workspaces(make_slack, fake, engine)
    status, _ = await slack.event(wire.event_callback(event, team="T9"))
    assert status == 200
    await wait_until(lambda: stopped_logged(caplog, str(event["type"])))
    assert await running(slack, NINE) == (False, False, False)
    assert await running(slack, ONE) == (True, True, True)
    posts = len(fake.calls_to("chat.postMessage"))
    with pytest.raises(LookupError):
        await send_to_nine(slack)
    assert len(fake.calls_to("chat.postMessage")) == posts  # nothing tried with T9's token


@pytest.mark.parametrize(
    ("error", "stops"),
    [
        ("token_revoked", True),
        ("invalid_auth", True),
        ("account_inactive", True),
        ("channel_not_found", False),
    ],
)
async def test_a_send_refused_for_the_token_stops_that_workspaces_schedules(
    make_slack: MakeSlack,
    fake: FakeSlack,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    error: str,
    stops: bool,
) -> None:
    slack = await two_workspaces(make_slack, fake, engine)
    fake.script("chat.postMessage", body={"ok": False, "error": error})
    with pytest.raises(SlackApiError):
        await send_to_nine(slack)
    posts = len(fake.calls_to("chat.postMessage"))
    assert await running(slack, NINE) == (not stops,) * 3
    assert await running(slack, ONE) == (True, True, True)
    assert stopped_logged(caplog, f"Slack refused its token: {error}") is stops
    if stops:
        with pytest.raises(TokenRefused):
            await send_to_nine(slack)
        assert len(fake.calls_to("chat.postMessage")) == posts  # not tried again
    else:
        assert await send_to_nine(slack)  # the next message goes out as usual


async def wait_until(test: Any, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not test():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)
