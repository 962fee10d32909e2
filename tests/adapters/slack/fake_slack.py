"""A local stand-in for Slack: the Web API, response_url, file uploads and Socket Mode.

It runs in its own thread with its own event loop on 127.0.0.1 and an ephemeral port, records
every call, and answers with canned payloads unless a test scripted a one-shot answer.

``python -m tests.adapters.slack.fake_slack --port 3999`` runs it on its own and prints what
raidline sends it: the README's "Trying the HTTP mode without Slack".
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

JSON_KEYS = ("blocks", "view", "attachments", "files", "users", "metadata")


@dataclass
class Call:
    method: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: bytes = b""
    at: float = field(default_factory=time.monotonic)
    #: the ts a chat.postMessage got when it arrived
    ts: str | None = None

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :]
        token = self.body.get("token")
        return str(token) if token else None


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


async def async_wait_for(
    predicate: Callable[[], Any], within: float = 5.0, interval: float = 0.01
) -> Any:
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {predicate}")
        await asyncio.sleep(interval)


class FakeSlack:
    def __init__(self, port: int = 0, *, echo: Callable[[Call], None] | None = None) -> None:
        """``port``: 0 for an ephemeral one; ``echo``: called with each call as it arrives."""
        self._wanted_port = port
        self._echo = echo
        self.tokens: dict[str, str] = {"xoxb-test": "T1"}
        self.app_tokens = {"xapp-test"}
        self.timezones: dict[str, str] = {}
        #: users.info flags per user, e.g. {"U9": {"is_admin": True}}
        self.user_flags: dict[str, dict[str, bool]] = {}
        #: users.info names per user, e.g. {"U7": {"real_name": "Dana", "profile": {...}}}
        self.user_names: dict[str, dict[str, Any]] = {}
        #: seconds to wait before answering a method (slow Slack)
        self.delays: dict[str, float] = {}
        self.calls: list[Call] = []
        #: messages posted with chat.postMessage, by channel, oldest first: what
        #: conversations.history and conversations.replies show (a message is posted when the
        #: call arrives, before any delay, as on Slack a slow answer does not undo the post)
        self.posted: dict[str, list[dict[str, Any]]] = {}
        self.acks: dict[str, dict[str, Any]] = {}
        self.connections = 0
        self._scripts: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self._lock = threading.Lock()
        self._ts = itertools.count(100)
        self._ids = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._link)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response_url/{key}", self._response_url)
        app.router.add_route("*", "/api/{method}", self._api)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._wanted_port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self, key: str = "x") -> str:
        return f"{self.base}/response_url/{key}"

    # -- scripting and reading ----------------------------------------------------------------

    def script(
        self,
        method: str,
        *,
        status: int = 200,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next call of ``method`` with this instead of the canned payload."""
        with self._lock:
            self._scripts.setdefault(method, []).append(
                (status, dict(body or {"ok": True}), dict(headers or {}))
            )

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- socket mode -------------------------------------------------------------------------

    @property
    def open_sockets(self) -> int:
        return sum(1 for ws in self._sockets if not ws.closed)

    def push(self, envelope_type: str, payload: Mapping[str, Any], **extra: Any) -> str:
        """Send an envelope over the newest open socket; returns its envelope id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": dict(payload),
            "accepts_response_payload": envelope_type != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
            **extra,
        }
        asyncio.run_coroutine_threadsafe(self._send(envelope), self._loop).result(5)
        return envelope_id

    def ack_for(self, envelope_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self.acks.get(envelope_id)

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's "please reconnect" message on every open socket."""

        async def send() -> None:
            for ws in list(self._sockets):
                if not ws.closed:
                    await ws.send_str(json.dumps({"type": "disconnect", "reason": reason}))

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(5)

    async def _send(self, message: Mapping[str, Any]) -> None:
        open_ws = [ws for ws in self._sockets if not ws.closed]
        if not open_ws:
            raise AssertionError("no Socket Mode connection is open")
        await open_ws[-1].send_str(json.dumps(message))

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        with self._lock:
            self.connections += 1
            self._sockets.append(ws)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": "A1"},
                }
            )
        )
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                data = json.loads(msg.data)
                if "envelope_id" in data:
                    with self._lock:
                        self.acks[data["envelope_id"]] = data
        with self._lock:
            if ws in self._sockets:
                self._sockets.remove(ws)
        return ws

    # -- HTTP --------------------------------------------------------------------------------

    async def _record(self, method: str, request: web.Request) -> Call:
        raw = await request.read()
        body: dict[str, Any] = dict(request.query)
        ctype = request.headers.get("Content-Type", "")
        if raw and ctype.startswith("application/json"):
            body.update(json.loads(raw))
        elif raw and ctype.startswith("application/x-www-form-urlencoded"):
            body.update(parse_qsl(raw.decode(), keep_blank_values=True))
        elif raw and ctype.startswith("multipart/"):
            body["_multipart"] = True
        for key in JSON_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value[:1] in "[{":
                body[key] = json.loads(value)
        call = Call(method, dict(request.headers), body, raw)
        with self._lock:
            self.calls.append(call)
        if self._echo is not None:
            self._echo(call)
        return call

    async def _response_url(self, request: web.Request) -> web.Response:
        await self._record(f"response_url:{request.match_info['key']}", request)
        scripted = self._pop_script(f"response_url:{request.match_info['key']}")
        if scripted is not None:
            status, body, headers = scripted
            return web.Response(status=status, text=json.dumps(body), headers=headers)
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        await self._record(f"upload:{request.match_info['file_id']}", request)
        return web.Response(text="OK - 123")

    def _pop_script(self, method: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        with self._lock:
            queue = self._scripts.get(method)
            if queue:
                return queue.pop(0)
        return None

    def _post(self, call: Call) -> None:
        """Keep a posted message (with its ts) for conversations.history."""
        if call.token not in self.tokens or self._scripts.get("chat.postMessage"):
            return
        b = call.body
        ts = f"1700000000.{next(self._ts):06d}"
        call.ts = ts
        message = {"type": "message", "ts": ts, "text": b.get("text"), "user": "UBOT"}
        if b.get("thread_ts"):
            message["thread_ts"] = b["thread_ts"]
        if isinstance(b.get("metadata"), dict):
            message["metadata"] = b["metadata"]
        with self._lock:
            self.posted.setdefault(str(b.get("channel")), []).append(message)

    def _history(self, method: str, b: dict[str, Any]) -> dict[str, Any]:
        """conversations.history (top-level messages) or .replies (a thread), newest first;
        metadata only with include_all_metadata, as on Slack."""
        with self._lock:
            messages = list(self.posted.get(str(b.get("channel")), []))
        if method == "conversations.replies":
            parent = str(b.get("ts"))
            messages = [m for m in messages if parent in (m["ts"], m.get("thread_ts"))]
        else:
            messages = [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
        limit = int(b.get("limit") or 100)
        shown = list(reversed(messages))[:limit]
        if str(b.get("include_all_metadata")).lower() not in ("1", "true"):
            shown = [{k: v for k, v in m.items() if k != "metadata"} for m in shown]
        return {"ok": True, "messages": shown, "has_more": len(messages) > limit}

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = await self._record(method, request)
        if method == "chat.postMessage":
            self._post(call)
        if self.delays.get(method):
            await asyncio.sleep(self.delays[method])
        scripted = self._pop_script(method)
        if scripted is not None:
            status, body, headers = scripted
            return web.json_response(body, status=status, headers=headers)
        return web.json_response(self._canned(method, call))

    def _canned(self, method: str, call: Call) -> dict[str, Any]:
        token = call.token
        if method == "oauth.v2.access":
            return self._oauth_access(call)
        if method == "apps.connections.open":
            if token not in self.app_tokens:
                return {"ok": False, "error": "invalid_auth"}
            n = next(self._ids)
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link?ticket=t{n}"}
        if token not in self.tokens:
            return {"ok": False, "error": "invalid_auth"}
        team = self.tokens[token]
        b = call.body
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": f"Team {team}",
                "user": "raidline",
                "team_id": team,
                "user_id": f"UBOT{team}",
                "bot_id": f"BBOT{team}",
                "app_id": "A1",
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = call.ts or f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": b.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method in ("conversations.history", "conversations.replies"):
            return self._history(method, b)
        if method == "chat.update":
            return {"ok": True, "channel": b.get("channel"), "ts": b.get("ts")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        if method == "chat.getPermalink":
            ts = str(b.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "permalink": f"https://test.slack.com/archives/{b.get('channel')}/p{ts}",
            }
        if method in ("views.open", "views.update", "views.push", "views.publish"):
            view = dict(b.get("view") or {})
            view["id"] = f"V{next(self._ids)}"
            view["team_id"] = team
            return {"ok": True, "view": view}
        if method == "users.info":
            user = str(b.get("user"))
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "tz": self.timezones.get(user, "Europe/Berlin"),
                    **self.user_flags.get(user, {}),
                    **self.user_names.get(user, {}),
                },
            }
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": f"D{b.get('users')}"}}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids)}"
            return {"ok": True, "upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = b.get("files") or []
            return {
                "ok": True,
                "files": [{"id": f.get("id"), "title": f.get("title")} for f in files],
            }
        return {"ok": True}

    def _oauth_access(self, call: Call) -> dict[str, Any]:
        if call.body.get("code") != "good-code":
            return {"ok": False, "error": "invalid_code"}
        self.tokens["xoxb-t9"] = "T9"
        return {
            "ok": True,
            "app_id": "A1",
            "authed_user": {"id": "U9"},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": "xoxb-t9",
            "bot_user_id": "UBOTT9",
            "team": {"id": "T9", "name": "Nine"},
            "enterprise": None,
            "is_enterprise_install": False,
        }


def _print_call(call: Call) -> None:
    """One line per call: the method, and the text a person would read."""
    where = call.body.get("channel") or call.body.get("user") or ""
    text = str(call.body.get("text") or "").replace("\n", "\n    ")
    print(f"{call.method} {where}".rstrip() + (f": {text}" if text else ""), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.adapters.slack.fake_slack",
        description="A stand-in for Slack's Web API on 127.0.0.1 that prints every call "
        "raidline makes. Point SLACK_API_URL at it and use SLACK_BOT_TOKEN=xoxb-test.",
    )
    parser.add_argument("--port", type=int, default=3999, help="the port (default: 3999)")
    args = parser.parse_args(argv)
    fake = FakeSlack(args.port, echo=_print_call).start()
    print(
        f"Slack stand-in: SLACK_API_URL={fake.api_url} SLACK_BOT_TOKEN=xoxb-test; "
        f"replies to {fake.response_url('x')}. Ctrl-C stops it.",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
