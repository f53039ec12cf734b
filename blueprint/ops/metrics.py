"""The Prometheus face: what each process observes, and the probes' snapshot as gauges.

Requests, checks and imagery tiles are observed where they happen, in histograms (their
`_count` is the number of requests by route and status, of checks by verdict). Under gunicorn
every worker writes them to its own file in PROMETHEUS_MULTIPROC_DIR (prometheus-client's
multiprocess mode, set up by blueprint/gunicorn_conf.py) and /metrics adds the files up, so the
numbers are the service's whatever worker answers the scrape. Everything else (database, queue,
workers, disk, backup, replica, sharing) is read from the probes when scraped.
"""

from __future__ import annotations

import os
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from blueprint.ops import probes

__all__ = ["REQUEST_SECONDS", "CHECK_SECONDS", "TILE_SECONDS", "LOG_DROPPED", "observe_request", "exposition"]

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
REQUEST_SECONDS = Histogram(
    "blueprint_http_request_duration_seconds",
    "Requests answered by route (URL pattern), method and status, and their latency.",
    ["route", "method", "status"],
    buckets=_SECONDS,
)
CHECK_SECONDS = Histogram(
    "blueprint_check_duration_seconds",
    "Compliance checks run by verdict, and their latency.",
    ["verdict"],
    buckets=(*_SECONDS, 60, 120, 300),
)
TILE_SECONDS = Histogram(
    "blueprint_imagery_tile_duration_seconds",
    "Imagery tiles rendered by format, and how long.",
    ["format"],
    buckets=_SECONDS,
)
LOG_DROPPED = Counter(
    "blueprint_service_log_dropped_rows", "Service log rows lost (database refused or buffer full)."
)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency."""
    REQUEST_SECONDS.labels(route, method if method in _METHODS else "other", str(status)).observe(seconds)


def exposition() -> bytes:
    """The text exposition of every metric: the processes' (added up) and the probes'."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        observed = CollectorRegistry()
        MultiProcessCollector(observed)
    else:
        observed = REGISTRY
    measured = CollectorRegistry(auto_describe=False)
    measured.register(SnapshotCollector())
    return generate_latest(observed) + generate_latest(measured)


def _gauge(name: str, doc: str, value=None, labels: list[str] = (), samples=()) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, value=value, labels=None if value is not None else list(labels))
    for label_values, sample in samples:
        family.add_metric(list(label_values), sample)
    return family


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value else 0.0


class SnapshotCollector(Collector):
    """The probes' snapshot as gauges, read at each scrape. A probe that is not set up (no
    replica, no backup stanza) yields no series: absent, not zero."""

    def collect(self):
        snap = probes.snapshot()
        yield from _database(snap.get("database") or {})
        for name, fn in _FAMILIES.items():
            value = snap.get(name)
            if value and "unavailable" not in value:
                yield from fn(value)


def _database(db: dict):
    yield _gauge("blueprint_database_up", "1 when the database answers.", float(bool(db.get("up"))))
    if db.get("up"):
        yield _gauge(
            "blueprint_database_connections",
            "Sessions on this database by state.",
            labels=["state"],
            samples=[((state,), n) for state, n in db["connections"].items()],
        )
        yield _gauge(
            "blueprint_database_max_connections", "The server's max_connections.", db["max_connections"]
        )


def _workers(w: dict):
    yield _gauge("blueprint_workers_alive", "procrastinate workers with a recent heartbeat.", w["alive"])
    yield _gauge(
        "blueprint_worker_last_heartbeat_timestamp_seconds",
        "The freshest worker heartbeat (0: no worker ever).",
        _ts(w["last_heartbeat"]),
    )


def _queue(q: dict):
    yield _gauge(
        "blueprint_queue_jobs",
        "Jobs by queue and status (todo, doing).",
        labels=["queue", "status"],
        samples=[
            ((name, status), v[status]) for name, v in q["queues"].items() for status in ("todo", "doing")
        ],
    )
    yield _gauge(
        "blueprint_queue_oldest_waiting_seconds",
        "How long the oldest due job has waited.",
        q["oldest_waiting_s"],
    )


def _disk(d: dict):
    yield _gauge(
        "blueprint_disk_free_ratio",
        "Free share of the disk holding the path.",
        labels=["path"],
        samples=[((p["label"],), p["free_ratio"]) for p in d["paths"]],
    )
    yield _gauge(
        "blueprint_disk_free_bytes",
        "Free bytes on the disk holding the path.",
        labels=["path"],
        samples=[((p["label"],), p["free_bytes"]) for p in d["paths"]],
    )


def _backup(b: dict):
    yield _gauge("blueprint_backup_configured", "1 when a pgBackRest stanza is configured.", 1.0)
    if b.get("last_success"):
        yield _gauge(
            "blueprint_backup_last_success_timestamp_seconds",
            "End of the last successful backup.",
            _ts(b["last_success"]),
        )


def _replica(r: dict):
    yield _gauge("blueprint_replica_up", "1 when the replica answers.", float(bool(r.get("up"))))
    if r.get("lag_s") is not None:
        yield _gauge("blueprint_replica_lag_seconds", "Replay lag of the streaming replica.", r["lag_s"])


def _errors(e: dict):
    yield _gauge(
        "blueprint_http_error_ratio_1h", "Share of requests answered 5xx in the last hour.", e["hour"]["rate"]
    )


def _sharing(s: dict):
    yield _gauge("blueprint_sharing_pending_rows", "Rows waiting to be sent to the province.", s["pending"])
    yield _gauge("blueprint_sharing_lag_seconds", "Age of the oldest row waiting to be sent.", s["lag_s"])


_FAMILIES = {
    "workers": _workers,
    "queue": _queue,
    "disk": _disk,
    "backup": _backup,
    "replica": _replica,
    "errors": _errors,
    "sharing": _sharing,
}
