"""The sharing lag, as a probe of blueprint's operations registry (registered when the app loads)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from blueprint.ops.probes import probe
from exchange.models import OutboxRow, State

__all__ = ["sharing"]


@probe("sharing")
def sharing() -> dict | None:
    """Rows waiting for the province's front database and the age of the oldest (None: sharing
    is not set up here, EXCHANGE_DATABASE_URL empty, so nothing is due to be sent)."""
    if not settings.BLUEPRINT["EXCHANGE_DATABASE_URL"]:
        return None
    waiting = OutboxRow.objects.filter(state=State.PENDING).aggregate(n=Count("id"), oldest=Min("created_at"))
    oldest = waiting["oldest"]
    lag = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    return {"pending": waiting["n"], "oldest": oldest, "lag_s": round(lag, 1)}
