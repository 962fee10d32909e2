"""Errors the core raises; each one carries the text a user is shown."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping


class RaidlineError(Exception):
    """Base: ``message`` is safe to show in a channel."""

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


class UsageError(RaidlineError):
    """The input could not be understood; the message says what was wrong and how to say it."""


class NotFound(RaidlineError):
    """A ref that does not exist in this channel."""


class Forbidden(RaidlineError):
    """The rules of who may do what refuse this; the message says who may."""


class Conflict(RaidlineError):
    """The item is not in a state that allows this (e.g. approving an approved change)."""


class ChangedMeanwhile(Conflict):
    """Another request changed the item between this one reading and writing it; nothing of
    this request was saved."""

    def __init__(self, ref: object) -> None:
        super().__init__(f"{ref} changed meanwhile, try again.")


class Unavailable(RaidlineError):
    """The database cannot be reached; nothing was saved."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            message
            or "raidline can't reach its database right now; nothing was saved, please try again."
        )


class FormInvalid(RaidlineError):
    """A submitted form has field errors: field name -> what is wrong with it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("Some fields need fixing: " + "; ".join(errors.values()))
        self.errors = dict(errors)


#: The one apology for an unexpected error, on every surface; ``{incident}`` is its id.
APOLOGY = (
    "Sorry, something went wrong on our side and nothing was changed. "
    "If it happens again, tell your admin the incident id {incident}."
)


def new_incident_id() -> str:
    """8 hex digits: what a user quotes to an admin, and what the log record carries."""
    return secrets.token_hex(4)


def apology(incident: str) -> str:
    """The text a user is shown for an unexpected error with this incident id."""
    return APOLOGY.format(incident=incident)


def report_incident(log: logging.Logger, what: str, **extra: object) -> str:
    """Log the exception being handled with a new incident id; return the user's apology.

    Call it from an ``except`` block: the record carries the traceback and ``incident_id``.
    """
    incident = new_incident_id()
    log.exception("unexpected error %s", what, extra={"incident_id": incident, **extra})
    return incident


def outcome(error: BaseException) -> str:
    """Classify an error for metrics and logs, in the order a user would be answered.

    ``usage`` (the input), ``not_found``, ``forbidden``, ``conflict`` (the item's state),
    ``unavailable`` (the database), or ``error`` (anything unexpected: an incident).
    """
    if isinstance(error, Unavailable):
        return "unavailable"
    if isinstance(error, NotFound):
        return "not_found"
    if isinstance(error, Forbidden):
        return "forbidden"
    if isinstance(error, Conflict):
        return "conflict"
    if isinstance(error, RaidlineError):
        return "usage"
    return "error"
