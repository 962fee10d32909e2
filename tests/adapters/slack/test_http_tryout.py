"""Trying the HTTP mode from a terminal, and slash commands under other names.

``raidline sign-request`` prints a curl command; run as printed, the running app takes it.
RAIDLINE_COMMAND_NAMES renames the slash commands for a workspace that already has some.
"""

from __future__ import annotations

import asyncio
import logging
import shlex
from pathlib import Path

import pytest

from adapters.runtime import cli
from adapters.runtime.config import ConfigError, load_settings
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, MakeSlack


def sign_request(
    args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str
) -> tuple[int, str, str]:
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "RAIDLINE_COMMAND_NAMES"):
        monkeypatch.delenv(name, raising=False)
    if "SLACK_SIGNING_SECRET" in env:  # as in raidline's own environment (or .env)
        env = {"SLACK_BOT_TOKEN": "xoxb-test", **env}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    status = cli.main(["sign-request", *args])
    out, err = capsys.readouterr()
    return status, out.strip(), err.strip()


async def run_shell(line: str) -> str:
    """Run the printed command as a person would paste it into a shell."""
    process = await asyncio.create_subprocess_exec(
        "sh", "-c", line, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), 20)
    return out.decode()


def where(slack: Harness) -> list[str]:
    return ["--url", slack.url + "/slack/events", "--team", "T1", "--channel", "C1", "--user", "U1"]


@pytest.fixture(autouse=True)
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout


async def test_the_printed_curl_command_is_taken_by_the_running_app(
    slack: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, line, err = sign_request(
        ["/blocker", "Waiting", "on", "the", "API", "keys", *where(slack)],
        monkeypatch,
        capsys,
        SLACK_SIGNING_SECRET=wire.SECRET,
    )
    assert (status, err) == (0, "")
    assert shlex.split(line)[:2] == ["curl", "-sS"]
    answer = await run_shell(line)
    assert answer.startswith("HTTP/1.1 200"), answer
    post = await slack.last("chat.postMessage")
    assert "Waiting on the API keys" in str(post.body["text"])
    assert [i.title for i in slack.items()] == ["Waiting on the API keys"]


async def test_a_request_signed_with_another_secret_is_refused(
    slack: Harness, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, line, _ = sign_request(
        ["/blocker", "Forged", *where(slack)],
        monkeypatch,
        capsys,
        SLACK_SIGNING_SECRET="not-the-app-secret",
    )
    answer = await run_shell(line)
    assert answer.startswith("HTTP/1.1 401"), answer
    assert slack.items() == []


@pytest.mark.parametrize(
    ("args", "env", "complaint"),
    [
        (["/blocker", "x"], {}, "sign-request signs with SLACK_SIGNING_SECRET, which is not set"),
        (
            ["/blockr", "x"],
            {"SLACK_SIGNING_SECRET": "s3cret-value"},
            "/blockr is not one of raidline's Slack commands; they are /blocker, /risk,",
        ),
        (
            ["/standup", "now"],
            {"SLACK_SIGNING_SECRET": "s3cret-value", "RAIDLINE_COMMAND_NAMES": "standup=/sync"},
            "/standup is not one of raidline's Slack commands; they are /blocker, /risk, "
            "/decision, /change, /milestone, /raid, /sync, /digest",
        ),
    ],
    ids=["no signing secret", "a typo", "a renamed command by its old name"],
)
def test_sign_request_refuses_with_one_line(
    args: list[str],
    env: dict[str, str],
    complaint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = sign_request(args, monkeypatch, capsys, **env)
    assert (status, out) == (2, "")
    assert err.startswith("raidline: ") and complaint in err
    assert len(err.splitlines()) == 1


async def test_renamed_commands_are_served_under_their_new_names_only(
    make_slack: MakeSlack,
) -> None:
    slack = await make_slack(RAIDLINE_COMMAND_NAMES="blocker=/stopper, standup=/team-standup")
    status, _, _ = await slack.command("/stopper", "Waiting on creds")
    assert status == 200
    post = await slack.last("chat.postMessage")
    assert "Waiting on creds" in str(post.body["text"])
    status, _, _ = await slack.command("/blocker", "Another workspace app's command")
    assert status == 404  # no listener for it: the name belongs to another app
    assert [i.title for i in slack.items()] == ["Waiting on creds"]


RENAMES = [
    ("standup=/team-standup", {"standup": "/team-standup", "decision": "/decision"}),
    (" Decision = decide ,standup=/sync ", {"decision": "/decide", "standup": "/sync"}),
    ("", {"standup": "/standup"}),
]


@pytest.mark.parametrize(("value", "expected"), RENAMES)
def test_command_names_accepted(value: str, expected: dict[str, str]) -> None:
    names = load_settings({"RAIDLINE_COMMAND_NAMES": value}).slack_command_names
    assert list(names) == [
        "blocker",
        "risk",
        "decision",
        "change",
        "milestone",
        "raid",
        "standup",
        "digest",
    ]
    assert expected.items() <= names.items()


@pytest.mark.parametrize(
    ("value", "line"),
    [
        ("standup", "'standup' is not COMMAND=/new-name (e.g. standup=/team-standup"),
        ("standp=/sync", "'standp' is not one of raidline's commands; did you mean standup?"),
        ("standup=/Team Standup", "'/Team Standup' is not a Slack command name"),
        ("standup=/a,standup=/b", "standup is renamed twice"),
        ("standup=/raid", "raid and standup would both be /raid"),
        ("risk=/r,change=/r", "risk and change would both be /r"),
    ],
)
def test_command_names_refused_with_one_line(value: str, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"RAIDLINE_COMMAND_NAMES": value})
    assert caught.value.message.startswith("RAIDLINE_COMMAND_NAMES: ")
    assert line in caught.value.message


async def test_start_up_with_the_token_in_the_environment_warns_of_nothing(
    make_slack: MakeSlack, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")  # as `raidline run` has it
    with caplog.at_level(logging.INFO):
        slack = await make_slack()
    assert slack.adapter.connected or slack.adapter.identity
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
