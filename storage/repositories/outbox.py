"""The run ledger and outbox: the run half of ``bot.ports.ScheduleRepository``.

A run is unique per key (schedule and occurrence), so adding one twice adds it once. Claims
lock rows ``FOR UPDATE … SKIP LOCKED`` on PostgreSQL; on SQLite the clause renders as nothing
and the unit of work's ``BEGIN IMMEDIATE`` serialises the ticks instead. A claim sets a short
lease, which the caller commits before it delivers anything.

A run keeps the message its first attempt built (``message``, JSON: see
:func:`encode_message`), so a retry sends the same message; ``renew_lease`` extends a lease
while a send runs, and only for the attempt that holds it.
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, tuple_, update

from bot.domain.model import ChannelKey, Run, RunKind, RunStatus
from bot.messages import (
    Action,
    Card,
    Choice,
    Field,
    File,
    Form,
    FormField,
    InputKind,
    Outgoing,
    Reply,
    Section,
    Tone,
    Visibility,
)
from storage.db import translate_errors
from storage.repositories.common import (
    SessionRepository,
    channel_filter,
    channel_id_of,
    insert_for,
    keyed,
    with_channel,
)
from storage.repositories.rows import run_from_row
from storage.tables import RUN_REASON, runs

__all__ = ["RunLedger", "decode_message", "encode_message"]

#: Runs per multi-row INSERT: 11 columns each stays far below SQLite's parameter limit.
_RUN_CHUNK = 500

# Statements executed once for many runs (executemany: one round trip for all of them).
_SAVE_MESSAGE = (
    update(runs)
    .where(runs.c.id == bindparam("run_id"))
    .values(
        message=bindparam("stored", type_=runs.c.message.type),
        built_at=bindparam("built", type_=runs.c.built_at.type),
        updated_at=bindparam("at", type_=runs.c.updated_at.type),
    )
)
_FINISH = (
    update(runs)
    .where(runs.c.id == bindparam("run_id"))
    .values(
        status=bindparam("new_status", type_=runs.c.status.type),
        lease_until=None,
        result_ref=func.coalesce(bindparam("ref", type_=runs.c.result_ref.type), runs.c.result_ref),
        updated_at=bindparam("at", type_=runs.c.updated_at.type),
    )
)


# --- the stored message ----------------------------------------------------------------------

_CLASSES: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (Outgoing, Reply, Card, Section, Action, Form, FormField, Field, Choice, File)
}
_CLASSES[ChannelKey.__name__] = ChannelKey
_ENUMS: dict[str, type[Enum]] = {cls.__name__: cls for cls in (Visibility, Tone, InputKind)}


def encode_message(value: Any) -> Any:
    """A message (``bot.messages.Outgoing`` and what it holds) as JSON-safe data, tagged so
    that :func:`decode_message` gives back an equal message."""
    if isinstance(value, Enum):
        return {"$enum": type(value).__name__, "value": value.value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if _CLASSES.get(name) is not type(value):
            raise TypeError(f"cannot store a {name} in a run")
        # A field left at its default is not written: a release that does not know a newer
        # field (an Outgoing's ``edit``) still reads every message that does not use it.
        fields = {
            f.name: encode_message(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.default is dataclasses.MISSING or getattr(value, f.name) != f.default
        }
        return {"$type": name, **fields}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, tuple | builtins.list):
        return [encode_message(v) for v in value]
    if isinstance(value, Mapping):
        return {"$map": {str(k): encode_message(v) for k, v in value.items()}}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot store a {type(value).__name__} in a run")


def decode_message(data: Any) -> Any:
    """The inverse of :func:`encode_message` (sequences come back as tuples)."""
    if isinstance(data, builtins.list):
        return tuple(decode_message(v) for v in data)
    if not isinstance(data, dict):
        return data
    if "$enum" in data:
        return _ENUMS[data["$enum"]](data["value"])
    if "$type" in data:
        cls = _CLASSES[data["$type"]]
        return cls(**{k: decode_message(v) for k, v in data.items() if k != "$type"})
    if "$datetime" in data:
        return datetime.fromisoformat(data["$datetime"])
    if "$bytes" in data:
        return base64.b64decode(data["$bytes"])
    if "$map" in data:
        return {k: decode_message(v) for k, v in data["$map"].items()}
    raise ValueError(f"not a stored message: {sorted(data)}")


class RunLedger(SessionRepository):
    """The runs of ``bot.ports.ScheduleRepository`` (see ``SqlScheduleRepository``)."""

    @translate_errors
    async def add_run(self, run: Run) -> int | None:
        session = self._session
        channel_id = await channel_id_of(session, run.channel, create=True)
        now = datetime.now(UTC)
        # Never rowcount (psycopg reports -1): RETURNING gives the id, or no row when the
        # key existed. A plain INSERT's IntegrityError would abort a PostgreSQL transaction.
        statement = (
            insert_for(session, runs)
            .values(
                key=run.key,
                kind=run.kind.value,
                channel_id=channel_id,
                due_at=run.due_at,
                status=run.status.value,
                payload=dict(run.payload),
                attempts=run.attempts,
                lease_until=run.lease_until,
                result_ref=run.result_ref,
                created_at=run.created_at or now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[runs.c.key])
            .returning(runs.c.id)
        )
        run_id: int | None = (await session.execute(statement)).scalar_one_or_none()
        return run_id

    @translate_errors
    async def add_runs(self, new_runs: Sequence[Run]) -> set[str]:
        session = self._session
        now = datetime.now(UTC)
        rows = []
        for run in new_runs:
            rows.append(
                {
                    "key": run.key,
                    "kind": run.kind.value,
                    "channel_id": await channel_id_of(session, run.channel, create=True),
                    "due_at": run.due_at,
                    "status": run.status.value,
                    "payload": dict(run.payload),
                    "attempts": run.attempts,
                    "lease_until": run.lease_until,
                    "result_ref": run.result_ref,
                    "created_at": run.created_at or now,
                    "updated_at": now,
                }
            )
        if not rows:
            return set()
        # One statement executed for every row: SQLAlchemy sends it as multi-row INSERTs of
        # up to 1,000 rows, compiled once (a statement built with the rows in it would be
        # compiled anew for every call).
        statement = (
            insert_for(session, runs)
            .on_conflict_do_nothing(index_elements=[runs.c.key])
            .returning(runs.c.key)
        )
        return set((await session.execute(statement, rows)).scalars())

    @translate_errors
    async def claim_runs(
        self, now: datetime, lease_until: datetime, limit: int = 50
    ) -> builtins.list[Run]:
        session = self._session
        claimable = or_(
            and_(runs.c.status == RunStatus.PENDING.value, runs.c.due_at <= now),
            and_(runs.c.status == RunStatus.SENDING.value, runs.c.lease_until < now),
        )
        locked = (
            select(runs.c.id)
            .where(claimable)
            .order_by(runs.c.due_at, runs.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        run_ids = builtins.list((await session.execute(locked)).scalars())
        if not run_ids:
            return []
        # Same transaction as the lock: no other worker can claim these rows in between,
        # and the caller commits the claim before it delivers anything.
        await session.execute(
            update(runs)
            .where(runs.c.id.in_(run_ids))
            .values(
                status=RunStatus.SENDING.value,
                lease_until=lease_until,
                attempts=runs.c.attempts + 1,
                updated_at=now,
            )
        )
        query = with_channel(runs).where(runs.c.id.in_(run_ids)).order_by(runs.c.due_at, runs.c.id)
        rows = (await session.execute(query)).mappings().all()
        return [run_from_row(keyed(self._session, row), row) for row in rows]

    async def _update_run(self, run_id: int, **values: Any) -> None:
        statement = (
            update(runs)
            .where(runs.c.id == run_id)
            .values(updated_at=datetime.now(UTC), **values)
            .returning(runs.c.id)
        )
        if (await self._session.execute(statement)).scalar_one_or_none() is None:
            raise LookupError(f"no stored run with id {run_id}")

    @translate_errors
    async def finish_run(
        self,
        run_id: int,
        status: RunStatus,
        result_ref: str | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status.value, "lease_until": None}
        if result_ref is not None:
            values["result_ref"] = result_ref
        if reason is not None:
            values["reason"] = reason[:RUN_REASON]
        await self._update_run(run_id, **values)

    @translate_errors
    async def retry_run(self, run_id: int, due_at: datetime) -> None:
        await self._update_run(
            run_id, status=RunStatus.PENDING.value, due_at=due_at, lease_until=None
        )

    @translate_errors
    async def renew_lease(
        self,
        run_id: int,
        attempt: int,
        lease_until: datetime,
        *,
        send_started_at: datetime | None = None,
    ) -> bool:
        values: dict[str, Any] = {"lease_until": lease_until}
        if send_started_at is not None:
            values["send_started_at"] = send_started_at
        statement = (
            update(runs)
            .where(
                runs.c.id == run_id,
                runs.c.status == RunStatus.SENDING.value,
                runs.c.attempts == attempt,
            )
            .values(updated_at=datetime.now(UTC), **values)
            .returning(runs.c.id)
        )
        return (await self._session.execute(statement)).scalar_one_or_none() is not None

    @translate_errors
    async def renew_leases(
        self,
        held: Sequence[tuple[int, int]],
        lease_until: datetime,
        *,
        send_started_at: datetime | None = None,
    ) -> builtins.set[int]:
        renewed: set[int] = set()
        values: dict[str, Any] = {"lease_until": lease_until, "updated_at": datetime.now(UTC)}
        if send_started_at is not None:
            values["send_started_at"] = send_started_at
        wanted = builtins.list(held)
        for start in range(0, len(wanted), _RUN_CHUNK):
            statement = (
                update(runs)
                .where(
                    tuple_(runs.c.id, runs.c.attempts).in_(wanted[start : start + _RUN_CHUNK]),
                    runs.c.status == RunStatus.SENDING.value,
                )
                .values(**values)
                .returning(runs.c.id)
            )
            renewed.update((await self._session.execute(statement)).scalars())
        return renewed

    @translate_errors
    async def save_messages(
        self, messages: Sequence[tuple[int, Outgoing]], built_at: datetime
    ) -> None:
        if messages:
            at = datetime.now(UTC)
            await self._session.execute(
                _SAVE_MESSAGE,
                [
                    {
                        "run_id": run_id,
                        "stored": encode_message(message),
                        "built": built_at,
                        "at": at,
                    }
                    for run_id, message in messages
                ],
            )

    @translate_errors
    async def finish_runs(self, results: Sequence[tuple[int, RunStatus, str | None]]) -> None:
        if results:
            at = datetime.now(UTC)
            await self._session.execute(
                _FINISH,
                [
                    {"run_id": run_id, "new_status": status.value, "ref": ref, "at": at}
                    for run_id, status, ref in results
                ],
            )

    @translate_errors
    async def save_message(self, run_id: int, message: Outgoing, built_at: datetime) -> None:
        await self._update_run(run_id, message=encode_message(message), built_at=built_at)

    @translate_errors
    async def stored_message(self, run_id: int) -> Outgoing | None:
        query = select(runs.c.message).where(runs.c.id == run_id)
        data = (await self._session.execute(query)).scalar_one_or_none()
        if data is None:
            return None
        message = decode_message(data)
        if not isinstance(message, Outgoing):
            raise ValueError(f"run {run_id} holds no message")
        return message

    @translate_errors
    async def release_runs(self, run_ids: Sequence[int]) -> int:
        if not run_ids:
            return 0
        statement = (
            update(runs)
            .where(runs.c.id.in_(builtins.list(run_ids)), runs.c.status == RunStatus.SENDING.value)
            .values(
                status=RunStatus.PENDING.value,
                lease_until=None,
                attempts=case((runs.c.attempts > 0, runs.c.attempts - 1), else_=0),
                updated_at=datetime.now(UTC),
            )
            .returning(runs.c.id)
        )
        return len((await self._session.execute(statement)).all())

    @translate_errors
    async def outbox_depth(self) -> int:
        waiting = (RunStatus.PENDING.value, RunStatus.SENDING.value)
        query = select(func.count()).select_from(runs).where(runs.c.status.in_(waiting))
        depth: int = (await self._session.execute(query)).scalar_one()
        return depth

    @translate_errors
    async def run_by_key(self, key: str) -> Run | None:
        query = with_channel(runs).where(runs.c.key == key)
        row = (await self._session.execute(query)).mappings().one_or_none()
        return None if row is None else run_from_row(keyed(self._session, row), row)

    @translate_errors
    async def runs(self, channel: ChannelKey, kind: RunKind, limit: int = 10) -> builtins.list[Run]:
        query = (
            with_channel(runs)
            .where(*channel_filter(channel), runs.c.kind == kind.value)
            .order_by(runs.c.due_at.desc(), runs.c.id.desc())
            .limit(limit)
        )
        rows = (await self._session.execute(query)).mappings().all()
        return [run_from_row(channel, row) for row in rows]
