"""The ids that tie log records to the work they belong to: a request, or a scheduled run.

The core sets them where the work starts: ``Core.handle`` sets a new request id on the
calling task (and leaves it there, so the adapter's records about answering carry it too);
the scheduler sets the run id while it delivers one run. ``adapters.logging`` adds them to
every record emitted meanwhile on that task, whichever library's logger emitted it. Plain
``contextvars``: nothing here knows about logging or any platform.
"""

from __future__ import annotations

import secrets
from contextvars import ContextVar

#: the request being handled (``Core.handle``): a random id, new for every request
current_request_id: ContextVar[str | None] = ContextVar("raidline_request_id", default=None)
#: the scheduled run being delivered: its ledger key (``digest:3:2026-11-25``...)
current_run_id: ContextVar[str | None] = ContextVar("raidline_run_id", default=None)


def new_request_id() -> str:
    """16 hex digits: unique enough to grep one request out of a day of logs."""
    return secrets.token_hex(8)


__all__ = ["current_request_id", "current_run_id", "new_request_id"]
