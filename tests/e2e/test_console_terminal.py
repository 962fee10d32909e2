"""The console in a real pseudo-terminal: line editing, history, Ctrl-L, Ctrl-C, styling and
wrapping, as a person at a terminal gets them.

``raidline console`` runs as a subprocess whose standard input, output and error are the slave
side of a pty (``os.openpty``); the test types bytes into the master side and reads what the
terminal would show. Every read waits with ``select`` and a hard deadline: on a timeout the
process is killed and the test fails with everything shown so far, so nothing can hang.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.console import CANCELLED, LEAVE_HINT
from tests.e2e.test_console import clean_env, free_port

#: Longest a single step may take (the first prompt includes start-up and migrations).
STEP = 30.0
PROMPT = "raidline #general @ana>"  # its last space is a cursor movement on the terminal
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|\r")

UP, LEFT, CTRL_C, CTRL_L = "\x1b[A", "\x1b[D", "\x03", "\x0c"


def visible(raw: str) -> str:
    """What a person reads: the output without escape sequences and carriage returns."""
    return _ANSI.sub("", raw)


def _find(raw: str, text: str) -> int | None:
    """Where in ``raw`` the visible ``text`` ends, or None."""
    chars: list[str] = []
    ends: list[int] = []
    i = 0
    while i < len(raw):
        escape = _ANSI.match(raw, i)
        if escape:
            i = escape.end()
            continue
        chars.append(raw[i])
        ends.append(i + 1)
        i += 1
    found = "".join(chars).find(text)
    return None if found < 0 else ends[found + len(text) - 1]


class Terminal:
    """``raidline console`` on a pty of ``columns`` x 24."""

    def __init__(self, tmp_path: Path, *, columns: int = 100, color: bool = False) -> None:
        env = clean_env(tmp_path / "raidline.db")
        env.update(
            {
                "TERM": "xterm",
                "XDG_STATE_HOME": str(tmp_path / "state"),
                # the test answers no cursor-position request; don't wait for one
                "PROMPT_TOOLKIT_NO_CPR": "1",
                "PYTHONUNBUFFERED": "1",
                "RAIDLINE_HTTP_PORT": str(free_port()),
            }
        )
        if color:
            env.pop("NO_COLOR", None)
        for sized in ("COLUMNS", "LINES"):  # the terminal's own size, not the test runner's
            env.pop(sized, None)
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "adapters", "console", "--user", "ana"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            cwd=tmp_path,
            start_new_session=True,
        )
        os.close(slave)
        self.raw = ""
        self._seen = 0  # how much of ``raw`` earlier waits consumed

    def _fail(self, why: str) -> None:
        self.kill()
        pytest.fail(f"{why}; the terminal showed:\n{visible(self.raw)}")

    def _read_some(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
        if ready:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                return False
            self.raw += chunk.decode("utf-8", "replace")
        return True

    def wait_for(self, text: str, *, raw: bool = False, timeout: float = STEP) -> str:
        """Read until ``text`` shows after what earlier waits consumed (up to its end);
        returns that stretch of the raw output."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.raw[self._seen :]
            if raw:
                at = shown.find(text)
                end = None if at < 0 else at + len(text)
            else:
                end = _find(shown, text)
            if end is not None:
                self._seen += end
                return shown[:end]
            if not self._read_some(deadline):
                if time.monotonic() >= deadline:
                    self._fail(f"no {text!r} within {timeout} s")
                if self.process.poll() is not None:
                    self._fail(f"raidline ended (status {self.process.returncode}) before {text!r}")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def line(self, text: str) -> None:
        self.type(text + "\r")

    def exit_status(self, timeout: float = STEP) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if not self._read_some(deadline) and time.monotonic() >= deadline:
                self._fail(f"raidline did not end within {timeout} s")
        while self._read_some(time.monotonic() + 0.2):
            pass
        return self.process.returncode

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def close(self) -> None:
        self.kill()
        os.close(self.master)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    try:
        term.wait_for(PROMPT)
        yield term
    finally:
        term.close()


@pytest.mark.e2e
def test_history_and_line_editing(terminal: Terminal, tmp_path: Path) -> None:
    terminal.line("/blocker Waiting on the keys")
    terminal.wait_for("Logged B-1: Waiting on the keys")
    terminal.wait_for("3) Set a date")
    terminal.line("")  # no follow-up
    terminal.wait_for(PROMPT)
    terminal.type(UP * 2)  # past the empty answer, the line before, from the history
    terminal.type("\r")
    terminal.wait_for("Logged B-2: Waiting on the keys")
    terminal.wait_for("3) Set a date")
    terminal.line("")
    terminal.wait_for(PROMPT)
    terminal.type("/raid sho B-2" + LEFT * 4 + "w\r")  # fixed in the middle of the line
    shown = visible(terminal.wait_for("B-2  Waiting on the keys"))
    assert "No such" not in shown and "did you mean" not in shown.lower()
    terminal.wait_for(PROMPT)
    terminal.line("quit")
    assert terminal.exit_status() == 0
    history = (tmp_path / "state" / "raidline" / "history").read_text()
    assert "/blocker Waiting on the keys" in history and "/raid show B-2" in history


@pytest.mark.e2e
def test_ctrl_l_clears_the_screen(terminal: Terminal) -> None:
    terminal.type(CTRL_L)
    terminal.wait_for("\x1b[2J", raw=True)
    terminal.line("exit")
    assert terminal.exit_status() == 0


@pytest.mark.e2e
def test_ctrl_c_cancels_a_form_and_keeps_the_session(terminal: Terminal) -> None:
    terminal.line("/blocker")  # no text: the form asks its questions
    terminal.wait_for("Title")
    terminal.type("Half a tit")
    terminal.type(CTRL_C)
    terminal.wait_for(CANCELLED)
    terminal.wait_for(PROMPT)
    terminal.line("/raid list")
    terminal.wait_for("Open items: none")
    terminal.wait_for(PROMPT)
    terminal.type(CTRL_C)  # at the command prompt: asks first
    terminal.wait_for(LEAVE_HINT)
    terminal.wait_for(PROMPT)
    terminal.type(CTRL_C)  # and leaves on the second, cleanly
    assert terminal.exit_status() == 0


@pytest.mark.e2e
def test_ctrl_d_on_an_empty_line_leaves(terminal: Terminal) -> None:
    terminal.type("\x04")
    assert terminal.exit_status() == 0


@pytest.mark.e2e
def test_markup_is_styled_and_text_wraps_to_the_terminal(tmp_path: Path) -> None:
    term = Terminal(tmp_path, columns=50, color=True)
    try:
        term.wait_for(PROMPT)
        term.line("hello")  # not a command: the hint, with `/raid help` in it
        shown = term.wait_for("lists them all", timeout=STEP)
        assert "\x1b[4m/raid help\x1b[0m" in shown  # underlined, no backticks
        assert "`" not in visible(shown)
        hint = [line for line in visible(shown).split("\n") if line.strip()]
        assert len(hint) > 2  # the hint is longer than one line of 50 columns
        # nothing on the screen is wider than the terminal (a word longer than a line, such
        # as the database's path, stays whole; log lines are the log's)
        lines = visible(term.raw).replace(PROMPT + " hello", "").replace(PROMPT, "").split("\n")
        too_wide = [
            line
            for line in lines
            if len(line) > 50 and " " in line.strip() and " INFO " not in line
        ]
        assert too_wide == []
        term.wait_for(PROMPT)
        term.line("quit")
        assert term.exit_status() == 0
    finally:
        term.close()
