"""The seven slash commands over signed HTTP: what Slack gets back and what is stored."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.model import Kind, Status
from tests.adapters.slack.conftest import Harness, blocks_text
from tests.adapters.slack.fake_slack import FakeSlack, async_wait_for


async def test_blocker_is_acked_at_once_and_posted_visibly(slack: Harness) -> None:
    status, body, _ = await slack.command(
        "/blocker", "Waiting on firewall change from NetOps <@U2|dana> due friday"
    )
    assert (status, body) == (200, "")
    post = await slack.last("chat.postMessage")
    assert post.token == "xoxb-test"
    assert post.body["channel"] == "C1"
    text = blocks_text(post.body["blocks"])
    assert "*B-1*  Waiting on firewall change from NetOps" in text
    assert "<@U2>" in text  # the owner, as a native mention
    assert "Fri 27 Nov 17:00" in text and "(in 2 days)" in text
    assert "by <@U1>" in text
    labels = [
        e["text"]["text"]
        for b in post.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert labels == ["Resolve", "Take it", "Assign", "New date", "Edit"]
    item = slack.item("B-1")
    assert (item.owner, item.reporter, item.status) == ("U2", "U1", Status.OPEN)
    assert item.channel.workspace == "T1"


async def test_blocker_without_title_gets_an_ephemeral_usage(slack: Harness) -> None:
    status, body, reply_to = await slack.command("/blocker", "<@U2> due friday")
    assert (status, body) == (200, "")
    answer = await slack.last(reply_to)
    assert answer.body["response_type"] == "ephemeral"
    assert "Start with a title" in answer.body["text"]
    assert "Usage: `/blocker &lt;title&gt;" in blocks_text(answer.body["blocks"])
    assert slack.fake.calls_to("chat.postMessage") == []
    assert slack.items() == []


async def test_risk_happy_path_shows_score(slack: Harness) -> None:
    await slack.command(
        "/risk",
        "Vendor may slip the SSO delivery likelihood high impact medium <@U3> review in 2 weeks",
    )
    post = await slack.last("chat.postMessage")
    text = blocks_text(post.body["blocks"])
    assert "*R-1*  Vendor may slip the SSO delivery" in text
    assert "*Score*\n12" in text
    risk = slack.item("R-1")
    assert (risk.likelihood, risk.impact, risk.owner) == (4, 3, "U3")


async def test_risk_with_unknown_likelihood_is_refused(slack: Harness) -> None:
    _, _, reply_to = await slack.command("/risk", "Vendor slip likelihood maybe")
    answer = await slack.last(reply_to)
    assert answer.body["response_type"] == "ephemeral"
    assert "`maybe` is not a likelihood" in answer.body["text"]
    assert slack.items() == []


async def test_decision_needed_happy_path(slack: Harness) -> None:
    await slack.command("/decision", "needed Pick the SSO vendor <@U3|cio> by Dec 5")
    post = await slack.last("chat.postMessage")
    assert "*D-1*  Pick the SSO vendor" in blocks_text(post.body["blocks"])
    decision = slack.item("D-1")
    assert decision.status is Status.PENDING and decision.owner == "U3"


async def test_decision_needed_without_question_is_refused(slack: Harness) -> None:
    _, _, reply_to = await slack.command("/decision", "needed")
    answer = await slack.last(reply_to)
    assert "Say what needs deciding" in answer.body["text"]
    assert slack.items() == []


async def test_change_happy_path(slack: Harness) -> None:
    await slack.command(
        "/change",
        "Add CRM integration to scope impact schedule +2 weeks, cost +8k <@U5> because sales",
    )
    post = await slack.last("chat.postMessage")
    text = blocks_text(post.body["blocks"])
    assert "*C-1*  Add CRM integration to scope" in text
    assert "schedule +2 weeks" in text
    labels = [
        e["text"]["text"]
        for b in post.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert labels == ["Approve", "Reject", "Edit"]
    assert slack.item("C-1").approvers == ("U5",)


async def test_change_without_impact_is_refused(slack: Harness) -> None:
    _, _, reply_to = await slack.command("/change", "Add CRM integration <@U5>")
    answer = await slack.last(reply_to)
    assert "states its impact" in answer.body["text"]
    assert slack.items() == []


async def test_raid_list_is_ephemeral_and_changes_are_visible(slack: Harness) -> None:
    await slack.command("/blocker", "Waiting on creds")
    await slack.wait("chat.postMessage")
    _, _, reply_to = await slack.command("/raid", "list")
    listing = await slack.last(reply_to)
    assert listing.body["response_type"] == "ephemeral"
    text = blocks_text(listing.body["blocks"])
    assert "Open items: 1" in text and "*Blockers (1)*" in text and "*B-1* Waiting on creds" in text

    await slack.command("/raid", "resolve B-1 creds arrived")
    post = await slack.last("chat.postMessage", 2)
    assert "Resolved B-1: Waiting on creds" in post.body["text"]
    assert slack.item("B-1").status is Status.RESOLVED


async def test_raid_typo_gets_did_you_mean(slack: Harness) -> None:
    _, _, reply_to = await slack.command("/raid", "resolv B-1")
    answer = await slack.last(reply_to)
    assert answer.body["response_type"] == "ephemeral"
    assert "Did you mean `resolve`?" in answer.body["text"]
    assert answer.body["text"].startswith(":warning:")


async def test_standup_and_digest_reach_the_core(slack: Harness) -> None:
    _, _, reply_to = await slack.command("/standup")
    status = await slack.last(reply_to)
    assert status.body["response_type"] == "ephemeral"
    assert status.body["text"].startswith("Standup of this channel")
    _, _, reply_to = await slack.command("/standup", "bogus")
    answer = await slack.last(reply_to)
    # not a subcommand, so it is read as a standup's name (several standups per channel)
    assert "There is no standup named `bogus` in this channel." in answer.body["text"]
    assert "`/standup add bogus` adds it." in answer.body["text"]
    _, _, reply_to = await slack.command("/digest", "bogus")
    assert "is not a /digest subcommand" in (await slack.last(reply_to)).body["text"]
    await slack.command("/digest")
    post = await slack.last("chat.postMessage")
    assert post.body["text"].startswith("Digest")
    assert any(b["type"] == "divider" for b in post.body["blocks"])


def _settings(slack: Harness) -> Any:
    assert slack.store is not None
    (found,) = slack.store.state.settings.values()
    return found


def _schedule(slack: Harness) -> Any:
    assert slack.store is not None
    (found,) = slack.store.state.schedules.values()
    return found


@pytest.mark.parametrize(
    ("command", "text", "said", "stored"),
    [
        ("/raid", "settings workweek sun-thu",
         "This channel's work week: Mon, Tue, Wed, Thu, Sun.",
         lambda h: _settings(h).work_days == ("mon", "tue", "wed", "thu", "sun")),
        ("/raid", "settings holidays DE-BY", "This channel keeps the public holidays of DE-BY",
         lambda h: _settings(h).holidays == "DE-BY"),
        ("/raid", "settings holidays add 2026-12-24", "Thu 24 Dec 2026 is a day off",
         lambda h: _settings(h).days_off == ("2026-12-24",)),
        ("/digest", "weekly every other fri 16:00", "every other Friday at 16:00 Europe/Berlin",
         lambda h: (_schedule(h).days, _schedule(h).every_weeks) == (("fri",), 2)),
        ("/digest", "add monthly last friday 15:00", "the last Friday of each month at 15:00",
         lambda h: (_schedule(h).days, _schedule(h).nth) == (("fri",), "last")),
        ("/standup", "late 4h", "Answers are taken for 4h00m after the standup closes",
         lambda h: _schedule(h).late_minutes == 240),
        ("/standup", "reminder twice", "Standup reminders: twice, at 50% and 85%",
         lambda h: _schedule(h).reminder == "twice"),
        ("/standup", "mentions off", "names who did not answer without mentioning them",
         lambda h: _schedule(h).mentions is False),
        ("/standup", "mode dm local", "Each member is asked at the standup time their own time",
         lambda h: (_schedule(h).mode, _schedule(h).local_times) == ("dm", True)),
        ("/raid", "stakeholders add <@U_CFO> weekly decisions",
         "<@U_CFO> gets weekly, decisions from this channel by direct message",
         lambda h: _settings(h).stakeholders == {"U_CFO": ("weekly", "decisions")}),
        ("/raid", "settings escalations 5", "Blockers more than 5 working days overdue",
         lambda h: _settings(h).escalate_after_days == 5),
    ],
)  # fmt: skip
async def test_issue_16_settings_through_slack_are_answered_and_stored(
    slack: Harness, command: str, text: str, said: str, stored: Callable[[Harness], bool]
) -> None:
    _, _, reply_to = await slack.command(command, text)
    posted = await async_wait_for(
        lambda: slack.fake.calls_to(reply_to) or slack.fake.calls_to("chat.postMessage"), 5.0
    )
    assert said in posted[-1].body["text"], posted[-1].body["text"]
    assert stored(slack)


async def test_ack_comes_before_slow_work(slack: Harness, fake: FakeSlack) -> None:
    fake.delays["users.info"] = 1.0
    started = time.monotonic()
    status, body, _ = await slack.command("/blocker", "Slow Slack")
    acked = time.monotonic() - started
    assert (status, body) == (200, "")
    assert acked < 0.5, acked
    await slack.wait("chat.postMessage")
    assert time.monotonic() - started >= 1.0


async def test_user_time_zone_parses_dates_and_is_cached(slack: Harness, fake: FakeSlack) -> None:
    fake.timezones["U7"] = "America/New_York"
    await slack.command("/blocker", "One due friday", user="U7")
    post = await slack.last("chat.postMessage")
    assert "Fri 27 Nov 17:00 EST" in blocks_text(post.body["blocks"])
    assert slack.item("B-1").due_at == datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    await slack.command("/blocker", "Two due friday", user="U7")
    await slack.wait("chat.postMessage", 2)
    assert len(fake.calls_to("users.info")) == 1


async def test_people_text_is_unescaped_for_the_core_and_escaped_for_slack(slack: Harness) -> None:
    await slack.command("/blocker", "Fix &lt;head&gt; &amp; footer")
    post = await slack.last("chat.postMessage")
    assert slack.item("B-1").title == "Fix <head> & footer"
    assert "Fix &lt;head&gt; &amp; footer" in blocks_text(post.body["blocks"])


async def test_export_uploads_the_file_to_the_channel(slack: Harness, fake: FakeSlack) -> None:
    fake.user_names["U7"] = {"name": "dana", "profile": {"display_name": "Dana Scully"}}
    await slack.command("/blocker", "Waiting on creds <@U7>")
    await slack.wait("chat.postMessage")
    _, _, reply_to = await slack.command("/raid", "export csv")
    complete = await slack.last("files.completeUploadExternal")
    assert complete.body["channel_id"] == "C1"
    upload = next(c for c in fake.calls if c.method.startswith("upload:"))
    assert b"Waiting on creds" in upload.raw
    # people by the name Slack shows, never as chat markup
    assert b"B-1,blocker,Waiting on creds,Dana Scully,open," in upload.raw
    assert b"<@U7>" not in upload.raw and b",U7," not in upload.raw
    answer = await slack.last(reply_to)
    assert "Exported this channel's register as CSV" in answer.body["text"]


async def test_export_to_a_channel_without_the_bot_says_so(slack: Harness, fake: FakeSlack) -> None:
    fake.script("files.completeUploadExternal", body={"ok": False, "error": "not_in_channel"})
    _, _, reply_to = await slack.command("/raid", "export json")
    answer = await slack.last(reply_to)
    assert answer.body["response_type"] == "ephemeral"
    assert "couldn't upload" in answer.body["text"] and "not_in_channel" in answer.body["text"]


async def test_visible_reply_in_a_channel_without_the_bot_uses_response_url(
    slack: Harness, fake: FakeSlack
) -> None:
    fake.script("chat.postMessage", body={"ok": False, "error": "not_in_channel"})
    _, _, reply_to = await slack.command("/blocker", "Private channel blocker", channel="G1")
    answer = await slack.last(reply_to)
    assert answer.body["response_type"] == "in_channel"
    assert "*B-1*  Private channel blocker" in blocks_text(answer.body["blocks"])
    assert slack.item("B-1", channel="G1").kind is Kind.BLOCKER
