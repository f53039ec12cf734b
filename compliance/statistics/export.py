"""The dashboard as an Excel workbook (one sheet per table, openpyxl) and as a PDF (the report
renderer of compliance.reports), with the counties drawn as a choropleth in SVG."""

from __future__ import annotations

import html
import io
import json
import math

from django.db import connection
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from compliance import reports
from compliance.statistics.dashboard import Dashboard
from compliance.statistics.tables import Table

__all__ = ["workbook_bytes", "pdf_bytes", "render_html", "choropleth_svg", "cell_text", "FORMATS"]

FORMATS = {"share": "0.00%", "hours": "0.00", "minutes": "0.00", "number": "#,##0.0000", "int": "#,##0"}
HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")


def _sheet_name(table: Table, used: set[str]) -> str:
    # Excel allows 31 characters and no []:*?/\ in a sheet name.
    base = "".join(ch for ch in table.title if ch not in "[]:*?/\\")[:29] or table.key[:29]
    name, n = base, 2
    while name in used:
        name, n = f"{base[:27]}{n}", n + 1
    used.add(name)
    return name


def workbook_bytes(dash: Dashboard, keys: list[str] | None = None) -> bytes:
    """Every table (or those named) as a sheet: a header row, then one row per table row."""
    book = Workbook()
    about = book.active
    about.title = "说明"
    about.append(["一张蓝图 统计分析"])
    about.append(["生成时间", dash.generated_at + "（北京时间）"])
    for name, value in dash.scope.filters.as_params().items():
        about.append([{"from": "起始日期", "to": "结束日期", "district": "行政区"}[name], value])
    about.append(["区县", "、".join(dash.scope.counties.values())])
    used = {"说明"}
    for table in dash.tables:
        if keys and table.key not in keys:
            continue
        _write_sheet(book.create_sheet(_sheet_name(table, used)), table)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write_sheet(sheet, table: Table) -> None:
    sheet.append([c.title for c in table.columns])
    for cell in sheet[1]:
        cell.font, cell.fill = Font(bold=True), HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in table.rows:
        sheet.append([row.get(c.key) for c in table.columns])
    for index, column in enumerate(table.columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(10, min(30, len(column.title) * 2 + 2))
        if column.kind in FORMATS:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = FORMATS[column.kind]
    if not table.rows:
        sheet.append([table.empty])
    sheet.freeze_panes = "A2"


def cell_text(value, kind: str) -> str:
    """A value as the page and the PDF print it."""
    if value is None or value == "":
        return "—"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "number":
        return f"{value:,.2f}"
    if kind in ("hours", "minutes"):
        return f"{value:,.1f}"
    if kind == "int":
        return f"{value:,}"
    return str(value)


_COUNTIES_SQL = """
SELECT code, name, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, %s), 5)
  FROM layers_district WHERE code = ANY(%s) AND geom IS NOT NULL ORDER BY code"""


def county_shapes(codes: list[str], tolerance: float = 0.002) -> list[tuple[str, str, dict]]:
    """The counties' boundaries, simplified for drawing: (code, name, GeoJSON geometry)."""
    with connection.cursor() as cursor:
        cursor.execute(_COUNTIES_SQL, [tolerance, codes])
        return [(code, name, json.loads(geometry)) for code, name, geometry in cursor.fetchall()]


def _rings(geometry: dict):
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    for polygon in polygons:
        yield from polygon


def choropleth_svg(
    values: dict[str, float], codes: list[str], width: int = 640, height: int = 420, title: str = ""
) -> str:
    """Counties shaded by `values` (light to dark blue), with their names; a plain SVG string."""
    shapes = county_shapes(codes)
    if not shapes:
        return ""
    points = [p for _, _, g in shapes for ring in _rings(g) for p in ring]
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    kx = math.cos(math.radians((south + north) / 2))
    scale = min((width - 20) / max((east - west) * kx, 1e-9), (height - 40) / max(north - south, 1e-9))
    top = max(values.values(), default=0) or 1
    paths = []
    for code, name, geometry in shapes:
        share = values.get(code, 0) / top
        colour = f"rgb({int(235 - 190 * share)},{int(243 - 150 * share)},{int(251 - 90 * share)})"
        data = " ".join(
            "M"
            + " L".join(f"{10 + (x - west) * kx * scale:.1f},{30 + (north - y) * scale:.1f}" for x, y in ring)
            + "Z"
            for ring in _rings(geometry)
        )
        paths.append(
            f'<path d="{data}" fill="{colour}" stroke="#41536b" stroke-width="0.8">'
            f"<title>{html.escape(name)}: {values.get(code, 0):g}</title></path>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Noto Sans CJK SC, sans-serif">'
        f'<text x="10" y="18" font-size="13">{html.escape(title)}（最大 {top:g}）</text>'
        f"{''.join(paths)}</svg>"
    )


def render_html(dash: Dashboard, heading: str = "一张蓝图 统计分析", metric: str = "checks") -> str:
    """The dashboard as a self-contained HTML page (inline CSS and SVG) for the PDF renderer."""
    comparison = dash.table("comparison")
    values = {r["county"]: r.get(metric) or 0 for r in comparison.rows} if comparison else {}
    tables = [
        {
            "title": t.title,
            "note": t.note,
            "empty": t.empty,
            "headers": [c.title for c in t.columns],
            "rows": [[cell_text(r.get(c.key), c.kind) for c in t.columns] for r in t.rows],
        }
        for t in dash.tables
    ]
    metric_title = (
        next((c.title for c in comparison.columns if c.key == metric), metric) if comparison else ""
    )
    return render_to_string(
        "compliance/statistics.html",
        {
            "heading": heading,
            "generated_at": dash.generated_at,
            "filters": dash.scope.filters,
            "counties": list(dash.scope.counties.values()),
            "tables": tables,
            "map_svg": mark_safe(choropleth_svg(values, dash.scope.codes, title=f"各区县{metric_title}")),
        },
    )


def pdf_bytes(dash: Dashboard, heading: str = "一张蓝图 统计分析") -> bytes:
    """The dashboard as PDF (tables and the county map), rendered offline."""
    return reports.html_to_pdf(render_html(dash, heading))
