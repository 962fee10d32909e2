"""Stored Slack tokens and RAIDLINE_SECRET_KEY: the operator's words for a missing or wrong
key, and ``raidline rotate-tokens``."""

from __future__ import annotations

from adapters.runtime.config import KEY_HOWTO, ConfigError, Settings
from adapters.runtime.database import open_engine
from storage import secrets
from storage.secrets import KeyMismatch, KeyMissing
from storage.slack_installations import rotate_tokens as rotate_stored_tokens

__all__ = ["key_error", "rotate_tokens"]


def key_error(error: KeyMissing | KeyMismatch) -> ConfigError:
    """One line naming RAIDLINE_SECRET_KEY, for start-up and the CLI."""
    if isinstance(error, KeyMissing):
        return ConfigError(
            "RAIDLINE_SECRET_KEY: missing; stored Slack tokens are encrypted with it, and on "
            f"PostgreSQL it is not generated; {KEY_HOWTO}"
        )
    return ConfigError(
        f"RAIDLINE_SECRET_KEY: {error.count} stored Slack token(s) do not decrypt with it "
        "(nor with RAIDLINE_SECRET_KEY_OLD); set the key they were stored with, or put it in "
        "RAIDLINE_SECRET_KEY_OLD and run `raidline rotate-tokens`"
    )


async def rotate_tokens(settings: Settings) -> str:
    """Re-encrypt every stored Slack token with RAIDLINE_SECRET_KEY; returns what was done.

    With RAIDLINE_SECRET_KEY set, a key generated earlier on SQLite is deleted afterwards:
    the database then holds no key of its own.
    """
    engine = await open_engine(settings)
    try:
        try:
            report = await rotate_stored_tokens(
                engine, settings.secret_key, settings.secret_keys_old
            )
        except (KeyMissing, KeyMismatch) as exc:
            raise key_error(exc) from None
        which = "RAIDLINE_SECRET_KEY" if settings.secret_key else "the key kept in the database"
        line = f"Re-encrypted {report.rotated} stored Slack token(s) with {which}"
        if report.were_plain:
            line += f" ({report.were_plain} were stored as plain text)"
        line += "."
        if settings.secret_key and await secrets.forget_generated_key(engine):
            line += " The key raidline had generated is deleted from the database."
        return line
    finally:
        await engine.dispose()
