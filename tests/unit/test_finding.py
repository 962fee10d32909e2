"""Finding things: ``/raid list @dana``, ``/raid find``, "did you mean" for list filters,
``/raid show`` of several items, ``/raid snooze`` from the command line, and the first date
(the baseline) next to the current one once a date has moved."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import actions
from bot.messages import Request, Tone
from bot.views.plain import render_text
from tests.unit.conftest import BASE, Chat


def seen(reply: object) -> str:
    """What the user reads, with the line wrapping undone."""
    return " ".join(render_text(reply).split())  # type: ignore[arg-type]


async def plates(chat: Chat) -> None:
    """Dana owns B-1 (overdue soon), decides D-1 and approves C-1; bob owns B-2 and R-1."""
    for line in (
        "/blocker Waiting on firewall change @dana due tomorrow",
        "/blocker Waiting on the 100% rollout plan @bob",
        "/risk Vendor may slip likelihood high impact medium @bob",
        "/decision needed Pick the SSO vendor @dana by Dec 5",
        "/change Add CRM integration impact schedule +2 weeks @dana",
        "/blocker Test data loaded into staging_db",
    ):
        assert (await chat.say(line)).tone is Tone.SUCCESS, line


@pytest.mark.parametrize(
    ("line", "heading", "shown", "hidden"),
    [
        (
            "/raid list @dana",
            "Open items on @dana's plate: 3",
            ("B-1", "D-1", "C-1"),
            ("B-2", "R-1", "B-3"),
        ),
        ("/raid list blockers @dana", "Open blockers on @dana's plate: 1", ("B-1",), ("D-1",)),
        ("/raid list @bob risks", "Open risks on @bob's plate: 1", ("R-1",), ("B-2",)),
        (
            "/raid list overdue @dana",
            "Open overdue items on @dana's plate: 1",
            ("B-1", "OVERDUE"),
            ("D-1", "C-1"),
        ),
        ("/raid list @erin", "Open items on @erin's plate: none", ("Nothing is on",), ("B-1",)),
    ],
)
async def test_list_what_is_on_someones_plate(
    chat: Chat, line: str, heading: str, shown: tuple[str, ...], hidden: tuple[str, ...]
) -> None:
    await plates(chat)
    chat.clock.advance(days=2)  # B-1 (due tomorrow) is overdue, D-1 (Dec 5) is not
    text = seen(await chat.say(line))
    assert heading in text, text
    for ref in shown:
        assert ref in text, text
    for ref in hidden:
        assert f"{ref} " not in text, text


async def test_list_of_someones_plate_pages_keep_the_person(chat: Chat) -> None:
    for n in range(17):
        await chat.say(f"/blocker Problem {n} @dana")
    await chat.say("/blocker Problem of someone else @bob")
    first = await chat.say("/raid list @dana")
    assert "(page 1 of 2)" in first.text
    more = next(a for a in first.actions if a.label == "More")
    second = await chat.click(more.action_id)
    assert second.text.startswith("Open items on <@dana>'s plate: 17 (page 2 of 2)")


async def test_list_of_someones_plate_as_discord_options(chat: Chat) -> None:
    await plates(chat)
    reply = await chat.core.handle(
        Request(
            chat.channel,
            "ana",
            command="raid",
            subcommand="list",
            options={"filter": "blockers", "person": "dana"},
        )
    )
    assert reply.text.startswith("Open blockers on <@dana>'s plate: 1"), reply.text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/raid list overdeu", "`overdeu` is not a list filter. Did you mean `overdue`?"),
        ("/raid list blokers", "Did you mean `blockers`?"),
        ("/raid list desicions", "Did you mean `decisions`?"),
        ("/raid list mine @dana", "Say `mine` or <@dana>, not both"),
        ("/raid list @dana @bob", "List one person's items at a time"),
        ("/raid list zzz", "or a person (`@dana`)"),
    ],
)
async def test_a_mistyped_list_filter_gets_a_suggestion(
    chat: Chat, line: str, expected: str
) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert expected in reply.text, reply.text
    assert reply.usage and "@person" in reply.usage


@pytest.mark.parametrize(
    ("line", "found", "not_found"),
    [
        ("/raid find FIREWALL", ("B-1",), ("B-2", "R-1")),
        ("/raid find waiting on", ("B-1", "B-2"), ("R-1",)),
        ("/raid find waiting firewall", ("B-1",), ("B-2",)),
        ('/raid find "the 100% rollout"', ("B-2",), ("B-1",)),
        ("/raid find 100%", ("B-2",), ("B-1",)),
        ("/raid find staging_db", ("B-3",), ("B-1",)),
        ("/raid find vendor confirmed", ("R-1",), ("D-1",)),  # a note in the history
        ("/raid find scim", ("D-2",), ("D-1", "R-1")),  # the details
    ],
)
async def test_find_searches_titles_details_and_notes(
    chat: Chat, line: str, found: tuple[str, ...], not_found: tuple[str, ...]
) -> None:
    await plates(chat)
    await chat.say("/raid note R-1 Vendor CONFIRMED the date")
    await chat.say("/blocker 1000 rollout plans")  # B-4: no "%" in it
    await chat.say("/blocker stagingXdb is down")  # B-5: "_" is not a wildcard
    await chat.say("/decision needed Pick an IdP @dana details needs SCIM support")
    reply = await chat.say(line)
    text = seen(reply)
    assert reply.tone is not Tone.ERROR, text
    for ref in found:
        assert f"{ref} " in text, text
    for ref in (*not_found, "B-4", "B-5"):
        assert f"{ref} " not in text, text


async def test_find_shows_closed_items_after_open_ones_and_says_how_many(chat: Chat) -> None:
    await chat.say("/blocker Firewall rule for staging")
    await chat.say("/blocker Firewall rule for prod")
    await chat.say("/raid resolve B-1 done")
    reply = await chat.say("/raid find firewall")
    text = seen(reply)
    assert text.startswith("2 items mention “firewall”"), text
    assert text.index("B-2 ") < text.index("B-1 ")
    assert text.endswith("· resolved")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/raid find", "Say what to look for, e.g. `/raid find firewall`."),
        ("/raid find a b c d e f g h i", "Look for at most 8 words at a time; you gave 9."),
        ("/raid find nothing-like-this", "No item in this channel mentions “nothing-like-this”"),
    ],
)
async def test_find_refusals_and_nothing_found(chat: Chat, line: str, expected: str) -> None:
    await plates(chat)
    assert expected in (await chat.say(line)).text


async def test_find_caps_the_list_and_says_so(chat: Chat) -> None:
    for n in range(22):
        await chat.say(f"/blocker Problem {n}")
    text = (await chat.say("/raid find problem")).text
    assert text.startswith("More than 20 items; the first 20 mention “problem”"), text


async def test_show_several_items_or_refuse_more_than_five(chat: Chat) -> None:
    await plates(chat)
    reply = await chat.say("/raid show B-1 R-1, C-1")
    assert [c.ref for c in reply.cards] == ["B-1", "R-1", "C-1"]
    refused = await chat.say("/raid show B-1 B-2 B-3 R-1 D-1 C-1")
    assert refused.tone is Tone.ERROR
    assert "shows at most 5 items at a time; you gave 6" in refused.text
    missing = await chat.say("/raid show B-1 B-9")
    assert "There is no B-9" in missing.text


@pytest.mark.parametrize(
    ("line", "snoozed_for"),
    [
        ("/raid snooze B-1", timedelta(days=1)),
        ("/raid snooze B-1 2d", timedelta(days=2)),
        ("/raid snooze B-1 for 1 week", timedelta(weeks=1)),
        ("/raid snooze B-1 4h", timedelta(hours=4)),
        # Wed 25 Nov 10:00 Berlin -> Mon 30 Nov 17:00 Berlin
        ("/raid snooze B-1 until monday", timedelta(days=5, hours=7)),
    ],
)
async def test_snooze_from_the_command_line(chat: Chat, line: str, snoozed_for: timedelta) -> None:
    await plates(chat)
    reply = await chat.say(line, user="dana")
    assert reply.tone is Tone.SUCCESS, reply.text
    assert chat.item("B-1").snoozed_until == BASE + snoozed_for
    assert "No reminders about it until" in reply.text


async def test_snooze_from_the_command_line_is_the_nudge_button(chat: Chat) -> None:
    await plates(chat)
    typed = await chat.say("/raid snooze B-1 1d", user="dana")
    clicked = await chat.click(actions.snooze("B-2", 1), user="bob")
    assert (
        typed.text.replace("B-1", "B-x").split(":")[0]
        == clicked.text.replace("B-2", "B-x").split(":")[0]
    )
    assert chat.item("B-1").snoozed_until == chat.item("B-2").snoozed_until


@pytest.mark.parametrize(
    ("line", "user", "expected"),
    [
        ("/raid snooze B-1 3 weeks", "dana", "Snooze for at most 14 days"),
        ("/raid snooze B-1 soonish", "dana", "Say how long, e.g. `/raid snooze B-1 2d`"),
        ("/raid snooze B-1 2d", "erin", "B-1"),  # erin is neither its owner nor a lead
    ],
)
async def test_snooze_refusals(chat: Chat, line: str, user: str, expected: str) -> None:
    await plates(chat)
    await chat.say("/raid settings leads @ana")
    reply = await chat.say(line, user=user)
    assert reply.tone is Tone.ERROR
    assert expected in reply.text, reply.text
    assert chat.item("B-1").snoozed_until is None


async def test_the_first_date_is_shown_once_the_date_has_moved(chat: Chat) -> None:
    await chat.say("/blocker Waiting on creds @dana due friday")  # Fri 27 Nov
    before = seen(await chat.say("/raid show B-1"))
    assert "was " not in before
    moved = seen(await chat.say("/raid due B-1 Dec 4", user="dana"))
    assert "Fri 4 Dec 17:00 CET (in 9 days; was Fri 27 Nov)" in moved, moved
    await chat.say("/raid due B-1 Dec 11", user="dana")
    for line in ("/raid show B-1", "/raid list", "/raid list @dana", "/raid find creds"):
        text = seen(await chat.say(line))
        assert "was Fri 27 Nov" in text, (line, text)
        assert "Fri 11 Dec" in text
    back = seen(await chat.say("/raid due B-1 friday", user="dana"))
    assert "was " not in back  # back on its first date


async def test_a_date_set_later_is_the_baseline(chat: Chat) -> None:
    await chat.say("/blocker Waiting on creds @dana")
    await chat.say("/raid due B-1 friday", user="dana")
    assert "was " not in seen(await chat.say("/raid show B-1"))
    text = seen(await chat.say("/raid due B-1 friday 12:00", user="dana"))
    assert "was Fri 27 Nov 17:00 CET" in text, text  # same day: the time tells them apart
