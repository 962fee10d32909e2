"""``/raid import`` and ``raidline import-csv``: a register kept in a spreadsheet becomes items.

Each row is read as the kind's logging form would be filled in (:func:`bot.commands.log.from_form`)
and logged with the same use case as in chat (:func:`bot.services.items.log_item`), so a row is
refused exactly where a form would be, with the same words. All rows are logged in one
transaction: a dry run (the default) and an import with any wrong row roll it back, so the
refs a dry run shows are the ones an import would get, and an import creates all or nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import PurePath

from bot.commands import calls, log
from bot.domain import rules
from bot.domain.model import Item, Kind, Status
from bot.errors import FormInvalid, RaidlineError, UsageError
from bot.messages import Reply
from bot.services import items as svc
from bot.services.items import Context
from bot.text.sheets import Row, Sheet, header_key, read_sheet
from bot.views import imports as views
from bot.views.imports import ImportResult, RowResult

USAGE = "/raid import <file.csv> [apply]"

#: Every column a register may have (header names as :func:`header_key` writes them), and
#: the cell it fills. Other columns are ignored (and listed in the dry run).
COLUMNS: Mapping[str, str] = {
    "kind": "kind",
    "type": "kind",
    "title": "title",
    "owner": "owner",
    "decider": "decider",
    "approver": "approvers",
    "approvers": "approvers",
    "due": "due",
    "due_date": "due",
    "date": "due",
    "review": "due",
    "next_review": "due",
    "decide_by": "due",
    "likelihood": "likelihood",
    "probability": "likelihood",
    "impact": "impact",
    "status": "status",
    "state": "status",
    "details": "details",
    "description": "details",
    "waiting_on": "waiting_on",
    "waiting_for": "waiting_on",
    "response": "response",
    "mitigation": "mitigation",
    "rationale": "rationale",
    "why": "rationale",
    "because": "rationale",
    "resolution": "resolution",
}

KIND_WORDS: Mapping[str, Kind] = {
    **{w: Kind.BLOCKER for w in ("blocker", "blockers", "b")},
    **{w: Kind.RISK for w in ("risk", "risks", "r")},
    **{w: Kind.DECISION for w in ("decision", "decisions", "d")},
    **{w: Kind.CHANGE for w in ("change", "changes", "c", "change request", "cr")},
    **{w: Kind.MILESTONE for w in ("milestone", "milestones", "m")},
}

#: The statuses a row may give, per kind, and what the import does for each: "" logs the
#: item as new; "decided" records a decision taken; the others are the chat use case run
#: right after logging it (the importer is its reporter, who may).
_OPEN = {"", "open", "new", "active"}
STATUSES: Mapping[Kind, Mapping[str, str]] = {
    Kind.BLOCKER: {**{s: "" for s in _OPEN}, "resolved": "resolve", "done": "resolve",
                   "withdrawn": "withdraw"},
    Kind.RISK: {**{s: "" for s in _OPEN}, "closed": "close", "withdrawn": "withdraw"},
    Kind.DECISION: {**{s: "" for s in ("", "open")}, "pending": "needed", "needed": "needed",
                    "needs a decision": "needed", "decided": "decided", "withdrawn": "withdraw"},
    Kind.CHANGE: {**{s: "" for s in _OPEN}, "proposed": "", "withdrawn": "withdraw"},
    Kind.MILESTONE: {**{s: "" for s in _OPEN}, "done": "resolve", "withdrawn": "withdraw"},
}  # fmt: skip

#: Which CSV column a form field's complaint is about.
_FORM_TO_COLUMN = {"review": "due", "by": "due", "why": "rationale", "state": "status"}


# --- text and options -------------------------------------------------------------------


def parse_import(ctx: Context, args: str) -> calls.ImportCsv:
    """``/raid import register.csv [apply]`` (the console reads the file at that path)."""
    words = args.split()
    apply = bool(words) and words[-1].lower() in ("apply", "--apply")
    if apply:
        words = words[:-1]
    name = " ".join(words)
    hint = f"`/raid import {name} apply`" if name else f"`{USAGE}` with `apply`"
    return calls.ImportCsv(name, apply, hint)


def convert_import(ctx: Context, options: Mapping[str, str]) -> calls.ImportCsv:
    """Discord's ``/raid import file:<attachment> [apply:True]``."""
    return calls.ImportCsv(
        (options.get("file") or "").strip(),
        options.get("apply") == "true",
        "`/raid import` again with the same file and `apply: True`",
    )


# --- running it ------------------------------------------------------------------------------


async def import_cmd(ctx: Context, call: calls.ImportCsv) -> Reply:
    data = _attached(ctx, call)
    if call.apply and not ctx.user_is_admin:
        rules.require_lead(ctx.user, ctx.settings, "import a register")
    name = PurePath(call.filename).name or call.filename
    result = await import_sheet(ctx, read_sheet(data, name), name, apply=call.apply)
    return views.import_reply(result, ctx.timezone, ctx.now, call.apply_hint)


def _attached(ctx: Context, call: calls.ImportCsv) -> bytes:
    if not call.filename and not ctx.attachments:
        raise UsageError(_how_to_attach(ctx), usage=USAGE)
    if call.filename in ctx.attachments:
        return ctx.attachments[call.filename]
    if len(ctx.attachments) == 1 and not call.filename:
        return next(iter(ctx.attachments.values()))
    raise UsageError(_how_to_attach(ctx), usage=USAGE)


def _how_to_attach(ctx: Context) -> str:
    """Where the register file comes from, on this platform."""
    channel = ctx.settings.channel
    cli = (
        f"`raidline import-csv register.csv --channel {channel}` (a dry run; add `--apply` "
        "to create the items)"
    )
    if channel.platform == "slack":
        return (
            "Slack does not let a slash command carry a file. Ask whoever runs raidline to "
            f"import it on the server: {cli}."
        )
    if channel.platform == "discord":
        return "Attach the register: `/raid import file:` and pick the .csv file."
    return f"Say which file: `{USAGE}`, e.g. `/raid import register.csv`."


async def import_sheet(ctx: Context, sheet: Sheet, source: str, *, apply: bool) -> ImportResult:
    """Log every row in the open unit of work; roll it all back unless ``apply`` and no row
    is wrong (the caller commits)."""
    result = ImportResult(source, [], _ignored(sheet))
    for row in sheet.rows:
        outcome = RowResult(row.number)
        outcome.errors.extend(sheet.problems.get(row.number, []))
        if not outcome.errors:
            try:
                outcome.item = await _import_row(ctx, row, source, outcome)
            except FormInvalid as e:
                outcome.errors.extend(
                    f"{_FORM_TO_COLUMN.get(name, name)}: {message}"
                    for name, message in e.errors.items()
                )
            except RaidlineError as e:
                outcome.errors.append(e.message)
        result.rows.append(outcome)
    if apply and not result.wrong:
        result.applied = True
    else:
        await ctx.uow.rollback()
    return result


def _ignored(sheet: Sheet) -> tuple[str, ...]:
    return tuple(h for h in sheet.headers if h and header_key(h) not in COLUMNS)


def _cells(row: Row) -> dict[str, str]:
    cells: dict[str, str] = {}
    for key, value in row.cells.items():
        if key in COLUMNS:
            cells.setdefault(COLUMNS[key], value)
    return cells


def kind_of(cells: Mapping[str, str]) -> Kind:
    word = " ".join(cells.get("kind", "").lower().split())
    if not word:
        raise UsageError(
            "kind: empty. Say blocker, risk, decision, change or milestone (or B, R, D, C, M)."
        )
    if word not in KIND_WORDS:
        raise UsageError(
            f"kind: `{cells['kind']}` is not a kind. Use blocker, risk, decision, change or "
            "milestone (or B, R, D, C, M)."
        )
    return KIND_WORDS[word]


def _status_step(kind: Kind, cells: Mapping[str, str]) -> str:
    word = " ".join(cells.get("status", "").lower().split())
    allowed = STATUSES[kind]
    if word in allowed:
        return allowed[word]
    named = [f"`{w}`" for w in sorted(w for w in allowed if w not in ("", "new", "active", "done"))]
    either = ", ".join(named[:-1]) + f" or {named[-1]}" if len(named) > 1 else named[0]
    raise UsageError(
        f"status: a {kind.label} can't be imported as `{cells['status']}`. Import it as "
        f"{either} (or leave the status empty), and change it in chat afterwards."
    )


def _form_values(kind: Kind, cells: Mapping[str, str], step: str) -> dict[str, str]:
    """The cells as the kind's logging form names its fields."""
    values = {"title": cells.get("title", ""), "details": cells.get("details", "")}
    if kind is Kind.BLOCKER:
        values.update(
            owner=cells.get("owner", ""),
            due=cells.get("due", ""),
            waiting_on=cells.get("waiting_on", ""),
        )
    elif kind is Kind.RISK:
        values.update(
            owner=cells.get("owner", ""),
            review=cells.get("due", ""),
            likelihood=cells.get("likelihood", ""),
            impact=cells.get("impact", ""),
            response=cells.get("response", ""),
            mitigation=cells.get("mitigation", ""),
        )
    elif kind is Kind.DECISION:
        state = step if step in ("needed", "decided") else ""
        if not state:  # as the typed options: needed when a decide-by date is given
            state = "needed" if cells.get("due") else "decided"
        values.update(
            decider=cells.get("decider") or cells.get("owner", ""),
            by=cells.get("due", ""),
            rationale=cells.get("rationale", ""),
            state=state,
        )
    elif kind is Kind.MILESTONE:
        values.update(owner=cells.get("owner", ""), due=cells.get("due", ""))
    else:
        values.update(
            impact=cells.get("impact", ""),
            approvers=cells.get("approvers") or cells.get("owner", ""),
            why=cells.get("rationale", ""),
        )
    return values


_STEPS: Mapping[str, Callable[[Context, Item, str | None], Awaitable[Item]]] = {
    "resolve": svc.resolve,
    "close": svc.close_risk,
    "withdraw": svc.withdraw,
}


async def _import_row(ctx: Context, row: Row, source: str, outcome: RowResult) -> Item:
    cells = _cells(row)
    kind = kind_of(cells)
    step = _status_step(kind, cells)
    call = log.from_form(ctx, kind, _form_values(kind, cells, step))
    item = await svc.log_item(
        ctx,
        kind,
        call.title,
        action="imported",
        note=f"from {source}, row {row.number}",
        **call.item_fields(),
    )
    if call.status is Status.DECIDED and item.status is Status.PENDING:
        outcome.notes.append(views.waits_on_decider(item))
    if step in _STEPS:
        item = await _STEPS[step](ctx, item, cells.get("resolution") or None)
    return item
