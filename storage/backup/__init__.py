"""The full backup (``raidline export --all``) both ways, and its restore into an empty
database (``raidline import``).

:mod:`~storage.backup.format` is the document and writes it (:func:`export_all`,
:func:`encode_backup`); :mod:`~storage.backup.validation` reads it back and checks all of it
(:func:`parse`, :func:`validate`); :mod:`~storage.backup.restoring` writes a checked backup in
one transaction, or nothing at all (:func:`restore`).
"""

from __future__ import annotations

from storage.backup.format import (
    BACKUP_FORMAT,
    BACKUP_VERSION,
    encode_backup,
    export_all,
    schedule_record,
    settings_record,
    snapshot_uow_factory,
)
from storage.backup.restoring import RestoreReport, TargetNotEmpty, restore
from storage.backup.validation import (
    STANDUP_MODES,
    STATUSES,
    Backup,
    BackupError,
    ChannelBackup,
    InvalidBackup,
    parse,
    validate,
)

__all__ = [
    "BACKUP_FORMAT",
    "BACKUP_VERSION",
    "STANDUP_MODES",
    "STATUSES",
    "Backup",
    "BackupError",
    "ChannelBackup",
    "InvalidBackup",
    "RestoreReport",
    "TargetNotEmpty",
    "encode_backup",
    "export_all",
    "parse",
    "restore",
    "schedule_record",
    "settings_record",
    "snapshot_uow_factory",
    "validate",
]
