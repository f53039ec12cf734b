"""The decision on a new version: activate it (in one transaction), hold it, or discard it.

A version whose quality report has blocking failures goes live only when an administrator
overrides with a written reason; the override is audited with the counts it overrode.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from blueprint import audit
from blueprint.errors import Conflict, InvalidInput
from layers.models import Layer
from layers.quality.models import QualityReport, VersionReview
from layers.services import on_version_activated

__all__ = ["confirm", "discard", "latest_report"]

MIN_REASON = 10


def latest_report(version) -> QualityReport | None:
    return version.quality_reports.order_by("-created_at", "-id").first()


@transaction.atomic
def confirm(review: VersionReview, *, actor: str = "", override_reason: str = "") -> bool:
    """Activate the reviewed version unless blocking failures hold it; return whether it went live.

    Everything (the active version, the access level, the derived tables, the audit entries)
    changes in one transaction.
    """
    review = VersionReview.objects.select_for_update().select_related("version__layer").get(pk=review.pk)
    if review.state in (VersionReview.State.ACTIVATED, VersionReview.State.DISCARDED):
        raise Conflict(
            f"第 {review.version.number} 版已{review.get_state_display()}，不能再次确认。"
            f" (Version {review.version.number} is {review.state} already.)"
        )
    layer = Layer.objects.select_for_update().get(pk=review.version.layer_id)
    if review.base_version_id and layer.active_version_id != review.base_version_id:
        raise Conflict(
            "该版本基于的城市现行版本已被替换：请重新报送或重新导入。"
            " (The city version this one was built on is no longer active: submit again.)"
        )
    report = latest_report(review.version)
    blocking = report.blocking_failures if report else 0
    reason = (override_reason or "").strip()
    if blocking and not reason:
        review.state = VersionReview.State.HELD
        review.save(update_fields=["state"])
        return False
    if blocking and len(reason) < MIN_REASON:
        raise InvalidInput(
            f"强制启用须写明理由（至少 {MIN_REASON} 个字）。"
            f" (An override needs a written reason of {MIN_REASON}+ characters.)",
            field="override_reason",
        )
    _activate(layer, review, actor, reason if blocking else "", report)
    return True


def _activate(layer: Layer, review: VersionReview, actor: str, reason: str, report) -> None:
    version = review.version
    if reason:
        audit.record(
            "quality.override",
            target=layer.slug,
            actor=actor or None,
            version=version.number,
            reason=reason,
            report=report.pk,
            blocking_failures=report.blocking_failures,
            counts=report.counts,
        )
    layer.active_version = version
    fields = ["active_version"]
    if review.access_level and review.access_level != layer.access_level:
        audit.record(
            "layer.change",
            target=layer.slug,
            actor=actor or None,
            access_level=[layer.access_level, review.access_level],
        )
        layer.access_level = review.access_level
        fields.append("access_level")
    layer.save(update_fields=fields)
    on_version_activated(layer, version)
    audit.record(
        "layer.activate",
        target=layer.slug,
        actor=actor or None,
        version=version.number,
        override=bool(reason),
    )
    review.state, review.override_reason = VersionReview.State.ACTIVATED, reason
    review.decided_by, review.decided_at = actor, timezone.now()
    review.save()


@transaction.atomic
def discard(review: VersionReview, *, actor: str = "") -> None:
    """Give up a version that was never activated (it stays stored, never live)."""
    review = VersionReview.objects.select_for_update().get(pk=review.pk)
    if review.state == VersionReview.State.ACTIVATED:
        raise Conflict("已启用的版本不能放弃。 (An activated version cannot be discarded.)")
    review.state, review.decided_by, review.decided_at = VersionReview.State.DISCARDED, actor, timezone.now()
    review.save()
    audit.record(
        "layer.discard", target=review.version.layer.slug, actor=actor or None, version=review.version.number
    )
