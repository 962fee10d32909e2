"""Dependencies (issue 18, item 2) and tracker links (item 4): `/raid link`, both ends of a
dependency, the owner told when what they waited for is finished, loops refused; tracker keys
and addresses on create and later, per-channel patterns, shown safely, and in exports."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.domain.model import Kind, Status
from bot.messages import Tone, Visibility
from bot.views.plain import render_text
from tests.unit.conftest import Chat


async def _two_blockers(chat: Chat) -> None:
    await chat.say("/blocker Test environment down @dana")
    await chat.say("/blocker Load test waits for the environment @erin")


async def test_a_dependency_shows_at_both_ends(chat: Chat) -> None:
    await _two_blockers(chat)
    reply = await chat.say("/raid link B-2 depends-on B-1")
    assert reply.visibility is Visibility.CHANNEL and reply.tone is Tone.SUCCESS
    assert reply.text.startswith("B-2 depends on B-1 now; B-1 shows B-2 as needing it.")
    assert chat.item("B-2").depends_on == ("B-1",)
    assert [c.ref for c in reply.cards] == ["B-2", "B-1"]
    text = render_text(reply)
    assert "Depends on: B-1" in text and "Needed by: B-2" in text
    assert "Needed by: B-2" in await chat.text("/raid show B-1")
    assert "Depends on: B-1" in await chat.text("/raid show B-2")
    history = await chat.text("/raid history B-2")
    assert "linked: depends on: B-1" in history


@pytest.mark.parametrize(
    "line", ["/raid link B-2 depends on B-1", "/raid link B-2 after B-1", "/raid link b2 needs b1"]
)
async def test_dependency_words(chat: Chat, line: str) -> None:
    await _two_blockers(chat)
    await chat.say(line)
    assert chat.item("B-2").depends_on == ("B-1",)


async def test_resolving_what_others_wait_for_tells_their_owners(chat: Chat) -> None:
    await _two_blockers(chat)
    await chat.say("/milestone Go live due 15 Jan @mo")
    await chat.say("/raid link B-2 depends-on B-1")
    await chat.say("/raid link M-1 depends-on B-1")
    resolved = await chat.say("/raid resolve B-1 environment is back", user="dana")
    assert resolved.visibility is Visibility.CHANNEL
    lines = resolved.text.splitlines()
    assert lines[0] == "Resolved B-1: Test environment down"
    assert "<@erin>: B-2 was waiting for B-1, which is resolved." in lines
    assert "<@mo>: M-1 was waiting for B-1, which is resolved." in lines


async def test_a_dependency_on_a_milestone_and_a_milestone_on_an_item(chat: Chat) -> None:
    await chat.say("/milestone Design approved due 15 Jan")
    await chat.say("/blocker Build waits for design @erin")
    await chat.say("/raid link B-1 depends-on M-1")
    assert chat.item("B-1").depends_on == ("M-1",)
    done = await chat.say("/raid resolve M-1")
    assert "<@erin>: B-1 was waiting for M-1, which is done." in done.text


@pytest.mark.parametrize(
    ("links", "closing", "loop"),
    [
        ([], "/raid link B-1 depends-on B-1", "B-1 can't depend on itself."),
        (
            ["/raid link B-2 depends-on B-1"],
            "/raid link B-1 depends-on B-2",
            "Sorry, B-1 can't depend on B-2: B-2 already waits for B-1 (B-2 → B-1)",
        ),
        (
            ["/raid link B-2 depends-on B-1", "/raid link B-3 depends-on B-2"],
            "/raid link B-1 depends-on B-3",
            "B-3 already waits for B-1 (B-3 → B-2 → B-1)",
        ),
    ],
    ids=["itself", "two items", "three items"],
)
async def test_a_loop_is_refused_politely(
    chat: Chat, links: list[str], closing: str, loop: str
) -> None:
    for n in range(3):
        await chat.say(f"/blocker Blocker {n + 1}")
    for line in links:
        assert (await chat.say(line)).tone is Tone.SUCCESS
    before = {i.number: i.depends_on for i in chat.items(Kind.BLOCKER)}
    refused = await chat.say(closing)
    assert refused.tone is Tone.ERROR
    assert loop in refused.text
    assert {i.number: i.depends_on for i in chat.items(Kind.BLOCKER)} == before


async def test_remove_takes_each_kind_of_link_off(chat: Chat) -> None:
    await _two_blockers(chat)
    await chat.say("/milestone Go live")
    await chat.say("/raid link B-2 depends-on B-1")
    await chat.say("/raid link B-2 M-1")
    await chat.say("/raid link B-2 OPS-12")
    assert (await chat.say("/raid link B-2 remove B-1")).text.startswith(
        "B-2 no longer depends on B-1."
    )
    assert (await chat.say("/raid link B-2 remove m-1")).text.startswith(
        "B-2 is no longer part of M-1."
    )
    assert (await chat.say("/raid link B-2 remove ops-12")).text.startswith(
        "B-2 no longer links to OPS-12."
    )
    stored = chat.item("B-2")
    assert (stored.depends_on, stored.milestone, stored.links) == ((), None, ())
    nothing = await chat.say("/raid link B-2 remove B-1")
    assert nothing.tone is Tone.ERROR and "B-2 has no link to B-1" in nothing.text


async def test_only_a_manager_links_and_only_open_items(chat: Chat) -> None:
    await _two_blockers(chat)
    await chat.say("/raid settings leads @ana")
    refused = await chat.say("/raid link B-2 depends-on B-1", user="zed")
    assert refused.tone is Tone.ERROR and "may link B-2" in refused.text
    await chat.say("/raid resolve B-1")
    closed = await chat.say("/raid link B-1 OPS-1")
    assert closed.tone is Tone.ERROR and "B-1 is resolved" in closed.text


# --- tracker links ---------------------------------------------------------------------------


async def test_tracker_links_on_create_and_later_with_a_channel_pattern(chat: Chat) -> None:
    logged = await chat.say("/blocker Waiting on SSO config link JIRA-123 @dana")
    assert logged.text.startswith("Logged B-1: Waiting on SSO config")
    assert chat.item("B-1").links == ("JIRA-123",)
    assert "Tracker: JIRA-123" in render_text(logged)
    setting = await chat.say("/raid settings links JIRA=https://acme.atlassian.net/browse/{}")
    assert setting.tone is Tone.SUCCESS
    assert "JIRA-123 now links to https://acme.atlassian.net/browse/JIRA-123" in setting.text
    later = await chat.say("/raid link B-1 https://github.com/acme/app/issues/12")
    assert later.text.startswith("B-1 links to https://github.com/acme/app/issues/12 now.")
    assert chat.item("B-1").links == ("JIRA-123", "https://github.com/acme/app/issues/12")
    fields = {f.label: f.value for f in later.cards[0].fields}
    assert fields["Tracker"] == (
        "JIRA-123 <https://acme.atlassian.net/browse/JIRA-123>, "
        "<https://github.com/acme/app/issues/12>"
    )
    listed = await chat.text("/raid settings links")
    assert "JIRA: https://acme.atlassian.net/browse/{}" in listed
    removed = await chat.say("/raid settings links JIRA=off")
    assert removed.tone is Tone.SUCCESS
    assert chat.store.state.settings[chat.channel].link_patterns == {}


async def test_a_slack_wrapped_address_is_taken_as_typed(chat: Chat) -> None:
    await chat.say("/blocker X link <https://github.com/acme/app/issues/12>")
    await chat.say("/raid link B-1 <https://example.com/a|example.com/a>")
    assert chat.item("B-1").links == (
        "https://github.com/acme/app/issues/12",
        "https://example.com/a",
    )


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("/raid link B-1 javascript:alert(1)", "neither a tracker key"),
        ("/raid link B-1 ftp://files.example/x", "only http:// and https://"),
        ("/raid link B-1 <https://evil.example|Approve here>", "not a link raidline keeps"),
        ("/raid link B-1 https://user@evil.example/x", "a user name before the host"),
        ('/raid link B-1 https://x.example/"onmouseover', "characters a link can't carry"),
        ("/raid settings links JIRA=https://acme.example/browse/", "one `{}`"),
        ("/raid settings links JIRA=javascript:{}", "only http:// and https://"),
        ("/raid settings links B=https://x.example/{}", "is not a tracker prefix"),
        ("/blocker X link ftp://x.example/1", "only http:// and https://"),
    ],
)
async def test_unsafe_links_and_patterns_are_refused(chat: Chat, line: str, complaint: str) -> None:
    await chat.say("/blocker Something")
    refused = await chat.say(line)
    assert refused.tone is Tone.ERROR
    assert complaint in refused.text
    assert chat.item("B-1").links == ()
    assert chat.store.state.settings.get(chat.channel) is None or not (
        chat.store.state.settings[chat.channel].link_patterns
    )


async def test_a_label_is_never_user_chosen_text(chat: Chat) -> None:
    await chat.say("/raid settings links OPS=https://ops.example/{}")
    await chat.say("/blocker Outage link OPS-9 link https://status.example/page")
    text = render_text(await chat.say("/raid show B-1"))
    assert "OPS-9 https://ops.example/OPS-9" in text
    assert "https://status.example/page" in text
    fields = {f.label: f.value for f in (await chat.say("/raid show B-1")).cards[0].fields}
    # every live link is the platforms' plain form: the address is its own label
    assert "|" not in fields["Tracker"]


async def test_exports_carry_milestones_dependencies_and_links(chat: Chat) -> None:
    await chat.say("/raid settings links JIRA=https://acme.atlassian.net/browse/{}")
    await chat.say("/milestone Design approved due 15 Jan @owner")
    await chat.say("/blocker Fonts late for M-1 link JIRA-7 @dana")
    await chat.say("/blocker Build waits @erin")
    await chat.say("/raid link B-2 depends-on B-1")
    await chat.say("/raid due M-1 Jan 22")

    md = (await chat.say("/raid export md")).files or ()
    if not md:  # the file comes after the transaction
        md = (await chat.core.export_channel(chat.channel, "md"),)
    markdown = md[0].content.decode()
    assert "## Milestones" in markdown
    assert "| Ref | Title | Owner | Status | Due | Health | Date moves |" in markdown
    assert "at risk: blocker B-1 is open" in markdown
    assert "- Tracker: JIRA-7 (https://acme.atlassian.net/browse/JIRA-7)" in markdown
    assert "- Depends on: B-1" in markdown

    rows = list(
        csv.DictReader(
            io.StringIO((await chat.core.export_channel(chat.channel, "csv")).content.decode())
        )
    )
    by_ref = {r["Ref"]: r for r in rows}
    assert by_ref["B-1"]["Milestone"] == "M-1"
    assert by_ref["B-1"]["Tracker"] == "JIRA-7 (https://acme.atlassian.net/browse/JIRA-7)"
    assert by_ref["B-2"]["Depends on"] == "B-1"
    assert by_ref["M-1"]["Kind"] == "milestone"
    assert by_ref["M-1"]["Health"].startswith("at risk")

    doc = json.loads((await chat.core.export_channel(chat.channel, "json")).content)
    items = {i["ref"]: i for i in doc["items"]}
    assert items["B-1"]["tracker"] == [
        {"link": "JIRA-7", "url": "https://acme.atlassian.net/browse/JIRA-7"}
    ]
    assert items["B-1"]["milestone"] == "M-1"
    assert items["B-2"]["depends_on"] == ["B-1"]
    assert items["M-1"]["status"] == "open" and items["M-1"]["health"].startswith("at risk")
    assert chat.item("M-1").status is Status.OPEN
