"""Background work on procrastinate (PostgreSQL itself is the queue): how a task kind is declared.

Task kinds are registered by the modules of settings.PROCRASTINATE_IMPORT_PATHS, each with
`@task(...)`. A task body is a plain sync function over the ORM; the worker runs it on its one
ORM thread (`sync_to_async`, thread-sensitive), and procrastinate's Django app closes stale
connections around each task.

Workers send a heartbeat every JOB_STALE_SECONDS / 4 (at most 10 s). `retry_stalled_jobs` (every
15 s, on any worker) runs again the jobs of a worker silent for JOB_STALE_SECONDS (a worker killed
mid-job, its job left `doing`); a task declared with `give_up` gets that call instead of a new run
once its workers died JOB_MAX_ATTEMPTS times. tests/exchange/test_kill.py kills a real worker.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Callable

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection, transaction
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

__all__ = ["app", "task", "retry_stalled", "run_until_idle"]

logger = logging.getLogger(__name__)


def task(*, name: str, queue: str, give_up: Callable[..., None] | None = None, **options):
    """Register a task kind with procrastinate; the decorated sync function is its body.

    `give_up(**kwargs)` is called instead of the body when the job's workers died
    JOB_MAX_ATTEMPTS times (procrastinate counts the attempts).
    """

    def register(body: Callable[..., object]):
        wants_attempt = "attempt" in inspect.signature(body).parameters

        @functools.wraps(body)
        async def run(context, **kwargs):
            attempt = context.job.attempts
            if give_up is not None and attempt >= settings.BLUEPRINT["JOB_MAX_ATTEMPTS"]:
                logger.warning("job %s (%s): its workers died %s times; given up", context.job.id,
                               name, attempt)
                return await sync_to_async(give_up)(**kwargs)
            extra = {"attempt": attempt} if wants_attempt else {}
            return await sync_to_async(body)(**kwargs, **extra)

        return app.task(name=name, queue=queue, pass_context=True, **options)(run)

    return register


def retry_stalled() -> int:
    """Queue again the running jobs of workers silent for JOB_STALE_SECONDS; return how many."""
    return async_to_sync(_retry_stalled)()


async def _retry_stalled() -> int:
    manager = app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=settings.BLUEPRINT["JOB_STALE_SECONDS"])
    now = await sync_to_async(_database_now)()
    for job in stalled:
        logger.warning("job %s (%s) lost its worker; queued again", job.id, job.task_name)
        await manager.retry_job(job, retry_at=now)
    return len(stalled)


def _database_now():
    # The database's clock, not this machine's: workers on several machines agree on it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


# Every 15 s (croniter's sixth field is seconds): a dead worker's job runs again within
# JOB_STALE_SECONDS + 15 s, well inside the sharing rule's 5 minutes.
@app.periodic(cron="* * * * * */15", periodic_id="retry-stalled")
@app.task(name="blueprint.retry_stalled_jobs", queue="maintenance", queueing_lock="retry-stalled",
          pass_context=False)
async def retry_stalled_jobs(timestamp: int) -> int:
    """Run again the jobs whose worker died (no heartbeat)."""
    return await _retry_stalled()


@app.periodic(cron="7 * * * *", periodic_id="prune-maintenance")
@app.task(name="blueprint.prune_maintenance_jobs", queue="maintenance",
          queueing_lock="prune-maintenance", pass_context=False)
async def prune_maintenance_jobs(timestamp: int) -> None:
    """Hourly: forget the finished sweeps of the maintenance queue (5 760 a day), not other jobs."""
    await app.job_manager.delete_old_jobs(nb_hours=1, queue="maintenance")


def run_until_idle(queues: list[str] | None = None) -> None:
    """Run a worker on this thread's database connection until the queues are empty.

    What tests and one-off scripts use: the jobs run inside the caller's transaction.
    """
    with app.replace_connector(_ThisConnection()) as here:
        # No connection clean-up around the tasks: the connection is the caller's, mid-transaction.
        async_to_sync(here.run_worker_async)(queues=queues, wait=False, listen_notify=False,
                                             install_signal_handlers=False, task_middleware=[])


class _ThisConnection(DjangoConnector):
    """procrastinate's Django connector as a worker's, inside the caller's transaction.

    Each statement gets a savepoint, as it would be a transaction of its own for a real worker:
    a refused duplicate (a periodic job already queued) must not abort the caller's transaction.
    Django's psycopg 3 set-up reads jsonb as text (its JSONField decodes it): decoded here.
    """

    def execute_query(self, query, **arguments):
        with transaction.atomic():
            return super().execute_query(query, **arguments)

    def execute_query_one(self, query, **arguments):
        with transaction.atomic():
            return super().execute_query_one(query, **arguments)

    def execute_query_all(self, query, **arguments):
        with transaction.atomic():
            return super().execute_query_all(query, **arguments)

    def _dictfetch(self, cursor):
        for row in super()._dictfetch(cursor):
            if isinstance(row.get("args"), str):
                row["args"] = json.loads(row["args"])
            yield row
