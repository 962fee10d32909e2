"""On a real SQLite database: week-old buttons after a restart, and OAuth installations."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from adapters.slack import BOT_SCOPES
from bot.domain.model import ChannelKey
from bot.messages import Outgoing, Reply, Request
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import MakeSlack, blocks_text
from tests.adapters.slack.fake_slack import FakeSlack
from tests.fakes import FixedClock


async def test_a_week_old_button_works_after_a_restart(
    make_slack: MakeSlack, tmp_path: Path, clock: FixedClock
) -> None:
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    first = await make_slack(uow_factory=make_uow_factory(engine))
    await first.command("/blocker", "Old blocker <@U2>")
    post = (await first.last("chat.postMessage")).body
    await first.adapter.stop()
    await engine.dispose()

    clock.advance(days=7)
    engine = create_engine(url)
    try:
        second = await make_slack(uow_factory=make_uow_factory(engine))
        block_id, button = wire.find_button(post["blocks"], "resolve:B-1")
        await second.interact(
            wire.block_actions(
                button, block_id, user="U2", message_blocks=post["blocks"], message_ts="1.000700"
            )
        )
        update = await second.last("chat.update")
        assert update.body["ts"] == "1.000700"
        assert "Resolved B-1: Old blocker" in update.body["text"]
        shown = await second.core.handle(
            Request(ChannelKey("slack", "T1", "C1"), "U1", command="raid", text="history B-1")
        )
        history = "\n".join(shown.sections[0].lines)
        assert "<@U2> resolved" in history
    finally:
        await engine.dispose()


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
async def test_oauth_install_stores_the_installation_and_serves_that_workspace(
    make_slack: MakeSlack, fake: FakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        slack = await make_slack(
            engine=engine, SLACK_CLIENT_ID="111.222", SLACK_CLIENT_SECRET="client-secret"
        )
        store = slack.adapter.installation_store
        assert store is not None
        # The bot token's own workspace needs no install round.
        seeded = await store.async_find_bot(enterprise_id=None, team_id="T1")
        assert seeded is not None and seeded.bot_token == "xoxb-test"

        async with slack.session.get(slack.url + "/slack/install") as resp:
            assert resp.status == 200
            page = await resp.text()
            cookie = resp.headers["Set-Cookie"]
        state = re.search(r"state=([0-9a-f-]{36})", page)
        assert state is not None and state.group(1) in cookie
        link = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', page)
        assert link is not None
        query = parse_qs(urlsplit(html.unescape(link.group(1))).query)
        assert query["client_id"] == ["111.222"]
        assert query["scope"][0].split(",") == list(BOT_SCOPES)

        redirect = f"/slack/oauth_redirect?code=good-code&state={state.group(1)}"
        cookies = {"Cookie": f"slack-app-oauth-state={state.group(1)}"}
        async with slack.session.get(slack.url + redirect, headers=cookies) as resp:
            assert resp.status == 200, await resp.text()
        access = (await slack.last("oauth.v2.access")).body
        assert access["code"] == "good-code"
        bot = await store.async_find_bot(enterprise_id=None, team_id="T9")
        assert bot is not None and bot.bot_token == "xoxb-t9"

        # The same state can't be used twice.
        async with slack.session.get(slack.url + redirect, headers=cookies) as resp:
            assert resp.status != 200

        await slack.command("/blocker", "Nine's blocker", team="T9", channel="C9")
        post = await slack.last("chat.postMessage")
        assert post.token == "xoxb-t9" and "Nine's blocker" in blocks_text(post.body["blocks"])
        await slack.adapter.send(Outgoing(ChannelKey("slack", "T9", "C9"), Reply("Digest")))
        assert (await slack.last("chat.postMessage", 2)).token == "xoxb-t9"
        await slack.command("/blocker", "One's blocker", team="T1")
        assert (await slack.last("chat.postMessage", 3)).token == "xoxb-test"
    finally:
        await engine.dispose()
