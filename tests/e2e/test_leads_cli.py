"""``raidline leads``: an operator shows and sets a channel's leads, e.g. to take back a
channel whose only lead has left."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_console import raidline

CHANNEL = "console:local:proj"


def console(db: Path, user: str, *lines: str) -> str:
    result = raidline(
        "console", "--user", user, "--channel", "proj", db=db, stdin="\n".join(lines) + "\n"
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return result.stdout


@pytest.mark.e2e
def test_an_operator_takes_back_a_locked_channel(tmp_path: Path) -> None:
    db = tmp_path / "raidline.db"
    console(db, "lee", "/raid settings leads @lee")
    locked = console(db, "zoe", "/raid settings nudges off", "/raid settings leads @zoe")
    assert "Only a lead (@lee) may turn nudges on or off." in locked
    assert "Only a lead (@lee) or an operator (`raidline leads`) may change the leads." in locked

    shown = raidline("leads", "--channel", "proj", "--show", db=db)
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, f"Leads of {CHANNEL}: @lee\n", "")

    taken = raidline("leads", "--channel", CHANNEL, "--set", "@zoe", "<@raj>", "zoe", db=db)
    assert (taken.returncode, taken.stdout) == (0, f"Leads of {CHANNEL}: @zoe @raj\n"), taken
    assert "Nudges are off in this channel." in console(db, "zoe", "/raid settings nudges off")
    assert "Leads: @zoe @raj" in console(db, "lee", "/raid settings")

    cleared = raidline("leads", "--channel", "proj", "--clear", db=db)
    assert cleared.stdout == f"{CHANNEL} has no leads: everyone there may do what a lead may.\n"
    assert "Leads: none" in console(db, "lee", "/raid settings")


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "status", "error"),
    [
        (
            ("--channel", "nope", "--show"),
            1,
            f"raidline: no channel 'nope'; known channels: {CHANNEL}",
        ),
        (("--channel", "proj", "--set", "ze ro!"), 2, "`ro!` is not a person"),
        (("--channel", "proj"), 2, "one of the arguments --show --set --clear is required"),
    ],
)
def test_leads_refuses_an_unknown_channel_or_person(
    tmp_path: Path, args: tuple[str, ...], status: int, error: str
) -> None:
    db = tmp_path / "raidline.db"
    console(db, "lee", "/raid settings leads @lee")
    result = raidline("leads", *args, db=db)
    assert (result.returncode, result.stdout) == (status, ""), result.stderr
    assert error in result.stderr
    assert "Leads: @lee" in console(db, "lee", "/raid settings")
