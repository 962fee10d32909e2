"""Modals, buttons and selects: forms, clicks that edit in place, refusals, restarts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapters.discord import DiscordAdapter
from bot.dispatcher import Core
from bot.domain.model import ChannelKey
from bot.messages import (
    Action,
    Form,
    FormField,
    InputKind,
    Outgoing,
    Reply,
    Request,
    Tone,
    Visibility,
)
from storage import db, migrate
from storage.uow import make_uow_factory
from tests.adapters.discord.conftest import (
    ANA,
    CHANNEL_A,
    DANA,
    EVE,
    GUILD_A,
    LEAD,
    Driver,
    RecordingCore,
    StartBot,
    field_values,
    is_ephemeral,
    place,
)
from tests.adapters.discord.fake_discord import (
    FakeDiscord,
    click,
    components_of,
    custom_ids,
    modal_submit,
    opt,
    slash,
    user_opt,
)
from tests.fakes import FakeStore, FixedClock


def _labels(modal: dict[str, Any]) -> list[str]:
    return [c["label"] for c in modal["data"]["components"]]


def _inner(modal: dict[str, Any], name: str) -> dict[str, Any]:
    for label in modal["data"]["components"]:
        assert label["type"] == 18, "every input sits in a label"
        if label["component"]["custom_id"] == name:
            return dict(label["component"])
    raise AssertionError(f"no input {name!r}")


# --- modals ---------------------------------------------------------------------------------


async def test_blocker_without_options_opens_a_modal_and_its_submission_logs_it(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    modal = await discord_api.answer(slash(place(), "blocker"))
    assert modal["type"] == 9
    assert modal["data"]["custom_id"] == "rl:f:new:blocker"
    assert modal["data"]["title"] == "Log a blocker"
    assert _labels(modal) == [
        "Title",
        "Owner (who unblocks it)",
        "Due (need-by)",
        "Waiting on (person or what)",
        "Details",
    ]
    assert _inner(modal, "title")["required"] is True
    assert _inner(modal, "owner")["type"] == 5  # a user select: Discord can't take @mentions
    assert _inner(modal, "details")["style"] == 2  # paragraph
    message = await discord_api.message(
        modal_submit(
            place(),
            "rl:f:new:blocker",
            {
                "title": "Waiting on creds",
                "owner": [str(DANA)],
                "due": "tomorrow",
                "waiting_on": "",
                "details": "",
            },
        )
    )
    assert not is_ephemeral(message)
    assert message["content"] == "Logged B-1: Waiting on creds"
    assert field_values(message)["Owner"] == f"<@{DANA}>"


async def test_risk_modal_asks_five_fields_and_typed_options_cover_the_rest(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    plain = await discord_api.answer(slash(place(), "risk"))
    assert [
        _inner(plain, n)["custom_id"] for n in ("title", "likelihood", "impact", "owner", "review")
    ]
    assert len(plain["data"]["components"]) == 5
    likelihood = _inner(plain, "likelihood")
    assert likelihood["type"] == 3
    assert [o["value"] for o in likelihood["options"] if o.get("default")] == ["3"]

    typed = slash(
        place(), "risk", [opt("response", "mitigate"), opt("mitigation", "weekly check-in")]
    )
    modal = await discord_api.answer(typed)
    custom_id = modal["data"]["custom_id"]
    assert custom_id.startswith("rl:f:new:risk|")
    assert len(modal["data"]["components"]) == 5
    names = [c["component"]["custom_id"] for c in modal["data"]["components"]]
    assert names == ["title", "likelihood", "impact", "owner", "review"]
    message = await discord_api.message(
        modal_submit(
            place(),
            custom_id,
            {
                "title": "Vendor may slip",
                "likelihood": ["5"],
                "impact": ["4"],
                "owner": [],
                "review": "",
            },
        )
    )
    fields = field_values(message)
    assert fields["Score"] == "20 (high)"
    assert fields["Response"] == "mitigate"
    assert fields["Mitigation"] == "weekly check-in"


async def test_a_refused_modal_saves_nothing_and_fix_it_reopens_it_filled_in(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    refused = await discord_api.answer(
        modal_submit(
            place(),
            "rl:f:new:blocker",
            {"title": "Waiting on creds", "owner": [], "due": "next sprint", "waiting_on": "IT"},
        )
    )
    assert refused["type"] == 4
    assert is_ephemeral(refused)
    errors = field_values(refused["data"])
    assert list(errors) == ["Due (need-by)"]
    listing = await discord_api.answer(slash(place(), "raid list"))
    assert "none" in listing["data"]["content"]

    error_message = await discord_api.message(
        modal_submit(
            place(),
            "rl:f:new:blocker",
            {"title": "Waiting on creds", "owner": [], "due": "next sprint", "waiting_on": "IT"},
        )
    )
    fix = next(c for c in custom_ids(error_message) if c.startswith("rl:x:"))
    reopened = await discord_api.answer(click(place(), error_message, fix))
    assert reopened["type"] == 9
    assert _inner(reopened, "title")["value"] == "Waiting on creds"
    assert _inner(reopened, "due")["value"] == "next sprint"
    fixed = await discord_api.message(
        modal_submit(
            place(),
            reopened["data"]["custom_id"],
            {"title": "Waiting on creds", "owner": [], "due": "friday", "waiting_on": "IT"},
            message=error_message,
        )
    )
    assert fixed["content"].startswith("Logged B-1: Waiting on creds")
    assert not is_ephemeral(fixed)
    assert field_values(fixed)["Waiting on"] == "IT"


async def test_someone_elses_form_token_is_not_used(
    bot: DiscordAdapter, discord_api: Driver
) -> None:
    modal = await discord_api.answer(
        slash(place(), "risk", [opt("mitigation", "ana's secret plan")])
    )
    custom_id = modal["data"]["custom_id"]
    message = await discord_api.message(
        modal_submit(
            place(user=EVE),
            custom_id,
            {"title": "Eve's risk", "likelihood": ["2"], "impact": ["2"]},
        )
    )
    assert "Mitigation" not in field_values(message)


# --- buttons and selects --------------------------------------------------------------------


async def _log_blocker(discord_api: Driver, who: int = ANA, **kw: int) -> dict[str, Any]:
    options = [opt("title", "Waiting on firewall")] + [user_opt(k, v) for k, v in kw.items()]
    return await discord_api.message(slash(place(user=who), "blocker", options))


async def test_resolve_click_edits_the_message_in_place(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver, fake: FakeDiscord
) -> None:
    message = await _log_blocker(discord_api, owner=DANA)
    assert "rl:a:resolve:B-1" in custom_ids(message)
    body = await discord_api.answer(click(place(user=DANA), message, "rl:a:resolve:B-1"))
    assert body["type"] == 7
    edited = fake.message(message["id"])
    assert edited["embeds"][0]["description"] == "**Blocker** · resolved"
    assert edited["embeds"][0]["color"] == 0x2ECC71
    assert custom_ids(edited) == ["rl:a:reopen:B-1"]
    history = await discord_api.answer(slash(place(), "raid history", [opt("ref", "B-1")]))
    assert f"<@{DANA}> resolved" in json.dumps(history["data"]["embeds"])


async def test_a_click_the_rules_refuse_is_answered_privately_and_changes_nothing(
    bot: DiscordAdapter, discord_api: Driver, fake: FakeDiscord
) -> None:
    await discord_api.answer(
        slash(place(user=LEAD), "raid settings leads", [user_opt("lead", LEAD)])
    )
    message = await _log_blocker(discord_api, owner=DANA)
    body = await discord_api.answer(click(place(user=EVE), message, "rl:a:resolve:B-1"))
    assert body["type"] == 4
    assert is_ephemeral(body)
    assert "owner" in body["data"]["content"] or "lead" in body["data"]["content"]
    assert fake.message(message["id"])["embeds"] == message["embeds"]
    shown = await discord_api.answer(slash(place(), "raid show", [opt("ref", "B-1")]))
    assert shown["data"]["embeds"][0]["description"] == "**Blocker** · open"


async def test_take_it_and_assign_select(
    bot: DiscordAdapter, discord_api: Driver, fake: FakeDiscord
) -> None:
    message = await _log_blocker(discord_api)
    select = next(c for c in components_of(message) if c["type"] == 5)
    assert select["custom_id"] == "rl:u:owner:assign:B-1"
    taken = await discord_api.answer(click(place(user=EVE), message, "rl:a:take:B-1"))
    assert taken["type"] == 7
    assert field_values(fake.message(message["id"]))["Owner"] == f"<@{EVE}>"
    message = fake.message(message["id"])
    assigned = await discord_api.answer(
        click(
            place(user=EVE), message, "rl:u:owner:assign:B-1", values=[str(DANA)], component_type=5
        )
    )
    assert assigned["type"] == 7
    assert field_values(fake.message(message["id"]))["Owner"] == f"<@{DANA}>"


async def test_new_date_opens_a_modal_and_its_submission_edits_the_message(
    bot: DiscordAdapter, discord_api: Driver, fake: FakeDiscord
) -> None:
    message = await _log_blocker(discord_api, owner=DANA)
    modal = await discord_api.answer(click(place(user=DANA), message, "rl:a:due:B-1"))
    assert modal["type"] == 9
    assert modal["data"]["custom_id"] == "rl:f:due:B-1"
    assert _labels(modal) == ["Due"]
    bad = await discord_api.answer(
        modal_submit(place(user=DANA), "rl:f:due:B-1", {"due": "12/05"}, message=message)
    )
    assert is_ephemeral(bad)
    assert fake.message(message["id"])["embeds"] == message["embeds"]
    good = await discord_api.answer(
        modal_submit(place(user=DANA), "rl:f:due:B-1", {"due": "Dec 5"}, message=message)
    )
    assert good["type"] == 7
    # Sat 5 Dec 2026, 17:00 in Berlin.
    assert field_values(fake.message(message["id"]))["Due"].startswith("<t:1796486400:f>")


async def test_change_request_approve_and_reject_with_reason(
    bot: DiscordAdapter, discord_api: Driver, fake: FakeDiscord
) -> None:
    options = [
        opt("title", "Add CRM"),
        opt("impact", "scope +1 CRM module"),
        user_opt("approver", DANA),
    ]
    first = await discord_api.message(slash(place(), "change", options))
    second = await discord_api.message(slash(place(), "change", options))

    refused = await discord_api.answer(click(place(user=EVE), first, "rl:a:approve:C-1"))
    assert is_ephemeral(refused)
    assert f"<@{DANA}>" in refused["data"]["content"]
    approved = await discord_api.answer(click(place(user=DANA), first, "rl:a:approve:C-1"))
    assert approved["type"] == 7
    assert fake.message(first["id"])["embeds"][0]["description"] == "**Change request** · approved"

    # Not the approver: refused before any form opens.
    no_modal = await discord_api.answer(click(place(user=EVE), second, "rl:a:reject:C-2"))
    assert no_modal["type"] == 4
    assert is_ephemeral(no_modal)
    modal = await discord_api.answer(click(place(user=DANA), second, "rl:a:reject:C-2"))
    assert modal["type"] == 9
    assert _labels(modal) == ["Reason"]
    rejected = await discord_api.answer(
        modal_submit(place(user=DANA), "rl:f:reject:C-2", {"reason": "no budget"}, message=second)
    )
    assert rejected["type"] == 7
    edited = fake.message(second["id"])
    assert edited["embeds"][0]["description"] == "**Change request** · rejected"
    assert "no budget" in json.dumps(edited["embeds"])


async def test_decide_button_opens_the_decision_form(
    bot: DiscordAdapter, discord_api: Driver, fake: FakeDiscord
) -> None:
    message = await discord_api.message(
        slash(
            place(),
            "decision",
            [opt("title", "Pick SSO"), user_opt("decider", DANA), opt("state", "needed")],
        )
    )
    modal = await discord_api.answer(click(place(user=DANA), message, "rl:a:decide:D-1"))
    assert _labels(modal) == ["What was decided", "Why"]
    await discord_api.answer(
        modal_submit(
            place(user=DANA),
            "rl:f:decide:D-1",
            {"outcome": "Okta", "rationale": "SCIM"},
            message=message,
        )
    )
    fields = field_values(fake.message(message["id"]))
    assert fields["Outcome"] == "Okta"
    assert fake.message(message["id"])["embeds"][0]["description"] == "**Decision** · decided"


async def test_more_pages_through_a_long_list_in_place(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver, fake: FakeDiscord
) -> None:
    channel = ChannelKey("discord", str(GUILD_A), str(CHANNEL_A))
    for n in range(17):
        await core.handle(Request(channel, str(ANA), command="blocker", text=f"Blocker number {n}"))
    first = await discord_api.message(slash(place(), "raid list"))
    assert (
        first["content"] == "Open blockers: 17 (page 1 of 2)" or "page 1 of 2" in first["content"]
    )
    more = next(c for c in custom_ids(first) if c.startswith("rl:a:list:"))
    body = await discord_api.answer(click(place(), first, more))
    assert body["type"] == 7
    second = fake.message(first["id"])
    assert "page 2 of 2" in second["content"]
    assert "Blocker number 16" in json.dumps(second["embeds"])


def _with_button(message: dict[str, Any], custom_id: str) -> dict[str, Any]:
    """``message`` as if it had been sent with one button ``custom_id``."""
    button = {"type": 2, "style": 2, "label": "Next ▶", "custom_id": custom_id}
    return {**message, "components": [{"type": 1, "components": [button]}]}


async def test_a_long_history_pages_with_buttons(
    bot: DiscordAdapter, core: RecordingCore, discord_api: Driver, fake: FakeDiscord
) -> None:
    channel = ChannelKey("discord", str(GUILD_A), str(CHANNEL_A))
    await core.handle(Request(channel, str(ANA), command="blocker", text="Long story"))
    for n in range(60):
        note = f"note {n:02d} " + "x" * 120
        await core.handle(Request(channel, str(ANA), command="raid", text=f"note B-1 {note}"))
    first = await discord_api.message(slash(place(), "raid history", [opt("ref", "B-1")]))
    assert is_ephemeral(first)
    assert custom_ids(first) == ["rl:o:1:raid:history:ref=B-1"]
    seen = json.dumps(first["embeds"])
    page = first
    for n in range(1, 10):
        assert len(page["embeds"]) <= 10
        assert (
            sum(len(e.get("description") or "") + len(e.get("title") or "") for e in page["embeds"])
            <= 6000
        )
        nexts = [c for c in components_of(page) if c.get("label") == "Next ▶"]
        if not nexts:
            break
        assert nexts[0]["custom_id"] == f"rl:o:{n}:raid:history:ref=B-1"
        body = await discord_api.answer(click(place(), page, nexts[0]["custom_id"]))
        assert body["type"] == 7
        page = fake.message(first["id"])
        assert f"Page {n + 1} of" in json.dumps(page["embeds"])
        assert f"rl:o:{n - 1}:raid:history:ref=B-1" in custom_ids(page)
        seen += json.dumps(page["embeds"])
    assert n >= 2, "the history needs more than one page"
    for number in range(60):
        assert f"note {number:02d} " in seen
    # A page button of a message sent when slash commands still became text keeps working.
    body = await discord_api.answer(
        click(place(), _with_button(first, "rl:p:1:raid:history B-1"), "rl:p:1:raid:history B-1")
    )
    assert body["type"] == 7
    old = fake.message(first["id"])
    assert "Page 2 of" in json.dumps(old["embeds"])
    assert "rl:p:0:raid:history B-1" in custom_ids(old)
    assert (core.requests[-1].command, core.requests[-1].text) == ("raid", "history B-1")
    # Nor may a forged page button run anything that changes something.
    forged = "rl:o:1:raid:resolve:ref=B-1"
    body = await discord_api.answer(click(place(), _with_button(first, forged), forged))
    assert body["data"]["content"] == "That button does nothing."


# --- after a restart ------------------------------------------------------------------------


async def test_buttons_keep_working_after_the_bot_restarts(
    start_bot: StartBot, fake: FakeDiscord, discord_api: Driver, tmp_path: Path, clock: FixedClock
) -> None:
    url = f"sqlite:///{tmp_path / 'raidline.db'}"
    migrate.upgrade(url)

    def fresh_core() -> tuple[Core, Any]:
        engine = db.create_engine(url)
        return Core(make_uow_factory(engine), clock=clock, default_timezone="Europe/Berlin"), engine

    core1, engine1 = fresh_core()
    bot1 = await start_bot(core1)
    message = await discord_api.message(
        slash(place(), "blocker", [opt("title", "Survives restarts"), user_opt("owner", DANA)])
    )
    await bot1.stop()
    await engine1.dispose()

    core2, engine2 = fresh_core()
    try:
        await start_bot(core2)
        assert fake.identifies == 2
        modal = await discord_api.answer(click(place(user=DANA), message, "rl:a:due:B-1"))
        assert modal["type"] == 9, "the New date form is known without the first process"
        body = await discord_api.answer(click(place(user=DANA), message, "rl:a:resolve:B-1"))
        assert body["type"] == 7
        edited = fake.message(message["id"])
        assert edited["embeds"][0]["description"] == "**Blocker** · resolved"
        shown = await discord_api.answer(slash(place(), "raid show", [opt("ref", "B-1")]))
        assert shown["data"]["embeds"][0]["description"] == "**Blocker** · resolved"
    finally:
        await engine2.dispose()


# --- a click the core answers with a form ---------------------------------------------------


class StandupCore(RecordingCore):
    """The core, with a standup whose Answer button the core answers with its form."""

    FORM = Form(
        "standup_answer:7",
        "Standup",
        tuple(
            FormField(f"q{n}", f"Question {n}", InputKind.LONG_TEXT, max_length=3000)
            for n in range(5)
        ),
        "Send answer",
    )

    async def handle(self, request: Request) -> Reply:
        if request.action_id == "standup_answer:7":
            self.requests.append(request)
            if not request.values:
                return Reply("Answer the standup", form=self.FORM)
            answered = sum(1 for v in request.values.values() if v)
            return Reply(f"Thanks, {answered} answers saved", tone=Tone.SUCCESS)
        return await super().handle(request)


async def test_a_click_the_core_answers_with_a_form_opens_a_modal(
    start_bot: StartBot, fake: FakeDiscord, discord_api: Driver, clock: FixedClock
) -> None:
    core = StandupCore(FakeStore(), clock=clock, default_timezone="Europe/Berlin")
    adapter = await start_bot(core)
    channel = ChannelKey("discord", str(GUILD_A), str(CHANNEL_A))
    opening = Reply(
        "Standup time!",
        Visibility.CHANNEL,
        actions=(Action("Answer", "standup_answer:7", "primary"),),
    )
    message_id = await adapter.send(Outgoing(channel, opening))
    assert message_id is not None
    message = fake.message(message_id)
    modal = await discord_api.answer(click(place(user=DANA), message, "rl:a:standup_answer:7"))
    assert modal["type"] == 9
    assert modal["data"]["custom_id"] == "rl:f:standup_answer:7"
    assert _labels(modal) == [f"Question {n}" for n in range(5)]
    thanks = await discord_api.answer(
        modal_submit(
            place(user=DANA),
            "rl:f:standup_answer:7",
            {"q0": "shipped login", "q1": "", "q2": "", "q3": "", "q4": "nothing"},
            message=message,
        )
    )
    # A private answer to a click on a public message: a private reply, the standup untouched.
    assert thanks["type"] == 4
    assert is_ephemeral(thanks)
    assert thanks["data"]["content"] == "Thanks, 2 answers saved"
    assert fake.message(message_id)["content"] == "Standup time!"
    assert core.requests[-1].values["q0"] == "shipped login"


async def test_edit_opens_the_items_modal_filled_with_its_values_and_edits_the_card(
    bot: DiscordAdapter, discord_api: Driver, fake: FakeDiscord
) -> None:
    options = [
        opt("title", "Vendor may slip"),
        opt("likelihood", "4"),
        opt("impact", "3"),
        opt("mitigation", "weekly call"),
    ]
    message = await discord_api.message(slash(place(), "risk", options))
    assert "rl:a:edit:R-1" in custom_ids(message)
    modal = await discord_api.answer(click(place(), message, "rl:a:edit:R-1"))
    assert modal["type"] == 9
    # at most five inputs: the details (last) are left out, and so left as they are
    assert _labels(modal) == ["Title", "Likelihood", "Impact", "Response", "Mitigation"]
    assert _inner(modal, "title")["value"] == "Vendor may slip"
    assert _inner(modal, "mitigation")["value"] == "weekly call"
    likelihood = _inner(modal, "likelihood")["options"]
    assert [o["value"] for o in likelihood if o.get("default")] == ["4"]
    edited = await discord_api.answer(
        modal_submit(
            place(),
            modal["data"]["custom_id"],
            {
                "title": "Vendor may slip SSO",
                "likelihood": ["5"],
                "impact": ["3"],
                "response": [],
                "mitigation": "weekly call",
            },
            message=message,
        )
    )
    assert edited["type"] == 7  # the card is edited in place
    fields = field_values(fake.message(message["id"]))
    assert fields["Score"] == "15 (high)"
    assert fields["Mitigation"] == "weekly call"
