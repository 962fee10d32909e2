"""Who may read a channel's dashboard: signed single-use links, then a session cookie.

``/raid dashboard`` hands out a link (:meth:`DashboardAuth.dashboard_link`) that carries the
platform, workspace and channel, the person, an expiry :data:`LINK_TTL` ahead and a random
nonce, signed with HMAC-SHA256. Opening it (:meth:`DashboardAuth.redeem`) checks the
signature, the expiry and that the nonce was never used (``seen_requests``, shared by every
replica), and exchanges it for a session cookie scoped to that one channel: HttpOnly,
SameSite=Lax, Secure when the public URL is https, :data:`SESSION_TTL` long, on the channel's
own path (``/dashboard/c/<slug>/``), so that dashboards of several channels open side by side.

The keys are derived from RAIDLINE_SECRET_KEY with HKDF-SHA256 and a purpose label each
(links, sessions, channel slugs: one use reveals nothing of another, nor of the key that
encrypts Slack tokens). On the embedded default with no key set, the key generated once and
kept in the database (``storage.secrets``) is used, so ``make run`` needs no set-up.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.links import public_link
from adapters.runtime.config import KEY_HOWTO, Settings
from bot.domain.model import ChannelKey
from storage import seen_requests
from storage.secrets import ensure_generated_key, fernet_key

log = logging.getLogger("raidline.dashboard")

#: How long a link from ``/raid dashboard`` may be opened (once).
LINK_TTL = timedelta(minutes=10)
#: How long the browser that opened a link stays signed in to that channel's dashboard.
SESSION_TTL = timedelta(hours=12)

LINK_PURPOSE = b"raidline/dashboard-links/v1"
SESSION_PURPOSE = b"raidline/dashboard-sessions/v1"
SLUG_PURPOSE = b"raidline/dashboard-channels/v1"

#: The path a link opens; the token follows as ``?t=``.
OPEN_PATH = "/dashboard/open"
#: The prefix of every channel's pages: ``/dashboard/c/<slug>/``.
CHANNEL_PREFIX = "/dashboard/c/"
COOKIE_PREFIX = "raidline_dash_"

#: Records a link's nonce; False when it was recorded already (the link was used).
Remember = Callable[[str, datetime], Awaitable[bool]]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """``payload`` <-> ``body.mac``: compact JSON, HMAC-SHA256 with a per-purpose key."""

    def __init__(self, secret: str, purpose: bytes) -> None:
        self._key = fernet_key(secret, purpose)
        self._purpose = purpose

    def _mac(self, body: str) -> str:
        digest = hmac.new(self._key, self._purpose + b"." + body.encode("ascii"), hashlib.sha256)
        return _b64(digest.digest())

    def sign(self, payload: dict[str, Any]) -> str:
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str) -> dict[str, Any] | None:
        """The payload, or None for anything not signed by this key for this purpose."""
        body, dot, mac = token.partition(".")
        if not dot or not body or not mac or len(token) > 4096:
            return None
        try:
            if not hmac.compare_digest(mac.encode("ascii"), self._mac(body).encode("ascii")):
                return None
            payload = json.loads(_unb64(body))
        except (UnicodeError, ValueError, binascii.Error):
            return None
        return payload if isinstance(payload, dict) else None


def _channel_of(payload: dict[str, Any]) -> ChannelKey | None:
    parts = [payload.get(k) for k in ("p", "w", "c")]
    if not all(isinstance(p, str) and p for p in parts):
        return None
    return ChannelKey(*parts)  # type: ignore[arg-type]


def _expired(payload: dict[str, Any], now: datetime) -> bool:
    exp = payload.get("e")
    return not isinstance(exp, int | float) or isinstance(exp, bool) or exp <= now.timestamp()


class DashboardAuth:
    """Issues and checks dashboard links and sessions (:class:`bot.ports.DashboardLinks`)."""

    def __init__(self, secret: str, settings: Settings, remember: Remember) -> None:
        self._links = Signer(secret, LINK_PURPOSE)
        self._sessions = Signer(secret, SESSION_PURPOSE)
        self._slug_key = fernet_key(secret, SLUG_PURPOSE)
        self._settings = settings
        self._remember = remember
        #: cookies carry Secure when the dashboard is reached over https (RAIDLINE_PUBLIC_URL)
        self.secure = settings.public_url.lower().startswith("https://")
        #: the path RAIDLINE_PUBLIC_URL puts before raidline's own (a proxy's prefix), or ""
        self.prefix = urlsplit(settings.public_url).path.rstrip("/")

    # -- links ---------------------------------------------------------------------------

    def dashboard_link(self, channel: ChannelKey, user: str, now: datetime) -> str:
        token = self._links.sign(
            {
                "p": channel.platform,
                "w": channel.workspace,
                "c": channel.channel,
                "u": user,
                "e": int((now + LINK_TTL).timestamp()),
                "n": secrets.token_urlsafe(16),
            }
        )
        return public_link(self._settings, OPEN_PATH, {"t": token})

    async def redeem(self, token: str, now: datetime) -> ChannelKey | None:
        """The channel a link opens, once: None when it is forged, altered, expired or used."""
        payload = self._links.verify(token)
        if payload is None or _expired(payload, now):
            return None
        channel = _channel_of(payload)
        nonce = payload.get("n")
        if channel is None or not isinstance(nonce, str) or not nonce:
            return None
        expires = datetime.fromtimestamp(float(payload["e"]), tz=now.tzinfo) + timedelta(minutes=1)
        if not await self._remember(f"dashboard-link:{nonce}", expires):
            log.info("a dashboard link was opened a second time; refused")
            return None
        return channel

    # -- sessions ------------------------------------------------------------------------

    def slug(self, channel: ChannelKey) -> str:
        """The channel's path segment: opaque, stable for one key."""
        digest = hmac.new(self._slug_key, str(channel).encode("utf-8"), hashlib.sha256)
        return _b64(digest.digest()[:12])

    def cookie_name(self, slug: str) -> str:
        return COOKIE_PREFIX + slug

    def session(self, channel: ChannelKey, now: datetime) -> str:
        """The cookie value of a session on ``channel`` from ``now``."""
        return self._sessions.sign(
            {
                "p": channel.platform,
                "w": channel.workspace,
                "c": channel.channel,
                "e": int((now + SESSION_TTL).timestamp()),
            }
        )

    def session_channel(self, slug: str, value: str | None, now: datetime) -> ChannelKey | None:
        """The channel of a valid, unexpired session cookie for the channel ``slug`` names."""
        if not value:
            return None
        payload = self._sessions.verify(value)
        if payload is None or _expired(payload, now):
            return None
        channel = _channel_of(payload)
        if channel is None or not hmac.compare_digest(self.slug(channel), slug):
            return None
        return channel


def memory_remember() -> Remember:
    """A nonce book kept in this process (tests, and wiring without a database)."""
    seen: set[str] = set()

    async def remember(key: str, expires_at: datetime) -> bool:
        if key in seen:
            return False
        seen.add(key)
        return True

    return remember


async def load_auth(engine: AsyncEngine, settings: Settings) -> DashboardAuth | None:
    """The dashboard's links and sessions on ``engine``, keyed by RAIDLINE_SECRET_KEY, or on
    the embedded default by the key generated once and kept in the database. None (and a
    warning) when the dashboard is off, or on PostgreSQL without RAIDLINE_SECRET_KEY."""
    if not settings.dashboard_enabled:
        return None
    secret = settings.secret_key
    if secret is None:
        if not settings.embedded_database:
            log.warning(
                "the dashboard is off: on PostgreSQL it needs RAIDLINE_SECRET_KEY to sign its "
                "links (%s)",
                KEY_HOWTO,
            )
            return None
        secret = await ensure_generated_key(engine)

    async def remember(key: str, expires_at: datetime) -> bool:
        return await seen_requests.remember(engine, key, expires_at)

    return DashboardAuth(secret, settings, remember)


__all__ = [
    "CHANNEL_PREFIX",
    "LINK_TTL",
    "OPEN_PATH",
    "SESSION_TTL",
    "DashboardAuth",
    "Signer",
    "load_auth",
    "memory_remember",
]
