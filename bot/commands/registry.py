"""The one command table: every command and subcommand with its name, wording, typed options,
text parser, options converter and handler; and the help built from it.

Platforms generate their command menus from :data:`COMMANDS` (Discord's slash commands carry
exactly the options declared here, in this order). A request reaches a (sub)command either as
text, which ``parse`` turns into a typed call, or as typed options, which ``convert`` turns into
the same typed call; ``handler`` then runs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.commands import calendar, calls, closeout, imports, links, log, raid, stakeholders, standup
from bot.domain.model import RESPONSES, Kind
from bot.errors import UsageError
from bot.messages import Choice, Form, Reply, Section
from bot.services.items import Context
from bot.text.parsing import MAX_DETAILS_CHARS, MAX_TITLE_CHARS, closest, did_you_mean
from bot.views.items import level_choices

#: text -> typed call (raises UsageError with the command's usage)
TextParser = Callable[[Context, str], Any]
#: typed options (name -> text) -> the same typed call
OptionsConverter = Callable[[Context, Mapping[str, str]], Any]
#: runs one typed call
CallHandler = Callable[[Context, Any], Awaitable[Reply]]


class OptionType(StrEnum):
    """What an option's value is. Values always travel as text (see ``Request.options``)."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    USER = "user"  # a person's id
    USERS = "users"  # several ids separated by spaces
    DATE = "date"  # free date text, parsed by the core (``friday``, ``Dec 5``...)
    CHOICE = "choice"  # one of ``choices``' values
    REF = "ref"  # an item's ref (``B-3``); platforms suggest the channel's refs
    INTEGER = "integer"
    BOOLEAN = "boolean"  # ``true`` or ``false``
    #: a file the user attaches; the value is its file name and the adapter hands its bytes
    #: over in ``Request.attachments`` (platforms without attachments take the text form)
    ATTACHMENT = "attachment"


@dataclass(frozen=True)
class Option:
    name: str
    description: str
    type: OptionType = OptionType.TEXT
    required: bool = False
    choices: tuple[Choice, ...] = ()
    #: suggest values while typing (the channel's refs, from ``Core.autocomplete``)
    autocomplete: bool = False
    min_length: int | None = None
    max_length: int | None = None
    #: the form field this option fills when it is not the option's own name
    #: (``approver`` and ``approver_2`` both fill ``approvers``)
    field: str | None = None


@dataclass(frozen=True)
class Subcommand:
    """One subcommand (``/raid resolve``), or a group of them (``/raid settings``)."""

    name: str
    #: one line as platform menus show it (at most 100 characters)
    description: str
    usage: str = ""
    example: str = ""
    #: what ``/raid help`` says about it
    summary: str = ""
    options: tuple[Option, ...] = ()
    #: a group's subcommands (``/raid settings show``); a group has no parser of its own
    subcommands: tuple[Subcommand, ...] = ()
    parse: TextParser | None = None
    convert: OptionsConverter | None = None
    handler: CallHandler | None = None
    #: typed only (``/raid rename``, an alias of ``edit``): platform menus leave it out
    text_only: bool = False
    #: Discord allows 25 subcommands per command and ``/raid`` has them all: a subcommand named
    #: here lives on Discord under that top-level command instead (``/project close-out``);
    #: typed, in Slack and the console, it stays ``/raid close-out``
    discord_command: str | None = None


#: Discord's top-level commands that hold the subcommands of ``/raid`` that do not fit in it
#: (:attr:`Subcommand.discord_command`), with the description Discord's menu shows
DISCORD_OVERFLOW: dict[str, str] = {
    "project": "The project as a whole: links, stakeholders, lessons and close-out",
}


@dataclass(frozen=True)
class Command:
    name: str
    #: one line as platform menus show it (at most 100 characters)
    description: str
    usage: str
    example: str
    summary: str
    parse: TextParser
    handler: CallHandler
    options: tuple[Option, ...] = ()
    subcommands: tuple[Subcommand, ...] = ()
    convert: OptionsConverter | None = None
    form: Form | None = None  # what the command opens when given no text

    def subcommand(self, path: str) -> Subcommand | None:
        """The subcommand at ``path`` (``resolve``, ``settings timezone``), if any."""
        subs = self.subcommands
        found: Subcommand | None = None
        for word in path.split():
            found = next((s for s in subs if s.name == word), None)
            if found is None:
                return None
            subs = found.subcommands
        return found


# --- option building blocks ------------------------------------------------------------------

_DATE = "a date: friday, Dec 5, in 2 weeks, 2026-12-05"
_ZONE = "an IANA time zone, e.g. Europe/London (default: the channel's)"

_LEVELS = level_choices()
_RESPONSES = tuple(Choice(r, r) for r in RESPONSES)
_HOLIDAY_ACTIONS = (
    Choice("list", "list the days off ahead"),
    Choice("set", "keep a country's public holidays (calendar)"),
    Choice("off", "keep no public holidays"),
    Choice("add", "add a day off (day)"),
    Choice("remove", "remove a day off (day)"),
)
_LIST_FILTERS = tuple(
    Choice(n, n)
    for n in ("blockers", "risks", "decisions", "changes", "milestones", "overdue", "mine")
)
_LINK_RELATIONS = (
    Choice("milestone", "part of a milestone (target: M-1)"),
    Choice("depends-on", "depends on another item or milestone (target: its ref)"),
    Choice("tracker", "a tracker key or address (target: JIRA-123 or https://…)"),
    Choice("remove", "take a link off (target: what it links to)"),
)
_FORMATS = (
    Choice("md", "Markdown (.md)"),
    Choice("csv", "CSV (.csv)"),
    Choice("json", "JSON (.json)"),
)
_EDIT_FIELDS = (
    Choice("title", "Title"),
    Choice("details", "Details"),
    Choice("owner", "Owner, decider or approvers"),
    Choice("date", "Due, next review or decide-by date"),
    Choice("waiting_on", "Waiting on (blocker)"),
    Choice("likelihood", "Likelihood (risk)"),
    Choice("impact", "Impact (risk or change request)"),
    Choice("response", "Response (risk)"),
    Choice("mitigation", "Mitigation (risk)"),
    Choice("rationale", "Rationale or why (decision, change request)"),
)
_STATES = (Choice("decided", "Already decided"), Choice("needed", "A decision is needed"))
_CLOSE_OUT_STEPS = (
    Choice("lessons", "ask the members what went well and what to change"),
    Choice("finish", "post the final report and close the channel"),
)
_DAYS = tuple(
    Choice(d[:3].lower(), d)
    for d in ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
)
_MODES = (
    Choice("thread", "a thread under the standup message"),
    Choice("dm", "a direct message to each member"),
    Choice("dm local", "a direct message to each member at their own local time"),
)
_ON_OFF = (Choice("on", "on"), Choice("off", "off"))
_ROLES = (
    Choice("member", "member: asked, counted if missing"),
    Choice("optional", "optional: asked, never listed as missing"),
    Choice("observer", "observer: gets the summary, never asked"),
    Choice("remove", "remove from the standup"),
)
_STAKEHOLDER_LEVELS = (
    Choice("weekly", "the weekly digest"),
    Choice("decisions", "decisions needed and taken"),
    Choice("escalations", "a risk occurred, a blocker long overdue, a milestone at risk"),
    Choice("all", "all three"),
)
_REMINDER_CHOICES = (
    Choice("off", "no reminders"),
    Choice("50%", "once, halfway through the window"),
    Choice("75%", "once, at 75% of the window (default)"),
    Choice("twice", "twice, at 50% and 85%"),
)


def _title(description: str) -> Option:
    return Option("title", description, min_length=1, max_length=MAX_TITLE_CHARS)


def _long(name: str, description: str, field: str | None = None) -> Option:
    return Option(
        name,
        description,
        OptionType.LONG_TEXT,
        min_length=1,
        max_length=MAX_DETAILS_CHARS,
        field=field,
    )


def _user(
    name: str, description: str, *, required: bool = False, field: str | None = None
) -> Option:
    return Option(name, description, OptionType.USER, required, field=field)


def _ref(
    name: str = "ref", description: str = "the item, e.g. B-3", *, required: bool = True
) -> Option:
    return Option(name, description, OptionType.REF, required, autocomplete=True)


def _text(name: str, description: str, *, required: bool = False) -> Option:
    return Option(name, description, OptionType.TEXT, required)


def _date(name: str, description: str, *, required: bool = False) -> Option:
    return Option(name, description, OptionType.DATE, required)


def _choice(
    name: str, description: str, choices: tuple[Choice, ...], *, required: bool = False
) -> Option:
    return Option(name, description, OptionType.CHOICE, required, choices)


def _flag(name: str, description: str) -> Option:
    return Option(name, description, OptionType.BOOLEAN)


_NOTE = _text("note", "a note for the record")
#: every kind but a milestone: the milestone it is part of, and a tracker link
_PLAN_OPTIONS = (
    Option("milestone", "the milestone it is part of, e.g. M-1", OptionType.REF, autocomplete=True),
    Option("link", "a tracker key or address: JIRA-123 or https://…", field="links"),
)

LOG_OPTIONS: Mapping[Kind, tuple[Option, ...]] = {
    Kind.BLOCKER: (
        _title("what is blocked, in a few words"),
        _user("owner", "who unblocks it"),
        _date("due", f"when it must be unblocked: {_DATE}"),
        _text("waiting_on", "who or what it waits on"),
        _long("details", "anything else worth knowing"),
        *_PLAN_OPTIONS,
    ),
    Kind.RISK: (
        _title("what may go wrong"),
        _choice("likelihood", "how likely it is", _LEVELS),
        _choice("impact", "how bad it would be", _LEVELS),
        _user("owner", "who watches it"),
        _date("review", f"next review: {_DATE}"),
        _choice("response", "how the team responds", _RESPONSES),
        _long("mitigation", "what is done about it"),
        *_PLAN_OPTIONS,
    ),
    Kind.DECISION: (
        _title("the decision taken, or the question to decide"),
        _choice(
            "state",
            "already decided (default), or a decision is needed (default when `by` is given)",
            _STATES,
        ),
        _user("decider", "who decides (or decided)"),
        _date("by", f"decide by: {_DATE}"),
        _long("rationale", "why, or the context"),
        *_PLAN_OPTIONS,
    ),
    Kind.CHANGE: (
        _title("what changes"),
        _text("impact", "on scope, schedule, cost or quality, e.g. schedule +2 weeks, cost +8k"),
        _user("approver", "who approves it", field="approvers"),
        _user("approver_2", "a second approver", field="approvers"),
        _long("why", "why the change is needed"),
        _long("details", "anything else worth knowing"),
        *_PLAN_OPTIONS,
    ),
    Kind.MILESTONE: (
        _title("the milestone, e.g. Design approved"),
        _date("due", f"when it is due: {_DATE}"),
        _user("owner", "who owns it"),
        Option("link", "a tracker key or address: JIRA-123 or https://…", field="links"),
        _long("details", "anything else worth knowing"),
    ),
}


# --- the table -------------------------------------------------------------------------------


_RAID_TEXT: Mapping[str, tuple[str, str, TextParser, CallHandler]] = {
    # name: (example, summary, text parser, handler)
    "list": (
        "list overdue @dana",
        "open items, by kind, overdue, waiting on you (`mine`) or on someone's plate "
        "(`@dana`); `all` adds closed ones",
        raid.parse_list,
        raid.list_items,
    ),
    "find": (
        "find firewall",
        "items whose title, details or notes mention every word (closed ones too)",
        raid.parse_find,
        raid.find,
    ),
    "show": (
        "show B-2 B-3",
        "up to 5 items with all their fields",
        raid.parse_show,
        raid.show,
    ),
    "snooze": (
        "snooze B-3 2d",
        "no reminders about an item for a while (at most 14 days), as the nudge's button",
        raid.parse_snooze,
        raid.snooze,
    ),
    "resolve": (
        "resolve B-3 firewall rule merged",
        "resolve a blocker, or mark a milestone done",
        raid.parse_resolve,
        raid.resolve,
    ),
    "link": (
        "link B-4 depends-on B-2",
        "an item joins a milestone (`link B-3 M-1`), depends on another item or milestone "
        "(`depends-on`; a loop is refused), or links to the tracker (`link B-3 JIRA-123` or "
        "an http(s) address); `link B-3 remove M-1` takes a link off",
        links.parse_link,
        links.link,
    ),
    "assign": (
        "assign B-3 @erin",
        "set the owner, decider or approvers",
        raid.parse_assign,
        raid.assign,
    ),
    "due": (
        "due B-3 next tuesday",
        "set the due, review or decide-by date",
        raid.parse_due,
        raid.set_due,
    ),
    "note": (
        "note R-2 vendor confirmed the date",
        "add a note to the history",
        raid.parse_note,
        raid.note,
    ),
    "approve": ("approve C-1", "approve a change request", raid.parse_approve, raid.approve),
    "reject": (
        "reject C-1 no budget this quarter",
        "reject a change request or a pending decision",
        raid.parse_reject,
        raid.reject,
    ),
    "decide": (
        "decide D-2 Okta, best SCIM support",
        "take a pending decision",
        raid.parse_decide,
        raid.decide,
    ),
    "close": ("close R-1", "close a risk", raid.parse_close, raid.close),
    "occurred": (
        "occurred R-1",
        "a risk happened: it becomes a linked blocker",
        raid.parse_occurred,
        raid.occurred,
    ),
    "reopen": (
        "reopen B-3",
        "reopen a resolved blocker or closed risk",
        raid.parse_reopen,
        raid.reopen,
    ),
    "withdraw": (
        "withdraw B-5",
        "take an item back (it stays in history)",
        raid.parse_withdraw,
        raid.withdraw,
    ),
    "implemented": (
        "implemented C-1",
        "mark an approved change request implemented",
        raid.parse_implemented,
        raid.implemented,
    ),
    "supersede": (
        "supersede D-1 by D-4",
        "mark a decision superseded",
        raid.parse_supersede,
        raid.supersede,
    ),
    "history": ("history B-3", "who changed what, when", raid.parse_history, raid.history),
    "edit": (
        "edit B-3 waiting on the vendor's API keys",
        "change a field: title, details, waiting on, likelihood, impact, response, "
        "mitigation, rationale, a change's impact or why, the owner or the date",
        raid.parse_edit,
        raid.edit,
    ),
    "rename": (
        "rename B-3 Waiting on API keys from NetOps",
        "change an item's title (`edit <ref> title ...`)",
        raid.parse_rename,
        raid.edit,
    ),
    "rescore": (
        "rescore R-2 high medium",
        "change a risk's likelihood and impact (`edit <ref> likelihood ...`)",
        raid.parse_rescore,
        raid.edit,
    ),
    "export": ("export md", "the channel's full log as a file", raid.parse_export, raid.export_cmd),
    "dashboard": (
        "dashboard",
        "a private link to this channel's dashboard: heat map, trends, decisions",
        raid.parse_dashboard,
        raid.dashboard,
    ),
    "settings": (
        "settings timezone Europe/Berlin",
        "show or change this channel's settings: time zone, leads, nudges, work week "
        "(`workweek sun-thu`), public holidays (`holidays DE-BY`), extra days off "
        "(`holidays add 2026-12-24`) and when overdue blockers escalate to stakeholders "
        "(`escalations 3`)",
        raid.parse_settings,
        raid.settings,
    ),
}

_RAID_CONVERTERS: Mapping[str, OptionsConverter] = {
    **raid.CONVERTERS,
    "list": raid.convert_list,
    "link": links.convert_link,
    "export": lambda ctx, options: calls.Export(options.get("format") or "md"),
    "dashboard": lambda ctx, options: calls.Dashboard(),
}


async def _help(ctx: Context, call: calls.Help) -> Reply:
    return help_reply(call.topic)


#: Typed call -> its handler: every call a command, option set, click or form can make.
HANDLERS: Mapping[type, CallHandler] = {
    calls.Help: _help,
    calls.ListItems: raid.list_items,
    calls.Find: raid.find,
    calls.Link: links.link,
    calls.Show: raid.show,
    calls.History: raid.history,
    calls.Resolve: raid.resolve,
    calls.Implement: raid.implemented,
    calls.Approve: raid.approve,
    calls.Close: raid.close,
    calls.Occurred: raid.occurred,
    calls.Reopen: raid.reopen,
    calls.Withdraw: raid.withdraw,
    calls.Note: raid.note,
    calls.Take: raid.take,
    calls.Assign: raid.assign,
    calls.SetDue: raid.set_due,
    calls.Decide: raid.decide,
    calls.Reject: raid.reject,
    calls.Supersede: raid.supersede,
    calls.Snooze: raid.snooze,
    calls.Edit: raid.edit,
    calls.OpenEdit: raid.open_edit,
    calls.SaveEdit: raid.save_edit,
    calls.OpenItemForm: raid.open_item_form,
    calls.Export: raid.export_cmd,
    calls.Dashboard: raid.dashboard,
    calls.ImportCsv: imports.import_cmd,
    calls.Settings: raid.settings,
    calls.Calendar: calendar.calendar,
    calls.Stakeholders: stakeholders.stakeholders,
    calls.LogItem: log.log,
    calls.StandupCall: standup.standup,
    calls.DigestCall: standup.digest,
    calls.OpenStandupAnswer: standup.open_answer,
    calls.SaveStandupAnswer: standup.save_answer,
    calls.Track: standup.track,
    calls.Defer: closeout.defer,
    calls.CloseOut: closeout.close_out,
    calls.LessonCall: closeout.lesson,
    calls.ReopenProject: closeout.reopen_project,
}


async def run(ctx: Context, call: object) -> Reply:
    """Run one typed call with its handler."""
    return await HANDLERS[type(call)](ctx, call)


def _raid_sub(
    name: str, description: str, options: tuple[Option, ...] = (), **more: Any
) -> Subcommand:
    example, summary, parse, handler = _RAID_TEXT[name]
    return Subcommand(
        name,
        description,
        raid.USAGE[name],
        f"/raid {example}",
        summary,
        options,
        parse=parse,
        convert=_RAID_CONVERTERS.get(name),
        handler=handler,
        **more,
    )


def _setting(
    name: str,
    description: str,
    options: tuple[Option, ...] = (),
    *,
    usage: str,
    example: str,
) -> Subcommand:
    return Subcommand(
        name,
        description,
        f"/raid settings {usage}",
        f"/raid settings {example}",
        options=options,
        convert=lambda ctx, values: raid.convert_settings(ctx, name, values),
        handler=raid.settings,
    )


#: On every /standup subcommand but add and remove: which standup (a named one) it is for.
_WHICH_STANDUP = Option(
    "standup", "a named standup, e.g. retro (default: the channel's standup)", max_length=24
)


def _standup(
    name: str,
    description: str,
    options: tuple[Option, ...] = (),
    *,
    usage: str,
    example: str,
    named: bool = True,
    summary: str = "",
) -> Subcommand:
    return Subcommand(
        name,
        description,
        f"/standup {usage}",
        f"/standup {example}",
        summary,
        options=(*options, _WHICH_STANDUP) if named else options,
        convert=lambda ctx, values: standup.convert_standup(ctx, name, values),
        handler=standup.standup,
    )


def _stakeholders(
    name: str, description: str, options: tuple[Option, ...] = (), *, example: str
) -> Subcommand:
    return Subcommand(
        name,
        description,
        stakeholders.USAGE,
        f"/raid stakeholders {example}",
        options=options,
        convert=lambda ctx, values: stakeholders.convert_stakeholders(ctx, name, values),
        handler=stakeholders.stakeholders,
    )


def _digest(
    name: str, description: str, options: tuple[Option, ...] = (), *, usage: str, example: str
) -> Subcommand:
    return Subcommand(
        name,
        description,
        f"/digest {usage}",
        f"/digest {example}",
        options=options,
        convert=lambda ctx, values: standup.convert_digest(ctx, name, values),
        handler=standup.digest,
    )


RAID_SUBCOMMANDS: tuple[Subcommand, ...] = (
    _raid_sub(
        "settings",
        "Show or change this channel's settings",
        subcommands=(
            _setting(
                "show",
                "This channel's time zone, leads, nudges, work week and holidays",
                usage="show",
                example="show",
            ),
            _setting(
                "timezone",
                "The channel's time zone for dates",
                (_text("zone", "an IANA time zone, e.g. Europe/Berlin", required=True),),
                usage="timezone <zone>",
                example="timezone Europe/Berlin",
            ),
            _setting(
                "leads",
                "Who leads this channel (include yourself)",
                (
                    _user("lead", "a lead"),
                    _user("lead_2", "another lead"),
                    _user("lead_3", "another lead"),
                    _flag("clear", "no leads at all"),
                ),
                usage="leads @a @b ... (or `leads none`)",
                example="leads @ana @raj",
            ),
            _setting(
                "nudges",
                "Turn reminders about overdue items on or off",
                (_choice("state", "on or off", _ON_OFF, required=True),),
                usage="nudges on|off",
                example="nudges off",
            ),
            _setting(
                "workweek",
                "The working days: nothing fires on the others",
                (_text("days", "e.g. mon-fri or sun-thu", required=True),),
                usage="workweek <days> (mon-fri, sun-thu, sat-wed or mon,tue,thu)",
                example="workweek sun-thu",
            ),
            _setting(
                "holidays",
                "Public holidays and days off: nothing fires on them",
                (
                    _choice("action", "what to do (default: list)", _HOLIDAY_ACTIONS),
                    _text("calendar", "a country code, with region: DE-BY, US, IN-KA"),
                    _text("day", "a day off to add or remove, e.g. 2026-12-24"),
                ),
                usage="holidays <country[-region]>|off | holidays add|remove <date> | "
                "holidays list",
                example="holidays DE-BY",
            ),
            _setting(
                "links",
                "Where tracker keys link to (JIRA-123): list, set or remove",
                (
                    _text("prefix", "the key prefix, e.g. JIRA (none: list them)"),
                    _text("address", "the address with {} for the key, or off"),
                ),
                usage="links [<PREFIX>=<address with {}>|<PREFIX>=off]",
                example="links JIRA=https://acme.atlassian.net/browse/{}",
            ),
            _setting(
                "escalations",
                "Escalate blockers this many working days overdue to stakeholders",
                (
                    Option(
                        "days",
                        "working days overdue (default 3)",
                        OptionType.INTEGER,
                        required=True,
                    ),
                ),
                usage="escalations <working days>",
                example="escalations 3",
            ),
        ),
    ),
    _raid_sub(
        "list",
        "Open items, by kind, overdue or yours",
        (
            _choice("filter", "which items", _LIST_FILTERS),
            _user("person", "only what is on this person's plate (owner, decider, approver)"),
            _flag("include_closed", "closed ones too"),
        ),
    ),
    _raid_sub(
        "find",
        "Items whose title, details or notes mention the words",
        (
            Option(
                "words",
                'the words to look for; "a phrase" in quotes',
                required=True,
                min_length=1,
                max_length=200,
            ),
        ),
    ),
    _raid_sub("show", "One item with all its fields", (_ref(),)),
    _raid_sub(
        "snooze",
        "No reminders about an item for a while",
        (
            _ref(),
            _text("duration", "how long, e.g. 2d or 1 week, or until monday (default: 1 day)"),
        ),
    ),
    _raid_sub(
        "resolve",
        "Resolve a blocker, or mark a milestone done",
        (_ref(), _text("note", "how it was resolved")),
    ),
    _raid_sub(
        "link",
        "Join a milestone, depend on an item, or link the tracker",
        (
            _ref(),
            Option("target", "M-1, a ref, JIRA-123 or https://…", required=True, max_length=500),
            _choice("relation", "how it relates (default: from the target)", _LINK_RELATIONS),
        ),
        discord_command="project",
    ),
    _raid_sub(
        "assign",
        "Set the owner, decider or approvers",
        (
            _ref(),
            _user("person", "who", required=True),
            _user("person_2", "and who else (approvers)"),
        ),
    ),
    _raid_sub(
        "due",
        "Set the due, review or decide-by date",
        (_ref(), _date("date", _DATE, required=True)),
    ),
    _raid_sub(
        "note",
        "Add a note to an item's history",
        (_ref(), _text("text", "the note", required=True)),
    ),
    _raid_sub("approve", "Approve a change request", (_ref(), _NOTE)),
    _raid_sub(
        "reject",
        "Reject a change request or a decision",
        (_ref(), _text("reason", "why", required=True)),
    ),
    _raid_sub(
        "decide",
        "Take a pending decision",
        (
            _ref(),
            Option(
                "outcome",
                "what was decided",
                required=True,
                min_length=1,
                max_length=MAX_TITLE_CHARS,
            ),
            _text("rationale", "why"),
        ),
    ),
    _raid_sub("close", "Close a risk", (_ref(), _NOTE)),
    _raid_sub(
        "occurred",
        "A risk happened: it becomes a blocker",
        (_ref(), _text("note", "what happened")),
    ),
    _raid_sub(
        "reopen",
        "Reopen a resolved blocker or closed risk",
        (_ref(), _text("reason", "why it is open again")),
    ),
    _raid_sub(
        "withdraw", "Take an item back (it stays in history)", (_ref(), _text("reason", "why"))
    ),
    _raid_sub("implemented", "Mark a change request implemented", (_ref(), _NOTE)),
    _raid_sub(
        "supersede",
        "Mark a decision superseded",
        (_ref(), _ref("by", "the decision that replaces it", required=False)),
    ),
    _raid_sub("history", "Who changed what, when", (_ref(),)),
    _raid_sub(
        "edit",
        "Change an item's title, details, score or another field",
        (
            _ref(),
            _choice("field", "which field", _EDIT_FIELDS, required=True),
            _text("value", "its new value (none clears details and notes)", required=True),
        ),
    ),
    _raid_sub(
        "rename",
        "Change an item's title",
        (_ref(), _title("the new title")),
        text_only=True,
    ),
    _raid_sub(
        "rescore",
        "Change a risk's likelihood and impact",
        (
            _ref(),
            _choice("likelihood", "how likely it is", _LEVELS, required=True),
            _choice("impact", "how bad it would be", _LEVELS, required=True),
        ),
        text_only=True,
    ),
    _raid_sub(
        "export",
        "This channel's full log as a file",
        (_choice("format", "the file format", _FORMATS),),
    ),
    _raid_sub("dashboard", "A private link to this channel's dashboard"),
    Subcommand(
        "import",
        "Import a register from a CSV file (a dry run unless apply)",
        imports.USAGE,
        "/raid import register.csv",
        "import a register kept in a spreadsheet (CSV): a dry run first, then `apply`",
        (
            Option("file", "the register as a .csv file", OptionType.ATTACHMENT, required=True),
            _flag("apply", "create the items (without it: a dry run that saves nothing)"),
        ),
        parse=imports.parse_import,
        convert=imports.convert_import,
        handler=imports.import_cmd,
    ),
    Subcommand(
        "stakeholders",
        "Who gets updates by direct message: weekly, decisions, escalations",
        stakeholders.USAGE,
        stakeholders.EXAMPLE,
        stakeholders.SUMMARY,
        subcommands=(
            _stakeholders(
                "add",
                "Someone gets updates by direct message",
                (
                    _user("person", "who gets them", required=True),
                    _choice("level", "what they get", _STAKEHOLDER_LEVELS, required=True),
                    _choice("level_2", "and what else", _STAKEHOLDER_LEVELS),
                    _choice("level_3", "and what else", _STAKEHOLDER_LEVELS),
                ),
                example="add @cfo weekly",
            ),
            _stakeholders(
                "remove",
                "Someone no longer gets (some) updates",
                (
                    _user("person", "who", required=True),
                    _choice("level", "which (default: all)", _STAKEHOLDER_LEVELS),
                ),
                example="remove @cfo decisions",
            ),
            _stakeholders("list", "Who gets which updates", example="list"),
        ),
        parse=stakeholders.parse_stakeholders,
        discord_command="project",
    ),
    Subcommand(
        "calendar",
        "Your private calendar link: due dates, reviews, standups",
        calendar.USAGE,
        calendar.EXAMPLE,
        calendar.SUMMARY,
        (_flag("reset", "turn your earlier calendar links off and get a new one"),),
        parse=calendar.parse_calendar,
        convert=calendar.convert_calendar,
        handler=calendar.calendar,
    ),
    Subcommand(
        "close-out",
        "Close the project: what blocks closing, lessons, the final report",
        closeout.USAGE["close-out"],
        closeout.EXAMPLES["close-out"],
        closeout.SUMMARIES["close-out"],
        (_choice("step", "what to do (default: show what blocks closing)", _CLOSE_OUT_STEPS),),
        parse=closeout.parse_close_out,
        convert=closeout.convert_close_out,
        handler=closeout.close_out,
        discord_command="project",
    ),
    Subcommand(
        "defer",
        "Put an item off until a date, for a reason",
        closeout.USAGE["defer"],
        closeout.EXAMPLES["defer"],
        closeout.SUMMARIES["defer"],
        (
            _ref(),
            _date("until", f"when to revisit it: {_DATE}", required=True),
            _text("reason", "why it is deferred", required=True),
        ),
        parse=closeout.parse_defer,
        convert=closeout.convert_defer,
        handler=closeout.defer,
        discord_command="project",
    ),
    Subcommand(
        "lesson",
        "Log a lesson learned (no text: list them)",
        closeout.USAGE["lesson"],
        closeout.EXAMPLES["lesson"],
        closeout.SUMMARIES["lesson"],
        (_long("text", "what was learned (leave out to list the lessons)"),),
        parse=closeout.parse_lesson,
        convert=closeout.convert_lesson,
        handler=closeout.lesson,
        discord_command="project",
    ),
    Subcommand(
        "reopen-project",
        "Reopen a closed project",
        closeout.USAGE["reopen-project"],
        closeout.EXAMPLES["reopen-project"],
        closeout.SUMMARIES["reopen-project"],
        (_text("reason", "why it is open again"),),
        parse=closeout.parse_reopen_project,
        convert=closeout.convert_reopen_project,
        handler=closeout.reopen_project,
        discord_command="project",
    ),
    Subcommand(
        "help",
        "Every command with an example",
        options=(_text("topic", "a command, e.g. resolve or blocker"),),
        convert=lambda ctx, options: calls.Help(options.get("topic") or ""),
        handler=lambda ctx, call: _help(ctx, call),
    ),
)

_SCHEDULE_OPTIONS = (
    _text(
        "days",
        "weekdays, mon,wed,fri, every other monday, first monday, last friday or day 1",
        required=True,
    ),
    _text("time", "local time, e.g. 09:30", required=True),
    _text("timezone", _ZONE),
)

STANDUP_SUBCOMMANDS: tuple[Subcommand, ...] = (
    _standup(
        "status",
        "The standup's schedule and members",
        usage="status",
        example="status",
    ),
    _standup(
        "schedule",
        "When the standup opens",
        _SCHEDULE_OPTIONS,
        usage="schedule <days> <HH:MM> [zone], where <days> is weekdays, daily, mon,wed,fri, "
        "every other monday, first monday, last friday or day 1",
        example="schedule weekdays 09:30 Europe/Berlin",
        summary="When the standup opens: weekdays, mon,wed,fri, every other monday, "
        "first monday, last friday or day 1",
    ),
    _standup(
        "questions",
        "The standup's questions",
        (_text("questions", "questions separated by |", required=True),),
        usage="questions <q1> | <q2> ... (or `default`)",
        example="questions What changed? | What is blocked?",
    ),
    _standup(
        "members",
        "Who is asked; optional members and observers",
        (
            _user("member", "a member", required=True),
            _choice("role", "member (default), optional, observer, or remove", _ROLES),
            _user("member_2", "another member"),
            _user("member_3", "another member"),
            _user("member_4", "another member"),
            _user("member_5", "another member"),
        ),
        usage="members [optional|observer|remove] @a @b ...",
        example="members optional @erin",
    ),
    _standup(
        "window",
        "How long answers are collected",
        (_text("duration", "e.g. 2h or 90m", required=True),),
        usage="window <duration>",
        example="window 2h",
    ),
    _standup(
        "mode",
        "Answer in a thread or by direct message",
        (_choice("mode", "thread, dm or dm local", _MODES, required=True),),
        usage="mode thread|dm|dm local",
        example="mode dm",
    ),
    _standup(
        "skip",
        "Skip a standup",
        (_text("day", "which day (default: today)"),),
        usage="skip today|<date>",
        example="skip friday",
    ),
    _standup(
        "tz",
        "Your own time zone for standups in dm local mode",
        (
            _text("zone", "an IANA time zone, e.g. Europe/Lisbon, or off", required=True),
            _user("who", "whose time zone (default: yours; others: leads only)"),
        ),
        usage="tz [@who] <zone>|off",
        example="tz Europe/Lisbon",
    ),
    _standup(
        "late",
        "Take answers after the close, marked late",
        (_text("duration", "e.g. 4h, or off", required=True),),
        usage="late <duration>|off",
        example="late 4h",
    ),
    _standup(
        "reminder",
        "When members who have not answered are reminded",
        (_choice("when", "off, 50%, 75% or twice", _REMINDER_CHOICES, required=True),),
        usage="reminder off|50%|75%|twice",
        example="reminder twice",
    ),
    _standup(
        "mentions",
        "Whether the summary mentions who did not answer",
        (_choice("mentions", "on or off", _ON_OFF, required=True),),
        usage="mentions on|off",
        example="mentions off",
    ),
    _standup(
        "away",
        "Away until a date: not asked meanwhile",
        (_date("until", _DATE, required=True), _user("who", "who is away (default: you)")),
        usage="away [@who] until <date>",
        example="away @erin until Dec 8",
    ),
    _standup(
        "answer",
        "Answer (or edit your answer to) the standup",
        usage="answer",
        example="answer",
    ),
    _standup("now", "Open a standup now", usage="now", example="now"),
    _standup("off", "Stop the standups", usage="off", example="off"),
    _standup(
        "add",
        "Add a named standup (its own schedule, questions, members)",
        (_text("name", "a short name, e.g. retro", required=True),),
        usage="add <name>",
        example="add retro",
        named=False,
    ),
    _standup(
        "remove",
        "Remove a named standup",
        (_text("name", "the named standup, e.g. retro", required=True),),
        usage="remove <name>",
        example="remove retro",
        named=False,
    ),
)

DIGEST_SUBCOMMANDS: tuple[Subcommand, ...] = (
    _digest(
        "now",
        "Post a digest now",
        (_flag("chart", "attach the 12-week trend and the risk heat map as a picture"),),
        usage="now [chart]",
        example="now chart",
    ),
    _digest(
        "daily",
        "Post a digest every day",
        (
            _text("time", "local time, e.g. 17:00", required=True),
            _text("timezone", _ZONE),
            _flag("weekdays", "Monday to Friday only"),
        ),
        usage="daily [weekdays] <HH:MM> [zone]",
        example="daily weekdays 17:00",
    ),
    _digest(
        "weekly",
        "Post a digest once a week",
        (
            _choice("day", "the day", _DAYS, required=True),
            _text("time", "local time, e.g. 16:00", required=True),
            _text("timezone", _ZONE),
            _flag("every_other", "every other week (default: every week)"),
        ),
        usage="weekly <day> <HH:MM> [zone] | weekly every other <day> <HH:MM> [zone]",
        example="weekly fri 16:00",
    ),
    _digest(
        "monthly",
        "Post a digest once a month",
        (
            _text("day", "first monday, last friday or day 1", required=True),
            _text("time", "local time, e.g. 09:00", required=True),
            _text("timezone", _ZONE),
        ),
        usage="monthly first monday|last friday|day 1 <HH:MM> [zone]",
        example="monthly first monday 09:00",
    ),
    _digest(
        "add",
        "Keep another digest schedule besides the ones there are",
        (_text("rule", "e.g. weekly fri 16:00 or daily weekdays 09:00", required=True),),
        usage="add daily|weekly|monthly ...",
        example="add weekly fri 16:00",
    ),
    _digest(
        "remove",
        "Remove a digest schedule by its number in /digest status",
        (_text("number", "the number /digest status shows, e.g. 2", required=True),),
        usage="remove <number>",
        example="remove 2",
    ),
    _digest(
        "status", "The digest schedules and when each runs next", usage="status", example="status"
    ),
    _digest("off", "Stop the scheduled digests", usage="off", example="off"),
)


def _raid_usage() -> str:
    names = [s.name for s in _help_order(RAID_SUBCOMMANDS)]
    return "/raid <subcommand> ... where <subcommand> is one of: " + ", ".join(names) + ", help"


def _help_order(subs: tuple[Subcommand, ...]) -> tuple[Subcommand, ...]:
    """Plain subcommands first, then groups; ``help`` is not listed (it is the list)."""
    plain = tuple(s for s in subs if not s.subcommands and s.name != "help")
    return plain + tuple(s for s in subs if s.subcommands)


def _parse_raid(ctx: Context, text: str) -> Any:
    words = text.split(maxsplit=1)
    if not words or words[0].lower() in ("help", "?"):
        return calls.Help(words[1] if len(words) > 1 else "")
    name = words[0].lower()
    sub = _RAID_TEXT_SUBS.get(name)
    if sub is None or sub.parse is None:
        # a typo of a subcommand gets that subcommand's usage (``resolv`` -> resolve's)
        close = closest(name, list(_RAID_TEXT_SUBS))
        meant = _RAID_TEXT_SUBS[close] if close else None
        hint = f" Did you mean `{close}`?" if close else ""
        raise UsageError(
            f"`{name}` is not a /raid subcommand.{hint}",
            usage=meant.usage if meant and meant.usage else COMMANDS["raid"].usage,
        )
    return sub.parse(ctx, words[1] if len(words) > 1 else "")


def _log_command(kind: Kind, description: str, example: str, summary: str) -> Command:
    return Command(
        kind.value,
        description,
        log.USAGE[kind],
        example,
        summary,
        log.PARSERS[kind],
        log.log,
        LOG_OPTIONS[kind],
        convert=lambda ctx, options: log.from_options(
            ctx, kind, options, {o.name: o.field or o.name for o in LOG_OPTIONS[kind]}
        ),
        form=log.form_for(kind),
    )


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        _log_command(
            Kind.BLOCKER,
            "Log something that stops the work",
            "/blocker Waiting on firewall change from NetOps @dana due Friday",
            "log something that stops the work",
        ),
        _log_command(
            Kind.RISK,
            "Log something that may go wrong",
            "/risk Vendor may slip the SSO delivery likelihood high impact medium @bob "
            "review in 2 weeks mitigation weekly vendor check-in",
            "log something that may go wrong",
        ),
        _log_command(
            Kind.DECISION,
            "Record a decision taken, or log one that is needed",
            "/decision needed Pick the SSO vendor @cio by Dec 5",
            "record a decision taken, or log one that is needed",
        ),
        _log_command(
            Kind.CHANGE,
            "Request a change that needs an explicit yes or no",
            "/change Add CRM integration to scope impact schedule +2 weeks, cost +8k @sponsor "
            "because sales needs leads in CRM",
            "request a change that needs an explicit yes or no",
        ),
        _log_command(
            Kind.MILESTONE,
            "Plan a milestone: a date the work must reach",
            "/milestone Design approved due 15 Jan @owner",
            "plan a milestone; items join it with `for M-1` or `/raid link B-3 M-1`, and its "
            "health (on track, at risk, missed, done) is worked out from them",
        ),
        Command(
            "standup",
            "The channel's asynchronous standup",
            standup.STANDUP_USAGE,
            "/standup schedule weekdays 09:30",
            "scheduled standup polls: schedule, questions, members (optional, observers), "
            "window, mode, late answers, reminders, mentions, skip, away, now; "
            "several named standups per channel (add, remove); each member asked at their own "
            "time (mode dm local, tz)",
            standup.parse_standup,
            standup.standup,
            subcommands=STANDUP_SUBCOMMANDS,
        ),
        Command(
            "digest",
            "What changed, what is blocked, what needs a decision",
            standup.DIGEST_USAGE,
            "/digest weekly fri 16:00",
            "what changed, what is blocked, what needs a decision: now, or on schedules (daily "
            "or weekdays only, weekly or every other week, monthly; several per channel: add, "
            "remove, status)",
            standup.parse_digest,
            standup.digest,
            subcommands=DIGEST_SUBCOMMANDS,
        ),
        Command(
            "raid",
            "List, show and change items; history, export, settings",
            _raid_usage(),
            "/raid list overdue",
            "list, show and change items; history, export, settings",
            _parse_raid,
            run,
            subcommands=RAID_SUBCOMMANDS,
        ),
    )
}


_RAID_TEXT_SUBS = {s.name: s for s in _help_order(RAID_SUBCOMMANDS)}


def from_options(
    ctx: Context, command: Command, subcommand: str | None, options: Mapping[str, str]
) -> object:
    """The typed call of a command given as a platform's typed options."""
    if not subcommand:
        if command.convert is None:
            raise UsageError(f"Say which /{command.name} subcommand.", usage=command.usage)
        return command.convert(ctx, options)
    sub = command.subcommand(subcommand.lower())
    if sub is None or sub.convert is None:
        name = subcommand.split()[0].lower()
        raise UsageError(f"`{name}` is not a /{command.name} subcommand.", usage=command.usage)
    return sub.convert(ctx, options)


HELP_WORDS = ("help", "?")


def help_request(command: str, text: str) -> Reply | None:
    """``/blocker help``, ``/standup ?``, ``/raid resolve help``: that command's (or
    subcommand's) help; None when ``text`` is not a request for help. Never creates anything."""
    words = text.lower().split()
    if not words or words[-1] not in HELP_WORDS:
        return None
    path = words[:-1]
    if command == "decision" and path in (["needed"], ["need"], ["pending"]):
        path = []  # /decision needed help
    if command == "standup" and path and COMMANDS["standup"].subcommand(path[0]) is None:
        path = path[1:]  # a named standup's: /standup design help, /standup design away ?
    if not path:
        return help_reply(command)
    spec = COMMANDS.get(command)
    if spec is not None and spec.subcommand(" ".join(path)) is not None:
        return help_reply(f"{command} {' '.join(path)}")
    return None


def _sub_help(command: Command, path: str, sub: Subcommand) -> Reply:
    # a group's subcommand (``settings timezone``) has the usage of its group
    group = command.subcommand(path.split()[0])
    usage = sub.usage or (group.usage if group is not None else "") or command.usage
    lines = [f"/{command.name} {path}: {sub.summary or sub.description}", f"Usage: {usage}"]
    if sub.example:
        lines.append(f"Example: {sub.example}")
    sections: tuple[Section, ...] = ()
    if sub.subcommands:
        sections = (
            Section(
                f"/{command.name} {path}",
                tuple(f"{s.name}: {s.description}" for s in sub.subcommands),
            ),
        )
    return Reply(text="\n".join(lines), sections=sections)


def _command_help(c: Command) -> Reply:
    text = f"/{c.name}: {c.summary}\nUsage: {c.usage}\nExample: {c.example}"
    if not c.subcommands:
        return Reply(text=text)
    subs = _help_order(c.subcommands) if c.name == "raid" else c.subcommands
    lines = tuple(
        f"{s.name}: {s.summary or s.description}"
        + (f". Example: `{s.example}`" if s.example else "")
        for s in subs
    )
    tail = f"`/{c.name} <subcommand> help` shows one subcommand's usage."
    return Reply(text=f"{text}\n{tail}", sections=(Section(f"/{c.name}", lines),))


def help_reply(topic: str = "") -> Reply:
    topic = " ".join(topic.strip().lower().lstrip("/").split())
    if topic:
        if topic in COMMANDS and topic != "raid":
            return _command_help(COMMANDS[topic])
        first, _, rest = topic.partition(" ")
        if first in COMMANDS and rest:
            command = COMMANDS[first]
            sub = command.subcommand(rest)
            if sub is not None:
                return _sub_help(command, rest, sub)
        raid_path = topic.removeprefix("raid ").strip() if topic != "raid" else ""
        sub = COMMANDS["raid"].subcommand(raid_path) if raid_path else None
        if sub is not None and sub.name not in HELP_WORDS:
            return _sub_help(COMMANDS["raid"], raid_path, sub)
        if topic != "raid":
            raise UsageError(
                f"There is no help on `{topic}`."
                f"{did_you_mean(topic, [*COMMANDS, *_RAID_TEXT_SUBS])}",
                usage="/raid help [command], e.g. `/raid help resolve` or `/raid help standup`",
            )
    log_lines = tuple(
        f"/{c.name}: {c.summary}. Example: `{c.example}`"
        for c in COMMANDS.values()
        if c.name != "raid"
    )
    raid_lines = tuple(
        f"{s.name}: {s.summary}. Example: `{s.example}`" for s in _RAID_TEXT_SUBS.values()
    )
    return Reply(
        text=(
            "raidline keeps this channel's blockers, risks, decisions, change requests and "
            "milestones. Every logging command takes `for M-1` (the milestone it is part of) "
            "and `link JIRA-123` or `link <https address>` (a tracker link). "
            "A logging command with no text opens a form. `/raid help <command>` (or "
            "`<command> help`) shows one command's usage."
        ),
        sections=(Section("Log", log_lines), Section("/raid", raid_lines)),
    )
