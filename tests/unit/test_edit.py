"""Editing items in place: ``/raid edit``, its aliases ``rename`` and ``rescore``, the Edit
button's prefilled form, the history of every edit and a risk's score and band."""

from __future__ import annotations

import io

import pytest

from adapters.console import Console, StreamLines
from bot.commands.registry import COMMANDS
from bot.domain.model import Kind, Status
from bot.domain.scores import Band, band
from bot.messages import Request, Tone, Visibility
from bot.views.plain import render_text
from tests.unit.conftest import Chat


async def seed(chat: Chat) -> None:
    """One of each kind, reported by ana."""
    await chat.say("/blocker Waiting on firewall change @dana due friday")  # B-1
    await chat.say("/risk Vendor may slip likelihood high impact medium @bob")
    await chat.say("/decision needed Pick the SSO vendor @cio by Dec 5")  # D-1
    await chat.say("/change Add CRM integration impact schedule +2 weeks @sponsor")  # C-1


# --- every field a kind has ------------------------------------------------------------------

EDITS = [
    # (command, ref, item field, stored value, what the reply says)
    ("/raid edit B-1 title Waiting on the firewall rule", "B-1", "title",
     "Waiting on the firewall rule",
     "title: Waiting on firewall change → Waiting on the firewall rule"),
    ("/raid edit B-1 waiting on NetOps", "B-1", "waiting_on", "NetOps", "waiting on: NetOps"),
    ("/raid edit B-1 waiting @erin", "B-1", "waiting_on", "<@erin>", "waiting on: <@erin>"),
    ("/raid edit B-1 details ticket NET-42", "B-1", "details", "ticket NET-42",
     "details: ticket NET-42"),
    ("/raid edit R-1 likelihood very low", "R-1", "likelihood", 1,
     "likelihood: high (4) → very low (1); score: 12 (medium) → 3 (low)"),
    ("/raid edit R-1 impact 5", "R-1", "impact", 5,
     "impact: medium (3) → very high (5); score: 12 (medium) → 20 (high)"),
    ("/raid edit R-1 response mitigate", "R-1", "response", "mitigate", "response: mitigate"),
    ("/raid edit R-1 mitigation weekly vendor call", "R-1", "mitigation", "weekly vendor call",
     "mitigation: weekly vendor call"),
    ("/raid edit D-1 question Pick the SSO vendor for staff", "D-1", "title",
     "Pick the SSO vendor for staff", "title: Pick the SSO vendor → Pick the SSO vendor for staff"),
    ("/raid edit D-1 rationale audit due in Q1", "D-1", "rationale", "audit due in Q1",
     "rationale: audit due in Q1"),
    ("/raid edit C-1 impact schedule +3 weeks, cost £5k", "C-1", "impacts",
     {"schedule": "+3 weeks", "cost": "£5k"},
     "impact: schedule +2 weeks → schedule +3 weeks; cost £5k"),
    ("/raid edit C-1 why sales needs leads in the CRM", "C-1", "rationale",
     "sales needs leads in the CRM", "why: sales needs leads in the CRM"),
    ("/raid rename C-1 Add the CRM integration", "C-1", "title", "Add the CRM integration",
     "title: Add CRM integration → Add the CRM integration"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "ref", "field", "value", "said"), EDITS, ids=[e[0] for e in EDITS]
)
async def test_edit_changes_one_field_and_says_what_changed(
    chat: Chat, line: str, ref: str, field: str, value: object, said: str
) -> None:
    await seed(chat)
    reply = await chat.say(line)
    assert reply.tone is Tone.SUCCESS, reply.text
    assert reply.visibility is Visibility.CHANNEL
    assert reply.text == f"Edited {ref}: {said}"
    stored = getattr(chat.item(ref), field)
    assert (dict(stored) if field == "impacts" else stored) == value
    (history,) = (await chat.say(f"/raid history {ref}")).sections
    assert history.lines[-1].endswith(f"<@ana> edited: {said}"), history.lines[-1]


async def test_edit_owner_and_date_follow_the_rules_of_assign_and_due(chat: Chat) -> None:
    await seed(chat)
    assert (await chat.say("/raid edit B-1 owner @erin")).text.startswith("Assigned B-1")
    assert chat.item("B-1").owner == "erin"
    assert (await chat.say("/raid edit R-1 review next tuesday")).text.startswith("Re-dated R-1")
    assert chat.item("R-1").due_at is not None
    # the decider of a pending decision is changed only by a lead or the decider
    await chat.say("/raid settings leads @raj", user="raj")
    refused = await chat.say("/raid edit D-1 decider @erin", user="ana")
    assert refused.tone is Tone.ERROR and "may change who decides D-1" in refused.text
    assert (await chat.say("/raid edit C-1 date friday")).text == (
        "Change requests have no date; C-1 can't be re-dated."
    )


async def test_rescore_sets_likelihood_and_impact_in_one_event(chat: Chat) -> None:
    await seed(chat)
    for line, likelihood, impact in (
        ("/raid rescore R-1 very high low", 5, 2),
        ("/raid rescore R-1 3 5", 3, 5),
        ("/raid rescore R-1 likelihood 1 impact 1", 1, 1),
        ("/raid rescore R-1 5x5", 5, 5),
    ):
        reply = await chat.say(line)
        assert reply.tone is Tone.SUCCESS, (line, reply.text)
        r1 = chat.item("R-1")
        assert (r1.likelihood, r1.impact) == (likelihood, impact)
    shown = await chat.say("/raid show R-1")
    fields = {f.label: f.value for f in shown.cards[0].fields}
    assert fields["Score"] == "25 (high)"
    (scores,) = shown.sections
    assert [line.split(" · ")[1] for line in scores.lines] == [
        "12 (medium)", "10 (medium)", "15 (high)", "1 (low)", "25 (high)"
    ]  # fmt: skip
    (history,) = (await chat.say("/raid history R-1")).sections
    assert history.lines[-1].endswith("score: 1 (low) → 25 (high)")


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/raid rescore B-1 high low", "Only risks have a score; B-1 is a blocker."),
        ("/raid rescore R-1 high", "Give R-1's likelihood and impact"),
        ("/raid rescore R-1 huge tiny", "`/raid rescore R-1 high medium`"),
        (
            "/raid edit B-1 colour red",
            "`colour` is not a field of a blocker. A blocker's fields: "
            "`title`, `waiting on`, `owner`, `due`, `details`.",
        ),
        ("/raid edit B-1 titel Typo", "Did you mean `title`?"),
        (
            "/raid edit B-1 details",
            "Say the new details: `/raid edit B-1 details <new details>` "
            "(or `/raid edit B-1 details none` to clear it).",
        ),
        ("/raid edit R-1 likelihood sometimes", "`sometimes` is not a likelihood I know."),
        ("/raid edit R-1 response ignore", "`ignore` is not a risk response."),
        ("/raid edit C-1 impact schedule later", "`schedule later` has no size"),
        ("/raid edit B-1 title \u200b\u200b", "An item needs a title"),
        ("/raid rename B-1", "Say the new title: `/raid edit B-1 title <new title>`."),
        ("/raid edit B-1 waiting on @here", "`@here` means everyone in the channel"),
        ("/raid edit B-1 owner <!channel>", "`@channel` means everyone in the channel"),
    ],
)
async def test_edit_refuses_bad_values_and_teaches_the_right_form(
    chat: Chat, line: str, says: str
) -> None:
    await seed(chat)
    before = {str(i.ref): i for i in chat.items()}
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert says in reply.text, reply.text
    assert {str(i.ref): i for i in chat.items()} == before


async def test_clearing_a_field_and_editing_to_the_same_value(chat: Chat) -> None:
    await seed(chat)
    await chat.say("/raid edit B-1 details ticket NET-42")
    reply = await chat.say("/raid edit B-1 details none")
    assert reply.text == "Edited B-1: details: ticket NET-42 → nothing"
    assert chat.item("B-1").details is None
    same = await chat.say("/raid edit B-1 title Waiting on firewall change")
    assert same.text == "Nothing changed: B-1 already says that."
    assert same.visibility is Visibility.PRIVATE


@pytest.mark.parametrize(
    ("setup", "line", "user", "says"),
    [
        ([], "/raid edit B-1 title Other", "zoe", "Only the owner (<@dana>), the reporter"),
        (
            ["/raid resolve B-1 done"],
            "/raid edit B-1 title Other",
            "ana",
            "B-1 is resolved: reopen it before editing.",
        ),
        (
            ["/raid decide D-1 Okta"],
            "/raid rename D-1 Other",
            "cio",
            "D-1 is already decided; its record stands: log the new decision and "
            "`/raid supersede D-1 by D-…`.",
        ),
        (
            ["/raid approve C-1"],
            "/raid edit C-1 impact schedule +1 week",
            "sponsor",
            "C-1 is approved; it was decided as it was asked: request a new change instead.",
        ),
        # the state is told before who may: a resolved blocker, asked by a stranger
        (
            ["/raid resolve B-1 done"],
            "/raid edit B-1 title Other",
            "zoe",
            "B-1 is resolved: reopen it before editing.",
        ),
    ],
)
async def test_who_may_edit_and_when(
    chat: Chat, setup: list[str], line: str, user: str, says: str
) -> None:
    await seed(chat)
    await chat.say("/raid settings leads @ana @raj")
    for step in setup:
        done = await chat.say(
            step, user={"D": "cio", "C": "sponsor"}.get(step.split()[2][0], "ana")
        )
        assert done.tone is Tone.SUCCESS, done.text
    reply = await chat.say(line, user=user)
    assert reply.tone is Tone.ERROR
    assert says in reply.text, reply.text


# --- the Edit button -------------------------------------------------------------------------


async def test_the_edit_button_opens_the_items_form_filled_with_its_values(chat: Chat) -> None:
    await seed(chat)
    await chat.say("/raid edit R-1 mitigation weekly vendor call")
    card = (await chat.say("/raid show R-1")).cards[0]
    assert "Edit" in [a.label for a in card.actions]
    opened = await chat.click("edit:R-1")
    assert opened.form is not None and opened.form.form_id == "edit:R-1"
    assert {f.name: f.default for f in opened.form.fields} == {
        "title": "Vendor may slip",
        "likelihood": "4",
        "impact": "3",
        "response": None,
        "mitigation": "weekly vendor call",
        "details": None,
    }
    change = (await chat.click("edit:C-1")).form
    assert change is not None
    assert {f.name: f.default for f in change.fields}["impact"] == "schedule +2 weeks"
    saved = await chat.click(
        "edit:R-1",
        {"title": "Vendor may slip SSO", "likelihood": "5", "impact": "3", "response": "",
         "mitigation": "", "details": "see contract"},
    )  # fmt: skip
    assert saved.tone is Tone.SUCCESS, saved.text
    assert saved.text == (
        "Edited R-1: title: Vendor may slip → Vendor may slip SSO; details: see contract; "
        "likelihood: high (4) → very high (5); mitigation: weekly vendor call → nothing; "
        "score: 12 (medium) → 15 (high)"
    )
    r1 = chat.item("R-1")
    assert (r1.title, r1.likelihood, r1.mitigation, r1.details) == (
        "Vendor may slip SSO", 5, None, "see contract"
    )  # fmt: skip
    (history,) = (await chat.say("/raid history R-1")).sections
    assert [line.split(" ")[-1] for line in history.lines] != []
    assert sum(" edited: " in line for line in history.lines) == 2  # the form: one event


async def test_a_field_left_out_of_the_form_stays_and_bad_values_go_to_their_field(
    chat: Chat,
) -> None:
    await seed(chat)
    # Discord shows at most five inputs: what it left out is not cleared
    saved = await chat.click("edit:B-1", {"title": "Waiting on the firewall", "details": ""})
    assert saved.tone is Tone.SUCCESS
    assert chat.item("B-1").title == "Waiting on the firewall"
    refused = await chat.click("edit:R-1", {"title": " \u200b", "likelihood": "often"})
    assert refused.tone is Tone.ERROR
    assert set(refused.field_errors) == {"title", "likelihood"}
    assert "is not a likelihood I know" in refused.field_errors["likelihood"]
    assert chat.item("R-1").title == "Vendor may slip"


async def test_the_edit_button_is_refused_before_any_form_opens(chat: Chat) -> None:
    await seed(chat)
    await chat.say("/raid settings leads @ana")
    refused = await chat.click("edit:B-1", user="zoe")
    assert refused.tone is Tone.ERROR and refused.form is None
    await chat.say("/raid resolve B-1")
    card = (await chat.say("/raid show B-1")).cards[0]
    assert "Edit" not in [a.label for a in card.actions]


# --- platforms: /raid edit with options; rename and rescore are typed only --------------------


async def test_edit_with_typed_options_as_discord_sends_them(chat: Chat) -> None:
    await seed(chat)
    for field, value, check in (
        ("waiting_on", "NetOps", lambda: chat.item("B-1").waiting_on == "NetOps"),
        ("owner", "<@erin>", lambda: chat.item("B-1").owner == "erin"),
        ("title", "Firewall change", lambda: chat.item("B-1").title == "Firewall change"),
    ):
        request = Request(
            chat.channel,
            "ana",
            command="raid",
            subcommand="edit",
            options={"ref": "B-1", "field": field, "value": value},
        )
        reply = await chat.core.handle(request)
        assert reply.tone is Tone.SUCCESS, reply.text
        assert check()


def test_rename_and_rescore_are_typed_only_aliases_of_edit() -> None:
    raid = COMMANDS["raid"]
    by_name = {s.name: s for s in raid.subcommands}
    assert by_name["rename"].text_only and by_name["rescore"].text_only
    assert not by_name["edit"].text_only
    assert [o.name for o in by_name["edit"].options] == ["ref", "field", "value"]
    assert "rename" in raid.usage and "rescore" in raid.usage


# --- the band of a score ---------------------------------------------------------------------


def test_every_possible_score_has_one_band() -> None:
    scores = sorted({likelihood * impact for likelihood in range(1, 6) for impact in range(1, 6)})
    assert 13 not in scores and 14 not in scores
    bands = {s: band(s) for s in scores}
    assert [s for s, b in bands.items() if b is Band.LOW] == [1, 2, 3, 4]
    assert [s for s, b in bands.items() if b is Band.MEDIUM] == [5, 6, 8, 9, 10, 12]
    assert [s for s, b in bands.items() if b is Band.HIGH] == [15, 16, 20, 25]
    with pytest.raises(ValueError):
        band(26)


async def test_a_risks_card_and_list_line_show_its_band(chat: Chat) -> None:
    await chat.say("/risk Vendor may slip likelihood very high impact high")
    reply = await chat.say("/raid list risks")
    assert "score 20 (high)" in render_text(reply)
    fields = {f.label: f.value for f in chat.last.cards[0].fields} if chat.last.cards else {}
    shown = await chat.say("/raid show R-1")
    fields = {f.label: f.value for f in shown.cards[0].fields}
    assert fields["Score"] == "20 (high)"
    assert chat.item("R-1").status is Status.OPEN
    assert chat.items(Kind.RISK)


async def test_edit_with_just_a_ref_opens_the_form_and_says_the_command(chat: Chat) -> None:
    await seed(chat)
    reply = await chat.say("/raid edit R-1")
    assert reply.form is not None and reply.form.form_id == "edit:R-1"
    assert reply.text == (
        "Edit R-1, or by command: `/raid edit R-1 likelihood high`. A risk's fields: `title`, "
        "`likelihood`, `impact`, `response`, `mitigation`, `owner`, `review`, `details`."
    )
    await chat.say("/raid settings leads @ana")
    refused = await chat.say("/raid edit R-1", user="zoe")
    assert refused.tone is Tone.ERROR and refused.form is None


async def test_the_console_form_shows_the_current_values_and_enter_keeps_them(
    chat: Chat,
) -> None:
    await seed(chat)
    out = io.StringIO()
    script = "/raid edit R-1\n\n5\n\n\n\nsee contract\n"
    console = Console(
        chat.core, user="ana", channel="proj", lines=StreamLines(io.StringIO(script)), out=out
    )
    assert await console.run() == 0
    shown = out.getvalue()
    assert "Title [Vendor may slip]:" in shown
    assert "Likelihood [4 – high]:" in shown
    r1 = chat.item("R-1")
    assert (r1.title, r1.likelihood, r1.impact, r1.details) == (
        "Vendor may slip", 5, 3, "see contract"
    )  # fmt: skip
    assert "Edited R-1: details: see contract; likelihood: high (4) → very high (5)" in shown
