"""The layer task kinds (see blueprint/tasks.py): 多规合一 conflicts recomputed after a switch."""

from __future__ import annotations

from django.db import transaction
from procrastinate.exceptions import AlreadyEnqueued

from blueprint.tasks import task
from layers import conflicts
from layers.models import ConflictRule

__all__ = ["recompute_conflicts_task", "on_version_activated"]


@task(name="layers.recompute_conflicts", queue="layers")
def recompute_conflicts_task(rule_id: int) -> int:
    """Recompute one conflict rule's patches from its layers' active versions."""
    rule = ConflictRule.objects.filter(pk=rule_id, enabled=True).first()
    return conflicts.recompute(rule) if rule is not None else 0


def queue_recompute(rule: ConflictRule) -> bool:
    """Queue a rule's recomputation (in the caller's transaction); False when one is queued already."""
    try:
        with transaction.atomic():
            recompute_conflicts_task.configure(queueing_lock=f"conflicts-{rule.slug}").defer(rule_id=rule.pk)
    except AlreadyEnqueued:
        return False
    return True


def on_version_activated(*, layer, version, **_) -> None:
    """A layer switched version: queue the recomputation of the conflicts that read it."""
    for rule in conflicts.rules_for_layer(layer):
        queue_recompute(rule)
