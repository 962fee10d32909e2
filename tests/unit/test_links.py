"""RAIDLINE_PUBLIC_URL and the links built on it (dashboard, calendar feed)."""

from __future__ import annotations

import pytest

from adapters.links import PublicLinks, public_link
from adapters.runtime.config import ConfigError, load_settings


@pytest.mark.parametrize(
    ("env", "public_url"),
    [
        ({}, "http://localhost:3000"),
        ({"RAIDLINE_HTTP_PORT": "8080"}, "http://localhost:8080"),
        (
            {"RAIDLINE_HTTP_HOST": "127.0.0.1", "RAIDLINE_HTTP_PORT": "8081"},
            "http://127.0.0.1:8081",
        ),
        ({"RAIDLINE_HTTP_HOST": "::"}, "http://localhost:3000"),
        ({"RAIDLINE_HTTP_HOST": "::1"}, "http://[::1]:3000"),
        ({"RAIDLINE_HTTP_HOST": "raid.lan"}, "http://raid.lan:3000"),
        ({"RAIDLINE_PUBLIC_URL": "   "}, "http://localhost:3000"),
        ({"RAIDLINE_PUBLIC_URL": "https://raid.example.com"}, "https://raid.example.com"),
        ({"RAIDLINE_PUBLIC_URL": " https://raid.example.com/ "}, "https://raid.example.com"),
        ({"RAIDLINE_PUBLIC_URL": "HTTPS://raid.example.com/ops/"}, "https://raid.example.com/ops"),
        ({"RAIDLINE_PUBLIC_URL": "http://10.0.0.5:8080"}, "http://10.0.0.5:8080"),
    ],
)
def test_the_public_url_and_its_default(env: dict[str, str], public_url: str) -> None:
    settings = load_settings(env)
    assert settings.public_url == public_url
    assert settings.raidline_public_url == public_url


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("raid.example.com", "'raid.example.com' is not an http or https URL"),
        ("ftp://raid.example.com", "'ftp://raid.example.com' is not an http or https URL"),
        ("https://", "'https://' is not an http or https URL"),
        ("https://raid.example.com:port", "is not an http or https URL"),
        ("https://raid.example.com/?a=1", "has a query or fragment (after ? or #)"),
        ("https://raid.example.com/#top", "has a query or fragment (after ? or #)"),
        ("https://raid.example.com/?", "has a query or fragment (after ? or #)"),
        ("https://raid.example .com", "contains spaces"),
    ],
)
def test_a_malformed_public_url_is_one_line_with_an_example(value: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"RAIDLINE_PUBLIC_URL": value})
    message = str(caught.value)
    assert message.startswith("RAIDLINE_PUBLIC_URL: ")
    assert complaint in message
    assert "e.g. https://raidline.example.com or http://localhost:3000" in message
    assert "\n" not in message


def test_a_password_in_the_public_url_is_refused_and_not_shown() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"RAIDLINE_PUBLIC_URL": "https://me:hunter2@raid.example.com"})
    assert str(caught.value).startswith(
        "RAIDLINE_PUBLIC_URL: holds a user name or password (value not shown); leave them out"
    )
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("public_url", "path", "query", "link"),
    [
        ("", "/calendar/abc.ics", None, "http://localhost:3000/calendar/abc.ics"),
        (
            "https://raid.example.com",
            "/calendar/a-b_c.ics",
            None,
            "https://raid.example.com/calendar/a-b_c.ics",
        ),
        (
            "https://example.com/raidline/",
            "/dashboard/open",
            {"t": "x.y-z", "next": "/items?kind=risk"},
            "https://example.com/raidline/dashboard/open?t=x.y-z&next=%2Fitems%3Fkind%3Drisk",
        ),
        (
            "https://raid.example.com",
            "/items/a b/é",
            {},
            "https://raid.example.com/items/a%20b/%C3%A9",
        ),
    ],
)
def test_public_link(public_url: str, path: str, query: dict[str, str] | None, link: str) -> None:
    settings = load_settings({"RAIDLINE_PUBLIC_URL": public_url})
    assert public_link(settings, path, query) == link


def test_a_link_path_starts_with_a_slash() -> None:
    with pytest.raises(ValueError, match="starts with '/'"):
        public_link(load_settings({}), "calendar/x.ics")


@pytest.mark.parametrize(
    ("value", "enabled"),
    [(None, True), ("", True), ("on", True), (" OFF ", False), ("false", False), ("1", True)],
)
def test_raidline_calendar_is_on_or_off(value: str | None, enabled: bool) -> None:
    env = {} if value is None else {"RAIDLINE_CALENDAR": value}
    assert load_settings(env).calendar_enabled is enabled


def test_raidline_calendar_refuses_other_words() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"RAIDLINE_CALENDAR": "maybe"})
    assert str(caught.value) == "RAIDLINE_CALENDAR: 'maybe' is not on or off"


def test_the_calendar_link_is_under_the_public_url() -> None:
    links = PublicLinks(load_settings({"RAIDLINE_PUBLIC_URL": "https://example.com/raidline/"}))
    assert links.calendar_feed("abc_-1") == "https://example.com/raidline/calendar/abc_-1.ics"
