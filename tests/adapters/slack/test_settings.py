"""The Slack OAuth settings: all of client id, client secret and signing secret, or none."""

from __future__ import annotations

import pytest

from adapters.runtime.config import ConfigError, load_settings

BASE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "signing"}


def test_oauth_is_enabled_by_all_three() -> None:
    settings = load_settings(
        {**BASE, "SLACK_CLIENT_ID": "111.222", "SLACK_CLIENT_SECRET": "client-secret"}
    )
    assert settings.slack_oauth_enabled
    assert settings.slack_client_id == "111.222"
    assert "client-secret" in settings.secret_values()
    assert "client-secret" not in repr(settings)
    assert not load_settings(BASE).slack_oauth_enabled


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"SLACK_CLIENT_ID": "111.222"}, "SLACK_CLIENT_SECRET: missing"),
        ({"SLACK_CLIENT_SECRET": "s"}, "SLACK_CLIENT_ID: missing"),
        ({"SLACK_CLIENT_ID": "abc", "SLACK_CLIENT_SECRET": "s"}, "SLACK_CLIENT_ID: 'abc' is not"),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "a b"}, "SLACK_CLIENT_SECRET: contains"),
    ],
)
def test_incomplete_or_malformed_oauth_settings_name_the_variable(
    extra: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings({**BASE, **extra})
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_oauth_needs_the_signing_secret() -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_APP_TOKEN": "xapp-1",
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "s",
    }
    with pytest.raises(ConfigError, match=r"^SLACK_SIGNING_SECRET: missing"):
        load_settings(env)
