"""Buttons on item messages: a click updates the message in place; a refusal changes nothing."""

from __future__ import annotations

from typing import Any

from bot.domain.model import ChannelKey, Status
from bot.messages import Action, Outgoing, Reply, Request, Section
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, blocks_text, body_json

TS = "1700000000.000555"


async def post_of(slack: Harness, command: str, text: str, *, user: str = "U1") -> dict[str, Any]:
    """Run a command and return the chat.postMessage body it produced."""
    before = len(slack.fake.calls_to("chat.postMessage"))
    await slack.command(command, text, user=user)
    return dict((await slack.last("chat.postMessage", before + 1)).body)


async def click(
    slack: Harness, post: dict[str, Any], action_id: str, *, user: str = "U1", **kw: Any
) -> str:
    """Click a button of a posted message; returns the name of its response_url call."""
    block_id, button = wire.find_button(post["blocks"], action_id)
    url, name = slack.new_response_url()
    status, body = await slack.interact(
        wire.block_actions(
            button,
            block_id,
            user=user,
            channel=post.get("channel", "C1"),
            message_blocks=post["blocks"],
            message_ts=TS,
            response_url=url,
            **kw,
        )
    )
    assert (status, body) == (200, "")
    return name


async def set_leads(slack: Harness) -> None:
    await slack.command("/raid", "settings leads <@U1|ana>")
    await slack.wait("chat.postMessage")
    slack.fake.clear()


async def submit_modal(
    slack: Harness, values: dict[str, Any], *, user: str = "U1"
) -> dict[str, Any]:
    view = (await slack.last("views.open")).body["view"]
    status, text = await slack.interact(wire.view_submission(view, values, user=user))
    assert status == 200
    return body_json(text)


async def test_resolve_updates_the_message_in_place_and_records_an_event(slack: Harness) -> None:
    post = await post_of(slack, "/blocker", "Waiting on creds <@U2>")
    await click(slack, post, "resolve:B-1", user="U2")
    update = await slack.last("chat.update")
    assert (update.body["channel"], update.body["ts"]) == ("C1", TS)
    text = blocks_text(update.body["blocks"])
    assert "Resolved B-1: Waiting on creds" in text and "*resolved*" in text
    assert "by <@U2>" in text
    buttons = [
        e["action_id"]
        for b in update.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert buttons == ["reopen:B-1"]
    item = slack.item("B-1")
    assert item.status is Status.RESOLVED
    assert slack.store is not None
    events = slack.store.state.events[item.stored_id]
    assert [(e.actor, e.action) for e in events][-1] == ("U2", "resolved")


async def test_refused_click_is_ephemeral_and_changes_nothing(slack: Harness) -> None:
    await set_leads(slack)
    post = await post_of(slack, "/blocker", "Waiting on creds <@U2>")
    reply_to = await click(slack, post, "resolve:B-1", user="U9")
    refusal = await slack.last(reply_to)
    assert refusal.body["response_type"] == "ephemeral"
    assert refusal.body["replace_original"] is False
    assert "may resolve" in refusal.body["text"]
    assert slack.fake.calls_to("chat.update") == []
    assert slack.item("B-1").status is Status.OPEN


async def test_take_it(slack: Harness) -> None:
    post = await post_of(slack, "/blocker", "Nobody owns this")
    await click(slack, post, "take:B-1", user="U1")
    update = await slack.last("chat.update")
    assert "Taken B-1" in update.body["text"]
    assert slack.item("B-1").owner == "U1"


async def test_assign_opens_a_user_picker_and_updates_the_message(slack: Harness) -> None:
    post = await post_of(slack, "/blocker", "Waiting on creds")
    await click(slack, post, "assign:B-1")
    view = (await slack.last("views.open")).body["view"]
    assert view["blocks"][0]["element"]["type"] == "users_select"
    assert await submit_modal(slack, {"owner": "U3"}) == {}
    update = await slack.last("chat.update")
    assert update.body["ts"] == TS
    assert "<@U3>" in blocks_text(update.body["blocks"])
    assert slack.item("B-1").owner == "U3"


async def test_new_date(slack: Harness) -> None:
    post = await post_of(slack, "/blocker", "Waiting on creds")
    await click(slack, post, "due:B-1")
    assert await submit_modal(slack, {"due": "next tuesday"}) == {}
    update = await slack.last("chat.update")
    assert "Tue 1 Dec 17:00" in blocks_text(update.body["blocks"])
    assert slack.item("B-1").due_at is not None


async def test_refused_assign_is_refused_before_any_modal_opens(slack: Harness) -> None:
    await set_leads(slack)
    post = await post_of(slack, "/blocker", "Waiting on creds <@U2>")
    reply_to = await click(slack, post, "assign:B-1", user="U9")
    assert "may reassign" in (await slack.last(reply_to)).body["text"]
    assert slack.fake.calls_to("views.open") == []
    assert slack.item("B-1").owner == "U2"
    assert slack.fake.calls_to("chat.update") == []


async def test_approve_by_the_approver_and_refusal_for_others(slack: Harness) -> None:
    post = await post_of(slack, "/change", "Add CRM impact cost +8k <@U5>")
    reply_to = await click(slack, post, "approve:C-1", user="U9")
    assert "approve" in (await slack.last(reply_to)).body["text"]
    assert slack.item("C-1").status is Status.PROPOSED
    await click(slack, post, "approve:C-1", user="U5")
    update = await slack.last("chat.update")
    assert "Approved C-1" in update.body["text"]
    assert slack.item("C-1").status is Status.APPROVED


async def test_reject_asks_a_reason_and_refuses_others_before_asking(slack: Harness) -> None:
    post = await post_of(slack, "/change", "Add CRM impact cost +8k <@U5>")
    reply_to = await click(slack, post, "reject:C-1", user="U9")
    assert "reject" in (await slack.last(reply_to)).body["text"]
    assert slack.fake.calls_to("views.open") == []
    await click(slack, post, "reject:C-1", user="U5")
    assert await submit_modal(slack, {"reason": "no budget"}, user="U5") == {}
    update = await slack.last("chat.update")
    assert "Rejected C-1" in update.body["text"]
    change = slack.item("C-1")
    assert change.status is Status.REJECTED and change.decision_note == "no budget"


async def test_decide(slack: Harness) -> None:
    post = await post_of(slack, "/decision", "needed Pick the SSO vendor <@U3>")
    await click(slack, post, "decide:D-1", user="U3")
    assert await submit_modal(slack, {"outcome": "Okta", "rationale": "SCIM"}, user="U3") == {}
    update = await slack.last("chat.update")
    assert "Decided D-1" in update.body["text"]
    decision = slack.item("D-1")
    assert (decision.status, decision.outcome) == (Status.DECIDED, "Okta")


async def test_snooze_from_a_direct_message_nudge(slack: Harness) -> None:
    """A DM's buttons name the item's channel; the click acts there and updates the DM."""
    post = await post_of(slack, "/blocker", "Waiting on creds <@U2> due friday")
    assert post["channel"] == "C1"
    card_reply = await slack.core.handle(
        Request(ChannelKey("slack", "T1", "C1"), "U1", command="raid", text="show B-1")
    )
    nudge = Reply(
        text="<@U2>: B-1 was due. Can you resolve it or set a new date?",
        cards=card_reply.cards,
        actions=(Action("Snooze 1 day", "snooze:B-1:1d"),),
        item_ref="B-1",
    )
    ts = await slack.adapter.send(Outgoing(ChannelKey("slack", "T1", "C1"), nudge, to_user="U2"))
    assert ts
    dm = await slack.last("chat.postMessage", 2)
    assert dm.body["channel"] == "DU2"
    opened = await slack.last("conversations.open")
    assert opened.body["users"] == "U2"
    await click(slack, dm.body, "snooze:B-1:1d", user="U2")
    update = await slack.last("chat.update")
    assert update.body["channel"] == "DU2"
    assert "Snoozed B-1" in update.body["text"]
    assert slack.item("B-1").snoozed_until is not None


async def test_more_pages_an_ephemeral_list_in_place(slack: Harness) -> None:
    for n in range(16):
        await slack.command("/blocker", f"Blocker number {n + 1}")
    await slack.wait("chat.postMessage", 16)
    _, _, reply_to = await slack.command("/raid", "list")
    listing = (await slack.last(reply_to)).body
    assert "(page 1 of 2)" in listing["text"]
    name = await click(slack, listing, "list::2", ephemeral=True)
    page = (await slack.last(name)).body
    assert page["replace_original"] is True
    assert "(page 2 of 2)" in page["text"]
    assert "Blocker number 16" in blocks_text(page["blocks"])


async def test_click_on_an_ephemeral_card_replaces_it_and_tells_the_channel(slack: Harness) -> None:
    await post_of(slack, "/blocker", "Waiting on creds")
    _, _, reply_to = await slack.command("/raid", "show B-1")
    shown = (await slack.last(reply_to)).body
    name = await click(slack, shown, "resolve:B-1", ephemeral=True)
    replaced = (await slack.last(name)).body
    assert replaced["replace_original"] is True and "Resolved B-1" in replaced["text"]
    visible = await slack.last("chat.postMessage", 2)
    assert visible.body["channel"] == "C1" and "Resolved B-1" in visible.body["text"]


async def test_click_on_a_two_item_message_swaps_only_that_card(slack: Harness) -> None:
    await post_of(slack, "/risk", "Vendor slip <@U1>")
    _, _, _ = await slack.command("/raid", "occurred R-1")
    occurred = (await slack.last("chat.postMessage", 2)).body
    await click(slack, occurred, "take:B-1", user="U4")
    update = await slack.last("chat.update")
    text = blocks_text(update.body["blocks"])
    assert "*R-1*  Vendor slip" in text  # the risk's card is kept
    assert "R-1 occurred" in text  # and so is the headline
    assert "<@U4>" in text
    assert slack.item("B-1").owner == "U4"


async def test_a_click_about_an_item_the_message_does_not_show_answers_in_its_thread(
    slack: Harness,
) -> None:
    """Like a standup summary's "track it": the summary stays, the result goes in its thread."""
    await post_of(slack, "/blocker", "Waiting on creds")
    summary = Reply(
        "Standup summary: 2 answered",
        sections=(Section("Blocked", ("<@U2>: waiting on creds",)),),
        actions=(Action("Take B-1", "take:B-1"),),
    )
    await slack.adapter.send(Outgoing(ChannelKey("slack", "T1", "C1"), summary))
    posted = (await slack.last("chat.postMessage", 2)).body
    await click(slack, posted, "take:B-1", user="U2")
    answer = await slack.last("chat.postMessage", 3)
    assert answer.body["thread_ts"] == TS
    assert "Taken B-1" in answer.body["text"]
    assert slack.fake.calls_to("chat.update") == []


async def test_edit_opens_the_items_form_filled_with_its_values_and_updates_the_message(
    slack: Harness,
) -> None:
    post = await post_of(
        slack, "/risk", "Vendor may slip likelihood high impact medium mitigation weekly call"
    )
    await click(slack, post, "edit:R-1")
    view = (await slack.last("views.open")).body["view"]
    assert view["callback_id"] == "edit:R-1"
    filled = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert filled["title"]["initial_value"] == "Vendor may slip"
    assert filled["likelihood"]["initial_option"]["value"] == "4"
    assert filled["impact"]["initial_option"]["value"] == "3"
    assert filled["mitigation"]["initial_value"] == "weekly call"
    assert "initial_option" not in filled["response"]
    # untouched fields keep what the form showed; the title and likelihood change
    assert await submit_modal(slack, {"title": "Vendor may slip SSO", "likelihood": "5"}) == {}
    update = await slack.last("chat.update")
    assert update.body["ts"] == TS
    shown = blocks_text(update.body["blocks"])
    assert "Vendor may slip SSO" in shown and "15 (high)" in shown
    r1 = slack.item("R-1")
    assert (r1.title, r1.likelihood, r1.impact, r1.mitigation) == (
        "Vendor may slip SSO", 5, 3, "weekly call"
    )  # fmt: skip


async def test_edit_is_refused_before_any_modal_opens(slack: Harness) -> None:
    await set_leads(slack)
    post = await post_of(slack, "/blocker", "Waiting on creds <@U2>")
    await click(slack, post, "edit:B-1", user="U9")
    assert slack.fake.calls_to("views.open") == []
    assert slack.item("B-1").title == "Waiting on creds"
