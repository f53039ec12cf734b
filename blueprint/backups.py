"""What the operator needs to know about backups: the last one, and WAL archiving's state.

Backups are taken by `scripts/backup.sh` (pgBackRest, as the cluster's owner, on the database
machine); after each it pipes `pgbackrest info --output=json` into `manage.py record_backups`,
which keeps the `Backup` rows equal to the repository's backups (expired ones go).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connections, transaction

from blueprint.models import Backup

__all__ = ["ArchiveStatus", "archive_status", "last_backup", "record"]


def last_backup() -> Backup | None:
    """The newest finished backup in the repository (None before the first)."""
    return Backup.objects.order_by("-finished_at").first()


@dataclass(frozen=True)
class ArchiveStatus:
    """pg_stat_archiver of the primary: the WAL that continuous archiving has (not) kept."""

    last_archived_at: dt.datetime | None
    last_archived_wal: str | None
    last_failed_at: dt.datetime | None
    failed_count: int
    enabled: bool


def archive_status(using: str = "default") -> ArchiveStatus:
    """WAL archiving's state: the recovery point is at most the time since the last archived
    segment (and BACKUP_ARCHIVE_TIMEOUT on a quiet database)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT last_archived_time, last_archived_wal, last_failed_time, failed_count,"
                       " current_setting('archive_mode') <> 'off' FROM pg_stat_archiver")
        archived_at, wal, failed_at, failed, enabled = cursor.fetchone()
    return ArchiveStatus(archived_at, wal, failed_at, failed, enabled)


def _time(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


@transaction.atomic
def record(info: list[dict], stanza: str) -> int:
    """Make the Backup rows those of `pgbackrest info --output=json` for `stanza`; return how many."""
    entries = next((s.get("backup", []) for s in info if s.get("name") == stanza), [])
    labels = []
    for entry in entries:
        labels.append(entry["label"])
        Backup.objects.update_or_create(label=entry["label"], defaults={
            "kind": entry["type"],
            "started_at": _time(entry["timestamp"]["start"]),
            "finished_at": _time(entry["timestamp"]["stop"]),
            "database_bytes": entry["info"]["size"],
            "stored_bytes": entry["info"]["repository"]["delta"],
            "wal_start": entry["archive"]["start"] or "",
            "wal_stop": entry["archive"]["stop"] or "",
        })
    Backup.objects.exclude(label__in=labels).delete()
    return len(labels)
