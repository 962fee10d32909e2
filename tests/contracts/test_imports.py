"""The import rules of the house hold: import-linter's contracts and no cycles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.contracts.cycles import cycles, import_graph

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": set()}, []),
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [["a", "b"], ["c", "d"]]),
    ],
)
def test_cycle_finder(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


def test_no_import_cycles_between_modules() -> None:
    assert cycles(import_graph()) == []


def test_function_level_imports_are_seen() -> None:
    """A cycle hidden inside a function still counts: grimp reads every import statement."""
    graph = import_graph()
    # adapters.runtime.bootstrap builds the adapters through imports inside small factories
    assert any(m.startswith("adapters.slack") for m in graph["adapters.runtime.bootstrap"])


def test_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-logo", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
