"""CSV exports: a cell a spreadsheet would run as a formula is written as text instead."""

from __future__ import annotations

import csv
import io

import pytest

from bot.views.export import FORMULA_STARTS
from tests.unit.conftest import Chat

#: What is said, and by whom (a console name is free text, so it can start a formula too).
SAID = [
    ('/blocker =HYPERLINK("http://evil.example","click")', "ana"),
    ("/risk +cmd|' /C calc'!A0", "ana"),
    ("/blocker @SUM(1+1)*cmd|' /C calc'!A0", "ana"),
    ("/decision Okta, best SCIM support", "-2+3"),
    ("/blocker Waiting on creds", "=1+1"),
    ("/blocker Tab reporter", "\t=1+1"),
    ("/blocker Return reporter", "\r=1+1"),
    ("/blocker Spaced reporter", "  =1+1"),
    ("/blocker Plain title", "ana"),
    ('/raid resolve B-7 =WEBSERVICE("http://evil.example")', "ana"),
    ("/raid note B-1 -1+1 vendor confirmed", "ana"),
]

#: (item, CSV column, the cell as exported)
EXPORTED = [
    ("B-1", "Title", '\'=HYPERLINK("http://evil.example","click")'),
    ("R-1", "Title", "'+cmd|' /C calc'!A0"),
    ("B-2", "Title", "'@SUM(1+1)*cmd|' /C calc'!A0"),
    ("D-1", "Owner", "'-2+3"),
    ("D-1", "Reported by", "'-2+3"),
    ("D-1", "Decided by", "'-2+3"),
    ("B-3", "Reported by", "'=1+1"),
    ("B-4", "Reported by", "'\t=1+1"),
    ("B-5", "Reported by", "'\r=1+1"),
    ("B-6", "Reported by", "'  =1+1"),
    ("B-7", "Resolution", '\'=WEBSERVICE("http://evil.example")'),
    ("B-7", "Title", "Plain title"),
    ("D-1", "Title", "Okta, best SCIM support"),
]


async def _export(chat: Chat) -> list[dict[str, str]]:
    for line, user in SAID:
        await chat.say(line, user=user)
    reply = await chat.say("/raid export csv")
    return list(csv.DictReader(io.StringIO(reply.files[0].content.decode(), newline="")))


@pytest.mark.parametrize(("ref", "column", "cell"), EXPORTED)
async def test_a_formula_is_exported_as_text(chat: Chat, ref: str, column: str, cell: str) -> None:
    rows = {row["Ref"]: row for row in await _export(chat)}
    assert rows[ref][column] == cell


async def test_no_cell_of_the_export_starts_a_formula(chat: Chat) -> None:
    rows = await _export(chat)
    assert len(rows) == 9
    for row in rows:
        for column, cell in row.items():
            assert not cell.lstrip(" ").startswith(FORMULA_STARTS), (row["Ref"], column, cell)
    history = {row["Ref"]: row["History"] for row in rows}
    # The history keeps what was said, after the time it was said.
    assert "note: “-1+1 vendor confirmed”" in history["B-1"]
    assert 'resolution: =WEBSERVICE("http://evil.example")' in history["B-7"]
