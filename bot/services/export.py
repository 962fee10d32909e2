"""A channel's full log with history as Markdown, CSV or JSON.

``render``/``export_channel`` make one channel's export (``/raid export``, ``raidline export
--channel``). ``item_record`` is one item as JSON values, here and in the full backup
(``raidline export --all``), whose document ``storage.backup`` writes and reads.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from bot.domain.model import ChannelKey, Event, Item
from bot.errors import UsageError
from bot.messages import File
from bot.ports import UnitOfWork
from bot.text.parsing import mention
from bot.views.items import history_line, list_line

FORMATS = ("md", "csv", "json")
_MIME = {"md": "text/markdown", "csv": "text/csv", "json": "application/json"}


def check_format(fmt: str) -> str:
    fmt = fmt.strip().lower().lstrip(".")
    if fmt == "markdown":
        fmt = "md"
    if fmt not in FORMATS:
        raise UsageError(
            f"`{fmt or '(none)'}` is not an export format. Use `md`, `csv` or `json`, "
            "e.g. `/raid export md`."
        )
    return fmt


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def item_record(item: Item, events: list[Event], *, complete: bool = False) -> dict[str, Any]:
    """One item and its events as JSON values, datetimes in ISO 8601.

    ``complete`` adds the nudge state (``nudge_count``, ``last_nudged_at``, ``snoozed_until``)
    a backup needs to restore the item exactly; channel exports leave it out.
    """
    record: dict[str, Any] = {
        "ref": str(item.ref),
        "kind": item.kind.value,
        "status": item.status.value,
        "title": item.title,
        "details": item.details,
        "reporter": item.reporter,
        "owner": item.owner,
        "due": _iso(item.due_at),
        "waiting_on": item.waiting_on,
        "resolution": item.resolution,
        "likelihood": item.likelihood,
        "impact": item.impact,
        "score": item.score,
        "response": item.response,
        "mitigation": item.mitigation,
        "outcome": item.outcome,
        "rationale": item.rationale,
        "impacts": dict(item.impacts),
        "approvers": list(item.approvers),
        "decision_note": item.decision_note,
        "decided_by": item.decided_by,
        "decided_at": _iso(item.decided_at),
        "linked_ref": item.linked_ref,
        "source_url": item.source_url,
        "created_at": _iso(item.created_at),
        "updated_at": _iso(item.updated_at),
        "events": [
            {
                "at": _iso(e.at),
                "actor": e.actor,
                "action": e.action,
                "changes": [{"field": c.field, "old": c.old, "new": c.new} for c in e.changes],
                "note": e.note,
            }
            for e in events
        ],
    }
    if complete:
        record["nudge_count"] = item.nudge_count
        record["last_nudged_at"] = _iso(item.last_nudged_at)
        record["snoozed_until"] = _iso(item.snoozed_until)
    return record


def render(
    fmt: str,
    channel: ChannelKey,
    items: list[Item],
    events: dict[int, list[Event]],
    tz: str,
    now: datetime,
) -> File:
    fmt = check_format(fmt)
    stamp = now.strftime("%Y%m%d-%H%M")
    filename = f"raidline-{channel.channel}-{stamp}.{fmt}"
    title = f"raidline log of {channel.channel}"
    ev = {i.id: events.get(i.id, []) for i in items if i.id is not None}
    if fmt == "json":
        doc = {
            "channel": {
                "platform": channel.platform,
                "workspace": channel.workspace,
                "channel": channel.channel,
            },
            "exported_at": now.isoformat(),
            "items": [item_record(i, ev.get(i.id or 0, [])) for i in items],
        }
        body = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    elif fmt == "csv":
        out = io.StringIO()
        columns = [
            "ref", "kind", "status", "title", "owner", "due", "reporter", "created_at",
            "updated_at", "likelihood", "impact", "score", "response", "mitigation",
            "waiting_on", "resolution", "outcome", "rationale", "impacts", "approvers",
            "decision_note", "decided_by", "decided_at", "linked_ref", "details", "history",
        ]  # fmt: skip
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for item in items:
            record = item_record(item, ev.get(item.id or 0, []))
            record["impacts"] = "; ".join(f"{k} {v}" for k, v in item.impacts.items())
            record["approvers"] = " ".join(item.approvers)
            record["history"] = "\n".join(
                history_line(item.kind, e, tz, now) for e in ev.get(item.id or 0, [])
            )
            writer.writerow(record)
        body = out.getvalue()
    else:
        lines = [f"# {title}", "", f"Exported {now.isoformat()} · {len(items)} items", ""]
        for item in items:
            lines.append(f"## {item.ref} · {item.title}")
            lines.append("")
            lines.append(f"- {list_line(item, tz, now)}")
            lines.append(f"- status: {item.status.label}; reported by {mention(item.reporter)}")
            if item.details:
                lines.append(f"- details: {item.details}")
            lines.append("")
            lines.append("History:")
            lines.append("")
            for e in ev.get(item.id or 0, []):
                lines.append(f"- {history_line(item.kind, e, tz, now)}")
            lines.append("")
        body = "\n".join(lines)
    return File(filename, body.encode("utf-8"), _MIME[fmt], title)


async def export_channel(
    uow: UnitOfWork, channel: ChannelKey, fmt: str, tz: str, now: datetime
) -> File:
    fmt = check_format(fmt)
    items = await uow.items.list(channel)
    events = await uow.items.events([i.id for i in items if i.id is not None])
    return render(fmt, channel, items, events, tz, now)
