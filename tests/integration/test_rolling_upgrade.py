"""Rolling upgrades: the previous release's storage tests pass on this release's schema.

During a rolling upgrade the new release migrates the database while replicas of the previous
release still serve requests on it. This check takes the previous release's code and storage
tests from git history, lets this release migrate every database they use (see
``newer_release_migrates.py``) and runs them in a subprocess on the previous release's code.
A migration that is not expand-only for the previous release (a column it does not write
made NOT NULL, a table or column it reads dropped or renamed) fails here.

When a release ships, move ``PREVIOUS_RELEASE`` to its commit.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from storage.migrate import upgrade
from tests.integration.conftest import POSTGRES_SKIP, postgres_base_url

ROOT = Path(__file__).resolve().parents[2]

#: The last release before this one (its storage code is at migration 0003).
PREVIOUS_RELEASE = "b6e51c523ff6663fd6c13673c47796afa3f60027"
#: The previous release's tests of its storage: repositories, units of work, the core on them.
STORAGE_TESTS = (
    "tests/integration/test_storage.py",
    "tests/integration/test_schedules_storage.py",
    "tests/integration/test_core_on_storage.py",
)
#: Tests of the previous release's own migration chain, which a newer database is past.
MIGRATION_TESTS = ("tests/integration/test_schedules_storage.py::test_0002_upgrade_downgrade",)
#: On PostgreSQL (a throwaway database per test costs a second or more) the tests that write
#: every column of every table: items and events, channels, schedules, runs, standups.
POSTGRES_TESTS = (
    "tests/integration/test_storage.py::test_item_round_trip_with_every_field",
    "tests/integration/test_storage.py::test_update_stores_every_field",
    "tests/integration/test_storage.py::test_events_round_trip_in_order",
    "tests/integration/test_storage.py::test_channel_settings_defaults_and_round_trip",
    "tests/integration/test_schedules_storage.py",
    "tests/integration/test_core_on_storage.py",
)
#: Fewer passing tests than this means the check itself broke (a bad selection, say).
MIN_PASSED = {"sqlite": 60, "postgres": 20}


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, check=False)


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The previous release's tree, whose ``storage.migrate.upgrade`` this release does."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the rolling-upgrade check reads the previous release from git history")
    archive = _git("archive", "--format=tar", PREVIOUS_RELEASE, "bot", "storage", "tests")
    assert archive.returncode == 0, (
        f"the previous release {PREVIOUS_RELEASE[:7]} is not in this clone's history "
        f"({archive.stderr.decode(errors='replace').strip()}); fetch it, "
        "e.g. git fetch --unshallow"
    )
    tree = tmp_path_factory.mktemp("previous_release")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tree, filter="data")
    # Its pytest settings (asyncio mode, markers) without its packaging.
    settings = _git("show", f"{PREVIOUS_RELEASE}:pyproject.toml")
    assert settings.returncode == 0
    (tree / "pyproject.toml").write_bytes(settings.stdout)
    shutil.copyfile(
        Path(__file__).with_name("newer_release_migrates.py"),
        tree / "storage" / "_newer_release.py",
    )
    with (tree / "storage" / "migrate.py").open("a", encoding="utf-8") as migrate:
        migrate.write("\nfrom storage._newer_release import upgrade, upgrade_async  # noqa\n")
    return tree


@pytest.fixture
def newer_head(tmp_path: Path) -> dict[str, str]:
    """A SQLite file this release migrated to its head, for the previous release's copies."""
    head = tmp_path / "head.db"
    upgrade(f"sqlite:///{head}")
    return {"RAIDLINE_NEWER_ROOT": str(ROOT), "RAIDLINE_NEWER_SQLITE": str(head)}


def _run_previous_tests(tree: Path, env: dict[str, str], selection: list[str]) -> str:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += [*selection, *(f"--deselect={t}" for t in MIGRATION_TESTS)]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "RAIDLINE_"))}
    result = subprocess.run(
        command,
        cwd=tree,
        env={**clean, **env, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, "the previous release fails on this schema:\n" + output[-6000:]
    return output


def _passed(output: str) -> int:
    for line in reversed(output.splitlines()):
        words = line.replace(",", " ").split()
        if "passed" in words:
            return int(words[words.index("passed") - 1])
    return 0


def test_previous_release_storage_tests_pass_on_this_schema_sqlite(
    previous_release: Path, newer_head: dict[str, str]
) -> None:
    output = _run_previous_tests(
        previous_release, newer_head, [*STORAGE_TESTS, "-k", "not postgres"]
    )
    assert _passed(output) >= MIN_PASSED["sqlite"], output[-3000:]


@pytest.mark.postgres
def test_previous_release_storage_tests_pass_on_this_schema_postgres(
    previous_release: Path, newer_head: dict[str, str]
) -> None:
    base = postgres_base_url()
    if base is None:
        pytest.skip(POSTGRES_SKIP)
    env = {**newer_head, "RAIDLINE_TEST_POSTGRES_URL": base}
    output = _run_previous_tests(previous_release, env, [*POSTGRES_TESTS, "-m", "postgres"])
    assert _passed(output) >= MIN_PASSED["postgres"], output[-3000:]
