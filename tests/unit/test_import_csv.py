"""Importing a register kept in a spreadsheet: a dry run row by row, the wrong rows and why,
and all or nothing; through the same forms and use cases as chat."""

from __future__ import annotations

import pytest

from bot.domain.limits import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS
from bot.domain.model import ChannelKey, Kind, Status
from bot.messages import Reply, Request, Tone, Visibility
from bot.views.plain import render_text
from tests.unit.conftest import Chat

REGISTER = """\
Kind,Title,Owner,Due,Likelihood,Impact,Status,Waiting on,Score
blocker,Waiting on firewall change,@dana,2026-12-11,,,,NetOps,
R,Vendor may slip,@bob,in 2 weeks,high,4,,,16
decision,Pick the SSO vendor,@cio,Dec 5,,,needed,,
change,Add CRM integration,@sponsor,,,"schedule +2 weeks, cost +8k",,,
B,Old firewall ticket,@dana,,,,resolved,,
"""

DRY_RUN = """\
Dry run of register.csv: 5 rows, all fine; 5 items would be created. Nothing was
saved. To import them: `/raid import register.csv apply`.

Would create
  row 2: B-2 Waiting on firewall change · blocker · owner @dana · due Fri 11 Dec
    17:00 CET · open
  row 3: R-1 Vendor may slip · risk · owner @bob · next review Wed 9 Dec 17:00
    CET · likelihood 4, impact 4 · open
  row 4: D-1 Pick the SSO vendor · decision · decider @cio · decide by Sat 5 Dec
    17:00 CET · needs a decision
  row 5: C-1 Add CRM integration · change request · approvers @sponsor · impact
    schedule +2 weeks; cost +8k · proposed
  row 6: B-3 Old firewall ticket · blocker · owner @dana · resolved

Ignored columns
  Score (not read; refs are given out as usual)"""


async def import_file(
    chat: Chat, content: str | bytes, *, apply: bool = False, name: str = "register.csv",
    user: str | None = None,
) -> Reply:  # fmt: skip
    data = content.encode() if isinstance(content, str) else content
    text = f"import {name}" + (" apply" if apply else "")
    request = Request(
        chat.channel, user or chat.user, command="raid", text=text, attachments={name: data}
    )
    chat.last = await chat.core.handle(request)
    return chat.last


async def test_a_dry_run_shows_each_row_and_saves_nothing(chat: Chat) -> None:
    await chat.say("/blocker Already here")
    reply = await import_file(chat, REGISTER)
    assert render_text(reply) == DRY_RUN
    assert reply.tone is Tone.INFO and reply.visibility is Visibility.PRIVATE
    assert [str(i.ref) for i in chat.items()] == ["B-1"]
    # the refs the dry run showed are the ones the import gets
    applied = await import_file(chat, REGISTER, apply=True)
    assert applied.text == (
        "Imported 5 items from register.csv: B-2, R-1, D-1, C-1, B-3. Their history says "
        "they were imported, by whom and from which row."
    )
    assert applied.tone is Tone.SUCCESS and applied.visibility is Visibility.CHANNEL


async def test_an_import_creates_the_items_as_chat_would_and_says_imported(chat: Chat) -> None:
    await import_file(chat, REGISTER, apply=True)
    b1, r1, d1, c1, b2 = (chat.item(r) for r in ("B-1", "R-1", "D-1", "C-1", "B-2"))
    assert (b1.title, b1.owner, b1.waiting_on, b1.reporter) == (
        "Waiting on firewall change", "dana", "NetOps", "ana"
    )  # fmt: skip
    assert (r1.likelihood, r1.impact, r1.owner) == (4, 4, "bob")
    assert (d1.status, d1.owner) == (Status.PENDING, "cio")
    assert (c1.approvers, dict(c1.impacts)) == (
        ("sponsor",),
        {"schedule": "+2 weeks", "cost": "+8k"},
    )
    assert b2.status is Status.RESOLVED
    history = render_text(await chat.say("/raid history B-2"), width=500)
    assert "@ana imported: status: open; title: Old firewall ticket; owner: @dana; " in history
    assert "“from register.csv, row 6”" in history
    assert "@ana resolved: status: open → resolved" in history


async def test_one_wrong_row_and_nothing_is_imported(chat: Chat) -> None:
    wrong = REGISTER + "blocker,Fix the build,Dana Scully,31/12,,,,,\n"
    reply = await import_file(chat, wrong, apply=True)
    assert reply.tone is Tone.ERROR
    text = render_text(reply, width=200)
    assert text.startswith(
        "register.csv: 1 row is wrong out of 6 rows, so nothing was imported. An import "
        "creates every row or none.\n\nWrong rows (fix them in the file, then import it again)\n"
        "  row 7: owner: `Dana Scully` is not a person. Mention them, e.g. `@dana`.\n"
        "  row 7: due: `31/12` is ambiguous"
    )
    assert "Fine\n  row 2: B-1 Waiting on firewall change" in text
    assert chat.items() == []


#: (the row, what the dry run says about it)
REFUSED = [
    ("issue,Something,,,,,,", "row 2: kind: `issue` is not a kind. Use blocker, risk, decision, "
     "change or milestone (or B, R, D, C, M)."),
    (",Something,,,,,,", "row 2: kind: empty. Say blocker, risk, decision, change or milestone"),
    ("blocker,,@dana,,,,,", "row 2: title: A title is required."),
    ("blocker,Creds,@dana,2020-01-01,,,,", "row 2: due: `2020-01-01` is in the past"),
    ("blocker,Creds,@dana,someday,,,,", "row 2: due: I couldn't read `someday` as a date."),
    ("risk,Slip,,,extreme,2,,", "row 2: likelihood: `extreme` is not a likelihood I know."),
    ("change,More scope,@cio,,,,,", "row 2: impact: State the impact on scope, schedule, cost "
     "or quality."),
    ("change,More scope,,,,budget +5k,,", "row 2: impact: Say which area each impact is on"),
    ("change,More scope,,,,cost +5k,approved,", "row 2: status: a change request can't be "
     "imported as `approved`. Import it as `open`, `proposed` or `withdrawn` (or leave the "
     "status empty), and change it in chat afterwards."),
    ("risk,Slip,,,,,resolved,", "row 2: status: a risk can't be imported as `resolved`."),
    ("blocker,=HYPERLINK(\"http://evil.example\"),,,,,,", "row 2: title: "
     "`=HYPERLINK(\"http://evil.example\")` is a spreadsheet formula, not its value."),
    ("blocker," + "x" * 301 + ",,,,,,", "row 2: title: The title is 301 characters long; the "
     "limit is 300."),
]  # fmt: skip


@pytest.mark.parametrize(("row", "said"), REFUSED)
async def test_each_wrong_row_is_refused_with_why(chat: Chat, row: str, said: str) -> None:
    reply = await import_file(chat, "kind,title,owner,due,likelihood,impact,status,x\n" + row)
    assert reply.tone is Tone.ERROR
    assert said in render_text(reply, width=500)
    assert chat.items() == []


#: (the file, what is said)
REFUSED_FILES = [
    (b"", "register.csv is empty. Its first line names the columns"),
    (b"kind,title\n", "register.csv has a header line but no rows to import."),
    (b"kind,title\n" + b"blocker,x\n" * (MAX_IMPORT_ROWS + 1),
     f"register.csv has {MAX_IMPORT_ROWS + 1} rows; one import takes at most {MAX_IMPORT_ROWS}."),
    (b"kind,title\n" + b"x" * MAX_IMPORT_BYTES, "register.csv is larger than 1,000,000 bytes, "
     "the most one import reads. Split it into several files and import each."),
    ("kind,title\nblocker,Café".encode("cp1252"), "register.csv is not UTF-8 text. Save it from "
     "your spreadsheet as \"CSV UTF-8\" and try again."),
]  # fmt: skip


@pytest.mark.parametrize(("content", "said"), REFUSED_FILES)
async def test_a_file_that_is_no_register_is_refused(chat: Chat, content: bytes, said: str) -> None:
    reply = await import_file(chat, content, apply=True)
    assert reply.tone is Tone.ERROR and said in reply.text
    assert chat.items() == []


@pytest.mark.parametrize(
    "content",
    [
        "\ufeffKIND;Title;  Waiting-On ;Due\nBlocker;Café keys;the vendor;friday\n".encode(),
        "kind\ttitle\twaiting_on\tdue\nb\tCafé keys\tthe vendor\tfriday\n".encode("utf-16"),
        b"kind,title,waiting on,due\nblocker,Caf\xc3\xa9 keys,the vendor,friday\n",
    ],
    ids=["bom-semicolons", "utf16-tabs", "commas"],
)
async def test_spreadsheet_dialects_are_read(chat: Chat, content: bytes) -> None:
    reply = await import_file(chat, content, apply=True)
    assert reply.tone is Tone.SUCCESS, reply.text
    b1 = chat.item("B-1")
    assert (b1.title, b1.waiting_on) == ("Café keys", "the vendor")
    assert b1.due_at is not None


async def test_a_cell_kept_as_text_with_an_apostrophe_is_imported_without_it(chat: Chat) -> None:
    await import_file(chat, "kind,title\nblocker,'=2+2 is four\n", apply=True)
    assert chat.item("B-1").title == "=2+2 is four"


async def test_a_decision_recorded_for_someone_else_waits_on_them(chat: Chat) -> None:
    reply = await import_file(chat, "kind,title,decider,status\nD,Use Okta,@cio,decided\n")
    assert "row 2: D-1 will wait on @cio to decide it" in render_text(reply, width=500)
    await import_file(chat, "kind,title,status\nD,Use Okta,decided\n", apply=True)
    assert (chat.item("D-1").status, chat.item("D-1").decided_by) == (Status.DECIDED, "ana")


async def test_in_chat_only_a_lead_imports_but_anyone_may_try_a_dry_run(chat: Chat) -> None:
    await chat.say("/raid settings leads @ana")
    dry = await import_file(chat, REGISTER, user="zoe")
    assert dry.tone is Tone.INFO
    refused = await import_file(chat, REGISTER, apply=True, user="zoe")
    assert refused.text == "Only a lead (<@ana>) may import a register."
    assert chat.items(Kind.BLOCKER) == []


@pytest.mark.parametrize(
    ("channel", "said"),
    [
        (ChannelKey("slack", "T1", "C1"), "Slack does not let a slash command carry a file. Ask "
         "whoever runs raidline to import it on the server: `raidline import-csv register.csv "
         "--channel slack:T1:C1` (a dry run; add `--apply` to create the items)."),
        (ChannelKey("discord", "42", "7"), "Attach the register: `/raid import file:` and pick "
         "the .csv file."),
        (ChannelKey("console", "local", "proj"), "Say which file: `/raid import <file.csv> "
         "[apply]`, e.g. `/raid import register.csv`."),
    ],
)  # fmt: skip
async def test_raid_import_without_a_file_says_how_to_give_one(
    chat: Chat, channel: ChannelKey, said: str
) -> None:
    chat.channel = channel
    reply = await chat.say("/raid import")
    assert reply.tone is Tone.ERROR and reply.text == said


async def test_raid_help_import_explains_it(chat: Chat) -> None:
    reply = await chat.say("/raid help import")
    assert "Usage: /raid import <file.csv> [apply]" in reply.text


async def test_the_digest_counts_imported_items_as_new(chat: Chat) -> None:
    await import_file(chat, REGISTER, apply=True)
    text = render_text(await chat.say("/digest"), width=500)
    assert "Blockers: new B-1, B-2; resolved B-2" in text
    assert "Risks: new R-1" in text
