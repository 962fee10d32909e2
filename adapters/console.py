"""The local console: type commands as in chat, read the replies.

Lines come from a :class:`LineSource` (stdin in production, a list in tests) and replies go to a
text stream, so the whole conversation can be driven in-process. The console only does plumbing:
it turns lines into :class:`~bot.messages.Request` objects, prints the core's replies, asks a
reply's form fields one at a time, offers its follow-up actions as a numbered list and saves its
files. Everything a user reads about items comes from the core.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TextIO

from bot.domain.limits import MAX_IMPORT_BYTES
from bot.domain.model import ChannelKey
from bot.errors import apology, report_incident
from bot.messages import (
    Action,
    Choice,
    Form,
    FormField,
    InputKind,
    Outgoing,
    Reply,
    Request,
    Section,
    Tone,
)
from bot.views.plain import WIDTH, numbered_actions, plain, render_text, styled, wrap

log = logging.getLogger(__name__)

PLATFORM = "console"
WORKSPACE = "local"

HINT = (
    "Commands start with `/`, e.g. `/blocker Waiting on creds @dana due friday`; "
    "`/raid help` lists them all."
)
CANCELLED = "Cancelled; nothing was saved."
QUIT_COMMANDS = frozenset({"quit", "exit"})
#: The console's own commands, added to the help (they never reach the core).
CONSOLE_HELP = Section(
    "This console",
    (
        "/as NAME: speak as someone else from now on, e.g. `/as dana`",
        "/cancel: leave a form or a list of choices; nothing is saved",
        "/quit, /exit, or just `quit` or `exit`: leave the console",
    ),
)

_NAME_RE = re.compile(r"^[\w.\-]+$")
_MENTION_RE = re.compile(r"^<@!?([^>|\s]+)(?:\|[^>]*)?>$")


class CoreLike(Protocol):
    """What the console needs from the core: one request in, one reply out, never raising."""

    async def handle(self, request: Request) -> Reply: ...


class LineSource(Protocol):
    async def readline(self) -> str | None:
        """The next line without its line ending; ``None`` at the end of input."""
        ...


class StreamLines:
    """Reads a text stream one line at a time on a daemon thread.

    Works the same for a terminal, a pipe or an in-memory stream. A daemon thread (not the
    default executor) so that a read still blocked on a terminal never delays the exit.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending: asyncio.Future[str] | None = None
        self._eof = False

    async def readline(self) -> str | None:
        if self._eof:
            return None
        if self._pending is None:
            self._pending = self._start_read()
        # Shielded: if the caller is cancelled, the line being read is kept for the next call.
        line = await asyncio.shield(self._pending)
        self._pending = None
        if line == "":
            self._eof = True
            return None
        return line.rstrip("\r\n")

    def _start_read(self) -> asyncio.Future[str]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()

        def deliver(line: str | None, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(line or "")

        def work() -> None:
            try:
                line = self._stream.readline()
            except (OSError, ValueError) as exc:  # closed stream: treat as end of input
                log.debug("console input closed: %s", exc)
                line = ""
            except BaseException as exc:  # pragma: no cover - delivered to the awaiting task
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(deliver, None, exc)
                return
            # RuntimeError: the loop is gone, nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(deliver, line, None)

        threading.Thread(target=work, name="raidline-console-stdin", daemon=True).start()
        return future


#: What :class:`TerminalLines` gives for Ctrl-C at a prompt (never a typed line).
INTERRUPTED = "\x03"
#: Said after a first Ctrl-C at the command prompt.
LEAVE_HINT = "Press Ctrl-C again, or type quit, to leave raidline."


class TerminalLines:
    """Lines typed at a terminal, with line editing (arrows, Home/End, Ctrl-A/E/K/W...),
    history (up/down, Ctrl-R; kept in ``history_file``) and Ctrl-L to clear the screen.

    It shows the prompt itself (``prompts``), so that editing redraws it. Ctrl-C gives
    :data:`INTERRUPTED`, Ctrl-D on an empty line the end of input. Output written meanwhile
    (scheduled messages, log lines) appears above the prompt when the console runs inside
    prompt_toolkit's ``patch_stdout`` (:func:`adapters.runtime.lifecycle.run_console`).
    """

    prompts = True

    def __init__(self, history_file: Path | None = None) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, History, InMemoryHistory

        history: History = InMemoryHistory()
        if history_file is not None:
            try:
                history_file.parent.mkdir(parents=True, exist_ok=True)
                history_file.touch(exist_ok=True)
                history = FileHistory(str(history_file))
            except OSError as exc:
                log.warning(
                    "console history is not kept: can't use %s (%s)",
                    history_file,
                    exc.strerror or exc,
                )
        self._session: PromptSession[str] = PromptSession(history=history)

    async def readline(self, prompt: str | None = None) -> str | None:
        from prompt_toolkit.formatted_text import ANSI

        try:
            return await self._session.prompt_async(ANSI(prompt or ""))
        except KeyboardInterrupt:
            return INTERRUPTED
        except EOFError:
            return None


def state_dir() -> Path:
    """Where raidline keeps what is the user's own (the console's history):
    ``$XDG_STATE_HOME/raidline``, else ``~/.local/state/raidline``."""
    base = os.environ.get("XDG_STATE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".local" / "state") / "raidline"


class _Cancelled(Exception):
    """The user left a form (``/cancel``, another command, or the end of input)."""


#: Where the console saves the files the bot hands over (``/raid export``), from the
#: directory raidline runs in.
EXPORTS_DIR = Path("exports")


class Console:
    """A chat channel in the terminal: ``#channel`` of workspace ``local``, as ``@user``."""

    def __init__(
        self,
        core: CoreLike,
        *,
        user: str,
        channel: str,
        lines: LineSource,
        out: TextIO,
        interactive: bool = False,
        color: bool = False,
        files_dir: Path | None = None,
        workspace: str = WORKSPACE,
        width: Callable[[], int] | None = None,
    ) -> None:
        self.core = core
        self.user = _person(user) or "me"
        self.channel = channel.lstrip("#") or "general"
        self.workspace = workspace
        self._lines = lines
        self._out = out
        self._interactive = interactive
        self._color = color
        #: where files the bot hands over (exports) are saved; git ignores ``exports/``
        self._files_dir = files_dir if files_dir is not None else EXPORTS_DIR
        self._queued: list[str] = []  # lines that ended a question and run as the next command
        self._prompt_on_screen: str | None = None
        self._sent = 0
        #: the buttons of the last message raidline sent on its own, pressed by number
        self._offered: tuple[Action, ...] = ()
        #: the terminal's width when it is one (read at each reply), else 80 columns
        self._width = width

    # -- public ---------------------------------------------------------------------------

    @property
    def channel_key(self) -> ChannelKey:
        return ChannelKey(PLATFORM, self.workspace, self.channel)

    @property
    def prompt(self) -> str:
        return f"raidline #{self.channel} @{self.user}> "

    async def run(self) -> int:
        """Read and run lines until ``/quit`` or the end of input. Returns the exit status.

        Ctrl-C at the command prompt asks once (:data:`LEAVE_HINT`); a second one in a row
        leaves, with status 0 like ``quit``."""
        interrupted = False
        while True:
            line = await self._next_command_line()
            if line is None:
                if self._interactive:
                    self._write("")
                return 0
            if line == INTERRUPTED:
                if interrupted:
                    return 0
                interrupted = True
                self._say(LEAVE_HINT)
                continue
            interrupted = False
            if not await self.execute(line):
                return 0

    async def execute(self, line: str) -> bool:
        """Run one typed line. Returns ``False`` when the user asked to leave."""
        text = line.strip()
        if not text:
            return True
        if text.lower() in QUIT_COMMANDS:
            return False
        if text.isdigit() and self._offered:
            await self._press_offered(int(text))
            return True
        if not text.startswith("/"):
            self._say(HINT)
            return True
        name, _, rest = text[1:].partition(" ")
        command = name.strip().lower()
        rest = rest.strip()
        if command in QUIT_COMMANDS:
            return False
        if not command:
            self._say(HINT)
            return True
        if command == "as":
            self._switch_user(rest)
            return True
        if command == "cancel":
            self._say("Nothing to cancel.")
            return True
        if command in ("help", "?"):
            command, rest = "raid", ("help " + rest).strip()
        attachments = self._attachments(command, rest)
        if attachments is None:
            return True
        request = Request(
            self.channel_key, self.user, command=command, text=rest, attachments=attachments
        )
        reply = await self._send(request)
        if command == "raid" and rest.lower() in ("help", "?") and reply.tone is not Tone.ERROR:
            reply = dataclasses.replace(reply, sections=(*reply.sections, CONSOLE_HELP))
        await self._follow(reply, command)
        return True

    async def show(self, reply: Reply) -> None:
        """Print a message the bot sends on its own (scheduler: standups, nudges, digests).

        If a prompt is waiting for input, the message goes on its own lines and the prompt
        is shown again underneath.
        """
        prompts_itself = getattr(self._lines, "prompts", False)
        waiting = None if prompts_itself else self._prompt_on_screen
        if waiting is not None:
            self._out.write("\n")
        self._print_reply(reply)
        self._save_files(reply)  # a digest's chart: its file's path is shown
        if reply.actions:
            # Its buttons, as numbers typed at the prompt (the prompt may be waiting now).
            self._offered = tuple(reply.actions)
            self._write(numbered_actions(reply.actions))
            self._write(_offer_hint(len(reply.actions)))
        if waiting is not None:
            self._out.write(waiting)
            self._out.flush()

    async def send(self, message: Outgoing) -> str | None:
        """``Messenger.send`` for console channels: scheduled messages appear here."""
        heading = []
        if message.channel != self.channel_key:
            heading.append(f"#{message.channel.channel}")
        if message.to_user:
            heading.append(f"direct message to @{message.to_user}")
        if message.edit:
            heading.append(f"updates {message.edit}")
        reply = message.reply
        if heading:
            reply = dataclasses.replace(reply, text=f"[{', '.join(heading)}] {reply.text}")
        await self.show(reply)
        if message.edit:
            return message.edit
        self._sent += 1
        return f"console-{self._sent}"

    # -- the conversation after a reply -----------------------------------------------------

    async def _follow(self, reply: Reply, command: str) -> None:
        """Show a reply, save its files, then fill its form or offer its actions, repeatedly."""
        while True:
            self._print_reply(reply)
            self._save_files(reply)
            if reply.form is not None:
                next_reply = await self._complete_form(reply.form, reply.form.form_id, command)
            elif reply.actions:
                next_reply = await self._choose_action(reply.actions, command)
            else:
                return
            if next_reply is None:
                return
            reply = next_reply

    async def _press_offered(self, number: int) -> None:
        """Press button ``number`` of the last message raidline sent on its own."""
        offered = self._offered
        if not 1 <= number <= len(offered):
            self._say(_offer_hint(len(offered)))
            return
        self._offered = ()
        reply = await self._press(offered[number - 1], "raid")
        if reply is not None:
            await self._follow(reply, "raid")

    async def _press(self, action: Action, command: str) -> Reply | None:
        """Click ``action``: fill its form first when it has one (None when left)."""
        if action.form is not None:
            return await self._complete_form(action.form, action.action_id, command)
        return await self._send(
            Request(self.channel_key, self.user, command=command, action_id=action.action_id)
        )

    async def _choose_action(self, actions: Sequence[Action], command: str) -> Reply | None:
        self._write(numbered_actions(actions))
        question = f"Pick 1-{len(actions)} (Enter to skip): "
        if len(actions) == 1:
            question = "Pick 1 (Enter to skip): "
        for attempt in range(2):
            answer = await self._ask(question)
            if answer is None:
                return None
            answer = answer.strip()
            if not answer or answer.lower() == "/cancel" or answer == INTERRUPTED:
                return None
            if answer.startswith("/"):
                self._queued.append(answer)
                return None
            if answer.isdigit() and 1 <= int(answer) <= len(actions):
                return await self._press(actions[int(answer) - 1], command)
            if attempt == 0:
                self._say(f"Please type a number from 1 to {len(actions)}, or press Enter to skip.")
        self._say("Skipped.")
        return None

    async def _complete_form(self, form: Form, action_id: str, command: str) -> Reply | None:
        """Ask every field, submit, and re-ask the fields the core complains about."""
        values: dict[str, str] = {}
        intro = f"{form.title}: answer each question; /cancel stops."
        self._say(plain(intro))
        try:
            await self._ask_fields(form.fields, values)
            while True:
                reply = await self._send(
                    Request(
                        self.channel_key,
                        self.user,
                        command=command,
                        action_id=action_id,
                        values=dict(values),
                    )
                )
                if not reply.field_errors:
                    return reply
                self._print_reply(reply)
                self._write(_field_errors(form, reply.field_errors))
                wrong = [f for f in form.fields if f.name in reply.field_errors]
                if not wrong:  # nothing the user can correct here
                    return None
                await self._ask_fields(wrong, values)
        except _Cancelled:
            self._say(CANCELLED)
            return None

    async def _ask_fields(self, fields: Iterable[FormField], values: dict[str, str]) -> None:
        for field in fields:
            answer = await self._ask_field(field)
            if answer is None:
                values.pop(field.name, None)
            else:
                values[field.name] = answer

    async def _ask_field(self, field: FormField) -> str | None:
        """The field's value, or ``None`` to leave it out. Raises :class:`_Cancelled`."""
        if field.hint:
            self._write("  " + plain(field.hint))
        if field.kind is InputKind.CHOICE and field.choices:
            self._write("  " + _choice_list(field.choices))
        question = plain(field.label)
        if not field.required:
            question += " (optional)"
        if field.default:
            question += f" [{_display_default(field)}]"
        question += ": "
        while True:
            answer = await self._ask(question)
            if answer is None:
                raise _Cancelled
            answer = answer.strip()
            if answer.lower() == "/cancel" or answer == INTERRUPTED:
                raise _Cancelled
            if answer.startswith("/"):
                self._queued.append(answer)
                raise _Cancelled
            if not answer:
                if field.default:
                    return field.default
                if not field.required:
                    return None
                self._say("This one is required.")
                continue
            value, problem = _parse_answer(field, answer)
            if problem is None:
                return value
            self._say(problem)

    # -- requests, files, output -------------------------------------------------------------

    async def _send(self, request: Request) -> Reply:
        try:
            return await self.core.handle(request)
        except Exception:  # the core should never raise; keep the console alive if it does
            incident = report_incident(
                log, f"in the console on {request.command or request.action_id}"
            )
            return Reply(text=apology(incident), tone=Tone.ERROR, incident_id=incident)

    def _attachments(self, command: str, rest: str) -> dict[str, bytes] | None:
        """``/raid import PATH [apply]``: the file at PATH, read here as a platform would
        download an attachment (None, and said why, when it can't be read)."""
        words = rest.split()
        if command != "raid" or len(words) < 2 or words[0].lower() != "import":
            return {}
        if words[-1].lower() in ("apply", "--apply"):
            words = words[:-1]
        path = " ".join(words[1:])
        if not path:
            return {}
        try:
            with Path(path).expanduser().open("rb") as handle:
                # one byte more than a register may have, so the core can say it is too big
                data = handle.read(MAX_IMPORT_BYTES + 1)
        except OSError as exc:
            self._say(f"Can't read {path}: {exc.strerror or exc}.")
            return None
        return {path: data}

    def _save_files(self, reply: Reply) -> None:
        for file in reply.files:
            try:
                self._files_dir.mkdir(parents=True, exist_ok=True)
                path, size = _write_unique(self._files_dir, file.filename, file.content)
            except OSError as exc:
                self._say(f"Could not save {file.filename}: {exc.strerror or exc}")
                continue
            self._say(f"Saved {path} ({size} bytes)")

    def _switch_user(self, rest: str) -> None:
        name = _person(rest)
        if not name or not _NAME_RE.match(name):
            self._say("Usage: /as NAME (e.g. /as dana)")
            return
        self.user = name
        self._say(f"You are now @{name}.")

    async def _next_command_line(self) -> str | None:
        if self._queued:
            return self._queued.pop(0)
        return await self._read(self.prompt if self._interactive else None)

    async def _ask(self, question: str) -> str | None:
        if self._queued:  # a pending command ends every question
            return self._queued.pop(0)
        if self._interactive:
            return await self._read(question)
        # On a pipe the question goes on its own line: the answer is not echoed.
        self._write(question.rstrip())
        return await self._read(None)

    async def _read(self, prompt: str | None) -> str | None:
        if getattr(self._lines, "prompts", False):  # a terminal: it shows the prompt itself
            return await self._lines.readline(prompt)  # type: ignore[call-arg]
        if prompt is not None:
            self._out.write(prompt)
            self._out.flush()
            self._prompt_on_screen = prompt
        try:
            return await self._lines.readline()
        finally:
            self._prompt_on_screen = None

    def _print_reply(self, reply: Reply) -> None:
        width = self._width() if self._width is not None else WIDTH
        text = render_text(reply, color=self._color, width=max(20, width - 1))
        if text:
            self._write(text)
            self._write("")

    def _say(self, text: str) -> None:
        """The console's own words: styled on a terminal, wrapped to its width."""
        if self._width is not None:
            text = wrap(text, max(20, self._width() - 1))
        self._write(styled(text, color=self._color))

    def _write(self, text: str) -> None:
        self._out.write(text + "\n")
        self._out.flush()


def _offer_hint(count: int) -> str:
    which = "1" if count == 1 else f"1-{count}"
    return f"Type {which} at the prompt to press {'it' if count == 1 else 'one of them'}."


def _person(text: str) -> str:
    """``@dana``, ``<@dana>`` or ``dana`` -> ``dana``."""
    text = text.strip()
    match = _MENTION_RE.match(text)
    if match:
        return match.group(1)
    return text.lstrip("@")


def _display_default(field: FormField) -> str:
    default = field.default or ""
    if field.kind is InputKind.CHOICE:
        for choice in field.choices:
            if choice.value == default:
                return choice.label
    if field.kind in (InputKind.USER, InputKind.USERS):
        return " ".join("@" + _person(p) for p in default.split())
    return plain(default)


def _parse_answer(field: FormField, answer: str) -> tuple[str, str | None]:
    """(value, None) or ("", what is wrong)."""
    if field.kind is InputKind.CHOICE and field.choices:
        choice = _match_choice(field.choices, answer)
        if choice is None:
            return "", f"Please answer with a number from 1 to {len(field.choices)}."
        return choice.value, None
    if field.kind is InputKind.USER:
        people = [_person(p) for p in re.split(r"[\s,]+", answer) if p.strip(" ,")]
        if len(people) != 1 or not _NAME_RE.match(people[0]):
            return "", "Please name one person, e.g. @dana."
        return people[0], None
    if field.kind is InputKind.USERS:
        people = [_person(p) for p in re.split(r"[\s,]+", answer) if p.strip(" ,")]
        if not people or not all(_NAME_RE.match(p) for p in people):
            return "", "Please name people like @dana @raj."
        return " ".join(people), None
    if field.max_length is not None and len(answer) > field.max_length:
        return "", (
            f"That is {len(answer)} characters; the limit is {field.max_length}. Please shorten it."
        )
    return answer, None


_LEADING_NUMBER_RE = re.compile(r"^\d+\s*[–—:.)-]?\s*")


def _numbered_by_value(choices: Sequence[Choice]) -> bool:
    return all(c.value == str(n) for n, c in enumerate(choices, 1))


def _choice_list(choices: Sequence[Choice]) -> str:
    """``1) avoid  2) mitigate`` or, when the values are already 1..n, the labels alone."""
    if _numbered_by_value(choices) and all(plain(c.label).startswith(c.value) for c in choices):
        return " · ".join(plain(c.label) for c in choices)
    return "  ".join(f"{n}) {plain(c.label)}" for n, c in enumerate(choices, 1))


def _match_choice(choices: Sequence[Choice], answer: str) -> Choice | None:
    """By value, then by number in the list, then by label (with or without its number)."""
    folded = answer.strip().casefold()
    for choice in choices:
        if folded == choice.value.casefold():
            return choice
    if folded.isdigit() and 1 <= int(folded) <= len(choices):
        return choices[int(folded) - 1]
    for choice in choices:
        label = plain(choice.label).casefold()
        if folded in (label, _LEADING_NUMBER_RE.sub("", label)):
            return choice
    return None


def _field_errors(form: Form, errors: Mapping[str, str]) -> str:
    labels = {f.name: f.label for f in form.fields}
    return "\n".join(
        f"  {plain(labels.get(name, name))}: {plain(message)}" for name, message in errors.items()
    )


def _write_unique(directory: Path, filename: str, content: bytes) -> tuple[Path, int]:
    """Write ``content`` as ``filename`` in ``directory``; never overwrite (``-1``, ``-2``...)."""
    name = Path(filename).name or "raidline-export"
    stem, dot, suffix = name.partition(".")
    for n in range(10_000):
        candidate = directory / (name if n == 0 else f"{stem}-{n}{dot}{suffix}")
        try:
            with candidate.open("xb") as handle:
                handle.write(content)
        except FileExistsError:
            continue
        return candidate, len(content)
    raise FileExistsError(f"too many files named like {name}")


def wants_color(out: TextIO) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set."""
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")
