"""``raidline import-csv``, run as the operator runs it, and ``/raid import`` in the console:
a dry run by default, ``--apply`` (``apply``) to create every row or none."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_console import raidline

REGISTER = """\
Kind,Title,Owner,Due,Likelihood,Impact,Status
blocker,Waiting on firewall change,@dana,2030-12-11,,,
risk,Vendor may slip,@bob,2030-12-20,high,medium,
"""

pytestmark = pytest.mark.e2e


def test_import_csv_dry_run_then_apply(tmp_path: Path) -> None:
    db = tmp_path / "raidline.db"
    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")

    dry = raidline("import-csv", str(register), "--channel", "proj", "--user", "ana", db=db)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith(
        "Dry run of register.csv: 2 rows, all fine; 2 items would be created. Nothing was saved. "
        f"To import them: `raidline import-csv {register} --channel console:local:proj --apply`."
    )
    assert "row 2: B-1 Waiting on firewall change · blocker · owner @dana · due " in dry.stdout
    listed = raidline("console", "--channel", "proj", db=db, stdin="/raid list\n")
    assert "B-1" not in listed.stdout

    wrong = tmp_path / "wrong.csv"
    wrong.write_text(REGISTER + "blocker,Bad,@dana,31/12,,,\n", encoding="utf-8")
    refused = raidline(
        "import-csv", str(wrong), "--channel", "proj", "--apply", "--user", "ana", db=db
    )
    assert refused.returncode == 1
    assert "row 4: due: `31/12` is ambiguous" in refused.stdout
    assert "so nothing was imported" in refused.stdout

    applied = raidline(
        "import-csv", str(register), "--channel", "proj", "--apply", "--user", "ana", db=db
    )
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.startswith("Imported 2 items from register.csv: B-1, R-1.")
    history = raidline("console", "--channel", "proj", db=db, stdin="/raid history R-1\n")
    assert "@ana imported:" in history.stdout and "from register.csv, row 3" in history.stdout


def test_import_csv_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    db = tmp_path / "raidline.db"
    missing = raidline("import-csv", str(tmp_path / "nope.csv"), "--channel", "proj", db=db)
    assert missing.returncode == 1
    assert missing.stderr.strip().startswith(f"raidline: can't read {tmp_path / 'nope.csv'}")
    both = raidline("import-csv", "x.csv", "--channel", "proj", "--apply", "--dry-run", db=db)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_the_console_imports_a_file_by_its_path(tmp_path: Path) -> None:
    db = tmp_path / "raidline.db"
    (tmp_path / "register.csv").write_text(REGISTER, encoding="utf-8")
    session = "/raid import register.csv\n/raid import register.csv apply\n/raid import nope.csv\n"
    shown = raidline("console", "--channel", "proj", "--user", "ana", db=db, stdin=session)
    assert shown.returncode == 0, shown.stderr
    assert "Dry run of register.csv: 2 rows, all fine" in shown.stdout
    assert "To import them: `/raid import register.csv apply`." in shown.stdout
    assert "Imported 2 items from register.csv: B-1, R-1." in shown.stdout
    assert "Can't read nope.csv: No such file or directory." in shown.stdout
