"""Plain-text rendering: what the console (and plain-text fallbacks) show for a Reply."""

from __future__ import annotations

import pytest

from bot.messages import Action, Card, Field, Form, Reply, Section, Tone
from bot.views.plain import numbered_actions, plain, render_card, render_text, wrap

BLOCKER = Card(
    ref="B-1",
    kind="blocker",
    title="Waiting on creds from <@dana>",
    status="open",
    fields=(Field("Owner", "<@dana>"), Field("Due", "Fri 28 Nov 17:00")),
)


def test_headline_then_card_with_each_field_on_its_own_indented_line() -> None:
    text = render_text(Reply(text="Logged *B-1* for <@ana>.", cards=(BLOCKER,)))
    assert text == (
        "Logged B-1 for @ana.\n"
        "\n"
        "B-1  Waiting on creds from @dana\n"
        "    blocker · open\n"
        "    Owner: @dana\n"
        "    Due: Fri 28 Nov 17:00"
    )


def test_overdue_card_is_marked() -> None:
    card = Card(ref="B-2", kind="blocker", title="Firewall", status="open", overdue=True)
    assert "    blocker · open · OVERDUE" in render_text(Reply(text="", cards=(card,)))


def test_sections_with_headings_and_lines() -> None:
    reply = Reply(
        text="Open items in #proj",
        sections=(
            Section("Blockers (2)", ("*B-1* Creds · <@dana>", "*B-2* Firewall · no owner")),
            Section("Risks", ()),
        ),
    )
    assert render_text(reply) == (
        "Open items in #proj\n"
        "\n"
        "Blockers (2)\n"
        "  B-1 Creds · @dana\n"
        "  B-2 Firewall · no owner\n"
        "\n"
        "Risks\n"
        "  (none)"
    )


def test_mentions_in_every_slack_and_discord_shape() -> None:
    # Labels never show: a typed label could name someone else.
    assert plain("<@U024BE7LH> <@!8035> <@U1|bob> <#C1|general>") == "@U024BE7LH @8035 @U1 #C1"
    assert plain("see <https://x.test/a|the doc>") == "see <https://x.test/a|the doc>"
    assert plain("5 * 3 = 15, **bold**") == "5 * 3 = 15, bold"


#: Typed in a title -> how the console shows the card's title: as typed, but for plain
#: mentions, channels and links (written the way chat writes them).
TYPED = [
    ("<https://evil.example|Approve here>", "<https://evil.example|Approve here>"),
    ("<!channel> <!here> <!subteam^S1|@team>", "<!channel> <!here> <!subteam^S1|@team>"),
    ("[Approve](https://evil.example)", "[Approve](https://evil.example)"),
    ("@everyone <@&123> **b** _i_ `c`", "@everyone <@&123> **b** _i_ `c`"),
    ("<b> & <>", "<b> & <>"),
    ("ask <@dana> in <#C1>", "ask @dana in #C1"),
    ("<https://x.test/a> <http://x.test|x.test>", "https://x.test/a http://x.test"),
    ("<mailto:a@b.c|a@b.c>", "a@b.c"),
]


@pytest.mark.parametrize(("typed", "shown"), TYPED, ids=[t for t, _ in TYPED])
def test_typed_markup_is_shown_as_typed(typed: str, shown: str) -> None:
    card = Card("B-1", "blocker", typed, "open", (Field("Details", typed),))
    assert render_card(card).splitlines() == [
        f"B-1  {shown}",
        "    blocker · open",
        f"    Details: {shown}",
    ]


def test_usage_and_incident_id_close_the_reply() -> None:
    reply = Reply(
        text="Unknown subcommand `resolv`; did you mean `resolve`?",
        tone=Tone.ERROR,
        usage="/raid resolve REF [note]",
    )
    assert render_text(reply).endswith("\n\nUsage: /raid resolve REF [note]")
    apology = Reply(text="Sorry, something went wrong.", tone=Tone.ERROR, incident_id="7f3a9c")
    assert render_text(apology) == "Sorry, something went wrong.\n\nIncident id: 7f3a9c"


def test_usage_or_incident_already_in_the_text_is_not_repeated() -> None:
    reply = Reply(text="Oops (incident 7f3a9c).", incident_id="7f3a9c", usage="x")
    assert render_text(reply) == "Oops (incident 7f3a9c).\n\nUsage: x"


def test_forms_actions_and_files_are_left_to_the_adapter() -> None:
    reply = Reply(
        text="New blocker",
        actions=(Action("More", "more:2"),),
        form=Form("log:blocker", "New blocker", ()),
    )
    assert render_text(reply) == "New blocker"


def test_long_lines_wrap_within_80_columns_keeping_indentation() -> None:
    long_value = " ".join(["word"] * 40)
    card = Card(
        ref="R-1", kind="risk", title="t", status="open", fields=(Field("Notes", long_value),)
    )
    text = render_text(Reply(text="x " * 60, cards=(card,)))
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines)
    notes = [line for line in lines if line.startswith("    Notes:")]
    assert notes
    follow = lines[lines.index(notes[0]) + 1]
    assert follow.startswith("      word")


def test_wrap_keeps_urls_whole_and_short_lines_untouched() -> None:
    url = "https://example.test/" + "a" * 90
    assert wrap(f"see {url}") == f"see\n{url}"
    assert wrap(f"  see {url}") == f"  see\n    {url}"
    assert wrap("  short line") == "  short line"


def test_colour_only_when_asked() -> None:
    reply = Reply(text="Done", tone=Tone.SUCCESS, cards=(BLOCKER,))
    assert "\x1b[" not in render_text(reply)
    coloured = render_text(reply, color=True)
    assert "\x1b[32mDone\x1b[0m" in coloured


def test_numbered_actions() -> None:
    actions = (
        Action("Take it myself", "take:B-1"),
        Action("Assign someone", "assign:B-1"),
        Action("Set a date", "due:B-1"),
    )
    assert numbered_actions(actions) == (
        "  1) Take it myself\n  2) Assign someone\n  3) Set a date"
    )
    assert numbered_actions(()) == ""
