"""/raid: managing items, permissions, history, lists, export and settings."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.domain.model import Kind, Status
from bot.messages import Tone, Visibility
from bot.views.plain import render_text
from tests.unit.conftest import Chat


async def seed(chat: Chat) -> None:
    """One of each kind, reported by ana."""
    await chat.say("/blocker Waiting on firewall change @dana due friday")
    await chat.say("/risk Vendor may slip likelihood high impact medium @bob review in 2 weeks")
    await chat.say("/decision needed Pick the SSO vendor @cio by Dec 5")
    await chat.say("/change Add CRM integration impact schedule +2 weeks @sponsor")


async def lead_channel(chat: Chat) -> None:
    reply = await chat.say("/raid settings leads @ana @raj")
    assert reply.tone is Tone.SUCCESS, reply.text


@pytest.mark.parametrize(
    ("line", "ref", "status", "headline"),
    [
        ("/raid resolve B-1 firewall rule merged", "B-1", Status.RESOLVED, "Resolved B-1"),
        ("/raid close R-1", "R-1", Status.CLOSED, "Closed R-1"),
        ("/raid withdraw B-1 duplicate", "B-1", Status.WITHDRAWN, "Withdrew B-1"),
    ],
)
async def test_state_changes(
    chat: Chat, line: str, ref: str, status: Status, headline: str
) -> None:
    await seed(chat)
    reply = await chat.say(line)
    assert reply.text.startswith(headline), reply.text
    assert reply.visibility is Visibility.CHANNEL
    assert chat.item(ref).status is status


async def test_resolve_keeps_the_note_and_reopen_clears_it(chat: Chat) -> None:
    await seed(chat)
    await chat.say("/raid resolve B-1 firewall rule merged", user="dana")
    assert chat.item("B-1").resolution == "firewall rule merged"
    reply = await chat.say("/raid reopen B-1", user="dana")
    assert reply.text.startswith("Reopened B-1")
    assert chat.item("B-1").status is Status.OPEN
    assert chat.item("B-1").resolution is None


async def test_approve_reject_and_implement_change_requests(chat: Chat) -> None:
    await seed(chat)
    refused = await chat.say("/raid approve C-1")  # ana is not the named approver
    assert refused.tone is Tone.ERROR
    assert "Only <@sponsor> may approve C-1." in refused.text
    assert chat.item("C-1").status is Status.PROPOSED
    approved = await chat.say("/raid approve C-1 fits the budget", user="sponsor")
    assert approved.text.startswith("Approved C-1")
    c1 = chat.item("C-1")
    assert (c1.status, c1.decided_by, c1.decision_note) == (
        Status.APPROVED, "sponsor", "fits the budget"
    )  # fmt: skip
    again = await chat.say("/raid approve C-1", user="sponsor")
    assert again.text == "C-1 is already approved."
    done = await chat.say("/raid implemented C-1")
    assert done.text.startswith("Implemented C-1")
    assert chat.item("C-1").status is Status.IMPLEMENTED


async def test_reject_needs_a_reason(chat: Chat) -> None:
    await seed(chat)
    reply = await chat.say("/raid reject C-1", user="sponsor")
    assert "Say why" in reply.text
    reply = await chat.say("/raid reject C-1 no budget this quarter", user="sponsor")
    assert reply.text.startswith("Rejected C-1")
    assert chat.item("C-1").decision_note == "no budget this quarter"


async def test_decide_a_pending_decision(chat: Chat) -> None:
    await seed(chat)
    refused = await chat.say("/raid decide D-1 Okta")
    assert "Only the decider (<@cio>) may decide D-1." in refused.text
    reply = await chat.say("/raid decide D-1 Okta, best SCIM support", user="cio")
    assert reply.text.startswith("Decided D-1")
    d1 = chat.item("D-1")
    assert (d1.status, d1.outcome, d1.rationale) == (Status.DECIDED, "Okta", "best SCIM support")
    superseded = await chat.say("/decision Use Entra instead", user="cio")
    assert superseded.tone is Tone.SUCCESS
    reply = await chat.say("/raid supersede D-1 by D-2", user="cio")
    assert reply.text.startswith("Superseded D-1")
    assert chat.item("D-1").status is Status.SUPERSEDED
    assert chat.item("D-1").linked_ref == "D-2"


async def test_a_risk_that_occurred_becomes_a_linked_blocker(chat: Chat) -> None:
    await seed(chat)
    reply = await chat.say("/raid occurred R-1 vendor missed the date", user="bob")
    assert "R-1 occurred; it is now blocker B-2" in reply.text
    risk, blocker = chat.item("R-1"), chat.item("B-2")
    assert risk.status is Status.OCCURRED and risk.linked_ref == "B-2"
    assert blocker.status is Status.OPEN and blocker.linked_ref == "R-1"
    assert blocker.owner == "bob" and blocker.title == risk.title
    assert [c.ref for c in reply.cards] == ["R-1", "B-2"]


async def test_assign_due_and_note(chat: Chat) -> None:
    await seed(chat)
    assert (await chat.say("/raid assign B-1 @erin")).text.startswith("Assigned B-1")
    assert chat.item("B-1").owner == "erin"
    reply = await chat.say("/raid due B-1 next tuesday")
    assert reply.text.startswith("Re-dated B-1")
    assert "Tue 1 Dec 17:00" in render_text(reply)
    reply = await chat.say("/raid note R-1 vendor confirmed the date", user="zoe")
    assert reply.text.startswith("Noted on R-1")
    assert (await chat.say("/raid due C-1 friday")).tone is Tone.ERROR


@pytest.mark.parametrize(
    ("line", "user", "refusal"),
    [
        ("/raid resolve B-1", "zoe", "Only the owner (<@dana>), the reporter (<@ana>) or a lead"),
        ("/raid assign B-1 @zoe", "zoe", "may reassign B-1"),
        ("/raid due B-1 monday", "zoe", "may re-date B-1"),
        ("/raid close R-1", "zoe", "may close R-1"),
        ("/raid withdraw B-1", "zoe", "may withdraw B-1"),
        ("/raid approve C-1", "raj", "Only <@sponsor> may approve C-1."),
        ("/raid decide D-1 Okta", "raj", "Only the decider (<@cio>) may decide D-1."),
        ("/raid settings timezone Europe/London", "zoe", "Only a lead (<@ana>, <@raj>)"),
        ("/raid settings nudges off", "zoe", "Only a lead"),
    ],
)
async def test_who_may_do_what(chat: Chat, line: str, user: str, refusal: str) -> None:
    await seed(chat)
    await lead_channel(chat)
    reply = await chat.say(line, user=user)
    assert reply.tone is Tone.ERROR
    assert refusal in reply.text
    # the item is untouched
    assert chat.item("B-1").status is Status.OPEN and chat.item("B-1").owner == "dana"


@pytest.mark.parametrize(
    ("line", "user"),
    [
        ("/raid resolve B-1", "dana"),  # the owner
        ("/raid resolve B-1", "ana"),  # the reporter
        ("/raid resolve B-1", "raj"),  # a lead
        ("/raid note B-1 anyone may note", "zoe"),
        ("/blocker Anyone may log", "zoe"),
    ],
)
async def test_allowed(chat: Chat, line: str, user: str) -> None:
    await seed(chat)
    await lead_channel(chat)
    reply = await chat.say(line, user=user)
    assert reply.tone is Tone.SUCCESS, reply.text


async def test_unnamed_approver_or_decider_means_a_lead(chat: Chat) -> None:
    await lead_channel(chat)
    await chat.say("/change Add SSO impact scope +1 screen")
    await chat.say("/decision needed Which cloud")
    assert "only a lead" in (await chat.say("/raid approve C-1", user="zoe")).text
    assert "only a lead" in (await chat.say("/raid decide D-1 AWS", user="zoe")).text
    assert (await chat.say("/raid approve C-1", user="raj")).tone is Tone.SUCCESS
    assert (await chat.say("/raid decide D-1 AWS", user="raj")).tone is Tone.SUCCESS


async def test_no_leads_means_everyone_may_but_named_approvers_still_decide_alone(
    chat: Chat,
) -> None:
    await seed(chat)
    assert (await chat.say("/raid resolve B-1", user="zoe")).tone is Tone.SUCCESS
    assert (await chat.say("/raid approve C-1", user="zoe")).tone is Tone.ERROR


async def test_first_leads_must_include_whoever_sets_them(chat: Chat) -> None:
    reply = await chat.say("/raid settings leads @raj")
    assert "must include themselves" in reply.text
    assert (await chat.say("/raid settings leads @ana @raj")).tone is Tone.SUCCESS
    shown = render_text(await chat.say("/raid settings"))
    assert "Leads: @ana @raj" in shown


async def test_settings_timezone_changes_how_dates_parse(chat: Chat) -> None:
    reply = await chat.say("/raid settings timezone America/New_York")
    assert reply.text == "This channel's time zone is now America/New_York."
    await chat.say("/blocker Creds due friday")
    due = chat.item("B-1").due_at
    assert due is not None and due.isoformat() == "2026-11-27T22:00:00+00:00"
    bad = await chat.say("/raid settings timezone Mars/Olympus")
    assert bad.tone is Tone.ERROR and "Mars/Olympus" in bad.text


async def test_history_shows_who_changed_what_from_what_to_what(chat: Chat) -> None:
    await seed(chat)
    await chat.say("/raid assign B-1 @erin")
    await chat.say("/raid due B-1 next tuesday", user="erin")
    await chat.say("/raid note B-1 NetOps promised Monday", user="zoe")
    await chat.say("/raid resolve B-1 merged", user="erin")
    reply = await chat.say("/raid history B-1")
    text = "\n".join(reply.sections[0].lines).replace("<@", "@").replace(">", "")
    assert reply.text == "History of B-1: Waiting on firewall change (5 events)"
    assert "@ana created" in text
    assert "owner: @dana → @erin" in text
    assert "due: Fri 27 Nov 17:00 CET → Tue 1 Dec 17:00 CET" in text
    assert "@zoe note" in text and "NetOps promised Monday" in text
    assert "@erin resolved: status: open → resolved; resolution: merged" in text


async def test_list_filters_and_marks_overdue(chat: Chat) -> None:
    await seed(chat)
    await chat.say("/blocker Old problem @erin due tomorrow")
    chat.clock.advance(days=3)
    text = render_text(await chat.say("/raid list"))
    assert "Open items: 5, 2 overdue" in text  # B-2 was due Thu, B-1 due Fri
    assert "B-1" in text and "C-1" in text and "OVERDUE" in text
    blockers = render_text(await chat.say("/raid list blockers"))
    assert "R-1" not in blockers and "B-2" in blockers
    mine = render_text(await chat.say("/raid list mine", user="erin"))
    assert "B-2" in mine and "B-1" not in mine
    sponsor = render_text(await chat.say("/raid list mine", user="sponsor"))
    assert "C-1" in sponsor
    overdue = await chat.say("/raid list overdue")
    assert overdue.text.startswith("Open overdue items: 2")
    await chat.say("/raid resolve B-1")
    assert "B-1" not in render_text(await chat.say("/raid list blockers"))
    assert "B-1" in render_text(await chat.say("/raid list blockers all"))
    await chat.say("/blocker Nobody's problem")
    assert "Nobody's problem · no owner" in render_text(await chat.say("/raid list"))


async def test_long_lists_paginate_with_a_more_action(chat: Chat) -> None:
    for n in range(20):
        await chat.say(f"/blocker Problem {n}")
    first = await chat.say("/raid list")
    assert "(page 1 of 2)" in first.text
    assert first.actions and first.actions[0].label == "More"
    second = await chat.click(first.actions[0].action_id)
    assert "(page 2 of 2)" in second.text
    assert [a.label for a in second.actions] == ["Previous"]
    assert "Problem 19" in render_text(second) and "Problem 0 " not in render_text(second)


async def test_show_marks_overdue_and_no_owner(chat: Chat) -> None:
    await chat.say("/blocker Creds due tomorrow")
    chat.clock.advance(days=2)
    text = render_text(await chat.say("/raid show B-1"))
    assert "no owner" in text and "OVERDUE" in text


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
async def test_export(chat: Chat, fmt: str) -> None:
    await seed(chat)
    await chat.say("/raid resolve B-1 done")
    reply = await chat.say(f"/raid export {fmt}")
    assert len(reply.files) == 1
    assert reply.text == f"Exported this channel's register as {fmt.upper()}: " + (
        f"raidline-proj-20261125-0900.{fmt}"
    )
    body = reply.files[0].content.decode()
    if fmt == "json":
        doc = json.loads(body)
        refs = [i["ref"] for i in doc["items"]]
        assert refs == ["B-1", "R-1", "D-1", "C-1"]
        b1 = doc["items"][0]
        assert b1["status"] == "resolved" and b1["owner"] == "dana"
        assert b1["due"] == "2026-11-27T17:00:00+01:00"
        assert [e["action"] for e in b1["events"]] == ["created", "resolved"]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(body)))
        assert [r["Ref"] for r in rows] == ["B-1", "R-1", "D-1", "C-1"]
        assert "resolved" in rows[0]["History"]
    else:
        assert "### B-1 · Waiting on firewall change" in body and "## History" in body


async def test_export_with_a_bad_format(chat: Chat) -> None:
    reply = await chat.say("/raid export pdf")
    assert "`pdf` is not an export format. Use `md`, `csv` or `json`" in reply.text


async def test_help_lists_every_command_with_an_example(chat: Chat) -> None:
    text = render_text(await chat.say("/raid help"))
    for word in ("/blocker", "/risk", "/decision", "/change", "list", "resolve", "assign",
                 "due", "note", "approve", "reject", "decide", "close", "occurred", "reopen",
                 "withdraw", "history", "export", "settings"):  # fmt: skip
        assert word in text
    one = await chat.say("/raid help resolve")
    assert "Usage: /raid resolve <ref> [note]" in one.text


async def test_buttons_on_a_card_work_and_are_refused_by_the_rules(chat: Chat) -> None:
    await seed(chat)
    await lead_channel(chat)
    card = (await chat.say("/raid show C-1")).cards[0]
    assert [a.label for a in card.actions] == ["Approve", "Reject", "Edit"]
    refused = await chat.click("approve:C-1", user="zoe")
    assert refused.tone is Tone.ERROR and chat.item("C-1").status is Status.PROPOSED
    no_reason = await chat.click("reject:C-1", {"reason": ""}, user="sponsor")
    assert no_reason.field_errors == {"reason": "Say why it is rejected."}
    rejected = await chat.click("reject:C-1", {"reason": "too late"}, user="sponsor")
    assert rejected.text.startswith("Rejected C-1")
    decided = await chat.click("decide:D-1", {"outcome": "Okta, Inc.", "rationale": "SCIM"},
                               user="cio")  # fmt: skip
    assert chat.item("D-1").outcome == "Okta, Inc." and decided.tone is Tone.SUCCESS
    bad_date = await chat.click("due:B-1", {"due": "12/05"})
    assert "ambiguous" in bad_date.field_errors["due"]
    assign = await chat.click("assign:B-1", {"owner": "<@U777>"})
    assert assign.tone is Tone.SUCCESS and chat.item("B-1").owner == "U777"


async def test_items_of_another_channel_are_invisible(chat: Chat) -> None:
    await seed(chat)
    from bot.domain.model import ChannelKey

    chat.channel = ChannelKey("console", "other-workspace", "proj")
    assert "There is no B-1" in (await chat.say("/raid show B-1")).text
    await chat.say("/blocker Elsewhere")
    assert len(chat.items(Kind.BLOCKER)) == 2


async def test_unexpected_errors_become_an_apology_with_an_incident_id(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    from tests import fakes

    monkeypatch.setattr(fakes._Items, "allocate_number", boom)
    reply = await chat.say("/blocker Creds")
    assert reply.tone is Tone.ERROR
    assert reply.incident_id and reply.incident_id in reply.text
    assert "secret internals" not in reply.text
    assert chat.items() == []


async def test_database_outage_says_nothing_was_saved(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.errors import Unavailable
    from tests import fakes

    async def down(*args: object, **kwargs: object) -> None:
        raise Unavailable()

    monkeypatch.setattr(fakes._Channels, "get_settings", down)
    reply = await chat.say("/blocker Creds")
    assert reply.text == (
        "raidline can't reach its database right now; nothing was saved, please try again."
    )


async def test_home_shows_what_waits_on_a_person_across_channels(chat: Chat) -> None:
    from bot.domain.model import ChannelKey

    await seed(chat)
    chat.channel = ChannelKey("console", "local", "other")
    await chat.say("/blocker Second channel problem @dana due monday")
    await chat.say("/change Bigger screens impact cost +1k @dana")
    elsewhere = ChannelKey("console", "another-workspace", "proj")
    chat.channel = elsewhere
    await chat.say("/blocker Not in this workspace @dana")
    home = await chat.core.home("console", "local", "dana")
    assert home.text == "3 items wait on <@dana>."
    blockers, decisions, changes, risks, milestones = home.sections
    assert [c.ref for c in blockers.cards] == ["B-1", "B-1"]
    assert {c.channel.channel for c in blockers.cards if c.channel} == {"proj", "other"}
    assert [c.ref for c in changes.cards] == ["C-1"]
    assert [a.label for a in changes.cards[0].actions] == ["Approve", "Reject", "Edit"]
    assert not decisions.cards and not risks.cards and not milestones.cards


async def test_autocomplete_suggests_open_refs_first(chat: Chat) -> None:
    await seed(chat)
    await chat.say("/blocker Another firewall issue")
    await chat.say("/raid resolve B-1")
    refs = [s.ref for s in await chat.core.autocomplete(chat.channel, "b")]
    assert refs == ["B-2", "B-1"]
    assert [s.ref for s in await chat.core.autocomplete(chat.channel, "firewall")] == ["B-2", "B-1"]
    assert [s.ref for s in await chat.core.autocomplete(chat.channel, "#c1")] == ["C-1"]


@pytest.mark.parametrize(
    ("action", "user", "form_field"),
    [
        ("assign:B-1", "dana", "owner"),
        ("due:B-1", "ana", "due"),
        ("decide:D-1", "cio", "outcome"),
        ("reject:C-1", "sponsor", "reason"),
    ],
)
async def test_a_click_without_values_asks_for_the_form_after_checking_who_may(
    chat: Chat, action: str, user: str, form_field: str
) -> None:
    await seed(chat)
    await lead_channel(chat)
    refused = await chat.click(action, user="zoe")
    assert refused.tone is Tone.ERROR and refused.form is None
    assert "may" in refused.text
    allowed = await chat.click(action, user=user)
    assert allowed.form is not None
    assert allowed.form.form_id == action
    assert allowed.form.fields[0].name == form_field


async def test_rejecting_a_blocker_says_blockers_cannot_be_rejected(chat: Chat) -> None:
    await seed(chat)
    for reply in (await chat.click("reject:B-1"), await chat.say("/raid reject B-1 nope")):
        assert "Only change requests and pending decisions can be rejected" in reply.text
