"""Secrets at rest: Slack tokens encrypted with Fernet, and the key kept in the database.

A key is any secret string (``RAIDLINE_SECRET_KEY``); the Fernet key that encrypts tokens is
derived from it with HKDF-SHA256 and a purpose label, so the same setting can serve other
purposes (signed links) without one use revealing the other's key. Old keys still decrypt
(:class:`~cryptography.fernet.MultiFernet`); :meth:`TokenCipher.rotate` re-encrypts with the
current one.

On the embedded default (SQLite) with no key set, :func:`load_cipher` generates one once and
keeps it in ``raidline_secrets``, so a fresh install needs no set-up.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.tables import raidline_secrets

__all__ = [
    "GENERATED_KEY",
    "TOKEN_PURPOSE",
    "KeyMismatch",
    "KeyMissing",
    "TokenCipher",
    "ensure_generated_key",
    "forget_generated_key",
    "generate_secret",
    "generated_key",
    "load_cipher",
]

#: The HKDF label of the token key: another use of the same secret gets another label.
TOKEN_PURPOSE = b"raidline/slack-tokens/v1"
#: The row of ``raidline_secrets`` holding the key generated on the embedded default.
GENERATED_KEY = "secret_key"
#: What plain-text Slack tokens start with (bot, user, refresh, rotating); Fernet's never do.
_PLAIN_PREFIXES = ("xoxb-", "xoxp-", "xoxe-", "xoxe.", "xoxa-", "xoxs-")


class KeyMissing(Exception):
    """No key is configured, and none may be generated (not the embedded default)."""


class KeyMismatch(Exception):
    """Stored tokens were encrypted with a key that is not configured."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count} stored token(s) do not decrypt with the configured keys")
        self.count = count


def generate_secret() -> str:
    """A new random key: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def fernet_key(secret: str, purpose: bytes = TOKEN_PURPOSE) -> bytes:
    """The Fernet key for ``purpose`` derived from ``secret`` (HKDF-SHA256, no salt)."""
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode("utf-8")
    )
    return base64.urlsafe_b64encode(derived)


def is_plain_token(stored: str) -> bool:
    """A token stored before encryption (``xoxb-…``): read as it is, encrypted when rewritten."""
    return stored.startswith(_PLAIN_PREFIXES)


@dataclass(frozen=True)
class Rotated:
    """What :meth:`TokenCipher.rotate` did to one stored value."""

    value: str
    was_plain: bool


class TokenCipher:
    """Encrypts with the first key; decrypts with any of them."""

    def __init__(self, current: str, old: Sequence[str] = ()) -> None:
        keys = [current, *(k for k in old if k and k != current)]
        self._fernet = MultiFernet([Fernet(fernet_key(k)) for k in dict.fromkeys(keys)])

    def encrypt(self, token: str | None) -> str | None:
        if token is None or token == "":
            return token
        return self._fernet.encrypt(token.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str | None) -> str | None:
        """The token; a legacy plain-text token as it is. :class:`KeyMismatch` otherwise."""
        if stored is None or stored == "" or is_plain_token(stored):
            return stored
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise KeyMismatch(1) from None

    def rotate(self, stored: str) -> Rotated:
        """``stored`` encrypted with the current key (plain text is encrypted)."""
        if is_plain_token(stored):
            return Rotated(self._fernet.encrypt(stored.encode("utf-8")).decode("ascii"), True)
        try:
            return Rotated(self._fernet.rotate(stored.encode("ascii")).decode("ascii"), False)
        except (InvalidToken, UnicodeError):
            raise KeyMismatch(1) from None


async def generated_key(engine: AsyncEngine) -> str | None:
    """The key generated on the embedded default, if one was."""
    query = select(raidline_secrets.c.value).where(raidline_secrets.c.name == GENERATED_KEY)
    async with engine.connect() as conn:
        value = (await conn.execute(query)).scalar_one_or_none()
    return str(value) if value is not None else None


async def _generate_key(engine: AsyncEngine) -> str:
    try:
        async with engine.begin() as conn:
            await conn.execute(
                raidline_secrets.insert().values(
                    name=GENERATED_KEY, value=generate_secret(), created_at=datetime.now(UTC)
                )
            )
    except sa_exc.IntegrityError:
        pass  # another process generated it first: use theirs
    key = await generated_key(engine)
    if key is None:  # pragma: no cover - inserted or found above
        raise RuntimeError("the generated key could not be stored")
    return key


async def ensure_generated_key(engine: AsyncEngine) -> str:
    """The key generated on the embedded default; generated and kept now if there is none
    (the token cipher and the dashboard's link signing derive their own keys from it)."""
    stored = await generated_key(engine)
    return stored if stored is not None else await _generate_key(engine)


async def forget_generated_key(engine: AsyncEngine) -> bool:
    """Delete the generated key (once every token is encrypted with a configured one)."""
    async with engine.begin() as conn:
        result = await conn.execute(
            raidline_secrets.delete().where(raidline_secrets.c.name == GENERATED_KEY)
        )
    return bool(result.rowcount)


async def load_cipher(
    engine: AsyncEngine, secret: str | None, old: Sequence[str], *, may_generate: bool
) -> TokenCipher:
    """The cipher of the configured key (``secret``), else of the generated one.

    A key generated earlier still decrypts after ``secret`` is set, so moving from the
    generated key to a configured one is ``raidline rotate-tokens``. With no key at all,
    one is generated when ``may_generate`` (the embedded default), else :class:`KeyMissing`.
    """
    stored = await generated_key(engine)
    if secret:
        return TokenCipher(secret, [*old, *([stored] if stored else [])])
    if stored is None:
        if not may_generate:
            raise KeyMissing("no key configured")
        stored = await _generate_key(engine)
    return TokenCipher(stored, old)
