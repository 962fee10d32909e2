"""Slack tokens at rest: encrypted in the database, readable after a restart, rotated with
``raidline rotate-tokens``, and a wrong key is one clear line at start-up."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.runtime.cli import main
from adapters.runtime.config import ConfigError, load_settings
from adapters.runtime.tokens import rotate_tokens
from storage.db import create_engine
from storage.migrate import upgrade
from storage.slack_installations import SlackInstallations
from tests.adapters.slack.conftest import Harness, MakeSlack, blocks_text
from tests.adapters.slack.fake_slack import FakeSlack
from tests.integration.conftest import POSTGRES_SKIP, postgres_base_url, postgres_database

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

KEY_A = "a" * 20 + "-first-key-of-raidline"
KEY_B = "b" * 20 + "-second-key-of-raidline"
KEY_C = "c" * 20 + "-unrelated-key-of-raidline"
OAUTH = {"SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "client-secret"}
TOKEN_COLUMNS = {
    "slack_installations": ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}


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


async def install_t9(slack: Harness) -> None:
    """Workspace T9 installs raidline through /slack/install and the OAuth redirect."""
    async with slack.session.get(slack.url + "/slack/install") as resp:
        page = await resp.text()
    state = re.search(r"state=([0-9a-f-]{36})", page)
    link = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', page)
    assert state is not None and link is not None and urlsplit(html.unescape(link.group(1)))
    redirect = f"/slack/oauth_redirect?code=good-code&state={state.group(1)}"
    cookies = {"Cookie": f"slack-app-oauth-state={state.group(1)}"}
    async with slack.session.get(slack.url + redirect, headers=cookies) as resp:
        assert resp.status == 200, await resp.text()


async def stored_tokens(engine: AsyncEngine) -> list[str]:
    """Every token cell of slack_sdk's tables, as the database holds it."""
    values: list[str] = []
    async with engine.connect() as conn:
        for table, columns in TOKEN_COLUMNS.items():
            rows = await conn.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table}"))  # noqa: S608
            values.extend(v for row in rows for v in row if v)
    return values


async def serves_t9(slack: Harness, count: int = 1) -> None:
    """A command in T9 is answered with T9's token (``count``: the how-manieth post)."""
    title = f"Nine's blocker {count}"
    await slack.command("/blocker", title, team="T9", channel="C9")
    post = await slack.last("chat.postMessage", count)
    assert post.token == "xoxb-t9" and title in blocks_text(post.body["blocks"])


async def test_an_installed_workspace_token_is_stored_encrypted_and_still_works(
    make_slack: MakeSlack, engine: AsyncEngine, db_url: str
) -> None:
    slack = await make_slack(engine=engine, RAIDLINE_SECRET_KEY=KEY_A, **OAUTH)
    await install_t9(slack)
    tokens = await stored_tokens(engine)
    assert len(tokens) == 4  # T1's (the bot token's own workspace) and T9's, in both tables
    assert not [t for t in tokens if t.startswith("xox") or "xoxb-" in t]
    if db_url.startswith("sqlite"):
        path = Path(urlsplit(db_url).path[1:])
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert b"xoxb-" not in raw
    await serves_t9(slack)
    # After a restart, the key (from the setting) still reads them.
    await slack.adapter.stop()
    again = await make_slack(engine=engine, RAIDLINE_SECRET_KEY=KEY_A, **OAUTH)
    await serves_t9(again, 2)


async def test_on_sqlite_without_a_key_one_is_generated_once_and_kept(
    make_slack: MakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        slack = await make_slack(engine=engine, **OAUTH)
        await install_t9(slack)
        assert not [t for t in await stored_tokens(engine) if "xoxb-" in t]
        await slack.adapter.stop()
        again = await make_slack(engine=engine, **OAUTH)
        await serves_t9(again)
        async with engine.connect() as conn:
            keys = (await conn.execute(sa.text("SELECT name FROM raidline_secrets"))).all()
        assert keys == [("secret_key",)]
    finally:
        await engine.dispose()


async def test_postgres_without_a_key_refuses_to_start_oauth(
    make_slack: MakeSlack, engine: AsyncEngine, db_url: str
) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite generates a key")
    with pytest.raises(ConfigError) as caught:
        await make_slack(engine=engine, **OAUTH)
    assert caught.value.message.startswith("RAIDLINE_SECRET_KEY: missing;")


def test_postgres_oauth_settings_without_a_key_name_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                "DATABASE_URL": "postgresql+psycopg://raid@db/raid",
                "SLACK_SIGNING_SECRET": "s",
                **OAUTH,
            }
        )
    assert caught.value.message.startswith("RAIDLINE_SECRET_KEY: missing: Slack OAuth keeps")
    assert "\n" not in caught.value.message


async def test_rotation_re_encrypts_with_the_new_key_and_the_old_one_then_fails(
    make_slack: MakeSlack, engine: AsyncEngine, db_url: str
) -> None:
    slack = await make_slack(engine=engine, RAIDLINE_SECRET_KEY=KEY_A, **OAUTH)
    await install_t9(slack)
    before = await stored_tokens(engine)
    await slack.adapter.stop()

    # Both keys: the old one still decrypts, before and after the rotation.
    both = await make_slack(
        engine=engine, RAIDLINE_SECRET_KEY=KEY_B, RAIDLINE_SECRET_KEY_OLD=KEY_A, **OAUTH
    )
    await serves_t9(both)
    await both.adapter.stop()
    settings = load_settings(
        {"DATABASE_URL": db_url, "RAIDLINE_SECRET_KEY": KEY_B, "RAIDLINE_SECRET_KEY_OLD": KEY_A}
    )
    assert await rotate_tokens(settings) == (
        "Re-encrypted 4 stored Slack token(s) with RAIDLINE_SECRET_KEY."
    )
    after = await stored_tokens(engine)
    assert len(after) == 4 and not set(after) & set(before)

    new = await make_slack(engine=engine, RAIDLINE_SECRET_KEY=KEY_B, **OAUTH)
    await serves_t9(new, 2)
    await new.adapter.stop()
    with pytest.raises(ConfigError) as caught:
        await make_slack(engine=engine, RAIDLINE_SECRET_KEY=KEY_A, **OAUTH)
    assert caught.value.message.startswith(
        "RAIDLINE_SECRET_KEY: 4 stored Slack token(s) do not decrypt with it"
    )


async def test_a_wrong_key_is_one_clear_line_from_the_command(
    make_slack: MakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        slack = await make_slack(engine=engine, RAIDLINE_SECRET_KEY=KEY_A, **OAUTH)
        await install_t9(slack)
        before = await stored_tokens(engine)
    finally:
        await engine.dispose()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("RAIDLINE_SECRET_KEY", KEY_C)
    status = await asyncio.to_thread(main, ["rotate-tokens"])
    err = capsys.readouterr().err
    assert status == 2
    assert err == (
        "raidline: RAIDLINE_SECRET_KEY: 4 stored Slack token(s) do not decrypt with it (nor "
        "with RAIDLINE_SECRET_KEY_OLD); set the key they were stored with, or put it in "
        "RAIDLINE_SECRET_KEY_OLD and run `raidline rotate-tokens`\n"
    )
    assert KEY_C not in err
    engine = create_engine(url)
    try:
        assert await stored_tokens(engine) == before  # nothing changed
    finally:
        await engine.dispose()


async def test_plain_tokens_of_an_earlier_release_work_and_are_encrypted_by_rotation(
    make_slack: MakeSlack, fake: FakeSlack, engine: AsyncEngine, db_url: str
) -> None:
    earlier = AsyncSQLAlchemyInstallationStore(client_id="111.222", engine=engine)
    await earlier.create_tables()  # type: ignore[no-untyped-call]
    await earlier.async_save(
        Installation(
            app_id="A1", team_id="T9", team_name="Nine", bot_token="xoxb-t9", user_id="U9",
            bot_id="BBOTT9", bot_user_id="UBOTT9", bot_scopes=["commands", "chat:write"],
        )
    )  # fmt: skip
    fake.tokens["xoxb-t9"] = "T9"
    slack = await make_slack(engine=engine, RAIDLINE_SECRET_KEY=KEY_A, **OAUTH)
    await serves_t9(slack)
    assert sorted(t for t in await stored_tokens(engine) if t.startswith("xoxb-")) == [
        "xoxb-t9",
        "xoxb-t9",
    ]
    settings = load_settings({"DATABASE_URL": db_url, "RAIDLINE_SECRET_KEY": KEY_A})
    said = await rotate_tokens(settings)
    assert said == (
        "Re-encrypted 4 stored Slack token(s) with RAIDLINE_SECRET_KEY "
        "(2 were stored as plain text)."
    )
    assert not [t for t in await stored_tokens(engine) if "xoxb-" in t]
    await serves_t9(slack, 2)


async def test_setting_a_key_after_the_generated_one_and_rotating_deletes_it(
    make_slack: MakeSlack, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        slack = await make_slack(engine=engine, **OAUTH)
        await install_t9(slack)
        await slack.adapter.stop()
        said = await rotate_tokens(
            load_settings({"DATABASE_URL": url, "RAIDLINE_SECRET_KEY": KEY_B})
        )
        assert said == (
            "Re-encrypted 4 stored Slack token(s) with RAIDLINE_SECRET_KEY. "
            "The key raidline had generated is deleted from the database."
        )
        async with engine.connect() as conn:
            rows: Any = (await conn.execute(sa.text("SELECT name FROM raidline_secrets"))).all()
        assert rows == []
        again = await make_slack(engine=engine, RAIDLINE_SECRET_KEY=KEY_B, **OAUTH)
        await serves_t9(again)
    finally:
        await engine.dispose()


async def test_a_long_refresh_token_fits_encrypted_in_tables_of_an_earlier_release(
    db_url: str,
) -> None:
    """slack_sdk made its token columns VARCHAR(200); migration 0004 widens them."""
    await asyncio.to_thread(upgrade, db_url, "0003")
    engine = create_engine(db_url)
    try:
        earlier = AsyncSQLAlchemyInstallationStore(client_id="111.222", engine=engine)
        await earlier.create_tables()  # type: ignore[no-untyped-call]
        await asyncio.to_thread(upgrade, db_url)
        settings = load_settings({"DATABASE_URL": db_url, "RAIDLINE_SECRET_KEY": KEY_A})
        installations = SlackInstallations("111.222", engine, db_url)
        await installations.open(settings.secret_key)
        refresh = "xoxe-1-" + "r" * 190
        await installations.installation_store.async_save(
            Installation(
                app_id="A1", team_id="T9", bot_token="xoxe.xoxb-1-" + "b" * 150,
                bot_refresh_token=refresh, user_id="U9", bot_id="B9", bot_user_id="UB9",
            )
        )  # fmt: skip
        bot = await installations.installation_store.async_find_bot(
            enterprise_id=None, team_id="T9"
        )
        assert bot is not None and bot.bot_refresh_token == refresh
        assert min(len(t) for t in await stored_tokens(engine)) > 200
    finally:
        await engine.dispose()
