"""Links people open in a browser: the base is ``RAIDLINE_PUBLIC_URL``.

Every link raidline hands out in chat (the dashboard's sign-in link, the calendar feed) is
built here, so that one setting moves them all behind a proxy or a path prefix.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlencode

from adapters.runtime.config import Settings

#: Characters left as they are in a link's path (RFC 3986 ``pchar`` and ``/``).
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def public_link(settings: Settings, path: str, query: Mapping[str, str] | None = None) -> str:
    """``RAIDLINE_PUBLIC_URL`` + ``path`` (+ ``?query``), e.g. ``https://r.example/calendar/x.ics``.

    ``path`` is the route inside raidline's web app and starts with ``/``; characters that
    cannot stand in a URL path are percent-encoded, and ``query``'s names and values are
    form-encoded in the order given. A path prefix in the setting is kept
    (``https://example.com/raidline`` + ``/dashboard`` -> ``https://example.com/raidline/dashboard``).
    """
    if not path.startswith("/"):
        raise ValueError(f"a link's path starts with '/': {path!r}")
    link = settings.public_url + quote(path, safe=_PATH_SAFE)
    if query:
        link += "?" + urlencode(list(query.items()))
    return link


#: The calendar feed's route on raidline's web app (:func:`adapters.web.add_calendar_routes`).
CALENDAR_ROUTE = "/calendar/{token}.ics"


class PublicLinks:
    """``bot.ports.Links``: the addresses of raidline's web pages under RAIDLINE_PUBLIC_URL."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def calendar_feed(self, token: str) -> str:
        return public_link(self.settings, CALENDAR_ROUTE.format(token=token))


__all__ = ["CALENDAR_ROUTE", "PublicLinks", "public_link"]
