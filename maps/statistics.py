"""统计分析 pages: the dashboard, its drill-down lists, its exports and the monthly reports.

Adapters over compliance.statistics: one service call, then a template or a file. Who may open
them is the rule table's (`maps/statistics*`: the statistics permission; applicants get a 403
page); what they show is the caller's scope (a county planner's districts).
"""

from __future__ import annotations

from functools import cache

from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from blueprint import audit
from blueprint.errors import NotFound
from compliance import statistics
from compliance.statistics import export, lists, monthly
from compliance.statistics.figures import STAGE_ZH, TYPE_ZH, VERDICT_ZH
from maps.views import page_errors

__all__ = ["dashboard", "project_list", "check_list", "export_xlsx", "export_pdf", "monthly_file"]

PAGE_SIZE = 50
DRILL_PAGES = {
    "projects": "maps:statistics-projects",
    "checks": "maps:statistics-checks",
    "sharing": "exchange:sharing",
}
# The comparison figures the map can shade the counties by.
MAP_METRICS = ["checks", "projects", "fail_share", "blocked_share", "conflict_mu", "median_hours"]


@cache
def _list_path(kind: str) -> str:
    return reverse(DRILL_PAGES[kind])  # a few thousand cells per page: resolve each list once


def drill_url(target: dict | None) -> str:
    """The list page of a drill-down target (see compliance.statistics.tables.drill)."""
    if not target:
        return ""
    params = {k: v for k, v in target.items() if k != "kind"}
    return f"{_list_path(target['kind'])}?{urlencode(params)}"


def _table_view(table) -> dict:
    rows = []
    for row in table.rows:
        cells = [
            {
                "text": export.cell_text(row.get(c.key), c.kind),
                "kind": c.kind,
                "href": drill_url(table.cell_drill(row, c.key)) if c.kind != "text" else "",
            }
            for c in table.columns
        ]
        rows.append(cells)
    return {
        "key": table.key,
        "title": table.title,
        "note": table.note,
        "empty": table.empty,
        "columns": table.columns,
        "rows": rows,
    }


def _chart_data(dash) -> dict:
    """What the page script draws: the tables' rows with each cell's drill-down URL, and counties."""
    tables = {}
    for table in dash.tables:
        rows = []
        for row in table.rows:
            plain = {k: v for k, v in row.items() if not k.startswith("_")}
            plain["_links"] = {c.key: drill_url(table.cell_drill(row, c.key)) for c in table.columns}
            rows.append(plain)
        tables[table.key] = {
            "title": table.title,
            "columns": [{"key": c.key, "title": c.title, "kind": c.kind} for c in table.columns],
            "rows": rows,
        }
    shapes = export.county_shapes(dash.scope.codes)
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": name, "code": code}, "geometry": geometry}
            for code, name, geometry in shapes
        ],
    }
    return {"tables": tables, "counties": geojson, "metrics": MAP_METRICS}


@require_GET
@page_errors
def dashboard(request):
    """The dashboard: figures, charts, the county map, tables; filters by date range and district."""
    dash = statistics.for_request(request, request.GET)
    query = urlencode(dash.scope.filters.as_params())
    audit.record("statistics.read", target="dashboard", request=request, **dash.scope.filters.as_params())
    return render(
        request,
        "maps/statistics.html",
        {
            "page": "statistics",
            "dash": dash,
            "tables": [_table_view(t) for t in dash.tables],
            "chart_data": _chart_data(dash),
            "filters": dash.scope.filters,
            "query": query,
            "districts": _district_choices(request),
            "reports": monthly.readable_reports(request)[:24],
        },
    )


def _district_choices(request) -> list[tuple[str, str]]:
    everything = statistics.resolve_scope(request, statistics.Filters())
    cities = [(code, f"{name}（全市）") for code, name in everything.cities.items()]
    return cities + [(code, name) for code, name in everything.counties.items()]


def _list_page(request, kind: str, rows, template: str):
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        template,
        {
            "page": "statistics",
            "kind": kind,
            "rows": page,
            "total": page.paginator.count,
            "described": lists.describe(request.GET),
            "query": params.urlencode(),
            "stages": STAGE_ZH,
            "types": TYPE_ZH,
            "verdicts": VERDICT_ZH,
        },
    )


@require_GET
@page_errors
def project_list(request):
    """The projects behind a figure (drill-down)."""
    scope = statistics.resolve_scope(request, statistics.parse_filters(request.GET))
    return _list_page(
        request, "projects", lists.project_list(scope, request.GET), "maps/statistics_projects.html"
    )


@require_GET
@page_errors
def check_list(request):
    """The checks behind a figure (drill-down)."""
    scope = statistics.resolve_scope(request, statistics.parse_filters(request.GET))
    return _list_page(request, "checks", lists.check_list(scope, request.GET), "maps/statistics_checks.html")


def _filename(stem: str, dash, suffix: str) -> str:
    params = dash.scope.filters.as_params()
    parts = [stem, params.get("district", ""), params.get("from", ""), params.get("to", "")]
    return "-".join(p for p in parts if p) + f".{suffix}"


@require_GET
@page_errors
def export_xlsx(request):
    """Every table (or ?table=KEY) as an Excel workbook."""
    dash = statistics.for_request(request, request.GET)
    keys = request.GET.getlist("table") or None
    if keys and not all(dash.table(k) for k in keys):
        raise NotFound(f"没有统计表 {', '.join(k for k in keys if not dash.table(k))}。 (No such table.)")
    audit.record("statistics.export", target="xlsx", request=request, **dash.scope.filters.as_params())
    response = HttpResponse(
        export.workbook_bytes(dash, keys),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename("statistics", dash, "xlsx")}"'
    return response


@require_GET
@page_errors
def export_pdf(request):
    """The page (its tables and the county map) as PDF."""
    dash = statistics.for_request(request, request.GET)
    audit.record("statistics.export", target="pdf", request=request, **dash.scope.filters.as_params())
    response = HttpResponse(export.pdf_bytes(dash), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{_filename("statistics", dash, "pdf")}"'
    return response


@require_GET
@page_errors
def monthly_file(request, pk: int, fmt: str):
    """A kept monthly report's PDF or Excel file, for who may read its district."""
    report = monthly.readable_reports(request).filter(pk=pk).first() if fmt in ("pdf", "xlsx") else None
    path = monthly.report_path(report, fmt) if report else None
    if path is None or not path.is_file():
        raise NotFound(f"月报 {pk} 不存在或无权查看。 (No monthly report {pk}, or not yours to see.)")
    audit.record(
        "statistics.monthly_read",
        target=f"{report.district_id}:{report.month:%Y-%m}",
        request=request,
        format=fmt,
    )
    content_type = (
        "application/pdf"
        if fmt == "pdf"
        else ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    )
    name = f"monthly-{report.district_id}-{report.month:%Y-%m}.{fmt}"
    return FileResponse(path.open("rb"), content_type=content_type, as_attachment=fmt != "pdf", filename=name)
