"""The thematic print (专题图): the map's current view as a PDF at A4 or A3 landscape, with title,
legend, scale bar, north arrow and the data vintage of every layer drawn, through the report
renderer (compliance.mapsvg draws the map, compliance.reports.html_to_pdf makes the PDF)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from blueprint.errors import InvalidInput
from compliance.mapsvg import view_map_svg
from compliance.reports import html_to_pdf
from layers.models import Layer

__all__ = ["PAGE_SIZES", "print_pdf", "print_html"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Landscape pages (mm) and the map drawn on them (px at 96 dpi, legend included).
PAGE_SIZES = {"A4": ((297, 210), (1060, 560)), "A3": ((420, 297), (1520, 820))}


def _size(size: str):
    if size not in PAGE_SIZES:
        raise InvalidInput(f"纸张应为 {'、'.join(PAGE_SIZES)} 之一。 (size must be A4 or A3.)", field="size")
    return PAGE_SIZES[size]


def print_html(bbox: tuple[float, float, float, float], layers: list[Layer], *, title: str,
               size: str = "A4") -> str:
    """The print as a self-contained HTML page (inline SVG and CSS)."""
    (page_w, page_h), (map_w, map_h) = _size(size)
    layers = [layer for layer in layers if layer.active_version_id]
    drawn = [(layer.slug, layer.title_zh, layer.active_version_id) for layer in layers]
    vintage = [{"title": layer.title_zh, "number": v.number, "source": v.source_name,
                "imported_at": timezone.localtime(v.created_at, SHANGHAI).strftime("%Y-%m-%d")}
               for layer in layers for v in [layer.active_version]]
    return render_to_string("maps/print.html", {
        "title": title.strip()[:60] or "一张蓝图专题图", "size": size, "page_w": page_w, "page_h": page_h,
        # Built from numbers and escaped labels only.
        "map_svg": mark_safe(view_map_svg(bbox, drawn, width=map_w, height=map_h)),
        "vintage": vintage, "bbox": [f"{v:.6f}" for v in bbox],
        "printed_at": timezone.localtime(timezone.now(), SHANGHAI).strftime("%Y-%m-%d %H:%M")})


def print_pdf(bbox: tuple[float, float, float, float], layers: list[Layer], *, title: str,
              size: str = "A4") -> bytes:
    """The print as PDF, rendered offline."""
    return html_to_pdf(print_html(bbox, layers, title=title, size=size))
