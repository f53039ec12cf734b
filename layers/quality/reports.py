"""A version's quality report, whole or for one county: counts by rule, the failing features with
their reasons, their geometries for a map. `version_report` is what pages, REST and statistics read."""

from __future__ import annotations

import json

from django.db import connection

from blueprint import audit
from blueprint.errors import NotFound
from layers.models import District, Layer, LayerVersion
from layers.quality.models import QualityReport
from layers.quality.review import latest_report
from layers.quality.runner import run_quality

__all__ = [
    "county_scope",
    "version_report",
    "report_for",
    "failures_geojson",
    "run_on_demand",
    "find_version",
]

MAX_FAILURES = 500


def county_scope(who, county: str | None) -> str | None:
    """The county whose figures `who` may read: any (or the whole city) for the city level and the
    layer administrators; a county planner or county system its own county only."""
    from blueprint import access
    from blueprint.access import Perm

    if access.allows(who, Perm.REVIEW_SUBMISSIONS) or access.allows(who, Perm.IMPORT_LAYERS):
        return county or None
    counties = District.objects.filter(level=District.Level.COUNTY)
    allowed = set(counties.filter(access.districts_q(who)).values_list("code", flat=True))
    if county is None and allowed and allowed == set(counties.values_list("code", flat=True)):
        return None  # a token without a district scope speaks for the city
    if county in allowed or (county is None and len(allowed) == 1):
        return county or next(iter(allowed))
    raise NotFound(
        "没有该行政区的质量报告，或您无权查看。请用 ?county= 指定您所辖的县。"
        " (No report for that district you may read: name your county with ?county=.)"
    )


def find_version(slug: str, number: int) -> LayerVersion:
    fits = 0 < int(number) < 2**31  # a version number is a 4-byte integer in the database
    version = (LayerVersion.objects.select_related("layer").filter(layer__slug=slug, number=number).first()
               if fits else None)
    if version is None:
        raise NotFound(f"图层 {slug} 没有第 {number} 版。 (Layer {slug} has no version {number}.)")
    return version


def report_for(version: LayerVersion) -> QualityReport:
    report = latest_report(version)
    if report is None:
        raise NotFound(f"{version} 还没有质量校验报告：请先运行校验。 (No quality report for {version} yet.)")
    return report


def run_on_demand(version: LayerVersion, *, actor: str = "") -> QualityReport:
    """Run the layer's current rules on a stored version again (校验) and audit it."""
    report = run_quality(version, trigger=QualityReport.Trigger.ON_DEMAND, run_by=actor)
    audit.record(
        "quality.run",
        target=version.layer.slug,
        actor=actor or None,
        version=version.number,
        report=report.pk,
        blocking_failures=report.blocking_failures,
    )
    return report


def version_report(
    version: LayerVersion, *, county: str | None = None, limit: int = MAX_FAILURES, offset: int = 0
) -> dict:
    """The latest quality report of `version` (for `county` only, when given) as plain data.

    `rules[*].failed` count the failures by rule, `counties[code].failed` by county and rule
    (a failure belongs to the county holding a point of its feature); `failures` lists up to
    `limit` failing features with their reasons.
    """
    report = report_for(version)
    review = getattr(version, "review", None)
    by_county = report.county_counts or {}
    counts = by_county.get(county, {}) if county else report.counts
    failures = report.failures.order_by("rule", "fid", "id")
    if county:
        failures = failures.filter(county=county)
    blocking = {r["id"] for r in report.rules if r["blocking"]}
    names = dict(District.objects.filter(code__in=[c for c in by_county if c]).values_list("code", "name"))
    blocking_here = sum(n for rule, n in counts.items() if rule in blocking)
    return {
        "layer": version.layer.slug,
        "layer_title_zh": version.layer.title_zh,
        "version": version.number,
        "report_id": report.pk,
        "run_at": report.created_at.isoformat(),
        "trigger": report.trigger,
        "run_by": report.run_by,
        "seconds": report.seconds,
        "county": county,
        "review_state": review.state if review else None,
        "features": version.feature_count,
        "blocking_failures": blocking_here,
        "status": "blocked" if blocking_here else ("warnings" if any(counts.values()) else "passed"),
        "rules": [
            {
                **{k: r[k] for k in ("id", "kind", "title_zh", "title_en", "blocking", "params")},
                "failed": counts.get(r["id"], 0),
            }
            for r in report.rules
        ],
        "counties": {
            code or "": {
                "name": names.get(code, "（区外）" if not code else code),
                "failed": rules,
                "total": sum(rules.values()),
            }
            for code, rules in sorted(by_county.items())
        },
        "failures_total": failures.count(),
        "failures": [
            {
                "rule": f.rule,
                "fid": f.fid,
                "county": f.county,
                "reason_zh": f.reason_zh,
                "reason_en": f.reason_en,
                "details": f.details,
            }
            for f in failures[offset : offset + limit]
        ],
    }


_GEOJSON = """
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
  'type', 'Feature', 'geometry', ST_AsGeoJSON(x.geom, 7)::json,
  'properties', json_build_object('rule', x.rule, 'fid', x.fid, 'county', x.county, 'reason', x.reason_zh)
)), '[]'::json))
FROM (SELECT q.rule, q.fid, q.county, q.reason_zh, coalesce(q.geom, f.geom) AS geom
      FROM layers_qualityfailure q
      LEFT JOIN layers_feature f ON f.version_id = %(v)s AND f.fid = q.fid AND q.geom IS NULL
      WHERE q.report_id = %(report)s AND (%(county)s = '' OR q.county = %(county)s)
      ORDER BY q.rule, q.fid LIMIT %(limit)s) x WHERE x.geom IS NOT NULL"""


def failures_geojson(version: LayerVersion, *, county: str | None = None, limit: int = MAX_FAILURES) -> dict:
    """The failing features (or the problem's own geometry: an overlap, a gap) as GeoJSON."""
    report = report_for(version)
    with connection.cursor() as cursor:
        cursor.execute(
            _GEOJSON, {"v": version.pk, "report": report.pk, "county": county or "", "limit": limit}
        )
        return _as_dict(cursor.fetchone()[0])


def _as_dict(value) -> dict:
    return json.loads(value) if isinstance(value, str) else value


def layer_of(slug: str) -> Layer:
    layer = Layer.objects.filter(slug=slug).first()
    if layer is None:
        raise NotFound(f"图层 “{slug}” 未登记。 (Layer '{slug}' is not registered.)")
    return layer


def render_html(version: LayerVersion, *, county: str | None = None) -> str:
    """The report as a self-contained page (for print and PDF)."""
    from django.template.loader import render_to_string

    return render_to_string("layers/quality_report.html", {"r": version_report(version, county=county)})


def render_pdf(version: LayerVersion, *, county: str | None = None) -> bytes:
    from blueprint.pdf import html_to_pdf

    return html_to_pdf(render_html(version, county=county))
