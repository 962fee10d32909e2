"""Start-up, messages raidline sends on its own, 429s, and Socket Mode."""

from __future__ import annotations

import re
import socket
from urllib.parse import parse_qsl

import pytest
from slack_sdk.errors import SlackApiError

from adapters.platform import EXIT_UNAVAILABLE
from adapters.runtime.config import ConfigError
from adapters.slack import SlackStartError
from bot import actions, errors
from bot.domain.model import ChannelKey
from bot.messages import Outgoing, Reply, Request, Tone, Visibility
from bot.scheduler import Scheduler
from tests.adapters.slack import wire
from tests.adapters.slack.conftest import Harness, MakeSlack, blocks_text
from tests.adapters.slack.fake_slack import FakeSlack, async_wait_for
from tests.fakes import FixedClock

CHANNEL = ChannelKey("slack", "T1", "C1")


async def test_start_checks_the_bot_token(make_slack: MakeSlack, fake: FakeSlack) -> None:
    slack = await make_slack(start=False, SLACK_BOT_TOKEN="xoxb-wrong")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN: Slack refused the token"):
        await slack.adapter.start()
    assert not slack.adapter.connected
    good = await make_slack()
    assert good.adapter.connected
    assert good.adapter.identity["team_id"] == "T1"


async def test_send_posts_to_the_channel_or_thread_and_returns_the_ts(slack: Harness) -> None:
    ts = await slack.adapter.send(Outgoing(CHANNEL, Reply("Digest: all quiet")))
    post = await slack.last("chat.postMessage")
    assert ts and post.body["channel"] == "C1" and post.body["text"] == "Digest: all quiet"
    await slack.adapter.send(Outgoing(CHANNEL, Reply("Reminder"), thread=ts))
    assert (await slack.last("chat.postMessage", 2)).body["thread_ts"] == ts


async def test_an_edit_updates_the_posted_message_in_place(slack: Harness) -> None:
    ts = await slack.adapter.send(Outgoing(CHANNEL, Reply("Standup summary: 1 answered")))
    assert ts is not None
    edited = await slack.adapter.send(
        Outgoing(CHANNEL, Reply("Standup summary: 2 answered"), edit=ts)
    )
    assert edited == ts
    update = await slack.last("chat.update")
    assert update.body["channel"] == "C1" and update.body["ts"] == ts
    assert update.body["text"] == "Standup summary: 2 answered"
    assert len(slack.fake.calls_to("chat.postMessage")) == 1  # nothing new posted


async def test_a_late_answer_updates_the_posted_summary_with_chat_update(
    slack: Harness, clock: FixedClock
) -> None:
    """Through the Slack stand-in: a standup with late answers on, its summary posted with
    chat.postMessage, a late answer, and the same message updated with chat.update."""
    for text in ("members <@U1> <@U2>", "window 1h", "late 4h", "now"):
        status, _, _ = await slack.command("/standup", text)
        assert status == 200
    scheduler = Scheduler(slack.core.uow_factory, slack.adapter, clock=clock)
    await scheduler.tick()
    opening = await slack.last("chat.postMessage")
    assert opening.body["text"].startswith("Standup time!")
    assert slack.store is not None
    (standup,) = slack.store.state.standups.values()
    form = actions.standup_answer(standup.stored_id)

    async def answer(user: str, text: str) -> Reply:
        return await slack.core.handle(Request(CHANNEL, user, action_id=form, values={"q0": text}))

    assert (await answer("U1", "shipped login")).tone is Tone.SUCCESS
    clock.advance(hours=1)
    await scheduler.tick()
    summary = await slack.last("chat.postMessage", 2)
    assert summary.body["text"].startswith("Standup summary: 1 answered, 1 did not")
    ts = summary.ts

    posts = len(slack.fake.calls_to("chat.postMessage"))
    clock.advance(minutes=20)
    late = await answer("U2", "fixed the VPN")
    assert "saved as a late answer" in late.text
    await scheduler.tick()
    update = await slack.last("chat.update")
    assert (update.body["channel"], update.body["ts"]) == ("C1", ts)
    assert update.body["text"].startswith("Standup summary: 2 answered")
    assert "(late, Wed 25 Nov 11:20 CET)" in blocks_text(update.body["blocks"])
    assert len(slack.fake.calls_to("chat.postMessage")) == posts  # nothing new posted


async def test_a_late_answer_through_the_answer_buttons_modal(
    slack: Harness, clock: FixedClock
) -> None:
    """The same story clicked and typed as a member does: the opening's Answer button after
    the close opens the answer modal (views.open), its submission is saved as a late answer
    and the summary is updated with chat.update."""
    for text in ("members <@U1> <@U2>", "window 1h", "late 4h", "now"):
        await slack.command("/standup", text)
    scheduler = Scheduler(slack.core.uow_factory, slack.adapter, clock=clock)
    await scheduler.tick()
    opening = await slack.last("chat.postMessage")
    assert slack.store is not None
    (standup,) = slack.store.state.standups.values()
    block_id, button = wire.find_button(
        opening.body["blocks"], actions.standup_answer(standup.stored_id)
    )
    clock.advance(hours=1)
    await scheduler.tick()
    summary = await slack.last("chat.postMessage", 2)
    assert summary.body["text"].startswith("Standup summary: 0 answered, 2 did not")

    clock.advance(minutes=20)
    await slack.interact(
        wire.block_actions(button, block_id, user="U2", message_blocks=opening.body["blocks"])
    )
    view = (await slack.last("views.open")).body["view"]
    assert view["callback_id"] == actions.standup_answer(standup.stored_id)
    status, _ = await slack.interact(wire.view_submission(view, {"q0": "fixed the VPN"}, user="U2"))
    assert status == 200
    thanks = await async_wait_for(
        lambda: [
            c
            for c in slack.fake.calls_to("chat.postEphemeral")
            if "saved as a late answer" in c.body["text"]
        ],
        5.0,
    )
    assert thanks[-1].body["user"] == "U2"
    (answer,) = slack.store.state.answers.values()
    assert (answer.person, answer.answers[0]) == ("U2", "fixed the VPN")
    await scheduler.tick()
    update = await slack.last("chat.update")
    assert update.body["ts"] == summary.ts
    assert update.body["text"].startswith("Standup summary: 1 answered")
    assert "(late, Wed 25 Nov 11:20 CET)" in blocks_text(update.body["blocks"])


async def test_members_own_time_zones_come_from_users_info(slack: Harness, fake: FakeSlack) -> None:
    """A "dm local" standup asks each member at their own time: Slack's users.info ``tz``."""
    fake.timezones.update({"U7": "Asia/Kolkata", "U8": "Europe/Lisbon"})
    directory = slack.core.zone_directories["slack"]
    zones = await directory.timezones(CHANNEL, ["U7", "U8"])
    assert zones == {"U7": "Asia/Kolkata", "U8": "Europe/Lisbon"}
    assert {c.body["user"] for c in fake.calls_to("users.info")} >= {"U7", "U8"}
    await directory.timezones(CHANNEL, ["U7"])  # cached: no second call
    assert [c.body["user"] for c in fake.calls_to("users.info")].count("U7") == 1


async def test_a_429_is_retried_after_retry_after(slack: Harness, fake: FakeSlack) -> None:
    fake.script(
        "chat.postMessage",
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "0"},
    )
    ts = await slack.adapter.send(Outgoing(CHANNEL, Reply("Standup time!")))
    calls = fake.calls_to("chat.postMessage")
    assert len(calls) == 2 and ts is not None
    assert calls[1].body["text"] == "Standup time!"


async def test_429_on_a_command_reply_still_reaches_the_channel(
    slack: Harness, fake: FakeSlack
) -> None:
    fake.script(
        "chat.postMessage",
        status=429,
        body={"ok": False, "error": "ratelimited"},
        headers={"Retry-After": "1"},
    )
    await slack.command("/blocker", "Busy channel")
    calls = await slack.wait("chat.postMessage", 2, within=5)
    assert calls[1].at - calls[0].at >= 0.9
    assert "Busy channel" in blocks_text(calls[1].body["blocks"])


async def test_exhausted_retries_raise_never_drop_silently(slack: Harness, fake: FakeSlack) -> None:
    for _ in range(4):
        fake.script(
            "chat.postMessage",
            status=429,
            body={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": "0"},
        )
    with pytest.raises(SlackApiError):
        await slack.adapter.send(Outgoing(CHANNEL, Reply("Nudge")))
    assert len(fake.calls_to("chat.postMessage")) == 4


async def test_a_reply_slack_refuses_tells_the_person(slack: Harness, fake: FakeSlack) -> None:
    fake.script("chat.postMessage", body={"ok": False, "error": "msg_too_long"})
    _, _, reply_to = await slack.command("/blocker", "Refused post")
    told = (await slack.last(reply_to)).body
    assert told["response_type"] == "ephemeral"
    assert "couldn't post this in the channel" in told["text"] and "msg_too_long" in told["text"]
    assert "Logged B-1" in told["text"]


async def test_unexpected_error_becomes_an_apology_with_an_incident_id(
    slack: Harness, fake: FakeSlack
) -> None:
    fake.script("views.open", status=500, body={"ok": False, "error": "fatal_error"})
    _, _, reply_to = await slack.command("/blocker")
    apology = (await slack.last(reply_to)).body
    assert apology["response_type"] == "ephemeral"
    assert "Sorry, something went wrong" in apology["text"]
    assert "incident id" in apology["text"]
    assert "fatal_error" not in apology["text"]
    # The one apology of bot/errors.py, with the incident id the log record carries.
    incident = re.search(r"incident id ([0-9a-f]{8})", apology["text"])
    assert incident is not None
    assert apology["text"] == ":warning: " + errors.apology(incident.group(1))


async def test_send_to_a_person_opens_a_dm(slack: Harness) -> None:
    reply = Reply("Your standup answer?", visibility=Visibility.CHANNEL)
    await slack.adapter.send(Outgoing(CHANNEL, reply, to_user="U4"))
    post = await slack.last("chat.postMessage")
    assert post.body["channel"] == "DU4"


async def test_socket_mode_round_trip_with_a_reconnect(
    make_slack: MakeSlack, fake: FakeSlack
) -> None:
    slack = await make_slack(SLACK_APP_TOKEN="xapp-test", SLACK_SIGNING_SECRET="")
    assert slack.adapter.connected
    assert fake.calls_to("apps.connections.open")[0].token == "xapp-test"
    await async_wait_for(lambda: fake.open_sockets == 1)
    # No HTTP route in Socket Mode.
    status, _ = await slack.post(wire.slash("/blocker", "x"), wire.FORM)
    assert status == 404

    payload = dict(parse_qsl(wire.slash("/blocker", "Over the socket").decode()))
    envelope = fake.push("slash_commands", payload)
    ack = await async_wait_for(lambda: fake.ack_for(envelope))
    assert ack == {"envelope_id": envelope}
    post = await slack.last("chat.postMessage")
    assert "Over the socket" in blocks_text(post.body["blocks"])

    fake.disconnect("refresh_requested")
    await async_wait_for(lambda: fake.connections == 2 and fake.open_sockets == 1, within=10)
    assert len(fake.calls_to("apps.connections.open")) == 2
    envelope = fake.push(
        "events_api",
        {
            "type": "event_callback",
            "team_id": "T1",
            "event": {"type": "app_home_opened", "user": "U1", "tab": "home"},
        },
    )
    await async_wait_for(lambda: fake.ack_for(envelope))
    await slack.wait("views.publish")
    assert slack.adapter.connected


async def test_socket_mode_refused_app_token(make_slack: MakeSlack) -> None:
    slack = await make_slack(start=False, SLACK_APP_TOKEN="xapp-wrong", SLACK_SIGNING_SECRET="")
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN"):
        await slack.adapter.start()


async def test_start_says_when_slack_cant_be_reached(make_slack: MakeSlack) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    slack = await make_slack(start=False, SLACK_API_URL=f"http://127.0.0.1:{port}/api/")
    with pytest.raises(SlackStartError, match=r"can.t reach Slack at http://127\.0\.0\.1") as error:
        await slack.adapter.start()
    assert error.value.status == EXIT_UNAVAILABLE
