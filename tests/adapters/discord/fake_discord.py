"""A local stand-in of Discord's REST API and gateway, for driving the real discord.py.

It runs in its own thread with its own event loop on ``127.0.0.1:0`` (see
shared/notes/testing-slack-discord-offline.md §5 and §6) and keeps what a test asserts on:
every REST call, every gateway frame from the bot, the command schema, the messages.

The payload shapes follow real Discord: ``Content-Type`` exactly ``application/json``, 429s
with ``Via`` and ``retry_after``, interaction messages stamped with ``interaction_metadata``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

TOKEN = "test-token"
APP_ID = 1100000000000000001
BOT_ID = 1100000000000000002
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message content

_ids = itertools.count(1300000000000000000)


def snowflake() -> str:
    return str(next(_ids))


def user_payload(
    user_id: int | str, name: str | None = None, *, bot: bool = False
) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name or f"user{user_id}",
        "global_name": name,
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


BOT_USER = user_payload(BOT_ID, "raidline", bot=True)


@dataclass
class FakeGuild:
    id: int
    channels: tuple[int, ...]
    name: str = "guild"
    threads: Mapping[int, int] = field(default_factory=dict)  # thread id -> parent id
    #: who is a member (``GET /guilds/{id}/members/{user}``); None: everyone asked about
    members: frozenset[int] | None = None
    #: channel id -> members a permission overwrite denies View Channel
    hidden: Mapping[int, frozenset[int]] = field(default_factory=dict)

    def has_member(self, user_id: int) -> bool:
        return self.members is None or user_id in self.members


@dataclass
class Call:
    method: str
    path: str  # after /api/v10
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed JSON (payload_json for multipart), or None
    files: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass
class Script:
    method: str
    path: re.Pattern[str]
    status: int
    body: Any
    headers: dict[str, str]


class FakeDiscord:
    def __init__(self, guilds: Sequence[FakeGuild], *, heartbeat_ms: int = 41250) -> None:
        self.guilds = list(guilds)
        self.heartbeat_ms = heartbeat_ms
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.gw_received: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        #: members' nicknames in their server, by user id (what ``GET .../members/{id}`` says)
        self.nicknames: dict[str, str] = {}
        #: files users attached, by attachment id: (file name, content), served at their URL
        self.attachments: dict[str, tuple[str, bytes]] = {}
        #: seconds the CDN takes before it serves an attachment
        self.attachment_delay = 0.0
        #: when set, an interaction's first answer (callback) coming later than this many
        #: seconds after it was dispatched is refused as Discord refuses it (10062, "Unknown
        #: interaction"); Discord allows 3
        self.answer_within: float | None = None
        self._dispatched_at: dict[str, float] = {}  # interaction id -> time.monotonic()
        self.messages: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, int] = {}  # session id -> last sequence
        self.identifies = 0
        self.resumes = 0
        self._scripts: list[Script] = []
        self._originals: dict[str, str] = {}  # interaction token -> message id
        self._interactions: dict[str, dict[str, Any]] = {}  # interaction id -> payload
        self._sockets: list[web.WebSocketResponse] = []
        self._ws_session: dict[int, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def start(self) -> None:
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._serve())
            started.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-discord", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fake Discord did not start")

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        app.router.add_get("/attachments/{id}/{filename}", self._attachment)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            for ws in list(self._sockets):
                await ws.close()
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    def _run(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # -- scripting and reading ----------------------------------------------------------------

    def script(
        self,
        method: str,
        path: str,
        *,
        status: int,
        body: Any,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """The next ``method`` call whose path matches the regex ``path`` gets this answer."""
        with self.lock:
            self._scripts.append(
                Script(method, re.compile(path), status, body, dict(headers or {}))
            )

    def calls_to(self, method: str, path_regex: str) -> list[Call]:
        pattern = re.compile(path_regex)
        with self.lock:
            return [c for c in self.calls if c.method == method and pattern.fullmatch(c.path)]

    def callbacks(self, interaction_id: str) -> list[Call]:
        return self.calls_to("POST", rf"/interactions/{interaction_id}/[^/]+/callback")

    def message(self, message_id: str) -> dict[str, Any]:
        with self.lock:
            return _copy(self.messages[message_id])

    def original(self, token: str) -> dict[str, Any] | None:
        with self.lock:
            mid = self._originals.get(token)
            return _copy(self.messages[mid]) if mid else None

    def open_sockets(self) -> int:
        with self.lock:
            return sum(1 for ws in self._sockets if not ws.closed)

    def frames(self, op: int) -> list[dict[str, Any]]:
        with self.lock:
            return [f for f in self.gw_received if f.get("op") == op]

    # -- gateway driving ----------------------------------------------------------------------

    def dispatch(self, event: str, data: Mapping[str, Any]) -> None:
        self._run(self._dispatch(event, dict(data)))

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        ws = self._current()
        if ws is None:
            raise RuntimeError("no bot is connected to the fake gateway")
        await self._send_event(ws, event, data)

    def send_op(self, op: int, d: Any = None) -> None:
        async def send() -> None:
            ws = self._current()
            if ws is None:
                raise RuntimeError("no bot is connected to the fake gateway")
            await ws.send_str(json.dumps({"op": op, "d": d, "s": None, "t": None}))

        self._run(send())

    def drop_connection(self, code: int = 1001) -> None:
        """Close the bot's gateway socket from the server side, as a network blip would."""

        async def close() -> None:
            ws = self._current()
            if ws is not None:
                await ws.close(code=code)

        self._run(close())

    def _current(self) -> web.WebSocketResponse | None:
        open_ws = [ws for ws in self._sockets if not ws.closed]
        return open_ws[-1] if open_ws else None

    async def _send_event(self, ws: web.WebSocketResponse, event: str, data: Any) -> None:
        session = self._ws_session.get(id(ws))
        with self.lock:
            seq = self.sessions.get(session, 0) + 1 if session else 1
            if session:
                self.sessions[session] = seq
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": seq, "d": data}))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        with self.lock:
            self._sockets.append(ws)
        await ws.send_str(
            json.dumps(
                {"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}, "s": None, "t": None}
            )
        )
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            with self.lock:
                self.gw_received.append(frame)
            op = frame.get("op")
            d = frame.get("d") or {}
            if op == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif op == 2:
                if d.get("token") != TOKEN:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                if int(d.get("intents", 0)) & PRIVILEGED_INTENTS:
                    await ws.close(code=4014, message=b"Disallowed intent(s).")
                    break
                session = f"session-{snowflake()}"
                with self.lock:
                    self.identifies += 1
                    self.sessions[session] = 0
                self._ws_session[id(ws)] = session
                # Like Discord, a shard only hears of the guilds that hash to it.
                shard_id, shard_count = d.get("shard") or [0, 1]
                guilds = [g for g in self.guilds if (g.id >> 22) % shard_count == shard_id]
                ready = self._ready_payload(session, guilds, [shard_id, shard_count])
                await self._send_event(ws, "READY", ready)
                for guild in guilds:
                    await self._send_event(ws, "GUILD_CREATE", self._guild_payload(guild))
            elif op == 6:
                session = str(d.get("session_id"))
                with self.lock:
                    known = session in self.sessions
                if not known or d.get("token") != TOKEN:
                    await ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
                    continue
                with self.lock:
                    self.resumes += 1
                self._ws_session[id(ws)] = session
                await self._send_event(ws, "RESUMED", {})
        return ws

    def _ready_payload(
        self, session: str, guilds: Sequence[FakeGuild], shard: list[int]
    ) -> dict[str, Any]:
        return {
            "v": 10,
            "user": BOT_USER,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": 0},
            "shard": shard,
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
        }

    def _guild_payload(self, guild: FakeGuild) -> dict[str, Any]:
        channels: list[dict[str, Any]] = [
            {
                "id": str(cid),
                "type": 0,
                "guild_id": str(guild.id),
                "name": f"channel-{i}",
                "position": i,
                "permission_overwrites": self._overwrites(guild, cid),
                "nsfw": False,
                "parent_id": None,
            }
            for i, cid in enumerate(guild.channels)
        ]
        threads = [
            self._thread_payload(guild.id, tid, parent) for tid, parent in guild.threads.items()
        ]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "owner_id": "1",
            "unavailable": False,
            "member_count": 2,
            "large": False,
            "features": [],
            "channels": channels,
            "threads": threads,
            "roles": [
                {
                    "id": str(guild.id),
                    "name": "@everyone",
                    "permissions": "2248473465835073",
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "members": [self._member(BOT_ID, "raidline", bot=True)],
            "emojis": [],
            "stickers": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "preferred_locale": "en-US",
            "premium_tier": 0,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "system_channel_flags": 0,
        }

    @staticmethod
    def _overwrites(guild: FakeGuild, channel_id: int) -> list[dict[str, Any]]:
        """A member overwrite denying View Channel (1 << 10) to each hidden member."""
        return [
            {"id": str(user), "type": 1, "allow": "0", "deny": str(1 << 10)}
            for user in sorted(guild.hidden.get(channel_id, ()))
        ]

    def _guild(self, guild_id: str) -> FakeGuild | None:
        return next((g for g in self.guilds if str(g.id) == guild_id), None)

    def _thread_payload(self, guild_id: int, thread_id: int, parent_id: int) -> dict[str, Any]:
        return {
            "id": str(thread_id),
            "type": 11,
            "guild_id": str(guild_id),
            "parent_id": str(parent_id),
            "name": f"thread-{thread_id}",
            "owner_id": "1",
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": "2026-01-01T00:00:00+00:00",
                "locked": False,
            },
        }

    @staticmethod
    def _member(
        user_id: int | str, name: str | None = None, *, bot: bool = False
    ) -> dict[str, Any]:
        return {
            "user": user_payload(user_id, name, bot=bot),
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "2248473465835073",
        }

    # -- attachments (Discord's CDN) ----------------------------------------------------------

    def attach(
        self, filename: str, content: bytes, *, size: int | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A file a user attached to a slash command: the option naming it and the
        ``resolved.attachments`` entry describing it (``size`` as Discord says it)."""
        attachment_id = snowflake()
        with self.lock:
            self.attachments[attachment_id] = (filename, content)
        resolved = {
            "id": attachment_id,
            "filename": filename,
            "size": len(content) if size is None else size,
            "url": f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}",
            "proxy_url": f"http://127.0.0.1:{self.port}/attachments/{attachment_id}/{filename}",
            "content_type": "text/csv; charset=utf-8",
        }
        return {"name": "file", "type": 11, "value": attachment_id}, resolved

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        with self.lock:
            self.calls.append(
                Call("GET", request.path, dict(request.query), dict(request.headers), None)
            )
            found = self.attachments.get(request.match_info["id"])
        if self.attachment_delay:
            await asyncio.sleep(self.attachment_delay)
        if found is None or found[0] != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=found[1], content_type="text/csv")

    # -- REST ---------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body: Any = None
        files: list[tuple[str, bytes]] = []
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if part.name == "payload_json":  # type: ignore[union-attr]
                    body = json.loads(await part.text())  # type: ignore[union-attr]
                else:
                    data = await part.read()  # type: ignore[union-attr]
                    files.append((part.filename or "", bytes(data)))  # type: ignore[union-attr]
        else:
            raw = await request.read()
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
        call = Call(request.method, path, dict(request.query), dict(request.headers), body, files)
        with self.lock:
            self.calls.append(call)
            script = next(
                (s for s in self._scripts if s.method == request.method and s.path.fullmatch(path)),
                None,
            )
            if script is not None:
                self._scripts.remove(script)
        if script is not None:
            return _json(script.body, script.status, script.headers)
        is_callback = path.startswith("/interactions/")
        is_webhook = path.startswith("/webhooks/")
        if (
            not is_callback
            and not is_webhook
            and request.headers.get("Authorization") != f"Bot {TOKEN}"
        ):
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        return await self._route(request.method, path, call)

    async def _route(self, method: str, path: str, call: Call) -> web.StreamResponse:
        body = call.body if isinstance(call.body, dict) else {}
        if method == "GET" and path == "/users/@me":
            return _json(BOT_USER)
        if method == "GET" and path == "/oauth2/applications/@me":
            return _json(
                {
                    "id": str(APP_ID),
                    "name": "raidline",
                    "icon": None,
                    "description": "",
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": user_payload(1, "owner"),
                    "verify_key": "0" * 64,
                    "flags": 0,
                    "interactions_endpoint_url": None,
                }
            )
        if method == "GET" and path in ("/gateway", "/gateway/bot"):
            return _json(
                {
                    "url": self.gateway_url,
                    "shards": 1,
                    "session_start_limit": {
                        "total": 1000,
                        "remaining": 1000,
                        "reset_after": 0,
                        "max_concurrency": 1,
                    },
                }
            )
        m = re.fullmatch(rf"/applications/{APP_ID}(?:/guilds/(\d+))?/commands", path)
        if m:
            scope = m.group(1) or "global"
            if method == "PUT":
                stored = [
                    {**c, "id": snowflake(), "application_id": str(APP_ID), "version": snowflake()}
                    for c in call.body or []
                ]
                if m.group(1):
                    for c in stored:
                        c["guild_id"] = m.group(1)
                with self.lock:
                    self.commands[scope] = stored
                return _json(stored)
            with self.lock:
                return _json(self.commands.get(scope, []))
        m = re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)
        if m and method == "POST":
            with self.lock:
                dispatched = self._dispatched_at.get(m.group(1))
            window = self.answer_within
            if window is not None and time.monotonic() - (dispatched or 0.0) > window:
                return _json({"message": "Unknown interaction", "code": 10062}, 404)
            return _json(self._callback(m.group(1), m.group(2), body, call.files))
        m = re.fullmatch(r"/webhooks/(\d+)/([^/]+)(/messages/(@original|\d+))?", path)
        if m:
            token = m.group(2)
            target = m.group(4)
            if method == "POST" and target is None:
                message = self._new_message(self._channel_of(token), body, call.files, token=token)
                return _json(message)
            with self.lock:
                mid = self._originals.get(token) if target == "@original" else target
            if mid is None or mid not in self.messages:
                return _json({"message": "Unknown Message", "code": 10008}, 404)
            if method == "PATCH":
                return _json(self._edit(mid, body, call.files))
            if method == "DELETE":
                with self.lock:
                    self.messages[mid]["deleted"] = True
                return web.Response(status=204)
            return _json(self.message(mid))
        m = re.fullmatch(r"/channels/(\d+)/messages", path)
        if m and method == "POST":
            return _json(self._new_message(m.group(1), body, call.files))
        m = re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)
        if m and method == "PATCH":
            with self.lock:
                found = self.messages.get(m.group(2))
            if found is None or str(found.get("channel_id")) != m.group(1):
                return _json({"message": "Unknown Message", "code": 10008}, 404)
            return _json(self._edit(m.group(2), body, call.files))
        m = re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path)
        if m and method == "POST":
            guild = next(g for g in self.guilds if int(m.group(1)) in g.channels)
            thread = self._thread_payload(guild.id, int(m.group(2)), int(m.group(1)))
            thread["name"] = body.get("name", thread["name"])
            return _json(thread, 201)
        m = re.fullmatch(r"/guilds/(\d+)/members/(\d+)", path)
        if m and method == "GET":
            guild = self._guild(m.group(1))
            if guild is None:
                return _json({"message": "Unknown Guild", "code": 10004}, 404)
            if not guild.has_member(int(m.group(2))):
                return _json({"message": "Unknown Member", "code": 10007}, 404)
            member = self._member(m.group(2))
            del member["permissions"]  # only interaction payloads carry resolved permissions
            if m.group(2) in self.nicknames:
                member["nick"] = self.nicknames[m.group(2)]
            return _json(member)
        m = re.fullmatch(r"/guilds/(\d+)", path)
        if m and method == "GET":
            guild = self._guild(m.group(1))
            if guild is None:
                return _json({"message": "Unknown Guild", "code": 10004}, 404)
            return _json(self._guild_payload(guild))
        m = re.fullmatch(r"/channels/(\d+)", path)
        if m and method == "GET":
            for g in self.guilds:
                if int(m.group(1)) in g.threads:
                    return _json(
                        self._thread_payload(g.id, int(m.group(1)), g.threads[int(m.group(1))])
                    )
                if int(m.group(1)) in g.channels:
                    return _json(
                        {
                            "id": m.group(1),
                            "type": 0,
                            "guild_id": str(g.id),
                            "name": "c",
                            "position": 0,
                            "permission_overwrites": self._overwrites(g, int(m.group(1))),
                        }
                    )
            return _json({"message": "Unknown Channel", "code": 10003}, 404)
        if method == "POST" and path == "/users/@me/channels":
            recipient = str(body.get("recipient_id"))
            return _json(
                {"id": f"9{recipient[1:]}", "type": 1, "recipients": [user_payload(recipient)]}
            )
        m = re.fullmatch(r"/users/(\d+)", path)
        if m and method == "GET":
            return _json(user_payload(m.group(1)))
        return _json({})

    # -- messages -----------------------------------------------------------------------------

    def _channel_of(self, token: str) -> str:
        with self.lock:
            for payload in self._interactions.values():
                if payload["token"] == token:
                    return str(payload.get("channel_id"))
        return "0"

    def _new_message(
        self,
        channel_id: str,
        body: Mapping[str, Any],
        files: Sequence[tuple[str, bytes]],
        *,
        token: str | None = None,
        interaction: Mapping[str, Any] | None = None,
        flags: int = 0,
    ) -> dict[str, Any]:
        mid = snowflake()
        message: dict[str, Any] = {
            "id": mid,
            "channel_id": channel_id,
            "author": BOT_USER,
            "content": body.get("content") or "",
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [
                {
                    "id": snowflake(),
                    "filename": name,
                    "size": len(data),
                    "url": f"http://files/{name}",
                    "proxy_url": f"http://files/{name}",
                }
                for name, data in files
            ],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": int(body.get("flags") or 0) | flags,
            "files": [(name, data.decode(errors="replace")) for name, data in files],
        }
        if interaction is not None:
            message["type"] = 20
            message["application_id"] = str(APP_ID)
            message["webhook_id"] = str(APP_ID)
            message["interaction_metadata"] = {
                "id": interaction["id"],
                "type": interaction["type"],
                "user": (interaction.get("member") or {}).get("user") or interaction.get("user"),
                "authorizing_integration_owners": {"0": str(interaction.get("guild_id"))},
            }
        elif token is not None:
            message["webhook_id"] = str(APP_ID)
            message["application_id"] = str(APP_ID)
        with self.lock:
            self.messages[mid] = message
        return _copy(_public(message))

    def _edit(
        self, mid: str, body: Mapping[str, Any], files: Sequence[tuple[str, bytes]]
    ) -> dict[str, Any]:
        with self.lock:
            message = self.messages[mid]
            for key in ("content", "embeds", "components"):
                if key in body:
                    message[key] = (
                        body[key] if body[key] is not None else ([] if key != "content" else "")
                    )
            if files:
                message["files"] = [(name, data.decode(errors="replace")) for name, data in files]
            message["flags"] = int(message.get("flags") or 0) & ~128  # no longer "thinking"
            message["edited_timestamp"] = datetime.now(UTC).isoformat()
            message.setdefault("edits", 0)
            message["edits"] += 1
            return _copy(_public(message))

    def _callback(
        self, iid: str, token: str, body: Mapping[str, Any], files: Sequence[tuple[str, bytes]]
    ) -> dict[str, Any]:
        with self.lock:
            interaction = self._interactions.get(iid, {"id": iid, "type": 2, "token": token})
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        ephemeral = bool(int(data.get("flags") or 0) & 64)
        message: dict[str, Any] | None = None
        channel = str(interaction.get("channel_id", "0"))
        if kind == 4:
            message = self._new_message(channel, data, files, token=token, interaction=interaction)
            with self.lock:
                self._originals[token] = message["id"]
        elif kind == 5:
            message = self._new_message(
                channel, data, files, token=token, interaction=interaction, flags=128
            )
            with self.lock:
                self._originals[token] = message["id"]
        elif kind in (6, 7):
            mid = str((interaction.get("message") or {}).get("id", ""))
            with self.lock:
                self._originals[token] = mid
            if kind == 7 and mid in self.messages:
                message = self._edit(mid, data, files)
            ephemeral = bool(int((interaction.get("message") or {}).get("flags") or 0) & 64)
        response: dict[str, Any] = {
            "interaction": {
                "id": iid,
                "type": interaction.get("type", 2),
                "response_message_id": message["id"] if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": ephemeral,
            },
            "resource": {"type": kind},
        }
        if message is not None:
            response["resource"]["message"] = message
        return response

    # -- interactions -------------------------------------------------------------------------

    def interact(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Dispatch an INTERACTION_CREATE; returns the payload (id and token to look for)."""
        with self.lock:
            self._interactions[str(payload["id"])] = dict(payload)
            self._dispatched_at[str(payload["id"])] = time.monotonic()
        self.dispatch("INTERACTION_CREATE", payload)
        return dict(payload)


def _copy(value: Mapping[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = json.loads(json.dumps(value))
    return copied


def _public(message: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in ("files", "deleted", "edits")}


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # discord.py compares the content type exactly: no "; charset=utf-8".
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


# --- payload builders --------------------------------------------------------------------------


@dataclass
class Place:
    """Where an interaction happens and who does it."""

    guild_id: int
    channel_id: int
    user_id: int
    thread_parent: int | None = None  # set when channel_id is a thread


def _base(place: Place, kind: int, data: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "id": str(place.channel_id),
        "type": 0,
        "guild_id": str(place.guild_id),
        "name": "c",
        "position": 0,
        "parent_id": None,
        "nsfw": False,
        "topic": None,
        "flags": 0,
        "rate_limit_per_user": 0,
        "last_message_id": None,
        "permissions": "2248473465835073",
    }
    if place.thread_parent is not None:
        channel = {
            **channel,
            "type": 11,
            "parent_id": str(place.thread_parent),
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": "2026-01-01T00:00:00+00:00",
                "locked": False,
            },
        }
    return {
        "id": snowflake(),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"itoken-{snowflake()}",
        "version": 1,
        "attachment_size_limit": 10485760,
        "data": dict(data),
        "guild_id": str(place.guild_id),
        "guild": {"id": str(place.guild_id), "locale": "en-US", "features": []},
        "channel": channel,
        "channel_id": str(place.channel_id),
        "member": FakeDiscord._member(place.user_id, f"user{place.user_id}"),
        "app_permissions": "2248473465835073",
        "locale": "en-US",
        "guild_locale": "en-US",
        "context": 0,
        "authorizing_integration_owners": {"0": str(place.guild_id)},
        "entitlements": [],
        **extra,
    }


def in_dm(payload: Mapping[str, Any], dm_channel: int | str) -> dict[str, Any]:
    """The same interaction as Discord sends it from a direct message with the bot: no guild,
    no member (the ``user`` instead), the DM channel, context 1 (bot DM)."""
    out = dict(payload)
    for key in ("guild_id", "guild", "guild_locale"):
        out.pop(key, None)
    out["user"] = out.pop("member")["user"]
    out["channel"] = {
        "id": str(dm_channel),
        "type": 1,
        "last_message_id": None,
        "flags": 0,
        "recipients": [out["user"]],
    }
    out["channel_id"] = str(dm_channel)
    out["context"] = 1
    out["app_permissions"] = "2248473465835073"
    out["authorizing_integration_owners"] = {"0": "0"}
    data = dict(out["data"])
    data.pop("guild_id", None)
    out["data"] = data
    return out


def _resolved(users: Iterable[int | str]) -> dict[str, Any]:
    users = [str(u) for u in users]
    return {
        "users": {u: user_payload(u) for u in users},
        "members": {
            u: {k: v for k, v in FakeDiscord._member(u).items() if k != "user"} for u in users
        },
    }


def opt(name: str, value: Any, kind: int = 3, *, focused: bool = False) -> dict[str, Any]:
    option: dict[str, Any] = {"name": name, "type": kind, "value": value}
    if focused:
        option["focused"] = True
    return option


def user_opt(name: str, user_id: int) -> dict[str, Any]:
    return opt(name, str(user_id), 6)


def slash(
    place: Place, path: str, options: Sequence[Mapping[str, Any]] = (), *, kind: int = 2
) -> dict[str, Any]:
    """``slash(place, "raid resolve", [opt("ref", "B-1")])``; kind 4 for autocomplete."""
    names = path.split()
    inner: list[dict[str, Any]] = [dict(o) for o in options]
    for depth, name in enumerate(reversed(names[1:])):
        inner = [{"name": name, "type": 1 if depth == 0 else 2, "options": inner}]
    users = [o["value"] for o in options if o.get("type") == 6]
    data: dict[str, Any] = {
        "id": snowflake(),
        "name": names[0],
        "type": 1,
        "options": inner,
        "guild_id": str(place.guild_id),
    }
    if users:
        data["resolved"] = _resolved(users)
    return _base(place, kind, data)


def click(
    place: Place,
    message: Mapping[str, Any],
    custom_id: str,
    *,
    values: Sequence[str] | None = None,
    component_type: int = 2,
) -> dict[str, Any]:
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        data["values"] = list(values)
        if component_type == 5:
            data["resolved"] = _resolved(values)
    return _base(place, 3, data, message=_public(message))


def modal_submit(
    place: Place,
    custom_id: str,
    values: Mapping[str, str | Sequence[str]],
    *,
    message: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Values: a string for a text input, a list for a select (user ids for a user select)."""
    components: list[dict[str, Any]] = []
    users: list[str] = []
    for i, (name, value) in enumerate(values.items()):
        if isinstance(value, str):
            inner: dict[str, Any] = {"type": 4, "id": 100 + i, "custom_id": name, "value": value}
        else:
            is_users = all(v.isdigit() for v in value) and bool(value)
            inner = {
                "type": 5 if is_users else 3,
                "id": 100 + i,
                "custom_id": name,
                "values": list(value),
            }
            if is_users:
                users += list(value)
        components.append({"type": 18, "id": i + 1, "component": inner})
    data: dict[str, Any] = {"custom_id": custom_id, "components": components}
    if users:
        data["resolved"] = _resolved(users)
    extra = {"message": _public(message)} if message is not None else {}
    return _base(place, 5, data, **extra)


# --- helpers for tests -------------------------------------------------------------------------


async def until(predicate: Callable[[], Any], within: float = 5.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.01)


def components_of(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every component of a message, action rows flattened."""
    out: list[dict[str, Any]] = []
    for row in message.get("components") or []:
        out.extend(row.get("components") or [row])
    return out


def with_button(message: Mapping[str, Any], custom_id: str) -> dict[str, Any]:
    """``message`` as if it had been sent with one more button ``custom_id`` (discord.py only
    routes a click to a component the clicked message has)."""
    button = {"type": 2, "style": 2, "label": "Forged", "custom_id": custom_id}
    rows = [*(message.get("components") or []), {"type": 1, "components": [button]}]
    return {**message, "components": rows}


def custom_ids(message: Mapping[str, Any]) -> list[str]:
    return [c["custom_id"] for c in components_of(message) if "custom_id" in c]
