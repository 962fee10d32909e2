"""Start-up says what raidline is doing and nothing about libraries it does not use.

discord.py warns about voice support (PyNaCl, davey) and its import of the deprecated audioop
module; raidline never joins a voice channel, so those lines would only alarm an operator. They
are silenced one by one: other warnings still show (checked below with PYTHONWARNINGS=default,
which shows every DeprecationWarning).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_console import clean_env, free_port, raidline

#: Lines no start-up may print.
NOISE = re.compile(r"Warning|PyNaCl|davey|voice|audioop|pkg_resources|packaging", re.IGNORECASE)
SHOWN = {"PYTHONWARNINGS": "default"}
DISCORD = {
    **SHOWN,
    "DISCORD_BOT_TOKEN": "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.abcdefghijklmnopqrstuvwxyz0123456789",
    "DISCORD_API_URL": "http://127.0.0.1:9/api/v10",  # nothing listens: start-up stops early
}


@pytest.mark.e2e
@pytest.mark.parametrize(
    "args", [("--help",), ("run", "--help"), ("sign-request", "--help")], ids=" ".join
)
def test_help_prints_no_warnings(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = raidline(*args, db=tmp_path / "raidline.db", env=SHOWN)
    assert result.returncode == 0
    assert result.stderr == ""
    assert "usage: raidline" in result.stdout


@pytest.mark.e2e
def test_discord_start_up_prints_no_voice_or_deprecation_warnings(tmp_path: Path) -> None:
    env = {**DISCORD, "RAIDLINE_HTTP_PORT": str(free_port())}
    result = raidline("run", db=tmp_path / "raidline.db", env=env)
    assert result.returncode == 1
    assert "can't reach the Discord API at http://127.0.0.1:9/api/v10" in result.stderr
    assert "logging in using static token" in result.stderr  # the client was built
    assert [line for line in result.stderr.splitlines() if NOISE.search(line)] == []


@pytest.mark.e2e
def test_other_deprecation_warnings_still_show(tmp_path: Path) -> None:
    code = (
        "import warnings, adapters.discord;"
        "warnings.warn('something else is deprecated', DeprecationWarning)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=clean_env(tmp_path / "raidline.db", SHOWN),
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "something else is deprecated" in result.stderr
    assert "audioop" not in result.stderr
