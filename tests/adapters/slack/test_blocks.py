"""Block Kit rendering: Slack's limits, escaping, buttons that carry forms, modals and back."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.slack import blocks as kit
from bot.domain.model import ChannelKey
from bot.messages import (
    Action,
    Card,
    Choice,
    Field,
    Form,
    FormField,
    InputKind,
    Outgoing,
    Reply,
    Section,
    Tone,
)
from bot.scheduler import Scheduler
from tests.fakes import FakeStore, FixedClock
from tests.unit.conftest import BASE, Chat


class Outbox:
    """The scheduler's messenger: keeps what the bot sends on its own."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        return f"ts-{len(self.sent)}"

    def take(self) -> list[Outgoing]:
        sent, self.sent = self.sent, []
        return sent


def card(ref: str, **kw: Any) -> Card:
    defaults: dict[str, Any] = {
        "kind": "blocker",
        "title": f"Title of {ref}",
        "status": "open",
        "fields": (Field("Owner", "<@U1>"), Field("Due", "Fri 27 Nov 17:00 CET (in 2 days)")),
        "actions": (
            Action("Resolve", f"resolve:{ref}", "primary"),
            Action("Take it", f"take:{ref}"),
        ),
    }
    defaults.update(kw)
    return Card(ref=ref, **defaults)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if "text" in b:
            out.append(b["text"]["text"])
        out.extend(f["text"] for f in b.get("fields", ()))
        out.extend(e["text"] for e in b.get("elements", ()) if e.get("type") == "mrkdwn")
    return out


def test_a_card_shows_ref_title_owner_due_state_and_buttons() -> None:
    blocks = kit.card_blocks(card("B-3", overdue=True, url="https://x.slack.com/p1"), 0)
    text = "\n".join(texts(blocks))
    assert "*B-3*  Title of B-3" in text and "<https://x.slack.com/p1|:link: message>" in text
    assert ":construction: Blocker · *open* · :red_circle: *OVERDUE*" in text
    assert "*Owner*\n<@U1>" in text and "(in 2 days)" in text
    acts = blocks[-1]
    assert acts["type"] == "actions" and acts["block_id"] == "card|0|B-3|acts"
    assert [e["action_id"] for e in acts["elements"]] == ["resolve:B-3", "take:B-3"]
    assert acts["elements"][0]["style"] == "primary"


def test_risk_score_is_a_field() -> None:
    risk = card("R-1", kind="risk", fields=(Field("Score", "12"),))
    assert "*Score*\n12" in texts(kit.card_blocks(risk, 0))


def test_user_text_is_escaped_but_plain_mentions_and_links_are_not() -> None:
    assert kit.escape("<b> & <@U1> <#C1|x> <!here> <https://a.b/c|site>") == (
        "&lt;b&gt; &amp; <@U1> <#C1> &lt;!here&gt; &lt;https://a.b/c|site&gt;"
    )
    # Special mentions never pass: user text must not make raidline ping everyone.
    assert kit.escape("<!channel> <!everyone> <!subteam^S1|@team>") == (
        "&lt;!channel&gt; &lt;!everyone&gt; &lt;!subteam^S1|@team&gt;"
    )
    assert kit.unescape("a &lt;b&gt; &amp;lt;") == "a <b> &lt;"


#: What people type (or Slack makes of it) -> what raidline's message shows in Slack.
INJECTIONS = [
    # masked links: shown as typed, never a live link under the bot's name
    ("<https://evil.example|Approve here>", "&lt;https://evil.example|Approve here&gt;"),
    ("<http://x|y>", "&lt;http://x|y&gt;"),
    ("<mailto:boss@evil.example|HR>", "&lt;mailto:boss@evil.example|HR&gt;"),
    (
        "<https://evil.example|https://good.example>",
        "&lt;https://evil.example|https://good.example&gt;",
    ),
    # special mentions and anything else Slack would read as markup
    ("<!channel>", "&lt;!channel&gt;"),
    ("<!here>", "&lt;!here&gt;"),
    ("<!everyone>", "&lt;!everyone&gt;"),
    ("<!subteam^S0123|@oncall>", "&lt;!subteam^S0123|@oncall&gt;"),
    ("<!date^1392734382^{date}|x>", "&lt;!date^1392734382^{date}|x&gt;"),
    ("<javascript:alert(1)|x>", "&lt;javascript:alert(1)|x&gt;"),
    ("<@U1 x>", "&lt;@U1 x&gt;"),
    ("a <b> & c", "a &lt;b&gt; &amp; c"),
    # labels never show: the person or channel is shown by Slack under their real name
    ("<@U123|CEO>", "<@U123>"),
    ("<#C1|general>", "<#C1>"),
    # what Slack makes of a real mention or a plain URL stays live
    ("<@U123>", "<@U123>"),
    ("<@W9>", "<@W9>"),
    ("<#C1>", "<#C1>"),
    ("<https://example.com/a?b=1>", "<https://example.com/a?b=1>"),
    ("<http://example.com|example.com>", "<http://example.com>"),
    ("<https://example.com/|example.com>", "<https://example.com/>"),
    ("<mailto:a@b.c|a@b.c>", "<mailto:a@b.c|a@b.c>"),
]


@pytest.mark.parametrize(("typed", "shown"), INJECTIONS, ids=[t for t, _ in INJECTIONS])
def test_typed_markup_is_shown_as_typed_in_every_slot(typed: str, shown: str) -> None:
    text = f"Look {typed} now"
    reply = Reply(
        text,
        cards=(card("B-1", title=text, fields=(Field("Details", text), Field("Note", text * 9))),),
        sections=(Section(text, (text,)),),
        usage=f"/raid note {text}",
    )
    blocks = kit.message_blocks(reply)
    rendered = texts(blocks)
    expected = f"Look {shown} now"
    assert kit.message_text(reply) == expected
    assert f"*B-1*  {expected}" in rendered
    assert f"*Details*\n{expected}" in rendered
    assert any(t.startswith(f"*Note*\n{expected}") for t in rendered)
    assert f"*{expected}*" in rendered  # the section's heading
    assert f"• {expected}" in rendered
    assert f"Usage: `/raid note {expected}`" in rendered


def test_a_long_reply_stays_inside_50_blocks_and_keeps_more() -> None:
    reply = Reply(
        "Many",
        cards=tuple(card(f"B-{n}") for n in range(1, 40)),
        actions=(Action("More", "list::2"),),
    )
    blocks = kit.message_blocks(reply)
    assert len(blocks) <= 50
    assert blocks[-1]["type"] == "actions" and blocks[-1]["elements"][0]["action_id"] == "list::2"
    assert any(b["block_id"] == "more" for b in blocks)
    assert len({b["block_id"] for b in blocks}) == len(blocks)


def test_every_text_stays_under_3000_characters() -> None:
    long_field = Field("Details", "x" * 2999 + "\nsecond line")
    many_lines = Section("Blockers (80)", tuple(f"*B-{n}* " + "y" * 90 for n in range(80)))
    reply = Reply("z" * 5000, cards=(card("B-1", fields=(long_field,)),), sections=(many_lines,))
    blocks = kit.message_blocks(reply)
    assert all(len(t) <= 3000 for t in texts(blocks))
    joined = "\n".join(texts(blocks))
    assert "*B-79*" in joined  # the section's lines were split into several blocks, not cut
    assert len(kit.message_text(reply)) <= 3000


def test_more_than_ten_fields_are_split_into_sections() -> None:
    fields = tuple(Field(f"F{n}", str(n)) for n in range(13))
    sections = [b for b in kit.card_blocks(card("B-1", fields=fields), 0) if "fields" in b]
    assert [len(b["fields"]) for b in sections] == [10, 3]


def test_sections_have_dividers_and_error_tone_warns() -> None:
    reply = Reply(
        "Digest",
        sections=(Section("What changed", ("a",)), Section("What is blocked", ("b",))),
    )
    kinds = [b["type"] for b in kit.message_blocks(reply)]
    assert kinds.count("divider") == 2
    error = kit.message_blocks(Reply("No such ref", tone=Tone.ERROR, usage="/raid show <ref>"))
    assert texts(error)[0].startswith(":warning: No such ref")
    assert "Usage: `/raid show &lt;ref&gt;`" in texts(error)


def test_button_value_round_trips_its_form_and_origin() -> None:
    form = Form(
        "assign:B-1",
        "Assign B-1",
        (FormField("owner", "Owner", InputKind.USER, True, hint="who unblocks it"),),
        "Assign",
    )
    origin = ChannelKey("slack", "T1", "C1")
    element = kit.button(Action("Assign", "assign:B-1", form=form), origin=origin)
    value = kit.decode_button_value(element["value"], element["action_id"])
    assert value == kit.ButtonValue("assign:B-1", form, "T1", "C1")
    plain = kit.button(Action("Resolve", "resolve:B-1"))
    assert plain["value"] == "resolve:B-1"
    assert kit.decode_button_value("not json {", "x:B-1") == kit.ButtonValue("not json {")


def test_an_oversized_form_is_left_out_of_the_value() -> None:
    fields = tuple(FormField(f"f{n}", "L" * 60, InputKind.TEXT, hint="h" * 100) for n in range(30))
    element = kit.button(Action("Big", "big:B-1", form=Form("big:B-1", "Big", fields)))
    assert len(element["value"]) <= 2000
    assert kit.decode_button_value(element["value"], "big:B-1").action_id == "big:B-1"


def test_duplicate_action_ids_in_one_block_are_dropped() -> None:
    reply = Reply("x", actions=(Action("Take", "take:B-1"), Action("Take again", "take:B-1")))
    acts = next(b for b in kit.message_blocks(reply) if b["type"] == "actions")
    assert len(acts["elements"]) == 1


FORM = Form(
    "new:risk",
    "Log a risk with a very long title",
    (
        FormField("title", "Title", InputKind.TEXT, True, max_length=300),
        FormField("owner", "Owner", InputKind.USER, default="U1"),
        FormField("approvers", "Approvers", InputKind.USERS, default="U1 U2"),
        FormField("review", "Next review", InputKind.DATE, hint="e.g. friday"),
        FormField(
            "likelihood", "Likelihood", InputKind.CHOICE, True, "3",
            choices=(Choice("1", "1 – very low"), Choice("3", "3 – medium")),
        ),
        FormField("mitigation", "Mitigation", InputKind.LONG_TEXT, max_length=3000),
    ),
    "Log risk",
)  # fmt: skip


def test_form_view_maps_every_field_kind() -> None:
    view = kit.form_view(FORM, metadata='{"k":"cmd","c":"C1"}')
    assert view["callback_id"] == "new:risk" and len(view["title"]["text"]) <= 24
    assert view["private_metadata"] == '{"k":"cmd","c":"C1"}'
    elements = {b["block_id"]: b["element"] for b in view["blocks"]}
    assert elements["title"] == {
        "type": "plain_text_input",
        "action_id": "title",
        "max_length": 300,
    }
    assert elements["owner"] == {"type": "users_select", "action_id": "owner", "initial_user": "U1"}
    assert elements["approvers"]["initial_users"] == ["U1", "U2"]
    assert elements["review"]["placeholder"]["text"] == "e.g. friday"
    assert elements["likelihood"]["initial_option"]["value"] == "3"
    assert elements["mitigation"]["multiline"] is True
    optional = {b["block_id"]: b["optional"] for b in view["blocks"]}
    assert optional["title"] is False and optional["owner"] is True


def test_form_values_reads_every_element_kind() -> None:
    state = {
        "title": {"title": {"type": "plain_text_input", "value": "T"}},
        "owner": {"owner": {"type": "users_select", "selected_user": "U2"}},
        "approvers": {"approvers": {"type": "multi_users_select", "selected_users": ["U1", "U3"]}},
        "likelihood": {"likelihood": {"type": "static_select", "selected_option": {"value": "4"}}},
        "when": {"when": {"type": "datepicker", "selected_date": "2026-12-05"}},
        "empty": {"empty": {"type": "plain_text_input", "value": None}},
    }
    assert kit.form_values(state) == {
        "title": "T",
        "owner": "U2",
        "approvers": "U1 U3",
        "likelihood": "4",
        "when": "2026-12-05",
        "empty": "",
    }


def test_view_errors_go_to_the_field_or_the_first_input() -> None:
    view = kit.form_view(FORM)
    assert kit.view_errors({"review": "bad date"}, view) == {"review": "bad date"}
    assert kit.view_errors({"nope": "odd"}, view) == {"title": "odd"}


def test_updated_message_replaces_swaps_or_leaves() -> None:
    one = kit.message_blocks(Reply("Logged B-1", cards=(card("B-1"),), item_ref="B-1"))
    two = kit.message_blocks(Reply("R-1 occurred", cards=(card("R-1", kind="risk"), card("B-1"))))
    after = Reply("Taken B-1", cards=(card("B-1", fields=(Field("Owner", "<@U9>"),)),))
    replaced = kit.updated_message(one, kit.card_refs(one), after)
    assert replaced is not None and texts(replaced)[0] == "Taken B-1"
    swapped = kit.updated_message(two, kit.card_refs(two), after)
    assert swapped is not None
    assert texts(swapped)[0] == "R-1 occurred" and "*R-1*  Title of R-1" in texts(swapped)
    assert "*Owner*\n<@U9>" in texts(swapped)
    assert (
        kit.updated_message(two, kit.card_refs(two), Reply("Tracked B-7", cards=(card("B-7"),)))
        is None
    )
    assert kit.updated_message(None, ["B-1"], after) is not None  # unknown blocks, one item
    assert kit.updated_message(None, ["R-1", "B-1"], after) is None


def test_home_view_names_channels_and_empty_sections() -> None:
    chan = ChannelKey("slack", "T1", "C5")
    reply = Reply(
        "1 item waits on <@U1>.",
        sections=(
            Section("Blockers you own (1)", cards=(card("B-1", channel=chan),)),
            Section("Decisions you must take (0)"),
        ),
    )
    view = kit.home_view(reply)
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = "\n".join(texts(view["blocks"]))
    assert "in <#C5>" in text and "_Nothing here._" in text
    _, button = next(
        (b["block_id"], e) for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    assert json.loads(button["value"]) == {"a": "resolve:B-1", "w": "T1", "c": "C5"}


def test_prefill_from_a_message() -> None:
    form = Form(
        "new:blocker",
        "Log",
        (FormField("title", "Title", max_length=10), FormField("details", "Details")),
    )
    assert kit.prefill_from_message(form, "Short") == {"title": "Short"}
    assert kit.prefill_from_message(form, "A &amp; B\nmore") == {
        "title": "A & B",
        "details": "A & B\nmore",
    }
    assert kit.prefill_from_message(form, "x" * 20)["title"] == "x" * 9 + "…"


# --- Slack's limits, whatever people typed ----------------------------------------------------


def _actions(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


async def test_a_standup_summary_of_many_short_lines_fits_one_message() -> None:
    """Ten people answer with 300 short lines each: the summary the scheduler posts fits
    Slack's 50 blocks, with ten Track buttons and a line saying how many more there are."""
    chat = Chat(FakeStore(), FixedClock(BASE))
    outbox = Outbox()
    scheduler = Scheduler(chat.store, outbox, clock=chat.clock, default_timezone="Europe/Berlin")
    people = [f"U{n:02}" for n in range(10)]
    await chat.say("/standup members " + " ".join(f"<@{p}>" for p in people))
    await chat.say("/standup window 1h")
    await chat.say("/standup schedule weekdays 09:30")
    chat.clock._now = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)  # 09:30 in Berlin
    await scheduler.tick()
    (opening,) = outbox.take()
    answer = opening.reply.actions[0].action_id
    lines = "\n".join(f"x{n}" for n in range(300))
    for person in people:
        saved = await chat.click(answer, {"q0": "shipped", "q1": lines, "q2": lines}, user=person)
        assert saved.tone is Tone.SUCCESS, saved.text
    chat.clock._now = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
    await scheduler.tick()
    (summary,) = outbox.take()

    blocks = kit.message_blocks(summary.reply)
    assert len(blocks) <= kit.MAX_MESSAGE_BLOCKS
    shown = "\n".join(texts(blocks))
    tracks = [e["text"]["text"] for e in _actions(blocks)]
    assert tracks == [f"Track blocker: x{n}" for n in range(10)]
    assert "…and 5990 more without a Track button" in "\n".join(summary.reply.sections[-1].lines)
    # Every part keeps its heading: who answered, each person's answer, and what was found.
    assert "*Standup of Thu 26 Nov*" in shown
    assert all(f"*<@{p}>*" in shown for p in people)
    assert "*Found in the answers (not tracked unless you click)*" in shown
    assert "• blocker from <@U00>: x0" in shown
    assert re.search(r"…and \d+ more lines not shown here\.", shown)


def test_a_reply_with_hundreds_of_buttons_keeps_fifty_and_says_so() -> None:
    reply = Reply(
        "Many buttons",
        sections=(Section("Lines", tuple(f"line {n}" for n in range(10))),),
        actions=tuple(Action(f"Track {n}", f"track:1:U1:{n}") for n in range(2000)),
    )
    blocks = kit.message_blocks(reply)
    assert len(blocks) <= kit.MAX_MESSAGE_BLOCKS
    assert len(_actions(blocks)) == kit.MAX_TAIL_BUTTONS
    assert "_1950 more buttons not shown: a Slack message holds 50 blocks._" in texts(blocks)
    assert "• line 9" in "\n".join(texts(blocks))


def test_app_home_with_150_open_items_shows_the_first_of_each_section() -> None:
    chan = ChannelKey("slack", "T1", "C5")
    blockers = tuple(card(f"B-{n}", channel=chan) for n in range(1, 151))
    decisions = tuple(card(f"D-{n}", kind="decision", channel=chan) for n in range(1, 4))
    reply = Reply(
        "153 items wait on <@U1>.",
        sections=(
            Section("Blockers you own (150)", cards=blockers),
            Section("Decisions you must take (3)", cards=decisions),
            Section("Change requests you must approve (0)"),
        ),
    )
    view = kit.home_view(reply)
    blocks = view["blocks"]
    assert len(blocks) <= kit.MAX_VIEW_BLOCKS
    refs = kit.card_refs(blocks)
    assert refs[:3] == ["B-1", "B-2", "B-3"] and len(refs) > 10
    assert {"D-1", "D-2", "D-3"} <= set(refs)  # the next section is not crowded out
    shown = texts(blocks)
    left = 150 - len([r for r in refs if r.startswith("B-")])
    assert f"…and {left} more items: `/raid list mine` in their channels" in shown
    assert "_Nothing here._" in shown
    assert len({b["block_id"] for b in blocks}) == len(blocks)


def test_a_section_longer_than_a_message_does_not_hide_the_next_ones() -> None:
    long = Section("Long", tuple("y" * 2000 for _ in range(80)))
    reply = Reply("Two parts", sections=(long, Section("After", ("still here",))))
    blocks = kit.message_blocks(reply)
    assert len(blocks) <= kit.MAX_MESSAGE_BLOCKS
    shown = texts(blocks)
    assert "*After*" in shown and "• still here" in shown
    assert any(re.fullmatch(r"…and \d+ more lines not shown here\.", t) for t in shown)
