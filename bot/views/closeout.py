"""What close-out says: the checklist of what blocks closing, lessons learned, the final
report (a Markdown file: a summary, the lessons, then the full register) and the closed
channel's replies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from bot.domain.model import Item, Kind, Lesson, Status, mention
from bot.messages import Card, File, Reply, Section, Tone, Visibility
from bot.services.closeout import Checklist, FinalReport, Lessons
from bot.services.export import KIND_ORDER
from bot.text.dates import format_date
from bot.views import export as export_views
from bot.views.items import card, defer_action, list_line

#: How the checklist and the report name what is still open of each kind.
_STILL = {
    Kind.BLOCKER: ("open blocker", "open blockers"),
    Kind.RISK: ("open risk", "open risks"),
    Kind.DECISION: ("pending decision", "pending decisions"),
    Kind.CHANGE: (
        "change request to decide or implement",
        "change requests to decide or implement",
    ),
}


def _still(kind: Kind, n: int) -> str:
    one, many = _STILL.get(kind, (f"{kind.label} not done", f"{kind.plural} not done"))
    return f"{n} {one if n == 1 else many}"


DEFER_EXAMPLE = "/raid defer B-3 until 1 Mar because the vendor moved the release"


def _lesson_line(lesson: Lesson, tz: str, now: datetime) -> str:
    return f"{lesson.text} — {mention(lesson.author)}, {format_date(lesson.created_at, tz, now)}"


def lesson_lines(lessons: Lessons, tz: str, now: datetime) -> tuple[str, ...]:
    lines = [_lesson_line(lesson, tz, now) for lesson in lessons.logged]
    for given in lessons.answered:
        for question, answer in zip(given.questions, given.answers, strict=False):
            if answer.strip():
                lines.append(f"{question} {answer} — {mention(given.person)}")
    return tuple(lines)


def checklist_reply(found: Checklist, tz: str, now: datetime) -> Reply:
    """``/raid close-out``: what blocks closing (each with its buttons and Defer), what was
    deferred, the lessons so far, and the next steps."""
    blocking = found.blocking
    since = found.settings.closing_since
    head = "Close-out" + (f" (started {format_date(since, tz, now)})" if since else "")
    if blocking:
        counts = Counter(i.kind for i in blocking)
        what = ", ".join(_still(k, counts[k]) for k in KIND_ORDER if counts.get(k))
        text = (
            f"{head}: {len(blocking)} item{'s' if len(blocking) != 1 else ''} still block "
            f"closing ({what}). Resolve, withdraw or defer each: "
            f"`/raid defer {blocking[0].ref} until <date> because <reason>`."
        )
    else:
        text = (
            f"{head}: nothing blocks closing. `/raid close-out finish` posts the final report "
            "and closes the channel."
        )
    cards = tuple(_with_defer(card(item, tz, now), item) for item in blocking[:_CARDS])
    sections: list[Section] = []
    if len(blocking) > _CARDS:
        sections.append(
            Section(
                f"And {len(blocking) - _CARDS} more",
                tuple(list_line(i, tz, now) for i in blocking[_CARDS:]),
            )
        )
    if found.deferred:
        sections.append(Section("Deferred", tuple(list_line(i, tz, now) for i in found.deferred)))
    lessons = lesson_lines(found.lessons, tz, now)
    sections.append(
        Section(
            f"Lessons learned ({len(lessons)})",
            lessons or ("None yet: `/raid lesson <what you learned>`.",),
        )
    )
    steps = ["`/raid lesson <text>` logs a lesson learned."]
    if not found.lessons_asked:
        steps.append(
            "`/raid close-out lessons` asks the members what went well and what to change "
            "(a `lessons` standup)."
        )
    steps.append("`/raid close-out finish` posts the final report and closes the channel.")
    sections.append(Section("Next", tuple(steps)))
    return Reply(text=text, cards=cards, sections=tuple(sections))


#: Cards the checklist shows with buttons; the rest are listed.
_CARDS = 10


def _with_defer(c: Card, item: Item) -> Card:
    return replace(c, actions=(*c.actions, defer_action(item)))


def deferred_reply_note(item: Item, tz: str, now: datetime) -> str:
    when = format_date(item.revisit_at, tz, now) if item.revisit_at else "no date"
    return f"Deferred {item.ref} until {when}: {item.deferred_reason}"


def lesson_added(lesson: Lesson, count: int) -> Reply:
    return Reply(
        text=f"Lesson learned #{count} noted: {lesson.text}",
        visibility=Visibility.CHANNEL,
        tone=Tone.SUCCESS,
    )


def lessons_reply(lessons: Lessons, tz: str, now: datetime) -> Reply:
    lines = lesson_lines(lessons, tz, now)
    if not lines:
        return Reply(
            text="No lessons learned yet. `/raid lesson Book the test environment early` "
            "logs one; `/raid close-out lessons` asks the members."
        )
    return Reply(
        text=f"{len(lines)} lesson{'s' if len(lines) != 1 else ''} learned.",
        sections=(Section("Lessons learned", lines),),
    )


def lessons_asked(opened: bool) -> str:
    return (
        "Asking the members what went well and what to change next time (the `lessons` "
        "standup"
        + (", opening now)." if opened else "; it opens again with `/standup lessons now`).")
        + " Their answers go into the final report."
    )


def reopened(settings_closed_at: datetime | None, tz: str, now: datetime) -> Reply:
    was = f" (closed {format_date(settings_closed_at, tz, now)})" if settings_closed_at else ""
    return Reply(
        text=f"The project is open again{was}: items can be logged, and standups, digests "
        "and nudges run on their schedules.",
        visibility=Visibility.CHANNEL,
        tone=Tone.SUCCESS,
    )


# --- the final report ------------------------------------------------------------------------


def _decision_lines(items: list[Item], w: export_views.Writer) -> list[str]:
    lines = []
    for item in items:
        if item.kind is not Kind.DECISION:
            continue
        outcome = f": {w.text(item.outcome)}" if item.outcome else ""
        lines.append(f"- {item.ref} {w.text(item.title)} ({item.status.label}){outcome}")
    return lines


def _change_lines(items: list[Item], w: export_views.Writer) -> list[str]:
    lines = []
    for item in items:
        if item.kind is not Kind.CHANGE:
            continue
        impacts = "; ".join(f"{k} {v}" for k, v in item.impacts.items())
        lines.append(
            f"- {item.ref} {w.text(item.title)} ({item.status.label})"
            + (f", impact {w.text(impacts)}" if impacts else "")
        )
    return lines


def _status_counts(items: list[Item], kind: Kind) -> str:
    counts = Counter(i.status for i in items if i.kind is kind)
    return ", ".join(f"{n} {status.label}" for status, n in sorted(counts.items()))


def summary_lines(report: FinalReport, w: export_views.Writer, now: datetime) -> list[str]:
    items = report.log.items
    s = report.settings
    lines = [f"# Final report of #{report.log.channel.channel}", ""]
    closed = f"Closed {w.date(s.closed_at)}" if s.closed_at else "Closed"
    if s.closed_by:
        closed += f" by {w.person(s.closed_by)}"
    if s.closing_since:
        closed += f"; close-out started {w.date(s.closing_since)}"
    lines += [closed + ".", "", "## Summary", ""]
    present = {i.kind for i in items}
    for kind in KIND_ORDER:
        if kind in present:
            lines.append(f"- {kind.plural.capitalize()}: {_status_counts(items, kind)}")
    if not items:
        lines.append("- No items were logged.")
    milestones = [i for i in items if i.kind.value == "milestone"]
    if milestones:
        lines += ["", "## Milestones", ""]
        lines += [
            f"- {i.ref} {w.text(i.title)} ({i.status.label})"
            + (f", due {w.date(i.due_at)}" if i.due_at else "")
            for i in milestones
        ]
    decisions = _decision_lines(items, w)
    if decisions:
        lines += ["", "## Decisions", "", *decisions]
    changes = _change_lines(items, w)
    if changes:
        lines += ["", "## Changes", "", *changes]
    deferred = [i for i in items if i.status is Status.DEFERRED]
    if deferred:
        lines += ["", "## Deferred", ""]
        lines += [
            f"- {i.ref} {w.text(i.title)}: revisit {w.date(i.revisit_at)}"
            + (f", because {w.text(i.deferred_reason)}" if i.deferred_reason else "")
            for i in deferred
        ]
    lines += ["", "## Lessons learned", ""]
    lessons = report.lessons
    if not len(lessons):
        lines.append("- None were recorded.")
    for lesson in lessons.logged:
        lines.append(f"- {w.text(lesson.text)} ({w.person(lesson.author)})")
    for given in lessons.answered:
        for question, answer in zip(given.questions, given.answers, strict=False):
            if answer.strip():
                lines.append(f"- {question} {w.text(answer)} ({w.person(given.person)})")
    return lines


def final_report(
    report: FinalReport, tz: str, now: datetime, names: Mapping[str, str] | None = None
) -> Reply:
    """The final report, posted in the channel: the summary in the message and, as a Markdown
    file, the summary, the lessons and the full register with every item's history."""
    w = export_views.Writer(names or {}, tz)
    summary = summary_lines(report, w, now)
    register = export_views.render("md", report.log, tz, now, names).content.decode("utf-8")
    body = "\n".join(summary) + "\n\n---\n\n" + register
    stamp = now.strftime("%Y%m%d-%H%M")
    file = File(
        f"raidline-{report.log.channel.channel}-final-report-{stamp}.md",
        body.encode("utf-8"),
        "text/markdown",
        f"Final report of #{report.log.channel.channel}",
    )
    decided = sum(1 for i in report.log.items if i.kind is Kind.DECISION)
    changes = sum(1 for i in report.log.items if i.kind is Kind.CHANGE)
    deferred = sum(1 for i in report.log.items if i.status is Status.DEFERRED)
    text = (
        f"The project is closed. Final report: {len(report.log.items)} items, "
        f"{decided} decision{'s' if decided != 1 else ''}, {changes} change "
        f"request{'s' if changes != 1 else ''}, {deferred} deferred, "
        f"{len(report.lessons)} lesson{'s' if len(report.lessons) != 1 else ''} learned "
        f"(the file holds the summary and the full register). Nothing new is logged here "
        "and standups, digests and nudges stop; a lead can reopen it with "
        "`/raid reopen-project`."
    )
    summary_section = Section(
        "Summary", tuple(line[2:] for line in summary if line.startswith("- "))[:20]
    )
    return Reply(
        text=text,
        visibility=Visibility.CHANNEL,
        tone=Tone.SUCCESS,
        sections=(summary_section,),
        files=(file,),
    )
