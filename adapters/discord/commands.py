"""The slash commands: ``/blocker``, ``/risk``, ``/decision``, ``/change`` and the ``/raid``,
``/standup`` and ``/digest`` groups, with typed options.

``/blocker`` & co. submit the core's logging forms (``new:<kind>``) from their options, or open
a modal for what is missing; the groups' subcommands become the core's requests.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import discord
from discord import app_commands

from adapters.discord.interactions import Interactions
from bot.domain.model import RESPONSES, Kind
from bot.views import items as views


class _HasInteractions(Protocol):
    interactions: Interactions


def _adapter(interaction: discord.Interaction[Any]) -> Interactions:
    return cast(_HasInteractions, interaction.client).interactions


_LEVEL_CHOICES = [app_commands.Choice(name=c.label, value=c.value) for c in views.level_choices()]
_RESPONSE_CHOICES = [app_commands.Choice(name=r, value=r) for r in RESPONSES]
_LIST_CHOICES = [
    app_commands.Choice(name=n, value=n)
    for n in ("blockers", "risks", "decisions", "changes", "overdue", "mine")
]
_FORMAT_CHOICES = [
    app_commands.Choice(name="Markdown (.md)", value="md"),
    app_commands.Choice(name="CSV (.csv)", value="csv"),
    app_commands.Choice(name="JSON (.json)", value="json"),
]
_STATE_CHOICES = [
    app_commands.Choice(name="Already decided", value="decided"),
    app_commands.Choice(name="A decision is needed", value="needed"),
]
_DAY_CHOICES = [
    app_commands.Choice(name=d, value=d[:3].lower())
    for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
]
_MODE_CHOICES = [
    app_commands.Choice(name="a thread under the standup message", value="thread"),
    app_commands.Choice(name="a direct message to each member", value="dm"),
]
_ON_OFF = [app_commands.Choice(name="on", value="on"), app_commands.Choice(name="off", value="off")]

_DATE = "a date: friday, Dec 5, in 2 weeks, 2026-12-05"
_ZONE = "an IANA time zone, e.g. Europe/London (default: the channel's)"


async def ref_autocomplete(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    return await _adapter(interaction).autocomplete(interaction, current)


def _people(*users: discord.User | discord.Member | None) -> str:
    return " ".join(dict.fromkeys(f"<@{u.id}>" for u in users if u is not None))


def _words(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _ref(text: str) -> str:
    words = text.split()
    return words[0] if words else ""


def _uid(user: discord.User | discord.Member | None) -> str | None:
    return str(user.id) if user is not None else None


@app_commands.describe(
    title="what is blocked, in a few words",
    owner="who unblocks it",
    due=f"when it must be unblocked: {_DATE}",
    waiting_on="who or what it waits on",
    details="anything else worth knowing",
)
async def blocker_command(
    interaction: discord.Interaction[Any],
    title: app_commands.Range[str, 1, 300] | None = None,
    owner: discord.User | None = None,
    due: str | None = None,
    waiting_on: str | None = None,
    details: app_commands.Range[str, 1, 3000] | None = None,
) -> None:
    typed = {
        "title": title,
        "owner": _uid(owner),
        "due": due,
        "waiting_on": waiting_on,
        "details": details,
    }
    await _adapter(interaction).log_item(interaction, Kind.BLOCKER, typed)


@app_commands.describe(
    title="what may go wrong",
    likelihood="how likely it is",
    impact="how bad it would be",
    owner="who watches it",
    review=f"next review: {_DATE}",
    response="how the team responds",
    mitigation="what is done about it",
)
@app_commands.choices(likelihood=_LEVEL_CHOICES, impact=_LEVEL_CHOICES, response=_RESPONSE_CHOICES)
async def risk_command(
    interaction: discord.Interaction[Any],
    title: app_commands.Range[str, 1, 300] | None = None,
    likelihood: str | None = None,
    impact: str | None = None,
    owner: discord.User | None = None,
    review: str | None = None,
    response: str | None = None,
    mitigation: app_commands.Range[str, 1, 3000] | None = None,
) -> None:
    typed = {
        "title": title,
        "likelihood": likelihood,
        "impact": impact,
        "owner": _uid(owner),
        "review": review,
        "response": response,
        "mitigation": mitigation,
    }
    await _adapter(interaction).log_item(interaction, Kind.RISK, typed)


@app_commands.describe(
    title="the decision taken, or the question to decide",
    state="already decided (default), or a decision is needed (default when `by` is given)",
    decider="who decides (or decided)",
    by=f"decide by: {_DATE}",
    rationale="why, or the context",
)
@app_commands.choices(state=_STATE_CHOICES)
async def decision_command(
    interaction: discord.Interaction[Any],
    title: app_commands.Range[str, 1, 300] | None = None,
    state: str | None = None,
    decider: discord.User | None = None,
    by: str | None = None,
    rationale: app_commands.Range[str, 1, 3000] | None = None,
) -> None:
    if title and not state:
        state = "needed" if by else "decided"
    typed = {
        "title": title,
        "state": state,
        "decider": _uid(decider),
        "by": by,
        "rationale": rationale,
    }
    await _adapter(interaction).log_item(interaction, Kind.DECISION, typed)


@app_commands.describe(
    title="what changes",
    impact="on scope, schedule, cost or quality, e.g. schedule +2 weeks, cost +8k",
    approver="who approves it",
    approver_2="a second approver",
    why="why the change is needed",
    details="anything else worth knowing",
)
async def change_command(
    interaction: discord.Interaction[Any],
    title: app_commands.Range[str, 1, 300] | None = None,
    impact: str | None = None,
    approver: discord.User | None = None,
    approver_2: discord.User | None = None,
    why: app_commands.Range[str, 1, 3000] | None = None,
    details: app_commands.Range[str, 1, 3000] | None = None,
) -> None:
    approvers = " ".join(dict.fromkeys(u for u in (_uid(approver), _uid(approver_2)) if u))
    typed = {
        "title": title,
        "impact": impact,
        "approvers": approvers,
        "why": why,
        "details": details,
    }
    await _adapter(interaction).log_item(interaction, Kind.CHANGE, typed)


async def _raid(interaction: discord.Interaction[Any], text: str) -> None:
    await _adapter(interaction).run_text(interaction, "raid", text)


_REF = "the item, e.g. B-3"


class RaidGroup(app_commands.Group):
    """``/raid``: list, show and change items; history, export, settings."""

    def __init__(self) -> None:
        super().__init__(
            name="raid",
            description="List, show and change items; history, export, settings",
            guild_only=True,
        )

    settings = app_commands.Group(
        name="settings", description="Show or change this channel's settings"
    )

    @app_commands.command(name="list", description="Open items, by kind, overdue or yours")
    @app_commands.rename(filter_="filter")
    @app_commands.describe(filter_="which items", include_closed="closed ones too")
    @app_commands.choices(filter_=_LIST_CHOICES)
    async def list_(
        self,
        interaction: discord.Interaction[Any],
        filter_: str | None = None,
        include_closed: bool = False,
    ) -> None:
        await _raid(interaction, _words("list", filter_, "all" if include_closed else None))

    @app_commands.command(name="show", description="One item with all its fields")
    @app_commands.describe(ref=_REF)
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def show(self, interaction: discord.Interaction[Any], ref: str) -> None:
        await _raid(interaction, _words("show", _ref(ref)))

    @app_commands.command(name="resolve", description="Resolve a blocker")
    @app_commands.describe(ref=_REF, note="how it was resolved")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def resolve(
        self, interaction: discord.Interaction[Any], ref: str, note: str | None = None
    ) -> None:
        await _raid(interaction, _words("resolve", _ref(ref), note))

    @app_commands.command(name="assign", description="Set the owner, decider or approvers")
    @app_commands.describe(ref=_REF, person="who", person_2="and who else (approvers)")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def assign(
        self,
        interaction: discord.Interaction[Any],
        ref: str,
        person: discord.User,
        person_2: discord.User | None = None,
    ) -> None:
        await _raid(interaction, _words("assign", _ref(ref), _people(person, person_2)))

    @app_commands.command(name="due", description="Set the due, review or decide-by date")
    @app_commands.describe(ref=_REF, date=_DATE)
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def due(self, interaction: discord.Interaction[Any], ref: str, date: str) -> None:
        await _raid(interaction, _words("due", _ref(ref), date))

    @app_commands.command(name="note", description="Add a note to an item's history")
    @app_commands.describe(ref=_REF, text="the note")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def note(self, interaction: discord.Interaction[Any], ref: str, text: str) -> None:
        await _raid(interaction, _words("note", _ref(ref), text))

    @app_commands.command(name="approve", description="Approve a change request")
    @app_commands.describe(ref=_REF, note="a note for the record")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def approve(
        self, interaction: discord.Interaction[Any], ref: str, note: str | None = None
    ) -> None:
        await _raid(interaction, _words("approve", _ref(ref), note))

    @app_commands.command(name="reject", description="Reject a change request or a decision")
    @app_commands.describe(ref=_REF, reason="why")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def reject(self, interaction: discord.Interaction[Any], ref: str, reason: str) -> None:
        await _raid(interaction, _words("reject", _ref(ref), reason))

    @app_commands.command(name="decide", description="Take a pending decision")
    @app_commands.describe(ref=_REF, outcome="what was decided", rationale="why")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def decide(
        self,
        interaction: discord.Interaction[Any],
        ref: str,
        outcome: app_commands.Range[str, 1, 300],
        rationale: str | None = None,
    ) -> None:
        # The form path keeps a comma in the outcome where the text grammar would split it.
        values = {"outcome": outcome, "rationale": rationale or ""}
        await _adapter(interaction).run_action(interaction, f"decide:{_ref(ref)}", values)

    @app_commands.command(name="close", description="Close a risk")
    @app_commands.describe(ref=_REF, note="a note for the record")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def close(
        self, interaction: discord.Interaction[Any], ref: str, note: str | None = None
    ) -> None:
        await _raid(interaction, _words("close", _ref(ref), note))

    @app_commands.command(name="occurred", description="A risk happened: it becomes a blocker")
    @app_commands.describe(ref=_REF, note="what happened")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def occurred(
        self, interaction: discord.Interaction[Any], ref: str, note: str | None = None
    ) -> None:
        await _raid(interaction, _words("occurred", _ref(ref), note))

    @app_commands.command(name="reopen", description="Reopen a resolved blocker or closed risk")
    @app_commands.describe(ref=_REF)
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def reopen(self, interaction: discord.Interaction[Any], ref: str) -> None:
        await _raid(interaction, _words("reopen", _ref(ref)))

    @app_commands.command(name="withdraw", description="Take an item back (it stays in history)")
    @app_commands.describe(ref=_REF, reason="why")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def withdraw(
        self, interaction: discord.Interaction[Any], ref: str, reason: str | None = None
    ) -> None:
        await _raid(interaction, _words("withdraw", _ref(ref), reason))

    @app_commands.command(name="implemented", description="Mark a change request implemented")
    @app_commands.describe(ref=_REF, note="a note for the record")
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def implemented(
        self, interaction: discord.Interaction[Any], ref: str, note: str | None = None
    ) -> None:
        await _raid(interaction, _words("implemented", _ref(ref), note))

    @app_commands.command(name="supersede", description="Mark a decision superseded")
    @app_commands.describe(ref=_REF, by="the decision that replaces it")
    @app_commands.autocomplete(ref=ref_autocomplete, by=ref_autocomplete)
    async def supersede(
        self, interaction: discord.Interaction[Any], ref: str, by: str | None = None
    ) -> None:
        await _raid(interaction, _words("supersede", _ref(ref), f"by {_ref(by)}" if by else None))

    @app_commands.command(name="history", description="Who changed what, when")
    @app_commands.describe(ref=_REF)
    @app_commands.autocomplete(ref=ref_autocomplete)
    async def history(self, interaction: discord.Interaction[Any], ref: str) -> None:
        await _raid(interaction, _words("history", _ref(ref)))

    @app_commands.command(name="export", description="This channel's full log as a file")
    @app_commands.rename(fmt="format")
    @app_commands.describe(fmt="the file format")
    @app_commands.choices(fmt=_FORMAT_CHOICES)
    async def export(self, interaction: discord.Interaction[Any], fmt: str = "md") -> None:
        await _raid(interaction, _words("export", fmt))

    @app_commands.command(name="help", description="Every command with an example")
    @app_commands.describe(topic="a command, e.g. resolve or blocker")
    async def help(self, interaction: discord.Interaction[Any], topic: str | None = None) -> None:
        await _raid(interaction, _words("help", topic))

    @settings.command(name="show", description="This channel's time zone, leads and nudges")
    async def settings_show(self, interaction: discord.Interaction[Any]) -> None:
        await _raid(interaction, "settings")

    @settings.command(name="timezone", description="The channel's time zone for dates")
    @app_commands.describe(zone="an IANA time zone, e.g. Europe/Berlin")
    async def settings_timezone(self, interaction: discord.Interaction[Any], zone: str) -> None:
        await _raid(interaction, _words("settings timezone", zone))

    @settings.command(name="leads", description="Who leads this channel (include yourself)")
    @app_commands.describe(
        lead="a lead", lead_2="another lead", lead_3="another lead", clear="no leads at all"
    )
    async def settings_leads(
        self,
        interaction: discord.Interaction[Any],
        lead: discord.User | None = None,
        lead_2: discord.User | None = None,
        lead_3: discord.User | None = None,
        clear: bool = False,
    ) -> None:
        who = "none" if clear else _people(lead, lead_2, lead_3)
        await _raid(interaction, _words("settings leads", who))

    @settings.command(name="nudges", description="Turn reminders about overdue items on or off")
    @app_commands.describe(state="on or off")
    @app_commands.choices(state=_ON_OFF)
    async def settings_nudges(self, interaction: discord.Interaction[Any], state: str) -> None:
        await _raid(interaction, _words("settings nudges", state))


async def _standup(interaction: discord.Interaction[Any], text: str) -> None:
    await _adapter(interaction).run_text(interaction, "standup", text)


class StandupGroup(app_commands.Group):
    """``/standup``: the channel's asynchronous standup."""

    def __init__(self) -> None:
        super().__init__(
            name="standup", description="The channel's asynchronous standup", guild_only=True
        )

    @app_commands.command(name="status", description="The standup's schedule and members")
    async def status(self, interaction: discord.Interaction[Any]) -> None:
        await _standup(interaction, "")

    @app_commands.command(name="schedule", description="When the standup opens")
    @app_commands.describe(
        days="weekdays, or days like mon,wed,fri",
        time="local time, e.g. 09:30",
        timezone=_ZONE,
    )
    async def schedule(
        self,
        interaction: discord.Interaction[Any],
        days: str,
        time: str,
        timezone: str | None = None,
    ) -> None:
        await _standup(interaction, _words("schedule", days, time, timezone))

    @app_commands.command(name="questions", description="The standup's questions")
    @app_commands.describe(questions="questions separated by |")
    async def questions(self, interaction: discord.Interaction[Any], questions: str) -> None:
        await _standup(interaction, _words("questions", questions))

    @app_commands.command(name="members", description="Who is asked")
    @app_commands.describe(
        member="a member",
        member_2="another member",
        member_3="another member",
        member_4="another member",
        member_5="another member",
    )
    async def members(
        self,
        interaction: discord.Interaction[Any],
        member: discord.User,
        member_2: discord.User | None = None,
        member_3: discord.User | None = None,
        member_4: discord.User | None = None,
        member_5: discord.User | None = None,
    ) -> None:
        who = _people(member, member_2, member_3, member_4, member_5)
        await _standup(interaction, _words("members", who))

    @app_commands.command(name="window", description="How long answers are collected")
    @app_commands.describe(duration="e.g. 2h or 90m")
    async def window(self, interaction: discord.Interaction[Any], duration: str) -> None:
        await _standup(interaction, _words("window", duration))

    @app_commands.command(name="mode", description="Answer in a thread or by direct message")
    @app_commands.describe(mode="thread or dm")
    @app_commands.choices(mode=_MODE_CHOICES)
    async def mode(self, interaction: discord.Interaction[Any], mode: str) -> None:
        await _standup(interaction, _words("mode", mode))

    @app_commands.command(name="skip", description="Skip a standup")
    @app_commands.describe(day="which day (default: today)")
    async def skip(self, interaction: discord.Interaction[Any], day: str = "today") -> None:
        await _standup(interaction, _words("skip", day))

    @app_commands.command(name="away", description="Away until a date: not asked meanwhile")
    @app_commands.describe(until=_DATE, who="who is away (default: you)")
    async def away(
        self,
        interaction: discord.Interaction[Any],
        until: str,
        who: discord.User | None = None,
    ) -> None:
        await _standup(interaction, _words("away", _people(who), "until", until))

    @app_commands.command(name="answer", description="Answer (or edit your answer to) the standup")
    async def answer(self, interaction: discord.Interaction[Any]) -> None:
        await _standup(interaction, "answer")

    @app_commands.command(name="now", description="Open a standup now")
    async def now(self, interaction: discord.Interaction[Any]) -> None:
        await _standup(interaction, "now")

    @app_commands.command(name="off", description="Stop the standups")
    async def off(self, interaction: discord.Interaction[Any]) -> None:
        await _standup(interaction, "off")


async def _digest(interaction: discord.Interaction[Any], text: str) -> None:
    await _adapter(interaction).run_text(interaction, "digest", text)


class DigestGroup(app_commands.Group):
    """``/digest``: what changed, what is blocked, what needs a decision."""

    def __init__(self) -> None:
        super().__init__(
            name="digest",
            description="What changed, what is blocked, what needs a decision",
            guild_only=True,
        )

    @app_commands.command(name="now", description="Post a digest now")
    async def now(self, interaction: discord.Interaction[Any]) -> None:
        await _digest(interaction, "")

    @app_commands.command(name="daily", description="Post a digest every day")
    @app_commands.describe(time="local time, e.g. 17:00", timezone=_ZONE)
    async def daily(
        self, interaction: discord.Interaction[Any], time: str, timezone: str | None = None
    ) -> None:
        await _digest(interaction, _words("daily", time, timezone))

    @app_commands.command(name="weekly", description="Post a digest once a week")
    @app_commands.describe(day="the day", time="local time, e.g. 16:00", timezone=_ZONE)
    @app_commands.choices(day=_DAY_CHOICES)
    async def weekly(
        self,
        interaction: discord.Interaction[Any],
        day: str,
        time: str,
        timezone: str | None = None,
    ) -> None:
        await _digest(interaction, _words("weekly", day, time, timezone))

    @app_commands.command(name="off", description="Stop the scheduled digests")
    async def off(self, interaction: discord.Interaction[Any]) -> None:
        await _digest(interaction, "off")


_LOG_COMMANDS: tuple[tuple[str, str, Any], ...] = (
    ("blocker", "Log something that stops the work", blocker_command),
    ("risk", "Log something that may go wrong", risk_command),
    ("decision", "Record a decision taken, or log one that is needed", decision_command),
    ("change", "Request a change that needs an explicit yes or no", change_command),
)


def install_commands(tree: app_commands.CommandTree[Any]) -> None:
    """The seven commands of SPEC §3, built fresh for this tree."""
    for name, description, callback in _LOG_COMMANDS:
        command: app_commands.Command[Any, ..., None] = app_commands.Command(
            name=name, description=description, callback=callback
        )
        command.guild_only = True
        tree.add_command(command)
    tree.add_command(RaidGroup())
    tree.add_command(StandupGroup())
    tree.add_command(DigestGroup())
