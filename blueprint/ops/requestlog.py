"""The access and error logs as rows of `ServiceLogEntry`, and every request timed for /metrics.

Why a table rather than reading the JSON log files: the logs go to stderr (a container's log, a
journal), often not a file this process can read, and each gunicorn worker writes its own
stream; a table is one place for every worker and machine, searchable by time, user, route and
status in the admin with indexes, and its retention is one DELETE (`prune`, daily).

The hot path stays cheap: a request appends a dict to its process's buffer (no I/O) and a
daemon thread writes the buffer with one multi-row INSERT every REQUEST_LOG_FLUSH_SECONDS. What
is lost when a worker is killed is at most that last second of lines; while the database is
down the buffer keeps the newest MAX_PENDING rows and counts what it drops.
REQUEST_LOG=direct writes each row in the request instead (tests), REQUEST_LOG=off not at all.
"""

from __future__ import annotations

import atexit
import collections
import ipaddress
import logging
import os
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from blueprint.ops import metrics

__all__ = ["RequestMonitorMiddleware", "ServiceLogHandler", "flush", "prune", "MAX_PENDING"]

LOGGER = logging.getLogger(__name__)
MAX_PENDING = 10_000


def _mode() -> str:
    return settings.MONITORING["REQUEST_LOG"]


class _Buffer:
    """Rows waiting to be written, and the thread of this process that writes them."""

    def __init__(self):
        self.rows: collections.deque = collections.deque()
        self.lock = threading.Lock()
        self.pid = None

    def add(self, row: dict) -> None:
        with self.lock:
            if len(self.rows) >= MAX_PENDING:
                self.rows.popleft()
                metrics.LOG_DROPPED.inc()
            self.rows.append(row)
        if self.pid != os.getpid():  # first row of this process (a forked worker starts with none)
            self._start()

    def _start(self) -> None:
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
        threading.Thread(target=self._run, name="service-log", daemon=True).start()

    def _run(self) -> None:
        while True:
            time.sleep(settings.MONITORING["REQUEST_LOG_FLUSH_SECONDS"])
            self.flush()
            connection.close_if_unusable_or_obsolete()

    def take(self) -> list[dict]:
        with self.lock:
            rows = list(self.rows)
            self.rows.clear()
        return rows

    def flush(self) -> int:
        rows = self.take()
        return _write(rows) if rows else 0


_BUFFER = _Buffer()


def _write(rows: list[dict]) -> int:
    from blueprint.models import ServiceLogEntry

    try:
        with transaction.atomic():
            ServiceLogEntry.objects.bulk_create([ServiceLogEntry(**row) for row in rows])
    except DatabaseError as exc:
        # WARNING, not ERROR: the error log's own handler must not try the same database again.
        LOGGER.warning("service log: %s rows lost: %s", len(rows), str(exc).strip()[:200])
        metrics.LOG_DROPPED.inc(len(rows))
        if not connection.in_atomic_block:
            connection.close()
        return 0
    return len(rows)


def flush() -> int:
    """Write this process's buffered rows now; return how many were written."""
    return _BUFFER.flush()


atexit.register(flush)


def _record(row: dict) -> None:
    mode = _mode()
    if mode == "buffered":
        _BUFFER.add(row)
    elif mode == "direct":
        _write([row])


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.route
    return "static" if request.path.startswith(settings.STATIC_URL) else "<unmatched>"


class RequestMonitorMiddleware:
    """Time every answer (the /metrics histogram) and keep its line in the access log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        at, started = timezone.now(), time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        route = _route(request)
        metrics.observe_request(route, request.method, response.status_code, seconds)
        if route != "static" and _mode() != "off":
            _record(_request_row(request, route, response.status_code, at, seconds))
        return response


def _who(request) -> str:
    who = getattr(request, "_principal", None)  # AccessMiddleware's (no extra query here)
    return who.name if who is not None else ""


def _address(request) -> str | None:
    # The rule of blueprint.audit.client_ip (REMOTE_ADDR, or the right-most entry of the trusted
    # proxy's header), without django-axes' ipware: that costs 0.1-0.3 ms, on every request here.
    header = settings.TRUSTED_PROXY_HEADER
    forwarded = request.META.get(header, "") if header else ""
    address = forwarded.rsplit(",", 1)[-1].strip() if forwarded else request.META.get("REMOTE_ADDR", "")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:  # not an address (a proxy's garbage): the row is kept without one
        return None


def _request_row(request, route: str, status: int, at, seconds: float) -> dict:
    return {
        "at": at,
        "kind": "request",
        "method": request.method[:8],
        "route": route[:200],
        "path": request.get_full_path()[:500],
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "user": _who(request)[:160],
        "ip": _address(request),
    }


class ServiceLogHandler(logging.Handler):
    """A logging handler keeping ERROR records (with their traceback) as error-log rows."""

    _formatter = logging.Formatter("%(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == __name__ or not settings.configured or _mode() == "off":
            return
        request = getattr(record, "request", None)  # django.request's records carry it
        row = {
            "at": timezone.now(),
            "kind": "error",
            "level": record.levelname[:10],
            "logger": record.name[:100],
            "message": self._formatter.format(record)[:20_000],
            "status": getattr(record, "status_code", None),
        }
        if request is not None and hasattr(request, "method"):
            row.update(
                method=request.method[:8],
                path=request.get_full_path()[:500],
                user=_who(request)[:160],
                route=_route(request)[:200],
            )
        _record(row)


def prune(days: int | None = None) -> int:
    """Delete service log rows older than LOG_RETENTION_DAYS; return how many."""
    keep = days if days is not None else settings.MONITORING["LOG_RETENTION_DAYS"]
    from blueprint.models import ServiceLogEntry

    deleted, _ = ServiceLogEntry.objects.filter(at__lt=timezone.now() - timedelta(days=keep)).delete()
    return deleted
