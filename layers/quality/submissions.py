"""Counties' submissions (县级数据报送): a county sends a new version of its part of a layer; the
city accepts it (a new city version with that county's part replaced) or returns it with reasons
and a correction deadline (整改期限); overdue corrections are listed for the city (通报)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from blueprint import access, audit
from blueprint.access import Perm
from blueprint.errors import Conflict, Forbidden, InvalidInput
from layers.importers import import_layer
from layers.models import District, Layer
from layers.quality import review as review_service
from layers.quality.models import Submission, VersionReview

__all__ = ["submit", "visible", "get", "accept", "return_for_correction", "overdue", "may_review"]


def _county_ok(who, code: str) -> bool:
    return District.objects.filter(access.districts_q(who), code=code).exists()


def may_review(who) -> bool:
    return access.allows(who, Perm.REVIEW_SUBMISSIONS)


def submit(who, layer: Layer, county: str, path: str | Path, *, note: str = "") -> Submission:
    """Validate a county's file as its part of `layer` and queue it for the city's review."""
    p = access.as_principal(who)
    if not access.allows(p, Perm.SUBMIT_DATA):
        raise Forbidden(
            "只有县级规划人员或获授权的县级系统可以报送数据。 (Only county staff or a county"
            " system with the data-submission interface may submit.)"
        )
    if not _county_ok(p, county):
        raise Forbidden(f"您无权为行政区 {county} 报送数据。 (You may not submit for district {county}.)")
    # A county system's token names the layers it may send (no OGC reading needed to send).
    opened = layer.slug in p.layers if p.is_token else access.can_read_layer(p, layer)
    if layer.kind != Layer.Kind.VECTOR or not opened:
        raise Forbidden(
            f"图层 {layer.slug} 不接受您的报送。 (Layer {layer.slug} is not open to your submissions.)"
        )
    with transaction.atomic():
        summary = import_layer(layer.slug, path, imported_by=p.name, activate=False, replace_county=county)
        if not summary.created:
            raise Conflict(
                "该文件已报送或导入过（内容相同）。 (This file was submitted or imported already.)"
            )
        version = layer.versions.get(number=summary.version)
        previous = (
            Submission.objects.select_for_update()
            .filter(layer=layer, county_id=county, state=Submission.State.RETURNED)
            .first()
        )
        if previous is not None:
            previous.state = Submission.State.RESUBMITTED
            previous.save(update_fields=["state"])
        submission = Submission.objects.create(
            layer=layer,
            county_id=county,
            version=version,
            file_name=Path(path).name,
            note=note,
            submitted_by=p.name,
            previous=previous,
        )
        audit.record(
            "submission.create",
            target=layer.slug,
            actor=p.name,
            county=county,
            submission=submission.pk,
            version=version.number,
            blocking_failures=summary.blocking_failures,
        )
    return submission


def visible(who) -> QuerySet[Submission]:
    """The submissions `who` may see: all for the city, their own districts' for a county."""
    qs = Submission.objects.select_related("layer", "county", "version")
    if may_review(who):
        return qs
    codes = District.objects.filter(access.districts_q(who)).values_list("code", flat=True)
    return qs.filter(Q(county_id__in=codes)) if access.allows(who, Perm.SUBMIT_DATA) else qs.none()


def get(who, pk) -> Submission:
    fits = str(pk).isdigit() and int(pk) < 2**63  # a bigint
    submission = visible(who).filter(pk=pk).first() if fits else None
    if submission is None:
        raise access.not_found("submission", pk)
    return submission


def _pending(submission: Submission) -> None:
    if submission.state != Submission.State.PENDING:
        raise Conflict(
            f"报送 #{submission.pk} 状态为“{submission.get_state_display()}”，不能再处理。"
            f" (Submission {submission.pk} is {submission.state} already.)"
        )


def accept(who, submission: Submission, *, override_reason: str = "") -> Submission:
    """Make the submission's city version live (that county's part replaced), in one transaction."""
    p = access.as_principal(who)
    if not may_review(p):
        raise Forbidden("只有市级人员可以采纳报送。 (Only city staff may accept a submission.)")
    if override_reason and not access.allows(p, Perm.OVERRIDE_QUALITY):
        raise Forbidden("只有系统管理员可以强制启用有阻断问题的数据。 (Only an administrator may override.)")
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        _pending(submission)
        if not review_service.confirm(
            submission.version.review, actor=p.name, override_reason=override_reason
        ):
            raise Conflict(
                "该报送有阻断性质量问题：请退回整改，或由系统管理员写明理由后强制采纳。"
                " (The submission has blocking quality failures: return it, or an"
                " administrator overrides with a written reason.)"
            )
        submission.state, submission.decided_by, submission.decided_at = (
            Submission.State.ACCEPTED,
            p.name,
            timezone.now(),
        )
        submission.save()
        audit.record(
            "submission.accept",
            target=submission.layer.slug,
            actor=p.name,
            county=submission.county_id,
            submission=submission.pk,
            version=submission.version.number,
            override=bool(override_reason),
        )
    return submission


def return_for_correction(who, submission: Submission, *, reasons: str, deadline: dt.date) -> Submission:
    """Return a submission to its county with reasons and a correction deadline (整改期限)."""
    p = access.as_principal(who)
    if not may_review(p):
        raise Forbidden("只有市级人员可以退回报送。 (Only city staff may return a submission.)")
    if not (reasons or "").strip():
        raise InvalidInput("请写明退回理由。 (Give the reasons for the return.)", field="reasons")
    if deadline is None or deadline < timezone.localdate():
        raise InvalidInput(
            "整改期限须为今天或以后的日期。 (The correction deadline must not be in the past.)",
            field="deadline",
        )
    with transaction.atomic():
        submission = Submission.objects.select_for_update().get(pk=submission.pk)
        _pending(submission)
        review_service.discard(submission.version.review, actor=p.name)
        submission.state, submission.reasons, submission.deadline = (
            Submission.State.RETURNED,
            reasons.strip(),
            deadline,
        )
        submission.decided_by, submission.decided_at = p.name, timezone.now()
        submission.save()
        audit.record(
            "submission.return",
            target=submission.layer.slug,
            actor=p.name,
            county=submission.county_id,
            submission=submission.pk,
            deadline=deadline.isoformat(),
        )
    return submission


def overdue(who, today: dt.date | None = None) -> QuerySet[Submission]:
    """Returned submissions whose deadline has passed with no resubmission (逾期未整改，通报)."""
    today = today or timezone.localdate()
    return visible(who).filter(state=Submission.State.RETURNED, deadline__lt=today).order_by("deadline")


def held_review(submission: Submission) -> bool:
    return submission.version.review.state == VersionReview.State.HELD
