"""Settings: defaults, one-line complaints naming the variable, secrets never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.runtime.config import ConfigError, Settings, load_settings, mask_url_password

SLACK_OK = {"SLACK_BOT_TOKEN": "xoxb-1-good", "SLACK_APP_TOKEN": "xapp-1-good"}


def test_defaults_match_the_contract() -> None:
    settings = load_settings({})
    assert settings.database_url == "sqlite:///raidline.db"
    assert settings.timezone == "UTC"
    assert (settings.http_host, settings.http_port) == ("0.0.0.0", 3000)  # noqa: S104
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.discord_api_url == "https://discord.com/api/v10"
    assert settings.discord_gateway_url is None
    assert settings.discord_guild_ids == ()
    assert (settings.log_level, settings.log_format) == ("INFO", "text")
    assert not settings.slack_enabled
    assert not settings.discord_enabled
    assert settings.secret_values() == ()


def test_mapping_is_the_whole_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAIDLINE_TIMEZONE", "Mars/Olympus")
    assert load_settings({"RAIDLINE_HTTP_PORT": "8080"}).timezone == "UTC"


def test_process_environment_and_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("RAIDLINE_TIMEZONE=Europe/Berlin\nRAIDLINE_HTTP_PORT=8080\nOTHER=1\n")
    monkeypatch.setenv("RAIDLINE_HTTP_PORT", "9090")  # the environment wins over .env
    settings = load_settings(env_file=env_file)
    assert settings.timezone == "Europe/Berlin"
    assert settings.http_port == 9090


def test_dot_env_in_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("RAIDLINE_LOG_FORMAT=json\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RAIDLINE_LOG_FORMAT", raising=False)
    assert load_settings().log_format == "json"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"RAIDLINE_TIMEZONE": "Europe/Berlin"}, ("timezone", "Europe/Berlin")),
        ({"RAIDLINE_HTTP_PORT": " 8080 "}, ("http_port", 8080)),
        ({}, ("raidline_delivery_concurrency", 8)),
        ({"RAIDLINE_DELIVERY_CONCURRENCY": " 16 "}, ("raidline_delivery_concurrency", 16)),
        ({}, ("raidline_pg_pool_size", 25)),
        ({"RAIDLINE_PG_POOL_SIZE": " 40 "}, ("raidline_pg_pool_size", 40)),
        ({"RAIDLINE_PG_POOL_SIZE": ""}, ("raidline_pg_pool_size", 25)),
        ({"RAIDLINE_LOG_LEVEL": "debug"}, ("log_level", "DEBUG")),
        ({"RAIDLINE_LOG_LEVEL": "warn"}, ("log_level", "WARNING")),
        ({"RAIDLINE_LOG_FORMAT": "JSON"}, ("log_format", "json")),
        ({"DISCORD_GUILD_IDS": "123, 456,"}, ("discord_guild_ids", (123, 456))),
        (
            {"SLACK_API_URL": "http://127.0.0.1:8181/api"},
            ("slack_api_url", "http://127.0.0.1:8181/api/"),
        ),
        ({"SLACK_API_URL": "https://slack.com/api/"}, ("slack_api_url", "https://slack.com/api/")),
        (
            {"DISCORD_GATEWAY_URL": "ws://127.0.0.1:9/"},
            ("discord_gateway_url", "ws://127.0.0.1:9/"),
        ),
        ({"DATABASE_URL": ""}, ("database_url", "sqlite:///raidline.db")),
        ({"SLACK_BOT_TOKEN": ""}, ("slack_enabled", False)),
    ],
)
def test_accepted_values(env: dict[str, str], expected: tuple[str, object]) -> None:
    attribute, value = expected
    assert getattr(load_settings(env), attribute) == value


@pytest.mark.parametrize(
    ("env", "variable", "complaint"),
    [
        (
            {"RAIDLINE_TIMEZONE": "Mars/Olympus"},
            "RAIDLINE_TIMEZONE",
            "'Mars/Olympus' is not a known IANA time zone (e.g. Europe/Berlin)",
        ),
        ({"RAIDLINE_TIMEZONE": "../../etc/passwd"}, "RAIDLINE_TIMEZONE", "not a known IANA"),
        ({"RAIDLINE_HTTP_PORT": "0"}, "RAIDLINE_HTTP_PORT", "'0' is not a port number (1-65535)"),
        ({"RAIDLINE_DELIVERY_CONCURRENCY": "0"}, "RAIDLINE_DELIVERY_CONCURRENCY", "from 1 to 64"),
        (
            {"RAIDLINE_DELIVERY_CONCURRENCY": "many"},
            "RAIDLINE_DELIVERY_CONCURRENCY",
            "'many' is not a whole number",
        ),
        ({"RAIDLINE_PG_POOL_SIZE": "0"}, "RAIDLINE_PG_POOL_SIZE", "'0' is not a whole number"),
        ({"RAIDLINE_PG_POOL_SIZE": "201"}, "RAIDLINE_PG_POOL_SIZE", "from 1 to 200 (e.g. 25)"),
        ({"RAIDLINE_PG_POOL_SIZE": "lots"}, "RAIDLINE_PG_POOL_SIZE", "'lots' is not a whole"),
        ({"RAIDLINE_HTTP_PORT": "65536"}, "RAIDLINE_HTTP_PORT", "1-65535"),
        ({"RAIDLINE_HTTP_PORT": "http"}, "RAIDLINE_HTTP_PORT", "'http' is not a port number"),
        ({"RAIDLINE_HTTP_HOST": "my host"}, "RAIDLINE_HTTP_HOST", "is not a host name"),
        ({"RAIDLINE_LOG_LEVEL": "LOUD"}, "RAIDLINE_LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR"),
        ({"RAIDLINE_LOG_FORMAT": "xml"}, "RAIDLINE_LOG_FORMAT", "'xml' is not one of text, json"),
        ({"DATABASE_URL": "raidline.db"}, "DATABASE_URL", "not a database URL"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL", "is not a https or http URL"),
        ({"DISCORD_API_URL": "ftp://x/"}, "DISCORD_API_URL", "is not a https or http URL"),
        ({"DISCORD_GATEWAY_URL": "https://x/"}, "DISCORD_GATEWAY_URL", "is not a wss or ws URL"),
        ({"DISCORD_GUILD_IDS": "123,abc"}, "DISCORD_GUILD_IDS", "'abc' is not a guild id"),
        (
            {"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_APP_TOKEN": "xapp-1"},
            "SLACK_BOT_TOKEN",
            "must start with 'xoxb-'",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-not-an-app-token"},
            "SLACK_APP_TOKEN",
            "must start with 'xapp-'",
        ),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": "s3cr3t-value"}, "SLACK_BOT_TOKEN", "missing"),
        ({"DISCORD_BOT_TOKEN": "abc def-secret"}, "DISCORD_BOT_TOKEN", "contains spaces"),
    ],
)
def test_malformed_value_is_one_line_naming_the_variable(
    env: dict[str, str], variable: str, complaint: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert complaint in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("env", "secret"),
    [
        ({"SLACK_BOT_TOKEN": "xoxp-123-leaky-user-token", "SLACK_APP_TOKEN": "xapp-1"}, "leaky"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-123-leaky"}, "leaky"),
        ({"DISCORD_BOT_TOKEN": "MTIz leaky.token"}, "leaky"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "leaky secret"}, "leaky"),
        ({"DATABASE_URL": "postgres-ish leaky:pw@host"}, "leaky"),
    ],
)
def test_secrets_never_appear_in_the_message(env: dict[str, str], secret: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert secret not in str(caught.value)


def test_secrets_are_hidden_in_repr_and_listed_for_redaction() -> None:
    settings = load_settings(
        {
            **SLACK_OK,
            "SLACK_SIGNING_SECRET": "signing-123",
            "DISCORD_BOT_TOKEN": "discord-123",
            "DATABASE_URL": "postgresql+psycopg://raid:dbpass-123@db:5432/raid",
        }
    )
    assert "xoxb-1-good" not in repr(settings)
    assert "signing-123" not in repr(settings)
    assert settings.slack_enabled and settings.slack_socket_mode and settings.discord_enabled
    assert set(settings.secret_values()) == {
        "xoxb-1-good",
        "xapp-1-good",
        "signing-123",
        "discord-123",
        "dbpass-123",
    }
    assert settings.database_url_for_display == "postgresql+psycopg://raid:***@db:5432/raid"


def test_slack_over_http_needs_no_app_token() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "abc"})
    assert settings.slack_enabled
    assert not settings.slack_socket_mode


def test_several_problems_stay_on_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"RAIDLINE_HTTP_PORT": "x", "RAIDLINE_LOG_FORMAT": "xml"})
    message = str(caught.value)
    assert "\n" not in message
    assert "RAIDLINE_HTTP_PORT:" in message and "RAIDLINE_LOG_FORMAT:" in message


def test_nothing_is_built_at_import_time() -> None:
    import adapters.runtime.config as config_module

    assert not [v for v in vars(config_module).values() if isinstance(v, Settings)]


def test_mask_url_password_leaves_urls_without_password_alone() -> None:
    assert mask_url_password("sqlite:///x.db") == "sqlite:///x.db"
    assert mask_url_password("postgresql://u@h/db") == "postgresql://u@h/db"


# -- "Tokens never appear in logs" (SPEC §5): the logging set-up redacts every secret ----------


def _log_everything(fmt: str) -> str:
    import io
    import json
    import logging

    from adapters.logging import configure_logging

    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-42-very-secret",
            "SLACK_SIGNING_SECRET": "signing-very-secret",
            "DISCORD_BOT_TOKEN": "discord.very.secret",
            "DATABASE_URL": "postgresql+psycopg://raid:db-very-secret@db/raid",
        }
    )
    stream = io.StringIO()
    root_level = logging.getLogger().level
    handler = configure_logging("DEBUG", fmt, secrets=settings.secret_values(), stream=stream)
    try:
        log = logging.getLogger("slack_sdk.web")
        log.debug("Sending a request - headers: Authorization: Bearer %s", "xoxb-42-very-secret")
        log.info("signing with signing-very-secret", extra={"request_id": "r-1"})
        log.warning("gateway", extra={"token": "discord.very.secret", "incident_id": "ab12"})
        try:
            raise RuntimeError("connect to postgresql://raid:db-very-secret@db failed")
        except RuntimeError:
            logging.getLogger("raidline.core").exception("boom")
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(root_level)
        logging.captureWarnings(False)
    text = stream.getvalue()
    if fmt == "json":
        for line in text.splitlines():
            json.loads(line)  # one JSON object per line
    return text


def test_secrets_are_redacted_from_text_logs() -> None:
    text = _log_everything("text")
    assert "very-secret" not in text and "very.secret" not in text
    assert "Bearer [REDACTED]" in text
    assert "RuntimeError" in text  # the traceback itself is kept
    assert "request_id=r-1" in text


def test_json_logs_are_one_object_per_line_with_extras() -> None:
    import json

    text = _log_everything("json")
    assert "very-secret" not in text and "very.secret" not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert [e["level"] for e in entries] == ["DEBUG", "INFO", "WARNING", "ERROR"]
    assert entries[1]["request_id"] == "r-1"
    assert entries[2]["incident_id"] == "ab12" and entries[2]["token"] == "[REDACTED]"
    assert entries[3]["logger"] == "raidline.core" and "[REDACTED]" in entries[3]["exc_info"]
    assert {"time", "level", "logger", "message"} <= set(entries[0])


def test_slack_oauth_without_a_bot_token_enables_slack() -> None:
    settings = load_settings(
        {
            "SLACK_SIGNING_SECRET": "s3cret",
            "SLACK_CLIENT_ID": "123.456",
            "SLACK_CLIENT_SECRET": "c1ient-secret",
        }
    )
    assert settings.slack_oauth_enabled and settings.slack_enabled
    assert not settings.slack_socket_mode


# -- RAIDLINE_SECRET_KEY: encrypts stored Slack tokens -----------------------------------------

KEY = "k" * 32
OLD_KEYS = ("o" * 32, "p" * 40)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RAIDLINE_SECRET_KEY": "short-secret"}, "RAIDLINE_SECRET_KEY: too short (value not "
         "shown): at least 32 characters; generate one with: python -c 'import secrets; "
         "print(secrets.token_urlsafe(32))'"),
        ({"RAIDLINE_SECRET_KEY": KEY + " tail"}, "RAIDLINE_SECRET_KEY: contains spaces or "
         "commas (value not shown); paste the key without them"),
        ({"RAIDLINE_SECRET_KEY_OLD": f"{KEY},short-old"}, "RAIDLINE_SECRET_KEY_OLD: too short"),
    ],
)  # fmt: skip
def test_a_malformed_secret_key_is_named_and_not_shown(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert caught.value.message.startswith(message)
    assert "short-secret" not in caught.value.message and "tail" not in caught.value.message


def test_secret_keys_are_read_and_listed_for_redaction() -> None:
    settings = load_settings(
        {"RAIDLINE_SECRET_KEY": f" {KEY} ", "RAIDLINE_SECRET_KEY_OLD": ", ".join(OLD_KEYS)}
    )
    assert settings.secret_key == KEY
    assert settings.secret_keys_old == OLD_KEYS
    assert set(settings.secret_values()) == {KEY, *OLD_KEYS}
    assert KEY not in repr(settings) and OLD_KEYS[0] not in repr(settings)
    assert load_settings({}).secret_key is None and load_settings({}).secret_keys_old == ()


# --- operations endpoints, SQLite durability, secrets from files ------------------------------

OPS_TOKEN = "ops-token-0123456789-abcdefghijklmnop"


def test_ops_and_durability_defaults() -> None:
    settings = load_settings({})
    assert (settings.raidline_ops_host, settings.raidline_ops_port) == ("127.0.0.1", None)
    assert not settings.ops_apart
    assert settings.ops_token is None
    assert settings.sqlite_synchronous == "FULL"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"RAIDLINE_SQLITE_SYNCHRONOUS": "normal"}, ("sqlite_synchronous", "NORMAL")),
        ({"RAIDLINE_SQLITE_SYNCHRONOUS": " Extra "}, ("sqlite_synchronous", "EXTRA")),
        ({"RAIDLINE_SQLITE_SYNCHRONOUS": ""}, ("sqlite_synchronous", "FULL")),
        ({"RAIDLINE_OPS_PORT": "9464"}, ("raidline_ops_port", 9464)),
        ({"RAIDLINE_OPS_PORT": "9464"}, ("ops_apart", True)),
        ({"RAIDLINE_OPS_HOST": " 0.0.0.0 "}, ("raidline_ops_host", "0.0.0.0")),  # noqa: S104
        ({"RAIDLINE_OPS_TOKEN": f" {OPS_TOKEN} "}, ("ops_token", OPS_TOKEN)),
    ],
)
def test_ops_and_durability_values(env: dict[str, str], expected: tuple[str, object]) -> None:
    attribute, value = expected
    assert getattr(load_settings(env), attribute) == value


@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {"RAIDLINE_SQLITE_SYNCHRONOUS": "OFF"},
            "RAIDLINE_SQLITE_SYNCHRONOUS: 'OFF' is not one of FULL (the default), NORMAL, EXTRA "
            "(OFF can corrupt the database file)",
        ),
        (
            {"RAIDLINE_SQLITE_SYNCHRONOUS": "2"},
            "RAIDLINE_SQLITE_SYNCHRONOUS: '2' is not one of FULL (the default), NORMAL, EXTRA",
        ),
        ({"RAIDLINE_OPS_PORT": "0"}, "RAIDLINE_OPS_PORT: '0' is not a port number (1-65535)"),
        (
            {"RAIDLINE_OPS_PORT": "3000"},
            "RAIDLINE_OPS_PORT: 3000 is also RAIDLINE_HTTP_PORT; the operations endpoints need "
            "a port of their own (or leave RAIDLINE_OPS_PORT empty)",
        ),
        (
            {"RAIDLINE_OPS_HOST": "http://x/"},
            "RAIDLINE_OPS_HOST: 'http://x/' is not a host name or IP address (e.g. 127.0.0.1)",
        ),
        (
            {"RAIDLINE_OPS_TOKEN": "short-leaky"},
            "RAIDLINE_OPS_TOKEN: too short (value not shown): at least 32 characters; generate "
            "one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        ),
        (
            {"RAIDLINE_SECRETS_DIR": "/no/such/folder"},
            "RAIDLINE_SECRETS_DIR: '/no/such/folder' is not a folder (one file per secret, "
            "e.g. /run/secrets)",
        ),
    ],
)
def test_ops_and_durability_refused_with_one_line(env: dict[str, str], line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert str(caught.value) == line


def test_the_ops_token_is_secret() -> None:
    settings = load_settings({"RAIDLINE_OPS_TOKEN": OPS_TOKEN})
    assert OPS_TOKEN not in repr(settings)
    assert settings.secret_values() == (OPS_TOKEN,)


def secrets_in(folder: Path, **files: str) -> Path:
    folder.mkdir(exist_ok=True)
    for name, value in files.items():
        (folder / name).write_text(value + "\n")
    return folder


def test_secrets_are_read_from_a_secrets_folder(tmp_path: Path) -> None:
    folder = secrets_in(
        tmp_path / "secrets",
        slack_bot_token="xoxb-from-a-file",
        SLACK_APP_TOKEN="xapp-from-a-file",  # the name in any case
        database_url="postgresql+psycopg://raid:file-pw@db:5432/raid",
    )
    settings = load_settings({"RAIDLINE_SECRETS_DIR": str(folder)})
    assert settings.slack_bot_token is not None and settings.slack_app_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-a-file"
    assert settings.slack_app_token.get_secret_value() == "xapp-from-a-file"
    assert settings.slack_socket_mode
    assert settings.database_url == "postgresql+psycopg://raid:file-pw@db:5432/raid"
    assert "file-pw" in settings.secret_values()


def test_a_secret_file_is_checked_like_the_variable(tmp_path: Path) -> None:
    folder = secrets_in(
        tmp_path / "secrets", slack_bot_token="xoxp-leaky-user", slack_app_token="xapp-1"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings({"RAIDLINE_SECRETS_DIR": str(folder)})
    assert str(caught.value) == (
        "SLACK_BOT_TOKEN: must start with 'xoxb-' (a Slack bot token); the value is not shown"
    )


def test_the_environment_wins_over_a_file_and_an_empty_variable_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = secrets_in(
        tmp_path / "secrets", slack_bot_token="xoxb-from-a-file", slack_app_token="xapp-from-a-file"
    )
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "RAIDLINE_SECRETS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("RAIDLINE_SECRETS_DIR", str(folder))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")  # e.g. .env.example copied unchanged
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-from-the-environment")
    settings = load_settings()
    assert settings.slack_bot_token is not None and settings.slack_app_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-a-file"
    assert settings.slack_app_token.get_secret_value() == "xapp-from-the-environment"


def test_run_secrets_is_the_default_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.runtime import config

    folder = secrets_in(tmp_path / "run-secrets", discord_bot_token="discord-from-a-file")
    monkeypatch.setattr(config, "DEFAULT_SECRETS_DIR", folder)
    for name in ("DISCORD_BOT_TOKEN", "RAIDLINE_SECRETS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.discord_bot_token is not None
    assert settings.discord_bot_token.get_secret_value() == "discord-from-a-file"
    # A mapping is the whole configuration: the default folder is not read for it.
    assert load_settings({}).discord_bot_token is None
    # Nor is a folder that is missing (outside a container): no warning, no error.
    monkeypatch.setattr(config, "DEFAULT_SECRETS_DIR", tmp_path / "missing")
    assert load_settings().discord_bot_token is None


def test_log_lines_go_where_the_console_says_while_it_runs() -> None:
    """The console's terminal shows log lines above its prompt: they are sent to the stream
    it gives for as long as it runs, then back."""
    import io
    import logging

    from adapters.logging import configure_logging, logs_to

    before, during = io.StringIO(), io.StringIO()
    handler = configure_logging("INFO", stream=before)
    try:
        with logs_to(during):
            logging.getLogger("raidline.test").info("while the console runs")
        logging.getLogger("raidline.test").info("after it")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "while the console runs" in during.getvalue()
    assert "while the console runs" not in before.getvalue()
    assert "after it" in before.getvalue() and "after it" not in during.getvalue()


def test_the_pool_size_by_default_is_the_storage_layers_own() -> None:
    from storage.db import DEFAULT_PG_POOL_SIZE

    assert load_settings({}).raidline_pg_pool_size == DEFAULT_PG_POOL_SIZE
