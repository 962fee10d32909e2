"""Trust the record (SPEC §3): the approval gate can't be walked around, nobody is shown as
having decided what they did not, and leads can always be taken over by a platform admin.

Leads of the channel here: lee and raj. ana reports; sponsor and cio are named approver and
decider; zoe is anyone else.
"""

from __future__ import annotations

import pytest

from bot.domain import rules
from bot.domain.model import ChannelKey, ChannelSettings, Status
from bot.errors import Forbidden
from bot.messages import Reply, Tone
from bot.views.plain import render_text
from tests.unit.conftest import Chat

LEADS = "<@lee>, <@raj>"


async def led_by_lee_and_raj(chat: Chat) -> None:
    reply = await chat.say("/raid settings leads @lee @raj", user="lee")
    assert reply.tone is Tone.SUCCESS, reply.text


def field(reply: Reply, label: str) -> str | None:
    return {f.label: f.value for f in reply.cards[0].fields}.get(label)


async def history(chat: Chat, ref: str) -> str:
    reply = await chat.say(f"/raid history {ref}")
    return "\n".join(reply.sections[0].lines)


# --- the walk-arounds, refused with who may ---------------------------------------------------

CHANGE = "/change Add CRM integration impact schedule +2 weeks @sponsor"
DECISION = "/decision needed Pick the SSO vendor @cio by Dec 5"


@pytest.mark.parametrize(
    ("logged", "steps", "refusal"),
    [
        pytest.param(
            CHANGE,
            ["/raid assign C-1 @ana"],
            f"Only a lead ({LEADS}) or the approver (<@sponsor>) may change the approvers of C-1.",
            id="reporter-reassigns-approver-to-self",
        ),
        pytest.param(
            CHANGE,
            ["/raid assign C-1 @ana", "/raid approve C-1"],
            "Only <@sponsor> may approve C-1.",
            id="reporter-then-approves",
        ),
        pytest.param(
            DECISION,
            ["/raid assign D-1 @ana"],
            f"Only a lead ({LEADS}) or the decider (<@cio>) may change who decides D-1.",
            id="reporter-reassigns-decider-to-self",
        ),
        pytest.param(
            DECISION,
            ["click take:D-1"],
            f"Only a lead ({LEADS}) or the decider (<@cio>) may change who decides D-1.",
            id="reporter-takes-the-decision",
        ),
        pytest.param(
            DECISION,
            ["/raid assign D-1 @ana", "/raid decide D-1 Okta"],
            "Only the decider (<@cio>) may decide D-1.",
            id="reporter-then-decides",
        ),
        pytest.param(
            "/change Add SSO impact scope +1 screen",
            ["/raid assign C-1 @ana"],
            f"C-1 names no approver, so only a lead ({LEADS}) may name one.",
            id="reporter-names-self-where-none-is-named",
        ),
        pytest.param(
            "/change Add SSO impact scope +1 screen @ana",
            ["/raid approve C-1"],
            "You reported C-1, so you can't approve it yourself: only a lead may approve their "
            f"own request. A lead ({LEADS}) may name another approver: "
            "`/raid assign C-1 @someone`.",
            id="reporter-named-self-as-approver",
        ),
        pytest.param(
            "/change Add SSO impact scope +1 screen @ana @bob",
            ["/raid approve C-1"],
            "You reported C-1, so you can't approve it yourself: only a lead may approve their "
            "own request. <@bob> may approve it.",
            id="reporter-among-approvers",
        ),
        pytest.param(
            "/decision needed Pick a cloud @ana",
            ["/raid decide D-1 AWS"],
            "You reported D-1, so you can't decide it yourself: only a lead may decide their "
            f"own request. A lead ({LEADS}) may name another decider: "
            "`/raid assign D-1 @someone`.",
            id="reporter-named-self-as-decider",
        ),
    ],
)
async def test_the_reporter_cannot_walk_around_the_gate_in_a_led_channel(
    chat: Chat, logged: str, steps: list[str], refusal: str
) -> None:
    await led_by_lee_and_raj(chat)
    await chat.say(logged)  # by ana, who is not a lead
    ref = "C-1" if logged.startswith("/change") else "D-1"
    before = chat.item(ref)
    for line in steps:
        if line.startswith("click "):
            reply = await chat.click(line.removeprefix("click "))
        else:
            reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert reply.text == refusal
    after = chat.item(ref)
    assert (after.status, after.approvers, after.owner, after.decided_by) == (
        before.status, before.approvers, before.owner, None
    )  # fmt: skip


async def test_the_assign_button_is_refused_to_the_reporter_as_well(chat: Chat) -> None:
    await led_by_lee_and_raj(chat)
    await chat.say(CHANGE)
    reply = await chat.click("assign:C-1", {"owner": "ana"})
    assert reply.text == (
        f"Only a lead ({LEADS}) or the approver (<@sponsor>) may change the approvers of C-1."
    )
    assert chat.item("C-1").approvers == ("sponsor",)


@pytest.mark.parametrize(
    ("logged", "who", "line"),
    [
        (CHANGE, "sponsor", "/raid assign C-1 @erin"),  # the current approver hands it on
        (CHANGE, "raj", "/raid assign C-1 @erin"),  # a lead
        (DECISION, "cio", "/raid assign D-1 @erin"),
        (DECISION, "lee", "/raid assign D-1 @erin"),
    ],
)
async def test_a_lead_or_the_current_approver_or_decider_may_hand_it_on(
    chat: Chat, logged: str, who: str, line: str
) -> None:
    await led_by_lee_and_raj(chat)
    await chat.say(logged)
    reply = await chat.say(line, user=who)
    assert reply.tone is Tone.SUCCESS, reply.text


async def test_handed_to_the_reporter_they_still_cannot_approve_their_own(chat: Chat) -> None:
    await led_by_lee_and_raj(chat)
    await chat.say(CHANGE)
    assert (await chat.say("/raid assign C-1 @ana", user="sponsor")).tone is Tone.SUCCESS
    reply = await chat.say("/raid approve C-1")
    assert reply.text.startswith("You reported C-1, so you can't approve it yourself")
    assert chat.item("C-1").status is Status.PROPOSED


# --- self-approval: a lead may, and it says so ------------------------------------------------


async def test_a_lead_approving_their_own_change_request_is_marked_self_approved(
    chat: Chat,
) -> None:
    await led_by_lee_and_raj(chat)
    await chat.say("/change Add SSO impact scope +1 screen", user="lee")
    reply = await chat.say("/raid approve C-1 within budget", user="lee")
    assert reply.tone is Tone.SUCCESS, reply.text
    assert field(reply, "Approved by") == "<@lee> (self-approved), Wed 25 Nov 10:00 CET"
    assert "Approved by: @lee (self-approved)" in render_text(reply)
    assert "<@lee> approved (self-approved): status: proposed → approved" in (
        await history(chat, "C-1")
    )
    shown = await chat.say("/raid show C-1")
    assert field(shown, "Approved by") == "<@lee> (self-approved), Wed 25 Nov 10:00 CET"


async def test_a_lead_deciding_their_own_pending_decision_is_marked_self_approved(
    chat: Chat,
) -> None:
    await led_by_lee_and_raj(chat)
    await chat.say("/decision needed Which cloud @lee", user="lee")
    chat.clock.advance(hours=1)
    reply = await chat.say("/raid decide D-1 AWS", user="lee")
    assert reply.tone is Tone.SUCCESS, reply.text
    assert field(reply, "Decided by") == "<@lee> (self-approved), Wed 25 Nov 11:00 CET"
    assert "<@lee> decided (self-approved): status: needs a decision → decided" in (
        await history(chat, "D-1")
    )


async def test_approving_someone_elses_request_is_not_marked(chat: Chat) -> None:
    await led_by_lee_and_raj(chat)
    await chat.say("/change Add SSO impact scope +1 screen", user="lee")
    reply = await chat.say("/raid approve C-1", user="raj")
    assert field(reply, "Approved by") == "<@raj>, Wed 25 Nov 10:00 CET"
    assert "self-approved" not in await history(chat, "C-1")


@pytest.mark.parametrize(
    ("logged", "reassign", "decide", "label"),
    [
        (CHANGE, "/raid assign C-1 @ana", "/raid approve C-1", "Approved by"),
        (DECISION, "/raid assign D-1 @ana", "/raid decide D-1 Okta", "Decided by"),
    ],
)
async def test_without_leads_the_reporter_acts_as_a_lead_and_it_shows(
    chat: Chat, logged: str, reassign: str, decide: str, label: str
) -> None:
    """No leads: everyone may do what a lead may, the reporter too, but a named approver or
    decider still decides alone, and taking it over is marked self-approved."""
    await chat.say(logged)
    alone = await chat.say(decide)
    assert alone.tone is Tone.ERROR  # the named approver or decider decides alone
    assert (await chat.say(reassign)).tone is Tone.SUCCESS
    chat.clock.advance(minutes=5)
    reply = await chat.say(decide)
    assert reply.tone is Tone.SUCCESS, reply.text
    assert field(reply, label) == "<@ana> (self-approved), Wed 25 Nov 10:05 CET"
    ref = reply.item_ref or ""
    assert "(self-approved)" in await history(chat, ref)


# --- a decision recorded as taken is decided by whoever records it ----------------------------


async def test_naming_someone_else_as_having_decided_makes_a_pending_decision_for_them(
    chat: Chat,
) -> None:
    reply = await chat.say(
        "/decision Cancel the vendor contract @cfo because they missed two dates", user="mallory"
    )
    assert reply.text == (
        "Logged D-1: Cancel the vendor contract\n"
        "D-1 waits on <@cfo> to decide it: a decision is recorded as taken only by the person "
        "who took it."
    )
    d1 = chat.item("D-1")
    assert (d1.status, d1.owner, d1.decided_by, d1.decided_at, d1.reporter) == (
        Status.PENDING, "cfo", None, None, "mallory"
    )  # fmt: skip
    assert d1.rationale == "they missed two dates"
    shown = render_text(reply)
    assert "Decided by" not in shown and "Decider: @cfo" in shown
    assert "needs a decision" in shown
    # only cfo decides it, and then it is cfo's decision
    refused = await chat.say("/raid decide D-1 Cancel it", user="mallory")
    assert refused.text == "Only the decider (<@cfo>) may decide D-1."
    decided = await chat.say("/raid decide D-1 Cancel it", user="cfo")
    assert field(decided, "Decided by") == "<@cfo>, Wed 25 Nov 10:00 CET"


@pytest.mark.parametrize(
    ("values", "status", "decided_by"),
    [
        ({"title": "Cancel the vendor contract", "state": "decided", "decider": "cfo"},
         Status.PENDING, None),
        ({"title": "Cancel the vendor contract", "state": "decided", "decider": "mallory"},
         Status.DECIDED, "mallory"),
        ({"title": "Cancel the vendor contract", "state": "decided"},
         Status.DECIDED, "mallory"),
    ],
)  # fmt: skip
async def test_the_decision_form_records_a_taken_decision_only_for_whoever_submits(
    chat: Chat, values: dict[str, str], status: Status, decided_by: str | None
) -> None:
    reply = await chat.click("new:decision", values, user="mallory")
    assert reply.tone is Tone.SUCCESS, reply.text
    d1 = chat.item("D-1")
    assert (d1.status, d1.decided_by) == (status, decided_by)


async def test_a_decision_recorded_by_whoever_took_it_is_not_self_approved(chat: Chat) -> None:
    for line in ("/decision Use PostgreSQL 16", "/decision Use Okta @ana"):
        reply = await chat.say(line)
        assert reply.text.startswith("Recorded decision"), reply.text
        assert field(reply, "Decided by") == "<@ana>, Wed 25 Nov 10:00 CET"


# --- leads can be taken over by a platform admin ----------------------------------------------


async def test_a_platform_admin_may_set_the_leads_of_a_locked_channel(chat: Chat) -> None:
    assert (await chat.say("/raid settings leads @lee", user="lee")).tone is Tone.SUCCESS
    refused = await chat.say("/raid settings leads @zoe", user="zoe")
    assert refused.tone is Tone.ERROR
    assert refused.text == (
        "Only a lead (<@lee>) or an operator (`raidline leads`) may change the leads."
    )
    reply = await chat.say("/raid settings leads @zoe @raj", user="zoe", admin=True)
    assert reply.tone is Tone.SUCCESS, reply.text
    assert reply.text == "Leads of this channel: <@zoe> <@raj>."
    assert "Leads: @zoe @raj" in render_text(await chat.say("/raid settings"))
    cleared = await chat.say("/raid settings leads none", user="ops", admin=True)
    assert cleared.tone is Tone.SUCCESS, cleared.text
    # an admin is a lead only for the leads: other settings stay with the leads
    await chat.say("/raid settings leads @lee", user="lee")
    nudges = await chat.say("/raid settings nudges off", user="zoe", admin=True)
    assert nudges.tone is Tone.ERROR


async def test_a_platform_admin_may_name_the_first_leads_without_joining_them(chat: Chat) -> None:
    refused = await chat.say("/raid settings leads @lee", user="zoe")
    assert refused.text == (
        "Whoever sets the first leads must include themselves: "
        "`/raid settings leads <@zoe> <@lee>`."
    )
    reply = await chat.say("/raid settings leads @lee", user="ops", admin=True)
    assert reply.text == "Leads of this channel: <@lee>."


@pytest.mark.parametrize(
    ("platform", "who"),
    [
        ("slack", "a Slack workspace admin"),
        ("discord", "a Discord member with Manage Server"),
        ("console", "an operator (`raidline leads`)"),
    ],
)
def test_the_leads_refusal_names_who_may_on_each_platform(platform: str, who: str) -> None:
    settings = ChannelSettings(ChannelKey(platform, "W1", "C1"), leads=("lee",))
    rules.check_set_leads("lee", settings)
    rules.check_set_leads("zoe", settings, admin=True)
    with pytest.raises(Forbidden) as refused:
        rules.check_set_leads("zoe", settings)
    assert refused.value.message == f"Only a lead (<@lee>) or {who} may change the leads."
