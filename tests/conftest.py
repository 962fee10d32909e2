"""Suite-wide collection order: tests marked ``long`` (a minute or more of wall clock, mostly
waiting for the real clock) run first, so that with two workers the other worker's tests run
beside them instead of one worker finishing alone at the end."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A stable sort: every worker collects the same order, as pytest-xdist requires.
    items.sort(key=lambda item: item.get_closest_marker("long") is None)
