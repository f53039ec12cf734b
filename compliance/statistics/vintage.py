"""Each county's data vintage (数据现势性) and data quality (数据质量).

Vintage: for every vector layer the caller may read, the active version that covers the county
(its coverage meets the county; a version without coverage covers everywhere), its number and the
date it was imported, and how many versions of the layer cover the county in all.

Quality: the quality reports `layers.quality` writes (another branch); `quality_reports` is the one
reader of them, and says "暂无质量报告" until they exist.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.utils import timezone

from blueprint import access
from compliance.statistics.scope import SHANGHAI, Scope
from compliance.statistics.tables import COUNTY_COLUMNS, Column, Table
from layers.models import Layer

__all__ = ["vintage_table", "quality_table", "quality_reports", "NO_QUALITY"]

NO_QUALITY = "暂无质量报告"
NOT_LAYERS = ("admin_district", "project_site")  # the districts themselves, and projects

_VINTAGE_SQL = """
SELECT d.code, l.slug, l.title_zh, av.number, av.created_at,
       (SELECT count(*) FROM layers_layerversion v
         WHERE v.layer_id = l.id AND (v.coverage IS NULL OR ST_Intersects(v.coverage, d.geom))) AS versions
  FROM layers_layer l
  JOIN layers_layerversion av ON av.id = l.active_version_id
  JOIN layers_district d ON d.code = ANY(%s)
 WHERE l.id = ANY(%s) AND (av.coverage IS NULL OR ST_Intersects(av.coverage, d.geom))
 ORDER BY d.code, l.slug"""


def _layers(scope: Scope) -> list[int]:
    readable = Layer.objects.filter(
        access.readable_layers_q(scope.who), kind=Layer.Kind.VECTOR, active_version__isnull=False
    ).exclude(slug__in=NOT_LAYERS)
    return list(readable.values_list("pk", flat=True))


def vintage_table(scope: Scope) -> Table:
    """Per county and layer: the active version covering it, when it was imported, its age in days."""
    with connection.cursor() as cursor:
        cursor.execute(_VINTAGE_SQL, [scope.codes, _layers(scope)])
        found = cursor.fetchall()
    today = timezone.localdate(timezone=SHANGHAI)
    rows = []
    for code, slug, title, number, imported, versions in found:
        day = timezone.localtime(imported, SHANGHAI).date()
        rows.append(
            {
                "county": code,
                "county_name": scope.counties[code],
                "layer": slug,
                "layer_title": title,
                "version": number,
                "imported": day.isoformat(),
                "age_days": (today - day).days,
                "versions": versions,
            }
        )
    return Table(
        "vintage",
        "数据现势性（按区县、图层：现行版本及导入日期）",
        [
            *COUNTY_COLUMNS,
            Column("layer", "图层标识", "text"),
            Column("layer_title", "图层", "text"),
            Column("version", "现行版本"),
            Column("imported", "导入日期", "date"),
            Column("age_days", "距今天数"),
            Column("versions", "历史版本数"),
        ],
        rows,
        note="只列出您有权查看的图层。",
    )


def oldest_by_county(table: Table) -> dict[str, dict]:
    """The oldest active layer date of each county (its vintage, for the comparison)."""
    out: dict[str, dict] = {}
    for row in table.rows:
        seen = out.get(row["county"])
        if seen is None or row["imported"] < seen["imported"]:
            out[row["county"]] = {"imported": row["imported"], "age_days": row["age_days"]}
    return out


def quality_reports(
    county_codes: list[str], *, start: dt.date | None = None, end: dt.date | None = None,
    layer_ids: list[int] | None = None,
) -> list[dict] | None:
    """The data-quality reports of these counties (layers/quality/), or None while there are none.

    One dict per (county, layer) of each layer's latest report on its active version run within
    [start, end]: `county`, `layer`, `checked_at` (ISO date), `passed` and `failed` (rules without
    and with failures in that county) and `problems` (failing features in that county).
    `layer_ids` limits it to the layers the caller may read.
    """
    from layers.models import Layer
    from layers.quality.models import QualityReport

    found = []
    layers = Layer.objects.filter(active_version__isnull=False).order_by("slug")
    if layer_ids is not None:
        layers = layers.filter(pk__in=layer_ids)
    for layer in layers:
        reports = QualityReport.objects.filter(version_id=layer.active_version_id)
        if start:
            reports = reports.filter(created_at__date__gte=start)
        if end:
            reports = reports.filter(created_at__date__lte=end)
        report = reports.order_by("-created_at").first()
        if report is None:
            continue
        for code in county_codes:
            failed = {rule: n for rule, n in (report.county_counts.get(code) or {}).items() if n}
            found.append({"county": code, "layer": layer.title_zh,
                          "checked_at": report.created_at.date().isoformat(),
                          "passed": len(report.counts) - len(failed), "failed": len(failed),
                          "problems": sum(failed.values())})
    return found or None


def quality_table(scope: Scope) -> Table:
    """The quality reports of the scope's counties, or the table saying there are none."""
    found = quality_reports(scope.codes, start=scope.filters.start, end=scope.filters.end,
                            layer_ids=_layers(scope)) or []
    rows = [{**r, "county_name": scope.counties.get(r["county"], r["county"])} for r in found]
    return Table(
        "quality",
        "数据质量（质量检查报告）",
        [
            *COUNTY_COLUMNS,
            Column("layer", "图层", "text"),
            Column("checked_at", "检查日期", "date"),
            Column("passed", "通过规则数"),
            Column("failed", "未通过规则数"),
            Column("problems", "问题要素数"),
        ],
        rows,
        empty=NO_QUALITY,
    )
