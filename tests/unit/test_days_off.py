"""Days off: the work week, a channel's public holidays and its further days off. Nothing
scheduled fires on them, and each run skipped says why (checked when the run fires)."""

from __future__ import annotations

import pytest

from bot.domain.model import RunKind, RunStatus
from bot.messages import Tone
from bot.scheduler import Scheduler
from bot.views.plain import render_text
from tests.unit.conftest import Chat
from tests.unit.test_scheduling import Recorder, at


@pytest.fixture
def outbox() -> Recorder:
    return Recorder()


@pytest.fixture
def scheduler(chat: Chat, outbox: Recorder) -> Scheduler:
    return Scheduler(
        chat.store,
        outbox,
        clock=chat.clock,
        default_timezone="Europe/Berlin",
        timetable=chat.core.timetable,
    )


def runs(chat: Chat, kind: RunKind) -> list[tuple[str, RunStatus, str | None]]:
    return [
        (str(r.payload.get("local_date", r.due_at.date())), r.status, r.reason)
        for r in sorted(chat.store.state.runs.values(), key=lambda r: r.due_at)
        if r.kind is kind
    ]


async def test_no_standup_on_a_public_holiday_and_the_status_says_why(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    reply = await chat.say("/raid settings holidays de-by")
    assert reply.tone is Tone.SUCCESS
    assert "public holidays of DE-BY" in reply.text
    at(chat, 2026, 12, 24, 12, 0)
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup schedule weekdays 09:30")

    at(chat, 2026, 12, 25, 9, 30)  # Christmas Day, a Friday
    await scheduler.tick()
    assert outbox.take() == []
    reason = "public holiday: Christmas Day (DE-BY)"
    assert runs(chat, RunKind.STANDUP_OPEN) == [("2026-12-25", RunStatus.SKIPPED, reason)]
    assert f"Fri 25 Dec: skipped ({reason})" in render_text(await chat.say("/standup"))

    at(chat, 2026, 12, 28, 9, 30)  # Monday: a working day again
    await scheduler.tick()
    (opening,) = outbox.take()
    assert "Standup time!" in opening.reply.text


async def test_the_work_week_counts_when_the_run_fires_not_when_it_was_scheduled(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/standup members @ana")
    await chat.say("/standup schedule daily 09:30")  # set while the work week is Mon-Fri
    reply = await chat.say("/raid settings workweek sun-thu")
    assert reply.text.startswith("This channel's work week: Mon, Tue, Wed, Thu, Sun.")

    at(chat, 2026, 11, 27, 9, 30)  # Friday
    await scheduler.tick()
    at(chat, 2026, 11, 28, 9, 30)  # Saturday
    await scheduler.tick()
    assert outbox.take() == []
    at(chat, 2026, 11, 29, 9, 30)  # Sunday: a working day in this channel
    await scheduler.tick()
    assert ["Standup time!" in m.reply.text for m in outbox.take()] == [True]
    assert runs(chat, RunKind.STANDUP_OPEN)[1:3] == [  # (Thursday's was missed)
        (
            "2026-11-27",
            RunStatus.SKIPPED,
            "outside the work week (Mon, Tue, Wed, Thu, Sun)",
        ),
        (
            "2026-11-28",
            RunStatus.SKIPPED,
            "outside the work week (Mon, Tue, Wed, Thu, Sun)",
        ),
    ]


async def test_an_extra_day_off_skips_the_digest_until_it_is_removed(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/blocker Waiting on VPN")
    await chat.say("/digest daily 17:00")
    added = await chat.say("/raid settings holidays add 2026-11-26")
    assert added.text == "Thu 26 Nov 2026 is a day off: no standup, reminder, nudge or digest."
    listed = render_text(await chat.say("/raid settings holidays list"))
    assert "Days off: 2026-11-26" in listed and "Work week: weekdays" in listed

    at(chat, 2026, 11, 26, 17, 0)
    await scheduler.tick()
    assert [m for m in outbox.take() if m.reply.text.startswith("Digest")] == []
    assert runs(chat, RunKind.DIGEST)[-1] == (
        "2026-11-26",
        RunStatus.SKIPPED,
        "a day off of this channel",
    )

    removed = await chat.say("/raid settings holidays remove 2026-11-26")
    assert removed.text == "Thu 26 Nov 2026 is no longer a day off."
    at(chat, 2026, 11, 27, 17, 0)
    await scheduler.tick()
    assert len([m for m in outbox.take() if m.reply.text.startswith("Digest")]) == 1


async def test_no_nudges_and_no_reminders_on_a_holiday(
    chat: Chat, scheduler: Scheduler, outbox: Recorder
) -> None:
    await chat.say("/raid settings holidays US")
    at(chat, 2026, 11, 24, 10, 0)
    await chat.say("/blocker Waiting on VPN @dana due tomorrow")
    await chat.say("/standup members @ana @bob")
    await chat.say("/standup window 1h")

    at(chat, 2026, 11, 26, 10, 0)  # Thanksgiving: the blocker is overdue
    await scheduler.tick()
    assert outbox.take() == []
    (nudge,) = runs(chat, RunKind.NUDGE)
    assert nudge[1:] == (RunStatus.SKIPPED, "public holiday: Thanksgiving Day (US)")

    await chat.say("/standup now")  # asked for: opens even on a holiday
    await scheduler.tick()
    assert ["Standup time!" in m.reply.text for m in outbox.take()] == [True]
    at(chat, 2026, 11, 26, 10, 45)
    await scheduler.tick()
    assert outbox.take() == []  # no reminder
    (reminder,) = runs(chat, RunKind.STANDUP_REMIND)
    assert reminder[1] is RunStatus.SKIPPED

    at(chat, 2026, 11, 27, 10, 0)  # Friday: nudged again
    await scheduler.tick()
    assert [m.to_user for m in outbox.take() if "B-1" in m.reply.text] == ["dana"]


WAITED = "waited more than 2 working days"


@pytest.mark.parametrize(
    ("settings", "proposed", "ticks"),
    [
        pytest.param(  # Fri 25 Dec is Christmas in Bavaria: Mon is day 1, Tue day 2
            ["/raid settings holidays DE-BY"],
            (2026, 12, 24, 10, 0),
            [((2026, 12, 28, 10, 30), False), ((2026, 12, 29, 10, 30), True)],
            id="thursday-before-a-holiday-friday-de-by",
        ),
        pytest.param(  # the same days without the holidays: Fri and Mon are the two days
            [],
            (2026, 12, 24, 10, 0),
            [((2026, 12, 28, 10, 30), True)],
            id="thursday-no-holidays",
        ),
        pytest.param(  # Sun-Thu: Thu is day 1, Fri and Sat are the weekend, Sun day 2
            ["/raid settings workweek sun-thu"],
            (2026, 11, 25, 10, 0),
            [((2026, 11, 27, 10, 30), False), ((2026, 11, 29, 10, 30), True)],
            id="wednesday-sun-thu-week",
        ),
        pytest.param(  # an extra day off on Thu: Fri is day 1, Mon day 2
            ["/raid settings holidays add 2026-11-26"],
            (2026, 11, 25, 10, 0),
            [((2026, 11, 27, 10, 30), False), ((2026, 11, 30, 10, 30), True)],
            id="wednesday-extra-day-off-thursday",
        ),
        pytest.param(  # US Thanksgiving Thu 26 Nov: Fri is day 1, Mon day 2
            ["/raid settings holidays US"],
            (2026, 11, 25, 10, 0),
            [((2026, 11, 27, 10, 30), False), ((2026, 11, 30, 10, 30), True)],
            id="wednesday-before-thanksgiving-us",
        ),
    ],
)
async def test_a_change_request_waits_two_of_the_channels_working_days(
    chat: Chat,
    scheduler: Scheduler,
    outbox: Recorder,
    settings: list[str],
    proposed: tuple[int, int, int, int, int],
    ticks: list[tuple[tuple[int, int, int, int, int], bool]],
) -> None:
    for line in settings:
        assert (await chat.say(line)).tone is Tone.SUCCESS, line
    at(chat, *proposed)
    await chat.say("/change Add SSO impact scope +1 screen @sponsor")
    for when, nudged in ticks:
        at(chat, *when)
        await scheduler.tick()
        sent = [(m.to_user, WAITED in m.reply.text) for m in outbox.take()]
        assert sent == ([("sponsor", True)] if nudged else []), when


async def test_settings_show_the_work_week_and_holidays(chat: Chat) -> None:
    await chat.say("/raid settings workweek sat-wed")
    await chat.say("/raid settings holidays IN-KA")
    await chat.say("/raid settings holidays add 2026-12-24")
    text = render_text(await chat.say("/raid settings"))
    assert "Work week: Mon, Tue, Wed, Sat, Sun" in text
    assert "Holidays: IN-KA" in text and "Days off: 2026-12-24" in text
    listed = render_text(await chat.say("/raid settings holidays"))
    assert "Public holidays: IN-KA" in listed and "Fri 25 Dec 2026: Christmas" in listed
    off = await chat.say("/raid settings holidays off")
    assert off.text == "This channel keeps no public holidays now."
    assert "Holidays: none" in render_text(await chat.say("/raid settings"))


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        ("/raid settings holidays XX", "`XX` is not a holiday calendar raidline knows. Give a "
         "country code (ISO 3166, two letters), with its region where holidays differ by region: "
         "`DE-BY` (Bavaria), `US`, `IN-KA` (Karnataka) or `GB-SCT`."),
        ("/raid settings holidays DE-XY", "`XY` is not a region of DE in the holiday data. Its "
         "regions: `DE-BB`, `DE-BE`"),
        ("/raid settings holidays add", "Say which day: `/raid settings holidays add 2026-12-24`."),
        ("/raid settings holidays remove 2026-12-31", "2026-12-31 is not one of this channel's "
         "days off"),
        ("/raid settings workweek", "Say the working days, e.g. `/raid settings workweek mon-fri`"),
        ("/raid settings workweek mon-funday", "`funday` is not a day."),
        ("/raid settings weekend sat", "`weekend` is not a setting. Settings are `timezone`, "
         "`leads`, `nudges`, `workweek`, `holidays`, `links` and `escalations`."),
    ],
)  # fmt: skip
async def test_days_off_refusals_teach_the_form(chat: Chat, line: str, refusal: str) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert refusal in reply.text


async def test_only_leads_change_days_off(chat: Chat) -> None:
    await chat.say("/raid settings leads @ana")
    for line in ("/raid settings holidays US", "/raid settings workweek sun-thu"):
        reply = await chat.say(line, user="bob")
        assert reply.tone is Tone.ERROR and "lead" in reply.text
    assert chat.store.state.settings[chat.channel].holidays is None


@pytest.mark.parametrize(
    ("setup", "line", "says"),
    [
        # Fri 4 Dec 2026, 12:00 Berlin: the work week is Mon-Fri by default
        ((), "/standup schedule mon 09:30", "next Mon 7 Dec 09:30 CET."),
        (
            (),
            "/standup schedule mon,sat 09:30",
            "next Mon 7 Dec 09:30 CET (Sat 5 Dec is skipped: outside the work week",
        ),
        (
            (),
            "/digest weekly sun 18:00",
            "Sun at 18:00 Europe/Berlin; never runs: every occurrence falls on a day off "
            "(Sun 6 Dec is skipped: outside the work week",
        ),
        (
            ("/raid settings holidays add 2026-12-07",),
            "/standup schedule mon 09:30",
            "next Mon 14 Dec 09:30 CET (Mon 7 Dec is skipped: a day off of this channel)",
        ),
        (
            ("/raid settings workweek mon-sun",),
            "/digest weekly sun 18:00",
            "next Sun 6 Dec 18:00 CET.",
        ),
    ],
)
async def test_a_schedule_reply_names_the_next_run_that_will_happen(
    chat: Chat, setup: tuple[str, ...], line: str, says: str
) -> None:
    """The "next" a schedule reply gives is a run that fires, not one a day off skips."""
    at(chat, 2026, 12, 4, 12, 0)
    for command in setup:
        assert (await chat.say(command)).tone is Tone.SUCCESS
    reply = await chat.say(line)
    assert says in reply.text
