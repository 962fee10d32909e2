"""The one command table, the action-id grammar, and typed calls reached alike from text,
typed options and clicks."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from bot import actions
from bot.commands import calls
from bot.commands.clicks import click_call
from bot.commands.registry import COMMANDS, HANDLERS, Subcommand
from bot.domain.model import Kind, Ref
from bot.errors import UsageError
from bot.messages import Reply, Request
from bot.views.items import assign_action, decide_action, due_action, item_actions, reject_action
from tests.unit.conftest import Chat

B3 = Ref(Kind.BLOCKER, 3)

# --- action ids ------------------------------------------------------------------------------

BUILT = [
    (actions.resolve(B3), actions.ParsedAction("resolve", ref=B3)),
    (actions.take("B-3"), actions.ParsedAction("take", ref=B3)),
    (actions.assign(B3), actions.ParsedAction("assign", ref=B3)),
    (actions.due(B3), actions.ParsedAction("due", ref=B3)),
    (actions.approve("C-1"), actions.ParsedAction("approve", ref=Ref(Kind.CHANGE, 1))),
    (actions.reject("C-1"), actions.ParsedAction("reject", ref=Ref(Kind.CHANGE, 1))),
    (actions.decide("D-2"), actions.ParsedAction("decide", ref=Ref(Kind.DECISION, 2))),
    (actions.close("R-1"), actions.ParsedAction("close", ref=Ref(Kind.RISK, 1))),
    (actions.occurred("R-1"), actions.ParsedAction("occurred", ref=Ref(Kind.RISK, 1))),
    (actions.reopen(B3), actions.ParsedAction("reopen", ref=B3)),
    (actions.implemented("C-1"), actions.ParsedAction("implemented", ref=Ref(Kind.CHANGE, 1))),
    (actions.item_action("withdraw", B3), actions.ParsedAction("withdraw", ref=B3)),
    (actions.item_action("note", B3), actions.ParsedAction("note", ref=B3)),
    (actions.snooze(B3, 1), actions.ParsedAction("snooze", ref=B3, days=1)),
    (actions.snooze(B3, 7), actions.ParsedAction("snooze", ref=B3, days=7)),
    (actions.new_form(Kind.RISK), actions.ParsedAction("new", kind=Kind.RISK)),
    (
        actions.list_page("overdue all", 2),
        actions.ParsedAction("list", filter="overdue all", page=2),
    ),
    (actions.list_page("", 3), actions.ParsedAction("list", filter="", page=3)),
    (actions.edit("R-2"), actions.ParsedAction("edit", ref=Ref(Kind.RISK, 2))),
    (actions.defer(B3), actions.ParsedAction("defer", ref=B3)),
    (actions.standup_answer(7), actions.ParsedAction("standup_answer", standup_id=7)),
    (
        actions.track(7, "U1:odd", 2),
        actions.ParsedAction("track", standup_id=7, person="U1:odd", index=2),
    ),
]


@pytest.mark.parametrize(("action_id", "parsed"), BUILT, ids=[a for a, _ in BUILT])
def test_every_built_action_id_parses_back(action_id: str, parsed: actions.ParsedAction) -> None:
    assert actions.parse(action_id) == parsed
    assert actions.verb_of(action_id) == parsed.verb in actions.VERBS


def test_the_builders_cover_every_verb() -> None:
    assert {p.verb for _, p in BUILT} == actions.VERBS


@pytest.mark.parametrize(
    ("action_id", "message"),
    [
        ("zap:B-1", "`zap:B-1` is not an action I know."),
        ("new:bug", "`new:bug` is not a form I know."),
        ("track:1:2", "`track:1:2` is not an action I know."),
        ("standup_answer:x", "`x` is not a number I expected here."),
        ("resolve:X-1", "`X-1` is not a ref. Refs look like `B-3`, `R-1`, `D-2` or `C-4`."),
        ("snooze:B-1:zd", "`z` is not a number I expected here."),
    ],
)
def test_unknown_action_ids_are_usage_errors(action_id: str, message: str) -> None:
    with pytest.raises(UsageError) as e:
        actions.parse(action_id)
    assert e.value.message == message


def test_item_buttons_carry_built_ids_and_their_forms_are_known_without_the_database(
    chat: Chat,
) -> None:
    from datetime import UTC, datetime

    from bot.domain.model import Item, Status

    now = datetime(2026, 1, 1, tzinfo=UTC)
    for kind, status in (
        (Kind.BLOCKER, Status.OPEN),
        (Kind.RISK, Status.OPEN),
        (Kind.DECISION, Status.PENDING),
        (Kind.CHANGE, Status.PROPOSED),
    ):
        item = Item(chat.channel, kind, 4, status, "t", "ana", now, now)
        for action in item_actions(item):
            assert actions.parse(action.action_id).ref == item.ref
            assert chat.core.form_for(action.action_id) == action.form
        assert chat.core.form_for(assign_action(item).action_id) == assign_action(item).form
        if kind is not Kind.CHANGE:
            assert chat.core.form_for(due_action(item).action_id) == due_action(item).form
    assert chat.core.form_for("decide:D-2") == decide_action("D-2").form
    assert chat.core.form_for("reject:C-1") == reject_action("C-1").form
    assert chat.core.form_for("new:blocker") == COMMANDS["blocker"].form
    for no_form in ("resolve:B-1", "standup_answer:3", "zap", "list::2"):
        assert chat.core.form_for(no_form) is None


# --- the command table -----------------------------------------------------------------------


def _walk(subs: tuple[Subcommand, ...]) -> list[Subcommand]:
    return [x for s in subs for x in (s, *_walk(s.subcommands))]


def test_the_command_table_has_no_duplicate_names() -> None:
    def check(names: list[str]) -> None:
        assert len(names) == len(set(names)), names

    check([c.name for c in COMMANDS.values()])
    for command in COMMANDS.values():
        check([s.name for s in command.subcommands])
        check([o.name for o in command.options])
        for sub in _walk(command.subcommands):
            check([s.name for s in sub.subcommands])
            check([o.name for o in sub.options])
            # Platforms need required options first.
            required = [o.required for o in sub.options]
            assert required == sorted(required, reverse=True), sub.name


def test_every_leaf_of_the_table_can_be_reached_with_options() -> None:
    for command in COMMANDS.values():
        for sub in _walk(command.subcommands):
            if not sub.subcommands:
                assert sub.convert is not None, (command.name, sub.name)
                assert sub.handler is not None
        if not command.subcommands:
            assert command.convert is not None


def test_every_typed_call_has_a_handler() -> None:
    every = {
        v for v in vars(calls).values() if isinstance(v, type) and v.__module__ == calls.__name__
    }
    assert every == set(HANDLERS)


# --- text, options and clicks reach the same call --------------------------------------------


async def _seed(chat: Chat) -> None:
    await chat.say("/blocker Waiting on creds @dana due friday")  # B-1
    await chat.say("/decision needed Pick the SSO vendor @ana by Dec 5")  # D-1
    await chat.say("/change Add CRM impact schedule +2 weeks @ana")  # C-1
    await chat.say("/risk Vendor may slip likelihood high impact medium @ana")


async def _options(chat: Chat, command: str, sub: str | None, options: Mapping[str, str]) -> Reply:
    request = Request(chat.channel, chat.user, command=command, subcommand=sub, options=options)
    chat.last = await chat.core.handle(request)
    return chat.last


# (text line, (command, subcommand, options), (action id, values) or None)
SAME = [
    (
        "/raid resolve B-1 creds arrived",
        ("raid", "resolve", {"ref": "B-1", "note": "creds arrived"}),
        None,
    ),
    (
        "/raid resolve B-1",
        ("raid", "resolve", {"ref": "B-1 Waiting on creds"}),
        ("resolve:B-1", {}),
    ),
    (
        "/raid assign B-1 @erin",
        ("raid", "assign", {"ref": "B-1", "person": "erin"}),
        ("assign:B-1", {"owner": "erin"}),
    ),
    (
        "/raid due B-1 next tuesday",
        ("raid", "due", {"ref": "B-1", "date": "next tuesday"}),
        ("due:B-1", {"due": "next tuesday"}),
    ),
    ("/raid due B-1 someday", ("raid", "due", {"ref": "B-1", "date": "someday"}), None),
    (
        "/raid decide D-1 Okta",
        ("raid", "decide", {"ref": "D-1", "outcome": "Okta"}),
        ("decide:D-1", {"outcome": "Okta"}),
    ),
    (
        "/raid reject C-1 no budget",
        ("raid", "reject", {"ref": "C-1", "reason": "no budget"}),
        ("reject:C-1", {"reason": "no budget"}),
    ),
    ("/raid approve C-1", ("raid", "approve", {"ref": "C-1"}), ("approve:C-1", {})),
    (
        "/raid close R-1 gone",
        ("raid", "close", {"ref": "R-1", "note": "gone"}),
        ("close:R-1", {"note": "gone"}),
    ),
    ("/raid occurred R-1", ("raid", "occurred", {"ref": "R-1"}), ("occurred:R-1", {})),
    (
        "/raid note B-1 called them",
        ("raid", "note", {"ref": "B-1", "text": "called them"}),
        ("note:B-1", {"note": "called them"}),
    ),
    ("/raid withdraw B-1", ("raid", "withdraw", {"ref": "B-1"}), ("withdraw:B-1", {})),
    ("/raid show B-9", ("raid", "show", {"ref": "B-9"}), None),
    ("/raid show X", ("raid", "show", {"ref": "X"}), None),
    ("/raid history B-1", ("raid", "history", {"ref": "B-1"}), None),
    (
        "/raid list overdue all",
        ("raid", "list", {"filter": "overdue", "include_closed": "true"}),
        None,
    ),
    ("/raid list", ("raid", "list", {}), None),
    ("/raid supersede D-1 by D-2", ("raid", "supersede", {"ref": "D-1", "by": "D-2"}), None),
    ("/raid settings", ("raid", "settings show", {}), None),
    ("/raid settings nudges off", ("raid", "settings nudges", {"state": "off"}), None),
    (
        "/raid settings leads @ana @raj",
        ("raid", "settings leads", {"lead": "ana", "lead_2": "raj"}),
        None,
    ),
    (
        "/raid settings timezone Mars/Base",
        ("raid", "settings timezone", {"zone": "Mars/Base"}),
        None,
    ),
    ("/raid help resolve", ("raid", "help", {"topic": "resolve"}), None),
    ("/raid export csv", ("raid", "export", {"format": "csv"}), None),
    (
        "/standup schedule weekdays 09:30",
        ("standup", "schedule", {"days": "weekdays", "time": "09:30"}),
        None,
    ),
    (
        "/standup members @ana @raj",
        ("standup", "members", {"member": "ana", "member_2": "raj"}),
        None,
    ),
    ("/standup away @raj until dec 8", ("standup", "away", {"until": "dec 8", "who": "raj"}), None),
    ("/standup", ("standup", "status", {}), None),
    ("/standup mode carrier pigeon", ("standup", "mode", {"mode": "carrier pigeon"}), None),
    ("/digest weekly fri 16:00", ("digest", "weekly", {"day": "fri", "time": "16:00"}), None),
    (
        "/digest daily 17:00 Europe/Paris",
        ("digest", "daily", {"time": "17:00", "timezone": "Europe/Paris"}),
        None,
    ),
    ("/digest off", ("digest", "off", {}), None),
]


def _same(a: Reply, b: Reply) -> None:
    assert (a.text, a.tone, a.visibility, a.usage, a.cards, a.sections, a.actions) == (
        b.text,
        b.tone,
        b.visibility,
        b.usage,
        b.cards,
        b.sections,
        b.actions,
    )


@pytest.mark.parametrize(("line", "typed", "click"), SAME, ids=[s[0] for s in SAME])
async def test_text_options_and_click_give_the_same_reply(
    line: str,
    typed: tuple[str, str, Mapping[str, str]],
    click: tuple[str, Mapping[str, str]] | None,
) -> None:
    from tests.fakes import FakeStore, FixedClock
    from tests.unit.conftest import BASE

    async def fresh() -> Chat:
        chat = Chat(FakeStore(), FixedClock(BASE))
        await _seed(chat)
        return chat

    by_text = await (await fresh()).say(line)
    by_options = await _options(await fresh(), *typed)
    _same(by_text, by_options)
    if click is not None:
        by_click = await (await fresh()).click(*click)
        _same(by_text, by_click)


@pytest.mark.parametrize(
    ("values", "call"),
    [
        ({}, calls.OpenItemForm("assign", B3)),
        ({"owner": " erin "}, calls.Assign(B3, owner="erin", from_form=True)),
        ({"due": "friday"}, calls.SetDue(B3, "friday", from_form=True)),
    ],
)
async def test_clicks_and_forms_become_typed_calls(
    chat: Chat, values: Mapping[str, str], call: object
) -> None:
    verb = "due" if isinstance(call, calls.SetDue) else "assign"
    async with chat.store() as uow:
        ctx = _ctx(chat, uow)
        assert click_call(ctx, f"{verb}:B-3", values) == call


def _ctx(chat: Chat, uow: object) -> object:
    from bot.domain.model import ChannelSettings
    from bot.services.items import Context

    return Context(
        uow=uow,  # type: ignore[arg-type]
        settings=ChannelSettings(chat.channel),
        user="ana",
        now=chat.clock.now(),
        timezone="UTC",
    )


async def test_logging_with_options_is_the_form_filled_in(chat: Chat) -> None:
    reply = await _options(
        chat,
        "change",
        None,
        {"title": "Add CRM", "impact": "cost +8k", "approver": "ana", "approver_2": "ana"},
    )
    assert reply.text.startswith("Logged C-1: Add CRM")
    assert chat.item("C-1").approvers == ("ana",)
    decided = await _options(chat, "decision", None, {"title": "Use Okta"})
    assert decided.text == "Recorded decision D-1: Use Okta"
    needed = await _options(chat, "decision", None, {"title": "Pick one", "by": "friday"})
    assert needed.text.startswith("Logged D-2: Pick one")
    refused = await _options(chat, "risk", None, {"title": "x", "likelihood": "9"})
    assert refused.field_errors == {
        "likelihood": "`9` is not a likelihood I know. Use 1–5 or very low, low, medium, high, "
        "very high."
    }
    empty = await _options(chat, "blocker", None, {})
    assert empty.form == COMMANDS["blocker"].form


async def test_an_unknown_subcommand_in_options_is_a_usage_error(chat: Chat) -> None:
    reply = await _options(chat, "raid", "zap", {})
    assert reply.text == "`zap` is not a /raid subcommand."
    assert reply.usage == COMMANDS["raid"].usage
