"""Forged traffic at raidline's Slack HTTP endpoint changes nothing and posts nothing.

Every request goes to the real ``POST /slack/events`` (slack-bolt ``AsyncApp`` on aiohttp),
with a real migrated database behind the core: SQLite, and PostgreSQL when
``RAIDLINE_TEST_POSTGRES_URL`` is set. Only Slack's Web API is a stand-in. Each case compares
every stored row (items, events, channels, counters, schedules...) before and after, and checks
that nothing became visible in a channel (no ``chat.postMessage``/``chat.update``, no
``in_channel`` or ``replace_original`` answer through a response_url).

1. **Signatures.** Requests Slack did not sign, or not for this body, this moment and this
   secret, get 401 before any handler runs: stale (> 5 minutes) or future timestamps, an old
   capture re-stamped, wrong or missing headers, another body's signature, another secret,
   malformed timestamps and unreadable bodies. A captured genuine request replayed after the
   clock moved on by more than five minutes is refused too. The genuine request each forgery
   was made from is accepted (the control), so the refusals are about the forged part alone.
2. **Pointers elsewhere.** Correctly signed clicks and form submissions whose ref, button value
   or ``private_metadata`` point at another channel's item, another workspace's item or no item
   at all are refused politely (an ephemeral message, a notice modal or an error view).
3. **Rules.** Clicks and submissions by people the rules don't allow (approve by a non-approver,
   a lead when an approver is named, decide by a non-decider, resolve/close/assign/re-date/
   withdraw/snooze by a bystander...) are refused the same way.

The world every test starts from: workspace T1 channel C1 (lead U1; B-1 reported by U2 owned by
U3; C-1 with approver U4; C-2 with none; D-1 with decider U5; R-1 owned by U3), T1 channel C2
(lead U7; its own B-1) and workspace T2 channel C1 (lead U8; its own B-1). U9 is a bystander.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from slack_sdk.signature import Clock
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack import blocks as kit
from bot.domain.model import ChannelKey
from bot.messages import Form, FormField, InputKind, Request, Tone
from storage import tables
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import (  # noqa: F401 - fixtures used by name
    Harness,
    MakeSlack,
    blocks_text,
    body_json,
    clock,
    fake,
    make_slack,
)
from tests.adapters.slack.fake_slack import Call, async_wait_for
from tests.integration.conftest import (
    POSTGRES_SKIP,
    postgres_base_url,
    postgres_database,
    sqlite_url,
)

Snapshot = dict[str, list[tuple[Any, ...]]]

#: What raidline may call while refusing: look-ups and private answers, nothing in a channel.
QUIET = {"auth.test", "users.info", "views.open", "chat.postEphemeral"}


# -- the database and the world ----------------------------------------------------------------


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ],
)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated database shared by this module's tests on one backend; each test empties it."""
    if request.param == "sqlite":
        url = sqlite_url(tmp_path_factory.mktemp("forged"))
        upgrade(url)
        yield url
        return
    base_url = postgres_base_url()
    if base_url is None:
        pytest.skip(POSTGRES_SKIP)
    with postgres_database(base_url) as url:
        upgrade(url)
        yield url


async def empty(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        for table in reversed(tables.metadata.sorted_tables):
            await conn.execute(table.delete())


async def snapshot(engine: AsyncEngine) -> Snapshot:
    """Every row of every raidline table, in primary-key order."""
    out: Snapshot = {}
    async with engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            query = sa.select(table).order_by(*table.primary_key.columns)
            out[table.name] = [tuple(row) for row in (await conn.execute(query)).all()]
    return out


@dataclass
class World:
    slack: Harness
    engine: AsyncEngine
    #: the blocks of the message each seeded command posted, by (team, channel)
    posts: dict[tuple[str, str], list[list[dict[str, Any]]]] = field(default_factory=dict)

    def button(self, action_id: str) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
        """(block id, button, message blocks) of the first seeded message with this button."""
        for blocks in (b for posted in self.posts.values() for b in posted):
            try:
                block_id, button = wire.find_button(blocks, action_id)
            except AssertionError:
                continue
            return block_id, button, blocks
        synthetic = {
            "action_id": action_id,
            "text": {"type": "plain_text", "text": "Go"},
            "value": action_id,
        }
        return "acts", synthetic, []


SEED: list[tuple[str, str, str, str, str]] = [
    # team, channel, user, command, text
    ("T1", "C1", "U1", "raid", "settings leads <@U1>"),
    ("T1", "C1", "U2", "blocker", "Waiting on creds <@U3>"),
    ("T1", "C1", "U2", "change", "Add CRM to scope impact schedule +2 weeks <@U4>"),
    ("T1", "C1", "U2", "change", "Add SSO to scope impact cost +8k"),
    ("T1", "C1", "U2", "decision", "needed Pick the SSO vendor <@U5>"),
    ("T1", "C1", "U2", "risk", "Vendor may slip <@U3> likelihood high impact high"),
    ("T1", "C2", "U7", "raid", "settings leads <@U7>"),
    ("T1", "C2", "U7", "blocker", "Channel two's blocker"),
    ("T2", "C1", "U8", "raid", "settings leads <@U8>"),
    ("T2", "C1", "U8", "blocker", "Workspace two's blocker"),
]


@pytest.fixture
async def world(
    database: str,
    make_slack: MakeSlack,  # noqa: F811 - the fixture
) -> AsyncIterator[World]:
    engine = create_engine(database)
    try:
        await empty(engine)
        slack = await make_slack(uow_factory=make_uow_factory(engine))
        w = World(slack, engine)
        # Seeded through raidline's core and rendered as its Slack adapter renders replies.
        for team, channel, user, command, text in SEED:
            reply = await slack.core.handle(
                Request(ChannelKey("slack", team, channel), user, command=command, text=text)
            )
            assert reply.tone is not Tone.ERROR, reply.text
            blocks = kit.message_blocks(reply, actor=user)
            w.posts.setdefault((team, channel), []).append(blocks)
        slack.fake.clear()
        yield w
    finally:
        await engine.dispose()


def loud(calls: list[Call]) -> list[str]:
    """Calls that change what a channel shows."""
    out = []
    for call in calls:
        if call.method.startswith("response_url:"):
            if call.body.get("response_type") == "in_channel" or call.body.get("replace_original"):
                out.append(f"{call.method} {call.body.get('text')!r}")
        elif call.method not in QUIET:
            out.append(f"{call.method} {call.body.get('text')!r}")
    return out


async def changed_by(w: World, before: Snapshot) -> Snapshot:
    after = await snapshot(w.engine)
    return {name: rows for name, rows in after.items() if rows != before[name]}


# -- 1. signatures -----------------------------------------------------------------------------

Genuine = Callable[[World], bytes]


def genuine_command(w: World) -> bytes:
    """A /blocker in T1/C1: would log B-2."""
    url = w.slack.fake.response_url("genuine")
    return wire.slash(
        "/blocker", "Forged blocker", team="T1", channel="C1", user="U2", response_url=url
    )


def genuine_click(w: World) -> bytes:
    """B-1's owner clicks Resolve on its message: would resolve B-1."""
    block_id, button, blocks = w.button("resolve:B-1")
    payload = wire.block_actions(
        button,
        block_id,
        user="U3",
        message_blocks=blocks,
        response_url=w.slack.fake.response_url("c"),
    )
    return wire.interactive(payload)


def genuine_submission(w: World) -> bytes:
    """D-1's decider submits the Decide form: would decide D-1."""
    return wire.interactive(
        wire.view_submission(
            decide_view("D-1", {"k": "cmd", "c": "C1"}), {"outcome": "Okta"}, user="U5"
        )
    )


GENUINE: dict[str, Genuine] = {
    "command": genuine_command,
    "click": genuine_click,
    "submission": genuine_submission,
}

Forgery = Callable[[bytes, int], tuple[bytes, dict[str, str]]]


def _hmac(body: bytes, ts: str, secret: str = wire.SECRET) -> str:
    return (
        "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    )


def _headers(ts: str | None, signature: str | None) -> dict[str, str]:
    headers = {}
    if ts is not None:
        headers["X-Slack-Request-Timestamp"] = ts
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    return headers


FORGERIES: dict[str, Forgery] = {
    "stale by 301 s": lambda b, now: (b, wire.sign(b, ts=now - 301)),
    "stale by a day": lambda b, now: (b, wire.sign(b, ts=now - 86_400)),
    "from six minutes in the future": lambda b, now: (b, wire.sign(b, ts=now + 360)),
    "old capture re-stamped": lambda b, now: (
        b,
        _headers(str(now), wire.sign(b, ts=now - 600)["X-Slack-Signature"]),
    ),
    "wrong signature": lambda b, now: (b, _headers(str(now), "v0=" + "0" * 64)),
    "another secret": lambda b, now: (b, wire.sign(b, secret="not-the-signing-secret")),
    "a guessed secret": lambda b, now: (b, _headers(str(now), _hmac(b, str(now), "secret"))),
    "another body's signature": lambda b, now: (
        b,
        wire.sign(wire.slash("/raid", "list", team="T1", channel="C1", user="U1")),
    ),
    "body extended after signing": lambda b, now: (b + b"&user_id=U1", wire.sign(b)),
    "acting user changed after signing": lambda b, now: (
        re.sub(rb"U[235]\b", b"U1", b),
        wire.sign(b),
    ),
    "no headers": lambda b, now: (b, {}),
    "no signature": lambda b, now: (b, _headers(str(now), None)),
    "no timestamp": lambda b, now: (b, _headers(None, _hmac(b, str(now)))),
    "empty signature": lambda b, now: (b, _headers(str(now), "")),
    "signature without version": lambda b, now: (b, _headers(str(now), _hmac(b, str(now))[3:])),
    "v1 signature": lambda b, now: (b, _headers(str(now), "v1=" + _hmac(b, str(now))[3:])),
    "upper-case signature": lambda b, now: (b, _headers(str(now), _hmac(b, str(now)).upper())),
    # Slack's timestamps are whole seconds; these are signed over exactly what is sent.
    "non-numeric timestamp": lambda b, now: (b, _headers("now", _hmac(b, "now"))),
    "fractional timestamp": lambda b, now: (
        b,
        _headers(f"{now}.25", _hmac(b, f"{now}.25")),
    ),
    "empty timestamp": lambda b, now: (b, _headers("", _hmac(b, ""))),
}


async def assert_refused_401(
    w: World, body: bytes, headers: dict[str, str], content_type: str = wire.FORM
) -> None:
    before = await snapshot(w.engine)
    w.slack.fake.clear()
    status, text = await w.slack.post(body, content_type, headers=headers)
    assert (status, text) == (401, '{"error": "invalid request"}')
    assert w.slack.fake.calls == [], "a handler ran"
    assert await changed_by(w, before) == {}


async def assert_accepted(w: World, body: bytes, headers: dict[str, str] | None = None) -> None:
    before = await snapshot(w.engine)
    w.slack.fake.clear()
    status, _ = await w.slack.post(body, wire.FORM, headers=headers)
    assert status == 200
    # The change shows in the channel (after it was committed), and it is stored.
    await async_wait_for(lambda: loud(w.slack.fake.calls), 10)
    assert await changed_by(w, before) != {}


@pytest.mark.parametrize("kind", list(GENUINE))
async def test_requests_slack_did_not_sign_are_401_and_change_nothing(
    world: World, kind: str
) -> None:
    failures = []
    for forgery, forge in FORGERIES.items():
        body, headers = forge(GENUINE[kind](world), int(time.time()))
        try:
            await assert_refused_401(world, body, headers)
        except AssertionError as e:
            failures.append(f"{forgery}: {e}")
    assert failures == []
    # The control: the genuine request every forgery was made from does its work.
    await assert_accepted(world, GENUINE[kind](world))


UNREADABLE = [
    (b"payload=%7Bnot-json", wire.FORM),
    (b"payload=%5B%5D", wire.FORM),
    (b"payload=null", wire.FORM),
    (b"payload=%22text%22", wire.FORM),
    (b"\xff\xfecommand=%2Fblocker", wire.FORM),
    (b"[]", wire.JSON),
    (b"{", wire.JSON),
    (b"1", wire.JSON),
    (b"null", wire.JSON),
]


async def test_unreadable_bodies_without_slack_signature_are_401(world: World) -> None:
    failures = []
    for body, content_type in UNREADABLE:
        for headers in ({}, _headers(str(int(time.time())), "v0=" + "0" * 64)):
            try:
                await assert_refused_401(world, body, headers, content_type)
            except AssertionError as e:
                failures.append(f"{body!r} {headers}: {e}")
    assert failures == []


async def test_a_captured_request_replayed_after_five_minutes_is_401(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bolt checks the timestamp against slack_sdk's ``Clock``; move that clock on."""
    captured = []
    for genuine in GENUINE.values():
        body = genuine(world)
        headers = wire.sign(body)
        await assert_accepted(world, body, headers)
        captured.append((body, headers))

    real_now = Clock.now
    monkeypatch.setattr(Clock, "now", lambda self: real_now(self) + 301)
    for body, headers in captured:
        await assert_refused_401(world, body, headers)


# -- 2 and 3. clicks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Click:
    action_id: str
    user: str
    expect: str  # in the refusal
    team: str = "T1"
    channel: str = "C1"
    value: str | None = None  # a forged button value (default: the real button's)
    where: str = "message"  # message, ephemeral (a private card) or home (App Home)


def named(team: str, channel: str, action: str) -> str:
    return json.dumps({"a": action, "w": team, "c": channel})


CLICKS: dict[str, Click] = {
    # Who may: SPEC §3.
    "resolve by a bystander": Click("resolve:B-1", "U9", "may resolve B-1"),
    "take by a bystander": Click("take:B-1", "U9", "may reassign B-1"),
    "assign by a bystander (no form opens)": Click("assign:B-1", "U9", "may reassign B-1"),
    "new date by a bystander (no form opens)": Click("due:B-1", "U9", "may re-date B-1"),
    "withdraw by a bystander": Click("withdraw:B-1", "U9", "may withdraw B-1"),
    "snooze by a bystander": Click("snooze:B-1:1d", "U9", "may snooze B-1"),
    "approve by a non-approver": Click("approve:C-1", "U9", "Only <@U4> may approve C-1"),
    "approve by a lead when an approver is named": Click(
        "approve:C-1", "U1", "Only <@U4> may approve C-1"
    ),
    "approve by the reporter": Click("approve:C-1", "U2", "Only <@U4> may approve C-1"),
    "approve with no approver named, by a non-lead": Click(
        "approve:C-2", "U9", "names no approver, so only a lead"
    ),
    "reject by a non-approver (no form opens)": Click("reject:C-1", "U3", "may reject C-1"),
    "decide by a lead when a decider is named": Click(
        "decide:D-1", "U1", "Only the decider (<@U5>) may decide D-1"
    ),
    "decide by the reporter": Click("decide:D-1", "U2", "Only the decider (<@U5>) may decide D-1"),
    "close a risk by a bystander": Click("close:R-1", "U9", "may close R-1"),
    "occurred by a bystander": Click("occurred:R-1", "U9", "may mark occurred R-1"),
    "resolve from a private card by a bystander": Click(
        "resolve:B-1", "U9", "may resolve B-1", where="ephemeral"
    ),
    "approve on App Home by a non-approver": Click(
        "approve:C-1",
        "U9",
        "Only <@U4> may approve C-1",
        value=named("T1", "C1", "approve:C-1"),
        where="home",
    ),
    # Pointing elsewhere.
    "a ref that does not exist": Click("resolve:B-99", "U2", "There is no B-99 in this channel"),
    "another channel's ref (not there)": Click(
        "approve:C-1", "U4", "There is no C-1 in this channel", channel="C2"
    ),
    "another channel's ref (same ref there, other rules)": Click(
        "resolve:B-1", "U3", "a lead (<@U7>) may resolve B-1", channel="C2"
    ),
    "another workspace's ref (not there)": Click(
        "decide:D-1", "U5", "There is no D-1 in this channel", team="T2"
    ),
    "another workspace's ref (same ref there, other rules)": Click(
        "resolve:B-1", "U3", "a lead (<@U8>) may resolve B-1", team="T2"
    ),
    "value naming another workspace's channel": Click(
        "approve:C-1",
        "U4",
        "belongs to another Slack workspace",
        team="T2",
        value=named("T1", "C1", "approve:C-1"),
    ),
    "App Home value naming another workspace's channel": Click(
        "approve:C-1",
        "U4",
        "belongs to another Slack workspace",
        team="T2",
        value=named("T1", "C1", "approve:C-1"),
        where="home",
    ),
    "value naming a channel but no workspace": Click(
        "resolve:B-1",
        "U3",
        "doesn't say which channel",
        value=json.dumps({"a": "resolve:B-1", "c": "C1"}),
    ),
    "value naming another channel (clicker not allowed there)": Click(
        "resolve:B-1",
        "U3",
        "a lead (<@U7>) may resolve B-1",
        channel="DU3",
        value=named("T1", "C2", "resolve:B-1"),
    ),
    "value naming a channel with no such item": Click(
        "resolve:B-1",
        "U3",
        "There is no B-1 in this channel",
        value=named("T1", "CNONE", "resolve:B-1"),
    ),
    "value swapping the action for another item's": Click(
        "take:B-1", "U3", "Only <@U4> may approve C-1", value="approve:C-1"
    ),
    "an action raidline does not know": Click("explode:B-1", "U1", "not an action I know"),
    "a ref that is not a ref": Click("resolve:B-1'; DROP TABLE items;--", "U1", "is not a ref"),
}


async def send_click(w: World, case: Click) -> tuple[int, str, str]:
    block_id, button, blocks = w.button(case.action_id)
    if case.value is not None:
        button = {**button, "value": case.value}
    url, name = w.slack.new_response_url()
    if case.where == "home":
        payload = wire.home_action(
            button, block_id, {"id": "VHOME"}, team=case.team, user=case.user
        )
    else:
        payload = wire.block_actions(
            button,
            block_id,
            team=case.team,
            channel=case.channel,
            user=case.user,
            message_blocks=blocks,
            ephemeral=case.where == "ephemeral",
            response_url=url,
        )
    status, text = await w.slack.interact(payload)
    return status, text, name


@pytest.mark.parametrize("case", list(CLICKS), ids=list(CLICKS))
async def test_a_click_pointing_elsewhere_or_against_the_rules_is_refused(
    world: World, case: str
) -> None:
    click = CLICKS[case]
    before = await snapshot(world.engine)
    status, text, reply_to = await send_click(world, click)
    assert (status, text) == (200, "")
    if click.where == "home":
        notice = (await world.slack.last("views.open")).body["view"]
        assert notice["callback_id"] == "raidline_notice"
        refusal = blocks_text(notice["blocks"])
    else:
        answer = (await world.slack.last(reply_to)).body
        assert answer["response_type"] == "ephemeral"
        assert answer["replace_original"] is False
        refusal = answer["text"]
        assert world.slack.fake.calls_to("views.open") == [], "a form opened"
    assert click.expect in refusal
    assert loud(world.slack.fake.calls) == []
    assert await changed_by(world, before) == {}


# -- 2 and 3. form submissions -------------------------------------------------------------------


def decide_view(ref: str, metadata: Mapping[str, Any] | str) -> dict[str, Any]:
    form = Form(
        f"decide:{ref}",
        f"Decide {ref}",
        (
            FormField("outcome", "What was decided", InputKind.TEXT, True, max_length=300),
            FormField("rationale", "Why", InputKind.LONG_TEXT, max_length=3000),
        ),
        "Decide",
    )
    return view_of(form, metadata)


def view_of(form: Form, metadata: Mapping[str, Any] | str) -> dict[str, Any]:
    text = metadata if isinstance(metadata, str) else json.dumps(metadata)
    return {"id": "VFORGED", **kit.form_view(form, metadata=text)}


def one_field(action: str, name: str, kind: InputKind) -> Form:
    return Form(action, action, (FormField(name, name, kind, True),), "Save")


ASSIGN_B1 = one_field("assign:B-1", "owner", InputKind.USER)
DUE_B1 = one_field("due:B-1", "due", InputKind.DATE)
REJECT_C1 = one_field("reject:C-1", "reason", InputKind.LONG_TEXT)
APPROVE_C1 = one_field("approve:C-1", "note", InputKind.LONG_TEXT)
C1 = {"k": "msg", "c": "C1", "t": "1700000000.000100"}


@dataclass(frozen=True)
class Submit:
    view: dict[str, Any]
    values: dict[str, str]
    user: str
    expect: str | None  # in the error view or a field error; None: closed with nothing done
    team: str = "T1"


SUBMITS: dict[str, Submit] = {
    # Who may.
    "decide by a lead when a decider is named": Submit(
        decide_view("D-1", C1), {"outcome": "Okta"}, "U1", "Only the decider (<@U5>) may decide D-1"
    ),
    "reject by a non-approver": Submit(
        view_of(REJECT_C1, C1), {"reason": "no"}, "U9", "may reject C-1"
    ),
    "approve by a lead when an approver is named": Submit(
        view_of(APPROVE_C1, C1), {"note": "ok"}, "U1", "Only <@U4> may approve C-1"
    ),
    "assign by a bystander": Submit(
        view_of(ASSIGN_B1, C1), {"owner": "U9"}, "U9", "may reassign B-1"
    ),
    "new date by a bystander": Submit(
        view_of(DUE_B1, C1), {"due": "friday"}, "U9", "may re-date B-1"
    ),
    # Pointing elsewhere: the workspace always comes from the verified payload.
    "metadata naming another workspace's channel": Submit(
        decide_view("D-1", C1),
        {"outcome": "Okta"},
        "U5",
        "There is no D-1 in this channel",
        team="T2",
    ),
    "metadata tampered to another channel (not there)": Submit(
        decide_view("D-1", {**C1, "c": "C2"}),
        {"outcome": "Okta"},
        "U5",
        "There is no D-1 in this channel",
    ),
    "metadata tampered to another channel (other rules)": Submit(
        view_of(ASSIGN_B1, {**C1, "c": "C2"}),
        {"owner": "U3"},
        "U3",
        "a lead (<@U7>) may reassign B-1",
    ),
    "metadata tampered to a direct message": Submit(
        decide_view("D-1", {"k": "cmd", "c": "DU5"}), {"outcome": "Okta"}, "U5", "There is no D-1"
    ),
    "a ref that does not exist": Submit(
        decide_view("D-9", C1), {"outcome": "Okta"}, "U5", "There is no D-9 in this channel"
    ),
    "metadata that is not JSON": Submit(
        decide_view("D-1", "{not json"), {"outcome": "Okta"}, "U5", None
    ),
    "metadata without a channel": Submit(
        decide_view("D-1", {"k": "msg"}), {"outcome": "Okta"}, "U5", None
    ),
    "metadata empty": Submit(decide_view("D-1", ""), {"outcome": "Okta"}, "U5", None),
    "form of an unknown action": Submit(
        view_of(one_field("explode:D-1", "x", InputKind.TEXT), C1),
        {"x": "y"},
        "U5",
        "not an action I know",
    ),
}


@pytest.mark.parametrize("case", list(SUBMITS), ids=list(SUBMITS))
async def test_a_submission_pointing_elsewhere_or_against_the_rules_is_refused(
    world: World, case: str
) -> None:
    submit = SUBMITS[case]
    before = await snapshot(world.engine)
    payload = wire.view_submission(submit.view, submit.values, team=submit.team, user=submit.user)
    status, text = await world.slack.interact(payload)
    assert status == 200
    answer = body_json(text)
    if submit.expect is None:
        assert answer == {}
    elif answer.get("response_action") == "errors":
        assert any(submit.expect in e for e in answer["errors"].values()), answer
    else:
        assert answer["response_action"] == "update", answer
        assert submit.expect in blocks_text(answer["view"]["blocks"])
    assert loud(world.slack.fake.calls) == []
    assert await changed_by(world, before) == {}
