"""Request -> Reply: find the command, run it in one unit of work, classify every error."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot import actions
from bot.commands.clicks import click_call
from bot.commands.clicks import form_for as click_form
from bot.commands.registry import COMMANDS, from_options, help_reply, help_request, run
from bot.context import current_request_id, new_request_id
from bot.domain.limits import clean_text, multiline
from bot.domain.model import ChannelKey
from bot.domain.schedules import ZoneTimetable
from bot.errors import (
    FormInvalid,
    RaidlineError,
    Unavailable,
    UsageError,
    apology,
    outcome,
    report_incident,
)
from bot.messages import File, Form, Reply, Request, Suggestion, Tone, Visibility
from bot.ports import (
    ChartDrawer,
    Clock,
    DashboardLinks,
    Links,
    PeopleDirectory,
    SystemClock,
    Timetable,
    UnitOfWorkFactory,
    ZoneDirectory,
)
from bot.services import calendar, export, plan
from bot.services.items import Context
from bot.text.dates import check_timezone
from bot.text.parsing import check_command_length, check_fields, closest
from bot.views import calendar as calendar_views
from bot.views import export as export_views
from bot.views import home as views

log = logging.getLogger("raidline.core")

#: The answer to a request that arrives while raidline shuts down.
SHUTTING_DOWN = "raidline is restarting; nothing was changed, please try again in a minute."

#: Seconds a platform may take to name the people of an export; after that, ids are shown.
NAME_LOOKUP_SECONDS = 5.0

#: Action verbs named in metrics; any other verb is counted as ``unknown``.
_ACTION_VERBS = actions.VERBS


@dataclass(frozen=True)
class Handled:
    """One finished request, as ``Core.observers`` see it (metrics, request logs).

    ``kind`` is command, click or form; ``name`` the command or the action's verb (``unknown``
    for anything raidline does not know, so the set stays small); ``outcome`` one of ok,
    usage, forbidden, not_found, conflict, unavailable, error.
    """

    request: Request
    reply: Reply
    kind: str
    name: str
    outcome: str
    seconds: float
    request_id: str
    #: the database could not be reached (the outcome is then ``unavailable``)
    database_error: bool = False


Observer = Callable[[Handled], None]


class Core:
    """The one entry point every adapter calls."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        clock: Clock | None = None,
        default_timezone: str = "UTC",
        timetable: Timetable | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.clock = clock or SystemClock()
        #: schedules' next runs and holidays (``adapters.runtime.timetable`` in raidline;
        #: the zoneinfo-only fallback, without holidays, when none is given)
        self.timetable: Timetable = timetable or ZoneTimetable()
        self.default_timezone = default_timezone
        #: called after a command changed a schedule, so the scheduler can look at once
        self.on_schedule_change: Callable[[], None] | None = None
        #: called after every request with what happened (never with an exception)
        self.observers: list[Observer] = []
        #: False once shutting down: new requests get :data:`SHUTTING_DOWN`, nothing runs
        self.accepting = True
        #: how each platform names people (by platform); adapters register theirs
        self.directories: dict[str, PeopleDirectory] = {}
        #: per platform, where people's own time zones are (standups in "dm local" mode)
        self.zone_directories: dict[str, ZoneDirectory] = {}
        #: the addresses of raidline's web pages, set where a web server serves them (the
        #: calendar feed); None: ``/raid calendar`` says there is no feed here
        self.links: Links | None = None
        #: hands out dashboard links (``/raid dashboard``); None: no dashboard is served here
        self.dashboard_links: DashboardLinks | None = None
        #: draws the charts digests carry; None: digests go without a picture
        self.charts: ChartDrawer | None = None
        self._in_flight = 0
        self._idle: asyncio.Event | None = None

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        return self._in_flight

    async def drain(self) -> None:
        """Return once no request is being handled (callers bound it with a timeout)."""
        while self._in_flight:
            if self._idle is None or self._idle.is_set():
                self._idle = asyncio.Event()
            await self._idle.wait()

    async def handle(self, request: Request, *, call: object | None = None) -> Reply:
        """Never raises: every failure becomes a reply the user can act on.

        ``call``: the typed call to run, when the caller built it itself (the command line's
        ``raidline import-csv``); else it comes from the request's text, options or action.

        Each request gets a new id in :data:`bot.context.current_request_id`. It is left set
        on the caller's task afterwards, so that the adapter's own log records about
        answering (posting the reply, a failure to) carry the same id.
        """
        started = time.perf_counter()
        request_id = new_request_id()
        current_request_id.set(request_id)
        self._in_flight += 1
        try:
            database_error = False
            if not self.accepting:
                reply, outcome = Reply(text=SHUTTING_DOWN, tone=Tone.ERROR), "unavailable"
            else:
                reply, outcome = await self._answer(request, call)
                database_error = outcome == "unavailable"
            handled = Handled(
                request=request,
                reply=reply,
                kind=_kind(request),
                name=_name(request),
                outcome=outcome,
                seconds=time.perf_counter() - started,
                request_id=request_id,
                database_error=database_error,
            )
            log.debug(
                "handled %s %s: %s in %.3fs",
                handled.kind,
                handled.name,
                outcome,
                handled.seconds,
                extra={"outcome": outcome},
            )
            for observer in self.observers:
                try:
                    observer(handled)
                except Exception:
                    log.exception("a request observer failed")
            return reply
        finally:
            self._in_flight -= 1
            if not self._in_flight and self._idle is not None:
                self._idle.set()

    async def _answer(self, request: Request, call: object | None) -> tuple[Reply, str]:
        """The reply and the outcome (ok, usage, forbidden...) of one request."""
        try:
            return await self._handle(request, call), "ok"
        except FormInvalid as e:
            return Reply(text=e.message, tone=Tone.ERROR, field_errors=e.errors), "usage"
        except Unavailable as e:
            return Reply(text=e.message, tone=Tone.ERROR), "unavailable"
        except RaidlineError as e:
            return Reply(text=e.message, tone=Tone.ERROR, usage=e.usage), outcome(e)
        except Exception:
            incident = report_incident(
                log,
                f"handling {request.command or request.action_id}",
                channel=str(request.channel),
            )
            return Reply(text=apology(incident), tone=Tone.ERROR, incident_id=incident), "error"

    async def _handle(self, request: Request, prepared: object | None = None) -> Reply:
        request = clean_request(request)
        command = request.command.strip().lstrip("/").lower()
        spec = None
        if request.action_id is None and prepared is None:
            check_command_length(request.text)
            if request.options is not None and request.subcommand:
                # as long as the text the options stand for (``note B-3 <text>``)
                given = (v for v in request.options.values() if v)
                check_command_length(" ".join([request.subcommand, *given]))
            if command in ("help", "?"):
                return help_reply(request.text)
            spec = COMMANDS.get(command)
            if spec is None:
                close = closest(command, list(COMMANDS))
                hint = f" Did you mean `/{close}`?" if close else ""
                raise UsageError(
                    f"`/{command}` is not a raidline command.{hint} `/raid help` lists them all.",
                    usage=COMMANDS[close or "raid"].usage,
                )
            if asked := help_request(command, _typed_text(request)):
                return asked
            if not request.text.strip() and not request.options and spec.form is not None:
                return Reply(text=f"Fill in the form: {spec.form.title}.", form=spec.form)
        async with self.uow_factory() as uow:
            settings = await uow.channels.get_settings(request.channel)
            ctx = Context(
                uow=uow,
                settings=settings,
                user=request.user,
                now=self.clock.now(),
                timezone=self._timezone(request.user_timezone, settings.timezone),
                source_url=request.source_url,
                user_is_admin=request.user_is_admin,
                names=functools.partial(self.names, request.channel),
                attachments=dict(request.attachments),
                channel_name=request.channel_name,
                links=self.links,
                timetable=self.timetable,
                dashboard_links=self.dashboard_links,
                charts=self.charts,
            )
            if prepared is not None:
                call = prepared
            elif spec is None:
                call = click_call(ctx, request.action_id or "", request.values)
            elif request.options is not None:
                call = from_options(ctx, spec, request.subcommand, request.options)
            else:
                call = spec.parse(ctx, request.text.strip())
            check_limits(call)
            reply = await run(ctx, call)
            await uow.commit()
        if ctx.finish is not None:
            reply = await ctx.finish()
        wakes = command in ("standup", "digest") or getattr(call, "wakes_scheduler", False)
        if wakes and self.on_schedule_change is not None:
            self.on_schedule_change()
        return reply

    def _timezone(self, user_tz: str | None, channel_tz: str | None) -> str:
        for tz in (user_tz, channel_tz):
            if tz:
                try:
                    return check_timezone(tz)
                except UsageError:
                    log.warning("ignoring unknown time zone %r", tz)
        return self.default_timezone

    def form_for(self, action_id: str) -> Form | None:
        """What a click on a button with ``action_id`` opens, known without the database, so
        a platform can open it at once (see :func:`bot.commands.clicks.form_for`)."""
        return click_form(action_id)

    async def home(
        self, platform: str, workspace: str, user: str, user_timezone: str | None = None
    ) -> Reply:
        """What waits on ``user`` across one workspace's channels (Slack's App Home)."""
        try:
            tz = self._timezone(user_timezone, None)
            now = self.clock.now()
            async with self.uow_factory() as uow:
                items = await uow.items.active_in_workspace(platform, workspace)
                healths = await plan.workspace_healths(uow, items, self.timetable, now, tz)
                settings = await uow.channels.settings_of({i.channel for i in items})
                followed = [
                    (found.channel, found.stakeholders[user])
                    for found in await uow.channels.with_stakeholders(platform, workspace)
                    if user in found.stakeholders
                ]
        except Unavailable as e:
            return Reply(text=e.message, tone=Tone.ERROR)
        closing = frozenset(k for k, found in settings.items() if found.closing_since)
        return views.home(items, user, tz, now, closing, healths, followed)

    async def autocomplete(
        self, channel: ChannelKey, typed: str, limit: int = 25
    ) -> list[Suggestion]:
        """Refs of this channel matching what was typed, open items first."""
        typed = typed.strip().lstrip("#").lower().replace("-", "")
        try:
            async with self.uow_factory() as uow:
                items = await uow.items.list(channel)
        except Unavailable:
            return []
        matches = [
            i
            for i in items
            if not typed
            or str(i.ref).lower().replace("-", "").startswith(typed)
            or typed in i.title.lower()
        ]
        matches.sort(key=lambda i: (not i.active, -i.created_at.timestamp()))
        return [
            Suggestion(str(i.ref), f"{i.ref} {i.title} ({i.status.label})"[:100])
            for i in matches[:limit]
        ]

    async def calendar_feed(self, token: str) -> bytes | None:
        """The ``.ics`` of a calendar token; None when the token is unknown or revoked.
        Raises :class:`bot.errors.Unavailable` when the database cannot be reached."""
        async with self.uow_factory() as uow:
            found = await calendar.feed(uow, token, self.default_timezone)
        if found is None:
            return None
        return calendar_views.render(found, self.clock.now(), self.timetable)

    async def names(self, channel: ChannelKey, people: Sequence[str]) -> dict[str, str]:
        """Display names of ``people`` from the channel's platform, by id. Never raises and
        never takes longer than :data:`NAME_LOOKUP_SECONDS`: whoever is not named by then
        is shown by id."""
        directory = self.directories.get(channel.platform)
        if directory is None or not people:
            return {}
        try:
            async with asyncio.timeout(NAME_LOOKUP_SECONDS):
                return await directory.names(channel, list(dict.fromkeys(people)))
        except Exception as exc:  # a platform outage must not stop an export
            log.warning("no names from %s: %s", channel.platform, type(exc).__name__)
            return {}

    async def export_channel(self, channel: ChannelKey, fmt: str, note: str | None = None) -> File:
        """The channel's register as a file; ``note`` is said once in its header."""
        fmt = export.check_format(fmt)
        async with self.uow_factory() as uow:
            settings = await uow.channels.get_settings(channel)
            tz = self._timezone(None, settings.timezone)
            log = await export.channel_log(
                uow, channel, now=self.clock.now(), timetable=self.timetable, tz=tz
            )
        names = await self.names(channel, log.people)
        return export_views.render(fmt, log, tz, self.clock.now(), names, note=note)


def _clean_values(values: Mapping[str, str]) -> dict[str, str]:
    return {
        clean_text(k, multiline=False): clean_text(v, multiline=multiline(k))
        for k, v in values.items()
    }


def clean_request(request: Request) -> Request:
    """``request`` without control characters in anything a user typed (see
    :func:`bot.domain.limits.clean_text`): its text, its options, a form's values, and the
    names that route it. Nothing that reaches a parser, the database or a channel holds a NUL,
    a bell or an escape sequence, on any surface."""
    return dataclasses.replace(
        request,
        command=clean_text(request.command, multiline=False),
        text=clean_text(request.text),
        subcommand=(
            None if request.subcommand is None else clean_text(request.subcommand, multiline=False)
        ),
        options=None if request.options is None else _clean_values(request.options),
        action_id=(
            None if request.action_id is None else clean_text(request.action_id, multiline=False)
        ),
        values=_clean_values(request.values),
        channel_name=(
            None
            if request.channel_name is None
            else clean_text(request.channel_name, multiline=False)[:100] or None
        ),
    )


def check_limits(call: object) -> None:
    """Refuse a typed call with a text over its limit, an impossible person id or too many
    people (:mod:`bot.domain.limits`), whichever surface built it. A call from a form reports
    against the form's fields."""
    if not dataclasses.is_dataclass(call):
        return
    fields = {f.name: getattr(call, f.name) for f in dataclasses.fields(call)}
    errors = check_fields(fields)
    if not errors:
        return
    if fields.get("from_form"):
        names: Mapping[str, str] = getattr(call, "FORM_FIELDS", {})
        raise FormInvalid({names.get(name, name): error for name, error in errors.items()})
    raise UsageError(" ".join(dict.fromkeys(errors.values())))


def _typed_text(request: Request) -> str:
    """What the user typed after the command: the text, or on a platform's typed options
    without a subcommand (``/blocker title: help``) the one value given."""
    if request.options is None:
        return request.text
    given = [v for v in request.options.values() if v.strip()]
    return given[0] if not request.subcommand and len(given) == 1 else ""


def _kind(request: Request) -> str:
    if request.action_id is None:
        return "command"
    return "form" if request.values else "click"


def _name(request: Request) -> str:
    if request.action_id is not None:
        verb = actions.verb_of(request.action_id)
        return verb if verb in _ACTION_VERBS else "unknown"
    command = request.command.strip().lstrip("/").lower()
    if command in ("help", "?"):
        return "help"
    return command if command in COMMANDS else "unknown"


__all__ = ["SHUTTING_DOWN", "Core", "Handled", "Observer", "Visibility"]
