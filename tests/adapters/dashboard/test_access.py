"""Nobody gets into a dashboard where they don't belong (issue 15, item 5).

Every way in that is not a fresh link the bot gave, or the session it was exchanged for, ends
on a plain 403 page; a session for one channel never reads another channel's or workspace's
items; user text is escaped; every response carries the security headers; no page shows a
token or a secret.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from adapters.dashboard import FORBIDDEN_TEXT
from adapters.web_auth import LINK_PURPOSE, Signer
from bot.domain.model import ChannelKey
from bot.messages import Visibility
from tests.adapters.dashboard.conftest import HERE, SECRET, Board
from tests.adapters.dashboard.conftest import place as to

ELSEWHERE = ChannelKey("slack", "T1", "C2")  # another channel of the same workspace
OTHER_TEAM = ChannelKey("slack", "T2", "C1")  # the same channel id in another workspace

HOSTILE = "<script>alert('x')</script> \"quotes\" & <b>bold</b> <img src=x onerror=alert(1)>"


def _forbidden(status: int, body: str) -> None:
    assert status == 403, body
    assert FORBIDDEN_TEXT.split(":")[0] in body
    assert "/raid dashboard" in body


def _token(link: str) -> str:
    return link.split("?t=", 1)[1]


def _payload(token: str) -> dict[str, object]:
    body = token.split(".", 1)[0]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


def _encode(payload: dict[str, object]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def test_the_link_is_private_and_opens_the_channels_dashboard(board: Board) -> None:
    await board.say("/risk Vendor may slip likelihood 4 impact 5 @bob")
    reply = await board.say("/raid dashboard")
    assert reply.visibility is Visibility.PRIVATE
    assert "works once and for 10 minutes" in reply.text
    link = await board.link()
    response = await board.client.get(board.path(link), allow_redirects=False)
    assert response.status == 303
    place = to(response.headers["Location"])
    assert place.startswith("/dashboard/c/")
    cookie = response.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Lax", f"Path={place}", "Max-Age=43200"):
        assert attribute in cookie, cookie
    assert "Secure" not in cookie  # the public URL is http here
    page = await board.client.get(place)
    text = await page.text()
    assert page.status == 200
    assert 'likelihood=4&amp;impact=5">1</a>' in text


@pytest.mark.parametrize(
    "how",
    ["reused", "expired", "forged", "altered channel", "altered expiry", "garbage", "empty"],
)
async def test_links_that_are_not_fresh_and_genuine_get_a_plain_403(board: Board, how: str) -> None:
    link = await board.link()
    token = _token(link)
    if how == "reused":
        first = await board.client.get(board.path(link), allow_redirects=False)
        assert first.status == 303
    elif how == "expired":
        board.clock.advance(minutes=10, seconds=1)
    elif how == "forged":
        token = Signer("another-key-of-enough-length-0123456789", LINK_PURPOSE).sign(
            _payload(token)
        )
    elif how == "altered channel":
        token = _encode({**_payload(token), "c": "C2"}) + "." + token.split(".", 1)[1]
    elif how == "altered expiry":
        later = int(_payload(token)["e"]) + 86_400  # type: ignore[call-overload]
        token = _encode({**_payload(token), "e": later}) + "." + token.split(".", 1)[1]
    elif how == "garbage":
        token = "not-a-token"
    else:
        token = ""
    response = await board.client.get(f"/dashboard/open?t={token}", allow_redirects=False)
    _forbidden(response.status, await response.text())
    assert "Set-Cookie" not in response.headers


async def test_a_session_key_cannot_sign_links(board: Board) -> None:
    """Each use of the secret has its own key: a session cookie is no link."""
    place = await board.sign_in()
    cookie = next(iter(board.client.session.cookie_jar))
    response = await board.client.get(f"/dashboard/open?t={cookie.value}", allow_redirects=False)
    _forbidden(response.status, await response.text())
    assert place


@pytest.mark.parametrize("how", ["none", "altered", "expired", "another channel's"])
async def test_pages_need_this_channels_live_session(board: Board, how: str) -> None:
    place = await board.sign_in()
    if how == "none":
        board.client.session.cookie_jar.clear()
    elif how == "altered":
        jar = board.client.session.cookie_jar
        cookie = next(iter(jar))
        body, mac = cookie.value.split(".", 1)
        payload = _payload(body + ".")
        payload["c"] = "C2"
        jar.clear()
        jar.update_cookies({cookie.key: f"{_encode(payload)}.{mac}"}, board.client.make_url(place))
    elif how == "expired":
        board.clock.advance(hours=12, seconds=1)
    else:
        place = await board.sign_in(channel=ELSEWHERE)
        # the cookie of ELSEWHERE presented on HERE's pages under HERE's cookie name
        here = board.parts.dashboard.auth.slug(HERE)  # type: ignore[union-attr]
        jar = board.client.session.cookie_jar
        theirs = next(c for c in jar if c.key.endswith(place.split("/")[3]))
        jar.update_cookies(
            {f"raidline_dash_{here}": theirs.value}, board.client.make_url(f"/dashboard/c/{here}/")
        )
        place = f"/dashboard/c/{here}/"
    for page in ("", "items", "items/B-1", "export.json", "trend.svg"):
        response = await board.client.get(place + page)
        _forbidden(response.status, await response.text())


@pytest.mark.parametrize("other", [ELSEWHERE, OTHER_TEAM], ids=["channel", "workspace"])
async def test_a_session_never_reads_another_channels_items(
    board: Board, other: ChannelKey
) -> None:
    await board.say("/blocker Ours, in this channel")
    await board.say("/blocker Theirs one", channel=other)
    await board.say("/blocker Theirs two, secret plans", channel=other)
    place = await board.sign_in()
    for ref in ("B-2", "b2", "B-0002", "R-2"):
        response = await board.client.get(f"{place}items/{ref}")
        text = await response.text()
        assert response.status == 404, text
        assert "secret plans" not in text
    listing = await (await board.client.get(f"{place}items?q=Theirs&closed=1")).text()
    assert "Theirs" not in listing.replace('value="Theirs"', "")
    exported = await (await board.client.get(f"{place}export.json")).text()
    assert "Ours, in this channel" in exported
    assert "secret plans" not in exported


async def test_user_text_is_escaped_on_every_page(board: Board) -> None:
    await board.say(f"/blocker {HOSTILE} @dana due friday")
    await board.say(f"/raid note B-1 {HOSTILE}")
    await board.say(f"/change {HOSTILE} impact cost {HOSTILE} @sponsor")
    await board.say(f"/decision needed {HOSTILE} @cio by Dec 5")
    place = await board.sign_in()
    for page in ("", "items", "items/B-1", "items/C-1", f"items?q={HOSTILE}"):
        response = await board.client.get(place + page)
        text = await response.text()
        assert response.status == 200, page
        assert "<script" not in text
        assert "<img src=x" not in text
        assert "<b>" not in text
        assert "&lt;script&gt;alert(" in text
        assert "onerror=alert(1)&gt;" in text


async def test_every_response_carries_the_security_headers(board: Board) -> None:
    await board.say("/blocker Waiting on keys")
    link = await board.link()
    responses = [await board.client.get(board.path(link), allow_redirects=False)]
    place = to(responses[0].headers["Location"])
    for path in (
        place,
        place + "items",
        place + "items/B-1",
        place + "items/B-9",
        place + "export.md",
        place + "trend.svg",
        "/dashboard/static/dashboard.css",
        "/favicon.ico",
        board.path(link),  # used: 403
        "/dashboard/c/nobody/",
    ):
        responses.append(await board.client.get(path, allow_redirects=False))
    for response in responses:
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "unsafe-inline" not in csp and "script-src" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        if headers.get("Content-Type", "").startswith("text/html"):
            assert "<script" not in await response.text()
    assert [r.status for r in responses] == [303, 200, 200, 200, 404, 200, 200, 200, 200, 403, 403]


async def test_no_page_shows_a_token_or_a_secret(board: Board) -> None:
    await board.say("/blocker Waiting on keys @dana")
    link = await board.link()
    response = await board.client.get(board.path(link), allow_redirects=False)
    place = to(response.headers["Location"])
    session = next(iter(board.client.session.cookie_jar)).value
    leaks = (SECRET, _token(link), session, _token(link).split(".")[1], session.split(".")[1])
    for page in ("", "items", "items/B-1", "export.md", "export.csv", "export.json"):
        text = await (await board.client.get(place + page)).text()
        for leak in leaks:
            assert leak not in text, page


async def test_the_dashboard_can_be_switched_off() -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from adapters.runtime.bootstrap import bootstrap_for_tests, serve_public_pages
    from adapters.runtime.config import load_settings
    from adapters.web import build_app
    from bot.messages import Request
    from tests.fakes import FakeStore

    parts = bootstrap_for_tests(FakeStore(), settings=load_settings({"RAIDLINE_DASHBOARD": "off"}))
    assert parts.dashboard is None
    app = build_app()
    serve_public_pages(parts, app)
    reply = await parts.core.handle(Request(HERE, "ana", command="raid", text="dashboard"))
    assert "switched off (RAIDLINE_DASHBOARD=off)" in reply.text
    assert "http" not in reply.text
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/dashboard/open?t=x")).status == 404


async def test_dashboard_takes_no_words(board: Board) -> None:
    reply = await board.say("/raid dashboard please")
    assert "takes nothing after it" in reply.text
    assert "/raid dashboard" in (reply.usage or "")


async def test_links_expire_after_ten_minutes_not_before(board: Board) -> None:
    link = await board.link()
    board.clock.advance(minutes=9, seconds=50)
    response = await board.client.get(board.path(link), allow_redirects=False)
    assert response.status == 303
    board.clock.advance(hours=11, minutes=59)
    assert (await board.client.get(to(response.headers["Location"]))).status == 200


async def test_behind_an_https_proxy_with_a_path_prefix() -> None:
    """RAIDLINE_PUBLIC_URL=https://example.com/raidline: the link carries the prefix, the
    cookie is Secure and scoped below the prefix, the redirect stays below it."""
    from aiohttp.test_utils import TestClient, TestServer

    from adapters.runtime.bootstrap import bootstrap_for_tests, serve_public_pages
    from adapters.runtime.config import load_settings
    from adapters.web import build_app
    from bot.messages import Request
    from tests.fakes import FakeStore

    base = "https://example.com/raidline"
    settings = load_settings({"RAIDLINE_SECRET_KEY": SECRET, "RAIDLINE_PUBLIC_URL": base})
    parts = bootstrap_for_tests(FakeStore(), settings=settings)
    assert parts.dashboard is not None
    app = build_app()
    serve_public_pages(parts, app)
    reply = await parts.core.handle(Request(HERE, "ana", command="raid", text="dashboard"))
    link = next(word for word in reply.text.split() if word.startswith(base))
    assert link.startswith(f"{base}/dashboard/open?t=")
    async with TestClient(TestServer(app)) as client:
        # the proxy strips the prefix
        response = await client.get(link.removeprefix(base), allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"].startswith("c/")
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie
        assert "Path=/raidline/dashboard/c/" in cookie
        page = await client.get("/dashboard/" + response.headers["Location"])
        assert 'href="/raidline/dashboard/static/dashboard.css"' in await page.text()


@pytest.mark.parametrize(
    ("query", "refs"),
    [
        ("kind=blocker&status=open&owner=none", ["B-2"]),
        ("owner=dana", ["B-1"]),
        ("kind=risk&likelihood=4&impact=5", ["R-1"]),
        ("q=firewall", ["B-1"]),
        ("closed=1&kind=blocker", ["B-1", "B-2", "B-3"]),
        ("kind=dragon", ["B-1", "R-1", "B-2", "R-2"]),  # all open ones, oldest first
    ],
)
async def test_the_item_list_filters(board: Board, query: str, refs: list[str]) -> None:
    await board.say("/blocker Firewall change @dana")
    await board.say("/blocker Nobody owns this")
    await board.say("/risk Vendor may slip likelihood 4 impact 5")
    await board.say("/risk Other likelihood 2 impact 5")
    await board.say("/blocker Done already @dana")
    await board.say("/raid resolve B-3", user="dana")
    place = await board.sign_in()
    text = await (await board.client.get(f"{place}items?{query}")).text()
    shown = re.findall(r'<td><a href="items/([BRDC]-\d+)">', text)
    assert shown == refs
    if "dragon" in query:
        assert "Left out: “dragon” is not a kind" in text
