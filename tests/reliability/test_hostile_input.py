"""Hostile input, end to end through the core and both real renderers.

Every command, every form and every click is fed text a hostile or careless user could send:
any Unicode (control, zero-width and right-to-left characters, NUL), 40,000-character walls,
mention and markup look-alikes of both platforms, SQL and JSON fragments, text that tries to
close a code block. Each reply is rendered with the real Slack Block Kit renderer
(:mod:`adapters.slack.blocks`) and the real Discord renderer (:mod:`adapters.discord.render`,
down to the discord.py components and modals the adapter builds), and the produced structures
are checked against each platform's documented limits and against mention injection.

The properties:

- no exception escapes the core, and no reply is an apology with an incident id: every reply is
  a success, an answer, or a usage / validation message; a refused request saved nothing;
- Slack: at most 50 blocks a message (100 a view), unique block ids, section text <= 3,000,
  fields <= 10 x 2,000, buttons <= 25 a block with text <= 75, action id <= 255, value <= 2,000,
  modal titles <= 24, select options <= 100 x (75, 150); and in every mrkdwn text each ``<``,
  ``>`` and ``&`` is either escaped or part of a user mention, channel link or URL link, so a
  special mention (``<!channel>``, ``<!here>``, ``<!everyone>``, ``<!subteam^..>``) never
  reaches Slack from user text;
- Discord: content <= 2,000, <= 10 embeds and <= 6,000 embed characters a message, titles <= 256,
  descriptions <= 4,096, <= 25 fields of name <= 256 / value <= 1,024 (never empty), <= 5
  component rows, <= 5 buttons a row, labels 1-80, custom ids <= 100, unique and routable back
  by the adapter's templates; modals with 1-5 inputs, title <= 45, labels <= 45, <= 25 options.

The mention side of Discord (``@everyone``, role and user pings) is decided by the
``allowed_mentions`` the adapter sends; that is checked on the wire in
``test_hostile_slack_wire.py`` and ``test_hostile_discord_wire.py``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import discord
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.discord import render as dr
from adapters.discord.components import build_modal, build_view
from adapters.slack import blocks as kit
from bot.commands.log import form_for
from bot.commands.registry import COMMANDS
from bot.dispatcher import Core
from bot.domain.limits import clean_text, is_blank
from bot.domain.model import ChannelKey, ChannelSettings, Kind, Standup
from bot.messages import (
    Action,
    Card,
    Choice,
    Field,
    Form,
    FormField,
    InputKind,
    Reply,
    Request,
    Section,
    Tone,
    Visibility,
)
from bot.services import standups
from bot.services.nudges import Reason
from bot.text.parsing import _is_broadcast
from bot.views import nudges
from bot.views import standups as standup_views
from bot.views.items import decide_action, reject_action
from tests.fakes import FakeStore, FixedClock
from tests.unit.conftest import BASE, Chat


def fuzz(examples: int) -> settings:
    """Enough examples to matter, few enough that the whole file runs in about 20 s."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- hostile text ------------------------------------------------------------------------------

#: Mention and markup look-alikes of both platforms, injections, and characters that misbehave.
FRAGMENTS = [
    "<@U123>", "<@U123|dana>", "<@W9>", "<!channel>", "<!here>", "<!everyone>",
    "<!subteam^S1|@team>", "<!date^1392734382^{date}|x>", "@everyone", "@here", "@channel",
    "<#C1|x>", "<#C1>", "<https://x|y>", "<https://evil.example/login|Click to approve>",
    "<mailto:a@b.c|mail>", "<http://x>", "<@123>", "<@!123>", "<@&123>", "<#123>", "<t:1:R>",
    "<:emoji:1>", "<a:x:2>", "</raid list:1>", "`", "``", "```", "```\n", "*bold*", "**b**",
    "_it_", "~x~", "~~", "~~strike~~", "||spoiler||", "[link](http://x)", "[x](<javascript:1>)",
    "> quote", ">>> all", "# heading", "- item", "1. one", "\\", "\\*", "'; DROP TABLE items; --",
    "\" OR 1=1 --", "Robert'); DROP TABLE items;--", "%s", "%(x)s", "{0}", "{{x}}", "${x}",
    '"}]},{"type":"section","text":{"type":"mrkdwn","text":"<!channel>"}}', '{"a":1}', "[]",
    '"', "'", "\n", "\r\n", "\r", "\t", "\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\u2028",
    "\u2029", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066",
    "\u2069", "\ufeff", "\ufffd", "\U0001f600", "e\u0301", "\u0000@everyone", "@\u200beveryone",
    "&", "&amp;", "&lt;!channel&gt;", "&lt;", "&#60;", "<", ">", "<>", "<<>>", "<@", "<!", "@",
    "#", "|", "||", ":", "::", "…", "—",
]  # fmt: skip
#: Words the parsers react to, so hostile text also lands in options, refs and dates.
WORDS = [
    "due", "by", "review", "until", "likelihood", "impact", "very", "high", "low", "med",
    "waiting", "on", "mitigation", "response", "accept", "because", "details", "needed",
    "@dana", "friday", "tomorrow", "3pm", "12/05", "B-1", "#b1", "R-1", "D-1", "C-1", "B-99",
    "schedule", "cost", "scope", "+2", "weeks,", "page", "all", "mine", "overdue", "json",
    "md", "csv", "on", "off", "thread", "dm", "weekdays", "09:30", "Europe/Berlin", "2h",
]  # fmt: skip

_PIECES = st.sampled_from(FRAGMENTS + WORDS) | st.text(max_size=6)


def _wall(fragment: str, size: int) -> str:
    return (fragment * (size // max(1, len(fragment)) + 1))[:size]


_walls = st.builds(
    _wall,
    st.sampled_from([*FRAGMENTS, "x", "word "]),
    st.sampled_from([150, 301, 1025, 2001, 3001, 4001, 40_000]),
)
#: Any text, markup soup, and walls up to the 40,000 characters nobody should send. Hypothesis
#: favours the first choices, so walls get several places (about one draw in six is a wall).
hostile = st.sampled_from(
    [
        st.lists(_PIECES, min_size=1, max_size=16).map(" ".join),
        st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8).map("".join),
        st.text(max_size=80),
        st.text(
            st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Co"]),
            max_size=20,
        ),
        _walls,
        _walls,
        _walls,
    ]
).flatmap(lambda strategy: strategy)

# --- the core, seeded --------------------------------------------------------------------------

CHANNEL = ChannelKey("console", "local", "proj")
USER = "ana"
SEED = [
    "/blocker Seed blocker @dana due friday",
    "/risk Seed risk likelihood high impact low @bob review friday",
    "/decision needed Pick the SSO vendor @cio by friday",
    "/change Add CRM integration impact schedule +2 weeks @sponsor",
    "/blocker Unowned blocker",
]

_seeded: FakeStore | None = None


async def seeded_core() -> tuple[Core, FakeStore]:
    """The unit tests' chat harness over a fresh copy of a store holding B-1, R-1, D-1, C-1 and
    B-2 (no owner); the core is driven directly so that hostile text reaches it unchanged."""
    global _seeded
    if _seeded is None:
        seeding = Chat(FakeStore(), FixedClock(BASE), user=USER)
        for line in SEED:
            reply = await seeding.say(line)
            assert reply.tone is Tone.SUCCESS, reply.text
        _seeded = seeding.store
    store = FakeStore()
    store.state = copy.deepcopy(_seeded.state)
    chat = Chat(store, FixedClock(BASE), user=USER)
    assert chat.channel == CHANNEL
    return chat.core, store


async def say(core: Core, command: str, text: str, user: str = USER) -> Reply:
    return await core.handle(Request(CHANNEL, user, command=command, text=text))


async def click(
    core: Core, action_id: str, values: Mapping[str, str] | None = None, user: str = USER
) -> Reply:
    return await core.handle(Request(CHANNEL, user, action_id=action_id, values=dict(values or {})))


def assert_answered(reply: Reply, store: FakeStore | None = None, before: int = 0) -> None:
    """A success, an answer or a usage/validation message; never an apology. Nothing stored
    holds a control character (PostgreSQL refuses a NUL) or a lone surrogate (not UTF-8)."""
    assert reply.incident_id is None, reply.text
    assert "something went wrong" not in reply.text, reply.text
    assert reply.text.strip(), reply
    if store is not None and reply.tone is Tone.ERROR:
        assert store.commits == before, "a refused request saved something"
    if store is not None:
        assert_clean(store)


def _bad_chars(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n"]


def stored_texts(store: FakeStore) -> Iterable[str]:
    """Every text the store holds that a user could have typed."""
    state = store.state
    for item in state.items.values():
        for f in dataclasses.fields(item):
            value = getattr(item, f.name)
            if isinstance(value, str):
                yield value
            elif isinstance(value, tuple):
                yield from (v for v in value if isinstance(v, str))
        yield from (f"{k} {v}" for k, v in item.impacts.items())
    for events in state.events.values():
        for event in events:
            yield event.note or ""
            yield from (f"{c.old or ''} {c.new or ''}" for c in event.changes)
    for answer in state.answers.values():
        yield from answer.answers
    for schedule in state.schedules.values():
        yield from schedule.questions
        yield from schedule.members
    for channel in state.settings.values():
        yield from channel.leads


def assert_clean(store: FakeStore) -> None:
    dirty = [t for t in stored_texts(store) if _bad_chars(t)]
    assert not dirty, f"stored with control characters: {dirty[:3]!r}"


# --- Slack checks ------------------------------------------------------------------------------

#: What may stand between ``<`` and ``>`` in raidline's mrkdwn: a plain user mention, a plain
#: channel link, a plain URL, a mail link labelled with its own address. Never a special
#: mention, never a masked link, never a label on a mention (raidline's own ":link: message"
#: link on a card's head is taken off before the check).
_SLACK_MARKUP = re.compile(
    r"<(?:@[A-Za-z0-9][A-Za-z0-9._\-]*|#[A-Za-z0-9][A-Za-z0-9_\-]*|https?://[^<>\s|\"]+"
    r"|mailto:([^<>\s|\"]+)\|\1)>"
)
_OWN_CARD_LINK = re.compile(r"  <https?://[^<>\s|]+\|:link: message>")
_ENTITY = re.compile(r"&(?:amp|lt|gt);")
_SLACK_BLOCK_TYPES = {"section", "context", "actions", "divider", "input"}


def check_mrkdwn(text: str, where: str) -> None:
    """Every ``<``, ``>``, ``&`` is markup raidline means or an escape; nothing else."""
    assert "<!" not in text, f"{where}: special mention reaches Slack: {text[:300]!r}"
    pos = 0
    cut = text.endswith("…")
    while pos < len(text):
        ch = text[pos]
        if ch == "<":
            m = _SLACK_MARKUP.match(text, pos)
            if m:
                pos = m.end()
                continue
            # Only the tail of a clipped text may hold a mention cut in half.
            assert cut and ">" not in text[pos:], f"{where}: raw '<' at {pos}: {text[:300]!r}"
        elif ch == ">":
            raise AssertionError(f"{where}: raw '>' at {pos}: {text[:300]!r}")
        elif ch == "&" and not _ENTITY.match(text, pos):
            # An entity cut in half by clipping shows as text; it cannot open markup.
            assert cut and len(text) - pos <= 5, f"{where}: raw '&' at {pos}: {text[:300]!r}"
        pos += 1


def check_text_object(obj: Mapping[str, Any], limit: int, where: str) -> None:
    assert obj["type"] in ("plain_text", "mrkdwn"), where
    text = obj["text"]
    assert isinstance(text, str) and 1 <= len(text) <= limit, f"{where}: {len(text)} chars"
    if obj["type"] == "mrkdwn":
        check_mrkdwn(text, where)


def check_button(element: Mapping[str, Any], where: str) -> None:
    assert element["type"] == "button", where
    check_text_object(element["text"], kit.MAX_BUTTON_TEXT, f"{where} text")
    assert element["text"]["type"] == "plain_text"
    assert 1 <= len(element["action_id"]) <= kit.MAX_ACTION_ID, where
    value = element["value"]
    assert 1 <= len(value) <= kit.MAX_BUTTON_VALUE, f"{where}: value of {len(value)}"
    assert element.get("style") in (None, "primary", "danger"), where
    decoded = kit.decode_button_value(value, element["action_id"])
    assert decoded.action_id, where


def check_input_element(element: Mapping[str, Any], where: str) -> None:
    kind = element["type"]
    assert 1 <= len(element["action_id"]) <= kit.MAX_ACTION_ID, where
    if kind == "plain_text_input":
        limit = element.get("max_length", kit.MAX_TEXT)
        assert 1 <= limit <= kit.MAX_TEXT, where
        assert len(element.get("initial_value", "")) <= limit, where
        if "placeholder" in element:
            check_text_object(element["placeholder"], kit.MAX_PLACEHOLDER, where)
    elif kind == "static_select":
        options = element["options"]
        assert 1 <= len(options) <= 100, where
        for option in options:
            check_text_object(option["text"], kit.MAX_OPTION_TEXT, where)
            assert 1 <= len(option["value"]) <= kit.MAX_OPTION_VALUE, where
        if "initial_option" in element:
            assert element["initial_option"] in options, where
    else:
        assert kind in ("users_select", "multi_users_select"), where


def check_blocks(blocks: Sequence[Mapping[str, Any]], limit: int, where: str) -> None:
    assert json.loads(json.dumps(blocks)) == blocks, f"{where}: not plain JSON"
    assert 1 <= len(blocks) <= limit, f"{where}: {len(blocks)} blocks"
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)), f"{where}: repeated block ids {ids}"
    for n, block in enumerate(blocks):
        at = f"{where} block {n} ({block.get('block_id')})"
        assert block["type"] in _SLACK_BLOCK_TYPES, at
        assert len(block.get("block_id", "")) <= 255, at
        if block["type"] == "section":
            assert "text" in block or "fields" in block, at
            if "text" in block:
                text_object = block["text"]
                if str(block.get("block_id", "")).endswith("|head"):
                    own = _OWN_CARD_LINK.sub("", text_object["text"])
                    text_object = {**text_object, "text": own}
                check_text_object(text_object, kit.MAX_TEXT, at)
            fields = block.get("fields", [])
            assert len(fields) <= kit.MAX_FIELDS_PER_SECTION, at
            for f in fields:
                check_text_object(f, kit.MAX_FIELD_TEXT, at)
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10, at
            for element in block["elements"]:
                check_text_object(element, kit.MAX_TEXT, at)
        elif block["type"] == "actions":
            elements = block["elements"]
            assert 1 <= len(elements) <= kit.MAX_BUTTONS_PER_BLOCK, at
            action_ids = [e["action_id"] for e in elements]
            assert len(action_ids) == len(set(action_ids)), f"{at}: repeated action ids"
            for element in elements:
                check_button(element, at)
        elif block["type"] == "input":
            check_text_object(block["label"], kit.MAX_FIELD_TEXT, at)
            if "hint" in block:
                check_text_object(block["hint"], kit.MAX_FIELD_TEXT, at)
            check_input_element(block["element"], at)


def check_view(view: Mapping[str, Any], where: str) -> None:
    assert json.loads(json.dumps(view)) == view, where
    for key in ("title", "submit", "close"):
        if key in view:
            check_text_object(view[key], kit.MAX_VIEW_TITLE, f"{where} {key}")
    assert len(view.get("callback_id", "")) <= kit.MAX_ACTION_ID, where
    assert len(view.get("private_metadata", "")) <= kit.MAX_METADATA, where
    check_blocks(view["blocks"], kit.MAX_VIEW_BLOCKS, where)


def check_slack(reply: Reply, prefill: Mapping[str, str] | None = None) -> None:
    where = f"slack reply {reply.text[:60]!r}"
    check_mrkdwn(kit.message_text(reply), f"{where} text")
    assert 1 <= len(kit.message_text(reply)) <= kit.MAX_TEXT, where
    dm = ChannelKey("slack", "T1", "C1")
    blocks = kit.message_blocks(reply)
    check_blocks(blocks, kit.MAX_MESSAGE_BLOCKS, where)
    check_blocks(
        kit.message_blocks(reply, actor="U1", origin=dm), kit.MAX_MESSAGE_BLOCKS, f"{where} dm"
    )
    check_view(kit.notice_view(reply), f"{where} notice")
    updated = kit.updated_message(blocks, kit.card_refs(blocks), reply, actor="U1")
    if updated is not None:
        check_blocks(updated, kit.MAX_MESSAGE_BLOCKS, f"{where} updated")
    forms = [reply.form] if reply.form else []
    forms += [a.form for a in all_actions(reply) if a.form]
    for form in forms:
        view = kit.form_view(form, metadata="x" * 4000, prefill=prefill)
        check_view(view, f"{where} form {form.form_id}")
        if reply.field_errors:
            for name, error in kit.view_errors(reply.field_errors, view).items():
                assert name in {b["block_id"] for b in view["blocks"]}
                assert 1 <= len(error) <= kit.MAX_FIELD_TEXT


def all_actions(reply: Reply) -> list[Action]:
    cards = [*reply.cards, *(c for s in reply.sections for c in s.cards)]
    return [*(a for c in cards for a in c.actions), *reply.actions]


# --- Discord checks ----------------------------------------------------------------------------

_TEMPLATES = [
    re.compile(t)
    for t in (dr.ACTION_TEMPLATE, dr.SELECT_TEMPLATE, dr.PAGE_TEMPLATE, dr.FIX_TEMPLATE)
]


#: Live Discord markup no text of raidline's may hold: a masked link ``[label](url)`` (a ``]``
#: right before a ``(``), ``@everyone`` / ``@here``, a role ping. People ``<@123>`` are fine.
_DISCORD_LIVE = re.compile(r"\]\(|@(?:everyone|here)|<@&", re.IGNORECASE)


def check_discord_text(text: str | None, where: str) -> None:
    m = _DISCORD_LIVE.search(text or "")
    assert m is None, f"{where}: live {m.group(0)!r} in {(text or '')[:300]!r}"


def check_embed(embed: discord.Embed, where: str) -> None:
    data = embed.to_dict()
    check_discord_text(data.get("title"), f"{where} title")
    check_discord_text(data.get("description"), f"{where} description")
    for f in data.get("fields") or []:
        check_discord_text(f["value"], f"{where} field")
    assert len(data.get("title") or "") <= dr.MAX_TITLE, where
    assert len(data.get("description") or "") <= dr.MAX_DESCRIPTION, where
    assert len((data.get("footer") or {}).get("text") or "") <= dr.MAX_FOOTER, where
    fields = data.get("fields") or []
    assert len(fields) <= dr.MAX_FIELDS, where
    for f in fields:
        assert 1 <= len(f["name"]) <= dr.MAX_FIELD_NAME, where
        assert 1 <= len(f["value"]) <= dr.MAX_FIELD_VALUE, where
    assert data.get("title") or data.get("description") or fields, f"{where}: empty embed"


def check_components(rows: Sequence[Sequence[dr.ComponentSpec]], where: str) -> None:
    assert len(rows) <= dr.MAX_ROWS, where
    ids: list[str] = []
    for row in rows:
        assert row, where
        selects = [c for c in row if isinstance(c, dr.UserSelectSpec)]
        assert len(row) <= dr.MAX_BUTTONS_PER_ROW and (not selects or len(row) == 1), where
        for spec in row:
            ids.append(spec.custom_id)
            assert 1 <= len(spec.custom_id) <= dr.MAX_CUSTOM_ID, where
            assert any(t.fullmatch(spec.custom_id) for t in _TEMPLATES), (
                f"{where}: {spec.custom_id!r} routes nowhere"
            )
            if isinstance(spec, dr.ButtonSpec):
                assert 1 <= len(spec.label) <= dr.MAX_BUTTON_LABEL, where
            else:
                assert 1 <= len(spec.placeholder) <= dr.MAX_SELECT_PLACEHOLDER, where
                assert 1 <= spec.max_values <= dr.MAX_SELECT_VALUES, where
    assert len(ids) == len(set(ids)), f"{where}: repeated custom ids {ids}"
    view = build_view([list(r) for r in rows])
    if view is not None:
        payload = view.to_components()
        assert json.loads(json.dumps(payload)) == payload, where
        assert len(payload) <= dr.MAX_ROWS, where


def check_message(rendered: dr.Rendered, where: str) -> None:
    assert len(rendered.content) <= dr.MAX_CONTENT, where
    check_discord_text(rendered.content, f"{where} content")
    assert rendered.content.strip() or rendered.embeds, f"{where}: empty message"
    assert len(rendered.embeds) <= dr.MAX_EMBEDS, where
    assert sum(len(e) for e in rendered.embeds) <= dr.MAX_EMBED_TOTAL, f"{where}: embeds too big"
    for n, embed in enumerate(rendered.embeds):
        check_embed(embed, f"{where} embed {n}")
    check_components(rendered.rows, where)


def check_modal(spec: dr.ModalSpec, where: str) -> None:
    assert 1 <= len(spec.inputs) <= dr.MAX_MODAL_INPUTS, where
    assert 1 <= len(spec.title) <= dr.MAX_MODAL_TITLE, where
    assert len(spec.custom_id) <= dr.MAX_CUSTOM_ID, where
    assert dr.parse_form_custom_id(spec.custom_id) is not None, where
    names = [i.name for i in spec.inputs]
    assert len(names) == len(set(names)), where
    for inp in spec.inputs:
        assert 1 <= len(inp.label) <= dr.MAX_LABEL_TEXT, where
        assert len(inp.description or "") <= dr.MAX_LABEL_DESCRIPTION, where
        assert len(inp.choices) <= dr.MAX_SELECT_OPTIONS, where
        assert 1 <= (inp.max_length or dr.MAX_INPUT_VALUE) <= dr.MAX_INPUT_VALUE, where
    payload = build_modal(spec).to_dict()
    assert json.loads(json.dumps(payload)) == payload, where
    for row in payload["components"]:
        inner = row.get("component") or {}
        if "value" in inner:
            assert len(inner["value"]) <= inner.get("max_length", dr.MAX_INPUT_VALUE), where
        for option in inner.get("options", []):
            assert 1 <= len(option["label"]) <= 100 and 1 <= len(option["value"]) <= 100, where


def check_discord(
    reply: Reply,
    origin: tuple[str, str] = ("raid", "list"),
    values: Mapping[str, str] | None = None,
) -> None:
    where = f"discord reply {reply.text[:60]!r}"
    first = dr.render(reply, origin=origin, form=reply.form)
    assert first.ephemeral == (reply.visibility is Visibility.PRIVATE or dr.is_refusal(reply))
    for page in range(first.pages):
        check_message(dr.render(reply, page=page, origin=origin), f"{where} page {page}")
    for n, part in enumerate(dr.render_all(reply)):
        check_message(part, f"{where} part {n}")
    forms = [reply.form] if reply.form else []
    forms += [a.form for a in all_actions(reply) if a.form and not dr.single_user_field(a)]
    for form in forms:
        spec = dr.modal_spec(form, dr.form_custom_id(form.form_id, "tok"), values=values)
        check_modal(spec, f"{where} modal {form.form_id}")


def check_rendered(reply: Reply, origin: tuple[str, str] = ("raid", "list")) -> None:
    check_slack(reply)
    check_discord(reply, origin)


# --- 1. every command, any text ----------------------------------------------------------------

#: (command, what comes before the hostile text, what comes after it).
COMMAND_CASES = [
    ("blocker", "", ""), ("blocker", "", " @dana due friday"), ("blocker", '"', '" due friday'),
    ("blocker", "Title ", " waiting on @dana"), ("blocker", "Title waiting on ", ""),
    ("blocker", "Title details ", ""), ("blocker", "Title due ", ""),
    ("risk", "", " likelihood high impact low"), ("risk", "Title likelihood ", ""),
    ("risk", "Title mitigation ", " @bob"), ("risk", "Title response ", ""),
    ("risk", "Title review ", ""),
    ("decision", "", ""), ("decision", "", " because "), ("decision", "needed ", " by friday"),
    ("decision", "needed Title by ", ""),
    ("change", "", " impact schedule +2 weeks"), ("change", "Title impact ", ""),
    ("change", "Title impact cost ", " because it"),
    ("raid", "", ""), ("raid", "list ", ""), ("raid", "show ", ""), ("raid", "show B-1 ", ""),
    ("raid", "resolve B-1 ", ""), ("raid", "resolve ", ""), ("raid", "assign B-1 ", ""),
    ("raid", "due B-1 ", ""), ("raid", "note R-1 ", ""), ("raid", "approve C-1 ", ""),
    ("raid", "reject C-1 ", ""), ("raid", "decide D-1 ", ""), ("raid", "close R-1 ", ""),
    ("raid", "occurred R-1 ", ""), ("raid", "reopen B-1 ", ""), ("raid", "withdraw B-2 ", ""),
    ("raid", "implemented C-1 ", ""), ("raid", "supersede D-1 ", ""),
    ("raid", "history ", ""), ("raid", "history B-1 ", ""), ("raid", "export ", ""),
    ("raid", "settings ", ""), ("raid", "settings timezone ", ""),
    ("raid", "settings leads ", ""), ("raid", "settings nudges ", ""), ("raid", "help ", ""),
    ("standup", "", ""), ("standup", "schedule ", ""), ("standup", "schedule weekdays ", ""),
    ("standup", "questions ", ""), ("standup", "questions What? | ", ""),
    ("standup", "members ", ""), ("standup", "window ", ""), ("standup", "mode ", ""),
    ("standup", "skip ", ""), ("standup", "away ", ""), ("standup", "away until ", ""),
    ("standup", "away ", " until friday"), ("standup", "now ", ""), ("standup", "answer ", ""),
    ("standup", "off ", ""),
    ("digest", "", ""), ("digest", "daily ", ""), ("digest", "weekly ", ""),
    ("digest", "off ", ""),
    ("help", "", ""), ("blockr", "", ""), ("", "", ""), ("/raid", "", ""),
]  # fmt: skip


@fuzz(150)
@given(case=st.sampled_from(COMMAND_CASES), body=hostile, user=st.sampled_from(["ana", "dana"]))
async def test_every_command_answers_hostile_text_inside_both_platforms_limits(
    case: tuple[str, str, str], body: str, user: str
) -> None:
    command, before_text, after_text = case
    core, store = await seeded_core()
    before = store.commits
    text = before_text + body + after_text
    reply = await say(core, command, text, user)
    assert_answered(reply, store, before)
    check_rendered(reply, (command, text))


@fuzz(100)
@given(command=hostile, body=hostile)
async def test_a_hostile_command_name_is_an_unknown_command(command: str, body: str) -> None:
    core, store = await seeded_core()
    reply = await say(core, command, body)
    assert_answered(reply, store, store.commits)
    check_rendered(reply, (command, body))


#: The walls every command and every form field gets, table-driven (hypothesis draws walls too,
#: but not every case with every wall).
WALLS = [
    _wall("x", 40_000),
    _wall("<!channel> ", 40_000),
    _wall("\u200b\u202e", 40_000),
    _wall("word ", 4001),
    _wall("<@U123> ", 3001),
    _wall("&<>", 3001),
    _wall("```\n", 301),
]


@pytest.mark.parametrize("case", COMMAND_CASES, ids=lambda c: f"{c[0]}:{c[1].strip()}")
async def test_every_command_refuses_or_takes_huge_text(case: tuple[str, str, str]) -> None:
    command, before_text, after_text = case
    for wall in WALLS:
        core, store = await seeded_core()
        text = before_text + wall + after_text
        reply = await say(core, command, text)
        assert_answered(reply, store, 0)
        if len(text) > 4000:
            assert reply.tone is Tone.ERROR and "4,000" in reply.text, reply.text[:200]
        check_rendered(reply, (command, text))


def _option_paths() -> list[tuple[str, str | None, tuple[str, ...]]]:
    """(command, subcommand path, option names) of every command a platform can send as
    typed options (Discord's app commands)."""
    paths: list[tuple[str, str | None, tuple[str, ...]]] = []

    def walk(command: str, prefix: str, subs: Sequence[Any]) -> None:
        for sub in subs:
            path = f"{prefix} {sub.name}".strip()
            if sub.subcommands:
                walk(command, path, sub.subcommands)
            else:
                paths.append((command, path, tuple(o.name for o in sub.options)))

    for command in COMMANDS.values():
        if command.subcommands:
            walk(command.name, "", command.subcommands)
        else:
            paths.append((command.name, None, tuple(o.name for o in command.options)))
    return paths


OPTION_PATHS = _option_paths()


@st.composite
def option_requests(draw: st.DrawFn) -> tuple[str, str | None, dict[str, str]]:
    command, sub, names = draw(st.sampled_from(OPTION_PATHS))
    values: dict[str, str] = {}
    for name in names:
        choice = draw(st.sampled_from(["hostile", "valid", "missing"]))
        if choice == "hostile":
            values[name] = draw(hostile)
        elif choice == "valid":
            values[name] = draw(st.sampled_from(VALID.get(name, ["x", "B-1", "ana"])))
    return command, sub, values


@fuzz(100)
@given(request=option_requests(), user=st.sampled_from(["ana", "dana", "cio", "sponsor"]))
async def test_every_command_answers_hostile_options_inside_both_platforms_limits(
    request: tuple[str, str | None, dict[str, str]], user: str
) -> None:
    """Discord sends typed options, not text: the same answers, limits and clean record."""
    command, sub, values = request
    core, store = await seeded_core()
    before = store.commits
    reply = await core.handle(
        Request(CHANNEL, user, command=command, subcommand=sub, options=values)
    )
    assert_answered(reply, store, before)
    check_rendered(reply, (command, " ".join(values.values())))


# --- 2. hostile text that was saved, in every view of it ---------------------------------------

# a title with something visible once the core has dropped control characters
_TITLE_OK = st.text(min_size=1, max_size=300).filter(
    lambda t: not is_blank(clean_text(t, multiline=False))
)


def _few_mentions(text: str, most: int = 5) -> str:
    """``text`` with every ``@`` after the first ``most`` made inert (same length), so that
    the fields of one form name at most 20 people together (the limit, SPEC §6)."""
    parts = text.split("@")
    return "@".join(parts[: most + 1]) + "".join("\uff20" + p for p in parts[most + 1 :])


def _fit(limit: int) -> st.SearchStrategy[str]:
    # the core drops control characters: a text of nothing else, or of invisible characters
    # only, is blank (and refused as such)
    return hostile.map(lambda t: _few_mentions(t[:limit])).filter(
        lambda t: not is_blank(clean_text(t, multiline=False))
    )


def _waits_on_everyone(text: str) -> bool:
    """Whether a blocker's form refuses ``text`` as what it waits on: a broadcast first word."""
    words = clean_text(text, multiline=False).split()
    return bool(words) and _is_broadcast(words[0])


@fuzz(40)
@given(
    title=_fit(300) | _TITLE_OK,
    details=_fit(3000),
    other=_fit(300),
    note=_fit(3000),
)
@example(title="Creds", details="x", other="<!channel>", note="x")
@example(title="Creds", details="x", other="@everyone please", note="x")
async def test_saved_hostile_text_stays_inside_its_block_in_every_view(
    title: str, details: str, other: str, note: str
) -> None:
    core, _ = await seeded_core()
    blocker = {"title": title, "details": details, "waiting_on": other, "owner": "ana"}
    if _waits_on_everyone(other):
        # ``@here`` & co. where the person would be is refused, with the field named
        refused = await click(core, "new:blocker", blocker)
        assert refused.tone is Tone.ERROR, refused.text
        assert "means everyone in the channel" in refused.field_errors["waiting_on"]
        blocker["waiting_on"] = "NetOps " + other  # later in the text it is only words
    saved = [
        await click(core, "new:blocker", blocker),
        await click(
            core,
            "new:risk",
            {"title": title, "likelihood": "5", "impact": "4", "mitigation": details},
        ),
        await click(core, "new:decision", {"title": title, "state": "decided", "rationale": note}),
        await click(
            core,
            "new:change",
            {
                "title": title,
                "impact": "cost 5k " + re.sub("[,;]", " ", other)[:290],
                "why": details,
            },
        ),
    ]
    for reply in saved:
        assert reply.tone is Tone.SUCCESS, reply.text
        check_rendered(reply)
    refs = [r.item_ref for r in saved]
    assert refs == ["B-3", "R-2", "D-2", "C-2"]
    later = [
        await say(core, "raid", f"note B-3 {note}"),
        await click(core, "decide:D-1", {"outcome": other, "rationale": note}),
        await click(core, "reject:C-2", {"reason": note}),
        await say(core, "raid", f"resolve B-1 {note}"),
        await click(core, "due:R-2", {"due": "friday"}),
        await say(core, "raid", "list"),
        await say(core, "raid", "list all"),
        await say(core, "raid", "show B-3"),
        await say(core, "raid", "history B-3"),
        await say(core, "raid", "history R-2"),
        await say(core, "raid", "export md"),
        await say(core, "digest", ""),
        await core.home("console", "local", "ana"),
    ]
    for reply in later:
        assert_answered(reply)
        check_rendered(reply)
    # What the bot sends on its own: the nudges about these items, days later.
    settings_ = ChannelSettings(CHANNEL, leads=("ana",))
    now = BASE + timedelta(days=30)
    async with core.uow_factory() as uow:
        items = await uow.items.list(CHANNEL)
    for item in items:
        item = dataclasses.replace(item, nudge_count=5)
        for why in Reason:
            if why is Reason.DECISION_LATE and item.kind is not Kind.DECISION:
                continue
            if why is Reason.DECISION_LATE and not item.active:
                continue
            if why is Reason.APPROVAL_WAITING and item.kind is not Kind.CHANGE:
                continue
            outgoing = nudges.message(item, why, settings_, "Europe/Berlin", now)
            check_rendered(outgoing.reply)


# --- 3. every form of every kind, hostile values -----------------------------------------------

#: Values each field also accepts, so that a form with hostile text in the others gets saved.
VALID = {
    "title": ["Title"], "owner": ["dana", "<@U1>"], "decider": ["cio"], "approvers": ["a b"],
    "due": ["friday"], "review": ["in 2 weeks"], "by": ["Dec 5"], "likelihood": ["high", "3"],
    "impact": ["schedule +2 weeks", "2"], "response": ["mitigate"], "state": ["needed", "decided"],
    "outcome": ["Okta"], "reason": ["no budget"], "rationale": ["x"], "why": ["x"],
    "details": ["x"], "mitigation": ["x"], "waiting_on": ["NetOps"], "note": ["x"],
    "q0": ["Nothing new"], "q1": ["- Waiting on legal\n- firewall"], "q2": ["Pick a vendor"],
}  # fmt: skip


def _forms() -> list[Form]:
    forms = [form_for(kind) for kind in Kind]
    forms += [
        Form("assign:B-1", "Assign", (FormField("owner", "Owner", InputKind.USER, True),)),
        Form("assign:C-1", "Assign", (FormField("owner", "Approvers", InputKind.USERS, True),)),
        Form("due:B-1", "New date", (FormField("due", "Due", InputKind.DATE, True),)),
        Form("due:R-1", "New date", (FormField("due", "Review", InputKind.DATE, True),)),
    ]
    for action in (decide_action("D-1"), reject_action("C-1"), reject_action("D-1")):
        assert action.form is not None
        forms.append(action.form)
    return forms


FORMS = _forms()


@st.composite
def form_submissions(draw: st.DrawFn) -> tuple[Form, dict[str, str]]:
    form = draw(st.sampled_from(FORMS))
    values: dict[str, str] = {}
    for f in form.fields:
        choice = draw(st.sampled_from(["hostile", "valid", "missing"]))
        if choice == "hostile":
            values[f.name] = draw(hostile)
        elif choice == "valid":
            values[f.name] = draw(st.sampled_from(VALID.get(f.name, ["x"])))
    if draw(st.booleans()):
        values[draw(hostile)] = draw(hostile)  # a field no form has
    return form, values


@fuzz(250)
@given(submission=form_submissions(), user=st.sampled_from(["ana", "dana", "cio", "sponsor"]))
async def test_every_form_answers_hostile_values_inside_both_platforms_limits(
    submission: tuple[Form, dict[str, str]], user: str
) -> None:
    form, values = submission
    core, store = await seeded_core()
    before = store.commits
    reply = await click(core, form.form_id, values, user)
    assert_answered(reply, store, before)
    if reply.field_errors:
        assert reply.tone is Tone.ERROR
        assert set(reply.field_errors) <= {f.name for f in form.fields}, reply.field_errors
    check_slack(reply, prefill=values)
    # A refused form is opened again with what was typed (Discord's "fix it").
    check_discord(replace_form(reply, form), values=values)


def replace_form(reply: Reply, form: Form) -> Reply:
    if reply.field_errors and reply.form is None:
        return dataclasses.replace(reply, form=form)
    return reply


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.form_id)
async def test_every_form_field_refuses_or_takes_huge_text(form: Form) -> None:
    for field in form.fields:
        for wall in WALLS:
            core, store = await seeded_core()
            values = {f.name: VALID.get(f.name, ["x"])[0] for f in form.fields}
            values[field.name] = wall
            reply = await click(core, form.form_id, values)
            assert_answered(reply, store, 0)
            check_slack(reply, prefill=values)
            check_discord(replace_form(reply, form), values=values)


_QUESTIONS = ("What changed?", "What is blocked?", "What decision is needed?")


async def open_standup(core: Core, questions: tuple[str, ...] = _QUESTIONS) -> int:
    """A standup of this channel, open for two hours, as the scheduler would store it."""
    async with core.uow_factory() as uow:
        standup, _ = await uow.schedules.open_standup(
            Standup(
                schedule_id=1,
                channel=CHANNEL,
                local_date="2026-11-25",
                opened_at=BASE,
                closes_at=BASE + timedelta(hours=2),
                questions=questions,
                members=("ana", "dana", "eve"),
                away=("eve",),
            )
        )
        await uow.commit()
    return standup.stored_id


_question = st.one_of(
    st.sampled_from(_QUESTIONS), hostile.map(lambda t: t[:150]).filter(lambda t: t.strip() != "")
)


@fuzz(60)
@given(
    questions=st.lists(_question, min_size=1, max_size=3).map(tuple),
    answers=st.lists(st.dictionaries(st.sampled_from(["q0", "q1", "q2"]), hostile), max_size=3),
    person=st.sampled_from(["ana", "dana", "U024BE7LH", "80351110224678912"]),
)
async def test_standup_answers_summaries_and_track_clicks_with_hostile_text(
    questions: tuple[str, ...], answers: list[dict[str, str]], person: str
) -> None:
    core, store = await seeded_core()
    standup_id = await open_standup(core, questions + _QUESTIONS)
    opened = await click(core, f"standup_answer:{standup_id}", user=person)
    assert_answered(opened)
    check_rendered(opened)
    for values in answers:
        before = store.commits
        reply = await click(core, f"standup_answer:{standup_id}", values, user=person)
        assert_answered(reply, store, before)
        check_rendered(reply)
    async with core.uow_factory() as uow:
        standup = await uow.schedules.get_standup(standup_id)
        saved = await uow.schedules.answers(standup_id)
    assert standup is not None
    tz = "Europe/Berlin"
    for reply in (
        standup_views.opening(standup, tz, BASE),
        standup_views.opening(standup, tz, BASE, questions_by_dm=True),
        standup_views.reminder(standup, ["dana"], tz, BASE),
        standup_views.summary(standups.summarize(standup, saved), tz, BASE),
    ):
        check_rendered(reply)
    summary = standup_views.summary(standups.summarize(standup, saved), tz, BASE)
    for action in summary.actions[:5]:
        tracked = await click(core, action.action_id)
        assert_answered(tracked)
        check_rendered(tracked)


# --- 4. clicks with hostile action ids and values ----------------------------------------------

VERBS = [
    "new", "list", "standup_answer", "track", "snooze", "resolve", "take", "assign", "due",
    "approve", "reject", "decide", "close", "occurred", "reopen", "withdraw", "implemented",
    "note", "supersede", "zap", "",
]  # fmt: skip


@fuzz(200)
@given(
    verb=st.sampled_from(VERBS),
    arg=st.one_of(hostile, st.sampled_from(["B-1", "R-1", "D-1", "C-1", "B-1:1d", ":2", "1"])),
    values=st.one_of(
        st.just({}),
        st.dictionaries(st.sampled_from([*VALID, "x"]) | hostile, hostile, max_size=4),
    ),
)
async def test_every_click_answers_hostile_action_ids_and_values(
    verb: str, arg: str, values: dict[str, str]
) -> None:
    core, store = await seeded_core()
    before = store.commits
    reply = await click(core, f"{verb}:{arg}" if verb else arg, values)
    assert_answered(reply, store, before)
    check_slack(reply)
    check_discord(reply)


# --- 5. the renderers alone, with hostile text in every slot -----------------------------------

# Labels, kinds and choices come from the core and are never empty; user text is added to them.
_label = hostile.map(lambda t: "Label " + t[:400])
_field = st.builds(Field, _label, hostile.map(lambda t: t[:4000]))
_action = st.builds(
    Action,
    _label,
    # The core's action ids: a verb, a ref or a list filter, a standup answerer's user id.
    st.one_of(
        st.sampled_from(
            ["resolve:B-1", "take:B-1", "list::2", "snooze:B-1:1d", "list:blockers overdue mine:2"]
        ),
        st.from_regex(r"[a-z_]{1,20}:[A-Z]-[0-9]{1,9}", fullmatch=True),
        st.from_regex(r"track:[0-9]{1,9}:[A-Za-z0-9_.\-]{1,120}:[0-9]{1,5}", fullmatch=True),
    ),
    st.sampled_from([None, "primary", "danger"]),
)
_card = st.builds(
    Card,
    ref=st.sampled_from(["B-1", "R-22", "D-333", "C-4444"]),
    kind=st.sampled_from(["blocker", "risk", "decision", "change"]),
    title=hostile.map(lambda t: t[:300]),
    status=st.sampled_from(["open", "resolved", "needs a decision"]) | _label,
    fields=st.lists(_field, max_size=27).map(tuple),
    actions=st.lists(_action, max_size=6).map(tuple),
    overdue=st.booleans(),
    url=st.none() | st.sampled_from(["https://x.slack.com/p1"]),
    channel=st.none() | st.just(ChannelKey("slack", "T1", "C1")),
)
_section = st.builds(
    Section,
    heading=_label,
    lines=st.lists(hostile.map(lambda t: t[:3000]), max_size=25).map(tuple),
    cards=st.lists(_card, max_size=2).map(tuple),
)
_reply = st.builds(
    Reply,
    text=hostile.map(lambda t: t[:5000]).filter(lambda t: t.strip() != ""),
    visibility=st.sampled_from(list(Visibility)),
    tone=st.sampled_from(list(Tone)),
    cards=st.lists(_card, max_size=6).map(tuple),
    sections=st.lists(_section, max_size=3).map(tuple),
    actions=st.lists(_action, max_size=4).map(tuple),
    usage=st.none() | st.just("/raid show <ref>"),
    field_errors=st.dictionaries(st.sampled_from(["title", "owner", "due", "impact"]), _label),
)


@fuzz(80)
@given(reply=_reply, origin_text=hostile)
async def test_the_renderers_keep_any_reply_inside_the_limits(
    reply: Reply, origin_text: str
) -> None:
    check_slack(reply)
    check_discord(reply, ("raid", origin_text))


@fuzz(100)
@given(
    title=_label,
    labels=st.lists(_label, min_size=1, max_size=8),
    defaults=st.lists(hostile, min_size=8, max_size=8),
    choices=st.lists(st.builds(Choice, _label, _label), max_size=30).map(tuple),
)
async def test_any_form_becomes_a_valid_modal_on_both_platforms(
    title: str, labels: list[str], defaults: list[str], choices: tuple[Choice, ...]
) -> None:
    kinds = list(InputKind)
    fields = tuple(
        FormField(
            f"f{n}",
            label or "x",
            kinds[n % len(kinds)],
            required=n % 2 == 0,
            default=defaults[n],
            hint=defaults[-1 - n][:500] or None,
            choices=(choices or (Choice("1", "one"),))
            if kinds[n % len(kinds)] is InputKind.CHOICE
            else (),
            max_length=[None, 300, 3000, 5000][n % 4],
        )
        for n, label in enumerate(labels)
    )
    form = Form("new:blocker", title or "x", fields, title[:30] or "Save")
    check_view(kit.form_view(form), "slack form")
    prefill = {f"f{n}": d for n, d in enumerate(defaults)}
    check_view(kit.form_view(form, prefill=prefill), "slack prefilled form")
    spec = dr.modal_spec(form, dr.form_custom_id(form.form_id), values=prefill)
    check_modal(spec, "discord modal")


# --- 6. what Slack sends in: escaped text, button values, modal state --------------------------


@fuzz(300)
@given(text=hostile)
def test_slack_escaping_keeps_user_text_literal(text: str) -> None:
    escaped = kit.escape(text)
    assert "<!" not in escaped
    # Slack's own escaping of what a user typed comes back as the same text.
    typed = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert kit.unescape(typed) == text
    check_mrkdwn(escaped, "escape")


@fuzz(150)
@given(
    value=st.one_of(
        hostile,
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4)
                | st.dictionaries(st.sampled_from(list("afiwcxnlkrdhmst")), inner, max_size=5)
            ),
            max_leaves=20,
        ).map(lambda data: json.dumps(data)),
    ),
    action_id=hostile,
)
def test_any_button_value_reads_back_without_raising(value: str, action_id: str) -> None:
    decoded = kit.decode_button_value(value, action_id)
    assert isinstance(decoded.action_id, str)


@fuzz(150)
@given(values=st.dictionaries(st.from_regex(r"[a-z_]{1,20}", fullmatch=True), hostile, max_size=6))
def test_submitted_values_read_back_exactly_from_both_platforms(values: dict[str, str]) -> None:
    state = {
        name: {name: {"type": "plain_text_input", "value": value}} for name, value in values.items()
    }
    assert kit.form_values(state) == values
    components = [
        {"type": 18, "component": {"type": 4, "custom_id": name, "value": value}}
        for name, value in values.items()
    ]
    assert dr.modal_values(components) == values


# --- the checks themselves catch what they claim to --------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "hi <!channel>",
        "<!here> x",
        "a <b> c",
        "5 > 3",
        "fish & chips",
        "<!subteam^S1|@team>",
        "<javascript:alert(1)|x>",
        "<https://evil.example|Approve here>",
        "<mailto:a@evil.example|HR>",
        "<@U1|CEO>",
        "<#C1|general>",
    ],
)
def test_the_slack_check_refuses_unescaped_text(bad: str) -> None:
    with pytest.raises(AssertionError):
        check_mrkdwn(bad, "sample")


def test_the_slack_check_accepts_what_raidline_means() -> None:
    check_mrkdwn(
        "*B-1*  a &lt;b&gt; &amp; c · <@U1> in <#C1> <https://x.slack.com/p> <mailto:a@b.c|a@b.c>",
        "ok",
    )


def _iter_texts(blocks: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    for b in blocks:
        if "text" in b:
            yield b["text"]["text"]
        yield from (f["text"] for f in b.get("fields", ()))
        yield from (e["text"] for e in b.get("elements", ()) if e.get("type") == "mrkdwn")


async def test_a_channel_ping_typed_into_a_title_is_shown_not_sent() -> None:
    """``@channel`` typed in a slash command arrives as ``<!channel>``; the card shows it inert."""
    core, _ = await seeded_core()
    reply = await say(
        core, "blocker", "<!channel> <!here> look at this <!everyone> team due friday"
    )
    assert reply.tone is Tone.SUCCESS, reply.text
    blocks = kit.message_blocks(reply)
    text = "\n".join(_iter_texts(blocks)) + kit.message_text(reply)
    assert "<!" not in text
    assert "&lt;!channel&gt; &lt;!here&gt; look at this &lt;!everyone&gt; team" in text
    check_blocks(blocks, kit.MAX_MESSAGE_BLOCKS, "ping")


async def test_a_tracked_standup_item_gets_no_made_up_link() -> None:
    """Its ``source_url`` is a marker (``standup:...``), not a message: Slack shows no link."""
    core, _ = await seeded_core()
    standup_id = await open_standup(core)
    saved = await click(core, f"standup_answer:{standup_id}", {"q1": "Waiting on legal"})
    assert saved.tone is Tone.SUCCESS, saved.text
    async with core.uow_factory() as uow:
        standup = await uow.schedules.get_standup(standup_id)
        answers = await uow.schedules.answers(standup_id)
    assert standup is not None
    (track,) = standup_views.summary(
        standups.summarize(standup, answers), "Europe/Berlin", BASE
    ).actions
    tracked = await click(core, track.action_id)
    assert tracked.tone is Tone.SUCCESS and (tracked.cards[0].url or "").startswith("standup:")
    head = kit.card_blocks(tracked.cards[0], 0)[0]["text"]["text"]
    assert head == "*B-3*  Waiting on legal"
    check_rendered(tracked)


def test_a_people_default_with_non_ascii_digits_still_builds_a_modal() -> None:
    """``"¹".isdigit()`` is true but ``int("¹")`` fails: only decimal ids become defaults."""
    spec = dr.ModalSpec(
        dr.form_custom_id("assign:C-1"),
        "Assign C-1",
        (dr.InputSpec("owner", "Approvers", InputKind.USERS, True, default="¹ 42 <@7>"),),
    )
    select = build_modal(spec).to_dict()["components"][0]["component"]
    assert [v["id"] for v in select["default_values"]] == [42]
