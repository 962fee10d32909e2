"""A channel's log written out: Markdown, CSV or JSON with every item's history."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from bot.domain.model import ChannelKey, Event, Item
from bot.messages import File
from bot.services.export import check_format as check_format
from bot.services.export import item_record
from bot.text.parsing import mention
from bot.views.items import history_line, list_line

_MIME = {"md": "text/markdown", "csv": "text/csv", "json": "application/json"}

#: What a spreadsheet reads as the start of a formula (or, for tab and carriage return, what
#: some programs strip before looking for one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: ``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``.

    A text cell whose first character, or first after leading spaces (which spreadsheets
    may trim on import), starts a formula gets a leading apostrophe; anything else is
    written as it is.
    """
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
                history_line(item.kind, e, tz, now, reporter=item.reporter)
                for e in ev.get(item.id or 0, [])
            )
            writer.writerow({k: spreadsheet_safe(v) for k, v in record.items()})
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
                lines.append(f"- {history_line(item.kind, e, tz, now, reporter=item.reporter)}")
            lines.append("")
        body = "\n".join(lines)
    return File(filename, body.encode("utf-8"), _MIME[fmt], title)
