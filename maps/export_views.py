"""Taking results away: a layer's attribute table within the view or a drawn area, its export
(GeoJSON, GeoPackage, zipped Shapefile, Excel), and the thematic print (专题图) as PDF.
Thin adapters over maps.tables, layers.exports and maps.prints; the policy through maps.access."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from blueprint import audit
from blueprint.errors import InvalidInput, NotFound
from layers.exports import FORMATS, export_features
from layers.models import Layer
from layers.styles import field_labels
from maps import access, prints, services, tables
from maps.views import _int, json_errors

__all__ = ["layer_table", "layer_export", "print_map"]


def _selection(request):
    return tables.parse_selection(request.GET.get("bbox"), request.GET.get("area"), services.parse_bbox)


@require_GET
@json_errors
def layer_table(request, slug: str):
    """?bbox= (the view) or ?area= (a drawn polygon), ?sort=field&order=asc|desc&page=N."""
    layer = access.readable_vector_layer(request, slug)
    selection = _selection(request)
    page = tables.table_page(layer, selection, sort=request.GET.get("sort", "_fid"),
                             descending=request.GET.get("order") == "desc",
                             page=_int(request.GET.get("page", "1"), "page", 1, 1_000_000))
    access.record_layer_read(request, layer, selection.extent)
    return JsonResponse(page, json_dumps_params={"ensure_ascii": False})


@require_GET
@json_errors
def layer_export(request, slug: str, fmt: str):
    """The features of the selection as a file; every export is audited (who, what, where, how many)."""
    if fmt not in FORMATS:
        raise NotFound(f"不支持的导出格式 “{fmt[:20]}”：可选 {'、'.join(FORMATS)}。 (Unknown export format.)")
    layer = access.readable_vector_layer(request, slug)
    selection = _selection(request)
    geoms, props, areas = tables.selected_features(layer, selection)
    name = f"{layer.slug}-{timezone.localdate():%Y%m%d}"
    labels = field_labels(layer.field_labels)  # the layer's own labels over the built-in ones
    headers = {field: labels.get(field, {}).get("label") or field for field in layer.fields}
    result = export_features(fmt, name, geoms, props, layer.fields, headers=headers, areas=areas)
    access.record_layer_read(request, layer, selection.extent)
    audit.record("layer.export", target=layer.slug, request=request, format=fmt, features=len(geoms),
                 version=layer.active_version.number, bbox=",".join(map(str, selection.extent)))
    response = HttpResponse(result.content, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    return response


@require_GET
@json_errors
def print_map(request):
    """专题图: ?bbox= (the view), ?layers=a,b (those shown), ?size=A4|A3, ?title= → a PDF."""
    bbox = services.parse_bbox(request.GET.get("bbox"))
    wanted = [s for s in request.GET.get("layers", "").split(",") if s]
    layers = [layer for layer in access.visible_layers(request, kind=Layer.Kind.VECTOR)
              if layer.slug in wanted and layer.slug != access.PROJECT_LAYER]
    if not layers:
        raise InvalidInput("请至少选择一个可查看的图层。 (Choose at least one layer you may see.)",
                           field="layers")
    pdf = prints.print_pdf(bbox, layers, title=request.GET.get("title", ""),
                           size=request.GET.get("size", "A4"))
    for layer in layers:
        access.record_layer_read(request, layer, list(bbox))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="map-{timezone.localdate():%Y%m%d}.pdf"'
    return response
