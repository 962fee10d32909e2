"""Reading a register someone kept in a spreadsheet: a CSV file as rows of named cells.

Spreadsheets write CSV in several dialects, and all of these are read: UTF-8 with or without
a byte-order mark (Excel's "CSV UTF-8"), UTF-16 with its mark (Excel's "Unicode text"), and a
comma, a semicolon (spreadsheets in locales whose decimal mark is a comma) or a tab between
cells, whichever the header line uses most. Header names are matched without regard to case,
spaces, hyphens or underscores (``Waiting on`` = ``waiting_on``). A cell written as text with a
leading apostrophe (``'=x``, as spreadsheets and raidline's own exports write a cell that could
be a formula) is read without the apostrophe; a cell that *is* a formula (``=TODAY()+7``, a
spreadsheet exported without its values) is refused, never stored.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from bot.domain.limits import MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, clean_text
from bot.errors import UsageError

_DELIMITERS = (",", ";", "\t")
#: What spreadsheets write before a cell that starts like a formula, so it stays text.
_FORMULA_STARTS = ("=", "+", "-", "@")


def header_key(name: str) -> str:
    """``Waiting On`` / ``waiting-on`` / `` waiting_on `` -> ``waiting_on``."""
    return re.sub(r"[\s_\-]+", "_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class Row:
    """One data row: its number as a spreadsheet shows it (the header is row 1) and its
    cells by header key; empty cells are left out."""

    number: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Sheet:
    #: the header as written, in order
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    #: cells that could not be read, by row number: a formula, where a value was expected
    problems: dict[int, list[str]] = field(default_factory=dict)


def too_big(name: str) -> str:
    """The refusal of a file over :data:`MAX_IMPORT_BYTES` (adapters say it before they
    download one)."""
    return (
        f"{name} is larger than {MAX_IMPORT_BYTES:,} bytes, the most one import reads. "
        "Split it into several files and import each."
    )


def decode(data: bytes, name: str) -> str:
    """The file's text: UTF-8 (a byte-order mark is dropped) or UTF-16 with its mark."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    raise UsageError(
        f'{name} is not UTF-8 text. Save it from your spreadsheet as "CSV UTF-8" and try again.'
    )


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _cell(value: str) -> tuple[str, bool]:
    """The cell's text, and whether it is a formula."""
    text = clean_text(value).strip()
    if text.startswith("'") and text[1:].lstrip(" ").startswith(_FORMULA_STARTS):
        return text[1:], False
    return text, text.startswith("=")


def read_sheet(data: bytes, name: str) -> Sheet:
    """The rows of the CSV file ``data`` (called ``name`` in messages).

    Raises :class:`UsageError` for a file that cannot be a register: too large, not text, no
    header, no rows, or more rows than :data:`MAX_IMPORT_ROWS`.
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise UsageError(too_big(name))
    text = decode(data, name)
    first = text.lstrip("\r\n").split("\n", 1)[0]
    if not first.strip():
        raise UsageError(
            f"{name} is empty. Its first line names the columns, e.g. `kind,title,owner,due`."
        )
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first)))
    except csv.Error as exc:
        raise UsageError(f"{name} is not a CSV file I can read ({exc}).") from None
    # rows numbered as a spreadsheet shows them: the first record is row 1
    numbered = [(number, record) for number, record in enumerate(records, start=1)]
    while numbered and not any(c.strip() for c in numbered[0][1]):
        numbered.pop(0)
    if not numbered:
        raise UsageError(
            f"{name} is empty. Its first line names the columns, e.g. `kind,title,owner,due`."
        )
    headers = tuple(h.strip() for h in numbered[0][1])
    keys = [header_key(h) for h in headers]
    rows: list[Row] = []
    problems: dict[int, list[str]] = {}
    for number, record in numbered[1:]:
        if not any(c.strip() for c in record):
            continue
        cells: dict[str, str] = {}
        for key, heading, value in zip(keys, headers, record, strict=False):
            text, formula = _cell(value)
            if formula:
                problems.setdefault(number, []).append(
                    f"{heading}: `{text}` is a spreadsheet formula, not its value. Export the "
                    "sheet with values, or start the cell with an apostrophe to keep it as text."
                )
            elif text and key:
                cells.setdefault(key, text)
        rows.append(Row(number, cells))
    if not rows:
        raise UsageError(f"{name} has a header line but no rows to import.")
    if len(rows) > MAX_IMPORT_ROWS:
        raise UsageError(
            f"{name} has {len(rows):,} rows; one import takes at most {MAX_IMPORT_ROWS:,}. "
            "Split it into several files and import each."
        )
    return Sheet(headers, tuple(rows), problems)
