"""``raidline export`` of a Slack channel names people through users.info when the process
has SLACK_BOT_TOKEN, as the chat path does; without it, ids, and the export says so once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.model import ChannelKey
from tests.adapters.export_cli import export, note_of, seed
from tests.adapters.slack.conftest import env
from tests.adapters.slack.fake_slack import FakeSlack

CHANNEL = ChannelKey("slack", "T1", "C1")


@pytest.mark.parametrize("fmt", ["md", "json"])
async def test_with_the_bot_token_people_are_named_as_slack_names_them(
    fake: FakeSlack, tmp_path: Path, fmt: str
) -> None:
    fake.user_names["U0DANA"] = {"profile": {"display_name": "Dana Scully"}}
    fake.user_names["U0ANA"] = {"real_name": "Ana Lima"}
    db = tmp_path / "raid.db"
    await seed(db, CHANNEL, owner="U0DANA", reporter="U0ANA")
    body = await export(db, env(fake), "C1", fmt, tmp_path)
    assert "Dana Scully" in body and "Ana Lima" in body
    assert "U0DANA" not in body or fmt == "json"  # JSON keeps the ids beside the names
    assert note_of(body, fmt) is None
    assert {c.body.get("user") for c in fake.calls if c.method == "users.info"} == {
        "U0DANA",
        "U0ANA",
    }


@pytest.mark.parametrize("fmt", ["md", "json"])
async def test_without_a_token_people_stay_ids_and_the_export_says_so_once(
    fake: FakeSlack, tmp_path: Path, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "raid.db"
    await seed(db, CHANNEL, owner="U0DANA", reporter="U0ANA")
    body = await export(db, {}, "C1", fmt, tmp_path)
    assert "U0DANA" in body
    note = (
        "People are shown by their Slack ids: this export was made from the command line "
        "without a connection to Slack (set SLACK_BOT_TOKEN to show their names)."
    )
    assert note_of(body, fmt) == note
    assert body.count("People are shown by") == 1
    assert f"raidline: {note}" in capsys.readouterr().err.splitlines()
    assert not [c for c in fake.calls if c.method == "users.info"]
