"""Pages of data quality (质量校验报告) and counties' submissions (县级数据报送), in Chinese."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

from django.http import HttpResponseRedirect
from django.middleware.csrf import get_token
from django.views.decorators.http import require_http_methods

from blueprint import access as policy
from blueprint.errors import InvalidInput, NotFound
from layers.models import District, Layer
from layers.quality import reports, submissions
from maps.views import _page, page_errors

__all__ = ["quality_report", "submission_list", "submission_detail"]

MAP_FAILURES = 500


def _readable_version(request, slug: str, number: int):
    version = reports.find_version(slug, number)
    if not policy.can_read_layer(request, version.layer):
        raise NotFound(f"图层 {slug} 没有第 {number} 版。 (No such layer version.)")
    return version


def _highlights(version, county: str | None) -> list[dict]:
    collection = reports.failures_geojson(version, county=county, limit=MAP_FAILURES)
    return [
        {"geometry": f["geometry"], "className": "bp-conflict", "style": "conflict"}
        for f in collection["features"]
    ]


@require_http_methods(["GET"])
@page_errors
def quality_report(request, slug: str, number: int):
    """A version's quality report: counts by rule and county, the failing features on the map."""
    version = _readable_version(request, slug, number)
    county = reports.county_scope(request, request.GET.get("county") or None)
    report = reports.version_report(version, county=county, limit=200)
    return _page(
        request,
        "maps/quality.html",
        "browser",
        {"r": report, "slug": slug, "number": number},
        highlight=_extent(version) + _highlights(version, county),
        fit=True,
    )


def _extent(version) -> list[dict]:
    """The version's extent (a version under review is not on the base map yet)."""
    if version.extent is None:
        return []
    return [{"geometry": json.loads(version.extent.geojson), "className": "bp-site", "style": "site"}]


@require_http_methods(["GET", "POST"])
@page_errors
def submission_list(request):
    """The county's submissions and the form to submit; for the city, the queue and the overdue ones."""
    error = None
    if request.method == "POST":
        try:
            submission = _submit(request)
        except InvalidInput as exc:
            error = exc.detail
        else:
            return HttpResponseRedirect(f"/maps/submissions/{submission.pk}")
    rows = submissions.visible(request).order_by("-created_at")[:200]
    layers = [
        layer
        for layer in Layer.objects.filter(kind=Layer.Kind.VECTOR, active_version__isnull=False)
        if policy.can_read_layer(request, layer)
    ]
    counties = District.objects.filter(policy.districts_q(request), level=District.Level.COUNTY)
    context = {
        "rows": rows,
        "overdue": submissions.overdue(request),
        "error": error,
        "may_submit": policy.allows(request, policy.Perm.SUBMIT_DATA),
        "may_review": submissions.may_review(request),
        "layers": layers,
        "counties": counties,
        "csrf": get_token(request),
    }
    return _page(request, "maps/submissions.html", "browser", context)


def _submit(request):
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput("请选择要报送的数据文件。 (Choose a file.)", field="file")
    layer = reports.layer_of(request.POST.get("layer", ""))
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / Path(upload.name).name
        with target.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        return submissions.submit(
            request, layer, request.POST.get("county", ""), target, note=request.POST.get("note", "")
        )


@require_http_methods(["GET", "POST"])
@page_errors
def submission_detail(request, pk: int):
    """One submission: its report for the county and on the map; the city accepts or returns it."""
    submission = submissions.get(request, pk)
    error = None
    if request.method == "POST":
        try:
            _decide(request, submission)
        except InvalidInput as exc:
            error = exc.detail
        else:
            return HttpResponseRedirect(f"/maps/submissions/{submission.pk}")
        submission.refresh_from_db()
    report = reports.version_report(submission.version, county=submission.county_id, limit=200)
    context = {
        "s": submission,
        "r": report,
        "error": error,
        "may_review": submissions.may_review(request),
        "may_override": policy.allows(request, policy.Perm.OVERRIDE_QUALITY),
        "csrf": get_token(request),
        "today": dt.date.today().isoformat(),
    }
    return _page(
        request,
        "maps/submission.html",
        "browser",
        context,
        highlight=_highlights(submission.version, submission.county_id),
        fit=True,
    )


def _decide(request, submission) -> None:
    if request.POST.get("action") == "accept":
        submissions.accept(request, submission, override_reason=request.POST.get("override_reason", ""))
        return
    try:
        deadline = dt.date.fromisoformat(request.POST.get("deadline", ""))
    except ValueError as exc:
        raise InvalidInput("整改期限应为 YYYY-MM-DD 格式的日期。", field="deadline") from exc
    submissions.return_for_correction(
        request, submission, reasons=request.POST.get("reasons", ""), deadline=deadline
    )
