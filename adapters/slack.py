"""Slack: slash commands, buttons, modals, message shortcuts and App Home on slack-bolt.

Everything Slack sends becomes a core :class:`~bot.messages.Request`; every
:class:`~bot.messages.Reply` becomes Block Kit (see :mod:`adapters.slack_blocks`).

- **Transport.** Socket Mode (``AsyncSocketModeHandler``) when ``SLACK_APP_TOKEN`` is set,
  else HTTP: ``POST /slack/events`` on the runtime's aiohttp app, where Bolt verifies every
  request's signature (a missing, bad or stale signature or a changed body gets 401).
- **Acknowledgement.** Commands, clicks and shortcuts are acknowledged first; the core runs
  after the ack. A modal submission must be answered with its field errors, so the core runs
  before that ack, with a budget: if it takes longer the modal says so and the answer follows.
- **Workspaces.** The workspace of every request is the verified payload's team id (or the
  enterprise id of an org-wide install that carries no team id) and its channel is the
  payload's channel. Nothing a button or form carries can name another workspace: buttons
  on App Home and in direct messages carry their item's channel and are refused when their
  workspace is not the clicker's.
- **Many workspaces.** With SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET set,
  ``/slack/install`` and ``/slack/oauth_redirect`` install raidline into more workspaces; the
  installations live in slack_sdk's SQLAlchemy tables in raidline's database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from sqlalchemy import and_, desc, or_
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters import slack_blocks as kit
from adapters.platform import EXIT_UNAVAILABLE, StartupError
from adapters.runtime.config import ConfigError, Settings
from bot.dispatcher import Core
from bot.domain.model import ChannelKey
from bot.messages import File, Form, Outgoing, Reply, Request, Tone, Visibility
from storage import db

log = logging.getLogger("raidline.slack")

PLATFORM = "slack"
EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

#: The slash commands of SPEC §3, as declared in slack-manifest.yml.
COMMANDS = ("blocker", "risk", "decision", "change", "raid", "standup", "digest")
#: Message shortcuts (callback id -> the logging command whose form they open).
SHORTCUTS = {
    "log_blocker": "blocker",
    "log_risk": "risk",
    "log_decision": "decision",
    "log_change": "change",
}
#: Bot scopes, as declared in slack-manifest.yml (docs/slack.md says why each is needed).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    "files:write",
)

#: Seconds a modal submission may spend in the core before Slack's 3-second limit is at risk.
SUBMIT_BUDGET = 2.3
#: Seconds a users.info look-up may take before the request goes on without a time zone.
TZ_LOOKUP_TIMEOUT = 1.5
#: Seconds a cached time zone is trusted.
TZ_TTL = 3600.0
#: Seconds start() waits for Slack (auth.test, the Socket Mode connection).
CONNECT_TIMEOUT = 20.0
#: How many opened modals remember the message they were opened from.
ORIGINS_KEPT = 512

#: Web API errors that mean the bot cannot post into that conversation by itself.
_CANNOT_POST = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
)
#: Web API errors that mean a token is wrong, not that Slack is down.
_BAD_TOKEN = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
        "invalid_token",
    }
)

_ANY = re.compile(".*")
#: A request timestamp as Slack sends it: whole seconds since the epoch.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")

APOLOGY = (
    "Sorry, something went wrong on our side. If it happens again, tell your admin the "
    "incident id {incident}."
)


class SlackStartError(StartupError):
    """Slack could not be reached at start-up; ``str(error)`` is one line for the operator."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Slack: {message}", EXIT_UNAVAILABLE)


def retry_handlers() -> list[AsyncRetryHandler]:
    """Wait out 429s (Retry-After) and retry dropped connections before giving up."""
    return [
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
    ]


@dataclass(frozen=True)
class Origin:
    """Where a modal came from, kept in its ``private_metadata`` (Slack returns it unchanged).

    ``kind``: ``cmd`` (a command with no text), ``shortcut`` (a message shortcut), ``msg`` (a
    button on a message) or ``home`` (a button on App Home). ``channel`` is the items'
    channel; ``message_channel`` the conversation of the clicked message when that differs
    (a direct message). The workspace is never stored here: it always comes from the verified
    submission.
    """

    kind: str
    channel: str
    ts: str | None = None  # msg: the message; shortcut: the thread to answer in
    ephemeral: bool = False
    response_url: str | None = None
    source_url: str | None = None
    message_channel: str | None = None
    refs: tuple[str, ...] = ()  # msg: the item cards the message shows

    def encode(self) -> str:
        data: dict[str, Any] = {"k": self.kind, "c": self.channel}
        optional: dict[str, Any] = {
            "t": self.ts,
            "e": 1 if self.ephemeral else None,
            "r": self.response_url,
            "u": self.source_url,
            "mc": self.message_channel,
            "f": ",".join(self.refs) or None,
        }
        data.update({k: v for k, v in optional.items() if v})
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> Origin | None:
        try:
            data = json.loads(text or "")
            return cls(
                kind=str(data["k"]),
                channel=str(data["c"]),
                ts=data.get("t"),
                ephemeral=bool(data.get("e")),
                response_url=data.get("r"),
                source_url=data.get("u"),
                message_channel=data.get("mc"),
                refs=tuple(r for r in str(data.get("f") or "").split(",") if r),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


@dataclass(frozen=True)
class _Where:
    """Who acted where, from the verified payload: enough to answer them.

    ``channel`` is the items' channel (the core's channel key); ``message_channel`` is where
    the person clicked when that is elsewhere (a direct message from raidline).
    """

    workspace: str
    channel: str
    user: str
    response_url: str | None = None
    thread_ts: str | None = None
    message_channel: str | None = None

    @property
    def key(self) -> ChannelKey:
        return ChannelKey(PLATFORM, self.workspace, self.channel)

    @property
    def conversation(self) -> str:
        """Where the clicked message is."""
        return self.message_channel or self.channel

    @property
    def away(self) -> ChannelKey | None:
        """The items' channel when the message is elsewhere: its buttons must name it."""
        if self.message_channel and self.message_channel != self.channel:
            return self.key
        return None


def workspace_of(context: Mapping[str, Any]) -> str | None:
    """The workspace key: the team id, or the enterprise id of an org-wide install."""
    team = context.get("team_id")
    enterprise = context.get("enterprise_id")
    return str(team or enterprise) if (team or enterprise) else None


class SlackAdapter:
    """raidline's Slack app. See the module docstring for the rules it keeps."""

    name = PLATFORM

    def __init__(
        self,
        settings: Settings,
        core: Core,
        web_app: web.Application | None,
        *,
        engine: AsyncEngine | None = None,
    ) -> None:
        self.settings = settings
        self.core = core
        self._engine = engine
        self._own_engine: AsyncEngine | None = None
        self._bot_token = (
            settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        )
        self._app_token = (
            settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
        )
        signing = settings.slack_signing_secret
        self.client = AsyncWebClient(
            token=self._bot_token,
            base_url=settings.slack_api_url,
            retry_handlers=retry_handlers(),
            logger=logging.getLogger("raidline.slack.web"),
        )
        self.installation_store: AsyncSQLAlchemyInstallationStore | None = None
        self.state_store: AsyncSQLAlchemyOAuthStateStore | None = None
        oauth_settings: AsyncOAuthSettings | None = None
        if settings.slack_oauth_enabled:
            oauth_settings = self._oauth_settings()
        # With OAuth every request brings its workspace's token; the app's own client has none.
        app_client = self.client
        if oauth_settings is not None:
            app_client = AsyncWebClient(
                base_url=settings.slack_api_url,
                retry_handlers=retry_handlers(),
                logger=self.client.logger,
            )
        self.app = AsyncApp(
            name="raidline",
            client=app_client,
            signing_secret=signing.get_secret_value() if signing else None,
            oauth_settings=oauth_settings,
            logger=logging.getLogger("raidline.slack.bolt"),
            request_verification_enabled=True,
        )
        self._register()
        self._socket: AsyncSocketModeHandler | None = None
        self._started = False
        self._stopped = False
        self._timezones: dict[tuple[str, str], tuple[str | None, float]] = {}
        self._originals: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        #: One HTTP session (and its kept-alive connections) for every call to Slack while
        #: started; without it slack_sdk opens and closes a connection per call.
        self._http: aiohttp.ClientSession | None = None
        #: auth.test of the configured bot token: team_id, enterprise_id, user_id, bot_id
        self.identity: dict[str, Any] = {}
        if web_app is not None:
            self._add_routes(web_app)

    # -- set-up ---------------------------------------------------------------------------

    @property
    def socket_mode(self) -> bool:
        return self._app_token is not None

    def _oauth_settings(self) -> AsyncOAuthSettings:
        client_id = self.settings.slack_client_id
        secret = self.settings.slack_client_secret
        assert client_id is not None and secret is not None  # noqa: S101 - slack_oauth_enabled
        engine = self._engine
        if engine is None:
            engine = self._own_engine = db.create_engine(self.settings.database_url)
        self.installation_store = AsyncSQLAlchemyInstallationStore(
            client_id=client_id, engine=engine, logger=logging.getLogger("raidline.slack.oauth")
        )
        self.state_store = AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=600, engine=engine, logger=logging.getLogger("raidline.slack.oauth")
        )
        return AsyncOAuthSettings(
            client_id=client_id,
            client_secret=secret.get_secret_value(),
            scopes=list(BOT_SCOPES),
            installation_store=self.installation_store,
            state_store=self.state_store,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
        )

    def _add_routes(self, web_app: web.Application) -> None:
        routes = []
        if not self.socket_mode:
            routes.append(web.post(EVENTS_PATH, self._handle_events))
        if self.app.oauth_flow is not None:
            routes.append(web.get(INSTALL_PATH, self._handle_install))
            routes.append(web.get(REDIRECT_PATH, self._handle_oauth_redirect))
        web_app.add_routes(routes)

    def _register(self) -> None:
        for command in COMMANDS:
            self.app.command(f"/{command}")(self._on_command)
        for callback_id in SHORTCUTS:
            self.app.shortcut(callback_id)(self._on_shortcut)
        self.app.action({"type": "block_actions", "action_id": _ANY})(self._on_action)
        self.app.view({"type": "view_submission", "callback_id": _ANY})(self._on_view_submission)
        self.app.event("app_home_opened")(self._on_home_opened)
        if self.installation_store is not None:
            self.app.enable_token_revocation_listeners()
        else:
            self.app.event("tokens_revoked")(self._on_uninstalled)
            self.app.event("app_uninstalled")(self._on_uninstalled)

    # -- HTTP --------------------------------------------------------------------------------

    async def _handle_events(self, request: web.Request) -> web.Response:
        # Bolt parses the body before it checks the signature, and reads the timestamp with
        # int(): a body that is not Slack's form or JSON, or a timestamp that is not whole
        # seconds, would be a 500. Slack sends neither, so they get the bad signature's 401.
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        try:
            if timestamp is not None and not _TIMESTAMP.fullmatch(timestamp):
                raise ValueError("the request timestamp is not whole seconds")
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError) as e:
            log.info("refused an unreadable request (%s)", type(e).__name__)
            return web.json_response({"error": "invalid request"}, status=401)
        response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    async def _handle_install(self, request: web.Request) -> web.Response:
        flow = self.app.oauth_flow
        if flow is None:  # pragma: no cover - the route exists only with OAuth
            return web.Response(status=404)
        return await to_aiohttp_response(
            await flow.handle_installation(await to_bolt_request(request))
        )

    async def _handle_oauth_redirect(self, request: web.Request) -> web.Response:
        flow = self.app.oauth_flow
        if flow is None:  # pragma: no cover - the route exists only with OAuth
            return web.Response(status=404)
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    # -- PlatformAdapter ---------------------------------------------------------------------

    async def start(self) -> None:
        """Check the tokens with Slack, create the OAuth tables, open Socket Mode."""
        self._open_http()
        if self.installation_store is not None and self.state_store is not None:
            await self.installation_store.create_tables()  # type: ignore[no-untyped-call]
            await self.state_store.create_tables()  # type: ignore[no-untyped-call]
        if self._bot_token is not None:
            self.identity = await self._auth_test()
            log.info(
                "Slack bot token belongs to workspace %s (bot user %s)",
                self.identity.get("team_id"),
                self.identity.get("user_id"),
            )
            if self.installation_store is not None:
                await self._remember_token_installation()
        if self._app_token is not None:
            await self._connect_socket_mode(self._app_token)
        self._started = True
        self._stopped = False

    async def _auth_test(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                response = await self.client.auth_test()
        except SlackApiError as e:
            error = str(e.response.get("error", ""))
            if error in _BAD_TOKEN:
                raise ConfigError(
                    f"SLACK_BOT_TOKEN: Slack refused the token ({error}); copy the Bot User "
                    "OAuth Token (xoxb-…) from the app's OAuth & Permissions page"
                ) from None
            raise SlackStartError(f"Slack answered auth.test with {error or 'an error'}") from None
        except (TimeoutError, aiohttp.ClientError, SlackClientError, OSError) as e:
            raise SlackStartError(
                f"can't reach Slack at {self.settings.slack_api_url} ({type(e).__name__}); "
                "check the network and SLACK_API_URL"
            ) from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _remember_token_installation(self) -> None:
        """With OAuth and a bot token, the token's own workspace needs no install round."""
        store = self.installation_store
        team = self.identity.get("team_id")
        enterprise = self.identity.get("enterprise_id") or None
        if store is None or not team:
            return
        if await store.async_find_bot(enterprise_id=enterprise, team_id=team) is not None:
            return
        await store.async_save(
            Installation(
                app_id=self.identity.get("app_id"),
                enterprise_id=enterprise,
                team_id=team,
                team_name=self.identity.get("team"),
                bot_token=self._bot_token,
                bot_id=self.identity.get("bot_id"),
                bot_user_id=self.identity.get("user_id"),
                bot_scopes=list(BOT_SCOPES),
                user_id=str(self.identity.get("user_id") or ""),
            )
        )

    async def _connect_socket_mode(self, app_token: str) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                opened = await self.client.apps_connections_open(app_token=app_token)
        except SlackApiError as e:
            error = str(e.response.get("error", ""))
            if error in _BAD_TOKEN:
                raise ConfigError(
                    f"SLACK_APP_TOKEN: Slack refused the token ({error}); create an app-level "
                    "token with the connections:write scope (Basic Information page)"
                ) from None
            raise SlackStartError(f"Slack refused Socket Mode ({error or 'an error'})") from None
        except (TimeoutError, aiohttp.ClientError, SlackClientError, OSError) as e:
            raise SlackStartError(
                f"can't reach Slack at {self.settings.slack_api_url} ({type(e).__name__})"
            ) from None
        handler = AsyncSocketModeHandler(
            self.app, app_token, logger=logging.getLogger("raidline.slack.socket")
        )
        # The URL just issued proves the token; the client would otherwise ask for another.
        handler.client.wss_uri = opened.get("url")
        self._socket = handler
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                await handler.connect_async()  # type: ignore[no-untyped-call]
        except TimeoutError:
            await handler.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
            raise SlackStartError("the Socket Mode connection did not open in time") from None

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._started = False
        if self._socket is not None:
            with contextlib.suppress(Exception):
                await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._own_engine is not None:
            await self._own_engine.dispose()
            self._own_engine = None
        await self._close_http()

    def _open_http(self) -> None:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.client.timeout)
            )
        # Bolt hands every listener a client made with its app client's session.
        self.client.session = self.app.client.session = self._http

    async def _close_http(self) -> None:
        http, self._http = self._http, None
        self.client.session = self.app.client.session = None
        if http is not None:
            await http.close()

    @property
    def connected(self) -> bool:
        if not self._started:
            return False
        if self._socket is None:
            return True
        client = self._socket.client
        session = client.current_session
        return not client.closed and session is not None and not session.closed

    async def send(self, message: Outgoing) -> str | None:
        """Post a message raidline sends on its own; raises when Slack refuses it."""
        client = await self._client_for(message.channel.workspace)
        channel = message.channel.channel
        origin: ChannelKey | None = None
        if message.to_user:
            opened = await client.conversations_open(users=message.to_user)
            channel = str(opened["channel"]["id"])
            origin = message.channel  # a DM's buttons name the items' channel
        reply = message.reply
        response = await client.chat_postMessage(
            channel=channel,
            text=kit.message_text(reply),
            blocks=kit.message_blocks(reply, origin=origin),
            thread_ts=message.thread,
            unfurl_links=False,
            unfurl_media=False,
        )
        ts = response.get("ts")
        for file in reply.files:
            await self._upload(client, channel, file, thread_ts=message.thread)
        return str(ts) if ts else None

    async def _client_for(self, workspace: str) -> AsyncWebClient:
        """A Web API client holding the bot token of ``workspace``."""
        store = self.installation_store
        if store is None:
            return self.client
        token = await self._installed_token(store, workspace)
        if token is None:
            if self._bot_token and workspace in (
                self.identity.get("team_id"),
                self.identity.get("enterprise_id"),
            ):
                return self.client
            raise LookupError(f"raidline is not installed in Slack workspace {workspace}")
        return AsyncWebClient(
            token=token,
            base_url=self.settings.slack_api_url,
            session=self._http,
            retry_handlers=retry_handlers(),
            logger=self.client.logger,
        )

    @staticmethod
    async def _installed_token(
        store: AsyncSQLAlchemyInstallationStore, workspace: str
    ) -> str | None:
        # A workspace key is a team id, or an enterprise id for an org-wide install; the
        # store's own finder needs both ids, which a scheduled message does not have.
        c = store.bots.c
        query = (
            store.bots.select()
            .where(
                and_(
                    c.client_id == store.client_id,
                    c.bot_token.is_not(None),
                    or_(
                        c.team_id == workspace,
                        and_(c.team_id.is_(None), c.enterprise_id == workspace),
                    ),
                )
            )
            .order_by(desc(c.installed_at))
            .limit(1)
        )
        async with store.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return str(row["bot_token"]) if row is not None else None

    # -- listeners -------------------------------------------------------------------------

    async def _on_command(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        workspace = workspace_of(context)
        if workspace is None:
            log.warning("slash command without a team id ignored")
            return
        where = _Where(
            workspace=workspace,
            channel=str(body.get("channel_id", "")),
            user=str(body.get("user_id", "")),
            response_url=body.get("response_url"),
        )
        client = context.client
        command = str(body.get("command", "")).lstrip("/")

        async def work() -> None:
            tz = await self.timezone(client, workspace, where.user)
            request = Request(
                where.key,
                where.user,
                command=command,
                text=kit.unescape(str(body.get("text") or "")),
                user_timezone=tz,
            )
            reply = await self.core.handle(request)
            if reply.form is not None and reply.tone is not Tone.ERROR:
                origin = Origin("cmd", where.channel, response_url=where.response_url)
                await self._open_form(client, body.get("trigger_id"), reply.form, origin)
                return
            await self._deliver(client, reply, where)

        await self._guard(client, where, work)

    async def _on_shortcut(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        workspace = workspace_of(context)
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        user = (body.get("user") or {}).get("id")
        if workspace is None or not channel or not user:
            log.warning("message shortcut without team, channel or user ignored")
            return
        kind = SHORTCUTS.get(str(body.get("callback_id")), "blocker")
        where = _Where(workspace, str(channel), str(user), body.get("response_url"))
        client = context.client

        async def work() -> None:
            reply = await self.core.handle(Request(where.key, where.user, command=kind))
            if reply.form is None:
                await self._deliver(client, reply, where)
                return
            message_ts = message.get("ts")
            permalink: str | None = None
            if message_ts:
                try:
                    got = await client.chat_getPermalink(
                        channel=where.channel, message_ts=message_ts
                    )
                    permalink = got.get("permalink")
                except SlackApiError as e:
                    log.warning("chat.getPermalink failed: %s", e.response.get("error"))
            origin = Origin(
                "shortcut",
                where.channel,
                ts=message.get("thread_ts") or message_ts,
                response_url=where.response_url,
                source_url=permalink,
            )
            prefill = kit.prefill_from_message(reply.form, str(message.get("text") or ""))
            await self._open_form(client, body.get("trigger_id"), reply.form, origin, prefill)

        await self._guard(client, where, work)

    async def _on_action(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        actions = body.get("actions") or []
        workspace = workspace_of(context)
        user = (body.get("user") or {}).get("id")
        if not actions or workspace is None or not user:
            return
        action = actions[0]
        value = kit.decode_button_value(action.get("value"), str(action.get("action_id", "")))
        container = body.get("container") or {}
        client = context.client
        home = container.get("type") == "view"
        trigger_id = body.get("trigger_id")
        conversation = (body.get("channel") or {}).get("id") or container.get("channel_id")
        message = body.get("message") or {}
        blocks: list[dict[str, Any]] = list(message.get("blocks") or [])
        message_ts = container.get("message_ts") or message.get("ts")
        ephemeral = bool(container.get("is_ephemeral"))
        channel = conversation
        if value.workspace is not None or value.channel is not None:
            # App Home and direct messages show items of a channel elsewhere; the button
            # names it, and is taken only inside the clicker's own (verified) workspace.
            channel = value.channel if value.workspace == workspace else None
            if channel is None:
                log.warning(
                    "a button of workspace %s was clicked in %s", value.workspace, workspace
                )
        where = _Where(
            workspace,
            str(channel or conversation or ""),
            str(user),
            body.get("response_url"),
            message_channel=str(conversation) if conversation else None,
        )

        async def refuse(reply: Reply) -> None:
            if home:
                await self._notice(client, trigger_id, reply)
            else:
                await self._post_private(client, reply, where)

        async def work() -> None:
            if channel is None:
                why = (
                    "That button belongs to another Slack workspace"
                    if value.workspace is not None
                    else "That button doesn't say which channel it is about"
                )
                await refuse(Reply(text=f"{why}; nothing was changed.", tone=Tone.ERROR))
                return
            reply = await self._click(client, where, value.action_id)
            form: Form | None = None
            if reply.form is not None and reply.tone is not Tone.ERROR:
                form = reply.form
            elif reply.field_errors:
                label = str((action.get("text") or {}).get("text") or "raidline")
                form = value.form or kit.generic_form(value.action_id, label, reply.field_errors)
            if form is not None:
                origin = Origin(
                    "home" if home else "msg",
                    where.channel,
                    ts=message_ts,
                    ephemeral=ephemeral,
                    response_url=where.response_url,
                    message_channel=where.message_channel,
                    refs=tuple(kit.card_refs(blocks)),
                )
                view_id = await self._open_form(client, trigger_id, form, origin)
                if view_id and blocks:
                    self._remember_original(view_id, blocks)
                return
            if reply.tone is Tone.ERROR:
                await refuse(reply)
                return
            if home:
                await self._after_home_change(client, reply, where)
                return
            await self._apply_click(
                client,
                reply,
                where,
                message_ts=message_ts,
                ephemeral=ephemeral,
                blocks=blocks,
                refs=kit.card_refs(blocks),
            )

        await self._guard(client, where, work, trigger_id=trigger_id if home else None)

    async def _on_view_submission(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        view = body.get("view") or {}
        origin = Origin.decode(view.get("private_metadata"))
        workspace = workspace_of(context)
        user = (body.get("user") or {}).get("id")
        if origin is None or workspace is None or not user:
            await ack()
            return
        where = _Where(
            workspace,
            origin.channel,
            str(user),
            origin.response_url,
            thread_ts=origin.ts if origin.kind == "shortcut" else None,
        )
        client = context.client
        values = kit.form_values((view.get("state") or {}).get("values") or {})
        action_id = str(view.get("callback_id", ""))

        async def run() -> Reply:
            tz = await self.timezone(client, workspace, where.user)
            return await self.core.handle(
                Request(
                    where.key,
                    where.user,
                    action_id=action_id,
                    values=values,
                    user_timezone=tz,
                    source_url=origin.source_url,
                )
            )

        task = asyncio.ensure_future(run())
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), SUBMIT_BUDGET)
        except TimeoutError:
            # Slack closes the modal with an error after 3 s; say that the answer follows.
            await ack(
                response_action="update",
                view=kit.notice_view(
                    Reply(text="Still working on it; raidline answers in the channel shortly.")
                ),
            )
            await self._guard(
                client,
                where,
                lambda: self._finish_slow_submission(client, task, where, origin, view),
            )
            return
        except Exception:
            await ack()
            await self._guard(client, where, lambda: task)
            return
        if reply.field_errors:
            await ack(response_action="errors", errors=kit.view_errors(reply.field_errors, view))
            return
        if reply.tone is Tone.ERROR:
            await ack(response_action="update", view=kit.notice_view(reply))
            return
        await ack()
        await self._guard(
            client, where, lambda: self._after_submission(client, reply, where, origin, view)
        )

    async def _finish_slow_submission(
        self,
        client: AsyncWebClient,
        task: asyncio.Future[Reply],
        where: _Where,
        origin: Origin,
        view: Mapping[str, Any],
    ) -> None:
        reply = await task
        if reply.tone is Tone.ERROR:
            await self._post_private(client, reply, where)
            return
        await self._after_submission(client, reply, where, origin, view)

    async def _after_submission(
        self,
        client: AsyncWebClient,
        reply: Reply,
        where: _Where,
        origin: Origin,
        view: Mapping[str, Any],
    ) -> None:
        if origin.kind == "home":
            await self._after_home_change(client, reply, where)
            return
        if origin.kind == "msg":
            await self._apply_click(
                client,
                reply,
                replace(where, message_channel=origin.message_channel),
                message_ts=origin.ts,
                ephemeral=origin.ephemeral,
                blocks=self._originals.pop(str(view.get("id")), None),
                refs=origin.refs,
            )
            return
        await self._deliver(client, reply, where)

    async def _on_home_opened(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("tab", "home") != "home":
            return
        workspace = workspace_of(context)
        user = event.get("user")
        if workspace is None or not user:
            return
        try:
            await self._publish_home(context.client, workspace, str(user))
        except Exception:
            incident = secrets.token_hex(4)
            log.exception("App Home failed", extra={"incident_id": incident})

    async def _on_uninstalled(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        log.warning(
            "Slack workspace %s removed raidline (%s)", workspace_of(context), event.get("type")
        )

    # -- doing things ----------------------------------------------------------------------

    async def _click(self, client: AsyncWebClient, where: _Where, action_id: str) -> Reply:
        """A click goes to the core with no values; field errors mean "ask for the form".

        So a click by someone the rules refuse is refused before any form opens, whenever the
        core checks the rules before the values.
        """
        tz = await self.timezone(client, where.workspace, where.user)
        return await self.core.handle(
            Request(where.key, where.user, action_id=action_id, user_timezone=tz)
        )

    async def timezone(self, client: AsyncWebClient, workspace: str, user: str) -> str | None:
        """The person's Slack time zone (users.info), cached for an hour."""
        key = (workspace, user)
        cached = self._timezones.get(key)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            async with asyncio.timeout(TZ_LOOKUP_TIMEOUT):
                response = await client.users_info(user=user)
            tz = (response.get("user") or {}).get("tz")
        except (SlackApiError, SlackClientError, TimeoutError, aiohttp.ClientError, OSError) as e:
            log.info("no time zone for %s: %s", user, type(e).__name__)
            return cached[0] if cached is not None else None
        self._timezones[key] = (str(tz) if tz else None, now + TZ_TTL)
        return str(tz) if tz else None

    async def _open_form(
        self,
        client: AsyncWebClient,
        trigger_id: str | None,
        form: Form,
        origin: Origin,
        prefill: Mapping[str, str] | None = None,
    ) -> str | None:
        view = kit.form_view(form, metadata=origin.encode(), prefill=prefill)
        response = await client.views_open(trigger_id=trigger_id, view=view)
        opened = response.get("view") or {}
        return str(opened["id"]) if opened.get("id") else None

    def _remember_original(self, view_id: str, blocks: list[dict[str, Any]]) -> None:
        self._originals[view_id] = blocks
        while len(self._originals) > ORIGINS_KEPT:
            self._originals.popitem(last=False)

    async def _notice(self, client: AsyncWebClient, trigger_id: str | None, reply: Reply) -> None:
        if trigger_id:
            await client.views_open(trigger_id=trigger_id, view=kit.notice_view(reply))

    async def _deliver(self, client: AsyncWebClient, reply: Reply, where: _Where) -> None:
        """A reply to a person's command: visible changes in the channel, the rest privately."""
        for file in reply.files:
            try:
                await self._upload(client, where.channel, file, thread_ts=where.thread_ts)
            except SlackApiError as e:
                error = e.response.get("error")
                log.warning("file upload to %s failed: %s", where.channel, error)
                failed = Reply(
                    text=f"I couldn't upload {file.filename} to this channel ({error}). "
                    "Invite raidline to the channel (`/invite @raidline`) and try again.",
                    tone=Tone.ERROR,
                )
                await self._post_private(client, failed, where)
                return
        if reply.visibility is not Visibility.CHANNEL or reply.tone is Tone.ERROR:
            await self._post_private(client, reply, where)
            return
        try:
            await self._post_visible(client, reply, where)
        except SlackApiError as e:
            # Saved, but the channel can't be told: the person gets it, and why.
            error = e.response.get("error") or e.response.status_code
            log.warning("couldn't post in %s: %s", where.channel, error)
            note = f"I couldn't post this in the channel (Slack said {error}):\n"
            await self._post_private(client, replace(reply, text=note + reply.text), where)

    async def _post_visible(self, client: AsyncWebClient, reply: Reply, where: _Where) -> None:
        blocks = kit.message_blocks(reply, actor=where.user)
        text = kit.message_text(reply)
        try:
            await client.chat_postMessage(
                channel=where.channel,
                text=text,
                blocks=blocks,
                thread_ts=where.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
            )
            return
        except SlackApiError as e:
            error = str(e.response.get("error", ""))
            if error not in _CANNOT_POST or not where.response_url or where.thread_ts:
                raise
            log.info(
                "chat.postMessage to %s: %s; answering through response_url", where.channel, error
            )
        # A private channel or a DM the bot is not in: the command's response_url still
        # reaches it, visibly.
        await self._respond(
            where.response_url,
            {"response_type": "in_channel", "text": text, "blocks": blocks},
        )

    async def _post_private(self, client: AsyncWebClient, reply: Reply, where: _Where) -> None:
        blocks = kit.message_blocks(reply)
        text = kit.message_text(reply)
        if where.response_url:
            try:
                await self._respond(
                    where.response_url,
                    {
                        "response_type": "ephemeral",
                        "replace_original": False,
                        "text": text,
                        "blocks": blocks,
                    },
                )
                return
            except (SlackClientError, aiohttp.ClientError, OSError) as e:
                log.info("response_url failed (%s); trying chat.postEphemeral", type(e).__name__)
        await client.chat_postEphemeral(
            channel=where.conversation,
            user=where.user,
            text=text,
            blocks=blocks,
            thread_ts=where.thread_ts,
        )

    async def _apply_click(
        self,
        client: AsyncWebClient,
        reply: Reply,
        where: _Where,
        *,
        message_ts: str | None,
        ephemeral: bool,
        blocks: Sequence[Mapping[str, Any]] | None,
        refs: Sequence[str],
    ) -> None:
        """A successful click: the message it came from shows the result in place."""
        text = kit.message_text(reply)
        if ephemeral:
            # The clicker's private copy (a list page, a `show` card) is replaced...
            await self._respond(
                where.response_url,
                {
                    "replace_original": True,
                    "text": text,
                    "blocks": kit.message_blocks(reply, origin=where.away),
                },
            )
            if reply.visibility is Visibility.CHANNEL:
                # ...and a change is also posted where the team sees it.
                await self._post_visible(
                    client, reply, _Where(where.workspace, where.channel, where.user)
                )
            return
        if reply.visibility is not Visibility.CHANNEL:
            # Something only for the clicker must not replace a message everybody sees.
            await self._post_private(client, reply, where)
            return
        new_blocks = kit.updated_message(blocks, refs, reply, actor=where.user, origin=where.away)
        if new_blocks is None or not message_ts:
            # The message doesn't show this item: answer in its thread, leave it as it is.
            thread = _Where(
                where.workspace,
                where.conversation,
                where.user,
                thread_ts=message_ts,
            )
            await self._post_visible(client, reply, thread)
            return
        try:
            await client.chat_update(
                channel=where.conversation, ts=message_ts, text=text, blocks=new_blocks
            )
            return
        except SlackApiError as e:
            if not where.response_url:
                raise
            log.info("chat.update failed (%s); using response_url", e.response.get("error"))
        await self._respond(
            where.response_url, {"replace_original": True, "text": text, "blocks": new_blocks}
        )

    async def _after_home_change(self, client: AsyncWebClient, reply: Reply, where: _Where) -> None:
        await self._publish_home(client, where.workspace, where.user)
        if reply.visibility is Visibility.CHANNEL:
            try:
                await self._post_visible(client, reply, where)
            except SlackApiError as e:
                # The change is saved and App Home shows it; the channel could not be told.
                log.warning(
                    "couldn't post an App Home change to %s: %s",
                    where.channel,
                    e.response.get("error"),
                )

    async def _publish_home(self, client: AsyncWebClient, workspace: str, user: str) -> None:
        tz = await self.timezone(client, workspace, user)
        reply = await self.core.home(PLATFORM, workspace, user, tz)
        await client.views_publish(user_id=user, view=kit.home_view(reply))

    async def _upload(
        self, client: AsyncWebClient, channel: str, file: File, *, thread_ts: str | None = None
    ) -> None:
        await client.files_upload_v2(
            channel=channel,
            content=file.content,
            filename=file.filename,
            title=file.title or file.filename,
            thread_ts=thread_ts,
        )

    async def _respond(self, url: str | None, body: dict[str, Any]) -> None:
        if not url:
            raise LookupError("no response_url to answer through")
        webhook = AsyncWebhookClient(
            url, session=self._http, retry_handlers=retry_handlers(), logger=self.client.logger
        )
        response = await webhook.send_dict(body)
        if response.status_code != 200:
            raise SlackClientError(f"response_url answered {response.status_code}: {response.body}")

    async def _guard(
        self,
        client: AsyncWebClient,
        where: _Where,
        work: Callable[[], Awaitable[Any]],
        *,
        trigger_id: str | None = None,
    ) -> None:
        """Run ``work``; anything unexpected becomes an apology with an incident id."""
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            incident = secrets.token_hex(4)
            log.exception(
                "Slack request failed",
                extra={"incident_id": incident, "channel": str(where.key)},
            )
            apology = Reply(
                text=APOLOGY.format(incident=incident), tone=Tone.ERROR, incident_id=incident
            )
            try:
                if trigger_id:
                    await self._notice(client, trigger_id, apology)
                else:
                    await self._post_private(client, apology, where)
            except Exception:
                log.exception(
                    "couldn't tell %s about incident %s",
                    where.user,
                    incident,
                    extra={"incident_id": incident},
                )


__all__ = [
    "BOT_SCOPES",
    "COMMANDS",
    "SHORTCUTS",
    "SlackAdapter",
    "SlackStartError",
    "retry_handlers",
]
