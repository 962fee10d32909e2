"""Typed settings from the environment and a ``.env`` file.

Nothing is read at import time: ``main`` calls :func:`load_settings` once and passes the result
down. A missing or malformed value raises :class:`ConfigError` whose message is one line naming
the variable and what is wrong with it; a secret's value never appears in that line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["text", "json"]
#: SQLite's ``PRAGMA synchronous`` levels (``storage.db.SQLITE_SYNCHRONOUS_LEVELS``)
SqliteSynchronous = Literal["NORMAL", "FULL", "EXTRA"]

DEFAULT_DATABASE_URL = "sqlite:///raidline.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DISCORD_API_URL = "https://discord.com/api/v10"


class ConfigError(Exception):
    """A setting is missing or malformed. ``str(error)`` is one line naming the variable."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_SECRET_FIELDS = frozenset(
    {
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "slack_client_secret",
        "discord_bot_token",
        "raidline_secret_key",
        "raidline_secret_key_old",
        "raidline_ops_token",
    }
)

#: Where secret files are looked for when RAIDLINE_SECRETS_DIR is not set (Docker and
#: Kubernetes mount secrets there), if that folder exists.
DEFAULT_SECRETS_DIR = Path("/run/secrets")
DEFAULT_OPS_HOST = "127.0.0.1"
#: PostgreSQL connections each process keeps open (``storage.db.DEFAULT_PG_POOL_SIZE``), and
#: the most one may ask for
DEFAULT_PG_POOL_SIZE = 25
MAX_PG_POOL_SIZE = 200

#: The shortest RAIDLINE_SECRET_KEY accepted: 32 characters of ``secrets.token_urlsafe(32)``'s
#: 43 carry 192 bits.
SECRET_KEY_MIN_LENGTH = 32
#: The shortest RAIDLINE_OPS_TOKEN accepted.
OPS_TOKEN_MIN_LENGTH = 32
#: How an operator makes a key (said in complaints about it).
KEY_HOWTO = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"

#: RAIDLINE_PG_*_TIMEOUT defaults, in seconds.
PG_TIMEOUT_DEFAULTS = {
    "raidline_pg_statement_timeout": 15.0,
    "raidline_pg_lock_timeout": 5.0,
    "raidline_pg_idle_in_transaction_timeout": 60.0,
}
#: The longest PostgreSQL timeout accepted (a day).
PG_TIMEOUT_MAX = 86_400.0

_URL_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

#: The slash commands of SPEC §3 as Slack knows them; RAIDLINE_COMMAND_NAMES renames them.
SLASH_COMMANDS = (
    "blocker",
    "risk",
    "decision",
    "change",
    "milestone",
    "raid",
    "standup",
    "digest",
)
#: What Slack takes as a command name: a slash, then up to 31 lowercase letters, digits, - or _.
_SLASH_NAME_RE = re.compile(r"^/[a-z0-9][a-z0-9_-]{0,30}$")
_RENAME_EXAMPLE = "e.g. standup=/team-standup,decision=/decide"


class _Invalid(ValueError):
    """A validator's complaint; its text is shown after ``VARIABLE: ``."""


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _whole_number(value: Any, *, default: int, high: int) -> int:
    """A whole number from 1 to ``high``; ``default`` when unset or blank."""
    value = _blank_to_none(value)
    if value is None:
        return default
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= high:
        raise _Invalid(f"{value!r} is not a whole number from 1 to {high} (e.g. {default})")
    return int(text)


def _check_url(value: str, schemes: tuple[str, ...], example: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise _Invalid(f"{value!r} is not a {' or '.join(schemes)} URL (e.g. {example})")
    return value


#: Hosts that mean "every interface": a browser on the same machine reaches them at localhost.
_ANY_HOST = frozenset({"0.0.0.0", "::", "[::]", "*"})  # noqa: S104

PUBLIC_URL_EXAMPLE = "https://raidline.example.com"


def local_http_url(host: str, port: int) -> str:
    """The address of raidline's own HTTP server, as a browser on the same machine opens it."""
    host = host.strip()
    if not host or host in _ANY_HOST:
        host = "localhost"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


def _check_public_url(value: str) -> str:
    """An http(s) URL with a host, optionally a path prefix; no query, fragment or password."""
    example = f"e.g. {PUBLIC_URL_EXAMPLE} or http://localhost:3000"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise _Invalid(f"{value!r} is not an http or https URL ({example})") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise _Invalid(f"{value!r} is not an http or https URL ({example})")
    if any(c.isspace() for c in value):
        raise _Invalid(f"{value!r} contains spaces; write the URL without them ({example})")
    if parts.query or parts.fragment or value.rstrip("/").endswith(("?", "#")):
        raise _Invalid(
            f"{value!r} has a query or fragment (after ? or #); give only the address and "
            f"an optional path ({example})"
        )
    if parts.username is not None or parts.password is not None:
        # the password is not echoed
        raise _Invalid(
            f"holds a user name or password (value not shown); leave them out ({example})"
        )
    return parts._replace(scheme=parts.scheme.lower()).geturl().rstrip("/")


_ON = frozenset({"on", "true", "yes", "1"})
_OFF = frozenset({"off", "false", "no", "0"})


def _on_off(value: Any, *, default: bool) -> bool:
    """``on``/``off`` (also true/false, yes/no, 1/0); blank means ``default``."""
    value = _blank_to_none(value)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _ON:
        return True
    if word in _OFF:
        return False
    raise _Invalid(f"{value!r} is not on or off")


def _number_list(value: Any, what: str, how: str) -> tuple[int, ...]:
    """``"1, 2,3"`` (or a list) -> (1, 2, 3); blank -> (); anything else names ``what``."""
    value = _blank_to_none(value)
    if value is None:
        return ()
    parts = (
        [str(v).strip() for v in value]
        if isinstance(value, list | tuple)
        else [p.strip() for p in str(value).split(",")]
    )
    numbers: list[int] = []
    for part in parts:
        if not part:
            continue
        if not part.isdigit():
            raise _Invalid(f"{part!r} is not {what}; write {how}")
        numbers.append(int(part))
    return tuple(numbers)


def _seconds(value: Any, *, default: float, low: float, high: float) -> float:
    """A number of seconds from ``low`` to ``high``; blank means ``default``."""
    value = _blank_to_none(value)
    if value is None:
        return default
    try:
        seconds = float(str(value).strip())
    except ValueError:
        raise _Invalid(f"{value!r} is not a number of seconds (e.g. {default:g})") from None
    if not low <= seconds <= high:
        raise _Invalid(f"{value!r} is out of range ({low:g} to {high:g} seconds)")
    return seconds


class Settings(BaseSettings):
    """Every variable of the product contract (SPEC §5), with its default."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        frozen=True,
    )

    database_url: str = DEFAULT_DATABASE_URL
    raidline_timezone: str = "UTC"
    raidline_http_host: str = "0.0.0.0"  # noqa: S104 - the HTTP server listens on all interfaces
    raidline_http_port: int = 3000
    #: the address people open raidline's links at (dashboard, calendar feed); default: the
    #: HTTP server's own address (http://localhost:3000 when it listens on every interface)
    raidline_public_url: str = Field(default="", validate_default=True)
    #: the calendar feed (/raid calendar, GET /calendar/<token>.ics): on or off
    raidline_calendar: bool = True
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    #: Slack OAuth (many workspaces): with the signing secret, serves /slack/install
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    discord_bot_token: SecretStr | None = None
    discord_api_url: str = DEFAULT_DISCORD_API_URL
    #: ``None``: Discord's own gateway (discord.py asks the API for it).
    discord_gateway_url: str | None = None
    discord_guild_ids: Annotated[tuple[int, ...], NoDecode] = Field(default=())
    #: Discord sharding: how many shards in all, and which of them this process runs
    discord_shard_count: int | None = None
    discord_shard_ids: Annotated[tuple[int, ...], NoDecode] = Field(default=())
    raidline_log_level: LogLevel = "INFO"
    raidline_log_format: LogFormat = "text"
    #: how often the scheduler looks for due standups, digests and nudges
    raidline_tick_seconds: float = 15.0
    #: how many channels' scheduled messages one process sends at once
    raidline_delivery_concurrency: int = 8
    #: how long a claim holds a scheduled message (renewed while it is being sent)
    raidline_run_lease_seconds: float = 120.0
    #: encrypts stored Slack tokens; generated and kept in the database on SQLite when unset
    raidline_secret_key: SecretStr | None = None
    #: earlier keys, comma-separated: still decrypt until `raidline rotate-tokens`
    raidline_secret_key_old: SecretStr | None = None
    #: PostgreSQL limits in seconds (0: none): a statement, a wait for a lock, a transaction
    #: left idle; past them the request is answered "busy, please try again"
    raidline_pg_statement_timeout: float = PG_TIMEOUT_DEFAULTS["raidline_pg_statement_timeout"]
    raidline_pg_lock_timeout: float = PG_TIMEOUT_DEFAULTS["raidline_pg_lock_timeout"]
    raidline_pg_idle_in_transaction_timeout: float = PG_TIMEOUT_DEFAULTS[
        "raidline_pg_idle_in_transaction_timeout"
    ]

    # -- operations endpoints, SQLite durability, secrets from files ------------------------
    #: /readyz and /metrics on their own listener (loopback by default) instead of the public
    #: port; unset: they stay on RAIDLINE_HTTP_PORT
    raidline_ops_host: str = DEFAULT_OPS_HOST
    raidline_ops_port: int | None = None
    #: when set, /readyz and /metrics answer only ``Authorization: Bearer <token>``
    raidline_ops_token: SecretStr | None = None
    #: SQLite's PRAGMA synchronous: FULL (every commit on disk), NORMAL or EXTRA
    raidline_sqlite_synchronous: SqliteSynchronous = "FULL"
    #: PostgreSQL connections each process keeps open
    raidline_pg_pool_size: int = DEFAULT_PG_POOL_SIZE
    #: a folder of files named after the settings (e.g. slack_bot_token); default /run/secrets
    raidline_secrets_dir: str | None = None
    #: Slack slash commands under other names: ``standup=/team-standup,decision=/decide``
    raidline_command_names: Annotated[tuple[tuple[str, str], ...], NoDecode] = Field(default=())

    # -- the dashboard ---------------------------------------------------------------------
    #: ``off`` switches the web dashboard (and ``/raid dashboard``) off
    raidline_dashboard: bool = True

    # -- validators: each complaint is the text after "VARIABLE: " -------------------------

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return DEFAULT_DATABASE_URL
        if not isinstance(value, str) or not _URL_SCHEME_RE.match(value.strip()):
            # The URL may hold a password: never echo it.
            raise _Invalid(
                "not a database URL (e.g. sqlite:///raidline.db or "
                "postgresql+psycopg://user@host:5432/raidline)"
            )
        return value.strip()

    @field_validator("raidline_timezone", mode="before")
    @classmethod
    def _timezone(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return "UTC"
        name = str(value).strip()
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise _Invalid(f"{name!r} is not a known IANA time zone (e.g. Europe/Berlin)") from None
        return name

    @field_validator("raidline_http_host", mode="before")
    @classmethod
    def _http_host(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return "0.0.0.0"  # noqa: S104
        host = str(value).strip()
        if any(c.isspace() for c in host) or "/" in host:
            raise _Invalid(f"{host!r} is not a host name or IP address (e.g. 127.0.0.1)")
        return host

    @field_validator("raidline_http_port", mode="before")
    @classmethod
    def _http_port(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return 3000
        text = str(value).strip()
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise _Invalid(f"{text!r} is not a port number (1-65535)")
        return int(text)

    @field_validator("raidline_public_url", mode="before")
    @classmethod
    def _public_url(cls, value: Any, info: ValidationInfo) -> Any:
        value = _blank_to_none(value)
        if value is None:
            host = info.data.get("raidline_http_host", "0.0.0.0")  # noqa: S104
            port = info.data.get("raidline_http_port", 3000)
            return local_http_url(str(host), int(port))
        return _check_public_url(str(value).strip())

    @field_validator("raidline_calendar", mode="before")
    @classmethod
    def _calendar(cls, value: Any) -> Any:
        return _on_off(value, default=True)

    @field_validator("slack_bot_token", mode="before")
    @classmethod
    def _slack_bot_token(cls, value: Any) -> Any:
        return _token(value, "xoxb-", "a Slack bot token")

    @field_validator("slack_app_token", mode="before")
    @classmethod
    def _slack_app_token(cls, value: Any) -> Any:
        return _token(value, "xapp-", "a Slack app-level token")

    @field_validator(
        "slack_signing_secret", "slack_client_secret", "discord_bot_token", mode="before"
    )
    @classmethod
    def _plain_secret(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        text = text.strip()
        if any(c.isspace() for c in text):
            raise _Invalid("contains spaces (value not shown); paste the secret without them")
        return SecretStr(text)

    @field_validator("slack_api_url", mode="before")
    @classmethod
    def _slack_api_url(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return DEFAULT_SLACK_API_URL
        url = _check_url(str(value).strip(), ("https", "http"), DEFAULT_SLACK_API_URL)
        return url if url.endswith("/") else url + "/"

    @field_validator("slack_client_id", mode="before")
    @classmethod
    def _slack_client_id(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        text = str(value).strip()
        if not re.fullmatch(r"[0-9]+\.[0-9]+", text):
            raise _Invalid(
                f"{text!r} is not a Slack client id (digits.digits, e.g. 1234567890.9876543210; "
                "Basic Information > App Credentials)"
            )
        return text

    @field_validator("discord_api_url", mode="before")
    @classmethod
    def _discord_api_url(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return DEFAULT_DISCORD_API_URL
        return _check_url(str(value).strip(), ("https", "http"), DEFAULT_DISCORD_API_URL)

    @field_validator("discord_gateway_url", mode="before")
    @classmethod
    def _discord_gateway_url(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        return _check_url(str(value).strip(), ("wss", "ws"), "wss://gateway.discord.gg")

    @field_validator("discord_guild_ids", mode="before")
    @classmethod
    def _guild_ids(cls, value: Any) -> Any:
        return _number_list(
            value, "a guild id", "numeric ids separated by commas (e.g. 123456789012345678)"
        )

    @field_validator("discord_shard_count", mode="before")
    @classmethod
    def _shard_count(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        text = str(value).strip()
        if not text.isdigit() or int(text) < 1:
            raise _Invalid(f"{text!r} is not a shard count (a whole number, 1 or more)")
        return int(text)

    @field_validator("discord_shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: Any) -> Any:
        ids = _number_list(value, "a shard id", "shard numbers separated by commas (e.g. 0,1)")
        return tuple(sorted(set(ids)))

    @model_validator(mode="after")
    def _shards_complete(self) -> Settings:
        if self.discord_shard_ids and self.discord_shard_count is None:
            raise _Invalid(
                "[DISCORD_SHARD_COUNT] missing: DISCORD_SHARD_IDS is set, so raidline also "
                "needs the total number of shards"
            )
        count = self.discord_shard_count
        if count is not None and any(i >= count for i in self.discord_shard_ids):
            raise _Invalid(
                f"[DISCORD_SHARD_IDS] shard ids run from 0 to {count - 1} when "
                f"DISCORD_SHARD_COUNT is {count}"
            )
        return self

    @field_validator("raidline_log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return "INFO"
        level = str(value).strip().upper()
        if level == "WARN":
            level = "WARNING"
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise _Invalid(f"{value!r} is not one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("raidline_log_format", mode="before")
    @classmethod
    def _log_format(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return "text"
        fmt = str(value).strip().lower()
        if fmt not in ("text", "json"):
            raise _Invalid(f"{value!r} is not one of text, json")
        return fmt

    @field_validator("raidline_tick_seconds", mode="before")
    @classmethod
    def _tick_seconds(cls, value: Any) -> Any:
        return _seconds(value, default=15.0, low=0.2, high=3600)

    @field_validator("raidline_run_lease_seconds", mode="before")
    @classmethod
    def _run_lease_seconds(cls, value: Any) -> Any:
        return _seconds(value, default=120.0, low=1, high=3600)

    @field_validator("raidline_delivery_concurrency", mode="before")
    @classmethod
    def _delivery_concurrency(cls, value: Any) -> Any:
        return _whole_number(value, default=8, high=64)

    @field_validator("raidline_pg_pool_size", mode="before")
    @classmethod
    def _pg_pool_size(cls, value: Any) -> Any:
        return _whole_number(value, default=DEFAULT_PG_POOL_SIZE, high=MAX_PG_POOL_SIZE)

    @field_validator(*PG_TIMEOUT_DEFAULTS, mode="before")
    @classmethod
    def _pg_timeout(cls, value: Any, info: ValidationInfo) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return PG_TIMEOUT_DEFAULTS[str(info.field_name)]
        try:
            seconds = float(str(value).strip())
        except ValueError:
            raise _Invalid(f"{value!r} is not a number of seconds (e.g. 15; 0: no limit)") from None
        if not 0 <= seconds <= PG_TIMEOUT_MAX:
            raise _Invalid(f"{value!r} is out of range (0 to {PG_TIMEOUT_MAX:g} seconds)")
        return seconds

    @field_validator("raidline_secret_key", mode="before")
    @classmethod
    def _secret_key(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        return SecretStr(_check_key(text.strip()))

    @field_validator("raidline_secret_key_old", mode="before")
    @classmethod
    def _secret_keys_old(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        keys = [_check_key(k.strip()) for k in text.split(",") if k.strip()]
        return SecretStr(",".join(keys)) if keys else None

    @field_validator("raidline_ops_host", mode="before")
    @classmethod
    def _ops_host(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return DEFAULT_OPS_HOST
        host = str(value).strip()
        if any(c.isspace() for c in host) or "/" in host:
            raise _Invalid(f"{host!r} is not a host name or IP address (e.g. 127.0.0.1)")
        return host

    @field_validator("raidline_ops_port", mode="before")
    @classmethod
    def _ops_port(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        text = str(value).strip()
        if not text.isdigit() or not 1 <= int(text) <= 65535:
            raise _Invalid(f"{text!r} is not a port number (1-65535)")
        return int(text)

    @field_validator("raidline_ops_token", mode="before")
    @classmethod
    def _ops_token(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        text = text.strip()
        if any(c.isspace() for c in text):
            raise _Invalid("contains spaces (value not shown); paste the token without them")
        if len(text) < OPS_TOKEN_MIN_LENGTH:
            raise _Invalid(
                f"too short (value not shown): at least {OPS_TOKEN_MIN_LENGTH} characters; "
                f"{KEY_HOWTO}"
            )
        return SecretStr(text)

    @field_validator("raidline_dashboard", mode="before")
    @classmethod
    def _dashboard(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return True
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in ("on", "true", "yes", "1"):
            return True
        if word in ("off", "false", "no", "0"):
            return False
        raise _Invalid(f"{value!r} is not on or off (the default is on)")

    @field_validator("raidline_sqlite_synchronous", mode="before")
    @classmethod
    def _sqlite_synchronous(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return "FULL"
        level = str(value).strip().upper()
        if level not in ("NORMAL", "FULL", "EXTRA"):
            raise _Invalid(
                f"{value!r} is not one of FULL (the default), NORMAL, EXTRA"
                + (" (OFF can corrupt the database file)" if level == "OFF" else "")
            )
        return level

    @field_validator("raidline_secrets_dir", mode="before")
    @classmethod
    def _secrets_dir(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return None
        folder = str(value).strip()
        if not Path(folder).is_dir():
            raise _Invalid(f"{folder!r} is not a folder (one file per secret, e.g. /run/secrets)")
        return folder

    @field_validator("raidline_command_names", mode="before")
    @classmethod
    def _command_names(cls, value: Any) -> Any:
        value = _blank_to_none(value)
        if value is None:
            return ()
        if isinstance(value, tuple | list):
            return tuple(tuple(pair) for pair in value)
        return _parse_command_names(str(value))

    @model_validator(mode="after")
    def _ops_apart(self) -> Settings:
        port = self.raidline_ops_port
        if port is not None and port == self.raidline_http_port:
            raise _Invalid(
                f"[RAIDLINE_OPS_PORT] {port} is also RAIDLINE_HTTP_PORT; the operations "
                "endpoints need a port of their own (or leave RAIDLINE_OPS_PORT empty)"
            )
        return self

    @model_validator(mode="after")
    def _slack_complete(self) -> Settings:
        has_transport = self.slack_app_token is not None or self.slack_signing_secret is not None
        if self.slack_bot_token is not None and not has_transport:
            raise _Invalid(
                "[SLACK_APP_TOKEN] missing: SLACK_BOT_TOKEN is set, so Slack also needs "
                "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)"
            )
        if self.slack_bot_token is None and has_transport and self.slack_client_id is None:
            which = (
                "SLACK_APP_TOKEN" if self.slack_app_token is not None else "SLACK_SIGNING_SECRET"
            )
            raise _Invalid(
                f"[SLACK_BOT_TOKEN] missing: {which} is set, so Slack also needs "
                "SLACK_BOT_TOKEN (xoxb-…)"
            )
        return self

    @model_validator(mode="after")
    def _slack_oauth_complete(self) -> Settings:
        has_id = self.slack_client_id is not None
        has_secret = self.slack_client_secret is not None
        if has_id != has_secret:
            missing = "SLACK_CLIENT_SECRET" if has_id else "SLACK_CLIENT_ID"
            present = "SLACK_CLIENT_ID" if has_id else "SLACK_CLIENT_SECRET"
            raise _Invalid(
                f"[{missing}] missing: {present} is set, and installing into many workspaces "
                "(OAuth) needs SLACK_CLIENT_ID and SLACK_CLIENT_SECRET together"
            )
        if has_id and self.slack_signing_secret is None:
            raise _Invalid(
                "[SLACK_SIGNING_SECRET] missing: SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set, "
                "and the OAuth redirect also needs SLACK_SIGNING_SECRET"
            )
        if has_id and self.raidline_secret_key is None and not self.embedded_database:
            raise _Invalid(
                "[RAIDLINE_SECRET_KEY] missing: Slack OAuth keeps every workspace's token in "
                "the database, encrypted with this key, and on PostgreSQL the key must live "
                f"apart from the database; {KEY_HOWTO}"
            )
        return self

    # -- what the rest of the program asks ---------------------------------------------------

    @property
    def timezone(self) -> str:
        return self.raidline_timezone

    @property
    def http_host(self) -> str:
        return self.raidline_http_host

    @property
    def http_port(self) -> int:
        return self.raidline_http_port

    @property
    def public_url(self) -> str:
        """RAIDLINE_PUBLIC_URL without a trailing slash: the base of every link raidline gives."""
        return self.raidline_public_url

    @property
    def calendar_enabled(self) -> bool:
        """RAIDLINE_CALENDAR: /raid calendar hands out links and the web server serves them."""
        return self.raidline_calendar

    @property
    def log_level(self) -> LogLevel:
        return self.raidline_log_level

    @property
    def log_format(self) -> LogFormat:
        return self.raidline_log_format

    @property
    def slack_enabled(self) -> bool:
        """A bot token (one workspace), or OAuth (installed into many workspaces)."""
        return self.slack_bot_token is not None or self.slack_oauth_enabled

    @property
    def slack_socket_mode(self) -> bool:
        return self.slack_enabled and self.slack_app_token is not None

    @property
    def slack_oauth_enabled(self) -> bool:
        """Installing into many workspaces: /slack/install and /slack/oauth_redirect."""
        return (
            self.slack_client_id is not None
            and self.slack_client_secret is not None
            and self.slack_signing_secret is not None
        )

    @property
    def slack_command_names(self) -> dict[str, str]:
        """Each slash command (``standup``) -> the name Slack sends (``/standup`` or the rename)."""
        names = {command: f"/{command}" for command in SLASH_COMMANDS}
        names.update(dict(self.raidline_command_names))
        return names

    @property
    def discord_enabled(self) -> bool:
        return self.discord_bot_token is not None

    @property
    def embedded_database(self) -> bool:
        """SQLite, the embedded default (one process, one file)."""
        return self.database_url.lower().startswith("sqlite")

    @property
    def secret_key(self) -> str | None:
        """RAIDLINE_SECRET_KEY, or None (SQLite then generates one and keeps it)."""
        key = self.raidline_secret_key
        return key.get_secret_value() if key is not None else None

    @property
    def secret_keys_old(self) -> tuple[str, ...]:
        """RAIDLINE_SECRET_KEY_OLD's keys, newest first as written."""
        old = self.raidline_secret_key_old
        return tuple(old.get_secret_value().split(",")) if old is not None else ()

    @property
    def ops_apart(self) -> bool:
        """/readyz and /metrics on RAIDLINE_OPS_HOST:RAIDLINE_OPS_PORT, not the public port."""
        return self.raidline_ops_port is not None

    @property
    def ops_token(self) -> str | None:
        """RAIDLINE_OPS_TOKEN: the bearer token /readyz and /metrics ask for, or None."""
        token = self.raidline_ops_token
        return token.get_secret_value() if token is not None else None

    @property
    def dashboard_enabled(self) -> bool:
        """RAIDLINE_DASHBOARD: the web dashboard and ``/raid dashboard`` (on by default)."""
        return self.raidline_dashboard

    @property
    def sqlite_synchronous(self) -> SqliteSynchronous:
        return self.raidline_sqlite_synchronous

    @property
    def database_url_for_display(self) -> str:
        """The database URL with any password replaced by ``***``."""
        return mask_url_password(self.database_url)

    def secret_values(self) -> tuple[str, ...]:
        """Every configured secret, for log redaction (tokens, signing secret, DB password)."""
        values = [
            secret.get_secret_value()
            for secret in (
                self.slack_bot_token,
                self.slack_app_token,
                self.slack_signing_secret,
                self.slack_client_secret,
                self.discord_bot_token,
                self.raidline_secret_key,
                self.raidline_ops_token,
            )
            if secret is not None and secret.get_secret_value()
        ]
        values.extend(self.secret_keys_old)
        password = _url_password(self.database_url)
        if password:
            values.append(password)
        return tuple(values)


def _parse_command_names(text: str) -> tuple[tuple[str, str], ...]:
    """``"standup=/team-standup, decision=/decide"`` -> (("standup", "/team-standup"), ...).

    Each command at most once, each new name a Slack command name (the slash is optional), and
    no two commands end up with one name.
    """
    renamed: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        command, equals, name = (x.strip() for x in part.partition("="))
        command = command.lower().lstrip("/")
        if not equals or not command or not name:
            raise _Invalid(f"{part!r} is not COMMAND=/new-name ({_RENAME_EXAMPLE})")
        if command not in SLASH_COMMANDS:
            close = get_close_matches(command, SLASH_COMMANDS, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise _Invalid(
                f"{command!r} is not one of raidline's commands; {hint}"
                f"the commands are {', '.join(SLASH_COMMANDS)}"
            )
        if command in renamed:
            raise _Invalid(f"{command} is renamed twice; give each command one name")
        name = name if name.startswith("/") else "/" + name
        if not _SLASH_NAME_RE.fullmatch(name):
            raise _Invalid(
                f"{name!r} is not a Slack command name: a slash, then up to 31 lowercase "
                "letters, digits, - or _ (e.g. /team-standup)"
            )
        renamed[command] = name
    final = {command: renamed.get(command, f"/{command}") for command in SLASH_COMMANDS}
    for command, name in final.items():
        other = next((c for c, n in final.items() if n == name and c != command), None)
        if other is not None:
            first, second = sorted((command, other), key=SLASH_COMMANDS.index)
            raise _Invalid(
                f"{first} and {second} would both be {name}; give each command its own name"
            )
    return tuple(renamed.items())


def _token(value: Any, prefix: str, what: str) -> SecretStr | None:
    value = _blank_to_none(value)
    if value is None:
        return None
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    text = text.strip()
    if not text.startswith(prefix):
        raise _Invalid(f"must start with {prefix!r} ({what}); the value is not shown")
    if any(c.isspace() for c in text):
        raise _Invalid("contains spaces (value not shown); paste the token without them")
    return SecretStr(text)


def _check_key(text: str) -> str:
    if any(c.isspace() for c in text) or "," in text:
        raise _Invalid("contains spaces or commas (value not shown); paste the key without them")
    if len(text) < SECRET_KEY_MIN_LENGTH:
        raise _Invalid(
            f"too short (value not shown): at least {SECRET_KEY_MIN_LENGTH} characters; {KEY_HOWTO}"
        )
    return text


def _url_password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def mask_url_password(url: str) -> str:
    """``postgresql://u:secret@h/db`` -> ``postgresql://u:***@h/db``; other URLs unchanged."""
    password = _url_password(url)
    if not password:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc.replace(f":{password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class _MappingSettings(Settings):
    """Settings read from an explicit mapping (tests, tools) and, when it names
    RAIDLINE_SECRETS_DIR, from that folder's files: no process env, no .env."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, file_secret_settings)


def load_settings(
    env: Mapping[str, str] | None = None, *, env_file: Path | None = None
) -> Settings:
    """Build the settings.

    ``env=None`` reads the process environment, ``.env`` in the current directory (or
    ``env_file``) and the secret files (:func:`secrets_folder`); a mapping is read on its own,
    as if it were the whole environment (its RAIDLINE_SECRETS_DIR too, but not the default
    ``/run/secrets``). An empty value counts as unset, so that a secret file fills it in.
    A variable set in the environment or ``.env`` wins over a file of the same name.
    Raises :class:`ConfigError` with one line naming the variable when a value is wrong.
    """
    try:
        if env is None:
            kwargs: dict[str, Any] = {"_env_ignore_empty": True}
            if env_file is not None:
                kwargs["_env_file"] = env_file
            folder = secrets_folder(
                _lookup(os.environ, "RAIDLINE_SECRETS_DIR")
                or _dotenv_value(env_file or Path(".env"), "RAIDLINE_SECRETS_DIR"),
                default=DEFAULT_SECRETS_DIR,
            )
            if folder is not None:
                kwargs["_secrets_dir"] = folder
            return Settings(**kwargs)
        fields = Settings.model_fields
        values: dict[str, Any] = {
            key.lower(): value
            for key, value in env.items()
            if key.lower() in fields and not (isinstance(value, str) and not value.strip())
        }
        folder = secrets_folder(_lookup(env, "RAIDLINE_SECRETS_DIR"), default=None)
        if folder is not None:
            values["_secrets_dir"] = folder
        return _MappingSettings(**values)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def secrets_folder(configured: str | None, *, default: Path | None = None) -> Path | None:
    """The folder secret files are read from: RAIDLINE_SECRETS_DIR when it is a folder (when
    it is not, the setting's own check says so), else ``default`` if that exists."""
    if configured and configured.strip():
        folder = Path(configured.strip())
        return folder if folder.is_dir() else None
    if default is not None and default.is_dir():
        return default
    return None


def _lookup(env: Mapping[str, str], name: str) -> str | None:
    """``env[name]``, the name compared case-insensitively like the settings' own."""
    for key, value in env.items():
        if key.upper() == name and isinstance(value, str) and value.strip():
            return value
    return None


def _dotenv_value(path: Path, name: str) -> str | None:
    if not path.is_file():
        return None
    return _lookup({k: v or "" for k, v in dotenv_values(path).items()}, name)


def _one_line(exc: ValidationError) -> str:
    complaints: list[str] = []
    for error in exc.errors(include_input=False, include_url=False):
        location = error.get("loc") or ()
        variable = str(location[0]).upper() if location else ""
        message = str(error.get("msg", "is not valid"))
        message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if not variable and message.startswith("["):
            # Cross-field complaints name their variable in brackets.
            variable, _, message = message[1:].partition("] ")
        if variable.lower() in _SECRET_FIELDS and not error.get("type", "").startswith("value_"):
            message = "is not valid (value not shown)"
        line = f"{variable}: {message}" if variable else message
        complaints.append(" ".join(line.split()))
    return "; ".join(complaints) if complaints else "invalid configuration"
