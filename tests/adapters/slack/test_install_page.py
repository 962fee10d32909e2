"""The public install page: a burst from one address is refused with 429 and Retry-After, the
OAuth states it stores stay few, and expired ones are deleted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.throttle import INSTALL_BURST, PerClient
from storage.db import create_engine
from storage.migrate import upgrade
from tests.adapters.slack.conftest import Harness, MakeSlack

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

OAUTH = {"SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "client-secret"}


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    yield engine
    await engine.dispose()


async def states(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        found = await conn.execute(sa.text("SELECT count(*) FROM slack_oauth_states"))
    return int(found.scalar_one())


async def visit(slack: Harness) -> tuple[int, str | None]:
    async with slack.session.get(slack.url + "/slack/install") as resp:
        await resp.read()
        return resp.status, resp.headers.get("Retry-After")


async def test_a_burst_of_install_visits_is_refused_and_stores_few_states(
    make_slack: MakeSlack, engine: AsyncEngine
) -> None:
    slack = await make_slack(engine=engine, **OAUTH)
    answers = [await visit(slack) for _ in range(1000)]
    assert [status for status, _ in answers[:INSTALL_BURST]] == [200] * INSTALL_BURST
    refused = answers[INSTALL_BURST:]
    assert {status for status, _ in refused} == {429}
    assert all(wait is not None and int(wait) >= 1 for _, wait in refused)
    assert await states(engine) == INSTALL_BURST
    # The OAuth redirect is counted too: no way around the limit through it.
    async with slack.session.get(slack.url + "/slack/oauth_redirect?code=x&state=y") as resp:
        assert resp.status == 429 and resp.headers["Retry-After"]


async def test_a_new_state_deletes_the_expired_ones(
    make_slack: MakeSlack, engine: AsyncEngine
) -> None:
    slack = await make_slack(engine=engine, **OAUTH)
    past = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=11)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("INSERT INTO slack_oauth_states (state, expire_at) VALUES (:s, :at)"),
            [{"s": f"old-{n}", "at": past} for n in range(1000)],
        )
    assert await states(engine) == 1000
    assert (await visit(slack))[0] == 200
    assert await states(engine) == 1  # only the state just issued


@pytest.mark.parametrize(
    ("clients", "kept"), [(1000, 100), (50, 100)], ids=["many-addresses", "few-addresses"]
)
def test_the_limit_remembers_a_bounded_number_of_addresses(clients: int, kept: int) -> None:
    limit = PerClient(kept=kept)
    for n in range(clients):
        assert limit.take(f"10.0.{n // 256}.{n % 256}") == 0
    assert len(limit) == min(clients, kept)


def test_the_limit_refills_one_request_per_interval() -> None:
    now = [0.0]
    limit = PerClient(burst=2, every=30.0, clock=lambda: now[0])
    assert [limit.take("a"), limit.take("a"), limit.take("a")] == [0, 0, 30]
    assert limit.take("b") == 0  # another address has its own bucket
    now[0] = 29.0
    assert limit.take("a") == 1
    now[0] = 30.0
    assert limit.take("a") == 0
