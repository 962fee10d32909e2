"""`raidline run` as a subprocess, talking to the Slack stand-in over HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from adapters.runtime.bootstrap import ADAPTERS
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import blocks_text
from tests.adapters.slack.fake_slack import FakeSlack, async_wait_for

pytestmark = pytest.mark.e2e


def _runtime_starts_slack() -> bool:
    return "slack" in ADAPTERS


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def raidline_command() -> list[str]:
    return [sys.executable, "-m", "adapters", "run"]


@pytest.mark.skipif(not _runtime_starts_slack(), reason="waiting for runtime wiring")
async def test_raidline_run_answers_a_signed_slash_command(fake: FakeSlack, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))},
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": wire.SECRET,
        "SLACK_API_URL": fake.api_url,
        "RAIDLINE_HTTP_HOST": "127.0.0.1",
        "RAIDLINE_HTTP_PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'raidline.db'}",
        "RAIDLINE_TIMEZONE": "Europe/Berlin",
    }
    log_path = tmp_path / "raidline.log"
    with log_path.open("wb") as log_file:
        proc = await asyncio.create_subprocess_exec(
            *raidline_command(),
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:

            async def ready() -> bool:
                if proc.returncode is not None:
                    out = log_path.read_text()
                    raise AssertionError(f"raidline exited with {proc.returncode}:\n{out}")
                try:
                    async with session.get(base + "/healthz") as resp:
                        return resp.status == 200 and bool(fake.calls_to("auth.test"))
                except aiohttp.ClientError:
                    return False

            deadline = time.monotonic() + 20
            while not await ready():
                assert time.monotonic() < deadline, "raidline did not start in 20 s"
                await asyncio.sleep(0.05)

            body = wire.slash(
                "/blocker",
                "Waiting on firewall change <@U2|dana> due friday",
                response_url=fake.response_url("e2e"),
            )
            headers = {"Content-Type": wire.FORM, **wire.sign(body)}
            async with session.post(base + "/slack/events", data=body, headers=headers) as resp:
                assert resp.status == 200
                assert await resp.text() == ""
            bad = {"Content-Type": wire.FORM, **wire.sign(body, secret="wrong")}
            async with session.post(base + "/slack/events", data=body, headers=bad) as resp:
                assert resp.status == 401

        post = (await async_wait_for(lambda: fake.calls_to("chat.postMessage"), within=10))[0]
        assert post.token == "xoxb-test"
        assert post.body["channel"] == "C1"
        text = blocks_text(post.body["blocks"])
        assert "*B-1*  Waiting on firewall change" in text and "<@U2>" in text
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
    output = log_path.read_text()
    assert code == 0, output
    assert "xoxb-test" not in output and wire.SECRET not in output
