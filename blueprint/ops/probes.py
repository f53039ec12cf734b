"""What is measured about the running service: one registry of probes, read by `snapshot()`.

A probe is a function returning a dict (or None when the thing it measures is not set up here:
no replica, no backup stanza). The operator page, /metrics and the alert rules all read the
same snapshot, so they cannot disagree. An app registers its own probe with `@probe("name")`
(exchange/monitoring.py: the sharing lag); blueprint itself knows no app's tables.

A probe that needs the database and cannot reach it answers {"unavailable": "..."}: the page shows it,
the database probe says "unreachable", and the rules that need the value stay silent.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.db.models import Count, Q
from django.utils import timezone

__all__ = ["PROBES", "probe", "snapshot", "backup_info"]

PROBES: dict[str, Callable[[], dict | None]] = {}


def probe(name: str):
    """Register a probe under `name` (one per name: a second registration replaces the first)."""

    def register(fn: Callable[[], dict | None]):
        PROBES[name] = fn
        return fn

    return register


def snapshot(names: list[str] | None = None) -> dict[str, dict | None]:
    """Run the probes (all, or those named) and return their answers by name."""
    out = {}
    for name in names or list(PROBES):
        try:
            out[name] = PROBES[name]()
        except DatabaseError as exc:
            out[name] = {"unavailable": str(exc).strip()[:300]}
    return out


def _rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@probe("database")
def database() -> dict:
    """Whether the database answers, how fast, and its connections by state."""
    started = time.perf_counter()
    try:
        rows = _rows(
            "SELECT coalesce(state, 'other'), count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() GROUP BY 1"
        )
        [(limit,)] = _rows("SELECT current_setting('max_connections')::int")
    except DatabaseError as exc:
        connection.close()  # a broken connection is not reused by the next probe
        return {"up": False, "error": str(exc).strip()[:300]}
    return {
        "up": True,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "connections": dict(rows),
        "max_connections": limit,
    }


@probe("workers")
def workers() -> dict:
    """procrastinate's workers and the age of their last heartbeat."""
    rows = _rows(
        "SELECT id, last_heartbeat, EXTRACT(EPOCH FROM now() - last_heartbeat)::float"
        " FROM procrastinate_workers ORDER BY last_heartbeat DESC"
    )
    silent_after = settings.MONITORING["WORKER_SILENT_SECONDS"]
    listed = [
        {"id": pk, "last_heartbeat": beat, "age_s": round(age, 1), "alive": age <= silent_after}
        for pk, beat, age in rows
    ]
    return {
        "workers": listed,
        "alive": sum(w["alive"] for w in listed),
        "last_heartbeat": listed[0]["last_heartbeat"] if listed else None,
        "freshest_age_s": listed[0]["age_s"] if listed else None,
    }


_QUEUE_SQL = """
SELECT j.queue_name,
       count(*) FILTER (WHERE j.status = 'todo'),
       count(*) FILTER (WHERE j.status = 'doing'),
       max(EXTRACT(EPOCH FROM now() - greatest(j.scheduled_at, d.at))::float)
         FILTER (WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now()))
FROM procrastinate_jobs j
LEFT JOIN LATERAL (SELECT min(e.at) AS at FROM procrastinate_events e
                   WHERE e.job_id = j.id AND e.type = 'deferred') d ON true
WHERE j.status IN ('todo', 'doing')
GROUP BY j.queue_name ORDER BY j.queue_name
"""


@probe("queue")
def queue() -> dict:
    """Jobs waiting and running per queue, and how long the oldest due job has waited."""
    queues = {
        name: {"todo": todo, "doing": doing, "oldest_waiting_s": round(oldest, 1) if oldest else 0.0}
        for name, todo, doing, oldest in _rows(_QUEUE_SQL)
    }
    return {
        "queues": queues,
        "todo": sum(q["todo"] for q in queues.values()),
        "doing": sum(q["doing"] for q in queues.values()),
        "oldest_waiting_s": max((q["oldest_waiting_s"] for q in queues.values()), default=0.0),
    }


@probe("disk")
def disk() -> dict:
    """Free space where the service writes (its data folder, the imagery)."""
    paths, seen = [], set()
    for label, folder in (
        ("data", settings.BLUEPRINT["DATA_DIR"]),
        ("imagery", settings.BLUEPRINT["IMAGERY_DIR"]),
    ):
        existing = folder if folder.exists() else folder.parent
        usage = shutil.disk_usage(existing)
        device = existing.stat().st_dev
        if device in seen:
            continue
        seen.add(device)
        paths.append(
            {
                "label": label,
                "path": str(folder),
                "total_bytes": usage.total,
                "free_bytes": usage.free,
                "free_ratio": round(usage.free / usage.total, 4),
            }
        )
    return {"paths": paths, "min_free_ratio": min(p["free_ratio"] for p in paths)}


@probe("backup")
def backup() -> dict | None:
    """The last successful pgBackRest backup: of the configured stanza (PGBACKREST_STANZA, read
    from the repository), else as `make backup` recorded it (blueprint.backups; None: never)."""
    stanza = settings.MONITORING["PGBACKREST_STANZA"]
    if stanza:
        return backup_info(stanza)
    from blueprint.backups import last_backup

    last = last_backup()
    if last is None:
        return None
    return {"stanza": "", "last_success": last.finished_at, "type": last.kind, "label": last.label,
            "age_s": round((timezone.now() - last.finished_at).total_seconds(), 1), "error": None}


_BACKUP_CACHE: dict[str, tuple[float, dict]] = {}
_BACKUP_CACHE_SECONDS = 60  # `pgbackrest info` reads the repository: not on every scrape


def backup_info(stanza: str) -> dict:
    """Read `pgbackrest info --output=json` for `stanza`: the last backup that did not fail."""
    cached = _BACKUP_CACHE.get(stanza)
    if cached and time.monotonic() - cached[0] < _BACKUP_CACHE_SECONDS:
        return cached[1]
    info = _read_pgbackrest(stanza)
    _BACKUP_CACHE[stanza] = (time.monotonic(), info)
    return info


def _read_pgbackrest(stanza: str) -> dict:
    try:
        run = subprocess.run(
            ["pgbackrest", f"--stanza={stanza}", "--output=json", "info"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"stanza": stanza, "last_success": None, "error": f"pgbackrest: {exc}"}
    try:
        [entry] = [s for s in json.loads(run.stdout or "[]") if s.get("name") == stanza] or [{}]
    except ValueError as exc:  # not JSON (or not one stanza): say what pgbackrest said
        return {
            "stanza": stanza,
            "last_success": None,
            "error": f"pgbackrest info: {exc}; {run.stderr.strip()[:200]}",
        }
    return parse_stanza(stanza, entry, run.stderr)


def parse_stanza(stanza: str, entry: dict, stderr: str = "") -> dict:
    """The last successful backup of one stanza object of `pgbackrest info --output=json`."""
    done = [b for b in entry.get("backup", []) if not b.get("error")]
    status = entry.get("status", {})
    error = (
        None
        if status.get("code", 1) == 0
        else (status.get("message") or stderr.strip()[:200] or "no such stanza")
    )
    if not done:
        return {"stanza": stanza, "last_success": None, "error": error or "no backup yet"}
    last = max(done, key=lambda b: b["timestamp"]["stop"])
    stop = datetime.fromtimestamp(last["timestamp"]["stop"], tz=UTC)
    return {
        "stanza": stanza,
        "last_success": stop,
        "type": last.get("type"),
        "label": last.get("label"),
        "age_s": round((timezone.now() - stop).total_seconds(), 1),
        "error": error,
    }


@probe("replica")
def replica() -> dict | None:
    """The replay lag of the streaming replica (None: no replica alias configured)."""
    alias = settings.MONITORING["REPLICA_ALIAS"]
    if alias not in settings.DATABASES:
        return None
    try:
        with connections[alias].cursor() as cursor:
            # An idle primary sends nothing to replay: received == replayed means no lag at all.
            cursor.execute(
                "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn()"
                " = pg_last_wal_replay_lsn() THEN 0 ELSE"
                " EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float END"
            )
            recovering, lag = cursor.fetchone()
    except DatabaseError as exc:
        connections[alias].close()
        return {"alias": alias, "up": False, "lag_s": None, "error": str(exc).strip()[:300]}
    return {"alias": alias, "up": True, "in_recovery": recovering, "lag_s": round(lag or 0.0, 2)}


def _window(minutes: int) -> dict:
    from blueprint.models import ServiceLogEntry

    counts = ServiceLogEntry.objects.filter(
        kind="request", at__gte=timezone.now() - timedelta(minutes=minutes)
    ).aggregate(requests=Count("id"), errors=Count("id", filter=Q(status__gte=500)))
    rate = counts["errors"] / counts["requests"] if counts["requests"] else 0.0
    return {"minutes": minutes, **counts, "rate": rate, "percent": round(rate * 100, 2)}


@probe("errors")
def errors() -> dict:
    """Requests answered and server errors (5xx) in the last hour and the last 15 minutes."""
    return {"hour": _window(60), "recent": _window(15)}
