"""The local console, as a user drives it.

Part 1 drives ``adapters.console.Console`` in-process with in-memory streams and a scripted core,
for the plumbing: forms, follow-up questions, ``/cancel``, ``/`` lines that skip a question.
Part 2 runs ``raidline`` as a subprocess on a temporary SQLite file with stdin piped: the whole
product, start to finish, across a restart.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import queue
import re
import secrets
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from adapters.console import CANCELLED, HINT, Console, StreamLines
from bot.errors import apology
from bot.messages import (
    Action,
    Card,
    Choice,
    Field,
    File,
    Form,
    FormField,
    InputKind,
    Reply,
    Request,
    Section,
    Tone,
)

# --------------------------------------------------------------------------------------------
# Part 1: the console's plumbing, in-process
# --------------------------------------------------------------------------------------------

BLOCKER_FORM = Form(
    "log:blocker",
    "New blocker",
    (
        FormField("title", "Title", InputKind.TEXT, required=True, max_length=300),
        FormField("owner", "Owner", InputKind.USER),
        FormField("due", "Due", InputKind.DATE, default="friday", hint="e.g. friday, Dec 5"),
        FormField(
            "likelihood",
            "Likelihood",
            InputKind.CHOICE,
            choices=(
                Choice("1", "1 – very low"),
                Choice("3", "3 – medium"),
                Choice("5", "5 – high"),
            ),
        ),
    ),
)
ASSIGN_FORM = Form("assign:B-1", "Assign B-1", (FormField("owner", "Owner", InputKind.USER, True),))
FOLLOW_UPS = (
    Action("Take it myself", "take:B-1"),
    Action("Assign someone", "assign:B-1", form=ASSIGN_FORM),
    Action("Set a date", "due:B-1"),
)


class ScriptedCore:
    """Answers like the core would, from a small script; records every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    async def handle(self, request: Request) -> Reply:
        self.requests.append(request)
        if request.command == "blocker" and request.action_id is None and not request.text:
            return Reply(text="New blocker: fill in the form.", form=BLOCKER_FORM)
        if request.action_id == "log:blocker":
            return self._log(request.values)
        if request.action_id == "take:B-1":
            return Reply(text=f"<@{request.user}> now owns B-1.", tone=Tone.SUCCESS)
        if request.action_id == "assign:B-1":
            return Reply(text=f"B-1 is now owned by <@{request.values['owner']}>.")
        if request.action_id == "more:2":
            return Reply(text="Page 2", sections=(Section("Blockers", ("*B-3* third",)),))
        if (request.command, request.text) == ("raid", "list"):
            return Reply(
                text="Page 1",
                sections=(Section("Blockers", ("*B-1* first", "*B-2* second")),),
                actions=(Action("More", "more:2"),),
            )
        if (request.command, request.text) == ("raid", "crash"):
            raise RuntimeError("a bug in the core")
        if (request.command, request.text) == ("raid", "export md"):
            content = b"# proj\n- B-1 creds\n"
            return Reply(text="Export of #proj", files=(File("proj.md", content, "text/markdown"),))
        return Reply(text=f"echo {request.command} [{request.text}] as <@{request.user}>")

    def _log(self, values: Mapping[str, str]) -> Reply:
        if values.get("title") == "bad":
            return Reply(
                text="Please correct the highlighted fields: the title needs a verb",
                tone=Tone.ERROR,
                field_errors={"title": "the title needs a verb"},
            )
        card = Card("B-1", "blocker", values["title"], "open", fields=(Field("Owner", "no owner"),))
        return Reply(text="Logged B-1.", cards=(card,), actions=FOLLOW_UPS, item_ref="B-1")

    def sent(self) -> list[tuple[str, str, str | None, dict[str, str]]]:
        return [(r.command, r.text, r.action_id, dict(r.values)) for r in self.requests]


async def drive(
    script: str,
    *,
    interactive: bool = False,
    tmp_path: Path | None = None,
    user: str = "ana",
) -> tuple[int, str, ScriptedCore, Console]:
    core = ScriptedCore()
    out = io.StringIO()
    console = Console(
        core,
        user=user,
        channel="proj",
        lines=StreamLines(io.StringIO(script)),
        out=out,
        interactive=interactive,
        files_dir=tmp_path,
    )
    status = await console.run()
    return status, out.getvalue(), core, console


async def test_typed_commands_become_requests_and_replies_are_printed() -> None:
    status, shown, core, _ = await drive("/risk Vendor may slip @bob\n\n/Raid   list blockers\n")
    assert status == 0
    assert core.sent()[0] == ("risk", "Vendor may slip @bob", None, {})
    assert core.sent()[1][:2] == ("raid", "list blockers")
    assert core.requests[0].channel.platform == "console"
    assert core.requests[0].channel.channel == "proj"
    assert "echo risk [Vendor may slip @bob] as @ana" in shown
    assert len(core.requests) == 2  # the blank line sent nothing


async def test_a_core_that_raises_gets_the_one_apology_and_the_console_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, shown, core, _ = await drive("/raid crash\n/raid list\n")
    assert status == 0
    record = next(r for r in caplog.records if getattr(r, "incident_id", None))
    incident = record.incident_id  # type: ignore[attr-defined]
    assert apology(incident) in " ".join(shown.split())
    assert "Page 1" in shown  # the next command still ran
    assert len(core.requests) == 2


async def test_a_line_without_slash_gets_the_hint_and_sends_nothing() -> None:
    _, shown, core, _ = await drive("blocker creds\n")
    assert HINT in shown
    assert "`/raid help` lists them all" in shown
    assert core.requests == []


async def test_quit_and_exit_stop_reading() -> None:
    for word in ("/quit", "/exit"):
        status, _, core, _ = await drive(f"/risk one\n{word}\n/risk two\n")
        assert status == 0
        assert [r.text for r in core.requests] == ["one"]


@pytest.mark.parametrize("line", ["/help", "/raid help", "/?", "/raid ?"])
async def test_help_lists_the_consoles_own_commands(line: str) -> None:
    _, shown, _, _ = await drive(f"{line}\n")
    for own in ("/as NAME", "/cancel", "/quit", "`exit`"):
        assert own in shown, shown


async def test_help_on_one_command_does_not_repeat_the_console_commands() -> None:
    _, shown, _, _ = await drive("/raid help resolve\n")
    assert "/as NAME" not in shown


@pytest.mark.parametrize("word", ["exit", "quit", "EXIT"])
async def test_exit_and_quit_without_slash_leave(word: str) -> None:
    status, _, core, _ = await drive(f"/risk one\n{word}\n/risk two\n")
    assert status == 0
    assert [r.text for r in core.requests] == ["one"]


async def test_as_switches_the_user_and_help_is_raid_help() -> None:
    _, shown, core, console = await drive("/as @bob\n/help\n/as\n")
    assert "You are now @bob." in shown
    assert core.requests[0].user == "bob"
    assert (core.requests[0].command, core.requests[0].text) == ("raid", "help")
    assert "Usage: /as NAME" in shown
    assert console.prompt == "raidline #proj @bob> "


async def test_prompt_only_on_a_terminal() -> None:
    _, piped, _, _ = await drive("/risk x\n")
    assert "raidline #proj @ana>" not in piped
    _, tty, _, _ = await drive("/risk x\n", interactive=True)
    assert tty.startswith("raidline #proj @ana> ")


async def test_form_asks_each_field_with_defaults_optional_and_choices() -> None:
    script = "/blocker\n\nWaiting on creds\n@dana\n\nhigh\n\n"
    _, shown, core, _ = await drive(script)
    assert "New blocker: answer each question; /cancel stops." in shown
    assert "Title:" in shown
    assert "This one is required." in shown  # the empty answer to a required field
    assert "Owner (optional):" in shown
    assert "  e.g. friday, Dec 5" in shown
    assert "Due (optional) [friday]:" in shown
    assert "  1) 1 – very low  2) 3 – medium  3) 5 – high" in shown
    submitted = core.requests[1]
    assert submitted.action_id == "log:blocker"
    assert dict(submitted.values) == {
        "title": "Waiting on creds",
        "owner": "dana",
        "due": "friday",
        "likelihood": "5",
    }
    assert "Logged B-1." in shown


async def test_form_field_errors_are_shown_and_only_those_fields_re_asked() -> None:
    script = "/blocker\nbad\n@dana\nmonday\n2\nUnblock the creds\n\n"
    _, shown, core, _ = await drive(script)
    assert "  Title: the title needs a verb" in shown
    first, second = core.requests[1], core.requests[2]
    assert dict(first.values)["title"] == "bad"
    assert dict(second.values) == {
        "title": "Unblock the creds",
        "owner": "dana",
        "due": "monday",
        "likelihood": "3",
    }
    assert shown.count("Owner (optional):") == 1  # not asked again
    assert "Logged B-1." in shown


async def test_cancel_in_a_form_saves_nothing() -> None:
    _, shown, core, _ = await drive("/blocker\nWaiting on creds\n/cancel\n/risk after\n")
    assert CANCELLED in shown
    assert [r.action_id for r in core.requests] == [None, None]
    assert core.requests[1].text == "after"  # the console carries on


async def test_end_of_input_inside_a_form_cancels_and_exits_cleanly() -> None:
    status, shown, core, _ = await drive("/blocker\nWaiting on creds\n")
    assert status == 0
    assert CANCELLED in shown
    assert len(core.requests) == 1


async def test_invalid_choice_and_person_are_re_asked() -> None:
    script = "/blocker\nCreds\n@dana @raj\n@dana\n\n9\nmedium\n\n"
    _, shown, core, _ = await drive(script)
    assert "Please name one person, e.g. @dana." in shown
    assert "Please answer with a number from 1 to 3." in shown
    assert dict(core.requests[1].values)["likelihood"] == "3"
    assert dict(core.requests[1].values)["owner"] == "dana"


async def test_follow_ups_are_numbered_and_a_number_picks_one() -> None:
    _, shown, core, _ = await drive("/blocker\nCreds\n\n\n\n1\n")
    assert "  1) Take it myself\n  2) Assign someone\n  3) Set a date" in shown
    assert "Pick 1-3 (Enter to skip):" in shown
    assert core.requests[-1].action_id == "take:B-1"
    assert "@ana now owns B-1." in shown


async def test_a_follow_up_with_a_form_asks_it_first() -> None:
    _, shown, core, _ = await drive("/blocker\nCreds\n\n\n\n2\n@erin\n")
    assert "Assign B-1: answer each question; /cancel stops." in shown
    last = core.requests[-1]
    assert (last.action_id, dict(last.values)) == ("assign:B-1", {"owner": "erin"})
    assert "B-1 is now owned by @erin." in shown


async def test_enter_skips_the_follow_up_question() -> None:
    _, _, core, _ = await drive("/blocker\nCreds\n\n\n\n\n/risk next\n")
    assert [r.action_id for r in core.requests] == [None, "log:blocker", None]
    assert core.requests[-1].text == "next"


async def test_cancel_at_the_follow_up_question_just_skips_it() -> None:
    _, shown, core, _ = await drive("/raid list\n/cancel\n/risk next\n")
    assert "Nothing to cancel." not in shown
    assert [r.text for r in core.requests] == ["list", "next"]


async def test_a_slash_line_skips_the_question_and_runs_as_the_next_command() -> None:
    _, shown, core, _ = await drive("/raid list\n/decision Use PostgreSQL 16\n")
    assert "  1) More" in shown
    assert "Pick 1 (Enter to skip):" in shown
    assert core.sent()[-1] == ("decision", "Use PostgreSQL 16", None, {})
    assert all(r.action_id != "more:2" for r in core.requests)


async def test_more_pages_through_a_list() -> None:
    _, shown, core, _ = await drive("/raid list\n1\n")
    assert core.requests[-1].action_id == "more:2"
    assert "Page 2" in shown and "B-3 third" in shown


async def test_anything_else_is_re_asked_once_then_skipped() -> None:
    _, shown, core, _ = await drive("/raid list\nyes\nplease\n/risk after\n")
    assert "Please type a number from 1 to 1, or press Enter to skip." in shown
    assert "Skipped." in shown
    assert [r.text for r in core.requests] == ["list", "after"]


async def test_a_slash_line_during_a_form_leaves_the_form_and_runs() -> None:
    _, shown, core, _ = await drive("/blocker\nCreds\n/raid list\n")
    assert CANCELLED in shown
    assert core.sent()[-1][:2] == ("raid", "list")


async def test_files_are_saved_without_overwriting(tmp_path: Path) -> None:
    (tmp_path / "proj.md").write_text("keep me")
    _, shown, _, _ = await drive("/raid export md\n/raid export md\n", tmp_path=tmp_path)
    assert (tmp_path / "proj.md").read_text() == "keep me"
    assert (tmp_path / "proj-1.md").read_bytes() == b"# proj\n- B-1 creds\n"
    assert (tmp_path / "proj-2.md").exists()
    assert f"Saved {tmp_path / 'proj-1.md'} (19 bytes)" in shown


async def test_exports_go_to_an_exports_folder_that_git_ignores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    core = ScriptedCore()
    out = io.StringIO()
    console = Console(
        core,
        user="ana",
        channel="proj",
        lines=StreamLines(io.StringIO("/raid export md\n")),
        out=out,
    )
    await console.run()
    assert (tmp_path / "exports" / "proj.md").read_bytes() == b"# proj\n- B-1 creds\n"
    assert "Saved exports/proj.md (19 bytes)" in out.getvalue()
    ignored = (Path(__file__).parents[2] / ".gitignore").read_text().splitlines()
    assert "exports/" in ignored


async def test_show_prints_a_message_the_bot_sends_on_its_own() -> None:
    out = io.StringIO()
    console = Console(
        ScriptedCore(), user="ana", channel="#proj", lines=StreamLines(io.StringIO("")), out=out
    )
    await console.show(Reply(text="Standup for #proj: <@ana>, what changed?"))
    assert out.getvalue() == "Standup for #proj: @ana, what changed?\n\n"


class QueuedLines:
    """A terminal the test types into: lines arrive when the test sends them."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.waiting = asyncio.Event()

    async def readline(self) -> str | None:
        self.waiting.set()
        line = await self.queue.get()
        self.waiting.clear()
        return line


async def test_a_message_sent_on_its_own_appears_above_a_waiting_prompt() -> None:
    out = io.StringIO()
    lines = QueuedLines()
    console = Console(
        ScriptedCore(), user="ana", channel="proj", lines=lines, out=out, interactive=True
    )
    running = asyncio.create_task(console.run())
    await lines.waiting.wait()
    await console.show(Reply(text="Digest for #proj: 1 open blocker, owned by <@dana>"))
    await lines.queue.put(None)
    assert await running == 0
    assert out.getvalue() == (
        "raidline #proj @ana> \n"
        "Digest for #proj: 1 open blocker, owned by @dana\n\n"
        "raidline #proj @ana> \n"
    )


async def typed(lines: QueuedLines, text: str | None) -> None:
    """Type a line, and wait until the console has taken it and waits for the next one."""
    await lines.queue.put(text)
    while not lines.queue.empty():  # noqa: ASYNC110 - let the console take the line
        await asyncio.sleep(0)
    await asyncio.wait_for(lines.waiting.wait(), 5)


NUDGE = Reply(
    text="B-1 “creds” was logged 2 days ago and still has no owner. Who takes it?",
    actions=FOLLOW_UPS,
)


async def test_buttons_of_a_message_sent_on_its_own_are_pressed_by_number() -> None:
    out = io.StringIO()
    lines = QueuedLines()
    core = ScriptedCore()
    console = Console(core, user="ana", channel="proj", lines=lines, out=out, interactive=True)
    running = asyncio.create_task(console.run())
    await lines.waiting.wait()
    await console.show(NUDGE)
    shown = out.getvalue()
    assert "  1) Take it myself\n  2) Assign someone\n  3) Set a date\n" in shown
    assert "Type 1-3 at the prompt to press one of them." in shown
    await typed(lines, "1")  # Take it myself
    assert core.sent()[-1] == ("raid", "", "take:B-1", {})
    assert "@ana now owns B-1." in out.getvalue()
    await typed(lines, "2")  # pressed already: the offer is gone, a number is no command
    assert out.getvalue().count(HINT) == 1
    assert len(core.requests) == 1
    await lines.queue.put(None)
    assert await running == 0


async def test_a_button_with_a_form_asks_it_and_a_wrong_number_says_which() -> None:
    out = io.StringIO()
    lines = QueuedLines()
    core = ScriptedCore()
    console = Console(core, user="ana", channel="proj", lines=lines, out=out, interactive=True)
    running = asyncio.create_task(console.run())
    await lines.waiting.wait()
    await console.show(NUDGE)
    await typed(lines, "7")
    assert out.getvalue().count("Type 1-3 at the prompt to press one of them.") == 2
    await typed(lines, "2")  # Assign someone: its form
    await typed(lines, "@dana")
    assert core.sent()[-1] == ("raid", "", "assign:B-1", {"owner": "dana"})
    assert "B-1 is now owned by @dana." in out.getvalue()
    await lines.queue.put(None)
    assert await running == 0


INTERRUPT_SCRIPT = [
    "/blocker",  # a form
    "\x03",  # leaves the form
    "/raid list",  # a reply with a More button: "Pick 1"
    "\x03",  # skips the question
    "\x03",  # at the command prompt: asks
    "/as dana",  # something else: the next Ctrl-C asks again
    "\x03",
    "\x03",  # two in a row: leaves
]


async def test_ctrl_c_leaves_a_form_then_asks_and_leaves_on_the_second() -> None:
    out = io.StringIO()
    lines = QueuedLines()
    core = ScriptedCore()
    console = Console(core, user="ana", channel="proj", lines=lines, out=out, interactive=True)
    running = asyncio.create_task(console.run())
    await lines.waiting.wait()
    for line in INTERRUPT_SCRIPT[:-1]:
        await typed(lines, line)
    await lines.queue.put(INTERRUPT_SCRIPT[-1])
    assert await asyncio.wait_for(running, 5) == 0
    text = out.getvalue()
    assert CANCELLED in text
    assert [r.command for r in core.requests] == ["blocker", "raid"]  # nothing saved
    # a Ctrl-C then something else: asked again on the next; two in a row leave
    assert text.count("Press Ctrl-C again, or type quit, to leave raidline.") == 2
    assert "You are now @dana." in text


# --------------------------------------------------------------------------------------------
# Part 2: the real program as a subprocess
# --------------------------------------------------------------------------------------------

TIMEOUT = 60


class Session:
    """``raidline console`` (or ``command``) as a subprocess that the test talks to line by
    line."""

    def __init__(
        self,
        db: Path,
        *args: str,
        command: str = "console",
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "adapters", command, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=clean_env(db, env),
            cwd=db.parent,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def send(self, line: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(line + "\n")
        self._process.stdin.flush()

    def next_line(self) -> str:
        line = self._lines.get(timeout=TIMEOUT)
        if line is None:
            raise AssertionError("raidline ended early; it showed:\n" + "\n".join(self.seen))
        self.seen.append(line)
        return line

    def until(self, predicate: Callable[[str], bool]) -> str:
        while True:
            line = self.next_line()
            if predicate(line):
                return line

    def close(self) -> tuple[int, str]:
        """End the input; returns the exit status and stderr."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        while self._lines.get(timeout=TIMEOUT) is not None:
            pass
        status = self._process.wait(timeout=TIMEOUT)
        assert self._process.stderr is not None
        return status, self._process.stderr.read()


def clean_env(db: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without any raidline settings, on the SQLite file ``db``."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "RAIDLINE_", "DATABASE_URL"))
    }
    environment.update({"DATABASE_URL": f"sqlite:///{db}", "NO_COLOR": "1", "USER": "ana"})
    environment.update(extra or {})
    return environment


def raidline(
    *args: str, db: Path, stdin: str = "", env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=clean_env(db, env),
        cwd=db.parent if db.parent.exists() else db.parent.parent,  # no .env of the checkout
        timeout=TIMEOUT,
        check=False,
    )


def blocks(output: str) -> dict[str, str]:
    """Each rendered card by its ref: ``{"B-1": "B-1  Title\\n    blocker · open\\n..."}``."""
    found: dict[str, str] = {}
    for block in output.split("\n\n"):
        lines = block.splitlines()
        for number, line in enumerate(lines):
            ref = line.split("  ", 1)[0]
            is_ref = len(ref) >= 3 and ref[0] in "BRDCM" and ref[1] == "-" and ref[2:].isdigit()
            if is_ref and number + 1 < len(lines) and lines[number + 1].startswith("    "):
                found[ref] = "\n".join(lines[number:])  # the latest showing wins
    return found


FIRST_SESSION = "\n".join(
    [
        "/blocker Waiting on firewall change from NetOps @dana due Friday",
        "/risk Vendor may slip the SSO delivery likelihood high impact medium @bob"
        " review in 2 weeks mitigation weekly vendor check-in",
        "/decision Use PostgreSQL 16 for the cutover",
        "/decision needed Pick the SSO vendor @cio by next tuesday",
        "/change Add CRM integration to scope impact schedule +2 weeks, cost +8k @sponsor"
        " because sales needs leads in CRM",
        "/raid list",
        "/raid settings leads @ana",
        "/as erin",
        "/raid resolve B-1 not mine",
        "/raid approve C-1",
        "/as dana",
        "/raid resolve B-1 firewall rule merged",
        "/as sponsor",
        "/raid approve C-1",
        "",
    ]
)


def check_first_session(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    shown = result.stdout
    cards = blocks(shown)
    assert cards["R-1"].startswith("R-1  Vendor may slip the SSO delivery\n    risk · open")
    for line in ("Owner: @bob", "Likelihood: high (4)", "Impact: medium (3)", "Score: 12"):
        assert f"\n    {line}" in cards["R-1"]
    assert "Mitigation: weekly vendor check-in" in cards["R-1"]
    assert cards["D-1"].startswith("D-1  Use PostgreSQL 16 for the cutover\n    decision · decided")
    assert cards["D-2"].startswith("D-2  Pick the SSO vendor\n    decision · needs a decision")
    assert "\n    Decider: @cio" in cards["D-2"]
    assert "\n    Approver: @sponsor" in cards["C-1"]
    assert "schedule +2 weeks" in cards["C-1"] and "cost +8k" in cards["C-1"]
    # The list shows every open item by ref and title.
    listing = shown.split("Add CRM integration to scope", 2)[2]
    for line in (
        "B-1 Waiting on firewall change from NetOps",
        "R-1 Vendor may slip the SSO delivery",
        "D-2 Pick the SSO vendor",
        "C-1 Add CRM integration to scope",
    ):
        assert line in listing
    # erin is neither owner, reporter nor lead, nor the approver: refused, with who may.
    after_erin = shown.split("You are now @erin.", 1)[1].split("You are now @dana.", 1)[0]
    refusals = [line for line in after_erin.splitlines() if " may " in line]
    assert len(refusals) == 2, after_erin
    assert "resolve B-1" in refusals[0] and "@dana" in refusals[0]
    assert "approve C-1" in refusals[1] and "@sponsor" in refusals[1]
    # dana, the owner, resolves; sponsor, the approver, approves.
    assert cards["B-1"].startswith(
        "B-1  Waiting on firewall change from NetOps\n    blocker · resolved"
    )
    assert "Resolution: firewall rule merged" in cards["B-1"]
    assert "\n    change request · approved" in cards["C-1"]
    assert "Approved by: @sponsor" in cards["C-1"]


@pytest.mark.e2e
def test_a_console_session_is_kept_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "raidline.db"
    first = raidline("console", "--user", "ana", "--channel", "proj", db=db, stdin=FIRST_SESSION)
    check_first_session(first)
    assert "You are now @erin." in first.stdout

    second = raidline(
        "console",
        "--user",
        "ana",
        "--channel",
        "proj",
        db=db,
        stdin="/raid history B-1\n/raid show C-1\n/blocker Badge access for the contractors\n",
    )
    assert second.returncode == 0, second.stderr
    history = second.stdout.split("\n\nC-1  ", 1)[0]
    # Wrapped lines continue two columns in: join them back to one event per line.
    events = [
        " ".join(e.split()) for e in history.replace("\n    ", " ").splitlines() if "· @" in e
    ]
    assert len(events) == 2, history
    assert "@ana created" in events[0] and "Waiting on firewall change from NetOps" in events[0]
    assert "@dana resolved" in events[1] and "firewall rule merged" in events[1]
    assert "@erin" not in history  # the refused attempt changed nothing
    cards = blocks(second.stdout)
    assert "\n    change request · approved" in cards["C-1"]
    assert "B-2" in cards  # refs continue; B-1 is never reused
    assert cards["B-2"].startswith("B-2  Badge access for the contractors")


@pytest.mark.e2e
def test_a_form_filled_through_standard_input(tmp_path: Path) -> None:
    session = Session(tmp_path / "raidline.db", "--user", "ana", "--channel", "proj")
    answers = {"Title": "Printer is broken", "Owner": "@erin", "Due": "tomorrow"}
    session.send("/blocker")
    session.until(lambda line: "answer each question; /cancel stops." in line)
    while True:
        line = session.until(lambda line: line.endswith(":") or line.startswith("B-1  "))
        if line.startswith("B-1  "):
            break
        label = line.split(" (", 1)[0].rstrip(":")
        session.send(answers.get(label, ""))
    assert line == "B-1  Printer is broken"
    card = [session.next_line() for _ in range(3)]
    assert card[0] == "    blocker · open"
    assert card[1] == "    Owner: @erin"
    assert card[2].startswith("    Due: ")
    # A second form, left with /cancel: nothing is saved.
    session.send("/risk")
    session.until(lambda line: line.endswith(":"))
    session.send("/cancel")
    session.until(lambda line: line == CANCELLED)
    session.send("/raid list risks")
    status, stderr = session.close()
    assert status == 0, stderr
    assert not any(line.startswith("  R-1") for line in session.seen)
    assert "Title:" in session.seen


@pytest.mark.e2e
def test_run_without_credentials_on_a_pipe_says_so_in_one_line_on_stderr(tmp_path: Path) -> None:
    """A container with a forgotten token must not look like a quiet, healthy bot; the
    commands' output on stdout stays clean, and the end of input is a normal end (0)."""
    db = tmp_path / "raidline.db"
    result = raidline("run", db=db, stdin="/raid list\n")
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stderr.splitlines() if not line[:4].isdigit()]  # no logs
    assert said == [
        "raidline: no chat platform is configured (SLACK_BOT_TOKEN, DISCORD_BOT_TOKEN); "
        "reading console commands from standard input"
    ]
    assert result.stdout.startswith("Open items: none.")  # the answer, and no banner


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 - a local URL
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.e2e
def test_run_without_credentials_answers_healthz_while_the_console_runs(tmp_path: Path) -> None:
    """A container without chat credentials: the image's health check (GET /healthz on
    RAIDLINE_HTTP_PORT) passes while the console runs, and stops with it."""
    port = free_port()
    session = Session(
        tmp_path / "raidline.db",
        command="run",
        env={"RAIDLINE_HTTP_HOST": "127.0.0.1", "RAIDLINE_HTTP_PORT": str(port)},
    )
    session.send("/raid list")  # answered once it is up
    session.until(lambda line: line.startswith("Open items"))
    base = f"http://127.0.0.1:{port}"
    assert get(base + "/healthz") == (200, '{"status": "ok"}')
    assert get(base + "/readyz")[0] == 404  # no chat platform: nothing to be ready for
    session.send("/blocker Printer is broken")
    session.until(lambda line: line.startswith("B-1  Printer is broken"))
    assert get(base + "/healthz")[0] == 200
    status, stderr = session.close()
    assert status == 0, stderr
    with pytest.raises(urllib.error.URLError):  # the server ended with the console
        get(base + "/healthz")


@pytest.mark.e2e
def test_the_console_hands_out_a_calendar_link_that_opens(tmp_path: Path) -> None:
    """``make run`` -> ``/raid calendar`` -> a link a calendar on the same machine can read;
    after ``/raid calendar reset`` the old one is a 404."""
    port = free_port()
    session = Session(
        tmp_path / "raidline.db",
        command="run",
        env={"RAIDLINE_HTTP_HOST": "127.0.0.1", "RAIDLINE_HTTP_PORT": str(port)},
    )
    session.send("/raid list")  # answered once it is up
    session.until(lambda line: line.startswith("Open items"))
    session.send("/blocker Printer is broken due friday")
    session.until(lambda line: line.startswith("B-1  Printer is broken"))
    link = re.compile(rf"http://127\.0\.0\.1:{port}/calendar/[A-Za-z0-9_-]{{43}}\.ics")
    session.send("/raid calendar")
    old = link.search(session.until(link.search))
    assert old is not None
    status, body = get(old.group(0))
    assert status == 200
    assert "SUMMARY:#general · B-1 due: Printer is broken" in body
    session.send("/raid calendar reset")
    new = link.search(session.until(link.search))
    assert new is not None
    assert get(old.group(0)) == (404, "Not found\n")
    assert get(new.group(0))[0] == 200
    status, stderr = session.close()
    assert status == 0, stderr


@pytest.mark.e2e
def test_a_busy_health_port_does_not_stop_the_console(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = raidline(
            "run",
            db=tmp_path / "raidline.db",
            stdin="/blocker Printer is broken\n",
            env={"RAIDLINE_HTTP_HOST": "127.0.0.1", "RAIDLINE_HTTP_PORT": str(port)},
        )
    assert result.returncode == 0, result.stderr
    assert "B-1  Printer is broken" in result.stdout
    (warning,) = [line for line in result.stderr.splitlines() if "/healthz" in line]
    assert f"not serving /healthz on 127.0.0.1:{port}" in warning
    assert "the console runs without it" in warning


@pytest.mark.e2e
def test_without_its_web_server_the_console_gives_no_calendar_link(tmp_path: Path) -> None:
    result = raidline("console", db=tmp_path / "raidline.db", stdin="/raid calendar\n")
    assert result.returncode == 0, result.stderr
    assert "There is no calendar feed here" in result.stdout
    assert "/calendar/" not in result.stdout


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"RAIDLINE_TIMEZONE": "Mars/Olympus"}, "RAIDLINE_TIMEZONE"),
        ({"RAIDLINE_HTTP_PORT": "99999"}, "RAIDLINE_HTTP_PORT"),
        (
            {"SLACK_BOT_TOKEN": "xoxp-leaked-user-token", "SLACK_APP_TOKEN": "xapp-1"},
            "SLACK_BOT_TOKEN",
        ),
        ({"DATABASE_URL": "mysql://db/raid"}, "DATABASE_URL"),
    ],
)
def test_a_malformed_setting_stops_start_up_with_one_line(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    result = raidline("run", db=tmp_path / "raidline.db", env=env)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"raidline: {variable}: ")
    assert "leaked" not in line
    assert not (tmp_path / "raidline.db").exists()


@pytest.mark.e2e
def test_an_unreachable_database_is_one_clear_line(tmp_path: Path) -> None:
    db = tmp_path / "missing-dir" / "raidline.db"
    result = raidline("console", db=db)
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert line.startswith("raidline: can't reach the database at sqlite:///")
    assert "DATABASE_URL" in line


@pytest.mark.e2e
def test_export_prints_one_json_object_with_items(tmp_path: Path) -> None:
    db = tmp_path / "raidline.db"
    check_first_session(
        raidline("console", "--user", "ana", "--channel", "proj", db=db, stdin=FIRST_SESSION)
    )
    result = raidline("export", "--channel", "proj", "--format", "json", db=db)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    items = {item["ref"]: item for item in document["items"]}
    assert set(items) == {"B-1", "R-1", "D-1", "D-2", "C-1"}
    blocker = items["B-1"]
    assert (blocker["kind"], blocker["status"], blocker["owner"]) == ("blocker", "resolved", "dana")
    assert blocker["title"] == "Waiting on firewall change from NetOps"
    assert blocker["due"].endswith("+00:00") and "T17:00:00" in blocker["due"]
    assert [event["action"] for event in blocker["events"]][:1] == ["created"]
    assert len(blocker["events"]) == 2

    output = tmp_path / "proj.md"
    written = raidline(
        "export", "--channel", "#proj", "--format", "md", "--output", str(output), db=db
    )
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert "B-1" in output.read_text() and "Pick the SSO vendor" in output.read_text()

    unknown = raidline("export", "--channel", "nope", "--format", "csv", db=db)
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "raidline: no channel 'nope'; known channels: console:local:proj"
    )
    qualified = raidline("export", "--channel", "console:local:proj", "--format", "csv", db=db)
    assert qualified.returncode == 0 and "Waiting on firewall change" in qualified.stdout


@pytest.mark.e2e
def test_migrate_on_a_fresh_file(tmp_path: Path) -> None:
    db = tmp_path / "fresh.db"
    first = raidline("migrate", db=db)
    assert first.returncode == 0, first.stderr
    assert db.exists()
    (line,) = first.stdout.splitlines()
    assert line.startswith(f"Database sqlite:///{db} is at revision ")
    assert not line.endswith("revision none.")
    again = raidline("migrate", db=db)
    assert (again.returncode, again.stdout) == (0, first.stdout)


# --------------------------------------------------------------------------------------------
# PostgreSQL: the same program on a throwaway database (when RAIDLINE_TEST_POSTGRES_URL is set)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get("RAIDLINE_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("needs RAIDLINE_TEST_POSTGRES_URL")
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    admin_url = sa.make_url(base).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"raidline_e2e_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.mark.e2e
@pytest.mark.postgres
def test_migrate_console_restart_and_export_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    db = tmp_path / "unused.db"
    env = {"DATABASE_URL": postgres_url}
    # PostgreSQL is not migrated behind the operator's back: the console says what to run.
    early = raidline("console", db=db, env=env, stdin="/raid list\n")
    assert early.returncode == 1
    (line,) = early.stderr.splitlines()
    assert line.startswith("raidline: the database at postgresql+psycopg://")
    assert line.endswith("run `raidline migrate` first.")

    migrated = raidline("migrate", db=db, env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert " is at revision " in migrated.stdout and "revision none" not in migrated.stdout

    first = raidline("console", "--channel", "proj", db=db, env=env, stdin=FIRST_SESSION)
    check_first_session(first)
    second = raidline("console", "--channel", "proj", db=db, env=env, stdin="/raid show B-1\n")
    assert blocks(second.stdout)["B-1"].splitlines()[1] == "    blocker · resolved"

    exported = raidline("export", "--channel", "proj", "--format", "json", db=db, env=env)
    assert exported.returncode == 0, exported.stderr
    refs = sorted(item["ref"] for item in json.loads(exported.stdout)["items"])
    assert refs == ["B-1", "C-1", "D-1", "D-2", "R-1"]
    assert not db.exists()  # PostgreSQL only: no SQLite file was made on the side


@pytest.mark.e2e
def test_milestones_dependencies_and_tracker_links_in_the_console(tmp_path: Path) -> None:
    session = "\n".join(
        [
            "/milestone Design approved due 15 Jan @ana",
            "/blocker Style guide late @dana for M-1 link OPS-3",
            "/blocker Build waits @erin",
            "/raid link B-2 depends-on B-1",
            "/raid link B-1 depends-on B-2",
            "/raid settings links OPS=https://ops.example/browse/{}",
            "/raid show M-1",
            "/raid show B-1",
            "",
        ]
    )
    result = raidline(
        "console", "--user", "ana", "--channel", "proj", db=tmp_path / "r.db", stdin=session
    )
    assert result.returncode == 0, result.stderr
    shown = result.stdout
    assert "Planned M-1: Design approved" in shown
    assert "B-2 depends on B-1 now" in shown
    assert "can't depend on B-2" in shown  # the loop, refused
    cards = blocks(shown)
    assert "milestone · open · at risk" in cards["M-1"]
    assert "Health: at risk: blocker B-1 is open" in " ".join(cards["M-1"].split())
    joined = " ".join(cards["B-1"].split())
    assert "Milestone: M-1" in joined and "Needed by: B-2" in joined
    assert "OPS-3 https://ops.example/browse/OPS-3" in joined
