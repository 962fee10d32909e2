"""Reply -> Discord message, without a connection: embeds, limits, components, modals."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.discord import render as dr
from adapters.discord.client import schema_hash
from bot import actions
from bot.commands.log import form_for
from bot.dispatcher import Core
from bot.domain.model import ChannelKey, Kind
from bot.messages import (
    Action,
    Card,
    Choice,
    Field,
    File,
    Form,
    FormField,
    InputKind,
    Reply,
    Section,
    Tone,
    Visibility,
)
from bot.views.items import decide_action, reject_action
from tests.fakes import FakeStore

DUE = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)


def _card(status: str = "open", *, overdue: bool = False, actions: tuple[Action, ...] = ()) -> Card:
    return Card(
        "B-3",
        "blocker",
        "Waiting on firewall",
        status,
        (
            Field("Owner", "<@42>"),
            Field("Due", "Fri 27 Nov 17:00 (in 2 days)"),
            Field("Details", "x"),
        ),
        actions,
        overdue=overdue,
        due_at=DUE,
    )


def _total(rendered: dr.Rendered) -> int:
    return sum(len(e) for e in rendered.embeds)


def test_a_card_is_an_embed_coloured_by_state_with_the_date_in_each_readers_time() -> None:
    embed = dr.card_embed(_card()).to_dict()
    assert embed["title"] == "B-3 · Waiting on firewall"
    assert embed["description"] == "**Blocker** · open"
    assert embed["color"] == dr.ORANGE
    fields = {f["name"]: f for f in embed["fields"]}
    assert fields["Due"]["value"] == "<t:1795795200:f> (<t:1795795200:R>)"
    assert fields["Owner"]["inline"] is True
    assert fields["Details"]["inline"] is False
    assert dr.card_embed(_card("resolved")).colour.value == dr.GREEN  # type: ignore[union-attr]
    overdue = dr.card_embed(_card(overdue=True)).to_dict()
    assert overdue["color"] == dr.RED
    assert overdue["description"].endswith("**OVERDUE**")
    assert {f["name"]: f["value"] for f in overdue["fields"]}["Due"].endswith("— **OVERDUE**")
    assert dr.card_embed(_card("rejected")).colour.value == dr.GREY  # type: ignore[union-attr]


def test_change_request_kind_label_and_unknown_status() -> None:
    card = Card("C-1", "change request", "Add CRM", "proposed")
    assert dr.card_embed(card).to_dict()["description"] == "**Change request** · proposed"
    assert dr.card_colour(Card("X-1", "thing", "t", "strange")) == dr.BLURPLE


def test_visibility_creates_are_public_lists_and_errors_private() -> None:
    assert not dr.render(Reply("Logged B-1", Visibility.CHANNEL, Tone.SUCCESS)).ephemeral
    assert dr.render(Reply("Open items: 0")).ephemeral
    assert dr.render(Reply("No", Visibility.CHANNEL, Tone.ERROR)).ephemeral
    assert dr.render(Reply("Fix", Visibility.CHANNEL, field_errors={"due": "bad"})).ephemeral


def test_slack_bold_becomes_discord_bold() -> None:
    assert dr.discord_markdown("*B-3* Waiting · <@42>") == "**B-3** Waiting · <@42>"
    assert dr.discord_markdown("a * b * c") == "a * b * c"
    assert dr.discord_markdown("**already**") == "**already**"


def test_a_huge_reply_stays_inside_every_discord_limit_and_pages() -> None:
    lines = tuple(f"*B-{n}* " + "word " * 60 for n in range(200))
    cards = tuple(
        Card(
            f"B-{n}",
            "blocker",
            "t" * 400,
            "open",
            tuple(Field(f"F{i}", "v" * 2000) for i in range(30)),
        )
        for n in range(3)
    )
    reply = Reply(
        "x" * 5000,
        sections=(Section("Blocked", lines), Section("More", lines[:50])),
        cards=cards,
        usage="/raid list",
    )
    first = dr.render(reply, origin=("raid", "list"))
    assert first.pages > 3
    seen = ""
    for page in range(first.pages):
        rendered = dr.render(reply, page=page, origin=("raid", "list"))
        assert len(rendered.content) <= dr.MAX_CONTENT
        assert len(rendered.embeds) <= dr.MAX_EMBEDS
        assert _total(rendered) <= dr.MAX_EMBED_TOTAL
        for embed in rendered.embeds:
            data = embed.to_dict()
            assert len(data.get("title", "")) <= dr.MAX_TITLE
            assert len(data.get("description") or "") <= dr.MAX_DESCRIPTION
            assert len(data.get("fields", [])) <= dr.MAX_FIELDS
            for f in data.get("fields", []):
                assert len(f["value"]) <= dr.MAX_FIELD_VALUE
        assert len(rendered.rows) <= dr.MAX_ROWS
        seen += "".join(str(e.description) for e in rendered.embeds)
        labels = [c.label for c in rendered.components if isinstance(c, dr.ButtonSpec)]
        assert ("◀ Previous" in labels) == (page > 0)
        assert ("Next ▶" in labels) == (page < first.pages - 1)
    for n in range(200):
        assert f"**B-{n}** " in seen, f"line {n} was dropped"


def test_a_public_reply_is_sent_in_parts_without_page_buttons() -> None:
    lines = tuple(f"line {n} " + "z" * 150 for n in range(100))
    action = Action("Resolve", "resolve:B-1")
    reply = Reply("Digest", Visibility.CHANNEL, sections=(Section("S", lines),), actions=(action,))
    parts = dr.render_all(reply)
    assert len(parts) > 1
    assert all(not any(c.custom_id.startswith(dr.PAGE_PREFIX) for c in p.components) for p in parts)
    assert [c.custom_id for c in parts[-1].components] == ["rl:a:resolve:B-1"]
    assert parts[0].components == []


def test_page_buttons_need_a_short_command() -> None:
    assert dr.page_custom_id(1, "raid", "history B-3") == "rl:p:1:raid:history B-3"
    assert dr.page_custom_id(1, "raid", "x" * 200) is None


def test_actions_become_buttons_and_an_assign_form_a_user_select() -> None:
    resolve = Action("Resolve", "resolve:B-3", "primary")
    take = Action("Take it", "take:B-3")
    assign = Action(
        "Assign",
        "assign:B-3",
        form=Form("assign:B-3", "Assign B-3", (FormField("owner", "Owner", InputKind.USER, True),)),
    )
    date = Action(
        "New date",
        "due:B-3",
        form=Form("due:B-3", "Due", (FormField("due", "Due", InputKind.DATE, True),)),
    )
    reply = Reply(
        "Logged B-3",
        Visibility.CHANNEL,
        cards=(_card(actions=(resolve, take, assign, date)),),
        actions=(Action("Take it myself", "take:B-3"), Action("Assign someone", "assign:B-3")),
    )
    rendered = dr.render(reply)
    assert [[getattr(c, "label", None) for c in row] for row in rendered.rows] == [
        ["Resolve", "Take it", "New date"],
        [None],
    ]
    select = rendered.rows[1][0]
    assert isinstance(select, dr.UserSelectSpec)
    assert select.custom_id == "rl:u:owner:assign:B-3"
    assert select.max_values == 1
    resolve_button = rendered.rows[0][0]
    assert isinstance(resolve_button, dr.ButtonSpec)
    assert resolve_button.style.name == "primary"


def test_several_cards_label_their_buttons_with_the_ref_and_fit_five_rows() -> None:
    cards = tuple(
        Card(
            f"B-{n}",
            "blocker",
            "t",
            "open",
            actions=tuple(Action(v.title(), f"{v}:B-{n}") for v in ("resolve", "take", "close")),
        )
        for n in range(1, 12)
    )
    rendered = dr.render(Reply("Home", sections=(Section("Yours", cards=cards),)))
    assert len(rendered.rows) <= 5
    assert all(len(row) <= 5 for row in rendered.rows)
    assert rendered.rows[0][0].label == "Resolve B-1"  # type: ignore[union-attr]


def test_a_too_long_action_id_is_left_out() -> None:
    rendered = dr.render(Reply("x", actions=(Action("More", "list:" + "a" * 120 + ":2"),)))
    assert rendered.rows == []


def test_field_errors_are_listed_with_the_forms_labels() -> None:
    form = form_for(Kind.BLOCKER)
    reply = Reply(
        "Please correct",
        Visibility.PRIVATE,
        Tone.ERROR,
        field_errors={"due": "`12/05` is ambiguous"},
    )
    rendered = dr.render(reply, form=form)
    errors = rendered.embeds[-1].to_dict()
    assert errors["title"] == "Nothing was saved. Please fix:"
    assert errors["fields"] == [
        {"name": "Due (need-by)", "value": "`12/05` is ambiguous", "inline": False}
    ]


def test_files_go_with_the_first_page() -> None:
    reply = Reply("Exported", files=(File("log.md", b"# log", "text/markdown"),))
    rendered = dr.render(reply)
    assert [f.filename for f in rendered.discord_files()] == ["log.md"]


def test_incident_ids_are_shown() -> None:
    rendered = dr.render(Reply("Sorry", tone=Tone.ERROR, incident_id="abcd1234"))
    assert "abcd1234" in rendered.content


# --- modals ---------------------------------------------------------------------------------


def test_every_logging_form_fits_a_modal_of_five_inputs() -> None:
    for kind in Kind:
        spec = dr.modal_spec(form_for(kind), "rl:f:x")
        assert len(spec.inputs) <= dr.MAX_MODAL_INPUTS
        assert len(spec.title) <= dr.MAX_MODAL_TITLE
        assert all(len(i.label) <= dr.MAX_LABEL_TEXT for i in spec.inputs)
        assert all(i.description is None or len(i.description) <= 100 for i in spec.inputs)
        required = {f.name for f in form_for(kind).fields if f.required}
        assert required <= {i.name for i in spec.inputs}


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ((), ["title", "likelihood", "impact", "owner", "review"]),
        (("response", "mitigation"), ["title", "likelihood", "impact", "owner", "review"]),
        (("owner", "review"), ["title", "likelihood", "impact", "response", "mitigation"]),
        (("likelihood", "impact", "owner"), ["title", "review", "response", "mitigation"]),
    ],
)
def test_the_risk_modal_asks_what_the_typed_options_did_not_say(
    given: tuple[str, ...], shown: list[str]
) -> None:
    assert [f.name for f in dr.choose_fields(form_for(Kind.RISK), given)] == shown


def test_a_refused_field_comes_back_first_in_the_modal() -> None:
    spec = dr.modal_spec(
        form_for(Kind.RISK),
        "rl:f:new:risk",
        given=("title", "likelihood"),
        values={"title": "T", "mitigation": "plan", "likelihood": "9"},
        prefer=("likelihood",),
    )
    names = [i.name for i in spec.inputs]
    assert "likelihood" in names
    assert len(names) == 5
    assert {i.name: i.default for i in spec.inputs}["likelihood"] == "9"


def test_modal_inputs_carry_kinds_choices_and_defaults() -> None:
    spec = dr.modal_spec(form_for(Kind.DECISION), "rl:f:new:decision")
    by_name = {i.name: i for i in spec.inputs}
    assert by_name["state"].kind is InputKind.CHOICE
    assert by_name["state"].default == "needed"
    assert [v for v, _ in by_name["state"].choices] == ["needed", "decided"]
    assert by_name["decider"].kind is InputKind.USER
    assert by_name["title"].required


def test_modal_values_read_labels_action_rows_and_selects() -> None:
    components = [
        {"type": 18, "id": 1, "component": {"type": 4, "custom_id": "title", "value": "Hello"}},
        {"type": 18, "id": 2, "component": {"type": 5, "custom_id": "owner", "values": ["1", "2"]}},
        {"type": 18, "id": 3, "component": {"type": 3, "custom_id": "impact", "values": []}},
        {"type": 1, "components": [{"type": 4, "custom_id": "due", "value": "friday"}]},
        {"type": 10, "id": 5, "content": "text display"},
    ]
    assert dr.modal_values(components) == {
        "title": "Hello",
        "owner": "1 2",
        "impact": "",
        "due": "friday",
    }


def test_form_custom_ids_round_trip() -> None:
    assert dr.parse_form_custom_id(dr.form_custom_id("new:risk", "tok_1")) == dr.FormId(
        "new:risk", "tok_1"
    )
    assert dr.parse_form_custom_id(dr.form_custom_id("decide:D-1")) == dr.FormId("decide:D-1")
    assert dr.parse_form_custom_id("something else") is None
    with pytest.raises(ValueError):
        dr.form_custom_id("x" * 200)


def test_forms_of_buttons_are_rebuilt_from_the_action_id_after_a_restart() -> None:
    rebuild_action_form = Core(FakeStore()).form_for  # what the adapter opens for a click
    assert rebuild_action_form("decide:D-2") == decide_action("D-2").form
    assert rebuild_action_form("reject:C-1") == reject_action("C-1").form
    due = rebuild_action_form("due:R-4")
    assert due is not None and due.fields[0].label == "Next review"
    assign = rebuild_action_form("assign:C-2")
    assert assign is not None and assign.fields[0].kind is InputKind.USERS
    assert rebuild_action_form("resolve:B-1") is None
    assert rebuild_action_form("list:blockers:2") is None
    assert rebuild_action_form("new:risk") == form_for(Kind.RISK)


def test_page_buttons_of_slash_commands_carry_their_typed_options() -> None:
    origin = dr.TypedOrigin("raid", "list", {"filter": "mine", "include_closed": "true"})
    custom_id = dr.origin_page_custom_id(2, origin)
    assert custom_id == "rl:o:2:raid:list:filter=mine&include_closed=true"
    match = re.fullmatch(dr.OPTIONS_PAGE_TEMPLATE, custom_id)
    assert match is not None and match["subcommand"] == "list"
    assert dr.parse_page_options(match["options"]) == origin.options
    odd = dr.TypedOrigin("raid", "settings show", {"topic": "a:b&c=d é"})
    odd_id = dr.origin_page_custom_id(0, odd)
    assert odd_id is not None
    odd_match = re.fullmatch(dr.OPTIONS_PAGE_TEMPLATE, odd_id)
    assert odd_match is not None and odd_match["subcommand"] == "settings show"
    assert dr.parse_page_options(odd_match["options"]) == odd.options
    assert dr.origin_page_custom_id(1, dr.TypedOrigin("raid", "help", {"topic": "x" * 90})) is None
    assert dr.origin_page_custom_id(1, ("raid", "history B-3")) == "rl:p:1:raid:history B-3"


def test_schema_hash_ignores_what_discord_adds_and_sees_real_changes() -> None:
    local = [
        {
            "name": "blocker",
            "description": "Log",
            "type": 1,
            "options": [{"type": 3, "name": "title", "description": "t", "required": False}],
            "nsfw": False,
            "dm_permission": False,
            "contexts": [0],
            "integration_types": [0],
            "default_member_permissions": None,
        }
    ]
    remote = [
        {
            **local[0],
            "id": "1",
            "application_id": "2",
            "version": "3",
            "name_localizations": None,
            "options": [
                {"type": 3, "name": "title", "description": "t", "description_localizations": None}
            ],
        }
    ]
    assert schema_hash(local) == schema_hash(remote)
    changed = [{**local[0], "description": "Log something"}]
    assert schema_hash(local) != schema_hash(changed)


def test_choice_labels_are_clipped_for_autocomplete() -> None:
    assert len(dr.choice_name("B-1 " + "x" * 300)) == 100
    assert Choice("1", "one").label == "one"


# --- what people type is shown as typed ------------------------------------------------------

ZW = "\u200b"
#: Typed in a title -> how the card's title shows it (every markdown character escaped).
TITLE_INJECTIONS = [
    ("[Approve](https://evil.example)", r"\[Approve]\(https://evil.example)"),
    ("[a](http://x) and [b](http://y)", r"\[a]\(http://x) and [b]\(http://y)"),
    ("[x](<javascript:1>)", r"\[x]\(<javascript:1>)"),
    ("@everyone look", f"@{ZW}everyone look"),
    ("@here look", f"@{ZW}here look"),
    ("<@&123> look", f"<@{ZW}&123> look"),
    (
        "**bold** _it_ ~~x~~ ||spoiler|| `code`",
        r"\*\*bold\*\* \_it\_ \~\~x\~\~ \|\|spoiler\|\| \`code\`",
    ),
    ("# heading", r"\# heading"),
    ("> quote", r"\> quote"),
    # what Discord makes of a real mention, and plain URLs, stay as they are
    ("ask <@123>", "ask <@123>"),
    ("in <#456>", "in <#456>"),
    ("see https://example.com/a_b", "see https://example.com/a_b"),
]


@pytest.mark.parametrize(("typed", "shown"), TITLE_INJECTIONS, ids=[t for t, _ in TITLE_INJECTIONS])
def test_typed_markup_in_a_title_or_field_is_shown_as_typed(typed: str, shown: str) -> None:
    card = Card("B-3", "blocker", typed, "open", (Field("Details", typed),))
    embed = dr.card_embed(card).to_dict()
    assert embed["title"] == f"B-3 · {shown}"
    assert embed["fields"][0]["value"] == shown


#: Typed text inside raidline's own sentences (content, section lines, headings) -> shown.
MIXED_INJECTIONS = [
    ("[Approve](https://evil.example)", r"[Approve]\(https://evil.example)"),
    ("[Approve] (https://evil.example)", r"[Approve] \(https://evil.example)"),
    ("@everyone", f"@{ZW}everyone"),
    ("@HERE", f"@{ZW}HERE"),
    ("<@&123>", f"<@{ZW}&123>"),
    ("<@123>", "<@123>"),
    ("<#456>", "<#456>"),
    ("https://example.com", "https://example.com"),
]


@pytest.mark.parametrize(("typed", "shown"), MIXED_INJECTIONS, ids=[t for t, _ in MIXED_INJECTIONS])
def test_typed_markup_in_raidlines_sentences_is_shown_as_typed(typed: str, shown: str) -> None:
    reply = Reply(
        f"Logged *B-1*: {typed}",
        Visibility.CHANNEL,
        sections=(Section(f"Answer of {typed}", (f"*B-1* {typed}",)),),
        field_errors={"title": f"bad {typed}"},
    )
    rendered = dr.render(reply)
    assert rendered.content == f"Logged **B-1**: {shown}"
    embeds = [e.to_dict() for e in rendered.embeds]
    assert embeds[0]["title"] == f"Answer of {shown}"
    assert embeds[0]["description"] == f"**B-1** {shown}"
    assert embeds[1]["fields"][0]["value"] == f"bad {shown}"
    (part,) = dr.render_all(reply)
    assert part.content == rendered.content


def test_a_quote_or_heading_at_the_start_of_a_line_stays_text() -> None:
    reply = Reply("Standup summary", sections=(Section("Answers", ("Q: a\n# big\n> quoted",)),))
    (embed,) = dr.render(reply).embeds
    assert embed.description == "Q: a\n\\# big\n\\> quoted"


# --- custom ids that carry their place (buttons in direct messages) ------------------------------

MAX_SNOWFLAKE = 2**64 - 1  # 20 digits; 13 in base 36
LONGEST_PLACE = ChannelKey("discord", str(MAX_SNOWFLAKE), str(MAX_SNOWFLAKE))
BIG_REF = "C-9999999999"  # ten digits of items in one channel
BIG_STANDUP = 2**63 - 1  # the largest id a database gives a standup
PERSON = str(MAX_SNOWFLAKE)


def _longest_ids() -> list[str]:
    """Every kind of custom id raidline puts in a direct message, with the longest arguments."""
    action_ids = [
        *(actions.item_action(verb, BIG_REF) for verb in sorted(actions.ITEM_VERBS)),
        actions.snooze(BIG_REF, 99),
        actions.standup_answer(BIG_STANDUP),
        actions.track(BIG_STANDUP, PERSON, 99),
    ]
    out = [dr.ACTION_PREFIX + a for a in action_ids]
    out += [
        f"{dr.SELECT_PREFIX}{name}:{actions.assign(BIG_REF)}" for name in ("owner", "approvers")
    ]
    token = "Zz0_-" * 2 + "Zz"  # as long as the secrets.token_urlsafe(9) PendingForms hands out
    out += [dr.FORM_PREFIX + a + f"|{token}" for a in action_ids]
    out.append(dr.fix_custom_id(token))
    return out


@pytest.mark.parametrize("custom_id", _longest_ids())
def test_the_longest_ids_with_the_longest_place_fit_and_read_back(custom_id: str) -> None:
    placed = dr.placed(custom_id, LONGEST_PLACE)
    assert placed is not None and len(placed) <= dr.MAX_CUSTOM_ID, (custom_id, placed)
    assert placed.startswith("rl@3w5e11264sgsf.3w5e11264sgsf:")
    assert dr.split_place(placed) == (LONGEST_PLACE, custom_id)
    assert dr.split_place(custom_id) == (None, custom_id), "an old id has no place"


@given(
    guild=st.integers(min_value=1, max_value=MAX_SNOWFLAKE),
    channel=st.integers(min_value=1, max_value=MAX_SNOWFLAKE),
    custom_id=st.sampled_from(_longest_ids()),
)
def test_any_place_fits_and_reads_back(guild: int, channel: int, custom_id: str) -> None:
    place = ChannelKey("discord", str(guild), str(channel))
    placed = dr.placed(custom_id, place)
    assert placed is not None and len(placed) <= dr.MAX_CUSTOM_ID
    assert dr.split_place(placed) == (place, custom_id)
    form = dr.parse_form_custom_id(placed)
    if custom_id.startswith(dr.FORM_PREFIX):
        assert form is not None and form.place == place
        assert dr.form_custom_id(form.form_id, form.token, place) == placed
    else:
        assert form is None


def test_a_direct_messages_rendered_components_all_carry_the_place() -> None:
    card = Card("B-3", "blocker", "Waiting", "open")
    reply = Reply(
        "B-3 is overdue",
        Visibility.CHANNEL,
        cards=(card,),
        actions=(
            Action("Resolve", actions.resolve(BIG_REF), "primary"),
            Action("Snooze 1 day", actions.snooze(BIG_REF, 1)),
            Action("New date", actions.due(BIG_REF)),
            Action("Answer", actions.standup_answer(BIG_STANDUP)),
            Action("Track", actions.track(BIG_STANDUP, PERSON, 99)),
        ),
    )
    plain = dr.render_all(reply)[0].components
    placed = dr.render_all(reply, LONGEST_PLACE)[0].components
    assert len(placed) == len(plain) == 5, "no button is dropped for its place"
    assert [dr.split_place(c.custom_id) for c in placed] == [
        (LONGEST_PLACE, c.custom_id) for c in plain
    ]
    assert all(len(c.custom_id) <= dr.MAX_CUSTOM_ID for c in placed)


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        (ChannelKey("slack", "T1", "C1"), "rl:a:resolve:B-1"),  # not a Discord channel
        (ChannelKey("discord", "0", "5"), "rl:a:resolve:B-1"),  # not a snowflake
        (ChannelKey("discord", str(MAX_SNOWFLAKE + 1), "5"), "rl:a:resolve:B-1"),
        (ChannelKey("discord", "36", "35"), "rl@10.z:a:resolve:B-1"),
    ],
)
def test_only_a_discord_channel_is_a_place(place: ChannelKey, expected: str) -> None:
    assert dr.placed("rl:a:resolve:B-1", place) == expected
    assert dr.placed("x" * 101, None) is None
