"""Run a layer's quality rules on one version, set-wise in PostGIS, and store the report."""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from django.db import connection, transaction

from layers.models import Layer, LayerVersion
from layers.quality.models import QualityReport, QualityRule
from layers.quality.registry import Context, kind, validate_params

__all__ = ["run_quality", "rules_for", "install_default_rules", "DEFAULTS_FILE"]

DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")

_INSERT = """INSERT INTO layers_qualityfailure
  (report_id, rule, county, fid, reason_zh, reason_en, geom, details)
SELECT %(report)s, %(rule)s, '', q.* FROM ({select}) AS q(fid, reason_zh, reason_en, geom, details)"""

# Each failure is put in the county holding a point of its feature (or of its own geometry).
_COUNTIES = """
UPDATE layers_qualityfailure q SET county = d.code
FROM layers_district d
WHERE q.report_id = %(report)s AND d.level = 'county' AND d.geom IS NOT NULL
  AND ST_Intersects(d.geom, ST_PointOnSurface(coalesce(q.geom,
        (SELECT f.geom FROM layers_feature f WHERE f.version_id = %(v)s AND f.fid = q.fid LIMIT 1))))"""

_TALLY = (
    """SELECT rule, county, count(*) FROM layers_qualityfailure WHERE report_id = %s GROUP BY rule, county"""
)


def rules_for(layer: Layer) -> list[QualityRule]:
    """The enabled rules of a layer, in order."""
    return list(layer.quality_rules.filter(enabled=True).order_by("order", "code"))


@transaction.atomic
def run_quality(
    version: LayerVersion,
    *,
    trigger: str = QualityReport.Trigger.ON_DEMAND,
    run_by: str = "",
    county: str | None = None,
    fid_floor: int = 0,
) -> QualityReport:
    """Run the layer's enabled rules on `version` and store the report (in the caller's transaction).

    `county` and `fid_floor` mark a county's submission: its new features (fid > fid_floor) must
    lie within that county rather than within the version's coverage.
    """
    started = time.monotonic()
    layer = version.layer
    rules = rules_for(layer)
    report = QualityReport.objects.create(
        version=version,
        trigger=trigger,
        run_by=run_by,
        rules=[
            {
                "id": r.code,
                "kind": r.kind,
                "params": r.params,
                "blocking": r.blocking,
                "title_zh": kind(r.kind).title_zh,
                "title_en": kind(r.kind).title_en,
            }
            for r in rules
        ],
    )
    ctx = Context(
        version_id=version.pk,
        layer_slug=layer.slug,
        schema=layer.fields or {},
        source_crs=version.source_crs,
        county=county,
        fid_floor=fid_floor,
    )
    with connection.cursor() as cursor:
        for rule in rules:
            statements = kind(rule.kind)(**validate_params(rule.kind, rule.params)).statements(ctx)
            for sql, args in statements[:-1]:
                cursor.execute(sql, args or None)
            select, args = statements[-1]
            cursor.execute(_INSERT.format(select=select), {**args, "report": report.pk, "rule": rule.code})
        cursor.execute(_COUNTIES, {"report": report.pk, "v": version.pk})
        cursor.execute(_TALLY, [report.pk])
        tally = cursor.fetchall()
    _summarise(report, rules, tally)
    report.seconds = round(time.monotonic() - started, 3)
    report.save()
    return report


def _summarise(report: QualityReport, rules: list[QualityRule], tally: list[tuple]) -> None:
    counts = {r.code: 0 for r in rules}
    by_county: dict[str, dict[str, int]] = {}
    for rule, county, n in tally:
        counts[rule] += n
        by_county.setdefault(county or "", {}).setdefault(rule, 0)
        by_county[county or ""][rule] += n
    blocking = {r.code for r in rules if r.blocking}
    report.counts, report.county_counts = counts, by_county
    report.blocking_failures = sum(n for rule, n in counts.items() if rule in blocking)


def install_default_rules(layer: Layer) -> int:
    """Give a seeded layer its default rules (`defaults.yaml`) when it has none; return how many."""
    if layer.quality_rules.exists():
        return 0
    defaults = yaml.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8")).get(layer.slug, [])
    for order, entry in enumerate(defaults):
        QualityRule.objects.create(
            layer=layer,
            code=entry["id"],
            kind=entry["kind"],
            params=validate_params(entry["kind"], entry.get("params", {})),
            blocking=entry.get("blocking", False),
            enabled=entry.get("enabled", True),
            order=order,
        )
    return len(defaults)
