"""Exports a steering committee can read without raidline: the register per kind, then the
history; people by name everywhere, absolute dates, no chat markup, documented field names."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence

import pytest

from bot.domain.model import ChannelKey
from bot.views.plain import render_text
from tests.fakes import FakeStore, FixedClock
from tests.unit.conftest import BASE, Chat

NAMES = {"U0DANA": "Dana Scully", "U0ANA": "Ana Lima", "U0CIO": "Cleo Ortiz"}


class Directory:
    """The platform's names (U0BOB is someone it cannot name)."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.asked: list[list[str]] = []

    async def names(self, channel: ChannelKey, people: Sequence[str]) -> dict[str, str]:
        self.asked.append(list(people))
        if self.fail:
            raise ConnectionError("the platform is down")
        return {p: NAMES[p] for p in people if p in NAMES}


async def register(directory: Directory) -> Chat:
    chat = Chat(FakeStore(), FixedClock(BASE), user="U0ANA")
    chat.core.directories["console"] = directory
    # a risk first: the export still opens with the blockers, in ref order
    await chat.say("/risk Vendor may slip likelihood high impact medium <@U0BOB> review in 2 weeks")
    await chat.say("/blocker Waiting on firewall change <@U0DANA> due friday waiting on <@U0CIO>")
    await chat.say("/decision needed Pick the SSO vendor <@U0CIO> by Dec 5")
    await chat.say("/change Add CRM integration impact schedule +2 weeks, cost +8k <@U0CIO>")
    await chat.say("/blocker Second one")
    await chat.say("/raid resolve B-1 done")
    chat.clock.advance(days=1)
    await chat.say("/raid due B-2 next tuesday")
    return chat


async def export(chat: Chat, fmt: str) -> str:
    reply = await chat.say(f"/raid export {fmt}")
    assert reply.text == f"Exported this channel's register as {fmt.upper()}: " + (
        f"raidline-proj-20261126-0900.{fmt}"
    )
    return reply.files[0].content.decode()


MARKDOWN = """\
# RAID register of #proj

Exported 2026-11-26 10:00 (Europe/Berlin) · 2 blockers, 1 risk, 1 decision, 1 change request. \
All times are in Europe/Berlin.

## Blockers

| Ref | Title | Owner | Status | Due | Waiting on |
|---|---|---|---|---|---|
| B-1 | Waiting on firewall change | Dana Scully | resolved | 2026-11-27 17:00 | Cleo Ortiz |
| B-2 | Second one |  | open | 2026-12-01 17:00 |  |

## Risks

| Ref | Title | Owner | Status | Next review | Likelihood | Impact | Score |
|---|---|---|---|---|---|---|---|
| R-1 | Vendor may slip | U0BOB | open | 2026-12-09 17:00 | 4 | 3 | 12 (medium) |

## Decisions

| Ref | Title | Decider | Status | Decide by | Outcome |
|---|---|---|---|---|---|
| D-1 | Pick the SSO vendor | Cleo Ortiz | needs a decision | 2026-12-05 17:00 |  |

## Change requests

| Ref | Title | Approvers | Status | Impact |
|---|---|---|---|---|
| C-1 | Add CRM integration | Cleo Ortiz | proposed | schedule +2 weeks; cost +8k |

## History

### B-1 · Waiting on firewall change

- Resolution: done
- Reported: by Ana Lima, 2026-11-25 10:00

- 2026-11-25 10:00 · Ana Lima created: status: open; title: Waiting on firewall change; \
owner: Dana Scully; due: 2026-11-27 17:00; waiting on: Cleo Ortiz
- 2026-11-25 10:00 · Ana Lima resolved: status: open → resolved; resolution: done

### B-2 · Second one

- Reported: by Ana Lima, 2026-11-25 10:00

- 2026-11-25 10:00 · Ana Lima created: status: open; title: Second one
- 2026-11-26 10:00 · Ana Lima re-dated: due: 2026-12-01 17:00

### R-1 · Vendor may slip

- Reported: by Ana Lima, 2026-11-25 10:00

- 2026-11-25 10:00 · Ana Lima created: status: open; title: Vendor may slip; owner: U0BOB; \
next review: 2026-12-09 17:00; likelihood: high (4); impact: medium (3); score: 12 (medium)

### D-1 · Pick the SSO vendor

- Reported: by Ana Lima, 2026-11-25 10:00

- 2026-11-25 10:00 · Ana Lima created: status: needs a decision; title: Pick the SSO vendor; \
decider: Cleo Ortiz; decide by: 2026-12-05 17:00

### C-1 · Add CRM integration

- Reported: by Ana Lima, 2026-11-25 10:00

- 2026-11-25 10:00 · Ana Lima created: status: proposed; title: Add CRM integration; \
impact: schedule +2 weeks; cost +8k; approvers: Cleo Ortiz
"""


async def test_the_markdown_export_reads_as_a_register_then_its_history() -> None:
    directory = Directory()
    body = await export(await register(directory), "md")
    assert body == MARKDOWN
    # the platform was asked once, for everyone the log names
    assert len(directory.asked) == 1
    assert set(directory.asked[0]) == {"U0ANA", "U0BOB", "U0DANA", "U0CIO"}


@pytest.mark.parametrize("fmt", ["md", "csv", "json"])
async def test_no_export_carries_chat_markup_ids_of_named_people_or_relative_dates(
    fmt: str,
) -> None:
    body = await export(await register(Directory()), fmt)
    for markup in ("<@", "*B-", "ago", "in 2 days", "date moves", "date_moves", "due_at"):
        assert markup not in body, markup
    for named in ("U0DANA", "U0CIO") if fmt != "json" else ():
        assert named not in body


async def test_the_csv_export_names_people_and_writes_absolute_dates() -> None:
    rows = list(csv.DictReader(io.StringIO(await export(await register(Directory()), "csv"))))
    assert [(r["Ref"], r["Kind"], r["Owner"], r["Status"], r["Due"]) for r in rows] == [
        ("B-1", "blocker", "Dana Scully", "resolved", "2026-11-27 17:00"),
        ("B-2", "blocker", "", "open", "2026-12-01 17:00"),
        ("R-1", "risk", "U0BOB", "open", "2026-12-09 17:00"),
        ("D-1", "decision", "Cleo Ortiz", "needs a decision", "2026-12-05 17:00"),
        ("C-1", "change request", "Cleo Ortiz", "proposed", ""),
    ]
    risk = rows[2]
    assert (risk["Likelihood"], risk["Impact"], risk["Score"], risk["Band"]) == (
        "4",
        "3",
        "12",
        "medium",
    )
    assert list(rows[0]).index("Band") == list(rows[0]).index("Score") + 1
    assert [r["Band"] for r in rows if r["Kind"] != "risk"] == ["", "", "", ""]
    assert rows[4]["Impact"] == "schedule +2 weeks; cost +8k"
    assert rows[0]["History"].splitlines() == [
        "2026-11-25 10:00 · Ana Lima created: status: open; title: Waiting on firewall change; "
        "owner: Dana Scully; due: 2026-11-27 17:00; waiting on: Cleo Ortiz",
        "2026-11-25 10:00 · Ana Lima resolved: status: open → resolved; resolution: done",
    ]


async def test_the_json_export_has_documented_human_field_names() -> None:
    doc = json.loads(await export(await register(Directory()), "json"))
    assert doc["exported_at"] == "2026-11-26T10:00:00+01:00"
    assert doc["time_zone"] == "Europe/Berlin"
    assert [i["ref"] for i in doc["items"]] == ["B-1", "B-2", "R-1", "D-1", "C-1"]
    b1 = doc["items"][0]
    assert (b1["owner"], b1["owner_id"], b1["waiting_on"]) == (
        "Dana Scully",
        "U0DANA",
        "Cleo Ortiz",
    )
    assert b1["due"] == "2026-11-27T17:00:00+01:00"
    assert b1["reported_by"] == "Ana Lima"
    assert b1["events"][1] == {
        "at": "2026-11-25T10:00:00+01:00",
        "by": "Ana Lima",
        "action": "resolved",
        "changes": [
            {"field": "status", "from": "open", "to": "resolved"},
            {"field": "resolution", "from": None, "to": "done"},
        ],
        "note": None,
    }
    r1 = doc["items"][2]
    assert (r1["score"], r1["band"]) == (12, "medium")
    assert [i["band"] for i in doc["items"] if i["kind"] != "risk"] == [None] * 4
    c1 = doc["items"][4]
    assert (c1["approvers"], c1["approver_ids"]) == (["Cleo Ortiz"], ["U0CIO"])
    assert c1["change_impact"] == {"schedule": "+2 weeks", "cost": "+8k"}
    assert doc["people"]["U0BOB"] == "U0BOB"


async def test_a_platform_that_cannot_name_anyone_leaves_the_ids() -> None:
    body = await export(await register(Directory(fail=True)), "md")
    assert "| B-1 | Waiting on firewall change | U0DANA | resolved |" in body
    assert "- 2026-11-25 10:00 · U0ANA resolved: status: open → resolved" in body


async def test_no_history_shows_raidlines_bookkeeping(chat: Chat) -> None:
    await chat.say("/blocker Waiting on creds @dana due friday")
    await chat.say("/raid due B-1 next tuesday")
    text = render_text(await chat.say("/raid history B-1"), width=500)
    assert "created: status: open; title: Waiting on creds; owner: @dana; due: " in text
    assert "date moves" not in text and "date_moves" not in text


# Every band edge, in every format: the one band function decides (low 1-4, medium 5-12,
# high 15-25); an unscored risk shows no score and no band.
BANDS = [
    ("likelihood 1 impact 4", "4", "low"),
    ("likelihood 1 impact 5", "5", "medium"),
    ("likelihood 3 impact 4", "12", "medium"),
    ("likelihood 3 impact 5", "15", "high"),
    ("likelihood 5 impact 5", "25", "high"),
    ("", "", ""),
]


@pytest.mark.parametrize(("scored", "score", "band"), BANDS)
async def test_every_export_shows_a_risks_band_beside_its_score(
    scored: str, score: str, band: str
) -> None:
    chat = Chat(FakeStore(), FixedClock(BASE), user="U0ANA")
    chat.core.directories["console"] = Directory()
    await chat.say(f"/risk Vendor may slip {scored}".strip())
    chat.clock.advance(days=1)
    md = await export(chat, "md")
    shown = f"{score} ({band})" if score else ""
    assert md.splitlines()[8].endswith(f"| {shown} |"), md.splitlines()[8]
    row = next(csv.DictReader(io.StringIO(await export(chat, "csv"))))
    assert (row["Score"], row["Band"]) == (score, band)
    item = json.loads(await export(chat, "json"))["items"][0]
    assert (item["score"], item["band"]) == (int(score) if score else None, band or None)
