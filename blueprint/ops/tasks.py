"""The periodic tasks of operations: the alert rules every minute, the service log's retention daily."""

from __future__ import annotations

from asgiref.sync import sync_to_async

from blueprint.ops import alerts, requestlog
from blueprint.tasks import app

__all__ = ["evaluate_alerts", "prune_service_log"]


@app.periodic(cron="* * * * *", periodic_id="evaluate-alerts")
@app.task(
    name="blueprint.evaluate_alerts", queue="maintenance", queueing_lock="evaluate-alerts", pass_context=False
)
async def evaluate_alerts(timestamp: int) -> int:
    """Every minute: open, refresh or resolve the alerts; return how many are open."""
    return len(await sync_to_async(alerts.evaluate)())


@app.periodic(cron="17 3 * * *", periodic_id="prune-service-log")
@app.task(
    name="blueprint.prune_service_log",
    queue="maintenance",
    queueing_lock="prune-service-log",
    pass_context=False,
)
async def prune_service_log(timestamp: int) -> int:
    """Daily: delete service log rows past LOG_RETENTION_DAYS."""
    return await sync_to_async(requestlog.prune)()
