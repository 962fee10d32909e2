"""The Slack app itself: Bolt's AsyncApp, OAuth, HTTP routes, Socket Mode, start and stop.

- **Transport.** Socket Mode (``AsyncSocketModeHandler``) when ``SLACK_APP_TOKEN`` is set,
  else HTTP: ``POST /slack/events`` on the runtime's aiohttp app, where Bolt verifies every
  request's signature (a missing, bad or stale signature or a changed body gets 401).
- **Many workspaces.** With SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and SLACK_SIGNING_SECRET set,
  ``/slack/install`` and ``/slack/oauth_redirect`` install raidline into more workspaces; the
  installations live in slack_sdk's tables in raidline's database
  (:mod:`storage.slack_installations`).
- **Database outages.** Bolt finds each request's workspace through :class:`Installs`, a
  bounded cache in front of the database. A request from a workspace that cannot be found
  because the database is down is answered by :meth:`SlackApp._answer_outage` with "can't
  reach its database" (the slash command's response, the response_url, or the modal's field
  error) instead of Slack's generic failure.
- **Install page.** ``GET /slack/install`` is rate-limited per client address
  (:mod:`adapters.slack.throttle`: 429 with ``Retry-After``); each visit stores an OAuth
  state that expires, and expired states are deleted.
- **Removed workspaces.** ``app_uninstalled`` and ``tokens_revoked`` (the bot's), and a
  message refused with a revoked token, stop the workspace's standups, digests and nudges
  (:func:`storage.workspaces.stop_workspace`); the refused token is not tried again.
- **Replays.** A signed request (or Socket Mode envelope, or Events API delivery) already
  taken is acknowledged and dropped (:mod:`adapters.slack.replays`), after Bolt's signature
  check.
- **Errors.** Every listener runs its work through :func:`guard`, the one edge error handler:
  anything unexpected is logged with an incident id and the person gets the one apology
  of :mod:`bot.errors`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.platform import EXIT_UNAVAILABLE, AdapterDeps, StartupError
from adapters.runtime.config import ConfigError
from adapters.runtime.tokens import key_error
from adapters.slack import blocks as kit
from adapters.slack.backlog import ARRIVED
from adapters.slack.cache import Bounded
from adapters.slack.inbound import PLATFORM, workspace_of
from adapters.slack.installs import Installs
from adapters.slack.replays import SeenRequests
from adapters.slack.signing import EVENTS_PATH
from adapters.slack.throttle import PerClient
from bot.domain.model import ChannelKey
from bot.errors import Unavailable, apology, report_incident
from bot.messages import Reply, Tone
from storage.db import is_sqlite
from storage.secrets import KeyMismatch, KeyMissing
from storage.slack_installations import SlackInstallations
from storage.workspaces import stop_workspace

log = logging.getLogger("raidline.slack")


class _TokenFromTheEnvironment(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment on its own and, since raidline gives it
    a client (holding that same token), warns at every start that the token "will be unused".
    Nothing is wrong: only that one line is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_BOLT_LOG = logging.getLogger("raidline.slack.bolt")
_BOLT_LOG.addFilter(_TokenFromTheEnvironment())

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"

#: Bot scopes, as declared in slack-manifest.yml and slack-manifest-http.yml (README.md,
#: "Scopes and why", says why each is needed).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    "files:write",
)

#: Seconds start() waits for Slack (auth.test, the Socket Mode connection).
CONNECT_TIMEOUT = 20.0

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

#: Web API errors that mean the workspace took the token back: nothing sent with it can
#: ever arrive, so its schedules stop and the token is not tried again.
REVOKED = frozenset({"invalid_auth", "account_inactive", "token_revoked"})
#: Seconds a refused token is remembered (Slack never accepts a revoked token again).
REFUSED_TTL = 7 * 24 * 3600.0
#: The most refused tokens remembered at once.
REFUSED_KEPT = 10_000

#: The events that take tokens back; their requests need no token of their own.
_REVOCATIONS = ("app_uninstalled", "tokens_revoked")

#: A request timestamp as Slack sends it: whole seconds since the epoch.
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class TokenRefused(LookupError):
    """Slack refused this workspace's token before (revoked, uninstalled): not tried again."""

    def __init__(self, workspace: str, error: str) -> None:
        super().__init__(f"Slack refused the token of workspace {workspace} ({error})")
        self.workspace = workspace
        self.error = error


def _fingerprint(token: str) -> str:
    """What the refused-token memory keeps instead of the token itself."""
    return hashlib.sha256(token.encode()).hexdigest()


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


async def guard(
    work: Callable[[], Awaitable[Any]],
    tell: Callable[[Reply], Awaitable[Any]] | None,
    *,
    what: str,
    user: str | None = None,
    channel: ChannelKey | None = None,
) -> None:
    """Run ``work``; anything unexpected becomes an incident, and ``tell`` gets the apology.

    The one edge error handler of the Slack adapter: every listener's work goes through it.
    The log record carries the incident id (and ``channel``, when the request has one).
    """
    try:
        await work()
    except asyncio.CancelledError:
        raise
    except Exception:
        extra = {"channel": str(channel)} if channel is not None else {}
        incident = report_incident(log, what, **extra)
        if tell is None:
            return
        reply = Reply(text=apology(incident), tone=Tone.ERROR, incident_id=incident)
        try:
            await tell(reply)
        except Exception:
            log.exception(
                "couldn't tell %s about incident %s",
                user,
                incident,
                extra={"incident_id": incident},
            )


class _ReplaySafeSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler; an envelope already taken is acknowledged, not processed."""

    seen: SeenRequests

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        if await self.seen.first_time(f"envelope:{req.envelope_id}"):
            await super().handle(client, req)
            return
        log.info("dropped a Socket Mode envelope already taken (retry %s)", req.retry_attempt)
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


class SlackApp:
    """Bolt's app with its clients, OAuth stores, routes and connection lifecycle."""

    def __init__(self, deps: AdapterDeps) -> None:
        settings = self.settings = deps.settings
        self.bot_token = (
            settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        )
        self._app_token = (
            settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
        )
        signing = settings.slack_signing_secret
        #: checks each HTTP request's signature before Bolt does, so that a refused one is
        #: logged without its body (Bolt's own log line would carry it)
        self._verifier = SignatureVerifier(signing.get_secret_value()) if signing else None
        #: the configured bot token's client (the one workspace without OAuth)
        self.client = AsyncWebClient(
            token=self.bot_token,
            base_url=settings.slack_api_url,
            retry_handlers=retry_handlers(),
            logger=logging.getLogger("raidline.slack.web"),
        )
        self.installations: SlackInstallations | None = None
        #: Bolt's installation store: the installations behind a bounded cache (OAuth only)
        self.installs: Installs | None = None
        self._engine = deps.engine
        #: fingerprints of tokens Slack refused as revoked -> the error it gave
        self._refused: Bounded[str, str] = Bounded(REFUSED_KEPT, REFUSED_TTL)
        #: ``GET /slack/install`` (and the redirect) per client address
        self.install_limit = PerClient()
        #: answers sent after the request was acknowledged (kept so they are not collected)
        self._later: set[asyncio.Task[None]] = set()
        oauth_settings: AsyncOAuthSettings | None = None
        # With OAuth every request brings its workspace's token; the app's own client has none.
        app_client = self.client
        if settings.slack_oauth_enabled:
            oauth_settings = self._oauth_settings(deps)
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
            logger=_BOLT_LOG,
            request_verification_enabled=True,
            # After the signature check, before Bolt's authorize step reads the store.
            before_authorize=self._answer_outage if oauth_settings is not None else None,
        )
        #: the requests taken lately: across replicas (in the database) on PostgreSQL
        shared = deps.engine is not None and not is_sqlite(deps.engine)
        self.seen = SeenRequests(deps.engine if shared else None)
        # Global middleware runs after Bolt's own (the signature check among them).
        self.app.use(self._drop_replays)
        for event in _REVOCATIONS:
            self.app.event(event)(self._on_uninstalled)
        self._socket: AsyncSocketModeHandler | None = None
        self._started = False
        self._stopped = False
        #: One HTTP session (and its kept-alive connections) for every call to Slack while
        #: started; without it slack_sdk opens and closes a connection per call.
        self._http: aiohttp.ClientSession | None = None
        #: auth.test of the configured bot token: team_id, enterprise_id, user_id, bot_id
        self.identity: dict[str, Any] = {}
        if deps.web_app is not None:
            self._add_routes(deps.web_app)

    @property
    def socket_mode(self) -> bool:
        return self._app_token is not None

    def _oauth_settings(self, deps: AdapterDeps) -> AsyncOAuthSettings:
        client_id = self.settings.slack_client_id
        secret = self.settings.slack_client_secret
        assert client_id is not None and secret is not None  # noqa: S101 - slack_oauth_enabled
        self.installations = SlackInstallations(client_id, deps.engine, self.settings.database_url)
        self.installs = Installs(self.installations)
        return AsyncOAuthSettings(
            client_id=client_id,
            client_secret=secret.get_secret_value(),
            scopes=list(BOT_SCOPES),
            installation_store=self.installs,
            # raidline uses bot tokens only: authorize reads the workspace's bot, one query.
            installation_store_bot_only=True,
            state_store=self.installations.state_store,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
        )

    async def _on_uninstalled(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        """``app_uninstalled`` / ``tokens_revoked``: forget the tokens, stop the schedules."""
        workspace = workspace_of(context)
        kind = str(event.get("type"))
        bot_revoked = kind == "app_uninstalled" or bool(event.get("tokens", {}).get("bot"))
        log.warning("Slack workspace %s removed raidline (%s)", workspace, kind)
        if self.installs is not None:
            revocations = AsyncTokenRevocationListeners(self.installs)
            if kind == "app_uninstalled":
                await revocations.handle_app_uninstalled_events(context)
            else:
                await revocations.handle_tokens_revoked_events(event, context)
        if not bot_revoked or workspace is None:
            return
        if self.bot_token and self._serves_itself(workspace):
            self._refused.put(_fingerprint(self.bot_token), kind)
        await self.stop_workspace(workspace, kind)

    async def stop_workspace(self, workspace: str, why: str) -> None:
        """Turn off what ``workspace`` gets on its own (standups, digests, nudges) and log it."""
        if self._engine is None:
            log.warning(
                "Slack workspace %s can't be reached (%s); no database to stop its schedules in",
                workspace,
                why,
            )
            return
        stopped = await stop_workspace(self._engine, PLATFORM, workspace, datetime.now(UTC))
        if not stopped:
            return
        log.warning(
            "Slack workspace %s can't be reached (%s): %s standup/digest schedules and "
            "nudges in %s channels turned off, %s waiting messages skipped; after reinstalling "
            "raidline, a lead turns them on again",
            workspace,
            why,
            stopped.schedules,
            stopped.nudges,
            stopped.runs,
        )

    async def refused(self, workspace: str, token: str | None, error: str) -> None:
        """Slack refused ``token`` of ``workspace`` with ``error`` while sending: when it
        means the token is revoked, it is not tried again and the workspace's schedules stop."""
        if error not in REVOKED or not token or self._refused.fresh(_fingerprint(token)):
            return
        try:
            await self.stop_workspace(workspace, f"Slack refused its token: {error}")
        except Unavailable:
            # Remembered only once stopped: the next attempt meets the refusal again.
            log.warning("couldn't stop the schedules of Slack workspace %s yet", workspace)
            return
        self._refused.put(_fingerprint(token), error)

    def _serves_itself(self, workspace: str) -> bool:
        """Whether ``workspace`` is the configured bot token's own."""
        return workspace in (self.identity.get("team_id"), self.identity.get("enterprise_id"))

    # -- the database down -------------------------------------------------------------------

    async def _answer_outage(
        self,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[None]],  # Bolt passes it by this name
    ) -> BoltResponse:
        """Before Bolt's authorize step: a workspace whose installation can't be read because
        the database is down gets "can't reach its database" instead of an HTTP 500."""
        installs, context = self.installs, req.context
        body: dict[str, Any] = req.body if isinstance(req.body, dict) else {}
        event = body.get("event")
        revocation = isinstance(event, dict) and event.get("type") in _REVOCATIONS
        if (
            installs is None
            or (context.team_id is None and context.enterprise_id is None)
            or revocation
        ):
            await next()
            return resp
        try:
            await installs.async_find_bot(
                enterprise_id=context.enterprise_id,
                team_id=context.team_id,
                is_enterprise_install=context.is_enterprise_install,
            )
        except Unavailable as outage:
            return self._outage_response(
                body, context.team_id or context.enterprise_id, outage.message
            )
        await next()
        return resp

    def _outage_response(
        self, body: dict[str, Any], workspace: str | None, text: str
    ) -> BoltResponse:
        """The outage answer for a request no listener can take (no token without the
        database): in the response itself where Slack shows it, else through response_url."""
        reply = Reply(text=text, tone=Tone.ERROR)
        message = {
            "response_type": "ephemeral",
            "text": kit.message_text(reply),
            "blocks": kit.message_blocks(reply),
        }
        if body.get("command"):
            return _json_response(message)
        if body.get("type") == "view_submission":
            view = body.get("view")
            errors = kit.view_errors({"": text}, view if isinstance(view, dict) else {})
            if "" not in errors:
                return _json_response({"response_action": "errors", "errors": errors})
            return _json_response({"response_action": "update", "view": kit.notice_view(reply)})
        url = body.get("response_url")
        if not url:
            urls = body.get("response_urls")
            if isinstance(urls, list) and urls and isinstance(urls[0], dict):
                url = urls[0].get("response_url")
        if isinstance(url, str) and url:
            self._run_later(self._respond_quietly(url, {**message, "replace_original": False}))
        else:
            # App Home, a global shortcut or an event: Slack offers no way to answer them
            # without the workspace's token, and that is in the database.
            log.warning(
                "a Slack %s from workspace %s couldn't be answered: the database is unreachable",
                body.get("type") or "request",
                workspace,
            )
        return BoltResponse(status=200, body="")

    async def _respond_quietly(self, url: str, message: dict[str, Any]) -> None:
        try:
            response = await self.webhook(url).send_dict(message)
        except (SlackClientError, aiohttp.ClientError, OSError) as e:
            log.warning("couldn't answer through response_url: %s", type(e).__name__)
            return
        if response.status_code != 200:
            log.warning("response_url answered %s", response.status_code)

    def _run_later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _drop_replays(
        self,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[None]],  # Bolt passes it by this name
    ) -> BoltResponse:
        """Acknowledge a request already taken (HTTP) without processing it again."""
        if req.mode == "socket_mode":  # by envelope, in _ReplaySafeSocketModeHandler
            await next()
            return resp
        event_id = req.body.get("event_id") if isinstance(req.body, dict) else None
        if event_id:
            key = f"event:{event_id}"
        else:
            key = "sig:" + (req.headers.get("x-slack-signature") or [""])[0]
        if await self.seen.first_time(key):
            await next()
            return resp
        retries = req.headers.get("x-slack-retry-num") or []
        retry = retries[0] if retries else None
        log.info(
            "dropped a Slack request already taken (%s)",
            f"Slack's retry {retry}" if retry else "a replay",
        )
        return BoltResponse(status=200, body="")

    # -- HTTP --------------------------------------------------------------------------------

    def _add_routes(self, web_app: web.Application) -> None:
        routes = []
        if not self.socket_mode:
            routes.append(web.post(EVENTS_PATH, self._handle_events))
        if self.app.oauth_flow is not None:
            routes.append(web.get(INSTALL_PATH, self._handle_install))
            routes.append(web.get(REDIRECT_PATH, self._handle_oauth_redirect))
        web_app.add_routes(routes)

    async def _handle_events(self, request: web.Request) -> web.Response:
        # Bolt parses the body before it checks the signature, and reads the timestamp with
        # int(): a body that is not Slack's form or JSON, or a timestamp that is not whole
        # seconds, would be a 500. Slack sends neither, so they get the bad signature's 401.
        arrived = asyncio.get_running_loop().time()
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        try:
            if timestamp is not None and not _TIMESTAMP.fullmatch(timestamp):
                raise ValueError("the request timestamp is not whole seconds")
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError) as e:
            log.info("refused an unreadable request (%s)", type(e).__name__)
            return web.json_response({"error": "invalid request"}, status=401)
        signature = request.headers.get("X-Slack-Signature", "")
        if self._verifier is not None and not self._verifier.is_valid(
            bolt_request.raw_body, timestamp or "0", signature
        ):
            # Never the body: it is whatever the sender chose to send, and may be a real
            # request's (with its people and text) sent again with the wrong signature.
            log.warning(
                "refused a Slack request with a bad or stale signature "
                "(timestamp %s, %d bytes, from %s)",
                timestamp or "missing",
                len(bolt_request.raw_body.encode()),
                request.remote or "unknown",
            )
            return web.json_response({"error": "invalid request"}, status=401)
        # When it arrived: its ack waits for a place in the backlog only so long after that.
        bolt_request.context[ARRIVED] = arrived
        response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(response)

    def _throttled(self, request: web.Request) -> web.Response | None:
        """429 with ``Retry-After`` when this client asked too often, else None."""
        wait = self.install_limit.take(request.remote or "")
        if not wait:
            return None
        log.info("install page: %s asked too often; retry in %ss", request.remote, wait)
        return web.Response(
            status=429,
            text="Too many requests; try again later.",
            headers={"Retry-After": str(wait)},
        )

    async def _handle_install(self, request: web.Request) -> web.Response:
        flow = self.app.oauth_flow
        if flow is None:  # pragma: no cover - the route exists only with OAuth
            return web.Response(status=404)
        refused = self._throttled(request)
        if refused is not None:
            return refused
        try:
            response = await flow.handle_installation(await to_bolt_request(request))
        except Unavailable as outage:
            return web.Response(status=503, text=outage.message, headers={"Retry-After": "30"})
        return await to_aiohttp_response(response)

    async def _handle_oauth_redirect(self, request: web.Request) -> web.Response:
        flow = self.app.oauth_flow
        if flow is None:  # pragma: no cover - the route exists only with OAuth
            return web.Response(status=404)
        refused = self._throttled(request)
        if refused is not None:
            return refused
        return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

    # -- Web API clients ---------------------------------------------------------------------

    async def client_for(self, workspace: str) -> AsyncWebClient:
        """A Web API client holding the bot token of ``workspace``.

        Raises :class:`TokenRefused` for a token Slack refused as revoked before, LookupError
        when raidline is not installed there.
        """
        if self.installs is None:
            self._check_refused(workspace, self.bot_token)
            return self.client
        token = await self.installs.token_for(workspace)
        if token is None:
            if self.bot_token and self._serves_itself(workspace):
                self._check_refused(workspace, self.bot_token)
                return self.client
            raise LookupError(f"raidline is not installed in Slack workspace {workspace}")
        self._check_refused(workspace, token)
        return AsyncWebClient(
            token=token,
            base_url=self.settings.slack_api_url,
            session=self._http,
            retry_handlers=retry_handlers(),
            logger=self.client.logger,
        )

    def _check_refused(self, workspace: str, token: str | None) -> None:
        error = self._refused.fresh(_fingerprint(token)) if token else None
        if error is not None:
            raise TokenRefused(workspace, error)

    def webhook(self, url: str) -> AsyncWebhookClient:
        """A client for a ``response_url``, on the shared HTTP session."""
        return AsyncWebhookClient(
            url, session=self._http, retry_handlers=retry_handlers(), logger=self.client.logger
        )

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the tokens with Slack, create the OAuth tables and load the key that
        encrypts their tokens, open Socket Mode."""
        self._open_http()
        if self.installations is not None:
            try:
                await self.installations.open(
                    self.settings.secret_key, self.settings.secret_keys_old
                )
            except (KeyMissing, KeyMismatch) as exc:
                raise key_error(exc) from None
        if self.bot_token is not None:
            self.identity = await self._auth_test()
            log.info(
                "Slack bot token belongs to workspace %s (bot user %s)",
                self.identity.get("team_id"),
                self.identity.get("user_id"),
            )
            await self._remember_token_installation()
            self._know_own_workspace()
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
        team = self.identity.get("team_id")
        if self.installations is None or not team:
            return
        await self.installations.add_bot_if_missing(
            team_id=team,
            enterprise_id=self.identity.get("enterprise_id") or None,
            bot_token=self.bot_token,
            app_id=self.identity.get("app_id"),
            team_name=self.identity.get("team"),
            bot_id=self.identity.get("bot_id"),
            bot_user_id=self.identity.get("user_id"),
            scopes=BOT_SCOPES,
        )

    def _know_own_workspace(self) -> None:
        """The configured token serves its own workspace even while the database is down."""
        team = self.identity.get("team_id")
        if self.installs is None or not team or not self.bot_token:
            return
        self.installs.know_own(
            Bot(
                app_id=self.identity.get("app_id"),
                enterprise_id=self.identity.get("enterprise_id") or None,
                team_id=team,
                team_name=self.identity.get("team"),
                bot_token=self.bot_token,
                bot_id=str(self.identity.get("bot_id") or ""),
                bot_user_id=str(self.identity.get("user_id") or ""),
                bot_scopes=list(BOT_SCOPES),
                installed_at=time.time(),
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
        handler = _ReplaySafeSocketModeHandler(
            self.app, app_token, logger=logging.getLogger("raidline.slack.socket")
        )
        handler.seen = self.seen
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
        for task in list(self._later):
            task.cancel()
        if self.installations is not None:
            await self.installations.close()
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


def _json_response(body: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200, body=json.dumps(body), headers={"content-type": "application/json"}
    )
