"""``raidline export --all`` and ``raidline import``, run as the operator runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storage.migrate import current, known_revisions, upgrade
from tests.e2e.test_console import (  # noqa: F401 - postgres_url is a fixture
    FIRST_SESSION,
    blocks,
    check_first_session,
    postgres_url,
    raidline,
)

OPS_SESSION = "\n".join(
    [
        "/blocker Pager rota has a gap @raj",
        "/raid settings timezone Europe/Berlin",
        "/standup schedule weekdays 09:30",
        "/standup members @ana @raj",
        "/digest weekly fri 16:00",
        "",
    ]
)


def seed(db: Path, env: dict[str, str] | None = None) -> None:
    check_first_session(
        raidline("console", "--channel", "proj", db=db, env=env, stdin=FIRST_SESSION)
    )
    ops = raidline("console", "--channel", "ops", db=db, env=env, stdin=OPS_SESSION)
    assert ops.returncode == 0 and "Traceback" not in ops.stderr, ops.stderr


def stampless(text: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(text)
    document.pop("exported_at")
    return document


def summary(document: dict[str, Any]) -> str:
    items = [item for channel in document["channels"] for item in channel["items"]]
    events = sum(len(item["events"]) for item in items)
    return f"Restored {len(document['channels'])} channels, {len(items)} items, {events} events."


@pytest.mark.e2e
def test_export_all_then_import_into_another_database(tmp_path: Path) -> None:
    source, target, backup_file = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "f.json"
    seed(source)

    exported = raidline(
        "export", "--all", "--format", "json", "--output", str(backup_file), db=source
    )
    assert (exported.returncode, exported.stdout) == (0, ""), exported.stderr
    size = backup_file.stat().st_size
    assert exported.stderr == f"raidline: wrote {size} bytes to {backup_file}\n"
    document = json.loads(backup_file.read_text(encoding="utf-8"))
    assert (document["format"], document["version"]) == ("raidline-backup", 1)
    channels = {c["channel"]: c for c in document["channels"]}
    assert set(channels) == {"ops", "proj"}
    assert sorted(s["kind"] for s in channels["ops"]["schedules"]) == ["digest", "standup"]
    assert channels["proj"]["settings"]["leads"] == ["ana"]

    imported = raidline("import", str(backup_file), db=target)
    assert imported.returncode == 0, imported.stderr
    assert (imported.stdout, imported.stderr) == (summary(document) + "\n", "")
    assert imported.stdout == "Restored 2 channels, 6 items, 8 events.\n"

    # The restored database exports the same backup, and the same channel export.
    again = raidline("export", "--all", "--format", "json", db=target)
    assert again.returncode == 0, again.stderr
    assert stampless(again.stdout) == stampless(backup_file.read_text(encoding="utf-8"))
    proj = [
        raidline("export", "--channel", "proj", "--format", "json", db=db)
        for db in (source, target)
    ]
    assert [p.returncode for p in proj] == [0, 0], [p.stderr for p in proj]
    assert stampless(proj[1].stdout) == stampless(proj[0].stdout)

    # People see the same items, and new refs continue the numbering.
    show = "/raid show B-1\n/raid history B-1\n/raid show C-1\n"
    shown = [
        raidline("console", "--channel", "proj", db=db, stdin=show).stdout
        for db in (source, target)
    ]
    assert shown[0] == shown[1]
    assert blocks(shown[1])["B-1"].splitlines()[1] == "    blocker · resolved"
    more = raidline("console", "--channel", "proj", db=target, stdin="/blocker Another one\n")
    assert "B-2" in more.stdout, more.stdout

    # A database that is not empty any more is refused, with one line and nothing written.
    twice = raidline("import", str(backup_file), db=target)
    assert (twice.returncode, twice.stdout) == (1, "")
    assert twice.stderr.splitlines() == [
        "raidline: the target database is not empty (2 channels, 7 items); nothing was "
        "restored: import into a new, empty database"
    ]


@pytest.mark.e2e
def test_import_reads_standard_input(tmp_path: Path) -> None:
    source, target = tmp_path / "a.db", tmp_path / "b.db"
    seed(source)
    exported = raidline("export", "--all", "--format", "json", db=source)
    assert exported.returncode == 0, exported.stderr
    imported = raidline("import", "-", db=target, stdin=exported.stdout)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == summary(json.loads(exported.stdout)) + "\n"


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--all", "--format", "csv"],
            "raidline: error: export --all writes a full backup, which is JSON only; "
            "use --format json (not csv)",
            id="all-csv",
        ),
        pytest.param(
            ["--all", "--format", "md"],
            "raidline: error: export --all writes a full backup, which is JSON only; "
            "use --format json (not md)",
            id="all-md",
        ),
        pytest.param(
            ["--all", "--channel", "proj", "--format", "json"],
            "raidline export: error: argument --channel: not allowed with argument --all",
            id="all-and-channel",
        ),
        pytest.param(
            ["--format", "json"],
            "raidline export: error: one of the arguments --channel --all is required",
            id="neither",
        ),
    ],
)
def test_export_all_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    db = tmp_path / "raidline.db"
    result = raidline("export", *args, db=db)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[-1] == message
    assert not db.exists()  # refused before the database was opened


BAD_KIND = {
    "format": "raidline-backup",
    "version": 1,
    "exported_at": "2026-12-07T12:00:00+00:00",
    "channels": [
        {
            "platform": "console",
            "workspace": "local",
            "channel": "proj",
            "items": [{"ref": "B-1", "kind": "bug", "status": "open", "events": []}],
        }
    ],
}


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            json.dumps(BAD_KIND),
            "channels[0].items[0].kind: 'bug' is not a kind "
            "(blocker, risk, decision, change, milestone)",
            id="bad-kind",
        ),
        pytest.param(
            "{\n  oops",
            "not JSON: Expecting property name enclosed in double quotes at line 2, column 3",
            id="not-json",
        ),
        pytest.param(
            json.dumps({"channel": {}, "items": []}),
            "format: missing",
            id="a-channel-export",
        ),
        pytest.param(
            json.dumps({**BAD_KIND, "version": 9}),
            "version: backup version 9 is newer than this raidline reads (1); "
            "restore it with a newer raidline",
            id="newer",
        ),
    ],
)
def test_a_malformed_backup_is_one_line_and_nothing_is_written(
    tmp_path: Path, content: str, message: str
) -> None:
    db, bad = tmp_path / "raidline.db", tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    result = raidline("import", str(bad), db=db)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [f"raidline: {bad}: {message}"]
    assert not db.exists()  # checked before the database was opened


@pytest.mark.e2e
def test_a_missing_file_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "raidline.db"
    result = raidline("import", str(tmp_path / "nope.json"), db=db)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"raidline: can't read {tmp_path / 'nope.json'}: No such file or directory"
    ]
    assert not db.exists()


@pytest.mark.e2e
@pytest.mark.postgres
def test_import_from_sqlite_into_postgres(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811 - the fixture
) -> None:
    source, backup_file = tmp_path / "a.db", tmp_path / "f.json"
    seed(source)
    exported = raidline(
        "export", "--all", "--format", "json", "--output", str(backup_file), db=source
    )
    assert exported.returncode == 0, exported.stderr
    env = {"DATABASE_URL": postgres_url}
    unused = tmp_path / "unused.db"

    # PostgreSQL is migrated by the operator, as for every other command.
    early = raidline("import", str(backup_file), db=unused, env=env)
    assert early.returncode == 1
    (line,) = early.stderr.splitlines()
    assert line.endswith("run `raidline migrate` first.")
    assert raidline("migrate", db=unused, env=env).returncode == 0

    imported = raidline("import", str(backup_file), db=unused, env=env)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == "Restored 2 channels, 6 items, 8 events.\n"
    again = raidline("export", "--all", "--format", "json", db=unused, env=env)
    assert again.returncode == 0, again.stderr
    assert stampless(again.stdout) == stampless(backup_file.read_text(encoding="utf-8"))
    shown = raidline("console", "--channel", "proj", db=unused, env=env, stdin="/raid show B-1\n")
    assert blocks(shown.stdout)["B-1"].splitlines()[1] == "    blocker · resolved"
    assert not unused.exists()


@pytest.mark.e2e
@pytest.mark.parametrize(
    "command",
    [
        pytest.param(("export", "--all", "--format", "json"), id="all"),
        pytest.param(("export", "--channel", "proj", "--format", "md"), id="channel"),
    ],
)
def test_export_never_migrates_the_database_it_reads(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    # A bot of the release before still runs on this file: an export from the newer one
    # must not migrate it under that bot's feet.
    db = tmp_path / "a.db"
    url = f"sqlite:///{db}"
    upgrade(url, "0003")
    exported = raidline(*command, db=db)
    head = known_revisions()[0]
    assert (exported.returncode, exported.stdout) == (1, "")
    assert exported.stderr == (
        f"raidline: the database at {url} is at revision 0003 but this raidline needs {head}; "
        "run `raidline migrate` first.\n"
    )
    assert current(url) == "0003"
