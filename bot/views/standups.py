"""How standups read: the opening, the answer form, reminders, the summary, the replies."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot import actions as action_ids
from bot.domain.model import Kind, Standup, StandupAnswer
from bot.messages import Action, Form, FormField, InputKind, Reply, Section, Tone, Visibility
from bot.services import standups as svc
from bot.services.standups import AnswerDraft, Summary, Tracked
from bot.text.dates import format_date, format_datetime, format_local_date
from bot.text.parsing import mention
from bot.views.items import changed_reply

#: The answer form's fields: ``q0``, ``q1``... (a standup asks a handful of questions; longer
#: numbers are no field of the form and are ignored, as any other unknown field)
_ANSWER_FIELD = re.compile(r"q(0|[1-9][0-9]{0,3})")
#: Track buttons under a summary: the first findings get one, the rest are listed only (a
#: message holds few buttons: Discord 25, and 300 buttons help nobody).
MAX_TRACK_BUTTONS = 10


def answer_form(standup: Standup, previous: StandupAnswer | None) -> Form:
    fields = tuple(
        FormField(
            f"q{n}",
            question,
            InputKind.LONG_TEXT,
            required=False,
            default=previous.answers[n] if previous and n < len(previous.answers) else None,
            max_length=svc.MAX_ANSWER_CHARS,
        )
        for n, question in enumerate(standup.questions)
    )
    return Form(action_ids.standup_answer(standup.stored_id), "Standup", fields, "Send answer")


def answer_values(values: Mapping[str, str]) -> dict[int, str]:
    """The submitted answer form as question number -> answer."""
    found = ((_ANSWER_FIELD.fullmatch(name), text) for name, text in values.items())
    return {int(m.group(1)): text for m, text in found if m}


def answer_action(standup: Standup) -> Action:
    return Action("Answer", action_ids.standup_answer(standup.stored_id), "primary")


def _named(name: str | None) -> str:
    """`` (retro)`` after "Standup" for a named standup; nothing for the default one."""
    return f" ({name})" if name else ""


def opening(
    standup: Standup,
    tz: str,
    now: datetime,
    *,
    questions_by_dm: bool = False,
    name: str | None = None,
) -> Reply:
    """The standup is open. ``questions_by_dm``: the channel's notice when every member is
    asked by direct message instead."""
    closes = format_datetime(standup.closes_at, tz, now)
    lines = [f"{n + 1}. {q}" for n, q in enumerate(standup.questions)]
    text = f"Standup time{_named(name)}! Please answer by {closes}."
    if standup.late_by_minutes:
        opened = format_datetime(
            standup.opened_at - timedelta(minutes=standup.late_by_minutes), tz, now
        )
        text += f" (Opened late: raidline was offline at {opened}.)"
    members = [mention(p) for p in standup.members if p not in standup.away]
    if members:
        text += " " + " ".join(members)
    if questions_by_dm:
        text += " Questions sent by direct message."
    else:
        text += " Answer with the button or `/standup answer`; you can edit your answer until then."
    return Reply(
        text=text,
        visibility=Visibility.CHANNEL,
        sections=(Section("Questions", tuple(lines)),),
        actions=(answer_action(standup),),
    )


def reminder(
    standup: Standup, missing: list[str], tz: str, now: datetime, *, name: str | None = None
) -> Reply:
    closes = format_datetime(standup.closes_at, tz, now)
    who = " ".join(mention(p) for p in missing)
    which = f"the {name} standup" if name else "the standup"
    return Reply(
        text=f"{who} {which} closes at {closes}; your answer is still missing.",
        visibility=Visibility.CHANNEL,
        actions=(answer_action(standup),),
    )


def open_now(
    standup: Standup, answers: list[StandupAnswer], tz: str, now: datetime
) -> tuple[str, Section]:
    """The standup open right now, as ``/standup`` shows it: who answered, who has not."""
    day = format_date(standup.opened_at, tz, now)
    answered = list(dict.fromkeys(a.person for a in answers))
    pending = svc.pending_members(standup, answers)
    if now < standup.closes_at and not standup.closed:
        until = f"answers are taken until {format_datetime(standup.closes_at, tz, now)}"
    else:
        late_until = standup.late_until or now
        until = f"late answers are taken until {format_datetime(late_until, tz, now)}"
    lines = [
        f"Answered ({len(answered)}): {' '.join(mention(p) for p in answered) or 'nobody yet'}",
        f"Not yet ({len(pending)}): {' '.join(mention(p) for p in pending) or 'nobody'}",
    ]
    optional = [p for p in standup.optional if p not in answered]
    if optional:
        lines.append(f"Optional, not yet: {' '.join(mention(p) for p in optional)}")
    if standup.away:
        lines.append(f"Away: {', '.join(standup.away)}")
    text = f"The standup of {day} is open: {until}."
    return text, Section(f"Standup of {day}, open now", tuple(lines))


def summary(result: Summary, tz: str, now: datetime, *, name: str | None = None) -> Reply:
    standup = result.standup
    day = format_date(standup.opened_at, tz, now)
    lines = [f"Answered: {' '.join(mention(p) for p in result.answered) or 'nobody'}"]
    if result.missing:
        # With mentions off, listed by name only: nobody is pinged for not answering.
        shown = [mention(p) if standup.mentions else p for p in result.missing]
        lines.append(f"No answer: {(' ' if standup.mentions else ', ').join(shown)}")
    if result.away:
        # listed by name, without a mention, so people who are away are not pinged
        lines.append(f"Away: {', '.join(result.away)}")
    if result.late:
        lines.append(f"Answered late: {', '.join(result.late)}")
    if standup.observers:
        lines.append(f"For: {' '.join(mention(p) for p in standup.observers)}")
    if standup.late_until is not None and now < standup.late_until:
        until = format_datetime(standup.late_until, tz, now)
        lines.append(f"Late answers are taken until {until} and added here.")
    sections = [Section(f"Standup{_named(name)} of {day}", tuple(lines))]
    for answer in result.answers:
        body = tuple(
            f"{q}: {answer.answers[n] if n < len(answer.answers) and answer.answers[n] else '—'}"
            for n, q in enumerate(standup.questions)
        )
        heading = mention(answer.person)
        if standup.is_late(answer.answered_at):
            heading += f" (late, {format_datetime(answer.answered_at, tz, now)})"
        sections.append(Section(heading, body))
    actions: list[Action] = []
    if result.findings:
        finding_lines = []
        for found in result.findings:
            label = "blocker" if found.kind is Kind.BLOCKER else "decision needed"
            finding_lines.append(f"{label} from {mention(found.person)}: {found.text}")
            if len(actions) < MAX_TRACK_BUTTONS:
                actions.append(
                    Action(
                        f"Track {label}: {found.text[:40]}",
                        action_ids.track(standup.stored_id, found.person, found.index),
                    )
                )
        if len(result.findings) > len(actions):
            finding_lines.append(
                f"…and {len(result.findings) - len(actions)} more without a Track button: "
                "log one with `/blocker <title>` or `/decision needed <title>`."
            )
        sections.append(
            Section("Found in the answers (not tracked unless you click)", tuple(finding_lines))
        )
    text = f"Standup summary{_named(name)}: {len(result.answered)} answered"
    if result.missing:
        text += f", {len(result.missing)} did not"
    return Reply(
        text=text, visibility=Visibility.CHANNEL, sections=tuple(sections), actions=tuple(actions)
    )


def answer_form_reply(draft: AnswerDraft) -> Reply:
    return Reply(text="Your standup answer", form=answer_form(draft.standup, draft.previous))


def answer_saved(standup: Standup, tz: str, now: datetime) -> Reply:
    if standup.is_late(now) and standup.late_until is not None:
        until = format_datetime(standup.late_until, tz, now)
        return Reply(
            text=(
                "Thanks, your answer is saved as a late answer and added to the summary. "
                f"You can change it until {until}."
            ),
            tone=Tone.SUCCESS,
        )
    closes = format_datetime(standup.closes_at, tz, now)
    return Reply(
        text=f"Thanks, your standup answer is saved. You can change it until {closes}.",
        tone=Tone.SUCCESS,
    )


def tracked_details(standup: Standup, tracked_by: str) -> str:
    """The details of an item tracked from a standup answer."""
    # kept in the item: the year is always written (the text is read in later years too)
    day = format_local_date(standup.local_date, "UTC", None)
    return f"From the standup of {day}; tracked by {mention(tracked_by)}."


def tracked(result: Tracked, tz: str, now: datetime) -> Reply:
    item = result.item
    if result.already:
        return Reply(text=f"Already tracked as {item.ref}: {item.title}")
    return changed_reply("Tracked", tz, now, item)


# --- a use case and its reply, for the commands and clicks that answer with it ---------------
