"""Every command's name, usage, example and handler in one table, and the help built from it."""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.commands import log, raid, standup
from bot.domain.model import Kind
from bot.errors import UsageError
from bot.messages import Form, Reply, Section
from bot.services.items import Context

Handler = Callable[[Context, str], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    example: str
    summary: str
    handler: Handler
    form: Form | None = None  # what the command opens when given no text


async def _raid(ctx: Context, text: str) -> Reply:
    words = text.split(maxsplit=1)
    if not words or words[0].lower() in ("help", "?"):
        return help_reply(words[1] if len(words) > 1 else "")
    name = words[0].lower()
    sub = raid.RAID.get(name)
    if sub is None:
        raise UsageError(
            f"`{name}` is not a /raid subcommand.{did_you_mean(name, list(raid.RAID))}",
            usage=COMMANDS["raid"].usage,
        )
    return await sub.handler(ctx, words[1] if len(words) > 1 else "")


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command(
            "blocker",
            log.USAGE[Kind.BLOCKER],
            "/blocker Waiting on firewall change from NetOps @dana due Friday",
            "log something that stops the work",
            log.log_blocker,
            log.form_for(Kind.BLOCKER),
        ),
        Command(
            "risk",
            log.USAGE[Kind.RISK],
            "/risk Vendor may slip the SSO delivery likelihood high impact medium @bob "
            "review in 2 weeks mitigation weekly vendor check-in",
            "log something that may go wrong",
            log.log_risk,
            log.form_for(Kind.RISK),
        ),
        Command(
            "decision",
            log.USAGE[Kind.DECISION],
            "/decision needed Pick the SSO vendor @cio by Dec 5",
            "record a decision taken, or log one that is needed",
            log.log_decision,
            log.form_for(Kind.DECISION),
        ),
        Command(
            "change",
            log.USAGE[Kind.CHANGE],
            "/change Add CRM integration to scope impact schedule +2 weeks, cost +8k @sponsor "
            "because sales needs leads in CRM",
            "request a change that needs an explicit yes or no",
            log.log_change,
            log.form_for(Kind.CHANGE),
        ),
        Command(
            "standup",
            standup.STANDUP_USAGE,
            "/standup schedule weekdays 09:30",
            "scheduled standup polls: schedule, questions, members, window, mode, skip, away, now",
            standup.standup,
        ),
        Command(
            "digest",
            standup.DIGEST_USAGE,
            "/digest weekly fri 16:00",
            "what changed, what is blocked, what needs a decision: now or on a schedule",
            standup.digest,
        ),
        Command(
            "raid",
            "/raid <subcommand> ... where <subcommand> is one of: "
            + ", ".join(raid.RAID)
            + ", help",
            "/raid list overdue",
            "list, show and change items; history, export, settings",
            _raid,
        ),
    )
}


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.5)
    return f" Did you mean `{close[0]}`?" if close else ""


def help_reply(topic: str = "") -> Reply:
    topic = topic.strip().lower().lstrip("/")
    if topic:
        if topic in COMMANDS:
            c = COMMANDS[topic]
            return Reply(text=f"/{c.name}: {c.summary}\nUsage: {c.usage}\nExample: {c.example}")
        sub = raid.RAID.get(topic.removeprefix("raid ").strip())
        if sub:
            return Reply(
                text=f"/raid {sub.name}: {sub.summary}\nUsage: {sub.usage}\nExample: {sub.example}"
            )
        raise UsageError(
            f"There is no help on `{topic}`.{did_you_mean(topic, [*COMMANDS, *raid.RAID])}"
        )
    log_lines = tuple(
        f"/{c.name}: {c.summary}. Example: `{c.example}`"
        for c in COMMANDS.values()
        if c.name != "raid"
    )
    raid_lines = tuple(f"{s.name}: {s.summary}. Example: `{s.example}`" for s in raid.RAID.values())
    return Reply(
        text=(
            "raidline keeps this channel's blockers, risks, decisions and change requests. "
            "A logging command with no text opens a form. `/raid help <command>` shows one "
            "command's usage."
        ),
        sections=(Section("Log", log_lines), Section("/raid", raid_lines)),
    )
