"""Errors the core raises; each one carries the text a user is shown."""

from __future__ import annotations

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
