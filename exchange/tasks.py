"""The sharing task kinds (see blueprint/tasks.py): the push, and the minute's push and poll."""

from procrastinate import RetryStrategy

from blueprint.tasks import app, task
from exchange import delivery
from exchange.front import FrontUnavailable

__all__ = ["push", "sync", "poll", "defer_poll"]

# The province down or slow: try again after 2, 4, 8 … s; the minute's `sync` catches up after that.
_RETRY = RetryStrategy(max_attempts=8, exponential_wait=2, retry_exceptions={FrontUnavailable})


@task(name="exchange.push", queue="exchange", lock="exchange-push", queueing_lock="exchange-push",
      retry=_RETRY)
def push() -> int:
    """Send every pending outbox row (deferred by the transaction that wrote them)."""
    return delivery.push().sent


@app.periodic(cron="* * * * *", periodic_id="exchange-sync")
@task(name="exchange.sync", queue="exchange", lock="exchange-push", queueing_lock="exchange-sync")
def sync(timestamp: int) -> int:
    """Every minute: send what is still pending (after an outage), then read the feedback."""
    delivery.push()
    return delivery.poll()


@task(name="exchange.poll", queue="exchange", queueing_lock="exchange-poll")
def poll() -> int:
    """Read the province's feedback now (its notification call)."""
    return delivery.poll()


def defer_poll() -> None:
    """Queue one feedback read (at most one waits)."""
    from django.db import transaction
    from procrastinate.exceptions import AlreadyEnqueued

    try:
        with transaction.atomic():
            poll.defer()
    except AlreadyEnqueued:
        pass
