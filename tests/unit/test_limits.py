"""Every limit on every surface (SPEC §6): forms, a platform's typed options and clicks refuse
what a typed command refuses, with the limit stated and nothing stored; and the date words
of SPEC §3 (``due``, ``by``, ``due by``, ``review by``) on every logging command."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.model import Kind
from bot.messages import Reply, Request, Tone
from tests.unit.conftest import Chat

BERLIN = ZoneInfo("Europe/Berlin")
SHORT = "s" * 301  # one over the title limit
LONG = "l " * 1500 + "l"  # 3,001 characters: one over the details limit
PEOPLE = " ".join(f"p{n}" for n in range(21))  # 21 people, as a form's user select sends them
MENTIONS = " ".join(f"<@p{n}>" for n in range(21))


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


async def seed(chat: Chat) -> None:
    for line in (
        "/blocker Waiting on creds @dana due friday",  # B-1
        "/decision needed Pick the SSO vendor @ana by Dec 5",  # D-1
        "/change Add CRM impact schedule +2 weeks @ana",  # C-1
        "/risk Vendor may slip likelihood high impact medium @ana",
    ):
        assert (await chat.say(line)).tone is Tone.SUCCESS, line


async def options(
    chat: Chat, command: str, values: Mapping[str, str], sub: str | None = None
) -> Reply:
    request = Request(chat.channel, chat.user, command=command, subcommand=sub, options=values)
    chat.last = await chat.core.handle(request)
    return chat.last


def history(chat: Chat) -> dict[str, int]:
    """Each item's number of events: a refused change adds none."""
    return {str(i.ref): len(chat.store.state.events[i.stored_id]) for i in chat.items()}


# --- the logging forms: every free-text field ------------------------------------------------

VALID: Mapping[str, dict[str, str]] = {
    "new:blocker": {"title": "Creds"},
    "new:risk": {"title": "Vendor slips", "likelihood": "3", "impact": "3"},
    "new:decision": {"title": "Pick a vendor", "state": "needed"},
    "new:change": {"title": "Add CRM", "impact": "cost +8k"},
}

FORM_FIELDS = [
    ("new:blocker", "title", SHORT, "the limit is 300"),
    ("new:blocker", "waiting_on", SHORT, "the limit is 300"),
    ("new:blocker", "details", LONG, "the limit is 3,000"),
    ("new:risk", "title", SHORT, "the limit is 300"),
    ("new:risk", "mitigation", LONG, "the limit is 3,000"),
    ("new:decision", "title", SHORT, "the limit is 300"),
    ("new:decision", "rationale", LONG, "the limit is 3,000"),
    ("new:change", "title", SHORT, "the limit is 300"),
    ("new:change", "impact", "cost " + SHORT, "the limit is 300"),
    ("new:change", "why", LONG, "the limit is 3,000"),
    ("new:change", "details", LONG, "the limit is 3,000"),
    # more than 20 people, named or mentioned
    ("new:change", "approvers", PEOPLE, "names 21 people; the limit is 20"),
    ("new:blocker", "title", MENTIONS, "names 21 people; the limit is 20"),
    ("new:risk", "mitigation", MENTIONS, "names 21 people; the limit is 20"),
    # a person's id that no platform has
    ("new:blocker", "owner", "d" * 65, "the limit is 64"),
]


@pytest.mark.parametrize(
    ("form", "field", "value", "expected"), FORM_FIELDS, ids=[f"{c[0]}:{c[1]}" for c in FORM_FIELDS]
)
async def test_every_form_field_is_refused_over_its_limit(
    chat: Chat, form: str, field: str, value: str, expected: str
) -> None:
    reply = await chat.click(form, {**VALID[form], field: value})
    assert reply.tone is Tone.ERROR, reply.text
    assert expected in reply.field_errors.get(field, ""), reply.field_errors
    assert expected in reply.text
    assert chat.items() == []


# --- the same fields as a platform's typed options -------------------------------------------

OPTION_FIELDS = [
    ("blocker", {"title": SHORT}, "the limit is 300"),
    ("blocker", {"title": "Creds", "waiting_on": SHORT}, "the limit is 300"),
    ("blocker", {"title": "Creds", "details": LONG}, "the limit is 3,000"),
    ("blocker", {"title": "Creds", "details": MENTIONS}, "names 21 people; the limit is 20"),
    ("risk", {"title": "Vendor slips", "mitigation": LONG}, "the limit is 3,000"),
    ("decision", {"title": "Pick a vendor", "rationale": LONG}, "the limit is 3,000"),
    ("change", {"title": "Add CRM", "impact": "cost " + SHORT}, "the limit is 300"),
    ("change", {"title": "Add CRM", "impact": "cost +8k", "why": LONG}, "the limit is 3,000"),
    ("change", {"title": "Add CRM", "impact": "cost +8k", "details": LONG}, "the limit is 3,000"),
    (
        "change",
        {"title": "Add CRM", "impact": "cost +8k", "approver": PEOPLE},
        "names 21 people; the limit is 20",
    ),
]


@pytest.mark.parametrize(
    ("command", "values", "expected"),
    OPTION_FIELDS,
    ids=[f"{c[0]}:{list(c[1])[-1]}" for c in OPTION_FIELDS],
)
async def test_every_logging_option_is_refused_over_its_limit(
    chat: Chat, command: str, values: dict[str, str], expected: str
) -> None:
    reply = await options(chat, command, values)
    assert reply.tone is Tone.ERROR, reply.text
    assert expected in reply.text
    assert chat.items() == []


# --- changes to an item: clicks, their forms, and /raid options ------------------------------

CHANGES = [
    # (action id, form values) or ("raid <sub>", options)
    ("decide:D-1", {"outcome": SHORT}, "the limit is 300"),
    ("decide:D-1", {"outcome": "Okta", "rationale": LONG}, "the limit is 3,000"),
    ("reject:C-1", {"reason": LONG}, "the limit is 3,000"),
    ("assign:C-1", {"owner": PEOPLE}, "names 21 people; the limit is 20"),
    ("resolve:B-1", {"note": LONG}, "the limit is 3,000"),
    ("withdraw:B-1", {"note": LONG}, "the limit is 3,000"),
    ("occurred:R-1", {"note": LONG}, "the limit is 3,000"),
    ("note:B-1", {"note": LONG}, "the limit is 3,000"),
    ("raid withdraw", {"ref": "B-1", "reason": LONG}, "the limit is 3,000"),
    ("raid occurred", {"ref": "R-1", "note": LONG}, "the limit is 3,000"),
    ("raid close", {"ref": "R-1", "note": LONG}, "the limit is 3,000"),
    ("raid decide", {"ref": "D-1", "outcome": SHORT}, "the limit is 300"),
    ("raid note", {"ref": "B-1", "text": LONG}, "the limit is 3,000"),
    ("raid assign", {"ref": "B-1", "person": "d" * 65}, "the limit is 64"),
]


@pytest.mark.parametrize(
    ("where", "values", "expected"), CHANGES, ids=[f"{c[0]}:{list(c[1])[-1]}" for c in CHANGES]
)
async def test_every_change_is_refused_over_its_limit_and_changes_nothing(
    chat: Chat, where: str, values: dict[str, str], expected: str
) -> None:
    await seed(chat)
    before = history(chat)
    if where.startswith("raid "):
        reply = await options(chat, "raid", values, sub=where.removeprefix("raid "))
    else:
        reply = await chat.click(where, values)
    assert reply.tone is Tone.ERROR, reply.text
    assert expected in reply.text
    assert history(chat) == before
    assert len(chat.items()) == 4


async def test_a_mention_with_an_impossible_id_names_nobody(chat: Chat) -> None:
    await seed(chat)
    reply = await chat.say(f"/raid assign B-1 <@{'d' * 65}>")
    assert reply.tone is Tone.ERROR
    assert "is not a person" in reply.text
    assert chat.item("B-1").owner == "dana"


# --- the date words of SPEC §3 on every logging command --------------------------------------

DATES = [
    ("/blocker Creds due by thursday", "B-1", "Creds", (11, 26)),
    ("/blocker Creds by friday", "B-1", "Creds", (11, 27)),
    ("/blocker Creds @dana due by thursday", "B-1", "Creds", (11, 26)),
    ("/blocker Creds waiting on legal due by thursday", "B-1", "Creds", (11, 26)),
    ("/risk Vendor slips review by friday", "R-1", "Vendor slips", (11, 27)),
    ("/risk Vendor slips due by thursday", "R-1", "Vendor slips", (11, 26)),
    ("/risk Vendor slips likelihood high @bob by friday", "R-1", "Vendor slips", (11, 27)),
    ("/risk Vendor slips @bob review by friday", "R-1", "Vendor slips", (11, 27)),
    ("/decision needed Pick the SSO vendor @cio by Dec 5", "D-1", "Pick the SSO vendor", (12, 5)),
    (
        "/decision needed Pick the SSO vendor @cio due by Dec 5",
        "D-1",
        "Pick the SSO vendor",
        (12, 5),
    ),
    (
        "/decision needed Pick the SSO vendor due by thursday",
        "D-1",
        "Pick the SSO vendor",
        (11, 26),
    ),
    (
        "/decision needed Pick the SSO vendor decide by friday",
        "D-1",
        "Pick the SSO vendor",
        (11, 27),
    ),
]


@pytest.mark.parametrize(("line", "ref", "title", "due"), DATES, ids=[d[0] for d in DATES])
async def test_due_by_and_by_introduce_the_date(
    chat: Chat, line: str, ref: str, title: str, due: tuple[int, int]
) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.SUCCESS, reply.text
    item = chat.item(ref)
    assert item.title == title
    assert item.due_at == local(2026, *due, 17, 0)


async def test_a_change_request_has_no_date_and_says_so(chat: Chat) -> None:
    for line in (
        "/change Add CRM due by thursday impact cost +8k",
        "/change Add CRM impact schedule +2 weeks @sponsor due friday",
    ):
        reply = await chat.say(line)
        assert reply.tone is Tone.ERROR
        assert reply.text.startswith("A change request has no due date"), reply.text
        assert "`impact schedule +2 weeks`" in reply.text
    assert chat.items() == []
    # ``by`` is a word like any other in a change request: nothing is read as a date
    reply = await chat.say("/change Add CRM impact schedule +2 days ready by friday")
    assert reply.tone is Tone.SUCCESS, reply.text
    assert dict(chat.item("C-1").impacts) == {"schedule": "+2 days ready by friday"}


FORMS = "`friday`, `Dec 5`, `in 2 weeks` or `2026-12-05`"

DATE_REFUSALS = [
    ("/blocker Creds @dana due by", f"`due by` needs a date, e.g. {FORMS}."),
    ("/decision needed Pick a vendor @cio by", f"`by` needs a date, e.g. {FORMS}."),
    ("/risk Vendor slips @bob review by", f"`review by` needs a date, e.g. {FORMS}."),
    ("/blocker Creds due by yesterday", f"Give a date from today on, e.g. {FORMS}."),
    ("/blocker Creds due by someday", f"I couldn't read `someday` as a date. Try {FORMS}."),
    (
        "/risk Vendor slips @bob review by someday",
        f"I couldn't read `someday` as a date. Try {FORMS}.",
    ),
]


@pytest.mark.parametrize(("line", "expected"), DATE_REFUSALS, ids=[d[0] for d in DATE_REFUSALS])
async def test_every_date_refusal_shows_the_accepted_forms(
    chat: Chat, line: str, expected: str
) -> None:
    reply = await chat.say(line)
    assert reply.tone is Tone.ERROR
    assert expected in reply.text
    assert chat.items() == []


# --- control characters ----------------------------------------------------------------------

SURFACES = [
    ("text", "/blocker Creds\x00 arrived\x07 due friday details line\x00one\r\nline two"),
    ("form", {"title": "Creds\x00 arrived\x07", "details": "line\x00one\r\nline two"}),
    ("options", {"title": "Creds\x00 arrived\x07", "details": "line\x00one\r\nline two"}),
]


@pytest.mark.parametrize(("surface", "given"), SURFACES, ids=[s[0] for s in SURFACES])
async def test_control_characters_never_reach_the_record(
    chat: Chat, surface: str, given: object
) -> None:
    if surface == "text":
        reply = await chat.say(str(given))
    elif surface == "form":
        reply = await chat.click("new:blocker", dict(given))  # type: ignore[call-overload]
    else:
        reply = await options(chat, "blocker", dict(given))  # type: ignore[call-overload]
    assert reply.tone is Tone.SUCCESS, reply.text
    item = chat.item("B-1")
    assert item.title == "Creds arrived"
    # a long text keeps its line break where the surface has one (typed text is one line)
    assert item.details in ("lineone\nline two", "lineone line two")
    assert chat.items(Kind.BLOCKER) == [item]


async def test_a_standup_question_states_its_limit(chat: Chat) -> None:
    reply = await chat.say(f"/standup questions What changed? | {'q' * 151}")
    assert reply.tone is Tone.ERROR
    assert reply.text == (
        "The question is 151 characters long; the limit is 150. Shorten it and try again."
    )


@pytest.mark.parametrize(
    ("action", "values", "field"),
    [
        # the form's date field is `due`, the call's `date`: 21 people named in a date
        ("due:B-1", {"due": " ".join(f"<@U{n}>" for n in range(21))}, "due"),
        ("assign:C-1", {"owner": PEOPLE}, "owner"),
        ("decide:D-1", {"outcome": SHORT}, "outcome"),
        ("reject:C-1", {"reason": LONG}, "reason"),
    ],
)
async def test_a_click_form_over_a_limit_marks_the_forms_own_field(
    chat: Chat, action: str, values: dict[str, str], field: str
) -> None:
    await seed(chat)
    reply = await chat.click(action, values)
    assert reply.tone is Tone.ERROR, reply.text
    assert list(reply.field_errors) == [field]
    if action.startswith("due:"):
        assert (
            reply.field_errors[field]
            == "That names 21 people; the limit is 20. Mention fewer people."
        )
