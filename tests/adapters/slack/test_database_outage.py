"""Multi-workspace (OAuth) Slack with PostgreSQL unreachable: every request gets SPEC §6's
"can't reach its database" answer, never an HTTP 500 (Slack's generic failure).

The database is cut at the network edge: raidline's engine talks to PostgreSQL through a
TCP relay the test closes (every connection dropped, new ones refused) and opens again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, MakeSlack, blocks_text, body_json
from tests.adapters.slack.fake_slack import FakeSlack
from tests.integration.conftest import POSTGRES_SKIP, postgres_base_url, postgres_database

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
]

OUTAGE = "raidline can't reach its database right now; nothing was saved, please try again."
OAUTH = {
    "SLACK_CLIENT_ID": "111.222",
    "SLACK_CLIENT_SECRET": "client-secret",
    "RAIDLINE_SECRET_KEY": "k" * 24 + "-outage-key-of-raidline",
}


@dataclass
class Relay:
    """A TCP relay to PostgreSQL that can be cut: the database's network, as the bot sees it."""

    target: tuple[str, int]
    port: int = 0
    _server: asyncio.Server | None = None
    _open: set[asyncio.StreamWriter] = field(default_factory=set)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()
        await self._server.wait_closed()
        self._server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._open |= {writer, up_writer}

        async def copy(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))
        self._open -= {writer, up_writer}


@pytest.fixture
async def relayed() -> AsyncIterator[tuple[Relay, AsyncEngine]]:
    """A fresh migrated PostgreSQL database, and an engine that reaches it through a relay."""
    base = postgres_base_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP)
    with postgres_database(base) as url:
        await asyncio.to_thread(upgrade, url)
        parsed = sa.make_url(url)
        relay = Relay((parsed.host or "127.0.0.1", parsed.port or 5432))
        await relay.start()
        engine = create_engine(parsed.set(port=relay.port).render_as_string(hide_password=False))
        try:
            yield relay, engine
        finally:
            await engine.dispose()
            if relay._server is not None:
                await relay.cut()


async def oauth_slack(make_slack: MakeSlack, fake: FakeSlack, engine: AsyncEngine) -> Harness:
    """raidline in OAuth mode on the relayed database; T9 installed besides T1 (whose bot
    token is configured)."""
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
    return slack


@dataclass
class Payloads:
    """A message button and a modal as raidline made them (taken while the database ran)."""

    post: dict[str, Any]
    form: dict[str, Any]


async def payloads(slack: Harness) -> Payloads:
    await slack.command("/blocker", "Before the outage <@U2>")
    post = dict((await slack.last("chat.postMessage")).body)
    await slack.command("/blocker")
    form = dict((await slack.last("views.open")).body["view"])
    return Payloads(post, form)


async def until_served(slack: Harness, command: str, text: str, **kw: Any) -> tuple[int, str, str]:
    """Send the command until raidline takes it (not the outage answer), for 10 s."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        status, body, reply_to = await slack.command(command, text, **kw)
        if (status, body) == (200, ""):
            return status, body, reply_to
        assert asyncio.get_running_loop().time() < deadline, "still no database"
        await asyncio.sleep(0.2)


def said_outage(text: str) -> bool:
    return OUTAGE in text


async def test_a_workspace_no_request_has_loaded_gets_the_outage_answer_postgres(
    make_slack: MakeSlack, fake: FakeSlack, relayed: tuple[Relay, AsyncEngine]
) -> None:
    """T9 made no request since start-up: its installation is only in the database."""
    relay, engine = relayed
    slack = await oauth_slack(make_slack, fake, engine)
    made = await payloads(slack)
    await relay.cut()

    # A slash command: the answer is the response to the command itself.
    status, body, _ = await slack.command("/blocker", "During the outage", team="T9", channel="C9")
    assert status == 200
    ack = body_json(body)
    assert ack["response_type"] == "ephemeral" and said_outage(ack["text"])
    assert said_outage(blocks_text(ack["blocks"]))

    # A button: an ephemeral message through the click's response_url.
    block_id, button = wire.find_button(made.post["blocks"], "resolve:B-1")
    url, reply_to = slack.new_response_url()
    status, _ = await slack.interact(
        wire.block_actions(button, block_id, team="T9", channel="C9", response_url=url)
    )
    assert status == 200
    answer = (await slack.last(reply_to)).body
    assert answer["response_type"] == "ephemeral" and said_outage(answer["text"])

    # A message shortcut: the same, through its response_url.
    url, reply_to = slack.new_response_url()
    status, _ = await slack.interact(
        wire.message_shortcut("log_blocker", "From a message", team="T9", response_url=url)
    )
    assert status == 200
    assert said_outage((await slack.last(reply_to)).body["text"])

    # A form: the modal stays open with the answer on its first field.
    status, body = await slack.interact(
        wire.view_submission(made.form, {"title": "Typed in the outage"}, team="T9")
    )
    assert status == 200
    ack = body_json(body)
    assert ack["response_action"] == "errors"
    assert list(ack["errors"].values()) == [OUTAGE]

    # App Home: Slack offers no way to answer without the token; acknowledged, no 500.
    status, _ = await slack.event(wire.home_opened("U9", team="T9"))
    assert status == 200

    # Back (after QUIET_AFTER_FAILURE): T9 is served again, with its own token.
    await relay.start()
    _, body, _ = await until_served(slack, "/blocker", "After the outage", team="T9", channel="C9")
    post = await slack.last("chat.postMessage", 2)
    assert post.token == "xoxb-t9" and "After the outage" in blocks_text(post.body["blocks"])


async def test_a_known_workspace_gets_the_outage_answer_in_every_surface_postgres(
    make_slack: MakeSlack, fake: FakeSlack, relayed: tuple[Relay, AsyncEngine]
) -> None:
    """T1's installation is known without the database (its bot token is configured; T9's
    was read a moment ago): the request reaches raidline, which answers as always."""
    relay, engine = relayed
    slack = await oauth_slack(make_slack, fake, engine)
    made = await payloads(slack)
    await slack.command("/raid", "list", team="T9", channel="C9")  # T9's installation is read
    await relay.cut()

    for team in ("T1", "T9"):
        status, body, reply_to = await slack.command("/raid", "list", team=team)
        assert (status, body) == (200, "")
        assert said_outage((await slack.last(reply_to)).body["text"])

    block_id, button = wire.find_button(made.post["blocks"], "resolve:B-1")
    url, reply_to = slack.new_response_url()
    status, _ = await slack.interact(
        wire.block_actions(
            button, block_id, user="U2", message_blocks=made.post["blocks"], response_url=url
        )
    )
    assert status == 200
    assert said_outage((await slack.last(reply_to)).body["text"])

    status, body = await slack.interact(
        wire.view_submission(made.form, {"title": "Typed in the outage"})
    )
    assert status == 200
    ack = body_json(body)
    assert ack["response_action"] == "update"
    assert said_outage(blocks_text(ack["view"]["blocks"]))

    # A message shortcut opens its form without the database; submitting it says so (above).
    status, _ = await slack.interact(wire.message_shortcut("log_blocker", "From a message"))
    assert status == 200
    opened = (await slack.last("views.open", 2)).body["view"]
    assert "From a message" in json.dumps(opened)

    status, _ = await slack.event(wire.home_opened("U1"))
    assert status == 200
    home = (await slack.last("views.publish")).body["view"]
    assert said_outage(blocks_text(home["blocks"]))

    await relay.start()
    _, _, reply_to = await until_served(slack, "/raid", "list")
    assert "Before the outage" in blocks_text((await slack.last(reply_to)).body["blocks"])
