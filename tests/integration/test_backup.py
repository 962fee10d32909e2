"""Full backups: ``export_all`` -> ``storage.backup.restore`` into an empty database.

A rich log is made through the core on real storage (every kind, every state change, notes,
snoozes, settings, a standup and a digest schedule, two channels), exported, restored into a
fresh database (SQLite, and PostgreSQL when ``RAIDLINE_TEST_POSTGRES_URL`` is set) and
exported again: the documents, and what ``/raid show`` and ``/raid history`` say, are equal.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.runtime.timetable import CronTimetable
from bot.dispatcher import Core
from bot.domain.model import ChannelKey, ChannelSettings, Event, Kind, Schedule, ScheduleKind
from bot.messages import Reply, Request, Tone
from bot.services.export import item_record
from storage import backup
from storage.backup import BACKUP_FORMAT, export_all, restoring
from storage.db import create_engine
from storage.migrate import upgrade
from storage.uow import make_uow_factory
from tests.fakes import FixedClock
from tests.integration.conftest import full_item, sqlite_url

PROJ = ChannelKey("console", "local", "proj")
SLACK = ChannelKey("slack", "T0001", "C0001")
#: A Monday morning; the seed takes a few hours of that Monday.
START = datetime(2026, 12, 7, 8, 0, 0, 250_000, tzinfo=UTC)

PROJ_SCRIPT: list[tuple[str, str]] = [
    ("ana", "/raid settings leads @ana @raj"),
    ("ana", "/raid settings timezone Europe/Berlin"),
    ("ana", "/raid settings holidays DE-BY"),
    ("ana", "/raid settings holidays add 2026-12-31"),
    ("ana", "/raid stakeholders add @cfo weekly decisions"),
    ("ana", "/raid stakeholders add @sponsor escalations"),
    ("ana", "/raid settings escalations 5"),
    ("ana", "/blocker Waiting on firewall change from NetOps @dana due Friday"),
    ("ana", "/blocker Creds for staging @erin"),
    (
        "ana",
        "/risk Vendor may slip the SSO delivery likelihood high impact medium @bob"
        " review in 2 weeks mitigation weekly vendor check-in",
    ),
    ("raj", "/risk Budget overrun likelihood low impact high @raj"),
    ("ana", "/decision Use PostgreSQL 16 for the cutover"),
    ("ana", "/decision needed Pick the SSO vendor @cio by next tuesday"),
    (
        "ana",
        "/change Add CRM integration to scope impact schedule +2 weeks, cost +8k @sponsor"
        " because sales needs leads in CRM",
    ),
    ("ana", "/change Drop the legacy export impact scope small @sponsor"),
    ("ana", "/raid settings links JIRA=https://acme.atlassian.net/browse/{}"),
    ("ana", "/milestone Design approved due 15 Jan @raj link JIRA-9"),
    ("ana", "/raid link B-2 M-1"),
    ("ana", "/raid link B-2 depends-on B-1"),
    ("ana", "/raid link B-2 https://github.com/acme/app/issues/12"),
    ("ana", "/raid due M-1 22 Jan"),
    ("dana", "/raid resolve B-1 firewall rule merged"),
    ("ana", "/raid note B-2 asked NetOps again — “soon”"),
    ("ana", "/raid assign B-2 @raj"),
    ("ana", "/raid due B-2 next monday"),
    ("ana", "/raid reopen B-1"),
    ("dana", "/raid resolve B-1 merged for real"),
    ("ana", "/raid occurred R-1 the vendor slipped a week"),
    ("raj", "/raid close R-2 budget approved"),
    ("cio", "/raid decide D-2 Okta, best SCIM support"),
    ("ana", "/raid supersede D-1 by D-2"),
    ("sponsor", "/raid approve C-1 fits the roadmap"),
    ("ana", "/raid implemented C-1"),
    ("sponsor", "/raid reject C-2 customers still use it"),
    ("ana", "/blocker Nobody knows the admin password"),
    ("ana", "/raid withdraw B-4 found it in the vault"),
    ("ana", "/standup schedule weekdays 09:30"),
    ("ana", "/standup members @ana @raj @dana"),
    ("ana", "/standup questions What did you do? | What is blocked?"),
    ("ana", "/standup window 1h"),
    ("ana", "/standup mode dm"),
    ("ana", "/standup skip tomorrow"),
    ("ana", "/standup away @raj until dec 18"),
    ("ana", "/standup members optional @erin"),
    ("ana", "/standup members observer @cio"),
    ("ana", "/standup late 4h"),
    ("ana", "/standup reminder twice"),
    ("ana", "/standup mentions off"),
    ("ana", "/standup add retro"),
    ("ana", "/standup retro schedule every other fri 15:00"),
    ("ana", "/standup retro questions What went well? | What do we change?"),
    ("ana", "/standup retro mode dm local"),
    ("ana", "/standup tz @raj Asia/Kolkata"),
    ("ana", "/digest weekly fri 16:00"),
    ("ana", "/digest add monthly last friday 17:00"),
    ("ana", "/digest"),
    ("ana", "/blocker Waiting on the SSO contract"),
    ("ana", "/raid defer B-5 until dec 20 because the contract moves to Q1"),
    ("raj", "/raid lesson Book the test environment early"),
]
SLACK_SCRIPT: list[tuple[str, str]] = [
    ("U_ANA", "/raid settings nudges off"),
    ("U_ANA", "/blocker Slack-side blocker <@U_DANA>"),
    ("U_ANA", "/standup add retro"),
    ("U_ANA", "/raid close-out"),
]
#: Replies compared between the original and the restored database, besides show/history.
VIEWS = (
    "/raid list all",
    "/raid settings",
    "/standup",
    "/standup retro",
    "/digest status",
    "/raid lesson",
    "/raid close-out",
)


def request(channel: ChannelKey, user: str, line: str, **extra: Any) -> Request:
    command, _, text = line.lstrip("/").partition(" ")
    return Request(channel, user, command=command, text=text, **extra)


async def seed(engine: AsyncEngine, clock: FixedClock) -> None:
    """A rich log in two channels, through the core and (for every field) the repository."""
    core = Core(
        make_uow_factory(engine),
        clock=clock,
        default_timezone="Europe/Berlin",
        timetable=CronTimetable(),
    )
    for channel, script in ((PROJ, PROJ_SCRIPT), (SLACK, SLACK_SCRIPT)):
        for user, line in script:
            clock.advance(minutes=7, microseconds=1)
            url = f"https://chat.example/{channel.channel}/{clock.now().timestamp()}"
            reply = await core.handle(request(channel, user, line, source_url=url))
            assert reply.tone is not Tone.ERROR, (line, reply.text)
    snoozed = await core.handle(Request(PROJ, "raj", action_id="snooze:B-2:3d"))
    assert snoozed.tone is Tone.SUCCESS, snoozed.text
    async with make_uow_factory(engine)() as uow:
        # Nudge state only the scheduler writes; every field of every kind in the other channel.
        b2 = await uow.items.get(PROJ, Kind.BLOCKER, 2)
        assert b2 is not None
        await uow.items.update(replace(b2, nudge_count=2, last_nudged_at=clock.now()))
        for kind in Kind:
            number = await uow.items.allocate_number(SLACK, kind)
            item = await uow.items.add(full_item(kind, number, channel=SLACK))
            for minutes, action in ((0, "created"), (3, "note"), (3, "updated")):
                await uow.items.add_event(
                    item.stored_id,
                    Event(
                        at=item.created_at + timedelta(minutes=minutes),
                        actor="U_OWNER",
                        action=action,
                        note="same instant as the next one" if action == "note" else None,
                    ),
                )
        await uow.commit()


async def document(engine: AsyncEngine, now: datetime) -> dict[str, Any]:
    async with backup.snapshot_uow_factory(engine)() as uow:
        return await export_all(uow, now)


def without_stamp(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "exported_at"}


async def views(engine: AsyncEngine, clock: FixedClock, doc: dict[str, Any]) -> list[Reply]:
    """What people see of every item and of the channels, as the core answers."""
    core = Core(make_uow_factory(engine), clock=clock, default_timezone="Europe/Berlin")
    replies: list[Reply] = []
    for record in doc["channels"]:
        channel = ChannelKey(record["platform"], record["workspace"], record["channel"])
        lines = [*VIEWS]
        for item in record["items"]:
            lines += [f"/raid show {item['ref']}", f"/raid history {item['ref']}"]
        for line in lines:
            reply = await core.handle(request(channel, "ana", line))
            assert reply.tone is not Tone.ERROR, (line, reply.text)
            replies.append(reply)
    return replies


async def check_round_trip(source: AsyncEngine, target: AsyncEngine) -> None:
    clock = FixedClock(START)
    await seed(source, clock)
    clock.advance(minutes=5)
    original = await document(source, clock.now())
    # Through the bytes the CLI writes and reads, not just the dict.
    parsed = backup.parse(json.dumps(original, indent=2, ensure_ascii=False).encode())
    report = await backup.restore(target, parsed, now=clock.now())

    items = [i for c in original["channels"] for i in c["items"]]
    events = sum(len(i["events"]) for i in items)
    assert (report.channels, report.items, report.events, report.schedules) == (
        2,
        len(items),
        events,
        5,  # the standup, the retro standup and the two digests; the other channel's retro
    )
    assert str(report) == f"Restored 2 channels, {len(items)} items, {events} events."

    clock.advance(minutes=1)
    restored = await document(target, clock.now())
    assert without_stamp(restored) == without_stamp(original)
    seen_before = await views(source, clock, original)
    seen_after = await views(target, clock, restored)
    assert seen_after == seen_before

    # Ref counters continue where the log left off, per channel and kind.
    core = Core(make_uow_factory(target), clock=clock, default_timezone="Europe/Berlin")
    new: list[str | None] = []
    for channel, line in (
        (PROJ, "/blocker Brand new problem"),
        (PROJ, "/risk Brand new risk"),
        (PROJ, "/decision needed Brand new question @cio"),
        (PROJ, "/change Brand new change impact scope large @sponsor"),
        (SLACK, "/blocker Brand new problem"),
    ):
        reply = await core.handle(request(channel, "ana", line))
        assert reply.tone is Tone.SUCCESS, (line, reply.text)
        new.append(reply.item_ref)
    assert new == ["B-6", "R-3", "D-3", "C-3", "B-3"]


@pytest.fixture
async def sqlite_engines(tmp_path: Path) -> AsyncIterator[Callable[[str], AsyncEngine]]:
    """Engines on migrated SQLite files under ``tmp_path``, by name; disposed at teardown."""
    made: list[AsyncEngine] = []

    def make(name: str) -> AsyncEngine:
        directory = tmp_path / name
        directory.mkdir()
        url = sqlite_url(directory)
        upgrade(url)
        made.append(create_engine(url))
        return made[-1]

    yield make
    for engine in made:
        await engine.dispose()


async def test_round_trip_sqlite_to_sqlite(sqlite_engines: Callable[[str], AsyncEngine]) -> None:
    await check_round_trip(sqlite_engines("source"), sqlite_engines("target"))


@pytest.mark.postgres
async def test_round_trip_sqlite_to_postgres(
    sqlite_engines: Callable[[str], AsyncEngine], postgres_url: str
) -> None:
    upgrade(postgres_url)
    target = create_engine(postgres_url)
    try:
        await check_round_trip(sqlite_engines("source"), target)
    finally:
        await target.dispose()


# --- schedules ----------------------------------------------------------------------------------


def small_document() -> dict[str, Any]:
    """A valid backup of one channel: two schedules, a blocker and a change with events."""
    created = "2026-12-07T08:00:00+00:00"
    return {
        "format": BACKUP_FORMAT,
        "version": 1,
        "exported_at": "2026-12-07T12:00:00+00:00",
        "channels": [
            {
                "platform": "console",
                "workspace": "local",
                "channel": "proj",
                "settings": {
                    "timezone": "Europe/Berlin",
                    "leads": ["ana"],
                    "nudges_enabled": False,
                    "work_days": ["mon", "tue"],
                    "work_start": "08:00",
                    "work_end": "16:30",
                    "last_digest_at": None,
                },
                "schedules": [
                    {
                        "kind": "standup",
                        "enabled": True,
                        "days": ["mon", "wed"],
                        "at": "09:30",
                        "timezone": "Europe/Berlin",
                        "next_run_at": "2020-01-01T00:00:00+00:00",
                        "questions": ["What changed?"],
                        "members": ["ana"],
                        "window_minutes": 60,
                        "mode": "thread",
                        "skip_dates": ["2026-12-09"],
                        "away": {"raj": "2026-12-18"},
                        "updated_at": created,
                    },
                    {
                        "kind": "digest",
                        "enabled": False,
                        "days": ["fri"],
                        "at": "16:00",
                        "timezone": "UTC",
                        "next_run_at": "2026-12-11T16:00:00+00:00",
                        "updated_at": created,
                    },
                ],
                "items": [
                    {
                        "ref": "B-7",
                        "kind": "blocker",
                        "status": "open",
                        "title": "Creds",
                        "reporter": "ana",
                        "owner": "dana",
                        "due": "2026-12-11T17:00:00+01:00",
                        "created_at": created,
                        "updated_at": created,
                        "events": [
                            {"at": created, "actor": "ana", "action": "created"},
                            {
                                "at": created,
                                "actor": "ana",
                                "action": "assigned",
                                "changes": [{"field": "owner", "old": None, "new": "dana"}],
                            },
                        ],
                    },
                    {
                        "ref": "C-2",
                        "kind": "change",
                        "status": "proposed",
                        "title": "Add CRM",
                        "reporter": "ana",
                        "approvers": ["sponsor"],
                        "impacts": {"schedule": "+2 weeks"},
                        "created_at": created,
                        "updated_at": created,
                        "events": [{"at": created, "actor": "ana", "action": "created"}],
                    },
                ],
            }
        ],
    }


async def test_schedules_run_next_from_their_rule_after_a_restore(
    sqlite_engines: Callable[[str], AsyncEngine],
) -> None:
    target = sqlite_engines("target")
    now = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)  # a Wednesday, after 09:30 Berlin
    report = await backup.restore(target, small_document(), now=now)
    assert (report.channels, report.items, report.events, report.schedules) == (1, 2, 3, 2)
    channel = ChannelKey("console", "local", "proj")
    async with make_uow_factory(target)() as uow:
        standup = await uow.schedules.get(channel, ScheduleKind.STANDUP)
        digest = await uow.schedules.get(channel, ScheduleKind.DIGEST)
        settings = await uow.channels.get_settings(channel)
        number = await uow.items.allocate_number(channel, Kind.BLOCKER)
        change = await uow.items.allocate_number(channel, Kind.CHANGE)
        risk = await uow.items.allocate_number(channel, Kind.RISK)
    assert standup is not None and digest is not None
    # Not the stale time in the file: the next Monday 09:30 in Berlin.
    assert standup.next_run_at == datetime(2026, 12, 14, 8, 30, tzinfo=UTC)
    assert (standup.away, standup.skip_dates, standup.window_minutes) == (
        {"raj": "2026-12-18"},
        ("2026-12-09",),
        60,
    )
    assert digest.next_run_at is None  # off
    assert (settings.work_days, settings.work_end, settings.nudges_enabled) == (
        ("mon", "tue"),
        "16:30",
        False,
    )
    assert (number, change, risk) == (8, 3, 1)


# --- refusals: nothing is written ---------------------------------------------------------------


@pytest.mark.parametrize("existing", ["an item", "channel settings only"])
async def test_a_database_that_is_not_empty_is_refused(engine: AsyncEngine, existing: str) -> None:
    clock = FixedClock(START)
    core = Core(make_uow_factory(engine), clock=clock)
    line = "/blocker Already here" if existing == "an item" else "/raid settings nudges off"
    assert (await core.handle(request(PROJ, "ana", line))).tone is Tone.SUCCESS
    before = await document(engine, clock.now())

    with pytest.raises(backup.TargetNotEmpty) as refused:
        await backup.restore(engine, small_document(), now=clock.now())

    counts = "1 channel, 1 item" if existing == "an item" else "1 channel, 0 items"
    assert refused.value.message == (
        f"the target database is not empty ({counts}); nothing was restored: "
        "import into a new, empty database"
    )
    assert await document(engine, clock.now()) == before


async def test_a_failure_halfway_leaves_nothing_behind(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = small_document()
    second = copy.deepcopy(doc["channels"][0])
    second["channel"] = "other"
    doc["channels"].append(second)
    # The module, not the function of the same name that storage.backup exports.
    original = restoring._restore_channel
    calls: list[str] = []

    async def fail_on_the_second(connection: Any, channel: backup.ChannelBackup, *rest: Any) -> Any:
        calls.append(channel.channel.channel)
        if len(calls) == 2:
            raise RuntimeError("the disk caught fire")
        return await original(connection, channel, *rest)

    monkeypatch.setattr(restoring, "_restore_channel", fail_on_the_second)
    with pytest.raises(RuntimeError, match="caught fire"):
        await backup.restore(engine, doc)
    assert calls == ["proj", "other"]
    assert (await document(engine, START))["channels"] == []
    monkeypatch.undo()
    report = await backup.restore(engine, doc)  # still empty, so it can be restored
    assert (report.channels, report.items) == (2, 4)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation: set ``value`` at ``path`` (``channels.0.items.1.kind``)."""

    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value

    return mutate


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return mutate


def _append_copy(path: str) -> Callable[[dict[str, Any]], None]:
    """Duplicate the first element of the list at ``path``."""

    def mutate(doc: dict[str, Any]) -> None:
        node: Any = doc
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) else node[part]
        node.append(copy.deepcopy(node[0]))

    return mutate


ITEM = "channels.0.items.0"
SCHEDULE = "channels.0.schedules.0"
MALFORMED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("format", _set("format", "trello"), "format: 'trello' is not 'raidline-backup'"),
    ("no format", _drop("format"), "format: missing"),
    ("newer version", _set("version", 2), "version: backup version 2 is newer than"),
    ("version text", _set("version", "1"), "version: '1' is not a backup version"),
    ("no channels", _drop("channels"), "channels: missing"),
    ("channels object", _set("channels", {}), "channels: expected a list, got an object"),
    ("channel list", _set("channels.0", []), "channels[0]: expected an object, got a list"),
    ("no platform", _drop("channels.0.platform"), "channels[0].platform: missing"),
    (
        "duplicate channel",
        _append_copy("channels"),
        "channels[1]: channel console:local:proj appears twice",
    ),
    (
        "settings zone",
        _set("channels.0.settings.timezone", "Mars/Olympus"),
        "channels[0].settings.timezone: 'Mars/Olympus' is not a time zone",
    ),
    (
        "work day",
        _set("channels.0.settings.work_days", ["mon", "funday"]),
        "channels[0].settings.work_days[1]: 'funday' is not a weekday",
    ),
    (
        "work start",
        _set("channels.0.settings.work_start", "25:00"),
        "channels[0].settings.work_start: '25:00' is not a time of day (HH:MM)",
    ),
    (
        "nudges flag",
        _set("channels.0.settings.nudges_enabled", "yes"),
        "channels[0].settings.nudges_enabled: expected true or false, got 'yes'",
    ),
    (
        "schedule kind",
        _set(f"{SCHEDULE}.kind", "retro"),
        "channels[0].schedules[0].kind: 'retro' is not a schedule kind (standup, digest)",
    ),
    (
        "enabled without days",
        _set(f"{SCHEDULE}.days", []),
        "channels[0].schedules[0]: an enabled schedule needs its days and time (at)",
    ),
    (
        "schedule mode",
        _set(f"{SCHEDULE}.mode", "email"),
        "channels[0].schedules[0].mode: 'email' is not a standup mode (thread, dm)",
    ),
    (
        "skip date",
        _set(f"{SCHEDULE}.skip_dates", ["next friday"]),
        "channels[0].schedules[0].skip_dates[0]: 'next friday' is not an ISO date (YYYY-MM-DD)",
    ),
    (
        "window",
        _set(f"{SCHEDULE}.window_minutes", 0),
        "channels[0].schedules[0].window_minutes: expected a whole number from 1 to "
        "2147483647, got 0",
    ),
    (
        "two standups",
        _append_copy("channels.0.schedules"),
        "channels[0].schedules[2].kind: a second standup schedule",
    ),
    (
        "kind",
        _set(f"{ITEM}.kind", "bug"),
        "channels[0].items[0].kind: 'bug' is not a kind "
        "(blocker, risk, decision, change, milestone)",
    ),
    ("no kind", _drop(f"{ITEM}.kind"), "channels[0].items[0].kind: missing"),
    (
        "ref",
        _set(f"{ITEM}.ref", "bug-7"),
        "channels[0].items[0].ref: 'bug-7' is not a ref such as B-7",
    ),
    (
        "ref of another kind",
        _set(f"{ITEM}.ref", "R-7"),
        "channels[0].items[0].ref: R-7 is not the ref of a blocker",
    ),
    (
        "status",
        _set(f"{ITEM}.status", "done"),
        "channels[0].items[0].status: 'done' is not a status",
    ),
    (
        "status of another kind",
        _set(f"{ITEM}.status", "approved"),
        "channels[0].items[0].status: 'approved' is not a status of a blocker "
        "(open, resolved, withdrawn, deferred)",
    ),
    ("no title", _drop(f"{ITEM}.title"), "channels[0].items[0].title: missing"),
    ("empty title", _set(f"{ITEM}.title", " "), "channels[0].items[0].title: must not be empty"),
    (
        "long title",
        _set(f"{ITEM}.title", "x" * 301),
        "channels[0].items[0].title: is 301 characters long; at most 300 fit",
    ),
    (
        "title number",
        _set(f"{ITEM}.title", 7),
        "channels[0].items[0].title: expected a string, got a number",
    ),
    (
        "due",
        _set(f"{ITEM}.due", "friday"),
        "channels[0].items[0].due: 'friday' is not an ISO 8601 date and time",
    ),
    (
        "naive time",
        _set(f"{ITEM}.created_at", "2026-12-07T08:00:00"),
        "channels[0].items[0].created_at: '2026-12-07T08:00:00' has no UTC offset (e.g. +00:00)",
    ),
    (
        "likelihood",
        _set(f"{ITEM}.likelihood", 6),
        "channels[0].items[0].likelihood: expected a whole number from 1 to 5, got 6",
    ),
    (
        "likelihood flag",
        _set(f"{ITEM}.likelihood", True),
        "channels[0].items[0].likelihood: expected a whole number from 1 to 5, got True",
    ),
    (
        "response",
        _set(f"{ITEM}.response", "pray"),
        "channels[0].items[0].response: 'pray' is not a risk response",
    ),
    (
        "approvers",
        _set("channels.0.items.1.approvers", "sponsor"),
        "channels[0].items[1].approvers: expected a list of strings, got a string",
    ),
    (
        "impacts",
        _set("channels.0.items.1.impacts", {"cost": 8000}),
        "channels[0].items[1].impacts.cost: expected a string, got a number",
    ),
    (
        "duplicate ref",
        _append_copy("channels.0.items"),
        "channels[0].items[2].ref: B-7 appears twice in this channel",
    ),
    ("no events", _drop(f"{ITEM}.events"), "channels[0].items[0].events: missing"),
    (
        "stakeholder level",
        _set("channels.0.settings.stakeholders", {"cfo": ["monthly"]}),
        "channels[0].settings.stakeholders.cfo[0]: 'monthly' is not a stakeholder level "
        "(weekly, decisions, escalations)",
    ),
    (
        "stakeholders",
        _set("channels.0.settings.stakeholders", ["cfo"]),
        "channels[0].settings.stakeholders: expected an object of lists, got a list",
    ),
    (
        "escalation days",
        _set("channels.0.settings.escalate_after_days", 0),
        "channels[0].settings.escalate_after_days: expected a whole number from 1 to 60, got 0",
    ),
    (
        "event time",
        _drop(f"{ITEM}.events.0.at"),
        "channels[0].items[0].events[0].at: missing",
    ),
    (
        "event change",
        _set(f"{ITEM}.events.1.changes.0.new", ["dana"]),
        "channels[0].items[0].events[1].changes[0].new: expected a string, got a list",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "message"), [pytest.param(m, e, id=name) for name, m, e in MALFORMED]
)
async def test_a_malformed_backup_is_refused_by_its_path(
    sqlite_engines: Callable[[str], AsyncEngine],
    mutate: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    doc = small_document()
    mutate(doc)
    target = sqlite_engines("target")
    with pytest.raises(backup.InvalidBackup) as refused:
        await backup.restore(target, doc)
    assert refused.value.message.startswith(message), refused.value.message
    assert "\n" not in refused.value.message
    assert (await document(target, START))["channels"] == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "the file is empty, not a raidline backup", id="empty"),
        pytest.param(b"{not json", "not JSON: Expecting property name", id="not-json"),
        pytest.param(b"\xff\xfe{}", "not UTF-8 text (byte 0)", id="not-utf8"),
        pytest.param(b"[]", "not a raidline backup: expected an object, got a list", id="list"),
        pytest.param(b"[" * 100_000, "not a raidline backup: JSON nested too deeply", id="deep"),
    ],
)
def test_a_file_that_is_not_a_backup_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(backup.InvalidBackup) as refused:
        backup.parse(data)
    assert refused.value.message.startswith(message), refused.value.message


def test_the_small_document_itself_is_valid() -> None:
    parsed = backup.validate(small_document())
    assert (len(parsed.channels), parsed.item_count, parsed.event_count) == (1, 2, 3)


def test_channel_exports_keep_their_item_keys() -> None:
    """``raidline export --channel … --format json`` is unchanged: no nudge state in it."""
    record = item_record(full_item(Kind.RISK), [])
    assert list(record) == [
        "ref", "kind", "status", "title", "details", "reporter", "owner", "due", "waiting_on",
        "resolution", "likelihood", "impact", "score", "response", "mitigation", "outcome",
        "rationale", "impacts", "approvers", "decision_note", "decided_by", "decided_at",
        "linked_ref", "milestone", "depends_on", "links", "revisit_at", "deferred_reason",
        "source_url", "created_at",
        "updated_at", "events",
    ]  # fmt: skip
    complete = item_record(full_item(Kind.RISK), [], complete=True)
    assert list(complete) == [*record, "nudge_count", "last_nudged_at", "snoozed_until"]


# --- every table and column is accounted for ------------------------------------------------


def test_every_table_is_backed_up_or_left_out_on_purpose_and_the_docs_say_which() -> None:
    from storage.backup import format as backup_format
    from storage.tables import metadata

    kept, left = set(backup_format.BACKED_UP_TABLES), set(backup_format.NOT_BACKED_UP_TABLES)
    assert not kept & left
    assert kept | left == set(metadata.tables), "a new table: back it up or say why not"
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    not_in_backup = readme[readme.index("What is **not** in a backup") :]
    not_in_backup = not_in_backup[: not_in_backup.index("\n### ")]
    for table in sorted(left):
        assert f"``{table}``" in (backup_format.__doc__ or ""), table
        assert f"`{table}`" in not_in_backup, table
    for column in (
        "``holidays``",
        "``days_off``",
        "``reason``",
        "``options``",
        "``stakeholders``",
        "``escalate_after_days``",
    ):
        assert column in (backup_format.__doc__ or ""), column


def test_every_setting_and_schedule_column_is_in_the_document() -> None:
    from storage.repositories.rows import schedule_options
    from storage.tables import metadata

    settings = backup.settings_record(
        ChannelSettings(PROJ, holidays="DE-BY", days_off=("2026-12-24",))
    )
    channel_columns = {c.name for c in metadata.tables["channels"].columns}
    assert channel_columns - {"id", "platform", "workspace", "external_id", "created_at"} == set(
        settings
    )
    assert (settings["holidays"], settings["days_off"]) == ("DE-BY", ["2026-12-24"])
    stakeholders = backup.settings_record(
        ChannelSettings(PROJ, stakeholders={"cfo": ("weekly",)}, escalate_after_days=5)
    )
    assert (stakeholders["stakeholders"], stakeholders["escalate_after_days"]) == (
        {"cfo": ["weekly"]},
        5,
    )
    schedule = Schedule(PROJ, ScheduleKind.STANDUP, name="retro", every_weeks=2, late_minutes=90)
    record = backup.schedule_record(schedule)
    schedule_columns = {c.name for c in metadata.tables["schedules"].columns}
    assert schedule_columns - {"id", "channel_id", "options"} <= set(record)
    assert set(schedule_options(schedule)) <= set(record)  # the options column, spelled out
    assert (record["name"], record["every_weeks"], record["late_minutes"]) == ("retro", 2, 90)
