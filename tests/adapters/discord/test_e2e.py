"""End to end: ``raidline run`` as a subprocess against the Discord stand-in."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.adapters.discord.conftest import DANA, Driver, field_values, is_ephemeral, place
from tests.adapters.discord.fake_discord import (
    APP_ID,
    TOKEN,
    FakeDiscord,
    click,
    opt,
    slash,
    until,
    user_opt,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """``python -m adapters run`` with its stderr collected by a thread."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "adapters", "run"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._reader.join(5)
            if self.proc.stderr is not None:
                self.proc.stderr.close()


def _env(fake: FakeDiscord, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "RAIDLINE_", "DATABASE_"))
    }
    env.update(
        {
            "DISCORD_BOT_TOKEN": TOKEN,
            "DISCORD_API_URL": fake.api_url,
            "DISCORD_GATEWAY_URL": fake.gateway_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'raidline.db'}",
            "RAIDLINE_HTTP_HOST": "127.0.0.1",
            "RAIDLINE_HTTP_PORT": str(_free_port()),
            "RAIDLINE_TIMEZONE": "Europe/Berlin",
            "RAIDLINE_LOG_LEVEL": "INFO",
            **extra,
        }
    )
    return env


async def test_raidline_run_serves_slash_commands_and_buttons(
    fake: FakeDiscord, discord_api: Driver, tmp_path: Path
) -> None:
    process = Process(_env(fake, tmp_path))
    try:
        await until(
            lambda: "raidline is running" in process.log or process.proc.poll() is not None,
            within=30,
            what="raidline run to start",
        )
        assert process.proc.poll() is None, process.log
        assert fake.calls_to("PUT", f"/applications/{APP_ID}/commands"), "commands synced"
        interaction = slash(
            place(), "blocker", [opt("title", "Waiting on creds"), user_opt("owner", DANA)]
        )
        body = await discord_api.answer(interaction)
        assert body["type"] == 4
        assert not is_ephemeral(body)
        message = await discord_api.message(interaction)
        assert message["embeds"][0]["title"] == "B-1 · Waiting on creds"
        assert field_values(message)["Owner"] == f"<@{DANA}>"
        resolved = await discord_api.answer(click(place(user=DANA), message, "rl:a:resolve:B-1"))
        assert resolved["type"] == 7
        assert fake.message(message["id"])["embeds"][0]["description"] == "**Blocker** · resolved"
        assert TOKEN not in process.log, "the token never appears in the log"
    finally:
        status = process.stop()
    assert status == 0, process.log


async def test_raidline_run_with_a_refused_token_stops_with_one_line(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    process = Process(_env(fake, tmp_path, DISCORD_BOT_TOKEN="wrong-token"))
    status = process.proc.wait(30)
    process.stop()
    assert status == 2, process.log
    assert "DISCORD_BOT_TOKEN: Discord refused the token" in process.log
    assert "wrong-token" not in process.log
