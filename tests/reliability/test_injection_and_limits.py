"""What people type never becomes live markup under raidline's name, and every reply fits.

Hypothesis properties over the three renderers (Slack Block Kit, Discord, the console):

- for any text a person typed, wherever the core puts it (headline, a card's title and fields,
  a section's heading and lines, a usage line), Slack's mrkdwn holds no masked link
  ``<http…|…>``, no special mention ``<!…>`` and no labelled mention; Discord's content and
  embeds hold no ``[label](url)`` link, ``@everyone``, ``@here`` or role ping; the console shows
  the text as typed (only plain mentions, channels and links are written the console's way);
- any reply, however many cards, lines and buttons it has, renders to at most 50 blocks a
  message and 100 a view; every part of it that is left out is counted in an "…and N more"
  line, so nothing disappears silently and one long part never hides the parts after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from adapters.slack import blocks as kit
from bot.domain.model import ChannelKey
from bot.messages import Action, Card, Field, Reply, Section, Visibility
from bot.text.markup import ANGLE_RE, live_markup
from bot.views.plain import render_card
from tests.reliability.test_hostile_input import (
    FRAGMENTS,
    check_blocks,
    check_discord,
    check_slack,
    check_view,
    fuzz,
    hostile,
)

_MASKED = re.compile(r"<(?:https?|mailto):[^<>|]*\|[^<>]*>")


def _mrkdwn(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    out: list[str] = []
    for b in blocks:
        if "text" in b and b["text"]["type"] == "mrkdwn":
            out.append(b["text"]["text"])
        out.extend(f["text"] for f in b.get("fields", ()))
        out.extend(e["text"] for e in b.get("elements", ()) if e.get("type") == "mrkdwn")
    return out


def _everywhere(text: str) -> Reply:
    """``text`` in every slot of a reply where the core puts what people typed."""
    return Reply(
        f"Logged *B-1*: {text[:3000]}",
        Visibility.CHANNEL,
        cards=(
            Card(
                "B-1",
                "blocker",
                text[:300] or "x",
                "open",
                (Field("Owner", "<@U1>"), Field("Details", text[:3000]), Field("Note", text[:90])),
            ),
        ),
        sections=(Section(f"Answer: {text[:200]}", (text[:3000], f"*B-1* {text[:100]}")),),
        usage=f"/raid note {text[:100]}",
    )


_typed = st.one_of(
    hostile,
    st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=6).map(" ".join),
    st.builds(
        "<{}|{}>".format,
        st.sampled_from(["https://evil.example", "http://x", "mailto:a@b.c", "@U1", "#C1"]),
        st.sampled_from(["Approve here", "x", "https://good.example", "CEO", ""]),
    ),
    st.builds(
        "[{}]({})".format,
        st.sampled_from(["Approve", "", "a]b"]),
        st.sampled_from(["https://evil.example", "<https://x>"]),
    ),
)


@fuzz(200)
@given(text=_typed)
def test_typed_text_never_becomes_live_markup_on_any_platform(text: str) -> None:
    reply = _everywhere(text)
    for blocks in (kit.message_blocks(reply), kit.home_view(reply)["blocks"]):
        for mrkdwn in [*_mrkdwn(blocks), kit.message_text(reply)]:
            assert "<!" not in mrkdwn, mrkdwn[:300]
            for m in _MASKED.finditer(mrkdwn):
                target, label = m.group(0)[1:-1].split("|", 1)
                assert label in (target.removeprefix("mailto:"), ":link: message"), m.group(0)
            assert not re.search(r"<[@#][^<>|]*\|", mrkdwn), mrkdwn[:300]
    check_slack(reply)
    check_discord(reply)
    # The console shows the title as typed, but for the plain forms chat itself writes.
    shown = render_card(reply.cards[0])
    title = reply.cards[0].title
    if not any(live_markup(m.group(1)) for m in ANGLE_RE.finditer(title)):
        assert shown.startswith(f"B-1  {title}\n")
    for m in ANGLE_RE.finditer(title):
        if live_markup(m.group(1)) is None:
            assert m.group(0) in shown


# --- every reply fits ---------------------------------------------------------------------

_short = st.text(alphabet="abc <>&*_", min_size=1, max_size=12)
_long_line = st.sampled_from(["y" * 2999, "z" * 1500])


def _card(n: int, channel: ChannelKey | None) -> Card:
    fields = tuple(Field(f"F{i}", "v" * (10 if i % 2 else 200)) for i in range(n % 4))
    actions = (Action("Resolve", f"resolve:B-{n}"), Action("Take", f"take:B-{n}"))
    return Card(f"B-{n}", "blocker", f"Title {n}", "open", fields, actions, channel=channel)


@st.composite
def big_replies(draw: st.DrawFn) -> Reply:
    channel = draw(st.none() | st.just(ChannelKey("slack", "T1", "C1")))
    counter = iter(range(1, 100_000))
    top = tuple(_card(next(counter), channel) for _ in range(draw(st.integers(0, 40))))
    sections = []
    for s in range(draw(st.integers(0, 8))):
        lines = draw(st.lists(st.one_of(_short, _long_line), max_size=400))
        cards = tuple(_card(next(counter), channel) for _ in range(draw(st.integers(0, 160))))
        sections.append(Section(f"Part {s}", tuple(lines), cards))
    actions = tuple(
        Action(f"Track {n}", f"track:1:U1:{n}") for n in range(draw(st.integers(0, 700)))
    )
    return Reply("Big", cards=top, sections=tuple(sections), actions=actions)


def _accounted(reply: Reply, blocks: Sequence[Mapping[str, Any]]) -> None:
    """Every card is shown or counted in an "…and N more items" line of its part; every line
    likewise; parts left off whole and buttons left off are said in the last note."""
    texts = {str(b.get("block_id")): " ".join(_mrkdwn([b])) for b in blocks}
    shown_refs = set(kit.card_refs(blocks))
    rest = texts.get("more|rest", "")
    parts_off = int(m.group(1)) if (m := re.search(r"(\d+) more parts? not shown", rest)) else 0
    buttons_off = int(m.group(1)) if (m := re.search(r"(\d+) more buttons?", rest)) else 0
    groups: list[tuple[str, tuple[Card, ...], tuple[str, ...]]] = []
    if reply.cards:
        groups.append(("more", reply.cards, ()))
    groups += [(f"sec|{i}|more", s.cards, s.lines) for i, s in enumerate(reply.sections)]
    assert parts_off == sum(
        1 for gid, _, _ in groups if gid != "more" and gid[:-5] + "|div" not in texts
    )
    for gid, cards, lines in groups:
        if gid != "more" and f"{gid[:-5]}|div" not in texts:
            continue  # a part left off whole: counted above
        note = texts.get(gid, "")
        items_off = int(m.group(1)) if (m := re.search(r"(\d+) more items?", note)) else 0
        lines_off = int(m.group(1)) if (m := re.search(r"(\d+) more lines?", note)) else 0
        assert items_off == sum(1 for c in cards if c.ref not in shown_refs), (gid, note)
        if gid != "more":
            i = int(gid.split("|")[1])
            shown_lines = sum(
                t.count("\n• ") + 1 for bid, t in texts.items() if bid.startswith(f"sec|{i}|lines|")
            )
            assert shown_lines + lines_off == len(lines) or (
                lines_off == 0 and shown_lines >= len(lines)
            ), (gid, note, shown_lines, len(lines))
    shown_buttons = sum(
        1
        for b in blocks
        if b["type"] == "actions" and not str(b.get("block_id", "")).startswith("card|")
        for _ in b["elements"]
    )
    assert shown_buttons + buttons_off == len(reply.actions)


@fuzz(60)
@given(reply=big_replies())
def test_any_reply_fits_slacks_limits_and_says_what_was_left_out(reply: Reply) -> None:
    blocks = kit.message_blocks(reply)
    check_blocks(blocks, kit.MAX_MESSAGE_BLOCKS, "message")
    _accounted(reply, blocks)
    home = kit.home_view(reply)
    check_view(home, "home")
    check_blocks(home["blocks"], kit.MAX_VIEW_BLOCKS, "home")
    notice = kit.notice_view(reply)
    check_view(notice, "notice")
    ids = [str(b.get("block_id", "")) for b in blocks]
    cut = any(i == "more|rest" or i.endswith("more") for i in ids)
    event(f"left off: {'some' if cut else 'none'}")
    if reply.sections and len(blocks) == kit.MAX_MESSAGE_BLOCKS:
        # A long first part never hides every part after it: all the headings that fit show.
        assert "sec|0|div" in {b.get("block_id") for b in blocks}
