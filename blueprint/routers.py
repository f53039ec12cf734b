"""Reads that may be a little stale go to the streaming replica (DATABASE_REPLICA_URL).

A GET or HEAD request whose path matches REPLICA_READ_PATHS (OGC items and tiles, imagery tiles,
map pages and statistics) reads the layer and compliance data from the replica; everything else,
and every write, goes to the primary. Who the caller is and what they may see (sessions, tokens,
access profiles, the audit log) is always read on the primary: a person who has just signed in or
a token just revoked is never judged on a stale copy.

Whether the replica may be used is decided once per request, from a check cached for
REPLICA_CHECK_SECONDS per process: the replica answers within its connect timeout, and its replay
is no more than REPLICA_MAX_LAG_SECONDS behind. Otherwise the request reads the primary.
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connections

__all__ = ["REPLICA", "ReplicaReadsMiddleware", "ReplicaRouter", "ReplicaState", "read_alias",
           "replica_reads", "replica_state", "stale_reads_allowed"]

REPLICA = "replica"
ROUTED_APPS = frozenset({"layers", "compliance"})

logger = logging.getLogger(__name__)
_read_alias: contextvars.ContextVar[str] = contextvars.ContextVar("read_alias", default="default")

# On the replica: whether it replays, whether its WAL receiver runs, whether it has replayed all it
# received, and the age of the last transaction it replayed.
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver),
       pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn(),
       EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())
"""


@dataclass(frozen=True)
class ReplicaState:
    """The replica as last checked: `lag_seconds` None when it could not be reached."""

    configured: bool
    lag_seconds: float | None
    checked_at: float
    error: str = ""

    @property
    def usable(self) -> bool:
        return self.lag_seconds is not None and self.lag_seconds <= settings.REPLICA_MAX_LAG_SECONDS


_cache: dict[str, ReplicaState] = {}
_lock = threading.Lock()


def replica_state(fresh: bool = False) -> ReplicaState:
    """The replica's lag (seconds; 0 when it has replayed everything it received from a live
    primary), checked at most every REPLICA_CHECK_SECONDS unless `fresh`."""
    if REPLICA not in settings.DATABASES:
        return ReplicaState(configured=False, lag_seconds=None, checked_at=time.monotonic())
    with _lock:
        state = _cache.get(REPLICA)
        if fresh or state is None or time.monotonic() - state.checked_at > settings.REPLICA_CHECK_SECONDS:
            state = _cache[REPLICA] = _check()
        return state


def _check() -> ReplicaState:
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            cursor.execute(_LAG_SQL)
            in_recovery, receiving, caught_up, age = cursor.fetchone()
    except DatabaseError as exc:
        connection.close()  # a broken connection is not reused by the next check
        logger.warning("replica unavailable, reading from the primary: %s", exc)
        return ReplicaState(configured=True, lag_seconds=None, checked_at=time.monotonic(), error=str(exc))
    if not in_recovery or (receiving and caught_up):
        lag = 0.0  # promoted, or streaming and replayed up to what the primary sent
    else:
        lag = float(age) if age is not None else float("inf")
    return ReplicaState(configured=True, lag_seconds=lag, checked_at=time.monotonic())


def stale_reads_allowed(method: str, path: str) -> bool:
    """Whether a request may read data that is REPLICA_MAX_LAG_SECONDS old."""
    return method in ("GET", "HEAD") and any(re.match(p, path) for p in settings.REPLICA_READ_PATHS)


@contextmanager
def replica_reads() -> Iterator[str]:
    """Within the block, routed reads go to the replica if it is usable; yields the alias chosen."""
    alias = REPLICA if replica_state().usable else "default"
    token = _read_alias.set(alias)
    try:
        yield alias
    finally:
        _read_alias.reset(token)


def read_alias() -> str:
    """The database of this request's routed reads ("default" outside `replica_reads`): for raw
    SQL on the layer and compliance tables, `connections[read_alias()]`."""
    return _read_alias.get()


class ReplicaRouter:
    """Layer and compliance reads inside `replica_reads` to the replica; all else to the primary."""

    def db_for_read(self, model, **hints) -> str:
        return _read_alias.get() if model._meta.app_label in ROUTED_APPS else "default"

    def db_for_write(self, model, **hints) -> str:
        return "default"

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the replica is a copy of the primary: the same rows

    def allow_migrate(self, db: str, app_label: str, model_name=None, **hints) -> bool:
        return db == "default"


class ReplicaReadsMiddleware:
    """Decide once per request where its routed reads go (settings.MIDDLEWARE).

    A read that failed because the replica went away (its connection broken) is answered again
    from the primary, and the replica counts as down until the next check: a GET or HEAD changes
    nothing, so running it twice is safe.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if REPLICA not in settings.DATABASES or not stale_reads_allowed(request.method, request.path_info):
            return self.get_response(request)
        with replica_reads() as alias:
            response = self.get_response(request)
        if alias == REPLICA and response.status_code >= 500 and not _recheck().usable:
            return self.get_response(request)  # the replica counts as down until the next check
        return response


def _recheck() -> ReplicaState:
    with _lock:
        state = _cache[REPLICA] = _check()
    return state
