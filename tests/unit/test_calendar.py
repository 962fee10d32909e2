"""/raid calendar: a personal link, and the feed behind it read back as iCalendar."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from adapters.links import PublicLinks
from adapters.runtime.config import load_settings
from bot.messages import Tone, Visibility
from bot.services.calendar import MAX_ACTIVE_LINKS
from bot.views.plain import render_text
from tests.fakes import FakeStore, FixedClock
from tests.unit.conftest import Chat

BERLIN = ZoneInfo("Europe/Berlin")
LINK_RE = re.compile(r"https://raid\.example\.com/calendar/([A-Za-z0-9_-]{43})\.ics")


def linked(chat: Chat) -> Chat:
    chat.core.links = PublicLinks(
        load_settings({"RAIDLINE_PUBLIC_URL": "https://raid.example.com"})
    )
    return chat


@pytest.fixture
def cal(store: FakeStore, clock: FixedClock) -> Chat:
    return linked(Chat(store, clock))


async def link(chat: Chat, line: str = "/raid calendar", *, user: str | None = None) -> str:
    reply = await chat.say(line, user=user)
    assert reply.tone is Tone.SUCCESS, reply.text
    found = LINK_RE.search(reply.text)
    assert found, reply.text
    return found.group(1)


async def feed(chat: Chat, token: str) -> Calendar:
    body = await chat.core.calendar_feed(token)
    assert body is not None
    return Calendar.from_ical(body)


def events(calendar: Calendar) -> dict[str, dict[str, object]]:
    """By summary: the fields a calendar shows."""
    shown: dict[str, dict[str, object]] = {}
    for event in calendar.walk("VEVENT"):
        shown[str(event["summary"])] = {
            "uid": str(event["uid"]),
            "start": event["dtstart"].dt,
            "end": event["dtend"].dt if "dtend" in event else None,
            "duration": event["duration"].dt if "duration" in event else None,
            "rrule": event["rrule"].to_ical().decode() if "rrule" in event else None,
            "description": str(event.get("description", "")),
        }
    return shown


async def seed(chat: Chat) -> None:
    await chat.say("/blocker Waiting on firewall change @dana due friday")
    await chat.say("/blocker No test data yet")  # no date: not in the feed
    await chat.say("/blocker Old blocker due tomorrow")
    await chat.say("/raid resolve B-3 done")  # resolved: not in the feed
    await chat.say("/risk Vendor may slip likelihood high impact medium @bob review in 2 weeks")
    await chat.say("/decision needed Pick the SSO vendor @cio by Dec 5")
    await chat.say("/change Add CRM integration impact schedule +2 weeks @sponsor")
    await chat.say("/standup schedule weekdays 09:30")
    await chat.say("/digest weekly fri 16:00")


async def test_the_link_is_private_and_only_its_hash_is_stored(cal: Chat, store: FakeStore) -> None:
    reply = await cal.say("/raid calendar")
    assert reply.visibility is Visibility.PRIVATE
    assert reply.tone is Tone.SUCCESS
    token = LINK_RE.search(reply.text)
    assert token is not None, reply.text
    text = render_text(reply)
    assert "Your calendar link for #proj:" in text
    assert "Google Calendar: Other calendars > + > From URL" in text
    assert "Outlook: Add calendar > Subscribe from web" in text
    assert "`/raid calendar reset`" in text
    [stored] = store.state.calendar_tokens.values()
    assert stored.token_hash == hashlib.sha256(token.group(1).encode()).hexdigest()
    assert token.group(1) not in repr(stored)
    assert (stored.channel, stored.user, stored.revoked_at) == (cal.channel, "ana", None)


async def test_the_feed_shows_dated_items_and_recurring_schedules(cal: Chat) -> None:
    await seed(cal)
    token = await link(cal)
    shown = events(await feed(cal, token))
    assert set(shown) == {
        "#proj · B-1 due: Waiting on firewall change",
        "#proj · R-1 review: Vendor may slip",
        "#proj · D-1 decide by: Pick the SSO vendor",
        "#proj · Standup",
        "#proj · Digest",
    }
    blocker = shown["#proj · B-1 due: Waiting on firewall change"]
    assert (blocker["start"], blocker["end"]) == (date(2026, 11, 27), date(2026, 11, 28))
    assert blocker["uid"] == "B-1.proj.local.console@raidline"
    assert "Owner: @dana" in str(blocker["description"])
    assert "Due: Fri 27 Nov 17:00 CET" in str(blocker["description"])
    assert shown["#proj · R-1 review: Vendor may slip"]["start"] == date(2026, 12, 9)
    assert shown["#proj · D-1 decide by: Pick the SSO vendor"]["start"] == date(2026, 12, 5)
    standup = shown["#proj · Standup"]
    # Set on Wed 25 Nov at 10:00 Berlin: the first standup is Thursday's.
    assert standup["start"] == datetime(2026, 11, 26, 9, 30, tzinfo=BERLIN)
    assert standup["rrule"] == "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    assert standup["duration"] == timedelta(hours=2)
    assert "What is blocked?" in str(standup["description"])
    digest = shown["#proj · Digest"]
    assert digest["start"] == datetime(2026, 11, 27, 16, 0, tzinfo=BERLIN)
    assert digest["rrule"] == "FREQ=WEEKLY;BYDAY=FR"
    assert digest["uid"] == "digest.proj.local.console@raidline"


async def test_a_named_standup_is_its_own_recurring_event(cal: Chat) -> None:
    await seed(cal)
    await cal.say("/standup add retro")
    await cal.say("/standup retro schedule fri 15:00")
    await cal.say("/standup add demo")  # not scheduled: not in the feed
    shown = events(await feed(cal, await link(cal)))
    assert {"#proj · Standup", "#proj · Standup (retro)"} <= set(shown)
    assert not any("demo" in summary for summary in shown)
    retro = shown["#proj · Standup (retro)"]
    assert retro["start"] == datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN)
    assert retro["rrule"] == "FREQ=WEEKLY;BYDAY=FR"
    assert retro["uid"] == "standup:retro.proj.local.console@raidline"
    assert shown["#proj · Standup"]["uid"] == "standup.proj.local.console@raidline"


async def test_the_feed_is_the_same_on_the_next_fetch(cal: Chat, clock: FixedClock) -> None:
    await seed(cal)
    token = await link(cal)
    first = events(await feed(cal, token))
    clock.advance(days=3)
    again = events(await feed(cal, token))
    assert {s: (e["uid"], e["start"]) for s, e in again.items()} == {
        s: (e["uid"], e["start"]) for s, e in first.items()
    }


async def test_the_calendar_has_a_name_a_zone_and_a_refresh_interval(cal: Chat) -> None:
    await seed(cal)
    calendar = await feed(cal, await link(cal))
    assert str(calendar["x-wr-calname"]) == "raidline #proj"
    assert str(calendar["x-wr-timezone"]) == "Europe/Berlin"
    assert calendar["refresh-interval"].dt == timedelta(hours=1)
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


async def test_a_skipped_standup_is_left_out(cal: Chat) -> None:
    await cal.say("/standup schedule weekdays 09:30")
    reply = await cal.say("/standup skip monday")
    assert reply.tone is Tone.SUCCESS, reply.text
    [standup] = (await feed(cal, await link(cal))).walk("VEVENT")
    assert [d.dt for d in standup["exdate"].dts] == [datetime(2026, 11, 30, 9, 30, tzinfo=BERLIN)]


async def test_user_text_is_escaped_by_the_calendar(cal: Chat) -> None:
    title = 'Ship <script>alert(1)</script>; "quoted", \\ back'
    await cal.say(f"/blocker {title} due friday")
    body = await cal.core.calendar_feed(await link(cal))
    assert body is not None
    lines = body.replace(b"\r\n ", b"").split(b"\r\n")  # unfolded
    summary = 'SUMMARY:#proj · B-1 due: Ship <script>alert(1)</script>\\; "quoted"\\, \\\\ back'
    assert summary.encode() in lines
    [event] = Calendar.from_ical(body).walk("VEVENT")
    assert str(event["summary"]) == f"#proj · B-1 due: {title}"


async def test_reset_revokes_the_earlier_links(cal: Chat) -> None:
    first = await link(cal)
    second = await link(cal)
    reply = await cal.say("/raid calendar reset")
    assert reply.visibility is Visibility.PRIVATE
    assert "Your 2 earlier calendar links for #proj no longer work." in reply.text
    new = LINK_RE.search(reply.text)
    assert new is not None
    assert await cal.core.calendar_feed(first) is None
    assert await cal.core.calendar_feed(second) is None
    assert await cal.core.calendar_feed(new.group(1)) is not None


async def test_reset_with_no_link_says_so(cal: Chat) -> None:
    reply = await cal.say("/raid calendar reset")
    assert reply.text.startswith("You had no working calendar link for #proj. Your new")


async def test_reset_leaves_other_peoples_links_alone(cal: Chat) -> None:
    anas = await link(cal)
    bobs = await link(cal, user="bob")
    await cal.say("/raid calendar reset", user="bob")
    assert await cal.core.calendar_feed(anas) is not None
    assert await cal.core.calendar_feed(bobs) is None


@pytest.mark.parametrize(
    "token",
    [
        "",
        "x",
        "A" * 43,  # well formed, never issued
        "../../etc/passwd",
        "A" * 200,
        "%00" * 20,
    ],
)
async def test_a_wrong_token_has_no_feed(cal: Chat, token: str) -> None:
    await link(cal)
    assert await cal.core.calendar_feed(token) is None


async def test_a_feed_shows_only_its_own_channel(store: FakeStore, clock: FixedClock) -> None:
    apollo, zeus = linked(Chat(store, clock)), linked(Chat(store, clock))
    zeus.channel = type(apollo.channel)("console", "local", "zeus")
    await apollo.say("/blocker Apollo thing due friday")
    await zeus.say("/blocker Zeus thing due friday")
    await zeus.say("/standup schedule weekdays 09:30")
    shown = events(await feed(apollo, await link(apollo)))
    assert set(shown) == {"#proj · B-1 due: Apollo thing"}
    assert set(events(await feed(zeus, await link(zeus)))) == {
        "#zeus · B-1 due: Zeus thing",
        "#zeus · Standup",
    }


async def test_the_channel_name_comes_from_the_platform(cal: Chat) -> None:
    from bot.messages import Request

    reply = await cal.core.handle(
        Request(cal.channel, "ana", command="raid", text="calendar", channel_name="apollo")
    )
    assert "Your calendar link for #apollo:" in reply.text
    token = LINK_RE.search(reply.text)
    assert token is not None
    await cal.say("/blocker Thing due friday")
    assert set(events(await feed(cal, token.group(1)))) == {"#apollo · B-1 due: Thing"}


async def test_too_many_links_are_refused_until_reset(cal: Chat) -> None:
    for _ in range(MAX_ACTIVE_LINKS):
        await link(cal)
    reply = await cal.say("/raid calendar")
    assert reply.tone is Tone.ERROR
    assert reply.text == (
        f"You already have {MAX_ACTIVE_LINKS} working calendar links for this channel. "
        "`/raid calendar reset` turns them all off and gives you a new one."
    )
    await link(cal, "/raid calendar reset")


async def test_switched_off_there_is_no_link(chat: Chat, store: FakeStore) -> None:
    before = store.commits
    reply = await chat.say("/raid calendar")
    assert reply.tone is Tone.ERROR
    assert store.commits == before, "a refusal saves nothing"
    assert "There is no calendar feed here" in reply.text
    assert "RAIDLINE_CALENDAR=off" in reply.text
    assert store.state.calendar_tokens == {}


@pytest.mark.parametrize("line", ["/raid calendar now", "/raid calendar reset please"])
async def test_calendar_takes_only_reset(cal: Chat, line: str) -> None:
    reply = await cal.say(line)
    assert reply.tone is Tone.ERROR
    assert "`/raid calendar` takes nothing, or `reset`" in reply.text
    assert reply.usage == "/raid calendar [reset]"


async def test_help_explains_calendar(cal: Chat) -> None:
    text = await cal.text("/raid help calendar")
    assert "/raid calendar: your private link to this channel's dates" in text
    assert "Usage: /raid calendar [reset]" in text


async def test_a_standup_on_a_spring_forward_night_keeps_its_wall_time(
    store: FakeStore,
) -> None:
    # Sat 28 Mar 2026 10:00 Berlin; that night 02:00 jumps to 03:00.
    chat = linked(Chat(store, FixedClock(datetime(2026, 3, 28, 9, 0, tzinfo=UTC))))
    reply = await chat.say("/standup schedule daily 02:30")
    assert reply.tone is Tone.SUCCESS, reply.text
    [standup] = (await feed(chat, await link(chat))).walk("VEVENT")
    start = standup["dtstart"].dt
    assert (start.date(), start.hour, start.minute) == (date(2026, 3, 29), 2, 30)
    assert str(start.tzinfo) == "Europe/Berlin"
    assert standup["rrule"].to_ical() == b"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU"
