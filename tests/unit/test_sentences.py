"""People's sentences and the rules around them (issue 14, item 6): mentions inside a title,
titles that end on a preposition, blank titles, reopen's reason, supersede loops, the state
told before the permission, a change request's size, an unscored risk, and @here & co."""

from __future__ import annotations

import pytest

from bot.domain.model import Kind, Status
from bot.messages import Tone
from tests.unit.conftest import Chat

SENTENCES = [
    # (command, title, owner, has a due date)
    ("/blocker Waiting on @dana for the API keys due friday",
     "Waiting on <@dana> for the API keys", "dana", True),
    ("/blocker API keys from @dana", "API keys from <@dana>", "dana", False),
    ("/blocker Waiting on @dana", "Waiting on <@dana>", "dana", False),
    ("/blocker Ask @dana for the API keys", "Ask <@dana> for the API keys", "dana", False),
    ("/blocker API keys from <@U024BE7LH|dana>, urgent",
     "API keys from <@U024BE7LH>, urgent", "U024BE7LH", False),
    # unchanged: a mention after the title is the owner, a date after it the due date
    ("/blocker Waiting on firewall change from NetOps @dana due Friday",
     "Waiting on firewall change from NetOps", "dana", True),
    ("/blocker API keys @dana friday", "API keys", "dana", True),
    ("/blocker API keys from @dana friday", "API keys from <@dana>", "dana", True),
    ('/blocker "Handover to" @dana', "Handover to", "dana", False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "title", "owner", "dated"), SENTENCES, ids=[s[0] for s in SENTENCES]
)
async def test_a_sentence_keeps_its_person_in_the_title_and_as_the_owner(
    chat: Chat, line: str, title: str, owner: str, dated: bool
) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.SUCCESS, reply.text
    b1 = chat.item("B-1")
    assert (b1.title, b1.owner, b1.due_at is not None) == (title, owner, dated)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/blocker API keys from due friday",
         "The title `API keys from` ends on `from`: from whom or what? Finish the sentence, "
         "e.g. `API keys from @dana` or `API keys from NetOps`, or put the title in double "
         'quotes to keep it as it is: `/blocker "API keys from" due friday`.'),
        ("/blocker Waiting on", "The title `Waiting on` ends on `on`"),
        ("/risk Budget cut for likelihood high impact high", "`/risk \"Budget cut for\" "
         "likelihood high impact high`"),
        ("/blocker Creds @dana whenever", "I couldn't tell what `whenever` means"),
    ],
)  # fmt: skip
async def test_a_title_never_dangles_on_a_preposition(chat: Chat, line: str, says: str) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert says in reply.text, reply.text
    assert chat.items() == []


async def test_the_quoted_command_a_refusal_offers_works(chat: Chat) -> None:
    refused = await chat.say("/blocker API keys from due friday")
    offered = refused.text.split("keep it as it is: `")[1].rstrip("`.")
    reply = await chat.say(offered)
    assert reply.tone is Tone.SUCCESS, reply.text
    assert chat.item("B-1").title == "API keys from"


@pytest.mark.parametrize("title", ["\u200b", "\u200b \u200d\ufeff", "\u2800\u3164", "\u00ad\u2060"])
async def test_a_title_of_invisible_characters_is_refused(chat: Chat, title: str) -> None:
    reply = await chat.say(f"/blocker {title} due friday")
    assert reply.tone is Tone.ERROR
    assert "needs a title" in reply.text or "Start with a title" in reply.text, reply.text
    form = await chat.click("new:blocker", {"title": title})
    assert form.field_errors.get("title") == "A title is required."
    assert chat.items() == []


async def test_reopen_keeps_its_reason_in_the_history(chat: Chat) -> None:
    await chat.say("/blocker Waiting on creds @dana")
    await chat.say("/raid resolve B-1 creds arrived")
    reply = await chat.say("/raid reopen B-1 the creds were for staging")
    assert reply.text.startswith("Reopened B-1")
    (history,) = (await chat.say("/raid history B-1")).sections
    assert history.lines[-1].endswith(
        "<@ana> reopened: status: resolved → open; resolution: creds arrived → nothing; "
        "“the creds were for staging”"
    ), history.lines[-1]


async def test_a_decision_cannot_supersede_itself_or_form_a_loop(chat: Chat) -> None:
    for line in ("/decision Use Okta", "/decision Use Entra", "/decision Use Ping"):
        await chat.say(line)  # D-1, D-2, D-3: decided by ana
    itself = await chat.say("/raid supersede D-1 by D-1")
    assert itself.tone is Tone.ERROR
    assert itself.text.startswith("A decision can't supersede itself.")
    assert (await chat.say("/raid supersede D-1 by D-2")).tone is Tone.SUCCESS
    assert (await chat.say("/raid supersede D-2 by D-3")).tone is Tone.SUCCESS
    await chat.say("/decision Use Okta after all")  # D-4
    loop = await chat.say("/raid supersede D-3 by D-1")
    assert loop.tone is Tone.ERROR
    assert "D-1 was superseded by D-3 (directly or through others)" in loop.text
    assert "that would be a loop" in loop.text
    assert chat.item("D-3").status is Status.DECIDED
    assert (await chat.say("/raid supersede D-3 by D-4")).tone is Tone.SUCCESS


@pytest.mark.parametrize(
    ("setup", "line", "user", "says"),
    [
        (["/raid decide D-1 Okta"], "/raid decide D-1 Entra", "zoe", "D-1 is already decided."),
        (["/raid reject D-1 no budget"], "/raid decide D-1 Entra", "zoe",
         "D-1 is rejected; it can no longer be decided."),
        (["/raid approve C-1"], "/raid approve C-1", "zoe", "C-1 is already approved."),
        (["/raid approve C-1"], "/raid reject C-1 too late", "zoe",
         "C-1 is approved; it can no longer be rejected."),
        (["/raid resolve B-1"], "/raid resolve B-1", "zoe", "B-1 is already resolved."),
        ([], "/raid reopen B-1", "zoe", "B-1 is already open."),
        (["/raid close R-1"], "/raid close R-1", "zoe", "R-1 is already closed."),
        (["/raid withdraw B-1"], "/raid withdraw B-1", "zoe", "B-1 is already withdrawn"),
    ],
)  # fmt: skip
async def test_the_state_is_told_before_who_may(
    chat: Chat, setup: list[str], line: str, user: str, says: str
) -> None:
    await chat.say("/raid settings leads @ana")
    await chat.say("/blocker Waiting on creds @dana")
    await chat.say("/risk Vendor slips likelihood 2 impact 2 @bob")
    await chat.say("/decision needed Pick the SSO vendor @cio")
    await chat.say("/change Add CRM impact cost £5k @sponsor")
    for step in setup:
        who = {"D": "cio", "C": "sponsor"}.get(step.split()[2][0], "ana")
        assert (await chat.say(step, user=who)).tone is Tone.SUCCESS
    reply = await chat.say(line, user=user)
    assert reply.tone is Tone.ERROR
    assert reply.text.startswith(says), reply.text


@pytest.mark.parametrize(
    ("impact", "stored"),
    [
        ("schedule +2 weeks", {"schedule": "+2 weeks"}),
        ("schedule 3 days, cost £5k", {"schedule": "3 days", "cost": "£5k"}),
        ("schedule 2d", {"schedule": "2d"}),
        ("scope small", {"scope": "small"}),
        ("quality Large", {"quality": "Large"}),
        ("cost -10%", {"cost": "-10%"}),
    ],
)
async def test_a_change_requests_impact_has_a_size(
    chat: Chat, impact: str, stored: dict[str, str]
) -> None:
    reply = await chat.say(f"/change Add CRM impact {impact}")
    assert reply.tone is Tone.SUCCESS, reply.text
    assert dict(chat.item("C-1").impacts) == stored


@pytest.mark.parametrize(
    ("impact", "says"),
    [
        ("schedule", "`schedule` needs a size: say how much, e.g. `impact schedule +2 weeks`"),
        ("cost a lot", "`cost a lot` has no size: say how much, e.g. `impact cost £5k`"),
        ("scope, cost +8k", "`scope` needs a size"),
        ("quality worse", "or one of `small`, `medium`, `large`"),
    ],
)
async def test_an_impact_without_a_size_is_refused_with_the_rule(
    chat: Chat, impact: str, says: str
) -> None:
    reply = await chat.say(f"/change Add CRM impact {impact}")
    assert reply.tone is Tone.ERROR
    assert says in reply.text, reply.text
    form = await chat.click("new:change", {"title": "Add CRM", "impact": impact})
    assert says in form.field_errors["impact"]
    assert chat.items() == []


@pytest.mark.parametrize(
    ("line", "missing"),
    [
        ("/risk Vendor may slip @bob", "likelihood or impact"),
        ("/risk Vendor may slip likelihood high @bob", "impact"),
        ("/risk Vendor may slip impact low @bob", "likelihood"),
    ],
)
async def test_an_unscored_risk_is_asked_for_its_score_with_the_command(
    chat: Chat, line: str, missing: str
) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.SUCCESS
    assert (
        f"R-1 has no {missing} yet, so it has no score: `/raid rescore R-1 <likelihood> "
        "<impact>`, e.g. `/raid rescore R-1 high medium`"
    ) in reply.text
    follow = reply.text.split("e.g. `")[1].split("`")[0]
    assert (await chat.say(follow)).tone is Tone.SUCCESS
    assert chat.item("R-1").score == 12
    scored = await chat.say("/risk Budget cut likelihood low impact low")
    assert "no score" not in scored.text


BROADCASTS = [
    "/blocker Waiting on creds @here",
    "/blocker Waiting on creds <!here>",
    "/blocker Waiting on creds <!channel>",
    "/blocker Waiting on creds <!everyone|everyone>",
    "/blocker Waiting on creds @everyone due friday",
    "/blocker Waiting on creds waiting on @channel",
    "/decision needed Pick a vendor @here by friday",
    "/change Add CRM impact cost £5k @channel",
    "/risk Vendor slips @Here likelihood high impact high",
]


@pytest.mark.parametrize("line", BROADCASTS)
async def test_here_channel_and_everyone_are_never_people(chat: Chat, line: str) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert "means everyone in the channel, not one person" in reply.text, reply.text
    assert "Mention someone, e.g. `@dana`." in reply.text
    assert chat.items() == []


async def test_here_is_refused_as_an_assignee_and_on_forms(chat: Chat) -> None:
    await chat.say("/blocker Waiting on creds @dana")
    for line in ("/raid assign B-1 @here", "/raid assign B-1 @erin <!channel>"):
        reply = await chat.say(line)
        assert reply.tone is Tone.ERROR and "`@" in reply.text, reply.text
    assert chat.item("B-1").owner == "dana"
    form = await chat.click("new:blocker", {"title": "Creds", "owner": "@everyone"})
    assert "means everyone in the channel" in form.field_errors["owner"]
    form = await chat.click("new:blocker", {"title": "Creds", "waiting_on": "<!here>"})
    assert "`@here` means everyone in the channel" in form.field_errors["waiting_on"]
    waits = await chat.click("new:blocker", {"title": "Creds", "waiting_on": "<@U2|erin>"})
    assert waits.tone is Tone.SUCCESS and chat.item("B-2").waiting_on == "<@U2>"
    assigned = await chat.click("assign:B-1", {"owner": "here"})
    assert assigned.tone is Tone.ERROR
    assert chat.items(Kind.BLOCKER)[0].owner == "dana"
